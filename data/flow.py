"""Per-tick signed volume: the one place where delta is computed from sides."""
from __future__ import annotations

import numpy as np
import pandas as pd


def tick_flow(size: np.ndarray, side: np.ndarray) -> dict[str, np.ndarray]:
    """Split each trade's size by aggressor.

    ``buy_volume = size if side == +1 else 0``,
    ``sell_volume = size if side == -1 else 0``,
    ``unknown_volume = size if side == 0 else 0``,
    ``delta = buy_volume - sell_volume``.
    Unknown-side volume counts in ``volume`` but never in ``delta``.
    """
    size = np.asarray(size, dtype=np.float64)
    side = np.asarray(side)
    zero = np.zeros_like(size)
    buy = np.where(side == 1, size, zero)
    sell = np.where(side == -1, size, zero)
    unknown = np.where(side == 0, size, zero)
    return {
        "buy_volume": buy,
        "sell_volume": sell,
        "unknown_volume": unknown,
        "delta": buy - sell,
    }


def book_imbalance(bid_size: np.ndarray, ask_size: np.ndarray) -> np.ndarray:
    """The original imbalance: ``bid_size - ask_size`` (NaN where a size is missing)."""
    return np.asarray(bid_size, dtype=np.float64) - np.asarray(ask_size, dtype=np.float64)


def quote_columns(ticks: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Best bid/ask sizes of the ticks, NaN when the file carries no quotes."""
    n = len(ticks)
    nan = np.full(n, np.nan)
    bid = ticks["bid_size"].to_numpy(np.float64) if "bid_size" in ticks else nan
    ask = ticks["ask_size"].to_numpy(np.float64) if "ask_size" in ticks else nan
    return bid, ask
