"""Synthetic ticks and a timer shared by the benchmarks (timing only, not a market model)."""
from __future__ import annotations

import time
from typing import Callable

import numpy as np
import pandas as pd

TICK = 0.25


def synthetic_ticks(n_ticks: int, seed: int = 7, trades_per_second: float = 50.0) -> pd.DataFrame:
    """Canonical ticks: a random walk on a 0.25 grid, sides +-1, buys at the ask and sells at the bid."""
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(1e9 / trades_per_second, n_ticks).astype(np.int64)
    ts = np.int64(1_704_205_800_000_000_000) + np.cumsum(gaps)
    steps = rng.choice(np.array([-1, 0, 1]), size=n_ticks, p=[0.1, 0.8, 0.1])
    level = 19_000 + np.cumsum(steps)
    side = np.where(rng.random(n_ticks) < 0.5, 1, -1).astype(np.int8)
    bid = level * TICK - np.where(side == 1, TICK, 0.0)
    price = np.where(side == 1, bid + TICK, bid)
    return pd.DataFrame(
        {
            "timestamp": pd.DatetimeIndex(ts.astype("datetime64[ns]")).tz_localize("UTC"),
            "price": price,
            "size": rng.geometric(0.4, n_ticks).astype(np.float64),
            "side": side,
            "bid": bid,
            "ask": bid + TICK,
            "bid_size": rng.integers(1, 60, n_ticks).astype(np.float64),
            "ask_size": rng.integers(1, 60, n_ticks).astype(np.float64),
        }
    )


def best_of(fn: Callable[[], object], repeat: int = 3) -> float:
    """The fastest of ``repeat`` runs, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best
