"""Bar specifications: ``"1min"``/``"5s"``/``"1h"`` (time), ``"500t"`` (tick), ``"1000v"`` (volume),
``"session"`` (a trading session, for bars resampled by :func:`data.resample_bars`)."""
from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from data.errors import OrderFlowError

SESSION = "session"
_COUNT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([tv])\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class BarSpec:
    """A parsed bar spec.

    ``kind`` is ``"tick"`` (one bar per trade, or per ``size`` trades), ``"volume"``
    (a bar closes on the first trade that brings its volume to ``size``) or
    ``"time"`` (right-closed intervals of ``offset``, stamped at their end) or ``"session"``
    (the sessions of a calendar, stamped at their close; made from bars by
    :func:`data.resample_bars`, not from ticks).
    """

    text: str
    kind: str
    size: float = 1
    offset: pd.DateOffset | None = None

    @property
    def timeframe(self) -> int:
        """Backtrader timeframe for feeds and analyzers."""
        return _bt_timeframe(self)[0]

    @property
    def compression(self) -> int:
        """Backtrader compression (bars of the timeframe's unit per bar)."""
        return _bt_timeframe(self)[1]

    @property
    def nanos(self) -> int | None:
        """Length in ns of a fixed-length time bar, else None (calendar offsets)."""
        if self.kind != "time":
            return None
        try:
            return int(self.offset.nanos)  # type: ignore[union-attr]
        except (AttributeError, ValueError):
            return None


def parse_bar_spec(spec: "str | BarSpec | None") -> BarSpec:
    """Parse ``None``/``"tick"`` (one bar per trade), ``"Nt"``, ``"Nv"`` or a pandas offset alias."""
    if isinstance(spec, BarSpec):
        return spec
    if spec is not None and not isinstance(spec, str):
        raise OrderFlowError(
            "a bar spec is text: a time offset (5s, 1min, 1h), N trades (500t), N units of volume "
            f"(1000v), or None / 'tick' for one bar per trade; not {type(spec).__name__}"
        )
    if spec is None or str(spec).strip().lower() in ("tick", "ticks", ""):
        return BarSpec("tick", "tick", 1)
    text = str(spec).strip()
    if text.lower() == SESSION:
        return BarSpec(SESSION, SESSION)
    m = _COUNT.match(text)
    if m:
        size = float(m.group(1))
        kind = "tick" if m.group(2).lower() == "t" else "volume"
        if size <= 0 or (kind == "tick" and size != int(size)):
            raise OrderFlowError(
                f"bad bar spec {text!r}: a tick bar needs a whole number of trades > 0, "
                "a volume bar a volume > 0"
            )
        return BarSpec(text, kind, int(size) if kind == "tick" else size)
    try:
        offset = pd.tseries.frequencies.to_offset(text)
    except (ValueError, TypeError):
        offset = None
    if offset is None:
        raise OrderFlowError(
            f"bad bar spec {text!r}: use a time offset (5s, 1min, 15min, 1h, 1D), "
            "N trades (500t), N units of volume (1000v) or 'tick'"
        )
    try:
        positive = pd.Timestamp("2000-01-01") + offset > pd.Timestamp("2000-01-01")
    except (ValueError, TypeError):
        positive = True
    if not positive:
        raise OrderFlowError(f"bad bar spec {text!r}: a time bar must be longer than zero")
    return BarSpec(text, "time", 1, offset)


def _bt_timeframe(spec: BarSpec) -> tuple[int, int]:
    import backtrader as bt  # here, so that parsing a spec does not load Backtrader

    if spec.kind == "tick":
        return bt.TimeFrame.Ticks, int(spec.size)
    if spec.kind == "volume":
        return bt.TimeFrame.Ticks, 1
    if spec.kind == SESSION:
        return bt.TimeFrame.Days, 1
    nanos = spec.nanos
    if nanos is None:  # calendar offsets: weeks, months, ...
        name = type(spec.offset).__name__
        n = abs(int(getattr(spec.offset, "n", 1)))
        if name.startswith("Week"):
            return bt.TimeFrame.Weeks, n
        if "Month" in name:
            return bt.TimeFrame.Months, n
        if "Year" in name:
            return bt.TimeFrame.Years, n
        return bt.TimeFrame.Days, n
    units = (  # (ns per unit, Backtrader timeframe) from the largest fixed unit down
        (86_400_000_000_000, bt.TimeFrame.Days),
        (60_000_000_000, bt.TimeFrame.Minutes),
        (1_000_000_000, bt.TimeFrame.Seconds),
        (1_000, bt.TimeFrame.MicroSeconds),
    )
    for unit, timeframe in units:
        if nanos % unit == 0:
            return timeframe, nanos // unit
    return bt.TimeFrame.MicroSeconds, max(1, nanos // 1_000)
