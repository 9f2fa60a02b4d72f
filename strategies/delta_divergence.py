"""delta_divergence: fade a price/CVD divergence at an N-bar extreme, bracketed."""
from __future__ import annotations

from indicators import DeltaDivergence

from .base import RiskMultipleStrategy


class DeltaDivergenceStrategy(RiskMultipleStrategy):
    """Fade a divergence between price and CVD at an N-bar extreme.

    - Signal: :class:`indicators.DeltaDivergence` over ``period`` bars (CVD with
      ``reset``/``window``/``session_start``/``tz``): bullish when the bar makes a
      new ``period``-bar low but the CVD is above its value at the previous low;
      bearish for the mirror case at a new high.
    - Entry (when flat): long at market on a bullish divergence, short on a bearish
      one (if ``allow_short``).
    - Stop: beyond the extreme, ``low - stop_offset`` for a long (the divergence
      bar's low), ``high + stop_offset`` for a short.
    - Target: ``target`` times the risk from the signal bar's close:
      ``close + target * (close - stop)`` for a long (mirror for a short);
      ``target=None`` leaves only the stop. Here ``target`` is a multiple of the
      risk, not a price distance, and the base ``stop`` parameter is not used.
    - Time exit: once the position has been held ``max_hold`` bars, close at market
      (filled at the next bar's open); None = no limit.
    """

    params = (
        ("period", 20),
        ("reset", "never"),
        ("window", 20),
        ("session_start", "17:00"),
        ("tz", "America/Chicago"),
        ("stop_offset", 0.25),
        ("target", 2.0),
        ("max_hold", 30),
    )

    def __init__(self) -> None:
        super().__init__()
        self.divergence = DeltaDivergence(
            self.data,
            period=self.p.period,
            reset=self.p.reset,
            window=self.p.window,
            session_start=self.p.session_start,
            tz=self.p.tz,
        )

    def entry_signal(self) -> int:
        value = self.divergence.divergence[0]
        return int(value) if value == value else 0

    def extreme(self, direction: int) -> float:
        return self.data.low[0] if direction > 0 else self.data.high[0]
