"""Where files live: the local disk, or an S3 bucket (or an S3-compatible store) as ``s3://bucket/key``.

Every place that takes a path -- a tick file, a folder, a glob, a tick store, the bar cache --
takes the text through :func:`as_path`: a local path becomes a :class:`pathlib.Path`, as
before, and ``s3://bucket/prefix/...`` an :class:`S3Path`, which answers the part of
pathlib's interface those places use (``name``, ``suffix``, ``parent``, ``/``, ``exists()``,
``is_file()``, ``is_dir()``, ``iterdir()``, ``glob()``, ``stat()``, ``read_bytes()``,
``write_text()``, ``unlink()`` ...) through pyarrow's S3 filesystem
(:class:`pyarrow.fs.S3FileSystem`). What differs between a disk and an object store lives
here, once:

- :func:`open_input` opens a file for random access (a Parquet footer, then only the row
  groups wanted: on S3, HTTP range requests);
- :func:`local_copy` gives a local file to read whole with the format readers (a tick file
  on S3 is downloaded once into a temporary folder and removed after); :func:`probe_copy` a
  local stand-in of what the format detectors read (an object's first and last bytes, two
  range requests), to tell a file's format without downloading it;
- :func:`aside_for`, :func:`publish` and :func:`sync_folder` write a file so that a reader
  never sees half of it: on disk it is written beside its final name and renamed over it
  (atomic); on S3 it is written locally and uploaded once at its final key (an object
  becomes visible only when its upload completes; S3 has no rename and no transaction over
  several objects);
- :func:`listed` lists a folder's whole tree once (on S3 one paginated listing instead of
  one request per folder).

S3 settings, read as the AWS SDKs read them:

- credentials: the AWS credential chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/
  ``AWS_SESSION_TOKEN``, ``AWS_PROFILE`` and the shared credentials and config files, web
  identity, container and instance roles);
- the endpoint of an S3-compatible server (MinIO, Ceph, R2, a local test server): the
  command lines' ``--s3-endpoint URL`` (:func:`s3_endpoint` in Python), else
  ``AWS_ENDPOINT_URL_S3``, else ``AWS_ENDPOINT_URL`` (unless
  ``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`` is true); buckets are then addressed by path
  (``http://host:port/bucket/key``);
- the region: ``AWS_REGION``, else ``AWS_DEFAULT_REGION``, else the bucket's own (asked of
  AWS once per bucket), else ``us-east-1`` (with an endpoint and no region set).
"""
from __future__ import annotations

import contextlib
import errno
import fnmatch
import glob as globbing
import os
import re
import stat as statmod
import tempfile
import urllib.parse
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any, Iterator, NamedTuple, Union

import pyarrow as pa
import pyarrow.fs as pafs

from data.errors import OrderFlowError

__all__ = ["S3Path", "as_path", "is_remote", "s3_endpoint", "open_input", "local_copy", "probe_copy", "aside_for", "publish",
           "sync_folder", "listed", "glob_paths", "AnyPath", "add_endpoint_option", "path_argument"]

SCHEME = "s3://"
ENDPOINT_ENVS = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
IGNORE_ENDPOINT_ENV = "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"
REGION_ENVS = ("AWS_REGION", "AWS_DEFAULT_REGION")
DEFAULT_REGION = "us-east-1"
_GLOB = re.compile(r"[*?\[]")
_given: list[str] = []  # the endpoints of the s3_endpoint() blocks in force, innermost last


class _Stat(NamedTuple):
    """What :meth:`S3Path.stat` gives: the fields of :func:`os.stat` the project reads."""

    st_mode: int
    st_size: int
    st_mtime_ns: int


def is_remote(source: Any) -> bool:
    """Whether ``source`` names an object in an object store: an :class:`S3Path` or text starting ``s3://``."""
    return isinstance(source, S3Path) or (isinstance(source, str) and source[:5].lower() == SCHEME)


def as_path(source: "str | os.PathLike[str] | S3Path") -> "Path | S3Path":
    """``s3://bucket/key`` (or an :class:`S3Path`) as an :class:`S3Path`, anything else as a :class:`pathlib.Path`."""
    if isinstance(source, S3Path):
        return source
    if is_remote(source):
        return S3Path.from_uri(source)
    return Path(source)


AnyPath = Union[Path, "S3Path"]


# --------------------------------------------------------------------------- S3 settings


@contextlib.contextmanager
def s3_endpoint(url: str | None) -> Iterator[None]:
    """Inside the block, the S3 paths made (:func:`as_path`) go to the S3-compatible server at ``url``
    (``http://localhost:9000``), over ``AWS_ENDPOINT_URL``; a path keeps its endpoint after the
    block. None changes nothing. What the command lines' ``--s3-endpoint`` does."""
    if url is None:
        yield
        return
    _given.append(_checked_endpoint(url, "--s3-endpoint"))
    try:
        yield
    finally:
        _given.pop()


ENDPOINT_HELP = ("the URL of an S3-compatible server (MinIO, Ceph, R2 ...) for s3:// paths, e.g. http://localhost:9000; "
                 "default $AWS_ENDPOINT_URL_S3 or $AWS_ENDPOINT_URL, else AWS (credentials: the AWS credential chain)")


def add_endpoint_option(parser: Any) -> None:
    """The command lines' ``--s3-endpoint URL`` (read with :func:`s3_endpoint`)."""
    parser.add_argument("--s3-endpoint", metavar="URL", default=None, help=ENDPOINT_HELP)


def path_argument(text: str) -> "str | Path":
    """A command line's path argument (argparse ``type=``): an ``s3://`` URI stays text, made an
    :class:`S3Path` where it is used, inside the command's :func:`s3_endpoint` block; a local path
    becomes a :class:`pathlib.Path`."""
    return text if is_remote(text) else Path(text)


def current_endpoint() -> str | None:
    """The S3 endpoint in force: :func:`s3_endpoint`'s, else ``AWS_ENDPOINT_URL_S3`` or ``AWS_ENDPOINT_URL``."""
    if _given:
        return _given[-1]
    if os.environ.get(IGNORE_ENDPOINT_ENV, "").strip().lower() in ("true", "1", "yes"):
        return None
    for name in ENDPOINT_ENVS:
        if os.environ.get(name, "").strip():
            return _checked_endpoint(os.environ[name], name)
    return None


def _checked_endpoint(url: str, where: str) -> str:
    parts = urllib.parse.urlsplit(str(url).strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise OrderFlowError(f"bad S3 endpoint {url!r} in {where}: give a URL with its scheme, e.g. "
                             "http://localhost:9000 or https://storage.example.com")
    return f"{parts.scheme}://{parts.netloc}"


def _region(bucket: str, endpoint: str | None) -> str:
    for name in REGION_ENVS:
        if os.environ.get(name, "").strip():
            return os.environ[name].strip()
    return DEFAULT_REGION if endpoint is not None else _bucket_region(bucket)


@lru_cache(maxsize=64)
def _bucket_region(bucket: str) -> str:
    try:
        return pafs.resolve_s3_region(bucket)
    except (OSError, ValueError):  # an unknown bucket: the request that follows says so
        return DEFAULT_REGION


@lru_cache(maxsize=16)
def _filesystem(endpoint: str | None, region: str) -> pafs.S3FileSystem:
    options: dict[str, Any] = {"region": region}
    if endpoint is not None:
        scheme, _, host = endpoint.partition("://")
        options.update(endpoint_override=host, scheme=scheme)
    return pafs.S3FileSystem(**options)


def filesystem(bucket: str, endpoint: str | None) -> pafs.S3FileSystem:
    """The S3 filesystem for ``bucket`` at ``endpoint`` (None: AWS), in the region of the settings
    (see the module docstring)."""
    return _filesystem(endpoint, _region(bucket, endpoint))


# --------------------------------------------------------------------------- S3 paths


class S3Path:
    """An object, or a folder (a key prefix), in an S3 bucket: ``s3://bucket/key``.

    Folders are key prefixes: one exists while an object lies under it, and making or
    removing one does nothing. The queries (``exists``, ``is_file``, ``stat``, ``iterdir`` ...)
    raise :class:`OrderFlowError` naming the path when the store cannot be asked (no such
    bucket, no credentials, the endpoint unreachable); writes raise :class:`OSError`.
    """

    __slots__ = ("bucket", "key", "endpoint", "_info", "_tree")

    def __init__(self, bucket: str, key: str = "", *, endpoint: str | None = None, info: pafs.FileInfo | None = None,
                 tree: "dict[str, list[pafs.FileInfo]] | None" = None) -> None:
        self.bucket = bucket
        self.key = "/".join(part for part in key.split("/") if part)
        self.endpoint = endpoint
        self._info = info
        self._tree = tree

    @classmethod
    def from_uri(cls, uri: str) -> "S3Path":
        """``s3://bucket/key`` at the endpoint in force (:func:`current_endpoint`)."""
        rest = str(uri)[len(SCHEME):]
        bucket, _, key = rest.partition("/")
        if not bucket:
            raise OrderFlowError("an S3 path names its bucket: s3://BUCKET/prefix/...", source=uri)
        return cls(bucket, key, endpoint=current_endpoint())

    def _at(self, key: str, info: pafs.FileInfo | None = None, tree: Any = None) -> "S3Path":
        """Another path of the same bucket and endpoint."""
        return S3Path(self.bucket, key, endpoint=self.endpoint, info=info, tree=tree)

    # ------------------------------------------------------------- names

    def __str__(self) -> str:
        return f"{SCHEME}{self.bucket}/{self.key}" if self.key else f"{SCHEME}{self.bucket}"

    def __repr__(self) -> str:
        return f"S3Path({str(self)!r})"

    def _sort_key(self) -> tuple[str, ...]:
        return (self.bucket, *self.key.split("/"))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, S3Path) and self._sort_key() == other._sort_key()

    def __lt__(self, other: "S3Path") -> bool:
        return self._sort_key() < other._sort_key()

    def __hash__(self) -> int:
        return hash(("s3", self.bucket, self.key))

    @property
    def fs_path(self) -> str:
        """The path as pyarrow's S3 filesystem names it: ``bucket/key``."""
        return f"{self.bucket}/{self.key}" if self.key else self.bucket

    @property
    def filesystem(self) -> pafs.S3FileSystem:
        return filesystem(self.bucket, self.endpoint)

    @property
    def name(self) -> str:
        return self.key.rpartition("/")[2] if self.key else self.bucket

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.name).suffix

    @property
    def suffixes(self) -> list[str]:
        return PurePosixPath(self.name).suffixes

    @property
    def stem(self) -> str:
        return PurePosixPath(self.name).stem

    @property
    def parent(self) -> "S3Path":
        return self._at(self.key.rpartition("/")[0], tree=self._tree)

    @property
    def parents(self) -> list["S3Path"]:
        out, path = [], self
        while path.key:
            path = path.parent
            out.append(path)
        return out

    def __truediv__(self, name: str) -> "S3Path":
        return self.joinpath(name)

    def joinpath(self, *names: str) -> "S3Path":
        key = "/".join([self.key, *map(str, names)]) if self.key else "/".join(map(str, names))
        return self._at(key, tree=self._tree)

    def relative_to(self, other: "S3Path") -> PurePosixPath:
        if other.bucket != self.bucket or not (self.key + "/").startswith(other.key + "/" if other.key else ""):
            raise ValueError(f"{self} is not in {other}")
        return PurePosixPath(self.key[len(other.key):].lstrip("/"))

    def resolve(self) -> "S3Path":
        return self

    # ------------------------------------------------------------- queries

    def info(self) -> pafs.FileInfo:
        """pyarrow's FileInfo of the path (from the listing it came from, if any, else asked)."""
        if self._info is not None:
            return self._info
        if self._tree is not None:
            found = next((i for i in self._tree.get(self.parent.fs_path, ()) if i.path == self.fs_path), None)
            if found is not None:
                return found
            if self.fs_path in self._tree:
                return pafs.FileInfo(self.fs_path, pafs.FileType.Directory)
            return pafs.FileInfo(self.fs_path, pafs.FileType.NotFound)
        try:
            return self.filesystem.get_file_info(self.fs_path)
        except OSError as err:
            raise unreachable(self, err) from None

    def exists(self) -> bool:
        return self.info().type != pafs.FileType.NotFound

    def is_file(self) -> bool:
        return self.info().type == pafs.FileType.File

    def is_dir(self) -> bool:
        return self.info().type == pafs.FileType.Directory

    def stat(self) -> _Stat:
        info = self.info()
        if info.type == pafs.FileType.NotFound:
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", str(self))
        if info.type == pafs.FileType.Directory:
            return _Stat(statmod.S_IFDIR | 0o755, 0, 0)
        return _Stat(statmod.S_IFREG | 0o644, int(info.size or 0), int(info.mtime_ns or 0))

    def iterdir(self) -> Iterator["S3Path"]:
        """The objects and folders directly under this folder (one listing; nothing when it does not exist)."""
        if self._tree is not None:
            children = self._tree.get(self.fs_path, [])
        else:
            try:
                children = self.filesystem.get_file_info(pafs.FileSelector(self.fs_path, allow_not_found=True))
            except OSError as err:
                raise unreachable(self, err) from None
        for info in children:
            yield self._at(info.path.partition("/")[2], info, self._tree)

    def walk_infos(self) -> list[pafs.FileInfo]:
        """Every object and folder below this folder: one recursive listing."""
        try:
            return self.filesystem.get_file_info(pafs.FileSelector(self.fs_path, recursive=True, allow_not_found=True))
        except OSError as err:
            raise unreachable(self, err) from None

    def glob(self, pattern: str) -> Iterator["S3Path"]:
        """The objects and folders below this one whose path relative to it matches ``pattern``
        segment by segment, as :func:`glob.glob` matches (``*`` stays inside one segment;
        names starting with ``.`` only match a segment that starts with ``.``)."""
        parts = [p for p in pattern.split("/") if p]
        for info in self.walk_infos():
            relative = info.path[len(self.fs_path):].strip("/").split("/")
            if _matches(relative, parts):
                yield self._at(info.path.partition("/")[2], info)

    # ------------------------------------------------------------- reading and writing

    def open_input_file(self) -> pa.NativeFile:
        """The object open for random access (a HEAD request for its size, then range requests)."""
        return self.filesystem.open_input_file(self.fs_path)

    def read_bytes(self) -> bytes:
        with self.open_input_file() as fh:
            return fh.read()

    def read_text(self, encoding: str = "utf-8") -> str:
        return self.read_bytes().decode(encoding)

    def write_bytes(self, data: bytes) -> int:
        """``data`` as the object, byte for byte (pyarrow's stream would compress it by its name: .gz, .zst)."""
        with self.filesystem.open_output_stream(self.fs_path, compression=None) as out:
            out.write(data)
        return len(data)

    def write_text(self, text: str, encoding: str = "utf-8") -> int:
        return self.write_bytes(text.encode(encoding))

    def upload(self, local: Path) -> None:
        """The local file ``local`` as this object, read whole first (so that a failure to read it
        cannot publish part of it) and sent in one upload."""
        self.write_bytes(Path(local).read_bytes())

    def download(self, local: Path) -> None:
        """This object into the local file ``local``, in chunks (memory holds one chunk)."""
        with self.open_input_file() as source, open(local, "wb") as out:
            while True:
                chunk = source.read(1 << 23)
                if not chunk:
                    break
                out.write(chunk)

    def unlink(self, missing_ok: bool = False) -> None:
        try:
            self.filesystem.delete_file(self.fs_path)
        except FileNotFoundError:
            if not missing_ok:
                raise

    def mkdir(self, parents: bool = False, exist_ok: bool = False) -> None:
        """Nothing: an object store has no folders (a key prefix exists while an object lies under it)."""

    def rmdir(self) -> None:
        """Nothing: a folder without objects does not exist on an object store."""


def _matches(parts: list[str], pattern: list[str]) -> bool:
    if len(parts) != len(pattern):
        return False
    for name, wanted in zip(parts, pattern):
        if name.startswith(".") and not wanted.startswith("."):
            return False
        if not fnmatch.fnmatchcase(name, wanted):
            return False
    return True


def unreachable(path: S3Path, err: BaseException) -> OrderFlowError:
    """The error for a store that cannot be asked about ``path`` (no such bucket, no credentials,
    the endpoint unreachable), with the store's own words."""
    at = f" at {path.endpoint}" if path.endpoint else ""
    return OrderFlowError(f"cannot read the object store{at} ({' '.join(str(err).split())}); check the bucket, the "
                          "credentials (the AWS credential chain: AWS_ACCESS_KEY_ID ..., AWS_PROFILE) and, for an "
                          "S3-compatible server, the endpoint (--s3-endpoint / AWS_ENDPOINT_URL)", source=path)


# --------------------------------------------------------------------------- what differs, once


def glob_paths(pattern: str) -> list["Path | S3Path"]:
    """The files and folders a glob pattern matches, in name order: :func:`glob.glob` on disk; on
    S3 one listing below the pattern's part without wildcards, matched segment by segment."""
    if not is_remote(pattern):
        return sorted(Path(p) for p in globbing.glob(pattern))
    path = S3Path.from_uri(pattern)
    parts = path.key.split("/")
    fixed = next((i for i, part in enumerate(parts) if _GLOB.search(part)), len(parts))
    base = path._at("/".join(parts[:fixed]))
    if fixed == len(parts):
        return [path] if path.exists() else []
    return sorted(base.glob("/".join(parts[fixed:])))


def listed(path: "Path | S3Path") -> "Path | S3Path":
    """``path`` with its whole tree listed once: on S3 one recursive listing, from which the returned
    path and every path below it (through ``/`` and ``iterdir``) answer ``iterdir``, ``is_file``,
    ``is_dir`` and ``stat`` without asking again. A local path is returned as it is."""
    if not isinstance(path, S3Path):
        return path
    tree: dict[str, list[pafs.FileInfo]] = {}
    for info in path.walk_infos():
        tree.setdefault(info.path.rpartition("/")[0], []).append(info)
    root_info = pafs.FileInfo(path.fs_path, pafs.FileType.Directory) if tree else path.info()
    tree.setdefault(path.fs_path, [])
    return path._at(path.key, root_info, tree)


def open_input(path: "Path | S3Path") -> "str | pa.NativeFile":
    """What pyarrow reads a file from: the local path as text, or the S3 object open for random access."""
    return path.open_input_file() if isinstance(path, S3Path) else str(path)


@contextlib.contextmanager
def local_copy(path: "Path | S3Path") -> Iterator[Path]:
    """A local file holding ``path``'s bytes, for readers that read a file whole: a local path is
    itself; an S3 object is downloaded into a new temporary folder under its own name, removed
    at the end of the block. An :class:`OrderFlowError` raised in the block naming the copy is
    raised again naming ``path``."""
    if not isinstance(path, S3Path):
        yield Path(path)
        return
    with tempfile.TemporaryDirectory(prefix="orderflow-s3-") as folder:
        local = Path(folder) / (path.name or "object")
        try:
            path.download(local)
        except FileNotFoundError:
            bucket = path._at("")
            raise OrderFlowError("file not found" if bucket.exists() else f"no bucket named {path.bucket!r} (or no "
                                 "permission to see it)", source=path) from None
        except OSError as err:
            raise OrderFlowError(f"cannot read: {' '.join(str(err).split())}", source=path) from None
        try:
            yield local
        except OrderFlowError as err:
            if err.source is not None and str(err.source) == str(local):
                raise OrderFlowError(err.problem, source=path, column=err.column, row=err.row,
                                     value=err.value) from None
            raise


PROBE_BYTES = 1 << 16
"""How much of each end of an S3 object :func:`probe_copy` reads: what the format detectors look at
(the first 64 KiB of text, a DBN header; a zip's central directory at its end)."""


@contextlib.contextmanager
def probe_copy(path: "Path | S3Path", ends: int = PROBE_BYTES) -> Iterator[Path]:
    """A local file to tell ``path``'s format from (:func:`data.reading.loader.format_for`, a DBN
    schema): a local path is itself; an S3 object becomes a stand-in under its own name and of its
    own size holding its first and last ``ends`` bytes at their places (the rest zeros, a sparse
    file), read with two range requests (the whole object when it is no larger), removed at the
    end of the block. Only for detection: its middle is not the object's."""
    if not isinstance(path, S3Path):
        yield Path(path)
        return
    size = path.stat().st_size
    with tempfile.TemporaryDirectory(prefix="orderflow-s3-") as folder:
        local = Path(folder) / (path.name or "object")
        try:
            with path.open_input_file() as source, open(local, "wb") as out:
                if size <= 2 * ends:
                    out.write(source.read())
                else:
                    out.write(source.read_at(ends, 0))
                    out.seek(size - ends)
                    out.write(source.read_at(ends, size - ends))
        except OSError as err:
            raise OrderFlowError(f"cannot read: {' '.join(str(err).split())}", source=path) from None
        yield local


def aside_for(final: "Path | S3Path", name: str) -> Path:
    """Where to write a file before :func:`publish` puts it at ``final``: beside it under ``name``
    on disk (a rename on one filesystem is atomic), in the temporary folder for an S3 object."""
    if isinstance(final, S3Path):
        return Path(tempfile.gettempdir()) / name
    return final.parent / name


def publish(aside: Path, final: "Path | S3Path") -> None:
    """Put the written file ``aside`` at ``final`` whole: renamed over it on disk; uploaded once on
    S3 (then removed), where the object appears only when its upload completes. Raises
    :class:`OSError` when it cannot."""
    if isinstance(final, S3Path):
        final.upload(aside)
        aside.unlink(missing_ok=True)
    else:
        os.replace(aside, final)


def sync_folder(folder: "Path | S3Path") -> None:
    """Make the renames in a local folder durable (fsync of the folder); nothing on S3, nothing on failure."""
    if isinstance(folder, S3Path):
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
