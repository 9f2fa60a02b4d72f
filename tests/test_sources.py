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
