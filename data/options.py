"""The options of loading ticks and of making bars: one typed object each, the one home of
their names and defaults.

:class:`LoadOptions` says how a source's ticks are read and which of them are kept;
:class:`BarOptions` holds every setting beside the bar spec that changes a bar. Each layer
takes the object whole and passes it on: the loader and the sources, the stream, the bar
cache (whose key is built from the object, :meth:`BarOptions.key`), the research engine and
the command line. The public keyword calls (``make_bars(ticks, "1min", tick_size=0.25)``,
``load_ticks(path, columns=...)``) build the object from their keywords (:meth:`BarOptions.of`).

A new bar option is one new field of :class:`BarOptions` (with a default that keeps the bars
as they were), read where the bars are computed: the keyword calls accept it, the stream
carries it and the cache key changes with it without further code.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields, replace
from typing import Any, Mapping, TypeVar

import pandas as pd

from data.contracts import ContractRule, check_continuous
from data.errors import OrderFlowError

__all__ = ["LoadOptions", "BarOptions", "DEFAULT_PERSISTENCE", "split_keywords", "utc_time", "duration", "LAST_TIME"]

DEFAULT_PERSISTENCE = "1s"  # the window of the persistence-filtered depth lines (data/bars/depth.py)

# field metadata: a field that changes no tick and no bar stays out of the cache key
_NOT_IN_KEY = {"key": False}

Options = TypeVar("Options", bound="_Options")


LAST_TIME = pd.Timestamp.max.tz_localize("UTC").floor("D")
"""The last whole day of nanosecond timestamps: an ``end`` beyond it is no bound."""
_PERIOD_TEXT = "an ISO date, month or year, or a date and time: 2024-03-31, 2024-03, 2024 or 2024-03-31 14:30"


def duration(value: Any, what: str, example: str) -> pd.Timedelta:
    """``value`` (text such as ``"50ms"``, a Timedelta or timedelta; None: 0) as a duration >= 0: the
    one check of a delay given by the user (a quote lag, an order's latency); ``what`` and
    ``example`` name it in the error."""
    if value is None:
        return pd.Timedelta(0)
    try:
        shift = pd.Timedelta(value)
    except (ValueError, TypeError):
        raise OrderFlowError(f"{what} must be a duration such as {example}", value=value) from None
    if pd.isna(shift) or shift < pd.Timedelta(0):
        raise OrderFlowError(f"{what} must be a duration >= 0", value=str(value))
    return shift


def utc_time(value: Any, name: str, *, end: bool = False, tz: str = "UTC") -> pd.Timestamp | None:
    """A window bound (``start=``/``end=``) as a UTC timestamp: the one parser of every time
    window (:func:`scan_ticks` and the store, ``research.RunConfig``, the command line).

    - Text naming a period -- a year ``"2024"``, a month ``"2024-03"`` or ``"March 2024"``, a
      day ``"2024-03-31"`` -- covers the whole period, as pandas' partial string indexing
      does: as ``start`` its first instant, as ``end`` the instant after it, so
      ``start="2024", end="2024"`` is all of 2024 and ``end="2024-03"`` keeps March 31.
    - Text with a time of day (``"2024-03-31 14:30"``) is that instant; as ``end`` it is the
      last instant kept (the exclusive bound is 1 ns later).
    - A time alone (``"10:00"``) or a date without a year is refused (it would mean today,
      or year 1).
    - A Timestamp, datetime or datetime64 is an instant; as ``end`` the exclusive bound.
      A ``datetime.date`` is its day.

    Zone-less values are in ``tz``. Times are nanosecond timestamps (1677-2262): an ``end``
    beyond them is no bound (None), a ``start`` beyond them an error.
    """
    if value is None:
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = value.isoformat()
    period = _period(value, name) if isinstance(value, str) else None
    try:
        if period is not None:
            wall = (period + 1 if end else period).start_time.as_unit("ns")
            ts = wall.tz_localize(tz, ambiguous=True, nonexistent="shift_forward")
        else:
            ts = pd.Timestamp(value)
            if ts is pd.NaT:
                raise ValueError("not a time")
            ts = ts.as_unit("ns")
            ts = _localized(ts, tz, name, value) if ts.tz is None else ts
            if end and isinstance(value, str):
                ts += pd.Timedelta(1, "ns")
        ts = ts.tz_convert("UTC")
    except OrderFlowError:
        raise
    except (OverflowError, pd.errors.OutOfBoundsDatetime):
        year = period.year if period is not None else _year(value)
        if end and year is not None and year > 2000:
            return None
        raise OrderFlowError(f"bad {name} {value!r}: times must fall between 1677 and 2262") from None
    except (ValueError, TypeError):
        raise OrderFlowError(f"bad {name} {value!r}: use {_PERIOD_TEXT}") from None
    if end and ts > LAST_TIME:
        return None
    return ts


def _localized(ts: pd.Timestamp, tz: str, name: str, value: Any) -> pd.Timestamp:
    """``ts`` (a wall time) in ``tz``; OrderFlowError for a time a daylight saving change skips or repeats."""
    local = ts.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    if local is pd.NaT:
        raise OrderFlowError(f"bad {name} {value!r}: {tz} skips or repeats that time (a daylight saving change); "
                             f"give its UTC offset, e.g. {ts:%Y-%m-%d %H:%M}-05:00")
    return local


def _period(text: str, name: str) -> "pd.Period | None":
    """The period a text names when it has no time of day (year, quarter, month, day), else None
    (an instant); OrderFlowError for text that is no date, a time alone or a date without a year."""
    try:
        period = pd.Period(text.strip())
    except (ValueError, TypeError, OverflowError):
        raise OrderFlowError(f"bad {name} {text!r}: use {_PERIOD_TEXT}") from None
    if period is pd.NaT:
        raise OrderFlowError(f"bad {name} {text!r}: use {_PERIOD_TEXT}")
    # a period of whole days (year, quarter, month, week, day) or of a time of day (hour, minute ...);
    # told by its frequency, since start_time overflows nanoseconds at year 1 or 10000 on pandas 2
    whole_days = not isinstance(period.freq, pd.offsets.Tick) or isinstance(period.freq, pd.offsets.Day)
    if period.year == 1:  # the parser's default year: the text names none
        if whole_days:
            raise OrderFlowError(f"bad {name} {text!r}: a date with no year; use {_PERIOD_TEXT}")
        raise OrderFlowError(f"bad {name} {text!r}: a time alone names no day; give the date too, "
                             f"e.g. 2024-03-31 {text.strip()}")
    return period if whole_days else None


def _year(value: Any) -> int | None:
    try:
        return int(pd.Period(str(value)).year)
    except (ValueError, TypeError, OverflowError):
        return None


class _Options:
    """What both option objects share: building from keywords, the cache key, picking keywords."""

    @classmethod
    def of(cls: type[Options], options: Options | None = None, /, **changes: Any) -> Options:
        """``options`` (default: all defaults) with ``changes`` (keyword -> value) applied.
        An unknown keyword raises ``TypeError`` naming the known ones."""
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(changes) - set(names))
        if unknown:
            raise TypeError(f"unknown {cls._what} option(s) {', '.join(map(repr, unknown))}; known: {', '.join(names)}")
        if options is None:
            return cls(**changes)
        if not isinstance(options, cls):
            raise TypeError(f"options= takes a {cls.__name__}, not {type(options).__name__}")
        return replace(options, **changes) if changes else options

    @classmethod
    def take(cls, keywords: dict[str, Any]) -> dict[str, Any]:
        """Remove this object's keywords from ``keywords`` and return them (for a call whose
        other keywords go elsewhere)."""
        return {f.name: keywords.pop(f.name) for f in fields(cls) if f.name in keywords}

    def key(self) -> dict[str, Any]:
        """What goes into a cache key: each field that changes the result, as text (a mapping
        as its items in key order)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.metadata.get("key", True):
                value = getattr(self, f.name)
                out[f.name] = ({str(k): str(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
                               if isinstance(value, Mapping) else str(value))
        return out


@dataclass(frozen=True)
class LoadOptions(_Options):
    """How a source's ticks are read, and which of them are kept.

    Reading each file (or DataFrame): ``columns`` maps other column names to canonical ones
    (``{"Last": "price"}``); ``format`` names a registered format (the keys of
    :data:`data.reading.loader.FORMATS`; None: detected from the file); ``tz`` is the zone of
    zone-less times (None: UTC); ``on_bad_rows`` is ``"raise"`` (stop at the first bad row)
    or ``"drop"`` (reject and count bad rows).

    Selecting, for any source (and what makes ``load_ticks`` read a single file as a source):
    ``start``/``end`` keep the times in ``[start, end)`` (held as UTC timestamps: zone-less
    values are UTC, a date-only ``end`` includes that day); ``symbol`` keeps one instrument of
    a source holding several. ``allow_overlap`` keeps the rows of both files where files
    overlap in time and carry no trade ids to drop duplicates by.

    A continuous futures series (:mod:`data.reading.continuous`): ``continuous`` names the root
    (``"ES"``) of a source holding several of its contracts, read as one series across the
    rolls; ``roll`` is the roll rule (``"days:8"``, ``"volume"``; None: the root's default),
    ``adjust`` ``"none"``, ``"add"`` or ``"ratio"``, ``expiry`` the root's expiry rule
    (``"HMUZ:3fri"``; None: the preset, :data:`data.contracts.ROOT_RULES`).

    ``progress``: progress bars on stderr (None: when stderr is a terminal). It changes no
    tick, so it is not part of :meth:`key`.
    """

    _what = "load"

    columns: Mapping[str, str] | None = None
    format: str | None = None
    tz: str | None = None
    on_bad_rows: str = "raise"
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    symbol: str | None = None
    allow_overlap: bool = False
    continuous: str | None = None
    roll: str | None = None
    adjust: str = "none"
    expiry: "str | ContractRule | None" = None
    progress: bool | None = field(default=None, metadata=_NOT_IN_KEY)

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", utc_time(self.start, "start"))
        object.__setattr__(self, "end", utc_time(self.end, "end", end=True))
        check_continuous(self.continuous, self.roll, self.adjust, self.expiry)
        if self.continuous is not None and self.symbol is not None:
            raise OrderFlowError("symbol= / --symbol picks one instrument and continuous= / --continuous joins the "
                                 "contracts of a root: give one of them")

    @property
    def selects(self) -> bool:
        """Whether only some of the ticks are kept (a time window, a symbol or a continuous contract)."""
        return self.start is not None or self.end is not None or self.symbol is not None or self.continuous is not None


@dataclass(frozen=True)
class BarOptions(_Options):
    """Every setting beside the bar spec that changes a bar (see :func:`data.make_bars`).

    ``tick_size``: the footprint grid's tick (None: ``ticks.attrs["tick_size"]``, else
    inferred from the prices); ``persistence``: the window of the persistence-filtered depth
    lines (a duration such as ``"1s"``); ``depth``/``footprint``: compute those groups of lines
    (``False`` leaves them out, about half of the work); ``footprint_params``: other parameters
    of the footprint lines (``{"imbalance": "atas"}``, ``ratio``, ``min_volume``, ``large`` ...,
    see :func:`data.bars.footprint.footprint_lines`).
    """

    _what = "bar"

    tick_size: float | None = None
    persistence: str | pd.Timedelta | float = DEFAULT_PERSISTENCE
    depth: bool = True
    footprint: bool = True
    footprint_params: Mapping[str, Any] | None = None


def split_keywords(keywords: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``keywords`` split into those of :class:`LoadOptions` and those of :class:`BarOptions`
    (for a call that takes both); an unknown keyword raises ``TypeError`` naming the known ones."""
    rest = dict(keywords)
    load, bars = LoadOptions.take(rest), BarOptions.take(rest)
    if rest:
        known = [f.name for cls in (LoadOptions, BarOptions) for f in fields(cls)]
        raise TypeError(f"unknown option(s) {', '.join(map(repr, sorted(rest)))}; known: {', '.join(known)}")
    return load, bars
