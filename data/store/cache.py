"""A bar cache: bars built from a tick source, saved as Parquet and keyed by the data
and by every setting that changes a bar, so that a later run loads them instead of the ticks.

The key is a SHA-256 of: the source's fingerprint (each file's path, size and
modification time, or a store's selected day files with theirs, or a hash of a
DataFrame; and its load options, :meth:`data.options.LoadOptions.key`), the bar spec,
the bar options (:meth:`data.options.BarOptions.key`: every setting that changes a bar),
the caller's ``settings`` (classifier, quotes ... whatever else it applies to the ticks),
the project version and :data:`CACHE_FORMAT`. Any change of these builds the bars again.

An entry is written beside its final name under a hidden name and renamed (atomic), so
a reader never sees half of one; an entry that does not read back whole, or whose
stored key differs, is a miss and is rebuilt. The cache may be on S3 (``s3://bucket/prefix``,
:mod:`data.storage`): an entry is then uploaded once at its key, whole.

Asked for (``footprint_table=True``), the bars' footprint table is kept beside the bars' entry
in ``<key>.footprint.parquet`` (its cells: bar time, level, volumes and trade counts; the tick
size in its metadata), made in the same pass as the bars. An entry without it (written without
the table, or by an older version) is a miss for a caller that asks for it, and both are rebuilt.
"""
from __future__ import annotations

import hashlib
import json
import os
import uuid
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Mapping

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from data.bars.footprint import TABLE_CELLS, cells_table, price_levels
from data.bars.spec import BarSpec, parse_bar_spec
from data.bars.stream import bars_from_source
from data.errors import OrderFlowError
from data.options import BarOptions, LoadOptions, split_keywords
from data.reading.sources import TickSource, scan_ticks
from data.storage import AnyPath, as_path, aside_for, open_input, publish
from data.ticks import timestamps_ns

CACHE_FORMAT = 2  # 2: depth_imbalance_5/_10 lines
CACHE_ENV = "ORDERFLOW_CACHE_DIR"
_META = b"orderflow_bars"


def default_cache_dir() -> AnyPath:
    """``$ORDERFLOW_CACHE_DIR`` (a folder or ``s3://bucket/prefix``), else ``$XDG_CACHE_HOME/orderflow-bt/bars``
    (``~/.cache/...``)."""
    if os.environ.get(CACHE_ENV):
        return as_path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "orderflow-bt" / "bars"


def cache_folder(cache_dir: str | AnyPath | None) -> AnyPath:
    """The bar cache folder (``cache_dir``, else :func:`default_cache_dir`), made if missing, or
    OrderFlowError naming it when it is a file, lies below a file or cannot be written (on S3,
    where folders are key prefixes, a write that fails says so when the entry is written)."""
    folder = as_path(cache_dir) if cache_dir is not None else default_cache_dir()
    if not isinstance(folder, Path):
        return folder
    problem = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        problem = "a file is in the way" if isinstance(exc, (FileExistsError, NotADirectoryError)) else exc.strerror
    if problem is None and not os.access(folder, os.W_OK | os.X_OK):
        problem = "it is read-only"
    if problem is not None:
        raise OrderFlowError(f"cannot use this folder for the bar cache ({problem}); give another --cache-dir "
                             f"(or ${CACHE_ENV}), or run with --no-cache", source=folder)
    return folder


def project_version() -> str:
    try:
        return metadata.version("orderflow-bt")
    except metadata.PackageNotFoundError:
        return "unknown"


def cache_key(source: TickSource, spec: "BarSpec | str | None", settings: Mapping[str, Any]) -> str:
    """The entry's key (hex): a hash of the source's fingerprint, the spec and the settings."""
    document = {"format": CACHE_FORMAT, "version": project_version(), "spec": parse_bar_spec(spec).text,
                "source": source.fingerprint(), "settings": dict(settings)}
    text = json.dumps(document, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def cached_bars(
    source: Any,
    spec: "BarSpec | str | None" = "1min",
    *,
    cache_dir: str | AnyPath | None = None,
    use_cache: bool = True,
    settings: Mapping[str, Any] | None = None,
    load_options: LoadOptions | None = None,
    bar_options: BarOptions | None = None,
    footprint_table: bool = False,
    **keywords: Any,
) -> "tuple[pd.DataFrame, dict[str, Any]] | tuple[pd.DataFrame, pd.DataFrame | None, dict[str, Any]]":
    """``make_bars(source, spec, ...)`` through the cache: ``(bars, info)``; with ``footprint_table``,
    ``(bars, table, info)``, ``table`` the bars' footprint table (:func:`data.footprint` of the same
    ticks, made in the same pass; None when the bar options leave the footprint lines out).

    ``source``: anything :func:`data.scan_ticks` takes, read with ``load_options``
    (:class:`data.options.LoadOptions`); the bars are made with ``bar_options``
    (:class:`data.options.BarOptions`). ``keywords`` are fields of either (``start``,
    ``symbol``, ``format`` ..., ``tick_size``, ``footprint_params`` ...), applied over them.
    ``settings``: what else changes a bar that the caller applies (e.g.
    ``{"classifier": "lee_ready", "quotes": "q.parquet"}``), part of the key.
    ``info``: ``hit`` (loaded from the cache), ``key``, ``path`` of the entry (None
    with ``use_cache=False``), ``source``. ``use_cache=False`` builds and does not write.
    """
    load_keywords, bar_keywords = split_keywords(keywords)
    bar_options = BarOptions.of(bar_options, **bar_keywords)
    scan = scan_ticks(source, options=LoadOptions.of(load_options, **load_keywords))
    table = footprint_table and bar_options.footprint
    built, info = through_cache(scan, spec, {"bars": bar_options.key(), "extra": dict(settings or {})},
                                lambda: bars_from_source(scan, spec, options=bar_options, table=table),
                                cache_dir=cache_dir, use_cache=use_cache, footprint_table=table)
    if not footprint_table:
        return built, info
    bars, table = built if table else (built, None)
    return bars, table, info


def through_cache(
    scan: TickSource,
    spec: "BarSpec | str | None",
    settings: Mapping[str, Any],
    build: Callable[[], Any],
    *,
    cache_dir: str | AnyPath | None = None,
    use_cache: bool = True,
    footprint_table: bool = False,
) -> tuple[Any, dict[str, Any]]:
    """The bars ``build()`` makes from ``scan``'s data, through the cache: the entry of the key
    of ``scan``'s fingerprint, ``spec`` and ``settings`` (:func:`cache_key`) if there is one,
    else ``build()``'s, written as an entry. ``(bars, info)`` as :func:`cached_bars` returns.
    ``footprint_table``: ``build()`` returns ``(bars, footprint table)``, kept beside the entry
    (:func:`table_entry`), and so does this function (an entry without its table is a miss).
    A cache folder that cannot be used is an error before anything is built (:func:`cache_folder`)."""
    info: dict[str, Any] = {"hit": False, "key": None, "path": None, "source": scan.name}
    if not use_cache:
        return build(), info
    folder = cache_folder(cache_dir)
    key = cache_key(scan, spec, settings)
    entry = folder / f"{key}.parquet"
    info.update(key=key, path=entry)
    bars = read_entry(entry, key)
    table = read_table(table_entry(entry), key) if footprint_table and bars is not None else None
    if bars is not None and (table is not None or not footprint_table):
        info["hit"] = True
        return ((bars, table) if footprint_table else bars), info
    built = build()
    bars, table = built if footprint_table else (built, None)
    try:
        if table is not None:  # the table first: bars without their table are a miss for the table's callers
            write_table(table_entry(entry), key, table)
        write_entry(entry, key, bars)
    except OSError as exc:  # the folder was checked: a full disk, a folder removed meanwhile, S3 refusing ...
        raise OrderFlowError(f"cannot write the bar cache entry ({exc.strerror or ' '.join(str(exc).split())}); "
                             "run with --no-cache", source=entry) from None
    return built, info


def write_entry(entry: AnyPath, key: str, bars: pd.DataFrame) -> None:
    """Write ``bars`` (with their attrs) to ``entry``: aside under a hidden name, then renamed (on
    S3: uploaded once, whole; :func:`data.storage.publish`)."""
    table = pa.Table.from_pandas(bars, preserve_index=True)
    _write(entry, table, {"key": key, "attrs": bars.attrs})


def table_entry(entry: AnyPath) -> AnyPath:
    """Where the footprint table of the bars' ``entry`` is kept: ``<key>.footprint.parquet`` beside it."""
    return entry.parent / f"{entry.name.removesuffix('.parquet')}.footprint.parquet"


def write_table(entry: AnyPath, key: str, table: pd.DataFrame) -> None:
    """Write a footprint table's cells (:data:`data.bars.footprint.TABLE_CELLS`) to ``entry``, as
    :func:`write_entry` writes bars; its tick size and attrs in the metadata."""
    frame = table.reset_index()
    tick = float(table.attrs["tick_size"])
    cells = {"timestamp": timestamps_ns(frame["timestamp"]), "level": price_levels(frame["price"].to_numpy(), tick),
             **{name: frame[name].to_numpy("float64") for name in TABLE_CELLS[2:]}}
    _write(entry, pa.table(cells), {"key": key, "attrs": table.attrs})


def _write(entry: AnyPath, table: pa.Table, meta: dict[str, Any]) -> None:
    entry.parent.mkdir(parents=True, exist_ok=True)
    attrs = json.dumps(meta, default=str).encode()
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), _META: attrs})
    aside = aside_for(entry, f".{entry.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        pq.write_table(table, aside, compression="zstd")
        publish(aside, entry)
    finally:
        if aside.exists():
            aside.unlink()


def read_entry(entry: AnyPath, key: str) -> pd.DataFrame | None:
    """The bars of a cache entry, or None when it is missing, unreadable or of another key."""
    found = _read(entry, key)
    if found is None:
        return None
    table, attrs = found
    bars = table.to_pandas()
    bars.attrs = attrs
    return bars


def read_table(entry: AnyPath, key: str) -> pd.DataFrame | None:
    """The footprint table kept at ``entry`` (:func:`write_table`), or None as for :func:`read_entry`."""
    found = _read(entry, key)
    if found is None or "tick_size" not in found[1] or found[0].column_names != list(TABLE_CELLS):
        return None
    table, attrs = found
    frame = cells_table({name: table.column(name).to_numpy() for name in TABLE_CELLS}, float(attrs["tick_size"]))
    frame.attrs.update(attrs)
    return frame


def _read(entry: AnyPath, key: str) -> tuple[pa.Table, dict[str, Any]] | None:
    if not entry.is_file():  # an object store that cannot be asked raises here, naming the entry
        return None
    try:
        table = pq.read_table(open_input(entry))
        stored = json.loads((table.schema.metadata or {}).get(_META, b"{}"))
    except (pa.ArrowException, OSError, ValueError):
        return None
    if stored.get("key") != key:
        return None
    return table, dict(stored.get("attrs") or {})
