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
folder, list or store by day. ``replay`` may be either. The whole replay simulates each order once.
On a tape an order's fills are final up to a horizon (the end of the UTC day it arrives in): a bar
past it that finds the order still working simulates it again from its send time, up to 2, 4, 8 ...
days from that day, and books only the fills not booked yet; so the tape holds the days an order
works (until it fills or its cancel arrives), not those to the end of the data, with the same fills.

Fees: ``maker_fee`` / ``taker_fee`` are ``("fixed", amount per unit or contract)`` or
``("perc", fraction of the traded value)`` (:func:`parse_fee`), charged on every fill by its
liquidity, on top of the commission scheme Backtrader already charges. An order executed outside a
simulated plan (a roll's market fills) fills its whole size and pays the taker fee.

A continuous contract (``roller``: a :class:`research.rolls.Roller`): the replay or tape is the series'
own ticks. At each roll passed, the broker's ``next`` first books the fills stamped before the roll (those
of a bracket's children too, when their parent filled before it), then the roller rolls (or closes) the
position; an order whose prices the roll moved is simulated again as an order sent at the roll
(:meth:`ExecutionBroker.replan`), one the roll cancels has no fill after it
(:meth:`ExecutionBroker.cancel_at`).
"""
from __future__ import annotations

import collections
import math
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd

from data import OrderFlowError
from data.ticks import DAY_NS

from .replay import Replay
from .simulate import _arrival, _Orders, fill_tick_size, simulate
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


class _Until:
    """A tape seen up to ``horizon`` (ns, inclusive): :func:`simulate` stops there (``known_until``)."""

    def __init__(self, tape: Tape, horizon: int) -> None:
        self.tape = tape
        self.name = tape.name
        self.tick_size = tape.tick_size
        self.known_until = min(tape.known_until, horizon + 1)

    @property
    def end_ns(self) -> int:
        return self.tape.end_ns

    def window(self, start_ns: int, end_ns: int) -> Replay:
        return self.tape.window(start_ns, end_ns)


class ExecutionBroker(WarmupBroker):
    """Backtrader's BackBroker whose orders fill as :func:`execution.simulate` fills them (module docstring).

    ``replay``: the :class:`~execution.replay.Replay` of the run's source, or a tape; ``bar_times``: the
    bars' end times (one per bar of the feed, in order); ``queue``, ``latency``,
    ``slippage_ticks``, ``tick_size`` go to :func:`execution.simulate`; :attr:`tick_size` is the
    tick its fills use (the ``tick_size`` given, else the replay's). :attr:`resimulated` counts the
    simulations of orders again, past their horizon. ``roller``: the rolls of a continuous contract
    (module docstring), applied at the start of each bar as :class:`research.rolls.RollingBroker` does.
    """

    params = (("replay", None), ("bar_times", None), ("queue", "risk_averse"), ("latency", None),
              ("slippage_ticks", 0.0), ("tick_size", None), ("maker_fee", ("fixed", 0.0)),
              ("taker_fee", ("fixed", 0.0)), ("roller", None))

    def __init__(self) -> None:
        super().__init__()
        if not isinstance(self.p.replay, (Replay, Tape)):
            raise OrderFlowError("ExecutionBroker needs replay=execution.replay(source) or a tape (execution.tape)")
        times = self.p.bar_times
        times = pd.DatetimeIndex(times) if times is not None else None
        if times is None or not len(times):
            raise OrderFlowError("ExecutionBroker needs bar_times: the end time of each bar of the feed")
        self._bar_ns = (times if times.tz is not None else times.tz_localize("UTC")).as_unit("ns").asi8
        self._plans: dict[int, collections.deque] = {}  # order ref -> its final fills not booked yet
        self._frames: dict[int, _Orders] = {}  # order ref -> the order as first simulated
        self._arrival: dict[int, int] = {}  # order ref -> when it arrives (ns)
        self._known: dict[int, int] = {}  # order ref -> its horizon: its fills up to it are in its plan
        self._given: dict[int, int] = {}  # order ref -> how many of its simulated fills went to its plan
        self.resimulated = 0  # simulations of orders again, as their horizon moved on
        self._sent: dict[int, int] = {}  # order ref -> when it was sent (ns)
        self._filled: dict[int, int] = {}  # order ref -> time of its last fill (ns)
        self._cancels: dict[int, tuple[bt.Order, int]] = {}  # order ref -> (the order, its cancel's arrival, ns)
        self._size: float | None = None  # the size of the plan's fill being executed (None: the order's rest)
        self._maker = False
        self._until = _NEVER  # no fill booked after this time (ns): the step before a roll (:meth:`next`)
        self._fees: dict[int, _Fees] = {}
        self.p.filler = lambda order, price, ago: abs(order.executed.remsize) if self._size is None else self._size

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
        if self.p.roller is not None:  # each roll passed: the fills before it, then the roll
            self.p.roller.apply(self, before=self._book_before)
        super().next()
        for ref, (order, arrival) in list(self._cancels.items()):
            if not order.alive():
                del self._cancels[ref]
            elif arrival <= self._now(order.data) and super().cancel(order):
                del self._cancels[ref]

    def _book_before(self, when: int) -> None:
        """Book the fills stamped before ``when`` (ns: a roll) of the orders working, as Backtrader's ``next``
        books those of a bar: so that a bar holding a roll books its old contract's fills before the roll. The
        children of a bracket whose parent has filled are activated first, as Backtrader's ``next`` does, and
        again after each pass that fills a parent: their fills before the roll are booked too."""
        self._until = when - 1
        try:
            while True:
                self._activate()
                self.check_submitted()
                self._pass()
                if not self._toactivate:
                    break
        finally:
            self._until = _NEVER

    def _activate(self) -> None:
        """Activate the children of the brackets whose parent has filled (Backtrader queues them in
        ``_toactivate`` and activates them at the start of its ``next``)."""
        while self._toactivate:
            self._toactivate.popleft().activate()

    def _pass(self) -> None:
        """One pass over the orders working, as Backtrader's ``next`` makes it: an expired order is notified and
        its OCO group and bracket cancelled; an active one executes, each out of the queue while it executes
        (Backtrader's OCO check cancels those in it), and a completed parent queues its children."""
        self.pending.append(None)
        try:
            while (order := self.pending.popleft()) is not None:
                if order.expire():
                    self.notify(order)
                    self._ococheck(order)
                    self._bracketize(order, cancel=True)
                    continue
                if order.active():
                    self._try_exec(order)
                    if order.status == bt.Order.Completed:
                        self._bracketize(order)
                if order.alive():
                    self.pending.append(order)
        finally:
            if None in self.pending:
                self.pending.remove(None)

    def replan(self, order: bt.Order, when: int) -> None:
        """``order``'s prices were moved at a roll at ``when`` (ns; :class:`research.rolls.Roller`): its plan is
        dropped, and it is simulated again as an order sent at the roll, with its new prices and the size
        left (its fills before the roll stand)."""
        ref = order.ref
        for known in (self._plans, self._frames, self._known, self._given):
            known.pop(ref, None)
        self._sent[ref] = when

    def cancel_at(self, order: bt.Order, when: int) -> None:
        """``order`` cancelled at a roll at ``when`` (ns): its fills before the roll stand, none after."""
        if order.alive():
            self._cancels[order.ref] = (order, when - 1)

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
        """The order's fills known so far: simulated when it is first active (sent at its bar's close, or a
        bracket child when its parent last filled), final up to its horizon (:meth:`_horizon`); simulated
        again from its send time, with the size it was sent with, when a bar past the horizon finds it still
        working and the source can tell more, only the fills not handed out yet added."""
        ref = order.ref
        if ref not in self._plans:
            self._plans[ref] = collections.deque()
            self._frames[ref] = self._frame(order)
            self._book(order)
        elif order.alive() and self._known[ref] < self._now(order.data) and self._horizon(order) > self._known[ref]:
            self._book(order)
            self.resimulated += 1
        return self._plans[ref]

    def _frame(self, order: bt.Order) -> _Orders:
        """The order as :func:`simulate` takes it (one checked row), sent now (a bracket child: when its parent last
        filled), with its arrival; and the order's info for the trades list (:mod:`research.trades`): when it
        arrived, the volume ahead of a limit order then, each fill's time and liquidity as it is booked."""
        sent = self._sent.get(order.ref, self._now(order.data))
        parent = getattr(order, "parent", None)
        if parent is not None and parent.ref in self._filled:
            sent = max(sent, self._filled[parent.ref])
        kind = _TYPES[order.exectype]
        arrival = self._arrives(sent)  # computed here once: simulate takes it as the order's arrival
        self._arrival[order.ref] = arrival
        order.addinfo(arrival=arrival, ahead=math.nan)
        if "fill_times" not in order.info:  # an order simulated again at a roll keeps its fills before it
            order.addinfo(fill_times=[], fill_liquidity=[])
        trail = kind in ("trail", "trail_limit")
        # a trailing stop's created.price is its first stop (Backtrader moves it from the price at creation);
        # its limit stays at the same distance from the stop
        return _Orders.one(order.ref, sent, 1 if order.isbuy() else -1, kind,
                           order.created.price if kind != "market" else np.nan,
                           abs(order.executed.remsize) or abs(order.created.size), arrival=arrival,
                           limit=order.created.pricelimit if kind == "stop_limit" else np.nan,
                           trail_amount=(order.trailamount or np.nan) if trail else np.nan,
                           trail_percent=(order.trailpercent or np.nan) if trail else np.nan,
                           limit_offset=-order._limitoffset if kind == "trail_limit" else np.nan)

    def _horizon(self, order: bt.Order) -> int:
        """Up to when (ns, inclusive) a simulation of ``order`` now makes its fills final. A whole replay:
        ever (``_NEVER``, one simulation). A tape: the end of the UTC day of the order's arrival, doubled
        (2, 4, 8 ... days from that day's start) until it is past the current bar's end, so that the tape
        reads the days of the order's life, not those up to the end of the data."""
        if not isinstance(self.p.replay, Tape):
            return _NEVER
        start = self._arrival[order.ref] // DAY_NS * DAY_NS
        now, span = self._now(order.data), DAY_NS
        while start + span - 1 < now:
            span *= 2
        return start + span - 1

    def _book(self, order: bt.Order) -> None:
        """Simulate ``order`` up to its horizon and add the fills made final that were not handed out yet."""
        ref = order.ref
        horizon = self._horizon(order)
        fills = self._simulate(order, self._frames[ref], horizon)
        ahead = fills["ahead"].dropna()  # the resting part's (a marketable part has none)
        if len(ahead):
            order.info.ahead = float(ahead.iloc[0])
        stamps = pd.DatetimeIndex(fills["time"]).asi8
        final = int(np.searchsorted(stamps, horizon, side="right"))
        given = self._given.get(ref, 0)
        self._given[ref] = max(given, final)
        # the source holds nothing after its end: the fills are all known
        self._known[ref] = horizon if horizon == _NEVER or horizon < self.p.replay.end_ns - 1 else _NEVER
        self._plans[ref].extend(zip(stamps[given:final].tolist(), fills["price"].iloc[given:final].tolist(),
                                    fills["size"].iloc[given:final].tolist(),
                                    (fills["liquidity"].iloc[given:final] == "maker").tolist()))

    def _simulate(self, order: bt.Order, frame: _Orders, horizon: int) -> pd.DataFrame:
        """The fills of ``order`` (one row of :func:`simulate`'s orders, from its send time) against the
        replay, those after ``horizon`` (ns) unknown yet: on a tape, the simulation stops there."""
        source = self.p.replay
        if horizon != _NEVER and isinstance(source, Tape):
            source = _Until(source, horizon)
        return simulate(frame, source, queue=self.p.queue, latency=self.p.latency,
                        slippage_ticks=self.p.slippage_ticks, tick_size=self.p.tick_size)

    def _try_exec(self, order: bt.Order) -> None:
        plan = self._plan(order)
        now = min(self._now(order.data), self._cancelled_at(order), self._until)  # no fill after a cancel has arrived
        while plan and plan[0][0] <= now and order.alive():
            when, price, size, maker = plan.popleft()
            self._size = min(size, abs(order.executed.remsize))
            self._maker = maker
            order.info.fill_times.append(when)
            order.info.fill_liquidity.append("maker" if maker else "taker")
            try:
                self._execute(order, ago=0, price=price)
            finally:
                self._size, self._maker = None, False
            self._filled[order.ref] = when
