"""Overfitting statistics for a parameter sweep: the deflated Sharpe ratio and the probability of backtest overfitting.

Both read the sweep's returns matrix (``returns.parquet``): one row per period
(trading day), one column per parameter set, simple returns. Every Sharpe ratio
here is **per period** (``mean / std``, sample standard deviation, ddof 1, risk-free
rate 0), *not* annualised: the formulas below are stated for the Sharpe ratio of
the observations they count. (``research.metrics.sharpe_ratio(r, periods=1)`` is the
same number for one series; the annualised one is that times ``sqrt(252)``.)

- :func:`deflated_sharpe_ratio` (Bailey & López de Prado, "The Deflated Sharpe
  Ratio", Journal of Portfolio Management 40(5), 2014): the probability that the
  best set's true Sharpe ratio exceeds the best one expected from ``N`` trials of
  pure luck. :func:`deflated_sharpe` computes it and its inputs from the matrix.
- :func:`probability_of_backtest_overfitting` (Bailey, Borwein, López de Prado &
  Zhu, "The Probability of Backtest Overfitting", Journal of Computational Finance
  20(4), 2017; SSRN 2326253, 2015) by combinatorially symmetric cross-validation:
  how often the set that is best in sample ranks at or below the median out of sample.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, Callable, Hashable, Iterator

import numpy as np
import pandas as pd
from scipy import stats

from data.errors import OrderFlowError

EULER_MASCHERONI = float(np.euler_gamma)
"""gamma = 0.5772156649..., in the expected maximum of N normal draws."""

CSCV_BATCH_NUMBERS = 1 << 20
"""The vectorised CSCV works on this many (combination, set) numbers at a time (8 MiB per float64 array).
1,000 sets at S = 16 (12,870 combinations): ~1.5 s and ~120 MB peak on the 2-core dev machine."""


# -- Sharpe ratios ---------------------------------------------------------------------------------------------


def sharpe_ratios(returns: pd.DataFrame | np.ndarray) -> np.ndarray:
    """Per-period Sharpe ratio of each column: ``mean(r) / std(r)`` (ddof 1, risk-free rate 0).

    A column with zero deviation gets 0 when its mean is 0 (a set that never
    traded) and +-inf otherwise, so that it still ranks. Needs at least two rows.
    """
    x = _matrix(returns)
    if x.shape[0] < 2:
        raise OrderFlowError(f"a Sharpe ratio needs at least 2 observations, got {x.shape[0]}")
    return _sharpe(x.mean(axis=0), x.std(axis=0, ddof=1))


def _sharpe(mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    flat = np.where(mean == 0, 0.0, np.copysign(np.inf, mean))
    return np.where(sd > 0, mean / np.where(sd > 0, sd, 1.0), flat)


# -- deflated Sharpe ratio -----------------------------------------------------------------------------------------


def expected_max_sharpe(n_trials: int, sharpe_variance: float) -> float:
    """Expected maximum Sharpe ratio of ``n_trials`` independent trials whose true Sharpe ratio is 0.

    ``SR0 = sqrt(V) * ((1 - g) * Z^-1(1 - 1/N) + g * Z^-1(1 - 1/(N e)))``

    with ``V`` the variance of the trials' estimated (per-period) Sharpe ratios,
    ``N = n_trials``, ``g`` the Euler-Mascheroni constant, ``Z^-1`` the standard
    normal quantile and ``e`` Euler's number (Bailey & López de Prado 2014, eq. in
    the "False Strategy Theorem"). ``N = 1`` is no selection: 0.
    """
    if not (isinstance(n_trials, (int, np.integer)) and n_trials >= 1):
        raise OrderFlowError("the number of trials must be a whole number >= 1", value=n_trials)
    if not (math.isfinite(sharpe_variance) and sharpe_variance >= 0):
        raise OrderFlowError("the variance of the trials' Sharpe ratios must be a finite number >= 0", value=sharpe_variance)
    if n_trials == 1:
        return 0.0
    g = EULER_MASCHERONI
    z = (1 - g) * stats.norm.ppf(1 - 1 / n_trials) + g * stats.norm.ppf(1 - 1 / (n_trials * math.e))
    return float(math.sqrt(sharpe_variance) * z)


def probabilistic_sharpe_ratio(sharpe: float, benchmark: float, n_obs: int, skewness: float = 0.0,
                               kurtosis: float = 3.0) -> float:
    """Probability that the true Sharpe ratio exceeds ``benchmark``, given the estimate ``sharpe`` (Bailey & López de Prado 2012).

    ``PSR = Z((SR - SR*) * sqrt(T - 1) / sqrt(1 - g3 * SR + (g4 - 1) / 4 * SR^2))``

    with ``SR`` and ``SR*`` per-period (not annualised) Sharpe ratios, ``T =
    n_obs`` return observations, ``g3`` the skewness and ``g4`` the **non-excess**
    kurtosis of the returns (3 for normal returns, where the denominator becomes
    ``sqrt(1 + SR^2 / 2)``). Pass ``excess kurtosis + 3`` if that is what you have.
    """
    if not (isinstance(n_obs, (int, np.integer)) and n_obs >= 2):
        raise OrderFlowError("the number of observations must be a whole number >= 2", value=n_obs)
    if kurtosis < 1:
        raise OrderFlowError("kurtosis is the non-excess (Pearson) kurtosis, >= 1 (3 for normal returns); "
                             "add 3 to an excess kurtosis", value=kurtosis)
    spread = 1 - skewness * sharpe + (kurtosis - 1) / 4 * sharpe**2
    if not spread > 0:
        raise OrderFlowError(f"skewness {skewness} and kurtosis {kurtosis} are inconsistent (kurtosis >= skewness^2 + 1)")
    return float(stats.norm.cdf((sharpe - benchmark) * math.sqrt(n_obs - 1) / math.sqrt(spread)))


def deflated_sharpe_ratio(sharpe: float, n_obs: int, n_trials: int, sharpe_variance: float, skewness: float = 0.0,
                          kurtosis: float = 3.0) -> float:
    """Deflated Sharpe ratio: the PSR against the expected maximum Sharpe of ``n_trials`` lucky trials.

    ``DSR = PSR(SR0)`` with ``SR0 = expected_max_sharpe(n_trials, sharpe_variance)``:
    ``Z((SR - SR0) * sqrt(T - 1) / sqrt(1 - g3 * SR + (g4 - 1) / 4 * SR^2))``.
    All Sharpe ratios per period (not annualised), ``sharpe_variance`` the variance
    of the trials' per-period Sharpe ratios, ``g4`` the non-excess kurtosis (3 for
    normal returns). A DSR above 0.95 rejects "the best set is luck" at 5 %.
    """
    return probabilistic_sharpe_ratio(sharpe, expected_max_sharpe(n_trials, sharpe_variance), n_obs, skewness, kurtosis)


@dataclass(frozen=True)
class DeflatedSharpe:
    """The deflated Sharpe ratio of a sweep's best set and every input it used (per-period Sharpe ratios)."""

    dsr: float
    best: Hashable  # the best set's column label
    sharpe: float  # its per-period Sharpe ratio
    benchmark: float  # SR0, the expected maximum Sharpe ratio of n_trials lucky trials
    n_trials: int
    sharpe_variance: float  # variance (ddof 1) of the trials' per-period Sharpe ratios
    skewness: float  # of the best set's returns
    kurtosis: float  # non-excess (3 for normal returns)
    n_obs: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (NaN as None), kurtosis labelled non-excess."""
        out = {k: _plain(getattr(self, k)) for k in self.__dataclass_fields__}
        out["kurtosis_convention"] = "non-excess (normal = 3)"
        out["sharpe_convention"] = "per period (not annualised)"
        return out


def deflated_sharpe(returns: pd.DataFrame | np.ndarray, n_trials: int | None = None, *, source: Any = None) -> DeflatedSharpe:
    """The deflated Sharpe ratio of the best column of a returns matrix (rows: periods, columns: sets).

    The best set is the one with the highest per-period Sharpe ratio (first on a
    tie). ``V`` is the sample variance (ddof 1) of the columns' finite Sharpe
    ratios; the skewness ``m3 / m2^1.5`` and non-excess kurtosis ``m4 / m2^2``
    are the best column's moment estimates (``m_k`` the k-th central moment,
    scipy's ``skew`` / ``kurtosis(fisher=False)``); ``T`` the number of rows.
    ``n_trials`` defaults to the number of columns; pass more if more sets were
    tried than the matrix holds. ``dsr`` is NaN when the best set's returns are
    flat (no deviation: no skewness or kurtosis). A missing or infinite return
    raises OrderFlowError naming its column and row (``source``: the file).
    """
    frame = returns if isinstance(returns, pd.DataFrame) else pd.DataFrame(returns)
    x = _matrix(frame, source)
    srs = sharpe_ratios(x)
    finite = srs[np.isfinite(srs)]
    n = x.shape[1] if n_trials is None else n_trials
    variance = float(np.var(finite, ddof=1)) if len(finite) >= 2 else 0.0
    best = int(np.argmax(srs))
    r = x[:, best]
    moments_ok = r.std() > 0
    skew = float(stats.skew(r)) if moments_ok else math.nan
    kurt = float(stats.kurtosis(r, fisher=False)) if moments_ok else math.nan
    sr = float(srs[best])
    dsr = deflated_sharpe_ratio(sr, x.shape[0], n, variance, skew, kurt) if moments_ok and math.isfinite(sr) else math.nan
    return DeflatedSharpe(dsr=dsr, best=frame.columns[best], sharpe=sr, benchmark=expected_max_sharpe(n, variance),
                          n_trials=n, sharpe_variance=variance, skewness=skew, kurtosis=kurt, n_obs=x.shape[0])


# -- probability of backtest overfitting (CSCV) -----------------------------------------------------------------


@dataclass(frozen=True)
class PBOResult:
    """The outcome of combinatorially symmetric cross-validation, one entry per combination ``c``.

    - ``pbo``: the share of combinations with ``logit <= 0``;
    - ``logits``: ``lambda_c = ln(w_c / (1 - w_c))``, ``w_c = rank_c / (N + 1)``;
    - ``is_best``: column number (0-based) of the in-sample best set;
    - ``oos_rank``: its rank among the N sets out of sample, 1 = worst ... N = best
      (ties share their average rank);
    - ``is_performance`` / ``oos_performance``: its metric in and out of sample;
    - ``combinations``: the blocks (0-based, time order) that made the in-sample half;
    - ``columns``: the sets' labels; ``n_splits``: S; ``block_rows``: rows per block.
    """

    pbo: float
    logits: np.ndarray
    is_best: np.ndarray
    oos_rank: np.ndarray
    is_performance: np.ndarray
    oos_performance: np.ndarray
    combinations: np.ndarray
    columns: list
    n_splits: int
    block_rows: np.ndarray

    @property
    def n_sets(self) -> int:
        return len(self.columns)

    @property
    def probability_of_loss(self) -> float:
        """Share of combinations whose in-sample best set loses out of sample (metric < 0)."""
        return float(np.mean(self.oos_performance < 0))

    @property
    def degradation_slope(self) -> float:
        """Least-squares slope of out-of-sample on in-sample performance of the chosen sets (finite pairs)."""
        ok = np.isfinite(self.is_performance) & np.isfinite(self.oos_performance)
        if ok.sum() < 2 or np.ptp(self.is_performance[ok]) == 0:
            return math.nan
        return float(np.polyfit(self.is_performance[ok], self.oos_performance[ok], 1)[0])

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (for ``sweep.json``): PBO, S, the logit quantiles, how often each set was chosen."""
        chosen = pd.Series(np.asarray(self.columns, dtype=object)[self.is_best]).value_counts()
        finite = self.logits[np.isfinite(self.logits)]
        return {
            "pbo": self.pbo,
            "n_splits": self.n_splits,
            "n_combinations": len(self.logits),
            "n_sets": self.n_sets,
            "probability_of_loss": self.probability_of_loss,
            "degradation_slope": _plain(self.degradation_slope),
            "logit_quantiles": {f"{q:g}": _plain(np.quantile(finite, q)) if len(finite) else None
                                for q in (0.05, 0.25, 0.5, 0.75, 0.95)},
            "chosen_in_sample": {str(k): int(v) for k, v in chosen.items()},
        }


def probability_of_backtest_overfitting(
    returns: pd.DataFrame | np.ndarray,
    n_splits: int = 16,
    metric: Callable[[np.ndarray], np.ndarray] | None = None,
    *,
    source: Any = None,
) -> PBOResult:
    """Probability of backtest overfitting by combinatorially symmetric cross-validation (CSCV).

    ``returns`` is a T x N matrix (rows: periods in time order, columns: parameter
    sets), as the sweep's ``returns.parquet``. Following Bailey, Borwein, López de
    Prado & Zhu (2015):

    1. cut the rows into ``S = n_splits`` contiguous blocks in time order (equal
       sizes; when S does not divide T the first ``T mod S`` blocks take one row
       more, so no row is dropped);
    2. for each of the ``C(S, S/2)`` ways to pick S/2 blocks: those blocks (in time
       order) are in sample, the other S/2 out of sample;
    3. ``n*`` = the set with the best in-sample metric (first on a tie); its
       relative rank out of sample ``w = rank / (N + 1)``, rank 1 the worst ... N
       the best (ties: average rank), and the logit ``lambda = ln(w / (1 - w))``;
    4. ``PBO = #{lambda <= 0} / C(S, S/2)``: the share of combinations in which the
       in-sample best is at or below the out-of-sample median.

    ``metric`` maps a (rows x N) array to N numbers (higher is better); the
    default is the per-period Sharpe ratio (:func:`sharpe_ratios`), computed for
    all combinations at once from per-block sums. Noise gives a PBO near 0.5; a
    set with a real edge among noise, near 0.

    Errors (:class:`data.OrderFlowError`): S odd or < 2; fewer rows than S (or a
    half of fewer than 2 rows with the Sharpe ratio); fewer than 2 sets; a
    missing or infinite value (named by column and 1-based row; ``source`` names
    the file in the message).
    """
    frame = returns if isinstance(returns, pd.DataFrame) else pd.DataFrame(returns)
    x = _matrix(frame, source)
    t, n = x.shape
    if not (isinstance(n_splits, (int, np.integer)) and n_splits >= 2 and n_splits % 2 == 0):
        raise OrderFlowError("the number of CSCV splits S must be an even whole number >= 2", source=source, value=n_splits)
    if t < n_splits:
        raise OrderFlowError(f"{t} return observation(s) cannot be cut into S = {n_splits} splits: "
                             "need at least one observation per split (lower S or use more data)", source=source)
    if n < 2:
        raise OrderFlowError(f"the probability of backtest overfitting needs at least 2 sets, got {n}", source=source)
    if metric is None and (t // n_splits) * (n_splits // 2) < 2:
        raise OrderFlowError(f"{t} observations in S = {n_splits} splits leave a half with fewer than 2 observations, "
                             "too few for a Sharpe ratio", source=source)

    block_rows = np.array([len(b) for b in np.array_split(np.arange(t), n_splits)])
    starts = np.concatenate(([0], np.cumsum(block_rows)[:-1]))
    combos = np.array(list(itertools.combinations(range(n_splits), n_splits // 2)), dtype=np.intp)
    chosen = np.zeros((len(combos), n_splits), dtype=bool)
    chosen[np.arange(len(combos))[:, None], combos] = True

    batches = (_cscv_sharpe(x, starts, block_rows, chosen) if metric is None
               else _cscv_metric(x, starts, block_rows, chosen, metric))
    best = np.empty(len(combos), dtype=np.intp)
    rank = np.empty(len(combos))
    is_best_perf = np.empty(len(combos))
    oos_best_perf = np.empty(len(combos))
    for lo, is_perf, oos_perf in batches:
        part = slice(lo, lo + len(is_perf))
        rows = np.arange(len(is_perf))
        best[part] = chosen_set = np.argmax(is_perf, axis=1)
        value = oos_perf[rows, chosen_set][:, None]
        below = (oos_perf < value).sum(axis=1)
        level = (oos_perf == value).sum(axis=1)  # includes the chosen set itself
        rank[part] = below + (level + 1) / 2.0
        is_best_perf[part] = is_perf[rows, chosen_set]
        oos_best_perf[part] = value[:, 0]
    omega = rank / (n + 1)
    logits = np.log(omega / (1 - omega))
    return PBOResult(pbo=float(np.mean(logits <= 0)), logits=logits, is_best=best, oos_rank=rank,
                     is_performance=is_best_perf, oos_performance=oos_best_perf, combinations=combos,
                     columns=list(frame.columns), n_splits=int(n_splits), block_rows=block_rows)


def _cscv_sharpe(x: np.ndarray, starts: np.ndarray, block_rows: np.ndarray,
                 chosen: np.ndarray) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """In- and out-of-sample per-period Sharpe ratios from per-block sums, in batches of combinations.

    Yields ``(first combination, in-sample, out-of-sample)`` with (batch x sets)
    arrays of about ``CSCV_BATCH_NUMBERS`` numbers each. With ``s1``, ``s2`` the sums
    of ``y`` and ``y^2`` over a half's rows (``n`` of them), ``y = r - mean_all(r)``
    (centred per column so the sums do not cancel): ``mean = s1 / n + mean_all``,
    ``var = (s2 - s1^2 / n) / (n - 1)`` (ddof 1), equal to :func:`sharpe_ratios` on
    that half's rows.
    """
    centre = x.mean(axis=0)
    y = x - centre
    b1 = np.add.reduceat(y, starts, axis=0)
    b2 = np.add.reduceat(y * y, starts, axis=0)
    total1, total2 = b1.sum(axis=0), b2.sum(axis=0)
    counts = block_rows.astype(np.float64)
    step = max(1, CSCV_BATCH_NUMBERS // x.shape[1])
    for lo in range(0, len(chosen), step):
        m = chosen[lo:lo + step].astype(np.float64)
        n_in = m @ counts
        s1, s2 = m @ b1, m @ b2
        halves = []
        for k, a1, a2 in ((n_in, s1, s2), (counts.sum() - n_in, total1 - s1, total2 - s2)):
            k = k[:, None]
            ss = np.maximum(a2 - a1 * a1 / k, 0.0)
            ss[ss <= 1e-12 * a2] = 0.0  # a flat half: what float cancellation leaves of zero
            halves.append(_sharpe(a1 / k + centre, np.sqrt(ss / (k - 1))))
        yield lo, halves[0], halves[1]


def _cscv_metric(x: np.ndarray, starts: np.ndarray, block_rows: np.ndarray, chosen: np.ndarray,
                 metric: Callable[[np.ndarray], np.ndarray]) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """In- and out-of-sample ``metric`` of every set, one call per half (any metric; vectorised over sets)."""
    blocks = [np.arange(s, s + k) for s, k in zip(starts, block_rows)]
    for c, mask in enumerate(chosen):
        rows_in = np.concatenate([b for b, keep in zip(blocks, mask) if keep])
        rows_out = np.concatenate([b for b, keep in zip(blocks, mask) if not keep])
        yield (c, np.asarray(metric(x[rows_in]), dtype=np.float64)[None, :],
               np.asarray(metric(x[rows_out]), dtype=np.float64)[None, :])


# -- helpers ---------------------------------------------------------------------------------------------------------


def _matrix(returns: pd.DataFrame | np.ndarray, source: Any = None) -> np.ndarray:
    """The returns as a float64 (T x N) array; OrderFlowError naming the first NaN/inf by column and row."""
    frame = returns if isinstance(returns, pd.DataFrame) else pd.DataFrame(np.asarray(returns))
    try:
        x = frame.to_numpy(dtype=np.float64)
    except (TypeError, ValueError):
        raise OrderFlowError("returns must be numbers", source=source) from None
    if x.ndim != 2 or x.shape[1] == 0:
        raise OrderFlowError("returns must be a matrix with one column per set", source=source)
    bad = ~np.isfinite(x)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise OrderFlowError("missing or infinite return", source=source, column=str(frame.columns[col]),
                             row=int(row) + 1, value=float(x[row, col]))
    return x


def _plain(value: Any) -> Any:
    """numpy scalars to Python ones; NaN/inf to None (JSON has neither)."""
    if isinstance(value, (np.generic,)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
