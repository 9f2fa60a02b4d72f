"""Cache-sized blocks of whole bars, for per-tick arithmetic that makes several passes.

numpy evaluates one operation over a whole array at a time: an expression of five
operations over a few million ticks streams its arrays through main memory five
times. Run block by block (about 64k ticks, the arrays of a block fit in the L2
cache), the same operations read main memory once. Blocks hold whole bars, so
per-bar results (``np.ufunc.reduceat`` over a bar's ticks, ``np.bincount`` over its
cells) are computed from the same values in the same order as over the whole
array: identical, bit for bit.
"""
from __future__ import annotations

import numpy as np

BLOCK_TICKS = 1 << 16


def bar_blocks(starts: np.ndarray, n: int, block: int | None = None) -> list[tuple[int, int, int, int]]:
    """Consecutive blocks of whole bars, each starting at the first bar that starts
    at or after a multiple of ``block`` ticks (default :data:`BLOCK_TICKS`): ``(first bar, end bar, first tick,
    end tick)`` (ends exclusive). Bars given by first-tick indices ``starts``
    (ascending, ``starts[0] == 0``) over ``n`` ticks; a bar longer than ``block`` is
    a block of its own (or shares one with the bars that fit before the next mark)."""
    block = BLOCK_TICKS if block is None else block
    n_bars = len(starts)
    if n_bars == 0:
        return []
    marks = np.searchsorted(starts, np.arange(block, n, block, dtype=np.int64), side="left")
    edges = np.unique(np.concatenate(([0], marks[marks < n_bars], [n_bars])))
    ticks = np.append(np.asarray(starts, dtype=np.int64)[edges[:-1]], n)
    return [(int(b0), int(b1), int(t0), int(t1)) for b0, b1, t0, t1 in zip(edges[:-1], edges[1:], ticks[:-1], ticks[1:])]


def longest(blocks: list[tuple[int, int, int, int]]) -> int:
    """The most ticks in one block (the size of a per-block buffer)."""
    return max((t1 - t0 for _, _, t0, t1 in blocks), default=0)
