"""Order-flow indicators: hand-checked values, runonce == next, no look-ahead, DST-proof sessions."""
from __future__ import annotations

from typing import Callable

import backtrader as bt
import numpy as np
import pandas as pd
import pytest

import indicators as indicators_package
from data.errors import OrderFlowError
from data.feed import OrderFlowFeed
from data.schema import BAR_COLUMNS
from indicators import (
    CVD,
    OBI,
    CumulativeVolumeDelta,
    DeltaDivergence,
    OrderBookImbalance,
    SessionCalendar,
    SessionVWAP,
    VolumeDelta,
)
from indicators.warmup import WarmUpGuard
from tests.conftest import SMALL_ROWS, canonical_ticks

NAN = np.nan


# --- helpers ---------------------------------------------------------------------------------------


def bars_frame(times: list[str] | pd.DatetimeIndex, **columns: list[float]) -> pd.DataFrame:
    """An order-flow bars frame built by hand: given columns, the rest filled plausibly.

    ``open``/``close`` default to the mid of ``high``/``low``; ``volume`` to 10; every
    other bar column to 0. Enough for indicators that read a few named lines.
    """
    index = pd.DatetimeIndex(times, tz="UTC") if not isinstance(times, pd.DatetimeIndex) else times
    n = len(index)
    frame = pd.DataFrame({name: np.zeros(n) for name in BAR_COLUMNS}, index=index)
    frame["volume"] = 10.0
    for name, values in columns.items():
        frame[name] = np.asarray(values, dtype=np.float64)
    if "high" in columns and "low" in columns:
        mid = (frame["high"] + frame["low"]) / 2
        for name in ("open", "close"):
            if name not in columns:
                frame[name] = mid
    frame.index.name = "timestamp"
    frame.attrs["bar_spec"] = "1min"
    return frame


def run_indicators(
    feed: bt.feed.DataBase, factories: dict[str, Callable], runonce: bool
) -> dict[str, dict[str, np.ndarray]]:
    """Run a strategy that builds ``factories`` on ``feed``; every line of every indicator as an array."""
    cerebro = bt.Cerebro(runonce=runonce, preload=True, stdstats=False)
    cerebro.adddata(feed)

    class Probe(bt.Strategy):
        def __init__(self) -> None:
            self.built = {key: make(self.data) for key, make in factories.items()}

    cerebro.addstrategy(Probe)
    strategy = cerebro.run()[0]
    return {
        key: {name: np.array(getattr(ind.lines, name).array) for name in ind.lines.getlinealiases()}
        for key, ind in strategy.built.items()
    }


def minute_ticks(start: str, end: str, hours: range | None = None) -> pd.DataFrame:
    """A one-lot buy at hh:mm:30 of every minute in [start, end) (only in the UTC ``hours`` if given)."""
    times = pd.date_range(start, end, freq="1min", tz="UTC", inclusive="left") + pd.Timedelta(seconds=30)
    if hours is not None:
        times = times[np.isin(times.hour, list(hours))]
    n = len(times)
    return pd.DataFrame(
        {
            "timestamp": times.as_unit("ns"),
            "price": np.full(n, 100.0),
            "size": np.ones(n),
            "side": np.ones(n, dtype=np.int8),
            "bid_size": np.full(n, 5.0),
            "ask_size": np.full(n, 5.0),
        }
    )


def random_ticks(n: int = 3000, seed: int = 7) -> pd.DataFrame:
    """Random ticks every ~2.5 min across 2024-03-08 .. 2024-03-13: several sessions and the DST change."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-03-08 12:00", tz="UTC")
    gaps = rng.exponential(150.0, n)
    times = start + pd.to_timedelta(np.cumsum(gaps), unit="s")
    bid = rng.integers(0, 40, n).astype(float)
    ask = rng.integers(0, 40, n).astype(float)
    bid[rng.random(n) < 0.02] = np.nan  # a few missing quotes
    return pd.DataFrame(
        {
            "timestamp": pd.DatetimeIndex(times).as_unit("ns"),
            "price": 5000 + 0.25 * np.cumsum(rng.choice([-1, 0, 1], n)),
            "size": rng.integers(1, 20, n).astype(float) + rng.choice([0.0, 0.5], n),
            "side": rng.choice([-1, 0, 1], n, p=[0.45, 0.1, 0.45]).astype(np.int8),
            "bid_size": bid,
            "ask_size": ask,
        }
    )


ALL_INDICATORS: dict[str, Callable] = {
    "delta": lambda d: VolumeDelta(d),
    "cvd_never": lambda d: CumulativeVolumeDelta(d),
    "cvd_session": lambda d: CumulativeVolumeDelta(d, reset="session"),
    "cvd_crypto": lambda d: CVD(d, reset="session", session_start="00:00", tz="UTC"),
    "cvd_rolling": lambda d: CVD(d, reset="rolling", window=7),
    "obi": lambda d: OrderBookImbalance(d),
    "obi_sma": lambda d: OBI(d, period=4),
    "obi_ema": lambda d: OBI(d, period=4, ma="ema"),
    "divergence": lambda d: DeltaDivergence(d, period=5),
    "divergence_session": lambda d: DeltaDivergence(d, period=3, reset="session"),
    "divergence_rolling": lambda d: DeltaDivergence(d, period=4, reset="rolling", window=6),
    "svwap": lambda d: SessionVWAP(d),
    "svwap_anchored": lambda d: SessionVWAP(d, reset="never"),
}


def assert_same(a: dict[str, dict[str, np.ndarray]], b: dict[str, dict[str, np.ndarray]], upto: int | None = None):
    for key in a:
        for line in a[key]:
            left, right = a[key][line][:upto], b[key][line][:upto]
            np.testing.assert_array_equal(left, right, err_msg=f"{key}.{line}")


@pytest.fixture(scope="module")
def random_bars() -> pd.DataFrame:
    from data.bars.make import make_bars

    return make_bars(random_ticks(), "15min")


# --- values on the hand-checkable fixture ----------------------------------------------------------------


@pytest.mark.parametrize("runonce", [True, False])
def test_fixture_minute_bars(runonce: bool) -> None:
    # 1-minute bars of ticks_small.csv: deltas -1.5, +8, -1.5; last bid/ask 20/5, 5/14, 10/6
    feed = OrderFlowFeed.from_ticks(canonical_ticks(SMALL_ROWS), bars="1min")
    out = run_indicators(
        feed,
        {
            "delta": VolumeDelta,
            "cvd": CVD,
            "cvd_rolling": lambda d: CVD(d, reset="rolling", window=2),
            "cvd_0931": lambda d: CVD(d, reset="session", session_start="09:31", tz="UTC"),
            "obi": OBI,
            "obi_ema": lambda d: OBI(d, period=2, ma="ema"),
            "obi_sma": lambda d: OBI(d, period=2),
            "svwap": lambda d: SessionVWAP(d, session_start="00:00", tz="UTC"),
        },
        runonce,
    )
    np.testing.assert_array_equal(out["delta"]["delta"], [-1.5, 8.0, -1.5])
    np.testing.assert_array_equal(out["delta"]["delta_up"], [0.0, 8.0, 0.0])
    np.testing.assert_array_equal(out["delta"]["delta_down"], [-1.5, 0.0, -1.5])
    np.testing.assert_array_equal(out["cvd"]["cvd"], [-1.5, 6.5, 5.0])
    np.testing.assert_array_equal(out["cvd_rolling"]["cvd"], [NAN, 6.5, 6.5])
    # the 09:31 bar holds (09:30, 09:31]: still the old session; the 09:32 bar opens the new one
    np.testing.assert_array_equal(out["cvd_0931"]["cvd"], [-1.5, 8.0, 6.5])
    np.testing.assert_array_equal(out["obi"]["raw"], [15.0, -9.0, 4.0])
    np.testing.assert_allclose(out["obi"]["normalized"], [15 / 25, -9 / 19, 4 / 16], rtol=1e-15)
    np.testing.assert_allclose(out["obi_sma"]["normalized"], [NAN, (15 / 25 - 9 / 19) / 2, (-9 / 19 + 4 / 16) / 2])
    # EMA(2): seeded with the SMA of the first 2, then alpha = 2/3
    seed = (15 / 25 - 9 / 19) / 2
    np.testing.assert_allclose(out["obi_ema"]["normalized"], [NAN, seed, seed / 3 + (4 / 16) * 2 / 3])
    # sum(price*size) per bar: 1150.375, 1203.5, 651.375; volumes 11.5, 12, 6.5
    np.testing.assert_allclose(out["svwap"]["vwap"], [1150.375 / 11.5, 2353.875 / 23.5, 3005.25 / 30.0])
    np.testing.assert_allclose(out["svwap"]["cum_volume"], [11.5, 23.5, 30.0])


@pytest.mark.parametrize("runonce", [True, False])
def test_fixture_tick_feed(runonce: bool) -> None:
    feed = OrderFlowFeed.from_ticks(canonical_ticks(SMALL_ROWS), bars=None)
    out = run_indicators(
        feed,
        {"cvd": CVD, "cvd_0931": lambda d: CVD(d, reset="session", session_start="09:31", tz="UTC"), "obi": OBI},
        runonce,
    )
    np.testing.assert_array_equal(out["cvd"]["cvd"], [2, 5, 0, -1.5, -1.5, 0.5, 6.5, 3.5, 2.5, 5.0])
    # the tick at exactly 09:31:00 closes the old session; 09:31:10 (unknown side, delta 0) opens the new one
    np.testing.assert_array_equal(out["cvd_0931"]["cvd"], [2, 5, 0, -1.5, 0, 2, 8, 5, 4, 6.5])
    np.testing.assert_array_equal(out["obi"]["raw"], [-2, -7, -2, 15, 0, -3, -9, 7, 9, 4])
    np.testing.assert_allclose(out["obi"]["normalized"][[3, 4, 6]], [15 / 25, 0.0, -9 / 19])


@pytest.mark.parametrize("runonce", [True, False])
def test_book_imbalance_edge_cases(runonce: bool) -> None:
    feed = OrderFlowFeed.from_bars(
        bars_frame(
            ["2024-03-01 10:01", "2024-03-01 10:02", "2024-03-01 10:03", "2024-03-01 10:04", "2024-03-01 10:05"],
            bid_size=[0, NAN, 10, 0, 6],
            ask_size=[0, 5, 0, 10, 2],
        )
    )
    out = run_indicators(feed, {"obi": OBI, "sma3": lambda d: OBI(d, period=3)}, runonce)
    np.testing.assert_array_equal(out["obi"]["raw"], [0, NAN, 10, -10, 4])
    np.testing.assert_array_equal(out["obi"]["normalized"], [0.0, NAN, 1.0, -1.0, 0.5])
    np.testing.assert_array_equal(out["sma3"]["normalized"], [NAN, NAN, NAN, NAN, (1.0 - 1.0 + 0.5) / 3])


# --- divergence on a series worked by hand -----------------------------------------------------------


DIV_TIMES = pd.date_range("2024-03-01 10:01", periods=9, freq="1min", tz="UTC")
DIV_LOW = [100, 99, 99.5, 98.5, 98.75, 98.0, 99.0, 99.5, 100.0]
DIV_HIGH = [101, 100.5, 100.75, 99.5, 99.75, 99.0, 100.0, 100.5, 101.5]
DIV_DELTA = [5, -3, 1, 2, -1, -4, 3, 2, -1]  # CVD 5 2 3 5 4 0 3 5 4
# period 3:
#  bar 3: low 98.5 < min(100, 99, 99.5) = 99 at bar 1 (cvd 2); cvd 5 > 2           -> +1
#  bar 5: low 98.0 < 98.5 at bar 3 (cvd 5); cvd 0 < 5: CVD confirms the low         ->  0
#  bar 6: high 100 > max(99.5, 99.75, 99) = 99.75 at bar 4 (cvd 4); cvd 3 < 4      -> -1
#  bar 7: high 100.5 > 100 at bar 6 (cvd 3); cvd 5 > 3: CVD confirms                ->  0
#  bar 8: high 101.5 > 100.5 at bar 7 (cvd 5); cvd 4 < 5                             -> -1
DIV_EXPECTED = [NAN, NAN, NAN, 1, 0, 0, -1, 0, -1]


def divergence_bars() -> pd.DataFrame:
    return bars_frame(DIV_TIMES, low=DIV_LOW, high=DIV_HIGH, delta=DIV_DELTA)


@pytest.mark.parametrize("runonce", [True, False])
def test_delta_divergence_by_hand(runonce: bool) -> None:
    out = run_indicators(OrderFlowFeed.from_bars(divergence_bars()), {"d": lambda d: DeltaDivergence(d, period=3)}, runonce)
    np.testing.assert_array_equal(out["d"]["divergence"], DIV_EXPECTED)
    np.testing.assert_array_equal(out["d"]["bull_mark"], [NAN, NAN, NAN, 98.5, NAN, NAN, NAN, NAN, NAN])
    np.testing.assert_array_equal(out["d"]["bear_mark"], [NAN] * 6 + [100.0, NAN, 101.5])


@pytest.mark.parametrize("runonce", [True, False])
def test_delta_divergence_compares_with_the_most_recent_low(runonce: bool) -> None:
    # lows 99 at bars 0 and 2 (cvd 10 and 1); bar 3 breaks to 98.5 with cvd 5:
    # higher than at the most recent low (1) -> bullish, though lower than at bar 0 (10)
    bars = bars_frame(DIV_TIMES[:4], low=[99, 100, 99, 98.5], high=[100, 101, 100, 99], delta=[10, -5, -4, 4])
    out = run_indicators(OrderFlowFeed.from_bars(bars), {"d": lambda d: DeltaDivergence(d, period=3)}, runonce)
    np.testing.assert_array_equal(out["d"]["divergence"], [NAN, NAN, NAN, 1.0])


@pytest.mark.parametrize("runonce", [True, False])
def test_delta_divergence_waits_for_a_rolling_cvd(runonce: bool) -> None:
    out = run_indicators(
        OrderFlowFeed.from_bars(divergence_bars()),
        {"d": lambda d: DeltaDivergence(d, period=3, reset="rolling", window=2)},
        runonce,
    )
    # the rolling CVD exists from bar 1, so the first value is at bar 1 + 3
    assert np.isnan(out["d"]["divergence"][:4]).all()
    assert not np.isnan(out["d"]["divergence"][4:]).any()


# --- runonce == next, and no look-ahead --------------------------------------------------------------


def test_runonce_and_next_agree_on_bars(random_bars: pd.DataFrame) -> None:
    a = run_indicators(OrderFlowFeed.from_bars(random_bars), ALL_INDICATORS, runonce=True)
    b = run_indicators(OrderFlowFeed.from_bars(random_bars), ALL_INDICATORS, runonce=False)
    assert_same(a, b)
    # the comparison is not vacuous: the series move and the divergence fires
    assert np.nanstd(a["cvd_session"]["cvd"]) > 0
    assert set(np.unique(a["divergence"]["divergence"][5:])) == {-1.0, 0.0, 1.0}


def test_runonce_and_next_agree_on_ticks() -> None:
    ticks = random_ticks(1500, seed=3)
    a = run_indicators(OrderFlowFeed.from_ticks(ticks), ALL_INDICATORS, runonce=True)
    b = run_indicators(OrderFlowFeed.from_ticks(ticks), ALL_INDICATORS, runonce=False)
    assert_same(a, b)
    assert len(a["cvd_never"]["cvd"]) == 1500


@pytest.mark.parametrize("runonce", [True, False])
def test_no_look_ahead(random_bars: pd.DataFrame, runonce: bool) -> None:
    full = run_indicators(OrderFlowFeed.from_bars(random_bars), ALL_INDICATORS, runonce)
    for k in (10, len(random_bars) // 2, len(random_bars) - 5):
        cut = run_indicators(OrderFlowFeed.from_bars(random_bars.iloc[: k + 1]), ALL_INDICATORS, runonce)
        assert_same(cut, full, upto=k + 1)


# --- sessions across daylight-saving changes ---------------------------------------------------------


def reset_times(ticks: pd.DataFrame, bars: str | None, **params) -> list[pd.Timestamp]:
    """Bar times where a session CVD of one-lot buys restarts (the session VWAP's volume must agree)."""
    feed = OrderFlowFeed.from_ticks(ticks, bars=bars)
    times = []
    for runonce in (True, False):
        out = run_indicators(
            OrderFlowFeed.from_bars(feed.p.dataname),
            {"cvd": lambda d: CVD(d, reset="session", **params), "vwap": lambda d: SessionVWAP(d, **params)},
            runonce,
        )
        cvd = out["cvd"]["cvd"]
        np.testing.assert_array_equal(out["vwap"]["cum_volume"], cvd)  # one unit per bar: same count
        times.append(cvd)
    np.testing.assert_array_equal(times[0], times[1])
    bars_delta = feed.p.dataname["delta"].to_numpy()  # all one-lot buys: cvd == own delta only at a restart
    return list(feed.p.dataname.index[times[0] == bars_delta])


def test_session_reset_across_spring_dst() -> None:
    # America/Chicago leaves CST (UTC-6) for CDT (UTC-5) on Sunday 2024-03-10 at 02:00:
    # 17:00 local is 23:00 UTC up to Saturday 2024-03-09 and 22:00 UTC from Sunday on.
    ticks = minute_ticks("2024-03-07 21:00", "2024-03-11 01:00", hours=range(21, 24))  # gaps cross no 17:00
    got = reset_times(ticks, "1min")
    # the first bar, then the bar just after each 17:00 (bars are right-closed: 17:01 holds (17:00, 17:01])
    expected = ["2024-03-07 21:01", "2024-03-07 23:01", "2024-03-08 23:01", "2024-03-09 23:01", "2024-03-10 22:01"]
    # (a fixed UTC-6 offset would restart at 2024-03-10 23:01 instead: that bar exists and must not restart)
    assert pd.Timestamp("2024-03-10 23:01", tz="UTC") in OrderFlowFeed.from_ticks(ticks, bars="1min").p.dataname.index
    assert got == list(pd.DatetimeIndex(expected, tz="UTC"))


def test_session_reset_across_fall_dst_on_ticks() -> None:
    # back to CST on Sunday 2024-11-03: 17:00 is 22:00 UTC on Saturday, 23:00 UTC on Sunday
    ticks = minute_ticks("2024-11-02 21:00", "2024-11-04 01:00", hours=range(21, 24))
    got = reset_times(ticks, None)
    expected = ["2024-11-02 21:00:30", "2024-11-02 22:00:30", "2024-11-03 23:00:30"]
    assert got == list(pd.DatetimeIndex(expected, tz="UTC"))


def test_crypto_sessions_at_utc_midnight() -> None:
    ticks = minute_ticks("2024-03-09 23:00", "2024-03-11 01:00")
    got = reset_times(ticks, "5min", session_start="00:00", tz="UTC")
    assert got == list(pd.DatetimeIndex(["2024-03-09 23:05", "2024-03-10 00:05", "2024-03-11 00:05"], tz="UTC"))


def test_session_calendar_boundaries() -> None:
    cal = SessionCalendar("17:00", "America/Chicago")
    day = pd.Timestamp("2024-03-09").toordinal()
    bounds = cal.boundaries(day, day + 1)
    assert [bt.num2date(b) for b in bounds] == [pd.Timestamp("2024-03-09 23:00"), pd.Timestamp("2024-03-10 22:00")]
    # a start time skipped by the spring-forward jump moves to the first valid instant (03:00 CDT)
    skipped = SessionCalendar("02:30", "America/Chicago").boundaries(day + 1, day + 1)
    assert bt.num2date(skipped[0]) == pd.Timestamp("2024-03-10 08:00")
    # the bar-by-bar lookup gives the same ids as the vectorised one
    nums = bt.date2num(pd.Timestamp("2024-03-10 21:59").to_pydatetime()) + np.arange(0, 3) / 1440
    assert list(cal.ids(nums)) == [cal.id_of(x) for x in nums] == [day, day, day + 1]


# --- bad input ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda d: CVD(d, reset="daily"), "reset must be one of"),
        (lambda d: CVD(d, reset="session", tz="Mars/Olympus"), "unknown time zone"),
        (lambda d: CVD(d, reset="session", session_start="25:00"), "session_start"),
        (lambda d: CVD(d, reset="rolling", window=0), "window"),
        (lambda d: OBI(d, ma="wma", period=3), "ma must be"),
        (lambda d: DeltaDivergence(d, period=0), "period"),
        (lambda d: SessionVWAP(d, reset="rolling"), "SessionVWAP reset"),
    ],
)
def test_bad_parameters_raise_order_flow_error(make: Callable, words: str) -> None:
    with pytest.raises(OrderFlowError, match=words):
        run_indicators(OrderFlowFeed.from_bars(divergence_bars()), {"x": make}, runonce=True)


def test_plain_ohlcv_feed_is_refused() -> None:
    frame = divergence_bars()[["open", "high", "low", "close", "volume"]].tz_localize(None)
    with pytest.raises(OrderFlowError, match="order-flow line"):
        run_indicators(bt.feeds.PandasData(dataname=frame), {"x": CVD}, runonce=True)


# --- data shorter than the warm-up -------------------------------------------------------

# Every indicator class in indicators/ with a warm-up of 20 bars where it has one: (factory, {line: minimum
# period}) for the lines that wait for the warm-up; every other line has a value from the first bar.
WARM_UP = 20
SHORT_DATA_INDICATORS: dict[str, tuple[Callable, dict[str, int]]] = {
    "VolumeDelta": (lambda d: indicators_package.VolumeDelta(d), {}),
    "CumulativeVolumeDelta": (lambda d: CVD(d, reset="rolling", window=WARM_UP), {"cvd": WARM_UP}),
    "OrderBookImbalance": (lambda d: OBI(d, period=WARM_UP), {"normalized": WARM_UP}),
    "OrderBookImbalance ema": (lambda d: OBI(d, period=WARM_UP, ma="ema"), {"normalized": WARM_UP}),
    # the CVD's first value, then N previous bars
    "DeltaDivergence": (lambda d: DeltaDivergence(d, period=WARM_UP),
                        {"divergence": WARM_UP + 1, "bull_mark": WARM_UP + 1, "bear_mark": WARM_UP + 1}),
    "DeltaDivergence rolling": (lambda d: DeltaDivergence(d, period=WARM_UP, reset="rolling", window=WARM_UP),
                                {"divergence": 2 * WARM_UP, "bull_mark": 2 * WARM_UP, "bear_mark": 2 * WARM_UP}),
    "SessionVWAP": (lambda d: SessionVWAP(d), {}),
    "OrderFlowImbalance": (lambda d: indicators_package.OFI(d, period=WARM_UP, normalise=True), {"ofi": WARM_UP}),
    "TimeWeightedImbalance": (lambda d: indicators_package.TWImbalance(d, period=WARM_UP),
                              {"imbalance": WARM_UP}),
    "PersistentImbalance": (lambda d: indicators_package.PersistentOBI(d, period=WARM_UP, ma="ema"),
                            {"imbalance": WARM_UP}),
    "WeightedMid": (lambda d: indicators_package.WMid(d), {}),
    "DepthImbalance": (lambda d: indicators_package.DepthOBI(d, levels=10, period=WARM_UP), {"imbalance": WARM_UP}),
    "PointOfControl": (lambda d: indicators_package.POC(d), {}),
    "FootprintImbalances": (lambda d: indicators_package.FPImbalances(d), {}),
    "StackedImbalance": (lambda d: indicators_package.Stacked(d, min_stack=2), {}),
    "LargeTrades": (lambda d: indicators_package.LargeTrades(d), {}),
    "LargeOrders": (lambda d: indicators_package.LargeOrders(d), {}),
    "VWAPBands": (lambda d: indicators_package.VWAPBands(d), {}),
    "CumulativeDeltaCandles": (lambda d: indicators_package.CVDCandles(d), {}),
    # volume against the SMA of the previous `lookback` bars
    "Absorption": (lambda d: indicators_package.Absorption(d, lookback=WARM_UP, volume_factor=0.5),
                   {"signal": WARM_UP + 1, "bull_mark": WARM_UP + 1, "bear_mark": WARM_UP + 1}),
}


def random_bars_frame(n: int, seed: int = 11) -> pd.DataFrame:
    """``n`` one-minute bars with every bar column random (finite, sizes > 0), so that every line has values."""
    rng = np.random.default_rng(seed)
    times = pd.date_range("2024-03-04 14:31", periods=n, freq="1min", tz="UTC")
    frame = bars_frame(times, **{name: rng.uniform(1.0, 9.0, n) for name in BAR_COLUMNS})
    frame["low"] = frame[["open", "close"]].min(axis=1) - rng.uniform(0, 1, n)
    frame["high"] = frame[["open", "close"]].max(axis=1) + rng.uniform(0, 1, n)
    frame["delta"] = rng.uniform(-5.0, 5.0, n)
    for name in ("buy_stack", "sell_stack"):
        frame[name] = rng.integers(0, 4, n).astype(float)
    return frame


def test_the_short_data_table_holds_every_indicator_class() -> None:
    classes = {getattr(indicators_package, name) for name in indicators_package.__all__}
    indicator_classes = {c.__name__ for c in classes if isinstance(c, type) and issubclass(c, bt.Indicator)
                         and not c.aliased}
    # SessionVolumeProfile reads a footprint table beside the feed: its short-data test is in test_session_tools
    assert indicator_classes - {"SessionVolumeProfile"} == {key.split()[0] for key in SHORT_DATA_INDICATORS}
    assert all(issubclass(getattr(indicators_package, name), WarmUpGuard) for name in indicator_classes)


@pytest.mark.parametrize("n", [1, 6, WARM_UP - 1, WARM_UP, WARM_UP + 1, WARM_UP + 2, 2 * WARM_UP + 1])
def test_data_shorter_than_the_warm_up_gives_nan_in_both_run_modes(n: int) -> None:
    frame = random_bars_frame(n)
    factories = {key: make for key, (make, _) in SHORT_DATA_INDICATORS.items()}
    vectorised = run_indicators(OrderFlowFeed.from_bars(frame), factories, runonce=True)
    bar_by_bar = run_indicators(OrderFlowFeed.from_bars(frame), factories, runonce=False)
    assert_same(vectorised, bar_by_bar)
    for key, (_, warm_up) in SHORT_DATA_INDICATORS.items():
        for line, values in vectorised[key].items():
            assert len(values) == n, f"{key}.{line}"
            first = warm_up.get(line, 1) - 1  # the first bar with a value
            assert np.isnan(values[:first]).all(), f"{key}.{line}: a value before the warm-up"
            if line not in ("bull_mark", "bear_mark", "stack_low", "stack_high"):  # NaN where no signal
                assert not np.isnan(values[first:]).any(), f"{key}.{line}: no value after the warm-up"
    # hand values where the data is long enough for them
    np.testing.assert_array_equal(vectorised["OrderBookImbalance"]["raw"], frame["bid_size"] - frame["ask_size"])
    if n >= WARM_UP:
        np.testing.assert_allclose(vectorised["CumulativeVolumeDelta"]["cvd"][WARM_UP - 1:],
                                   np.convolve(frame["delta"], np.ones(WARM_UP), "valid"), rtol=1e-12)


def test_bar_opens_are_right_closed_and_follow_dst() -> None:
    cal = SessionCalendar("17:00", "America/Chicago")
    # 17:00 CST = 23:00 UTC (before 2024-03-10), 17:00 CDT = 22:00 UTC (after): a bar stamped at the
    # opening still belongs to the session that closes there; the next bar opens the new one
    times = pd.DatetimeIndex(["2024-03-08 22:59", "2024-03-08 23:00", "2024-03-08 23:01", "2024-03-09 23:30",
                              "2024-03-10 22:00", "2024-03-10 22:01"], tz="UTC")
    assert cal.bar_opens(times).tolist() == [False, False, True, True, False, True]
    assert cal.bar_opens(times.tz_localize(None)).tolist() == cal.bar_opens(times).tolist()  # naive = UTC
    assert cal.bar_opens(times[:0]).tolist() == []
