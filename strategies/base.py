"""The common base of the example strategies: sizing, bracket stop/target, one position at a time."""
from __future__ import annotations

import math
from typing import Any

import backtrader as bt

from data.errors import OrderFlowError

from .sizing import size_for_risk


def positive_or_none(value: Any, name: str) -> float | None:
    """``None`` stays ``None``; anything else must be a number > 0."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise OrderFlowError(f"parameter {name} must be a number", value=value) from None
    if not number > 0 or math.isinf(number):
        raise OrderFlowError(f"parameter {name} must be a positive number (or None to turn it off)", value=value)
    return number


class OrderFlowStrategy(bt.Strategy):
    """Base class: subclasses say when to enter and exit, this class places the orders.

    Subclasses implement :meth:`entry_signal` (+1 long, -1 short, 0 nothing; read
    only when flat) and :meth:`exit_signal` (True to close; read while in a
    position), and may override :meth:`bracket_prices`.

    Parameters:

    - ``stake`` (1): units per trade when ``pct_equity`` is None;
    - ``pct_equity`` (None): size each trade as a percentage of the broker's value:
      ``size = value * pct_equity / 100 / (close * multiplier)`` (the signal bar's close,
      the contract multiplier; a futures contract's notional is price x multiplier),
      rounded down to whole units unless ``fractional=True``; a size of 0 skips the trade
      (counted in :attr:`unsized_entries`);
    - ``fractional`` (False): keep fractional sizes (crypto);
    - ``risk`` (None): size each trade so that its stop risks at most this much money:
      ``size = floor(risk / (|price - stop| * multiplier))`` (:func:`strategies.sizing.size_for_risk`;
      the multiplier is the broker's contract multiplier, 1 for stocks); needs a stop;
    - ``stop`` / ``target`` (None): price distances from the signal bar's close for a
      protective stop and a profit target; when either is set, the entry is a
      bracket (``buy_bracket``/``sell_bracket``: market entry, stop and/or limit
      children, one cancelling the other). The entry fills at the next bar's open,
      so the realised distances differ from the set ones by that gap. Backtrader
      activates the legs on the bar after the entry fills: a stop or target
      touched during the entry bar itself is only acted on from the next bar
      (at its open if price is already through);
    - ``allow_short`` (True): take short signals.

    One position at a time: no new entry while in a position or while an order is
    pending. A signal exit cancels the live bracket children before closing, so no
    orphan order is left behind. The trades list is recorded by the analyzer
    :class:`research.trades.TradeRecorder`, for this and any other strategy.
    """

    params = (
        ("stake", 1),
        ("pct_equity", None),
        ("fractional", False),
        ("risk", None),
        ("stop", None),
        ("target", None),
        ("allow_short", True),
    )

    def __init__(self) -> None:
        self._stake = positive_or_none(self.p.stake, "stake")
        self._pct = positive_or_none(self.p.pct_equity, "pct_equity")
        self._risk = positive_or_none(self.p.risk, "risk")
        positive_or_none(self.p.stop, "stop")
        positive_or_none(self.p.target, "target")
        self._entry_order: bt.Order | None = None
        self._exit_order: bt.Order | None = None
        self._children: list[bt.Order] = []
        self.entry_bar: int | None = None  # len(self) on the bar the entry filled
        self.unsized_entries: list[int] = []  # len(self) of each entry skipped because its size was 0

    def start(self) -> None:
        """Refuse data shorter than the indicators' warm-up, with a clear error.

        Backtrader would otherwise fail deep inside an indicator (runonce mode)
        or silently never trade (next mode).
        """
        bars = self.data.buflen()  # 0 when the data is not preloaded: nothing to check yet
        if 0 < bars < self._minperiod:
            raise OrderFlowError(
                f"only {bars} bars of data: {type(self).__name__}'s indicators need {self._minperiod} "
                "(use a longer period, smaller bars or shorter indicator periods)"
            )

    # --- several timeframes --------------------------------------------------------------------

    @classmethod
    def timeframes(cls, params: dict[str, Any]) -> tuple[str, ...]:
        """The coarser timeframes (bar specs such as ``"15min"``, ``"session"``) the strategy reads
        with these parameters; the engine adds a feed for each (``research.run``, ``--timeframes``).
        None by default."""
        return ()

    def timeframe_data(self, spec: str) -> Any:
        """The feed of the coarser timeframe ``spec`` (named by its spec: ``data.timeframes.resampledata``
        and the engine name them so); OrderFlowError when Cerebro has none."""
        feed = self.env.datasbyname.get(str(spec))
        if feed is None:
            raise OrderFlowError(f"{type(self).__name__} reads {spec} bars: add a {spec} feed "
                                 f"(--timeframes {spec}, or data.timeframes.resampledata(cerebro, feed, {str(spec)!r}))")
        return feed

    # --- hooks for subclasses -----------------------------------------------------------------

    def entry_signal(self) -> int:
        """+1 to go long, -1 to go short, 0 to stay flat (called only when flat)."""
        return 0

    def exit_signal(self) -> bool:
        """True to close the open position at market (called only in a position)."""
        return False

    def bracket_prices(self, direction: int, price: float) -> tuple[float | None, float | None]:
        """(stop price, target price) for an entry at ``price``: ``price -/+ stop`` and ``price +/- target``."""
        stop = positive_or_none(self.p.stop, "stop")
        target = positive_or_none(self.p.target, "target")
        return (
            None if stop is None else price - direction * stop,
            None if target is None else price + direction * target,
        )

    # --- machinery -------------------------------------------------------------------------------

    @property
    def direction(self) -> int:
        """+1 long, -1 short, 0 flat."""
        size = self.position.size
        return (size > 0) - (size < 0)

    @property
    def bars_held(self) -> int:
        """Bars since the entry filled (0 on the fill bar); 0 when flat."""
        return len(self) - self.entry_bar if self.position and self.entry_bar is not None else 0

    @property
    def multiplier(self) -> float:
        """The contract multiplier of the broker's commission scheme for the data (1 for stocks)."""
        return float(self.broker.getcommissioninfo(self.data).p.mult or 1.0)

    def order_size(self, price: float, stop: float | None = None) -> float:
        """Units for a new trade: by ``risk`` (with the ``stop`` price), else by ``pct_equity``
        (``value * pct / 100 / (price * multiplier)``), else ``stake``; floored unless fractional."""
        if self._risk is not None:
            if stop is None:
                raise OrderFlowError("risk sizing needs a stop: set the strategy's stop parameter", value=self.p.risk)
            if self.p.fractional:
                return self._risk / (abs(price - stop) * self.multiplier)
            return size_for_risk(self._risk, abs(price - stop), self.multiplier)
        if self._pct is None:
            return self._stake
        if not price > 0:
            return 0
        value = self.broker.getvalue()
        size = value * (self._pct / 100.0) / (price * self.multiplier)
        if not math.isfinite(size):
            raise OrderFlowError(f"the position size is not finite: value {value:g} x {self._pct:g}% / (price {price:g} "
                                 f"x multiplier {self.multiplier:g}) overflows a float; use realistic cash and contract terms")
        return size if self.p.fractional else math.floor(size)

    def next(self) -> None:
        if self._entry_order is not None or self._exit_order is not None:
            return  # wait for the pending order
        if self.position:
            if self.exit_signal():
                self.exit_position()
            return
        direction = self.entry_signal()
        direction = (direction > 0) - (direction < 0)
        if direction < 0 and not self.p.allow_short:
            return
        if direction:
            self.enter(direction)

    def enter(self, direction: int) -> bt.Order | None:
        """Open a position at market, as a bracket when a stop or target applies; None if skipped."""
        price = self.data.close[0]
        stop, target = self.bracket_prices(direction, price)
        if stop is not None and direction * (price - stop) <= 0:
            return None  # a stop at or through the entry price would fill at once
        if target is not None and direction * (target - price) <= 0:
            return None
        size = self.order_size(price, stop)
        if not size > 0:
            self.unsized_entries.append(len(self))
            return None
        if stop is None and target is None:
            self._entry_order = self.buy(size=size) if direction > 0 else self.sell(size=size)
            return self._entry_order
        place = self.buy_bracket if direction > 0 else self.sell_bracket
        main, stop_order, target_order = place(
            size=size,
            exectype=bt.Order.Market,
            stopprice=stop,
            stopexec=bt.Order.Stop if stop is not None else None,
            limitprice=target,
            limitexec=bt.Order.Limit if target is not None else None,
        )
        self._entry_order = main
        self._children = [o for o in (stop_order, target_order) if o is not None]
        return main

    def exit_position(self) -> bt.Order | None:
        """Cancel the live bracket children, then close the position at market."""
        for order in self._children:
            if order.alive():
                self.cancel(order)
        self._children = []
        self._exit_order = self.close()
        return self._exit_order

    def notify_order(self, order: bt.Order) -> None:
        if order.alive():
            return
        # the broker notifies copies of the orders: match them by reference number
        if self._entry_order is not None and order.ref == self._entry_order.ref:
            if order.status == order.Completed:
                self.entry_bar = len(self)
            self._entry_order = None
        if self._exit_order is not None and order.ref == self._exit_order.ref:
            self._exit_order = None
        self._children = [o for o in self._children if o.ref != order.ref]


class RiskMultipleStrategy(OrderFlowStrategy):
    """Base for strategies with a stop beyond a price extreme and a target as a multiple of the risk.

    Subclasses declare the parameters (their defaults differ, and their position in
    ``params`` is what ``--list-strategies`` shows): ``stop_offset`` (a price
    distance >= 0), ``target`` (a multiple of the risk, or None) and ``max_hold``
    (bars, or None), and implement :meth:`extreme`. For an entry in ``direction``
    at ``price``:

    - stop: ``extreme(direction) - direction * stop_offset``;
    - target: ``price + direction * target * |price - stop|`` (None when ``target`` is None);
    - time exit: close at market once the position has been held ``max_hold`` bars.

    The base ``stop`` parameter is not used.
    """

    def __init__(self) -> None:
        super().__init__()
        offset = float(self.p.stop_offset)
        if not offset >= 0:
            raise OrderFlowError("stop_offset must be a price distance >= 0", value=self.p.stop_offset)
        positive_or_none(self.p.max_hold, "max_hold")

    def extreme(self, direction: int) -> float:
        """The price the stop sits beyond: below it for a long (+1), above it for a short (-1)."""
        raise NotImplementedError

    def bracket_prices(self, direction: int, price: float) -> tuple[float | None, float | None]:
        """(stop, target): ``extreme - direction * stop_offset`` and ``price + direction * target * |price - stop|``."""
        stop = self.extreme(direction) - direction * float(self.p.stop_offset)
        multiple = positive_or_none(self.p.target, "target")
        target = None if multiple is None else price + direction * multiple * abs(price - stop)
        return stop, target

    def exit_signal(self) -> bool:
        return self.p.max_hold is not None and self.bars_held >= int(self.p.max_hold)
