"""Positions across the rolls of a continuous contract (``--continuous ES``).

The bars of a continuous series (:mod:`data.reading.continuous`) join several contracts; the
load report's roll table says when each roll happens and at which prices. At each roll the
engine's broker (:class:`RollingBroker` with bar fills, :class:`execution.broker.ExecutionBroker`
with fills from the ticks; each with a :class:`Roller`) acts on an
open position before the first bar of the new contract:

- ``roll`` (the default): the position is closed in the old contract at the old contract's
  price at the roll and opened again, same size and direction, in the new contract at the new
  contract's price there (the roll table's ``series_from`` and ``series_to``: the two prices as
  the series shows them). Both are real fills: each pays the commission and the slippage
  (``slippage_ticks``, or ``--slippage``) against the trade. The stop and target orders still
  pending move with the position by the jump of the series at the roll (``series_to -
  series_from``: 0 with ``adjust=add``), so they keep their distance to the price;
- ``close``: the position is closed in the old contract at the roll's price (paying the costs),
  the pending orders of the feed are cancelled, and the strategy decides whether to enter again.

A broker filling from the ticks books the fills before the roll first, simulates a moved order
again from the roll (its ``replan``) and cancels an order at the roll itself (its ``cancel_at``);
the roll fills pay its taker fee.

In ``trades.csv`` the trade closed by a roll has ``roll`` = ``out``, the trade opened by it
``in`` (``in/out``: opened by one roll and closed by the next), and every trade names its
``contract`` (the contract at its entry). With ``adjust=add`` the old contract's trade is worth
exactly its real profit: its entry price moved by the same gaps as the roll price, so the sum of
the two trades' P&L is that of the two contracts as traded, minus the costs of the two roll fills.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import backtrader as bt
import numpy as np
import pandas as pd

from data import OrderFlowError
from data.feed import date2num_ns
from execution.broker import WarmupBroker

ROLL_POSITIONS = ("roll", "close")
"""What the broker does with an open position at a roll (``--roll-positions``)."""


def check_roll_positions(value: str) -> str:
    if value not in ROLL_POSITIONS:
        raise OrderFlowError(f"bad --roll-positions {value!r}: roll (close in the old contract, open in the new one) "
                             "or close (close and leave it to the strategy)")
    return value


class RollingBroker(WarmupBroker):
    """The engine's broker of a continuous contract: at each bar, the rolls passed since the last
    one first (``roller``: a :class:`Roller`), then Backtrader's fills of the bar's orders; and the
    warm-up refusals of :class:`execution.broker.WarmupBroker`."""

    params = (("roller", None),)

    def next(self) -> None:
        if self.p.roller is not None:
            self.p.roller.apply(self)
        super().next()


class Roller:
    """Rolls (or closes) the position of ``data`` at each roll of ``rolls`` (the roll table of the
    load report: ``time``, ``from``, ``to``, ``series_from``, ``series_to``), as the first thing
    the broker does on the first bar stamped after the roll. ``done`` lists what it did."""

    def __init__(self, data: Any, rolls: Sequence[dict[str, Any]], mode: str = "roll") -> None:
        self.data = data
        self.mode = check_roll_positions(mode)
        self.rolls = list(rolls)
        stamps = pd.DatetimeIndex([pd.Timestamp(r["time"]) for r in self.rolls]).as_unit("ns").asi8
        self.stamps = np.asarray(stamps, dtype=np.int64)
        self.times = date2num_ns(self.stamps)
        self.next = 0
        self.done: list[dict[str, Any]] = []

    def apply(self, broker: bt.brokers.BackBroker, before: Callable[[int], None] | None = None) -> None:
        """Act on every roll passed since the previous bar (called by the broker's ``next``); ``before(time)``
        (ns), if given, first: a broker filling from the ticks books there its fills before the roll."""
        if self.next >= len(self.rolls) or not len(self.data):
            return
        now = self.data.datetime[0]
        while self.next < len(self.rolls) and self.times[self.next] < now:
            if before is not None:
                before(int(self.stamps[self.next]))
            self._roll(broker, self.rolls[self.next], int(self.stamps[self.next]))
            self.next += 1

    def _roll(self, broker: bt.brokers.BackBroker, roll: dict[str, Any], when: int) -> None:
        size = broker.getposition(self.data).size
        if not size:
            return
        owner = next((o.owner for o in reversed(broker.orders) if o.data is self.data), None)
        exit_price, entry_price = float(roll["series_from"]), float(roll["series_to"])
        what = {"time": roll["time"], "from": roll["from"], "to": roll["to"], "size": size}
        out = self._fill(broker, owner, -size, exit_price, {**what, "leg": "out"})
        what.update(exit_price=out.executed.price, exit_commission=out.executed.comm)
        pending = [o for o in broker.orders if o.data is self.data and o.alive() and o.exectype != bt.Order.Market]
        if self.mode == "roll":
            entry = self._fill(broker, owner, size, entry_price, {**what, "leg": "in"})
            what.update(entry_price=entry.executed.price, entry_commission=entry.executed.comm,
                        reopened=entry.status == bt.Order.Completed)
            jump = entry_price - exit_price
            replan = getattr(broker, "replan", None)  # a broker filling from the ticks: simulate them again
            for order in pending:  # stops and targets keep their distance to the price
                order.created.price += jump
                if order.created.pricelimit is not None:
                    order.created.pricelimit += jump
                if replan is not None:
                    replan(order, when)
        else:
            cancel_at = getattr(broker, "cancel_at", None)  # a broker filling from the ticks: none after the roll
            for order in pending:
                cancel_at(order, when) if cancel_at is not None else broker.cancel(order)
        self.done.append(what)

    def _fill(self, broker: bt.brokers.BackBroker, owner: Any, size: float, price: float,
              info: dict[str, Any]) -> bt.Order:
        """A market order of ``size`` (signed) executed now at ``price`` moved by the broker's
        slippage against it; the commission is the broker's (Backtrader's ``_execute``)."""
        slip = price * broker.p.slip_perc if broker.p.slip_perc else broker.p.slip_fixed
        price = price + slip if size > 0 else price - slip
        cls = bt.BuyOrder if size > 0 else bt.SellOrder
        order = cls(owner=owner, data=self.data, size=abs(size), price=price, exectype=bt.Order.Market)
        order.addinfo(roll=info["leg"], roll_from=info["from"], roll_to=info["to"])
        order.submit(broker)
        order.accept(broker)
        broker._ocoize(order, None)  # an order of its own, in no one-cancels-other group
        broker.orders.append(order)
        broker._execute(order, ago=0, price=price)
        return order


def trade_contracts(trades: pd.DataFrame, report: dict[str, Any]) -> pd.Series:
    """The contract of each trade at its entry: the one whose turn holds the entry bar (a bar
    stamped after a roll's time is of the new contract), from the load report's ``contracts``
    and ``rolls`` of a continuous series."""
    contracts = [c["contract"] for c in report.get("contracts") or ()]
    if not contracts or trades.empty:
        return pd.Series([], dtype=object, index=trades.index)
    times = pd.DatetimeIndex([pd.Timestamp(r["time"]) for r in report.get("rolls") or ()]).as_unit("ns").asi8
    entries = pd.DatetimeIndex(trades["entry_time"]).as_unit("ns").asi8
    at = np.searchsorted(times, entries, side="left")
    return pd.Series([contracts[min(i, len(contracts) - 1)] for i in at], index=trades.index, dtype=object)
