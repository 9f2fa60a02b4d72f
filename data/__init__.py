"""Tick data in, order-flow bars and Backtrader feeds out.

    from data import load_ticks, make_bars, OrderFlowFeed
    ticks = load_ticks("my_ticks.csv")
    bars = make_bars(ticks, "1min")
    feed = OrderFlowFeed.from_ticks(ticks, bars="1min")
"""
from .errors import OrderFlowError
from .barspec import BarSpec, parse_bar_spec
from .loader import load_ticks
from .bars import make_bars
from .metrics import order_flow_metrics
from .feed import OrderFlowFeed
from .classify import CLASSIFIERS, bulk_volume_classification, classify

__all__ = [
    "OrderFlowError",
    "BarSpec",
    "parse_bar_spec",
    "load_ticks",
    "make_bars",
    "order_flow_metrics",
    "OrderFlowFeed",
    "classify",
    "CLASSIFIERS",
    "bulk_volume_classification",
]
