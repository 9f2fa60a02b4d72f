"""Backtrader's broker with fills from :func:`execution.simulate`.

    cerebro.broker = ExecutionBroker(replay=replay("LOBSTER_SampleFile_AMZN_2012-06-21_1.zip"),
                                     bar_times=bars.index, queue="fifo", latency="1ms")

An order made in ``next()`` of a bar is sent at that bar's close (bars are stamped at their
end), arrives after the latency, and is executed by :func:`execution.simulate` against the
replayed trades and book: its fills (several for a partial fill, each with its own price)
are booked in the bars that hold their times, with Backtrader's usual notifications
(``Partial``, then ``Completed``). Market, limit, stop and stop-limit orders are simulated as
such (a ``Close`` order as a market order); the children of a bracket are sent when their
parent has filled, and an OCO group cancels its other orders when one of them fills, as
Backtrader does (in the order of their fill times within a bar). A cancel takes effect at
the bar where the strategy asks for it. Trailing stops are refused (an error).

:func:`fill_source` gives the replay of a run's data for ``--fills trades`` (the trades only:
a market order fills at the next trade, a limit order by the ``through`` rule) and ``--fills
book`` (the trades and the book; the queue model by default ``fifo`` where the source has
order ids, else ``risk_averse``).

Fees: ``maker_fee`` / ``taker_fee`` are ``("fixed", amount per unit or contract)`` or
``("perc", fraction of the traded value)`` (:func:`parse_fee`), charged on every fill by its
liquidity, on top of the commission scheme Backtrader already charges.
"""
from __future__ import annotations

import collections
import math
from pathlib import Path
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd

from data import OrderFlowError

from .replay import Replay, replay
from .simulate import _arrival, parse_queue, simulate

__all__ = ["WarmupBroker", "ExecutionBroker", "parse_fee", "fill_source", "default_queue", "FILL_MODES"]

FILL_MODES = ("bar", "trades", "book")
_TYPES = {bt.Order.Market: "market", bt.Order.Close: "market", bt.Order.Limit: "limit", bt.Order.Stop: "stop",
          bt.Order.StopLimit: "stop_limit"}


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


def fill_source(data: Any, fills: str, quotes: Any = None) -> Replay:
    """The replay of a run's tick source for ``fills`` (``"trades"``: trades only; ``"book"``: with
    the book, from the file itself or ``quotes``). One file or a DataFrame; a source without a book
    for ``"book"`` is an error."""
    if fills not in FILL_MODES[1:]:
        raise OrderFlowError(f"--fills must be one of {', '.join(FILL_MODES)}, not {fills!r}")
    if isinstance(data, (list, tuple)) or (isinstance(data, (str, Path)) and not Path(data).is_file()):
        raise OrderFlowError(f"--fills {fills} replays one tick file (or a DataFrame); the data is "
                             f"{'a list of files' if isinstance(data, (list, tuple)) else 'a folder, glob or store'}")
    source = replay(data, quotes=quotes, book=fills == "book")
    if fills == "book" and source.book is None:
        raise OrderFlowError(f"--fills book needs quotes: {source.name} has trades only (no bid/ask with sizes); "
                             "use --fills trades, or give the book with --quotes FILE")
    return source


def default_queue(source: Replay, fills: str, queue: str | None) -> str:
    """The queue model of a run: ``queue`` if given (checked), else ``fifo`` where the source has order
    ids, ``risk_averse`` for another book, ``through`` for trades only (the only model they allow)."""
    if fills == "trades":
        if queue is not None and parse_queue(queue)[0] != "through":
            raise OrderFlowError(f"--fills trades has no book to queue in: --queue {queue} needs --fills book "
                                 "(with trades only, limit orders fill by the 'through' rule)")
        return "through"
    if queue is not None:
        parse_queue(queue)
        return queue
    return "fifo" if source.queue is not None else "risk_averse"


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
    ``slippage_ticks``, ``tick_size`` go to :func:`execution.simulate`.
    """

    params = (("replay", None), ("bar_times", None), ("queue", "risk_averse"), ("latency", None),
              ("slippage_ticks", 0.0), ("tick_size", None), ("maker_fee", ("fixed", 0.0)),
              ("taker_fee", ("fixed", 0.0)))

    def __init__(self) -> None:
        super().__init__()
        if not isinstance(self.p.replay, Replay):
            raise OrderFlowError("ExecutionBroker needs replay=execution.replay(source)")
        times = self.p.bar_times
        times = pd.DatetimeIndex(times) if times is not None else None
        if times is None or not len(times):
            raise OrderFlowError("ExecutionBroker needs bar_times: the end time of each bar of the feed")
        self._bar_ns = (times if times.tz is not None else times.tz_localize("UTC")).as_unit("ns").asi8
        self._plans: dict[int, collections.deque] = {}
        self._sent: dict[int, int] = {}  # order ref -> when it was sent (ns)
        self._filled: dict[int, int] = {}  # order ref -> time of its last fill (ns)
        self._size = 0.0
        self._maker = False
        self._fees: dict[int, _Fees] = {}
        self.p.filler = lambda order, price, ago: self._size

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
            raise OrderFlowError(f"fills from the book execute market, limit, stop, stop-limit and bracket orders; "
                                 f"not {order.getordername()}")
        self._sent[order.ref] = self._now(order.data)
        return super().submit(order, check)

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
        price = order.created.price if kind != "market" else np.nan
        frame = pd.DataFrame({"id": [order.ref], "time": pd.DatetimeIndex([sent]).tz_localize("UTC"),
                              "side": [1 if order.isbuy() else -1], "type": [kind], "price": [price],
                              "size": [abs(order.executed.remsize) or abs(order.created.size)],
                              "limit": [order.created.pricelimit if kind == "stop_limit" else np.nan]})
        fills = self._simulate(order, frame)
        # for the trades list (research.trades): when the order arrived, the volume ahead of a limit order at
        # arrival, and each fill's time and liquidity as it is booked
        ahead = fills["ahead"].dropna()  # the resting part's (a marketable part has none)
        ahead = float(ahead.iloc[0]) if len(ahead) else math.nan
        order.addinfo(arrival=int(_arrival(np.array([sent], np.int64), self.p.latency, self.p.replay)[0]),
                      ahead=ahead, fill_times=[], fill_liquidity=[])
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
        now = self._now(order.data)
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
