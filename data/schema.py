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
#
# Each field is defined together with its resampling rule: how bars of a coarser
# timeframe aggregate the field over the base bars they are made of
# (data/bars/resample.py implements each rule once; docs/timeframes.md says which
# rules are exact). A field cannot be added without one.
FIRST = "first"  # the first base bar's value
LAST = "last"  # the last base bar's value (a value at the bar's last tick)
MAX = "max"  # the largest of the base bars' values
MIN = "min"  # the smallest
SUM = "sum"  # the sum (NaN only when every base bar's value is NaN)
RUNNING_HIGH = "running_high"  # highest running delta across the base bars: max_i(D_(i-1) + delta_high_i)
RUNNING_LOW = "running_low"  # lowest running delta: min_i(D_(i-1) + delta_low_i), D_i the sum of the deltas so far
VOLUME_MEAN = "volume_mean"  # mean weighted by each base bar's volume (the close when the volume is 0)
TRADE_MEAN = "trade_mean"  # mean weighted by each base bar's trade count
TIME_MEAN = "time_mean"  # mean weighted by each base bar's duration
FOOTPRINT = "footprint"  # recomputed from the merged footprint (NaN without a footprint table)
RESAMPLE_RULE_NAMES = (FIRST, LAST, MAX, MIN, SUM, RUNNING_HIGH, RUNNING_LOW, VOLUME_MEAN, TRADE_MEAN, TIME_MEAN,
                       FOOTPRINT)

OHLCV_RULES = {"open": FIRST, "high": MAX, "low": MIN, "close": LAST, "volume": SUM}
CORE_RULES = {
    "buy_volume": SUM,
    "sell_volume": SUM,
    "unknown_volume": SUM,
    "delta": SUM,
    "delta_high": RUNNING_HIGH,
    "delta_low": RUNNING_LOW,
    "trades": SUM,
    "vwap": VOLUME_MEAN,
    "bid_size": LAST,
    "ask_size": LAST,
    "imbalance": LAST,
    "inferred_volume": SUM,
}
# Book measures harder to game than `imbalance` (data/bars/depth.py) and the per-bar
# numbers of the footprint (data/bars/footprint.py); make_bars computes them unless
# told not to (depth=False, footprint=False), and a feed shows NaN for a group
# its bars lack.
DEPTH_RULES = {
    "ofi": SUM,
    "avg_depth": TRADE_MEAN,
    "tw_imbalance": TIME_MEAN,
    "persistent_bid_size": LAST,
    "persistent_ask_size": LAST,
    "persistent_imbalance": LAST,
    "weighted_mid": LAST,
    "depth_imbalance_5": TIME_MEAN,
    "depth_imbalance_10": TIME_MEAN,
}
# The book levels of the multi-level imbalance lines ``depth_imbalance_K`` (quote
# streams with at least K levels per side; NaN otherwise).
DEPTH_IMBALANCE_LEVELS = (5, 10)
FOOTPRINT_RULES = {
    "poc": FOOTPRINT,
    "vah": FOOTPRINT,
    "val": FOOTPRINT,
    "buy_imbalances": FOOTPRINT,
    "sell_imbalances": FOOTPRINT,
    "buy_stack": FOOTPRINT,
    "buy_stack_low": FOOTPRINT,
    "buy_stack_high": FOOTPRINT,
    "sell_stack": FOOTPRINT,
    "sell_stack_low": FOOTPRINT,
    "sell_stack_high": FOOTPRINT,
    # each trade is judged against the trades before it, whatever the bars: the sums are exact
    "large_buy_volume": SUM,
    "large_sell_volume": SUM,
    "large_buy_orders": SUM,
    "large_sell_orders": SUM,
}
OHLCV = tuple(OHLCV_RULES)
CORE_LINES = tuple(CORE_RULES)
DEPTH_LINES = tuple(DEPTH_RULES)
FOOTPRINT_LINES = tuple(FOOTPRINT_RULES)
ORDER_FLOW_LINES = CORE_LINES + DEPTH_LINES + FOOTPRINT_LINES
CORE_BAR_COLUMNS = OHLCV + CORE_LINES
BAR_COLUMNS = OHLCV + ORDER_FLOW_LINES
RESAMPLE_RULES = {**OHLCV_RULES, **CORE_RULES, **DEPTH_RULES, **FOOTPRINT_RULES}  # every bar field -> its rule
