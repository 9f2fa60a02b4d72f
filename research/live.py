"""A live run: the engine's strategy, broker and analyzers on a live feed, its result given as it goes.

    from research import RunConfig
    from research.live import LiveSource, run_live
    config = RunConfig(strategy="cvd_trend", bars="1min", instrument=get_instrument("BTC-PERP"))
    result = run_live(config, LiveSource("wss://fstream.binance.com", "BTCUSDT"), on_update=print)

:func:`run_live` is :func:`research.run` with :class:`data.LiveOrderFlowFeed` in place of the bars of
a file: the same Cerebro (:func:`research.engine.make_cerebro`: strategy, money settings, analyzers)
and the same result (:func:`research.engine.result_of`), handed to ``on_update`` at most every
``every`` seconds while the run goes (the bars so far; trades still open marked at the last close)
and returned at the end. The live feed builds the bars a backtest of the recorded capture builds, so
a replay of a capture (:mod:`data.live.replay`) gives the backtest's indicator values, orders and
fills.

Fills: ``fills="bar"`` is Backtrader's broker at the next bar's open, as in a backtest.
``fills="trades"`` / ``"book"`` are paper fills on the stream itself
(:class:`execution.live.LiveExecutionBroker`): the feed keeps a tape of the trades and quotes it
received, and each order is executed by :func:`execution.simulate` against it as it grows, with
``queue``, ``latency``, ``slippage_ticks`` and the maker and taker fees as in a backtest; a replay of
a capture gives the orders and fills of a backtest of that capture with the same ``fills``.
``broker=`` takes any other Backtrader broker instead.

Coarser timeframes (``config.timeframes`` and those the strategy asks for) are closed bars made as
the stream goes (:class:`data.timeframes.LiveResampledFeed`): a replay gives the backtest's coarser
bars, at the same base bars; ``config.developing`` and ``Nt``/``Nv`` timeframes are refused.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any, Callable

import backtrader as bt

from data import OrderFlowError
from data.bars.large import DEFAULT_LARGE_WINDOW as FIRST_BLOCK
from data.live.feed import LiveOrderFlowFeed
from execution.broker import default_queue
from execution.live import LiveExecutionBroker, LiveTape

from .config import RunConfig
from .engine import Loaded, Result, make_cerebro, result_of

__all__ = ["LiveSource", "live_feed", "live_broker", "run_live", "FIRST_BLOCK"]


@dataclass(frozen=True)
class LiveSource:
    """Where a live run's data comes from: the stream's address (``url``: the exchange, or a replay),
    the ``symbol``, the ``grace`` after a time bar's end before it closes without a later trade,
    ``idle_stop`` (end after that many seconds without a message; None: until stopped), whether the
    book lines come from the quote stream (``quotes``), and the footprint grid's ``tick_size`` (None:
    the run's instrument's)."""

    url: str
    symbol: str
    grace: str = "1s"
    idle_stop: float | None = None
    quotes: bool = True
    tick_size: float | None = None


def live_feed(config: RunConfig, source: LiveSource, **feed_params: Any) -> LiveOrderFlowFeed:
    """The live feed of a run: ``config``'s bars and bar options, ``source``'s stream."""
    options = config.bar_options
    tick = _tick_size(config, source)
    if tick is None and options.footprint:
        raise OrderFlowError("a live run needs the instrument's tick size for the footprint lines: --instrument "
                             "(BTC-PERP ...) or --multiplier 1 --tick-size 0.01 on the command line, "
                             "LiveSource(tick_size=) or RunConfig(instrument=) from Python")
    if tick is not None:
        options = replace(options, tick_size=float(tick))
    return LiveOrderFlowFeed(source.url, source.symbol, bars=config.bars, options=options, grace=source.grace,
                             idle_stop=source.idle_stop, quotes=source.quotes, name=config.data_name, **feed_params)


def _tick_size(config: RunConfig, source: LiveSource) -> float | None:
    if source.tick_size is not None:
        return source.tick_size
    return config.instrument.tick_size if config.instrument is not None else None


def live_broker(config: RunConfig, source: LiveSource, feed: LiveOrderFlowFeed) -> LiveExecutionBroker:
    """The paper broker of ``config.fills`` (``"trades"`` or ``"book"``) on the tape of ``feed`` (made
    with ``tape=True``): the queue model, latency, slippage and fees of the configuration, the tick
    size of the instrument."""
    tick = _tick_size(config, source)
    if tick is None:
        raise OrderFlowError(f"--fills {config.fills} on a live stream needs the instrument's tick size: --instrument "
                             "(BTC-PERP ...) or --tick-size")
    tape = LiveTape(feed.tape, tick_size=tick, name=f"{source.url} ({source.symbol.upper()})",
                    book=config.fills == "book")
    queue = default_queue(tape.window(0, -1), config.fills, config.queue)  # the empty window: a book, no order ids
    return LiveExecutionBroker(tape=tape, feed=feed, warmup=int(config.warmup_bars), queue=queue,
                               latency=config.latency, slippage_ticks=config.slippage_ticks,
                               maker_fee=config.maker_fee, taker_fee=config.taker_fee)


class _Updates(bt.Analyzer):
    """Calls ``callback(strategy)`` after a bar, at most every ``every`` seconds (after the recorder)."""

    params = (("callback", None), ("every", 1.0))

    def start(self) -> None:
        self._last = float("-inf")

    def next(self) -> None:
        now = time.monotonic()
        if now - self._last >= self.p.every:
            self._last = now
            self.p.callback(self.strategy)


def run_live(config: RunConfig, source: LiveSource, *, on_update: Callable[[Result], None] | None = None,
             every: float = 1.0, broker: Any = None, on_start: Callable[[bt.Cerebro], None] | None = None,
             **feed_params: Any) -> Result:
    """Run ``config``'s strategy on ``source``'s live stream until the feed ends (``idle_stop``) or
    Cerebro is stopped (``cerebro.runstop()``, e.g. from a signal handler given the Cerebro by
    ``on_start``); returns the :class:`research.Result` of the bars it saw. ``on_update`` gets the
    result so far at most every ``every`` seconds. Fills: ``config.fills`` (``"bar"``: Backtrader's
    broker; ``"trades"`` / ``"book"``: paper fills on the stream's trades / trades and quotes,
    :func:`live_broker`); ``broker`` replaces that broker;
    ``feed_params`` go to :class:`data.LiveOrderFlowFeed` (``qcheck``, ``first_delay`` ...).
    The result's ``load_report`` is the stream's (:meth:`data.LiveOrderFlowFeed.report`: trades
    read, kept, rejected by reason, every gap and every connection loss)."""
    if config.continuous:
        raise OrderFlowError("a live run follows one instrument: --continuous needs the bars of files")
    if config.all_timeframes and config.developing:
        raise OrderFlowError("--developing needs the bars of files: a live run's coarser timeframes are closed bars")
    paper = config.fills != "bar" and broker is None
    if paper and config.quotes is not None:
        raise OrderFlowError("--quotes FILE gives the book of a tick file: a live run's book is its own quote stream")
    feed = live_feed(config, source, **({"tape": True} if paper else {}), **feed_params)
    if paper:
        broker = live_broker(config, source, feed)
    cerebro = make_cerebro(config, None, feed=feed, broker=broker)
    if on_update is not None:
        cerebro.addanalyzer(_Updates, callback=lambda strat: on_update(result_of(config, _loaded(feed), cerebro, strat,
                                                                                  running=True)),
                            every=every)
    if on_start is not None:
        on_start(cerebro)
    strat = cerebro.run()[0]
    loaded = _loaded(feed)
    if not len(loaded.bars):
        raise OrderFlowError(f"no bar came from {source.url} ({source.symbol}): {feed.report()['rows_read']:,} trades "
                             f"received; the first bars wait for {FIRST_BLOCK:,} aggressor orders (the footprint "
                             "lines' first block of large-order sizes, as in a backtest)")
    return result_of(config, loaded, cerebro, strat)


def _loaded(feed: LiveOrderFlowFeed) -> Loaded:
    bars = feed.bars()
    return Loaded(bars=bars, load_report=feed.report(), ticks_in_range=int(bars["trades"].sum()) if len(bars) else 0)
