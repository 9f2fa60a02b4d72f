"""Tick sources: a file, a folder, a glob, a list of files or a tick store, read as one
stream of canonical tick batches in time order (:func:`scan_ticks`).

Files are read one at a time with the loader's formats (any mix of supported formats)
in name order, so that at most two files are in memory. Their time ranges must follow
each other; a file that starts before the previous one ended *overlaps* it:

- when the rows carry exchange trade ids or sequence numbers (a column named like
  ``id``, ``trade_id``, ``agg_trade_id``, ``sequence``), rows whose id the previous file
  already had are dropped and counted (``duplicate_across_files``), and the rest merge
  in time order;
- without ids an overlap raises, naming both files and the overlapping range, unless
  ``allow_overlap=True``: then both files' rows are kept, merged in time order (ties keep
  file order), and the overlap is reported.

A source with several instruments (a ``symbol``/``instrument_id`` column, or a store)
needs ``symbol=``; without it an error lists the symbols found with their row counts, as
does a ``symbol=`` the source does not hold (:func:`check_symbol`). A folder is the files
directly in it, except hidden ones and those whose names start with ``_``: the ``_``
files and subfolders it skips are said in a note of the load report.
The load report (``TickSource.report`` after reading) gives the files read, rows and
rejected rows per file, overlaps and duplicates, and its notes; for a store the files and
row groups read out of the total.
"""
from __future__ import annotations

import datetime as dt
import glob as globbing
import hashlib
import queue
import re
import threading
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa

from data.errors import OrderFlowError
from data.reading.loader import ReadResult, check_file, column_key, format_for, normalise_ticks, resolve_columns
from data.reading.progress import progress_bar

DEFAULT_BATCH_ROWS = 1 << 20
# raw column names (compared lower-case without spaces, "_" and "-") of trade ids and instruments
ID_KEYS = ("id", "tradeid", "aggtradeid", "sequence", "seq", "sequencenumber", "tradeseq")
SYMBOL_KEYS = ("symbol", "instrumentid", "instrument", "ticker", "rawsymbol")
READ_AHEAD = 2  # batches a store's reader thread decodes ahead of the consumer
_GLOB = re.compile(r"[*?\[]")
T = TypeVar("T")


def in_window(frame: pd.DataFrame, start: Any = None, end: Any = None) -> pd.DataFrame:
    """The rows of ``frame`` whose ``timestamp`` lies in ``[start, end)`` (either bound may
    be None); the frame itself when all do."""
    if start is None and end is None:
        return frame
    ts = frame["timestamp"]
    keep = np.ones(len(frame), dtype=bool)
    if start is not None:
        keep &= (ts >= start).to_numpy()
    if end is not None:
        keep &= (ts < end).to_numpy()
    return frame if keep.all() else frame[keep]


LAST_TIME = pd.Timestamp.max.tz_localize("UTC").floor("D")
"""The last whole day of nanosecond timestamps: an ``end`` beyond it is no bound."""
_PERIOD_TEXT = "an ISO date, month or year, or a date and time: 2024-03-31, 2024-03, 2024 or 2024-03-31 14:30"


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


def whole_rows(value: Any, name: str) -> int:
    """``value`` as a count of rows: a whole number (an int, or a float without a fraction), at least 1."""
    whole = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    if isinstance(value, (float, np.floating)) and np.isfinite(value) and float(value).is_integer():
        whole = True
    if not whole or value < 1:
        raise OrderFlowError(f"{name} must be a whole number of rows, at least 1, not {value!r}")
    return int(value)


def check_symbol(symbol: str, held: Mapping[str, int], source: Any) -> None:
    """Raise :class:`OrderFlowError` unless ``source`` holds ticks of ``symbol``, naming the symbols it
    holds (``held``: rows per symbol). The one check of a ``symbol=`` / ``--symbol`` that picks
    nothing, for files and tick stores alike."""
    if held.get(str(symbol)):
        return
    listed = ", ".join(f"{k} ({v:,} rows)" for k, v in sorted(held.items()) if v)
    if not listed:
        raise OrderFlowError(f"no ticks of symbol {symbol!r}: it holds no ticks", source=source)
    raise OrderFlowError(f"no ticks of symbol {symbol!r}: it holds {listed}; pick one of those with symbol= / --symbol",
                         source=source)


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
    whole_days = (period + 1).start_time - period.start_time >= pd.Timedelta(days=1)
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


class TickSource:
    """A lazy tick source; ``batches()`` yields canonical tick frames in time order.

    Times are kept in ``[start, end)``. ``report`` holds the load report of the last
    read (see the module docstring). ``load()`` reads everything into one frame.
    """

    def __init__(self, kind: str, *, files: Sequence[Path] = (), frame: pd.DataFrame | None = None,
                 store: Any = None, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None,
                 symbol: str | None = None, batch_rows: int = DEFAULT_BATCH_ROWS, allow_overlap: bool = False,
                 options: Mapping[str, Any] | None = None, progress: bool | None = None, name: str = "",
                 skip_bad_files: bool = False, notes: Sequence[str] = ()) -> None:
        self.kind = kind
        self.files = list(files)
        self.frame = frame
        self.store = store
        self.start, self.end, self.symbol = start, end, symbol
        self.batch_rows = whole_rows(batch_rows, "batch_rows")
        self.allow_overlap = allow_overlap
        self.options = dict(options or {})
        self.progress = progress
        self.name = name
        self.skip_bad_files = skip_bad_files
        self.notes = list(notes)
        self.report: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"TickSource({self.kind}: {self.name})"

    # ----------------------------------------------------------------- reading

    @property
    def reads_ahead(self) -> bool:
        """Whether :meth:`array_batches` decodes on a thread of its own (a store's do)."""
        return self.kind == "store"

    def batches(self) -> Iterator[pd.DataFrame]:
        """Canonical tick frames (``batch_rows`` rows or fewer) in time order."""
        if self.kind == "store":
            yield from self.store.batches(self)
        elif self.kind == "frame":
            yield from self._frame_batches()
        else:
            yield from self._file_batches()

    def array_batches(self) -> Iterator[dict[str, np.ndarray]]:
        """The batches of :meth:`batches` as canonical tick arrays (:func:`data.bars.stream.tick_arrays`),
        what :class:`data.bars.stream.BarStream` works on. A store's come straight from Arrow record
        batches, without pandas, decoded by a thread :data:`READ_AHEAD` batches ahead
        (:func:`read_ahead`), so reading overlaps the consumer's work."""
        if self.reads_ahead:
            yield from read_ahead(self.store.array_batches(self), READ_AHEAD)
            return
        from data.bars.stream import tick_arrays  # the stream builds on the sources

        for frame in self.batches():
            yield tick_arrays(frame)

    def load(self) -> pd.DataFrame:
        """All the ticks as one canonical frame, with ``attrs["load_report"]``."""
        parts = list(self.batches())
        if not parts:
            raise OrderFlowError("no ticks in the source" + self._window_text(), source=self.name)
        frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)
        frame.attrs = {"load_report": dict(self.report)}
        return frame

    def fingerprint(self) -> dict[str, Any]:
        """What identifies the data read: each file's path, size and modification time (a
        store's selected partitions), or a hash of a frame's contents; and the selection."""
        if self.kind == "store":
            data: Any = self.store.fingerprint(self)
        elif self.kind == "frame":
            hashed = pd.util.hash_pandas_object(self.frame, index=False).to_numpy()
            data = hashlib.sha256(hashed.tobytes() + str(list(self.frame.columns)).encode()).hexdigest()
        else:
            data = [file_stamp(p) for p in self.files]
        return {"kind": self.kind, "data": data, "start": str(self.start), "end": str(self.end),
                "symbol": self.symbol, "allow_overlap": self.allow_overlap,
                "options": {k: str(v) for k, v in sorted(self.options.items())}}

    def _window_text(self) -> str:
        if self.start is None and self.end is None:
            return ""
        return f" between {self.start or '-'} and {self.end or '-'}"

    def _in_window(self, frame: pd.DataFrame) -> pd.DataFrame:
        return in_window(frame, self.start, self.end)

    def _split(self, frame: pd.DataFrame) -> Iterator[pd.DataFrame]:
        for i in range(0, len(frame), self.batch_rows):
            yield frame.iloc[i:i + self.batch_rows]

    def _frame_batches(self) -> Iterator[pd.DataFrame]:
        from data.reading.loader import load_ticks

        ticks = self.frame
        if "load_report" not in ticks.attrs or "price" not in ticks.columns:
            ticks = load_ticks(ticks, **self.options)
        report = dict(ticks.attrs.get("load_report") or {})
        ticks = self._in_window(ticks)
        report["rows_in_window"] = len(ticks)
        self.report = report
        yield from self._split(ticks)

    def _file_batches(self) -> Iterator[pd.DataFrame]:
        """Each file in name order; a file overlapping the previous one is merged with the
        previous file's rows not yet passed on (see the module docstring)."""
        files_report: list[dict[str, Any]] = []
        overlaps: list[dict[str, Any]] = []
        failed: dict[str, str] = {}
        self.report = report = {"source": self.name, "format": "files", "files": files_report, "overlaps": overlaps,
                                "failed": failed, "symbol": self.symbol}
        if self.notes:
            report["notes"] = list(self.notes)
        symbols: dict[str, str] = {}  # symbol -> first file carrying it (when no symbol= was given)
        held: pd.DataFrame | None = None
        held_from: Path | None = None
        passed: pd.Timestamp | None = None  # the last time passed on
        previous_ids: np.ndarray | None = None
        with progress_bar(len(self.files), desc="reading files", unit="files", progress=self.progress) as bar:
            for path in self.files:
                try:
                    frame, ids, file_report = read_tick_file(path, symbol=self.symbol, seen_ids=previous_ids,
                                                             **self.options)
                except (OrderFlowError, OSError, pa.ArrowException) as err:
                    if not self.skip_bad_files:
                        raise
                    failed[str(path)] = str(err)
                    bar.update(1)
                    continue
                previous_ids = ids
                if self.symbol is None and file_report.get("symbol") is not None:
                    symbols.setdefault(file_report["symbol"], str(path))
                    if len(symbols) > 1:
                        listed = ", ".join(f"{k} (first in {v})" for k, v in symbols.items())
                        raise OrderFlowError(f"the files hold several symbols: {listed}; pick one with symbol= / "
                                             "--symbol", source=path)
                    report["symbol"] = file_report["symbol"]
                frame = self._in_window(frame)
                file_report["rows_in_window"] = len(frame)
                files_report.append(file_report)
                bar.update(1)
                if len(frame) == 0:
                    continue
                if held is None or len(held) == 0:
                    held, held_from = frame, path
                    continue
                first, last = frame["timestamp"].iloc[0], held["timestamp"].iloc[-1]
                if first >= last:
                    yield from self._split(held)
                    passed = last
                    held, held_from = frame, path
                    continue
                overlap = {"files": [str(held_from), str(path)], "from": str(first), "to": str(last),
                           "ids": ids is not None}
                overlaps.append(overlap)
                if ids is None and not self.allow_overlap:
                    raise OrderFlowError(
                        f"{path.name} ({first} .. {frame['timestamp'].iloc[-1]}) overlaps {held_from.name} "
                        f"(up to {last}) from {first} to {last}, and its trades carry no trade ids to drop "
                        "duplicates by: remove one of the files, or pass allow_overlap=True / --allow-overlap "
                        "to keep the rows of both", source=path)
                if passed is not None and first < passed:
                    raise OrderFlowError(
                        f"starts at {first}, before ticks already read up to {passed}: the files are not in "
                        "time order by name (name them so that they sort in time order)", source=path)
                early = (held["timestamp"] < first).to_numpy()
                yield from self._split(held[early])
                if early.any():
                    passed = held["timestamp"][early].iloc[-1]
                merged = pd.concat([held[~early], frame], ignore_index=True)
                order = np.argsort(merged["timestamp"].to_numpy(), kind="stable")
                held, held_from = merged.iloc[order].reset_index(drop=True), path
        report["rows_read"] = sum(f["rows_read"] for f in files_report)
        if self.symbol is not None and files_report and report["rows_read"] == 0:  # the symbol picked nothing
            held_rows: dict[str, int] = {}
            for f in files_report:
                for name, rows in (f.get("symbols") or {}).items():
                    held_rows[name] = held_rows.get(name, 0) + rows
            check_symbol(self.symbol, held_rows, self.name)
        if held is not None and len(held):
            yield from self._split(held)
        report["rows_kept"] = sum(f["rows_in_window"] for f in files_report)
        report["rejected"] = rejected = {}
        for f in files_report:
            for reason, count in f["rejected"].items():
                rejected[reason] = rejected.get(reason, 0) + count
        report["unknown_side"] = sum(f.get("unknown_side", 0) for f in files_report)
        report["reordered"] = sum(f.get("reordered", 0) for f in files_report)


def file_stamp(path: str | Path) -> list[Any]:
    """What identifies a file's contents in a cache key: its resolved path, size and modification time."""
    path = Path(path)
    stat = path.stat()
    return [str(path.resolve()), stat.st_size, stat.st_mtime_ns]


def read_ahead(items: Iterable[T], depth: int = READ_AHEAD) -> Iterator[T]:
    """The items of ``items`` in order, produced by a background thread at most ``depth``
    items ahead of the consumer (a bounded queue: memory holds ``depth + 2`` items), so
    that producing them (Parquet decoding, which releases the GIL) runs on another core
    while the consumer works. An exception in the thread is raised here, at its place in
    the sequence; closing the iterator early stops the thread."""
    slots: queue.Queue = queue.Queue(maxsize=max(int(depth), 1))
    stop = threading.Event()
    done = object()

    def put(entry: tuple[bool, Any]) -> bool:
        while not stop.is_set():
            try:
                slots.put(entry, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        iterator = iter(items)
        try:
            for item in iterator:
                if not put((True, item)):
                    return
            put((True, done))
        except BaseException as err:  # handed to the consumer, raised there
            put((False, err))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="orderflow-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            ok, item = slots.get()
            if not ok:
                raise item
            if item is done:
                return
            yield item
    finally:
        stop.set()
        thread.join()


def read_tick_file(
    path: Path,
    *,
    symbol: str | None = None,
    seen_ids: np.ndarray | None = None,
    columns: Mapping[str, str] | None = None,
    format: str | None = None,
    tz: str | None = None,
    on_bad_rows: str = "raise",
) -> tuple[pd.DataFrame, np.ndarray | None, dict[str, Any]]:
    """One file as canonical ticks, like :func:`data.load_ticks`, plus what a many-file
    source needs: its rows of ``symbol`` only (a file with several symbols and no
    ``symbol`` raises, listing them with their row counts), rows whose trade id is in
    ``seen_ids`` rejected as ``duplicate_across_files``. Returns ``(ticks, the file's
    trade ids or None, its load report)``; the report's ``symbols`` counts the rows of each
    symbol of the file's symbol column (None without one)."""
    path = Path(path)
    check_file(path)
    if path.stat().st_size == 0:
        raise OrderFlowError("empty file (no rows)", source=path)
    fmt = format_for(path, format)
    mapping = dict(columns=columns, defaults=fmt.columns)
    extras: dict[Any, str] = {}

    def pick(names: Sequence[Any]) -> dict[Any, str]:
        used = resolve_columns(names, **mapping, source=path)
        for name in names:
            key = column_key(name)
            if name not in used and (key in ID_KEYS or key in SYMBOL_KEYS):
                extras.setdefault(name, "symbol" if key in SYMBOL_KEYS else "id")
        return {**used, **extras}

    raw = fmt.read(path, pick)
    result = raw if isinstance(raw, ReadResult) else ReadResult(raw)
    frame, rejects = result.frame, dict(result.rejects)
    symbol_column = _first_column(frame, SYMBOL_KEYS, extras)
    id_column = _first_column(frame, ID_KEYS, extras)
    file_symbol = symbol
    held: dict[str, int] | None = None  # the file's symbols and their rows
    if symbol_column is not None:
        symbols = frame[symbol_column].astype("string")
        counts = symbols.value_counts(dropna=False)
        held = {str(k): int(v) for k, v in counts.items()}
        if symbol is None:
            if len(counts) > 1:
                listed = ", ".join(f"{k} ({v:,} rows)" for k, v in counts.items())
                raise OrderFlowError(f"the file holds {len(counts)} symbols: {listed}; pick one with symbol= / "
                                     "--symbol", source=path, column=str(symbol_column))
            file_symbol = str(counts.index[0]) if len(counts) else None
        else:
            mine = (symbols == str(symbol)).to_numpy(dtype=bool, na_value=False)
            if not mine.any():  # what the file holds instead, for the source's error (check_symbol)
                held = {str(k): int(v) for k, v in symbols.value_counts().items()}
            if not mine.all():
                frame = frame[mine].reset_index(drop=True)
                rejects = {k: np.asarray(v)[mine] for k, v in rejects.items()}
    ids = None
    if id_column is not None and len(frame):
        ids = frame[id_column].to_numpy()
        if seen_ids is not None:
            duplicate = np.isin(ids, seen_ids)
            if duplicate.any():
                rejects["duplicate_across_files"] = duplicate
    drop = [c for c in (symbol_column, id_column) if c is not None]
    if len(frame) == 0 or (rejects and np.logical_or.reduce([np.asarray(m, bool) for m in rejects.values()]).all()):
        # nothing of this symbol, or every row rejected by the format or as a duplicate: an empty part
        empty = pd.DataFrame({"timestamp": pd.DatetimeIndex([], tz="UTC"), "price": np.zeros(0),
                              "size": np.zeros(0), "side": np.zeros(0, np.int8)})
        counts = {k: int(np.count_nonzero(v)) for k, v in rejects.items() if np.any(v)} if len(frame) else {}
        return empty, ids, {"source": str(path), "format": fmt.name, "rows_read": len(frame), "rows_kept": 0,
                            "rejected": counts, "symbol": file_symbol, "symbols": held,
                            "notes": [] if len(frame) else [f"no rows of symbol {symbol!r}"]}
    notes = list(result.notes)
    if result.zoneless and tz is None:
        notes.append(f"{fmt.name} times carry no zone: read as UTC (pass tz= / --tz to change)")
    ticks = normalise_ticks(frame.drop(columns=drop), **mapping, source=path, format=fmt.name, copy=False,
                            rejects=rejects, notes=notes, tz=tz, on_bad_rows=on_bad_rows)
    report = dict(ticks.attrs["load_report"])
    report["symbol"] = file_symbol
    report["symbols"] = held
    return ticks, ids, report


def _first_column(frame: pd.DataFrame, keys: Sequence[str], extras: Mapping[Any, str]) -> Any:
    for name in frame.columns:
        if name in extras and column_key(name) in keys:
            return name
    return None


def source_files(source: str | Path | Sequence[str | Path], notes: list[str] | None = None) -> list[Path]:
    """The files of a folder (the files directly in it, in name order, except hidden ones and
    those whose names start with ``_``), a glob (matches in name order) or a list (as given;
    each must exist). What a folder skips besides hidden entries (``_`` files, subfolders) is
    said in a note appended to ``notes`` (the load report's), or in the error when it holds
    nothing else."""
    if isinstance(source, (list, tuple)):
        files = [Path(s) for s in source]
        for f in files:
            check_file(f)
        if not files:
            raise OrderFlowError("empty list of tick files")
        return files
    path = Path(source)
    if path.is_dir():
        entries = [p for p in sorted(path.iterdir()) if not p.name.startswith(".")]
        files = [p for p in entries if p.is_file() and not p.name.startswith("_")]
        skipped = _skipped([p.name for p in entries if p.is_file() and p.name.startswith("_")],
                           [p.name for p in entries if p.is_dir()])
        rule = "a folder source reads the files directly in it, except hidden ones and those whose names start with '_'"
        if not files:
            raise OrderFlowError(f"folder holds no files to read; skipped {skipped}: {rule}" if skipped
                                 else "folder holds no files", source=path)
        if skipped and notes is not None:
            notes.append(f"skipped in {path}: {skipped}: {rule}")
        return files
    if _GLOB.search(str(source)):
        files = sorted(Path(p) for p in globbing.glob(str(source)) if Path(p).is_file())
        if not files:
            raise OrderFlowError("no file matches the pattern", source=source)
        return files
    if not path.exists():
        raise OrderFlowError("file not found", source=path)
    return [path]


def _skipped(files: Sequence[str], folders: Sequence[str], shown: int = 5) -> str:
    """``1 file whose name starts with '_' (_old.csv) and 2 subfolders (a, b)``: the first ``shown`` names of each."""
    def names(items: Sequence[str]) -> str:
        return ", ".join(items[:shown]) + (f" and {len(items) - shown:,} more" if len(items) > shown else "")

    parts = []
    if files:
        parts.append(f"1 file whose name starts with '_' ({names(files)})" if len(files) == 1
                     else f"{len(files):,} files whose names start with '_' ({names(files)})")
    if folders:
        parts.append(f"{len(folders):,} subfolder{'s' if len(folders) > 1 else ''} ({names(folders)})")
    return " and ".join(parts)


def is_many(source: Any) -> bool:
    """True for a source :func:`data.load_ticks` reads through :func:`scan_ticks`: a list of files,
    a folder, a glob, a store or a :class:`TickSource`."""
    if isinstance(source, (TickSource, list, tuple)):
        return True
    if isinstance(source, (str, Path)):
        return Path(source).is_dir() or (not Path(source).exists() and bool(_GLOB.search(str(source))))
    return False


def scan_ticks(
    source: "str | Path | Sequence[str | Path] | pd.DataFrame | TickSource",
    *,
    start: Any = None,
    end: Any = None,
    symbol: str | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    allow_overlap: bool = False,
    progress: bool | None = None,
    columns: Mapping[str, str] | None = None,
    format: str | None = None,
    tz: str | None = None,
    on_bad_rows: str = "raise",
) -> TickSource:
    """A lazy tick source over a file, folder, glob, list of files, tick store
    (:mod:`data.store.dataset`) or DataFrame: ``batches()`` yields canonical tick frames of at
    most ``batch_rows`` rows (a whole number, at least 1) in time order, with times from ``start``
    to ``end`` (:func:`utc_time`: ``end="2024-03"`` keeps all of March), of ``symbol`` only (a
    symbol the source does not hold is an error naming those it holds). ``make_bars`` streams from it.
    ``columns``/``format``/``tz``/``on_bad_rows`` go to the loader for each file."""
    start_ts, end_ts = utc_time(start, "start"), utc_time(end, "end", end=True)
    common = dict(start=start_ts, end=end_ts, symbol=symbol, batch_rows=batch_rows, allow_overlap=allow_overlap,
                  progress=progress, options=dict(columns=columns, format=format, tz=tz, on_bad_rows=on_bad_rows))
    if isinstance(source, TickSource):
        return source
    if isinstance(source, pd.DataFrame):
        options = {k: v for k, v in common["options"].items() if k != "format"}
        return TickSource("frame", frame=source, name="<DataFrame>", **{**common, "options": options})
    from data.store.dataset import TickStore  # the store reads through this module

    if isinstance(source, (str, Path)) and TickStore.is_store(source):
        return TickSource("store", store=TickStore(source), name=str(source), **common)
    notes: list[str] = []
    files = source_files(source, notes)
    name = str(source) if isinstance(source, (str, Path)) else f"{len(files)} files"
    return TickSource("files", files=files, name=name, notes=notes, **common)
