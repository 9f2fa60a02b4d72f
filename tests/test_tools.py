"""The tools (studies, README generator, sample generator, accuracy table) live in tools/, apart
from the library: no library module imports them, and each runs as ``python -m tools.NAME``."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: what pyproject.toml ships: the library packages and the top-level modules
LIBRARY = ("data", "indicators", "strategies", "research", "reports", "run_backtest.py", "run_backtest_options.py",
           "lambda_handler.py")
TOOLS = ("accuracy", "imbalance_study", "make_sample", "readme", "real_books")


def imported_modules(source: str) -> set[str]:
    """Every module an ``import``/``from ... import`` names anywhere in ``source`` (inside functions
    too; ``from a import b`` gives ``a`` and ``a.b``), and the constant names passed to
    ``importlib.import_module`` / ``__import__``."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if called in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                names.add(node.args[0].value)
    return names


def library_files() -> list[Path]:
    files = []
    for entry in LIBRARY:
        path = REPO / entry
        files += [path] if path.suffix == ".py" else sorted(path.rglob("*.py"))
    return files


def imports_tools(source: str) -> list[str]:
    return sorted(name for name in imported_modules(source) if name == "tools" or name.startswith("tools."))


def test_the_walker_sees_imports_inside_functions_and_by_name():
    source = ("import os\n"
              "def f():\n    from tools.readme import main\n"
              "class C:\n    def g(self):\n        import tools\n"
              "def h():\n    return importlib.import_module('tools.accuracy')\n"
              "from toolsmith import x\n")
    assert imports_tools(source) == ["tools", "tools.accuracy", "tools.readme", "tools.readme.main"]


def test_no_library_module_imports_tools():
    files = library_files()
    assert len(files) > 50  # the walk found the packages
    offenders = {str(f.relative_to(REPO)): found for f in files if (found := imports_tools(f.read_text()))}
    assert offenders == {}


@pytest.mark.parametrize("old", ["data/make_sample.py", "data/sides/accuracy.py", "reports/readme.py",
                                 "reports/real_books.py", "reports/imbalance_study.py"])
def test_no_tool_is_left_in_a_library_package(old):
    assert not (REPO / old).exists()
    assert (REPO / "tools" / Path(old).name).is_file()


@pytest.mark.parametrize("name", TOOLS)
def test_each_tool_runs_as_a_module(name):
    done = subprocess.run([sys.executable, "-m", f"tools.{name}", "--help"], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage:")
