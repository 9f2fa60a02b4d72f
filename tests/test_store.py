"""The tick store (data.store.dataset): import, info, pruned reads, re-import, an import killed
between write and rename, a corrupt source file, symbols, and bars streamed from it."""
from __future__ import annotations

import os
import shutil
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
    store.import_sources([tmp_path / "again.parquet"], symbol="ES", progress=False, replace=True)
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
    killed = _import_in_subprocess([str(store_dir), str(tmp_path / "other.parquet"), "--symbol", "ES", "--replace"],
                                   crash=True)
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
    again = _import_in_subprocess([str(store_dir), str(tmp_path / "other.parquet"), "--symbol", "ES", "--replace"],
                                  crash=False)
    assert again.returncode == 0
    assert list(store_dir.rglob("*.tmp")) == []
    np.testing.assert_array_equal(load_ticks(store_dir)["price"], other["price"])


def test_symbols_in_a_store_are_never_mixed(tmp_path):
    paths, _ = day_files(tmp_path / "src", n_days=1)
    store = TickStore.create(tmp_path / "store")
    store.import_sources(paths, symbol="ES", progress=False)
    store.import_sources(paths[:1], symbol="NQ", progress=False)
    with pytest.raises(OrderFlowError, match=r"2 symbols: ES \(2,000 rows\), NQ \(2,000 rows\)"):
        load_ticks(tmp_path / "store")
    with pytest.raises(OrderFlowError, match=r"no ticks of symbol 'YM': it holds ES \(2,000 rows\), NQ \(2,000 rows\)"):
        load_ticks(tmp_path / "store", symbol="YM")
    assert len(load_ticks(tmp_path / "store", symbol="NQ")) == 2000
    with pytest.raises(OrderFlowError, match="--symbol"):
        store.import_sources(paths, progress=False)  # no symbol column, no symbol given
    assert main(["info", str(tmp_path / "nothing")]) == 2


# --- all or nothing: an import writes every day it was given, whole, or changes nothing ---------------------


def minute_ticks(first: str, n: int, price0: float = 100.0, symbol: str | None = None) -> pd.DataFrame:
    """``n`` ticks one minute apart from ``first`` (UTC), prices 0.25 apart, every row distinct."""
    frame = pd.DataFrame({
        "timestamp": pd.date_range(first, periods=n, freq="1min", tz="UTC"),
        "price": price0 + 0.25 * np.arange(n),
        "size": np.ones(n),
        "side": np.where(np.arange(n) % 2 == 0, 1, -1).astype(np.int8),
    })
    if symbol is not None:
        frame["symbol"] = symbol
    return frame


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    frame.assign(timestamp=frame["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")).to_csv(path, index=False)
    return path


def store_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err and "usage:" not in err
    return lines[0]


@pytest.fixture
def full_day(tmp_path, capsys):
    """A store holding 2024-03-01 of ES: 1,000 ticks, one a minute from 00:00 to 16:39."""
    day = minute_ticks("2024-03-01 00:00", 1000)
    write_csv(day, tmp_path / "full_d1.csv")
    status, out, _ = store_cli(["import", str(tmp_path / "st"), str(tmp_path / "full_d1.csv"), "--symbol", "ES",
                                "--quiet"], capsys)
    assert status == 0 and "imported 1,000 ticks into 1 day(s)" in out
    return day


def assert_day_unchanged(store: Path, day: pd.DataFrame) -> None:
    got = load_ticks(store)
    np.testing.assert_array_equal(got["timestamp"].to_numpy(), day["timestamp"].to_numpy())
    np.testing.assert_array_equal(got["price"], day["price"])
    assert list(store.rglob("*.tmp")) == []


@pytest.mark.parametrize("damage", ["truncated_parquet", "bad_row_csv", "truncated_csv"])
def test_a_damaged_source_leaves_the_day_as_it_was(tmp_path, capsys, full_day, damage):
    write_csv(full_day.iloc[:500], tmp_path / "half_a.csv")
    second = full_day.iloc[500:]
    if damage == "truncated_parquet":
        bad = tmp_path / "half_b.parquet"
        second.to_parquet(bad, index=False)
        bad.write_bytes(bad.read_bytes()[: bad.stat().st_size // 2])
    elif damage == "bad_row_csv":
        bad = write_csv(second, tmp_path / "half_b.csv")
        lines = bad.read_text().splitlines()
        fields = lines[3].split(",")
        lines[3] = ",".join([fields[0], "abc", *fields[2:]])  # data row 3: a price that is not a number
        bad.write_text("\n".join(lines) + "\n")
    else:
        bad = write_csv(second, tmp_path / "half_b.csv")
        text = bad.read_text()
        bad.write_text(text[: len(text) - 30])  # cut inside the last row
    status, out, err = store_cli(["import", str(tmp_path / "st"), str(tmp_path / "half_a.csv"), str(bad),
                                  "--symbol", "ES", "--quiet"], capsys)
    line = one_error_line(err)
    assert status == 2 and str(bad) in line and "nothing was written" in line
    if damage == "bad_row_csv":
        assert "row 3" in line
    assert "imported" not in out
    assert_day_unchanged(tmp_path / "st", full_day)


def test_a_corrupt_source_fails_the_import_by_name_and_writes_nothing(tmp_path, capsys):
    paths, _ = day_files(tmp_path / "src", n_days=3)
    paths[1].write_bytes(b"PAR1 this is not parquet")
    status, _, err = store_cli(["import", str(tmp_path / "store"), str(tmp_path / "src"), "--symbol", "ES",
                                "--quiet"], capsys)
    assert status == 2 and str(paths[1]) in one_error_line(err)
    assert not (tmp_path / "store").exists()  # a new store is not left behind, not even empty


def test_a_failed_import_writes_no_day_of_any_source(tmp_path, capsys, full_day):
    sources = [write_csv(minute_ticks(f"2024-03-0{d} 00:00", 100, symbol="ES"), tmp_path / f"d{d}.csv")
               for d in (2, 3, 4)]
    sources.append(write_csv(minute_ticks("2024-03-05 00:00", 100, symbol="NQ"), tmp_path / "nq_later.csv"))
    args = ["import", str(tmp_path / "st"), *map(str, sources), "--quiet"]
    status, _, err = store_cli(args, capsys)
    assert status == 2 and "several symbols" in one_error_line(err)
    assert TickStore(tmp_path / "st").info()["date"].tolist() == ["2024-03-01"]
    assert_day_unchanged(tmp_path / "st", full_day)
    # into a new store: no folder at all
    status, _, err = store_cli(["import", str(tmp_path / "new"), *args[2:]], capsys)
    assert status == 2 and not (tmp_path / "new").exists()


def test_all_days_are_renamed_only_after_every_source_was_read(tmp_path, monkeypatch):
    """Each day is written aside as the stream passes it; none replaces a store file before the last source is read."""
    paths, _ = day_files(tmp_path / "src", n_days=3)
    store = TickStore.create(tmp_path / "store")
    renamed: list[str] = []
    real_replace = os.replace

    def replace(src, dst):
        renamed.append(str(dst))
        return real_replace(src, dst)

    seen_files: list[int] = []
    original = store_module.TickStore._stage_day

    def stage(self, *args, **kwargs):
        seen_files.append(len(renamed))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(store_module.os, "replace", replace)
    monkeypatch.setattr(store_module.TickStore, "_stage_day", stage)
    report = store.import_sources(paths, symbol="ES", progress=False)
    assert seen_files == [0, 0, 0]  # three days staged while nothing was renamed
    assert len(renamed) == 3 and [d["date"] for d in report["days"]] == ["2024-01-02", "2024-01-03", "2024-01-04"]


def test_a_rename_failing_midway_says_which_days_were_written(tmp_path, monkeypatch):
    paths, _ = day_files(tmp_path / "src", n_days=3)
    store = TickStore.create(tmp_path / "store")
    real_replace = os.replace
    calls = []

    def replace(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(28, "No space left on device", str(dst))
        return real_replace(src, dst)

    monkeypatch.setattr(store_module.os, "replace", replace)
    with pytest.raises(OrderFlowError) as caught:
        store.import_sources(paths, symbol="ES", progress=False)
    text = str(caught.value)
    assert "No space left on device" in text
    assert "written: ES 2024-01-02" in text and "not written: ES 2024-01-03, ES 2024-01-04" in text
    monkeypatch.undo()
    assert store.info()["date"].tolist() == ["2024-01-02"]
    assert list((tmp_path / "store").rglob("*.tmp")) == []


# --- a re-import that covers less of a day: refused, or --replace, or --merge ------------------------------


def test_a_reimport_covering_less_of_a_day_is_refused_saying_what_it_would_drop(tmp_path, capsys, full_day):
    later = write_csv(minute_ticks("2024-03-01 12:00", 280, price0=500.0), tmp_path / "from_noon.csv")
    status, out, err = store_cli(["import", str(tmp_path / "st"), str(later), "--symbol", "ES", "--quiet"], capsys)
    line = one_error_line(err)
    assert status == 2
    # the day holds 00:00 .. 16:39; the import 12:00 .. 16:39: the 720 ticks from 00:00 to 11:59 would go
    assert "ES 2024-03-01" in line and "1,000 ticks from 00:00:00 to 16:39:00" in line
    assert "drop 720 ticks (00:00:00 to 11:59:00)" in line and "--replace" in line and "--merge" in line
    assert_day_unchanged(tmp_path / "st", full_day)
    # --replace: the day is the import's
    status, out, _ = store_cli(["import", str(tmp_path / "st"), str(later), "--symbol", "ES", "--quiet",
                                "--replace"], capsys)
    assert status == 0 and "replaced 1" in out
    got = load_ticks(tmp_path / "st")
    assert len(got) == 280 and str(got["timestamp"].iloc[0]) == "2024-03-01 12:00:00+00:00"


def test_a_reimport_covering_the_whole_day_replaces_it_without_asking(tmp_path, capsys, full_day):
    wider = write_csv(minute_ticks("2024-02-29 23:00", 1200, price0=300.0), tmp_path / "wider.csv")
    status, out, _ = store_cli(["import", str(tmp_path / "st"), str(wider), "--symbol", "ES", "--quiet"], capsys)
    assert status == 0
    info = TickStore(tmp_path / "st").info()
    assert info["date"].tolist() == ["2024-02-29", "2024-03-01"] and info["rows"].tolist() == [60, 1140]


def test_merge_adds_the_new_rows_and_drops_the_ones_the_day_holds(tmp_path, capsys, full_day):
    # 12:00 .. 18:59: the 280 ticks 12:00 .. 16:39 are the day's own, 140 from 16:40 are new
    overlap = full_day.iloc[720:].copy()
    extra = minute_ticks("2024-03-01 16:40", 140, price0=1000.0)
    write_csv(pd.concat([overlap, extra], ignore_index=True), tmp_path / "noon_to_7.csv")
    status, out, _ = store_cli(["import", str(tmp_path / "st"), str(tmp_path / "noon_to_7.csv"), "--symbol", "ES",
                                "--quiet", "--merge"], capsys)
    assert status == 0 and "merged 1" in out and "140 new ticks, 280 already there" in out
    got = load_ticks(tmp_path / "st")
    assert len(got) == 1140
    want = pd.concat([full_day, extra], ignore_index=True)
    np.testing.assert_array_equal(got["timestamp"].to_numpy(), want["timestamp"].to_numpy())
    np.testing.assert_array_equal(got["price"], want["price"])


def test_merge_keeps_identical_trades_as_often_as_either_side_has_them(tmp_path):
    """Without trade ids a row equal in every column is the same trade; two identical trades stay two."""
    store = TickStore.create(tmp_path / "st")
    base = minute_ticks("2024-03-01 10:00", 3)
    twice = pd.concat([base, base.iloc[[1]]]).sort_values("timestamp", kind="stable", ignore_index=True)
    twice.to_parquet(tmp_path / "a.parquet", index=False)  # 10:00, 10:01, 10:01, 10:02
    store.import_sources([tmp_path / "a.parquet"], symbol="ES", progress=False)
    thrice = pd.concat([base.iloc[[1, 1, 1]], minute_ticks("2024-03-01 10:05", 1, price0=7.0)], ignore_index=True)
    thrice.to_parquet(tmp_path / "b.parquet", index=False)  # 10:01 three times, 10:05 new
    report = store.import_sources([tmp_path / "b.parquet"], symbol="ES", progress=False, merge=True)
    got = load_ticks(tmp_path / "st")
    assert got["timestamp"].dt.strftime("%H:%M").tolist() == ["10:00", "10:01", "10:01", "10:01", "10:02", "10:05"]
    assert report["days"][0] == {"symbol": "ES", "date": "2024-03-01", "ticks": 4, "rows": 6, "how": "merged",
                                 "added": 2, "already": 2}


def test_replace_and_merge_together_are_refused(tmp_path, capsys, full_day):
    status, _, err = store_cli(["import", str(tmp_path / "st"), str(tmp_path / "full_d1.csv"), "--symbol", "ES",
                                "--replace", "--merge"], capsys)
    assert status == 2 and "--replace" in one_error_line(err)


# --- reading: the schema and the names the store writes, nothing else ------------------------------------


def test_a_day_file_of_another_schema_is_an_error_naming_it(tmp_path, capsys, full_day):
    day_file = tmp_path / "st" / "symbol=ES" / "date=2024-03-01" / "ticks.parquet"
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(day_file)
    table = table.set_column(0, "timestamp", table.column("timestamp").cast(pa.timestamp("us", tz="UTC")))
    pq.write_table(table, day_file)
    with pytest.raises(OrderFlowError, match=r"timestamp\[us, tz=UTC\].*timestamp\[ns, tz=UTC\]") as caught:
        load_ticks(tmp_path / "st")
    assert str(day_file) in str(caught.value)
    status, _, err = store_cli(["info", str(tmp_path / "st")], capsys)
    assert status == 2 and str(day_file) in one_error_line(err)


@pytest.mark.parametrize("stray, named", [
    ("symbol=ES/date=2024-03-01/ticks.parquet.bak", "symbol=ES/date=2024-03-01/ticks.parquet.bak"),
    ("symbol=ES/notes.txt", "symbol=ES/notes.txt"),
    ("symbol=ES/date=2024-3-1/ticks.parquet", "symbol=ES/date=2024-3-1"),
    ("symbol=ES/date=2024-02-30/ticks.parquet", "symbol=ES/date=2024-02-30"),
    ("stray.parquet", "stray.parquet"),
    ("symbol=E S/date=2024-03-01/ticks.parquet", "symbol=E S"),
    ("symbol=ES/date=2024-03-01/more/ticks.parquet", "symbol=ES/date=2024-03-01/more")])
def test_a_file_the_store_did_not_write_is_an_error_naming_it(tmp_path, capsys, full_day, stray, named):
    path = tmp_path / "st" / stray
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((tmp_path / "st" / "symbol=ES" / "date=2024-03-01" / "ticks.parquet").read_bytes())
    with pytest.raises(OrderFlowError, match="not a file this store writes") as caught:
        load_ticks(tmp_path / "st", symbol="ES")
    assert str(caught.value).startswith(f"{tmp_path / 'st' / named}: ")
    status, _, err = store_cli(["info", str(tmp_path / "st")], capsys)
    assert status == 2 and f"{tmp_path / 'st' / named}: " in one_error_line(err)


def test_hidden_files_in_a_store_are_never_read(tmp_path, full_day):
    part = tmp_path / "st" / "symbol=ES" / "date=2024-03-01"
    (part / ".DS_Store").write_bytes(b"\0junk")
    (part / ".ticks.parquet.99999999.abcdef12.tmp").write_bytes((part / "ticks.parquet").read_bytes())
    assert len(load_ticks(tmp_path / "st")) == 1000


def test_a_corrupt_day_file_is_an_error_naming_it_in_info_and_in_runs(tmp_path, capsys, full_day):
    import io
    from contextlib import redirect_stderr, redirect_stdout

    import run_backtest

    day_file = tmp_path / "st" / "symbol=ES" / "date=2024-03-01" / "ticks.parquet"
    day_file.write_bytes(b"PAR1" + b"\0" * 100 + b"PAR1")
    status, _, err = store_cli(["info", str(tmp_path / "st")], capsys)
    assert status == 2 and str(day_file) in one_error_line(err)
    out, err_io = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err_io):
        status = run_backtest.main([str(tmp_path / "st"), "--out", str(tmp_path / "out"), "--no-cache"])
    assert status == 2 and str(day_file) in one_error_line(err_io.getvalue())


def test_a_corrupt_row_group_is_an_error_naming_the_file(tmp_path, full_day):
    day_file = tmp_path / "st" / "symbol=ES" / "date=2024-03-01" / "ticks.parquet"
    data = bytearray(day_file.read_bytes())
    data[4:200] = b"\xff" * 196  # the first pages' bytes; the footer is whole
    day_file.write_bytes(bytes(data))
    with pytest.raises(OrderFlowError) as caught:
        load_ticks(tmp_path / "st")
    assert str(day_file) in str(caught.value)


# --- the command line: one error line, exit status 2, nothing created -------------------------------------


@pytest.mark.parametrize("argv", [[], ["import"], ["import", "ST"], ["export", "ST"], ["import", "ST", "SRC", "--nope"],
                                  ["info"]])
def test_argument_errors_are_one_line_and_create_nothing(tmp_path, capsys, argv):
    argv = [str(tmp_path / "st") if a == "ST" else str(tmp_path) if a == "SRC" else a for a in argv]
    status, out, err = store_cli(argv, capsys)
    assert status == 2 and one_error_line(err) and out == ""
    assert not (tmp_path / "st").exists()


def test_help_still_prints(capsys):
    status, out, _ = store_cli(["import", "--help"], capsys)
    assert status == 0 and "--replace" in out and "--merge" in out


@pytest.mark.parametrize("option, words", [(["--format", "nosuch"], "unknown format 'nosuch'"),
                                           (["--tz", "Mars/Phobos"], "unknown time zone 'Mars/Phobos'"),
                                           (["--symbol", "E" * 300], "--symbol"),
                                           (["--symbol", ""], "--symbol")])
def test_bad_options_are_one_line_and_create_nothing(tmp_path, capsys, option, words):
    paths, _ = day_files(tmp_path / "src", n_days=2)
    status, out, err = store_cli(["import", str(tmp_path / "st"), str(tmp_path / "src"), "--quiet", *option], capsys)
    assert status == 2 and words in one_error_line(err)
    assert not (tmp_path / "st").exists()


def test_a_missing_source_creates_nothing(tmp_path, capsys):
    paths, _ = day_files(tmp_path / "src", n_days=1)
    status, _, err = store_cli(["import", str(tmp_path / "new" / "deep" / "st"), str(paths[0]),
                                str(tmp_path / "nope.csv"), "--symbol", "ES", "--quiet"], capsys)
    assert status == 2 and "nope.csv: file not found" in one_error_line(err)
    assert not (tmp_path / "new").exists()
    (tmp_path / "empty").mkdir()  # a folder that was there stays, empty
    status, _, err = store_cli(["import", str(tmp_path / "empty"), str(tmp_path / "nope.csv"), "--symbol", "ES"],
                               capsys)
    assert status == 2 and list((tmp_path / "empty").iterdir()) == []


def test_the_module_command_prints_one_line_for_a_usage_error(tmp_path):
    done = subprocess.run([sys.executable, "-m", "data.store", "import", str(tmp_path / "st")], cwd=REPO,
                          env=dict(os.environ, PYTHONPATH=str(REPO)), capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and one_error_line(done.stderr) and not (tmp_path / "st").exists()


def _as_another_user(args: list[str]) -> subprocess.CompletedProcess:
    """``python -m data.store ARGS`` as an unprivileged user (root writes through any mode bits)."""
    prefix: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv to run the import as another user")
        prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    return subprocess.run([*prefix, sys.executable, "-m", "data.store", *args, "--quiet"], cwd=REPO,
                          env=dict(os.environ, PYTHONPATH=str(REPO)), capture_output=True, text=True, timeout=120)


def test_a_read_only_store_or_parent_is_one_error_line(tmp_path):
    import tempfile

    with tempfile.TemporaryDirectory(dir="/tmp") as base:
        base = Path(base)
        os.chmod(base, 0o755)
        day = minute_ticks("2024-03-01 00:00", 10)
        source = write_csv(day, base / "d.csv")
        store = base / "st"
        TickStore.create(store).import_sources([source], symbol="ES", progress=False)
        for path in (store, *store.rglob("*")):
            os.chmod(path, 0o555 if path.is_dir() else 0o444)
        os.chmod(source, 0o444)
        later = write_csv(minute_ticks("2024-03-02 00:00", 10), base / "d2.csv")
        os.chmod(later, 0o444)
        done = _as_another_user(["import", str(store), str(later), "--symbol", "ES"])
        assert done.returncode == 2 and "Permission denied" in one_error_line(done.stderr)
        assert str(store) in done.stderr
        parent = base / "locked"
        parent.mkdir(mode=0o555)
        os.chmod(parent, 0o555)
        done = _as_another_user(["import", str(parent / "st"), str(later), "--symbol", "ES"])
        assert done.returncode == 2 and "Permission denied" in one_error_line(done.stderr)
        assert str(parent / "st") in done.stderr
        for path in (store, *store.rglob("*")):
            os.chmod(path, 0o755)


# --- symbols and rejected rows ----------------------------------------------------------------------------


def test_a_symbol_the_files_do_not_hold_is_an_error_listing_theirs(tmp_path, capsys):
    write_csv(minute_ticks("2024-03-01 00:00", 30, symbol="ES"), tmp_path / "a.csv")
    write_csv(minute_ticks("2024-03-02 00:00", 20, symbol="ES"), tmp_path / "b.csv")
    status, out, err = store_cli(["import", str(tmp_path / "st"), str(tmp_path / "a.csv"), str(tmp_path / "b.csv"),
                                  "--symbol", "NQ", "--quiet"], capsys)
    line = one_error_line(err)
    assert status == 2 and "no ticks of symbol 'NQ'" in line and "ES (50 rows)" in line
    assert not (tmp_path / "st").exists()


def test_drop_bad_rows_prints_the_rejected_counts(tmp_path, capsys):
    path = write_csv(minute_ticks("2024-03-01 00:00", 10), tmp_path / "a.csv")
    lines = path.read_text().splitlines()
    lines[2] = lines[2].replace(",100", ",-100", 1)  # a negative price
    lines[5] = lines[5].replace(",1.0,", ",-3,", 1)  # a negative size
    path.write_text("\n".join(lines) + "\n")
    status, out, _ = store_cli(["import", str(tmp_path / "st"), str(path), "--symbol", "ES", "--quiet",
                                "--drop-bad-rows"], capsys)
    assert status == 0 and "imported 8 ticks" in out
    assert "Rejected: 1 non positive price, 1 negative size." in out


def test_the_import_prints_its_load_report_with_overlaps(tmp_path, capsys):
    write_csv(minute_ticks("2024-03-01 00:00", 10), tmp_path / "a.csv")  # 00:00 .. 00:09
    write_csv(minute_ticks("2024-03-01 00:05", 10, price0=50.0), tmp_path / "b.csv")  # 00:05 .. 00:14
    status, out, _ = store_cli(["import", str(tmp_path / "st"), str(tmp_path / "a.csv"), str(tmp_path / "b.csv"),
                                "--symbol", "ES", "--quiet", "--allow-overlap"], capsys)
    assert status == 0
    assert out.splitlines() == [
        f"Read 2 files ({tmp_path / 'a.csv'} and 1 more): 20 rows, 20 kept in the window.",
        "  a.csv: 10 read, 10 kept",
        "  b.csv: 10 read, 10 kept",
        "Overlap: a.csv and b.csv from 2024-03-01 00:05:00+00:00 to 2024-03-01 00:09:00+00:00 (the rows of both kept).",
        f"imported 20 ticks into 1 day(s) of {tmp_path / 'st'} (1 new)",
    ]
