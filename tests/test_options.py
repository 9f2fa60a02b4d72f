"""The load and bar options as objects (data.options): built from the keyword calls, passed
whole through the layers, and every field of them part of the bar cache's key."""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from data import BarOptions, LoadOptions, OrderFlowFeed, cached_bars, load_ticks, make_bars, scan_ticks
from data.bars.stream import BarStream
from data.options import split_keywords
from research import RunConfig
from tests.benchmarks.common import synthetic_ticks

# a value other than the default for each field (a new field needs one here)
OTHER_BAR_VALUES = {"tick_size": 0.5, "persistence": "2s", "depth": False, "footprint": False,
                    "footprint_params": {"ratio": 4.0}}
OTHER_LOAD_VALUES = {"columns": {"px": "price"}, "format": "parquet", "tz": "Europe/Berlin", "on_bad_rows": "drop",
                     "start": "2024-01-02 14:40", "end": "2024-01-03", "symbol": "ES", "allow_overlap": True,
                     "continuous": "ES", "roll": "volume", "adjust": "add", "expiry": "HMUZ:3fri", "progress": False}
# a continuous contract's options need a source of contracts: their keys in tests/test_continuous.py
CONTINUOUS = {"continuous", "roll", "adjust", "expiry"}


@pytest.fixture
def files(tmp_path):
    folder = tmp_path / "ticks"
    folder.mkdir()
    ticks = synthetic_ticks(4_000)
    ticks.iloc[:2_000].to_parquet(folder / "a.parquet", index=False)
    ticks.iloc[2_000:].to_parquet(folder / "b.parquet", index=False)
    return folder


def test_every_field_has_a_test_value():
    assert set(OTHER_BAR_VALUES) == {f.name for f in dataclasses.fields(BarOptions)}
    assert set(OTHER_LOAD_VALUES) == {f.name for f in dataclasses.fields(LoadOptions)}


def test_keywords_build_the_object(small_ticks):
    by_keywords = make_bars(small_ticks, "1min", tick_size=0.5, depth=False)
    by_object = make_bars(small_ticks, "1min", options=BarOptions(tick_size=0.5, depth=False))
    pd.testing.assert_frame_equal(by_keywords, by_object)
    assert "ofi" not in by_object and "poc" in by_object
    # keywords apply over the object
    neither = make_bars(small_ticks, "1min", options=BarOptions(depth=False), footprint=False)
    assert "ofi" not in neither and "poc" not in neither
    # (09:30, 09:31], (09:31, 09:32], (09:32, 09:33] of tests/fixtures/ticks_small.csv
    assert neither["close"].tolist() == [99.75, 100.5, 100.25]
    assert neither["delta"].tolist() == [2.0 + 3.0 - 5.0 - 1.5, 2.0 + 6.0, -3.0 - 1.0 + 2.5]


def test_an_unknown_keyword_names_the_known_ones(small_ticks, files):
    with pytest.raises(TypeError, match=r"unknown bar option\(s\) 'tick_sise'; known: tick_size, persistence"):
        make_bars(small_ticks, "1min", tick_sise=0.25)
    with pytest.raises(TypeError, match=r"unknown load option\(s\) 'colums'"):
        load_ticks(files, colums={"px": "price"})
    with pytest.raises(TypeError, match=r"unknown option\(s\) 'depht'; known: columns, .*tick_size"):
        cached_bars(files, "1min", depht=False)
    with pytest.raises(TypeError, match="options= takes a BarOptions, not LoadOptions"):
        make_bars(small_ticks, "1min", options=LoadOptions())


def test_split_keywords():
    assert split_keywords({"tz": "UTC", "depth": False, "symbol": "ES"}) == ({"tz": "UTC", "symbol": "ES"},
                                                                             {"depth": False})


def test_the_stream_and_the_feed_take_the_object(small_ticks, files):
    options = BarOptions(tick_size=0.25, footprint=False)
    stream = BarStream("1min", options=options)
    stream.add(small_ticks)
    pd.testing.assert_frame_equal(stream.finish(), make_bars(small_ticks, "1min", options=options))
    feed = OrderFlowFeed.from_ticks(files, bars="5min", depth=False, name="x")
    assert "ofi" not in feed.p.dataname and "poc" in feed.p.dataname and feed.p.name == "x"


def test_load_options_hold_utc_times():
    options = LoadOptions(start="2024-03-01 09:30", end="2024-03-01")
    assert options.start == pd.Timestamp("2024-03-01 09:30", tz="UTC")
    assert options.end == pd.Timestamp("2024-03-02", tz="UTC")  # a date-only end includes its day
    assert dataclasses.replace(options, symbol="ES").end == options.end  # not moved a day again
    assert options.selects and not LoadOptions(tz="UTC").selects


def test_a_window_reads_one_file_as_a_source(files):
    ticks = load_ticks(files / "a.parquet", end="2024-01-02 14:35")
    want = pd.read_parquet(files / "a.parquet")
    want = want[want["timestamp"] < pd.Timestamp("2024-01-02 14:35", tz="UTC")]
    assert len(ticks) == len(want) > 0
    assert ticks.attrs["load_report"]["files"][0]["rows_read"] == 2_000


@pytest.mark.parametrize("name", sorted(OTHER_BAR_VALUES))
def test_every_bar_option_changes_the_cache_key(files, tmp_path, name):
    _, first = cached_bars(files, "1min", cache_dir=tmp_path / "c")
    _, second = cached_bars(files, "1min", cache_dir=tmp_path / "c", bar_options=BarOptions(**{name: OTHER_BAR_VALUES[name]}))
    assert second["hit"] is False and second["key"] != first["key"]


@pytest.mark.parametrize("name", sorted(set(OTHER_LOAD_VALUES) - {"progress", "columns", "format", "symbol"} - CONTINUOUS))
def test_every_load_option_changes_the_cache_key(files, tmp_path, name):
    _, first = cached_bars(files, "1min", cache_dir=tmp_path / "c")
    _, second = cached_bars(files, "1min", cache_dir=tmp_path / "c",
                            load_options=LoadOptions(**{name: OTHER_LOAD_VALUES[name]}))
    assert second["hit"] is False and second["key"] != first["key"]


def test_the_key_covers_every_field_but_progress():
    assert set(BarOptions().key()) == set(OTHER_BAR_VALUES)
    assert set(LoadOptions().key()) == set(OTHER_LOAD_VALUES) - {"progress"}
    assert BarOptions(footprint_params={"b": 1, "a": 2}).key() == BarOptions(footprint_params={"a": 2, "b": 1}).key()
    assert scan_ticks(pd.DataFrame(), progress=False).fingerprint()["options"] == LoadOptions().key()


def test_progress_changes_no_key(files, tmp_path):
    _, first = cached_bars(files, "1min", cache_dir=tmp_path / "c", progress=False)
    _, second = cached_bars(files, "1min", cache_dir=tmp_path / "c", progress=True)
    assert second["hit"] is True and second["key"] == first["key"]


def test_a_run_config_gives_its_options():
    config = RunConfig(format="csv", drop_bad_rows=True, input_tz="Europe/Berlin", symbol="ES", allow_overlap=True,
                       start=pd.Timestamp("2024-03-01", tz="UTC"), progress=False, imbalance="atas")
    assert config.load_options == LoadOptions(format="csv", tz="Europe/Berlin", on_bad_rows="drop", symbol="ES",
                                              allow_overlap=True, start="2024-03-01", progress=False)
    assert config.bar_options == BarOptions(footprint_params={"imbalance": "atas"})
    assert RunConfig().bar_options == BarOptions() and RunConfig().load_options == LoadOptions()


def test_a_source_streams_to_the_bars_in_memory(files):
    streamed = make_bars(files, "1min", options=BarOptions(tick_size=0.25, depth=False))
    whole = make_bars(load_ticks(files), "1min", tick_size=0.25, depth=False)
    pd.testing.assert_frame_equal(streamed, whole, check_exact=False, rtol=1e-12)
    assert np.isclose(streamed["volume"].sum(), pd.concat([pd.read_parquet(p) for p in sorted(files.iterdir())])["size"].sum())
