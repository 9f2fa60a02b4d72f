"""Range minima and "first index past a threshold" for many queries at once.

The simulator asks questions such as "the first trade after event ``a`` that prints below
price ``p``" or "the smallest displayed size of a level between two events" for every
order at once. :class:`RangeMin` answers them in O(log n) numpy steps per batch of
queries, never with a Python loop over the events:

- the values are cut in blocks of ``B`` (32); each block's minimum is kept, and a sparse
  table over the block minima (row ``k`` holds the minimum of ``2**k`` blocks from each
  block) answers a run of whole blocks in O(1);
- a query's partial blocks at its ends are read as a ``(queries x B)`` gather;
- "the first index from ``start`` whose value is below ``t``" checks the start's block, then
  finds the first block whose minimum is below ``t`` by binary lifting over the sparse
  table (O(log n) steps), then reads that block.

Memory: the values plus about ``log2(n / B) * n / B`` floats.
"""
from __future__ import annotations

import numpy as np

__all__ = ["RangeMin", "group_offsets", "ffill_index"]

BLOCK = 32


class RangeMin:
    """Minimum over index ranges, and first index below a threshold, of a fixed float array
    (NaN is not allowed: callers map "no value" to +inf or -inf as the question needs)."""

    def __init__(self, values: np.ndarray, block: int = BLOCK) -> None:
        values = np.asarray(values, np.float64)
        self.n = len(values)
        self.block = block
        self.blocks = max(1, -(-self.n // block))
        padded = np.full(self.blocks * block, np.inf)
        padded[: self.n] = values
        self.values = padded
        rows = [padded.reshape(self.blocks, block).min(axis=1)]
        while (1 << len(rows)) <= self.blocks:
            prev, half = rows[-1], 1 << (len(rows) - 1)
            row = np.full(self.blocks, np.inf)
            row[: self.blocks - half] = np.minimum(prev[: self.blocks - half], prev[half:])
            rows.append(row)
        self.table = np.stack(rows)  # table[k, i] = min of blocks i .. i + 2**k - 1 (inf past the end)
        self._offsets = np.arange(block, dtype=np.int64)

    def _blocks_min(self, first: np.ndarray, last: np.ndarray) -> np.ndarray:
        """Minimum of whole blocks ``first..last`` (inclusive; +inf where ``first > last``)."""
        out = np.full(len(first), np.inf)
        ok = first <= last
        if ok.any():
            f, la = first[ok], last[ok]
            k = np.log2(la - f + 1).astype(np.int64)
            out[ok] = np.minimum(self.table[k, f], self.table[k, la - (1 << k) + 1])
        return out

    def _in_block(self, block: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Minimum of the values at ``lo..hi`` (inclusive) inside ``block`` (+inf when empty)."""
        pos = block[:, None] * self.block + self._offsets
        keep = (pos >= lo[:, None]) & (pos <= hi[:, None])
        return np.where(keep, self.values[pos], np.inf).min(axis=1)

    def min(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """``min(values[lo[i] .. hi[i]])`` (inclusive) for every ``i``; +inf where ``lo > hi``."""
        lo = np.asarray(lo, np.int64)
        hi = np.minimum(np.asarray(hi, np.int64), self.n - 1)
        out = np.full(len(lo), np.inf)
        ok = lo <= hi
        if not ok.any():
            return out
        lo, hi = lo[ok], hi[ok]
        first, last = lo // self.block, hi // self.block
        best = np.minimum(self._in_block(first, lo, hi), self._in_block(last, lo, hi))
        out[ok] = np.minimum(best, self._blocks_min(first + 1, last - 1))
        return out

    def first_below(self, start: np.ndarray, threshold: np.ndarray, strict: bool = True) -> np.ndarray:
        """The smallest ``j >= start[i]`` with ``values[j] < threshold[i]`` (``<=`` when not
        ``strict``); ``n`` where there is none."""
        start = np.asarray(start, np.int64)
        threshold = np.broadcast_to(np.asarray(threshold, np.float64), start.shape)

        def hit(values: np.ndarray, t: np.ndarray) -> np.ndarray:
            return values < t if strict else values <= t

        out = np.full(len(start), self.n, np.int64)
        live = start < self.n
        if not live.any():
            return out
        idx = np.flatnonzero(live)
        s, t = start[idx], threshold[idx]
        block = s // self.block
        pos = block[:, None] * self.block + self._offsets
        ok = hit(self.values[pos], t[:, None]) & (pos >= s[:, None])
        found = ok.any(axis=1)
        out[idx[found]] = pos[found, ok[found].argmax(axis=1)]
        idx, t, block = idx[~found], t[~found], block[~found] + 1
        # binary lifting: skip runs of 2**k whole blocks whose minimum is not below the threshold
        for k in range(len(self.table) - 1, -1, -1):
            span = 1 << k
            fits = block + span <= self.blocks
            skip = fits & ~hit(self.table[k, np.minimum(block, self.blocks - 1)], t)
            block = np.where(skip, block + span, block)
        inside = block < self.blocks
        idx, t, block = idx[inside], t[inside], block[inside]
        if len(idx):
            pos = block[:, None] * self.block + self._offsets
            ok = hit(self.values[pos], t[:, None])
            first = pos[np.arange(len(idx)), ok.argmax(axis=1)]
            out[idx] = np.where(ok.any(axis=1) & (first < self.n), first, self.n)
        return out


def group_offsets(group: np.ndarray, groups: int) -> np.ndarray:
    """For rows sorted by ``group`` (ints ``0..groups-1``): ``offsets[g]:offsets[g + 1]`` are
    the rows of group ``g``."""
    return np.searchsorted(group, np.arange(groups + 1), side="left")


def ffill_index(mark: np.ndarray) -> np.ndarray:
    """For each row, the index of the last row at or before it where ``mark`` is true (-1 if none)."""
    idx = np.where(mark, np.arange(len(mark)), -1)
    return np.maximum.accumulate(idx) if len(idx) else idx
