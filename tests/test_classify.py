"""Trade-side classification: hand-worked vectors, and reference loops."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data.errors import OrderFlowError
from data.sides.classify import (
    CLASSIFIERS,
    bulk_volume_classification,
    classify,
    clnv,
    emo,
    lee_ready,
    quote_rule,
    reverse_tick_rule,
    tick_rule,
)

WORKED_PRICES = [10.00, 10.01, 10.01, 10.00, 10.00, 10.02]


def ticks(price, side=None, bid=None, ask=None, size=None) -> pd.DataFrame:
    n = len(price)
    frame = pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-03-01 09:30", periods=n, freq="s", tz="UTC"),
            "price": np.asarray(price, dtype=np.float64),
            "size": np.asarray(size if size is not None else [1.0] * n, dtype=np.float64),
            "side": np.asarray(side if side is not None else [0] * n, dtype=np.int8),
        }
    )
    if bid is not None:
        frame["bid"] = np.asarray(bid, dtype=np.float64)
        frame["ask"] = np.asarray(ask, dtype=np.float64)
    return frame


# --------------------------------------------------------------------------- tick rules


def test_tick_rule_worked_vector():
    assert tick_rule(WORKED_PRICES).tolist() == [0, 1, 1, -1, -1, 1]


def test_reverse_tick_rule_worked_vector():
    # Against the next different price: 10.00<10.01 -> -1; 10.01 (next diff 10.00) -> +1 twice;
    # 10.00 (next diff 10.02) -> -1 twice; the last trade has no later price -> 0.
    assert reverse_tick_rule(WORKED_PRICES).tolist() == [-1, 1, 1, -1, -1, 0]


def test_tick_rule_flat_start_stays_unknown_and_nan_prices_are_skipped():
    assert tick_rule([5.0, 5.0, 5.0, 5.5, 5.5]).tolist() == [0, 0, 0, 1, 1]
    # The NaN row gets 0; the trade after it is compared with 5.5, the last real price.
    assert tick_rule([5.0, 5.5, np.nan, 5.25]).tolist() == [0, 1, 0, -1]
    assert tick_rule([]).tolist() == []


def _tick_reference(prices: list[float]) -> list[int]:
    """The tick rule as a plain loop: compare with the last earlier different price."""
    out = []
    for i, p in enumerate(prices):
        sign = 0
        for q in reversed(prices[:i]):
            if q != p:
                sign = 1 if p > q else -1
                break
        out.append(sign)
    return out


_grid = st.lists(st.sampled_from([99.98, 99.99, 100.0, 100.01]), max_size=40)


@settings(max_examples=150, deadline=None)
@given(_grid)
def test_tick_rules_match_reference_loop(prices):
    assert tick_rule(prices).tolist() == _tick_reference(prices)
    assert reverse_tick_rule(prices).tolist() == _tick_reference(prices[::-1])[::-1]


# --------------------------------------------------------------------------- quote rules

BID, ASK = 10.00, 10.10  # CLNV thresholds: 10.03 and 10.07


def _last(rule, prev: float, trade: float, bid: float = BID, ask: float = ASK) -> int:
    """The rule's sign for ``trade`` after one earlier trade at ``prev`` (same quote)."""
    return int(rule([prev, trade], [bid, bid], [ask, ask])[-1])


def test_inside_upper_zone_10_08():
    # LR: above the mid 10.05 -> +1; CLNV: in [10.07, 10.10] -> +1;
    # EMO: not at a quote -> tick rule, which says -1 after 10.09.
    assert _last(lee_ready, 10.09, 10.08) == 1
    assert _last(clnv, 10.09, 10.08) == 1
    assert _last(emo, 10.09, 10.08) == -1
    assert _last(emo, 10.07, 10.08) == 1


@pytest.mark.parametrize("rule", [lee_ready, emo, clnv])
def test_at_mid_10_05_all_fall_to_tick_rule(rule):
    assert _last(rule, 10.04, 10.05) == 1
    assert _last(rule, 10.06, 10.05) == -1


def test_outside_above_ask_10_12():
    assert _last(lee_ready, 10.13, 10.12) == 1  # above the mid, whatever the tick
    assert _last(emo, 10.13, 10.12) == -1  # not at the ask -> tick rule
    assert _last(clnv, 10.13, 10.12) == -1  # outside the quotes -> tick rule
    assert _last(clnv, 10.11, 10.12) == 1


def test_clnv_boundaries_and_quotes_are_in_the_zones():
    # Previous trade chosen so the tick rule would give the opposite sign.
    assert _last(clnv, 10.02, 10.03) == -1  # lower threshold: quote zone (sell)
    assert _last(clnv, 10.08, 10.07) == 1  # upper threshold: quote zone (buy)
    assert _last(clnv, 9.99, 10.00) == -1  # at the bid
    assert _last(clnv, 10.11, 10.10) == 1  # at the ask
    assert _last(clnv, 10.02, 10.04) == 1  # middle 40 % -> tick rule
    assert _last(clnv, 10.07, 10.06) == -1


def test_emo_at_quotes():
    assert _last(emo, 10.11, 10.10) == 1
    assert _last(emo, 9.99, 10.00) == -1


def test_lee_ready_quote_beats_tick():
    # Bid 1, ask 3, previous price 0: the tick rule would say +1 for both.
    assert _last(lee_ready, 0.0, 1.0, bid=1.0, ask=3.0) == -1
    assert _last(lee_ready, 0.0, 3.0, bid=1.0, ask=3.0) == 1
    assert _last(lee_ready, 4.0, 2.0, bid=1.0, ask=3.0) == -1  # at the mid: tick rule


def test_quote_rule_mid_and_missing_quotes_stay_unknown():
    got = quote_rule([10.06, 10.04, 10.05, 10.06], [10.0, 10.0, 10.0, np.nan], [10.1, 10.1, 10.1, 10.1])
    assert got.tolist() == [1, -1, 0, 0]


def test_crossed_quote_counts_as_no_quote():
    # ask < bid: the quote rule gives nothing, the others use the tick rule (-1 after 10.09).
    bid, ask = 10.10, 10.00
    assert _last(quote_rule, 10.09, 10.08, bid, ask) == 0
    for rule in (lee_ready, emo, clnv):
        assert _last(rule, 10.09, 10.08, bid, ask) == -1
    assert _last(emo, 10.11, 10.10, bid, ask) == -1  # at the "bid" of a crossed quote: tick


def test_locked_quote_at_price_is_left_to_tick_rule():
    assert _last(emo, 9.0, 10.0, 10.0, 10.0) == 1
    assert _last(clnv, 11.0, 10.0, 10.0, 10.0) == -1


def _quote_reference(method: str, prices, bids, asks) -> list[int]:
    """Row-by-row statement of the rules (zone bounds with a tiny tolerance)."""
    tick = _tick_reference(list(prices))
    out = []
    for p, b, a, t in zip(prices, bids, asks, tick):
        ok = not (math.isnan(b) or math.isnan(a)) and a >= b
        sign = 0
        if ok:
            mid, s, eps = (a + b) / 2, a - b, 1e-9 * max(abs(a), abs(b))
            if method == "lee_ready":
                sign = 1 if p > mid + eps else -1 if p < mid - eps else 0
            elif method == "emo" and s > 0:
                sign = 1 if abs(p - a) <= eps else -1 if abs(p - b) <= eps else 0
            elif method == "clnv" and s > 0:
                if a - 0.3 * s - eps <= p <= a + eps:
                    sign = 1
                elif b - eps <= p <= b + 0.3 * s + eps:
                    sign = -1
        out.append(sign if sign else t)
    return out


_quote_rows = st.lists(
    st.tuples(
        st.integers(9990, 10020),  # price in cents
        st.integers(9990, 10010),  # bid in cents
        st.integers(-3, 12),  # spread in cents (negative: crossed)
        st.booleans(),  # quote missing
    ),
    max_size=30,
)


@settings(max_examples=150, deadline=None)
@given(_quote_rows)
def test_quote_methods_match_reference(rows):
    prices = [r[0] / 100 for r in rows]
    bids = [np.nan if r[3] else r[1] / 100 for r in rows]
    asks = [np.nan if r[3] else (r[1] + r[2]) / 100 for r in rows]
    for name, rule in (("lee_ready", lee_ready), ("emo", emo), ("clnv", clnv)):
        assert rule(prices, bids, asks).tolist() == _quote_reference(name, prices, bids, asks), name


# --------------------------------------------------------------------------- classify()


def test_classify_fills_only_unknown_sides_and_flags_them():
    frame = ticks(WORKED_PRICES, side=[0, -1, 0, 1, 0, 0])
    out = classify(frame, "tick")
    assert out["side"].tolist() == [0, -1, 1, 1, -1, 1]  # known -1 and +1 kept
    assert out["side"].dtype == np.int8
    assert out["inferred"].tolist() == [False, False, True, False, True, True]
    assert frame["side"].tolist() == [0, -1, 0, 1, 0, 0]  # input untouched
    assert "inferred" not in frame


def test_classify_override_reclassifies_everything():
    out = classify(ticks(WORKED_PRICES, side=[1, -1, 0, 1, 0, 0]), "tick", override=True)
    assert out["side"].tolist() == [0, 1, 1, -1, -1, 1]
    assert out["inferred"].tolist() == [False, True, True, True, True, True]


def test_classify_ors_an_existing_inferred_flag():
    frame = ticks(WORKED_PRICES, side=[0, 1, 0, -1, 0, 0])
    frame["inferred"] = [False, True, False, False, False, False]  # row 1: an earlier guess
    out = classify(frame, "reverse_tick")
    assert out["side"].tolist() == [-1, 1, 1, -1, -1, 0]
    assert out["inferred"].tolist() == [True, True, True, False, True, False]


def test_classify_uses_quotes_and_falls_back_without_them():
    frame = ticks([10.09, 10.08, 10.05], bid=[10.0] * 3, ask=[10.1] * 3)
    assert classify(frame, "lee_ready")["side"].tolist() == [1, 1, -1]
    assert classify(frame, "emo")["side"].tolist() == [0, -1, -1]
    assert classify(frame, "quote")["side"].tolist() == [1, 1, 0]
    bare = frame.drop(columns=["bid", "ask"])
    for method in ("lee_ready", "emo", "clnv"):
        assert classify(bare, method)["side"].tolist() == [0, -1, -1], method
    assert classify(bare, "quote")["side"].tolist() == [0, 0, 0]
    assert not classify(bare, "quote")["inferred"].any()


def test_classify_empty_frame():
    out = classify(ticks([]), "clnv")
    assert len(out) == 0 and out["inferred"].dtype == bool


def test_unknown_method_lists_the_valid_ones():
    with pytest.raises(OrderFlowError) as err:
        classify(ticks(WORKED_PRICES), "magic")
    for name in CLASSIFIERS:
        assert name in str(err.value)
    with pytest.raises(OrderFlowError, match="bulk_volume_classification"):
        classify(ticks(WORKED_PRICES), "bvc")


@pytest.mark.parametrize("given, kind", [(None, "NoneType"), ("ticks.csv", "str"), ([1, 2], "list")])
def test_classify_needs_a_frame_of_ticks(given, kind):
    with pytest.raises(OrderFlowError, match=f"classify needs a DataFrame of ticks .*not {kind}"):
        classify(given, "tick")


def test_registry_names():
    assert list(CLASSIFIERS) == ["tick", "reverse_tick", "quote", "lee_ready", "emo", "clnv"]


# --------------------------------------------------------------------------- BVC


def bars(close, volume=1000.0) -> pd.DataFrame:
    n = len(close)
    index = pd.date_range("2024-03-01 09:31", periods=n, freq="min", tz="UTC")
    return pd.DataFrame(
        {
            "open": close,
            "high": close,
            "low": close,
            "close": np.asarray(close, dtype=np.float64),
            "volume": np.full(n, volume),
            "buy_volume": np.full(n, volume),
            "sell_volume": 0.0,
            "unknown_volume": 0.0,
            "delta": np.full(n, volume),
            "delta_high": np.full(n, volume),
            "delta_low": 0.0,
        },
        index=index,
    )


# Changes -1, 0, +1 have sample std 1 (ddof=1), so with window 3 the next change is z itself.
BVC_CLOSES = [10.0, 9.0, 9.0, 10.0, 11.0, 11.0, 10.0]


def test_bvc_z_one_and_zero():
    out = bulk_volume_classification(bars(BVC_CLOSES), window=3)
    # Bar 4: dp = +1 over sigma([-1, 0, 1]) = 1 -> z = 1 -> 1000 * Phi(1).
    assert round(out["buy_volume"].iloc[4], 2) == 841.34
    assert round(out["sell_volume"].iloc[4], 2) == 158.66
    # Bar 5: dp = 0 -> 50/50.
    assert out["buy_volume"].iloc[5] == 500.0
    # Bars 0-3 have no full trailing window (bar 0 no change at all): 50/50.
    assert out["buy_volume"].iloc[:4].tolist() == [500.0] * 4
    assert out["delta"].iloc[4] == pytest.approx(841.3447460685429 - 158.6552539314571)
    assert (out["unknown_volume"] == 0).all()
    assert (out["inferred_volume"] == out["volume"]).all()
    np.testing.assert_allclose(out["buy_volume"] + out["sell_volume"], out["volume"])
    assert (out["delta_high"] >= out["delta"].clip(lower=0)).all()
    assert (out["delta_low"] == out["delta"].clip(upper=0)).all()


def test_bvc_excludes_the_current_bar_from_sigma():
    base = bulk_volume_classification(bars(BVC_CLOSES), window=3)
    moved = bulk_volume_classification(bars(BVC_CLOSES[:-1] + [50.0]), window=3)
    pd.testing.assert_frame_equal(base.iloc[:-1], moved.iloc[:-1])  # no look-ahead
    # Bar 4 with a big jump of its own: sigma is still 1 from the earlier changes.
    jump = bulk_volume_classification(bars([10.0, 9.0, 9.0, 10.0, 12.0]), window=3)
    assert jump["buy_volume"].iloc[4] == pytest.approx(1000 * 0.9772498680518208)  # Phi(2)


def test_bvc_student_t_matches_closed_forms():
    # df = 1 (Cauchy): F(1) = 1/2 + atan(1)/pi = 0.75; df = 2: F(1) = 1/2 + 1/(2 sqrt 3).
    out = bulk_volume_classification(bars(BVC_CLOSES), window=3, dist="t", df=1.0)
    assert out["buy_volume"].iloc[4] == pytest.approx(750.0)
    out = bulk_volume_classification(bars(BVC_CLOSES), window=3, dist="t", df=2.0)
    assert out["buy_volume"].iloc[4] == pytest.approx(1000 * (0.5 + 1 / (2 * math.sqrt(3))))


def test_bvc_flat_window_and_bad_parameters():
    out = bulk_volume_classification(bars([5.0, 5.0, 5.0, 5.0, 6.0]), window=3)
    assert out["buy_volume"].tolist() == [500.0] * 5  # sigma = 0 -> 50/50
    with pytest.raises(OrderFlowError):
        bulk_volume_classification(bars(BVC_CLOSES), dist="cauchy")
    with pytest.raises(OrderFlowError):
        bulk_volume_classification(bars(BVC_CLOSES), window=1)
    with pytest.raises(OrderFlowError):
        bulk_volume_classification(bars(BVC_CLOSES).drop(columns="close"))


# --------------------------------------------------------------------------- accuracy script


def test_accuracy_scores_hand_worked():
    from tools.accuracy import score_method

    truth = ticks(WORKED_PRICES, side=[1, 1, -1, -1, -1, 1], size=[1, 2, 3, 4, 5, 6])
    s = score_method("hand", "tick", truth, "3t")  # tick rule: 0, +1, +1, -1, -1, +1
    assert s.signed == pytest.approx(5 / 6)
    assert s.trades_signed == pytest.approx(4 / 5)  # rows 1, 3, 4, 5 right
    assert s.trades_all == pytest.approx(4 / 6)
    assert s.volume_signed == pytest.approx(17 / 20)
    assert s.volume_all == pytest.approx(17 / 21)
    # Bar 1: true buy 3 / sell 3, guessed 5 / 0 -> 3 right; bar 2: 6 / 9 both -> 15 right.
    assert s.bar_volume == pytest.approx(18 / 21)


def test_tick_rule_accuracy_on_real_binance_trades():
    from tests.conftest import need_shared
    from tools.accuracy import load_samples, score_method

    samples, _ = load_samples(need_shared())
    s = score_method("binance", "tick", samples["freqtrade ETH/USDT"], "10t")
    # Checked by a plain loop over the CSV: 999 trades signed, 972 of 1000 right.
    assert s.signed == pytest.approx(0.999)
    assert s.trades_all == pytest.approx(0.972)
