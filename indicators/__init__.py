"""Backtrader indicators built on the order-flow lines of :class:`data.OrderFlowFeed`.

    from indicators import CumulativeVolumeDelta, VolumeDelta
    # in a Strategy.__init__:
    self.cvd = CumulativeVolumeDelta(self.data, reset="session")   # alias CVD
"""
from .candles import CumulativeDeltaCandles, CVDCandles
from .depth import (
    OFI,
    DepthImbalance,
    DepthOBI,
    OrderFlowImbalance,
    PersistentImbalance,
    PersistentOBI,
    TimeWeightedImbalance,
    TWImbalance,
    WeightedMid,
    WMid,
)
from .footprint import (
    POC,
    Absorption,
    BigOrders,
    BigTrades,
    FootprintImbalances,
    FPImbalances,
    LargeOrders,
    LargeTrades,
    PointOfControl,
    Stacked,
    StackedImbalance,
)
from .orderflow import (  # Backtrader aliases (subclasses made by `alias`)
    CVD,
    OBI,
    SVWAP,
    CumulativeVolumeDelta,
    Delta,
    DeltaDiv,
    DeltaDivergence,
    OrderBookImbalance,
    SessionVWAP,
    VolumeDelta,
)
from .profile import SVP, SessionVolumeProfile, session_profile
from .sessions import SessionCalendar
from .vwap import VWAPSD, VWAPBands

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
    "DepthImbalance",
    "DepthOBI",
    "PointOfControl",
    "POC",
    "FootprintImbalances",
    "FPImbalances",
    "StackedImbalance",
    "Stacked",
    "LargeTrades",
    "BigTrades",
    "Absorption",
    "LargeOrders",
    "BigOrders",
    "CumulativeDeltaCandles",
    "CVDCandles",
    "SessionVolumeProfile",
    "SVP",
    "session_profile",
    "VWAPBands",
    "VWAPSD",
]
