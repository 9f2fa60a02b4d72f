"""The bar cache (data.store.cache): hits, misses, invalidation by data and by every setting,
no cache, and half-written or corrupt entries never used."""
from __future__ import annotations

import os

import pandas as pd
import pytest

from data import cached_bars, make_bars
from data.store.dataset import TickStore
from tests.benchmarks.common import synthetic_ticks


@pytest.fixture
def files(tmp_path):
    folder = tmp_path / "ticks"
    folder.mkdir()
    for day in range(2):
        ticks = synthetic_ticks(3_000, seed=day)
        ticks["timestamp"] += pd.Timedelta(days=day)
        ticks.to_parquet(folder / f"d{day}.parquet", index=False)
    return folder


def test_miss_then_hit_with_the_same_bars(files, tmp_path):
    cache = tmp_path / "cache"
    bars, info = cached_bars(files, "1min", cache_dir=cache, tick_size=0.25)
    assert info["hit"] is False and info["path"].is_file() and info["path"].name == f"{info['key']}.parquet"
    again, info2 = cached_bars(files, "1min", cache_dir=cache, tick_size=0.25)
    assert info2["hit"] is True and info2["key"] == info["key"]
    pd.testing.assert_frame_equal(again, bars, check_freq=False)
    assert again.attrs["bar_spec"] == "1min"
    assert again.attrs["load_report"]["rows_kept"] == 6_000
    pd.testing.assert_frame_equal(bars, make_bars(files, "1min", tick_size=0.25), check_exact=False, rtol=1e-12)


@pytest.mark.parametrize("change", [
    {"spec": "5min"}, {"tick_size": 0.5}, {"persistence": "2s"}, {"depth": False}, {"footprint": False},
    {"footprint_params": {"ratio": 4.0}}, {"settings": {"classifier": "lee_ready"}}, {"start": "2024-01-03"},
])
def test_any_setting_changes_the_key(files, tmp_path, change):
    base = dict(spec="1min", tick_size=0.25)
    _, first = cached_bars(files, cache_dir=tmp_path / "c", **base)
    _, second = cached_bars(files, cache_dir=tmp_path / "c", **{**base, **change})
    assert second["hit"] is False and second["key"] != first["key"]


def test_changed_data_rebuilds(files, tmp_path):
    _, first = cached_bars(files, "1min", cache_dir=tmp_path / "c")
    path = files / "d1.parquet"
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # touched: size same, time not
    _, second = cached_bars(files, "1min", cache_dir=tmp_path / "c")
    assert second["hit"] is False and second["key"] != first["key"]


def test_a_reimported_store_day_rebuilds(files, tmp_path):
    store = TickStore.create(tmp_path / "store")
    store.import_sources([files], symbol="ES", progress=False)
    _, first = cached_bars(tmp_path / "store", "1min", cache_dir=tmp_path / "c")
    assert cached_bars(tmp_path / "store", "1min", cache_dir=tmp_path / "c")[1]["hit"]
    # a window that leaves out the re-imported day keeps its entry
    _, day1 = cached_bars(tmp_path / "store", "1min", cache_dir=tmp_path / "c", end="2024-01-02")
    store.import_sources([files / "d1.parquet"], symbol="ES", progress=False)
    assert cached_bars(tmp_path / "store", "1min", cache_dir=tmp_path / "c")[1]["hit"] is False
    assert cached_bars(tmp_path / "store", "1min", cache_dir=tmp_path / "c", end="2024-01-02")[1]["hit"]


def test_no_cache_writes_nothing(files, tmp_path):
    bars, info = cached_bars(files, "1min", cache_dir=tmp_path / "c", use_cache=False)
    assert info == {"hit": False, "key": None, "path": None, "source": str(files)}
    assert not (tmp_path / "c").exists() and len(bars) > 0


def test_half_written_or_corrupt_entries_are_never_used(files, tmp_path):
    bars, info = cached_bars(files, "1min", cache_dir=tmp_path / "c")
    entry = info["path"]
    data = entry.read_bytes()
    entry.write_bytes(data[: len(data) // 2])  # as if a writer had died mid-file without the rename
    again, info2 = cached_bars(files, "1min", cache_dir=tmp_path / "c")
    assert info2["hit"] is False
    pd.testing.assert_frame_equal(again, bars)
    assert cached_bars(files, "1min", cache_dir=tmp_path / "c")[1]["hit"]  # rewritten whole
    # an entry of another key under this name (a renamed file) is not used either
    other = tmp_path / "c" / "other.parquet"
    _, info3 = cached_bars(files, "5min", cache_dir=tmp_path / "c")
    info3["path"].rename(other)
    other.rename(entry.parent / f"{info['key']}.parquet")
    assert cached_bars(files, "1min", cache_dir=tmp_path / "c")[1]["hit"] is False
    assert list((tmp_path / "c").glob(".*.tmp")) == []


def test_runs_with_quotes_or_a_classifier_go_through_the_cache(tmp_path):
    """Runs that read the ticks into memory (a quote file joined, trades classified one by one)
    are cached too, keyed also by the quote file, its lag and the classifier."""
    from research import RunConfig, load

    ticks = synthetic_ticks(4_000, seed=3)
    quotes = ticks[["timestamp", "bid", "ask", "bid_size", "ask_size"]].copy()
    ticks = ticks.drop(columns=["bid", "ask", "bid_size", "ask_size"]).assign(side=0)
    data, quote_file = tmp_path / "t.parquet", tmp_path / "q.parquet"
    ticks.to_parquet(data, index=False)
    quotes.to_parquet(quote_file, index=False)
    base = RunConfig(data=data, bars="1min", quotes=quote_file, classify="lee_ready", cache=True, cache_dir=tmp_path / "c",
                     progress=False)
    built = load(base)
    assert built.cache["hit"] is False and built.cache["path"].is_file()
    again = load(base)
    assert again.cache["hit"] is True
    pd.testing.assert_frame_equal(again.bars, built.bars, check_freq=False)
    assert again.ticks_in_range == built.ticks_in_range == 4_000
    assert again.load_report["rows_kept"] == built.load_report["rows_kept"] == 4_000
    fresh = load(RunConfig(**{**base.__dict__, "cache": False}))
    assert fresh.cache["path"] is None
    pd.testing.assert_frame_equal(fresh.bars, built.bars, check_freq=False)
    assert built.bars["unknown_volume"].sum() < ticks["size"].sum()  # the classifier did fill sides

    keys = {built.cache["key"]}
    for change in ({"quote_lag": "1ms"}, {"classify": "tick"}, {"quotes": None}):
        other = load(RunConfig(**{**base.__dict__, **change}))
        assert other.cache["hit"] is False and other.cache["key"] not in keys
        keys.add(other.cache["key"])
    stat = quote_file.stat()
    os.utime(quote_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # a new quote file
    assert load(base).cache["hit"] is False
    kept = load(RunConfig(**{**base.__dict__, "keep_ticks": True}))  # the ticks are read anyway: not cached
    assert kept.cache is None and len(kept.ticks) == 4_000


def test_the_footprint_table_is_kept_beside_the_bars_and_an_entry_without_it_is_a_miss(files, tmp_path):
    from data import footprint, load_ticks
    from data.store.cache import table_entry

    cache = tmp_path / "cache"
    bars, info = cached_bars(files, "1min", cache_dir=cache, tick_size=0.25)  # an entry without the table
    assert not table_entry(info["path"]).exists()
    again, table, info2 = cached_bars(files, "1min", cache_dir=cache, tick_size=0.25, footprint_table=True)
    assert info2["hit"] is False and info2["key"] == info["key"]  # not read as having one: rebuilt
    assert table_entry(info["path"]).name == f"{info['key']}.footprint.parquet" and table_entry(info["path"]).is_file()
    want = footprint(load_ticks(files), "1min", 0.25)
    pd.testing.assert_frame_equal(table, want, check_exact=True)
    pd.testing.assert_frame_equal(again, bars, check_freq=False)
    third, from_cache, info3 = cached_bars(files, "1min", cache_dir=cache, tick_size=0.25, footprint_table=True)
    assert info3["hit"] is True
    pd.testing.assert_frame_equal(from_cache, want, check_exact=True)
    assert from_cache.attrs["tick_size"] == 0.25 and from_cache.attrs["bar_spec"] == "1min"
    plain, info4 = cached_bars(files, "1min", cache_dir=cache, tick_size=0.25)  # the bars alone still hit
    assert info4["hit"] is True
    # a table that does not read back whole is a miss
    table_entry(info["path"]).write_bytes(b"not parquet")
    _, rebuilt, info5 = cached_bars(files, "1min", cache_dir=cache, tick_size=0.25, footprint_table=True)
    assert info5["hit"] is False
    pd.testing.assert_frame_equal(rebuilt, want, check_exact=True)
    _, none, _ = cached_bars(files, "1min", cache_dir=cache, tick_size=0.25, footprint=False, footprint_table=True)
    assert none is None
