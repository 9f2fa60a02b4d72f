"""Backtest an order-flow strategy on a tick file: load -> bars -> feed -> cerebro -> metrics -> plots.

    python run_backtest.py [DATA] --strategy cvd_trend --bars 1min [options]

With no DATA it runs ``cvd_trend`` on 1-minute bars of the bundled sample
(``data/sample/sample_ticks.parquet``). It prints what it loaded and a metrics
table, and writes ``metrics.json``, ``trades.csv``, ``equity.csv`` and
``report.png`` into ``--out`` (default ``results/``). ``python run_backtest.py
--help`` lists every option. Bad input prints one ``error: ...`` line on stderr
and exits with status 2.
"""
from __future__ import annotations

import argparse
import datetime as dt
import difflib
import json
import math
import re
import sys
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import backtrader as bt
import numpy as np
import pandas as pd

import strategies as strategy_registry
from data import (
    CLASSIFIERS,
    OrderFlowError,
    OrderFlowFeed,
    bulk_volume_classification,
    classify,
    join_quotes,
    load_quotes,
    load_ticks,
    make_bars,
    parse_bar_spec,
)
from data.classify import BAR_METHOD
from data.loader import FORMATS, format_load_report
from indicators.sessions import check_tz, parse_session_start
from reports import metrics as perf
from reports.trades import TradeRecorder, trades_frame
from strategies import strategy_params

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE / "data" / "sample" / "sample_ticks.parquet"
DEFAULT_STRATEGY = "cvd_trend"
DEFAULT_BARS = "1min"
DEFAULT_OUT = Path("results")

# Strategy parameters that the command line fills from its own options.
SESSION_START_PARAMS = ("session_start",)
SESSION_TZ_PARAMS = ("session_tz", "tz")
STAKE_PARAM, PCT_PARAM = "stake", "pct_equity"


class UsageError(OrderFlowError):
    """A command-line usage error (argparse's own complaints, turned into one line)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse would print usage + message and exit
        raise UsageError(f"{message} (see --help)")


# ---------------------------------------------------------------------------------------------
# Command line


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``run_backtest.py`` (its ``--help`` documents every option)."""
    p = _Parser(
        prog="run_backtest.py",
        description="Backtest an order-flow strategy on tick data and write metrics, trades, "
        "equity and plots. With no DATA: cvd_trend on 1min bars of the bundled sample.",
        epilog="Writes metrics.json, trades.csv, equity.csv and report.png (and bt_plot.png) into --out. "
        "Exit status: 0 done, 2 bad input (one 'error: ...' line on stderr).",
    )
    p.add_argument("data", nargs="?", default=None, metavar="DATA",
                   help="tick file (.csv[.gz], .parquet, .json); default: the bundled sample "
                   "data/sample/sample_ticks.parquet")
    p.add_argument("--strategy", default=DEFAULT_STRATEGY, help="strategy name (see --list-strategies); default cvd_trend")
    p.add_argument("--bars", default=DEFAULT_BARS,
                   help="bar spec: a time offset (30s, 1min, 5min, 1h), N trades (500t), N units of "
                   "volume (1000v) or 'tick' (one bar per trade); default 1min")
    p.add_argument("--cash", type=float, default=100_000.0, help="starting cash; default 100000")
    p.add_argument("--commission", type=float, default=0.0,
                   help="commission per fill as a fraction of the traded value (0.0001 = 1 basis point, "
                   "charged on entry and on exit); default 0")
    p.add_argument("--slippage", default="0",
                   help="slippage against you on every fill: a price amount per unit (0.25 = one E-mini "
                   "tick, Backtrader's set_slippage_fixed) or a percent of the price ('0.01%%', "
                   "set_slippage_perc); never beyond the bar's high/low; default 0")
    p.add_argument("--size", default=None,
                   help="position size: units per trade ('2') or a percent of equity ('10%%'); "
                   "default: 100%% of equity (whole units), so that returns compare with buy and hold")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="set a strategy parameter (repeatable); values take the parameter's type "
                   "(int, float, bool: true/false, none)")
    p.add_argument("--start", default=None,
                   help="first time to use (ISO date or time, e.g. 2024-04-15 or '2024-04-15 08:30'); "
                   "in --tz when it has no zone; ticks outside --start/--end are left out before bars are built")
    p.add_argument("--end", default=None,
                   help="last time (a bare date includes that whole day); in --tz when it has no zone")
    p.add_argument("--tz", default=None,
                   help="time zone of zone-less timestamps in DATA and of --start/--end; also the zone "
                   "in which outputs and plots show times; default UTC")
    p.add_argument("--session-start", default=None, metavar="HH:MM",
                   help="session start: sets the strategy's session_start (CVD session reset, session "
                   "VWAP; e.g. 17:00 for CME futures, 00:00 for crypto) and where trading days start for "
                   "daily returns (default: the strategy's own session_start/tz if it has them, else "
                   "midnight in --tz)")
    p.add_argument("--session-tz", default=None,
                   help="time zone of --session-start, set as the strategy's tz parameter "
                   "(e.g. America/Chicago); default: --tz or UTC")
    p.add_argument("--format", default=None,
                   help=f"force the input format (one of {', '.join(sorted(FORMATS))}); "
                   "default: detected from the file's header, line shapes or extension")
    p.add_argument("--classify", default=None, metavar="METHOD",
                   help=f"fill unknown trade sides: {', '.join(CLASSIFIERS)} (per trade) or "
                   f"{BAR_METHOD} (bulk volume classification of each bar's volume)")
    p.add_argument("--quotes", type=Path, default=None, metavar="FILE",
                   help="quote file (time, bid, ask[, bid size, ask size]) joined onto the trades "
                   "as of the last quote strictly before each trade")
    p.add_argument("--quote-lag", default=None, metavar="DURATION",
                   help="a quote counts only this long after its time (e.g. 50ms); needs --quotes")
    p.add_argument("--drop-bad-rows", action="store_true",
                   help="reject unreadable rows and count them by reason instead of stopping")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder; default results/")
    p.add_argument("--no-plot", action="store_true", help="do not draw report.png")
    p.add_argument("--bt-plot", action="store_true", help="also save Backtrader's own plot as bt_plot.png")
    p.add_argument("--list-strategies", action="store_true", help="list the strategies and their parameters")
    p.add_argument("--footprint", nargs=2, default=None, metavar=("START", "END"),
                   help="also draw footprint.png: the footprint of the bars stamped from START to END "
                   "(in --tz when they have no zone; at most 80 bars), with the trades marked")
    p.add_argument("--trade-footprints", type=int, default=0, metavar="N",
                   help="also draw the footprint around each of the first N trades into footprints/; default 0")
    p.add_argument("--compare", default=None, metavar="NAME[,NAME...]",
                   help="run several strategies on the same data and print one table (compare.csv; each "
                   "strategy's metrics, trades and equity in OUT/NAME/); --param KEY=VALUE goes to the "
                   "strategies that have KEY; --strategy is ignored")
    return p


@dataclass
class Config:
    """A validated run: everything the backtest needs, in working types."""

    data: Path
    strategy_name: str
    strategy: type
    params: dict[str, Any]
    bars: str
    cash: float
    commission: float
    slippage: tuple[str, float]  # ("fixed" | "perc", amount); perc as a fraction
    start: pd.Timestamp | None
    end: pd.Timestamp | None  # exclusive
    tz: str
    session: tuple[dt.time, str] | None  # where trading days start (daily returns, session resets)
    out: Path
    plot: bool
    bt_plot: bool
    format: str | None = None
    drop_bad_rows: bool = False
    input_tz: str | None = None
    classify: str | None = None  # a data.classify.CLASSIFIERS name, or "bvc" for bars
    quotes: Path | None = None
    quote_lag: str | None = None
    footprint: tuple[pd.Timestamp, pd.Timestamp] | None = None  # --footprint START END
    trade_footprints: int = 0


def parse_value(text: str, default: Any) -> Any:
    """Parse ``text`` to the type of ``default``: bool, int, float, None or str.

    Booleans accept true/false, yes/no, on/off, 1/0; ``none``/``null`` gives None
    for any parameter; a parameter whose default is None takes the first of
    bool, int, float that parses, else the text.
    """
    t = text.strip()
    low = t.lower()
    if low in ("none", "null"):
        return None
    if isinstance(default, bool):
        if low in ("true", "yes", "on", "1"):
            return True
        if low in ("false", "no", "off", "0"):
            return False
        raise ValueError(f"expected true or false, got {text!r}")
    if isinstance(default, int):
        try:
            return int(t)
        except ValueError:
            f = float(t)
            if not f.is_integer():
                raise ValueError(f"expected a whole number, got {text!r}") from None
            return int(f)
    if isinstance(default, float):
        return float(t)
    if default is None:
        if low in ("true", "false"):
            return low == "true"
        for kind in (int, float):
            try:
                return kind(t)
            except ValueError:
                pass
    return t


def parse_params(pairs: Sequence[str], cls: type, name: str) -> dict[str, Any]:
    """``["key=value", ...]`` -> typed strategy parameters; an unknown key suggests the closest one."""
    known = strategy_params(cls)
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise OrderFlowError(f"--param needs KEY=VALUE, got {pair!r}")
        if key not in known:
            close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise OrderFlowError(
                f"unknown parameter {key!r} for strategy {name}{hint} (parameters: {', '.join(known)})"
            )
        try:
            out[key] = parse_value(text, known[key])
        except ValueError as exc:
            raise OrderFlowError(f"bad value for parameter {key!r}: {exc}") from None
    return out


DEFAULT_SIZE = "100%"


def parse_size(text: str | None, cls: type) -> dict[str, Any]:
    """``--size``: ``"2"`` -> ``stake=2`` units; ``"10%"`` -> ``pct_equity=10`` (percent of equity)."""
    known = strategy_params(cls)
    if text is None:
        if STAKE_PARAM not in known or PCT_PARAM not in known:
            return {}
        text = DEFAULT_SIZE
    t = text.strip()
    pct = t.endswith("%")
    try:
        value = float(t[:-1] if pct else t)
    except ValueError:
        raise OrderFlowError(f"bad --size {text!r}: use units ('2') or a percent of equity ('10%')") from None
    if not math.isfinite(value) or value <= 0 or (pct and value > 100):
        raise OrderFlowError(f"bad --size {text!r}: must be > 0 (and at most 100%)")
    if STAKE_PARAM not in known or PCT_PARAM not in known:
        raise OrderFlowError(f"the strategy has no {STAKE_PARAM}/{PCT_PARAM} parameters; --size does not apply")
    if pct:
        return {PCT_PARAM: value, STAKE_PARAM: None} if known[STAKE_PARAM] is None else {PCT_PARAM: value}
    return {STAKE_PARAM: int(value) if value.is_integer() else value, PCT_PARAM: None}


def parse_slippage(text: str) -> tuple[str, float]:
    """``"0.25"`` -> ``("fixed", 0.25)`` price units; ``"0.01%"`` -> ``("perc", 0.0001)``."""
    t = str(text).strip()
    pct = t.endswith("%")
    try:
        value = float(t[:-1] if pct else t)
    except ValueError:
        raise OrderFlowError(f"bad --slippage {text!r}: a price amount (0.25) or a percent (0.01%)") from None
    if not math.isfinite(value) or value < 0:
        raise OrderFlowError(f"bad --slippage {text!r}: must be >= 0")
    return ("perc", value / 100.0) if pct else ("fixed", value)


def check_zone(name: str, option: str) -> str:
    """A valid IANA zone name, or OrderFlowError."""
    try:
        return check_tz(name)
    except OrderFlowError:
        raise OrderFlowError(f"unknown time zone {name!r} for {option} (use e.g. UTC or America/Chicago)") from None


_DATE_ONLY = re.compile(r"^\s*\d{4}-\d{2}-\d{2}\s*$")


def parse_time(text: str, tz: str, option: str, end: bool = False) -> pd.Timestamp:
    """An ISO date/time in ``tz`` (unless it has a zone) -> UTC; a bare ``--end`` date covers its whole day."""
    try:
        ts = pd.Timestamp(text)
    except (ValueError, TypeError):
        raise OrderFlowError(f"bad {option} {text!r}: use an ISO date or time, e.g. 2024-04-15 08:30") from None
    if ts is pd.NaT:
        raise OrderFlowError(f"bad {option} {text!r}")
    if ts.tz is None:
        ts = ts.tz_localize(tz)
    if end:
        ts = ts + (pd.Timedelta(days=1) if _DATE_ONLY.match(text) else pd.Timedelta(1, "ns"))
    return ts.tz_convert("UTC")


def parse_clock(text: str) -> dt.time:
    """``"17:00"`` -> ``time(17, 0)``."""
    try:
        return dt.time.fromisoformat(text.strip())
    except ValueError:
        raise OrderFlowError(f"bad --session-start {text!r}: use HH:MM, e.g. 17:00") from None


def make_config(args: argparse.Namespace) -> Config:
    """Check every option and resolve the strategy; raises OrderFlowError on bad input."""
    data = Path(args.data) if args.data else DEFAULT_DATA
    if not data.is_file():
        what = "bundled sample" if args.data is None else "data file"
        raise OrderFlowError(f"{what} not found: {data}")
    parse_bar_spec(args.bars)
    cls = strategy_registry.get_strategy(args.strategy)
    known = strategy_params(cls)
    params = parse_size(args.size, cls)
    params.update(parse_params(args.param, cls, args.strategy))
    tz = check_zone(args.tz, "--tz") if args.tz else "UTC"
    start = parse_time(args.start, tz, "--start") if args.start else None
    end = parse_time(args.end, tz, "--end", end=True) if args.end else None
    if start is not None and end is not None and start >= end:
        raise OrderFlowError(f"--start {args.start} is not before --end {args.end}")
    if not math.isfinite(args.cash) or args.cash <= 0:
        raise OrderFlowError(f"bad --cash {args.cash}: must be > 0")
    if not math.isfinite(args.commission) or not 0 <= args.commission < 1:
        raise OrderFlowError(f"bad --commission {args.commission}: a fraction of traded value in [0, 1)")
    if args.classify is not None and args.classify not in (*CLASSIFIERS, BAR_METHOD):
        raise OrderFlowError(f"unknown --classify {args.classify!r}; use one of "
                             f"{', '.join([*CLASSIFIERS, BAR_METHOD])}")
    if args.quote_lag is not None and args.quotes is None:
        raise OrderFlowError("--quote-lag needs --quotes FILE")
    footprint = None
    if getattr(args, "footprint", None):
        footprint = (parse_time(args.footprint[0], tz, "--footprint START"),
                     parse_time(args.footprint[1], tz, "--footprint END", end=True))
        if footprint[0] >= footprint[1]:
            raise OrderFlowError(f"--footprint {args.footprint[0]} is not before {args.footprint[1]}")
    if getattr(args, "trade_footprints", 0) < 0:
        raise OrderFlowError(f"bad --trade-footprints {args.trade_footprints}: a number of trades >= 0")
    session = None
    if args.session_start is not None or args.session_tz is not None:
        session_tz = check_zone(args.session_tz or tz, "--session-tz")
        own = _strategy_session({**known, **params})
        clock = parse_clock(args.session_start) if args.session_start is not None else (
            own[0] if own else dt.time(0, 0))
        session = (clock, session_tz)
        params.update(_session_params(known, clock, session_tz, args))
    else:
        session = _strategy_session({**known, **params})
    return Config(
        data=data, strategy_name=args.strategy, strategy=cls, params=params, bars=args.bars,
        cash=float(args.cash), commission=float(args.commission), slippage=parse_slippage(args.slippage),
        start=start, end=end, tz=tz, session=session, out=args.out, plot=not args.no_plot,
        bt_plot=args.bt_plot, format=args.format, drop_bad_rows=args.drop_bad_rows, input_tz=args.tz,
        classify=args.classify, quotes=args.quotes, quote_lag=args.quote_lag,
        footprint=footprint, trade_footprints=getattr(args, "trade_footprints", 0),
    )


def _session_params(known: dict[str, Any], clock: dt.time, zone: str, args: argparse.Namespace) -> dict[str, Any]:
    """Map --session-start/--session-tz onto the strategy's session parameters (in the type of their default)."""
    out: dict[str, Any] = {}
    start_name = next((n for n in SESSION_START_PARAMS if n in known), None)
    tz_name = next((n for n in SESSION_TZ_PARAMS if n in known), None)
    if start_name is None and tz_name is None:
        print(f"note: strategy {args.strategy} has no session reset; --session-start/--session-tz only "
              "cut the daily returns", file=sys.stderr)
        return out
    if start_name is not None and args.session_start is not None:
        default = known[start_name]
        out[start_name] = clock if isinstance(default, dt.time) else clock.strftime("%H:%M")
    if tz_name is not None:
        out[tz_name] = zone
    return out


def _strategy_session(values: dict[str, Any]) -> tuple[dt.time, str] | None:
    """The strategy's own session start and zone (its ``session_start``/``tz`` values), if it has both,
    read by the parsers the strategy's indicators use (``indicators.sessions``)."""
    start = next((values[n] for n in SESSION_START_PARAMS if n in values), None)
    zone = next((values[n] for n in SESSION_TZ_PARAMS if n in values), None)
    if start is None or zone is None:
        return None
    try:
        if not isinstance(start, dt.time):
            seconds = parse_session_start(start) // 1_000_000_000
            start = dt.time(seconds // 3600, seconds // 60 % 60, seconds % 60)
        return start, check_tz(zone)
    except OrderFlowError:
        return None  # the strategy reports its own bad parameter


def list_strategies() -> str:
    """One block per registered strategy: name, first docstring line, parameters with defaults."""
    lines = []
    for name, cls in sorted(strategy_registry.STRATEGIES.items()):
        doc = (cls.__doc__ or "").strip().splitlines()
        lines.append(f"{name}: {doc[0].strip() if doc else cls.__name__}")
        params = ", ".join(f"{k}={v!r}" for k, v in strategy_params(cls).items())
        lines.append(f"    params: {params}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Backtest


class SessionDayReturn(bt.analyzers.TimeReturn):
    """Backtrader's ``TimeReturn`` with days cut at a session start in a time zone.

    The feed's times are UTC; a bar at local time ``t`` counts for the day
    ``date(t - session_start + 1 day)`` when ``session_start`` is after 12:00
    (a CME 17:00 session belongs to the next day's trade date), else
    ``date(t - session_start)``. With ``session_start = 00:00`` this is the
    calendar date in ``tz``.
    """

    params = (("session_start", dt.time(0, 0)), ("session_tz", "UTC"))

    def _get_dt_cmpkey(self, when: dt.datetime):
        if when == dt.datetime.min or self.timeframe != bt.TimeFrame.Days:
            return super()._get_dt_cmpkey(when)
        return super()._get_dt_cmpkey(session_day(when, self.p.session_start, self.p.session_tz))


def session_day(when: dt.datetime, start: dt.time, zone: str) -> dt.datetime:
    """The naive local datetime whose date is the trading day of UTC-naive ``when`` (see SessionDayReturn)."""
    local = when.replace(tzinfo=dt.timezone.utc).astimezone(zoneinfo.ZoneInfo(zone)).replace(tzinfo=None)
    shift = dt.timedelta(hours=start.hour, minutes=start.minute, seconds=start.second)
    if start >= dt.time(12, 0):
        shift -= dt.timedelta(days=1)
    return local - shift


@dataclass
class Result:
    """Everything a run produced."""

    config: Config
    load_report: dict[str, Any]
    ticks_in_range: int
    bars: pd.DataFrame
    equity: pd.DataFrame  # time index (UTC): value, drawdown (%), position
    trades: pd.DataFrame
    daily: pd.Series
    metrics: dict[str, Any]
    analyzers: dict[str, Any] = field(default_factory=dict)
    cvd: np.ndarray | None = None
    cvd_label: str = "CVD"
    cvd_resets: np.ndarray | None = None
    cerebro: Any = None
    strategy: Any = None
    ticks: pd.DataFrame | None = None  # the ticks in range (footprint charts)


def load(config: Config) -> tuple[pd.DataFrame, dict[str, Any], pd.DataFrame]:
    """Ticks of the file within --start/--end, the load report and the bars."""
    ticks = load_ticks(config.data, format=config.format, tz=config.input_tz,
                       on_bad_rows="drop" if config.drop_bad_rows else "raise")
    ticks = _quotes_and_sides(ticks, config)
    report = dict(ticks.attrs.get("load_report", {}))
    if config.start is not None or config.end is not None:
        ts = ticks["timestamp"]
        keep = np.ones(len(ticks), dtype=bool)
        if config.start is not None:
            keep &= (ts >= config.start).to_numpy()
        if config.end is not None:
            keep &= (ts < config.end).to_numpy()
        ticks = ticks.loc[keep].reset_index(drop=True)
    bars = make_bars(ticks, config.bars)
    if config.classify == BAR_METHOD and not bars.empty:
        bars = bulk_volume_classification(bars)
    if bars.empty:
        raise OrderFlowError(
            f"no bars in the range {_range_text(config)}" if (config.start or config.end)
            else "no ticks to make bars from", source=config.data)
    return ticks, report, bars


def _quotes_and_sides(ticks: pd.DataFrame, config: Config) -> pd.DataFrame:
    """--quotes (joined strictly before each trade) then --classify of the unknown sides."""
    if config.quotes is not None:
        quotes = load_quotes(config.quotes, tz=config.input_tz,
                             on_bad_rows="drop" if config.drop_bad_rows else "raise")
        ticks = join_quotes(ticks, quotes, lag=config.quote_lag)
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


def _range_text(config: Config) -> str:
    parts = []
    if config.start is not None:
        parts.append(f"from {config.start.tz_convert(config.tz):%Y-%m-%d %H:%M %Z}")
    if config.end is not None:
        parts.append(f"before {config.end.tz_convert(config.tz):%Y-%m-%d %H:%M %Z}")
    return " ".join(parts)


def run(config: Config, loaded: tuple[pd.DataFrame, dict[str, Any], pd.DataFrame] | None = None) -> Result:
    """Load (unless ``loaded`` is given: ``load(config)``'s result), build bars, run Backtrader
    with the analyzers, and compute the metrics."""
    ticks, report, bars = loaded if loaded is not None else load(config)
    cerebro = bt.Cerebro(stdstats=False, tradehistory=True)
    if config.bt_plot:  # what stdstats would add, with buy/sell marks at the fill price
        cerebro.addobserver(bt.observers.Value)
        cerebro.addobserver(bt.observers.Trades)
        cerebro.addobserver(bt.observers.BuySell, barplot=False)
    cerebro.adddata(OrderFlowFeed.from_bars(bars, config.bars, name=config.data.stem))
    cerebro.addstrategy(config.strategy, **config.params)
    cerebro.broker.setcash(config.cash)
    cerebro.broker.setcommission(commission=config.commission)
    kind, amount = config.slippage
    if amount:
        (cerebro.broker.set_slippage_perc if kind == "perc" else cerebro.broker.set_slippage_fixed)(amount)
    clock, zone = config.session or (dt.time(0, 0), config.tz)
    cerebro.addanalyzer(SessionDayReturn, _name="daily", timeframe=bt.TimeFrame.Days,
                        session_start=clock, session_tz=zone)
    cerebro.addanalyzer(bt.analyzers.DrawDown, _name="drawdown")
    cerebro.addanalyzer(bt.analyzers.TradeAnalyzer, _name="trades")
    cerebro.addanalyzer(bt.analyzers.Transactions, _name="transactions")
    cerebro.addanalyzer(TradeRecorder, _name="recorder")
    strat = cerebro.run()[0]  # a strategy rejects bad parameter values with OrderFlowError

    recorded = strat.analyzers.recorder.get_analysis()
    times = bars.index
    values = pd.Series(recorded["values"], index=times, dtype=np.float64)
    equity = pd.DataFrame({"value": values, "drawdown": perf.drawdown(values),
                           "position": np.asarray(recorded["positions"], dtype=np.float64)})
    trades = trades_frame(recorded["trades"], times)
    daily = _daily_series(strat.analyzers.daily.get_analysis())
    metrics = perf.performance(values, trades, daily, bars, equity["position"], config.cash)
    metrics["fills"] = sum(len(v) for v in strat.analyzers.transactions.get_analysis().values())
    cvd, label, resets = strategy_cvd(strat, bars)
    return Result(config=config, load_report=report, ticks_in_range=len(ticks), bars=bars, equity=equity,
                  trades=trades, daily=daily, metrics=metrics, cvd=cvd, cvd_label=label, cvd_resets=resets,
                  analyzers={name: strat.analyzers.getbyname(name).get_analysis()
                             for name in ("drawdown", "trades", "transactions")},
                  cerebro=cerebro, strategy=strat, ticks=ticks)


def _daily_series(analysis: dict) -> pd.Series:
    return pd.Series(list(analysis.values()), index=pd.DatetimeIndex(list(analysis.keys())), dtype=np.float64,
                     name="return")


def _indicators(owner: Any, depth: int = 3) -> list[Any]:
    """The indicators of a strategy, then those they build on (breadth first, ``depth`` levels)."""
    found, level = [], list(owner.getindicators())
    for _ in range(depth):
        found.extend(level)
        level = [sub for ind in level for sub in getattr(ind, "_lineiterators", {}).get(bt.LineIterator.IndType, [])]
    return found


def strategy_cvd(strat: Any, bars: pd.DataFrame) -> tuple[np.ndarray | None, str, np.ndarray | None]:
    """The strategy's first CVD indicator values per bar, its label and session-reset bars (if any)."""
    try:
        from indicators import CumulativeVolumeDelta
    except ImportError:
        return None, "CVD (running sum of delta)", None
    for ind in _indicators(strat):
        if isinstance(ind, CumulativeVolumeDelta):
            values = np.asarray(ind.lines[0].array[: len(bars)], dtype=np.float64)
            reset = str(getattr(ind.p, "reset", ""))
            resets = None
            if reset == "session":
                delta = bars["delta"].to_numpy(np.float64)
                steps = np.diff(values, prepend=0.0)
                tol = 1e-9 * np.maximum(1.0, np.abs(values))
                restarted = (np.abs(values - delta) <= tol) & (np.abs(steps - delta) > tol)
                resets = np.flatnonzero(restarted)
            return values, f"CVD (reset: {reset or 'never'})", resets
    return None, "CVD (running sum of delta)", None


# ---------------------------------------------------------------------------------------------
# Output


def _fmt(value: Any, suffix: str = "", digits: int = 2) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        if math.isinf(value):
            return "inf"
        return f"{value:,.{digits}f}{suffix}"
    return f"{value}{suffix}"


def describe_load(result: Result) -> str:
    """What was loaded: the load report, the range, the bars and the period."""
    c, bars = result.config, result.bars
    lines = [format_load_report(result.load_report)] if result.load_report else []
    kept = result.load_report.get("rows_kept", result.ticks_in_range)
    if c.start is not None or c.end is not None:
        lines.append(f"Range {_range_text(c)}: {result.ticks_in_range:,} ticks in range "
                     f"({kept - result.ticks_in_range:,} outside).")
    first, last = bars.index[0].tz_convert(c.tz), bars.index[-1].tz_convert(c.tz)
    lines.append(f"Built {len(bars):,} bars of {c.bars} from {result.ticks_in_range:,} ticks, "
                 f"{first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} {c.tz}; {len(result.daily)} trading days "
                 f"{_day_cut(c)}.")
    return "\n".join(lines)


def _day_cut(config: Config) -> str:
    clock, zone = config.session or (dt.time(0, 0), config.tz)
    return f"(days start at {clock:%H:%M} {zone})"


def describe_run(result: Result) -> str:
    """Strategy, parameters and costs, one line."""
    c = result.config
    params = ", ".join(f"{k}={v}" for k, v in effective_params(result).items())
    kind, amount = c.slippage
    slip = f"{amount * 100:g}% of price" if kind == "perc" else f"{amount:g} per unit"
    return (f"Strategy {c.strategy_name}({params}); cash {c.cash:,.0f}, commission {c.commission:g} of value "
            f"per fill, slippage {slip}.")


def effective_params(result: Result) -> dict[str, Any]:
    """The strategy's parameters as run (defaults plus overrides)."""
    strat = result.strategy
    if strat is None:
        return {**strategy_params(result.config.strategy), **result.config.params}
    return {k: getattr(strat.p, k) for k in strat.params._getkeys()}


def metrics_table(m: dict[str, Any]) -> str:
    """The metrics as an aligned two-column table."""
    dd_time = m["max_drawdown_duration"]
    rows = [
        ("Start value", _fmt(m["start_value"])),
        ("Final value", _fmt(m["final_value"])),
        ("Total return", _fmt(m["total_return_pct"], " %")),
        ("Annualised return", _fmt(m["annual_return_pct"], " %")),
        ("Sharpe (daily, x sqrt 252)", _fmt(m["sharpe"])),
        ("Sortino (daily, x sqrt 252)", _fmt(m["sortino"])),
        ("Max drawdown", _fmt(m["max_drawdown_pct"], " %")),
        ("Longest drawdown", f"{m['max_drawdown_bars']} bars, {dd_time}"
         + ("" if m["max_drawdown_recovered"] else " (not recovered)")),
        ("Trades (closed)", _fmt(m["trades"])),
        ("Win rate", _fmt(m["win_rate_pct"], " %", 1)),
        ("Profit factor", _fmt(m["profit_factor"])),
        ("Average trade (net)", _fmt(m["avg_trade"])),
        ("Net profit of closed trades", _fmt(m["net_pnl"])),
        ("Open at end (marked to market)", f"{m['open_trades_at_end']} ({_fmt(m['open_pnl_net'])})"),
        ("Time in market", _fmt(m["time_in_market_pct"], " %", 1)),
        ("Buy and hold return", _fmt(m["buy_hold_return_pct"], " %")),
        ("Trading days", _fmt(m["days"])),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"  {k:<{width}}  {v:>24}" for k, v in rows)


def _local(times: pd.Series | pd.DatetimeIndex, tz: str) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(times).tz_convert(tz)


def write_outputs(result: Result) -> dict[str, Path]:
    """metrics.json, trades.csv, equity.csv in --out; returns their paths."""
    c = result.config
    c.out.mkdir(parents=True, exist_ok=True)
    paths = {name: c.out / name for name in ("metrics.json", "trades.csv", "equity.csv")}
    trades = result.trades.drop(columns=["entry_bar", "exit_bar"]).copy()
    if len(trades):
        trades["entry_time"] = _local(trades["entry_time"], c.tz)
        trades["exit_time"] = _local(trades["exit_time"], c.tz)
    trades.to_csv(paths["trades.csv"], index=False, float_format="%.10g")
    equity = result.equity.copy()
    equity.insert(0, "time", _local(equity.index, c.tz))
    equity.to_csv(paths["equity.csv"], index=False, float_format="%.10g")
    bars = result.bars
    document = {
        "data": str(c.data),
        "strategy": c.strategy_name,
        "params": {k: _jsonable(v) for k, v in effective_params(result).items()},
        "bars": c.bars,
        "bar_count": len(bars),
        "period": {"first_bar": bars.index[0].tz_convert(c.tz).isoformat(),
                   "last_bar": bars.index[-1].tz_convert(c.tz).isoformat(), "tz": c.tz},
        "cash": c.cash,
        "commission": c.commission,
        "slippage": {"kind": c.slippage[0], "amount": c.slippage[1]},
        "load_report": {k: _jsonable(v) for k, v in result.load_report.items()},
        "ticks_in_range": result.ticks_in_range,
        "metrics": perf.to_json_ready(result.metrics),
    }
    paths["metrics.json"].write_text(json.dumps(document, indent=2, default=str) + "\n")
    return paths


def _jsonable(value: Any) -> Any:
    if isinstance(value, (dt.time, dt.datetime, dt.date, Path)):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    return value


def draw(result: Result) -> dict[str, Path]:
    """report.png (and bt_plot.png with --bt-plot)."""
    from reports.plots import plot_report, save_backtrader_plot

    c, m = result.config, result.metrics
    paths: dict[str, Path] = {}
    if c.plot:
        params = ", ".join(f"{k}={v}" for k, v in effective_params(result).items())
        title = (f"{c.strategy_name}({params})  ·  {c.data.name}  ·  {c.bars} bars  ·  "
                 f"{result.bars.index[0].tz_convert(c.tz):%Y-%m-%d} to "
                 f"{result.bars.index[-1].tz_convert(c.tz):%Y-%m-%d} {c.tz}")
        summary = "\n".join([
            f"return {_fmt(m['total_return_pct'], '%')}  (buy & hold {_fmt(m['buy_hold_return_pct'], '%')})",
            f"Sharpe {_fmt(m['sharpe'])}  Sortino {_fmt(m['sortino'])}",
            f"max DD {_fmt(m['max_drawdown_pct'], '%')}  trades {m['trades']}  win {_fmt(m['win_rate_pct'], '%', 0)}",
        ])
        paths["report.png"] = plot_report(
            result.bars, result.equity, result.trades, c.out / "report.png", title=title, cvd=result.cvd,
            cvd_label=result.cvd_label, cvd_resets=result.cvd_resets, tz=c.tz, summary=summary)
    if c.bt_plot:
        paths["bt_plot.png"] = save_backtrader_plot(result.cerebro, c.out / "bt_plot.png")
    paths.update(draw_footprints(result))
    return paths


def draw_footprints(result: Result) -> dict[str, Path]:
    """footprint.png for --footprint START END, footprints/trade_NNN.png for --trade-footprints N."""
    from reports.footprint_chart import footprint_chart, trade_footprints

    c, paths = result.config, {}
    if result.ticks is None or (c.footprint is None and not c.trade_footprints):
        return paths
    trades = result.trades
    if c.footprint is not None:
        marks = [{"time": t.entry_time, "price": t.entry_price, "kind": t.direction} for t in trades.itertuples()]
        marks += [{"time": t.exit_time, "price": t.exit_price, "kind": "exit"}
                  for t in trades.itertuples() if t.closed]
        paths["footprint.png"] = footprint_chart(
            result.ticks, c.footprint[0], c.footprint[1], spec=c.bars, path=c.out / "footprint.png", tz=c.tz,
            marks=marks, max_bars=80, title=f"{c.data.name}: footprint, {c.bars} bars ({c.tz})")
    if c.trade_footprints:
        for k, path in enumerate(trade_footprints(result.ticks, trades[trades["closed"]], c.out / "footprints",
                                                  spec=c.bars, max_trades=c.trade_footprints, tz=c.tz), start=1):
            paths[f"footprints/trade_{k:03d}.png"] = path
    return paths


COMPARE_COLUMNS = [
    ("trades", "trades", "{:d}"), ("win %", "win_rate_pct", "{:.1f}"), ("profit factor", "profit_factor", "{:.2f}"),
    ("net profit", "net_pnl", "{:,.2f}"), ("return %", "total_return_pct", "{:.2f}"), ("Sharpe", "sharpe", "{:.2f}"),
    ("max DD %", "max_drawdown_pct", "{:.2f}"), ("in market %", "time_in_market_pct", "{:.1f}"),
]


def compare(args: argparse.Namespace) -> tuple[pd.DataFrame, list[Result]]:
    """--compare: each named strategy on the same ticks and bars (loaded once); one row of metrics each.

    ``--param KEY=VALUE`` goes to every strategy that has ``KEY`` (an error if none has it);
    ``--size`` and the session options go to all.
    """
    names = [n.strip() for n in str(args.compare).split(",") if n.strip()]
    if not names:
        raise OrderFlowError("--compare needs strategy names, e.g. --compare cvd_trend,stacked_imbalance")
    classes = [strategy_registry.get_strategy(n) for n in names]
    keys = [pair.split("=", 1)[0].strip() for pair in args.param]
    unused = [k for k in keys if not any(k in strategy_params(cls) for cls in classes)]
    if unused:
        raise OrderFlowError(f"--param {unused[0]} is a parameter of none of {', '.join(names)}")
    configs = []
    for name, cls in zip(names, classes):
        own = [pair for pair, key in zip(args.param, keys) if key in strategy_params(cls)]
        config = make_config(argparse.Namespace(**{**vars(args), "strategy": name, "param": own}))
        config.out = args.out / name
        configs.append(config)
    loaded = load(configs[0])
    results = [run(config, loaded) for config in configs]
    table = pd.DataFrame([{label: r.metrics.get(key) for label, key, _ in COMPARE_COLUMNS} for r in results],
                         index=pd.Index(names, name="strategy"))
    return table, results


def compare_table(table: pd.DataFrame) -> str:
    """The --compare table, aligned, n/a for undefined values."""
    def cell(value: Any, pattern: str) -> str:
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return "inf" if isinstance(value, float) and math.isinf(value) else "n/a"
        return pattern.format(int(value) if pattern == "{:d}" else value)

    rows = [[str(name)] + [cell(row[label], fmt) for label, _, fmt in COMPARE_COLUMNS]
            for name, row in table.iterrows()]
    header = ["strategy"] + [label for label, _, _ in COMPARE_COLUMNS]
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths)))]
    lines += ["  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths)))
              for r in rows]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns 0 when done, 2 on bad input (one ``error:`` line on stderr)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.list_strategies:
            print(list_strategies())
            return 0
        if args.compare:
            table, results = compare(args)
            print(describe_load(results[0]))
            print()
            print(compare_table(table))
            args.out.mkdir(parents=True, exist_ok=True)
            table.to_csv(args.out / "compare.csv", float_format="%.10g")
            for result in results:
                write_outputs(result)
            print()
            print(f"Wrote {args.out / 'compare.csv'} and each strategy's outputs in {args.out}/<name>/")
            return 0
        config = make_config(args)
        result = run(config)
        print(describe_load(result))
        print(describe_run(result))
        print()
        print("Metrics")
        print(metrics_table(result.metrics))
        written = write_outputs(result)
        written.update(draw(result))
        print()
        print("Wrote " + ", ".join(str(p) for p in written.values()))
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    except OrderFlowError as exc:
        message = " ".join(str(exc).split())
        print(f"error: {message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
