"""Backtrader indicators built on the order-flow lines of :class:`data.OrderFlowFeed`.

    from indicators import CumulativeVolumeDelta, VolumeDelta
    # in a Strategy.__init__:
    self.cvd = CumulativeVolumeDelta(self.data, reset="session")   # alias CVD
"""
from .orderflow import (
    CumulativeVolumeDelta,
    DeltaDivergence,
    OrderBookImbalance,
    SessionVWAP,
    VolumeDelta,
)
from .orderflow import CVD, OBI, SVWAP, Delta, DeltaDiv  # Backtrader aliases (subclasses made by `alias`)
from .sessions import SessionCalendar
from .depth import OrderFlowImbalance, PersistentImbalance, TimeWeightedImbalance, WeightedMid
from .depth import OFI, PersistentOBI, TWImbalance, WMid
from .footprint import Absorption, FootprintImbalances, LargeTrades, PointOfControl, StackedImbalance
from .footprint import POC, BigTrades, FPImbalances, Stacked

__all__ = [
    "VolumeDelta",
    "Delta",
    "CumulativeVolumeDelta",
    "CVD",
    "OrderBookImbalance",
    "OBI",
    "DeltaDivergence",
    "DeltaDiv",
    "SessionVWAP",
    "SVWAP",
    "SessionCalendar",
    "OrderFlowImbalance",
    "OFI",
    "TimeWeightedImbalance",
    "TWImbalance",
    "PersistentImbalance",
    "PersistentOBI",
    "WeightedMid",
    "WMid",
    "PointOfControl",
    "POC",
    "FootprintImbalances",
    "FPImbalances",
    "StackedImbalance",
    "Stacked",
    "LargeTrades",
    "BigTrades",
    "Absorption",
]
