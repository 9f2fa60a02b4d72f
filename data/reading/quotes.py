"""Quotes kept in a file of their own, joined onto trades as of the time of each trade.

    from data import load_ticks, load_quotes, join_quotes
    ticks = join_quotes(load_ticks("trades.csv"), load_quotes("quotes.csv"), lag="5ms")

Why a separate ``join_quotes`` rather than a ``quotes=`` option of ``load_ticks``:
loading stays one file -> one frame (with one load report each), the join works on
ticks from anywhere (a DataFrame, another loader, a vendor API) and can be redone with
another lag without reading the files again. The command line's ``--quotes FILE``
(and ``--quote-lag``) does exactly the two calls above.

A quote file holds a time and ``bid``, ``ask`` (required) and ``bid_size``,
``ask_size`` (optional) under any of the loader's known names (``bid_price``,
``BestAsk``, ``bid_qty`` ...); CSV, Parquet, JSON, feather, or a Databento ``mbp-1``
or ``tbbo`` DBN file (the top-of-book fields of every record). Vendor book formats
(:mod:`data.reading.readers`) register their own quote readers (:func:`register_quote_reader`):
Databento MBO (the book rebuilt from the orders) and MBP-10, LOBSTER orderbook files,
Tardis quotes, book snapshots and incremental L2, Binance bookTicker dumps and
WebSocket captures.

The canonical quote stream
--------------------------
One row per book state, in time order (ties keep the source's order)::

    timestamp  datetime64[ns, UTC]  when the state began (the exchange's time)
    bid, ask   float64              best bid / ask price; NaN when that side is empty
    bid_size, ask_size  float64     size resting at the best bid / ask (0 when empty)

and, where the source has depth, ``k`` levels per side (:func:`level_columns`)::

    bid_1 .. bid_k, bid_size_1 .. bid_size_k, ask_1 .. ask_k, ask_size_1 .. ask_size_k

Level 1 is the best price (``bid_1 == bid``, ``bid_size_1 == bid_size``), level ``i``
the ``i``-th best *occupied* price (not ``i`` ticks away). A level the book does not
have is price NaN, size 0 (LOBSTER's ±9999999999 dummies and Databento's undefined
price become that). ``quote_levels(frame)`` gives ``k`` (0 for top of book only); the
sizes of the first ``j <= k`` levels are ``frame[[f"bid_size_{i}" for i in range(1, j + 1)]]``.
A row is the state *after* the source's event at that time, so the quote in force at a
trade is the last row strictly before it (:func:`join_quotes`); readers that carry both
already put that quote on each trade.
"""
from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from data.errors import OrderFlowError
from data.options import duration
from data.reading.formats import DATABENTO_COLUMNS, dbn_schema, read_databento_frame
from data.reading.loader import ReadResult, check_file, count_crossed, format_for, normalise_frame, resolve_columns
from data.schema import TICK_COLUMNS, TICK_QUOTES, level_columns, quote_levels
from data.storage import S3Path, as_path, is_remote, local_copy, probe_copy

__all__ = [
    "load_quotes", "normalise_quotes", "join_quotes", "QUOTE_REQUIRED", "QUOTE_READERS",
    "register_quote_reader", "level_columns", "quote_levels", "carried_quotes", "holds_book", "lagged",
]

QUOTE_REQUIRED = ("timestamp", "bid", "ask")
_QUOTE_TARGETS = ("timestamp",) + TICK_QUOTES
_LEVEL = re.compile(r"^(bid|ask|bid_size|ask_size)_([1-9][0-9]*)$")

QuoteReader = Callable[[Path], "ReadResult | pd.DataFrame"]
#: format name -> function(path) -> raw quotes (any known column names, plus the level
#: columns of :func:`level_columns` already as float64). Formats without an entry are
#: read by their tick reader, asking for the quote columns.
QUOTE_READERS: dict[str, QuoteReader] = {}


def register_quote_reader(name: str, read: QuoteReader) -> None:
    """Read quotes of the registered tick format ``name`` with ``read(path)`` instead of
    its tick reader (for formats whose quotes are not columns of the trade file)."""
    QUOTE_READERS[name] = read


def _checked_levels(raw: pd.DataFrame, source: Any) -> list[str]:
    """The raw frame's level columns (complete levels 1..k only) after checking that each
    holds float64 numbers and every size is >= 0 (sizes NaN -> 0)."""
    k = quote_levels(raw)
    stray = [c for c in raw.columns if _LEVEL.match(str(c)) and int(_LEVEL.match(str(c)).group(2)) > k]
    if stray:
        raise OrderFlowError(f"incomplete book levels: {stray} without the other columns of their level "
                             f"(each level needs bid_i, bid_size_i, ask_i, ask_size_i)", source=source)
    names = level_columns(k)
    for name in names:
        col = raw[name]
        if not pd.api.types.is_float_dtype(col.dtype):
            raise OrderFlowError("book levels must be numbers (float64)", source=source, column=name)
        if name.startswith(("bid_size", "ask_size")):
            values = col.to_numpy(np.float64)
            bad = values < 0
            if bad.any():
                row = int(np.argmax(bad))
                raise OrderFlowError("negative size", source=source, column=name, row=row + 1,
                                     value=float(values[row]))
    return names


def normalise_quotes(
    raw: pd.DataFrame,
    *,
    columns: Mapping[str, str] | None = None,
    defaults: Mapping[str, str] | None = None,
    tz: str | None = None,
    on_bad_rows: str = "raise",
    source: Any = "<DataFrame>",
    format: str = "dataframe",
) -> pd.DataFrame:
    """Raw quotes with any known column names -> ``timestamp, bid, ask[, bid_size, ask_size]``.

    Times and numbers are parsed, and bad rows raised or rejected by reason, exactly
    as for ticks (:func:`data.reading.loader.normalise_ticks`): an unparseable time, bid,
    ask or size, a bid or ask <= 0 or a negative size is a bad row. A missing bid or
    ask (one side of the book empty) is kept as NaN. Rows are stable-sorted by time.
    The report is in ``attrs["load_report"]`` (``source, format, rows_read, rows_kept,
    rejected, crossed_quotes`` (rows with bid > ask, kept), ``reordered, columns``).
    Book levels (:func:`level_columns`, float64, sizes >= 0) are kept in the same row
    order after the top-of-book columns; the report's ``levels`` says how many.
    """
    levels = _checked_levels(raw, source)
    quotes = normalise_frame(
        raw, _QUOTE_TARGETS, required=QUOTE_REQUIRED, kind="quote ", columns=columns,
        defaults=defaults, tz=tz, on_bad_rows=on_bad_rows, source=source, format=format,
        carry=levels,
    )
    quotes.attrs["load_report"]["levels"] = len(levels) // 4
    return quotes


def _read_dbn_quotes(path: Path) -> ReadResult:
    frame, _ = read_databento_frame(path, schemas=("mbp-1", "tbbo"))
    return ReadResult(frame[[c for c in DATABENTO_COLUMNS if c in frame]])


register_quote_reader("databento", _read_dbn_quotes)


def load_quotes(
    source: str | Path | pd.DataFrame,
    *,
    columns: Mapping[str, str] | None = None,
    format: str | None = None,
    tz: str | None = None,
    on_bad_rows: str = "raise",
) -> pd.DataFrame:
    """Load a quote file (or DataFrame) into ``timestamp, bid, ask[, bid_size, ask_size]``.

    The format is chosen as by :func:`data.load_ticks` (``format=`` or detection, then
    the extension); ``columns``, ``tz`` and ``on_bad_rows`` mean the same. A Databento
    ``mbp-1`` or ``tbbo`` file gives one quote per record: its ``ts_event`` and
    top-of-book fields (the book after that record's event). Book formats give the
    stream described in the module docstring, with levels where they have them.
    """
    options = dict(columns=columns, tz=tz, on_bad_rows=on_bad_rows)
    if isinstance(source, pd.DataFrame):
        return normalise_quotes(source, **options)
    if not isinstance(source, (str, Path, S3Path)):
        raise OrderFlowError(f"quotes must be a path or a DataFrame, not {type(source).__name__}")
    if is_remote(source):  # an object on S3: read from a local copy, named by its URI
        with local_copy(as_path(source)) as local:
            quotes = load_quotes(local, columns=columns, format=format, tz=tz, on_bad_rows=on_bad_rows)
        quotes.attrs["load_report"]["source"] = str(source)
        return quotes
    path = Path(source)
    check_file(path, "quote file")
    fmt = format_for(path, format)
    if fmt.name in QUOTE_READERS:
        raw = QUOTE_READERS[fmt.name](path)
    else:
        def pick(names: list) -> dict:
            return resolve_columns(names, columns, defaults=fmt.columns, source=path,
                                   required=QUOTE_REQUIRED)

        raw = fmt.read(path, pick)
    result = raw if isinstance(raw, ReadResult) else ReadResult(raw)
    quotes = normalise_quotes(result.frame, defaults=fmt.columns, source=path, format=fmt.name, **options)
    if result.notes:
        quotes.attrs["load_report"]["notes"] = list(result.notes)
    return quotes


def book_format(source: Any, format: str | None = None) -> str | None:
    """The format of ``source`` if it is one file that holds quotes beside its trades (a format with
    a registered quote reader, :data:`QUOTE_READERS`; for Databento DBN, the schemas with the book:
    tbbo and mbp-1), else None. An object on S3 is told by the same checks, run on the bytes they
    read of it (its first and last 64 KiB: :func:`data.storage.probe_copy`), without downloading it."""
    if is_remote(source):
        remote = as_path(source)
        if not remote.is_file():
            return None
        with probe_copy(remote) as local:
            return book_format(local, format)
    if not isinstance(source, (str, Path)) or not Path(source).is_file():
        return None
    try:
        name = format_for(Path(source), format).name
    except OrderFlowError:  # no format claims it: the tick loader will say so
        return None
    if name not in QUOTE_READERS:
        return None
    if name == "databento":  # the generic DBN reader: trades-only files hold no book
        return name if dbn_schema(Path(source)) in DBN_BOOK_SCHEMAS else None
    return name


DBN_BOOK_SCHEMAS = ("tbbo", "mbp-1")


def holds_book(source: Any, format: str | None = None) -> bool:
    """Whether ``source`` is one file that holds quotes beside its trades (:func:`book_format`)."""
    return book_format(source, format) is not None


def carried_quotes(source: Any, format: str | None = None) -> pd.DataFrame | None:
    """The whole quote stream of a tick file (local or on S3) whose format holds the book beside
    the trades (LOBSTER, Databento MBO, MBP-10, mbp-1 and tbbo, Binance WebSocket captures), read
    with :func:`load_quotes`; None for anything else (a DataFrame, a folder, a trades-only file).
    A book that cannot be read raises, as any bad input does.

    Such a reader puts on each trade only the quote in force at it; this stream gives
    ``make_bars(ticks, spec, quotes=...)`` every book update between trades too.
    """
    name = book_format(source, format)
    return None if name is None else load_quotes(source, format=name)


def lagged(quotes: pd.DataFrame, lag: str | timedelta | pd.Timedelta | None) -> pd.DataFrame:
    """The quote stream with every time moved ``lag`` later (when each state could be seen;
    the same shift :func:`join_quotes` applies), as a copy; itself when the lag is 0."""
    shift = _lag(lag)
    if shift == pd.Timedelta(0):
        return quotes
    return quotes.assign(timestamp=quotes["timestamp"] + shift)


def _lag(lag: str | timedelta | pd.Timedelta | None) -> pd.Timedelta:
    return duration(lag, "quote lag", "'50ms' or '1s'")


def join_quotes(
    ticks: pd.DataFrame,
    quotes: pd.DataFrame | str | Path,
    *,
    lag: str | timedelta | pd.Timedelta | None = None,
) -> pd.DataFrame:
    """Each trade gets the last quote *strictly before* it: the quote with the latest
    ``quote_time + lag < trade_time``.

    ``lag`` (default 0) is how long a quote takes to be in force (e.g. the feed's
    latency against the trade stamps). A quote at exactly ``trade_time - lag`` is not
    used: it cannot have been seen before the trade (``pd.merge_asof(...,
    direction="backward", allow_exact_matches=False)`` on ``quote_time + lag``).
    Several quotes at one time: the last in the file wins. Trades before the first
    quote in force get NaN quotes. The quote columns the quotes carry replace those
    of the ticks. ``quotes`` is a frame from :func:`load_quotes`, any quote DataFrame,
    or a path. The ticks' load report gains a note saying what was joined.
    """
    if not isinstance(quotes, pd.DataFrame) or "load_report" not in quotes.attrs:
        quotes = load_quotes(quotes)
    if "timestamp" not in ticks:
        raise OrderFlowError("ticks need a 'timestamp' column to join quotes", column="timestamp")
    if not ticks["timestamp"].is_monotonic_increasing:
        raise OrderFlowError("ticks must be sorted by time to join quotes (load them with load_ticks)",
                             column="timestamp")
    shift = _lag(lag)
    cols = [c for c in TICK_QUOTES if c in quotes]
    right = quotes[["timestamp", *cols]].copy()
    right["timestamp"] = right["timestamp"] + shift
    left = ticks.drop(columns=[c for c in cols if c in ticks]).reset_index(drop=True)
    joined = pd.merge_asof(
        left, right, on="timestamp", direction="backward", allow_exact_matches=False
    )
    order = [c for c in TICK_COLUMNS if c in joined] + [c for c in joined if c not in TICK_COLUMNS]
    joined = joined[order]
    missing = int(joined[cols].isna().all(axis=1).sum()) if cols else len(joined)
    crossed = count_crossed(joined["bid"].to_numpy(), joined["ask"].to_numpy()) if {"bid", "ask"} <= set(cols) else 0
    report = dict(ticks.attrs.get("load_report") or {})
    quote_report = quotes.attrs.get("load_report") or {}
    source = quote_report.get("source", "<DataFrame>")
    note = (
        f"quotes from {source} ({len(quotes):,} rows, lag {shift}) joined as of the last quote "
        f"strictly before each trade; {missing:,} trades have no quote in force"
    )
    if crossed:
        note += f", {crossed:,} a crossed one (bid > ask: quote-based side rules leave them unsigned)"
    rejected = quote_report.get("rejected") or {}
    if rejected:
        note += "; quote rows rejected: " + ", ".join(f"{n:,} {r.replace('_', ' ')}" for r, n in rejected.items())
    report["notes"] = [*report.get("notes", []), note]
    report["quotes"] = {"source": source, "rows": len(quotes), "lag": str(shift),
                        "trades_without_quote": missing, "trades_with_crossed_quote": crossed,
                        "rejected": dict(rejected)}
    joined.attrs["load_report"] = report
    return joined
