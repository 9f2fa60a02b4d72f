"""delta_divergence: fade a price/CVD divergence at an N-bar extreme, bracketed."""
from __future__ import annotations

from data.errors import OrderFlowError
from indicators import DeltaDivergence

from .base import OrderFlowStrategy, _positive_or_none


class DeltaDivergenceStrategy(OrderFlowStrategy):
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
        offset = float(self.p.stop_offset)
        if not offset >= 0:
            raise OrderFlowError("stop_offset must be a price distance >= 0", value=self.p.stop_offset)
        _positive_or_none(self.p.max_hold, "max_hold")
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

    def bracket_prices(self, direction: int, price: float) -> tuple[float | None, float | None]:
        extreme = self.data.low[0] if direction > 0 else self.data.high[0]
        stop = extreme - direction * float(self.p.stop_offset)
        multiple = _positive_or_none(self.p.target, "target")
        target = None if multiple is None else price + direction * multiple * abs(price - stop)
        return stop, target

    def exit_signal(self) -> bool:
        return self.p.max_hold is not None and self.bars_held >= int(self.p.max_hold)
