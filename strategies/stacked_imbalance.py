"""stacked_imbalance: trade in the direction of a fresh stacked imbalance, stop beyond the stack."""
from __future__ import annotations

from indicators import StackedImbalance

from .base import RiskMultipleStrategy


class StackedImbalanceStrategy(RiskMultipleStrategy):
    """Trade with aggressive buyers (sellers) who lifted (hit) ``min_stack`` or more adjacent levels.

    - Signal: :class:`indicators.StackedImbalance` on the bar that just closed: +1
      when its longest run of diagonal buy imbalances (buy volume at p >= 3 x sell
      volume at p - 1 tick, the feed's footprint lines) spans at least
      ``min_stack`` levels and beats any qualifying sell stack; -1 for the mirror
      case. Only a stack printed on the bar just closed counts (fresh).
    - Confirmation (``confirm_delta=True``): the bar's delta agrees with the stack
      (> 0 for a buy stack, < 0 for a sell stack).
    - Entry (when flat): long at market on +1, short on -1 (if ``allow_short``).
    - Stop: beyond the stack: ``stack_low - stop_offset`` for a long (the buyers'
      zone failed if price trades back through it), ``stack_high + stop_offset``
      for a short.
    - Target: ``target`` times the risk from the signal bar's close,
      ``close + target * (close - stop)`` for a long; ``target=None`` leaves only
      the stop. Here ``target`` is a multiple of the risk, not a price distance,
      and the base ``stop`` parameter is not used.
    - Time exit: after ``max_hold`` bars in the position, close at market (None = no limit).
    """

    params = (
        ("min_stack", 3),
        ("confirm_delta", True),
        ("stop_offset", 0.25),
        ("target", 2.0),
        ("max_hold", 20),
    )

    def __init__(self) -> None:
        super().__init__()
        self.stacked = StackedImbalance(self.data, min_stack=self.p.min_stack)

    def entry_signal(self) -> int:
        value = self.stacked.signal[0]
        if value != value or value == 0:
            return 0
        direction = 1 if value > 0 else -1
        if self.p.confirm_delta and not direction * self.data.delta[0] > 0:
            return 0
        return direction

    def extreme(self, direction: int) -> float:
        return self.stacked.stack_low[0] if direction > 0 else self.stacked.stack_high[0]
