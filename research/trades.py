"""The trades list of a backtest: one Backtrader analyzer that records it for any strategy.

:class:`TradeRecorder` is the one place trades are recorded: add it to a cerebro
(``cerebro.addanalyzer(TradeRecorder, _name="recorder")``), run, and turn its rows
into the trades frame with :func:`trades_frame` and the bars' timestamps.
"""
from __future__ import annotations

import bisect
import math
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd

LEG_FIELDS = ["signal_time", "signal_price", "arrival", "first_fill", "last_fill", "slippage_ticks", "liquidity",
              "ahead"]
"""The execution of each leg of a trade, as columns ``entry_*`` and ``exit_*`` (:func:`trades_frame`)."""
TRADE_COLUMNS = (["entry_time", "exit_time", "direction", "size", "entry_price", "exit_price", "points", "pnl", "pnl_net",
                  "commission", "bars_held", "closed", "entry_bar", "exit_bar"]
                 + [f"{leg}_{field}" for leg in ("entry", "exit") for field in LEG_FIELDS] + ["shortfall"])
_LIMITS = (bt.Order.Limit, bt.Order.StopLimit, bt.Order.StopTrailLimit)
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
      (refused by design on warm-up bars, ``research.engine.WarmupBroker``) are left out;
    - ``limits``: ``(size ordered, size filled)`` of each limit and stop-limit order the
      broker accepted, filled or not by the end (:func:`research.metrics.limit_fill_pct`).

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
        self._limits: dict[int, Any] = {}

    def next(self) -> None:
        self.values.append(self.strategy.broker.getvalue())
        self.positions.append(self.strategy.getposition(self.data).size)

    def notify_order(self, order: Any) -> None:
        if order.status in (order.Margin, order.Rejected) and not order.info.get("warmup"):
            self.refused.append(order.getstatusname())
        if order.exectype in _LIMITS and order.status not in (order.Created, order.Submitted, order.Margin,
                                                              order.Rejected):
            self._limits[order.ref] = order  # the latest notification holds what has filled

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
        return {"values": self.values, "positions": self.positions, "trades": self.rows, "refused": self.refused,
                "limits": [(abs(o.created.size), abs(o.executed.size)) for o in self._limits.values()]}


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
      :mod:`research.rolls`): ``in``, ``out`` or ``in/out``;
    - ``entry_leg`` / ``exit_leg``: how the opening and the closing orders executed
      (:func:`_leg`; ``exit_leg`` None for a trade still open), which :func:`trades_frame`
      turns into the ``entry_*`` and ``exit_*`` columns.
    """
    sign = 1.0 if trade.long else -1.0
    opened = closed = closed_value = 0.0
    entry_orders: dict[int, Any] = {}
    exit_orders: dict[int, Any] = {}
    for entry in trade.history:
        size, price = entry.event.size, entry.event.price
        order = entry.event.get("order")
        if size * sign > 0:
            opened += abs(size)
            if order is not None:
                entry_orders.setdefault(order.ref, order)
        else:
            closed += abs(size)
            closed_value += abs(size) * price
            if order is not None:
                exit_orders.setdefault(order.ref, order)
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
        "entry_leg": _leg(list(entry_orders.values())),
        "exit_leg": _leg(list(exit_orders.values())) if exit_bar is None else None,
    }
    if rolled:
        row["roll"] = "/".join(rolled)
    return row


def _leg(orders: list[Any]) -> dict[str, Any] | None:
    """The execution of the orders of one leg (the first order's signal): ``signal_bar`` (the bar in whose
    ``next()`` it was made, counted from 0), ``signal_price`` (that bar's close), and where an execution
    broker filled it (``execution.broker.ExecutionBroker`` records them in ``order.info``) the ``arrival``,
    the first and last fill times (int ns), the liquidity (``maker``, ``taker`` or ``mixed``) and the
    volume ``ahead`` of a limit order at arrival."""
    if not orders:
        return None
    first = orders[0]
    bar = bisect.bisect_left(first.data.datetime.array, first.created.dt)  # the bar whose next() made it
    leg: dict[str, Any] = {"signal_bar": bar, "signal_price": float(first.created.pclose),
                           "arrival": None, "first_fill": None, "last_fill": None, "liquidity": None,
                           "ahead": math.nan}
    times = [t for o in orders for t in (o.info.get("fill_times") or [])]
    if "arrival" in first.info:
        kinds = {k for o in orders for k in (o.info.get("fill_liquidity") or [])}
        leg.update(arrival=int(first.info["arrival"]), first_fill=min(times) if times else None,
                   last_fill=max(times) if times else None,
                   liquidity=kinds.pop() if len(kinds) == 1 else ("mixed" if kinds else None),
                   ahead=float(first.info.get("ahead", math.nan)))
    return leg


def trades_frame(rows: list[dict[str, Any]], times: pd.DatetimeIndex, tick_size: float = math.nan,
                 multiplier: float = 1.0, offset: int = 0) -> pd.DataFrame:
    """:class:`TradeRecorder` rows -> the trades frame (:data:`TRADE_COLUMNS`), sorted by entry.

    ``times`` are the bars' timestamps (the feed's bar index) after the first ``offset`` bars
    (the warm-up bars, which every bar number of ``rows`` counts): ``entry_bar`` and
    ``exit_bar`` become numbers of ``times`` (``entry_bar - offset`` ...), ``entry_time =
    times[entry_bar]`` and ``exit_time = times[exit_bar]`` are the fill bars' times;
    ``bars_held = exit_bar - entry_bar``.

    Each leg (``entry_*``, ``exit_*``; the exit's empty for a trade still open):

    - ``signal_time``, ``signal_price``: the bar whose ``next()`` made the first order of
      the leg (``times[signal_bar - offset]``, ``offset`` the warm-up bars left out of
      ``times``) and its close;
    - ``arrival``: when the order reached the market (sent at the signal bar's close, plus
      the latency); ``first_fill``, ``last_fill``: its first and last fill times. With fills
      on the bars (no execution broker) the order arrives at the signal time and fills at the
      open of the next bar: both fill times are that bar's time (``entry_time``/``exit_time``);
    - ``slippage_ticks``: how much worse than the signal price the leg filled on average, in
      ticks of ``tick_size``: ``(entry_price - entry_signal_price) / tick`` for a long's entry,
      ``(exit_signal_price - exit_price) / tick`` for its exit, the opposite for a short
      (negative: better than the signal);
    - ``liquidity``: ``maker``, ``taker`` or ``mixed`` (empty with fills on the bars);
      ``ahead``: the volume ahead of a resting limit order at its arrival;

    and ``shortfall``: the profit lost between the signal prices and the fills, ``(entry
    slippage + exit slippage) * tick_size * size * multiplier`` (the exit's counted only for
    a closed trade; computed in price points, so it needs no tick size).
    """
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in TRADE_COLUMNS})
    frame = pd.DataFrame(rows).sort_values(["entry_bar", "exit_bar"], kind="stable").reset_index(drop=True)
    frame[["entry_bar", "exit_bar"]] -= offset  # bar numbers of ``times``
    frame["entry_time"] = times[frame["entry_bar"].to_numpy()]
    frame["exit_time"] = times[frame["exit_bar"].to_numpy()]
    frame["bars_held"] = frame["exit_bar"] - frame["entry_bar"]
    sign = np.where(frame["direction"] == "long", 1.0, -1.0)
    lost = {}  # price points lost against the signal, per unit
    for leg, against in (("entry", sign), ("exit", -sign)):
        legs = [r if isinstance(r, dict) else {} for r in frame.get(f"{leg}_leg", [None] * len(frame))]
        bar = np.array([r.get("signal_bar", -1) - offset if r else -1 for r in legs], np.int64)
        has = bar >= 0
        frame[f"{leg}_signal_time"] = pd.Series(times[np.where(has, bar, 0)], index=frame.index).where(has)
        price = np.array([r.get("signal_price", math.nan) if r else math.nan for r in legs], np.float64)
        frame[f"{leg}_signal_price"] = price
        broker = np.array([r.get("arrival") is not None for r in legs], bool)
        defaults = {"arrival": frame[f"{leg}_signal_time"], "first_fill": frame[f"{leg}_time"].where(has),
                    "last_fill": frame[f"{leg}_time"].where(has)}
        for field, default in defaults.items():
            stamps = np.array([r.get(field) if r.get(field) is not None else np.iinfo(np.int64).min for r in legs],
                              np.int64).view("datetime64[ns]")
            values = pd.Series(pd.DatetimeIndex(stamps).tz_localize("UTC"), index=frame.index)
            if times.tz is not None:
                values = values.dt.tz_convert(times.tz)
            else:
                values = values.dt.tz_localize(None)
            frame[f"{leg}_{field}"] = values.where(broker, default)
        frame[f"{leg}_liquidity"] = [r.get("liquidity") for r in legs]
        frame[f"{leg}_ahead"] = np.array([r.get("ahead", math.nan) for r in legs], np.float64)
        lost[leg] = against * (frame[f"{leg}_price"].to_numpy(np.float64) - price) + 0.0  # no -0.0
        with np.errstate(invalid="ignore", divide="ignore"):
            frame[f"{leg}_slippage_ticks"] = lost[leg] / tick_size
    exit_lost = np.where(frame["closed"].astype(bool).to_numpy(), lost["exit"], 0.0)
    frame["shortfall"] = (lost["entry"] + exit_lost) * frame["size"].to_numpy(np.float64) * multiplier
    if "roll" in frame:
        frame["roll"] = frame["roll"].fillna("")
    return frame[TRADE_COLUMNS + [c for c in ROLL_COLUMNS if c in frame]]
