"""A strategy of your own on the command line: ``--strategy mymod:MyStrat`` found in the current folder,
``--strategy path/to/mymod.py:MyStrat`` loaded from the file, in a real process started in a temporary folder,
and never a file of the current folder taking the place of one of the project's packages."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, REPO, need_sample
from tools.readme import block_file

SCRIPT = REPO / "run_backtest.py"
SMALL_CSV = FIXTURES / "ticks_small.csv"

# 1min bars of ticks_small.csv: 09:31 O 100.00 C 99.75 | 09:32 O 100.00 C 100.50 | 09:33 O 100.25 C 100.25.
# One unit long on the first bar (fills at the 09:32 open, 100.00), out on the second, the bar the entry filled on
# (hold=0; fills at the 09:33 open, 100.25).
MYMOD = '''
from data import OrderFlowError          # the project's package, even with a data/ folder in the current one
from strategies import OrderFlowStrategy


class FirstBar(OrderFlowStrategy):
    params = (("hold", 0),)

    def entry_signal(self):
        return 1 if len(self) == 1 else 0

    def exit_signal(self):
        return self.bars_held >= self.p.hold
'''


def backtest(cwd: Path, *args: str, command: "list[str] | None" = None) -> subprocess.CompletedProcess:
    """``python run_backtest.py ARGS`` (or ``command ARGS``) run in ``cwd`` on the 10-tick fixture, into cwd/out."""
    argv = [*(command or [sys.executable, str(SCRIPT)]), str(SMALL_CSV), "--out", "out", "--no-plot", "--quiet",
            "--no-cache", "--size", "1", *args]
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=180)


def one_long_trade(cwd: Path) -> None:
    trades = (cwd / "out" / "trades.csv").read_text().splitlines()
    assert len(trades) == 2, trades
    row = dict(zip(trades[0].split(","), trades[1].split(",")))
    assert (row["direction"], float(row["entry_price"]), float(row["exit_price"])) == ("long", 100.0, 100.25)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A user's folder: mymod.py, and a data/ package and strategies.py that would break the run if imported."""
    (tmp_path / "mymod.py").write_text(MYMOD)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "__init__.py").write_text("raise RuntimeError('the current folder shadowed data')\n")
    (tmp_path / "strategies.py").write_text(MYMOD.replace("FirstBar", "Mine"))
    return tmp_path


def test_module_name_is_found_in_the_current_folder(folder):
    done = backtest(folder, "--strategy", "mymod:FirstBar")
    assert done.returncode == 0, done.stderr
    one_long_trade(folder)
    doc = json.loads((folder / "out" / "metrics.json").read_text())
    assert doc["strategy"] == "FirstBar" and doc["metrics"]["trades"] == 1


@pytest.mark.parametrize("spec", ["mymod.py:FirstBar", "./mymod.py:FirstBar", "sub/deeper/mymod.py:FirstBar",
                                  "ABSOLUTE"])
def test_a_file_path_is_loaded_from_the_file(folder, spec):
    deeper = folder / "sub" / "deeper"
    deeper.mkdir(parents=True)
    (deeper / "mymod.py").write_text(MYMOD)
    if spec == "ABSOLUTE":
        spec = f"{deeper / 'mymod.py'}:FirstBar"
    done = backtest(folder, "--strategy", spec, "--param", "hold=0")
    assert done.returncode == 0, done.stderr
    one_long_trade(folder)


def test_a_file_named_like_a_project_package_loads_by_path(folder):
    done = backtest(folder, "--strategy", "strategies.py:Mine")
    assert done.returncode == 0, done.stderr
    one_long_trade(folder)


def test_a_module_name_of_a_project_package_is_explained(folder):
    done = backtest(folder, "--strategy", "strategies:Mine")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: "), done.stderr
    assert "strategies.py" in done.stderr and "--strategy ./strategies.py:Mine" in done.stderr
    assert not (folder / "out" / "metrics.json").exists()


@pytest.mark.parametrize("spec, words", [
    ("nosuchmod:X", "cannot import strategy module 'nosuchmod'"),
    ("missing.py:X", "strategy file not found"),
    ("mymod.py:Nope", "'Nope' is not a Backtrader Strategy class in"),
    ("mymod.py", "--strategy mymod.py:ClassName"),
    ("broken.py:X", "broken.py, line 2"),
])
def test_bad_own_strategy_is_one_error_line(folder, spec, words):
    (folder / "broken.py").write_text("x = 1\nthis is not python\n")
    done = backtest(folder, "--strategy", spec)
    assert done.returncode == 2, done.stdout
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: "), done.stderr
    assert words in done.stderr
    assert "Traceback" not in done.stderr


def test_own_module_and_file_in_a_sweep_with_worker_processes(folder):
    for spec in ("mymod:FirstBar", "mymod.py:FirstBar"):
        done = backtest(folder, "--strategy", spec, "--sweep", "hold=0,1", "--jobs", "2", "--pbo-splits", "2")
        assert done.returncode == 0, done.stderr
        table = (folder / "out" / "sweep.csv").read_text().splitlines()
        assert len(table) == 3, table


def test_the_loader_leaves_the_import_path_as_it_was(folder, monkeypatch):
    from strategies.own import load_strategy

    monkeypatch.chdir(folder)
    before = list(sys.path)
    try:
        cls = load_strategy("mymod:FirstBar")
        assert cls.__name__ == "FirstBar" and Path(sys.modules[cls.__module__].__file__) == folder / "mymod.py"
        assert load_strategy(f"{folder / 'mymod.py'}:FirstBar") is cls  # the same file: the same module
        assert sys.path == before
    finally:
        sys.modules.pop("mymod", None)


def readme_blocks(name: str) -> tuple[str, str]:
    """The python code and the command line of the docs block ``name`` (in the file tools.readme names)."""
    text = block_file(name).read_text()
    block = text.split(f"<!-- {name}:start -->", 1)[1].split(f"<!-- {name}:end -->", 1)[0]
    code = block.split("```python", 1)[1].split("```", 1)[0]
    command = block.split("```bash", 1)[1].split("```", 1)[0]
    return code, command.strip()


def test_readme_own_strategy_example_runs_as_written(tmp_path):
    need_sample()
    code, command = readme_blocks("own-strategy")
    name = code.splitlines()[1].removeprefix("# ").strip()  # the file the block is: "# my_strategy.py"
    (tmp_path / name).write_text(code)
    argv = command.split()
    assert argv[:2] == ["python", "run_backtest.py"], command
    done = subprocess.run([sys.executable, str(SCRIPT), *argv[2:], "--out", "out", "--no-plot", "--quiet"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    doc = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert doc["strategy"] == argv[argv.index("--strategy") + 1].rsplit(":", 1)[1] == "DeltaFlip"
    assert doc["metrics"]["trades"] > 0
