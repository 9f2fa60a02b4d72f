"""Overfitting statistics: CSCV / PBO worked out by hand on tiny matrices, simulated noise and edge, the deflated
Sharpe ratio against the paper's numerical example and an independent normal distribution (statistics.NormalDist)."""
from __future__ import annotations

import json
import math
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

from data.errors import OrderFlowError
from research import overfit
from research.metrics import sharpe_ratio
from research.overfit import (
    EULER_MASCHERONI,
    deflated_sharpe,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    probabilistic_sharpe_ratio,
    probability_of_backtest_overfitting,
    sharpe_ratios,
)

LN2 = math.log(2)
PHI = NormalDist()

# Four periods, two sets. The Sharpe ratio of two returns (a, b) is (a + b) / 2 / (|a - b| / sqrt 2)
# = k / sqrt 2 with k = (a + b) / |a - b|, so k orders the sets. k for each pair of rows:
#   rows   A = 1, 3, 2, 4        B = 2, 1, 5, 3
#   1,2    (1+3)/2 = 2           (2+1)/1 = 3
#   1,3    (1+2)/1 = 3           (2+5)/3 = 7/3
#   1,4    (1+4)/3 = 5/3         (2+3)/1 = 5
#   2,3    (3+2)/1 = 5           (1+5)/4 = 3/2
#   2,4    (3+4)/1 = 7           (1+3)/2 = 2
#   3,4    (2+4)/2 = 3           (5+3)/2 = 4
HAND = pd.DataFrame({"A": [1.0, 3.0, 2.0, 4.0], "B": [2.0, 1.0, 5.0, 3.0]})


def test_pbo_by_hand_s4_every_combination():
    # S = 4: one row per block, C(4, 2) = 6 combinations, in itertools order; in sample -> out of sample:
    #   rows 1,2: B (3 > 2);     out 3,4: B 4 > A 3   -> rank 2 of 2, w = 2/3, logit +ln 2
    #   rows 1,3: A (3 > 7/3);   out 2,4: A 7 > B 2   -> rank 2, +ln 2
    #   rows 1,4: B (5 > 5/3);   out 2,3: B 3/2 < A 5 -> rank 1, w = 1/3, -ln 2
    #   rows 2,3: A (5 > 3/2);   out 1,4: A 5/3 < B 5 -> rank 1, -ln 2
    #   rows 2,4: A (7 > 2);     out 1,3: A 3 > B 7/3 -> rank 2, +ln 2
    #   rows 3,4: B (4 > 3);     out 1,2: B 3 > A 2   -> rank 2, +ln 2
    # PBO = 2 of 6 logits <= 0 = 1/3
    r = probability_of_backtest_overfitting(HAND, n_splits=4)
    assert r.combinations.tolist() == [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]
    assert r.is_best.tolist() == [1, 0, 1, 0, 0, 1]
    assert r.oos_rank.tolist() == [2, 2, 1, 1, 2, 2]
    assert r.logits == pytest.approx([LN2, LN2, -LN2, -LN2, LN2, LN2])
    assert r.pbo == pytest.approx(1 / 3)
    root2 = math.sqrt(2)
    assert r.is_performance == pytest.approx(np.array([3, 3, 5, 5, 7, 4]) / root2)
    assert r.oos_performance == pytest.approx(np.array([4, 7, 1.5, 5 / 3, 3, 3]) / root2)
    assert r.columns == ["A", "B"] and r.block_rows.tolist() == [1, 1, 1, 1]
    assert r.probability_of_loss == 0.0


def test_pbo_by_hand_s2():
    # S = 2: blocks rows 1,2 and rows 3,4. In 1,2 -> B (3 > 2), out 3,4: B 4 > A 3, +ln 2;
    # in 3,4 -> B (4 > 3), out 1,2: B 3 > A 2, +ln 2. PBO = 0.
    r = probability_of_backtest_overfitting(HAND, n_splits=2)
    assert r.is_best.tolist() == [1, 1] and r.logits == pytest.approx([LN2, LN2]) and r.pbo == 0.0


def test_pbo_with_another_metric_and_ties_by_hand():
    # metric: mean return. Means of each pair of rows: A 2, 3/2, 5/2, 5/2, 7/2, 3; B 3/2, 7/2, 5/2, 3, 2, 4.
    #   in 1,2: A (2 > 3/2);        out 3,4: A 3 < B 4          -> rank 1, -ln 2
    #   in 1,3: B (7/2 > 3/2);      out 2,4: B 2 < A 7/2        -> rank 1, -ln 2
    #   in 1,4: tie 5/2 -> first, A; out 2,3: A 5/2 < B 3       -> rank 1, -ln 2
    #   in 2,3: B (3 > 5/2);        out 1,4: tie 5/2 = 5/2      -> average rank 1.5, w = 1/2, logit 0
    #   in 2,4: A (7/2 > 2);        out 1,3: A 3/2 < B 7/2      -> rank 1, -ln 2
    #   in 3,4: B (4 > 3);          out 1,2: B 3/2 < A 2        -> rank 1, -ln 2
    # PBO = 6/6: a logit of exactly 0 (the median) counts as overfit
    r = probability_of_backtest_overfitting(HAND, n_splits=4, metric=lambda m: m.mean(axis=0))
    assert r.is_best.tolist() == [0, 1, 0, 1, 0, 1]
    assert r.oos_rank.tolist() == [1, 1, 1, 1.5, 1, 1]
    assert r.logits == pytest.approx([-LN2, -LN2, -LN2, 0.0, -LN2, -LN2])
    assert r.pbo == 1.0


def test_pbo_median_rank_counts_and_tied_sets_share_their_rank():
    # Three sets, S = 2. Sharpe k of rows 1,2 | rows 3,4:  A 3 | 3,  B 2 | 5,  C 1.5 | 5/3.
    # in 1,2 -> A, out of sample A is second of three: rank 2, w = 2/4, logit 0; in 3,4 -> B, out: second, 0.
    three = pd.DataFrame({"A": [1.0, 2.0, 2.0, 4.0], "B": [1.0, 3.0, 3.0, 2.0], "C": [1.0, 5.0, 1.0, 4.0]})
    r = probability_of_backtest_overfitting(three, n_splits=2)
    assert r.is_best.tolist() == [0, 1] and r.oos_rank.tolist() == [2, 2]
    assert r.logits == pytest.approx([0.0, 0.0]) and r.pbo == 1.0
    # HAND plus a copy of B: B and its copy tie everywhere; the first (B) is chosen, and out of sample the two
    # share ranks 2 and 3: 2.5 of 3, w = 2.5 / 4, logit ln(0.625 / 0.375) = ln(5/3)
    tied = HAND.assign(B2=HAND["B"])
    r = probability_of_backtest_overfitting(tied, n_splits=2)
    assert r.is_best.tolist() == [1, 1] and r.oos_rank.tolist() == [2.5, 2.5]
    assert r.logits == pytest.approx([math.log(5 / 3)] * 2) and r.pbo == 0.0


def plain_sharpe(m: np.ndarray) -> np.ndarray:
    """The textbook per-period Sharpe ratio of each column, zero deviation -> 0 for a zero mean, else +-inf."""
    sd = m.std(axis=0, ddof=1)
    mean = m.mean(axis=0)
    return np.array([mu / s if s > 0 else (0.0 if mu == 0 else math.copysign(math.inf, mu)) for mu, s in zip(mean, sd)])


@pytest.mark.parametrize("t, n, s", [(103, 7, 6), (64, 5, 12), (40, 3, 4)])
def test_block_sums_equal_the_plain_sharpe_per_combination(t, n, s):
    # the vectorised path (per-block sums, centred) against the plain formula on each half's rows; T not a
    # multiple of S (103 rows in 6 blocks: 18, 17, 17, 17, 17, 17), a set that never trades (all zeros) and a
    # large common offset (sum-of-squares cancellation)
    rng = np.random.default_rng(t)
    x = rng.normal(0.0005, 0.01, (t, n))
    x[:, 1] = 0.0
    x[:, -1] += 5.0
    fast = probability_of_backtest_overfitting(x, s)
    slow = probability_of_backtest_overfitting(x, s, metric=plain_sharpe)
    assert fast.block_rows.sum() == t and fast.block_rows.max() - fast.block_rows.min() <= 1
    assert fast.is_best.tolist() == slow.is_best.tolist()
    np.testing.assert_allclose(fast.is_performance, slow.is_performance, rtol=1e-9)
    np.testing.assert_allclose(fast.oos_performance, slow.oos_performance, rtol=1e-9)
    np.testing.assert_array_equal(fast.logits, slow.logits)
    assert fast.pbo == slow.pbo


def test_batches_of_combinations_give_the_same_result(monkeypatch):
    x = np.random.default_rng(5).normal(0, 0.01, (120, 9))
    whole = probability_of_backtest_overfitting(x, 10)
    monkeypatch.setattr(overfit, "CSCV_BATCH_NUMBERS", 9 * 37)  # 37 of the 252 combinations at a time
    batched = probability_of_backtest_overfitting(x, 10)
    np.testing.assert_array_equal(whole.logits, batched.logits)
    np.testing.assert_array_equal(whole.is_performance, batched.is_performance)


def test_pbo_of_pure_noise_is_near_one_half():
    # one matrix's PBO is noisy (sd ~0.2 here), their mean is not: 50 matrices of 20 sets with no edge
    pbos = [probability_of_backtest_overfitting(np.random.default_rng(seed).normal(0, 0.01, (240, 20)), 8).pbo
            for seed in range(50)]
    assert abs(np.mean(pbos) - 0.5) < 0.1


@pytest.mark.parametrize("seed", range(4))
def test_pbo_with_one_real_edge_among_noise_is_near_zero(seed):
    x = np.random.default_rng(seed).normal(0, 0.01, (500, 30))
    x[:, 11] += 0.003  # per-period Sharpe 0.3 against 0 for the rest
    frame = pd.DataFrame(x, columns=[f"set{i}" for i in range(30)])
    r = probability_of_backtest_overfitting(frame)  # S = 16: 12,870 combinations
    assert len(r.logits) == 12_870
    assert r.pbo < 0.05
    assert np.mean(r.is_best == 11) > 0.85
    summary = r.to_dict()
    json.dumps(summary)
    assert summary["n_splits"] == 16 and max(summary["chosen_in_sample"], key=summary["chosen_in_sample"].get) == "set11"


def test_pbo_rejects_bad_input():
    with pytest.raises(OrderFlowError, match="even"):
        probability_of_backtest_overfitting(HAND, n_splits=3)
    with pytest.raises(OrderFlowError, match="even"):
        probability_of_backtest_overfitting(HAND, n_splits=0)
    with pytest.raises(OrderFlowError, match="4 return observation.*S = 6"):
        probability_of_backtest_overfitting(HAND, n_splits=6)
    with pytest.raises(OrderFlowError, match="fewer than 2 observations"):
        probability_of_backtest_overfitting(HAND.iloc[:3], n_splits=2)
    with pytest.raises(OrderFlowError, match="at least 2 sets"):
        probability_of_backtest_overfitting(HAND[["A"]], n_splits=2)
    bad = HAND.copy()
    bad.loc[2, "B"] = np.nan
    with pytest.raises(OrderFlowError, match=r"returns.parquet, column 'B', row 3: missing"):
        probability_of_backtest_overfitting(bad, n_splits=2, source="returns.parquet")


def test_sharpe_ratios_are_per_period_and_match_reports_metrics():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(0.001, 0.01, (60, 4)))
    frame[4] = 0.0
    got = sharpe_ratios(frame)
    for i, col in enumerate(frame.columns[:4]):
        assert got[i] == pytest.approx(sharpe_ratio(frame[col], periods=1), rel=1e-12)
    assert got[4] == 0.0


def test_expected_max_sharpe_formula():
    g = 0.5772156649015329
    assert EULER_MASCHERONI == pytest.approx(g, abs=1e-15)
    for n, v in [(2, 1.0), (10, 0.04), (1000, 0.002)]:
        want = math.sqrt(v) * ((1 - g) * PHI.inv_cdf(1 - 1 / n) + g * PHI.inv_cdf(1 - 1 / (n * math.e)))
        assert expected_max_sharpe(n, v) == pytest.approx(want, rel=1e-12)
    assert expected_max_sharpe(1, 0.5) == 0.0  # one trial: no selection
    assert expected_max_sharpe(50, 0.0) == 0.0


def test_probabilistic_sharpe_normal_returns_by_hand():
    # skew 0, kurtosis 3: Z((0.1 - 0) * sqrt(100) / sqrt(1 + 0.1^2 / 2)) = Z(1 / sqrt(1.005))
    assert probabilistic_sharpe_ratio(0.1, 0.0, 101) == pytest.approx(PHI.cdf(1 / math.sqrt(1.005)), rel=1e-12)
    # skew -1, kurtosis 6: denominator sqrt(1 + 0.1 + 5/4 * 0.01) = sqrt(1.1125)
    assert probabilistic_sharpe_ratio(0.1, 0.05, 101, -1.0, 6.0) == pytest.approx(
        PHI.cdf(0.05 * 10 / math.sqrt(1.1125)), rel=1e-12)
    assert probabilistic_sharpe_ratio(0.1, 0.1, 50) == pytest.approx(0.5)
    with pytest.raises(OrderFlowError, match="non-excess"):
        probabilistic_sharpe_ratio(0.1, 0.0, 101, 0.0, 0.0)  # an excess kurtosis passed by mistake
    with pytest.raises(OrderFlowError, match="observations"):
        probabilistic_sharpe_ratio(0.1, 0.0, 1)


def test_deflated_sharpe_reproduces_the_papers_example():
    # Bailey & Lopez de Prado (2014), numerical example: 100 trials, annualised Sharpe 2.5 of the best,
    # annualised variance of the trials' Sharpe ratios 1/2, 1250 daily observations (250 a year),
    # skewness -3, kurtosis 10 -> SR0 = 0.1132 per day, DSR = 0.9004
    sr, var = 2.5 / math.sqrt(250), 0.5 / 250
    assert expected_max_sharpe(100, var) == pytest.approx(0.1132, abs=5e-5)
    assert deflated_sharpe_ratio(sr, 1250, 100, var, -3.0, 10.0) == pytest.approx(0.9004, abs=5e-4)


def test_deflated_sharpe_of_a_returns_matrix():
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(rng.normal(0, 0.01, (250, 40)), columns=[f"s{i}" for i in range(40)])
    frame["edge"] = rng.standard_t(5, 250) * 0.01 + 0.004
    d = deflated_sharpe(frame)
    srs = np.array([sharpe_ratio(frame[c], periods=1) for c in frame])
    r = frame["edge"].to_numpy()
    dev = r - r.mean()
    skew = np.mean(dev**3) / np.mean(dev**2) ** 1.5
    kurt = np.mean(dev**4) / np.mean(dev**2) ** 2
    assert d.best == "edge" and d.sharpe == pytest.approx(srs.max())
    assert d.n_trials == 41 and d.n_obs == 250
    assert d.sharpe_variance == pytest.approx(np.var(srs, ddof=1))
    assert d.skewness == pytest.approx(skew) and d.kurtosis == pytest.approx(kurt)
    assert d.dsr == pytest.approx(deflated_sharpe_ratio(srs.max(), 250, 41, np.var(srs, ddof=1), skew, kurt))
    assert d.dsr > 0.95  # a per-day Sharpe near 0.4 over a year survives 41 trials
    doc = d.to_dict()
    assert json.loads(json.dumps(doc))["kurtosis_convention"].startswith("non-excess")
    # the best of pure noise does not survive its own selection
    noise = deflated_sharpe(frame.drop(columns="edge"))
    assert noise.dsr < 0.95 and noise.benchmark > 0
    # more trials than the matrix holds raise the bar
    assert deflated_sharpe(frame, n_trials=1000).dsr < d.dsr
