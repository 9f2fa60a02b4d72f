"""execution.broker: Backtrader orders filled by execution.simulate inside the following bars,
worked out by hand on a tiny book; --fills bar is Backtrader's own broker, unchanged."""
from __future__ import annotations

import backtrader as bt
import numpy as np
import pandas as pd
import pytest

import run_backtest as rb
from data import OrderFlowError
from execution import simulate
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


def ticks(rows: list[tuple] = ROWS) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["timestamp", "price", "size", "side", "bid", "ask", "bid_size", "ask_size"])
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


class Cancelling(bt.Strategy):
    """Bar 10:01: a buy limit 100.25 x ``size``; cancelled on bar ``cancel_on`` (1: at once, in the same next())."""

    params = (("size", 6), ("cancel_on", 2))

    def __init__(self) -> None:
        self.order: bt.Order | None = None
        self.notes: list[tuple[str, str, float]] = []

    def notify_order(self, order: bt.Order) -> None:
        self.notes.append((f"{self.data.datetime.datetime(0):%H:%M}", order.getstatusname(), order.executed.size))

    def next(self) -> None:
        if len(self) == 1:
            self.order = self.buy(exectype=bt.Order.Limit, price=100.25, size=self.p.size)
        if len(self) == self.p.cancel_on:
            self.cancel(self.order)


def test_a_cancel_arrives_after_the_latency_and_fills_before_it_stand():
    result = run(RunConfig(data=ticks(), strategy=Cancelling, bars="1min", fills="book", latency="55s"))
    strat = result.strategy
    # the buy limit 100.25 x 6, sent at 10:01, arrives at 10:01:55: the bid 100.25 shows 3 ahead; the seller of 3
    # at 10:02:30 takes them, the 100.00 sale of 4 at 10:02:50 prints through: 4 filled at 100.25. The cancel,
    # asked on bar 10:02, arrives at 10:02:55: the fill at 10:02:50 stands, the other 2 are cancelled, both in the
    # bar 10:03 that holds them.
    assert executions(strat.order) == [("10:03", 4, 100.25)]
    assert strat.notes[-2:] == [("10:03", "Partial", 4), ("10:03", "Canceled", 4)]
    # the simulator's own rule (cancel_time, the same latency) gives the same fills
    sent = pd.DataFrame({"id": [1], "time": [pd.Timestamp("2024-03-01 10:01", tz="UTC")], "side": [1],
                         "type": ["limit"], "price": [100.25], "size": [6],
                         "cancel_time": [pd.Timestamp("2024-03-01 10:02", tz="UTC")]})
    fills = simulate(sent, ticks(), latency="55s")
    assert [(f"{f.time:%H:%M:%S}", f.size, f.price) for f in fills.itertuples()] == [("10:02:50", 4, 100.25)]


def test_a_cancel_without_latency_takes_effect_at_the_close():
    result = run(RunConfig(data=ticks(), strategy=Cancelling, bars="1min", fills="book",
                           params={"size": 4, "cancel_on": 1}))
    strat = result.strategy
    # sent and cancelled at the 10:01 close: the 2 taken from the 100.25 offer at 10:01 itself stand; the 2 that
    # would rest until 10:02:30 are gone
    assert executions(strat.order) == [("10:02", 2, 100.25)]
    assert strat.order.status == bt.Order.Canceled and strat.notes[-1] == ("10:02", "Canceled", 2)


def test_a_cancel_after_the_last_fill_changes_nothing():
    result = run(RunConfig(data=ticks(), strategy=Cancelling, bars="1min", fills="book", latency="55s",
                           params={"size": 4, "cancel_on": 3}))
    # the 4 fill at 10:02:50 (bar 10:03); the cancel asked on bar 10:03 finds the order completed
    assert executions(result.strategy.order) == [("10:03", 4, 100.25)]
    assert result.strategy.order.status == bt.Order.Completed


class CancelInGroup(bt.Strategy):
    """Bar 10:01: ``group`` "oco": a sell stop 100.00 (A) and a buy limit 99.00 (B) in one OCO group;
    "bracket": a market buy of 1 with a target 101.00 (B) and a stop 100.00 (A). Bar 10:02: cancel B."""

    params = (("group", "oco"),)

    def __init__(self) -> None:
        self.a = self.b = None

    def next(self) -> None:
        if len(self) == 1 and self.p.group == "oco":
            self.a = self.sell(exectype=bt.Order.Stop, price=100.0, size=1)
            self.b = self.buy(exectype=bt.Order.Limit, price=99.0, size=1, oco=self.a)
        elif len(self) == 1:
            _, self.a, self.b = self.buy_bracket(size=1, exectype=bt.Order.Market, limitprice=101.0, stopprice=100.0)
        elif len(self) == 2:
            self.cancel(self.b)


@pytest.mark.parametrize("group", ["oco", "bracket"])
def test_a_cancel_cancels_its_group_when_it_arrives(group):
    result = run(RunConfig(data=ticks(), strategy=CancelInGroup, bars="1min", fills="book", latency="10s",
                           params={"group": group}))
    strat = result.strategy
    # B's cancel, asked on bar 10:02, arrives at 10:02:10 and takes its group with it: the sell stop 100.00 (A),
    # which the sale at 100.00 at 10:02:50 would trigger, is cancelled before that and never fills
    assert strat.b.status == bt.Order.Canceled and strat.a.status == bt.Order.Canceled
    assert executions(strat.a) == []


class Trailing(bt.Strategy):
    """Bar 10:01 (close 100.25): a sell trailing stop 0.25 under the best price, and a sell trailing stop-limit
    with its stop 0.5 under 100.25 and its limit 0.25 under the stop."""

    def __init__(self) -> None:
        self.placed: dict[str, bt.Order] = {}

    def next(self) -> None:
        if len(self) == 1:
            self.placed["trail"] = self.sell(exectype=bt.Order.StopTrail, trailamount=0.25, size=1)
            self.placed["trail_limit"] = self.sell(exectype=bt.Order.StopTrailLimit, price=100.25, plimit=100.0,
                                                   trailamount=0.5, size=1)


def test_trailing_stops_follow_the_trades():
    placed = run(RunConfig(data=ticks(), strategy=Trailing, bars="1min", fills="book")).strategy.placed
    # the trail: its first stop is 100.00 (the close less 0.25); the 100.50 trade at 10:01:40 lifts it to 100.25;
    # the 100.25 trade at 10:02:30 triggers it: sold into the 100.25 bid (bar 10:03). A plain stop at 100.00 would
    # have waited for 10:02:50.
    assert executions(placed["trail"]) == [("10:03", -1, 100.25)]
    # the trail-limit: stop 99.75, limit 99.50; lifted to 100.00 / 99.75 by the 100.50 trade; the 100.00 trade at
    # 10:02:50 triggers it; the bid 100.00 x 6 is above its limit: sold there
    assert executions(placed["trail_limit"]) == [("10:03", -1, 100.0)]
