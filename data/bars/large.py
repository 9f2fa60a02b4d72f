"""Large trades: which trades (or aggressor orders) count as large, and their volume per bar.

A trade is large when its size reaches a threshold: a fixed size, or a percentile of the
sizes of the previous block of trades (:func:`large_trade_threshold`). The footprint lines
(:mod:`data.bars.footprint`), the large orders (:mod:`data.bars.orders`) and a stream of
batches (:class:`LargeTradeCarry`, :mod:`data.bars.stream`) share this code.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from data.errors import OrderFlowError

DEFAULT_LARGE = "p99"  # 99th percentile of the previous block of trades
DEFAULT_LARGE_WINDOW = 10_000


def large_trade_threshold(size: np.ndarray, threshold: "float | str" = DEFAULT_LARGE, window: int = DEFAULT_LARGE_WINDOW) -> np.ndarray:
    """Per trade, the size at or above which it counts as large.

    ``threshold`` a number: that absolute size for every trade. A string ``"pQ"``
    (``"p99"``, ``"p99.5"``): the Q-th percentile of the sizes of the previous
    block of ``window`` trades (the smallest size with at least Q% of the block at
    or below it) (trades are cut into consecutive blocks of
    ``window``; each block is judged against the block before it, so no trade is
    judged by sizes that come after it; the first block, having no past, is judged
    against itself).
    """
    size = np.asarray(size, dtype=np.float64)
    block_thresholds, window = _block_thresholds(size, threshold, window)
    if np.ndim(block_thresholds) == 0:
        return np.full(len(size), block_thresholds)
    return np.repeat(block_thresholds, window)[: len(size)]


@dataclass
class LargeTradeCarry:
    """What a stream of batches (:mod:`data.bars.stream`) carries from one call of
    :func:`large_trade_volume` to the next, so that trades are cut into the same
    blocks of ``window`` as in one pass: the sizes of the block in progress and its
    threshold (the percentile of the block before it; None while in the first
    block, which is judged against itself, so a stream's first call must hold a
    whole block, or all the trades)."""

    sizes: np.ndarray = field(default_factory=lambda: np.zeros(0))
    threshold: float | None = None


def _percentile(text: str, threshold: "float | str") -> float:
    try:
        q = float(text[1:]) if text.startswith("p") else float("nan")
    except ValueError:
        q = float("nan")
    if not 0 <= q <= 100:
        raise OrderFlowError(f"large-trade threshold must be a size or a percentile like 'p99', not {threshold!r}")
    return q


def _streamed_at_or_above(size: np.ndarray, threshold: str, window: int, carry: LargeTradeCarry) -> np.ndarray:
    """``size >= threshold`` of each trade with the blocks continued from ``carry``
    (updated in place): the carried sizes go first, so that the blocks are the
    whole data's; the carried block keeps its carried threshold."""
    prefix = carry.sizes
    ext = np.concatenate((prefix, size)) if len(prefix) else size
    thresholds, window = _block_thresholds(ext, threshold, window)
    if carry.threshold is not None:
        thresholds = np.array(thresholds, dtype=np.float64)
        thresholds[0] = carry.threshold
    above = _at_or_above(ext, thresholds, window)[len(prefix):]
    full = len(ext) // window
    if full:
        q = _percentile(threshold.strip().lower(), threshold)
        carry.threshold = float(_order_statistic(ext[(full - 1) * window: full * window].reshape(1, -1), q)[0])
    carry.sizes = ext[full * window:].copy()
    return above


def _block_thresholds(size: np.ndarray, threshold: "float | str", window: int) -> tuple["float | np.ndarray", int]:
    """``(thresholds, window)``: one threshold for every trade (a float) or one per
    block of ``window`` trades (see :func:`large_trade_threshold`)."""
    if not isinstance(threshold, str):
        value = float(threshold)
        if not np.isfinite(value) or value < 0:
            raise OrderFlowError(f"large-trade threshold must be a size >= 0 or 'pQ', not {threshold!r}")
        return value, window
    q = _percentile(threshold.strip().lower(), threshold)
    window = int(window)
    if window < 1:
        raise OrderFlowError(f"large-trade window must be at least 1 trade, not {window!r}")
    n = len(size)
    if n == 0:
        return np.zeros(0), window
    full = n // window
    per_block = _order_statistic(size[: full * window].reshape(full, window), q) if full else np.zeros(0)
    if n % window:
        per_block = np.append(per_block, _order_statistic(size[full * window :].reshape(1, -1), q))
    return np.concatenate(([per_block[0]], per_block[:-1])), window


def _order_statistic(blocks: np.ndarray, q: float) -> np.ndarray:
    """Per row, the smallest value with at least q% of the row at or below it
    (the ``ceil(q / 100 * m)``-th smallest of m: ``np.partition(row, k)[k]``, k 0-based).

    Near the top of a row (the large-trade percentiles) only a few values are ranked:
    cut the row into ``m - k`` groups; the smallest group maximum ``c`` has at least
    ``m - k`` values at or above it, so the answer (the value with ``m - k`` values at
    or above it in sorted order) is ``>= c`` and is the ``(k - #{v < c})``-th smallest
    of the values ``>= c`` (a few percent of the row for p99). A row holding NaN
    (which ``np.partition`` sorts last), or a percentile below the top eighth, takes
    one ``np.partition`` of the whole row (tied to it in tests/test_fast_paths.py)."""
    m = blocks.shape[1]
    k = min(max(int(np.ceil(q / 100.0 * m)) - 1, 0), m - 1)
    top = m - k
    if 8 * top > m:
        return np.partition(blocks, k, axis=1)[:, k]
    bound = np.maximum.reduceat(blocks, (np.arange(top) * m) // top, axis=1).min(axis=1)
    with np.errstate(invalid="ignore"):
        above = blocks >= bound[:, None]
    candidates = blocks[above]
    ends = np.cumsum(np.count_nonzero(above, axis=1))
    out = np.empty(len(blocks))
    for i, (lo, hi) in enumerate(zip(np.concatenate(([0], ends[:-1])), ends)):
        if np.isnan(bound[i]):
            out[i] = np.partition(blocks[i], k)[k]
        else:
            j = k - (m - (hi - lo))  # minus the values below the bound
            out[i] = np.partition(candidates[lo:hi], j)[j]
    return out


def large_trade_volume(
    size: np.ndarray,
    side: np.ndarray,
    starts: np.ndarray,
    threshold: "float | str" = DEFAULT_LARGE,
    window: int = DEFAULT_LARGE_WINDOW,
    positions: np.ndarray | None = None,
    *,
    carry: LargeTradeCarry | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per bar, (buy volume, sell volume) of trades with ``size >= threshold``
    (see :func:`large_trade_threshold`); bars given by first-tick indices ``starts``.

    ``positions``: the tick index of each item when the items are not the ticks
    themselves (aggressor orders: the index of an order's last trade, so an order
    counts in the bar where it completes). ``carry`` continues the blocks of earlier
    items (see :class:`LargeTradeCarry`)."""
    size = np.asarray(size, dtype=np.float64)
    side = np.asarray(side)
    if len(size) == 0:
        return np.zeros(len(starts)), np.zeros(len(starts))
    if carry is not None and isinstance(threshold, str):
        above = _streamed_at_or_above(size, threshold, window, carry)
    else:
        above = _at_or_above(size, *_block_thresholds(size, threshold, window))
    large = np.flatnonzero(above)  # few: work on those only
    at = large if positions is None else np.asarray(positions)[large]
    bar = np.searchsorted(np.asarray(starts), at, side="right") - 1
    n_bars = len(starts)
    big, big_side = size[large], side[large]
    buy = np.bincount(bar, weights=np.where(big_side == 1, big, 0.0), minlength=n_bars)
    sell = np.bincount(bar, weights=np.where(big_side == -1, big, 0.0), minlength=n_bars)
    return buy, sell


def _at_or_above(size: np.ndarray, thresholds: "float | np.ndarray", window: int) -> np.ndarray:
    """``size >= threshold`` of each trade, comparing each block of ``window`` trades
    with its threshold (no threshold array per trade)."""
    if np.ndim(thresholds) == 0:
        return size >= thresholds
    out = np.empty(len(size), dtype=bool)
    full = len(size) // window * window
    np.greater_equal(size[:full].reshape(-1, window), thresholds[: full // window, None],
                     out=out[:full].reshape(-1, window))
    np.greater_equal(size[full:], thresholds[-1], out=out[full:])
    return out
