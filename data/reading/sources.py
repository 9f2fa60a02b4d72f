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

A tick store (:mod:`data.store.dataset`) is read through the reader it registers here
(:func:`register_store`): the store imports this module to read files into it, so this
module does not import the store.
"""
from __future__ import annotations

import hashlib
import queue
import re
import threading
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa

from data.errors import OrderFlowError
from data.options import LoadOptions
from data.reading.loader import ReadResult, check_file, column_key, format_for, load_ticks, normalise_ticks, resolve_columns
from data.reading.progress import progress_bar
from data.storage import AnyPath, S3Path, as_path, glob_paths, is_remote, local_copy
from data.ticks import tick_arrays

DEFAULT_BATCH_ROWS = 1 << 20
# raw column names (compared lower-case without spaces, "_" and "-") of trade ids and instruments
ID_KEYS = ("id", "tradeid", "aggtradeid", "sequence", "seq", "sequencenumber", "tradeseq")
SYMBOL_KEYS = ("symbol", "instrumentid", "instrument", "ticker", "rawsymbol")
READ_AHEAD = 2  # batches a store's reader thread decodes ahead of the consumer
_GLOB = re.compile(r"[*?\[]")
T = TypeVar("T")
# path -> a store reader (see TickSource: batches, array_batches, fingerprint), or None when the
# path is no store; registered by data.store.dataset (register_store)
_STORE_OPENERS: list[Callable[[AnyPath], Any]] = []


# builds the TickSource of a continuous contract (scan_ticks with continuous=ROOT); registered by
# data.reading.continuous, which reads the store and the files through this module
_CONTINUOUS: list[Callable[..., Any]] = []


def register_continuous(build: Callable[..., Any]) -> None:
    """Let :func:`scan_ticks` read a continuous contract: ``build(source, options, batch_rows)``
    returns its :class:`TickSource` (:func:`data.reading.continuous.continuous_source`)."""
    _CONTINUOUS[:] = [build]


def register_store(open_store: Callable[[AnyPath], Any]) -> None:
    """Let :func:`scan_ticks` read a kind of store: ``open_store(path)`` returns a reader of the
    store at ``path`` (with ``batches(scan)``, ``array_batches(scan)`` and ``fingerprint(scan)``
    for a :class:`TickSource` ``scan``), or None when ``path`` is not such a store."""
    if open_store not in _STORE_OPENERS:
        _STORE_OPENERS.append(open_store)


def open_store(path: str | AnyPath) -> Any:
    """The registered reader of the store at ``path`` (local or ``s3://``), or None when it is no store."""
    return next((store for store in (opener(as_path(path)) for opener in _STORE_OPENERS) if store is not None), None)


def source_store(source: Any) -> Any:
    """The store reader of ``source`` when it is a path (text, :class:`~pathlib.Path` or
    :class:`~data.storage.S3Path`) of a tick store, else None (files, a list, a DataFrame): the
    one choice between a store and files, made so for :func:`scan_ticks` and a continuous contract."""
    return open_store(source) if isinstance(source, (str, Path, S3Path)) else None


def source_name(source: Any, files: Sequence[Any] = ()) -> str:
    """How the load report names a source: its path, or ``N files`` for a list."""
    return str(source) if isinstance(source, (str, Path, S3Path)) else f"{len(files)} files"


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


def whole_rows(value: Any, name: str) -> int:
    """``value`` as a count of rows: a whole number (an int, or a float without a fraction), at least 1."""
    whole = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    if isinstance(value, (float, np.floating)) and np.isfinite(value) and float(value).is_integer():
        whole = True
    if not whole or value < 1:
        raise OrderFlowError(f"{name} must be a whole number of rows, at least 1, not {value!r}")
    return int(value)


def listed_symbols(held: Mapping[str, int]) -> str:
    """``{"ESH4": 10, ...}`` as errors list them: ``ESH4 (10 rows), ...`` (symbols without rows left out)."""
    return ", ".join(f"{k} ({v:,} rows)" for k, v in held.items() if v)


def summed_symbols(reports: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """The rows per symbol of several files, from their load reports' ``symbols``."""
    held: dict[str, int] = {}
    for report in reports:
        for name, rows in (report.get("symbols") or {}).items():
            held[name] = held.get(name, 0) + rows
    return held


def check_symbol(symbol: str, held: Mapping[str, int], source: Any) -> None:
    """Raise :class:`OrderFlowError` unless ``source`` holds ticks of ``symbol``, naming the symbols it
    holds (``held``: rows per symbol). The one check of a ``symbol=`` / ``--symbol`` that picks
    nothing, for files and tick stores alike."""
    if held.get(str(symbol)):
        return
    listed = listed_symbols(dict(sorted(held.items())))
    if not listed:
        raise OrderFlowError(f"no ticks of symbol {symbol!r}: it holds no ticks", source=source)
    raise OrderFlowError(f"no ticks of symbol {symbol!r}: it holds {listed}; pick one of those with symbol= / --symbol",
                         source=source)








class TickSource:
    """A lazy tick source; ``batches()`` yields canonical tick frames in time order.

    ``options`` (:class:`data.options.LoadOptions`) say how each file is read and which
    ticks are kept: times in ``[start, end)``, of ``symbol``. ``report`` holds the load
    report of the last read (see the module docstring). ``load()`` reads everything into
    one frame.
    """

    def __init__(self, kind: str, *, files: Sequence[AnyPath] = (), frame: pd.DataFrame | None = None,
                 store: Any = None, options: LoadOptions | None = None, batch_rows: int = DEFAULT_BATCH_ROWS,
                 name: str = "", skip_bad_files: bool = False, notes: Sequence[str] = ()) -> None:
        self.kind = kind
        self.files = list(files)
        self.frame = frame
        self.store = store
        self.options = LoadOptions.of(options)
        self.batch_rows = whole_rows(batch_rows, "batch_rows")
        self.name = name
        self.skip_bad_files = skip_bad_files
        self.notes = list(notes)
        self.report: dict[str, Any] = {}

    @property
    def start(self) -> pd.Timestamp | None:
        return self.options.start

    @property
    def end(self) -> pd.Timestamp | None:
        return self.options.end

    @property
    def symbol(self) -> str | None:
        return self.options.symbol

    @property
    def allow_overlap(self) -> bool:
        return self.options.allow_overlap

    @property
    def progress(self) -> bool | None:
        return self.options.progress

    def __repr__(self) -> str:
        return f"TickSource({self.kind}: {self.name})"

    # ----------------------------------------------------------------- reading

    @property
    def reads_ahead(self) -> bool:
        """Whether :meth:`array_batches` decodes on a thread of its own (a store's do, and a
        continuous contract's of a store)."""
        return self.kind == "store" or (self.kind == "continuous" and self.store.reads_ahead)

    def batches(self) -> Iterator[pd.DataFrame]:
        """Canonical tick frames (``batch_rows`` rows or fewer) in time order."""
        if self.kind in ("store", "continuous"):
            yield from self.store.batches(self)
        elif self.kind == "frame":
            yield from self._frame_batches()
        else:
            yield from self._file_batches()

    def array_batches(self) -> Iterator[dict[str, np.ndarray]]:
        """The batches of :meth:`batches` as canonical tick arrays (:func:`data.ticks.tick_arrays`),
        what :class:`data.bars.stream.BarStream` works on. A store's come straight from Arrow record
        batches, without pandas, decoded by a thread :data:`READ_AHEAD` batches ahead
        (:func:`read_ahead`), so reading overlaps the consumer's work."""
        if self.kind == "continuous":  # its parts' own array batches (a store's read ahead)
            yield from self.store.array_batches(self)
            return
        if self.reads_ahead:
            yield from read_ahead(self.store.array_batches(self), READ_AHEAD)
            return
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
        if self.kind in ("store", "continuous"):
            data: Any = self.store.fingerprint(self)
        elif self.kind == "frame":
            hashed = pd.util.hash_pandas_object(self.frame, index=False).to_numpy()
            data = hashlib.sha256(hashed.tobytes() + str(list(self.frame.columns)).encode()).hexdigest()
        else:
            data = [file_stamp(p) for p in self.files]
        return {"kind": self.kind, "data": data, "options": self.options.key()}

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
        ticks = self.frame
        if "load_report" not in ticks.attrs or "price" not in ticks.columns:
            ticks = load_ticks(ticks, options=self.options)
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
        held_from: AnyPath | None = None
        passed: pd.Timestamp | None = None  # the last time passed on
        previous_ids: np.ndarray | None = None
        with progress_bar(len(self.files), desc="reading files", unit="files", progress=self.progress) as bar:
            for path in self.files:
                try:
                    frame, ids, file_report = read_tick_file(path, self.options, seen_ids=previous_ids)
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
            check_symbol(self.symbol, summed_symbols(files_report), self.name)
        if held is not None and len(held):
            yield from self._split(held)
        report["rows_kept"] = sum(f["rows_in_window"] for f in files_report)
        report["rejected"] = rejected = {}
        for f in files_report:
            for reason, count in f["rejected"].items():
                rejected[reason] = rejected.get(reason, 0) + count
        report["unknown_side"] = sum(f.get("unknown_side", 0) for f in files_report)
        report["reordered"] = sum(f.get("reordered", 0) for f in files_report)


def file_stamp(path: str | AnyPath) -> list[Any]:
    """What identifies a file's contents in a cache key: its resolved path, size and modification time
    (an S3 object's: its URI and endpoint, size and last modification, to the second)."""
    path = as_path(path)
    stat = path.stat()
    stamp = [str(path.resolve()), stat.st_size, stat.st_mtime_ns]
    return stamp + [path.endpoint] if isinstance(path, S3Path) and path.endpoint else stamp


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
    path: AnyPath,
    options: LoadOptions | None = None,
    *,
    seen_ids: np.ndarray | None = None,
) -> tuple[pd.DataFrame, np.ndarray | None, dict[str, Any]]:
    """One file as canonical ticks, like :func:`data.load_ticks` (``options``' ``columns``,
    ``format``, ``tz``, ``on_bad_rows``), plus what a many-file source needs: its rows of
    ``options.symbol`` only (a file with several symbols and no ``symbol`` raises, listing
    them with their row counts), rows whose trade id is in ``seen_ids`` rejected as
    ``duplicate_across_files``. Returns ``(ticks, the file's trade ids or None, its load
    report)``; the report's ``symbols`` gives rows per symbol of the file's symbol column (None
    without one): the rows of ``options.symbol`` when the file holds it, else of every symbol
    it holds (what :func:`check_symbol`'s error lists; the column is counted only then). The
    time window is the caller's. A file on S3 is read from a
    local copy (:func:`data.storage.local_copy`), named by its URI in errors and the report."""
    if is_remote(path):
        remote = as_path(path)
        with local_copy(remote) as local:
            ticks, ids, report = read_tick_file(local, options, seen_ids=seen_ids)
        report["source"] = str(remote)
        if "load_report" in ticks.attrs:
            ticks.attrs["load_report"]["source"] = str(remote)
        return ticks, ids, report
    options = LoadOptions.of(options)
    return _symbol_ticks(_RawFile.read(path, options), options.symbol, options, seen_ids)


def read_symbols(path: Path, options: LoadOptions | None = None) -> list[tuple[str | None, pd.DataFrame, dict[str, Any]]]:
    """Each symbol's ticks of one file, the file read once: ``(symbol, ticks, load report)`` per
    symbol of its symbol column (``options.symbol`` is not used), in the order of their first
    rows; one ``(None, ticks, report)`` for a file without a symbol column. As
    :func:`read_tick_file` reads each (for a source of several instruments, such as futures
    contracts of one root)."""
    options = LoadOptions.of(options)
    raw = _RawFile.read(path, options)
    if raw.symbol_column is None:
        ticks, _, report = _symbol_ticks(raw, None, options, None)
        return [(None, ticks, report)]
    names = pd.unique(raw.frame[raw.symbol_column].astype("string").dropna().to_numpy(dtype=object))
    parts = []
    for name in names:
        ticks, _, report = _symbol_ticks(raw, str(name), options, None)
        parts.append((str(name), ticks, report))
    return parts


def frame_symbols(frame: pd.DataFrame, options: LoadOptions | None = None
                  ) -> list[tuple[str | None, pd.DataFrame, dict[str, Any]]]:
    """Each symbol's ticks of a DataFrame, as :func:`read_symbols` gives a file's: ``(symbol, canonical
    ticks, load report)`` per symbol of its symbol column (a column named like ``symbol``,
    :data:`SYMBOL_KEYS`), in the order of their first rows; one ``(None, ticks, report)`` without one."""
    options = LoadOptions.of(options)
    column = next((c for c in frame.columns if column_key(c) in SYMBOL_KEYS), None)
    reading = dict(columns=options.columns, tz=options.tz, on_bad_rows=options.on_bad_rows)
    if column is None:
        ticks = load_ticks(frame, **reading)
        return [(None, ticks, ticks.attrs["load_report"])]
    symbols = frame[column].astype("string")
    parts = []
    for name in pd.unique(symbols.dropna().to_numpy(dtype=object)):
        mine = (symbols == name).to_numpy(dtype=bool, na_value=False)
        ticks = load_ticks(frame.loc[mine].drop(columns=column), **reading)
        parts.append((str(name), ticks, ticks.attrs["load_report"]))
    return parts


class _RawFile:
    """A file read by its format, before its rows become canonical ticks: the frame, the
    format's rejected rows and notes, and its symbol and trade id columns, if any."""

    def __init__(self, path: Path, fmt: Any, mapping: dict[str, Any], result: ReadResult, extras: dict[Any, str]):
        self.path, self.fmt, self.mapping = path, fmt, mapping
        self.frame, self.rejects, self.notes, self.zoneless = result.frame, dict(result.rejects), result.notes, \
            result.zoneless
        self.symbol_column = _first_column(self.frame, SYMBOL_KEYS, extras)
        self.id_column = _first_column(self.frame, ID_KEYS, extras)

    @classmethod
    def read(cls, path: Path, options: LoadOptions) -> "_RawFile":
        path = Path(path)
        check_file(path)
        if path.stat().st_size == 0:
            raise OrderFlowError("empty file (no rows)", source=path)
        fmt = format_for(path, options.format)
        mapping = dict(columns=options.columns, defaults=fmt.columns)
        extras: dict[Any, str] = {}

        def pick(names: Sequence[Any]) -> dict[Any, str]:
            used = resolve_columns(names, **mapping, source=path)
            for name in names:
                key = column_key(name)
                if name not in used and (key in ID_KEYS or key in SYMBOL_KEYS):
                    extras.setdefault(name, "symbol" if key in SYMBOL_KEYS else "id")
            return {**used, **extras}

        raw = fmt.read(path, pick)
        return cls(path, fmt, mapping, raw if isinstance(raw, ReadResult) else ReadResult(raw), extras)


def _symbol_ticks(raw: _RawFile, symbol: str | None, options: LoadOptions, seen_ids: np.ndarray | None
                  ) -> tuple[pd.DataFrame, np.ndarray | None, dict[str, Any]]:
    """:func:`read_tick_file`'s result from a file read by its format: the rows of ``symbol``."""
    path, fmt, mapping = raw.path, raw.fmt, raw.mapping
    frame, rejects = raw.frame, dict(raw.rejects)
    symbol_column, id_column = raw.symbol_column, raw.id_column
    file_symbol = symbol
    held: dict[str, int] | None = None  # the file's symbols and their rows (all counted only for an error)
    if symbol_column is not None:
        symbols = frame[symbol_column].astype("string")
        if symbol is None:
            first = symbols.iloc[0] if len(symbols) else None
            if first is pd.NA or not (symbols == first).all():  # several symbols (or a missing one): say which
                counts = symbols.value_counts(dropna=False)
                held = {str(k): int(v) for k, v in counts.items()}
                raise OrderFlowError(f"the file holds {len(counts)} symbols: {listed_symbols(held)}; pick one with symbol= / "
                                     "--symbol", source=path, column=str(symbol_column))
            file_symbol = None if first is None else str(first)
            held = {} if first is None else {file_symbol: len(symbols)}
        else:
            mine = (symbols == str(symbol)).to_numpy(dtype=bool, na_value=False)
            held = {str(symbol): int(np.count_nonzero(mine))}
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
    notes = list(raw.notes)
    if raw.zoneless and options.tz is None:
        notes.append(f"{fmt.name} times carry no zone: read as UTC (pass tz= / --tz to change)")
    ticks = normalise_ticks(frame.drop(columns=drop), **mapping, source=path, format=fmt.name, copy=False,
                            rejects=rejects, notes=notes, tz=options.tz, on_bad_rows=options.on_bad_rows)
    report = dict(ticks.attrs["load_report"])
    report["symbol"] = file_symbol
    report["symbols"] = held
    return ticks, ids, report


def _first_column(frame: pd.DataFrame, keys: Sequence[str], extras: Mapping[Any, str]) -> Any:
    for name in frame.columns:
        if name in extras and column_key(name) in keys:
            return name
    return None


def source_files(source: str | AnyPath | Sequence[str | AnyPath], notes: list[str] | None = None) -> list[AnyPath]:
    """The files of a folder (the files directly in it, in name order, except hidden ones and
    those whose names start with ``_``), a glob (matches in name order) or a list (as given;
    each must exist). What a folder skips besides hidden entries (``_`` files, subfolders) is
    said in a note appended to ``notes`` (the load report's), or in the error when it holds
    nothing else. Local or on S3 (``s3://bucket/prefix/``, :mod:`data.storage`): the same rules."""
    if isinstance(source, (list, tuple)):
        files = [as_path(s) for s in source]
        for f in files:
            check_file(f)
        if not files:
            raise OrderFlowError("empty list of tick files")
        return files
    path = as_path(source)
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
        files = [p for p in glob_paths(str(source)) if p.is_file()]
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
    if isinstance(source, (str, Path, S3Path)):
        path = as_path(source)
        return path.is_dir() or (not path.exists() and bool(_GLOB.search(str(source))))
    return False


def scan_ticks(
    source: "str | Path | Sequence[str | Path] | pd.DataFrame | TickSource",
    *,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    options: LoadOptions | None = None,
    **keywords: Any,
) -> TickSource:
    """A lazy tick source over a file, folder, glob, list of files, tick store
    (:mod:`data.store.dataset`) or DataFrame: ``batches()`` yields canonical tick frames of at
    most ``batch_rows`` rows (a whole number, at least 1) in time order. ``options``
    (:class:`data.options.LoadOptions`, or its fields as keywords): times in ``[start, end)``
    (a date-only ``end`` includes that day), of ``symbol`` only (a symbol the source does not
    hold is an error naming those it holds), each file read with ``columns``/``format``/``tz``/
    ``on_bad_rows``. ``continuous="ES"`` (with ``roll``, ``adjust``, ``expiry``) reads the contracts
    of a root in a store or files as one series across the rolls (:mod:`data.reading.continuous`).
    ``make_bars`` streams from it. A :class:`TickSource` is returned as it is."""
    options = LoadOptions.of(options, **keywords)
    if isinstance(source, TickSource):
        return source
    if options.continuous is not None:
        return _CONTINUOUS[0](source, options, batch_rows)
    common = dict(batch_rows=batch_rows, options=options)
    if isinstance(source, pd.DataFrame):
        return TickSource("frame", frame=source, name="<DataFrame>", **common)
    store = source_store(source)
    if store is not None:
        return TickSource("store", store=store, name=source_name(source), **common)
    notes: list[str] = []
    files = source_files(source, notes)
    return TickSource("files", files=files, name=source_name(source, files), notes=notes, **common)
