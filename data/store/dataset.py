"""A tick store: canonical ticks as a Hive-partitioned Parquet dataset, by symbol and date.

    python -m data.store import STORE SOURCE... [--symbol ES] [--replace | --merge] [--allow-overlap] [--quiet]
    python -m data.store info STORE [--dates]

Layout: ``STORE/symbol=ES/date=2024-03-01/ticks.parquet`` (the symbol URI-encoded, the
date the UTC calendar date of the trades), each file sorted by time, zstd-compressed
(times delta-encoded, other columns dictionary-encoded),
in row groups of :data:`ROW_GROUP_ROWS` rows with statistics, so that a reader takes
one row group at a time and skips those outside its time window. ``STORE/_store.json``
marks the folder as a store.

Importing reads the sources as one time-ordered stream (:func:`data.scan_ticks`:
overlaps, duplicate trade ids, symbols) and writes each day, when the stream has passed
it, beside the day's file under a hidden name, so memory holds one day. Only when every
source has been read whole and every day checked are the days renamed over their files
(``os.replace``: atomic for each day). An import therefore writes every day it was given,
whole, or changes nothing: a source that cannot be read, a bad row (unless dropped),
several symbols or a day it would shorten (below) fail it before the first rename, and the
hidden files go. An import killed before its renames leaves the old days; its hidden
leftovers are ignored by readers and removed by the next import. Should a rename itself fail
(a disk gone read-only), the error lists the days written and those not.

A day the store holds is replaced by an import that covers it, from its first tick to its
last (or wider). An import that covers less of it, and so would drop ticks the day holds,
is refused, saying how many and from when to when, unless ``replace=True`` (``--replace``:
the day becomes the import's ticks) or ``merge=True`` (``--merge``: the day's ticks and the
import's together, in time order, without the import's rows the day already holds, see
:func:`merge_ticks`).

Reading takes only what the store writes: ``symbol=*/date=YYYY-MM-DD/ticks.parquet`` files
of :data:`SCHEMA`. Hidden files (names starting with ``.``) are never read; any other file
or folder, a day file of another schema or one that cannot be read is an
:class:`~data.errors.OrderFlowError` naming it.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import urllib.parse
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from data.errors import ArgumentParser, OrderFlowError, print_error
from data.options import LoadOptions
from data.reading.loader import check_tz, describe_source, format_named
from data.reading.progress import progress_bar
from data.reading.sources import TickSource, check_symbol, listed_symbols, register_store, source_files, summed_symbols
from data.schema import TICK_COLUMNS
from data.storage import AnyPath, add_endpoint_option, as_path, aside_for, is_remote, listed, open_input, publish, s3_endpoint, sync_folder
from data.ticks import DAY_NS

MARKER = "_store.json"
DATA_FILE = "ticks.parquet"
ROW_GROUP_ROWS = 1 << 18
NAME_MAX = 255  # bytes in a folder name (Linux, macOS, Windows)
_I64_MIN, _I64_MAX = np.iinfo(np.int64).min, np.iinfo(np.int64).max
SCHEMA = pa.schema([
    ("timestamp", pa.timestamp("ns", tz="UTC")),
    ("price", pa.float64()),
    ("size", pa.float64()),
    ("side", pa.int8()),
    ("bid", pa.float64()),
    ("ask", pa.float64()),
    ("bid_size", pa.float64()),
    ("ask_size", pa.float64()),
])
# Times are sorted: delta-encoded they take a third less room and decode three times faster than
# dictionary-then-plain; the other columns repeat few values (prices on a grid, small sizes): dictionaries.
ENCODING = dict(use_dictionary=[f.name for f in SCHEMA if f.name != "timestamp"],
                column_encoding={"timestamp": "DELTA_BINARY_PACKED"})
# Test hook: kill the importing process when every day is written aside, before the first rename.
CRASH_ENV = "ORDERFLOW_STORE_CRASH_BEFORE_RENAME"
_LAYOUT = f"a store holds only symbol=SYMBOL/date=YYYY-MM-DD/{DATA_FILE} files (and {MARKER})"


@dataclass(frozen=True, order=True)
class DayFile:
    """One day file of the store: its symbol, its date (``YYYY-MM-DD``) and path."""

    symbol: str
    date: str
    path: AnyPath


@dataclass
class _Staged:
    """A day written aside (``aside``), to be renamed over ``final``; ``made``: folders made for it."""

    entry: dict[str, Any]
    aside: Path
    final: AnyPath
    made: list[AnyPath]


class _Refused(OrderFlowError):
    """A day the import would shorten (:func:`_check_covers`)."""


class TickStore:
    """A tick store at ``root`` (see the module docstring)."""

    def __init__(self, root: str | AnyPath) -> None:
        self.root = as_path(root)

    @staticmethod
    def is_store(path: str | AnyPath) -> bool:
        try:
            return (as_path(path) / MARKER).is_file()
        except OSError:
            return False

    @classmethod
    def open(cls, path: str | AnyPath) -> "TickStore | None":
        """The store at ``path``, or None when ``path`` is not a store (how :func:`data.scan_ticks` finds stores)."""
        return cls(path) if cls.is_store(path) else None

    @classmethod
    def create(cls, root: str | AnyPath) -> "TickStore":
        """Open the store at ``root``, making it (an empty folder or none) if needed."""
        root = as_path(root)
        if not cls.is_store(root):
            try:
                if root.exists() and (not root.is_dir() or any(root.iterdir())):
                    raise OrderFlowError("exists and is not a tick store (pick a new or empty folder)", source=root)
                root.mkdir(parents=True, exist_ok=True)
                (root / MARKER).write_text(json.dumps({"format": "orderflow-bt tick store", "version": 1,
                                                       "partitioning": ["symbol", "date"]}, indent=1))
            except OSError as err:
                raise _os_error(err, "create the tick store", root) from None
        return cls(root)

    def remove_if_empty(self, made: AnyPath | None) -> None:
        """Undo :meth:`create` of a store that got no day: its marker, and the folders it made
        from ``made`` (the store's folder or an ancestor that did not exist; None: none) down."""
        with contextlib.suppress(OSError):
            if [p.name for p in self.root.iterdir()] != [MARKER]:
                return
            (self.root / MARKER).unlink()
            if made is None:
                return
            folder = self.root
            while True:
                folder.rmdir()
                if folder == made:
                    return
                folder = folder.parent

    # ----------------------------------------------------------------- writing

    def partition(self, symbol: str, date: str) -> AnyPath:
        return self.root / symbol_folder(symbol) / f"date={date}"

    def write_day(self, symbol: str, date: str, ticks: pd.DataFrame) -> AnyPath:
        """Replace the day's file atomically with ``ticks`` (canonical, sorted, of that day)."""
        staged = [self._stage_day(symbol, date, ticks, "replace")]
        try:
            self._commit(staged)
        finally:
            self._discard(staged)
        return staged[0].final

    def remove_leftovers(self) -> int:
        """Delete the hidden files of imports that were killed (their process is gone): beside the days
        on disk; in the temporary folder for a store on S3 (:func:`data.storage.aside_for`)."""
        removed = 0
        hidden = f".{DATA_FILE}.*.tmp"
        found = self.root.glob(f"symbol=*/date=*/{hidden}") if isinstance(self.root, Path) else \
            aside_for(self.root / DATA_FILE, hidden).parent.glob(hidden)
        for path in found:
            pid = path.name.split(".")[3] if path.name.count(".") >= 4 else ""
            if not (pid.isdigit() and _alive(int(pid))):
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def import_sources(self, sources: Sequence[str | Path], *, replace: bool = False, merge: bool = False,
                       options: LoadOptions | None = None, **keywords: Any) -> dict[str, Any]:
        """Import tick files (any supported format; folders and globs expand) into the store:
        every day they hold, whole, or nothing (see the module docstring for ``replace`` and ``merge``).
        The files are read with ``options`` (:class:`data.options.LoadOptions`, or its fields as
        keywords: ``symbol``, ``allow_overlap``, ``format``, ``tz``, ``on_bad_rows``, ``progress`` ...).

        Returns the report: the sources' load report (files, rows per file, rejected,
        overlaps) and ``days``: one ``{symbol, date, ticks, rows, how}`` per day, ``ticks``
        the import's, ``rows`` what the day holds now, ``how`` ``new``, ``replaced`` or
        ``merged`` (with ``added``: the import's ticks the day did not hold, and ``already``).
        Raises :class:`OrderFlowError` (the store unchanged) for a bad option, a source
        that is missing or cannot be read, a bad row, several symbols, no ticks, or a day the
        import would shorten without ``replace``/``merge``."""
        if replace and merge:
            raise OrderFlowError("replace=True / --replace and merge=True / --merge exclude each other: pick one")
        options = LoadOptions.of(options, **keywords)
        symbol, progress = options.symbol, options.progress
        if symbol is not None:
            symbol_folder(symbol, "symbol= / --symbol")
        if options.format is not None:
            format_named(options.format, "format= / --format")
        check_tz(options.tz, "tz= / --tz")
        files: list[AnyPath] = []
        for source in sources:
            files += source_files(source)
        if not files:
            raise OrderFlowError("no source files to import")
        mode = "replace" if replace else "merge" if merge else "refuse"
        name = str(sources[0]) + (f" and {len(sources) - 1} more" if len(sources) > 1 else "")
        scan = TickSource("files", files=files, name=name, options=options, skip_bad_files=True)
        staged: list[_Staged] = []
        try:
            try:
                self.remove_leftovers()
                refused = self._stage_stream(scan, symbol, mode, progress, staged)
                _check_read_whole(scan, symbol, staged, refused)
            except OrderFlowError as err:
                raise OrderFlowError(f"{err.problem}; nothing was written", source=err.source, column=err.column,
                                     row=err.row, value=err.value) from None
            except OSError as err:
                raise _os_error(err, "write into the tick store", self.root, "; nothing was written") from None
            if os.environ.get(CRASH_ENV):
                os.kill(os.getpid(), signal.SIGKILL)
            self._commit(staged)
        finally:
            self._discard(staged)
        report = dict(scan.report)
        report["days"] = [s.entry for s in staged]
        return report

    def _stage_stream(self, scan: TickSource, symbol: str | None, mode: str, progress: bool | None,
                      staged: list[_Staged]) -> list[OrderFlowError]:
        """Read ``scan`` and write each of its days aside (:meth:`_stage_day`), appending to ``staged``;
        returns the refusals of days the import would shorten (mode ``refuse``), which are not written."""
        current: list[pd.DataFrame] = []
        day: str | None = None
        refused: list[OrderFlowError] = []

        def flush() -> None:
            if current:
                ticks = pd.concat(current, ignore_index=True) if len(current) > 1 else current[0]
                try:
                    staged.append(self._stage_day(scan.report.get("symbol") or symbol, day, ticks, mode))
                except _Refused as refusal:
                    refused.append(refusal)
                current.clear()

        with progress_bar(desc="importing", progress=progress) as bar:
            for batch in scan.batches():
                if (scan.report.get("symbol") or symbol) is None:
                    raise OrderFlowError("the files carry no symbol column: name the instrument with --symbol / symbol=",
                                         source=batch.attrs.get("source"))
                dates = _utc_dates(batch)
                cuts = np.flatnonzero(dates[1:] != dates[:-1]) + 1
                for lo, hi in zip(np.concatenate(([0], cuts)), np.concatenate((cuts, [len(batch)]))):
                    if dates[lo] != day:
                        flush()
                        day = str(dates[lo])
                    current.append(batch.iloc[lo:hi])
                bar.update(len(batch))
            flush()
        return refused

    def _stage_day(self, symbol: str, date: str, ticks: pd.DataFrame, mode: str) -> _Staged:
        """Write the day aside: ``ticks`` (mode ``replace``; mode ``refuse`` raises :class:`_Refused`
        unless they cover the day the store holds, see :func:`_check_covers`) or the day merged
        with them (``merge``, :func:`merge_ticks`)."""
        directory = self.partition(symbol, date)
        final = directory / DATA_FILE
        entry: dict[str, Any] = {"symbol": symbol, "date": date, "ticks": len(ticks), "rows": len(ticks), "how": "new"}
        if final.exists():
            entry["how"] = "replaced"
            if mode == "merge":
                ticks, added = merge_ticks(arrays_frame(record_batch_arrays(read_day(final))), ticks)
                entry.update(how="merged", rows=len(ticks), added=added, already=entry["ticks"] - added)
            elif mode == "refuse":
                _check_covers(symbol, date, final, ticks)
        made = [p for p in (directory.parent, directory) if isinstance(p, Path) and not p.exists()]  # S3: no folders
        staged = _Staged(entry, aside_for(final, f".{DATA_FILE}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"), final, made)
        try:
            directory.mkdir(parents=True, exist_ok=True)
            pq.write_table(canonical_table(ticks), staged.aside, compression="zstd", row_group_size=ROW_GROUP_ROWS,
                           write_statistics=True, **ENCODING)
            with open(staged.aside, "rb") as fh:
                os.fsync(fh.fileno())
        except BaseException:
            self._discard([staged])
            raise
        return staged

    def _commit(self, staged: list[_Staged]) -> None:
        """Rename each staged day over its file; a failing rename stops, naming the days written and not."""
        for i, day in enumerate(staged):
            try:
                publish(day.aside, day.final)
            except OSError as err:
                written = ", ".join(f"{d.entry['symbol']} {d.entry['date']}" for d in staged[:i]) or "none"
                rest = ", ".join(f"{d.entry['symbol']} {d.entry['date']}" for d in staged[i:])
                verb = "upload the day written aside as" if is_remote(day.final) else "rename the day written aside over"
                raise OrderFlowError(f"cannot {verb} {DATA_FILE} ({err.strerror or err}): "
                                     f"the import stopped half way; written: {written}; not written: {rest}",
                                     source=day.final.parent) from None
            day.made = []
        for directory in {d.final.parent for d in staged}:
            sync_folder(directory)

    @staticmethod
    def _discard(staged: list[_Staged]) -> None:
        """Remove the staged days not renamed (their hidden files, the folders made for them)."""
        for day in reversed(staged):  # a later day's folder first: the symbol's folder may then be empty
            with contextlib.suppress(OSError):
                day.aside.unlink(missing_ok=True)
            for folder in reversed(day.made):
                with contextlib.suppress(OSError):
                    folder.rmdir()  # only when empty: another day of the symbol may be there

    # ----------------------------------------------------------------- reading

    def day_files(self) -> list[DayFile]:
        """Every day file, by symbol and date. Hidden files are passed over; a file or folder
        the store does not write (:data:`_LAYOUT`) raises :class:`OrderFlowError` naming it."""
        days = []
        try:
            for top in _entries(listed(self.root)):
                if top.name == MARKER and top.is_file():
                    continue
                symbol = _symbol_of(top)
                for folder in _entries(top):
                    date = _date_of(folder)
                    names = [f.name for f in _entries(folder) if f.name == DATA_FILE and f.is_file()]
                    for stray in (f for f in _entries(folder) if f.name not in names):
                        raise _stray(stray)
                    if names:
                        days.append(DayFile(symbol, date, folder / DATA_FILE))
        except OSError as err:
            raise _os_error(err, "read the tick store", self.root) from None
        return sorted(days)

    def read_columns(self, path: Path, columns: Sequence[str], row_group: int | None = None) -> pa.Table:
        """Some columns of one of the store's day files (checked: :func:`open_day`), whole or of one
        row group (``row_group``: its number; a negative one counts from the last)."""
        with open_day(path) as reader:
            if row_group is None:
                return reader.read(columns=columns, use_threads=False)
            return reader.read_row_group(row_group % reader.metadata.num_row_groups, columns=columns,
                                         use_threads=False)

    def symbol_rows(self) -> dict[str, int]:
        """Rows per symbol, from the files' footers."""
        rows: dict[str, int] = {}
        for day in self.day_files():
            with open_day(day.path) as reader:
                rows[day.symbol] = rows.get(day.symbol, 0) + reader.metadata.num_rows
        return rows

    def _symbol(self, symbol: str | None, days: list[DayFile]) -> str:
        symbols = sorted({d.symbol for d in days})
        if symbol is None:
            if len(symbols) > 1:
                rows = self.symbol_rows()
                raise OrderFlowError(f"the store holds {len(rows)} symbols: {listed_symbols(dict(sorted(rows.items())))}; "
                                     "pick one with symbol= / --symbol",
                                     source=self.root)
            if not symbols:
                raise OrderFlowError("the store holds no ticks (import some: python -m data.store import)",
                                     source=self.root)
            return symbols[0]
        if str(symbol) not in symbols:
            check_symbol(symbol, self.symbol_rows(), self.root)
        return str(symbol)

    def selected(self, scan: Any) -> tuple[list[DayFile], int, str]:
        """The day files a scan reads (of its symbol and dates), in date order, and how many the symbol has."""
        days = self.day_files()
        symbol = self._symbol(scan.symbol, days)
        mine = [d for d in days if d.symbol == symbol]
        first = scan.start.strftime("%Y-%m-%d") if scan.start is not None else None
        last = (scan.end - pd.Timedelta(1, "ns")).strftime("%Y-%m-%d") if scan.end is not None else None
        chosen = [d for d in mine if (first is None or d.date >= first) and (last is None or d.date <= last)]
        return chosen, len(mine), symbol

    def batches(self, scan: Any) -> Iterator[pd.DataFrame]:
        """Canonical tick frames of the scan's symbol and time window, in time order
        (:meth:`array_batches` as DataFrames)."""
        for arrays in self.array_batches(scan):
            yield arrays_frame(arrays)

    def array_batches(self, scan: Any) -> Iterator[dict[str, np.ndarray]]:
        """The scan's ticks as numpy arrays (:func:`record_batch_arrays` of each record batch of at
        most ``scan.batch_rows`` rows and at most a row group: arrays of a few MB, which a
        stream's allocator reuses batch after batch), in time order: only the day files of its dates and,
        in them, the row groups whose time statistics meet the window; ``scan.report``
        counts both. No pandas: the store's columns are already the arrays' types (see
        :data:`SCHEMA`), so most convert without a copy."""
        days, total_files, symbol = self.selected(scan)
        report = {"source": str(self.root), "format": "store", "symbol": symbol, "files_total": total_files,
                  "files_read": 0, "row_groups_total": 0, "row_groups_read": 0, "rows_read": 0, "rows_kept": 0,
                  "rejected": {}}
        scan.report = report
        columns = list(TICK_COLUMNS)
        window = np.array([_I64_MIN if scan.start is None else scan.start.value,
                           _I64_MAX if scan.end is None else scan.end.value], dtype=np.int64)
        windowed = scan.start is not None or scan.end is not None
        with progress_bar(len(days), desc="reading store", unit="days", progress=scan.progress) as bar:
            for day in days:
                with open_day(day.path) as reader:
                    ids = _row_groups_in(reader.metadata, window)
                    report["row_groups_total"] += reader.metadata.num_row_groups
                    if ids:
                        report["files_read"] += 1
                        report["row_groups_read"] += len(ids)
                    # one row group at a time: on an object store, one range request each
                    batches = (batch for group in ids for batch in reader.iter_batches(
                        batch_size=min(scan.batch_rows, ROW_GROUP_ROWS), row_groups=[group], columns=columns,
                        use_threads=False))
                    for batch in batches:
                        report["rows_read"] += batch.num_rows
                        if windowed:  # a day file is sorted by time: the window is a slice
                            ts = batch.column("timestamp").view(pa.int64()).to_numpy()
                            lo, hi = np.searchsorted(ts, window, side="left")
                            batch = batch.slice(lo, hi - lo)
                        if batch.num_rows:
                            report["rows_kept"] += batch.num_rows
                            yield record_batch_arrays(batch)
                bar.update(1)

    def fingerprint(self, scan: Any) -> list[list[Any]]:
        """The selected day files: path, size and modification time (a re-import changes them)."""
        days, _, _ = self.selected(scan)
        out = []
        for day in days:
            stat = day.path.stat()
            out.append([str(day.path.relative_to(self.root)), stat.st_size, stat.st_mtime_ns])
        return out

    def info(self) -> pd.DataFrame:
        """One row per day file: symbol, date, rows, row groups, bytes, first and last time."""
        rows = []
        for day in self.day_files():
            with open_day(day.path) as reader:
                meta = reader.metadata
                stats = [meta.row_group(i).column(0).statistics for i in range(meta.num_row_groups)]
                first = min((s.min for s in stats if s is not None and s.has_min_max), default=None)
                last = max((s.max for s in stats if s is not None and s.has_min_max), default=None)
                rows.append({"symbol": day.symbol, "date": day.date, "rows": meta.num_rows,
                             "row_groups": meta.num_row_groups, "bytes": day.path.stat().st_size,
                             "first": first, "last": last})
        return pd.DataFrame(rows, columns=["symbol", "date", "rows", "row_groups", "bytes", "first", "last"])


register_store(TickStore.open)  # data.scan_ticks reads a store through it


# --------------------------------------------------------------------------- helpers


def canonical_table(ticks: pd.DataFrame) -> pa.Table:
    """Canonical ticks as an Arrow table of :data:`SCHEMA` (missing quote columns null)."""
    n = len(ticks)
    arrays = []
    for field in SCHEMA:
        if field.name in ticks:
            values = ticks[field.name]
            if field.name == "timestamp":
                arrays.append(pa.array(values.array.as_unit("ns"), type=field.type))
            else:
                arrays.append(pa.array(values.to_numpy(), type=field.type, from_pandas=True))
        else:
            arrays.append(pa.nulls(n, type=field.type))
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


def record_batch_arrays(batch: "pa.RecordBatch | pa.Table") -> dict[str, np.ndarray]:
    """Store rows as canonical tick arrays: ``timestamp`` int64 UTC ns (a view of the
    Arrow buffer), ``price``/``size`` float64 and ``side`` int8 (views where there are
    no nulls), quote columns float64 with NaN for nulls, left out when all null."""
    out: dict[str, np.ndarray] = {}
    for name in batch.column_names:
        column = batch.column(name)
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        if name in ("bid", "ask", "bid_size", "ask_size") and column.null_count == len(column):
            continue
        if name == "timestamp":
            out[name] = column.view(pa.int64()).to_numpy()
        else:
            out[name] = column.to_numpy(zero_copy_only=False)
    return out


def arrays_frame(arrays: dict[str, np.ndarray]) -> pd.DataFrame:
    """Tick arrays (:func:`record_batch_arrays`) as a canonical tick frame (writable: the arrays
    may be read-only views of Arrow buffers, the frame's columns are copies)."""
    data: dict[str, Any] = dict(arrays)
    data["timestamp"] = pd.DatetimeIndex(arrays["timestamp"].view("M8[ns]")).tz_localize("UTC")
    return pd.DataFrame(data, copy=True)


def _utc_dates(batch: pd.DataFrame) -> np.ndarray:
    ns = batch["timestamp"].array.as_unit("ns").asi8
    return (ns - ns % DAY_NS).view("M8[ns]").astype("M8[D]").astype(str)


def symbol_folder(symbol: Any, option: str = "symbol=") -> str:
    """The folder name of ``symbol``'s days (``symbol=`` and the URI-encoded symbol), or
    :class:`OrderFlowError` for an empty symbol or one too long for a folder name."""
    text = str(symbol)
    name = f"symbol={urllib.parse.quote(text, safe='')}"
    if not text.strip():
        raise OrderFlowError("the symbol is empty: name the instrument, e.g. ES", source=option)
    if len(name.encode()) > NAME_MAX:
        raise OrderFlowError(f"a symbol of {len(text):,} characters is too long for the store's folder name "
                             f"({NAME_MAX} bytes with 'symbol=', the symbol URI-encoded)", source=option, value=text)
    return name


def merge_ticks(day: pd.DataFrame, ticks: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The ticks of ``day`` and those of ``ticks`` it does not hold, stable-sorted by time, and
    how many of ``ticks`` were added. The store keeps no trade ids: a row equal to one of the day's
    in every column both carry is the same trade, and identical rows count as often as either
    side has them (a day with a row twice merged with ticks holding it three times keeps three)."""
    key = [c for c in day.columns if c in ticks.columns]
    both = pd.concat([day, ticks], ignore_index=True)
    new = np.arange(len(both)) >= len(day)
    groups = both.groupby(key, dropna=False, sort=False)
    ids = groups.ngroup().to_numpy()
    in_day = np.bincount(ids[~new], minlength=groups.ngroups)[ids]
    # the day's rows come first in ``both``: the k-th copy among ``ticks`` has rank in_day + k
    keep = ~new | (groups.cumcount().to_numpy() >= 2 * in_day)
    both = both[keep]
    order = np.argsort(both["timestamp"].array.asi8, kind="stable")
    return both.iloc[order].reset_index(drop=True), int(np.count_nonzero(keep[new]))


@contextlib.contextmanager
def open_day(path: AnyPath) -> Iterator[pq.ParquetFile]:
    """A day file open for reading, its schema checked against :data:`SCHEMA`; Parquet's and the
    system's errors while it is read (a damaged file, no permission) become :class:`OrderFlowError`
    naming it. On an object store the reads of a row group's columns are coalesced into one
    range request (``pre_buffer``)."""
    try:
        reader = pq.ParquetFile(open_input(path), pre_buffer=is_remote(path))
    except (pa.ArrowException, OSError) as err:
        raise _unreadable(path, err) from None
    try:
        problem = _schema_problem(reader.schema_arrow)
        if problem:
            raise OrderFlowError(f"not a day file of this store: {problem} (re-import the day with --replace, "
                                 "or move the file out of the store)", source=path)
        yield reader
    except (pa.ArrowException, OSError) as err:
        raise _unreadable(path, err) from None
    finally:
        reader.close(force=True)


def read_day(path: AnyPath, columns: Sequence[str] | None = None) -> pa.Table:
    """A day file whole (or its ``columns``), checked (:func:`open_day`)."""
    with open_day(path) as reader:
        return reader.read(columns=columns, use_threads=False)


def _schema_problem(schema: pa.Schema) -> str:
    if schema.equals(SCHEMA):
        return ""
    have = {f.name: f for f in schema}
    problems = []
    for field in SCHEMA:
        if field.name not in have:
            problems.append(f"no column {field.name!r}")
        elif not have[field.name].equals(field):
            problems.append(f"column {field.name!r} is {have[field.name].type} where the store writes {field.type}")
    extra = [name for name in have if name not in SCHEMA.names]
    if extra:
        problems.append(f"columns the store does not write: {extra}")
    return "; ".join(problems) or f"its columns are in another order: {schema.names}, the store writes {SCHEMA.names}"


def _unreadable(path: Path, err: BaseException) -> OrderFlowError:
    why = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
    return OrderFlowError(f"cannot read this day file of the store ({why}); re-import the day with --replace, or "
                          "move the file out of the store", source=path)


def _row_groups_in(meta: pq.FileMetaData, window: np.ndarray) -> list[int]:
    """The row groups whose time statistics meet ``[window[0], window[1])`` (all those without statistics)."""
    ids = []
    for i in range(meta.num_row_groups):
        stats = meta.row_group(i).column(0).statistics
        if stats is None or not stats.has_min_max or (stats.max_raw >= window[0] and stats.min_raw < window[1]):
            ids.append(i)
    return ids


def _entries(folder: Path) -> list[Path]:
    """The entries of ``folder`` but hidden ones (names starting with ``.``: the leftovers of
    a killed import, a desktop's own files), which the store never reads."""
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def _stray(path: Path) -> OrderFlowError:
    return OrderFlowError(f"not a file this store writes ({_LAYOUT}): move it out of the store", source=path)


def _symbol_of(folder: Path) -> str:
    name = folder.name
    symbol = urllib.parse.unquote(name[len("symbol="):])
    if not (folder.is_dir() and name.startswith("symbol=") and symbol and f"symbol={urllib.parse.quote(symbol, safe='')}"
            == name):
        raise _stray(folder)
    return symbol


def _date_of(folder: Path) -> str:
    date = folder.name[len("date="):]
    try:
        valid = folder.name.startswith("date=") and dt.date.fromisoformat(date).isoformat() == date
    except ValueError:
        valid = False
    if not (valid and folder.is_dir()):
        raise _stray(folder)
    return date


def _clock(ns: int) -> str:
    """A UTC time of day as HH:MM:SS, with the fraction of a second when there is one."""
    ts = pd.Timestamp(int(ns), tz="UTC")
    fraction = f"{ns % 1_000_000_000:09d}".rstrip("0")
    return f"{ts:%H:%M:%S}" + (f".{fraction}" if fraction else "")


def _check_covers(symbol: str, date: str, final: Path, ticks: pd.DataFrame) -> None:
    """Raise unless ``ticks`` cover the store's day in ``final``, from its first tick to its last."""
    held = read_day(final, ["timestamp"]).column("timestamp").combine_chunks().view(pa.int64()).to_numpy()
    ts = ticks["timestamp"].array.asi8
    first, last = int(ts[0]), int(ts[-1])
    before, after = held[held < first], held[held > last]
    if not len(before) and not len(after):
        return
    dropped = " and ".join(f"{len(part):,} ticks ({_clock(part[0])} to {_clock(part[-1])})"
                           for part in (before, after) if len(part))
    raise _Refused(
        f"{symbol} {date}: the store's day holds {len(held):,} ticks from {_clock(held[0])} to {_clock(held[-1])} UTC; "
        f"this import's {len(ts):,} run from {_clock(first)} to {_clock(last)}: replacing the day would drop "
        f"{dropped}. Pass replace=True / --replace to replace the day with the import's ticks, or merge=True / "
        "--merge to add them to it", source=final)


def _check_read_whole(scan: TickSource, symbol: str | None, staged: list[_Staged], refused: list[OrderFlowError]) -> None:
    """Raise when a source could not be read (naming each), when the import would shorten a day
    (the first such day, with the dates of the others), or when the sources gave no ticks."""
    failed = scan.report.get("failed") or {}
    if failed:
        listed = "; ".join(error if error.startswith(name) else f"{name}: {error}" for name, error in failed.items())
        raise OrderFlowError(listed if len(failed) == 1 else f"{len(failed)} source files cannot be read: {listed}")
    if refused:
        first = refused[0]
        others = f" (and {len(refused) - 1} more days: {', '.join(r.problem.split(':')[0] for r in refused[1:])})" \
            if len(refused) > 1 else ""
        raise OrderFlowError(first.problem + others, source=first.source)
    if staged:
        return
    held = summed_symbols(scan.report.get("files") or ())
    if symbol is not None and held:
        check_symbol(symbol, held, scan.name)
    raise OrderFlowError("the sources hold no ticks" + (" (every row was rejected)" if scan.report.get("rejected") else ""))


def _os_error(err: OSError, doing: str, where: Path, after: str = "") -> OrderFlowError:
    return OrderFlowError(f"cannot {doing}: {err.strerror or err}{after}", source=err.filename or where)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    """``python -m data.store import|info``; exit status 0 done, 2 bad input (one ``error:`` line
    on stderr, and an import changes nothing)."""
    parser = ArgumentParser(prog="python -m data.store", description="A partitioned Parquet tick store.",
                            epilog="Exit status: 0 done, 2 bad input (one 'error: ...' line on stderr; an import "
                            "that fails writes nothing).")
    commands = parser.add_subparsers(dest="command", required=True)
    imp = commands.add_parser("import", help="import tick files (any supported format) into STORE",
                              description="Import tick files into STORE (made if new): every day they hold, "
                              "whole, or nothing.")
    imp.add_argument("store")
    imp.add_argument("sources", nargs="+", help="files, folders or globs")
    imp.add_argument("--symbol", help="the instrument (required unless the files carry one symbol column)")
    imp.add_argument("--allow-overlap", action="store_true", help="keep the rows of overlapping files without trade ids")
    existing = imp.add_mutually_exclusive_group()
    existing.add_argument("--replace", action="store_true",
                          help="replace a day the store holds even when the import covers less of it (without "
                          "this, an import that would drop ticks of a day is refused)")
    existing.add_argument("--merge", action="store_true",
                          help="add the import's ticks to the days the store holds, leaving out rows a day already "
                          "has (equal in every column)")
    imp.add_argument("--format", help="force a registered format")
    imp.add_argument("--tz", help="zone of zone-less times (default UTC)")
    imp.add_argument("--drop-bad-rows", action="store_true", help="reject and count bad rows instead of stopping")
    imp.add_argument("--quiet", action="store_true", help="no progress bar")
    add_endpoint_option(imp)
    info = commands.add_parser("info", help="list the symbols, dates, rows and size of STORE")
    info.add_argument("store")
    info.add_argument("--dates", action="store_true", help="one line per day")
    add_endpoint_option(info)
    try:
        args = parser.parse_args(argv)
        with s3_endpoint(args.s3_endpoint):
            return _import(args) if args.command == "import" else _info(args)
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    except OrderFlowError as err:
        return print_error(err)


def _info(args: Any) -> int:
    """``info``: one line per symbol, or per day with ``--dates``."""
    if not TickStore.is_store(args.store):
        raise OrderFlowError("not a tick store (make one with: python -m data.store import)", source=args.store)
    table = TickStore(args.store).info()
    if table.empty:
        print(f"{args.store}: empty")
        return 0
    if args.dates:
        print(table.to_string(index=False))
    else:
        summary = table.groupby("symbol").agg(first_date=("date", "min"), last_date=("date", "max"),
                                              days=("date", "count"), rows=("rows", "sum"),
                                              row_groups=("row_groups", "sum"), bytes=("bytes", "sum"))
        summary["MB"] = (summary.pop("bytes") / 1e6).round(1)
        print(summary.to_string())
    return 0


def _import(args: Any) -> int:
    """``import``: the store made if new (and removed again if the import fails), the load report, the days."""
    new, made = not TickStore.is_store(args.store), None
    root = as_path(args.store)
    for folder in (root, *root.parents):
        if folder.exists():
            break
        made = folder  # the highest folder create() makes
    store = TickStore.create(root)
    try:
        report = store.import_sources(args.sources, symbol=args.symbol, allow_overlap=args.allow_overlap,
                                      replace=args.replace, merge=args.merge, progress=False if args.quiet else None,
                                      format=args.format, tz=args.tz,
                                      on_bad_rows="drop" if args.drop_bad_rows else "raise")
    except BaseException:
        if new:
            store.remove_if_empty(made)
        raise
    for line in describe_source(report):
        print(line)
    days = report["days"]
    hows = {how: [d for d in days if d["how"] == how] for how in ("new", "replaced", "merged")}
    parts = [f"{len(hows['new'])} new"] if hows["new"] else []
    if hows["replaced"]:
        parts.append(f"replaced {len(hows['replaced'])}")
    if hows["merged"]:
        added = sum(d["added"] for d in hows["merged"])
        parts.append(f"merged {len(hows['merged'])}: {added:,} new ticks, "
                     f"{sum(d['already'] for d in hows['merged']):,} already there")
    print(f"imported {sum(d['ticks'] for d in days):,} ticks into {len(days)} day(s) of {args.store} "
          f"({'; '.join(parts)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
