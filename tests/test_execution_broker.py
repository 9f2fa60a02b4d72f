"""execution.broker: Backtrader orders filled by execution.simulate inside the following bars,
worked out by hand on a tiny book; --fills bar is Backtrader's own broker, unchanged."""
from __future__ import annotations

import backtrader as bt
import numpy as np
import pandas as pd
import pytest

import run_backtest as rb
from data import OrderFlowError
from research import RunConfig, run
from tests.conftest import need_sample

# Each row is a trade with the quote in force just before it (bid, ask, bid size, ask size).
ROWS = [
    ("10:00:10", 100.00, 1, -1, 100.00, 100.25, 5, 2),
    ("10:00:50", 100.25, 1, 1, 100.00, 100.25, 5, 2),   # bar 10:01 ends here
    ("10:01:20", 100.25, 2, 1, 100.00, 100.25, 5, 2),   # a buyer takes the 2 offered at 100.25
    ("10:01:40", 100.50, 1, 1, 100.25, 100.50, 3, 4),
    ("10:02:30", 100.25, 3, -1, 100.25, 100.50, 3, 4),  # a seller hits the 3 bid at 100.25
    ("10:02:50", 100.00, 4, -1, 100.00, 100.25, 6, 1),
    ("10:03:30", 100.25, 1, 1, 100.00, 100.25, 6, 1),
]


def ticks() -> pd.DataFrame:
    frame = pd.DataFrame(ROWS, columns=["timestamp", "price", "size", "side", "bid", "ask", "bid_size", "ask_size"])
    frame["timestamp"] = pd.to_datetime("2024-03-01 " + frame["timestamp"], utc=True).dt.as_unit("ns")
    frame["side"] = frame["side"].astype(np.int8)
    for c in ("size", "bid_size", "ask_size"):
        frame[c] = frame[c].astype(np.float64)
    return frame


class EveryType(bt.Strategy):
    """On the first bar (10:01): a market buy of 3, a buy limit 100.25 x 4, a sell stop 100.00 x 1 and a
    buy stop-limit 100.50 / 100.50 x 1."""

    def __init__(self) -> None:
        self.placed: dict[str, bt.Order] = {}

    def next(self) -> None:
        if len(self) == 1:
            self.placed["market"] = self.buy(size=3)
            self.placed["limit"] = self.buy(exectype=bt.Order.Limit, price=100.25, size=4)
            self.placed["stop"] = self.sell(exectype=bt.Order.Stop, price=100.0, size=1)
            self.placed["stop_limit"] = self.buy(exectype=bt.Order.StopLimit, price=100.5, plimit=100.5, size=1)


class Bracket(bt.Strategy):
    def __init__(self) -> None:
        self.placed: list[bt.Order] = []

    def next(self) -> None:
        if len(self) == 1:
            self.placed = self.buy_bracket(size=1, exectype=bt.Order.Market, limitprice=100.5, stopprice=100.0)


def executions(order: bt.Order) -> list[tuple[str, float, float]]:
    """(bar in which it was booked, size, price) of each execution of an order."""
    return [(f"{bt.num2date(b.dt):%H:%M}", b.size, b.price) for b in order.executed.exbits]


def test_every_order_type_fills_inside_the_following_bars():
    result = run(RunConfig(data=ticks(), strategy=EveryType, bars="1min", fills="book"))
    placed = result.strategy.placed
    # market buy 3, sent at 10:01:00: the book then offers 100.25 x 2 (the quote before the 10:01:20 trade is not
    # in force yet: the state is the one after 10:00:50): 2 there; the last 1 waits for a price not yet taken:
    # 100.50 in the quote at 10:01:40. Both in the bar 10:02 (ticks in (10:01, 10:02]).
    assert executions(placed["market"]) == [("10:02", 2, 100.25), ("10:02", 1, 100.5)]
    # buy limit 100.25 x 4: marketable (offer 100.25): 2 taken at once; 2 rest at 100.25 with nothing ahead (the
    # bid is 100.00); the seller of 3 at 10:02:30 fills them (bar 10:03)
    assert executions(placed["limit"]) == [("10:02", 2, 100.25), ("10:03", 2, 100.25)]
    # sell stop 100.00: the trade at 100.00 (10:02:50) triggers it; the book then bids 100.00 x 6
    assert executions(placed["stop"]) == [("10:03", -1, 100.0)]
    # buy stop-limit 100.50: the 100.50 trade at 10:01:40 triggers it; the offer is then 100.50 x 4: filled there
    assert executions(placed["stop_limit"]) == [("10:02", 1, 100.5)]
    assert placed["market"].status == bt.Order.Completed and placed["limit"].status == bt.Order.Completed


def test_maker_and_taker_fees_by_fill():
    result = run(RunConfig(data=ticks(), strategy=EveryType, bars="1min", fills="book",
                           maker_fee=("fixed", -0.25), taker_fee=("fixed", 0.5)))
    placed = result.strategy.placed
    # the limit: 2 taken (2 x 0.50) and 2 made (2 x -0.25 rebate) = 0.50; the market order took all 3: 1.50
    assert placed["limit"].executed.comm == pytest.approx(0.5)
    assert placed["market"].executed.comm == pytest.approx(1.5)
    value = run(RunConfig(data=ticks(), strategy=EveryType, bars="1min", fills="book",
                          taker_fee=("perc", 0.001))).strategy.placed["stop"].executed.comm
    assert value == pytest.approx(1 * 100.0 * 0.001)  # a tenth of a percent of the 100.00 sold


def test_bracket_children_go_live_when_the_parent_fills():
    result = run(RunConfig(data=ticks(), strategy=Bracket, bars="1min", fills="book"))
    parent, stop, limit = result.strategy.placed
    # parent: market buy 1 at 10:01:00 -> 100.25 (bar 10:02). The children are sent at that fill. The stop
    # (sell 100.00) triggers at 10:02:50 and sells 1 at the 100.00 bid; the take-profit (sell limit 100.50) had
    # 4 ahead from when its level first showed and only 1 traded there: it is cancelled by its OCO partner.
    assert executions(parent) == [("10:02", 1, 100.25)]
    assert executions(stop) == [("10:03", -1, 100.0)]
    assert limit.status == bt.Order.Canceled and executions(limit) == []


def test_trades_fills_take_the_next_trade():
    result = run(RunConfig(data=ticks(), strategy=EveryType, bars="1min", fills="trades", latency="30s"))
    placed = result.strategy.placed
    # 30 s of latency: the market buy arrives at 10:01:30; the next trade is 100.50 at 10:01:40, whole size
    assert executions(placed["market"]) == [("10:02", 3, 100.5)]
    # the buy limit 100.25: the first trade after arrival (100.50) is not at or below it, so it rests; it fills
    # only from trades through 100.25 on its side: the seller's 100.00 at 10:02:50 (4 lots), all 4 at 100.25
    assert executions(placed["limit"]) == [("10:03", 4, 100.25)]


def test_a_source_without_the_data_a_mode_needs_is_one_clear_error(tmp_path, capsys):
    trades_only = ticks().drop(columns=["bid", "ask", "bid_size", "ask_size"])
    with pytest.raises(OrderFlowError, match="--fills book needs quotes"):
        run(RunConfig(data=trades_only, strategy=EveryType, bars="1min", fills="book"))
    with pytest.raises(OrderFlowError, match="--queue fifo needs --fills book"):
        run(RunConfig(data=ticks(), strategy=EveryType, bars="1min", fills="trades", queue="fifo"))
    with pytest.raises(OrderFlowError, match="fifo.*order ids"):
        run(RunConfig(data=ticks(), strategy=EveryType, bars="1min", fills="book", queue="fifo"))
    assert rb.main(["--queue", "fifo", "--no-plot", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --queue needs --fills trades or --fills book") and err.count("\n") == 1
    assert rb.main(["--fills", "book", "--latency", "soon", "--no-plot", "--out", str(tmp_path)]) == 2
    assert "latency must be a duration" in capsys.readouterr().err


def test_fills_bar_is_backtraders_own_broker_unchanged(tmp_path):
    sample = need_sample()
    today = run(RunConfig(data=sample, bars="5min"))
    bar = run(RunConfig(data=sample, bars="5min", fills="bar"))
    assert type(bar.cerebro.broker) is bt.brokers.BackBroker
    pd.testing.assert_frame_equal(today.trades, bar.trades)
    pd.testing.assert_frame_equal(today.equity, bar.equity)
    assert today.metrics == bar.metrics
    assert rb.main([str(sample), "--bars", "5min", "--fills", "bar", "--no-plot", "--out", str(tmp_path / "a")]) == 0
    assert rb.main([str(sample), "--bars", "5min", "--no-plot", "--out", str(tmp_path / "b")]) == 0
    assert (tmp_path / "a" / "trades.csv").read_text() == (tmp_path / "b" / "trades.csv").read_text()
