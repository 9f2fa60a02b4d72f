"""One backtest as a function: ``run(config) -> Result``.

The command line, sweeps and walk-forward all call :func:`run`. Its steps:
load the ticks of ``config.data`` within ``start``/``end`` (quotes joined and
unknown sides classified if asked), build the order-flow bars, run Backtrader with
the strategy and the analyzers, then compute equity, trades, daily returns (cut
by the session calendar the indicators use) and the metrics.

    from research import RunConfig, run
    result = run(RunConfig(bars="5min"))
    result.metrics["sharpe"], result.trades, result.daily
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd

from data import (
    CLASSIFIERS,
    OrderFlowError,
    OrderFlowFeed,
    bulk_volume_classification,
    cached_bars,
    carried_quotes,
    classify,
    footprint,
    holds_book,
    join_quotes,
    lagged,
    load_quotes,
    load_ticks,
    make_bars,
)
from data.bars.footprint import infer_tick_size
from data.reading.sources import file_stamp, in_window, scan_ticks
from data.sides.classify import BAR_METHOD
from data.store.cache import through_cache
from data.timeframes import developing_feed, resampled_feed
from execution.broker import ExecutionBroker, WarmupBroker
from execution.tape import default_queue, fill_source

from . import metrics as perf
from .config import RunConfig
from .instruments import configure_broker
from .rolls import Roller, RollingBroker, trade_contracts
from .trades import TRADE_COLUMNS, TradeRecorder, trades_frame


@dataclass
class Loaded:
    """What a run reads before Backtrader starts: the ticks in range, the load report, the bars, and
    with ``--fills trades|book`` what the orders fill against (:func:`fills_of`)."""

    bars: pd.DataFrame
    load_report: dict[str, Any]
    ticks_in_range: int
    ticks: pd.DataFrame | None = None
    cache: dict[str, Any] | None = None  # data.cached_bars' info: hit, key, path
    fills: Any = None  # execution.Replay or execution.Tape (None: --fills bar, or built by make_cerebro)
    footprint: pd.DataFrame | None = None  # the bars' footprint table, for the coarser feeds' footprint lines


@dataclass
class Result:
    """Everything a run produced. ``cerebro``, ``strategy`` and ``ticks`` are dropped by :meth:`slim`."""

    config: RunConfig
    load_report: dict[str, Any]
    ticks_in_range: int
    bars: pd.DataFrame
    equity: pd.DataFrame  # time index (UTC): value, drawdown (%), position
    trades: pd.DataFrame
    daily: pd.Series
    metrics: dict[str, Any]
    params: dict[str, Any] = field(default_factory=dict)  # the strategy's parameters as run
    analyzers: dict[str, Any] = field(default_factory=dict)
    cvd: np.ndarray | None = None
    cvd_label: str = "CVD"
    cvd_resets: np.ndarray | None = None
    cerebro: Any = None
    strategy: Any = None
    ticks: pd.DataFrame | None = None
    cache: dict[str, Any] | None = None  # the bar cache's info (hit, key, path) when the bars went through it
    limits: list[tuple[float, float]] = field(default_factory=list)  # (ordered, filled) of each limit order

    def slim(self) -> "Result":
        """A picklable copy without Backtrader's objects and the ticks (what workers send back)."""
        return replace(self, cerebro=None, strategy=None, ticks=None)


def needs_ticks(config: RunConfig) -> bool:
    """Whether a run must read the ticks into memory: to keep them (footprints, HTML), to join
    quotes or classify trades one by one, when the data is a DataFrame already, or a file that
    holds its book beside the trades (the book lines come from its quote stream). Else the
    bars are streamed from the source in bounded memory. Either way the bars go through the
    bar cache, unless the ticks are kept (they are read anyway) or are a DataFrame."""
    return bool(config.keep_ticks or config.quotes is not None or config.classify in CLASSIFIERS
                or isinstance(config.data, pd.DataFrame) or holds_book(config.data, config.format))


def load(config: RunConfig) -> Loaded:
    """:func:`read_bars`, plus what the orders fill against with ``--fills trades|book`` (:func:`fills_of`),
    read once: a sweep or walk-forward sends it to each worker with the bars."""
    loaded = read_bars(config)
    return replace(loaded, fills=fills_of(config)) if config.fills != "bar" else loaded


def fills_of(config: RunConfig) -> Any:
    """What a run's orders fill against (:func:`execution.tape.fill_source`): the whole replay of one file or
    DataFrame, a tape over a folder, list or store; read with the run's load options (format, columns, tz,
    bad rows, symbol), its quotes with their lag, and the instrument's tick."""
    return fill_source(config.data, config.fills, config.quotes, options=config.load_options,
                       quote_lag=config.quote_lag, tick_size=getattr(config.instrument, "tick_size", None))


def read_bars(config: RunConfig) -> Loaded:
    """The bars of ``config.data`` within ``start``/``end`` and the load report.

    Streamed from the source through the bar cache (:func:`data.cached_bars`: a folder,
    glob, list of files or store is read batch by batch), unless :func:`needs_ticks`:
    then the ticks are loaded, quotes joined and sides classified, and kept on the result
    if ``keep_ticks``; such bars go through the cache too, keyed also by the quote file,
    its lag and the classifier (:func:`data.store.cache.through_cache`). Both give the same
    bars (``data.bars.stream``: equal to ``make_bars``). With coarser timeframes
    (:func:`wants_footprint`) the bars' footprint table comes too, made in the same pass and
    kept in the cache beside the bars.
    """
    table = wants_footprint(config)
    if not needs_ticks(config):
        bars, *fp, info = cached_bars(config.data, config.bars, cache_dir=config.cache_dir, use_cache=config.cache,
                                      load_options=config.load_options, bar_options=config.bar_options,
                                      footprint_table=table)
        fp = fp[0] if fp else None
    elif config.keep_ticks or isinstance(config.data, pd.DataFrame):
        return _from_ticks(config)
    else:
        scan = scan_ticks(config.data, options=config.load_options)
        settings = {"in_memory": True, "classify": config.classify,
                    "quotes": None if config.quotes is None else file_stamp(config.quotes),
                    "quote_lag": config.quote_lag}

        def build() -> Any:
            loaded = _from_ticks(config, checked=False)
            return (loaded.bars, loaded.footprint) if table else loaded.bars

        built, info = through_cache(scan, config.bars,
                                    {"bars": config.bar_options.key(), **{k: str(v) for k, v in settings.items()}},
                                    build, cache_dir=config.cache_dir, use_cache=config.cache, footprint_table=table)
        bars, fp = built if table else (built, None)
    bars = _checked_bars(bars, config)
    report = dict(bars.attrs.get("load_report") or {})
    files = report.get("files") or []
    if len(files) == 1 and not report.get("overlaps"):  # one file: its own report, as load_ticks gives, with the source's notes
        notes = [*files[0].get("notes", []), *report.get("notes", [])]
        report = {k: v for k, v in files[0].items() if k != "rows_in_window"}
        if notes:
            report["notes"] = notes
    return Loaded(bars=bars, load_report=report, ticks_in_range=int(bars["trades"].sum()), cache=info, footprint=fp)


def wants_footprint(config: RunConfig) -> bool:
    """Whether a run needs the bars' footprint table: for the footprint lines of its coarser feeds."""
    return bool(config.all_timeframes) and config.bar_options.footprint


def _from_ticks(config: RunConfig, checked: bool = True) -> Loaded:
    """:func:`load` with the ticks in memory: quotes joined, sides classified, bars made
    (with ``bars.attrs["load_report"]``), then checked (:func:`_checked_bars`) unless not ``checked``.
    The ticks are read whole and cut to ``start``/``end`` after the quotes are joined and the
    sides classified (which look at the ticks before ``start``)."""
    ticks = load_ticks(config.data, options=replace(config.load_options, start=None, end=None))
    ticks, quotes = _quotes_and_sides(ticks, config)
    report = dict(ticks.attrs.get("load_report", {}))
    ticks = in_window(ticks, config.start, config.end).reset_index(drop=True)
    bars = make_bars(ticks, config.bars, quotes=quotes, options=config.bar_options)
    bars.attrs["load_report"] = report
    table = footprint(ticks, config.bars, config.bar_options.tick_size) if wants_footprint(config) else None
    if checked:
        bars = _checked_bars(bars, config)
    return Loaded(bars=bars, load_report=report, ticks_in_range=len(ticks), ticks=ticks if config.keep_ticks else None,
                  footprint=table)


def _checked_bars(bars: pd.DataFrame, config: RunConfig) -> pd.DataFrame:
    """Bulk volume classification of the bars if asked; an error when there are none."""
    if config.classify == BAR_METHOD and not bars.empty:
        bars = bulk_volume_classification(bars)
    if bars.empty:
        raise OrderFlowError(
            f"no bars in the range {config.range_text()}" if (config.start or config.end)
            else "no ticks to make bars from", source=config.data if not isinstance(config.data, pd.DataFrame) else None)
    return bars


def _quotes_and_sides(ticks: pd.DataFrame, config: RunConfig) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Quotes joined strictly before each trade, then the unknown sides classified; and the
    quote stream the bars' book lines come from (every update, not only those at trades):
    ``config.quotes`` moved by ``config.quote_lag``, or, without it, the book of a tick file
    that holds both (:func:`data.reading.quotes.carried_quotes`: LOBSTER, Databento MBO ...), or None."""
    quotes = None
    if config.quotes is not None:
        quotes = load_quotes(config.quotes, tz=config.input_tz, on_bad_rows=config.load_options.on_bad_rows)
        ticks = join_quotes(ticks, quotes, lag=config.quote_lag)
        quotes = lagged(quotes, config.quote_lag)
    else:
        quotes = carried_quotes(config.data, config.format)
        if quotes is not None:
            report = dict(ticks.attrs.get("load_report", {}))
            report["notes"] = [*report.get("notes", []), f"book lines from the file's {len(quotes):,} quote updates"]
            ticks.attrs["load_report"] = report
    ticks = _classified(ticks, config)
    return ticks, quotes


def _classified(ticks: pd.DataFrame, config: RunConfig) -> pd.DataFrame:
    """The unknown sides filled by ``config.classify`` (a note in the load report)."""
    report = dict(ticks.attrs.get("load_report", {}))
    if config.classify in CLASSIFIERS:
        unknown = int((ticks["side"] == 0).sum())
        ticks = classify(ticks, config.classify)
        filled = unknown - int((ticks["side"] == 0).sum())
        note = f"{filled:,} of {unknown:,} unknown sides filled by {config.classify}"
    elif config.classify == BAR_METHOD:
        note = "bar volumes split into buys and sells by bulk volume classification (all inferred)"
    else:
        return ticks
    report["notes"] = [*report.get("notes", []), note]
    ticks.attrs["load_report"] = report
    return ticks


def add_timeframes(cerebro: bt.Cerebro, config: RunConfig, base: OrderFlowFeed,
                   ticks: pd.DataFrame | None = None, table: pd.DataFrame | None = None) -> None:
    """The feeds of ``config.all_timeframes``, resampled from the base feed's bars (closed, or
    developing with ``config.developing``), each named by its spec. Their footprint lines (POC,
    value area, imbalance counts, stacks) come from the base footprint ``table`` merged level by
    level (:attr:`Loaded.footprint`, from the ticks, the stream or the bar cache), made of the
    ``ticks`` when no table is given; with neither they are NaN. The table is cut to the base bars'
    times (a walk-forward window's bars are a slice of the loaded ones)."""
    specs = config.all_timeframes
    if not specs:
        return
    options = config.bar_options
    if table is None and ticks is not None:
        table = footprint(ticks, config.bars, options.tick_size)
    bars = base.p.dataname if not base.islive() else None  # a live feed's coarser bars take the stream's table
    if table is not None and len(table) and bars is not None and len(bars):
        stamps = table.index.get_level_values("timestamp")
        first, end = stamps.searchsorted(bars.index[0]), stamps.searchsorted(bars.index[-1], side="right")
        table = table.iloc[first:end] if first or end < len(table) else table
    make = developing_feed if config.developing else resampled_feed
    for spec in specs:
        cerebro.adddata(make(base, spec, footprint=table, calendar=config.calendar, options=options), name=spec)


def make_cerebro(config: RunConfig, bars: pd.DataFrame | None, ticks: pd.DataFrame | None = None, *,
                 feed: Any = None, broker: Any = None, fills: Any = None,
                 footprint_table: pd.DataFrame | None = None) -> bt.Cerebro:
    """Cerebro with the bars' feed (and the coarser feeds of :func:`add_timeframes`), the strategy,
    the broker's money settings and the analyzers.

    ``fills``: what the orders fill against with ``--fills trades|book`` (:attr:`Loaded.fills`; None:
    read now, :func:`fills_of`). The fill options were checked with the configuration
    (:func:`research.config.check_fills`).

    ``feed``: a Backtrader feed to run on instead of one over ``bars`` (the live feed of
    :mod:`research.live`, its coarser feeds made as its bars close); ``broker``: a Backtrader broker instead of the
    one the configuration chooses, the money settings applied to it all the same. ``footprint_table``: the
    bars' footprint table, for the coarser feeds' footprint lines (else made of ``ticks``, if given)."""
    cerebro = bt.Cerebro(stdstats=False, tradehistory=True)
    live = feed is not None
    if not live:
        feed = OrderFlowFeed.from_bars(bars, config.bars, name=config.data_name)
    rolls = (bars.attrs.get("load_report") or {}).get("rolls") if config.continuous and not live else None
    roller = Roller(feed, rolls, config.roll_positions) if rolls else None
    if broker is not None:
        cerebro.broker = broker
    elif config.fills != "bar":
        source = fills if fills is not None else fills_of(config)
        cerebro.broker = ExecutionBroker(
            warmup=int(config.warmup_bars), replay=source, bar_times=bars.index,
            queue=default_queue(source, config.fills, config.queue), latency=config.latency,
            slippage_ticks=config.slippage_ticks, tick_size=getattr(config.instrument, "tick_size", None),
            maker_fee=config.maker_fee, taker_fee=config.taker_fee, roller=roller)
    elif roller is not None:
        cerebro.broker = RollingBroker(warmup=int(config.warmup_bars), roller=roller)
    elif config.warmup_bars:
        cerebro.broker = WarmupBroker(warmup=int(config.warmup_bars))
    if config.observers:  # what stdstats would add, with buy/sell marks at the fill price
        cerebro.addobserver(bt.observers.Value)
        cerebro.addobserver(bt.observers.Trades)
        cerebro.addobserver(bt.observers.BuySell, barplot=False)
    cerebro.adddata(feed)
    add_timeframes(cerebro, config, feed, ticks, footprint_table)
    cerebro.addstrategy(config.strategy_class, **config.params)
    cerebro.broker.setcash(config.cash)
    if config.instrument is not None:
        configure_broker(cerebro.broker, config.instrument, commission_per_contract=config.commission_per_contract,
                         slippage_ticks=config.slippage_ticks)
    else:
        cerebro.broker.setcommission(commission=config.commission)
    kind, amount = config.slippage
    if amount:
        (cerebro.broker.set_slippage_perc if kind == "perc" else cerebro.broker.set_slippage_fixed)(amount)
    cerebro.addanalyzer(bt.analyzers.DrawDown, _name="drawdown")
    cerebro.addanalyzer(bt.analyzers.TradeAnalyzer, _name="trades")
    cerebro.addanalyzer(bt.analyzers.Transactions, _name="transactions")
    cerebro.addanalyzer(TradeRecorder, _name="recorder")
    return cerebro


def run(config: RunConfig, loaded: Loaded | None = None) -> Result:
    """One backtest: load and build bars (unless ``loaded``, :func:`load`'s result, is given),
    run Backtrader, and compute equity, trades, daily returns and the metrics.

    With ``config.warmup_bars = N`` the strategy and its indicators run over all the
    bars but trade from bar N on (:class:`WarmupBroker`); the result (bars, equity,
    trades with bar numbers counted from bar N, daily returns, metrics, CVD) covers
    bars N onwards only, the equity starting from the cash (nothing was traded before).
    """
    loaded = loaded if loaded is not None else load(config)
    warmup = int(config.warmup_bars)
    if not 0 <= warmup < len(loaded.bars):
        raise OrderFlowError(f"warmup_bars {warmup} must be >= 0 and below the {len(loaded.bars)} bars")
    held = {name: value for name, value in (("ticks", loaded.ticks), ("footprint_table", loaded.footprint),
                                            ("fills", loaded.fills)) if value is not None}
    cerebro = make_cerebro(config, loaded.bars, **held)
    strat = cerebro.run()[0]  # a strategy rejects bad parameter values with OrderFlowError
    return result_of(config, loaded, cerebro, strat)


def result_of(config: RunConfig, loaded: Loaded, cerebro: bt.Cerebro, strat: Any, *, running: bool = False) -> Result:
    """The :class:`Result` of a strategy that ran on ``loaded.bars``: equity, trades, daily returns,
    metrics. ``running``: the strategy is still running (a live run writing its files as it goes):
    the result covers the bars it has seen, the trades still open marked at the last close."""
    warmup = int(config.warmup_bars)
    recorder = strat.analyzers.recorder
    recorded = recorder.get_analysis()
    if running:
        recorded = {**recorded, "trades": [*recorded["trades"], *recorder.open_rows()]}
    seen = loaded.bars.iloc[:len(recorded["values"])] if running else loaded.bars
    loaded = replace(loaded, bars=seen)
    bars = loaded.bars.iloc[warmup:] if warmup else loaded.bars
    times = bars.index
    values = pd.Series(recorded["values"][warmup:], index=times, dtype=np.float64)
    check_finite(values, config)
    equity = pd.DataFrame({"value": values, "drawdown": perf.drawdown(values),
                           "position": np.asarray(recorded["positions"][warmup:], dtype=np.float64)})
    trades = trades_frame(recorded["trades"], times, tick_size=run_tick_size(config, bars, cerebro.broker),
                          offset=warmup,
                          multiplier=getattr(cerebro.broker.getcommissioninfo(strat.data).p, "mult", 1.0) or 1.0)
    if config.continuous:
        trades.insert(len(TRADE_COLUMNS), "contract", trade_contracts(trades, loaded.load_report))
    daily = perf.daily_returns(values, config.cash, config.calendar)
    metrics = perf.performance(values, trades, daily, bars, equity["position"], config.cash)
    metrics["fills"] = sum(len(v) for v in strat.analyzers.transactions.get_analysis().values())
    metrics.update(order_counts(recorded["refused"], getattr(strat, "unsized_entries", None), warmup))
    limits = [(float(o), float(f)) for o, f in recorded["limits"]]
    metrics["limit_fill_pct"] = perf.limit_fill_pct(limits)
    cvd, label, resets = strategy_cvd(strat, loaded.bars)
    if warmup and cvd is not None:
        cvd = cvd[warmup:]
        resets = None if resets is None else resets[resets >= warmup] - warmup
    return Result(config=config, load_report=loaded.load_report, ticks_in_range=loaded.ticks_in_range, bars=bars,
                  equity=equity, trades=trades, daily=daily, metrics=metrics,
                  params={k: getattr(strat.p, k) for k in strat.params._getkeys()},
                  analyzers={**{name: strat.analyzers.getbyname(name).get_analysis()
                                for name in ("drawdown", "trades", "transactions")},
                             **({"rolls": cerebro.broker.p.roller.done} if rolled(cerebro) else {})},
                  cvd=cvd, cvd_label=label, cvd_resets=resets, cerebro=cerebro, strategy=strat, ticks=loaded.ticks,
                  cache=loaded.cache, limits=limits)


def run_tick_size(config: RunConfig, bars: pd.DataFrame, broker: Any = None) -> float:
    """The tick the trades list counts slippage in: the one the fills use where ``broker`` fills from the
    ticks (:attr:`execution.broker.ExecutionBroker.tick_size`), else the instrument's (``--symbol``), else
    the smallest step of the bars' prices (:func:`data.bars.footprint.infer_tick_size`)."""
    if isinstance(broker, ExecutionBroker):
        return broker.tick_size
    tick = getattr(config.instrument, "tick_size", None)
    if tick:
        return float(tick)
    prices = np.unique(bars[["open", "high", "low", "close"]].to_numpy(np.float64).ravel())
    return infer_tick_size(prices[np.isfinite(prices)])


def rolled(cerebro: bt.Cerebro) -> bool:
    """Whether the run's broker rolls a continuous contract's positions (:class:`RollingBroker` with bar fills,
    :class:`ExecutionBroker` with fills from the ticks)."""
    return isinstance(cerebro.broker, (RollingBroker, ExecutionBroker)) and cerebro.broker.p.roller is not None


ORDER_METRICS = ("fills", "orders_rejected", "orders_margin", "entries_skipped")
"""The metrics the engine adds to ``research.metrics.performance``'s."""


def order_counts(refused: list[str], unsized: list[int] | None, warmup: int = 0) -> dict[str, Any]:
    """``orders_rejected``: orders the broker refused (their statuses ``refused``, Backtrader's
    ``Margin`` or ``Rejected``; :class:`research.trades.TradeRecorder` leaves out those of warm-up
    bars), ``orders_margin`` those of them for lack of cash or margin; ``entries_skipped``: entry
    signals of an :class:`strategies.base.OrderFlowStrategy` whose size rounded to 0 units, past
    the ``warmup`` bars (None for another strategy)."""
    return {"orders_rejected": len(refused), "orders_margin": refused.count("Margin"),
            "entries_skipped": None if unsized is None else sum(bars > warmup for bars in unsized)}


def check_finite(values: pd.Series, config: RunConfig) -> None:
    """OrderFlowError when the portfolio value leaves the floats (inf or NaN): money that overflows
    (a multiplier of 1e308, a cash of 1e308 ...) would otherwise give NaN metrics."""
    bad = ~np.isfinite(values.to_numpy())
    if not bad.any():
        return
    first = int(np.argmax(bad))
    terms = f"cash {config.cash:g}"
    if config.instrument is not None:
        terms += f", multiplier {config.instrument.multiplier:g}"
    raise OrderFlowError(f"the portfolio value is not finite from {values.index[first].tz_convert(config.tz):%Y-%m-%d %H:%M %Z}"
                         f" on ({values.iloc[first]}): the money of this run overflows a float ({terms}); "
                         "use realistic contract terms")


def _indicators(owner: Any, depth: int = 3) -> list[Any]:
    """The indicators of a strategy, then those they build on (breadth first, ``depth`` levels)."""
    found, level = [], list(owner.getindicators())
    for _ in range(depth):
        found.extend(level)
        level = [sub for ind in level for sub in getattr(ind, "_lineiterators", {}).get(bt.LineIterator.IndType, [])]
    return found


def strategy_cvd(strat: Any, bars: pd.DataFrame) -> tuple[np.ndarray | None, str, np.ndarray | None]:
    """The strategy's first CVD indicator values per bar, its label and session-reset bars (if any)."""
    from indicators import CumulativeVolumeDelta
    from indicators.sessions import SessionCalendar

    for ind in _indicators(strat):
        if isinstance(ind, CumulativeVolumeDelta) and ind.data is strat.data:  # not one on a coarser feed
            values = np.asarray(ind.lines[0].array[: len(bars)], dtype=np.float64)
            reset = str(getattr(ind.p, "reset", ""))
            resets = None
            if reset == "session":  # the bars where the indicator's own calendar opens a session
                resets = np.flatnonzero(SessionCalendar(ind.p.session_start, ind.p.tz).bar_opens(bars.index))
            return values, f"CVD (reset: {reset or 'never'})", resets
    return None, "CVD (running sum of delta)", None
