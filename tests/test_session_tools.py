"""Session volume profile, VWAP bands, CVD candles, large orders: hand-worked values, runonce == next,
no look-ahead."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from data import footprint, make_bars
from data.errors import OrderFlowError
from data.feed import OrderFlowFeed
from indicators import (
    CumulativeDeltaCandles,
    CVDCandles,
    LargeOrders,
    SessionVolumeProfile,
    VWAPBands,
    session_profile,
)
from indicators.candles import cvd_candles
from tests.conftest import canonical_ticks
from tests.test_indicators import assert_same, bars_frame, random_ticks, run_indicators

NAN = np.nan

# --- session volume profile -----------------------------------------------------------------------

# Crypto sessions (00:00 UTC), 1-minute bars, tick 1. Worked by hand (value area 70%, grown from the POC
# towards the side that traded more, above on ties, the other side once one is exhausted):
#   bar 03-01 00:01: {100: 5, 101: 2}                 POC 100; 5 >= 0.7 x 7           -> VA 100..100
#   bar 03-01 00:02: {100: 5, 101: 8, 102: 1}         POC 101; 8 + 5 (below > above)  -> VA 100..101
#   bar 03-01 00:03: {99: 10, 100: 5, 101: 8, 102: 1} POC 99; 10 + 5 + 8 = 23 >= 16.8 -> VA 99..101
#   bar 03-02 00:01: new session {105: 3}             POC 105, VA 105..105
#   composite of 2 sessions at 03-02 00:01: {99: 10, 100: 5, 101: 8, 102: 1, 105: 3}: POC 99, VA 99..101
PROFILE_ROWS = [
    ("2024-03-01T00:00:20Z", 100.0, 5.0, 1),
    ("2024-03-01T00:00:40Z", 101.0, 2.0, -1),
    ("2024-03-01T00:01:20Z", 101.0, 6.0, 1),
    ("2024-03-01T00:01:30Z", 102.0, 1.0, 1),
    ("2024-03-01T00:02:10Z", 99.0, 10.0, -1),
    ("2024-03-02T00:00:30Z", 105.0, 3.0, 1),
]
CRYPTO = dict(session_start="00:00", tz="UTC")


def profile_feed():
    ticks = canonical_ticks(PROFILE_ROWS, quotes=False)
    bars = make_bars(ticks, "1min", tick_size=1.0)
    return OrderFlowFeed.from_bars(bars), footprint(ticks, "1min", 1.0)


@pytest.mark.parametrize("runonce", [True, False])
def test_developing_session_profile_by_hand(runonce):
    feed, table = profile_feed()
    out = run_indicators(feed, {
        "one": lambda d: SessionVolumeProfile(d, footprint=table, **CRYPTO),
        "two": lambda d: SessionVolumeProfile(d, footprint=table, sessions=2, **CRYPTO),
    }, runonce)
    np.testing.assert_array_equal(out["one"]["poc"], [100, 101, 99, 105])
    np.testing.assert_array_equal(out["one"]["vah"], [100, 101, 101, 105])
    np.testing.assert_array_equal(out["one"]["val"], [100, 100, 99, 105])
    np.testing.assert_array_equal(out["two"]["poc"], [100, 101, 99, 99])
    np.testing.assert_array_equal(out["two"]["vah"], [100, 101, 101, 101])
    np.testing.assert_array_equal(out["two"]["val"], [100, 100, 99, 99])


@pytest.mark.parametrize("n", [1, 2, 3])
def test_profile_on_data_shorter_than_its_sessions_in_both_run_modes(n):
    ticks = canonical_ticks(PROFILE_ROWS, quotes=False)
    bars = make_bars(ticks, "1min", tick_size=1.0).iloc[:n]
    table = footprint(ticks, "1min", 1.0)
    outs = [run_indicators(OrderFlowFeed.from_bars(bars), {
        "p": lambda d: SessionVolumeProfile(d, footprint=table, sessions=3, **CRYPTO)}, runonce)
        for runonce in (True, False)]
    assert_same(*outs)
    np.testing.assert_array_equal(outs[0]["p"]["poc"], [100, 101, 99][:n])


def test_session_profile_table_by_hand():
    _, table = profile_feed()
    day1 = session_profile(table, until="2024-03-01 23:59", **CRYPTO)
    assert day1["volume"].to_dict() == {99.0: 10.0, 100.0: 5.0, 101.0: 8.0, 102.0: 1.0}
    assert day1["buy_volume"].to_dict() == {99.0: 0.0, 100.0: 5.0, 101.0: 6.0, 102.0: 1.0}
    assert (day1.attrs["poc"], day1.attrs["vah"], day1.attrs["val"]) == (99.0, 101.0, 99.0)
    both = session_profile(table, sessions=2, **CRYPTO)
    assert both["volume"].sum() == 27.0 and both.attrs["sessions"] == 2 and both.attrs["poc"] == 99.0
    last = session_profile(table, **CRYPTO)
    assert last["volume"].to_dict() == {105.0: 3.0}


def test_profile_uses_the_cvd_session_calendar():
    # 17:00 Chicago sessions: all the rows above fall in two sessions (Thu 17:00 .. Fri 17:00 CST is
    # 23:00 .. 23:00 UTC): 03-01 00:0x is in the session opened 02-29 17:00 CST, 03-02 00:00:30 in the next
    feed, table = profile_feed()
    out = run_indicators(feed, {"p": lambda d: SessionVolumeProfile(d, footprint=table)}, True)
    np.testing.assert_array_equal(out["p"]["poc"], [100, 101, 99, 105])


def test_profile_needs_a_footprint_table():
    feed, _ = profile_feed()
    with pytest.raises(OrderFlowError):
        run_indicators(feed, {"p": lambda d: SessionVolumeProfile(d)}, True)


# --- VWAP bands ---------------------------------------------------------------------------------------

# bars (vwap, volume): (100, 1), (102, 1), (104, 2) in one session:
#   bar 1: vwap 100, sd 0
#   bar 2: vwap 101, var = (1 + 1) / 2 = 1, sd 1
#   bar 3: vwap 410 / 4 = 102.5, var = (6.25 + 0.25 + 2 x 2.25) / 4 = 2.75
# anchored at bar 2: NaN, then vwap 102 (sd 0), then 310 / 3 with var (1 x (4/3)^2 + 2 x (2/3)^2) / 3 = 8/9
def band_bars() -> pd.DataFrame:
    times = pd.date_range("2024-03-04 15:01", periods=3, freq="1min", tz="UTC")
    return bars_frame(times, vwap=[100.0, 102.0, 104.0], volume=[1.0, 1.0, 2.0], close=[100.0, 102.0, 104.0],
                      high=[100.0, 102.0, 104.0], low=[100.0, 102.0, 104.0])


@pytest.mark.parametrize("runonce", [True, False])
def test_vwap_bands_by_hand(runonce):
    out = run_indicators(OrderFlowFeed.from_bars(band_bars()), {
        "s": lambda d: VWAPBands(d),
        "a": lambda d: VWAPBands(d, anchor="2024-03-04 15:02", reset="never"),
    }, runonce)
    s, a = out["s"], out["a"]
    np.testing.assert_allclose(s["vwap"], [100, 101, 102.5])
    np.testing.assert_allclose(s["sd"], [0, 1, math.sqrt(2.75)], atol=1e-12)
    np.testing.assert_allclose(s["upper2"], np.array([100, 101, 102.5]) + 2 * np.array([0, 1, math.sqrt(2.75)]))
    np.testing.assert_allclose(s["lower3"], np.array([100, 101, 102.5]) - 3 * np.array([0, 1, math.sqrt(2.75)]))
    np.testing.assert_allclose(a["vwap"], [NAN, 102, 310 / 3])
    np.testing.assert_allclose(a["sd"], [NAN, 0, math.sqrt(8 / 9)], atol=1e-12)
    np.testing.assert_allclose(a["upper1"], [NAN, 102, 310 / 3 + math.sqrt(8 / 9)])


def test_vwap_bands_equal_the_direct_formula_on_ticks():
    ticks = random_ticks(400, seed=5)
    out = run_indicators(OrderFlowFeed.from_ticks(ticks), {"b": lambda d: VWAPBands(d, reset="never")}, True)["b"]
    p, v = ticks["price"].to_numpy(), ticks["size"].to_numpy()
    vwap = np.cumsum(p * v) / np.cumsum(v)
    var = np.array([np.sum(v[: k + 1] * (p[: k + 1] - vwap[k]) ** 2) / np.sum(v[: k + 1]) for k in range(len(p))])
    np.testing.assert_allclose(out["vwap"], vwap, rtol=1e-12)
    np.testing.assert_allclose(out["sd"], np.sqrt(var), rtol=1e-7, atol=1e-7)


# --- CVD candles ------------------------------------------------------------------------------------


@pytest.mark.parametrize("runonce", [True, False])
def test_cvd_candles_by_hand(runonce):
    times = pd.date_range("2024-03-04 15:01", periods=2, freq="1min", tz="UTC")
    bars = bars_frame(times, delta=[3.0, -2.0], delta_high=[4.0, 1.0], delta_low=[-1.0, -3.0])
    out = run_indicators(OrderFlowFeed.from_bars(bars), {"c": lambda d: CumulativeDeltaCandles(d)}, runonce)["c"]
    np.testing.assert_array_equal(out["cvd_open"], [0, 3])
    np.testing.assert_array_equal(out["cvd_high"], [4, 4])
    np.testing.assert_array_equal(out["cvd_low"], [-1, 0])
    np.testing.assert_array_equal(out["cvd_close"], [3, 1])
    assert [list(x) for x in cvd_candles([3, 1], [3, -2], [4, 1], [-1, -3])] == [[0, 3], [4, 4], [-1, 0], [3, 1]]


def test_cvd_candles_hold_the_running_cvd_of_the_ticks():
    ticks = random_ticks(2000, seed=11)
    bars = make_bars(ticks, "15min")
    out = run_indicators(OrderFlowFeed.from_bars(bars), {"c": lambda d: CVDCandles(d)}, True)["c"]
    running = np.cumsum(np.where(ticks["side"] == 1, ticks["size"], np.where(ticks["side"] == -1, -ticks["size"], 0)))
    bar_of_tick = np.searchsorted(bars.index.asi8, ticks["timestamp"].array.asi8, side="left")
    high = pd.Series(running).groupby(bar_of_tick).max().to_numpy()
    low = pd.Series(running).groupby(bar_of_tick).min().to_numpy()
    np.testing.assert_allclose(out["cvd_high"], np.maximum(high, out["cvd_open"]), atol=1e-9)
    np.testing.assert_allclose(out["cvd_low"], np.minimum(low, out["cvd_open"]), atol=1e-9)
    np.testing.assert_allclose(out["cvd_close"][-1], running[-1], atol=1e-9)


# --- runonce == next and no look-ahead for every new indicator --------------------------------------


def new_indicators(table) -> dict:
    return {
        "svp": lambda d: SessionVolumeProfile(d, footprint=table),
        "svp3": lambda d: SessionVolumeProfile(d, footprint=table, sessions=3, value_area=0.6),
        "svp_crypto": lambda d: SessionVolumeProfile(d, footprint=table, **CRYPTO),
        "bands": lambda d: VWAPBands(d),
        "bands_never": lambda d: VWAPBands(d, reset="never"),
        "bands_anchor": lambda d: VWAPBands(d, anchor="2024-03-10 20:00"),
        "candles": lambda d: CumulativeDeltaCandles(d, reset="session"),
        "candles_rolling": lambda d: CVDCandles(d, reset="rolling", window=5),
        "orders": lambda d: LargeOrders(d),
    }


@pytest.fixture(scope="module")
def random_case():
    ticks = random_ticks()
    ticks.loc[1::3, "timestamp"] = ticks["timestamp"].shift(1)[1::3]  # some trades share a time stamp: orders
    bars = make_bars(ticks, "15min", tick_size=0.25)
    return bars, footprint(ticks, "15min", 0.25)


def test_new_indicators_runonce_equals_next(random_case):
    bars, table = random_case
    a = run_indicators(OrderFlowFeed.from_bars(bars), new_indicators(table), runonce=True)
    b = run_indicators(OrderFlowFeed.from_bars(bars), new_indicators(table), runonce=False)
    assert_same(a, b)
    assert np.nanstd(a["svp"]["poc"]) > 0 and np.nanstd(a["bands"]["sd"]) > 0
    assert np.isnan(a["bands_anchor"]["vwap"][0]) and not np.isnan(a["bands_anchor"]["vwap"][-1])
    assert np.nansum(a["orders"]["buy"]) > 0


@pytest.mark.parametrize("runonce", [True, False])
def test_new_indicators_do_not_look_ahead(random_case, runonce):
    bars, table = random_case
    full = run_indicators(OrderFlowFeed.from_bars(bars), new_indicators(table), runonce)
    for k in (5, len(bars) // 2, len(bars) - 3):
        cut_bars = bars.iloc[: k + 1]
        cut_table = table[table.index.get_level_values(0) <= cut_bars.index[-1]]
        cut = run_indicators(OrderFlowFeed.from_bars(cut_bars), new_indicators(cut_table), runonce)
        assert_same(cut, full, upto=k + 1)


# --- pictures: the big-trades layer and the session tools on the report -----------------------------


def test_big_trade_markers_and_charts(tmp_path):
    from reports.footprint_chart import big_trade_markers, footprint_chart
    from reports.plots import plot_report
    from tests.test_orders import order_ticks

    ticks = order_ticks()
    markers = big_trade_markers(ticks, spec="1min", threshold=5.0)
    assert markers["size"].tolist() == [6.0, 7.0] and markers["side"].tolist() == [1, -1]
    assert markers["price"].iloc[0] == pytest.approx(601.25 / 6)
    assert markers["bar_time"].tolist() == [pd.Timestamp("2024-03-01 09:30", tz="UTC"),
                                            pd.Timestamp("2024-03-01 09:31", tz="UTC")]
    assert markers["radius"].tolist() == [1.0, 3.0]
    assert len(big_trade_markers(ticks, "2024-03-01 09:31", spec="1min", threshold=5.0)) == 1
    png = footprint_chart(ticks, spec="1min", tick_size=0.25, path=tmp_path / "fp.png", imbalance="atas", big_trades=5.0)
    assert png.stat().st_size > 10_000

    feed, table = profile_feed()
    bars = feed.p.dataname
    out = run_indicators(feed, {"p": lambda d: SessionVolumeProfile(d, footprint=table, **CRYPTO),
                                "b": lambda d: VWAPBands(d, **CRYPTO)}, True)
    equity = pd.DataFrame({"value": np.full(len(bars), 100.0), "drawdown": np.zeros(len(bars))})
    trades = pd.DataFrame(columns=["entry_bar", "exit_bar", "entry_price", "exit_price", "direction", "pnl_net"])
    png = plot_report(bars, equity, trades, tmp_path / "report.png", profile=session_profile(table, **CRYPTO),
                      levels=pd.DataFrame(out["p"]), bands=pd.DataFrame(out["b"]))
    assert png.stat().st_size > 10_000
