"""Streamed bars (data.bars.stream) equal make_bars over all the ticks: a property over random
ticks, random batch splits and every bar kind, plus the carried states one by one."""
from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data.bars.footprint import add_footprint_lines
from data.bars.make import make_bars
from data.bars.stream import BarStream, stream_bars
from data.schema import BAR_COLUMNS, CORE_BAR_COLUMNS

# Floating sums may differ in the last bits (see data.bars.stream): compared to this tolerance.
SUMS = ("volume", "buy_volume", "sell_volume", "unknown_volume", "delta", "vwap", "inferred_volume",
        "ofi", "avg_depth", "tw_imbalance", "large_buy_volume", "large_sell_volume")
RTOL = 1e-12

footprint_module = importlib.import_module("data.bars.footprint")

SPECS = ("tick", "3t", "7t", "4v", "7.5v", "1s", "3s", "1min", "1D")
LARGE_WINDOW = 6


def random_ticks(seed: int, n: int, quotes: str, nan_rate: float) -> pd.DataFrame:
    """Ticks on a 0.25 grid, 0.1-3 s apart with ties, sides -1/0/+1, fractional sizes;
    ``quotes``: none, sizes only, or prices and sizes (some missing at ``nan_rate``)."""
    rng = np.random.default_rng(seed)
    gaps = rng.choice([0, 0, 100, 400, 900, 1500, 3000], size=n) * 1_000_000
    ts = np.int64(1_709_285_400_000_000_000) + np.cumsum(gaps).astype(np.int64)
    price = 100.0 + 0.25 * np.cumsum(rng.integers(-2, 3, n))
    frame = pd.DataFrame({
        "timestamp": pd.DatetimeIndex(ts.view("M8[ns]")).tz_localize("UTC"),
        "price": price,
        "size": rng.choice([0.5, 1.0, 1.5, 2.0, 3.25, 7.0, 0.1], size=n),
        "side": rng.integers(-1, 2, n).astype(np.int8),
    })
    if quotes != "none":
        def maybe_nan(values: np.ndarray) -> np.ndarray:
            return np.where(rng.random(n) < nan_rate, np.nan, values)
        if quotes == "prices":
            frame["bid"] = maybe_nan(price - 0.25 * rng.integers(0, 2, n))
            frame["ask"] = maybe_nan(frame["bid"].to_numpy() + 0.25)
        frame["bid_size"] = maybe_nan(rng.integers(0, 9, n).astype(np.float64))
        frame["ask_size"] = maybe_nan(rng.integers(0, 9, n).astype(np.float64))
    return frame


def in_memory(ticks: pd.DataFrame, spec: str, persistence: str) -> pd.DataFrame:
    bars = make_bars(ticks, spec, tick_size=0.25, persistence=persistence)
    return add_footprint_lines(bars, ticks, 0.25, large_window=LARGE_WINDOW)


def streamed(ticks: pd.DataFrame, spec: str, persistence: str, cuts: list[int], **options) -> pd.DataFrame:
    edges = [0, *sorted(set(cuts)), len(ticks)]
    batches = [ticks.iloc[a:b] for a, b in zip(edges[:-1], edges[1:])]
    options.setdefault("tick_size", 0.25)
    return stream_bars(batches, spec, persistence=persistence,
                       footprint_params={"large_window": LARGE_WINDOW}, **options)


def assert_same_bars(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == list(want.columns)
    assert got.index.equals(want.index)
    assert got.attrs["bar_spec"] == want.attrs["bar_spec"]
    for column in want.columns:
        a, b = got[column].to_numpy(), want[column].to_numpy()
        if column in SUMS:
            np.testing.assert_allclose(a, b, rtol=RTOL, atol=1e-12, err_msg=column)
        else:
            np.testing.assert_array_equal(a, b, err_msg=column)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 160),
    spec=st.sampled_from(SPECS),
    quotes=st.sampled_from(["none", "sizes", "prices"]),
    nan_rate=st.sampled_from([0.0, 0.1, 0.6]),
    persistence=st.sampled_from(["1s", "2500ms"]),
    cuts=st.lists(st.integers(0, 160), max_size=12),
    side_thread=st.booleans(),
)
def test_streamed_bars_equal_in_memory_bars(seed, n, spec, quotes, nan_rate, persistence, cuts, side_thread):
    ticks = random_ticks(seed, n, quotes, nan_rate)
    cuts = [c for c in cuts if c <= n]
    got = streamed(ticks, spec, persistence, cuts, side_thread=side_thread)
    assert_same_bars(got, in_memory(ticks, spec, persistence))


@pytest.mark.parametrize("spec", SPECS)
def test_every_batch_of_one_tick(spec):
    ticks = random_ticks(3, 120, "prices", 0.05)
    assert_same_bars(streamed(ticks, spec, "1s", list(range(120))), in_memory(ticks, spec, "1s"))


def test_quote_prices_first_seen_late():
    """No bid/ask price in the first batches: OFI and persistence are decided over all ticks."""
    ticks = random_ticks(5, 100, "prices", 0.0)
    ticks.loc[:59, ["bid", "ask"]] = np.nan
    assert_same_bars(streamed(ticks, "3t", "1s", [20, 40, 61]), in_memory(ticks, "3t", "1s"))
    ticks.loc[:, "ask"] = np.nan  # never both: persistence by size, no OFI
    got = streamed(ticks, "3t", "1s", [20, 40, 61])
    assert_same_bars(got, in_memory(ticks, "3t", "1s"))
    assert got["ofi"].isna().all()


def test_bars_span_batches_and_the_values_are_checked_by_hand():
    """Two 1-minute bars from three batches; the 10:01 bar spans all three."""
    ticks = pd.DataFrame({
        "timestamp": pd.to_datetime(["2024-03-01T10:00:10", "2024-03-01T10:00:50", "2024-03-01T10:00:59.5",
                                     "2024-03-01T10:01:00", "2024-03-01T10:01:20"], utc=True, format="ISO8601"),
        "price": [100.0, 100.5, 99.75, 100.25, 100.0],
        "size": [2.0, 1.0, 3.0, 4.0, 1.0],
        "side": np.array([1, -1, -1, 1, 1], dtype=np.int8),
    })
    bars = stream_bars([ticks.iloc[:1], ticks.iloc[1:3], ticks.iloc[3:]], "1min", tick_size=0.25)
    assert list(bars.index.strftime("%H:%M")) == ["10:01", "10:02"]
    first = bars.iloc[0]  # (10:00, 10:01]: running delta 2, 1, -2, 2
    assert (first["open"], first["high"], first["low"], first["close"]) == (100.0, 100.5, 99.75, 100.25)
    assert first["trades"] == 4 and first["volume"] == 10.0
    assert (first["delta"], first["delta_high"], first["delta_low"]) == (2.0, 2.0, -2.0)
    assert first["vwap"] == pytest.approx((200 + 100.5 + 3 * 99.75 + 4 * 100.25) / 10)
    assert (bars.iloc[1]["delta"], bars.iloc[1]["trades"]) == (1.0, 1.0)


def test_running_delta_carried_exactly():
    """delta_high/low of a bar after millions of tiny fractional deltas: the carried running sum is
    the one cumulative sum of all ticks, so the values are equal to the last bit, not just close."""
    rng = np.random.default_rng(1)
    n = 30_000
    ticks = pd.DataFrame({
        "timestamp": pd.DatetimeIndex((np.int64(1_709_285_400_000_000_000)
                                       + np.arange(n, dtype=np.int64) * 7_000_000).view("M8[ns]")).tz_localize("UTC"),
        "price": 100.0 + 0.25 * rng.integers(0, 4, n),
        "size": rng.random(n) * 0.3,
        "side": rng.choice(np.array([-1, 1], dtype=np.int8), n),
    })
    want = make_bars(ticks, "1s", depth=False, footprint=False)
    got = stream_bars([ticks.iloc[i:i + 777] for i in range(0, n, 777)], "1s", depth=False, footprint=False)
    for column in ("delta_high", "delta_low", "open", "high", "low", "close", "trades"):
        np.testing.assert_array_equal(got[column].to_numpy(), want[column].to_numpy(), err_msg=column)
    vol = stream_bars([ticks.iloc[i:i + 501] for i in range(0, n, 501)], "2.7v", depth=False, footprint=False)
    assert vol.index.equals(make_bars(ticks, "2.7v", depth=False, footprint=False).index)


def test_inferred_tick_waits_for_the_sample(monkeypatch):
    """With no tick size the grid's tick is inferred from the first INFER_SAMPLE trades, as make_bars does."""
    monkeypatch.setattr(footprint_module, "INFER_SAMPLE", 40)
    ticks = random_ticks(11, 150, "prices", 0.0)
    ticks["price"] = 100.0 + 0.5 * np.round((ticks["price"] - 100.0) / 0.5)  # tick 0.5 at first ...
    ticks.loc[100:, "price"] += 0.25  # ... a finer step only after the sample
    want = add_footprint_lines(make_bars(ticks, "5t"), ticks, None, large_window=LARGE_WINDOW)
    got = streamed(ticks, "5t", "1s", [7, 33, 90], tick_size=None)
    assert_same_bars(got, want)


def test_core_only_and_empty():
    ticks = random_ticks(2, 50, "sizes", 0.0)
    got = stream_bars([ticks.iloc[:20], ticks.iloc[20:]], "2s", depth=False, footprint=False)
    assert list(got.columns) == list(CORE_BAR_COLUMNS)
    assert_same_bars(got, make_bars(ticks, "2s", depth=False, footprint=False))
    empty = stream_bars([], "1min")
    assert len(empty) == 0 and list(empty.columns) == list(BAR_COLUMNS)


def test_batches_out_of_order_raise():
    ticks = random_ticks(2, 50, "none", 0.0)
    stream = BarStream("1s")
    stream.add(ticks.iloc[25:])
    with pytest.raises(ValueError, match="not in time order"):
        stream.add(ticks.iloc[:25])


def test_first_chunk_holds_a_whole_block_of_orders() -> None:
    """The first block of aggressor orders is judged against itself, so the stream's first
    chunk must hold a block of orders, not just of trades: here the first 6 trades make
    2 orders (5 trades at one time stamp, then one), and the order of 5.2 is large against
    those 2 alone but not against the first 6 orders (found by the property above)."""
    ticks = random_ticks(238379, 112, "none", 0.0)
    assert ticks["timestamp"].iloc[:5].nunique() == 1 and ticks["size"].iloc[:5].sum() == pytest.approx(5.2)
    want = in_memory(ticks, "tick", "1s")
    assert want["large_buy_orders"].iloc[4] == 0.0
    assert_same_bars(streamed(ticks, "tick", "1s", [7]), want)


@pytest.mark.parametrize("preset", ["atas", "ninjatrader"])
def test_streamed_bars_take_an_imbalance_preset(preset: str) -> None:
    """footprint_params={"imbalance": preset} streams as make_bars computes it in memory
    (the footprint lines and the rule named in attrs)."""
    ticks = random_ticks(17, 3_000, "prices", 0.0)
    params = {"imbalance": preset, "large_window": LARGE_WINDOW}
    want = make_bars(ticks, "1min", tick_size=0.25, footprint_params=params)
    got = stream_bars([ticks.iloc[:1_234], ticks.iloc[1_234:]], "1min", tick_size=0.25, footprint_params=params)
    assert_same_bars(got, want)
    assert got.attrs["imbalance"] == want.attrs["imbalance"]
    default = make_bars(ticks, "1min", tick_size=0.25, footprint_params={"large_window": LARGE_WINDOW})
    assert not np.array_equal(got["buy_imbalances"], default["buy_imbalances"])  # the preset made a difference


@pytest.mark.parametrize("cores, reader, expected", [(1, False, False), (2, False, True), (2, True, False),
                                                     (3, True, True), (8, True, True)])
def test_side_thread_only_where_a_core_is_free(monkeypatch, cores, reader, expected):
    """Main thread + reader thread fill two cores: a side thread then only contends for them."""
    stream_module = importlib.import_module("data.bars.stream")
    monkeypatch.setattr(stream_module, "usable_cores", lambda: cores)
    assert stream_module.side_thread_helps(reader_thread=reader) is expected


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 160),
    spec=st.sampled_from(SPECS),
    cuts=st.lists(st.integers(0, 160), max_size=12),
    tick_size=st.sampled_from([0.25, None]),
)
def test_streamed_footprint_table_equals_the_in_memory_one(seed, n, spec, cuts, tick_size):
    """The table a stream keeps beside its bars is data.footprint of all the ticks, exactly."""
    ticks = random_ticks(seed, n, "none", 0.0)
    edges = [0, *sorted({c for c in cuts if c <= n}), n]
    stream = BarStream(spec, tick_size=tick_size, table=True, footprint_params={"large_window": LARGE_WINDOW})
    for a, b in zip(edges[:-1], edges[1:]):
        stream.add(ticks.iloc[a:b])
    bars = stream.finish()
    want = footprint_module.footprint(ticks, spec, tick_size)
    pd.testing.assert_frame_equal(stream.footprint_table(), want, check_exact=True)
    assert stream.footprint_table().attrs == want.attrs
    assert np.array_equal(np.unique(stream.footprint_table().index.get_level_values("timestamp")),
                          np.unique(bars.index))


def test_a_footprint_table_by_hand_and_only_when_asked():
    ticks = pd.DataFrame({
        "timestamp": pd.to_datetime(["2024-03-01 14:30:01", "2024-03-01 14:30:20", "2024-03-01 14:30:40",
                                     "2024-03-01 14:31:05"], utc=True),
        "price": [100.0, 100.25, 100.0, 99.75], "size": [2.0, 3.0, 1.5, 4.0], "side": np.array([1, -1, 1, 0], np.int8),
    })
    stream = BarStream("1min", tick_size=0.25, table=True)
    stream.add(ticks.iloc[:2])
    stream.add(ticks.iloc[2:])
    stream.finish()
    table = stream.footprint_table()
    assert list(table.index.get_level_values("price")) == [100.0, 100.25, 99.75]
    assert list(table["buy_volume"]) == [3.5, 0.0, 0.0] and list(table["sell_volume"]) == [0.0, 3.0, 0.0]
    assert list(table["unknown_volume"]) == [0.0, 0.0, 4.0] and list(table["buy_trades"]) == [2.0, 0.0, 0.0]
    assert table.attrs == {"tick_size": 0.25, "bar_spec": "1min"}
    plain = BarStream("1min", tick_size=0.25)
    plain.add(ticks)
    plain.finish()
    with pytest.raises(footprint_module.OrderFlowError, match="keeps no footprint table"):
        plain.footprint_table()
