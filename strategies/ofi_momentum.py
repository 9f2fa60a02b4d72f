"""ofi_momentum: follow order flow imbalance (net best-quote depth change) normalised by depth."""
from __future__ import annotations

from data.errors import OrderFlowError
from indicators import OrderFlowImbalance

from .base import OrderFlowStrategy, positive_or_none


class OfiMomentum(OrderFlowStrategy):
    """Trade with the Order Flow Imbalance of the last bars when it is large against the book's depth.

    - OFI: :class:`indicators.OrderFlowImbalance` summed over ``period`` bars and
      divided by the average best-quote depth of those bars (``normalise=True``):
      how many "average queues" of net buying pressure (bids added or raised, asks
      pulled or lifted) the book saw. Posting and pulling size within one bar
      cancels out in it, unlike the raw ``bid_size - ask_size``.
    - Signal: +1 when ``ofi > threshold``, -1 when ``ofi < -threshold``, 0 otherwise.
    - Entry (when flat): long at market on +1, short on -1 (if ``allow_short``).
    - Exit: at market when the OFI crosses zero against the position
      (``ofi < 0`` for a long, ``> 0`` for a short) or after ``max_hold`` bars
      (None = no limit). Optional ``stop``/``target`` (price distances) make entries brackets.
    """

    params = (
        ("period", 3),
        ("threshold", 1.0),
        ("max_hold", 10),
    )

    def __init__(self) -> None:
        super().__init__()
        if int(self.p.period) < 1:
            raise OrderFlowError("period must be a whole number of bars >= 1", value=self.p.period)
        if not float(self.p.threshold) >= 0:
            raise OrderFlowError("threshold must be a number >= 0", value=self.p.threshold)
        positive_or_none(self.p.max_hold, "max_hold")
        self.ofi = OrderFlowImbalance(self.data, period=int(self.p.period), normalise=True)

    def entry_signal(self) -> int:
        value = self.ofi.ofi[0]
        threshold = float(self.p.threshold)
        if value > threshold:
            return 1
        if value < -threshold:
            return -1
        return 0

    def exit_signal(self) -> bool:
        if self.p.max_hold is not None and self.bars_held >= int(self.p.max_hold):
            return True
        return self.direction * self.ofi.ofi[0] < 0
