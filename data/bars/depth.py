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

from data.bars.blocks import bar_blocks, longest
from data.bars.flow import book_imbalance
from data.errors import OrderFlowError
from data.options import DEFAULT_PERSISTENCE
from data.schema import DEPTH_IMBALANCE_LEVELS, DEPTH_LINES, quote_levels
from data.ticks import column_or_nan


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
    return _ofi_events_into(pb, qb, pa, qa, np.empty(len(pb)), np.empty(max(len(pb) - 1, 0)))


def _ofi_events_into(pb: np.ndarray, qb: np.ndarray, pa: np.ndarray, qa: np.ndarray,
                     out: np.ndarray, scratch: np.ndarray, clean: bool = True) -> np.ndarray:
    """:func:`ofi_events` written into ``out`` (length n), ``scratch`` (length >= n - 1)
    as working space: no temporary array per term. Terms are added in the order of
    the formula, starting from 0, so every value is the same bit for bit.
    ``clean=False`` leaves non-finite values in place (see :func:`bar_ofi`)."""
    n = len(pb)
    out[:1] = 0.0
    if n < 2:
        return out
    step, term = out[1:], scratch[: n - 1]
    mask = np.empty(n - 1, dtype=bool)
    np.multiply(qb[1:], np.greater_equal(pb[1:], pb[:-1], out=mask), out=step)
    if not qb.min() > 0:  # 0 + (-0.0) is 0.0: the sum from 0 turns a negative zero positive
        step += 0.0
    step -= np.multiply(qb[:-1], np.less_equal(pb[1:], pb[:-1], out=mask), out=term)
    step -= np.multiply(qa[1:], np.less_equal(pa[1:], pa[:-1], out=mask), out=term)
    step += np.multiply(qa[:-1], np.greater_equal(pa[1:], pa[:-1], out=mask), out=term)
    if clean:
        _zero_non_finite(step)
    return out


def _zero_non_finite(values: np.ndarray) -> None:
    finite = np.isfinite(values)
    if not finite.all():
        values[~finite] = 0.0


def _block_ofi(pb: np.ndarray, qb: np.ndarray, pa: np.ndarray, qa: np.ndarray, lo: int, hi: int,
               starts: np.ndarray, out: np.ndarray, scratch: np.ndarray) -> np.ndarray:
    """Per bar of the block of ticks ``lo:hi`` (bars at block-local ``starts``), the
    sum of :func:`ofi_events` (each tick against the one before it, in this block or
    not; computed into ``out`` of length >= ``hi - lo + 1``). Non-finite steps are
    zeroed only when some bar's sum shows one (a NaN or infinity carries into its
    bar's sum), saving a pass over clean quotes."""
    first = max(lo - 1, 0)  # the state before the block, if any
    events = _ofi_events_into(pb[first:hi], qb[first:hi], pa[first:hi], qa[first:hi], out[: hi - first],
                              scratch, clean=False)[lo - first:]
    with np.errstate(invalid="ignore"):  # inf - inf: zeroed below
        sums = np.add.reduceat(events, starts)
    if np.isfinite(sums).all():
        return sums
    _zero_non_finite(events)
    return np.add.reduceat(events, starts)


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


def window_ns(window: "str | pd.Timedelta | float | int") -> int:
    """A persistence window in ns (a duration string, a Timedelta or seconds); > 0."""
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
    w = window_ns(window)
    # the state in force at t - window: last index with ts <= t - w (-1: none yet)
    anchor = np.searchsorted(ts, ts[at] - w, side="right") - 1
    windows = _windows(anchor, at, n)
    if windows is not None:
        return _persistent_in_windows(p, q, at, anchor, windows)
    # first index of the current run of equal prices: the last price change at or before i
    changes = np.flatnonzero(p[1:] != p[:-1]) + 1
    run_start = np.concatenate(([0], changes))[np.searchsorted(changes, at, side="right")]
    rested = anchor >= run_start
    lowest = _range_min(q, ts, np.maximum(anchor, 0), at, w)
    out = np.where(rested, lowest, 0.0)
    return np.where(np.isnan(q[at]), np.nan, out)


def _windows(anchor: np.ndarray, at: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The states ``anchor_k .. at_k`` of every window, gathered: ``(index, offsets)``
    with window k at ``index[offsets[k]:offsets[k + 1]]``. A window without an
    anchor (-1: nothing has rested yet) is just ``at_k``. None when the windows hold
    more states than there are (then a pass over all states is cheaper)."""
    first = np.where(anchor >= 0, anchor, at)
    lengths = at - first + 1
    total = int(lengths.sum())
    if total > n:
        return None
    offsets = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
    index = np.repeat(first - offsets, lengths) + np.arange(total, dtype=np.int64)
    return index, offsets


def _persistent_in_windows(p: np.ndarray, q: np.ndarray, at: np.ndarray, anchor: np.ndarray,
                           windows: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """:func:`persistent_size` from the gathered windows (see :func:`_windows`): rested
    when there is an anchor and the price never changes from the anchor to ``at``
    (``p[j] != p[j - 1]`` for no j in ``anchor + 1 .. at``; a NaN price is a change);
    then the smallest size in the window (NaN sizes skipped)."""
    index, offsets = windows
    price = p[index]
    changed = np.empty(len(index), dtype=bool)
    changed[:1] = False
    np.not_equal(price[1:], price[:-1], out=changed[1:])
    changed[offsets] = False  # a window's first state has no predecessor inside it
    rested = (anchor >= 0) & ~np.logical_or.reduceat(changed, offsets)
    with np.errstate(invalid="ignore"):
        lowest = np.fmin.reduceat(q[index], offsets)
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
    return _time_weighted_mean_into(v, ts, starts, np.asarray(stamps, dtype=np.int64), np.empty(n))


def _resting_times(ts: np.ndarray, starts: np.ndarray, stamps: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Into ``weight``: time to the next state; the bar's last state rests until the bar's time (not past it)."""
    last = np.append(starts[1:], len(ts)) - 1
    np.subtract(ts[1:], ts[:-1], out=weight[:-1], casting="unsafe")
    weight[last] = np.maximum(stamps - ts[last], 0)
    return weight


def _time_weighted_mean_into(v: np.ndarray, ts: np.ndarray, starts: np.ndarray, stamps: np.ndarray,
                             scratch: np.ndarray) -> np.ndarray:
    """:func:`time_weighted_mean` with ``scratch`` (length n, overwritten) holding the
    weights and then the weighted values. When every value is finite (known from
    the per-bar sums: a NaN or infinity carries into its bar's sum) that is all;
    otherwise :func:`_weighted_bar_mean` drops the unknown values."""
    weight = _resting_times(ts, starts, stamps, scratch)
    wsum = np.add.reduceat(weight, starts)
    with np.errstate(invalid="ignore"):  # 0 * inf: that bar takes the path below
        wv = np.add.reduceat(np.multiply(weight, v, out=weight), starts)
    if not np.isfinite(wv).all():
        return _weighted_bar_mean(v, _resting_times(ts, starts, stamps, scratch), starts)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = wv / wsum
    zero = ~(wsum > 0)
    if zero.any():
        out[zero] = _nan_bar_mean(v, starts)[zero]
    return out


def _nan_bar_mean(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per bar, the mean of the finite values (NaN when none)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        sums = np.add.reduceat(values, starts)
        if np.isfinite(sums).all():  # then so is every value (a NaN or infinity carries into its bar's sum)
            return sums / np.diff(np.append(starts, len(values)))
        known = np.isfinite(values)
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
    return {name: column_or_nan(ticks, name) for name in ("bid", "ask", "bid_size", "ask_size")}


def _any_finite(values: np.ndarray) -> bool:
    return len(values) > 0 and bool(np.isfinite(values[0]) or np.isfinite(values[-1]) or np.isfinite(values).any())


def quotes_have_prices(bid: np.ndarray, ask: np.ndarray) -> bool:
    """True when some bid price and some ask price are finite: the quotes carry their
    levels, so OFI and price-tracked persistence are defined (see :func:`depth_lines`)."""
    return _any_finite(_floats(bid)) and _any_finite(_floats(ask))


def _normalised_imbalance_into(qb: np.ndarray, qa: np.ndarray, total: np.ndarray, out: np.ndarray) -> np.ndarray:
    """:func:`normalised_imbalance` given ``total = qb + qa``, written into ``out``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        np.divide(np.subtract(qb, qa, out=out), total, out=out)
    positive = total > 0
    if not positive.all():
        out[~positive] = np.nan
    return out


def _persistent_both(ts: np.ndarray, quotes: dict[str, np.ndarray], at: np.ndarray,
                     window: "str | pd.Timedelta | float", has_prices: bool) -> tuple[np.ndarray, np.ndarray]:
    """:func:`persistent_size` of the bid and the ask at the states ``at`` (sharing the
    windows); by size alone (a constant price) without quote prices."""
    if len(ts) == 0 or len(at) == 0:
        return np.zeros(len(at)), np.zeros(len(at))
    w = window_ns(window)
    anchor = np.searchsorted(ts, ts[at] - w, side="right") - 1
    windows = _windows(anchor, at, len(ts))
    flat = None if has_prices else np.zeros(len(ts))
    out = []
    for price, size in ((quotes["bid"], quotes["bid_size"]), (quotes["ask"], quotes["ask_size"])):
        price = price if flat is None else flat
        if windows is None:
            out.append(persistent_size(ts, price, size, window, at=at))
        else:
            out.append(_persistent_in_windows(price, size, at, anchor, windows))
    return out[0], out[1]


def _per_tick_lines(ts: np.ndarray, quotes: dict[str, np.ndarray], starts: np.ndarray, stamps: np.ndarray,
                    has_prices: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per bar: OFI (NaN without quote prices), mean of ``(bid_size + ask_size) / 2``
    and the time-weighted normalised imbalance, computed block by block
    (:func:`data.bars.blocks.bar_blocks`) in three block-sized buffers."""
    n_bars = len(starts)
    ofi, avg_depth, tw_imbalance = np.full(n_bars, np.nan), np.empty(n_bars), np.empty(n_bars)
    blocks = bar_blocks(starts, len(ts))
    size = longest(blocks) + 1
    values, scratch, depth = np.empty(size), np.empty(size), np.empty(size)
    pb, qb, pa, qa = quotes["bid"], quotes["bid_size"], quotes["ask"], quotes["ask_size"]
    for b0, b1, lo, hi in blocks:
        local = starts[b0:b1] - lo
        if has_prices:
            ofi[b0:b1] = _block_ofi(pb, qb, pa, qa, lo, hi, local, values, scratch)
        bid, ask = qb[lo:hi], qa[lo:hi]
        total = np.add(bid, ask, out=depth[: hi - lo])
        imbalance = _normalised_imbalance_into(bid, ask, total, values[: hi - lo])
        tw_imbalance[b0:b1] = _time_weighted_mean_into(imbalance, ts[lo:hi], local, stamps[b0:b1],
                                                       scratch[: hi - lo])
        avg_depth[b0:b1] = _nan_bar_mean(np.multiply(total, 0.5, out=total), local)  # (bid + ask) / 2
    return ofi, avg_depth, tw_imbalance


def depth_lines(
    ticks: pd.DataFrame,
    ts_ns: np.ndarray,
    starts: np.ndarray,
    stamps: np.ndarray,
    persistence: "str | pd.Timedelta | float" = DEFAULT_PERSISTENCE,
    has_prices: bool | None = None,
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
    - ``weighted_mid``: :func:`weighted_mid` at the bar's last tick;
    - ``depth_imbalance_5``/``_10``: NaN (ticks carry the best quotes only; see
      :func:`quote_depth_lines` for a quote stream with levels).

    All NaN when the ticks carry no quote sizes; OFI and the weighted mid also
    need the quote prices: ``has_prices`` (default: some bid and some ask price
    is finite) says whether the ticks carry them; without, OFI is NaN and
    persistence goes by size alone (a stream decides it over all its ticks).
    """
    n_bars = len(starts)
    quotes = _quote_arrays(ticks)
    if quotes is None or n_bars == 0:
        return {name: np.full(n_bars, np.nan) for name in DEPTH_LINES}
    starts = np.asarray(starts, dtype=np.int64)
    ts = np.asarray(ts_ns, dtype=np.int64)
    n = len(ts)
    last = np.append(starts[1:], n) - 1
    qb, qa = quotes["bid_size"], quotes["ask_size"]
    # without quote prices the level cannot be tracked: OFI undefined, persistence by size alone
    if has_prices is None:
        has_prices = quotes_have_prices(quotes["bid"], quotes["ask"])
    ofi, avg_depth, tw_imbalance = _per_tick_lines(ts, quotes, starts, np.asarray(stamps, dtype=np.int64), has_prices)
    pbid, pask = _persistent_both(ts, quotes, last, persistence, has_prices)
    persistent = normalised_imbalance(pbid, pask)
    persistent = np.where(np.isfinite(pbid) & np.isfinite(pask) & np.isnan(persistent), 0.0, persistent)
    return {
        "ofi": ofi,
        "avg_depth": avg_depth,
        "tw_imbalance": tw_imbalance,
        "persistent_bid_size": pbid,
        "persistent_ask_size": pask,
        "persistent_imbalance": persistent,
        "weighted_mid": weighted_mid(quotes["bid"][last], quotes["ask"][last], qb[last], qa[last]),
        **{f"depth_imbalance_{k}": np.full(n_bars, np.nan) for k in DEPTH_IMBALANCE_LEVELS},  # ticks carry level 1 only
    }


# --------------------------------------------------------------------------- from a quote stream


def level_imbalance(quotes: pd.DataFrame, k: int) -> np.ndarray | None:
    """``(sum_{i<=k} bid_size_i - sum_{i<=k} ask_size_i) / (sum + sum)`` per quote state, over
    the first ``k`` levels of a quote stream (:func:`data.reading.quotes.level_columns`); NaN where
    both sums are 0; None when the stream has fewer than ``k`` levels."""
    if quote_levels(quotes) < k:
        return None
    bid = np.zeros(len(quotes))
    ask = np.zeros(len(quotes))
    for i in range(1, k + 1):
        bid += np.nan_to_num(quotes[f"bid_size_{i}"].to_numpy(np.float64))
        ask += np.nan_to_num(quotes[f"ask_size_{i}"].to_numpy(np.float64))
    return normalised_imbalance(bid, ask)


def quote_windows(quote_ts: np.ndarray, opens: np.ndarray, stamps: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The quote states of each bar window ``(open_b, stamp_b]``: ``(lo, hi, first, known)``.

    ``lo_b:hi_b`` are the updates inside the window; the states *in force* during it are
    ``first_b .. hi_b - 1`` with ``first_b = max(lo_b - 1, 0)`` (the state in force at the
    open, then the updates); ``known_b`` is False when no state is in force by the bar's
    close (no update at or before ``stamp_b``).
    """
    lo = np.searchsorted(quote_ts, opens, side="right")
    hi = np.searchsorted(quote_ts, stamps, side="right")
    return lo, hi, np.maximum(lo - 1, 0), hi > 0


def quote_depth_lines(
    quotes: pd.DataFrame,
    stamps: np.ndarray,
    opens: np.ndarray,
    persistence: "str | pd.Timedelta | float" = DEFAULT_PERSISTENCE,
) -> dict[str, np.ndarray]:
    """The :data:`DEPTH_LINES` and the closing ``bid_size ask_size imbalance`` of bars from
    every update of a quote stream (:func:`data.reading.quotes.load_quotes`: ``timestamp, bid, ask,
    bid_size, ask_size`` and optional levels), not only from the quotes seen at trades.

    Bar ``b`` covers the window ``(open_b, stamp_b]`` (``opens`` from
    :func:`data.bars.make.bar_opens`). The states in force during it are the one in force at
    ``open_b`` and the updates inside (see :func:`quote_windows`); state ``j`` rests
    ``w_j = min(t_{j+1}, stamp_b) - max(t_j, open_b)``. Per bar:

    - ``ofi``: ``sum(e_n)`` over the updates n inside the window, :func:`ofi_events` of the
      whole stream (each update against the state before it, inside the window or not);
      0 for a window without updates; NaN without quote prices;
    - ``avg_depth``: mean of ``(bid_size + ask_size) / 2`` over the states in force;
    - ``tw_imbalance``: ``sum(w_j x_j) / sum(w_j)`` of the normalised imbalance ``x_j``
      (the plain mean when the weights sum to 0);
    - ``bid_size``/``ask_size``/``imbalance`` (``bid_size - ask_size``), ``weighted_mid``,
      ``persistent_bid_size``/``_ask_size``/``_imbalance`` (:func:`persistent_size` over the
      stream, window ``persistence``): at the state in force at the bar's close (the last
      update at or before ``stamp_b``);
    - ``depth_imbalance_K`` (K in :data:`DEPTH_IMBALANCE_LEVELS`): the time-weighted mean of
      :func:`level_imbalance` over the first K levels, weighted as ``tw_imbalance``; NaN
      when the stream has fewer than K levels.

    Every line is NaN for a bar with no quote in force by its close, and every bar's
    when the stream has no sizes (prices only). Vectorised: the
    windows' states are gathered into one array (their total is at most the number of
    updates plus the number of bars) and reduced per bar with ``np.ufunc.reduceat``.
    """
    stamps = np.asarray(stamps, dtype=np.int64)
    opens = np.asarray(opens, dtype=np.int64)
    n_bars = len(stamps)
    names = DEPTH_LINES + ("bid_size", "ask_size", "imbalance")
    out = {name: np.full(n_bars, np.nan) for name in names}
    ts = timestamps_of(quotes)
    if n_bars == 0 or len(quotes) == 0 or not {"bid_size", "ask_size"} <= set(quotes.columns):
        return out
    q = {name: column_or_nan(quotes, name) for name in ("bid", "ask", "bid_size", "ask_size")}
    has_prices = quotes_have_prices(q["bid"], q["ask"])
    lo, hi, first, known = quote_windows(ts, opens, stamps)
    bars = np.flatnonzero(known)
    if len(bars) == 0:
        return out
    lo, hi, first, lo_stamp, hi_stamp = lo[bars], hi[bars], first[bars], opens[bars], stamps[bars]
    last = hi - 1
    # OFI: the sum of the events of lo:hi, by reduceat over interleaved bounds (a trailing
    # 0 so that every bound is a valid index; an empty window gives 0)
    if has_prices:
        events = np.append(ofi_events(q["bid"], q["bid_size"], q["ask"], q["ask_size"]), 0.0)
        bounds = np.empty(2 * len(bars), dtype=np.int64)
        bounds[0::2], bounds[1::2] = lo, hi
        sums = np.add.reduceat(events, bounds)[0::2]
        out["ofi"][bars] = np.where(hi > lo, sums, 0.0)
    # the states in force during each window, gathered
    lengths = hi - first
    offsets = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
    owner = np.repeat(np.arange(len(bars)), lengths)
    index = first[owner] + np.arange(int(lengths.sum()), dtype=np.int64) - offsets[owner]
    begin = np.maximum(ts[index], lo_stamp[owner])
    nxt = np.append(ts, np.iinfo(np.int64).max)[index + 1]
    weight = np.maximum(np.minimum(nxt, hi_stamp[owner]) - begin, 0).astype(np.float64)
    qb, qa = q["bid_size"], q["ask_size"]
    out["avg_depth"][bars] = _nan_bar_mean((qb[index] + qa[index]) * 0.5, offsets)
    out["tw_imbalance"][bars] = _weighted_bar_mean(normalised_imbalance(qb, qa)[index], weight, offsets)
    for k in DEPTH_IMBALANCE_LEVELS:
        levels = level_imbalance(quotes, k)
        if levels is not None:
            out[f"depth_imbalance_{k}"][bars] = _weighted_bar_mean(levels[index], weight, offsets)
    out["bid_size"][bars], out["ask_size"][bars] = qb[last], qa[last]
    out["imbalance"][bars] = book_imbalance(qb[last], qa[last])
    out["weighted_mid"][bars] = weighted_mid(q["bid"][last], q["ask"][last], qb[last], qa[last])
    pbid, pask = _persistent_both(ts, q, last, persistence, has_prices)
    persistent = normalised_imbalance(pbid, pask)
    out["persistent_bid_size"][bars], out["persistent_ask_size"][bars] = pbid, pask
    out["persistent_imbalance"][bars] = np.where(np.isfinite(pbid) & np.isfinite(pask) & np.isnan(persistent),
                                                 0.0, persistent)
    return out


def timestamps_of(quotes: pd.DataFrame) -> np.ndarray:
    """A quote stream's times in UTC ns, after checking they are sorted."""
    col = quotes["timestamp"]
    if getattr(col.dtype, "tz", None) is None:
        raise OrderFlowError("quote times must be timezone-aware (UTC); load quotes with data.load_quotes",
                             column="timestamp")
    ts = col.array.as_unit("ns").asi8 if col.array.unit != "ns" else col.array.asi8
    back = ts[1:] < ts[:-1]
    if back.any():
        raise OrderFlowError("quotes are not sorted by time (load them with data.load_quotes, which sorts them)",
                             column="timestamp", row=int(np.argmax(back)) + 2)
    return ts
