"""Column names of the canonical tick schema and of order-flow bars (see DESIGN.md)."""
from __future__ import annotations

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
