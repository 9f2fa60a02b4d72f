"""Paper fills on a live stream: :func:`execution.simulate` against the tape of what the feed received.

    feed = LiveOrderFlowFeed(url, "BTCUSDT", bars="1min", tick_size=0.1, tape=True)
    tape = LiveTape(feed.tape, tick_size=0.1, name="BTCUSDT live", book=True)
    cerebro.broker = LiveExecutionBroker(tape=tape, feed=feed, queue="risk_averse")

:class:`LiveTape` is the live side of a windowed source: ``window(start_ns, end_ns)`` is the
:class:`~execution.replay.Replay` of the trades and quotes stamped in ``[start, end)``, led by the
quote in force at ``start`` (the book an order sent then sees), ``known_until`` the time before
which every event has arrived (the convention of every :class:`~execution.replay.Tape`),
``tick_size`` the instrument's (given, never inferred from a window), ``name``.

:class:`LiveExecutionBroker` is :class:`execution.broker.ExecutionBroker` on that tape, an order's
horizon what the tape knows. An order sent at a bar's close is simulated on a window from before its
send time (the earliest send time of the orders working, less a small margin: one window serves them
all, and where it starts does not change a fill) to ``known_until``: its fills stamped before
``known_until`` are final and booked in the bars that hold their times, as in a backtest; what it
would do after is not known yet. An order still working at a bar whose end the tape had not reached
when the order was last simulated is simulated again, from its send time with the size it was sent
with, on what the tape knows now, and only the fills not handed out yet are booked. The simulation
is deterministic, reads no event after a fill's time to make that fill, and its queue sums are exact
(:func:`execution.replay.size_scale`), so the fills are those a backtest of the recorded stream
gives. After each bar the broker lets the tape drop what no open order can need: everything before
the earliest send time of an unfinished order (or the bar's time when none is open), less the
margin, the quote in force then kept.
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd

from data import OrderFlowError
from data.live.tape import TickTape

from .broker import ExecutionBroker
from .replay import Replay
from .simulate import _Orders, no_order_ids, no_receive_times, parse_latency, parse_queue, simulate

__all__ = ["LiveTape", "LiveExecutionBroker", "MARGIN_NS"]

MARGIN_NS = 1_000_000  # a window starts 1 ms before the send time it serves


class LiveTape:
    """A live feed's :class:`data.live.tape.TickTape` as a windowed source (module docstring).
    ``book``: the windows carry the quotes (``--fills book``); else the trades only."""

    def __init__(self, ticks: TickTape, *, tick_size: float, name: str, book: bool = True) -> None:
        tick = float(tick_size) if tick_size is not None else math.nan
        if not (math.isfinite(tick) and tick > 0):
            raise OrderFlowError(f"paper fills on a live stream need the instrument's tick size (> 0), not {tick_size!r}")
        if book and ticks.quote_columns is None:
            raise OrderFlowError("--fills book on a live stream needs its quotes (@bookTicker): the feed follows trades only")
        self.ticks = ticks
        self.tick_size = tick
        self.name = name
        self.book = book

    @property
    def known_until(self) -> int:
        """ns: every event stamped before it is on the tape."""
        return self.ticks.known_until

    @property
    def end_ns(self) -> int:
        """No event at or after it: once the stream has ended, its last event's time + 1; before that, none
        is known (``INT64_MAX``)."""
        return self.ticks.end_ns

    def window(self, start_ns: int, end_ns: int) -> Replay:
        """The events stamped in ``[start_ns, end_ns)``, with the book in force at ``start_ns``."""
        trades = self.ticks.trades(start_ns, end_ns)
        quotes = self.ticks.quotes(start_ns, end_ns) if self.book else None
        if quotes is not None and not len(quotes):  # no quote yet: no book to see
            quotes = _NO_QUOTE
        rp = Replay.from_ticks(trades, quotes, book=self.book, name=self.name)
        return replace(rp, tick_size=self.tick_size)

    def drop_before(self, time_ns: int) -> None:
        """Let go of what no window starting at or after ``time_ns`` reads."""
        self.ticks.drop_before(time_ns)


_NO_QUOTE = pd.DataFrame({"timestamp": pd.DatetimeIndex([0], tz="UTC"), "bid": [np.nan], "ask": [np.nan],
                          "bid_size": [0.0], "ask_size": [0.0]})


class LiveExecutionBroker(ExecutionBroker):
    """:class:`~execution.broker.ExecutionBroker` whose fills come from a :class:`LiveTape` as it grows
    (module docstring). ``tape``: the LiveTape; ``feed``: the live feed whose bars the orders are sent
    at (its :meth:`~data.LiveOrderFlowFeed.bar_end`); the other parameters as ExecutionBroker's, the
    tick size the tape's."""

    params = (("tape", None), ("feed", None))

    def __init__(self) -> None:
        tape = self.p.tape
        if not isinstance(tape, LiveTape) or self.p.feed is None:
            raise OrderFlowError("LiveExecutionBroker needs tape=LiveTape(feed.tape, ...) and the feed (feed=)")
        if parse_queue(self.p.queue)[0] == "fifo":
            raise no_order_ids("a live Binance stream")
        if parse_latency(self.p.latency) == "feed":
            raise no_receive_times("a live Binance stream")
        # ExecutionBroker's replay and bar times: the tape's windows and the feed's bars replace them
        self.p.replay = tape
        self.p.bar_times = pd.DatetimeIndex([0], tz="UTC")  # unused: the bars' ends come from the feed (_now)
        self.p.tick_size = tape.tick_size
        super().__init__()
        self._open: dict[int, bt.Order] = {}
        self._window: tuple[int, int, Replay] | None = None
        self._bars_seen = 0

    def _now(self, data: Any) -> int:
        return int(data.bar_end(len(data) - 1))

    def submit(self, order: bt.Order, check: bool = True) -> bt.Order:
        order = super().submit(order, check)
        if order.alive():
            self._open[order.ref] = order
        return order

    def _floor(self) -> int | None:
        """The earliest send time of an order still working (None: none is)."""
        self._open = {ref: o for ref, o in self._open.items() if o.alive()}
        sends = [self._sent[ref] for ref in self._open if ref in self._sent]
        return min(sends) if sends else None

    def _replay(self, until: int) -> Replay:
        """The window from the earliest open order's send time (less the margin) to ``until`` (what the tape
        knows: the events before it), built once for all the orders simulated while the tape knows that much."""
        start = self._floor()
        start = (start if start is not None else until) - MARGIN_NS
        if self._window is None or self._window[:2] != (start, until):
            self._window = (start, until, self.p.tape.window(start, until))
        return self._window[2]

    def _horizon(self, order: bt.Order) -> int:
        """The last time (ns, inclusive, as ExecutionBroker counts it) the tape knows in full: an order's fills
        up to it are final."""
        return self.p.tape.known_until - 1

    def _simulate(self, order: bt.Order, frame: _Orders, horizon: int) -> pd.DataFrame:
        """The fills of ``order`` on the window the open orders share, up to ``horizon`` (what the tape knows)."""
        return simulate(frame, self._replay(horizon + 1), queue=self.p.queue, latency=self.p.latency,
                        slippage_ticks=self.p.slippage_ticks, tick_size=self.p.tape.tick_size)

    def next(self) -> None:
        """A bar's turn of the broker, once per bar: Cerebro also calls it while a live feed waits for
        data, when a backtest's broker would not act (an order sent at a bar's close is first
        executed at the next bar, its fills at or before that bar's end booked there)."""
        feed = self.p.feed
        if len(feed) == self._bars_seen:
            return
        self._bars_seen = len(feed)
        super().next()
        floor = self._floor()
        now = self._now(feed)
        self.p.tape.drop_before(min(now, floor if floor is not None else now) - MARGIN_NS)
