"""``LiveOrderFlowFeed``: an exchange's live stream as a Backtrader feed, with the bars of the file path.

    import backtrader as bt
    from data import LiveOrderFlowFeed
    cerebro = bt.Cerebro()
    cerebro.adddata(LiveOrderFlowFeed("wss://fstream.binance.com", "BTCUSDT", bars="1min", tick_size=0.1))
    cerebro.addstrategy(MyStrategy)   # the strategy of the backtest, unchanged
    cerebro.run()                     # until Ctrl-C (cerebro.runstop()) or idle_stop

The feed follows ``<symbol>@trade`` and ``<symbol>@bookTicker`` on one connection
(:class:`data.live.client.StreamClient`), builds the bars with :class:`data.live.bars.LiveBars` (the
streamed bars of :class:`data.bars.stream.BarStream`, the book lines from every quote update, as a
backtest of the recorded capture makes them) and hands each bar to Backtrader when it closes: when
a trade after its end arrives, or, for time bars, ``grace`` after its end on the exchange's clock.
Its lines are those of :class:`data.feed.OrderFlowFeed`, so indicators and strategies run unchanged.
Coarser closed bars of it: ``data.resampledata(cerebro, feed, "15min")`` (a
:class:`data.timeframes.LiveResampledFeed`, each coarser bar handed over with the base bar that
closes it, as in a backtest).

Backtrader's data notifications (``notify_data`` in a strategy): ``CONNECTED`` when the connection
is open, ``LIVE`` when messages flow on it (every bar of this feed is live: there is no backfill),
``CONNBROKEN`` when it is lost (it reconnects and subscribes again by itself, with growing delays),
``DISCONNECTED`` when the feed ends (``idle_stop``, or Cerebro stopping). Duplicated trades (by
trade id) are dropped; every gap in the trade ids is kept in :attr:`LiveOrderFlowFeed.gaps` and
:meth:`LiveOrderFlowFeed.report`, never filled in.
"""
from __future__ import annotations

import collections
import time
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd

from data.bars.make import bar_columns, empty_bars
from data.bars.spec import parse_bar_spec
from data.errors import OrderFlowError
from data.feed import OrderFlowFeed, line_columns
from data.live.bars import LiveBars
from data.live.client import StreamClient
from data.live.protocol import require_websockets, stream_names
from data.live.tape import TickTape
from data.options import BarOptions
from data.ticks import timestamps_ns

__all__ = ["LiveOrderFlowFeed"]


class LiveOrderFlowFeed(OrderFlowFeed):
    """A live Backtrader feed of order-flow bars: ``LiveOrderFlowFeed(url, symbol, bars="1min", ...)``.

    ``url``: the exchange's stream address (``wss://fstream.binance.com``), a replay
    (``ws://127.0.0.1:8765``, :mod:`data.live.replay`) or a full combined-stream or ``/ws`` address;
    ``symbol``: the instrument (``BTCUSDT``); ``bars``: the bar spec (``"1min"``, ``"5s"``,
    ``"500t"``, ``"1000v"``). ``options`` (:class:`data.options.BarOptions`) and ``tick_size`` (the
    footprint grid's tick, needed with the footprint lines; it goes into the options) as for
    :func:`data.make_bars`. ``quotes``: the book lines from ``@bookTicker`` (False: trades only).
    ``grace``: how long after a time bar's end (exchange clock) it closes without a later trade.
    ``idle_stop``: end the feed after this many seconds without a message (None: run until Cerebro
    stops). ``qcheck``: how long Cerebro waits for data on each turn (seconds). ``first_delay`` /
    ``most_delay``: the reconnection delays (seconds, doubling). ``tape``: keep the trades and quotes
    received on :attr:`tape` (a :class:`data.live.tape.TickTape`, what paper fills read; None without).

    The first bars come once the stream holds what the footprint lines judge its first bars by, as
    in a backtest: the first block of large-trade and large-order sizes (10,000 trades and 10,000
    aggressor orders, trades of one time and side, by default); with ``footprint=False`` in
    ``options`` or a fixed ``large`` size in its ``footprint_params`` they come at once.
    """

    params = (
        ("url", None),
        ("symbol", None),
        ("bars", "1min"),
        ("options", None),
        ("tick_size", None),
        ("quotes", True),
        ("grace", "1s"),
        ("idle_stop", None),
        ("qcheck", 0.5),
        ("first_delay", 0.25),
        ("most_delay", 30.0),
        ("tape", False),
    )

    def __init__(self, *args: Any) -> None:
        if len(args) > 2:
            raise OrderFlowError("LiveOrderFlowFeed(url, symbol, bars=...): two positional arguments at most")
        for name, value in zip(("url", "symbol"), args):
            setattr(self.p, name, value)
        require_websockets()
        if not self.p.url or not self.p.symbol:
            raise OrderFlowError("LiveOrderFlowFeed needs a url (wss://fstream.binance.com, ws://127.0.0.1:8765) "
                                 "and a symbol (BTCUSDT)")
        spec = parse_bar_spec(self.p.bars)
        self.p.bar_spec = spec.text
        self.p.timeframe, self.p.compression = spec.timeframe, spec.compression
        options = BarOptions.of(self.p.options)
        if self.p.tick_size is not None:
            options = BarOptions.of(options, tick_size=float(self.p.tick_size))
        self.options = options
        self.tape = TickTape(quotes=bool(self.p.quotes)) if self.p.tape else None
        self.live_bars = LiveBars(spec, options=options, quotes=bool(self.p.quotes), grace=self.p.grace,
                                  name=str(self.p.url), tape=self.tape)
        self.names = stream_names([self.p.symbol], ("trade", "bookTicker") if self.p.quotes else ("trade",))
        self._name = self._name or self.p.name or str(self.p.symbol).upper()
        self.client: StreamClient | None = None
        self.events: list[dict[str, Any]] = []
        self._rows: collections.deque = collections.deque()
        self._frames: list[pd.DataFrame] = []
        self._ends: list[int] = []  # each bar's end (ns), as the bars are made
        self.delivered = 0  # bars handed to Backtrader
        self.coarser_feeds: list[Any] = []  # data.timeframes.LiveResampledFeed made of these bars
        self._ended = False
        self._flowing = False
        self._last_message = time.monotonic()

    def islive(self) -> bool:
        return True

    def haslivedata(self) -> bool:
        return bool(self._rows) or (self.client is not None and self.client.pending())

    def start(self) -> None:
        bt.feed.DataBase.start(self)  # no bars frame to read: OrderFlowFeed.start is skipped
        self._laststatus = None  # so that CONNECTED is told
        self._targets = self.line_targets()
        self._last_message = time.monotonic()
        self.client = StreamClient(str(self.p.url), self.names, first_delay=self.p.first_delay,
                                   most_delay=self.p.most_delay).start()

    def stop(self) -> None:
        if self.client is not None:
            self.client.close()
        if not self._ended:
            self._ended = True
            self.put_notification(self.DISCONNECTED)
        if self.tape is not None:
            self.tape.end()

    # ----------------------------------------------------------------- bars in

    def _load(self) -> bool | None:
        if not self._rows and not self._ended:
            self._pump(self._qcheck)
        if self._rows:
            for line, value in zip(self._targets, self._rows.popleft()):
                line[0] = value
            for feed in self.coarser_feeds:  # the coarser bar a backtest delivers with this bar
                feed._deliver(self.delivered)
            self.delivered += 1
            return True
        return False if self._ended else None

    def _pump(self, timeout: float) -> None:
        """Take what arrived (waiting up to ``timeout`` s), make the bars it closes, tell the events."""
        client = self.client
        client.wait(timeout)
        messages, events = client.take()
        now = time.time_ns()
        if messages:
            self._last_message = time.monotonic()
        start = 0
        for event in events:
            self._deliver(self.live_bars.add(messages[start:event.at], now), messages[start:event.at])
            start = event.at
            self._on_event(event)
        self._deliver(self.live_bars.add(messages[start:], now), messages[start:])
        self._deliver(self.live_bars.close_due(now))
        idle = self.p.idle_stop
        if idle is not None and time.monotonic() - self._last_message > float(idle):
            self._deliver(self.live_bars.finish())
            self._ended = True
            if self.tape is not None:
                self.tape.end()
            self.events.append({"event": "ended", "time": pd.Timestamp(time.time_ns(), tz="UTC"),
                                "reason": f"no message for {float(idle):g} s"})
            self.put_notification(self.DISCONNECTED)
            client.close()

    def _on_event(self, event: Any) -> None:
        stamp = pd.Timestamp(event.time, tz="UTC")
        if event.kind == "connected":
            self.events.append({"event": "connected", "time": stamp})
            self._flowing = False
            self.put_notification(self.CONNECTED)
        else:
            self.events.append({"event": "lost", "time": stamp, "reason": event.reason})
            self._flowing = False
            self.put_notification(self.CONNBROKEN, reason=event.reason)

    def _deliver(self, bars: pd.DataFrame, messages: list[str] | None = None) -> None:
        if messages and not self._flowing:
            self._flowing = True
            self.put_notification(self.LIVE)
        if self.coarser_feeds:
            table = self.live_bars.take_footprint_table()
            for feed in self.coarser_feeds:
                feed.coarser.add(bars, table)
        if not len(bars):
            return
        self._frames.append(bars)
        self._ends.extend(timestamps_ns(bars.index).tolist())
        self._rows.extend(np.column_stack(line_columns(bars)).tolist())

    # ----------------------------------------------------------------- what it made

    @property
    def gaps(self) -> list[dict[str, Any]]:
        """Each gap in the trade ids: ``last_trade_id``, ``first_trade_id``, ``missed_trades``, ``from``, ``to``."""
        return self.live_bars.gaps

    def bar_end(self, i: int) -> int:
        """The end time (ns) of bar ``i`` (0 the first handed to Backtrader)."""
        return self._ends[i]

    def bars(self) -> pd.DataFrame:
        """The bars handed to Backtrader so far, as a bars frame (:func:`data.make_bars`'s columns)."""
        if not self._frames:
            return empty_bars(parse_bar_spec(self.p.bar_spec), bar_columns(self.options.depth, self.options.footprint))
        bars = pd.concat(self._frames) if len(self._frames) > 1 else self._frames[0]
        self._frames = [bars]
        return bars.iloc[:self.delivered]

    def report(self) -> dict[str, Any]:
        """The stream's load report (:meth:`data.live.bars.LiveBars.report`) with the connection events
        (``connections``: each connection, loss and the end, with its time and reason)."""
        report = self.live_bars.report()
        report["source"] = f"{self.p.url} ({str(self.p.symbol).upper()})"
        report["connections"] = [dict(e) for e in self.events]
        losses = [e for e in self.events if e["event"] == "lost"]
        if losses:
            report["notes"] = [f"connection lost {len(losses)} time(s) and resumed: " + "; ".join(
                f"{e['time']:%H:%M:%S} UTC ({e['reason']})" for e in losses[:5]), *report["notes"]]
        return report
