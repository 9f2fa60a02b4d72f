"""Cumulative delta candles: the CVD's open, high, low and close inside every bar.

The feed's ``delta_high``/``delta_low`` are the highest and lowest running delta
inside the bar, counted from 0 at the bar's open (``delta_high >= 0 >= delta_low``).
Added to the CVD at the bar's open they give the running CVD's extremes in the bar:

    cvd_close = cvd                      (CumulativeVolumeDelta, any reset)
    cvd_open  = cvd - delta              (the CVD before the bar's first trade; 0 on a session's first bar)
    cvd_high  = cvd_open + delta_high
    cvd_low   = cvd_open + delta_low

as NinjaTrader's Order Flow Cumulative Delta ("bar" mode), ATAS's Cumulative Delta
candles and Sierra Chart's Cumulative Delta Bars draw them.
"""
from __future__ import annotations

import backtrader as bt
import numpy as np

from .orderflow import PLOT_GREEN, CumulativeVolumeDelta, require_lines
from .warmup import WarmUpGuard

__all__ = ["CumulativeDeltaCandles", "cvd_candles"]


def cvd_candles(cvd: np.ndarray, delta: np.ndarray, delta_high: np.ndarray,
                delta_low: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(open, high, low, close)`` of the CVD per bar from arrays, by the module's formula
    (``open = cvd - delta``, ``high = open + delta_high``, ``low = open + delta_low``, ``close = cvd``)."""
    cvd = np.asarray(cvd, dtype=np.float64)
    open_ = cvd - np.asarray(delta, dtype=np.float64)
    return open_, open_ + np.asarray(delta_high, dtype=np.float64), open_ + np.asarray(delta_low, dtype=np.float64), cvd


class CumulativeDeltaCandles(WarmUpGuard, bt.Indicator):
    """The CVD as candles: ``cvd_open cvd_high cvd_low cvd_close`` (see the module docstring).

    Params as :class:`CumulativeVolumeDelta` (``reset``, ``session_start``, ``tz``,
    ``window``). Drawn as the close line with the bar's high-low range as a shaded band.
    """

    alias = ("CVDCandles",)
    lines = ("cvd_open", "cvd_high", "cvd_low", "cvd_close")
    params = (
        ("reset", "never"),
        ("session_start", "17:00"),
        ("tz", "America/Chicago"),
        ("window", 20),
    )
    plotinfo = dict(plotname="CVD candles", plotyhlines=[0.0])
    plotlines = dict(
        cvd_open=dict(_plotskip=True),
        cvd_high=dict(color=PLOT_GREEN, linewidth=0.5, alpha=0.6, _fill_gt=("cvd_low", "#c6dbef")),
        cvd_low=dict(color="#d62728", linewidth=0.5, alpha=0.6),
        cvd_close=dict(color="#1f77b4", linewidth=1.2),
    )

    def __init__(self) -> None:
        d = self.data
        require_lines(d, ("delta", "delta_high", "delta_low"), "CumulativeDeltaCandles")
        self.cvd = CumulativeVolumeDelta(d, reset=self.p.reset, session_start=self.p.session_start, tz=self.p.tz,
                                         window=self.p.window, plot=False)
        self.lines.cvd_close = self.cvd.lines.cvd
        self.lines.cvd_open = self.cvd.lines.cvd - d.delta
        self.lines.cvd_high = self.cvd.lines.cvd - d.delta + d.delta_high
        self.lines.cvd_low = self.cvd.lines.cvd - d.delta + d.delta_low

    def _plotlabel(self) -> list:
        return [self.p.reset]
