"""Data shorter than an indicator's warm-up: no values, no crash, in both Backtrader run modes.

Backtrader's vectorised run (``runonce=True``) computes every line object with
``preonce(0, p - 1)``, ``oncestart(p - 1, p)`` and ``once(p, buflen)``, ``p`` its
minimum period, even when the data holds fewer than ``p`` bars: its own ``SMA``,
``SumN``, ``EMA`` and line arithmetic then write past the end of their arrays
(``IndexError``). Bar by bar (``runonce=False``) the same objects simply never reach
``next``, and their lines stay NaN. :class:`WarmUpGuard` makes the vectorised run do
the latter: an object whose minimum period is longer than the data is sized (all NaN)
but not computed; everything else runs exactly as Backtrader runs it.
"""
from __future__ import annotations

import backtrader as bt

__all__ = ["WarmUpGuard", "once_within_data"]


def once_within_data(obj: bt.LineSeries) -> None:
    """Backtrader's ``_once`` for ``obj`` and the line objects under it, computing only
    those whose minimum period fits in the data.

    ``obj._minperiod <= len(data)``: Backtrader's own ``obj._once()`` (a parent's minimum
    period is at least each child's, so nothing under it is too long either). Otherwise
    its lines get ``len(data)`` NaN values, the objects under it go through this same
    rule, and its own ``preonce``/``oncestart``/``once`` are skipped, as ``next`` is
    never called for it bar by bar.
    """
    if obj._minperiod <= obj._clock.buflen():
        super(WarmUpGuard, obj)._once() if isinstance(obj, WarmUpGuard) else obj._once()
        return
    obj.forward(size=obj._clock.buflen())
    if not isinstance(obj, bt.LineIterator):  # line arithmetic, delays: no children
        obj.home()
        obj.oncebinding()
        return
    children = obj._lineiterators[bt.LineIterator.IndType]
    observers = obj._lineiterators[bt.LineIterator.ObsType]
    for child in children:
        once_within_data(child)
    for observer in observers:
        observer.forward(size=obj.buflen())
    for item in (*obj.datas, *children, *observers, obj):
        item.home()
    for line in obj.lines:
        line.oncebinding()


class WarmUpGuard:
    """Mixin for indicators (``class X(WarmUpGuard, bt.Indicator)``): on data shorter than
    the warm-up, ``runonce=True`` gives the NaN lines ``runonce=False`` gives instead of
    an ``IndexError`` (see :func:`once_within_data`)."""

    def _once(self) -> None:
        once_within_data(self)
