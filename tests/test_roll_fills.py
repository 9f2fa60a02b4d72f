"""A continuous contract with fills from the ticks (``--continuous ES --fills trades|book``): orders fill
against the series' own ticks (the adjusted prices its bars show), positions roll at each roll as with
bar fills, and an order whose prices a roll moves is simulated again in the new contract; numbers by hand."""
from __future__ import annotations

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


class BuyAndSell(bt.Strategy):
    """Buys one contract on bar ``enter`` and closes on bar ``leave`` (market orders at the bar's close)."""

    params = (("enter", 0), ("leave", 4))

    def next(self):
        if len(self) - 1 == self.p.enter:
            self.buy(size=1)
        if len(self) - 1 == self.p.leave and self.position:
            self.close()


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
