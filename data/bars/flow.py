"""Per-tick signed volume: the one place where delta is computed from sides."""
from __future__ import annotations

import numpy as np
import pandas as pd

from data.ticks import column_or_nan


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
    plain = plain_sizes(size)
    buy = side_volume(size, side == 1, plain)
    sell = side_volume(size, side == -1, plain)
    unknown = side == 0
    return {
        "buy_volume": buy,
        "sell_volume": sell,
        "unknown_volume": side_volume(size, unknown, plain) if unknown.any() else np.zeros(len(size)),
        "delta": buy - sell,
    }


def plain_sizes(size: np.ndarray) -> bool:
    """True when every size is finite and >= 0 and no size is -0.0 (``min``
    propagates NaN, so NaN fails; ``-0.0 * False`` would be -0.0, not 0)."""
    if len(size) == 0:
        return True
    lowest = size.min()
    if not (lowest >= 0 and np.isfinite(size.max())):
        return False
    return bool(lowest > 0 or not np.signbit(size[size == 0]).any())


def side_volume(size: np.ndarray, mask: np.ndarray, plain: bool) -> np.ndarray:
    """``size`` where ``mask`` else 0: ``size * mask`` when the sizes are ``plain``
    (finite, >= 0: then equal to ``np.where``, and several times faster on a mixed
    mask, having no branch per element), ``np.where(mask, size, 0)`` otherwise
    (``NaN * 0`` is NaN, not 0)."""
    return size * mask if plain else np.where(mask, size, 0.0)


def book_imbalance(bid_size: np.ndarray, ask_size: np.ndarray) -> np.ndarray:
    """The original imbalance: ``bid_size - ask_size`` (NaN where a size is missing)."""
    return np.asarray(bid_size, dtype=np.float64) - np.asarray(ask_size, dtype=np.float64)


def quote_columns(ticks: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Best bid/ask sizes of the ticks, NaN when the file carries no quotes."""
    return column_or_nan(ticks, "bid_size"), column_or_nan(ticks, "ask_size")
