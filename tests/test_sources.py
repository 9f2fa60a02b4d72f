"""Many files as one source (data.reading.sources): folders, globs, lists, mixed formats, overlaps,
duplicate trade ids, symbols, time windows; make_bars and the feed on such a source."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data import OrderFlowError, OrderFlowFeed, load_ticks, make_bars, scan_ticks

T0 = pd.Timestamp("2024-03-01T14:30:00Z")


def raw_trades(n: int, start: pd.Timestamp = T0, step_ms: int = 700, seed: int = 0, first_id: int = 1) -> pd.DataFrame:
    """Trades in the seed's column names (Timestamp, Price, Volume, TradeType, BidSize, AskSize)."""
    rng = np.random.default_rng(seed)
    times = start + pd.to_timedelta(np.arange(n) * step_ms, unit="ms")
    return pd.DataFrame({
        "Timestamp": times.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "Price": 5000 + 0.25 * rng.integers(-8, 9, n),
        "Volume": rng.integers(1, 9, n).astype(float),
        "TradeType": rng.choice([1, 2], n),
        "BidSize": rng.integers(1, 30, n),
        "AskSize": rng.integers(1, 30, n),
        "trade_id": np.arange(first_id, first_id + n),
    })


def write_days(folder, frames, suffixes=None):
    folder.mkdir(exist_ok=True)
    paths = []
    for i, frame in enumerate(frames):
        suffix = (suffixes or [".csv"] * len(frames))[i]
        path = folder / f"day{i:02d}{suffix}"
        if suffix == ".parquet":
            frame.to_parquet(path, index=False)
        else:
            frame.to_csv(path, index=False)
        paths.append(path)
    return paths


@pytest.fixture
def three_days(tmp_path):
    frames = [raw_trades(50, T0 + pd.Timedelta(days=d), seed=d, first_id=1000 * d) for d in range(3)]
    return tmp_path / "ticks", frames, write_days(tmp_path / "ticks", frames, [".csv", ".parquet", ".csv"])


def test_folder_glob_and_list_read_as_one_source(three_days):
    folder, frames, paths = three_days
    whole = load_ticks(pd.concat([f.drop(columns="trade_id") for f in frames], ignore_index=True))
    for source in (folder, str(folder / "day*"), [str(p) for p in paths]):
        ticks = load_ticks(source)
        pd.testing.assert_frame_equal(ticks[whole.columns], whole, check_like=False)
        report = ticks.attrs["load_report"]
        assert [f["rows_read"] for f in report["files"]] == [50, 50, 50]
        assert [f["format"] for f in report["files"]] == ["csv", "parquet", "csv"]
        assert report["rows_kept"] == 150 and report["overlaps"] == []


def test_rejected_rows_are_counted_per_file(tmp_path):
    frames = [raw_trades(10), raw_trades(10, T0 + pd.Timedelta(hours=1), seed=1, first_id=11)]
    frames[1].loc[3, "Price"] = -1.0
    paths = write_days(tmp_path / "t", frames)
    ticks = load_ticks(paths, on_bad_rows="drop")
    files = ticks.attrs["load_report"]["files"]
    assert (files[0]["rejected"], files[1]["rejected"]) == ({}, {"non_positive_price": 1})
    assert len(ticks) == 19 and ticks.attrs["load_report"]["rejected"] == {"non_positive_price": 1}


def test_overlap_without_ids_is_an_error_unless_allowed(tmp_path):
    first = raw_trades(20).drop(columns="trade_id")
    second = raw_trades(20, T0 + pd.Timedelta(seconds=7), seed=3).drop(columns="trade_id")  # overlaps 7 s .. 13.3 s
    paths = write_days(tmp_path / "t", [first, second])
    with pytest.raises(OrderFlowError, match=r"day01\.csv.*overlaps day00\.csv"):
        load_ticks(paths)
    ticks = load_ticks(paths, allow_overlap=True)
    assert len(ticks) == 40  # nothing dropped
    assert ticks["timestamp"].is_monotonic_increasing
    overlap = ticks.attrs["load_report"]["overlaps"][0]
    assert overlap["files"] == [str(paths[0]), str(paths[1])]
    assert pd.Timestamp(overlap["from"]) == T0 + pd.Timedelta(seconds=7)
    assert pd.Timestamp(overlap["to"]) == T0 + pd.Timedelta(milliseconds=19 * 700)
    # the merge is the stable time order of both files (ties: the earlier file first)
    both = load_ticks(pd.concat([first, second], ignore_index=True))
    pd.testing.assert_frame_equal(ticks[both.columns], both)


def test_duplicate_trade_ids_across_files_are_dropped_and_counted(tmp_path):
    trades = raw_trades(30)
    paths = write_days(tmp_path / "t", [trades.iloc[:20], trades.iloc[12:], trades.iloc[25:28]])
    ticks = load_ticks(paths[:2])  # rows 12..19 in both files
    report = ticks.attrs["load_report"]
    assert len(ticks) == 30 and report["rejected"] == {"duplicate_across_files": 8}
    assert report["files"][1]["rejected"] == {"duplicate_across_files": 8}
    pd.testing.assert_frame_equal(ticks, load_ticks(trades.drop(columns="trade_id")), check_like=True,
                                  check_exact=True, obj="ticks")
    ticks = load_ticks(paths[1:])  # the third file is all duplicates: nothing from it, counted
    assert len(ticks) == 18 and ticks.attrs["load_report"]["files"][1]["rejected"] == {"duplicate_across_files": 3}


def test_symbols_are_never_mixed(tmp_path):
    es, nq = raw_trades(10, seed=1), raw_trades(6, T0 + pd.Timedelta(milliseconds=350), seed=2)
    es["symbol"], nq["symbol"] = "ESH4", "NQH4"
    both = pd.concat([es, nq]).sort_values("Timestamp", kind="stable")
    path = tmp_path / "two.csv"
    both.to_csv(path, index=False)
    with pytest.raises(OrderFlowError, match=r"2 symbols: ESH4 \(10 rows\), NQH4 \(6 rows\)"):
        load_ticks([path])
    with pytest.raises(OrderFlowError, match="symbols"):
        load_ticks(path, symbol=None, start="2024-01-01")
    ticks = load_ticks(path, symbol="NQH4")
    assert len(ticks) == 6 and ticks["price"].tolist() == load_ticks(nq.drop(columns="symbol"))["price"].tolist()
    # one symbol per file, two files of different symbols: also refused
    paths = write_days(tmp_path / "each", [es, nq.assign(Timestamp=(T0 + pd.Timedelta(hours=1)).isoformat())])
    with pytest.raises(OrderFlowError, match="several symbols: ESH4.*NQH4"):
        load_ticks(paths)


def test_time_window(three_days):
    folder, frames, _ = three_days
    ticks = load_ticks(folder, start="2024-03-02", end="2024-03-02")  # a date-only end includes the day
    assert len(ticks) == 50 and (ticks["timestamp"].dt.day == 2).all()
    ticks = load_ticks(folder, start=T0 + pd.Timedelta(seconds=7), end=T0 + pd.Timedelta(seconds=14))
    assert len(ticks) == 10  # 7.0, 7.7 ... 13.3 s


def test_make_bars_and_the_feed_stream_from_a_folder(three_days):
    folder, frames, _ = three_days
    ticks = load_ticks(folder)
    want = make_bars(ticks, "1min", tick_size=0.25)
    got = make_bars(scan_ticks(folder, batch_rows=7), "1min", tick_size=0.25)
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12)
    assert got.attrs["load_report"]["rows_kept"] == 150
    feed = OrderFlowFeed.from_ticks(folder, bars="1min")
    assert len(feed.p.dataname) == len(want)


@pytest.mark.parametrize("value", [float("nan"), "abc", "100", 0, -1, 2.5, None, True, float("inf")])
def test_batch_rows_must_be_a_whole_number_of_rows(three_days, value):
    folder, _, _ = three_days
    error = pytest.raises(OrderFlowError, scan_ticks, folder, batch_rows=value).value
    assert str(error) == f"batch_rows must be a whole number of rows, at least 1, not {value!r}"


def test_batch_rows_of_whole_numbers(three_days):
    folder, _, _ = three_days
    for value in (7, 7.0, np.int64(7)):
        batches = list(scan_ticks(folder, batch_rows=value).batches())
        assert [len(b) for b in batches] == [7] * 7 + [1] + [7] * 7 + [1] + [7] * 7 + [1]  # 50 = 7 x 7 + 1 per file


def test_a_folder_says_what_it_skips(three_days, tmp_path):
    folder, frames, _ = three_days
    raw_trades(5, T0 - pd.Timedelta(days=9)).to_csv(folder / "_old.csv", index=False)
    (folder / ".partial.csv").write_text("Timestamp,Price\n")
    (folder / "archive").mkdir()
    raw_trades(5, T0 - pd.Timedelta(days=30)).to_csv(folder / "archive" / "feb.csv", index=False)
    ticks = load_ticks(folder)
    assert len(ticks) == 150  # the three days only
    assert ticks.attrs["load_report"]["notes"] == [  # hidden files (.partial.csv) are skipped without a word
        f"skipped in {folder}: 1 file whose name starts with '_' (_old.csv) and 1 subfolder (archive): a folder "
        "source reads the files directly in it, except hidden ones and those whose names start with '_'"]
    bars = make_bars(scan_ticks(folder), "1min")
    assert bars.attrs["load_report"]["notes"] == ticks.attrs["load_report"]["notes"]
    # the command line prints it with the other load lines
    from reports.output import describe_source

    assert f"Note: skipped in {folder}: 1 file whose" in "\n".join(describe_source(ticks.attrs["load_report"]))
    # nothing to skip: no note
    assert "notes" not in load_ticks(folder / "archive").attrs["load_report"]
    # a folder of subfolders only
    empty = tmp_path / "by_month"
    (empty / "2024-02").mkdir(parents=True)
    error = pytest.raises(OrderFlowError, load_ticks, empty).value
    assert str(error) == (f"{empty}: folder holds no files to read; skipped 1 subfolder (2024-02): a folder source "
                          "reads the files directly in it, except hidden ones and those whose names start with '_'")


def test_a_symbol_the_source_does_not_hold_is_an_error_naming_those_it_holds(tmp_path):
    es = raw_trades(10, seed=1)
    es["symbol"] = "ESH4"
    later = raw_trades(4, T0 + pd.Timedelta(days=1), seed=2, first_id=100)
    later["symbol"] = "ESM4"
    paths = write_days(tmp_path / "es", [es, later])
    message = "{}: no ticks of symbol 'NQH4': it holds ESH4 (10 rows), ESM4 (4 rows); pick one of those with symbol= / --symbol"
    scan = scan_ticks(tmp_path / "es", symbol="NQH4")
    error = pytest.raises(OrderFlowError, list, scan.batches()).value
    assert str(error) == message.format(tmp_path / "es")
    error = pytest.raises(OrderFlowError, load_ticks, paths[0], symbol="NQH4").value
    assert str(error) == message.format(paths[0]).replace(", ESM4 (4 rows)", "")
    assert len(load_ticks(tmp_path / "es", symbol="ESM4")) == 4  # one file without the symbol is no error
    with pytest.raises(OrderFlowError, match="no ticks of symbol 'NQH4'"):
        make_bars(scan_ticks(tmp_path / "es", symbol="NQH4"), "1min")


def test_the_symbol_check_is_one_function():
    from data.reading.sources import check_symbol

    check_symbol("ES", {"ES": 3, "NQ": 0}, "src")  # held: no error
    with pytest.raises(OrderFlowError) as info:
        check_symbol("NQ", {"ES": 1_200}, "store/")
    assert str(info.value) == "store/: no ticks of symbol 'NQ': it holds ES (1,200 rows); pick one of those with " \
                              "symbol= / --symbol"
    with pytest.raises(OrderFlowError, match="no ticks of symbol 'NQ': it holds no ticks$"):
        check_symbol("NQ", {}, "x.csv")


def test_a_many_file_report_counts_its_files_in_words():
    from data.reading.loader import describe_source

    def report(n):
        files = [{"source": f"ticks/{i}.csv", "rows_read": 3, "rows_kept": 3, "rejected": {}} for i in range(n)]
        return {"format": "files", "source": "ticks", "files": files, "rows_read": 3 * n, "rows_kept": 3 * n}

    assert describe_source(report(1))[0] == "Read 1 file (ticks): 3 rows, 3 kept in the window."
    assert describe_source(report(2))[0] == "Read 2 files (ticks): 6 rows, 6 kept in the window."


def test_the_symbols_of_a_file_are_counted_only_for_an_error_that_lists_them(tmp_path, monkeypatch):
    mixed = raw_trades(5, seed=3)
    mixed["symbol"] = ["ESH4", "ESM4", "ESH4", "ESM4", "ESH4"]
    path = tmp_path / "mixed.csv"
    mixed.to_csv(path, index=False)
    counted = []
    count = pd.Series.value_counts
    monkeypatch.setattr(pd.Series, "value_counts", lambda self, *a, **k: counted.append(1) or count(self, *a, **k))
    # a symbol the file holds: its rows picked without counting every symbol of the column
    assert len(load_ticks(path, symbol="ESM4")) == 2
    assert len(load_ticks(path, continuous="ES")) == 3  # ESH4, the front contract on 2024-03-01
    assert counted == []
    # one the file does not hold, or none given: the error lists what it holds, with the rows of each
    error = pytest.raises(OrderFlowError, load_ticks, path, symbol="NQH4").value
    assert str(error) == (f"{path}: no ticks of symbol 'NQH4': it holds ESH4 (3 rows), ESM4 (2 rows); pick one of "
                          "those with symbol= / --symbol")
    error = pytest.raises(OrderFlowError, load_ticks, [path]).value
    assert "the file holds 2 symbols: ESH4 (3 rows), ESM4 (2 rows); pick one" in str(error)
