"""Order-flow bars: every field on the hand-checked fixture, bar kinds, conservation."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data import OrderFlowError, make_bars
from data.schema import BAR_COLUMNS, CORE_BAR_COLUMNS, DEPTH_LINES, FOOTPRINT_LINES
from tests.conftest import canonical_ticks

# 1-minute bars of tests/fixtures/ticks_small.csv, worked out on paper:
#   09:31 <- ticks 1-4 (the 09:31:00 tick closes the bar: right-closed)
#   09:32 <- ticks 5-7, 09:33 <- ticks 8-10 (09:33:00 again on the boundary)
EXPECTED_1MIN = pd.DataFrame(
    {
        "open": [100.00, 100.00, 100.25],
        "high": [100.25, 100.50, 100.25],
        "low": [99.75, 100.00, 100.00],
        "close": [99.75, 100.50, 100.25],
        "volume": [11.5, 12.0, 6.5],
        "buy_volume": [5.0, 8.0, 2.5],
        "sell_volume": [6.5, 0.0, 4.0],
        "unknown_volume": [0.0, 4.0, 0.0],
        "delta": [-1.5, 8.0, -1.5],
        # running deltas: 2, 5, 0, -1.5 | 0, 2, 8 | -3, -4, -1.5
        "delta_high": [5.0, 8.0, 0.0],
        "delta_low": [-1.5, 0.0, -4.0],
        "trades": [4.0, 3.0, 3.0],
        # (200 + 300.75 + 500 + 149.625) / 11.5 | (400 + 200.5 + 603) / 12 | (300.75 + 100 + 250.625) / 6.5
        "vwap": [1150.375 / 11.5, 1203.5 / 12, 651.375 / 6.5],
        "bid_size": [20.0, 5.0, 10.0],
        "ask_size": [5.0, 14.0, 6.0],
        "imbalance": [15.0, -9.0, 4.0],
        "inferred_volume": [0.0, 0.0, 0.0],
        # book measures (data/bars/depth.py); the fixture has quote sizes but no quote prices
        "ofi": [np.nan] * 3,  # needs bid/ask prices
        "avg_depth": [45 / 4, 24 / 3, 23 / 3],  # mean of (bid_size + ask_size) / 2
        # (b - a) / (b + a) weighted by seconds to the next tick or the bar's end
        "tw_imbalance": [(15 * -2 / 22 + 20 * -7 / 23 + 20 * -2 / 20) / 55,
                         (20 * 0 + 29.5 * -3 / 15 + 0.5 * -9 / 19) / 50,
                         (29.5 * 7 / 15 + 30 * 9 / 15 + 0 * 4 / 16) / 59.5],
        # min size since the state in force 1 s before the bar's last tick
        "persistent_bid_size": [9.0, 5.0, 10.0],
        "persistent_ask_size": [5.0, 9.0, 3.0],
        "persistent_imbalance": [4 / 14, -4 / 14, 7 / 13],
        "weighted_mid": [np.nan] * 3,
        # the ticks carry the best quotes only: no multi-level imbalance
        "depth_imbalance_5": [np.nan] * 3,
        "depth_imbalance_10": [np.nan] * 3,
        # footprints at the inferred tick 0.25 (data/bars/footprint.py; ratio 3, no minimum volume):
        # 09:31 sell x buy: 100.25 0x3, 100.00 5x2, 99.75 1.5x0 | 09:32: 100.50 0x6, 100.25 0x2,
        # 100.00 unknown 4 | 09:33: 100.25 3x2.5, 100.00 1x0
        "poc": [100.00, 100.50, 100.25],
        "vah": [100.25, 100.50, 100.25],
        "val": [100.00, 100.00, 100.25],  # 70%: 7 -> +3 above | 6 -> +2, +4 below | 5.5 of 6.5
        "buy_imbalances": [0.0, 2.0, 0.0],  # 09:32: 2 and 6 over nothing sold one tick below
        "sell_imbalances": [0.0, 0.0, 1.0],  # 09:33: 3 sold at 100.25, nothing bought at 100.50
        "buy_stack": [0.0, 2.0, 0.0],
        "buy_stack_low": [np.nan, 100.25, np.nan],
        "buy_stack_high": [np.nan, 100.50, np.nan],
        "sell_stack": [0.0, 0.0, 1.0],
        "sell_stack_low": [np.nan, np.nan, 100.25],
        "sell_stack_high": [np.nan, np.nan, 100.25],
        # large: size >= the 99th percentile of the 10 sizes (the ceil(9.9) = 10th smallest, 6): the 6-lot
        "large_buy_volume": [0.0, 6.0, 0.0],
        "large_sell_volume": [0.0, 0.0, 0.0],
        # every trade has its own time stamp: each is an order of its own, the same 6-lot
        "large_buy_orders": [0.0, 6.0, 0.0],
        "large_sell_orders": [0.0, 0.0, 0.0],
    },
    index=pd.DatetimeIndex(
        ["2024-03-01 09:31", "2024-03-01 09:32", "2024-03-01 09:33"], name="timestamp"
    ).tz_localize("UTC").as_unit("ns"),
)


def test_one_minute_bars_every_field(small_ticks):
    bars = make_bars(small_ticks, "1min")
    assert list(bars.columns) == list(BAR_COLUMNS)
    pd.testing.assert_frame_equal(bars, EXPECTED_1MIN, check_exact=False, rtol=1e-12)


def test_tick_bars_every_three_trades(small_ticks):
    bars = make_bars(small_ticks, "3t")
    assert bars["trades"].tolist() == [3, 3, 3, 1]
    # stamped with each bar's last tick
    assert bars.index.strftime("%H:%M:%S.%f").tolist() == [
        "09:30:40.000000", "09:31:30.000000", "09:32:30.000000", "09:33:00.000000"]
    assert bars["delta"].tolist() == [0.0, 0.5, 2.0, 2.5]
    assert bars["delta_high"].tolist() == [5.0, 0.5, 6.0, 2.5]   # 2,5,0 | -1.5,-1.5,0.5 | 6,3,2
    assert bars["delta_low"].tolist() == [0.0, -1.5, 0.0, 0.0]


def test_volume_bars_do_not_split_the_crossing_trade(small_ticks):
    # sizes 2 3 5 | 1.5 4 2 6 | 3 1 2.5: the bar closes on the trade reaching >= 10
    bars = make_bars(small_ticks, "10v")
    assert bars["volume"].tolist() == [10.0, 13.5, 6.5]
    assert bars["trades"].tolist() == [3, 4, 3]
    assert bars.index[1] == pd.Timestamp("2024-03-01 09:31:59.5", tz="UTC")


def test_tick_spec_gives_one_bar_per_trade(small_ticks):
    bars = make_bars(small_ticks, None)
    assert len(bars) == 10
    assert (bars.index == small_ticks["timestamp"].to_numpy()).all()
    np.testing.assert_array_equal(bars["delta"], [2, 3, -5, -1.5, 0, 2, 6, -3, -1, 2.5])
    np.testing.assert_array_equal(bars["delta_high"], np.maximum(bars["delta"], 0))
    np.testing.assert_array_equal(bars["delta_low"], np.minimum(bars["delta"], 0))
    np.testing.assert_array_equal(bars["imbalance"], [-2, -7, -2, 15, 0, -3, -9, 7, 9, 4])


def test_empty_intervals_make_no_bar():
    ticks = canonical_ticks([("2024-01-02T10:00:30Z", 10.0, 1.0, 1, 1, 1),
                             ("2024-01-02T10:07:10Z", 11.0, 2.0, -1, 1, 1)])
    bars = make_bars(ticks, "1min")
    assert bars.index.strftime("%H:%M").tolist() == ["10:01", "10:08"]


def test_hour_bars_are_right_closed():
    ticks = canonical_ticks([("2024-01-02T10:00:00Z", 10.0, 1.0, 1, 1, 1),
                             ("2024-01-02T10:00:00.000001Z", 11.0, 2.0, -1, 1, 1),
                             ("2024-01-02T11:00:00Z", 12.0, 3.0, 1, 1, 1)])
    bars = make_bars(ticks, "1h")
    assert bars.index.strftime("%H:%M").tolist() == ["10:00", "11:00"]
    assert bars["volume"].tolist() == [1.0, 5.0]


def test_no_quotes_give_nan_imbalance():
    ticks = canonical_ticks([("2024-01-02T10:00:01Z", 10.0, 1.0, 1)], quotes=False)
    bars = make_bars(ticks, "1min")
    assert np.isnan(bars["imbalance"].iloc[0]) and np.isnan(bars["bid_size"].iloc[0])


def test_inferred_volume_counts_classified_trades(small_ticks):
    ticks = small_ticks.assign(inferred=[True, False, False, True] + [False] * 6)
    assert make_bars(ticks, "1min")["inferred_volume"].tolist() == [3.5, 0.0, 0.0]


def test_empty_ticks_give_empty_bars(small_ticks):
    bars = make_bars(small_ticks.iloc[:0], "1min")
    assert bars.empty and list(bars.columns) == list(BAR_COLUMNS)


@pytest.mark.parametrize("spec", ["0t", "abc", "-5min", "1.5t", "0v"])
def test_bad_spec_raises(small_ticks, spec):
    with pytest.raises(OrderFlowError, match="bad bar spec"):
        make_bars(small_ticks, spec)


def test_unsorted_or_incomplete_ticks_raise(small_ticks):
    with pytest.raises(OrderFlowError, match="row 2: ticks are not sorted"):
        make_bars(small_ticks.iloc[[1, 0, 2]].reset_index(drop=True), "1min")
    with pytest.raises(OrderFlowError, match="side"):
        make_bars(small_ticks.drop(columns="side"), "1min")


# ---------------------------------------------------------------- properties

def _reference_time_bars(ticks: pd.DataFrame, freq: str) -> pd.DataFrame:
    """An independent (slow, obvious) version with pandas' own right-closed resampling."""
    t = ticks.set_index("timestamp")
    buy = t["size"].where(t["side"] == 1, 0.0)
    sell = t["size"].where(t["side"] == -1, 0.0)
    frame = pd.DataFrame({"price": t["price"], "size": t["size"], "buy": buy, "sell": sell,
                          "pv": t["price"] * t["size"]})
    grouped = frame.resample(freq, closed="right", label="right", origin="epoch")
    out = pd.DataFrame({
        "open": grouped["price"].first(), "high": grouped["price"].max(),
        "low": grouped["price"].min(), "close": grouped["price"].last(),
        "volume": grouped["size"].sum(), "buy_volume": grouped["buy"].sum(),
        "sell_volume": grouped["sell"].sum(), "trades": grouped["size"].count().astype(float),
    })
    return out[out["trades"] > 0]


@st.composite
def tick_frames(draw):
    n = draw(st.integers(1, 60))
    gaps = draw(st.lists(st.integers(0, 400_000_000_000), min_size=n, max_size=n))  # up to 400 s
    start = pd.Timestamp("2024-03-01 09:30", tz="UTC").value + draw(st.integers(0, 10**11))
    times = start + np.cumsum(gaps)
    prices = draw(st.lists(st.integers(3990, 4010), min_size=n, max_size=n))
    sizes = draw(st.lists(st.one_of(st.integers(0, 50).map(float),
                                    st.floats(0, 5, allow_nan=False).map(lambda x: round(x, 6))),
                          min_size=n, max_size=n))
    sides = draw(st.lists(st.sampled_from([-1, 0, 1]), min_size=n, max_size=n))
    return pd.DataFrame({
        "timestamp": pd.to_datetime(times, utc=True).as_unit("ns"),
        "price": np.array(prices, dtype=float) * 0.25,
        "size": np.array(sizes, dtype=float),
        "side": np.array(sides, dtype=np.int8),
        "bid_size": np.arange(n, dtype=float),
        "ask_size": np.full(n, 3.0),
    })


SPECS = st.one_of(
    st.sampled_from(["tick", "1s", "5s", "1min", "15min", "1h", "1D"]),
    st.integers(1, 20).map(lambda k: f"{k}t"),
    st.integers(1, 80).map(lambda k: f"{k}v"),
    st.integers(1, 300).map(lambda k: f"{k}s"),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ticks=tick_frames(), spec=SPECS)
def test_conservation_for_any_ticks_and_spec(ticks, spec):
    bars = make_bars(ticks, spec)
    total = ticks["size"].sum()
    delta = np.where(ticks["side"] == 1, ticks["size"], 0) - np.where(ticks["side"] == -1, ticks["size"], 0)
    cvd = np.cumsum(delta)[-1]
    assert bars["volume"].sum() == pytest.approx(total, rel=1e-12, abs=1e-9)
    assert bars["delta"].sum() == pytest.approx(cvd, rel=1e-12, abs=1e-9)
    assert bars["trades"].sum() == len(ticks)
    np.testing.assert_allclose(bars["buy_volume"] + bars["sell_volume"] + bars["unknown_volume"],
                               bars["volume"], rtol=1e-12, atol=1e-9)
    assert (bars["delta_high"] >= 0).all() and (bars["delta_low"] <= 0).all()
    assert (bars["delta_high"] >= bars["delta"]).all() and (bars["delta_low"] <= bars["delta"]).all()
    assert (bars["high"] >= bars[["open", "close"]].max(axis=1)).all()
    assert (bars["low"] <= bars[["open", "close"]].min(axis=1)).all()
    assert ((bars["vwap"] >= bars["low"] - 1e-9) & (bars["vwap"] <= bars["high"] + 1e-9)).all()
    assert bars.index.is_monotonic_increasing
    assert bars["trades"].min() >= 1
    assert bars["close"].iloc[-1] == ticks["price"].iloc[-1]


@settings(max_examples=150, deadline=None)
@given(ticks=tick_frames(), seconds=st.sampled_from([1, 5, 7, 60, 90, 900, 3600]))
def test_time_bars_match_pandas_resample(ticks, seconds):
    mine = make_bars(ticks, f"{seconds}s")
    ref = _reference_time_bars(ticks, f"{seconds}s")
    assert (mine.index == ref.index).all()
    for column in ref.columns:
        np.testing.assert_allclose(mine[column], ref[column], rtol=1e-12, atol=1e-9, err_msg=column)


@settings(max_examples=150, deadline=None)
@given(ticks=tick_frames(), threshold=st.integers(1, 60))
def test_volume_bars_close_on_the_crossing_trade(ticks, threshold):
    bars = make_bars(ticks, f"{threshold}v")
    ends = np.cumsum(bars["trades"].to_numpy().astype(int)) - 1
    sizes = ticks["size"].to_numpy()
    full = bars["volume"].to_numpy()[:-1]
    # every bar but the last reaches the threshold, and only on its last trade
    assert (full >= threshold - 1e-6).all()
    assert (full - sizes[ends[:-1]] < threshold + 1e-6).all()


def test_optional_line_groups_can_be_left_out(small_ticks):
    full = make_bars(small_ticks, "1min")
    core = make_bars(small_ticks, "1min", depth=False, footprint=False)
    assert list(core.columns) == list(CORE_BAR_COLUMNS)
    pd.testing.assert_frame_equal(core, full[list(CORE_BAR_COLUMNS)])
    no_footprint = make_bars(small_ticks, "1min", footprint=False)
    assert list(no_footprint.columns) == list(CORE_BAR_COLUMNS + DEPTH_LINES)
    assert list(make_bars(small_ticks.iloc[:0], "1min", depth=False).columns) == list(CORE_BAR_COLUMNS + FOOTPRINT_LINES)
