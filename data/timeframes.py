"""Several timeframes in one Backtrader strategy, every order-flow line kept.

Backtrader's ``cerebro.resampledata``/``replaydata`` build OHLCV only; the order-flow lines
of a resampled feed come out NaN. These take an :class:`data.OrderFlowFeed` (or a bars
DataFrame) and add the coarser bars of :mod:`data.bars.resample` as a feed of their own:

    cerebro.adddata(base)                                      # 1-minute bars
    resampledata(cerebro, base, "15min", footprint=table)      # closed 15-minute bars
    replaydata(cerebro, base, "15min", footprint=table)        # the 15-minute bar as it forms

In a strategy the coarser feed is ``self.datas[1]`` or ``self.getdatabyname("15min")`` (its
``name`` defaults to the spec). Both work with ``runonce=True`` and ``runonce=False``, and a
strategy's steps stay those of the base feed:

- :class:`ResampledFeed` (closed bars) delivers each coarser bar with the first base bar stamped at
  or after its own time (the 10:15 bar with the base bar of 10:15, or with the next base bar
  when nothing traded at 10:15, as Backtrader's resampler does), never earlier, and one coarser
  bar per base bar; a coarser bar that closes after the last base bar is left out (no base bar
  would see it). Its lines keep the bar's own time.
- :class:`DevelopingFeed` (replay) holds one coarser bar that is rewritten at every base bar until
  the next coarser bar opens, as Backtrader's ``replaydata`` does: ``len(feed)`` grows only when a
  coarser bar opens, ``feed.delta[0]`` is the developing bar's delta so far and ``feed.delta[-1]``
  the previous (closed) bar's. It is stamped with the base bar it has seen last. Like Backtrader's
  replayed data it makes Cerebro run bar by bar (``runonce`` off); the other feeds stay preloaded.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from data.bars.resample import SessionCloses, developing_bars, resample_bars
from data.bars.spec import BarSpec, parse_bar_spec
from data.errors import OrderFlowError
from data.feed import OrderFlowFeed, date2num_ns
from data.options import BarOptions
from data.ticks import timestamps_ns


def base_bars(data: "OrderFlowFeed | pd.DataFrame") -> pd.DataFrame:
    """The bars DataFrame behind a feed (its ``dataname``), or the bars themselves."""
    if isinstance(data, pd.DataFrame):
        return data
    bars = getattr(getattr(data, "p", None), "dataname", None)
    if not isinstance(bars, pd.DataFrame):
        raise OrderFlowError("resampling needs an OrderFlowFeed (data.OrderFlowFeed.from_ticks / from_bars) or a "
                             f"bars DataFrame, not {type(data).__name__}")
    if bars.attrs.get("bar_spec") is None and getattr(data.p, "bar_spec", None):
        bars = bars.copy(deep=False)
        bars.attrs["bar_spec"] = data.p.bar_spec
    return bars


def _feed_kwargs(spec: BarSpec, kwargs: dict[str, Any], base: Any) -> dict[str, Any]:
    kwargs = dict(kwargs)
    kwargs.setdefault("name", spec.text)
    kwargs.setdefault("timeframe", spec.timeframe)
    kwargs.setdefault("compression", spec.compression)
    tz = getattr(getattr(base, "p", None), "tz", None)
    if tz is not None:
        kwargs.setdefault("tz", tz)
    return kwargs


def delivery_times(stamps: np.ndarray, base_times: np.ndarray) -> np.ndarray:
    """When each coarser bar (times ``stamps``) reaches a strategy stepped by base bars at
    ``base_times`` (UTC ns, both ascending): with the first base bar at or after its time, and
    never with the same base bar as the coarser bar before it (a feed moves one bar per step), so
    ``d_k = max(first_k, d_(k-1) + 1)`` in base bar positions. -1 where no base bar is left."""
    first = np.searchsorted(base_times, stamps, side="left")
    steps = np.arange(len(first))
    position = np.maximum.accumulate(first - steps) + steps if len(first) else first
    return np.where(position < len(base_times), base_times[np.minimum(position, len(base_times) - 1)], -1)


def _needs_whole_buffers(feed: OrderFlowFeed) -> None:
    """A coarser feed steps back a bar that came too early; a bounded line buffer (``exactbars=1``) has
    already dropped what it steps back to, so such a run would show a coarser bar early: an error."""
    env = getattr(feed, "_env", None)
    if env is not None and getattr(env, "_exactbars", 0) >= 1:
        raise OrderFlowError("a coarser timeframe's feed needs whole line buffers: cerebro.run(exactbars=1) bounds "
                             "them; use exactbars 0 (the default), -1 or -2")


class ResampledFeed(OrderFlowFeed):
    """Closed bars of a coarser timeframe, each delivered with a base bar (see :func:`delivery_times`).

    ``deliveries``: per bar, the time (UTC ns) of the base bar it is delivered with. Backtrader
    steps every feed by the earliest next time among them; this feed reports that time as its
    next one (``advance_peek``, the ``runonce`` schedule) and is marked as resampled data, which
    the ``next`` mode schedule holds until the base bars reach its time: the same steps either way.
    """

    resampling = 1
    params = (("deliveries", None),)

    def start(self) -> None:
        super().start()
        _needs_whole_buffers(self)
        deliveries = self.p.deliveries
        if deliveries is None:
            self._deliver = {}
        else:
            self._deliver = dict(zip(self._datetimes.tolist(), date2num_ns(np.asarray(deliveries, np.int64)).tolist()))

    def advance_peek(self) -> float:
        if len(self) < self.buflen():
            when = self.lines.datetime[1]
            return self._deliver.get(when, when)
        return float("inf")


class DevelopingFeed(OrderFlowFeed):
    """The coarser bar as it forms: rewritten at every base bar until the next one opens (replay).

    ``dataname`` is :func:`data.bars.resample.developing_bars`' frame (one row per base bar,
    column ``opens`` True where a coarser bar opens). The feed is loaded bar by bar while the
    strategy runs, never preloaded, and turns Cerebro's ``runonce`` off (an indicator on it is
    computed again at every base bar, which a vectorised pass cannot do); unlike Backtrader's
    replayed data it leaves the other feeds preloaded.
    """

    def start(self) -> None:
        super().start()
        _needs_whole_buffers(self)
        bars: pd.DataFrame = self.p.dataname
        self._opens = (bars["opens"].to_numpy(bool) if "opens" in bars else np.ones(len(bars), dtype=bool)).tolist()
        env = getattr(self, "_env", None)
        if env is not None:
            env._disable_runonce()

    def preload(self) -> None:
        """Nothing: the bars are loaded as the strategy runs (a preloaded buffer would hold each
        coarser bar's final state, which the strategy must not see before its time)."""

    def load(self) -> bool:
        if self._filters or self._tzinput or self.fromdate != float("-inf") or self.todate != float("inf"):
            return super().load()  # Backtrader's path, through _load
        i = self._i
        if i >= self._n:
            return False
        if not i or self._opens[i]:
            self.forward()  # a new coarser bar; else the one forming is rewritten in place
        self._copy_row(i)
        return True

    def _load(self) -> bool:
        i = self._i
        if i >= self._n:
            return False
        if i and not self._opens[i]:
            self.backwards(force=True)  # load() moved forward: the bar is still forming, rewrite it
        self._copy_row(i)
        return True


def resampled_feed(data: "OrderFlowFeed | pd.DataFrame", spec: "BarSpec | str", *,
                   footprint: pd.DataFrame | None = None, calendar: SessionCloses | None = None,
                   options: BarOptions | None = None, **kwargs: Any) -> ResampledFeed:
    """A :class:`ResampledFeed` of ``resample_bars(bars of data, spec, ...)`` (see
    :func:`data.resample_bars` for ``footprint``, ``calendar`` and ``options``, whose fields may
    also come as keywords: ``footprint_params=...``); other keyword arguments go to the feed
    (``name`` defaults to the spec's text)."""
    bars = base_bars(data)
    spec = parse_bar_spec(spec)
    options = BarOptions.of(options, **BarOptions.take(kwargs))
    coarse = resample_bars(bars, spec, footprint=footprint, calendar=calendar, options=options)
    deliveries = delivery_times(timestamps_ns(coarse.index), timestamps_ns(bars.index))
    seen = deliveries >= 0  # a bar no base bar is left to deliver: never seen by a strategy
    return ResampledFeed(dataname=coarse[seen], bar_spec=spec.text, deliveries=deliveries[seen],
                         **_feed_kwargs(spec, kwargs, data))


def developing_feed(data: "OrderFlowFeed | pd.DataFrame", spec: "BarSpec | str", *,
                    footprint: pd.DataFrame | None = None, calendar: SessionCloses | None = None,
                    options: BarOptions | None = None, **kwargs: Any) -> DevelopingFeed:
    """A :class:`DevelopingFeed` of ``developing_bars(bars of data, spec, ...)`` (arguments as
    :func:`resampled_feed`)."""
    bars = base_bars(data)
    spec = parse_bar_spec(spec)
    options = BarOptions.of(options, **BarOptions.take(kwargs))
    frame = developing_bars(bars, spec, footprint=footprint, calendar=calendar, options=options)
    return DevelopingFeed(dataname=frame, bar_spec=spec.text, **_feed_kwargs(spec, kwargs, data))


def resampledata(cerebro: Any, data: "OrderFlowFeed | pd.DataFrame", spec: "BarSpec | str", **kwargs: Any
                 ) -> ResampledFeed:
    """``cerebro.resampledata`` for order-flow feeds: adds :func:`resampled_feed` to ``cerebro``
    (after the base feed) and returns it."""
    feed = resampled_feed(data, spec, **kwargs)
    cerebro.adddata(feed, name=feed._name)
    return feed


def replaydata(cerebro: Any, data: "OrderFlowFeed | pd.DataFrame", spec: "BarSpec | str", **kwargs: Any
               ) -> DevelopingFeed:
    """``cerebro.replaydata`` for order-flow feeds: adds :func:`developing_feed` to ``cerebro``
    and returns it. Unlike Backtrader's, the base feed stays in Cerebro as its own data."""
    feed = developing_feed(data, spec, **kwargs)
    cerebro.adddata(feed, name=feed._name)
    return feed
