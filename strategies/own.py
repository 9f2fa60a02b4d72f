"""Strategies of your own, named ``module:Class`` or ``path/to/file.py:Class`` (``--strategy``).

- ``path/to/mymod.py:MyStrat`` (a spec whose module part ends in ``.py`` or holds a
  path separator) loads that file, relative to the current folder. It is registered
  as ``mymod`` unless that name is taken or importable elsewhere (then under a private
  name), so a file called ``strategies.py`` or ``data.py`` loads without replacing
  one of this project's packages.
- ``mymod:MyStrat`` (or ``package.module:MyStrat``) imports the module by name, from
  the import path and from the current folder. The current folder is put at the end
  of the import path for that import only: a ``strategies.py`` or ``data/`` there never
  takes the place of this project's packages or of an installed library. When the
  name is already such a module and the class is not in it, the error says so and
  gives the path form.

Either way the module's own imports (a helper beside it) are found during its import.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import re
import sys
import traceback
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Iterator

from data.errors import OrderFlowError

USAGE = "a strategy of your own is --strategy module:ClassName or --strategy path/to/file.py:ClassName"


def is_path(module: str) -> bool:
    """Whether the module part of a spec names a file (``.py`` or a path separator) rather than a module."""
    return module.endswith(".py") or "/" in module or os.sep in module


def load_strategy(spec: str) -> type:
    """The Backtrader Strategy class named by ``"module:Class"`` or ``"path/to/file.py:Class"`` (module docstring).

    Raises :class:`data.OrderFlowError` (one line) when the module cannot be found or
    loaded, or holds no Strategy class of that name.
    """
    import backtrader as bt

    text = str(spec).strip()
    module_part, sep, attr = text.rpartition(":")
    module_part, attr = module_part.strip(), attr.strip()
    if not sep or not module_part or not attr:
        raise OrderFlowError(f"bad --strategy {text!r}: {USAGE}")
    if is_path(module_part):
        module, local = from_file(Path(module_part)), None
    else:
        module, local = from_name(module_part)
    cls = getattr(module, attr, None)
    if isinstance(cls, type) and issubclass(cls, bt.Strategy):
        return cls
    origin = getattr(module, "__file__", None) or module.__name__
    if local is not None:
        fix = f"give the file instead, --strategy ./{local.name}:{attr}, or rename it" if local.suffix == ".py" \
            else "rename it"
        raise OrderFlowError(f"--strategy {text}: {module_part.split('.')[0]!r} is already the name of {origin}, so "
                             f"{local} in the current folder is not imported under it; {fix}")
    found = sorted(n for n, v in vars(module).items() if isinstance(v, type) and issubclass(v, bt.Strategy)
                   and v.__module__ == module.__name__)
    listed = f" (it defines {', '.join(found)})" if found else ""
    raise OrderFlowError(f"--strategy {text}: {attr!r} is not a Backtrader Strategy class in {origin}{listed}")


def from_file(path: Path) -> ModuleType:
    """The module of the Python file ``path`` (loaded once per file; its folder is importable while it loads)."""
    if not path.is_file():
        raise OrderFlowError(f"strategy file not found: {path}")
    path = path.resolve()
    for module in list(sys.modules.values()):
        if _same_file(getattr(module, "__file__", None), path):
            return module
    name = module_name(path)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise OrderFlowError(f"cannot load strategy file {path}: not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # Backtrader's metaclasses look their module up there
    try:
        with importable(path.parent):
            spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        raise OrderFlowError(f"cannot load strategy file {load_failure(exc, path)}") from None
    return module


def module_name(path: Path) -> str:
    """The file's stem when no other module has that name (loaded or importable), else a private name."""
    stem = path.stem
    if stem.isidentifier() and stem not in sys.modules:
        try:
            found = importlib.util.find_spec(stem)
        except (ImportError, ValueError):
            found = None
        if found is None or _same_file(found.origin, path):
            return stem
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:8]
    return f"_strategy_file_{re.sub(r'[^0-9A-Za-z_]', '_', stem)}_{digest}"


def from_name(name: str) -> tuple[ModuleType, Path | None]:
    """The module ``name`` imported with the current folder at the end of the import path, and the file or
    package of the current folder that has its top-level name but was not imported (None if there is none)."""
    folder = Path.cwd()
    top = name.split(".")[0]
    try:
        with importable(folder):
            module = importlib.import_module(name)
    except ImportError as exc:
        raise OrderFlowError(f"cannot import strategy module {name!r}: {exc} (looked on the import path and in the "
                             f"current folder {folder}; or give the file: --strategy path/to/{top}.py:ClassName)") from None
    except Exception as exc:
        raise OrderFlowError(f"cannot import strategy module {name!r}: {load_failure(exc)}") from None
    imported = getattr(sys.modules.get(top), "__file__", None)
    for local in (folder / f"{top}.py", folder / top / "__init__.py"):
        if local.is_file() and not _same_file(imported, local):
            return module, local if local.name != "__init__.py" else local.parent
    return module, None


@contextmanager
def importable(folder: Path) -> Iterator[None]:
    """``folder`` at the end of ``sys.path`` for the block (not at all if it is there already)."""
    entry = str(folder)
    known = {os.path.abspath(p or os.curdir) for p in sys.path}
    added = os.path.abspath(entry) not in known
    if added:
        sys.path.append(entry)
    importlib.invalidate_caches()
    try:
        yield
    finally:
        if added and entry in sys.path:
            sys.path.remove(entry)


def load_failure(exc: BaseException, path: Path | None = None) -> str:
    """``file, line N: SyntaxError: ...``: where loading a module failed, in one line."""
    where: tuple[str | None, int | None] = (None, None)
    if isinstance(exc, SyntaxError):
        where = (exc.filename, exc.lineno)
    else:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if "importlib" not in f.filename]
        if frames:
            where = (frames[-1].filename, frames[-1].lineno)
    place = f"{where[0] or path}, line {where[1]}" if where[1] is not None else str(where[0] or path or "")
    message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if isinstance(exc, SyntaxError):
        message = f"SyntaxError: {exc.msg}"
    return f"{place}: {message}" if place else message


def _same_file(a: "str | Path | None", b: Path) -> bool:
    if not a:
        return False
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
