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
]
