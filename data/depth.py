"""Book measures that are harder to game than the raw size at the best bid minus the best ask.

Resting size costs nothing to post and pull, so a spoofer moves ``bid_size - ask_size``
at will. The measures here discount size that does not stay:

- :func:`ofi_events` / :func:`tick_ofi`: Order Flow Imbalance (Cont, Kukanov & Stoikov
  2014), the net change of best-quote depth between consecutive quote states; a size
  posted and pulled inside one bar adds and then removes the same amount;
- :func:`time_weighted_mean` of :func:`normalised_imbalance`: each quote state
  weighted by how long it rested;
- :func:`persistent_size`: depth counted only once it has rested a minimum time,
  approximated by the minimum queue size over a trailing window;
- :func:`weighted_mid`: the size-weighted mid ``I * ask + (1 - I) * bid``.

All functions work on any sequence of best-quote states: a quote-update stream (one
row per book change) or the quotes carried on each trade of the canonical tick schema.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import OrderFlowError
from .schema import DEPTH_LINES

DEFAULT_PERSISTENCE = "1s"


def _floats(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)


def ofi_events(bid: np.ndarray, bid_size: np.ndarray, ask: np.ndarray, ask_size: np.ndarray) -> np.ndarray:
    """Order Flow Imbalance contribution of each quote state n against state n-1.

    ``e_n = q^b_n 1{P^b_n >= P^b_{n-1}} - q^b_{n-1} 1{P^b_n <= P^b_{n-1}}
          - q^a_n 1{P^a_n <= P^a_{n-1}} + q^a_{n-1} 1{P^a_n >= P^a_{n-1}}``

    (inequalities not strict: an unchanged bid price counts the size change
    ``q^b_n - q^b_{n-1}``; a higher bid counts the whole new queue, a lower bid the
    loss of the whole old one; mirrored for the ask with the opposite sign).
    ``e_0 = 0`` (no earlier state), and 0 where either state has a missing value.
    """
    pb, qb, pa, qa = _floats(bid), _floats(bid_size), _floats(ask), _floats(ask_size)
    e = np.zeros(len(pb))
    if len(pb) < 2:
        return e
    step = e[1:]
    step += qb[1:] * (pb[1:] >= pb[:-1])
    step -= qb[:-1] * (pb[1:] <= pb[:-1])
    step -= qa[1:] * (pa[1:] <= pa[:-1])
    step += qa[:-1] * (pa[1:] >= pa[:-1])
    step[~np.isfinite(step)] = 0.0
    return e


def imbalance_ratio(bid_size: np.ndarray, ask_size: np.ndarray) -> np.ndarray:
    """``I = bid_size / (bid_size + ask_size)`` in [0, 1]; NaN when both are 0 or missing."""
    qb, qa = _floats(bid_size), _floats(ask_size)
    total = qb + qa
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, qb / total, np.nan)


def normalised_imbalance(bid_size: np.ndarray, ask_size: np.ndarray) -> np.ndarray:
    """``(bid_size - ask_size) / (bid_size + ask_size) = 2 I - 1`` in [-1, 1]; NaN when both are 0."""
    qb, qa = _floats(bid_size), _floats(ask_size)
    total = qb + qa
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (qb - qa) / total, np.nan)


def weighted_mid(bid: np.ndarray, ask: np.ndarray, bid_size: np.ndarray, ask_size: np.ndarray) -> np.ndarray:
    """Size-weighted mid ``I * ask + (1 - I) * bid`` with ``I = bid_size / (bid_size + ask_size)``.

    A heavy bid pulls it towards the ask (the price is more likely to tick up).
    The plain mid ``(bid + ask) / 2`` when both sizes are 0; NaN without quotes.
    """
    pb, pa = _floats(bid), _floats(ask)
    ratio = imbalance_ratio(bid_size, ask_size)
    ratio = np.where(np.isnan(ratio) & np.isfinite(_floats(bid_size)) & np.isfinite(_floats(ask_size)), 0.5, ratio)
    return ratio * pa + (1.0 - ratio) * pb


def _window_ns(window: "str | pd.Timedelta | float | int") -> int:
    try:
        delta = pd.Timedelta(window) if not isinstance(window, (int, float)) else pd.Timedelta(seconds=window)
    except (ValueError, TypeError):
        raise OrderFlowError(f"bad persistence window {window!r}: use a duration such as '1s' or '500ms'") from None
    if delta <= pd.Timedelta(0):
        raise OrderFlowError(f"persistence window must be longer than zero, not {window!r}")
    return int(delta.value)


def persistent_size(
    ts_ns: np.ndarray,
    price: np.ndarray,
    size: np.ndarray,
    window: "str | pd.Timedelta | float" = DEFAULT_PERSISTENCE,
    at: np.ndarray | None = None,
) -> np.ndarray:
    """Depth at one side of the book counted only once it has rested ``window``.

    For quote state i at time t (states sorted by time):
    ``persistent_i = min(size_j for the states j in force during [t - window, t])``
    if the quote price has not changed during that interval, else 0 (the queue at
    today's price has not existed for the whole window). The state in force at
    ``t - window`` is the last one at or before it. Size posted and cancelled in
    less than ``window`` therefore never counts. NaN where the size is missing.
    ``at``: compute only for these state indices (the result has their length).
    """
    ts = np.asarray(ts_ns, dtype=np.int64)
    p, q = _floats(price), _floats(size)
    n = len(ts)
    at = np.arange(n) if at is None else np.asarray(at, dtype=np.int64)
    if n == 0 or len(at) == 0:
        return np.zeros(len(at))
    w = _window_ns(window)
    # the state in force at t - window: last index with ts <= t - w (-1: none yet)
    anchor = np.searchsorted(ts, ts[at] - w, side="right") - 1
    # first index of the current run of equal prices: the last price change at or before i
    changes = np.flatnonzero(p[1:] != p[:-1]) + 1
    run_start = np.concatenate(([0], changes))[np.searchsorted(changes, at, side="right")]
    rested = anchor >= run_start
    lowest = _range_min(q, ts, np.maximum(anchor, 0), at, w)
    out = np.where(rested, lowest, 0.0)
    return np.where(np.isnan(q[at]), np.nan, out)


def _range_min(q: np.ndarray, ts: np.ndarray, first: np.ndarray, last: np.ndarray, w: int) -> np.ndarray:
    """``min(q[first_k : last_k + 1])`` for each k (``first <= last``).

    Few or short ranges: one ``np.minimum.reduceat`` over interleaved bounds.
    Many long ones (every state of a busy book): a time-based rolling minimum over
    ``(t - w, t]`` (pandas, O(n)) combined with the state at ``first``.
    """
    if int(np.sum(last - first + 1)) <= 4 * len(q):
        bounds = np.empty(2 * len(first), dtype=np.int64)
        bounds[0::2], bounds[1::2] = first, last + 1
        with np.errstate(invalid="ignore"):
            return np.fmin.reduceat(np.append(q, np.nan), bounds)[0::2]
    index = pd.DatetimeIndex(ts.astype("datetime64[ns]"))
    recent = pd.Series(q, index=index).rolling(pd.Timedelta(w, unit="ns"), closed="right").min().to_numpy()
    return np.fmin(recent[last], q[first])


def time_weighted_mean(values: np.ndarray, ts_ns: np.ndarray, starts: np.ndarray, stamps: np.ndarray) -> np.ndarray:
    """Per bar, the mean of ``values`` with each state weighted by how long it rested.

    State i (at time ``t_i``) rests until the next state or the bar's time, whichever
    comes first: ``w_i = min(t_{i+1}, stamp) - t_i`` (the bar's last state rests until
    a time bar closes; 0 for tick and volume bars, which end on their last tick).
    ``sum(w_i v_i) / sum(w_i)`` over states with a value; the plain mean when the
    weights sum to 0 (all states at one instant); NaN when no state has a value.
    """
    v = _floats(values)
    ts = np.asarray(ts_ns, dtype=np.int64)
    n = len(v)
    if n == 0:
        return np.zeros(0)
    starts = np.asarray(starts, dtype=np.int64)
    last = np.append(starts[1:], n) - 1
    # time to the next state; the bar's last state rests until the bar's time (not past it)
    weight = np.empty(n)
    np.subtract(ts[1:], ts[:-1], out=weight[:-1], casting="unsafe")
    weight[last] = np.maximum(np.asarray(stamps, dtype=np.int64) - ts[last], 0)
    return _weighted_bar_mean(v, weight, starts)


def _nan_bar_mean(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per bar, the mean of the finite values (NaN when none)."""
    known = np.isfinite(values)
    with np.errstate(invalid="ignore", divide="ignore"):
        if known.all():
            return np.add.reduceat(values, starts) / np.diff(np.append(starts, len(values)))
        return np.add.reduceat(np.where(known, values, 0.0), starts) / np.add.reduceat(known.astype(np.float64), starts)


def _weighted_bar_mean(v: np.ndarray, weight: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """``sum(w v) / sum(w)`` per bar over finite values; the plain mean where the weights sum to 0."""
    known = np.isfinite(v)
    if not known.all():
        v = np.where(known, v, 0.0)
        weight = np.where(known, weight, 0.0)
    wsum = np.add.reduceat(weight, starts)
    wv = np.add.reduceat(weight * v, starts)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = wv / wsum
    zero = ~(wsum > 0)
    if zero.any():
        plain = _nan_bar_mean(np.where(known, v, np.nan), starts)
        out[zero] = plain[zero]
    return out


def tick_ofi(ticks: pd.DataFrame) -> np.ndarray:
    """OFI of each tick against the previous tick's quotes (:func:`ofi_events` on the
    ``bid bid_size ask ask_size`` carried by canonical ticks); NaN without quotes."""
    if not all(c in ticks for c in ("bid", "ask", "bid_size", "ask_size")):
        return np.full(len(ticks), np.nan)
    return ofi_events(ticks["bid"], ticks["bid_size"], ticks["ask"], ticks["ask_size"])


def bar_ofi(quote_ts_ns: np.ndarray, events: np.ndarray, bar_stamps_ns: np.ndarray) -> np.ndarray:
    """OFI of a quote-update stream summed into time bars stamped ``bar_stamps_ns``
    (right-closed: an update at t goes to the first bar stamped at or after t;
    updates after the last bar are dropped, as are bars' times without updates)."""
    stamps = np.asarray(bar_stamps_ns, dtype=np.int64)
    which = np.searchsorted(stamps, np.asarray(quote_ts_ns, dtype=np.int64), side="left")
    inside = which < len(stamps)
    return np.bincount(which[inside], weights=_floats(events)[inside], minlength=len(stamps))


def _quote_arrays(ticks: pd.DataFrame) -> dict[str, np.ndarray] | None:
    if not all(c in ticks for c in ("bid_size", "ask_size")):
        return None
    n = len(ticks)
    nan = np.full(n, np.nan)
    return {
        "bid": ticks["bid"].to_numpy(np.float64) if "bid" in ticks else nan,
        "ask": ticks["ask"].to_numpy(np.float64) if "ask" in ticks else nan,
        "bid_size": ticks["bid_size"].to_numpy(np.float64),
        "ask_size": ticks["ask_size"].to_numpy(np.float64),
    }


def depth_lines(
    ticks: pd.DataFrame,
    ts_ns: np.ndarray,
    starts: np.ndarray,
    stamps: np.ndarray,
    persistence: "str | pd.Timedelta | float" = DEFAULT_PERSISTENCE,
) -> dict[str, np.ndarray]:
    """All :data:`DEPTH_LINES` per bar (bars given by first-tick indices), from the
    quotes carried on the ticks (used by ``make_bars``):

    - ``ofi``: sum of :func:`ofi_events` over the bar's ticks (each tick against the
      tick before it, which may be in the previous bar);
    - ``avg_depth``: mean of ``(bid_size + ask_size) / 2`` over the bar's ticks (the
      depth that normalises OFI);
    - ``tw_imbalance``: :func:`time_weighted_mean` of :func:`normalised_imbalance`;
    - ``persistent_bid_size``/``persistent_ask_size``: :func:`persistent_size` at the
      bar's last tick, and ``persistent_imbalance`` their normalised imbalance
      (0 when neither side has rested depth);
    - ``weighted_mid``: :func:`weighted_mid` at the bar's last tick.

    All NaN when the ticks carry no quote sizes; OFI and the weighted mid also
    need the quote prices.
    """
    n_bars = len(starts)
    quotes = _quote_arrays(ticks)
    if quotes is None or n_bars == 0:
        return {name: np.full(n_bars, np.nan) for name in DEPTH_LINES}
    starts = np.asarray(starts, dtype=np.int64)
    last = np.append(starts[1:], len(ts_ns)) - 1
    qb, qa = quotes["bid_size"], quotes["ask_size"]
    avg_depth = _nan_bar_mean((qb + qa) / 2, starts)
    has_prices = np.isfinite(quotes["bid"]).any() and np.isfinite(quotes["ask"]).any()
    if has_prices:
        ofi = np.add.reduceat(ofi_events(quotes["bid"], qb, quotes["ask"], qa), starts)
        bid_px, ask_px = quotes["bid"], quotes["ask"]
    else:  # without quote prices the level cannot be tracked: OFI undefined, persistence by size alone
        ofi = np.full(n_bars, np.nan)
        bid_px = ask_px = np.zeros(len(qb))
    pbid = persistent_size(ts_ns, bid_px, qb, persistence, at=last)
    pask = persistent_size(ts_ns, ask_px, qa, persistence, at=last)
    persistent = normalised_imbalance(pbid, pask)
    persistent = np.where(np.isfinite(pbid) & np.isfinite(pask) & np.isnan(persistent), 0.0, persistent)
    return {
        "ofi": ofi,
        "avg_depth": avg_depth,
        "tw_imbalance": time_weighted_mean(normalised_imbalance(qb, qa), ts_ns, starts, stamps),
        "persistent_bid_size": pbid,
        "persistent_ask_size": pask,
        "persistent_imbalance": persistent,
        "weighted_mid": weighted_mid(quotes["bid"][last], quotes["ask"][last], qb[last], qa[last]),
    }
