"""A tick store: canonical ticks as a Hive-partitioned Parquet dataset, by symbol and date.

    python -m data.store import STORE SOURCE... [--symbol ES] [--allow-overlap] [--quiet]
    python -m data.store info STORE [--dates]

Layout: ``STORE/symbol=ES/date=2024-03-01/ticks.parquet`` (the symbol URI-encoded, the
date the UTC calendar date of the trades), each file sorted by time, zstd-compressed
(times delta-encoded, other columns dictionary-encoded),
in row groups of :data:`ROW_GROUP_ROWS` rows with statistics, so that a reader takes
one row group at a time and skips those outside its time window. ``STORE/_store.json``
marks the folder as a store.

Importing reads the sources as one time-ordered stream (:func:`data.scan_ticks`:
overlaps, duplicate trade ids, symbols) and writes each day when the stream has passed
it, so memory holds one day. A day's file is written beside the old one under a hidden
name and renamed over it (``os.replace``: atomic), so re-importing a day replaces it
whole and an interrupted import leaves the old day (or none), never half of one; the
hidden leftovers of a killed import are ignored by readers and removed by the next
import. A source file that cannot be read is reported by name and skipped; the rest
imports (exit status 1).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import urllib.parse
import uuid
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from data.errors import OrderFlowError
from data.options import LoadOptions
from data.reading.progress import progress_bar
from data.reading.sources import TickSource, register_store, source_files
from data.schema import TICK_COLUMNS

MARKER = "_store.json"
DATA_FILE = "ticks.parquet"
ROW_GROUP_ROWS = 1 << 18
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
PARTITIONING = ds.partitioning(pa.schema([("symbol", pa.string()), ("date", pa.string())]), flavor="hive")
# Test hook: kill the importing process between writing a day aside and renaming it.
CRASH_ENV = "ORDERFLOW_STORE_CRASH_BEFORE_RENAME"


class TickStore:
    """A tick store at ``root`` (see the module docstring)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    @staticmethod
    def is_store(path: str | Path) -> bool:
        return (Path(path) / MARKER).is_file()

    @classmethod
    def open(cls, path: str | Path) -> "TickStore | None":
        """The store at ``path``, or None when ``path`` is not a store (how :func:`data.scan_ticks` finds stores)."""
        return cls(path) if cls.is_store(path) else None

    @classmethod
    def create(cls, root: str | Path) -> "TickStore":
        """Open the store at ``root``, making it (an empty folder or none) if needed."""
        root = Path(root)
        if not cls.is_store(root):
            if root.exists() and (not root.is_dir() or any(root.iterdir())):
                raise OrderFlowError("exists and is not a tick store (pick a new or empty folder)", source=root)
            root.mkdir(parents=True, exist_ok=True)
            (root / MARKER).write_text(json.dumps({"format": "orderflow-bt tick store", "version": 1,
                                                   "partitioning": ["symbol", "date"]}, indent=1))
        return cls(root)

    # ----------------------------------------------------------------- writing

    def partition(self, symbol: str, date: str) -> Path:
        return self.root / f"symbol={urllib.parse.quote(str(symbol), safe='')}" / f"date={date}"

    def write_day(self, symbol: str, date: str, ticks: pd.DataFrame) -> Path:
        """Replace the day's file atomically with ``ticks`` (canonical, sorted, of that day)."""
        directory = self.partition(symbol, date)
        directory.mkdir(parents=True, exist_ok=True)
        final = directory / DATA_FILE
        aside = directory / f".{DATA_FILE}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
        table = canonical_table(ticks)
        try:
            pq.write_table(table, aside, compression="zstd", row_group_size=ROW_GROUP_ROWS, write_statistics=True,
                           **ENCODING)
            with open(aside, "rb") as fh:
                os.fsync(fh.fileno())
            if os.environ.get(CRASH_ENV):
                os.kill(os.getpid(), signal.SIGKILL)
            os.replace(aside, final)
        finally:
            if aside.exists():
                aside.unlink()
        _fsync_dir(directory)
        return final

    def remove_leftovers(self) -> int:
        """Delete the hidden files of imports that were killed (their process is gone)."""
        removed = 0
        for path in self.root.glob(f"symbol=*/date=*/.{DATA_FILE}.*.tmp"):
            pid = path.name.split(".")[3] if path.name.count(".") >= 4 else ""
            if not (pid.isdigit() and _alive(int(pid))):
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def import_sources(self, sources: Sequence[str | Path], *, options: LoadOptions | None = None,
                       **keywords: Any) -> dict[str, Any]:
        """Import tick files (any supported format; folders and globs expand) into the store,
        read with ``options`` (:class:`data.options.LoadOptions`, or its fields as keywords:
        ``symbol``, ``allow_overlap``, ``format``, ``tz``, ``on_bad_rows``, ``progress`` ...).

        Returns the report: the source's load report (files, rows per file, rejected,
        overlaps), ``failed`` (``{file: error}``) and ``days`` written (``[symbol, date, rows]``)."""
        options = LoadOptions.of(options, **keywords)
        symbol, progress = options.symbol, options.progress
        self.remove_leftovers()
        files: list[Path] = []
        failed: dict[str, str] = {}
        for source in sources:
            try:
                files += source_files(source)
            except OrderFlowError as err:
                failed[str(source)] = str(err)
        days: list[list[Any]] = []
        report: dict[str, Any] = {"failed": failed, "days": days}
        if not files:
            return report
        scan = TickSource("files", files=files, name=f"{len(files)} files", options=options, skip_bad_files=True)
        current: list[pd.DataFrame] = []
        day: str | None = None

        def flush() -> None:
            if current:
                ticks = pd.concat(current, ignore_index=True) if len(current) > 1 else current[0]
                name = scan.report.get("symbol") or symbol
                self.write_day(name, day, ticks)
                days.append([name, day, len(ticks)])
                current.clear()

        with progress_bar(desc="importing", progress=progress) as bar:
            for batch in scan.batches():
                name = scan.report.get("symbol") or symbol
                if name is None:
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
        report.update(scan.report)
        report["failed"] = {**failed, **scan.report.get("failed", {})}
        report["days"] = days
        return report

    # ----------------------------------------------------------------- reading

    def dataset(self) -> ds.Dataset:
        return ds.dataset(self.root, format="parquet", partitioning=PARTITIONING, schema=_with_partitions(SCHEMA))

    def symbol_rows(self) -> dict[str, int]:
        """Rows per symbol, from the files' footers."""
        rows: dict[str, int] = {}
        for fragment in self.dataset().get_fragments():
            name = _partition_value(fragment, "symbol")
            rows[name] = rows.get(name, 0) + fragment.metadata.num_rows
        return rows

    def _symbol(self, symbol: str | None) -> str:
        rows = self.symbol_rows()
        if symbol is None:
            if len(rows) > 1:
                listed = ", ".join(f"{k} ({v:,} rows)" for k, v in sorted(rows.items()))
                raise OrderFlowError(f"the store holds {len(rows)} symbols: {listed}; pick one with symbol= / --symbol",
                                     source=self.root)
            if not rows:
                raise OrderFlowError("the store holds no ticks (import some: python -m data.store import)",
                                     source=self.root)
            return next(iter(rows))
        if str(symbol) not in rows:
            raise OrderFlowError(f"no symbol {symbol!r} in the store; symbols: {sorted(rows)}", source=self.root)
        return str(symbol)

    def _filters(self, scan: Any) -> tuple[ds.Expression, ds.Expression | None, str]:
        """The day files' filter (symbol and dates, on the partitions) and the rows' (time window)."""
        symbol = self._symbol(scan.symbol)
        select = ds.field("symbol") == symbol
        rows = None
        if scan.start is not None:
            select &= ds.field("date") >= scan.start.strftime("%Y-%m-%d")
            rows = ds.field("timestamp") >= pa.scalar(scan.start.value, pa.timestamp("ns", tz="UTC"))
        if scan.end is not None:
            select &= ds.field("date") <= (scan.end - pd.Timedelta(1, "ns")).strftime("%Y-%m-%d")
            before = ds.field("timestamp") < pa.scalar(scan.end.value, pa.timestamp("ns", tz="UTC"))
            rows = before if rows is None else rows & before
        return select, rows, symbol

    def selected(self, scan: Any) -> tuple[list[ds.ParquetFileFragment], int, str]:
        """The day files a scan reads, in date order, and how many the symbol has."""
        select, _, symbol = self._filters(scan)
        dataset = self.dataset()
        total = sum(1 for _ in dataset.get_fragments(filter=ds.field("symbol") == symbol))
        fragments = sorted(dataset.get_fragments(filter=select), key=lambda f: _partition_value(f, "date"))
        return fragments, total, symbol

    def batches(self, scan: Any) -> Iterator[pd.DataFrame]:
        """Canonical tick frames of the scan's symbol and time window, in time order
        (:meth:`array_batches` as DataFrames)."""
        for arrays in self.array_batches(scan):
            yield arrays_frame(arrays)

    def array_batches(self, scan: Any) -> Iterator[dict[str, np.ndarray]]:
        """The scan's ticks as numpy arrays (:func:`record_batch_arrays` of each record batch of at
        most ``scan.batch_rows`` rows and at most a row group: arrays of a few MB, which a
        stream's allocator reuses batch after batch), in time order: only the day files of its dates and,
        in them, the row groups whose time statistics meet the window (pyarrow dataset
        filters); ``scan.report`` counts both. No pandas: the store's columns are already
        the arrays' types (see :data:`SCHEMA`), so most convert without a copy."""
        fragments, total_files, symbol = self.selected(scan)
        _, rows_filter, _ = self._filters(scan)
        report = {"source": str(self.root), "format": "store", "symbol": symbol, "files_total": total_files,
                  "files_read": 0, "row_groups_total": 0, "row_groups_read": 0, "rows_read": 0, "rows_kept": 0,
                  "rejected": {}}
        scan.report = report
        for fragment in fragments:
            report["row_groups_total"] += fragment.metadata.num_row_groups
        columns = list(TICK_COLUMNS)
        window = np.array([_I64_MIN if scan.start is None else scan.start.value,
                           _I64_MAX if scan.end is None else scan.end.value], dtype=np.int64)
        with progress_bar(len(fragments), desc="reading store", unit="days", progress=scan.progress) as bar:
            for fragment in fragments:
                groups = fragment.split_by_row_group(filter=rows_filter) if rows_filter is not None \
                    else fragment.row_groups
                ids = [g.row_groups[0].id for g in groups] if rows_filter is not None else [g.id for g in groups]
                if ids:
                    report["files_read"] += 1
                    report["row_groups_read"] += len(ids)
                    reader = pq.ParquetFile(fragment.path)
                    for batch in reader.iter_batches(batch_size=min(scan.batch_rows, ROW_GROUP_ROWS), row_groups=ids,
                                                     columns=columns, use_threads=False):
                        report["rows_read"] += batch.num_rows
                        if rows_filter is not None:  # a day file is sorted by time: the window is a slice
                            ts = batch.column("timestamp").view(pa.int64()).to_numpy()
                            lo, hi = np.searchsorted(ts, window, side="left")
                            batch = batch.slice(lo, hi - lo)
                        if batch.num_rows:
                            report["rows_kept"] += batch.num_rows
                            yield record_batch_arrays(batch)
                bar.update(1)

    def fingerprint(self, scan: Any) -> list[list[Any]]:
        """The selected day files: path, size and modification time (a re-import changes them)."""
        fragments, _, _ = self.selected(scan)
        out = []
        for fragment in fragments:
            stat = os.stat(fragment.path)
            out.append([str(Path(fragment.path).relative_to(self.root)), stat.st_size, stat.st_mtime_ns])
        return out

    def info(self) -> pd.DataFrame:
        """One row per day file: symbol, date, rows, row groups, bytes, first and last time."""
        rows = []
        for fragment in self.dataset().get_fragments():
            meta = fragment.metadata
            stats = [meta.row_group(i).column(0).statistics for i in range(meta.num_row_groups)]
            first = min((s.min for s in stats if s is not None and s.has_min_max), default=None)
            last = max((s.max for s in stats if s is not None and s.has_min_max), default=None)
            rows.append({"symbol": _partition_value(fragment, "symbol"), "date": _partition_value(fragment, "date"),
                         "rows": meta.num_rows, "row_groups": meta.num_row_groups,
                         "bytes": os.path.getsize(fragment.path), "first": first, "last": last})
        frame = pd.DataFrame(rows, columns=["symbol", "date", "rows", "row_groups", "bytes", "first", "last"])
        return frame.sort_values(["symbol", "date"], ignore_index=True)


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
    return (ns - ns % 86_400_000_000_000).view("M8[ns]").astype("M8[D]").astype(str)


def _with_partitions(schema: pa.Schema) -> pa.Schema:
    return schema.append(pa.field("symbol", pa.string())).append(pa.field("date", pa.string()))


def _partition_value(fragment: ds.Fragment, name: str) -> str:
    for part in Path(fragment.path).parts:
        if part.startswith(f"{name}="):
            return urllib.parse.unquote(part.split("=", 1)[1])
    raise OrderFlowError(f"not a {name}= partition", source=fragment.path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    """``python -m data.store import|info``; exit status 0 done, 1 some source failed, 2 bad input."""
    parser = argparse.ArgumentParser(prog="python -m data.store", description="A partitioned Parquet tick store.")
    commands = parser.add_subparsers(dest="command", required=True)
    imp = commands.add_parser("import", help="import tick files (any supported format) into STORE")
    imp.add_argument("store")
    imp.add_argument("sources", nargs="+", help="files, folders or globs")
    imp.add_argument("--symbol", help="the instrument (required unless the files carry one symbol column)")
    imp.add_argument("--allow-overlap", action="store_true", help="keep the rows of overlapping files without trade ids")
    imp.add_argument("--format", help="force a registered format")
    imp.add_argument("--tz", help="zone of zone-less times (default UTC)")
    imp.add_argument("--drop-bad-rows", action="store_true", help="reject and count bad rows instead of stopping")
    imp.add_argument("--quiet", action="store_true", help="no progress bar")
    info = commands.add_parser("info", help="list the symbols, dates, rows and size of STORE")
    info.add_argument("store")
    info.add_argument("--dates", action="store_true", help="one line per day")
    args = parser.parse_args(argv)
    try:
        if args.command == "import":
            store = TickStore.create(args.store)
            report = store.import_sources(args.sources, symbol=args.symbol, allow_overlap=args.allow_overlap,
                                          progress=False if args.quiet else None, format=args.format, tz=args.tz,
                                          on_bad_rows="drop" if args.drop_bad_rows else "raise")
            for name, error in report["failed"].items():
                print(f"failed: {name}: {error}", file=sys.stderr)
            rows = sum(d[2] for d in report["days"])
            print(f"imported {rows:,} ticks into {len(report['days'])} day(s) of {args.store}"
                  + (f"; {len(report['failed'])} source(s) failed" if report["failed"] else ""))
            for overlap in report.get("overlaps", []):
                print(f"overlap: {overlap['files'][0]} and {overlap['files'][1]} from {overlap['from']} to {overlap['to']}")
            duplicates = report.get("rejected", {}).get("duplicate_across_files", 0)
            if duplicates:
                print(f"dropped {duplicates:,} duplicate trade(s) across files (same trade id)")
            return 1 if report["failed"] else 0
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
    except OrderFlowError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
