"""Backtrader's broker with fills from :func:`execution.simulate`.

    cerebro.broker = ExecutionBroker(replay=replay("LOBSTER_SampleFile_AMZN_2012-06-21_1.zip"),
                                     bar_times=bars.index, queue="fifo", latency="1ms")

An order made in ``next()`` of a bar is sent at that bar's close (bars are stamped at their
end), arrives after the latency, and is executed by :func:`execution.simulate` against the
replayed trades and book: its fills (several for a partial fill, each with its own price)
are booked in the bars that hold their times, with Backtrader's usual notifications
(``Partial``, then ``Completed``). Market, limit, stop, stop-limit and trailing stop orders
(``StopTrail``, ``StopTrailLimit``: the stop follows every trade, not the bars' closes) are
simulated as such (a ``Close`` order as a market order); the children of a bracket are sent
when their parent has filled.

A cancel is sent at the close of the bar where the strategy asks for it and arrives after the
same latency: the fills up to its arrival stand (booked in their bars), and the order is
``Canceled`` in the bar that holds the arrival, unless it has ``Completed`` by then (with no
latency: the fills stamped at the close stand, the later ones are gone). The other orders of an
OCO group and of a bracket go with it, as an exchange that holds the group would act: none fills
after the cancel has arrived, and Backtrader cancels them with it. When one of them fills, the
others are cancelled at that fill (in the order of their fill times within a bar).

:func:`fill_source` (:mod:`execution.tape`) gives what a run's orders fill against for ``--fills
trades`` (the trades only: a market order fills at the next trade, a limit order by the ``through``
rule) and ``--fills book`` (the trades and the book; the queue model by default ``fifo`` where the
source has order ids, else ``risk_averse``): the whole replay of one file, or a tape that reads a
folder, list or store by day. ``replay`` may be either.

Fees: ``maker_fee`` / ``taker_fee`` are ``("fixed", amount per unit or contract)`` or
``("perc", fraction of the traded value)`` (:func:`parse_fee`), charged on every fill by its
liquidity, on top of the commission scheme Backtrader already charges.
"""
from __future__ import annotations

import collections
import math
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd

from data import OrderFlowError

from .replay import Replay
from .simulate import _arrival, fill_tick_size, simulate
from .tape import FILL_MODES, Tape, default_queue, fill_source

__all__ = ["WarmupBroker", "ExecutionBroker", "parse_fee", "fill_source", "default_queue", "FILL_MODES"]

_TYPES = {bt.Order.Market: "market", bt.Order.Close: "market", bt.Order.Limit: "limit", bt.Order.Stop: "stop",
          bt.Order.StopLimit: "stop_limit", bt.Order.StopTrail: "trail", bt.Order.StopTrailLimit: "trail_limit"}
_NEVER = np.iinfo(np.int64).max


def parse_fee(text: Any, option: str = "fee") -> tuple[str, float]:
    """``"0.25"`` -> ``("fixed", 0.25)`` per unit or contract; ``"0.02%"`` -> ``("perc", 0.0002)`` of the
    traded value (price x units x multiplier). Negative values are rebates."""
    t = str(text).strip()
    pct = t.endswith("%")
    try:
        value = float(t[:-1] if pct else t)
    except ValueError:
        raise OrderFlowError(f"bad --{option} {text!r}: an amount per contract (0.25) or a percent of the "
                             "traded value (0.02%)") from None
    if not math.isfinite(value) or (pct and abs(value) >= 100):
        raise OrderFlowError(f"bad --{option} {text!r}: a finite amount, or a percent below 100%")
    return ("perc", value / 100.0) if pct else ("fixed", value)


class WarmupBroker(bt.brokers.BackBroker):
    """Backtrader's broker that rejects every order placed on the first ``warmup`` bars.

    An order submitted while ``len(data) <= warmup`` (bars 0 .. warmup-1, counted
    from 0) is rejected at once and the strategy is notified (``Order.Rejected``),
    as the broker rejects any order it cannot take; so warm-up bars trade nothing.
    The children of a rejected bracket parent are rejected by Backtrader itself.
    """

    params = (("warmup", 0),)

    def submit(self, order: bt.Order, check: bool = True) -> bt.Order:
        if len(order.data) <= self.p.warmup:
            order.addinfo(warmup=True)  # refused by design: not counted as a rejected order
            order.reject(self)
            self.notify(order)
            return order
        return super().submit(order, check)


class _Fees:
    """The data's commission scheme, plus the maker or taker fee of the fill being executed."""

    def __init__(self, base: bt.CommInfoBase, broker: "ExecutionBroker") -> None:
        self._base = base
        self._broker = broker

    def __getattr__(self, name: str) -> Any:
        return getattr(self._base, name)

    def getcommission(self, size: float, price: float) -> float:
        kind, value = self._broker.p.maker_fee if self._broker._maker else self._broker.p.taker_fee
        units = abs(size)
        fee = units * value if kind == "fixed" else units * abs(price) * value * getattr(self._base.p, "mult", 1.0)
        return self._base.getcommission(size, price) + fee


class ExecutionBroker(WarmupBroker):
    """Backtrader's BackBroker whose orders fill as :func:`execution.simulate` fills them (module docstring).

    ``replay``: the :class:`~execution.replay.Replay` of the run's source; ``bar_times``: the
    bars' end times (one per bar of the feed, in order); ``queue``, ``latency``,
    ``slippage_ticks``, ``tick_size`` go to :func:`execution.simulate`; :attr:`tick_size` is the
    tick its fills use (the ``tick_size`` given, else the replay's).
    """

    params = (("replay", None), ("bar_times", None), ("queue", "risk_averse"), ("latency", None),
              ("slippage_ticks", 0.0), ("tick_size", None), ("maker_fee", ("fixed", 0.0)),
              ("taker_fee", ("fixed", 0.0)))

    def __init__(self) -> None:
        super().__init__()
        if not isinstance(self.p.replay, (Replay, Tape)):
            raise OrderFlowError("ExecutionBroker needs replay=execution.replay(source) or a tape (execution.tape)")
        times = self.p.bar_times
        times = pd.DatetimeIndex(times) if times is not None else None
        if times is None or not len(times):
            raise OrderFlowError("ExecutionBroker needs bar_times: the end time of each bar of the feed")
        self._bar_ns = (times if times.tz is not None else times.tz_localize("UTC")).as_unit("ns").asi8
        self._plans: dict[int, collections.deque] = {}
        self._sent: dict[int, int] = {}  # order ref -> when it was sent (ns)
        self._filled: dict[int, int] = {}  # order ref -> time of its last fill (ns)
        self._cancels: dict[int, tuple[bt.Order, int]] = {}  # order ref -> (the order, its cancel's arrival, ns)
        self._size = 0.0
        self._maker = False
        self._fees: dict[int, _Fees] = {}
        self.p.filler = lambda order, price, ago: self._size

    @property
    def tick_size(self) -> float:
        """The tick the fills count ``slippage_ticks`` in (and the trades list its slippage)."""
        return fill_tick_size(self.p.replay, self.p.tick_size)

    def _arrives(self, sent: int) -> int:
        return int(_arrival(np.array([sent], np.int64), self.p.latency, self.p.replay)[0])

    def _now(self, data: Any) -> int:
        i = len(data) - 1
        if i >= len(self._bar_ns):
            raise OrderFlowError(f"the feed has more bars than bar_times ({len(self._bar_ns):,})")
        return int(self._bar_ns[i])

    def getcommissioninfo(self, data: Any) -> Any:
        base = super().getcommissioninfo(data)
        if self.p.maker_fee[1] == 0 and self.p.taker_fee[1] == 0:
            return base
        if id(base) not in self._fees:
            self._fees[id(base)] = _Fees(base, self)
        return self._fees[id(base)]

    def submit(self, order: bt.Order, check: bool = True) -> bt.Order:
        if order.exectype not in _TYPES:
            raise OrderFlowError(f"fills from the book execute market, limit, stop, stop-limit, trailing stop and "
                                 f"bracket orders; not {order.getordername()}")
        self._sent[order.ref] = self._now(order.data)
        return super().submit(order, check)

    def cancel(self, order: bt.Order, bracket: bool = False) -> bool:
        """The strategy's cancel: sent at the close of the current bar, in effect when it arrives
        (:meth:`next`). Backtrader's own cancels of a bracket's other orders (``bracket``) act at once."""
        if bracket:
            return super().cancel(order, bracket)
        if not order.alive() or order.ref in self._cancels:
            return False
        self._cancels[order.ref] = (order, self._arrives(self._now(order.data)))
        return True

    def next(self) -> None:
        super().next()
        for ref, (order, arrival) in list(self._cancels.items()):
            if not order.alive():
                del self._cancels[ref]
            elif arrival <= self._now(order.data) and super().cancel(order):
                del self._cancels[ref]

    def _cancelled_at(self, order: bt.Order) -> int:
        """When a cancel reaches ``order``: the first to arrive of its own and those of the orders cancelled
        with it (its OCO group, its bracket), as the exchange holding the group would act (``_NEVER``: none)."""
        if not self._cancels:
            return _NEVER
        group = {order.ref, *self._ocol.get(self._ocos.get(order.ref), ())}
        bracket = getattr(order.parent, "ref", order.ref)
        group.update([bracket, *(o.ref for o in self._pchildren.get(bracket, ()))])
        return min((self._cancels[ref][1] for ref in group if ref in self._cancels), default=_NEVER)

    def check_submitted(self) -> None:
        super().check_submitted()
        # within a bar, orders execute in the order of their fills' times (so that the first of an OCO
        # group to fill is the one that cancels the others)
        waiting = [o for o in self.pending if o is not None]
        first = {o.ref: self._next_fill(o) for o in waiting}
        self.pending = collections.deque(sorted(waiting, key=lambda o: first[o.ref]))

    def _next_fill(self, order: bt.Order) -> int:
        if not order.active():
            return np.iinfo(np.int64).max
        plan = self._plan(order)
        return plan[0][0] if plan else np.iinfo(np.int64).max

    def _plan(self, order: bt.Order) -> collections.deque:
        """The order's fills, simulated once, when it is first active: sent at its bar's close, or a
        bracket child when its parent last filled."""
        if order.ref in self._plans:
            return self._plans[order.ref]
        sent = self._sent.get(order.ref, self._now(order.data))
        parent = getattr(order, "parent", None)
        if parent is not None and parent.ref in self._filled:
            sent = max(sent, self._filled[parent.ref])
        kind = _TYPES[order.exectype]
        arrival = self._arrives(sent)  # computed here once: simulate takes it as the order's arrival
        trail = kind in ("trail", "trail_limit")
        # a trailing stop's created.price is its first stop (Backtrader moves it from the price at creation);
        # its limit stays at the same distance from the stop
        frame = pd.DataFrame({"id": [order.ref], "time": pd.DatetimeIndex([sent]).tz_localize("UTC"),
                              "arrival": pd.DatetimeIndex([arrival]).tz_localize("UTC"),
                              "side": [1 if order.isbuy() else -1], "type": [kind],
                              "price": [order.created.price if kind != "market" else np.nan],
                              "size": [abs(order.executed.remsize) or abs(order.created.size)],
                              "limit": [order.created.pricelimit if kind == "stop_limit" else np.nan],
                              "trail_amount": [(order.trailamount or np.nan) if trail else np.nan],
                              "trail_percent": [(order.trailpercent or np.nan) if trail else np.nan],
                              "limit_offset": [-order._limitoffset if kind == "trail_limit" else np.nan]})
        fills = self._simulate(order, frame)
        # for the trades list (research.trades): when the order arrived, the volume ahead of a limit order at
        # arrival, and each fill's time and liquidity as it is booked
        ahead = fills["ahead"].dropna()  # the resting part's (a marketable part has none)
        ahead = float(ahead.iloc[0]) if len(ahead) else math.nan
        order.addinfo(arrival=arrival, ahead=ahead, fill_times=[], fill_liquidity=[])
        stamps = pd.DatetimeIndex(fills["time"]).asi8
        plan = collections.deque(zip(stamps.tolist(), fills["price"].tolist(), fills["size"].tolist(),
                                     (fills["liquidity"] == "maker").tolist()))
        self._plans[order.ref] = plan
        return plan

    def _simulate(self, order: bt.Order, frame: pd.DataFrame) -> pd.DataFrame:
        """The fills of ``order`` (one row of :func:`simulate`'s orders) against the replay."""
        return simulate(frame, self.p.replay, queue=self.p.queue, latency=self.p.latency,
                        slippage_ticks=self.p.slippage_ticks, tick_size=self.p.tick_size)

    def _try_exec(self, order: bt.Order) -> None:
        plan = self._plan(order)
        now = min(self._now(order.data), self._cancelled_at(order))  # no fill after a cancel has arrived
        while plan and plan[0][0] <= now and order.alive():
            when, price, size, maker = plan.popleft()
            self._size = min(size, abs(order.executed.remsize))
            self._maker = maker
            order.info.fill_times.append(when)
            order.info.fill_liquidity.append("maker" if maker else "taker")
            try:
                self._execute(order, ago=0, price=price)
            finally:
                self._maker = False
            self._filled[order.ref] = when
