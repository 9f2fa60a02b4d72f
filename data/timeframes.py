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

On a live feed (:class:`data.LiveOrderFlowFeed`) ``resampledata``/``resampled_feed`` give a
:class:`LiveResampledFeed`: each coarser bar built once by :class:`CoarserBars` when the base bar
that closes it arrives, and handed to the strategy with the base bar :func:`delivery_times` gives
in a backtest (time and session specs; no developing bars live).
"""
from __future__ import annotations

import collections
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd

from data.bars.resample import SessionCloses, developing_bars, group_bars, resample_bars
from data.bars.spec import BarSpec, parse_bar_spec
from data.errors import OrderFlowError
from data.feed import OrderFlowFeed, date2num_ns, line_columns
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


def delivery_positions(stamps: np.ndarray, base_times: np.ndarray, after: int = -1) -> np.ndarray:
    """The base bar positions of :func:`delivery_times`: ``d_k = max(first_k, d_(k-1) + 1)`` with
    ``d_(-1) = after`` (the position of a delivery before these bars); ``len(base_times)`` or more
    where the base bar is not among ``base_times`` (a later one)."""
    first = np.maximum(np.searchsorted(base_times, stamps, side="left"), 0)
    if len(first):
        first[0] = max(first[0], after + 1)
    steps = np.arange(len(first))
    return np.maximum.accumulate(first - steps) + steps if len(first) else first


def delivery_times(stamps: np.ndarray, base_times: np.ndarray) -> np.ndarray:
    """When each coarser bar (times ``stamps``) reaches a strategy stepped by base bars at
    ``base_times`` (UTC ns, both ascending): with the first base bar at or after its time, and
    never with the same base bar as the coarser bar before it (a feed moves one bar per step), so
    ``d_k = max(first_k, d_(k-1) + 1)`` in base bar positions. -1 where no base bar is left."""
    position = delivery_positions(stamps, base_times)
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


class CoarserBars:
    """The closed bars of ``spec`` over base bars that come a few at a time (a live feed's), each built
    once by :func:`data.resample_bars` over its own base bars and footprint table rows, and given the
    base bar position :func:`delivery_times` gives it in a backtest of all the bars.

    :meth:`add` takes the next base bars in order (and the footprint table rows made with them); a
    coarser bar closes once a base bar at or after its time has come (time and session bars are
    right-closed: no later base bar can join it), and goes onto :attr:`due` as ``(position, bar)``,
    ``position`` the base bar (counted from 0) it is delivered with. Only the base bars of the coarser
    bar still open are kept (and the last base bar before them, whose time the next base bar's
    duration starts from), and only the table rows not used yet.
    """

    def __init__(self, spec: "BarSpec | str", *, calendar: SessionCloses | None = None,
                 options: BarOptions | None = None) -> None:
        self.spec = parse_bar_spec(spec)
        if self.spec.kind in ("tick", "volume"):
            raise OrderFlowError(f"{self.spec.text} bars close on the trades or volume of all the base bars before "
                                 "them: a live run's coarser timeframes are time or session bars (5min, 1h, session)")
        self.calendar = calendar
        self.options = BarOptions.of(options)
        self.due: collections.deque = collections.deque()
        self._held: list[pd.DataFrame] = []  # the base bars of the open coarser bar(s), after the context bar
        self._open: int | None = None  # the time (ns) of the open coarser bar: no base bar before it closes one
        self._context = 0  # 1 when _held starts with the last base bar of a closed coarser bar
        self._offset = 0  # the position of _held's first bar
        self._last = -1  # the position of the last delivery
        self._tables: list[pd.DataFrame] = []

    @property
    def held(self) -> int:
        """Base bars kept (those of the coarser bar still open and the one before them)."""
        return sum(len(part) for part in self._held)

    def add(self, bars: pd.DataFrame, table: pd.DataFrame | None = None) -> None:
        """Take the next base ``bars`` and the footprint ``table`` rows made with them (or before them)."""
        if table is not None and len(table):
            self._tables.append(table)
        if not len(bars):
            return
        self._held.append(bars)
        if self._open is not None and timestamps_ns(bars.index[-1:])[0] < self._open:
            return  # the open coarser bar goes on: kept in parts, grouped once it closes
        held = pd.concat(self._held) if len(self._held) > 1 else bars
        held.attrs = dict(bars.attrs)  # bar_spec: the base bars' durations and the timeframe check read it
        groups = group_bars(held, self.spec, self.calendar)
        times = timestamps_ns(held.index)
        closed = int(np.searchsorted(groups.stamps, times[-1], side="right"))
        self._held = [held]
        if closed <= self._context:
            self._open = int(groups.stamps[self._context])
            return
        end = int(groups.ends[closed - 1])
        coarse = resample_bars(held.iloc[:end], self.spec, footprint=self._rows(times[end - 1]),
                               calendar=self.calendar, options=self.options).iloc[self._context:]
        positions = delivery_positions(timestamps_ns(coarse.index), times, self._last - self._offset) + self._offset
        self.due.extend(zip(positions.tolist(), (coarse.iloc[[k]] for k in range(len(coarse)))))
        self._last = int(positions[-1])
        self._held = [held.iloc[end - 1:]]
        self._open = int(groups.stamps[closed]) if closed < len(groups.stamps) else None
        self._offset += end - 1
        self._context = 1

    def _rows(self, through: int) -> pd.DataFrame | None:
        """The table rows of the base bars up to ``through`` (ns), which are then let go."""
        if not self._tables:
            return None
        table = pd.concat(self._tables) if len(self._tables) > 1 else self._tables[0]
        cut = int(table.index.get_level_values("timestamp").searchsorted(pd.Timestamp(through, tz="UTC"), side="right"))
        self._tables = [table.iloc[cut:]] if cut < len(table) else []
        return table.iloc[:cut]

    def take(self, position: int) -> pd.DataFrame | None:
        """The coarser bar delivered with base bar ``position`` (None if none)."""
        if self.due and self.due[0][0] <= position:
            return self.due.popleft()[1]
        return None


class LiveResampledFeed(OrderFlowFeed):
    """Closed coarser bars of a live feed (:class:`data.LiveOrderFlowFeed`): made by :class:`CoarserBars`
    from its bars as they close, each handed to Backtrader with the base bar a backtest delivers it with
    (:func:`delivery_times`). Marked as resampled data, so Cerebro's live loop steps on the base bars and
    lets this feed's bar through when its time is at or before theirs; the base feed hands it its bars
    (``base.coarser_feeds``), so it never waits itself.
    """

    resampling = 1
    params = (("base", None), ("calendar", None))

    def __init__(self) -> None:
        base = self.p.base
        self.coarser = CoarserBars(self.p.bar_spec, calendar=self.p.calendar, options=base.options)
        self._rows: collections.deque = collections.deque()
        self._frames: list[pd.DataFrame] = []
        base.coarser_feeds.append(self)
        base.live_bars.keep_table()

    def islive(self) -> bool:
        return True

    def haslivedata(self) -> bool:
        return bool(self._rows)

    def start(self) -> None:
        bt.feed.DataBase.start(self)  # no bars frame to read: OrderFlowFeed.start is skipped
        base = self.p.base
        if (self._timeframe, self._compression) < (base._timeframe, base._compression):
            raise OrderFlowError(f"the coarser feed {self._name} sorts before its base feed in Backtrader's live loop")
        self._targets = self.line_targets()

    def _deliver(self, position: int) -> None:
        """Base bar ``position`` is being delivered: queue the coarser bar that comes with it, if any."""
        bar = self.coarser.take(position)
        if bar is not None:
            self._frames.append(bar)
            self._rows.append(np.column_stack(line_columns(bar)).tolist()[0])

    def _load(self) -> bool | None:
        if self._rows:
            for line, value in zip(self._targets, self._rows.popleft()):
                line[0] = value
            return True
        base = self.p.base
        return False if base._ended and not base._rows else None

    def bars(self) -> pd.DataFrame:
        """The coarser bars handed to Backtrader so far."""
        if not self._frames:
            return pd.DataFrame()
        self._frames = [pd.concat(self._frames)] if len(self._frames) > 1 else self._frames
        return self._frames[0]


def _is_live(data: Any) -> bool:
    return bool(getattr(data, "islive", lambda: False)()) and hasattr(data, "coarser_feeds")


def resampled_feed(data: "OrderFlowFeed | pd.DataFrame", spec: "BarSpec | str", *,
                   footprint: pd.DataFrame | None = None, calendar: SessionCloses | None = None,
                   options: BarOptions | None = None, **kwargs: Any) -> ResampledFeed:
    """A :class:`ResampledFeed` of ``resample_bars(bars of data, spec, ...)`` (see
    :func:`data.resample_bars` for ``footprint``, ``calendar`` and ``options``, whose fields may
    also come as keywords: ``footprint_params=...``); other keyword arguments go to the feed
    (``name`` defaults to the spec's text). On a live feed: a :class:`LiveResampledFeed`, its bars
    made with the live feed's own options and footprint rows (no ``footprint``)."""
    spec = parse_bar_spec(spec)
    if _is_live(data):
        if footprint is not None:
            raise OrderFlowError("a live feed's coarser bars take their footprint rows from the stream: no footprint=")
        BarOptions.take(kwargs)  # the base feed's own options make its coarser bars
        return LiveResampledFeed(base=data, calendar=calendar, bar_spec=spec.text, **_feed_kwargs(spec, kwargs, data))
    bars = base_bars(data)
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
    :func:`resampled_feed`). Not on a live feed."""
    if _is_live(data):
        raise OrderFlowError("developing bars (--developing, replaydata) need the bars of a file: a live run's coarser "
                             "feeds are closed bars")
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
