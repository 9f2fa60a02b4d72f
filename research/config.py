"""One backtest's configuration, and the text parsers that fill it from the command line or a sweep.

A :class:`RunConfig` holds everything that decides a backtest's result (data, bars,
strategy and parameters, money, dates, sessions), in working types. Output choices
(folders, plots) are not part of it: a run is a pure function of its configuration.

    from research import RunConfig, run
    result = run(RunConfig(strategy="cvd_trend", params={"slope_period": 5}, bars="5min"))
"""
from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

import strategies as strategy_registry
from data import BarOptions, LoadOptions, OrderFlowError
from data.options import LAST_TIME, utc_time  # noqa: F401  (LAST_TIME: the options' open end)
from execution import parse_latency, parse_queue
from execution.tape import FILL_MODES
from indicators.sessions import (
    DEFAULT_SESSION_START,
    DEFAULT_SESSION_TZ,
    SessionCalendar,
    check_tz,
    parse_session_start,
)
from strategies import strategy_params
from strategies.own import load_strategy
from strategies.sizing import is_real_number

from .rolls import check_roll_positions

HERE = Path(__file__).resolve().parent.parent
DEFAULT_DATA = HERE / "data" / "sample" / "sample_ticks.parquet"
DEFAULT_STRATEGY = "cvd_trend"
DEFAULT_BARS = "1min"
DEFAULT_SIZE = "100%"

# Where trading days start when neither the options nor the strategy say: the CME session, 17:00 Chicago.
DEFAULT_SESSION = (dt.time.fromisoformat(DEFAULT_SESSION_START), DEFAULT_SESSION_TZ)

# Strategy parameters that the configuration fills from its own settings.
SESSION_START_PARAMS = ("session_start",)
SESSION_TZ_PARAMS = ("session_tz", "tz")
STAKE_PARAM, PCT_PARAM, FRACTIONAL_PARAM = "stake", "pct_equity", "fractional"


@dataclass
class RunConfig:
    """Everything one backtest depends on.

    ``data`` is a tick source (a path, or anything ``data.load_ticks`` reads);
    ``strategy`` a registered name (``cvd_trend``), ``"module:Class"`` or a class;
    ``slippage`` is ``("fixed", price amount per unit)`` or ``("perc", fraction)``;
    ``start``/``end`` are instants (``end`` exclusive) or text in ``tz``
    read by :func:`data.reading.sources.utc_time` (``end="2024-03"`` keeps all of March;
    kept as UTC timestamps); ``session`` is where trading days
    start (``(time, zone)``; daily returns, trading days and so every daily metric are cut
    there; None: :data:`DEFAULT_SESSION`, 17:00 America/Chicago); ``tz`` is the zone in
    which outputs show times (and zone-less ``start``/``end`` text), never where a day
    ends; ``observers`` adds Backtrader's Value/Trades/BuySell observers (for
    ``cerebro.plot``); ``keep_ticks`` keeps the ticks on the result (footprints);
    ``warmup_bars`` = N makes the first N bars a warm-up (walk-forward): the indicators
    run on them, but orders placed on them are rejected and equity, trades, daily
    returns and metrics count from bar N on.

    Many files: ``data`` may be a folder, a glob, a list of files or a tick store
    (:func:`data.scan_ticks`); ``symbol`` picks one instrument of a source holding
    several, ``allow_overlap`` accepts files whose times overlap (without trade ids).
    ``cache`` keeps the bars in the bar cache (:func:`data.cached_bars`, in
    ``cache_dir``) and reads them from there when nothing that changes a bar changed;
    ``progress`` shows progress bars on stderr (None: when stderr is a terminal).

    A continuous contract: ``continuous`` names the root (``"ES"``) of a source holding several
    of its contracts, read as one series (``roll``, ``adjust``, ``expiry``: see
    :class:`data.options.LoadOptions`); ``roll_positions`` says what the broker does with an
    open position at a roll: ``"roll"`` it into the new contract, or ``"close"`` it
    (:mod:`research.rolls`).

    ``imbalance`` names the platform rule of the footprint imbalance lines (and charts).
    ``columns`` maps the data's column names to canonical ones (``load_ticks(columns=)``).

    Several timeframes: ``timeframes`` (bar specs coarser than ``bars``: ``("15min", "session")``)
    adds, after the base feed, one feed per spec, resampled from the base bars with every
    order-flow line (:mod:`data.timeframes`; named by its spec), as do the timeframes the strategy
    asks for (``OrderFlowStrategy.timeframes``). ``developing`` makes them developing bars (replay:
    the coarser bar as it stands at each base bar) instead of closed ones. Sessions are those of
    :attr:`calendar`.

    Fills: ``fills="bar"`` is Backtrader's own (an order fills on the next bar's prices);
    ``"trades"`` and ``"book"`` execute the orders against the source's ticks and book
    (:class:`execution.broker.ExecutionBroker`) with ``queue``, ``latency`` and the
    ``maker_fee`` / ``taker_fee`` of each fill (:func:`execution.broker.parse_fee`); the ticks
    read with :attr:`load_options` (one file whole, a folder, list or store by day:
    :func:`execution.tape.fill_source`). The fill settings are checked together on creation
    (:func:`check_fills`), before any data is read.

    Money: ``instrument`` (:class:`research.instruments.Instrument`, e.g.
    ``get_instrument("ES")``) counts in the instrument's currency through Backtrader's
    futures commission scheme (multiplier, margin, ``commission_per_contract`` per
    side) with ``slippage_ticks`` ticks of slippage per fill; without it, ``commission``
    is a fraction of the traded value and ``slippage`` a price amount or fraction.
    """

    data: Any = DEFAULT_DATA
    strategy: Any = DEFAULT_STRATEGY
    params: dict[str, Any] = field(default_factory=dict)
    bars: str = DEFAULT_BARS
    cash: float = 100_000.0
    commission: float = 0.0  # fraction of traded value per fill
    slippage: tuple[str, float] = ("fixed", 0.0)
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    tz: str = "UTC"
    session: tuple[dt.time, str] | None = None
    format: str | None = None
    drop_bad_rows: bool = False
    input_tz: str | None = None
    classify: str | None = None  # a data.CLASSIFIERS name, or "bvc" for bars
    quotes: Path | str | None = None
    quote_lag: str | None = None
    observers: bool = False
    keep_ticks: bool = False
    warmup_bars: int = 0
    symbol: str | None = None
    allow_overlap: bool = False
    cache: bool = False
    cache_dir: Path | str | None = None  # a folder, or s3://bucket/prefix
    progress: bool | None = None
    imbalance: str | None = None  # a footprint imbalance preset of data.bars.imbalance ("atas", "ninjatrader", "sierra")
    instrument: Any = None  # research.instruments.Instrument
    commission_per_contract: float = 0.0
    slippage_ticks: float = 0.0
    fills: str = "bar"  # "bar": Backtrader's fills on the bars; "trades" / "book": execution.simulate on the ticks
    queue: str | None = None  # --fills book: fifo / risk_averse / prob:N / through (None: per source)
    latency: str | None = None  # entry latency of --fills trades/book: a duration ("2ms") or "feed"
    maker_fee: tuple[str, float] = ("fixed", 0.0)  # execution.broker.parse_fee: per unit, or a fraction of value
    taker_fee: tuple[str, float] = ("fixed", 0.0)
    columns: dict[str, str] | None = None  # {"their name": "canonical name"}, as load_ticks(columns=)
    continuous: str | None = None  # the root of a continuous contract ("ES")
    roll: str | None = None  # its roll rule ("days:8", "volume"; None: the root's default)
    adjust: str = "none"  # none, add or ratio
    expiry: str | None = None  # the root's expiry rule ("HMUZ:3fri"; None: the preset)
    roll_positions: str = "roll"  # research.rolls.ROLL_POSITIONS
    timeframes: tuple[str, ...] = ()  # coarser feeds resampled from the base bars (data.timeframes)
    developing: bool = False  # those feeds as developing bars (replay) instead of closed bars

    def __post_init__(self) -> None:
        self.tz = check_zone(self.tz, "tz")
        self.start = utc_time(self.start, "start", tz=self.tz)
        self.end = utc_time(self.end, "end", end=True, tz=self.tz)
        check_money(self)
        check_fills(self)
        check_roll_positions(self.roll_positions)

    @property
    def strategy_class(self) -> type:
        return resolve_strategy(self.strategy)

    @property
    def strategy_name(self) -> str:
        if isinstance(self.strategy, str):
            return self.strategy
        return getattr(self.strategy, "__name__", str(self.strategy))

    @property
    def data_name(self) -> str:
        """A short label for the data: the file's name, or the source's description."""
        if isinstance(self.data, (list, tuple)):
            return f"{len(self.data)} files"
        if isinstance(self.data, (str, Path)):
            return Path(self.data).name
        if isinstance(self.data, pd.DataFrame):
            return "DataFrame"
        return type(self.data).__name__

    @property
    def trading_session(self) -> tuple[dt.time, str]:
        """Where trading days start: ``session``, else :data:`DEFAULT_SESSION` (never ``tz``)."""
        return self.session or DEFAULT_SESSION

    @property
    def calendar(self) -> SessionCalendar:
        """The session calendar that cuts trading days (:attr:`trading_session`), for every strategy."""
        return SessionCalendar(*self.trading_session)

    def range_text(self) -> str:
        """``from 2024-04-15 08:30 CDT before 2024-04-16 00:00 CDT``: ``start``/``end`` in ``tz``."""
        parts = []
        if self.start is not None:
            parts.append(f"from {self.start.tz_convert(self.tz):%Y-%m-%d %H:%M %Z}")
        if self.end is not None:
            parts.append(f"before {self.end.tz_convert(self.tz):%Y-%m-%d %H:%M %Z}")
        return " ".join(parts)

    @property
    def footprint_params(self) -> dict[str, Any] | None:
        """What goes to ``make_bars(footprint_params=)``: the imbalance preset, if any."""
        return {"imbalance": self.imbalance} if self.imbalance else None

    @property
    def all_timeframes(self) -> tuple[str, ...]:
        """``timeframes`` and those the strategy reads with its parameters, each once, in that order."""
        asks = getattr(self.strategy_class, "timeframes", None)
        wanted = (*self.timeframes, *(asks(self.params) if callable(asks) else ()))
        return tuple(dict.fromkeys(str(spec) for spec in wanted))

    @property
    def load_options(self) -> LoadOptions:
        """How the run reads its ticks and which it keeps (:class:`data.options.LoadOptions`)."""
        return LoadOptions(columns=self.columns, format=self.format, tz=self.input_tz,
                           on_bad_rows="drop" if self.drop_bad_rows else "raise", start=self.start, end=self.end,
                           symbol=self.symbol, allow_overlap=self.allow_overlap, progress=self.progress,
                           continuous=self.continuous, roll=self.roll, adjust=self.adjust, expiry=self.expiry)

    @property
    def bar_options(self) -> BarOptions:
        """The settings of the run's bars (:class:`data.options.BarOptions`)."""
        return BarOptions(footprint_params=self.footprint_params)

    def with_params(self, **params: Any) -> "RunConfig":
        """A copy with these strategy parameters set (a sweep's point)."""
        return replace(self, params={**self.params, **params})


def check_money(config: RunConfig) -> None:
    """Refuse money that is no finite number (OrderFlowError): ``cash`` > 0, ``commission`` in
    [0, 1), ``commission_per_contract``, ``slippage_ticks`` and the slippage amount >= 0 (the
    instrument checks its own terms). The engine checks the run's values too (non-finite
    equity is an error, :func:`research.engine.run`)."""
    checks = [("cash", "--cash", config.cash, lambda v: v > 0, "an amount > 0"),
              ("commission", "--commission", config.commission, lambda v: 0 <= v < 1, "a fraction of traded value in [0, 1)"),
              ("commission_per_contract", "--commission-per-contract", config.commission_per_contract,
               lambda v: v >= 0, "an amount >= 0"),
              ("slippage_ticks", "--slippage-ticks", config.slippage_ticks, lambda v: v >= 0, "a number of ticks >= 0"),
              ("slippage", "--slippage", config.slippage[1], lambda v: v >= 0, "an amount or fraction >= 0")]
    for name, option, value, ok, what in checks:
        if not (is_real_number(value) and ok(value)):
            raise OrderFlowError(f"bad {option} {value!r}: {name} must be {what} (a finite number)")


def check_fills(config: RunConfig) -> None:
    """Refuse fill settings that do not go together (OrderFlowError), before any data is read: ``fills``
    one of :data:`execution.broker.FILL_MODES`; ``queue``, ``latency`` and maker/taker fees only with
    ``fills`` ``"trades"`` or ``"book"`` (bar fills have none); with ``"trades"`` no queue but
    ``through`` (there is no book); ``queue`` and ``latency`` readable
    (:func:`execution.parse_queue`, :func:`execution.parse_latency`); fees ``("fixed"|"perc", finite)``;
    and with a ``continuous`` contract no ``quotes`` for ``"book"`` (one contract's book). Whether
    the source has the book ``"book"`` needs is known once it is read
    (:func:`execution.tape.fill_source`)."""
    if config.fills not in FILL_MODES:
        raise OrderFlowError(f"--fills must be one of {', '.join(FILL_MODES)}, not {config.fills!r}")
    fees = {"--maker-fee": config.maker_fee, "--taker-fee": config.taker_fee}
    for option, fee in fees.items():
        kind, value = fee if isinstance(fee, tuple) and len(fee) == 2 else (None, None)
        if kind not in ("fixed", "perc") or not is_real_number(value):
            raise OrderFlowError(f"bad {option} {fee!r}: ('fixed', amount per unit) or ('perc', fraction of the "
                                 "traded value), a finite number (execution.broker.parse_fee reads the text)")
    if config.fills == "bar":
        given = [name for name, value in (("--queue", config.queue), ("--latency", config.latency)) if value is not None]
        given += [option for option, fee in fees.items() if fee[1]]
        if given:
            raise OrderFlowError(f"{', '.join(given)} {'needs' if len(given) == 1 else 'need'} --fills trades or "
                                 "--fills book (bar fills have no queue, latency or maker/taker)")
        return
    if config.queue is not None:
        model = parse_queue(config.queue)[0]
        if config.fills == "trades" and model != "through":
            raise OrderFlowError(f"--fills trades has no book to queue in: --queue {config.queue} needs --fills book "
                                 "(with trades only, limit orders fill by the 'through' rule)")
    if config.latency is not None:
        parse_latency(config.latency)
    if config.continuous and config.fills == "book" and config.quotes is not None:
        raise OrderFlowError("--quotes is the book of one contract: a continuous contract (--continuous) fills from "
                             "the book on its own ticks (bid, ask and sizes, moved with the prices); drop --quotes")


def resolve_strategy(spec: Any) -> type:
    """A strategy class from a registered name, ``"module:ClassName"``, ``"path/to/file.py:ClassName"``
    (:func:`strategies.own.load_strategy`: modules are also found in the current folder), or a class."""
    if isinstance(spec, type):
        return spec
    text = str(spec).strip()
    if ":" not in text:
        return strategy_registry.get_strategy(text)
    return load_strategy(text)


# ---------------------------------------------------------------------------------------------
# Text -> typed values (the command line's options, a sweep's grid)


def parse_value(text: str, default: Any, name: str = "value") -> Any:
    """Parse ``text`` to the type of ``default``: bool, int, float, None or str.

    Booleans accept true/false, yes/no, on/off, 1/0. ``none``/``null`` is accepted only
    where the default is None (the parameter can be turned off). Numbers must be finite
    (``nan``/``inf`` are refused). A parameter whose default is None takes the first of
    bool, int, float that parses, else the text.
    """
    t = text.strip()
    low = t.lower()
    if low in ("none", "null"):
        if default is None:
            return None
        raise ValueError(f"{name} cannot be none (its default is {default!r})")
    if isinstance(default, bool):
        if low in ("true", "yes", "on", "1"):
            return True
        if low in ("false", "no", "off", "0"):
            return False
        raise ValueError(f"expected true or false, got {text!r}")
    if isinstance(default, (int, float)) or default is None:
        number = _finite_number(t)
        if number is None:
            if default is not None:
                raise ValueError(f"expected a number, got {text!r}")
            return low == "true" if low in ("true", "false") else t
        if isinstance(default, int) or (default is None and re.fullmatch(r"[+-]?\d+", t)):
            if not number.is_integer():
                raise ValueError(f"expected a whole number, got {text!r}")
            return int(number)
        return number
    return t


def _finite_number(text: str) -> float | None:
    """``text`` as a finite float, None if it is no number; ValueError for nan and inf."""
    try:
        value = float(text)
    except ValueError:
        return None
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {text!r}")
    return value


def parse_params(pairs: Sequence[str], cls: type, name: str) -> dict[str, Any]:
    """``["key=value", ...]`` -> typed strategy parameters; an unknown key suggests the closest one."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise OrderFlowError(f"--param needs KEY=VALUE, got {pair!r}")
        out[key] = parse_param(key, text, cls, name)
    return out


def parse_param(key: str, text: str, cls: type, name: str) -> Any:
    """One strategy parameter's value from text, in the type of its default."""
    known = strategy_params(cls)
    if key not in known:
        close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise OrderFlowError(f"unknown parameter {key!r} for strategy {name}{hint} (parameters: {', '.join(known)})")
    try:
        return parse_value(text, known[key], key)
    except ValueError as exc:
        raise OrderFlowError(f"bad value for parameter {key!r}: {exc}") from None


def parse_size(text: str | None, cls: type, fractional: bool = False) -> dict[str, Any]:
    """``--size``: ``"2"`` -> ``stake=2`` units; ``"10%"`` -> ``pct_equity=10`` (percent of equity).

    Units are whole unless ``fractional`` (the strategy's ``fractional=True``, for crypto).
    """
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
    if not value.is_integer() and not fractional:
        raise OrderFlowError(f"bad --size {text!r}: whole units only (set --param fractional=true for fractional sizes)")
    return {STAKE_PARAM: int(value) if value.is_integer() else value, PCT_PARAM: None}


def parse_slippage(text: str) -> tuple[str, float]:
    """``"0.25"`` -> ``("fixed", 0.25)`` price units; ``"0.01%"`` -> ``("perc", 0.0001)`` (below 100%)."""
    t = str(text).strip()
    pct = t.endswith("%")
    try:
        value = float(t[:-1] if pct else t)
    except ValueError:
        raise OrderFlowError(f"bad --slippage {text!r}: a price amount (0.25) or a percent (0.01%)") from None
    if not math.isfinite(value) or value < 0:
        raise OrderFlowError(f"bad --slippage {text!r}: must be >= 0")
    if pct and value >= 100:
        raise OrderFlowError(f"bad --slippage {text!r}: a percentage of the price below 100%")
    return ("perc", value / 100.0) if pct else ("fixed", value)


def check_zone(name: str, option: str) -> str:
    """A valid IANA zone name, or OrderFlowError."""
    try:
        return check_tz(name)
    except OrderFlowError:
        raise OrderFlowError(f"unknown time zone {name!r} for {option} (use e.g. UTC or America/Chicago)") from None


def parse_time(text: str, tz: str, option: str, end: bool = False) -> pd.Timestamp | None:
    """A command-line date or time (``--start``, ``--end``, a chart window) in ``tz`` (unless it has
    a zone) -> UTC, by the one window parser :func:`data.reading.sources.utc_time`: a year, month
    or day covers its whole period (``--end 2024-03`` keeps all of March), a time is an instant
    (as an ``end``, the last one kept), a time alone is refused; an ``end`` past 2262 is None."""
    return utc_time(text, option, end=end, tz=tz)


def parse_clock(text: str) -> dt.time:
    """``"17:00"`` -> ``time(17, 0)``."""
    try:
        return dt.time.fromisoformat(text.strip())
    except ValueError:
        raise OrderFlowError(f"bad --session-start {text!r}: use HH:MM, e.g. 17:00") from None


def strategy_session(values: dict[str, Any]) -> tuple[dt.time, str] | None:
    """The strategy's own session start and zone (its ``session_start``/``tz`` values; one it lacks
    is :data:`DEFAULT_SESSION`'s), None when it has neither; read by the parsers the strategy's
    indicators use (``indicators.sessions``)."""
    start = next((values[n] for n in SESSION_START_PARAMS if values.get(n) is not None), None)
    zone = next((values[n] for n in SESSION_TZ_PARAMS if values.get(n) is not None), None)
    if start is None and zone is None:
        return None
    start = DEFAULT_SESSION[0] if start is None else start
    zone = DEFAULT_SESSION[1] if zone is None else zone
    try:
        if not isinstance(start, dt.time):
            seconds = parse_session_start(start) // 1_000_000_000
            start = dt.time(seconds // 3600, seconds // 60 % 60, seconds % 60)
        return start, check_tz(zone)
    except OrderFlowError:
        return None  # the strategy reports its own bad parameter


def session_params(known: dict[str, Any], clock: dt.time | None, zone: str) -> dict[str, Any]:
    """Map a session start and zone onto the strategy's session parameters (in the type of their default).

    Empty when the strategy has no session parameter (then the session only cuts daily returns).
    """
    out: dict[str, Any] = {}
    start_name = next((n for n in SESSION_START_PARAMS if n in known), None)
    tz_name = next((n for n in SESSION_TZ_PARAMS if n in known), None)
    if start_name is not None and clock is not None:
        default = known[start_name]
        out[start_name] = clock if isinstance(default, dt.time) else clock.strftime("%H:%M")
    if tz_name is not None:
        out[tz_name] = zone
    return out
