"""The tick store (data.store.dataset): import, info, pruned reads, re-import, an import killed
between write and rename, a corrupt source file, symbols, and bars streamed from it."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data import OrderFlowError, load_ticks, make_bars, scan_ticks
from data.store import dataset as store_module
from data.store.dataset import CRASH_ENV, TickStore, main
from tests.benchmarks.common import synthetic_ticks

REPO = Path(__file__).resolve().parents[1]


def day_files(folder: Path, n_days: int = 3, per_day: int = 2_000, seed: int = 7) -> tuple[list[Path], pd.DataFrame]:
    """Parquet files of canonical ticks, one per UTC day (about 40 s of trading each)."""
    folder.mkdir(parents=True, exist_ok=True)
    frames, paths = [], []
    for day in range(n_days):
        ticks = synthetic_ticks(per_day, seed=seed + day)
        ticks["timestamp"] += pd.Timedelta(days=day)
        path = folder / f"es-{day:02d}.parquet"
        ticks.to_parquet(path, index=False)
        frames.append(ticks)
        paths.append(path)
    return paths, pd.concat(frames, ignore_index=True)


@pytest.fixture
def small_groups(monkeypatch):
    monkeypatch.setattr(store_module, "ROW_GROUP_ROWS", 500)


def test_import_info_and_pruned_reads(tmp_path, small_groups, capsys):
    paths, ticks = day_files(tmp_path / "src")
    assert main(["import", str(tmp_path / "store"), str(tmp_path / "src"), "--symbol", "ES", "--quiet"]) == 0
    assert "imported 6,000 ticks into 3 day(s)" in capsys.readouterr().out
    info = TickStore(tmp_path / "store").info()
    assert info["date"].tolist() == ["2024-01-02", "2024-01-03", "2024-01-04"]
    assert info["rows"].tolist() == [2000] * 3 and info["row_groups"].tolist() == [4] * 3
    assert main(["info", str(tmp_path / "store")]) == 0
    assert "ES" in capsys.readouterr().out
    whole = load_ticks(tmp_path / "store")
    pd.testing.assert_frame_equal(whole, ticks, check_exact=True)  # sorted, every column, nothing lost
    # one day, and inside it the row groups of a 5-second window only
    day2 = ticks[ticks["timestamp"].dt.day == 3]
    lo, hi = day2["timestamp"].iloc[600], day2["timestamp"].iloc[900]
    window = load_ticks(tmp_path / "store", start=lo, end=hi)
    report = window.attrs["load_report"]
    assert (report["files_read"], report["files_total"]) == (1, 3)
    assert report["row_groups_read"] == 1 and report["row_groups_total"] == 4  # rows 600..899 are in group 500..999
    expected = ticks[(ticks["timestamp"] >= lo) & (ticks["timestamp"] < hi)]
    assert len(window) == len(expected) == 300
    np.testing.assert_array_equal(window["price"], expected["price"])


def test_bars_streamed_from_the_store_equal_in_memory(tmp_path, small_groups):
    day_files(tmp_path / "src")
    TickStore.create(tmp_path / "store").import_sources([tmp_path / "src"], symbol="ES", progress=False)
    ticks = load_ticks(tmp_path / "store")
    for spec in ("1s", "100t", "37v"):
        want = make_bars(ticks, spec, tick_size=0.25)
        got = make_bars(scan_ticks(tmp_path / "store", batch_rows=333), spec, tick_size=0.25)
        pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12)


def test_reimport_replaces_a_day_whole(tmp_path):
    paths, ticks = day_files(tmp_path / "src", n_days=2)
    store = TickStore.create(tmp_path / "store")
    store.import_sources(paths, symbol="ES", progress=False)
    changed = synthetic_ticks(500, seed=99)  # day 1 again, other trades
    changed.to_parquet(tmp_path / "again.parquet", index=False)
    store.import_sources([tmp_path / "again.parquet"], symbol="ES", progress=False)
    info = store.info()
    assert info["rows"].tolist() == [500, 2000]
    day1 = load_ticks(tmp_path / "store", end="2024-01-02")
    np.testing.assert_array_equal(day1["price"], changed["price"])
    assert list((tmp_path / "store").rglob("*.tmp")) == []


def _import_in_subprocess(args: list[str], crash: bool) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    if crash:
        env[CRASH_ENV] = "1"
    return subprocess.run([sys.executable, "-m", "data.store", "import", *args, "--quiet"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


def test_import_killed_between_write_and_rename_leaves_no_half_day(tmp_path):
    paths, ticks = day_files(tmp_path / "src", n_days=1)
    store_dir = tmp_path / "store"
    assert _import_in_subprocess([str(store_dir), str(paths[0]), "--symbol", "ES"], crash=False).returncode == 0
    before = load_ticks(store_dir)
    other = synthetic_ticks(700, seed=5)
    other.to_parquet(tmp_path / "other.parquet", index=False)
    killed = _import_in_subprocess([str(store_dir), str(tmp_path / "other.parquet"), "--symbol", "ES"], crash=True)
    assert killed.returncode == -signal.SIGKILL
    leftovers = list(store_dir.rglob(".ticks.parquet.*.tmp"))
    assert len(leftovers) == 1  # the new day, written aside, never renamed
    after = load_ticks(store_dir)
    pd.testing.assert_frame_equal(after, before)  # readers see the old day whole
    # a killed first import of a day leaves no day at all
    other.assign(timestamp=other["timestamp"] + pd.Timedelta(days=5)).to_parquet(tmp_path / "later.parquet", index=False)
    _import_in_subprocess([str(store_dir), str(tmp_path / "later.parquet"), "--symbol", "ES"], crash=True)
    assert TickStore(store_dir).info()["date"].tolist() == ["2024-01-02"]
    # the next import removes the leftovers and replaces the day
    assert _import_in_subprocess([str(store_dir), str(tmp_path / "other.parquet"), "--symbol", "ES"], crash=False).returncode == 0
    assert list(store_dir.rglob("*.tmp")) == []
    np.testing.assert_array_equal(load_ticks(store_dir)["price"], other["price"])


def test_corrupt_source_is_reported_by_name_and_the_rest_imports(tmp_path, capsys):
    paths, ticks = day_files(tmp_path / "src", n_days=3)
    paths[1].write_bytes(b"PAR1 this is not parquet")
    status = main(["import", str(tmp_path / "store"), str(tmp_path / "src"), "--symbol", "ES", "--quiet"])
    captured = capsys.readouterr()
    assert status == 1
    assert f"failed: {paths[1]}" in captured.err
    assert TickStore(tmp_path / "store").info()["date"].tolist() == ["2024-01-02", "2024-01-04"]


def test_symbols_in_a_store_are_never_mixed(tmp_path):
    paths, _ = day_files(tmp_path / "src", n_days=1)
    store = TickStore.create(tmp_path / "store")
    store.import_sources(paths, symbol="ES", progress=False)
    store.import_sources(paths[:1], symbol="NQ", progress=False)
    with pytest.raises(OrderFlowError, match=r"2 symbols: ES \(2,000 rows\), NQ \(2,000 rows\)"):
        load_ticks(tmp_path / "store")
    with pytest.raises(OrderFlowError, match="no symbol 'YM'"):
        load_ticks(tmp_path / "store", symbol="YM")
    assert len(load_ticks(tmp_path / "store", symbol="NQ")) == 2000
    with pytest.raises(OrderFlowError, match="--symbol"):
        store.import_sources(paths, progress=False)  # no symbol column, no symbol given
    assert main(["info", str(tmp_path / "nothing")]) == 2
