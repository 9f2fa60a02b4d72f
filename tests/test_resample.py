"""data.resample_bars / resample_footprint / developing_bars: coarser bars from finer ones, every
line by the rule beside its definition in data/schema.py, against hand-worked values and against
the same bars built straight from the ticks (a property test over random ticks)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data import OrderFlowError, developing_bars, footprint, make_bars, resample_bars, resample_footprint
from data.bars.depth import depth_lines
from data.bars.footprint import footprint_lines
from data.bars.make import core_columns
from data.bars.resample import RULES, check_timeframe
from data.bars.spec import bar_index
from data.schema import BAR_COLUMNS, FOOTPRINT, RESAMPLE_RULE_NAMES, RESAMPLE_RULES, TIME_MEAN, TRADE_MEAN, VOLUME_MEAN
from data.ticks import order_ids, timestamps_ns
from indicators.sessions import SessionCalendar
from tests.conftest import canonical_ticks

# Lines whose rule is exact only to float rounding (weighted means), and the lines that cannot be
# rebuilt from coarser bars (time-weighted book means: see docs/timeframes.md).
ROUNDED = tuple(name for name, rule in RESAMPLE_RULES.items() if rule in (VOLUME_MEAN, TRADE_MEAN))
NOT_REBUILT = ("tw_imbalance",)


def test_every_bar_field_has_a_rule_and_every_rule_has_code() -> None:
    assert tuple(RESAMPLE_RULES) == BAR_COLUMNS
    assert set(RESAMPLE_RULES.values()) <= set(RESAMPLE_RULE_NAMES)
    assert set(RULES) | {FOOTPRINT} == set(RESAMPLE_RULE_NAMES)
    assert {name for name, rule in RESAMPLE_RULES.items() if rule == TIME_MEAN} == {
        "tw_imbalance", "depth_imbalance_5", "depth_imbalance_10"}


# --- hand-worked: two 1-minute bars into one 2-minute bar --------------------------------------------
# bar 10:01: 100 x2 buy, 101 x4 buy, 100 x1 sell   running delta 2, 6, 5  -> delta 5, high 6, low 0, POC 101
# bar 10:02:  99 x5 sell, 100 x3 buy               running delta -5, -2   -> delta -2, high 0, low -5, POC 99
# 2-minute bar: running delta 2, 6, 5, 0, 3 -> high 6, low 0 (not bar 10:02's own -5);
# levels 99: 5, 100: 2 + 1 + 3 = 6, 101: 4 -> POC 100, a level neither minute had as its POC.
HAND = [
    ("2024-01-02T10:00:10Z", 100.0, 2.0, 1, 10, 20),
    ("2024-01-02T10:00:30Z", 101.0, 4.0, 1, 30, 10),
    ("2024-01-02T10:00:50Z", 100.0, 1.0, -1, 20, 20),
    ("2024-01-02T10:01:20Z", 99.0, 5.0, -1, 5, 5),
    ("2024-01-02T10:01:40Z", 100.0, 3.0, 1, 8, 12),
]


@pytest.fixture
def hand() -> tuple[pd.DataFrame, pd.DataFrame]:
    ticks = canonical_ticks(HAND)
    return make_bars(ticks, "1min", tick_size=1.0), footprint(ticks, "1min", 1.0)


def test_hand_worked_two_minutes(hand) -> None:
    bars, table = hand
    assert list(bars["poc"]) == [101.0, 99.0] and list(bars["delta_low"]) == [0.0, -5.0]
    out = resample_bars(bars, "2min", footprint=table)
    assert len(out) == 1 and out.index[0] == pd.Timestamp("2024-01-02T10:02Z")
    row = out.iloc[0]
    expected = {"open": 100, "high": 101, "low": 99, "close": 100, "volume": 15, "buy_volume": 9, "sell_volume": 6,
                "delta": 3, "delta_high": 6, "delta_low": 0, "trades": 5, "vwap": (704 + 795) / 15,
                "bid_size": 8, "ask_size": 12, "imbalance": -4,
                "avg_depth": (15 + 20 + 20 + 5 + 10) / 5,  # mean (bid + ask) / 2 over the five trades
                # value area 70% of 15 = 10.5: the POC 100 (6), then below (99: 5) beats above (101: 4): 11
                "poc": 100, "val": 99, "vah": 100,
                # buy at 101: 4 >= 3 x sell at 100 (1); nothing else imbalanced
                "buy_imbalances": 1, "sell_imbalances": 0, "buy_stack": 1, "buy_stack_low": 101,
                "buy_stack_high": 101, "sell_stack": 0}
    for name, value in expected.items():
        assert row[name] == pytest.approx(value, rel=1e-15), name
    assert out.attrs["bar_spec"] == "2min"


def test_merged_footprint_table(hand) -> None:
    bars, table = hand
    merged = resample_footprint(table, bars, "2min")
    assert list(merged.index.get_level_values("price")) == [99.0, 100.0, 101.0]
    assert list(merged["buy_volume"]) == [0.0, 5.0, 4.0] and list(merged["sell_volume"]) == [5.0, 1.0, 0.0]
    assert list(merged["buy_trades"]) == [0.0, 2.0, 1.0] and list(merged["sell_trades"]) == [1.0, 1.0, 0.0]


def test_developing_bar_after_each_minute(hand) -> None:
    bars, table = hand
    dev = developing_bars(bars, "2min", footprint=table)
    assert list(dev.index) == list(bars.index) and list(dev["opens"]) == [True, False]
    first, last = dev.iloc[0], dev.iloc[1]
    assert (first["delta"], first["delta_high"], first["delta_low"], first["poc"]) == (5.0, 6.0, 0.0, 101.0)
    assert (last["delta"], last["delta_high"], last["delta_low"], last["poc"]) == (3.0, 6.0, 0.0, 100.0)
    closed = resample_bars(bars, "2min", footprint=table).iloc[0]
    for name in closed.index:
        assert last[name] == pytest.approx(closed[name], rel=1e-15, nan_ok=True), name


def test_without_a_footprint_table_the_footprint_numbers_are_nan_and_large_trades_are_sums(hand) -> None:
    bars, _ = hand
    row = resample_bars(bars, "2min").iloc[0]
    for name, rule in RESAMPLE_RULES.items():
        if rule == FOOTPRINT:
            assert np.isnan(row[name]), name
    assert row["large_buy_volume"] == bars["large_buy_volume"].sum()


def test_time_weighted_lines_weigh_each_base_bar_by_its_duration() -> None:
    """Tick bars at 10:00:10, 10:00:40, 10:01:00: windows (previous bar, bar]: the first has none
    (0 s), then 30 s and 20 s; in the 10:01 bar: (30 x -0.5 + 20 x 1.0) / 50 = 0.1."""
    index = bar_index(timestamps_ns(pd.DatetimeIndex(["2024-01-02T10:00:10", "2024-01-02T10:00:40",
                                                      "2024-01-02T10:01:00"], tz="UTC")))
    bars = pd.DataFrame({"open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0, "volume": 2.0, "delta": 0.0,
                         "trades": 2.0, "tw_imbalance": [0.5, -0.5, 1.0]}, index=index)
    bars.attrs["bar_spec"] = "2t"
    assert resample_bars(bars, "1min")["tw_imbalance"].iloc[0] == pytest.approx(0.1, rel=1e-12)
    dev = developing_bars(bars, "1min")["tw_imbalance"]
    assert list(dev.iloc[:2]) == [0.5, -0.5]  # no time yet: the plain mean; then 30 s of -0.5 only


def test_sessions_of_a_calendar_and_of_utc_days() -> None:
    """Sessions open at 17:00 Chicago (23:00 UTC in January): a bar stamped 23:00 closes the session,
    the one at 23:01 opens the next; the session bars are stamped at the session's close."""
    rows = [("2024-01-02T22:59:30Z", 100.0, 1.0, 1, 1, 1), ("2024-01-02T23:00:00Z", 100.0, 2.0, 1, 1, 1),
            ("2024-01-02T23:00:30Z", 100.0, 4.0, -1, 1, 1), ("2024-01-03T01:00:00Z", 100.0, 8.0, 1, 1, 1)]
    bars = make_bars(canonical_ticks(rows), "1min", tick_size=1.0)
    out = resample_bars(bars, "session", calendar=SessionCalendar("17:00", "America/Chicago"))
    assert list(out.index) == [pd.Timestamp("2024-01-02T23:00Z"), pd.Timestamp("2024-01-03T23:00Z")]
    assert list(out["volume"]) == [3.0, 12.0] and list(out["delta"]) == [3.0, 4.0]
    assert out.attrs["bar_spec"] == "session"
    days = resample_bars(bars, "session")  # no calendar: UTC days, as "1D"
    pd.testing.assert_frame_equal(days, resample_bars(bars, "1D"), check_like=True, check_freq=False)
    assert days.attrs["bar_spec"] == "session"
    assert list(days.index) == [pd.Timestamp("2024-01-03T00:00Z"), pd.Timestamp("2024-01-04T00:00Z")]


def test_tick_and_volume_multiples_of_the_base_bars(hand) -> None:
    bars, table = hand  # 3 trades (volume 7), then 2 trades (volume 8)
    assert list(resample_bars(bars, "3t")["trades"]) == [3.0, 2.0]
    assert list(resample_bars(bars, "5t")["trades"]) == [5.0]
    by_volume = resample_bars(bars, "7v", footprint=table)
    assert list(by_volume["volume"]) == [7.0, 8.0] and list(by_volume.index) == list(bars.index)
    ticks = random_ticks(5, 300)
    per_trade = make_bars(ticks, "tick", tick_size=0.25)
    table = footprint(ticks, "tick", 0.25)
    assert_same_bars(resample_bars(per_trade, "50t", footprint=table), make_bars(ticks, "50t", tick_size=0.25),
                     exact=True)


@pytest.mark.parametrize(("base", "spec", "message"), [
    ("2min", "5min", "whole multiple"),
    ("1min", "30s", "whole multiple"),
    ("7min", "1W", "divides a day"),
    ("1W", "1D", "not a coarser timeframe"),
    ("1min", "tick", "not a coarser timeframe"),
])
def test_timeframes_that_are_not_whole_groups_of_the_bars_are_refused(base, spec, message) -> None:
    with pytest.raises(OrderFlowError, match=message):
        check_timeframe(base, spec)


def test_a_footprint_table_of_other_bars_or_rules_is_refused(hand) -> None:
    bars, table = hand
    other = footprint(canonical_ticks(HAND), "30s", 1.0)
    with pytest.raises(OrderFlowError, match="footprint table has a bar at 2024-01-02 10:00:30"):
        resample_bars(bars, "2min", footprint=other)
    atas = make_bars(canonical_ticks(HAND), "1min", tick_size=1.0, footprint_params={"imbalance": "atas"})
    with pytest.raises(OrderFlowError, match="imbalance rule"):
        resample_bars(atas, "2min", footprint=table)
    resample_bars(atas, "2min", footprint=table, footprint_params={"imbalance": "atas"})
    with pytest.raises(OrderFlowError, match="unknown footprint parameter"):
        resample_bars(bars, "2min", footprint=table, footprint_params={"ration": 2})
    with pytest.raises(OrderFlowError, match="session bars are made from bars"):
        make_bars(canonical_ticks(HAND), "session")


# --- the property: resampled 1-minute bars equal bars built straight from the ticks -----------------

CALENDAR = SessionCalendar("17:00", "America/Chicago")


def random_ticks(seed: int, n: int, whole_sizes: bool = True) -> pd.DataFrame:
    """``n`` ticks over about two days (gaps up to 90 minutes, several at one instant), prices on a
    0.25 grid, every side, quotes at each trade; whole sizes (exact float sums) or fractional ones."""
    rng = np.random.default_rng(seed)
    gaps = rng.choice([0, 1, 7, 45, 130, 900, 5400], size=n, p=[0.1, 0.2, 0.2, 0.2, 0.15, 0.1, 0.05])
    ts = np.int64(1_704_218_400_000_000_000) + np.cumsum(gaps * 1_000_000_000 + rng.integers(0, 999, n))
    price = 4800.0 + 0.25 * np.cumsum(rng.choice([-2, -1, 0, 1, 2], size=n))
    size = rng.integers(1, 40, n).astype(np.float64) if whole_sizes else np.round(rng.gamma(1.5, 3.0, n), 3) + 0.001
    side = rng.choice(np.array([-1, 0, 1], dtype=np.int8), size=n, p=[0.45, 0.1, 0.45])
    return pd.DataFrame({
        "timestamp": pd.DatetimeIndex(ts.astype("datetime64[ns]")).tz_localize("UTC"),
        "price": price, "size": size, "side": side,
        "bid": price - 0.25 * rng.integers(0, 2, n), "ask": price + 0.25 * rng.integers(0, 2, n),
        "bid_size": rng.integers(1, 60, n).astype(np.float64), "ask_size": rng.integers(1, 60, n).astype(np.float64),
    })


def session_bars_from_ticks(ticks: pd.DataFrame, tick: float) -> pd.DataFrame:
    """Session bars straight from the ticks, by the functions make_bars uses per bar."""
    ts = timestamps_ns(ticks["timestamp"])
    labels = CALENDAR.session_closes(pd.DatetimeIndex(ticks["timestamp"]))
    starts = np.concatenate(([0], np.flatnonzero(np.diff(labels)) + 1)).astype(np.int64)
    stamps = labels[starts]
    price, size, side = (ticks[c].to_numpy() for c in ("price", "size", "side"))
    columns, _ = core_columns(ticks, price.astype(np.float64), size.astype(np.float64), side, starts)
    columns.update(depth_lines(ticks, ts, starts, stamps))
    columns.update(footprint_lines(price, size, side, starts, stamps, tick, price_range=(columns["low"], columns["high"]),
                                   times=ts, ids=order_ids(ticks)))
    return pd.DataFrame(columns, index=bar_index(stamps))[list(BAR_COLUMNS)]


def assert_same_bars(resampled: pd.DataFrame, direct: pd.DataFrame, exact: bool) -> None:
    assert list(resampled.index) == list(direct.index)
    for name in BAR_COLUMNS:
        if name in NOT_REBUILT:
            continue
        got, want = resampled[name].to_numpy(), direct[name].to_numpy()
        if exact and name not in ROUNDED:
            assert np.array_equal(got, want, equal_nan=True), (name, got[got != want], want[got != want])
        else:
            np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9, equal_nan=True, err_msg=name)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 600))
def test_resampled_bars_equal_bars_built_from_the_ticks(seed: int, n: int) -> None:
    """For 5 minutes, 15 minutes, an hour and a session: every line bit for bit where its rule is exact
    (sums of whole sizes, last values, extremes, the merged footprints and the numbers drawn from them),
    the weighted means to float rounding; the merged footprint table equals the ticks' footprint."""
    ticks = random_ticks(seed, n)
    base = make_bars(ticks, "1min", tick_size=0.25)
    table = footprint(ticks, "1min", 0.25)
    for spec in ("5min", "15min", "1h"):
        assert_same_bars(resample_bars(base, spec, footprint=table), make_bars(ticks, spec, tick_size=0.25), exact=True)
        pd.testing.assert_frame_equal(resample_footprint(table, base, spec), footprint(ticks, spec, 0.25),
                                      check_exact=True, check_like=False)
    assert_same_bars(resample_bars(base, "session", footprint=table, calendar=CALENDAR),
                     session_bars_from_ticks(ticks, 0.25), exact=True)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 600))
def test_fractional_sizes_agree_to_float_rounding_and_the_last_developing_state_is_the_closed_bar(seed, n) -> None:
    ticks = random_ticks(seed, n, whole_sizes=False)
    base = make_bars(ticks, "1min", tick_size=0.25)
    table = footprint(ticks, "1min", 0.25)
    for spec in ("15min", "session"):
        closed = resample_bars(base, spec, footprint=table, calendar=CALENDAR)
        if spec != "session":
            direct = make_bars(ticks, spec, tick_size=0.25)
            for name in ("volume", "delta", "delta_high", "delta_low", "vwap", "ofi", "avg_depth", "large_buy_volume"):
                np.testing.assert_allclose(closed[name], direct[name], rtol=1e-9, atol=1e-9, err_msg=name)
        dev = developing_bars(base, spec, footprint=table, calendar=CALENDAR)
        last = dev[np.append(dev["opens"].to_numpy()[1:], True)]
        for name in closed.columns:
            np.testing.assert_allclose(last[name].to_numpy(), closed[name].to_numpy(), rtol=1e-12, atol=1e-12,
                                       equal_nan=True, err_msg=name)


def test_tw_imbalance_is_the_duration_weighted_mean_of_the_base_bars() -> None:
    """The one line not rebuilt from coarser data: what the resampled value means."""
    ticks = random_ticks(3, 400)
    base = make_bars(ticks, "1min", tick_size=0.25)
    out = resample_bars(base, "15min")
    label = -(-timestamps_ns(base.index) // (15 * 60 * 10**9))
    expected = base["tw_imbalance"].groupby(label).mean().to_numpy()  # equal 1-minute windows: the plain mean
    np.testing.assert_allclose(out["tw_imbalance"].to_numpy(), expected, rtol=1e-12)
