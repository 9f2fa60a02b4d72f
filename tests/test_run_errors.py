"""Runs refused with one clear error instead of a traceback or a wrong result: a sweep resumed without
its fingerprint or from damaged files, a sweep range that overflows, a bar cache folder that cannot be used."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest

import run_backtest as rb
from data import OrderFlowError
from research import RunConfig
from research.executors import SerialExecutor
from research.sweep import Axis, parse_axis, sweep
from tests.conftest import FIXTURES, REPO, need_sample
from tests.sweep_helpers import DieOnce

SMALL_CSV = FIXTURES / "ticks_small.csv"
START, END = pd.Timestamp("2024-04-15 00:00", tz="UTC"), pd.Timestamp("2024-04-15 12:00", tz="UTC")
AXES = [Axis("period", (3, 5, 8))]


@pytest.fixture(scope="module")
def base() -> RunConfig:
    """Half a day of the bundled sample in 5-minute bars (144 bars)."""
    return RunConfig(data=need_sample(), strategy=DieOnce, bars="5min", start=START, end=END)


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


# --- --resume -------------------------------------------------------------------------------------------------


def test_resume_without_the_fingerprint_takes_no_rows(base, tmp_path):
    # another sweep's rows (periods 3, 5, 8) with its sweep.json gone: a resumed sweep of periods 10, 20 must not
    # take them as its own, nor may a sweep of the very same grid (nothing says the rows are of this data)
    sweep(base, AXES, out=tmp_path, executor=SerialExecutor(), stats=False)
    (tmp_path / "sweep.json").unlink()
    for axes in ([Axis("period", (10, 20))], AXES):
        with pytest.raises(OrderFlowError, match=r"sweep.json is missing.*no fingerprint"):
            sweep(base, axes, out=tmp_path, executor=SerialExecutor(), resume=True, stats=False)
    assert not (tmp_path / "sweep.json").exists()  # no fingerprint of its own written over the others' rows
    # a folder with nothing to resume starts afresh
    fresh = sweep(base, AXES, out=tmp_path / "new", executor=SerialExecutor(), resume=True, stats=False)
    assert fresh.ran == 3


@pytest.mark.parametrize("junk", ["{not json", "[1, 2]", "\x00\xff\xfe binary", ""])
def test_resume_with_a_damaged_sweep_json_names_it(base, tmp_path, junk):
    sweep(base, AXES, out=tmp_path, executor=SerialExecutor(), stats=False)
    (tmp_path / "sweep.json").write_bytes(junk.encode("latin-1"))
    with pytest.raises(OrderFlowError, match=r"sweep\.json.*(not a sweep's|no fingerprint)"):
        sweep(base, AXES, out=tmp_path, executor=SerialExecutor(), resume=True, stats=False)


@pytest.mark.parametrize("rewrite, words", [
    (lambda text: "\x00\xff\xfe\x00junk", "line 1: not UTF-8 text"),
    (lambda text: "a,b\n1,2\n", "line 1: no set and label columns"),
    (lambda text: text.replace("\n2,", "\nx,", 1), r"line 4: set 'x' is not a set number of this grid \(0 to 2\)"),
    (lambda text: text.replace("\n2,", "\n7,", 1), r"line 4: set 7 is not a set number of this grid"),
    (lambda text: text.replace("\n2,", "\n1,", 1), r"line 4: set 1 is labelled 'period=8', not 'period=5'"),
    (lambda text: text.replace("period=8", "period=9", 1), r"line 4: set 2 is labelled 'period=9', not 'period=8'"),
    (lambda text: text.replace("\n2,period=8", "\n1,period=5", 1), r"line 4: set 1 is there twice"),
    (lambda text: text.rstrip("\n").rsplit(",", 3)[0] + "\n", r"line 4: \d+ fields, not \d+"),  # a row cut short
])
def test_resume_with_a_damaged_sweep_csv_names_it(base, tmp_path, rewrite, words):
    sweep(base, AXES, out=tmp_path, executor=SerialExecutor(), stats=False)
    csv_path = tmp_path / "sweep.csv"
    csv_path.write_bytes(rewrite(csv_path.read_text()).encode("latin-1"))
    with pytest.raises(OrderFlowError, match=rf"sweep\.csv.*{words}"):
        sweep(base, AXES, out=tmp_path, executor=SerialExecutor(), resume=True, stats=False)


def test_resume_with_a_damaged_set_file_names_it(base, tmp_path):
    sweep(base, AXES, out=tmp_path, executor=SerialExecutor(), stats=False)
    (tmp_path / "sets" / "0001.parquet").write_bytes(b"PAR1 cut short")
    with pytest.raises(OrderFlowError, match=r"sets/0001\.parquet: not the daily returns of a sweep's set"):
        sweep(base, AXES, out=tmp_path, executor=SerialExecutor(), resume=True, stats=False)


def test_cli_resume_errors_are_one_line(tmp_path, capsys):
    need_sample()
    argv = ["--bars", "15min", "--start", "2024-04-15", "--end", "2024-04-15 12:00", "--out", str(tmp_path),
            "--no-plot", "--sweep", "slope_period=5,10", "--jobs", "1", "--pbo-splits", "2", "--quiet"]
    assert rb.main(argv) == 0
    capsys.readouterr()
    (tmp_path / "sweep.json").write_text("{oops")
    assert rb.main([*argv, "--resume"]) == 2
    assert "sweep.json" in one_line_error(capsys)
    (tmp_path / "sweep.json").unlink()
    assert rb.main([*argv, "--resume"]) == 2
    assert "no fingerprint" in one_line_error(capsys)


# --- --sweep ranges ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["slope_period=0:1e1000000:1", "slope_period=0:10:1e-1000000",
                                  "slope_period=1e999999999:1e999999999:1"])
def test_a_range_beyond_decimal_arithmetic_is_bad_input(spec, tmp_path, capsys):
    with pytest.raises(OrderFlowError, match="too large or too small"):
        parse_axis(spec, "cvd_trend")
    assert rb.main([str(SMALL_CSV), "--sweep", spec, "--out", str(tmp_path), "--no-plot"]) == 2
    assert "--sweep" in one_line_error(capsys)


# --- --cache-dir ------------------------------------------------------------------------------------------------


CLI = [str(SMALL_CSV), "--bars", "1t", "--param", "slope_period=2", "--no-plot"]


def test_cache_dir_that_is_a_file_is_one_error_line(tmp_path, capsys):
    a_file = tmp_path / "cache"
    a_file.write_text("not a folder")
    for cache_dir in (a_file, a_file / "below"):
        assert rb.main([*CLI, "--cache-dir", str(cache_dir), "--out", str(tmp_path / "out")]) == 2
        err = one_line_error(capsys)
        assert f"{cache_dir}: cannot use this folder for the bar cache" in err and "--no-cache" in err
    assert rb.main([*CLI, "--cache-dir", str(a_file), "--no-cache", "--out", str(tmp_path / "out")]) == 0


def without_root_override() -> list[str]:
    """A command prefix under which root, too, obeys file permissions (Linux ``setpriv`` drops its
    CAP_DAC_OVERRIDE); none for another user; a skip when root has no ``setpriv``."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: a read-only folder cannot be made for this process")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]


def test_read_only_cache_dir_is_one_error_line(tmp_path):
    # a real process that may not write into the folder
    cache = tmp_path / "cache"
    cache.mkdir()
    cache.chmod(0o555)
    try:
        argv = [*without_root_override(), sys.executable, str(REPO / "run_backtest.py"), *CLI, "--cache-dir", str(cache),
                "--out", str(tmp_path / "out")]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith(f"error: {cache}: cannot use this folder for the bar cache"), done.stderr
        assert done.stderr.count("\n") == 1 and "--no-cache" in done.stderr
        assert list(cache.iterdir()) == []
    finally:
        cache.chmod(0o755)


def test_sweep_json_written_by_a_finished_sweep_still_resumes(base, tmp_path):
    # the fingerprint check itself: a finished sweep's sweep.json (status done) resumes with nothing to run
    sweep(base, AXES, out=tmp_path, executor=SerialExecutor(), stats=False)
    assert json.loads((tmp_path / "sweep.json").read_text())["status"] == "done"
    assert sweep(base, AXES, out=tmp_path, executor=SerialExecutor(), resume=True, stats=False).ran == 0
