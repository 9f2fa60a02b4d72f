"""Read tick files (CSV, CSV.gz, Parquet, JSON) or DataFrames into the canonical tick schema.

Two steps, so that more formats plug in cleanly:

1. A *reader* (one per format, see :func:`register_format`) turns a file into a raw
   DataFrame with the file's own column names. Readers are told which raw columns the
   loader will use so that they can skip the rest.
2. :func:`normalise_ticks`, shared by all formats, maps the raw names to the canonical
   ones, parses times, numbers and sides without a Python loop per row, validates every
   row, rejects or raises on bad ones, and stable-sorts by time.

The result carries ``attrs["load_report"]`` (see :func:`format_load_report`).
"""
from __future__ import annotations

import codecs
import csv
import gzip
import json
import re
import stat
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from data.errors import OrderFlowError
from data.options import LoadOptions
from data.schema import TICK_COLUMNS, TICK_QUOTES
from data.sides.codes import parse_side, side_from_buyer_maker
from data.storage import S3Path, as_path, is_remote, local_copy

__all__ = [
    "load_ticks",
    "normalise_ticks",
    "format_load_report",
    "describe_source",
    "register_format",
    "resolve_columns",
    "TickFormat",
    "ReadResult",
    "FORMATS",
    "BUYER_MAKER",
]

# A pseudo-canonical name: a boolean column where true means the seller was the aggressor.
BUYER_MAKER = "is_buyer_maker"
TARGET_COLUMNS = TICK_COLUMNS + (BUYER_MAKER,)  # what columns= can map a column to
_NUMERIC = ("price", "size") + TICK_QUOTES
# pyarrow's CSV reader before 23 infers an ISO time past 2262 as a timestamp[ns] wrapped
# around (2999-04-14 -> 1830-03-06), silently; from 23 it leaves such a column as text.
# Before 23 a time column that pyarrow read as timestamps is read again as text, so that
# the loader's own parsing checks it.
ARROW_INFERS_TIMES_SAFELY = int(pa.__version__.split(".")[0]) >= 23

# Known names per canonical column, compared after lower-casing and removing
# spaces, "_" and "-". Earlier names win when a file has several (freqtrade has both
# ``timestamp`` and ``date``).
ALIASES: dict[str, tuple[str, ...]] = {
    "timestamp": ("timestamp", "datetime", "time", "date", "ts", "tradetime", "timestamputc"),
    "price": ("price", "px", "tradeprice"),
    "size": ("size", "volume", "qty", "quantity", "amount", "tradesize", "vol"),
    "side": ("side", "tradetype", "aggressor", "aggressorside", "takerside"),
    BUYER_MAKER: ("isbuyermaker", "buyermaker"),
    "bid": ("bid", "bidprice", "bidpx", "bestbid"),
    "ask": ("ask", "askprice", "askpx", "bestask", "offer", "offerprice"),
    "bid_size": ("bidsize", "bidqty", "bidvolume", "bestbidsize"),
    "ask_size": ("asksize", "askqty", "askvolume", "bestasksize", "offersize"),
}

ColumnPicker = Callable[[Sequence[Any]], dict[Any, str]]


@dataclass
class ReadResult:
    """What a reader may return instead of a bare DataFrame.

    ``rejects`` maps a reason (a load-report key such as ``"duplicate_id"``) to a
    boolean mask over ``frame``'s rows that the format itself rejects: those rows are
    counted under that reason and never raise, whatever ``on_bad_rows`` says.
    ``notes`` are sentences for the load report. ``zoneless`` says the format's times
    carry no zone (read as wall times in ``tz=``; the report notes when UTC was assumed).
    """

    frame: pd.DataFrame
    rejects: dict[str, np.ndarray] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    zoneless: bool = False


Reader = Callable[[Path, ColumnPicker], "pd.DataFrame | ReadResult"]
Detector = Callable[[Path], bool]


@dataclass(frozen=True)
class TickFormat:
    """A registered input format.

    ``read(path, pick)`` returns the raw DataFrame. ``pick(raw_names)`` gives
    ``{raw name: canonical name}`` for the columns the loader will use (and raises
    :class:`OrderFlowError` when price, size or time is missing); a reader may use it to
    read only those columns, or ignore it and return everything. ``columns`` is the
    format's own default name mapping (for exports with fixed, unusual names), applied
    under the caller's ``columns=``. ``detect(path)`` (optional) says whether the
    file's content is unambiguously this format; detectors run before extensions.
    """

    name: str
    read: Reader
    extensions: tuple[str, ...] = ()
    columns: Mapping[str, str] = field(default_factory=dict)
    detect: Detector | None = None


FORMATS: dict[str, TickFormat] = {}


def register_format(
    name: str,
    read: Reader,
    extensions: Sequence[str] = (),
    columns: Mapping[str, str] | None = None,
    detect: Detector | None = None,
) -> TickFormat:
    """Register (or replace) a reader under ``name``; ``extensions`` like ``".csv"``.

    Extensions are matched on the file name after a compression suffix (``.gz``,
    ``.bz2``, ``.zst``) is removed; when several formats claim one, the first
    registered wins and the others are chosen with ``load_ticks(..., format=name)``.
    A ``detect`` function claims files by content (header, value shapes) whatever
    their extension; detectors run in registration order before any extension match.
    Returns the registered :class:`TickFormat`.
    """
    fmt = TickFormat(name, read, tuple(e.lower() for e in extensions), dict(columns or {}), detect)
    FORMATS[name] = fmt
    return fmt


# --------------------------------------------------------------------------- columns


def column_key(name: Any) -> str:
    """A column name as matched: case, spaces, ``_`` and ``-`` ignored (``Bid Size`` = ``bid_size``)."""
    return re.sub(r"[\s_\-]+", "", str(name)).lower()


def check_column_map(columns: Mapping[str, str] | None, where: str = "columns=", source: Any = None) -> None:
    """``{"their name": "canonical name"}``: every target a canonical column (or ``is_buyer_maker``),
    none given twice; else :class:`OrderFlowError` naming ``where`` the map came from."""
    taken: dict[str, Any] = {}
    for theirs, target in (columns or {}).items():
        if target not in TARGET_COLUMNS:
            raise OrderFlowError(f"unknown target column {target!r} in {where}; use one of {list(TARGET_COLUMNS)}",
                                 source=source)
        if target in taken:
            raise OrderFlowError(f"two columns are mapped to {target!r} in {where}: {taken[target]!r} and {theirs!r}",
                                 source=source)
        taken[target] = theirs


def resolve_columns(
    names: Sequence[Any],
    columns: Mapping[str, str] | None = None,
    *,
    defaults: Mapping[str, str] | None = None,
    source: Any = None,
    has_time_index: bool = False,
    required: Sequence[str] = ("price", "size", "timestamp"),
) -> dict[Any, str]:
    """Map raw column names to canonical ones: ``{raw name: canonical name}``.

    ``columns`` (``{"their name": "canonical name"}``) wins; then a format's
    ``defaults`` (same shape, entries whose column is absent are skipped); then the
    known names in :data:`ALIASES`, compared case-insensitively ignoring spaces, ``_``
    and ``-``.
    Raises :class:`OrderFlowError` listing the columns found when a ``required``
    column (price, size, time) has none (time may come from a DatetimeIndex when
    ``has_time_index``).
    """
    names = list(names)
    by_key: dict[str, Any] = {}
    for raw in names:
        by_key.setdefault(column_key(raw), raw)
    found = [str(n) for n in names]
    def find(theirs: Any) -> Any:
        return theirs if theirs in names else by_key.get(column_key(theirs))

    check_column_map(columns, source=source)
    explicit: dict[str, Any] = {}
    for theirs, target in (columns or {}).items():
        if find(theirs) is None:
            raise OrderFlowError(
                f"column {theirs!r} given in columns= (--columns) is not in the data; columns found: {found}",
                source=source,
                column=str(theirs),
            )
        explicit[target] = find(theirs)
    chosen: dict[str, Any] = {}
    for theirs, target in (defaults or {}).items():
        raw = find(theirs)
        if raw is not None and target in TARGET_COLUMNS and raw not in explicit.values():
            chosen[target] = raw
    chosen.update(explicit)
    used = set(chosen.values())
    for target, aliases in ALIASES.items():
        raw = next((by_key[a] for a in aliases if a in by_key and by_key[a] not in used), None)
        if target not in chosen and raw is not None:
            chosen[target] = raw
            used.add(raw)
    repeated = next((raw for raw in chosen.values() if names.count(raw) > 1), None)
    if repeated is not None:
        raise OrderFlowError(
            f"column name repeated ({names.count(repeated)} columns are named {str(repeated)!r}): "
            f"name each column once; columns found: {found}",
            source=source,
            column=str(repeated),
        )
    # one side source: an explicit is_buyer_maker beats a side column found by name
    drop = "side" if BUYER_MAKER in explicit and "side" not in explicit else BUYER_MAKER
    if "side" in chosen and BUYER_MAKER in chosen:
        chosen.pop(drop)
    for need in required:
        if need not in chosen and not (need == "timestamp" and has_time_index):
            raise OrderFlowError(
                f"no {need} column; columns found: {found} (name yours: columns={{'YOURS': '{need}'}} in "
                f"Python, --columns YOURS={need} on the command line)",
                source=source,
                column=need,
            )
    return {raw: target for target, raw in chosen.items()}


# --------------------------------------------------------------------------- readers

_COMPRESSION = (".gz", ".bz2", ".zst")


def file_suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in _COMPRESSION:
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


HEAD_BYTES = 1 << 16


_MAGIC = {  # first bytes -> what the file is
    b"\x1f\x8b": "gzip-compressed",
    b"BZh": "bzip2-compressed",
    b"\x28\xb5\x2f\xfd": "zstd-compressed",
    b"PAR1": "a Parquet file",
    b"ARROW1": "an Arrow IPC (feather) file",
    b"PK\x03\x04": "a zip archive",
    b"DBN": "a Databento DBN file",
}
_COMPRESSED_AS = {".gz": b"\x1f\x8b", ".bz2": b"BZh", ".zst": b"\x28\xb5\x2f\xfd"}
_COMPRESSION_NAMES = {".gz": "gzip", ".bz2": "bzip2", ".zst": "zstd"}


def _content_kind(path: Path) -> str | None:
    """What the file's first bytes say it is (:data:`_MAGIC`), or None."""
    with open(path, "rb") as fh:
        start = fh.read(8)
    return next((kind for magic, kind in _MAGIC.items() if start.startswith(magic)), None)


def compressed_with(path: Path) -> str | None:
    """``"gzip"``, ``"bzip2"`` or ``"zstd"`` when the file's first bytes say it is compressed so, else None."""
    kind = _content_kind(path)
    return kind.split("-")[0] if kind is not None and kind.endswith("-compressed") else None


def read_problem(path: Path, exc: BaseException, codec: str | None = None) -> OrderFlowError:
    """The error for a file that fails to read or decompress (named ``.gz`` but not gzip,
    truncated, damaged ...), in words instead of the codec's; a truncated file's message
    says the byte where it ends. ``codec``: the compression the content was read with
    (found from the first bytes, :func:`compressed_with`), else the name's extension decides."""
    if codec is None:
        suffix = path.suffix.lower()
        codec = _COMPRESSION_NAMES.get(suffix)
        if codec is not None:
            with open(path, "rb") as fh:
                compressed = fh.read(4).startswith(_COMPRESSED_AS[suffix])
            if not compressed:
                return OrderFlowError(f"not a valid {codec} file (named {suffix}, but its content is not "
                                      f"{codec}-compressed)", source=path)
    if codec is not None:
        text = str(exc).lower()
        if isinstance(exc, EOFError) or "truncated" in text or "end of" in text or "ended" in text:
            return OrderFlowError(f"truncated {codec} file (the compressed data ends early: the file ends at byte "
                                  f"{path.stat().st_size:,}, inside the compressed data; an incomplete download "
                                  "or copy?)", source=path)
        return OrderFlowError(f"cannot decompress this {codec} file: {exc}", source=path)
    return OrderFlowError(f"cannot read: {exc}", source=path)


def not_utf8(path: Path) -> OrderFlowError:
    """The error for a text file holding bytes that are not UTF-8, naming the first such byte,
    its offset (in the decompressed text when the file is compressed) and its line. Read in
    chunks: only when a reader found such bytes (pyarrow's "invalid UTF8", a text column it
    left as bytes: :func:`check_utf8`)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset, line = 0, 1
    where = " of the decompressed text" if compressed_with(path) else ""
    try:
        with pa.input_stream(str(path), compression="detect") as stream:
            while True:
                chunk = stream.read(1 << 22)
                pending = decoder.getstate()[0]
                try:
                    decoder.decode(chunk, final=not chunk)
                except UnicodeDecodeError as exc:
                    text = pending + chunk
                    line += text[:exc.start].count(b"\n")
                    return OrderFlowError(
                        f"not UTF-8 text: byte 0x{text[exc.start]:02x} at byte {offset - len(pending) + exc.start:,}"
                        f"{where} (line {line:,}) is not UTF-8 (save the file as UTF-8)", source=path)
                if not chunk:
                    break
                offset += len(chunk)
                line += chunk.count(b"\n")
    except (OSError, pa.ArrowException) as exc:
        return read_problem(path, exc)
    return OrderFlowError("not UTF-8 text (save the file as UTF-8)", source=path)


def check_utf8(table: pa.Table, path: Path) -> pa.Table:
    """``table`` as read from the text file ``path``, unless a column came out as bytes (what pyarrow's
    CSV reader makes of text that is not UTF-8): then :func:`not_utf8`'s error."""
    if any(pa.types.is_binary(t) or pa.types.is_large_binary(t) for t in table.schema.types):
        raise not_utf8(path)
    return table


@lru_cache(maxsize=16)
def _cached_head(path: str, mtime_ns: int, size: int) -> str:
    try:
        with pa.input_stream(path, compression="detect") as stream:
            return stream.read(HEAD_BYTES).decode("utf-8-sig", errors="replace")
    except (OSError, pa.ArrowException) as exc:
        raise read_problem(Path(path), exc) from None


def head_text(path: Path) -> str:
    """The file's first :data:`HEAD_BYTES` bytes, decompressed and decoded, cached per
    file version (path, mtime, size): the format detectors and the CSV header share one read."""
    stat = path.stat()
    return _cached_head(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=16)
def _cached_lines(path: str, mtime_ns: int, size: int) -> tuple[str, ...]:
    return tuple(_cached_head(path, mtime_ns, size).splitlines())


def head_lines(path: Path) -> tuple[str, ...]:
    """``head_text(path).splitlines()``, split once per file version (a dozen format detectors
    look at the lines of each file loaded)."""
    stat = path.stat()
    return _cached_lines(str(path), stat.st_mtime_ns, stat.st_size)


# what makes text look binary: undecodable bytes and control characters other than tab, line feed, form feed
# and carriage return
_ODD_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\ufffd]")


def check_text(path: Path) -> None:
    """Raise :class:`OrderFlowError` unless the (decompressed) start of the file is text.

    Binary means a NUL byte, or more than 5% of the first 4096 characters being
    undecodable or control characters (:data:`_ODD_CHARACTERS`); the message says what the
    file looks like (gzip named ``.csv``, Parquet, zip ...) instead of echoing the bytes."""
    head = head_text(path)[:4096]
    if "\x00" not in head and len(_ODD_CHARACTERS.findall(head)) <= 0.05 * len(head):
        return
    kind = _content_kind(path)
    if kind is not None and kind.endswith("-compressed"):
        codec = kind.split("-")[0]
        ext = {"gzip": ".gz", "bzip2": ".bz2", "zstd": ".zst"}[codec]
        hint = f"it is {kind}: name it {path.name}{ext} to read it"
    elif kind is not None:
        hint = f"it looks like {kind}"
    else:
        hint = "binary data"
    raise OrderFlowError(f"not a text file ({hint})", source=path)


def read_header(path: Path) -> tuple[list[str], str]:
    """The first line's column names and the delimiter (``,`` ``;`` tab or ``|``)."""
    check_text(path)
    lines = head_lines(path)
    line = lines[0] if any(text.strip() for text in lines) else ""
    delimiter = max([",", ";", "\t", "|"], key=line.count) if line else ","
    names = next(csv.reader([line], delimiter=delimiter)) if line else []
    return names, delimiter


_NULLABLE_INTS = {pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint16(), pa.uint32()}


def arrow_to_pandas(table: pa.Table) -> pd.DataFrame:
    """Arrow -> pandas; integers of a type that has missing values in the table become nullable
    Int64 (so epoch ns survive them; pandas would make them float64), the others stay numpy integers."""
    with_nulls = {col.type for col in table.columns if col.type in _NULLABLE_INTS and col.null_count}
    return table.to_pandas(types_mapper=lambda t: pd.Int64Dtype() if t in with_nulls else None)


def read_csv(
    path: Path,
    pick: ColumnPicker,
    *,
    names: Sequence[str] | None = None,
    delimiter: str | None = None,
) -> pd.DataFrame:
    """CSV (optionally compressed) through pyarrow's multi-threaded reader.

    Numeric canonical columns are read as float64; if any value does not convert, the
    file is read again with pyarrow's own type inference, which leaves the bad column
    as text so that the loader can name the bad row. ``names`` reads a file without a
    header under these column names; ``delimiter`` overrides the sniffed one.
    """
    header, sniffed = read_header(path)
    if not header:
        raise OrderFlowError("empty file (no header, no rows)", source=path)
    given = list(names) if names is not None else None
    names = given or header
    used = pick(names)
    include = [n for n in names if n in used]
    parse = pacsv.ParseOptions(delimiter=delimiter or sniffed)
    read = pacsv.ReadOptions(use_threads=True, block_size=1 << 22, column_names=given)

    def attempt(types: dict[str, pa.DataType]) -> pa.Table:
        convert = pacsv.ConvertOptions(
            include_columns=include, column_types=types, strings_can_be_null=True
        )
        return pacsv.read_csv(str(path), read_options=read, parse_options=parse, convert_options=convert)

    def typed(given: dict[str, pa.DataType]) -> pa.Table:
        try:
            return attempt({**given, **{n: pa.float64() for n in include if used[n] in _NUMERIC}})
        except pa.ArrowInvalid as exc:
            if "conversion error" not in str(exc):
                raise
            return attempt(given)

    try:
        table = typed({})
        inferred = [n for n in include if used[n] == "timestamp" and pa.types.is_timestamp(table.schema.field(n).type)]
        if inferred and not ARROW_INFERS_TIMES_SAFELY:  # read again with the times as text (see the flag)
            table = typed({n: pa.string() for n in inferred})
    except pa.ArrowInvalid as exc:
        if "invalid utf8" in str(exc).lower():
            raise not_utf8(path) from None
        if path.suffix.lower() in _COMPRESSION and "conversion error" not in str(exc) and "CSV parse" not in str(exc):
            raise read_problem(path, exc) from None
        raise OrderFlowError(f"cannot read CSV: {exc}", source=path) from None
    except OSError as exc:  # a compressed stream that fails part way (truncated, corrupt)
        raise read_problem(path, exc) from None
    return arrow_to_pandas(check_utf8(table, path))


def read_parquet(path: Path, pick: ColumnPicker) -> pd.DataFrame:
    """Parquet through pyarrow, reading only the columns the loader uses."""
    try:
        names = pq.read_schema(str(path)).names
        used = pick(names)
        table = pq.read_table(str(path), columns=[n for n in names if n in used])
    except pa.ArrowException as exc:
        raise OrderFlowError(f"cannot read Parquet: {exc}", source=path) from None
    return arrow_to_pandas(table)


def read_json(path: Path, pick: ColumnPicker) -> pd.DataFrame:
    """The original event shape ``{"trades": [{...}, ...]}`` or a bare list of trades."""
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8-sig") as fh:
            text = fh.read()
    except (OSError, EOFError) as exc:
        raise read_problem(path, exc) from None
    except UnicodeDecodeError:
        check_text(path)
        raise OrderFlowError("cannot read JSON: not UTF-8 text", source=path) from None
    if not text.strip():
        raise OrderFlowError("empty file (no rows)", source=path)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise OrderFlowError(f"malformed JSON: {exc}", source=path) from None
    trades = doc.get("trades") if isinstance(doc, dict) else doc
    if not isinstance(trades, list):
        raise OrderFlowError('JSON must be {"trades": [...]} or a list of trades', source=path)
    # json.loads already made one Python object per trade; checking their type is no worse
    bad = next((i for i, t in enumerate(trades) if not isinstance(t, dict)), None)
    if bad is not None:
        raise OrderFlowError(
            "each trade must be a JSON object", source=path, row=bad + 1, value=trades[bad]
        )
    return pd.DataFrame.from_records(trades)


register_format("csv", read_csv, (".csv", ".txt"))
register_format("parquet", read_parquet, (".parquet", ".pq"))
register_format("json", read_json, (".json",))


def _columns_found(path: Path) -> list[str]:
    """The first line's fields, for error messages (``[]`` when unreadable)."""
    try:
        return read_header(path)[0]
    except (OSError, pa.ArrowException):
        return []


def _claims(fmt: TickFormat, path: Path) -> bool:
    """Does ``fmt``'s detector claim the file? A detector that cannot read the file (binary where it
    expects text, ...) does not claim it; the format finally chosen reports such a problem itself."""
    try:
        return bool(fmt.detect(path))
    except OrderFlowError:
        return False


def format_named(name: str, source: Any = None) -> TickFormat:
    """The registered format ``name``, or :class:`OrderFlowError` listing the known ones."""
    if name not in FORMATS:
        raise OrderFlowError(f"unknown format {name!r}; known: {sorted(FORMATS)}", source=source)
    return FORMATS[name]


def format_for(path: Path, name: str | None) -> TickFormat:
    """``format=`` if given, else the first detector that claims the file, else the extension."""
    if name is not None:
        return format_named(name, path)
    for fmt in FORMATS.values():
        if fmt.detect is not None and _claims(fmt, path):
            return fmt
    ext = file_suffix(path)
    for fmt in FORMATS.values():
        if ext in fmt.extensions:
            return fmt
    raise OrderFlowError(
        f"matches no known format (extension {ext or '(none)'!r}, columns found: "
        f"{_columns_found(path)}); pass format= (one of {sorted(FORMATS)})",
        source=path,
    )


# --------------------------------------------------------------------------- parsing


@dataclass
class _Check:
    """Rows failing one rule: ``reason`` is the report key, ``problem`` the message."""

    reason: str
    column: str
    problem: str
    mask: np.ndarray
    data: pd.Series

    @cached_property
    def fails(self) -> bool:
        """Whether any row fails the rule."""
        return bool(self.mask.any())


def _is_text(s: pd.Series) -> bool:
    return not (
        pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_datetime64_any_dtype(s.dtype)
    )


def _stripped(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Text with stray spaces removed, and the missing mask (null or blank)."""
    text = s.astype("string").str.strip()
    missing = (text.isna() | (text == "")).to_numpy(dtype=bool, na_value=True)
    return text, missing


def _to_float(s: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """float64 values, missing mask, unparseable mask (text that is not a finite number)."""
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        v = s.to_numpy(dtype=np.float64, na_value=np.nan)
        # the usual case, every value finite, in one pass without a mask: a NaN or an infinity makes
        # the sum NaN or infinite (a sum that overflows only takes the longer way)
        with np.errstate(invalid="ignore", over="ignore"):
            total = v.sum()
        if np.isfinite(total):
            return v, np.zeros(len(v), dtype=bool), np.zeros(len(v), dtype=bool)
        missing = np.isnan(v)
        return v, missing, np.isinf(v)
    text, missing = _stripped(s)
    v = pd.to_numeric(text.mask(pd.Series(missing, index=text.index)), errors="coerce")
    v = np.asarray(v, dtype=np.float64)
    return v, missing, ~missing & ~np.isfinite(v)


_UTC = pd.DatetimeTZDtype("ns", "UTC")
_I64_MAX = np.iinfo(np.int64).max
_NAT = np.iinfo(np.int64).min
_NS_MAX = float(_I64_MAX)
# epoch magnitude below 1e11 -> seconds, 1e14 -> ms, 1e17 -> us, else ns
_EPOCH_LIMITS = np.array([1e11, 1e14, 1e17])
_EPOCH_SCALE = np.array([10**9, 10**6, 10**3, 1], dtype=np.int64)
_EPOCH_UNITS = ("s", "ms", "us", "ns")
# from 1e8 (seconds: 1973-03-03) every magnitude class holds the same span of times
# (1973-03-03 .. 5138-11-16), so a value's magnitude alone tells its unit
_EPOCH_UNAMBIGUOUS = 1e8
TIME_RANGE = "1677-09-21 .. 2262-04-11 UTC"  # what int64 nanoseconds (pandas, numpy, Backtrader feeds) hold


@dataclass
class _Times:
    """A time column parsed to int64 ns UTC, with the rows that could not be."""

    ns: np.ndarray
    missing: np.ndarray
    bad: np.ndarray  # unparseable (or not a valid local time)
    out_of_range: np.ndarray  # a valid time outside TIME_RANGE
    unclear_unit: np.ndarray | None = None  # an epoch too small to tell its unit from its magnitude
    units: dict[str, int] = field(default_factory=dict)  # epoch rows read per unit, when several
    column_unit: str = ""  # the epoch unit of most of the column


def _epoch_to_ns(s: pd.Series) -> _Times:
    """Epoch numbers -> int64 ns, each value in the unit (s/ms/us/ns) its magnitude says.

    The magnitude classes are ``|v| < 1e11`` seconds, ``< 1e14`` ms, ``< 1e17`` us, else
    ns. From ``1e8`` seconds (1973-03-03) on, each class covers the same times, so a
    column may mix units and each value is read by its own class (``units`` counts
    them). A value below that in another class than the column's (its median's) could
    be seconds or a time in 1970 in a finer unit: it is rejected as of unclear unit.
    A value whose time falls outside :data:`TIME_RANGE` is out of range.
    Floats in s or ms are rounded to the microsecond (the precision a float64 holds).
    """
    f = s.to_numpy(dtype=np.float64, na_value=np.nan)
    missing = np.isnan(f)
    ok = ~missing & np.isfinite(f)
    mag = np.abs(np.where(ok, f, 0.0))
    column_unit = int(np.searchsorted(_EPOCH_LIMITS, np.median(mag[ok]), side="right")) if ok.any() else 0
    unit = np.searchsorted(_EPOCH_LIMITS, mag, side="right")
    unclear = ok & (unit != column_unit) & (mag < _EPOCH_UNAMBIGUOUS)
    scale = _EPOCH_SCALE[unit]
    out_of_range = ok & ~unclear & (mag * scale >= _NS_MAX)
    good = ok & ~unclear & ~out_of_range
    ns = np.zeros(len(f), dtype=np.int64)
    if pd.api.types.is_integer_dtype(s.dtype):
        ints = s.to_numpy(dtype=np.int64, na_value=0)
        ns[good] = ints[good] * scale[good]
    else:
        whole = np.floor(f[good])
        step = np.where(scale[good] >= 10**6, 1000, 1)
        frac = np.rint((f[good] - whole) * scale[good] / step).astype(np.int64) * step
        ns[good] = whole.astype(np.int64) * scale[good] + frac
    counts = np.bincount(unit[ok & ~unclear], minlength=len(_EPOCH_UNITS))
    units = {name: int(c) for name, c in zip(_EPOCH_UNITS, counts) if c}
    return _Times(ns, missing, ~missing & ~ok, out_of_range, unclear, units if len(units) > 1 else {},
                  _EPOCH_UNITS[column_unit])


_ZONE = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE)


def _localise(dt: pd.Series, tz: str | None) -> pd.Series:
    """Naive datetimes are wall times in ``tz`` (UTC when None); result in UTC."""
    if dt.dt.tz is None and tz is None:
        dt = dt.dt.tz_localize("UTC")
    elif dt.dt.tz is None:
        try:
            dt = dt.dt.tz_localize(tz, ambiguous="infer", nonexistent="NaT")
        except Exception:  # ambiguous DST hour that cannot be inferred from order
            dt = dt.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    return dt.dt.tz_convert("UTC")


def _ns(dt: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """int64 ns since the epoch (UTC) of datetimes in any unit, and the rows outside
    :data:`TIME_RANGE` (which, like NaT, come out as NaT = int64 min).

    Decided per value in the column's own unit, so one time in the year 3000 does not
    stop the others (pandas would raise ``OutOfBoundsDatetime`` for the whole column).
    The ns may share memory with ``dt``.
    """
    index = pd.DatetimeIndex(dt, copy=False)
    raw = index.asi8  # in the index's own unit, UTC for zoned times
    factor = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}[index.unit]
    if factor == 1:  # already ns: every value is in range and NaT is already int64 min
        return raw, np.zeros(len(raw), dtype=bool)
    nat = raw == _NAT
    limit = _I64_MAX // factor
    out_of_range = ~nat & ((raw > limit) | (raw < -limit))
    ns = np.where(nat | out_of_range, 0, raw) * factor
    ns[nat | out_of_range] = _NAT
    return ns, out_of_range


def _iso_to_ns(text: pd.Series, missing: np.ndarray, tz: str | None) -> tuple[np.ndarray, np.ndarray]:
    """ISO-8601 text -> (int64 ns, out-of-range mask); NaT where unparseable or out of
    range; zone-less text is in ``tz``.

    A time outside :data:`TIME_RANGE` comes out of the parse as NaT, like bad text. The NaT
    rows of years up to 1677 or from 2262 are parsed again with their year moved into range
    by a multiple of 400 years
    (``1800 + (year - 1800) mod 400``: the Gregorian calendar repeats every 400 years, so a
    date is valid exactly when the moved one is): those that parse then are valid times
    out of range, the others bad text. The same on pandas 2.2 (which parses text to ns
    only) and 3.x.
    """
    ns = np.full(len(text), _NAT, dtype=np.int64)
    out_of_range = np.zeros(len(text), dtype=bool)

    def parse(part: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        if tz is None:
            return _ns(pd.to_datetime(part, format="ISO8601", utc=True, errors="coerce"))
        values = np.full(len(part), _NAT, dtype=np.int64)
        outside = np.zeros(len(part), dtype=bool)
        zoned = part.str.contains(_ZONE, na=False).to_numpy(dtype=bool)
        if zoned.any():
            values[zoned], outside[zoned] = _ns(pd.to_datetime(part[zoned], format="ISO8601", utc=True,
                                                               errors="coerce"))
        if not zoned.all():
            wall = pd.to_datetime(part[~zoned], format="ISO8601", errors="coerce")
            values[~zoned], outside[~zoned] = _ns(_localise(wall, tz))
        return values, outside

    present = np.flatnonzero(~missing)
    if len(present):
        ns[present], out_of_range[present] = parse(text.iloc[present])
        retry = present[ns[present] == _NAT]
        if len(retry):
            again = text.iloc[retry]
            year = pd.to_numeric(again.str.extract(r"^(\d{4})-", expand=False), errors="coerce")
            # only years at the edges of the range: a bad local time (a DST gap) is bad, not out of range
            dated = (year.notna() & ((year <= 1677) | (year >= 2262))).to_numpy()
            if dated.any():
                moved = (1800 + (year[dated].astype(np.int64) - 1800) % 400).astype(str)
                shifted = moved + again[dated].str.slice(4)
                out_of_range[retry[dated]] = parse(shifted)[0] != _NAT
    return ns, out_of_range


def _to_ns(s: pd.Series, tz: str | None) -> _Times:
    """Any time column -> :class:`_Times` (int64 ns UTC and the rows that failed, by why)."""
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        ns, out_of_range = _ns(_localise(s, tz))
        if ns.min() > _NAT:  # no NaT (int64 min) at all: nothing missing, bad or out of range
            return _Times(ns, np.zeros(len(ns), dtype=bool), np.zeros(len(ns), dtype=bool), out_of_range)
        missing = s.isna().to_numpy()
        return _Times(ns, missing, ~missing & ~out_of_range & (ns == _NAT), out_of_range)
    if pd.api.types.is_bool_dtype(s.dtype):
        missing = s.isna().to_numpy()
        return _Times(np.zeros(len(s), np.int64), missing, ~missing, np.zeros(len(s), bool))
    if pd.api.types.is_numeric_dtype(s.dtype):
        return _epoch_to_ns(s)
    text, missing = _stripped(s)
    number = pd.to_numeric(text.mask(pd.Series(missing, index=text.index)), errors="coerce")
    is_number = number.notna().to_numpy()
    if is_number.sum() * 2 > (~missing).sum():  # mostly numbers: epoch text
        times = _epoch_to_ns(number)
        times.missing = missing
        times.bad = times.bad | (~missing & ~is_number)
        return times
    ns, out_of_range = _iso_to_ns(text, missing, tz)
    return _Times(ns, missing, ~missing & ~out_of_range & (ns == _NAT), out_of_range)


def _parse_side(s: pd.Series, buyer_maker: bool) -> np.ndarray:
    """Side codes through data.sides.codes, parsing each distinct text code once."""
    convert = side_from_buyer_maker if buyer_maker else parse_side
    if not _is_text(s):
        return convert(s)
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    table = np.append(convert(pd.Series(uniques, dtype=object)), np.int8(0))
    return table[codes]  # code -1 (missing) picks the trailing 0


# --------------------------------------------------------------------------- normalise


def _checks_for(target: str, raw: str, s: pd.Series, tz: str | None) -> tuple[np.ndarray, list[_Check], list[str]]:
    """Parsed values of one canonical column, the rules its rows must pass and notes for the report."""
    if target == "timestamp":
        t = _to_ns(s, tz)
        problem = "unparseable time" + (f" (or not a valid local time in {tz})" if tz else "")
        checks = [
            _Check("missing_timestamp", raw, "missing time", t.missing, s),
            _Check("bad_timestamp", raw, problem, t.bad, s),
            _Check("time_out_of_range", raw, f"time out of range (times must lie in {TIME_RANGE})",
                   t.out_of_range, s),
        ]
        if t.unclear_unit is not None:
            checks.append(_Check(
                "unclear_epoch_unit", raw,
                f"epoch time of unclear unit (most of the column is in {t.column_unit}; a value this "
                "small could be seconds or a time in 1970)", t.unclear_unit, s,
            ))
        notes = []
        if t.units:
            counts = ", ".join(f"{n:,} in {u}" for u, n in t.units.items())
            notes.append(f"column {raw!r} mixes epoch units ({counts}): each value read in the unit its size says")
        return t.ns, checks, notes
    v, missing, bad = _to_float(s)

    def sign_rule(compare: np.ufunc) -> np.ndarray:
        """The rows holding a number ``x`` with ``compare(x, 0)``. Missing rows are NaN, which compares
        false, so only unparseable ones (NaN or infinite) are taken out, if any; a minimum above 0
        (not NaN) says that no row holds, without building the mask."""
        if v.min() > 0:
            return np.zeros(len(v), dtype=bool)
        rows = compare(v, 0)
        return rows & ~bad if bad.any() else rows

    checks = [_Check(f"bad_{target}", raw, "unparseable number", bad, s)]
    if target == "price":
        checks += [
            _Check("missing_price", raw, "missing price", missing, s),
            _Check("non_positive_price", raw, "price must be > 0", sign_rule(np.less_equal), s),
        ]
    elif target in ("size", "bid_size", "ask_size"):
        if target == "size":
            checks.append(_Check("missing_size", raw, "missing size", missing, s))
        checks.append(_Check(f"negative_{target}", raw, f"negative {target}", sign_rule(np.less), s))
    elif target in ("bid", "ask"):  # a missing quote is an empty side of the book; 0 or less is no price
        checks.append(_Check(f"non_positive_{target}", raw, f"{target} price must be > 0", sign_rule(np.less_equal), s))
    return v, checks, []


def _first_bad(checks: list[_Check]) -> tuple[_Check, int] | None:
    """The earliest failing row over all rules (ties: the rule listed first)."""
    best: tuple[_Check, int] | None = None
    for check in checks:
        if check.fails:
            row = int(np.argmax(check.mask))
            if best is None or row < best[1]:
                best = (check, row)
    return best


def _reject_counts(checks: list[_Check], n: int) -> tuple[np.ndarray, dict[str, int]]:
    """Keep mask and ``{reason: rows}``; a row failing several rules counts once, first rule."""
    rejected = np.zeros(n, dtype=bool)
    counts: dict[str, int] = {}
    for check in (c for c in checks if c.fails):
        new = check.mask & ~rejected
        if new.any():
            counts[check.reason] = counts.get(check.reason, 0) + int(new.sum())
            rejected |= check.mask
    return ~rejected, counts


def check_tz(tz: str | None, source: Any = None) -> None:
    """Raise :class:`OrderFlowError` unless ``tz`` (the zone of zone-less times) is None or a known zone."""
    if tz is None:
        return
    try:
        pd.Timestamp("2000-01-01").tz_localize(tz)
    except Exception:
        raise OrderFlowError(f"unknown time zone {tz!r} (use a name like 'America/New_York')",
                             source=source) from None


def _side_values(inputs: dict[str, pd.Series], names: dict[str, str], n: int, source: Any) -> np.ndarray:
    """``side`` from the side column, else from ``is_buyer_maker``, else all 0 (unknown)."""
    if "side" in inputs:
        if pd.api.types.is_bool_dtype(inputs["side"].dtype):
            raise OrderFlowError(
                "true/false is not a side; if true means the seller was the aggressor, "
                f"map it with columns={{{names['side']!r}: 'is_buyer_maker'}} (--columns {names['side']}=is_buyer_maker)",
                source=source,
                column=names["side"],
            )
        return _parse_side(inputs["side"], buyer_maker=False)
    if BUYER_MAKER in inputs:
        return _parse_side(inputs[BUYER_MAKER], buyer_maker=True)
    return np.zeros(n, dtype=np.int8)


def _row_order(ns: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray | None, int]:
    """Row positions to take (kept rows, stable-sorted by time; None = all, as they are)
    and how many kept rows are earlier than the kept row before them."""
    kept = None if keep.all() else np.flatnonzero(keep)
    times = ns if kept is None else ns[kept]
    reordered = int(np.count_nonzero(times[1:] < times[:-1]))
    if reordered == 0:
        return kept, 0
    order = np.argsort(times, kind="stable")
    return (order if kept is None else kept[order]), reordered


def normalise_frame(
    raw: pd.DataFrame,
    targets: Sequence[str],
    *,
    required: Sequence[str],
    kind: str = "",
    columns: Mapping[str, str] | None = None,
    defaults: Mapping[str, str] | None = None,
    tz: str | None = None,
    on_bad_rows: str = "raise",
    source: Any = "<DataFrame>",
    format: str = "dataframe",
    copy: bool = True,
    rejects: Mapping[str, np.ndarray] | None = None,
    carry: Sequence[str] = (),
) -> pd.DataFrame:
    """The steps :func:`normalise_ticks` and :func:`data.reading.quotes.normalise_quotes` share.

    Keeps the raw columns that map to ``targets`` (``required`` must be there; time may
    be the frame's DatetimeIndex), parses and checks each (``side`` from the side or
    ``is_buyer_maker`` column when ``targets`` has it), raises on or rejects bad rows,
    stable-sorts by time and returns the ``targets`` found, in that order, with
    ``attrs["load_report"]`` (``unknown_side`` only when there is a side).
    ``kind`` (``"quote "``) goes into the messages for an empty or all-rejected input.
    ``carry`` names raw columns, already parsed and checked by the caller (book levels),
    passed through after ``targets`` in the same row order.
    """
    if on_bad_rows not in ("raise", "drop"):
        raise OrderFlowError(f"on_bad_rows must be 'raise' or 'drop', not {on_bad_rows!r}", source=source)
    if len(raw) == 0:
        raise OrderFlowError(f"empty {kind}file (no rows)", source=source)
    check_tz(tz, source)
    time_index = isinstance(raw.index, pd.DatetimeIndex)
    used = resolve_columns(
        raw.columns, columns, defaults=defaults, source=source,
        has_time_index=time_index, required=required,
    )
    used = {name: target for name, target in used.items() if target in targets}
    inputs = {target: raw[name].reset_index(drop=True) for name, target in used.items()}
    names = {target: str(name) for name, target in used.items()}
    if "timestamp" not in inputs:  # the frame's DatetimeIndex
        inputs["timestamp"], names["timestamp"] = pd.Series(raw.index), "index"
    n = len(raw)
    values: dict[str, np.ndarray] = {}
    checks: list[_Check] = []
    notes: list[str] = []
    for target in targets:
        if target in inputs and target not in ("side", BUYER_MAKER):
            values[target], rules, found = _checks_for(target, names[target], inputs[target], tz)
            checks += rules
            notes += found
    if "side" in targets:
        values["side"] = _side_values(inputs, names, n, source)
    own = [_Check(reason, "", reason, np.asarray(mask, dtype=bool), pd.Series(dtype=object))
           for reason, mask in (rejects or {}).items()]
    if any(c.mask.shape != (n,) for c in own):
        raise ValueError(f"each rejects mask needs one entry per row ({n})")
    if own:  # rows the format rejects itself are counted, not raised
        skip = np.logical_or.reduce([c.mask for c in own])
        checks = [_Check(c.reason, c.column, c.problem, c.mask & ~skip, c.data) for c in checks]

    first = _first_bad(checks)
    if first is not None and on_bad_rows == "raise":
        check, row = first
        value = check.data.iloc[row]
        value = value.item() if isinstance(value, np.generic) else value
        value = value.isoformat() if isinstance(value, pd.Timestamp) else value
        raise OrderFlowError(
            check.problem, source=source, column=check.column, row=row + 1,
            value=None if pd.isna(value) else value,
        )
    keep, rejected = _reject_counts(own + checks, n)
    kept = int(keep.sum())
    if kept == 0:
        raise OrderFlowError(f"all {n} {kind}rows rejected: {rejected}", source=source)

    take, reordered = _row_order(values["timestamp"], keep)
    out = {}
    for target in targets:
        if target in values:
            arr = values[target] if take is None else values[target][take]
            out[target] = arr.copy() if copy and arr.base is not None else arr
    for name in carry:
        arr = raw[name].to_numpy()
        out[name] = arr if take is None else arr[take]
    out["timestamp"] = pd.DatetimeIndex(out["timestamp"].view("M8[ns]"), dtype=_UTC)
    result = pd.DataFrame(out, copy=False)
    report: dict[str, Any] = {
        "source": str(source),
        "format": format,
        "rows_read": n,
        "rows_kept": kept,
        "rejected": rejected,
    }
    if "side" in result:
        report["unknown_side"] = int(np.count_nonzero(result["side"].to_numpy() == 0))
    if "bid" in result and "ask" in result:
        report["crossed_quotes"] = count_crossed(result["bid"].to_numpy(), result["ask"].to_numpy())
    report.update(reordered=reordered, columns=names)
    if notes:
        report["notes"] = notes
    result.attrs["load_report"] = report
    return result


def count_crossed(bid: np.ndarray, ask: np.ndarray) -> int:
    """Rows whose book is crossed: ``bid > ask`` (both present); a locked book (``bid == ask``) is not."""
    with np.errstate(invalid="ignore"):
        return int(np.count_nonzero(bid > ask))


def normalise_ticks(
    raw: pd.DataFrame,
    *,
    columns: Mapping[str, str] | None = None,
    defaults: Mapping[str, str] | None = None,
    tz: str | None = None,
    on_bad_rows: str = "raise",
    source: Any = "<DataFrame>",
    format: str = "dataframe",
    copy: bool = True,
    rejects: Mapping[str, np.ndarray] | None = None,
    notes: Sequence[str] = (),
) -> pd.DataFrame:
    """Raw frame with any known column names -> canonical ticks (the step every format shares).

    Times become ``datetime64[ns, UTC]`` (ISO text with or without zone, epoch
    s/ms/us/ns by magnitude, datetimes; zone-less values are wall times in ``tz``,
    UTC when None). ``side`` is :func:`data.sides.codes.parse_side` of the side column, or
    :func:`data.sides.codes.side_from_buyer_maker` of ``is_buyer_maker``, or 0 when neither
    exists. Rows with a missing/unparseable time, a time outside :data:`TIME_RANGE`,
    an epoch of unclear unit (see :func:`_epoch_to_ns`), a missing/unparseable/non-positive
    price, a missing/unparseable/negative size, an unparseable or non-positive bid/ask
    or a negative quote size raise :class:`OrderFlowError` naming the first such row
    (1-based), or with ``on_bad_rows="drop"`` are rejected and counted by reason. Kept
    rows are stable-sorted by time; ``reordered`` counts rows earlier than the row before
    them; ``crossed_quotes`` (when there are bid and ask) counts kept rows with bid > ask.
    ``copy=False`` lets the result share memory with ``raw`` (for a reader's private frame).
    ``rejects`` (``{reason: row mask}``, see :class:`ReadResult`) rejects rows by the
    format's own rules, counted first and never raised; ``notes`` go into the report.
    """
    result = normalise_frame(
        raw, TARGET_COLUMNS, required=("price", "size", "timestamp"), columns=columns,
        defaults=defaults, tz=tz, on_bad_rows=on_bad_rows, source=source, format=format,
        copy=copy, rejects=rejects,
    )
    if notes:
        report = result.attrs["load_report"]
        report["notes"] = [*notes, *report.get("notes", [])]
    return result


def load_ticks(
    source: str | Path | pd.DataFrame,
    *,
    options: LoadOptions | None = None,
    **keywords: Any,
) -> pd.DataFrame:
    """Load ticks from one file or DataFrame into the canonical tick schema (docs/data-formats.md).

    ``options`` (:class:`data.options.LoadOptions`, or its fields as keywords): this reads
    ``columns``, ``format``, ``tz`` and ``on_bad_rows``; the selection (``start``, ``end``,
    ``symbol``) and many-file sources are :func:`data.load_ticks`'s, which reads them
    through :mod:`data.reading.sources` and a single file or DataFrame through here.

    ``source``: a path (``.csv``/``.txt``, optionally ``.gz``; ``.parquet``/``.pq``;
    ``.json`` holding ``{"trades": [...]}`` or a list) or a DataFrame. Vendor layouts
    (Binance trades/aggTrades, Databento DBN, ccxt, NinjaTrader: see :mod:`data.reading.formats`)
    are detected from the file's header or line shapes, then the extension decides;
    ``format`` forces a registered format (``"csv"``, ``"binance_trades"`` ..., the keys
    of :data:`FORMATS`). A file no format matches raises, listing the formats and the
    columns found. ``columns`` maps other
    names to canonical ones, e.g. ``{"Last": "price"}``. ``tz`` is the zone of zone-less
    times (default UTC). ``on_bad_rows``: ``"raise"`` (default) or ``"drop"`` (reject
    and count). Returns columns ``timestamp, price, size, side`` plus whichever of
    ``bid, ask, bid_size, ask_size`` the input has, sorted by time (stable), with
    ``attrs["load_report"]`` = ``{source, format, rows_read, rows_kept, rejected
    {reason: rows}, unknown_side, [crossed_quotes,] reordered, columns[, notes]}``.
    Raises :class:`OrderFlowError` for a missing or empty file, missing price/size/time
    columns and, unless dropped, bad rows (see :func:`normalise_ticks`).
    """
    options = LoadOptions.of(options, **keywords)
    columns, format, tz = options.columns, options.format, options.tz
    reading = dict(tz=tz, on_bad_rows=options.on_bad_rows)
    if isinstance(source, pd.DataFrame):
        return normalise_ticks(source, columns=columns, **reading)
    if not isinstance(source, (str, Path, S3Path)):
        raise OrderFlowError(f"source must be a path or a DataFrame, not {type(source).__name__}")
    if is_remote(source):  # an object on S3: read from a local copy, named by its URI
        with local_copy(as_path(source)) as local:
            ticks = load_ticks(local, options=options)
        ticks.attrs["load_report"]["source"] = str(source)
        return ticks
    path = Path(source)
    check_file(path)
    fmt = format_for(path, format)
    if path.stat().st_size == 0:
        raise OrderFlowError("empty file (no rows)", source=path)
    mapping = dict(columns=columns, defaults=fmt.columns)
    try:
        raw = fmt.read(path, lambda names: resolve_columns(names, **mapping, source=path))
    except OrderFlowError as err:
        if format is None and err.column in ("price", "size", "timestamp") and err.row is None:
            raise OrderFlowError(
                f"{err.problem}; or name the format with format= (one of {sorted(FORMATS)})",
                source=path, column=err.column,
            ) from None
        raise
    result = raw if isinstance(raw, ReadResult) else ReadResult(raw)
    notes = list(result.notes)
    if result.zoneless and tz is None:
        notes.append(f"{fmt.name} times carry no zone: read as UTC (pass tz= / --tz to change)")
    return normalise_ticks(
        result.frame, **mapping, source=path, format=fmt.name, copy=False,
        rejects=result.rejects, notes=notes, **reading,
    )


def check_file(path: Path, what: str = "file") -> None:
    """Raise :class:`OrderFlowError` unless ``path`` is a regular file, saying what it is
    instead (missing, a folder, a character device such as ``/dev/null``, a pipe ...)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise OrderFlowError(f"{what} not found", source=path) from None
    except OSError as exc:
        raise OrderFlowError(f"cannot open: {exc.strerror or exc}", source=path) from None
    if stat.S_ISREG(mode):
        return
    kinds = [(stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
             (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket")]
    kind = next((name for test, name in kinds if test(mode)), "not a regular file")
    raise OrderFlowError(f"is {kind}, not a {what} of ticks" if what == "file" else f"is {kind}, not a {what}",
                         source=path)


def format_load_report(report: Mapping[str, Any]) -> str:
    """One paragraph for people: what was read, kept, rejected (by reason) and fixed up."""
    read, kept = report["rows_read"], report["rows_kept"]
    text = f"Loaded {kept:,} of {read:,} rows from {report['source']} ({report['format']})."
    rejected = report.get("rejected") or {}
    if rejected:
        parts = ", ".join(f"{n:,} {reason.replace('_', ' ')}" for reason, n in rejected.items())
        text += f" Rejected {read - kept:,}: {parts}."
    else:
        text += " No rows rejected."
    unknown = report.get("unknown_side", 0)
    if unknown:
        rows = "row" if unknown == 1 else "rows"
        text += f" Aggressor side unknown for {unknown:,} {rows} (counted in volume, not in delta)."
    crossed = report.get("crossed_quotes", 0)
    if crossed:
        rows = "row has a" if crossed == 1 else "rows have a"
        text += f" {crossed:,} {rows} crossed book (bid > ask): quote-based side rules leave such trades unsigned."
    reordered = report.get("reordered", 0)
    if reordered:
        rows = "row was" if reordered == 1 else "rows were"
        text += f" {reordered:,} {rows} out of time order; all rows stable-sorted by time."
    for note in report.get("notes") or ():
        text += f" Note: {note}."
    return text


def describe_source(report: Mapping[str, Any]) -> list[str]:
    """The load report of one file (:func:`format_load_report`), or of many files (an import
    into the tick store too), a tick store or a continuous contract (its contracts and roll
    table): what was read, kept in the window, rejected, overlapping; the lines the command
    lines print."""
    if report.get("format") not in ("files", "store", "continuous"):
        return [format_load_report(report)]
    read, kept = report.get("rows_read", 0), report.get("rows_kept", 0)
    if report["format"] == "continuous":
        lines = [f"Read {read:,} rows of {report['continuous']} continuous (roll {report['roll']}, adjust "
                 f"{report['adjust']}) from {report['source']}; {kept:,} rows in the window:"]
        lines += [f"  {c['contract']}: {c['rows']:,} rows from {c['from'] or 'the start'} to {c['to'] or 'the end'}"
                  for c in report.get("contracts") or ()]
        lines += [f"Roll {r['date']}: {r['from']} -> {r['to']}, gap {r['gap']:+g} ({r['from_price']:g} -> "
                  f"{r['to_price']:g})" for r in report.get("rolls") or ()]
    elif report["format"] == "store":
        lines = [f"Read {read:,} rows of {report.get('symbol') or 'the store'} from {report['source']}: "
                 f"{report.get('files_read', 0)} of {report.get('files_total', 0)} day files, "
                 f"{report.get('row_groups_read', 0)} of {report.get('row_groups_total', 0)} row groups; "
                 f"{kept:,} rows in the window."]
    else:
        files = report.get("files") or []
        lines = [f"Read {len(files)} file{'' if len(files) == 1 else 's'} ({report['source']}): {read:,} rows, "
                 f"{kept:,} kept in the window."]
        lines += [f"  {Path(f['source']).name}: {f['rows_read']:,} read, {f.get('rows_in_window', f['rows_kept']):,} kept"
                  + (f", rejected {sum(f['rejected'].values()):,}" if f.get("rejected") else "") for f in files]
    rejected = report.get("rejected") or {}
    if rejected:
        lines.append("Rejected: " + ", ".join(f"{n:,} {reason.replace('_', ' ')}" for reason, n in rejected.items()) + ".")
    for overlap in report.get("overlaps") or ():
        first, second = (Path(f).name for f in overlap["files"])
        kept = "rows of the same trade id dropped" if overlap.get("ids") else "the rows of both kept"
        lines.append(f"Overlap: {first} and {second} from {overlap['from']} to {overlap['to']} ({kept}).")
    for name, error in (report.get("failed") or {}).items():
        lines.append(f"Failed: {name}: {error}.")
    lines += [f"Note: {note}." for note in report.get("notes") or ()]
    return lines
