"""Column names of the canonical tick schema, of quote streams and of order-flow bars
(docs/data-formats.md, docs/bars-and-indicators.md)."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

# Canonical tick columns, in order. The quote columns are optional.
TIMESTAMP = "timestamp"
TICK_REQUIRED = ("timestamp", "price", "size", "side")
TICK_QUOTES = ("bid", "ask", "bid_size", "ask_size")
TICK_COLUMNS = TICK_REQUIRED + TICK_QUOTES

TICK_DTYPES = {
    "timestamp": "datetime64[ns, UTC]",
    "price": "float64",
    "size": "float64",
    "side": "int8",
    "bid": "float64",
    "ask": "float64",
    "bid_size": "float64",
    "ask_size": "float64",
}

BUY, SELL, UNKNOWN = 1, -1, 0

# The book levels of a quote stream with depth (data/reading/quotes.py): level i of each side is
# bid_i, bid_size_i, ask_i, ask_size_i (level 1 the best price).


def level_columns(k: int) -> list[str]:
    """The level columns of a ``k``-level quote stream, in their canonical order:
    ``bid_1..bid_k, bid_size_1..bid_size_k, ask_1..ask_k, ask_size_1..ask_size_k``."""
    return [f"{name}_{i}" for name in ("bid", "bid_size", "ask", "ask_size") for i in range(1, k + 1)]


def quote_levels(quotes: "pd.DataFrame") -> int:
    """How many book levels per side a quote frame carries (0: top of book only)."""
    k = 0
    while all(c in quotes for c in (f"bid_{k + 1}", f"ask_{k + 1}", f"bid_size_{k + 1}", f"ask_size_{k + 1}")):
        k += 1
    return k


# Order-flow bar columns: OHLCV first (Backtrader's own lines), then the
# order-flow lines every feed carries: the core lines, which make_bars always
# computes, then the optional groups below (each a tuple of its own).
OHLCV = ("open", "high", "low", "close", "volume")
CORE_LINES = (
    "buy_volume",
    "sell_volume",
    "unknown_volume",
    "delta",
    "delta_high",
    "delta_low",
    "trades",
    "vwap",
    "bid_size",
    "ask_size",
    "imbalance",
    "inferred_volume",
)
# Book measures harder to game than `imbalance` (data/bars/depth.py) and the per-bar
# numbers of the footprint (data/bars/footprint.py); make_bars computes them unless
# told not to (depth=False, footprint=False), and a feed shows NaN for a group
# its bars lack.
DEPTH_LINES = (
    "ofi",
    "avg_depth",
    "tw_imbalance",
    "persistent_bid_size",
    "persistent_ask_size",
    "persistent_imbalance",
    "weighted_mid",
    "depth_imbalance_5",
    "depth_imbalance_10",
)
# The book levels of the multi-level imbalance lines ``depth_imbalance_K`` (quote
# streams with at least K levels per side; NaN otherwise).
DEPTH_IMBALANCE_LEVELS = (5, 10)
FOOTPRINT_LINES = (
    "poc",
    "vah",
    "val",
    "buy_imbalances",
    "sell_imbalances",
    "buy_stack",
    "buy_stack_low",
    "buy_stack_high",
    "sell_stack",
    "sell_stack_low",
    "sell_stack_high",
    "large_buy_volume",
    "large_sell_volume",
    "large_buy_orders",
    "large_sell_orders",
)
ORDER_FLOW_LINES = CORE_LINES + DEPTH_LINES + FOOTPRINT_LINES
CORE_BAR_COLUMNS = OHLCV + CORE_LINES
BAR_COLUMNS = OHLCV + ORDER_FLOW_LINES
