"""Exchange and vendor tick formats, registered with the loader's format registry.

Each format is a reader (file -> raw frame, see :func:`data.reading.loader.register_format`)
plus, where the file itself says which format it is, a detector. ``load_ticks(path)``
runs the detectors first, then falls back to the extension; ``load_ticks(path,
format=NAME)`` forces one. Everything after reading (column names, times, sides,
validation, the load report) is the loader's shared :func:`data.reading.loader.normalise_ticks`.

=====================  =========================================================  ===========
name                   layout                                                     detected by
=====================  =========================================================  ===========
``binance_trades``     ``id, price, qty, quote_qty, time, is_buyer_maker              header, or
                       [, is_best_match]`` (data.binance.vision ``trades``)        value shapes
``binance_aggtrades``  ``agg_trade_id, price, quantity, first_trade_id,              header, or
                       last_trade_id, transact_time, is_buyer_maker                value shapes
                       [, is_best_match]`` (``aggTrades``)
``databento``          DBN ``.dbn`` / ``.dbn.zst`` of schema ``trades``, ``tbbo``     extension
                       or ``mbp-1`` (needs ``pip install .[databento]``)
``ccxt``               ``timestamp, id, type, side, price, amount, cost`` as CSV,    header /
                       JSON (list of objects, or freqtrade's list of lists) or       keys /
                       feather                                                     schema
``ninjatrader``        ``yyyyMMdd HHmmss fffffff;last;bid;ask;volume``, no header    line shape
``feather``            any Arrow IPC / feather file with known column names          extension
=====================  =========================================================  ===========

Sides: Binance ``is_buyer_maker`` true -> -1 (the seller hit the bid), false -> +1;
Databento ``side`` B -> +1, A -> -1, N -> 0; ccxt ``side`` is the taker's (buy -> +1);
NinjaTrader exports carry no aggressor flag: every side is 0, to be classified
(``data.sides.classify``). Binance times are epoch ms, or µs in 2025+ spot dumps (told
apart by magnitude). Databento ticks are stamped with ``ts_event`` (exchange time).
NinjaTrader times are wall times of the exporting machine's zone (NinjaTrader's
"Time zone" setting): they are read in ``tz=``, UTC when not given, and the load
report says so.
"""
from __future__ import annotations

import io
import json
import re
import warnings
from itertools import islice
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.feather as feather

from data.errors import OrderFlowError
from data.reading.loader import (
    BUYER_MAKER,
    HEAD_BYTES,
    ColumnPicker,
    ReadResult,
    arrow_to_pandas,
    compressed_with,
    file_suffix,
    head_lines,
    head_text,
    read_csv,
    read_json,
    read_problem,
    register_format,
)

__all__ = [
    "BINANCE_TRADES",
    "BINANCE_AGGTRADES",
    "CCXT_COLUMNS",
    "NINJATRADER_COLUMNS",
    "DATABENTO_SCHEMAS",
    "dbn_schema",
    "detect_binance",
    "read_databento_frame",
    "read_dbn",
]

BINANCE_TRADES = ("id", "price", "qty", "quote_qty", "time", BUYER_MAKER, "is_best_match")
BINANCE_AGGTRADES = (
    "agg_trade_id", "price", "quantity", "first_trade_id", "last_trade_id",
    "transact_time", BUYER_MAKER, "is_best_match",
)
CCXT_COLUMNS = ("timestamp", "id", "type", "side", "price", "amount", "cost")
NINJATRADER_COLUMNS = ("time", "last", "bid", "ask", "volume")
DATABENTO_SCHEMAS = ("trades", "tbbo", "mbp-1")

_TEXT_EXTENSIONS = ("", ".csv", ".txt")
_SAMPLE_LINES = 20

# --------------------------------------------------------------------------- file heads


def _lines(path: Path) -> tuple[str, ...]:
    """The first non-blank lines of :func:`data.reading.loader.head_text` (``()`` when unreadable)."""
    path.stat()  # a missing file raises, as it always did; only an unreadable one gives ()
    try:
        head, lines = head_text(path), head_lines(path)
    except (OSError, pa.ArrowException):
        return ()
    if len(head) == HEAD_BYTES and lines:
        lines = lines[:-1]  # the last line may be cut
    return tuple(islice((line for line in lines if line.strip()), _SAMPLE_LINES))


def _fields(line: str, delimiter: str = ",") -> list[str]:
    return [f.strip() for f in line.split(delimiter)]


# --------------------------------------------------------------------------- Binance

_INT = re.compile(r"^-?\d+$")
_NUM = re.compile(r"^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
_BOOL = re.compile(r"^(true|false)$", re.IGNORECASE)
# value shape per column: i integer, n number, t epoch ms/us (integer >= 1e11), b boolean
_SHAPES = {
    "binance_trades": "innntbb",
    "binance_aggtrades": "inniitbb",
}
_LAYOUTS = {"binance_trades": BINANCE_TRADES, "binance_aggtrades": BINANCE_AGGTRADES}


def _shape_ok(value: str, shape: str) -> bool:
    if shape == "i":
        return bool(_INT.match(value))
    if shape == "n":
        return bool(_NUM.match(value))
    if shape == "t":
        return bool(_INT.match(value)) and int(value) >= 10**11
    return bool(_BOOL.match(value))


def _is_header(fields: Sequence[str], layout: Sequence[str]) -> bool:
    """The layout's names in order, without or with the optional last column."""
    names = [f.lower() for f in fields]
    return names in (list(layout[:-1]), list(layout))


def _is_binance_rows(lines: Sequence[str], name: str) -> bool:
    """Every sampled line has the layout's column count (with or without the last,
    optional column) and every value has the shape of its column."""
    shapes = _SHAPES[name]
    rows = [_fields(line) for line in lines]
    if not rows or {len(r) for r in rows} - {len(shapes) - 1, len(shapes)}:
        return False
    return all(_shape_ok(v, s) for r in rows for v, s in zip(r, shapes))


def detect_binance(path: Path) -> str | None:
    """``"binance_trades"``, ``"binance_aggtrades"`` or None, from the header or, for a
    headerless dump, the column count and value shapes of the first lines.

    Headerless trades (``int, number, number, number, epoch, bool[, bool]``) and
    aggTrades (``int, number, number, int, int, epoch, bool[, bool]``) differ in the
    column holding the first boolean (6th vs 7th), so the two never both match.
    """
    if file_suffix(path) not in _TEXT_EXTENSIONS:
        return None
    lines = _lines(path)
    if not lines:
        return None
    first = _fields(lines[0])
    for name, layout in _LAYOUTS.items():
        if _is_header(first, layout) or _is_binance_rows(lines, name):
            return name
    return None


def _binance_reader(name: str):
    layout = _LAYOUTS[name]

    def read(path: Path, pick: ColumnPicker) -> pd.DataFrame:
        lines = _lines(path)
        if not lines:
            raise OrderFlowError("empty file (no rows)", source=path)
        first = _fields(lines[0])
        if _is_header(first, layout):
            return read_csv(path, pick, delimiter=",")
        if any(f and not (_NUM.match(f) or _BOOL.match(f)) for f in first):
            raise OrderFlowError(
                f"the first line is a header ({', '.join(first)}) that a Binance {name.split('_')[1]} "
                f"dump does not have (it has none, or {', '.join(layout)}); read the file by its "
                "column names without format=, or pass the right format",
                source=path,
            )
        if len(first) not in (len(layout) - 1, len(layout)):
            raise OrderFlowError(
                f"a headerless Binance {name.split('_')[1]} dump has {len(layout) - 1} or "
                f"{len(layout)} columns ({', '.join(layout)}); the first line has {len(first)}: "
                f"{first}",
                source=path,
            )
        return read_csv(path, pick, names=layout[: len(first)], delimiter=",")

    read.__doc__ = f"Binance {name.split('_')[1]} CSV dump, with or without its header."
    return read


# --------------------------------------------------------------------------- ccxt

_CCXT_KEYS = [f'"{c}"' for c in CCXT_COLUMNS if c != "type"]


def _has_ccxt_columns(names: Sequence[str]) -> bool:
    return set(CCXT_COLUMNS) <= {str(n).strip().lower() for n in names}


def _detect_ccxt(path: Path) -> bool:
    """CSV whose header has all ccxt trade columns; JSON that is a list of lists (the
    freqtrade layout) or whose first objects have the ccxt keys; feather whose schema
    has the ccxt columns."""
    ext = file_suffix(path)
    if ext in (".feather", ".arrow"):
        try:
            return _has_ccxt_columns(_feather_names(path))
        except (OSError, pa.ArrowException):
            return False
    lines = _lines(path)
    if not lines:
        return False
    if ext == ".json":
        head = "".join(lines)
        return bool(re.match(r"\s*\[\s*\[", head)) or all(k in head for k in _CCXT_KEYS)
    return ext in _TEXT_EXTENSIONS and _has_ccxt_columns(_fields(lines[0]))


def _ccxt_frame(path: Path, pick: ColumnPicker) -> pd.DataFrame:
    ext = file_suffix(path)

    def with_id(names: Sequence[str]) -> dict:
        """The loader's columns plus ``id`` (needed to find repeated trades)."""
        return {**pick(names), **{n: "id" for n in names if str(n).strip().lower() == "id"}}
    if ext in (".feather", ".arrow"):
        return read_feather(path, with_id)
    if ext == ".json" and re.match(r"\s*\[\s*\[", "".join(_lines(path))):
        return _ccxt_lists(path)
    if ext == ".json":
        return read_json(path, pick)
    return read_csv(path, with_id)


def _ccxt_lists(path: Path) -> pd.DataFrame:
    """freqtrade's JSON trades: ``[[timestamp, id, type, side, price, amount, cost], ...]``."""
    try:
        with pa.input_stream(str(path), compression="detect") as stream:
            rows = json.loads(stream.read().decode("utf-8-sig"))
    except (OSError, pa.ArrowException, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise OrderFlowError(f"malformed JSON: {exc}", source=path) from None
    try:  # a short row is padded with missing values, which the loader then reports by row
        return pd.DataFrame(rows, columns=list(CCXT_COLUMNS))
    except (ValueError, TypeError):
        raise OrderFlowError(
            f"each trade must be a list of {len(CCXT_COLUMNS)} values ({', '.join(CCXT_COLUMNS)})",
            source=path,
        ) from None


def read_ccxt(path: Path, pick: ColumnPicker) -> ReadResult:
    """ccxt trade lists (CSV, JSON, feather); a repeated ``id`` keeps its first row and
    the repeats are rejected as ``duplicate_id``.

    Ids are compared as text with stray spaces removed; rows without an id are kept.
    """
    frame = _ccxt_frame(path, pick)
    id_col = next((c for c in frame.columns if str(c).strip().lower() == "id"), None)
    if id_col is None:
        return ReadResult(frame)
    ids = frame[id_col].astype("string").str.strip()
    present = ids.notna() & (ids != "")
    duplicate = (ids.duplicated(keep="first") & present).to_numpy(dtype=bool)
    return ReadResult(frame, rejects={"duplicate_id": duplicate} if duplicate.any() else {})


# --------------------------------------------------------------------------- NinjaTrader

_NT_LINE = re.compile(r"^\d{8} \d{6} \d{7};[^;]*;[^;]*;[^;]*;[^;]*$")
_NT_TIME = r"^(\d{4})(\d{2})(\d{2}) (\d{2})(\d{2})(\d{2}) (\d{7})$"
_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _detect_ninjatrader(path: Path) -> bool:
    """Every sampled line is ``yyyyMMdd HHmmss fffffff;last;bid;ask;volume``."""
    lines = _lines(path) if file_suffix(path) in _TEXT_EXTENSIONS else ()
    return bool(lines) and all(_NT_LINE.match(line.strip()) for line in lines)


def _valid_nt_fields(arr: pa.Array) -> bool:
    """Whether every ``yyyyMMdd HHmmss`` of ``arr`` (digits, checked by :data:`_NT_TIME`) is
    a real date and time of day inside :data:`data.reading.loader.TIME_RANGE`: month 1-12, day
    within its month (leap years included), hour < 24, minute and second < 60."""
    def number(start: int, stop: int) -> np.ndarray:
        return pc.cast(pc.utf8_slice_codeunits(arr, start, stop), pa.int64()).to_numpy(zero_copy_only=False)

    date, clock = number(0, 8), number(9, 15)
    year, month, day = date // 10000, date // 100 % 100, date % 100
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = _MONTH_DAYS[np.clip(month, 0, 12)] + (leap & (month == 2))
    ok = (month >= 1) & (month <= 12) & (day >= 1) & (day <= month_days)
    ok &= (clock // 10000 < 24) & (clock // 100 % 100 < 60) & (clock % 100 < 60)
    ok &= (date >= 16770922) & (date <= 22620410)  # whole days inside TIME_RANGE
    return bool(ok.all())


def _ninjatrader_times(text: pd.Series) -> pd.Series:
    """``yyyyMMdd HHmmss fffffff`` -> naive datetime64[ns] (``fffffff`` in 100 ns units):
    ``strptime`` of the first 15 characters plus the fraction, in pyarrow.

    ``strptime`` rolls impossible dates over (``20240231`` -> March 2) and fails the
    whole column on one impossible time (``093099``), so the fields are checked first
    (:func:`_valid_nt_fields`). If any time has another shape, an impossible field or
    lies outside :data:`data.reading.loader.TIME_RANGE`, all become ISO text instead, so that
    the loader names (or rejects and counts) each bad row.
    """
    arr = pa.array(text.astype("string").str.strip(), type=pa.string())
    if pc.all(pc.match_substring_regex(arr, _NT_TIME)).as_py() is False or not _valid_nt_fields(arr):
        return pd.Series(arr.to_pandas()).str.replace(_NT_TIME, r"\1-\2-\3T\4:\5:\6.\7", regex=True)
    seconds = pc.strptime(pc.utf8_slice_codeunits(arr, 0, 15), format="%Y%m%d %H%M%S", unit="ns")
    fraction = pc.multiply(pc.cast(pc.utf8_slice_codeunits(arr, 16, 23), pa.int64()), 100)
    stamps = pc.add(seconds, pc.cast(fraction, pa.duration("ns")))
    return pd.Series(stamps.to_numpy(zero_copy_only=False), index=text.index)


def read_ninjatrader(path: Path, pick: ColumnPicker) -> ReadResult:
    """NinjaTrader 8 tick export: ``yyyyMMdd HHmmss fffffff;last;bid;ask;volume``.

    Times are zone-less wall times (see :func:`_ninjatrader_times`); a line of another
    shape is reported as an unparseable time. No aggressor flag: every side is 0.
    """
    frame = read_csv(path, pick, names=NINJATRADER_COLUMNS, delimiter=";")
    if "time" in frame:
        frame["time"] = _ninjatrader_times(frame["time"])
    return ReadResult(
        frame,
        notes=["NinjaTrader exports carry no aggressor flag: classify the sides (data.sides.classify, --classify)"],
        zoneless=True,
    )


# --------------------------------------------------------------------------- Databento

DATABENTO_COLUMNS = {
    "ts_event": "timestamp",
    "bid_px_00": "bid",
    "ask_px_00": "ask",
    "bid_sz_00": "bid_size",
    "ask_sz_00": "ask_size",
}


# DBN metadata: "DBN", version byte, u32 length, 16-byte dataset, then the u16 schema id
_SCHEMA_IDS = {0: "mbo", 1: "mbp-1", 2: "mbp-10", 3: "tbbo", 4: "trades"}


def dbn_schema(path: Path) -> str | None:
    """The schema named in a DBN file's metadata (``"mbo"``, ``"mbp-10"`` ...), read from its
    first 26 bytes (decompressed when the name ends in ``.zst``); None for anything else."""
    if ".dbn" not in [s.lower() for s in path.suffixes]:
        return None
    try:
        with pa.input_stream(str(path), compression="detect") as stream:
            head = stream.read(26)
    except (OSError, pa.ArrowException):
        return None
    if len(head) < 26 or head[:3] != b"DBN":
        return None
    return _SCHEMA_IDS.get(int.from_bytes(head[24:26], "little"))


def _dbn_stream(path: Path) -> tuple[bytes, bool]:
    """The file's DBN stream, read whole (decompressed when its first bytes say zstd, as the
    databento package tells), and whether it was compressed. A zstd frame the file cuts off,
    or one whose checksum fails, raises (:func:`data.reading.loader.read_problem`): the
    package's own stream reader would stop there and hand back the records before it."""
    codec = compressed_with(path)
    try:
        with pa.input_stream(str(path), compression="zstd" if codec == "zstd" else None) as stream:
            return stream.read(), codec == "zstd"
    except (OSError, pa.ArrowException) as exc:
        raise read_problem(path, exc, codec) from None


def _check_dbn_whole(data: bytes, compressed: bool, path: Path, *, records: bool) -> None:
    """Raise :class:`OrderFlowError` when a DBN stream is cut, saying at which byte: inside the
    metadata (its length is in bytes 4-8) or, with ``records`` (one schema: every record the
    length of the first, in 4-byte words in its first byte), inside the last record."""
    if len(data) < 8 or data[:3] != b"DBN":
        return  # not DBN: the package says so
    where = " of the decompressed data" if compressed else ""
    start = 8 + int.from_bytes(data[4:8], "little")
    if len(data) < start:
        cut = f"the data ends at byte {len(data):,}{where} inside the metadata ({start:,} bytes)"
    elif not records or len(data) == start:
        return
    elif data[start] == 0:
        raise OrderFlowError(f"damaged DBN data: the first record (at byte {start:,}{where}) says it is 0 bytes long",
                             source=path)
    else:
        size = data[start] * 4
        whole, rest = divmod(len(data) - start, size)
        if not rest:
            return
        cut = (f"the records end at byte {len(data):,}{where} inside a record ({whole:,} whole records of "
               f"{size} bytes, then {rest} bytes of a cut one)")
    raise OrderFlowError(f"truncated DBN data: {cut}", source=path)


def read_dbn(path: Path, schemas: Sequence[str], *, frame: bool = False) -> tuple[Any, Any, str]:
    """A DBN file's records with the databento package: its structured array of raw records
    (``frame=False``) or its DataFrame (prices as floats), the package's store (metadata,
    symbols) and the schema. Every DBN reader reads through this one function.

    The file is read whole first (:func:`_dbn_stream`) and checked to end where its last
    record does, so that a file cut short is an error naming the byte where it ends, never
    the records before the cut. Raises :class:`OrderFlowError` when the package is missing,
    the file is truncated, damaged or not DBN, or its schema is not one of ``schemas``.
    """
    try:
        import databento
    except ImportError:
        raise OrderFlowError(
            "reading Databento DBN files needs the optional databento package: "
            "pip install .[databento]  (or: pip install databento)",
            source=path,
        ) from None
    data, compressed = _dbn_stream(path)
    _check_dbn_whole(data, compressed, path, records=False)  # the metadata, before the package reads it
    try:
        store = databento.DBNStore.from_bytes(io.BytesIO(data))  # (given bytes, the package would repr them whole)
    except Exception as exc:  # noqa: BLE001 - the package raises several types for bad files
        raise OrderFlowError(f"cannot read DBN: {exc}", source=path) from None
    schema = str(getattr(store.schema, "value", store.schema))
    if schema not in schemas:
        raise OrderFlowError(f"Databento schema {schema!r} is not supported here; use one of {list(schemas)}",
                             source=path)
    _check_dbn_whole(data, compressed, path, records=True)  # the records, all of the schema's length
    try:
        with warnings.catch_warnings():  # the package's own pandas deprecation notices
            warnings.simplefilter("ignore")
            out = store.to_df() if frame else store.to_ndarray()
    except Exception as exc:  # noqa: BLE001
        raise OrderFlowError(f"cannot read DBN: {exc}", source=path) from None
    return out, store, schema


def read_databento_frame(path: Path, schemas: Sequence[str] = DATABENTO_SCHEMAS) -> tuple[pd.DataFrame, str]:
    """A DBN file as the databento package's DataFrame (prices as floats), with its schema.

    Raises :class:`OrderFlowError` when the package is missing, the file is truncated or
    damaged, the schema is not one of ``schemas``, or the file holds more than one
    instrument (see :func:`read_dbn`).
    """
    frame, store, schema = read_dbn(path, schemas, frame=True)
    if len(frame) and frame["instrument_id"].nunique() > 1:
        counts = frame["instrument_id"].value_counts().to_dict()
        raise OrderFlowError(
            f"the file holds {len(counts)} instruments (records per instrument_id: {counts}; "
            f"symbols {list(store.symbols or [])}); ticks are one instrument: filter the "
            "databento DataFrame to one and pass it to load_ticks",
            source=path,
        )
    return frame.reset_index(drop=True), schema


def read_databento(path: Path, pick: ColumnPicker) -> ReadResult:
    """Databento ``trades``, ``tbbo`` or ``mbp-1`` records -> ticks stamped with ``ts_event``.

    ``trades``: price, size, side. ``tbbo``: the same plus the best bid/offer just before
    each trade (``bid_px_00, ask_px_00, bid_sz_00, ask_sz_00`` -> ``bid, ask, bid_size,
    ask_size``). ``mbp-1``: only trade records (``action == 'T'``) are ticks; their level
    fields are the top of book in force at the trade, kept as its quotes. The other
    records (book updates) are rejected as ``book_update``, so the report accounts for
    every record; a file without any trade raises (use it as quotes:
    :func:`data.reading.quotes.load_quotes`).
    """
    frame, schema = read_databento_frame(path)
    keep = [c for c in ("ts_event", "price", "size", "side", *DATABENTO_COLUMNS) if c in frame]
    rejects: dict[str, np.ndarray] = {}
    notes: list[str] = []
    if schema == "mbp-1" and len(frame):
        book = (frame["action"].astype("string") != "T").to_numpy(dtype=bool, na_value=True)
        if book.all():
            raise OrderFlowError(
                f"no trade records (action 'T') among the {len(frame)} mbp-1 records: "
                "nothing to load as ticks (an mbp-1 file without trades is quotes: "
                "use data.load_quotes / --quotes)",
                source=path,
            )
        rejects["book_update"] = book
        notes.append("mbp-1: trade records are the ticks, their bid/ask the book in force")
    frame = frame[list(dict.fromkeys(keep))]
    return ReadResult(frame, rejects=rejects, notes=notes)


# --------------------------------------------------------------------------- feather


def _feather_names(path: Path) -> list[str]:
    """Column names from the IPC file footer, without reading (or decompressing) the data;
    an old feather v1 file (no footer) is read whole."""
    try:
        with pa.ipc.open_file(str(path)) as reader:
            return reader.schema.names
    except pa.ArrowInvalid:
        return feather.read_table(str(path)).schema.names


def read_feather(path: Path, pick: ColumnPicker) -> pd.DataFrame:
    """Arrow IPC / feather (v2) through pyarrow, reading only the columns the loader uses."""
    try:
        names = _feather_names(path)
        used = pick(names)
        table = feather.read_table(str(path), columns=[n for n in names if n in used])
    except (OSError, pa.ArrowException) as exc:
        raise OrderFlowError(f"cannot read feather: {exc}", source=path) from None
    return arrow_to_pandas(table)


# --------------------------------------------------------------------------- registry

register_format(
    "ninjatrader", read_ninjatrader,
    columns={"time": "timestamp", "last": "price", "volume": "size", "bid": "bid", "ask": "ask"},
    detect=_detect_ninjatrader,
)
register_format(
    "binance_trades", _binance_reader("binance_trades"),
    columns={"time": "timestamp", "qty": "size", BUYER_MAKER: BUYER_MAKER},
    detect=lambda path: detect_binance(path) == "binance_trades",
)
register_format(
    "binance_aggtrades", _binance_reader("binance_aggtrades"),
    columns={"transact_time": "timestamp", "quantity": "size", BUYER_MAKER: BUYER_MAKER},
    detect=lambda path: detect_binance(path) == "binance_aggtrades",
)
register_format(
    "ccxt", read_ccxt,
    columns={"timestamp": "timestamp", "amount": "size", "side": "side"},
    detect=_detect_ccxt,
)
register_format("databento", read_databento, (".dbn",), columns=DATABENTO_COLUMNS)
register_format("feather", read_feather, (".feather", ".arrow"))
