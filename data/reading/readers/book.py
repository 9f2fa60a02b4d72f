"""Order books rebuilt from event streams without a Python loop per event.

Two kinds of stream feed the same core:

- market by order (Databento MBO): :func:`mbo_level_updates` turns add / cancel /
  modify / clear events into per-price-level size changes;
- market by price (Tardis ``incremental_book_L2``): every row already sets one level's
  size (:func:`top_of_book` takes those sizes directly).

The core, :func:`top_of_book`, answers "best bid and ask, and their sizes, after each
event" for a list of *level updates* ``(t, level, size after)``, where ``t`` is the
event's position in the stream. Formulation (each step one vectorised pass):

1. Sort the updates by (level, t). The size an update sets holds on the event
   interval ``[t, t_next)`` where ``t_next`` is the level's next update (or the end of
   the level's *epoch*: a book clear or snapshot ends every level of the epoch).
2. Keep the intervals where the level is not empty, merging consecutive ones of one
   level: each is "level L is alive on events [lo, hi)".
3. Level ids are numbered in (epoch, side, price) order, so within one epoch and side
   the best bid is the *largest* alive id and the best ask the smallest. "The largest
   value among the intervals covering t, for every t" is an offline interval-stabbing
   maximum: each interval is written onto the O(log n) canonical nodes of a segment
   tree over the n events (``np.maximum.at``, all intervals at once, one tree level
   per step), then each event's answer is the maximum over its O(log n) ancestors
   (one gather per tree level). Cost O((m + n) log n) for m intervals and n events.
4. The size at the best level is the size set by that level's last update at or
   before t: one ``searchsorted`` over the sorted (level, t) keys.

The slow, obviously correct reference (a dict of orders and a dict per side of
level sizes, updated event by event) lives in the tests and must agree exactly.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["TopOfBook", "top_of_book", "stab_max", "mbo_level_updates", "LevelUpdates"]


def stab_max(lo: np.ndarray, hi: np.ndarray, value: np.ndarray, n: int, fill: int = -1) -> np.ndarray:
    """``out[t] = max(value[j] for intervals j with lo[j] <= t < hi[j])``, ``fill`` where none.

    Offline with a segment tree over ``0..n-1`` (see the module docstring): the
    bottom-up decomposition of ``[lo, hi)`` into canonical nodes, run for every
    interval at once, one tree level per step.
    """
    size = 1 << max(1, (max(n, 1) - 1).bit_length())
    tree = np.full(2 * size, fill, dtype=np.int64)
    lo, hi, value = np.asarray(lo, np.int64), np.asarray(hi, np.int64), np.asarray(value, np.int64)
    keep = lo < hi
    left, right, val = lo[keep] + size, hi[keep] + size, value[keep]
    while len(left):
        odd = (left & 1).astype(bool)
        np.maximum.at(tree, left[odd], val[odd])
        left = left + odd
        odd = (right & 1).astype(bool)
        right = right - odd
        np.maximum.at(tree, right[odd], val[odd])
        left >>= 1
        right >>= 1
        keep = left < right
        left, right, val = left[keep], right[keep], val[keep]
    node = np.arange(n, dtype=np.int64) + size
    out = tree[node]
    while size > 1:
        node >>= 1
        size >>= 1
        np.maximum(out, tree[node], out=out)
    return out


@dataclass
class LevelUpdates:
    """Price-level sizes set by events: update ``j`` sets level ``level[j]`` to ``size[j]``
    after event ``t[j]``. Level ``k`` has price ``price[k]`` and side ``is_bid[k]``; its
    epoch ends at event ``end[k]`` (exclusive; the stream length when it never ends).
    Level ids must be numbered in (epoch, side, price) order."""

    t: np.ndarray
    level: np.ndarray
    size: np.ndarray
    price: np.ndarray
    is_bid: np.ndarray
    end: np.ndarray


@dataclass
class TopOfBook:
    """Best bid/ask price and size after each event (NaN price, 0 size for an empty side)."""

    bid: np.ndarray
    bid_size: np.ndarray
    ask: np.ndarray
    ask_size: np.ndarray


def _alive_intervals(updates: LevelUpdates) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Updates sorted by (level, t) (as ``keys``, ``size``) and the merged intervals
    ``lo, hi, level`` on which each level is not empty; plus the sort keys' stride."""
    t = np.asarray(updates.t, np.int64)
    level = np.asarray(updates.level, np.int64)
    stride = int(t.max()) + 2 if len(t) else 1
    keys = level * stride + t
    order = np.argsort(keys, kind="stable")
    keys, lv, ts = keys[order], level[order], t[order]
    size = np.asarray(updates.size, np.float64)[order]
    same_next = np.zeros(len(lv), bool)
    same_next[:-1] = lv[1:] == lv[:-1]
    t_next = np.where(same_next, np.roll(ts, -1), np.asarray(updates.end, np.int64)[lv])
    alive = size > 0
    alive_prev = np.zeros(len(lv), bool)
    alive_prev[1:] = alive[:-1] & same_next[:-1]
    alive_next = np.zeros(len(lv), bool)
    alive_next[:-1] = alive[1:] & same_next[:-1]
    starts = alive & ~alive_prev
    ends = alive & ~alive_next
    return keys, size, ts[starts], t_next[ends], lv[starts], np.int64(stride)


def top_of_book(updates: LevelUpdates, n: int) -> TopOfBook:
    """Best bid (largest alive bid level) and best ask (smallest alive ask level) after each
    of the ``n`` events, with the sizes resting there. See the module docstring."""
    keys, size, lo, hi, lv, stride = _alive_intervals(updates)
    is_bid = np.asarray(updates.is_bid, bool)
    price = np.asarray(updates.price, np.float64)
    bid_side = is_bid[lv]
    best_bid = stab_max(lo[bid_side], hi[bid_side], lv[bid_side], n, fill=-1)
    best_ask = -stab_max(lo[~bid_side], hi[~bid_side], -lv[~bid_side], n, fill=-(2**62))
    t = np.arange(n, dtype=np.int64)

    def at(best: np.ndarray, empty: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        px = np.full(n, np.nan)
        qty = np.zeros(n)
        ok = ~empty
        if ok.any() and len(keys):
            pos = np.searchsorted(keys, best[ok] * stride + t[ok], side="right") - 1
            px[ok] = price[best[ok]]
            qty[ok] = size[pos]
        return px, qty

    bid, bid_size = at(best_bid, best_bid < 0)
    ask, ask_size = at(best_ask, best_ask >= 2**62)
    return TopOfBook(bid, bid_size, ask, ask_size)


def _group_shift(values: np.ndarray, first: np.ndarray, fill) -> np.ndarray:
    """``values`` shifted down by one row, ``fill`` on each group's first row."""
    out = np.empty_like(values)
    out[1:] = values[:-1]
    out[first] = fill
    return out


def mbo_level_updates(
    action: np.ndarray, side: np.ndarray, price: np.ndarray, size: np.ndarray, order_id: np.ndarray,
) -> tuple[LevelUpdates, int]:
    """Market-by-order events -> price-level size updates (for :func:`top_of_book`).

    ``action`` and ``side`` are Databento's one-byte codes (``A`` add, ``C`` cancel,
    ``M`` modify, ``R`` clear the book, ``T``/``F``/``N`` no change; side ``B``/``A``).
    Per order (its events grouped by (epoch, order id), epochs split at each ``R``):

    - a *segment* starts at each ``A`` or ``M``, which sets the order's price and size;
    - ``remaining = max(0, segment size - cancelled size so far in the segment)``
      (a ``C`` removes its ``size``; an order cancelled to 0 is gone);
    - each event moves ``remaining before`` off the order's old level and puts
      ``remaining after`` on its new level (a modify to another price loses the old
      level; a cancel stays on its level).

    A level's size after an event is the cumulative sum of those moves on it.
    Cancels of orders never seen (before the first snapshot) change nothing; their
    count is returned with the updates.
    """
    action = np.asarray(action).view(np.uint8)
    side = np.asarray(side).view(np.uint8)
    n = len(action)
    is_clear = action == ord("R")
    epoch = np.cumsum(is_clear)
    book = ((action == ord("A")) | (action == ord("C")) | (action == ord("M"))) & (
        (side == ord("B")) | (side == ord("A")))
    idx = np.flatnonzero(book)
    oid = np.asarray(order_id, np.uint64)[idx]
    ep = epoch[idx]
    order = np.lexsort((idx, oid, ep))  # by epoch, order id, then stream position
    idx, oid, ep = idx[order], oid[order], ep[order]
    act = action[idx]
    px = np.asarray(price)[idx]
    qty = np.asarray(size, np.float64)[idx]
    bid = side[idx] == ord("B")
    first = np.ones(len(idx), bool)
    first[1:] = (oid[1:] != oid[:-1]) | (ep[1:] != ep[:-1])
    opens = (act != ord("C")) | first  # a segment starts at an add/modify (or an unknown order)
    seg = np.cumsum(opens) - 1
    seg_first = np.flatnonzero(opens)
    known = act[seg_first] != ord("C")  # a segment opened by a cancel is an unknown order
    base = np.where(known, qty[seg_first], 0.0)[seg]
    cancelled = np.where(act == ord("C"), qty, 0.0)
    cum = np.cumsum(cancelled)
    cum_in_seg = cum - (cum[seg_first] - cancelled[seg_first])[seg]
    remaining = np.maximum(base - cum_in_seg, 0.0)
    level_px = px[seg_first][seg]  # a cancel stays at the price its segment set
    level_bid = bid[seg_first][seg]
    before = _group_shift(remaining, first, 0.0)
    px_before = _group_shift(level_px, first, level_px[0] if len(level_px) else 0)
    unknown = int(np.count_nonzero(~known & (act[seg_first] == ord("C"))))

    # two moves per event: off the old level, onto the new one
    move_t = np.concatenate([idx, idx])
    move_ep = np.concatenate([ep, ep])
    move_bid = np.concatenate([level_bid, level_bid])
    move_px = np.concatenate([px_before, level_px])
    move_qty = np.concatenate([-before, remaining])
    move_order = np.concatenate([np.zeros(len(idx), np.int8), np.ones(len(idx), np.int8)])
    nz = move_qty != 0
    move_t, move_ep, move_bid, move_px, move_qty, move_order = (
        a[nz] for a in (move_t, move_ep, move_bid, move_px, move_qty, move_order))
    # level ids in (epoch, side, price) order: asks (bid=False) before bids, each by price. Hashing
    # (pd.factorize) finds the few distinct prices and levels; only those are sorted, not the moves.
    px_rank, prices = pd.factorize(move_px, sort=True)
    key = (move_ep.astype(np.int64) * 2 + move_bid) * max(len(prices), 1) + px_rank
    level, keys = pd.factorize(key, sort=True)
    level = level.astype(np.int64)
    lv_ep = keys // (2 * max(len(prices), 1))
    lv_bid = (keys // max(len(prices), 1)) % 2 == 1
    lv_px = np.asarray(prices)[keys % max(len(prices), 1)]
    clear_at = np.append(np.flatnonzero(is_clear), n)  # epoch e ends at the e-th clear
    lv_end = clear_at[lv_ep]
    # size after each move: cumulative sum per level in (level, t, removal-first) order
    order = np.lexsort((move_order, move_t, level))
    csum = np.cumsum(move_qty[order])
    lv_sorted = level[order]
    starts = np.ones(len(order), bool)
    starts[1:] = lv_sorted[1:] != lv_sorted[:-1]
    offset = (csum - move_qty[order])[starts]
    level_size = csum - offset[np.cumsum(starts) - 1]
    updates = LevelUpdates(
        t=move_t[order], level=lv_sorted, size=level_size,
        price=lv_px.astype(np.float64), is_bid=lv_bid, end=lv_end,
    )
    return updates, unknown
