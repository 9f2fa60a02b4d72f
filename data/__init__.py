"""Tick data in, order-flow bars and Backtrader feeds out.

    from data import load_ticks, make_bars, OrderFlowFeed
    ticks = load_ticks("my_ticks.csv")
    bars = make_bars(ticks, "1min")
    feed = OrderFlowFeed.from_ticks(ticks, bars="1min")
"""
from . import formats as _formats  # noqa: F401  (registers the vendor formats with load_ticks)
from . import readers as _readers  # noqa: F401  (registers the book and store readers of data/readers)
from .bars import make_bars
from .barspec import BarSpec, parse_bar_spec
from .cache import cached_bars
from .classify import CLASSIFIERS, bulk_volume_classification, classify
from .errors import OrderFlowError
from .footprint import absorption, add_footprint_lines, footprint, footprint_stats
from .imbalance import IMBALANCE_PRESETS, ImbalanceRule, custom, imbalance_rule
from .loader import load_ticks
from .metrics import order_flow_metrics
from .orders import aggressor_orders, large_orders
from .quotes import carried_quotes, holds_book, join_quotes, lagged, load_quotes
from .sources import TickSource, scan_ticks
from .stream import BarStream, stream_bars


def __getattr__(name: str):
    # The feed pulls in Backtrader; import it on first use so that the metrics
    # function and the serverless handler start without it.
    if name == "OrderFlowFeed":
        from .feed import OrderFlowFeed

        return OrderFlowFeed
    raise AttributeError(f"module 'data' has no attribute {name!r}")


__all__ = [
    "OrderFlowError",
    "BarSpec",
    "parse_bar_spec",
    "load_ticks",
    "load_quotes",
    "join_quotes",
    "carried_quotes",
    "holds_book",
    "lagged",
    "make_bars",
    "order_flow_metrics",
    "OrderFlowFeed",
    "classify",
    "CLASSIFIERS",
    "bulk_volume_classification",
    "footprint",
    "footprint_stats",
    "add_footprint_lines",
    "absorption",
    "IMBALANCE_PRESETS",
    "ImbalanceRule",
    "custom",
    "imbalance_rule",
    "aggressor_orders",
    "large_orders",
    "scan_ticks",
    "TickSource",
    "BarStream",
    "stream_bars",
    "cached_bars",
]
