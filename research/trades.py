"""The trades list of a backtest: one Backtrader analyzer that records it for any strategy.

:class:`TradeRecorder` is the one place trades are recorded: add it to a cerebro
(``cerebro.addanalyzer(TradeRecorder, _name="recorder")``), run, and turn its rows
into the trades frame with :func:`trades_frame` and the bars' timestamps.
"""
from __future__ import annotations

from typing import Any

import backtrader as bt
import pandas as pd

TRADE_COLUMNS = ["entry_time", "exit_time", "direction", "size", "entry_price", "exit_price", "points", "pnl", "pnl_net",
                 "commission", "bars_held", "closed", "entry_bar", "exit_bar"]
ROLL_COLUMNS = ["contract", "roll"]
"""Columns a run on a continuous contract adds (:mod:`research.rolls`): the contract of each trade
and ``roll`` (``in``: opened by a roll, ``out``: closed by one, ``in/out``: both)."""


class TradeRecorder(bt.Analyzer):
    """Per bar: portfolio value and position; per Backtrader trade: one row of the trades list.

    ``get_analysis()`` gives ``{"values": [...], "positions": [...], "trades": [...], "refused": [...]}``:

    - ``values``: the broker's portfolio value at each bar;
    - ``positions``: the signed position size in the (first) data at each bar;
    - ``trades``: one dict per trade (see :func:`trade_row` for its fields), in the
      order the trades closed, then the trades still open at the end;
    - ``refused``: the status of each order the broker refused: ``"Margin"`` (not
      enough cash or margin) or ``"Rejected"``; orders marked ``order.info.warmup``
      (refused by design on warm-up bars, ``research.engine.WarmupBroker``) are left out.

    A trade still open at the end is marked to market at the last close
    (``closed`` False): its ``pnl`` is the unrealised profit and ``pnl_net``
    subtracts the entry commission, so the ``pnl_net`` column sums to the final
    value minus the starting cash. The analyzer turns the strategy's trade
    history on (Cerebro's ``tradehistory=True``), which :func:`trade_row` reads.
    """

    def start(self) -> None:
        self.strategy.set_tradehistory(True)
        self.values: list[float] = []
        self.positions: list[float] = []
        self.rows: list[dict[str, Any]] = []
        self._open: dict[int, Any] = {}
        self.refused: list[str] = []

    def next(self) -> None:
        self.values.append(self.strategy.broker.getvalue())
        self.positions.append(self.strategy.getposition(self.data).size)

    def notify_order(self, order: Any) -> None:
        if order.status in (order.Margin, order.Rejected) and not order.info.get("warmup"):
            self.refused.append(order.getstatusname())

    def notify_trade(self, trade: Any) -> None:
        if trade.isclosed:
            self._open.pop(trade.ref, None)
            self.rows.append(trade_row(trade))
        elif trade.isopen:
            self._open[trade.ref] = trade

    def stop(self) -> None:
        self.rows.extend(self.open_rows())

    def open_rows(self) -> list[dict[str, Any]]:
        """The rows of the trades open now, marked to market at the current bar's close."""
        if not self._open:
            return []
        last = len(self.data) - 1
        close = float(self.data.close[0])
        comminfo = self.strategy.broker.getcommissioninfo(self.data)
        return [trade_row(trade, exit_bar=last, exit_price=close, pnl=comminfo.profitandloss(trade.size, trade.price, close))
                for trade in self._open.values()]

    def get_analysis(self) -> dict[str, Any]:
        return {"values": self.values, "positions": self.positions, "trades": self.rows, "refused": self.refused}


def trade_row(trade: Any, exit_bar: int | None = None, exit_price: float | None = None,
              pnl: float | None = None) -> dict[str, Any]:
    """A Backtrader trade (with its ``history``, i.e. ``tradehistory=True``) as a trades-list row.

    - ``entry_bar`` / ``exit_bar``: 0-based numbers of the bars on which the trade
      opened and closed (``exit_bar`` given for a trade still open: the last bar);
    - ``direction``: ``"long"`` or ``"short"``;
    - ``size``: units opened (positive; the sum of the opening fills' sizes);
    - ``entry_price``: their size-weighted average price (Backtrader's ``trade.price``);
    - ``exit_price``: the size-weighted average price of the closing fills
      (``exit_price`` given for a trade still open: the last close);
    - ``points``: the price move in the trade's favour per unit, ``exit - entry`` for
      a long, ``entry - exit`` for a short;
    - ``pnl``: profit before commission in the account's currency, ``points * size *
      multiplier`` (Backtrader's ``trade.pnl``; multiplier 1 for stocks, the contract's
      for futures; ``pnl`` given: the unrealised profit);
    - ``pnl_net``: ``pnl - commission``;
    - ``commission``: the commission paid on the trade's fills;
    - ``closed``: False for a trade still open at the end (marked to market);
    - ``roll`` (only for a trade a roll of a continuous contract opened or closed,
      :mod:`research.rolls`): ``in``, ``out`` or ``in/out``.
    """
    sign = 1.0 if trade.long else -1.0
    opened = closed = closed_value = 0.0
    for entry in trade.history:
        size, price = entry.event.size, entry.event.price
        if size * sign > 0:
            opened += abs(size)
        else:
            closed += abs(size)
            closed_value += abs(size) * price
    if exit_price is None:
        exit_price = closed_value / closed if closed else float("nan")
    pnl = trade.pnl if pnl is None else pnl
    first = trade.history[0].event.get("order") if trade.history else None
    last = trade.history[-1].event.get("order") if trade.history and exit_bar is None else None
    rolled = [leg for leg, order in (("in", first), ("out", last)) if order is not None and order.info.get("roll") == leg]
    row = {
        "entry_bar": trade.baropen - 1,
        "exit_bar": trade.barclose - 1 if exit_bar is None else exit_bar,
        "direction": "long" if trade.long else "short",
        "size": opened,
        "entry_price": trade.price,
        "exit_price": exit_price,
        "points": sign * (exit_price - trade.price),
        "pnl": pnl,
        "pnl_net": pnl - trade.commission,
        "commission": trade.commission,
        "closed": exit_bar is None,
    }
    if rolled:
        row["roll"] = "/".join(rolled)
    return row


def trades_frame(rows: list[dict[str, Any]], times: pd.DatetimeIndex) -> pd.DataFrame:
    """:class:`TradeRecorder` rows -> the trades frame (:data:`TRADE_COLUMNS`), sorted by entry.

    ``times`` are the bars' timestamps (the feed's bar index): ``entry_time =
    times[entry_bar]`` and ``exit_time = times[exit_bar]`` are the fill bars'
    times; ``bars_held = exit_bar - entry_bar``.
    """
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in TRADE_COLUMNS})
    frame = pd.DataFrame(rows).sort_values(["entry_bar", "exit_bar"], kind="stable").reset_index(drop=True)
    frame["entry_time"] = times[frame["entry_bar"].to_numpy()]
    frame["exit_time"] = times[frame["exit_bar"].to_numpy()]
    frame["bars_held"] = frame["exit_bar"] - frame["entry_bar"]
    if "roll" in frame:
        frame["roll"] = frame["roll"].fillna("")
    return frame[TRADE_COLUMNS + [c for c in ROLL_COLUMNS if c in frame]]
