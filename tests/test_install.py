"""``pip install .`` into a fresh virtual environment gives a ``run-backtest`` command that runs from any folder,
on the bundled sample and with a strategy of the user's own (a real venv, a real pip, real processes).

The project is copied to a temporary folder first (pip builds in the source tree), and installed without its
dependencies: the new environment reaches them through a ``.pth`` line naming this environment's site-packages.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import REPO, need_sample
from tests.test_own_strategy import MYMOD, SMALL_CSV, one_long_trade

# What pyproject.toml packages (its py-modules and packages) and reads (readme, licence).
PROJECT_FILES = ["pyproject.toml", "README.md", "LICENSE", "run_backtest.py", "run_backtest_options.py", "lambda_handler.py",
                 "data", "indicators", "strategies", "execution", "reports", "research"]


def setuptools_version() -> tuple[int, ...]:
    try:
        import setuptools
    except ImportError:
        return (0,)
    return tuple(int(p) for p in setuptools.__version__.split(".")[:2] if p.isdigit())


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """A new venv with the project installed from a copy of it by ``pip install --no-deps``; its bin folder."""
    root = tmp_path_factory.mktemp("install")
    source = root / "orderflow-bt"
    source.mkdir()
    for name in PROJECT_FILES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(path, source / name)
    env = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True, timeout=120)
    python = env / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    (Path(purelib) / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # the build needs setuptools >= 77 (pyproject's [build-system]); use this environment's when it has it,
    # else let pip fetch it into an isolated build environment
    isolation = [] if setuptools_version() < (77,) else ["--no-build-isolation"]
    done = subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--quiet", *isolation, str(source)],
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0 and isolation == [] and ("No matching distribution" in done.stderr
                                                     or "Could not find a version" in done.stderr):
        pytest.skip(f"pip cannot fetch setuptools>=77 to build the project here: {done.stderr.strip()[-200:]}")
    assert done.returncode == 0, done.stderr
    return env / "bin"


def test_installed_command_runs_from_any_folder(venv, tmp_path):
    need_sample()
    done = subprocess.run([str(venv / "run-backtest"), "--no-plot", "--quiet", "--no-cache", "--out", "out"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Trading days" in done.stdout
    doc = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert doc["strategy"] == "cvd_trend" and Path(doc["data"]).name == "sample_ticks.parquet"
    assert str(venv.parent) in doc["data"]  # the installed copy of the sample, not this checkout's


@pytest.mark.parametrize("spec", ["mymod:FirstBar", "mymod.py:FirstBar"])
def test_installed_command_runs_a_strategy_of_the_current_folder(venv, tmp_path, spec):
    (tmp_path / "mymod.py").write_text(MYMOD)
    (tmp_path / "strategies.py").write_text("raise RuntimeError('the current folder shadowed strategies')\n")
    done = subprocess.run([str(venv / "run-backtest"), str(SMALL_CSV), "--strategy", spec, "--size", "1",
                           "--no-plot", "--quiet", "--no-cache", "--out", "out"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    one_long_trade(tmp_path)
