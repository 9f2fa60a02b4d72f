"""s3:// paths wherever a local path goes (data.storage): files, folders, globs, lists, tick stores
(read, and written by ``python -m data.store import``), the bar cache and the command line, against a
real S3-compatible server on localhost (moto's, in a process of its own: tests/s3_server.py), whose
request log the tests count: reads of a store are pruned by partition and time as on disk, and every
object is written once, at its final key."""
from __future__ import annotations

import glob
import io
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from data import OrderFlowError, cached_bars, load_quotes, load_ticks, make_bars, scan_ticks
from data.storage import S3Path, as_path, current_endpoint, glob_paths, s3_endpoint
from data.store import dataset as store_module
from data.store.dataset import TickStore, main
from tests.benchmarks.common import synthetic_ticks
from tests.conftest import FIXTURES

REPO = Path(__file__).resolve().parents[1]
DAY_KEYS = [f"symbol=ES/date=2024-01-0{d}/ticks.parquet" for d in (2, 3, 4)]


def upload_tree(server, folder: Path, uri: str) -> None:
    """Every file below ``folder`` (hidden ones too) at ``uri/<its path relative to folder>``."""
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            server.put(f"{uri}/{path.relative_to(folder).as_posix()}", path.read_bytes())


def day_files(folder: Path, n_days: int = 3, per_day: int = 2_000) -> tuple[list[Path], pd.DataFrame]:
    """Parquet files of canonical ticks, one per UTC day from 2024-01-02 (as tests/test_store.py makes them)."""
    folder.mkdir(parents=True, exist_ok=True)
    frames, paths = [], []
    for day in range(n_days):
        ticks = synthetic_ticks(per_day, seed=7 + day)
        ticks["timestamp"] += pd.Timedelta(days=day)
        path = folder / f"es-{day:02d}.parquet"
        ticks.to_parquet(path, index=False)
        frames.append(ticks)
        paths.append(path)
    return paths, pd.concat(frames, ignore_index=True)


def objects_read(requests, suffix: str = "") -> list:
    """The GET requests of objects (not listings) whose keys end with ``suffix``."""
    return [r for r in requests if r.method == "GET" and r.key and r.key.endswith(suffix)]


def uploads(requests) -> Counter:
    """How many times each key was written whole: a PUT of the object, or the completion of a
    multipart upload (the POST with ``uploadId``); parts and copies counted apart."""
    done = Counter()
    for r in requests:
        if (r.method == "PUT" and r.key and "partNumber" not in r.query) or (r.method == "POST" and "uploadId=" in r.query):
            done[r.key] += 1
    return done


@pytest.fixture
def small_groups(monkeypatch):
    monkeypatch.setattr(store_module, "ROW_GROUP_ROWS", 500)


# --------------------------------------------------------------------------- files, folders, globs


def test_a_tick_file_on_s3_loads_as_the_same_file_on_disk(s3):
    bucket = s3.new_bucket()
    uri = f"s3://{bucket}/in/ticks_small.csv"
    s3.put(uri, (FIXTURES / "ticks_small.csv").read_bytes())
    got = load_ticks(uri)
    pd.testing.assert_frame_equal(got, load_ticks(FIXTURES / "ticks_small.csv"), check_exact=True)
    # the fixture's ten trades: 30 units, buys 2+3+2+6+2.5 = 15.5, sells 5+1.5+3+1 = 10.5
    assert got["size"].sum() == 30.0 and (got["size"] * got["side"]).sum() == 5.0
    assert got.attrs["load_report"]["source"] == uri
    bars = make_bars(uri, "1min")  # a file streamed as a source
    assert bars["volume"].sum() == 30.0 and bars["delta"].sum() == 5.0


def test_errors_about_files_on_s3_name_the_uri(s3):
    bucket = s3.new_bucket()
    s3.put(f"s3://{bucket}/bad.csv", b"timestamp,price,size,side\n2024-03-01T09:30:05Z,100,1,1\n"
                                      b"2024-03-01T09:30:06Z,abc,1,1\n")
    with pytest.raises(OrderFlowError) as caught:
        load_ticks(f"s3://{bucket}/bad.csv")
    assert str(caught.value) == f"s3://{bucket}/bad.csv, column 'price', row 2: unparseable number (value 'abc')"
    with pytest.raises(OrderFlowError, match=rf"^s3://{bucket}/none\.csv: file not found$"):
        load_ticks(f"s3://{bucket}/none.csv")
    with pytest.raises(OrderFlowError, match=r"^s3://no-such-bucket-9f3/x\.csv: no bucket named 'no-such-bucket-9f3'"):
        load_ticks("s3://no-such-bucket-9f3/x.csv")
    with pytest.raises(OrderFlowError, match=rf"^s3://{bucket}/none/\*\.csv: no file matches the pattern$"):
        load_ticks(f"s3://{bucket}/none/*.csv")


def test_an_unreachable_endpoint_is_one_error_naming_the_path(s3_server, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # the discard port: nothing listens
    with pytest.raises(OrderFlowError) as caught:
        load_ticks("s3://bucket/ticks.csv")
    text = str(caught.value)
    assert text.startswith("s3://bucket/ticks.csv: cannot read the object store at http://127.0.0.1:9 (")
    assert "--s3-endpoint / AWS_ENDPOINT_URL" in text


def test_folders_globs_and_lists_on_s3_follow_the_rules_on_disk(s3, tmp_path):
    local = tmp_path / "src"
    (local / "sub").mkdir(parents=True)
    rows = pd.read_csv(FIXTURES / "ticks_small.csv")
    rows.iloc[:5].to_csv(local / "2024-03-01a.csv", index=False)
    rows.iloc[5:].to_csv(local / "2024-03-01b.csv", index=False)
    rows.to_csv(local / "_old.csv", index=False)  # skipped, said in a note
    rows.to_csv(local / ".hidden.csv", index=False)  # skipped, silently
    rows.to_csv(local / "sub" / "x.csv", index=False)  # a subfolder: skipped, said
    bucket = s3.new_bucket()
    upload_tree(s3, local, f"s3://{bucket}/src")
    remote, on_disk = load_ticks(f"s3://{bucket}/src"), load_ticks(local)
    pd.testing.assert_frame_equal(remote, on_disk, check_exact=True)
    assert len(remote) == 10 and remote["size"].sum() == 30.0
    report = remote.attrs["load_report"]
    assert [f["source"] for f in report["files"]] == [f"s3://{bucket}/src/2024-03-01a.csv", f"s3://{bucket}/src/2024-03-01b.csv"]
    assert report["notes"] == [note.replace(str(local), f"s3://{bucket}/src") for note in on_disk.attrs["load_report"]["notes"]]
    assert report["notes"] == [f"skipped in s3://{bucket}/src: 1 file whose name starts with '_' (_old.csv) and 1 subfolder "
                               "(sub): a folder source reads the files directly in it, except hidden ones and those whose "
                               "names start with '_'"]
    globbed = load_ticks(f"s3://{bucket}/src/2024-03-01[ab].csv")
    pd.testing.assert_frame_equal(globbed, on_disk, check_exact=True)
    listed = load_ticks([f"s3://{bucket}/src/2024-03-01a.csv", local / "2024-03-01b.csv"])  # S3 and disk in one list
    pd.testing.assert_frame_equal(listed, on_disk, check_exact=True)


def test_a_quote_file_on_s3_loads_as_on_disk(s3):
    bucket = s3.new_bucket()
    uri = f"s3://{bucket}/quotes/GLBX.MDP3.mbp-1.dbn.zst"
    s3.put(uri, (FIXTURES / "GLBX.MDP3.mbp-1.dbn.zst").read_bytes())
    got, want = load_quotes(uri), load_quotes(FIXTURES / "GLBX.MDP3.mbp-1.dbn.zst")
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert got.attrs["load_report"]["source"] == uri and len(got) == len(want) > 0


@pytest.mark.parametrize("pattern", ["*.csv", "2024-03-01?.csv", "2024-03-01[!a].csv", "*/x.csv", "s*/*", ".h*",
                                     "*", "2024-*", "sub", "nothing*"])
def test_an_s3_glob_matches_what_glob_matches_on_disk(s3, tmp_path, pattern):
    local = tmp_path / "tree"
    for name in ("2024-03-01a.csv", "2024-03-01b.csv", "_old.csv", ".hidden.csv", "sub/x.csv", "sub/y.txt", "sub/deep/z.csv"):
        (local / name).parent.mkdir(parents=True, exist_ok=True)
        (local / name).write_text("x")
    bucket = s3.new_bucket()
    upload_tree(s3, local, f"s3://{bucket}/tree")
    on_disk = [Path(p).relative_to(local).as_posix() for p in sorted(glob.glob(str(local / pattern)))]
    remote = [p.relative_to(as_path(f"s3://{bucket}/tree")).as_posix() for p in glob_paths(f"s3://{bucket}/tree/{pattern}")]
    assert remote == on_disk


# --------------------------------------------------------------------------- tick stores


def test_import_into_s3_writes_each_day_once_at_its_key(s3_server, tmp_path, small_groups, capsys):
    """``python -m data.store import s3://... --s3-endpoint URL``: the same objects as the files on disk,
    each uploaded once where it belongs, nothing else (no temporary object, no copy, no delete)."""
    _, ticks = day_files(tmp_path / "src")
    bucket = s3_server.new_bucket()
    uri = f"s3://{bucket}/stores/es"
    with s3_server.recording() as requests:
        assert main(["import", uri, str(tmp_path / "src"), "--symbol", "ES", "--quiet",
                     "--s3-endpoint", s3_server.endpoint]) == 0
    assert f"imported 6,000 ticks into 3 day(s) of {uri} (3 new)" in capsys.readouterr().out
    assert s3_server.keys(uri) == ["_store.json", *DAY_KEYS]
    assert uploads(requests) == Counter({f"stores/es/{k}": 1 for k in ["_store.json", *DAY_KEYS]})
    assert not [r for r in requests if r.method == "DELETE"]
    # the objects are the store's day files, as the same import writes them on disk
    assert main(["import", str(tmp_path / "disk"), str(tmp_path / "src"), "--symbol", "ES", "--quiet"]) == 0
    for key in DAY_KEYS:
        on_disk = pq.read_table(tmp_path / "disk" / key)
        assert pq.read_table(io.BytesIO(s3_server.get(f"{uri}/{key}"))).equals(on_disk)
        assert pq.ParquetFile(tmp_path / "disk" / key).metadata.num_row_groups == 4
    with s3_endpoint(s3_server.endpoint):
        pd.testing.assert_frame_equal(load_ticks(uri), ticks, check_exact=True)
        info = TickStore(uri).info()
    assert info["rows"].tolist() == [2000] * 3 and info["row_groups"].tolist() == [4] * 3
    assert main(["info", uri, "--dates", "--s3-endpoint", s3_server.endpoint]) == 0
    assert "2024-01-04" in capsys.readouterr().out


def test_reads_of_a_store_on_s3_are_pruned_by_partition_and_time(s3, tmp_path, monkeypatch):
    """A window inside one row group of one day: the requests touch that day's object only, and read
    its footer and that row group's bytes, nothing more (as on disk: report's files and row groups)."""
    monkeypatch.setattr(store_module, "ROW_GROUP_ROWS", 5_000)
    _, ticks = day_files(tmp_path / "src", per_day=40_000)
    bucket = s3.new_bucket()
    uri = f"s3://{bucket}/store"
    TickStore.create(uri).import_sources([tmp_path / "src"], symbol="ES", progress=False)
    day2 = ticks[ticks["timestamp"].dt.day == 3]
    lo, hi = day2["timestamp"].iloc[6_000], day2["timestamp"].iloc[9_000]
    day_file = as_path(f"{uri}/{DAY_KEYS[1]}")
    size = day_file.stat().st_size
    group = pq.ParquetFile(day_file.open_input_file()).metadata.row_group(1)  # rows 5,000..9,999 of the day
    start = min(group.column(i).dictionary_page_offset or group.column(i).data_page_offset for i in range(group.num_columns))
    length = sum(group.column(i).total_compressed_size for i in range(group.num_columns))
    with s3.recording() as requests:
        window = load_ticks(uri, start=lo, end=hi)
    expected = ticks[(ticks["timestamp"] >= lo) & (ticks["timestamp"] < hi)]
    assert len(window) == len(expected) == 3_000
    np.testing.assert_array_equal(window["price"], expected["price"])
    report = window.attrs["load_report"]
    assert (report["files_read"], report["files_total"], report["row_groups_read"], report["row_groups_total"]) == (1, 3, 1, 8)
    touched = {r.key for r in requests if r.key.endswith("ticks.parquet")}
    assert touched == {f"store/{DAY_KEYS[1]}"}  # no request at all about the other days
    footer, data = objects_read(requests, "ticks.parquet")  # two reads of the object, nothing else
    assert footer.range == f"bytes={size - 65_536}-{size - 1}"  # pyarrow's first footer read: the last 64 KiB
    first, last = (int(b) for b in data.range.removeprefix("bytes=").split("-"))
    # the one row group, in one request (pyarrow before 15 reads a few hundred bytes past its last column chunk)
    assert first == start and start + length - 1 <= last < start + length - 1 + 4096, (data.range, start, length)
    assert footer.range_bytes + data.range_bytes < size / 2  # a day of eight row groups: most of it is never read
    listings = [r for r in requests if r.method == "GET" and not r.key]
    assert len(listings) == 2  # whether the source is a folder, then the store's layout in one listing
    # the whole store: each day's footer and its eight row groups, one request each
    with s3.recording() as requests:
        assert len(load_ticks(uri)) == 120_000
    assert Counter(r.key for r in objects_read(requests, "ticks.parquet")) == Counter({f"store/{k}": 9 for k in DAY_KEYS})


def test_bars_streamed_from_a_store_on_s3_equal_those_from_disk(s3, tmp_path, small_groups):
    day_files(tmp_path / "src")
    bucket = s3.new_bucket()
    TickStore.create(tmp_path / "store").import_sources([tmp_path / "src"], symbol="ES", progress=False)
    TickStore.create(f"s3://{bucket}/store").import_sources([tmp_path / "src"], symbol="ES", progress=False)
    for spec in ("1s", "100t"):
        want = make_bars(scan_ticks(tmp_path / "store", batch_rows=333), spec, tick_size=0.25)
        got = make_bars(scan_ticks(f"s3://{bucket}/store", batch_rows=333), spec, tick_size=0.25)
        pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert want["volume"].sum() == pd.concat([pd.read_parquet(p) for p in sorted((tmp_path / "src").iterdir())])["size"].sum()


def test_a_failed_import_into_s3_writes_no_day(s3_server, tmp_path, capsys):
    day_files(tmp_path / "src", n_days=2)
    (tmp_path / "src" / "es-09.csv").write_text("timestamp,price,size,side\n2024-01-05T00:00:01Z,-1,1,1\n")
    bucket = s3_server.new_bucket()
    uri = f"s3://{bucket}/store"
    with s3_server.recording() as requests:
        status = main(["import", uri, str(tmp_path / "src"), "--symbol", "ES", "--quiet", "--s3-endpoint", s3_server.endpoint])
    assert status == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "es-09.csv" in err and "price must be > 0" in err and "nothing was written" in err
    assert s3_server.keys(uri) == []  # the new store's marker removed again
    assert not [key for key in uploads(requests) if key.endswith("ticks.parquet")]


def test_a_reimport_into_s3_is_refused_or_merged_as_on_disk(s3, tmp_path, capsys):
    _, ticks = day_files(tmp_path / "src", n_days=1)
    part = tmp_path / "part"
    part.mkdir()
    ticks.iloc[100:200].to_parquet(part / "part.parquet", index=False)
    bucket = s3.new_bucket()
    uri = f"s3://{bucket}/store"
    assert main(["import", uri, str(tmp_path / "src"), "--symbol", "ES", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["import", uri, str(part), "--symbol", "ES", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"{uri}/symbol=ES/date=2024-01-02/ticks.parquet" in err and "would drop" in err and "nothing was written" in err
    assert main(["import", uri, str(part), "--symbol", "ES", "--quiet", "--merge"]) == 0
    assert "merged 1: 0 new ticks, 100 already there" in capsys.readouterr().out
    pd.testing.assert_frame_equal(load_ticks(uri), ticks, check_exact=True)


def test_an_upload_failing_midway_says_which_days_were_written(s3, tmp_path, monkeypatch, capsys):
    """The second day's upload fails (the store refusing it): the error lists the day uploaded and those
    not, the first day is in the bucket whole, nothing else is; the next import finishes the job."""
    day_files(tmp_path / "src")
    bucket = s3.new_bucket()
    uri = f"s3://{bucket}/store"
    real, calls = S3Path.upload, []

    def refuse_the_second_day(path, local):
        calls.append(path.name)
        if path.name == "ticks.parquet" and calls.count("ticks.parquet") == 2:
            raise OSError("When uploading part for key 'x': AWS Error ACCESS_DENIED")
        return real(path, local)

    monkeypatch.setattr(S3Path, "upload", refuse_the_second_day)
    assert main(["import", uri, str(tmp_path / "src"), "--symbol", "ES", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {uri}/symbol=ES/date=2024-01-03: cannot upload the day written aside as ticks.parquet "
                          "(When uploading part for key 'x': AWS Error ACCESS_DENIED): the import stopped half way; "
                          "written: ES 2024-01-02; not written: ES 2024-01-03, ES 2024-01-04"), err
    assert s3.keys(uri) == ["_store.json", DAY_KEYS[0]]
    assert not list(Path(tempfile.gettempdir()).glob(f".ticks.parquet.{os.getpid()}.*.tmp"))  # no local leftover
    monkeypatch.setattr(S3Path, "upload", real)
    assert main(["import", uri, str(tmp_path / "src"), "--symbol", "ES", "--quiet"]) == 0
    assert "(2 new; replaced 1)" in capsys.readouterr().out
    assert s3.keys(uri) == ["_store.json", *DAY_KEYS]


def test_an_import_into_s3_removes_the_local_leftovers_of_a_killed_one(s3, tmp_path):
    day_files(tmp_path / "src", n_days=1)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    leftover = Path(tempfile.gettempdir()) / f".ticks.parquet.{int(gone.stdout)}.0badf00d.tmp"
    leftover.write_bytes(b"half a day")
    TickStore.create(f"s3://{s3.new_bucket()}/store").import_sources([tmp_path / "src"], symbol="ES", progress=False)
    assert not leftover.exists()


# --------------------------------------------------------------------------- the bar cache


def test_the_bar_cache_on_s3_is_written_once_and_read_instead_of_the_ticks(s3, tmp_path, small_groups):
    day_files(tmp_path / "src")
    bucket = s3.new_bucket()
    store, cache = f"s3://{bucket}/store", f"s3://{bucket}/cache"
    TickStore.create(store).import_sources([tmp_path / "src"], symbol="ES", progress=False)
    with s3.recording() as requests:
        built, info = cached_bars(store, "1min", cache_dir=cache, tick_size=0.25)
    assert info["hit"] is False and str(info["path"]) == f"{cache}/{info['key']}.parquet"
    assert s3.keys(cache) == [f"{info['key']}.parquet"]
    assert uploads(requests)[f"cache/{info['key']}.parquet"] == 1
    with s3.recording() as requests:
        again, info2 = cached_bars(store, "1min", cache_dir=cache, tick_size=0.25)
    assert info2["hit"] is True and info2["key"] == info["key"]
    pd.testing.assert_frame_equal(again, built, check_exact=True)
    assert not objects_read(requests, "ticks.parquet")  # a hit reads no tick
    assert not uploads(requests)
    assert built["volume"].sum() == make_bars(load_ticks(tmp_path / "src"), "1min")["volume"].sum()


# --------------------------------------------------------------------------- the command line and settings


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    return subprocess.run([sys.executable, str(REPO / "run_backtest.py"), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_run_backtest_reads_s3_and_caches_bars_there_with_s3_endpoint(s3_server, tmp_path):
    sample = REPO / "data" / "sample" / "sample_ticks.parquet"
    bucket = s3_server.new_bucket()
    s3_server.put(f"s3://{bucket}/ticks/sample.parquet", sample.read_bytes())
    common = ["--quiet"]
    remote = _run([f"s3://{bucket}/ticks/sample.parquet", "--s3-endpoint", s3_server.endpoint,
                   "--cache-dir", f"s3://{bucket}/cache", "--out", str(tmp_path / "remote"), *common], tmp_path)
    assert remote.returncode == 0, remote.stderr
    assert f"s3://{bucket}/ticks/sample.parquet" in remote.stdout
    local = _run([str(sample), "--no-cache", "--out", str(tmp_path / "local"), *common], tmp_path)
    assert local.returncode == 0, local.stderr
    metrics = [json.loads((tmp_path / run / "metrics.json").read_text()) for run in ("remote", "local")]
    assert (metrics[0].pop("data"), metrics[0]["load_report"].pop("source")) == (f"s3://{bucket}/ticks/sample.parquet",) * 2
    metrics[1].pop("data"), metrics[1]["load_report"].pop("source")
    assert metrics[0] == metrics[1]  # the same run, every figure
    assert len(s3_server.keys(f"s3://{bucket}/cache")) == 1
    missing = _run([f"s3://{bucket}/ticks/none.parquet", "--s3-endpoint", s3_server.endpoint], tmp_path)
    assert missing.returncode == 2 and missing.stderr.strip() == f"error: data file not found: s3://{bucket}/ticks/none.parquet"
    bad = _run([f"s3://{bucket}/ticks/sample.parquet", "--s3-endpoint", "localhost:9000"], tmp_path)
    assert bad.returncode == 2 and bad.stderr.strip().startswith("error: bad S3 endpoint 'localhost:9000' in --s3-endpoint")


def test_the_endpoint_is_read_as_the_aws_sdks_read_it(monkeypatch):
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"):
        monkeypatch.delenv(name, raising=False)
    assert current_endpoint() is None
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://general:9000")
    assert current_endpoint() == "http://general:9000"
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "https://s3only:9443/")
    assert current_endpoint() == "https://s3only:9443"  # the service's own variable wins
    with s3_endpoint("http://given:1"):
        assert current_endpoint() == "http://given:1"  # the option wins over both
        assert as_path("s3://b/k").endpoint == "http://given:1"
    assert current_endpoint() == "https://s3only:9443"
    monkeypatch.setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
    assert current_endpoint() is None
    with pytest.raises(OrderFlowError, match="bad S3 endpoint 'host:1' in --s3-endpoint"):
        with s3_endpoint("host:1"):
            pass
    assert isinstance(as_path("S3://b/k"), S3Path) and isinstance(as_path("s3-ish/k"), Path)


def test_the_s3_specific_endpoint_variable_wins_over_the_general_one(s3, monkeypatch):
    bucket = s3.new_bucket()
    s3.put(f"s3://{bucket}/t.csv", (FIXTURES / "ticks_small.csv").read_bytes())
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3.endpoint)
    assert len(load_ticks(f"s3://{bucket}/t.csv")) == 10


# --------------------------------------------------------------------------- vendor files that carry a book


def lobster_zip(folder: Path) -> Path:
    """The fixture LOBSTER day (message and orderbook files) as one zip, as LOBSTER ships it."""
    import zipfile

    path = folder / "AAPL_2012-06-21_34200000_57600000_2.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for kind in ("message", "orderbook"):
            name = f"AAPL_2012-06-21_34200000_57600000_{kind}_2.csv"
            zf.write(FIXTURES / name, name)
    return path


@pytest.mark.parametrize("name", ["GLBX.MDP3.tbbo.dbn.zst", "GLBX.MDP3.mbp-1.dbn.zst", "lobster.zip"])
def test_a_vendor_file_on_s3_carries_its_book_as_on_disk(s3, tmp_path, name):
    from data.reading.quotes import book_format, carried_quotes, holds_book
    from research.engine import RunConfig, load

    local = lobster_zip(tmp_path) if name == "lobster.zip" else FIXTURES / name
    uri = f"s3://{s3.new_bucket()}/vendor/{local.name}"
    s3.put(uri, local.read_bytes())
    assert book_format(uri) == book_format(local) == ("lobster" if name == "lobster.zip" else "databento")
    assert holds_book(uri)
    want = carried_quotes(local)
    got = carried_quotes(uri)
    assert len(got) == len(want) > 0
    pd.testing.assert_frame_equal(got, want)
    if name == "GLBX.MDP3.mbp-1.dbn.zst":
        return  # its four records are quotes, no trade: no run
    # a run on the S3 object draws its book lines from the file's quote stream, as on disk
    remote, here = (load(RunConfig(data=d, bars="1min", cache=False)) for d in (uri, local))
    assert any("quote updates" in note for note in remote.load_report["notes"])
    pd.testing.assert_frame_equal(remote.bars, here.bars)
    assert remote.bars["ofi"].notna().any()


def test_a_large_object_is_told_by_its_two_ends_only(s3, tmp_path):
    import zipfile

    from data.reading.quotes import book_format

    padded = lobster_zip(tmp_path)
    with zipfile.ZipFile(padded, "a", zipfile.ZIP_STORED) as zf:  # 400 KB of other data before the directory
        zf.writestr("readme.bin", np.random.default_rng(0).bytes(400_000))
    uri = f"s3://{s3.new_bucket()}/vendor/{padded.name}"
    s3.put(uri, padded.read_bytes())
    with s3.recording() as requests:
        assert book_format(uri) == "lobster"
    size = padded.stat().st_size
    assert sorted(r.range for r in objects_read(requests, ".zip")) == [
        "bytes=0-65535", f"bytes={size - 65_536}-{size - 1}"]


def test_an_object_is_written_byte_for_byte_whatever_its_name(s3):
    data = (FIXTURES / "GLBX.MDP3.tbbo.dbn.zst").read_bytes()
    uri = f"s3://{s3.new_bucket()}/x/GLBX.MDP3.tbbo.dbn.zst"
    as_path(uri).write_bytes(data)  # pyarrow compresses by the name unless told not to: zstd in zstd
    assert s3.get(uri) == data and as_path(uri).read_bytes() == data
