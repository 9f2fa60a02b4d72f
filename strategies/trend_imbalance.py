"""trend_imbalance: stacked imbalances on the base bars, taken only in the direction of a coarser CVD trend."""
from __future__ import annotations

from typing import Any

from data.errors import OrderFlowError
from indicators import CumulativeVolumeDelta

from .stacked_imbalance import StackedImbalanceStrategy


class TrendImbalance(StackedImbalanceStrategy):
    """Trade stacked imbalances on the base bars in the direction of the CVD trend of coarser bars.

    Two timeframes: the base bars (``--bars``, e.g. 1min) for the entry, and coarser bars
    ``trend_bars`` (default 15min; the engine adds that feed, resampled from the base bars
    with every order-flow line) for the trend.

    - Trend: :class:`indicators.CumulativeVolumeDelta` (never reset) of the ``trend_bars``
      feed; ``trend = cvd[0] - cvd[-trend_period]``, the sum of the deltas of the last
      ``trend_period`` coarser bars. On closed bars (the default) that is the last
      ``trend_period`` bars that have closed; with ``--developing`` the bar still forming
      counts as it stands now.
    - Signal: the stacked imbalance of :class:`strategies.StackedImbalanceStrategy` on the base
      bar that just closed (``min_stack`` adjacent diagonal imbalances, with
      ``confirm_delta`` the bar's delta agreeing), taken only when
      ``direction * trend > min_trend``: a buy stack in an up trend, a sell stack in a down trend.
    - Entry, stop (``stop_offset`` beyond the stack), target (``target`` times the risk) and time
      exit (``max_hold`` base bars): as ``stacked_imbalance``.
    """

    params = (
        ("trend_bars", "15min"),
        ("trend_period", 2),
        ("min_trend", 0.0),
    )

    @classmethod
    def timeframes(cls, params: dict[str, Any]) -> tuple[str, ...]:
        return (str(params.get("trend_bars", cls.params.trend_bars)),)

    def __init__(self) -> None:
        super().__init__()
        period = int(self.p.trend_period)
        if period < 1:
            raise OrderFlowError("trend_period must be a whole number of bars >= 1", value=self.p.trend_period)
        self.trend_data = self.timeframe_data(self.p.trend_bars)
        self.trend_cvd = CumulativeVolumeDelta(self.trend_data, reset="never")
        self.trend = self.trend_cvd.cvd - self.trend_cvd.cvd(-period)

    def entry_signal(self) -> int:
        direction = super().entry_signal()
        trend = self.trend[0]
        if not direction or trend != trend:
            return 0
        return direction if direction * trend > float(self.p.min_trend) else 0
