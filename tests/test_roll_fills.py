"""A continuous contract with fills from the ticks (``--continuous ES --fills trades|book``): orders fill
against the series' own ticks (the adjusted prices its bars show), positions roll at each roll as with
bar fills, and an order whose prices a roll moves is simulated again in the new contract; numbers by hand."""
from __future__ import annotations

from datetime import datetime

import backtrader as bt
import numpy as np
import pandas as pd
import pytest

from data import LoadOptions, load_ticks
from execution.tape import FileTape, fill_source
from research import RunConfig, engine, run
from research.instruments import get_instrument
from research.trades import trades_frame
from run_backtest import main
from tests.test_continuous import rows, write_store
from tests.test_rolls import BuyAndSell  # one contract bought on bar ``enter``, closed on bar ``leave``

# ESH4 -> ESM4 at 2024-03-06 23:00 UTC (the session open of the roll date 03-07). The last trades before it:
# ESH4 5004.00 (22:30), ESM4 5054.50 (22:40): gap 50.50. ESH4's ticks from 23:00 on (4990.00 at 01:00, 4980.00 at
# 02:30) are not in the series: a fill on them would be one in the old contract after the roll.
CONTRACTS = {
    "ESH4": rows(("2024-03-06 14:00:30", 5000.00, 1, 1), ("2024-03-06 15:00:30", 5002.00, 2, 1),
                 ("2024-03-06 22:30:00", 5004.00, 1, -1), ("2024-03-07 01:00:00", 4990.00, 9, -1),
                 ("2024-03-07 02:30:00", 4980.00, 9, -1)),
    "ESM4": rows(("2024-03-06 22:40:00", 5054.50, 1, 1), ("2024-03-07 01:00:30", 5056.00, 3, 1),
                 ("2024-03-07 02:00:30", 5044.00, 2, -1), ("2024-03-07 02:10:00", 5043.00, 1, -1),
                 ("2024-03-07 03:00:30", 5058.00, 4, 1)),
}
# 1-hour bars (stamped at their end): 0 03-06 15:00, 1 16:00, 2 23:00 (ESH4 22:30), 3 03-07 02:00 (ESM4 01:00:30),
# 4 03:00 (02:00:30, 02:10), 5 04:00 (03:00:30). The roll is applied on bar 3, the first stamped after 23:00.


class BuyWithStop(bt.Strategy):
    """Buys one contract on bar 0 with a sell stop at ``stop`` (in the prices of the series then)."""

    params = (("stop", 4995.0),)

    def next(self):
        if len(self) == 1:
            self.buy(size=1)
            self.stop_order = self.sell(size=1, exectype=bt.Order.Stop, price=self.p.stop)


@pytest.fixture
def store(tmp_path):
    return write_store(tmp_path / "store", CONTRACTS)


def config(store, **changes):
    settings = dict(data=store, strategy=BuyAndSell, bars="1h", continuous="ES", adjust="add", cash=100_000.0,
                    instrument=get_instrument("ES"), commission_per_contract=2.5, cache=False, fills="trades")
    return RunConfig(**{**settings, **changes})


def trades_in_mode(cfg, runonce):
    loaded = engine.load(cfg)
    cerebro = engine.make_cerebro(cfg, loaded.bars, fills=loaded.fills)
    strategy = cerebro.run(runonce=runonce)[0]
    recorded = strategy.analyzers.recorder.get_analysis()
    return trades_frame(recorded["trades"], loaded.bars.index), recorded["values"][-1], cerebro.broker, strategy


def test_the_fill_source_is_the_series_with_its_adjusted_prices(store):
    options = RunConfig(data=store, continuous="ES", adjust="add").load_options
    whole = load_ticks(store, options=options)
    # add: ESH4 + 50.50; ESM4 as traded, from the roll on
    assert whole["price"].tolist() == [5050.5, 5052.5, 5054.5, 5056.0, 5044.0, 5043.0, 5058.0]
    tape = fill_source(store, "trades", options=options)
    assert isinstance(tape, FileTape)
    stamps = pd.DatetimeIndex(whole["timestamp"]).as_unit("ns").asi8
    for day in ("2024-03-06", "2024-03-07"):  # each window read alone (a restart): the prices of the whole series
        start = pd.Timestamp(day, tz="UTC").value
        end = start + 86_400_000_000_000
        window = FileTape(store, options, tick_size=0.25).window(start, end)
        inside = (stamps >= start) & (stamps < end)
        traded = window.time[window.trades.seq] >= start  # the first event is the last one before the window
        assert window.trades.price[traded].tolist() == whole["price"][inside].tolist()
    # a file holding both contracts: its whole replay is the series too
    both = pd.concat([t.assign(symbol=s) for s, t in CONTRACTS.items()]).sort_values("timestamp", kind="stable")
    one = store.parent / "both.csv"
    both.to_csv(one, index=False)
    replay = fill_source(one, "book", options=options)
    assert replay.trades.price.tolist() == whole["price"].tolist()
    assert replay.book is not None and np.isin(replay.book.ask, whole["ask"]).all()  # the ticks' own book, moved


@pytest.mark.parametrize("runonce", [True, False])
def test_a_position_held_across_an_add_adjusted_roll(store, runonce):
    # bought at bar 0's close: the next trade, ESH4 15:00:30 at 5002.00 (series 5052.50), booked on bar 1;
    # rolled on bar 3: out at 5054.50 (ESH4 5004.00), in at 5054.50 (ESM4 as traded); closed at bar 4's close:
    # the next trade, ESM4 03:00:30 at 5058.00. Real P&Ls: ESH4 +2.00 x 50 = 100, ESM4 +3.50 x 50 = 175.
    # Every fill pays 2.50 of commission and the taker fee (1.00): the roll's two fills are market orders.
    trades, value, broker, _ = trades_in_mode(config(store, taker_fee=("fixed", 1.0), maker_fee=("fixed", -0.5)),
                                              runonce)
    assert trades[["entry_price", "exit_price", "pnl", "commission", "pnl_net"]].values.tolist() == [
        [5052.5, 5054.5, 100.0, 7.0, 93.0], [5054.5, 5058.0, 175.0, 7.0, 168.0]]
    assert trades["roll"].tolist() == ["out", "in"]
    assert trades[["entry_bar", "exit_bar"]].values.tolist() == [[1, 3], [3, 5]]
    assert value == 100_000 + 100 + 175 - 4 * 3.5
    assert [(d["from"], d["to"], d["exit_price"], d["entry_price"]) for d in broker.p.roller.done] == [
        ("ESH4", "ESM4", 5054.5, 5054.5)]


def test_the_engine_run_names_the_contracts_and_the_rolls(store):
    result = run(config(store))
    assert result.trades[["contract", "roll", "pnl"]].values.tolist() == [["ESH4", "out", 100.0], ["ESM4", "in", 175.0]]
    assert result.analyzers["rolls"][0]["time"] == "2024-03-06T23:00:00+00:00"
    assert result.equity["value"].iloc[-1] == 100_000 + 275 - 4 * 2.5


@pytest.mark.parametrize("runonce", [True, False])
def test_a_stop_pending_across_the_roll_fills_at_its_moved_price_in_the_new_contract(store, runonce):
    # adjust none: the series jumps by 50.50 at the roll, and the sell stop at 4995.00 moves to 5045.50.
    # ESH4's 4990.00 at 01:00 (after the roll) would have hit the old stop: it is not in the series. In ESM4,
    # 5044.00 at 02:00:30 is through 5045.50: the stop is hit and fills as a market order at the next trade,
    # 5043.00 at 02:10, booked on bar 4 (03:00).
    trades, value, broker, strategy = trades_in_mode(config(store, strategy=BuyWithStop, adjust="none"), runonce)
    stop = strategy.stop_order
    assert stop.created.price == 4995.0 + 50.5
    assert stop.status == bt.Order.Completed
    assert (stop.executed.price, stop.executed.size) == (5043.0, -1)
    assert stop.info.fill_times == [pd.Timestamp("2024-03-07 02:10", tz="UTC").value]
    # ESH4 5002.00 -> 5004.00: +100; ESM4 5054.50 -> 5043.00: -11.50 x 50 = -575
    assert trades[["entry_price", "exit_price", "pnl", "roll"]].values.tolist() == [
        [5002.0, 5004.0, 100.0, "out"], [5054.5, 5043.0, -575.0, "in"]]
    assert trades["exit_bar"].tolist() == [3, 4]
    assert value == 100_000 + 100 - 575 - 4 * 2.5


@pytest.mark.parametrize("runonce", [True, False])
def test_close_at_the_roll_cancels_the_pending_stop_at_the_roll(store, runonce):
    # latency 30 min: bought at bar 0's close (15:00), arriving 15:30: ESH4's 5004.00 at 22:30 (series 5054.50),
    # booked on bar 2; closed by the roll on bar 3 at 5054.50. The sell stop at 5045.00 is cancelled at the roll
    # (23:00), not by a cancel sent at bar 3's close (02:00) arriving at 02:30: that one would let ESM4's 5044.00
    # at 02:00:30 hit it (a fill at 5043.00 at 02:10).
    trades, value, _, strategy = trades_in_mode(
        config(store, strategy=BuyWithStop, params={"stop": 5045.0}, roll_positions="close",
               latency="30min"), runonce)
    assert trades[["entry_price", "exit_price", "pnl", "roll"]].values.tolist() == [[5054.5, 5054.5, 0.0, "out"]]
    assert strategy.stop_order.status == bt.Order.Canceled
    assert strategy.stop_order.executed.size == 0
    assert value == 100_000 - 2 * 2.5


@pytest.mark.parametrize("runonce", [True, False])
def test_a_bar_holding_the_roll_books_the_old_contracts_fills_before_rolling(store, runonce):
    # 2-hour bars: 0 03-06 16:00 (14:00:30, 15:00:30), 1 03-07 00:00 (22:30: it holds the roll at 23:00),
    # 2 02:00 (01:00:30), 3 04:00 (02:00:30 .. 03:00:30). Bought at bar 0's close: the next trade is ESH4's 5004.00
    # at 22:30, before the roll, booked on bar 1; then the roll on bar 1: out at 5004.00, in at 5054.50.
    # Closed at bar 2's close: ESM4 5044.00 at 02:00:30. adjust none: ESH4 0, ESM4 -10.50 x 50.
    trades, value, broker, _ = trades_in_mode(config(store, bars="2h", adjust="none", strategy=LeaveAt2), runonce)
    assert trades[["entry_price", "exit_price", "pnl", "roll"]].values.tolist() == [
        [5004.0, 5004.0, 0.0, "out"], [5054.5, 5044.0, -525.0, "in"]]
    assert [d["size"] for d in broker.p.roller.done] == [1.0]
    assert value == 100_000 - 525 - 4 * 2.5


class LeaveAt2(BuyAndSell):
    params = (("enter", 0), ("leave", 2))


def test_the_command_line_rolls_with_fills_from_the_ticks(store, tmp_path, capsys):
    out = tmp_path / "out"
    code = main([str(store), "--continuous", "ES", "--adjust", "add", "--bars", "1h", "--fills", "trades",
                 "--strategy", "tests.test_roll_fills:BuyAndSell", "--instrument", "ES",
                 "--commission-per-contract", "2.5", "--out", str(out), "--no-plot", "--no-cache", "--quiet"])
    assert code == 0, capsys.readouterr().err
    trades = pd.read_csv(out / "trades.csv")
    assert trades[["contract", "roll", "pnl"]].values.tolist() == [["ESH4", "out", 100.0], ["ESM4", "in", 175.0]]


def test_quotes_of_one_contract_are_refused_for_the_series(store, tmp_path, capsys):
    from data import OrderFlowError

    with pytest.raises(OrderFlowError, match="--quotes is the book of one contract"):
        config(store, fills="book", quotes=tmp_path / "q.csv")
    assert main([str(store), "--continuous", "ES", "--fills", "book", "--quotes", str(tmp_path / "q.csv"),
                 "--out", str(tmp_path / "o"), "--no-plot", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --quotes is the book of one contract") and err.count("\n") == 1


def test_load_options_of_the_fill_source_are_the_runs(store):
    assert config(store).load_options == LoadOptions(continuous="ES", adjust="add")


# A bracket whose entry fills before the roll, on the old contract: 16:30 .. 22:45 are ESH4 trades before the
# 23:00 roll; 01:00 is ESH4's after it (not in the series). Last before the roll: ESH4 5015.00 (22:45), ESM4 5054.50
# (22:40): gap 39.50.
BRACKETED = {
    "ESH4": rows(("2024-03-06 14:00:30", 5000.00, 1, 1), ("2024-03-06 16:30:00", 5003.00, 1, 1),
                 ("2024-03-06 22:10:00", 5004.00, 1, -1), ("2024-03-06 22:30:00", 5010.00, 1, 1),
                 ("2024-03-06 22:45:00", 5015.00, 1, 1), ("2024-03-07 01:00:00", 4990.00, 9, -1)),
    "ESM4": rows(("2024-03-06 22:40:00", 5054.50, 1, 1), ("2024-03-07 01:00:30", 5056.00, 3, 1),
                 ("2024-03-07 02:00:30", 5044.00, 2, -1)),
}


class Bracket(bt.Strategy):
    """A market buy bracket (one contract) on bar ``enter``, with a sell limit at ``target`` and a sell stop at 4980."""

    params = (("enter", 0), ("target", 5008.0))

    def next(self):
        if len(self) - 1 == self.p.enter:
            self.entry, self.stop_loss, self.target = self.buy_bracket(
                size=1, exectype=bt.Order.Market, limitprice=self.p.target, stopprice=4980.0)


@pytest.mark.parametrize("runonce", [True, False])
@pytest.mark.parametrize("bars", ["1h", "2h"])
@pytest.mark.parametrize("enter, target, entry, exit_", [
    # bought at bar 0's close (1h: 15:00, 2h: 16:00): ESH4's 5003.00 at 16:30, on bar 1. The target at 5008.00,
    # sent then, rests (5004.00 at 22:10 is below it) until 5010.00 at 22:30 trades through it: filled at 5008.00
    (0, 5008.0, (5003.0, "16:30"), (5008.0, "22:30")),
    # bought at bar 1's close (1h: 17:00, 2h: 18:00): 5004.00 at 22:10, on bar 2. The target at 5012.00, sent at
    # 22:10, rests (5010.00 at 22:30) until 5015.00 at 22:45 trades through it: filled at 5012.00, booked with 2h
    # bars on bar 2 (before the roll, on the bar holding it), with 1h bars on bar 3 (the bar after the parent's:
    # the children are activated there, and booked before the roll applied on it)
    (1, 5012.0, (5004.0, "22:10"), (5012.0, "22:45")),
])
def test_a_bracket_whose_target_fills_before_the_roll_is_not_rolled(tmp_path, runonce, bars, enter, target,
                                                                     entry, exit_):
    # 1h bars: 0 15:00 (14:00:30), 1 17:00 (16:30), 2 23:00 (22:10 .. 22:45), 3 02:00 (01:00:30): the roll is
    # applied on bar 3. 2h bars: 0 16:00, 1 18:00, 2 00:00 (22:10 .. 22:45: it holds the roll), 3 02:00. The
    # children of a bracket are activated at the start of the bar after their parent's fill; the fills before the
    # roll are booked at the start of the bar where it is applied: the children activated there first (and those
    # of a parent filling in it: 2h, the second case). Either way the target fills before the roll, the stop is
    # cancelled with it, and the position is flat at the roll: nothing is rolled, one trade on ESH4.
    store = write_store(tmp_path / "store", BRACKETED)
    cfg = config(store, strategy=Bracket, params={"enter": enter, "target": target}, bars=bars, adjust="none")
    trades, value, broker, strategy = trades_in_mode(cfg, runonce)
    assert strategy.entry.info.fill_times == [pd.Timestamp(f"2024-03-06 {entry[1]}", tz="UTC").value]
    assert strategy.target.info.fill_times == [pd.Timestamp(f"2024-03-06 {exit_[1]}", tz="UTC").value]
    assert (strategy.target.status, strategy.target.executed.price) == (bt.Order.Completed, exit_[0])
    assert (strategy.stop_loss.status, strategy.stop_loss.executed.size) == (bt.Order.Canceled, 0)
    assert broker.p.roller.done == []
    pnl = (exit_[0] - entry[0]) * 50  # 5.00 x 50 = 250; 8.00 x 50 = 400
    assert trades[["entry_price", "exit_price", "pnl"]].values.tolist() == [[entry[0], exit_[0], pnl]]
    assert trades[["entry_bar", "exit_bar"]].values.tolist() == [[enter + 1, 3 if (enter, bars) == (1, "1h") else 2]]
    assert value == 100_000 + pnl - 2 * 2.5


class BuyUntil(bt.Strategy):
    """A buy limit at 5004.50 on bar 1, valid until 2024-03-06 20:00 (UTC)."""

    def next(self):
        if len(self) == 2:
            self.limit = self.buy(size=1, exectype=bt.Order.Limit, price=5004.5, valid=datetime(2024, 3, 6, 20))


@pytest.mark.parametrize("runonce", [True, False])
@pytest.mark.parametrize("bars", ["1h", "2h"])
def test_an_order_expired_on_the_bar_holding_the_roll_books_no_fill_before_it(tmp_path, runonce, bars):
    # sent at bar 1's close (1h: 17:00, 2h: 18:00). ESH4's 5004.00 at 22:10 trades through it, in bar 2 (1h: 23:00,
    # 2h: 00:00, holding the roll): Backtrader expires the order on the first bar stamped after 20:00, before it
    # executes there; the fills before the roll booked on that bar are no exception: no fill, nothing to roll.
    store = write_store(tmp_path / "store", BRACKETED)
    _, value, broker, strategy = trades_in_mode(config(store, strategy=BuyUntil, bars=bars, adjust="none"), runonce)
    assert (strategy.limit.status, strategy.limit.executed.size) == (bt.Order.Expired, 0)
    assert strategy.limit.info.fill_times == []
    assert broker.p.roller.done == []
    assert value == 100_000
