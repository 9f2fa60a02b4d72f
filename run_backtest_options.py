"""The command line's options: the parser of ``run_backtest.py`` and the checks that turn its
options into a :class:`research.RunConfig` and the output choices (:class:`Outputs`).

Part of the command line, beside ``run_backtest.py``, which alone imports it (the library does
not). Everything here parses text; nothing runs a backtest. Bad input raises
:class:`data.OrderFlowError`, which the command line prints as one line.
"""
from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from data import CLASSIFIERS, IMBALANCE_PRESETS, OrderFlowError, parse_bar_spec
from data.bars.resample import check_timeframe
from data.contracts import ADJUSTMENTS, ROOT_RULES
from data.errors import ArgumentParser
from data.reading.loader import FORMATS, TARGET_COLUMNS, check_column_map
from data.sides.classify import BAR_METHOD
from data.storage import add_endpoint_option, as_path, is_remote, path_argument
from execution.broker import FILL_MODES, parse_fee
from reports import output
from research.config import (
    DEFAULT_BARS,
    DEFAULT_DATA,
    DEFAULT_SESSION,
    DEFAULT_SIZE,
    DEFAULT_STRATEGY,
    FRACTIONAL_PARAM,
    LAST_TIME,
    RunConfig,
    check_zone,
    parse_clock,
    parse_params,
    parse_size,
    parse_slippage,
    parse_time,
    resolve_strategy,
    session_params,
    strategy_session,
)
from research.instruments import instrument_from_options
from research.rolls import ROLL_POSITIONS
from strategies import OrderFlowStrategy, describe_strategies, strategy_params

DEFAULT_OUT = Path("results")
CONTRACT_SIZE = "1"  # --size with a futures contract when none is given


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``run_backtest.py`` (its ``--help`` documents every option)."""
    p = ArgumentParser(
        prog="run_backtest.py",
        description="Backtest an order-flow strategy on tick data and write metrics, trades, "
        "equity and plots. With no DATA: cvd_trend on 1min bars of the bundled sample.",
        epilog="Writes metrics.json, trades.csv, equity.csv and report.png (and bt_plot.png) into --out. "
        "Exit status: 0 done, 2 bad input (one 'error: ...' line on stderr).",
    )
    p.add_argument("data", nargs="*", default=[], metavar="DATA",
                   help="tick data: a file (.csv[.gz], .parquet, .json, vendor formats), several files, a folder, "
                   "a quoted glob ('ticks/2024-0[1-3]-*.csv.gz') or a tick store (python -m data.store import), "
                   "on disk or on S3 (s3://bucket/prefix/..., see --s3-endpoint); read in time order as one stream; "
                   "default: the bundled sample data/sample/sample_ticks.parquet")
    p.add_argument("--strategy", default=DEFAULT_STRATEGY,
                   help="strategy: a registered name (see --list-strategies), or one of your own: path/to/file.py:Class or "
                   "module:Class (modules are also found in the current folder); default cvd_trend")
    p.add_argument("--bars", default=DEFAULT_BARS,
                   help="bar spec: a time offset (30s, 1min, 5min, 1h), N trades (500t), N units of "
                   "volume (1000v) or 'tick' (one bar per trade); default 1min")
    p.add_argument("--timeframes", default=None, metavar="SPEC[,SPEC...]",
                   help="coarser bars beside --bars for strategies that read several timeframes (15min,1h,session: "
                   "multiples of --bars, or the sessions of --session-start), resampled from the base bars with "
                   "every order-flow line; a strategy finds each feed by its spec. The timeframes a strategy asks "
                   "for (trend_imbalance: its trend_bars) are added anyway")
    p.add_argument("--developing", action="store_true",
                   help="the --timeframes feeds show the coarser bar as it forms, updated at every base bar (replay; "
                   "Backtrader then runs bar by bar), instead of closed bars")
    p.add_argument("--symbol", default=None,
                   help="the instrument to use from data that holds several (a store, Databento, ccxt files)")
    p.add_argument("--allow-overlap", action="store_true",
                   help="accept files whose time ranges overlap when the trades carry no ids to drop duplicates by")
    p.add_argument("--no-cache", action="store_true",
                   help="build the bars from the ticks even when the bar cache holds them (and do not cache them)")
    p.add_argument("--cache-dir", type=path_argument, default=None,
                   help="bar cache folder (or s3://bucket/prefix); default $ORDERFLOW_CACHE_DIR or "
                   "~/.cache/orderflow-bt/bars")
    add_endpoint_option(p)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--cash", type=float, default=100_000.0, help="starting cash; default 100000")
    p.add_argument("--commission", type=float, default=0.0,
                   help="commission per fill as a fraction of the traded value (0.0001 = 1 basis point, "
                   "charged on entry and on exit); default 0")
    p.add_argument("--slippage", default="0",
                   help="slippage against you on every fill: a price amount per unit (0.25 = one E-mini "
                   "tick, Backtrader's set_slippage_fixed) or a percent of the price ('0.01%%', "
                   "set_slippage_perc); never beyond the bar's high/low; default 0")
    p.add_argument("--size", default=None,
                   help="position size: units (contracts) per trade ('2') or a percent of equity ('10%%', of the "
                   "notional price x multiplier); default: 1 contract with a futures instrument, else 100%% of "
                   "equity (whole units), so that returns compare with buy and hold")
    p.add_argument("--risk", type=float, default=None, metavar="CASH",
                   help="size each trade so that its stop risks at most CASH (floor(CASH / (stop distance x "
                   "multiplier)) contracts); needs a strategy stop")
    c = p.add_argument_group("continuous futures contracts (docs/continuous.md)")
    c.add_argument("--continuous", default=None, metavar="ROOT",
                   help="read the contracts of ROOT (ES: ESH4, ESM4 ... as a store's symbols, a symbol column or file "
                   "names) as one series across the rolls; a roll table is printed and written to rolls.csv")
    c.add_argument("--roll", default=None, metavar="RULE",
                   help="days:N (N calendar days before the expiry; ES: days:8, the Thursday of the week before) or "
                   "volume (after the first day the next contract trades more than the front one); default: the "
                   "root's days:N")
    c.add_argument("--adjust", default="none", choices=ADJUSTMENTS,
                   help="none: the traded prices, jumping at each roll; add: earlier contracts shifted by the gaps at "
                   "the rolls (whole ticks); ratio: multiplied by the price ratios at the rolls; default none")
    c.add_argument("--expiry", default=None, metavar="MONTHS:NTHDAY[:DAYS]",
                   help="the root's expiry rule, e.g. HMUZ:3fri (the third Friday of March, June, September and "
                   "December; :8 = the default roll days; a session open may follow, e.g. 'HMUZ:3fri:8 -07:00 America/Chicago', "
                   "the CME's 17:00 Chicago the evening before, when a roll switches); needed for a root without a preset "
                   f"({', '.join(ROOT_RULES)})")
    c.add_argument("--roll-positions", default="roll", choices=ROLL_POSITIONS,
                   help="at a roll, roll an open position into the new contract (closed and opened at the roll's "
                   "prices, both fills paying the costs) or close it and leave it to the strategy; default roll")
    m = p.add_argument_group("futures contract maths (docs/research.md: Money as the exchange counts it)")
    m.add_argument("--instrument", default=None, metavar="SYMBOL",
                   help="contract preset: ES MES NQ MNQ YM RTY CL GC ZN 6E BTC-PERP (multiplier, tick size, margin); "
                   "P&L, equity and metrics in the contract's currency")
    m.add_argument("--multiplier", type=float, default=None, help="currency per point of price (ES: 50)")
    m.add_argument("--tick-size", type=float, default=None, help="smallest price step (ES: 0.25)")
    m.add_argument("--margin", type=float, default=None, help="initial margin per contract, in currency")
    m.add_argument("--commission-per-contract", type=float, default=0.0, metavar="CASH",
                   help="commission per contract and side (charged on entry and on exit); default 0")
    m.add_argument("--slippage-ticks", type=float, default=0.0, metavar="N",
                   help="slippage against you on every fill, in ticks of --tick-size; default 0")
    f = p.add_argument_group("fills against the ticks and the book (README: Fills against the ticks and the book)")
    f.add_argument("--fills", default="bar", choices=FILL_MODES,
                   help="bar: Backtrader's fills on the next bar (default); trades: the next trade after the order "
                   "arrives (limit orders only from trades through their price); book: against the book, in the "
                   "queue (needs quotes: LOBSTER, Databento MBO/MBP-10, a capture, bid/ask columns, --quotes); one file is "
                   "replayed whole, a folder, list or store read by day (docs/fills.md); with --live: the stream's own "
                   "trades and quotes")
    f.add_argument("--queue", default=None, metavar="MODEL",
                   help="--fills book: fifo (sources with order ids: the default there), risk_averse (the default "
                   "elsewhere), prob:N or through")
    f.add_argument("--latency", default=None, metavar="DURATION",
                   help="--fills trades/book: entry latency of every order ('2ms'), or 'feed' (Databento's receive "
                   "delay); default 0")
    f.add_argument("--maker-fee", default="0", metavar="FEE",
                   help="--fills trades/book: fee of a fill that provided liquidity, per contract (0.2) or a percent "
                   "of the traded value ('0.01%%'); negative for a rebate; beside --commission(-per-contract)")
    f.add_argument("--taker-fee", default="0", metavar="FEE", help="the same for a fill that took liquidity")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="set a strategy parameter (repeatable); values take the parameter's type "
                   "(int, float, bool: true/false, none)")
    p.add_argument("--start", default=None,
                   help="first time to use (ISO date or time, e.g. 2024-04-15 or '2024-04-15 08:30'); "
                   "in --tz when it has no zone; ticks outside --start/--end are left out before bars are built")
    p.add_argument("--end", default=None,
                   help="last time kept: a date, month or year includes the whole period (2024-03: all of March), "
                   "a date and time that instant; in --tz when it has no zone; a time alone is refused")
    p.add_argument("--tz", default=None,
                   help="time zone of zone-less timestamps in DATA and of --start/--end; also the zone "
                   "in which outputs and plots show times (trading days are cut by --session-start); default UTC")
    p.add_argument("--session-start", default=None, metavar="HH:MM",
                   help="session start: sets the strategy's session_start (CVD session reset, session "
                   "VWAP; e.g. 17:00 for CME futures, 00:00 for crypto) and where trading days start for "
                   "daily returns and every daily metric, whatever the strategy (default: the strategy's own "
                   "session_start if it has one, else 17:00)")
    p.add_argument("--session-tz", default=None,
                   help="time zone of --session-start, set as the strategy's tz parameter "
                   "(e.g. UTC for crypto); default: the strategy's own tz if it has one, else America/Chicago")
    p.add_argument("--format", default=None,
                   help=f"force the input format (one of {', '.join(sorted(FORMATS))}); "
                   "default: detected from the file's header, line shapes or extension")
    p.add_argument("--columns", default=None, metavar="THEIRS=CANONICAL,...",
                   help="the names of your file's columns, e.g. Time=timestamp,Last=price,Qty=size,Aggressor=side "
                   f"(canonical names: {', '.join(TARGET_COLUMNS)}); default: the known names and aliases "
                   "(README: Loading your own data)")
    p.add_argument("--classify", default=None, metavar="METHOD",
                   help=f"fill unknown trade sides: {', '.join(CLASSIFIERS)} (per trade) or "
                   f"{BAR_METHOD} (bulk volume classification of each bar's volume)")
    p.add_argument("--quotes", type=path_argument, default=None, metavar="FILE",
                   help="quote file (time, bid, ask[, bid size, ask size]) joined onto the trades "
                   "as of the last quote strictly before each trade")
    p.add_argument("--quote-lag", default=None, metavar="DURATION",
                   help="a quote counts only this long after its time (e.g. 50ms); needs --quotes")
    p.add_argument("--drop-bad-rows", action="store_true",
                   help="reject unreadable rows and count them by reason instead of stopping")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT,
                   help="output folder; default results/. Before writing, a run removes the files of its kind that "
                   "an earlier run left there (a backtest: metrics.json, trades.csv, equity.csv, report.png, "
                   "bt_plot.png, report.html, footprint.png, footprint.html, footprints/trade_*.png; a sweep, a "
                   "walk-forward, --compare: theirs), so that every file there is this run's; it never removes "
                   "any other file")
    p.add_argument("--no-plot", action="store_true", help="do not draw report.png")
    p.add_argument("--bt-plot", action="store_true", help="also save Backtrader's own plot as bt_plot.png")
    p.add_argument("--list-strategies", action="store_true",
                   help="list the strategies with the parameter values a run uses (sizing: the default --size)")
    p.add_argument("--footprint", nargs=2, default=None, metavar=("START", "END"),
                   help="also draw footprint.png: the footprint of the bars stamped from START to END "
                   "(in --tz when they have no zone; the first 80 bars if there are more), with the trades marked")
    p.add_argument("--html", action="store_true",
                   help="also write report.html: an interactive report (Bokeh, opens offline) with linked panels, "
                   "the trades, the metrics and a footprint explorer; with --sweep: sweep.html, with --walk-forward: "
                   "walk_forward.html")
    p.add_argument("--html-footprint", nargs=2, default=None, metavar=("START", "END"),
                   help="also write footprint.html: the interactive footprint of the bars stamped from START to END")
    p.add_argument("--profile", action="store_true",
                   help="draw the volume profile of the run's sessions (POC, value area) beside the price panel of "
                   "report.png (reads the ticks into memory)")
    p.add_argument("--imbalance", default=None, choices=sorted(IMBALANCE_PRESETS),
                   help="footprint imbalance rule of a platform (feed lines, indicators, footprint charts); "
                   "default: ratio 3, no minimum volume")
    p.add_argument("--trade-footprints", type=int, default=0, metavar="N",
                   help="also draw the footprint around each of the first N trades into footprints/; default 0")
    p.add_argument("--compare", default=None, metavar="NAME[,NAME...]",
                   help="run several strategies on the same data and print one table (compare.csv; each "
                   "strategy's metrics, trades and equity in OUT/NAME/); --param KEY=VALUE goes to the "
                   "strategies that have KEY; --strategy is ignored")
    g = p.add_argument_group("research: sweeps, walk-forward, overfitting checks (docs/research.md)")
    g.add_argument("--sweep", action="append", default=[], metavar="NAME=V1,V2|START:STOP:STEP",
                   help="sweep a strategy parameter (or bars=1min,5min) over values or an inclusive range; "
                   "repeatable: every combination runs. Writes sweep.csv, returns.parquet, sweep.json, heatmap.png")
    g.add_argument("--jobs", type=int, default=None,
                   help="local worker processes (never more than the sets; a warning past the cores); "
                   "default: all cores")
    g.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run on a Dask distributed cluster (e.g. tcp://10.0.0.5:8786) instead of local processes; "
                   "an error when no scheduler answers there within 10 s or no worker joins it within 30 s")
    g.add_argument("--rank-by", default="sharpe", metavar="METRIC",
                   help="metric that picks the best set (a metrics.json key); default sharpe")
    g.add_argument("--resume", action="store_true", help="run only the sets not yet in --out/sweep.csv, of the "
                   "same sweep (its fingerprint in --out/sweep.json)")
    g.add_argument("--walk-forward", default=None, metavar="train=10D,test=2D[,anchored]",
                   help="walk-forward over the --sweep grid: lengths in trading days (D) or bars (b)")
    g.add_argument("--pbo-splits", type=int, default=16, metavar="S",
                   help="blocks S of the probability of backtest overfitting (even); default 16")
    v = p.add_argument_group("live: the strategy on an exchange's stream as it happens (docs/live.md)")
    v.add_argument("--live", default=None, metavar="URL",
                   help="run on a live stream instead of DATA: the exchange (wss://fstream.binance.com) or a replay "
                   "(python -m data.replay: ws://127.0.0.1:8765); needs --symbol, and --instrument (or --multiplier "
                   "and --tick-size) for the tick of the footprint lines; metrics.json, trades.csv and equity.csv "
                   "are written as the run goes; Ctrl-C ends it")
    v.add_argument("--grace", default="1s", metavar="DURATION",
                   help="with --live: how long after a time bar's end (exchange clock) it closes without a later "
                   "trade; default 1s")
    v.add_argument("--idle-stop", type=float, default=None, metavar="SECONDS",
                   help="with --live: end the run after this many seconds without a message; default: run until "
                   "Ctrl-C or SIGTERM")
    v.add_argument("--write-every", type=float, default=1.0, metavar="SECONDS",
                   help="with --live: write metrics.json, trades.csv and equity.csv at most this often; default 1")
    return p


def strategy_listing() -> str:
    """``--list-strategies``: each strategy with the parameter values a run uses (the sizing of the default
    ``--size``, not the class default), and the sizing with ``--instrument``."""
    text = describe_strategies(lambda cls: {**strategy_params(cls), **parse_size(None, cls)})

    def shown(size: str) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in parse_size(size, OrderFlowStrategy).items())

    return (f"{text}\n\nWithout --size: {shown(DEFAULT_SIZE)} ({DEFAULT_SIZE} of equity); with --instrument: "
            f"{shown(CONTRACT_SIZE)} (one contract); --size and --param KEY=VALUE change them.")


@dataclass
class Outputs:
    """Where and what to write, besides the run itself."""

    out: Path
    plot: bool = True
    bt_plot: bool = False
    footprint: tuple[pd.Timestamp, pd.Timestamp] | None = None  # --footprint START END
    trade_footprints: int = 0
    html: bool = False
    html_footprint: tuple[pd.Timestamp, pd.Timestamp] | None = None  # --html-footprint START END
    profile: bool = False  # --profile: the session volume profile beside the price panel

    @property
    def needs_ticks(self) -> bool:
        return bool(self.footprint or self.trade_footprints or self.html or self.html_footprint or self.profile)


def make_config(args: argparse.Namespace) -> tuple[RunConfig, Outputs]:
    """Check every option and resolve the strategy; raises OrderFlowError on bad input."""
    data = data_source(args.data)
    outputs = Outputs(out=output.check_out_dir(args.out), plot=not args.no_plot, bt_plot=args.bt_plot,
                      trade_footprints=args.trade_footprints, html=args.html,
                      profile=args.profile)
    parse_bar_spec(args.bars)
    timeframes = parse_timeframes(args.timeframes, args.bars)
    columns = parse_columns(args.columns)
    cls = resolve_strategy(args.strategy)
    known = strategy_params(cls)
    params = parse_params(args.param, cls, args.strategy)
    instrument = instrument_from_options(args.instrument, multiplier=args.multiplier, tick_size=args.tick_size,
                                         margin=args.margin)
    params = {**money_params(args, cls, instrument, fractional=bool(params.get(FRACTIONAL_PARAM, False))), **params}
    tz = check_zone(args.tz, "--tz") if args.tz else "UTC"
    start = parse_time(args.start, tz, "--start") if args.start else None
    end = parse_time(args.end, tz, "--end", end=True) if args.end else None
    if start is not None and end is not None and start >= end:
        raise OrderFlowError(f"--start {args.start} is not before --end {args.end}")
    if args.classify is not None and args.classify not in (*CLASSIFIERS, BAR_METHOD):
        raise OrderFlowError(f"unknown --classify {args.classify!r}; use one of {', '.join([*CLASSIFIERS, BAR_METHOD])}")
    if args.quote_lag is not None and args.quotes is None:
        raise OrderFlowError("--quote-lag needs --quotes FILE")
    outputs.footprint = parse_window(args.footprint, tz, "--footprint")
    outputs.html_footprint = parse_window(args.html_footprint, tz, "--html-footprint")
    if args.trade_footprints < 0:
        raise OrderFlowError(f"bad --trade-footprints {args.trade_footprints}: a number of trades >= 0")
    own = strategy_session({**known, **params})
    if args.session_start is not None or args.session_tz is not None:
        zone = check_zone(args.session_tz, "--session-tz") if args.session_tz else (own or DEFAULT_SESSION)[1]
        clock = parse_clock(args.session_start) if args.session_start is not None else (own or DEFAULT_SESSION)[0]
        session = (clock, zone)
        mapped = session_params(known, clock if args.session_start is not None else None, zone)
        if not mapped:
            print(f"note: strategy {args.strategy} has no session reset; --session-start/--session-tz only "
                  "cut the daily returns", file=sys.stderr)
        params.update(mapped)
    else:
        session = own
    config = RunConfig(
        data=data, strategy=args.strategy if ":" not in args.strategy else cls, params=params, bars=args.bars,
        cash=float(args.cash), commission=float(args.commission), slippage=parse_slippage(args.slippage),
        start=start, end=end, tz=tz, session=session, format=args.format, drop_bad_rows=args.drop_bad_rows,
        input_tz=args.tz, classify=args.classify, quotes=args.quotes, quote_lag=args.quote_lag,
        observers=args.bt_plot, keep_ticks=outputs.needs_ticks, symbol=args.symbol, allow_overlap=args.allow_overlap,
        cache=not args.no_cache, cache_dir=args.cache_dir, progress=False if args.quiet else None,
        imbalance=args.imbalance, instrument=instrument, commission_per_contract=args.commission_per_contract,
        slippage_ticks=args.slippage_ticks, columns=columns, continuous=args.continuous, roll=args.roll,
        adjust=args.adjust, expiry=args.expiry, roll_positions=args.roll_positions, timeframes=timeframes,
        developing=args.developing, **fill_options(args),
    )
    for spec in config.all_timeframes:  # the strategy's own, before any data is read (--timeframes' are checked)
        if spec not in timeframes:
            check_timeframe(args.bars, spec)
    return config, outputs


def parse_timeframes(text: str | None, bars: str) -> tuple[str, ...]:
    """``--timeframes 15min,session`` -> ``("15min", "session")``, each a bar spec that bars of
    ``bars`` can be resampled to (:func:`data.bars.resample.check_timeframe`)."""
    if text is None:
        return ()
    specs = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    if not specs:
        raise OrderFlowError(f"bad --timeframes {text!r}: give bar specs separated by commas, e.g. 15min,session")
    for spec in specs:
        try:
            check_timeframe(bars, spec)
        except OrderFlowError as exc:
            raise OrderFlowError(f"bad --timeframes {spec!r}: {exc}") from None
    return tuple(parse_bar_spec(spec).text for spec in specs)


def parse_columns(text: str | None) -> dict[str, str] | None:
    """``--columns "Time=timestamp,Last=price"`` -> ``{"Time": "timestamp", "Last": "price"}`` (``load_ticks(columns=)``)."""
    if text is None:
        return None
    columns: dict[str, str] = {}
    for pair in text.split(","):
        theirs, sep, target = (part.strip() for part in pair.partition("="))
        if not sep or not theirs or not target:
            raise OrderFlowError(f"bad --columns {text!r}: THEIRS=CANONICAL pairs separated by commas, "
                                 "e.g. --columns Time=timestamp,Last=price,Qty=size")
        columns[theirs] = target
    check_column_map(columns, "--columns")
    return columns


def fill_options(args: argparse.Namespace) -> dict[str, Any]:
    """--fills, --queue, --latency, --maker-fee, --taker-fee: the fill settings of a RunConfig (the fees read
    from text here; the settings checked together by the RunConfig, :func:`research.config.check_fills`)."""
    fees = {"maker_fee": parse_fee(args.maker_fee, "maker-fee"), "taker_fee": parse_fee(args.taker_fee, "taker-fee")}
    return {"fills": args.fills, "queue": args.queue, "latency": args.latency, **fees}


def data_source(texts: Sequence[str]) -> "Path | str | list[Path | str]":
    """DATA: the bundled sample, one path (file, folder, store) or glob, or a list of files; an
    ``s3://`` URI stays text (:func:`data.storage.path_argument`)."""
    if not texts:
        if not DEFAULT_DATA.exists():
            raise OrderFlowError(f"bundled sample not found: {DEFAULT_DATA}")
        return DEFAULT_DATA
    paths = [as_path(t) for t in texts]
    for text, path in zip(texts, paths):
        if not path.exists() and not any(c in text for c in "*?["):
            raise OrderFlowError(f"data file not found: {path}")
    if len(paths) == 1:  # a glob is expanded by data.scan_ticks
        return texts[0] if is_remote(texts[0]) or not paths[0].exists() else paths[0]
    return [text if is_remote(text) else path for text, path in zip(texts, paths)]


def money_params(args: argparse.Namespace, cls: type, instrument: Any, fractional: bool) -> dict[str, Any]:
    """Sizing and the cost options checked together: --size (default 1 contract with an instrument),
    --risk, and the futures costs that need a contract."""
    if instrument is None and (args.commission_per_contract or args.slippage_ticks):
        raise OrderFlowError("--commission-per-contract and --slippage-ticks need a contract: --instrument, "
                             "or --multiplier and --tick-size")
    if instrument is not None and args.commission:
        raise OrderFlowError("--commission is a fraction of traded value; with a futures contract use "
                             "--commission-per-contract")
    sizable = {"stake", "pct_equity"} <= set(strategy_params(cls))
    size = CONTRACT_SIZE if args.size is None and instrument is not None and sizable else args.size
    params = parse_size(size, cls, fractional=fractional)
    if args.risk is not None:
        if not math.isfinite(args.risk) or args.risk <= 0:
            raise OrderFlowError(f"bad --risk {args.risk}: an amount of money > 0")
        if "risk" not in strategy_params(cls):
            raise OrderFlowError("the strategy has no risk parameter; --risk does not apply")
        params = {**params, "risk": args.risk}
    return params


def parse_window(texts: Sequence[str] | None, tz: str, option: str) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """``START END`` of a chart window -> UTC bounds ``[start, end)`` (a date END covers its whole day)."""
    if not texts:
        return None
    start = parse_time(texts[0], tz, f"{option} START")
    end = parse_time(texts[1], tz, f"{option} END", end=True)
    if start is None or (end is not None and start >= end):
        raise OrderFlowError(f"{option} {texts[0]} is not before {texts[1]}")
    return start, end if end is not None else LAST_TIME


