"""cvd_trend: follow the CVD's slope when price is on the same side of the session VWAP."""
from __future__ import annotations

import backtrader as bt

from data.errors import OrderFlowError
from indicators import CumulativeVolumeDelta, SessionVWAP

from .base import OrderFlowStrategy


class CvdTrend(OrderFlowStrategy):
    """Trade in the direction of the cumulative volume delta's slope when price agrees.

    - CVD: :class:`indicators.CumulativeVolumeDelta` with ``reset`` (default
      ``"never"``: with a session reset the slope across the open would compare two
      sessions), smoothed by an EMA of ``smooth`` bars (1 = none).
    - Slope: ``slope = cvd[0] - cvd[-slope_period]``, the CVD's change over the last
      ``slope_period`` bars (with ``reset="never"`` and no smoothing: the sum of
      those bars' deltas).
    - Session VWAP: :class:`indicators.SessionVWAP`, reset at ``session_start`` in ``tz``.
    - Signal: +1 when ``slope > min_slope`` and ``close > session VWAP``; -1 when
      ``slope < -min_slope`` and ``close < session VWAP``; 0 otherwise.
    - Entry (when flat): at market on a +1 (long) or -1 (short, if ``allow_short``).
    - Exit: at market on the opposite signal; with ``flat_on_disagree=True`` also as
      soon as the signal is no longer in the position's direction (0 included).
      After an exit the strategy waits for the next bar to enter again. Optional
      ``stop``/``target`` (price distances) turn entries into brackets.
    """

    params = (
        ("slope_period", 10),
        ("smooth", 1),
        ("min_slope", 0.0),
        ("reset", "never"),
        ("window", 20),
        ("session_start", "17:00"),
        ("tz", "America/Chicago"),
        ("flat_on_disagree", False),
    )

    def __init__(self) -> None:
        super().__init__()
        if int(self.p.slope_period) < 1 or int(self.p.smooth) < 1:
            raise OrderFlowError("slope_period and smooth must be whole numbers >= 1",
                                 value=(self.p.slope_period, self.p.smooth))
        self.cvd = CumulativeVolumeDelta(
            self.data, reset=self.p.reset, window=self.p.window, session_start=self.p.session_start, tz=self.p.tz
        )
        line = self.cvd.cvd
        if int(self.p.smooth) > 1:
            line = bt.indicators.EMA(line, period=int(self.p.smooth), plot=False)
        self.slope = line - line(-int(self.p.slope_period))
        self.vwap = SessionVWAP(self.data, session_start=self.p.session_start, tz=self.p.tz)

    def signal(self) -> int:
        """+1, -1 or 0 by the rules above, on the current bar."""
        slope, close, vwap = self.slope[0], self.data.close[0], self.vwap.vwap[0]
        threshold = float(self.p.min_slope)
        if slope > threshold and close > vwap:
            return 1
        if slope < -threshold and close < vwap:
            return -1
        return 0

    def entry_signal(self) -> int:
        return self.signal()

    def exit_signal(self) -> bool:
        signal = self.signal()
        if self.p.flat_on_disagree:
            return signal != self.direction
        return signal == -self.direction
