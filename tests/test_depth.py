"""Book measures: OFI, imbalance ratio, weighted mid, time weighting, persistence filter."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data import OrderFlowError, make_bars
from data.bars.depth import (
    bar_ofi,
    imbalance_ratio,
    normalised_imbalance,
    ofi_events,
    persistent_size,
    tick_ofi,
    time_weighted_mean,
    weighted_mid,
)

# Worked by hand: (bid px x sz, ask px x sz) over four quote states.
QUOTES = {"bid": [100, 100, 100.5, 100], "bid_size": [5, 8, 3, 9],
          "ask": [101, 101, 101.5, 100.5], "ask_size": [7, 6, 2, 4]}


def quote_ticks(seconds: list[float], quotes: dict) -> pd.DataFrame:
    n = len(seconds)
    start = pd.Timestamp("2024-03-01 14:30", tz="UTC")
    return pd.DataFrame({
        "timestamp": (start + pd.to_timedelta(seconds, unit="s")).as_unit("ns"),
        "price": np.asarray(quotes["ask"], dtype=float),
        "size": np.ones(n),
        "side": np.ones(n, dtype=np.int8),
        **{k: np.asarray(v, dtype=float) for k, v in quotes.items()},
    })


def test_ofi_worked_example():
    # e1: bid same price, 8 - 5 = +3; ask same price, -(6 - 7) = +1 -> +4
    # e2: bid up: +3; ask up: +6 (the old ask queue gone) -> +9
    # e3: bid down: -3 (old queue lost); ask down: -4 (new queue) -> -7
    e = ofi_events(QUOTES["bid"], QUOTES["bid_size"], QUOTES["ask"], QUOTES["ask_size"])
    assert e.tolist() == [0.0, 4.0, 9.0, -7.0]
    assert e.sum() == 6.0


def test_ofi_per_bar_sums_events_and_each_tick_compares_with_the_one_before():
    one_bar = make_bars(quote_ticks([1, 2, 3, 4], QUOTES), "1min")
    assert one_bar["ofi"].tolist() == [6.0]
    # 14:30:02 closes the first 2-second bar: e0 + e1 = 4; the next bar holds e2 + e3 = 9 - 7
    two_bars = make_bars(quote_ticks([1, 2, 3, 4], QUOTES), "2s")
    assert two_bars["ofi"].tolist() == [4.0, 2.0]
    assert tick_ofi(quote_ticks([1, 2, 3, 4], QUOTES)).tolist() == [0.0, 4.0, 9.0, -7.0]


def test_ofi_equal_prices_count_both_queues_and_missing_quotes_count_zero():
    # bid and ask both unchanged: e = (qb_n - qb_n-1) - (qa_n - qa_n-1)
    assert ofi_events([10, 10], [4, 9], [11, 11], [6, 2]).tolist() == [0.0, 5.0 + 4.0]
    # a missing size makes the step unknown: 0, not NaN
    assert ofi_events([10, 10, 10], [4, np.nan, 9], [11, 11, 11], [6, 6, 6]).tolist() == [0.0, 0.0, 0.0]


def reference_ofi(pb, qb, pa, qa) -> list[float]:
    """Cont-Kukanov-Stoikov by cases, one event at a time."""
    out = [0.0]
    for n in range(1, len(pb)):
        if pb[n] > pb[n - 1]:
            bid = qb[n]
        elif pb[n] < pb[n - 1]:
            bid = -qb[n - 1]
        else:
            bid = qb[n] - qb[n - 1]
        if pa[n] < pa[n - 1]:
            ask = -qa[n]
        elif pa[n] > pa[n - 1]:
            ask = qa[n - 1]
        else:
            ask = -(qa[n] - qa[n - 1])
        out.append(bid + ask)
    return out


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 50), st.integers(0, 3), st.integers(0, 50)),
                min_size=1, max_size=30))
def test_ofi_matches_the_case_by_case_definition(states):
    pb, qb, da, qa = (np.array(c, dtype=float) for c in zip(*states))
    pa = pb + 1 + da
    np.testing.assert_allclose(ofi_events(pb, qb, pa, qa), reference_ofi(pb, qb, pa, qa))


def test_imbalance_ratio_normalised_imbalance_and_weighted_mid_worked_example():
    assert imbalance_ratio([400], [100])[0] == pytest.approx(0.8)
    assert normalised_imbalance([400], [100])[0] == pytest.approx(0.6)
    assert weighted_mid([150], [152], [400], [100])[0] == pytest.approx(151.6)  # 0.8*152 + 0.2*150
    # empty book: ratio undefined, the weighted mid falls back to the plain mid
    assert np.isnan(imbalance_ratio([0], [0])[0])
    assert weighted_mid([150], [152], [0], [0])[0] == 151.0


def test_time_weighted_mean_weights_by_resting_time_until_the_bar_end():
    ts = (np.array([0, 10, 40, 60, 70]) * 1e9).astype(np.int64)
    values = np.array([1.0, -1.0, 0.5, 0.2, 0.4])
    starts = np.array([0, 3])
    stamps = (np.array([60, 70]) * 1e9).astype(np.int64)
    # bar 1: 1 for 10 s, -1 for 30 s, 0.5 for 20 s (until the 60 s close); bar 2: 0.2 for 10 s, 0.4 for 0 s
    got = time_weighted_mean(values, ts, starts, stamps)
    assert got[0] == pytest.approx((10 - 30 + 10) / 60)
    assert got[1] == pytest.approx(0.2)
    # all states at one instant (weights 0): the plain mean; no value at all: NaN
    same = np.zeros(2, dtype=np.int64)
    assert time_weighted_mean([0.2, 0.4], same, [0], [0])[0] == pytest.approx(0.3)
    assert np.isnan(time_weighted_mean([np.nan], same[:1], [0], [0])[0])


def test_persistent_size_hand_example():
    ts = (np.array([0, 0.2, 0.5, 0.5, 1.1, 1.6, 2.5, 2.6]) * 1e9).astype(np.int64)
    px = np.array([100, 100, 100, 100, 100, 100, 100.25, 100.25])
    q = np.array([10, 50, 12, 11, 13, 9, 20, 5.0])
    # 1.1 s: states in force over [0.1, 1.1] are 10 (since 0), 50, 12, 11, 13 -> 10
    # 1.6 s: in force at 0.6 is 11 (the later of two states at 0.5), then 13, 9 -> 9
    # 2.5 s and 2.6 s: the bid moved to 100.25 at 2.5 s, less than 1 s ago -> 0
    expected = [0, 0, 0, 0, 10, 9, 0, 0]
    assert persistent_size(ts, px, q, "1s").tolist() == expected
    assert persistent_size(ts, px, q, "1s", at=[4, 5, 7]).tolist() == [10, 9, 0]


def test_persistent_size_ignores_size_posted_and_pulled_within_the_window():
    ts = (np.arange(0, 5, 0.25) * 1e9).astype(np.int64)
    px = np.full(len(ts), 100.0)
    honest = np.full(len(ts), 20.0)
    spoofed = honest.copy()
    spoofed[8:11] += 500  # 2.00-2.50 s: 500 lots shown for half a second
    assert persistent_size(ts, px, spoofed, "1s").tolist() == persistent_size(ts, px, honest, "1s").tolist()
    assert persistent_size(ts, px, honest, "1s")[4:].tolist() == [20.0] * (len(ts) - 4)
    # and OFI: posting adds +500, pulling removes it; inside one bar they cancel
    e = ofi_events(px, spoofed, px + 0.25, np.full(len(ts), 20.0))
    assert e.sum() == 0.0 and e[8] == 500.0 and e[11] == -500.0


def reference_persistent(ts, px, q, w, i):
    anchor = max((j for j in range(len(ts)) if ts[j] <= ts[i] - w), default=-1)
    if anchor < 0 or any(px[j] != px[i] for j in range(anchor, i + 1)):
        return 0.0
    return float(np.nanmin(q[anchor:i + 1]))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 8), st.integers(0, 2), st.integers(1, 40)), min_size=1, max_size=40),
       st.integers(1, 20))
def test_persistent_size_matches_brute_force_on_both_paths(rows, window_tenths):
    gaps, moves, sizes = (np.array(c) for c in zip(*rows))
    ts = (np.cumsum(gaps) * 1e8).astype(np.int64)  # tenths of a second, ties allowed
    px = 100 + 0.25 * (moves == 2).cumsum()
    q = sizes.astype(float)
    w = window_tenths * 100_000_000
    expected = [reference_persistent(ts, px, q, w, i) for i in range(len(ts))]
    np.testing.assert_allclose(persistent_size(ts, px, q, pd.Timedelta(w, "ns")), expected)
    at = np.arange(0, len(ts), 3)
    np.testing.assert_allclose(persistent_size(ts, px, q, pd.Timedelta(w, "ns"), at=at), np.array(expected)[at])


def test_persistence_window_must_be_positive():
    with pytest.raises(OrderFlowError, match="persistence window"):
        persistent_size(np.zeros(1, dtype=np.int64), [1.0], [1.0], "0s")
    with pytest.raises(OrderFlowError, match="persistence window"):
        persistent_size(np.zeros(1, dtype=np.int64), [1.0], [1.0], "soon")


def test_bar_ofi_buckets_a_quote_stream_into_right_closed_bars():
    quote_ts = np.array([5, 60, 61, 119, 300]) * 10**9
    stamps = np.array([60, 120]) * 10**9
    # 5 s and 60 s -> the 60 s bar; 61 s and 119 s -> the 120 s bar; 300 s after the last bar: dropped
    assert bar_ofi(quote_ts, [1.0, 2.0, 4.0, 8.0, 16.0], stamps).tolist() == [3.0, 12.0]


def test_depth_lines_in_bars_with_full_quotes():
    quotes = {k: v + [extra] for (k, v), extra in zip(QUOTES.items(), [100, 7, 100.5, 6])}
    bars = make_bars(quote_ticks([10, 20, 40, 50, 55, 70], {k: v + [v[-1]] for k, v in quotes.items()}), "1min")
    first, second = bars.iloc[0], bars.iloc[1]
    assert first["ofi"] == 6.0 + (7 - 9) - (6 - 4)  # the fifth state: same prices, bid -2, ask +2
    assert first["avg_depth"] == pytest.approx((12 + 14 + 5 + 13 + 13) / 2 / 5)
    assert first["weighted_mid"] == pytest.approx(7 / 13 * 100.5 + 6 / 13 * 100)  # last quotes 100 x 7, 100.5 x 6
    # imbalances -2/12, 2/14, 1/5, 5/13, 1/13 resting 10, 20, 10, 5, 5 s (the bar closes at 60 s)
    tw = (10 * -2 / 12 + 20 * 2 / 14 + 10 * 1 / 5 + 5 * 5 / 13 + 5 * 1 / 13) / 50
    assert first["tw_imbalance"] == pytest.approx(tw)
    # at 55 s both quote prices were set at 50 s, 5 s ago: min(9, 7) x min(4, 6)
    assert first["persistent_bid_size"] == 7 and first["persistent_ask_size"] == 4
    assert first["persistent_imbalance"] == pytest.approx(3 / 11)
    # at 70 s the 7 x 6 state has rested since 55 s: the 9 x 4 one is out of the window
    assert second["ofi"] == 0.0 and second["persistent_imbalance"] == pytest.approx(1 / 13)
    # at 50 s both prices had just changed: no rested depth on either side -> imbalance 0
    early = make_bars(quote_ticks([10, 20, 40, 50], QUOTES), "1min").iloc[0]
    assert early["persistent_bid_size"] == 0 and early["persistent_ask_size"] == 0
    assert early["persistent_imbalance"] == 0.0


def test_depth_lines_are_nan_without_quotes(small_ticks):
    bars = make_bars(small_ticks.drop(columns=["bid_size", "ask_size"]), "1min")
    for name in ("ofi", "avg_depth", "tw_imbalance", "persistent_imbalance", "weighted_mid"):
        assert bars[name].isna().all(), name


# --- indicators ---------------------------------------------------------------------------------

from data.feed import OrderFlowFeed  # noqa: E402
from indicators import OFI, OrderFlowImbalance, PersistentImbalance, TimeWeightedImbalance, WeightedMid  # noqa: E402
from tests.test_indicators import bars_frame, run_indicators  # noqa: E402


def hand_bars() -> pd.DataFrame:
    return bars_frame(
        pd.date_range("2024-03-01 14:31", periods=5, freq="1min", tz="UTC"),
        ofi=[4.0, -2.0, 6.0, 0.0, 10.0],
        avg_depth=[10.0, 10.0, 20.0, 0.0, 5.0],
        tw_imbalance=[0.2, -0.4, 0.6, 0.0, 0.3],
        persistent_imbalance=[0.0, 0.5, -0.5, 1.0, 0.25],
        persistent_bid_size=[0.0, 30.0, 10.0, 5.0, 5.0],
        persistent_ask_size=[0.0, 10.0, 30.0, 0.0, 3.0],
        weighted_mid=[100.1, 100.2, 100.3, 100.4, 100.5],
    )


@pytest.mark.parametrize("runonce", [True, False])
def test_depth_indicators_hand_values_in_both_run_modes(runonce):
    factories = {
        "ofi": lambda d: OrderFlowImbalance(d),
        "ofi3n": lambda d: OFI(d, period=3, normalise=True),
        "tw": lambda d: TimeWeightedImbalance(d, period=2),
        "pers": lambda d: PersistentImbalance(d),
        "wmid": lambda d: WeightedMid(d),
    }
    got = run_indicators(OrderFlowFeed.from_bars(hand_bars()), factories, runonce)
    np.testing.assert_allclose(got["ofi"]["ofi"], [4, -2, 6, 0, 10])
    # sum of 3 OFIs over the mean of 3 depths: 8 / (40/3) = 0.6, 4 / 10 = 0.4, 16 / (25/3) = 1.92
    np.testing.assert_allclose(got["ofi3n"]["ofi"][2:], [0.6, 0.4, 1.92])
    assert np.isnan(got["ofi3n"]["ofi"][:2]).all()
    np.testing.assert_allclose(got["tw"]["imbalance"][1:], [-0.1, 0.1, 0.3, 0.15])  # SMA of 2
    np.testing.assert_allclose(got["pers"]["imbalance"], [0.0, 0.5, -0.5, 1.0, 0.25])
    np.testing.assert_allclose(got["pers"]["bid"], [0.0, 30.0, 10.0, 5.0, 5.0])
    np.testing.assert_allclose(got["wmid"]["wmid"], [100.1, 100.2, 100.3, 100.4, 100.5])


def test_ofi_normalised_by_zero_depth_is_zero():
    got = run_indicators(OrderFlowFeed.from_bars(hand_bars()), {"o": lambda d: OFI(d, normalise=True)}, True)
    np.testing.assert_allclose(got["o"]["ofi"], [0.4, -0.2, 0.3, 0.0, 2.0])


def test_depth_indicators_reject_bad_parameters():
    with pytest.raises(OrderFlowError, match="period"):
        run_indicators(OrderFlowFeed.from_bars(hand_bars()), {"o": lambda d: OFI(d, period=0)}, True)
    with pytest.raises(OrderFlowError, match="ma"):
        run_indicators(OrderFlowFeed.from_bars(hand_bars()), {"o": lambda d: TimeWeightedImbalance(d, period=3, ma="wma")}, True)


# --- ofi_momentum strategy ------------------------------------------------------------------------------

from strategies import OfiMomentum  # noqa: E402
from tests.test_strategies import run as run_strategy  # noqa: E402


def test_ofi_momentum_enters_above_the_threshold_and_exits_when_ofi_turns():
    bars = bars_frame(
        pd.date_range("2024-03-01 14:31", periods=6, freq="1min", tz="UTC"),
        open=[100, 100, 100.5, 101, 101.5, 101.25], high=[101] * 6, low=[99] * 6, close=[100] * 6,
        ofi=[5, 30, 2, -1, 0, 0], avg_depth=[10] * 6,
    )
    _, _, trades = run_strategy(bars, OfiMomentum, period=1, threshold=1.0)
    (trade,) = trades
    # bar 2: 30 / 10 = 3 > 1 -> long at bar 3's open; bar 4: -0.1 < 0 -> out at bar 5's open
    assert trade["direction"] == "long" and trade["size"] == 1 and trade["closed"]
    assert trade["entry_price"] == 100.5 and trade["exit_price"] == 101.5
    _, _, trades = run_strategy(bars, OfiMomentum, period=1, threshold=3.0)
    assert trades == []  # 3 is not above 3


# --- the imbalance study's tools --------------------------------------------------------------------------

from tools.imbalance_study import inject_spoofs, next_returns, prediction_table, shift_table  # noqa: E402


def test_inject_spoofs_pins_the_fake_size_to_its_price_and_time():
    seconds = [0.0, 0.2, 0.4, 0.6, 0.8, 1.5]
    quotes = {"bid": [100, 100, 100, 100.25, 100, 100], "bid_size": [10.0] * 6,
              "ask": [100.25, 100.25, 100.25, 100.5, 100.25, 100.25], "ask_size": [20.0] * 6}
    ticks = quote_ticks(seconds, quotes)
    t0 = ticks["timestamp"].iloc[1].value
    # 50 lots on the bid at 100 from 0.2 s for 0.7 s: shown at 0.2, 0.4 and 0.8 s (at 0.6 s the bid is 100.25)
    out = inject_spoofs(ticks, np.array([t0]), np.array([700_000_000]), np.array([1]), size=50.0)
    assert out["bid_size"].tolist() == [10, 60, 60, 10, 60, 10]
    assert out["ask_size"].tolist() == [20.0] * 6
    # OFI sees the post (+50) and the pull (-50) at the same price; the bid's move up (whole new queue)
    # and back down (whole old queue lost) never involve the fake lots: the two cancel
    e_clean = ofi_events(ticks["bid"], ticks["bid_size"], ticks["ask"], ticks["ask_size"])
    e_spoof = ofi_events(out["bid"], out["bid_size"], out["ask"], out["ask_size"])
    assert (e_spoof - e_clean).tolist() == [0, 50, 0, 0, 0, -50]
    # pulled after the bid moved up for good: OFI keeps the +50 (the pull happened behind the best bid)
    up = quote_ticks(seconds[:4], {k: v[:4] for k, v in quotes.items()})
    out = inject_spoofs(up, np.array([t0]), np.array([700_000_000]), np.array([1]), size=50.0)
    assert ofi_events(out["bid"], out["bid_size"], out["ask"], out["ask_size"]).sum() - \
        ofi_events(up["bid"], up["bid_size"], up["ask"], up["ask_size"]).sum() == 50.0


def test_prediction_and_shift_tables_by_hand():
    index = pd.date_range("2024-03-01 14:31", periods=5, freq="1min", tz="UTC")
    bars = pd.DataFrame({"close": [100.0, 101.0, 100.0, 100.0, 102.0]}, index=index)
    future = next_returns(bars)
    assert future.iloc[:4].tolist() == pytest.approx([0.01, -1 / 101, 0.0, 0.02]) and np.isnan(future.iloc[4])
    m = pd.DataFrame({"x": [1.0, 1.0, -2.0, 3.0, 0.0]}, index=index)
    table = prediction_table(m, future)
    # signed pairs: (1, +) hit, (1, -) miss, (3, +) hit; (-2, 0) has no sign -> 2 of 3
    assert table.loc["x", "signed pairs"] == 3 and table.loc["x", "hit rate"] == pytest.approx(2 / 3)
    assert table.loc["x", "pearson"] == pytest.approx(np.corrcoef([1, 1, -2, 3], future.iloc[:4])[0, 1])
    shifted = shift_table(m, m + pd.DataFrame({"x": [0.0, 0.0, 0.0, 0.0, 1.0]}, index=index))
    assert shifted.loc["x", "bars changed %"] == 20.0
    assert shifted.loc["x", "mean |change| / std"] == pytest.approx(0.2 / m["x"].std())


def test_next_returns_skip_gaps():
    index = pd.DatetimeIndex(["2024-03-01 14:31", "2024-03-01 14:32", "2024-03-01 18:00"], tz="UTC")
    future = next_returns(pd.DataFrame({"close": [100.0, 101.0, 99.0]}, index=index))
    assert future.iloc[0] == pytest.approx(0.01) and np.isnan(future.iloc[1])


def test_study_on_a_slice_of_the_sample(tmp_path):
    from tests.conftest import need_sample
    from tools.imbalance_study import main, study_sample

    path = tmp_path / "slice.parquet"
    pd.read_parquet(need_sample()).iloc[:30_000].to_parquet(path)
    tables = study_sample(path, "1min", seed=3, per_bar=2.0, size_factor=5.0, tick_size=0.25)
    close = tables["spoof close"]
    # the spoofer never trades: delta and the footprint cannot move; the last-tick raw imbalance moves in every
    # bar whose last trade it covers (its displayed size changed there), the rested depth far less
    assert close.loc["delta", "bars changed %"] == 0 and close.loc["footprint imbalance count", "bars changed %"] == 0
    assert close.loc["raw imbalance", "bars changed %"] > 80
    assert close.loc["persistence-filtered", "mean |change| / std"] < close.loc["raw imbalance", "mean |change| / std"] / 10
    assert set(tables["prediction"].index) == {"raw imbalance", "time-weighted", "persistence-filtered", "OFI / depth",
                                               "footprint imbalance count", "delta"}
    assert main(["--data", str(tmp_path / "missing.parquet"), "--out", str(tmp_path / "x.md")]) == 2
