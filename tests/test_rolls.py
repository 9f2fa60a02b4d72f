"""A position held across the roll of a continuous contract: rolled by the engine's broker (or
closed), both roll fills paying the costs, in both of Backtrader's run modes; numbers by hand."""
from __future__ import annotations

import json

import backtrader as bt
import pandas as pd
import pytest

from data import LoadOptions, OrderFlowError, OrderFlowFeed, make_bars, scan_ticks
from indicators import CumulativeVolumeDelta
from research import RunConfig, engine, run
from research.instruments import get_instrument
from research.trades import trades_frame
from run_backtest import main
from tests.test_continuous import rows, write_store

# ESH4 -> ESM4 on 2024-03-07, at the session open (17:00 Chicago on 03-06: 23:00 UTC). ESH4's last trade
# before it: 5004.00 (03-06 22:30); ESM4's: 5054.50 (03-06 22:40): gap 50.50. 1-hour bars of the add-adjusted
# series (ESH4 + 50.50):
#   bar 0  03-06 15:00  5050.50      bar 3  03-07 02:00  5056.00 (ESM4)
#   bar 1  03-06 16:00  5052.50      bar 4  03-07 03:00  5060.00
#   bar 2  03-06 23:00  5054.50      bar 5  03-07 04:00  5058.00
CONTRACTS = {
    "ESH4": rows(("2024-03-06 14:00:30", 5000.00, 1, 1), ("2024-03-06 15:00:30", 5002.00, 2, 1),
                 ("2024-03-06 22:30:00", 5004.00, 1, -1), ("2024-03-07 01:00:00", 5003.00, 9, -1)),
    "ESM4": rows(("2024-03-06 22:40:00", 5054.50, 1, 1), ("2024-03-07 01:00:30", 5056.00, 3, 1),
                 ("2024-03-07 02:00:30", 5060.00, 2, -1), ("2024-03-07 03:00:30", 5058.00, 4, 1)),
}


class BuyAndSell(bt.Strategy):
    """Buys one contract on bar ``enter`` (filled at the next bar's open) and closes on bar ``leave``."""

    params = (("enter", 0), ("leave", 4))

    def next(self):
        if len(self) - 1 == self.p.enter:
            self.buy(size=1)
        if len(self) - 1 == self.p.leave and self.position:
            self.close()


@pytest.fixture
def store(tmp_path):
    return write_store(tmp_path / "store", CONTRACTS)


def config(store, **changes):
    settings = dict(data=store, strategy=BuyAndSell, bars="1h", continuous="ES", adjust="add", cash=100_000.0,
                    instrument=get_instrument("ES"), commission_per_contract=2.5, cache=False)
    return RunConfig(**{**settings, **changes})


def trades_in_mode(cfg, runonce):
    """The trades of a run in one of Backtrader's modes (vectorised ``runonce`` or bar by bar)."""
    loaded = engine.load(cfg)
    cerebro = engine.make_cerebro(cfg, loaded.bars)
    strategy = cerebro.run(runonce=runonce)[0]
    recorded = strategy.analyzers.recorder.get_analysis()
    return trades_frame(recorded["trades"], loaded.bars.index), recorded["values"][-1], cerebro.broker


@pytest.mark.parametrize("runonce", [True, False])
def test_a_position_rolled_across_an_add_adjusted_roll(store, runonce):
    trades, value, broker = trades_in_mode(config(store), runonce)
    # Real P&Ls: ESH4 bought at 5002.00, rolled out at 5004.00: +2.00 x 50 = 100;
    # ESM4 rolled in at 5054.50, sold at 5058.00: +3.50 x 50 = 175. In the series: 5052.50 -> 5054.50
    # and 5054.50 -> 5058.00. Four fills at 2.50: the entry, the two roll fills, the exit.
    assert trades[["entry_price", "exit_price", "pnl", "commission", "pnl_net"]].values.tolist() == [
        [5052.5, 5054.5, 100.0, 5.0, 95.0], [5054.5, 5058.0, 175.0, 5.0, 170.0]]
    assert trades["roll"].tolist() == ["out", "in"]
    assert trades[["entry_bar", "exit_bar"]].values.tolist() == [[1, 3], [3, 5]]
    # held across the roll: 5052.50 -> 5058.00 = 5.50 x 50 = 275 = 100 + 175, the two real P&Ls;
    # minus the roll's two fills (5.00) and the entry and exit (5.00)
    assert trades["pnl"].sum() == (5058.0 - 5052.5) * 50 == 100 + 175
    assert value == 100_000 + 275 - 5.0 - 5.0
    assert [(d["from"], d["to"], d["exit_price"], d["entry_price"]) for d in broker.p.roller.done] == [
        ("ESH4", "ESM4", 5054.5, 5054.5)]


def test_the_engine_run_names_the_contracts(store):
    result = run(config(store))
    assert result.trades[["contract", "roll"]].values.tolist() == [["ESH4", "out"], ["ESM4", "in"]]
    assert result.analyzers["rolls"][0]["time"] == "2024-03-06T23:00:00+00:00"  # 17:00 Chicago, the session open
    assert result.equity["value"].iloc[-1] == 100_000 + 265


@pytest.mark.parametrize("runonce", [True, False])
def test_roll_fills_pay_the_slippage(store, runonce):
    # one tick (0.25) against each fill: the roll sells at 5054.25 and buys at 5054.75 (the entry
    # and the exit fill at one-tick bars, where Backtrader caps the slippage at the bar's range)
    trades, value, _ = trades_in_mode(config(store, slippage_ticks=1.0), runonce)
    assert trades[["entry_price", "exit_price", "pnl"]].values.tolist() == [
        [5052.5, 5054.25, 87.5], [5054.75, 5058.0, 162.5]]
    assert value == 100_000 + 275 - 2 * 0.25 * 50 - 10.0


@pytest.mark.parametrize("runonce", [True, False])
def test_traded_prices_roll_at_each_contracts_price(store, runonce):
    # adjust none: the series jumps by 50.50 at the roll; the position leaves ESH4 at 5004.00 and
    # enters ESM4 at 5054.50, so the run's P&L is still 100 + 175
    trades, value, _ = trades_in_mode(config(store, adjust="none"), runonce)
    assert trades[["entry_price", "exit_price", "pnl"]].values.tolist() == [
        [5002.0, 5004.0, 100.0], [5054.5, 5058.0, 175.0]]
    assert value == 100_000 + 275 - 10.0


@pytest.mark.parametrize("runonce", [True, False])
def test_close_at_the_roll_leaves_it_to_the_strategy(store, runonce):
    trades, value, _ = trades_in_mode(config(store, roll_positions="close"), runonce)
    assert trades[["entry_price", "exit_price", "pnl", "commission"]].values.tolist() == [[5052.5, 5054.5, 100.0, 5.0]]
    assert trades["roll"].tolist() == ["out"]
    assert value == 100_000 + 100 - 5.0


class Bracketed(bt.Strategy):
    """A long with a stop 3.00 below the entry bar's close, on bar 0."""

    def next(self):
        if len(self) == 1:
            self.orders = self.buy_bracket(size=1, exectype=bt.Order.Market, stopprice=self.data.close[0] - 3.0,
                                           limitprice=self.data.close[0] + 100.0)


def test_pending_stops_move_with_an_unadjusted_roll(store):
    cfg = config(store, strategy=Bracketed, adjust="none")
    loaded = engine.load(cfg)
    cerebro = engine.make_cerebro(cfg, loaded.bars)
    strategy = cerebro.run()[0]
    stop, target = strategy.orders[1], strategy.orders[2]
    # entry on bar 0's close 5000.00: stop 4997.00, target 5100.00, moved by the jump of 50.50
    assert (stop.created.price, target.created.price) == (4997.0 + 50.5, 5100.0 + 50.5)
    assert strategy.position.size == 1  # still held in ESM4: 5056 .. 5060 stays inside 5047.50 .. 5150.50


def test_cvd_reset_at_the_roll(store):
    bars = make_bars(scan_ticks(store, continuous="ES", adjust="add"), "1h", tick_size=0.25)
    # deltas per bar: +1, +2, -1 (ESH4), then +3, -2, +4 (ESM4)
    assert bars["delta"].tolist() == [1.0, 2.0, -1.0, 3.0, -2.0, 4.0]
    for runonce in (True, False):
        cerebro = bt.Cerebro(stdstats=False)
        cerebro.adddata(OrderFlowFeed.from_bars(bars))
        cerebro.addstrategy(WatchCVD)
        strategy = cerebro.run(runonce=runonce)[0]
        assert list(strategy.never.array) == [1.0, 3.0, 2.0, 5.0, 3.0, 7.0]
        assert list(strategy.roll.array) == [1.0, 3.0, 2.0, 3.0, 1.0, 5.0]


class WatchCVD(bt.Strategy):
    def __init__(self):
        self.never = CumulativeVolumeDelta(self.data)
        self.roll = CumulativeVolumeDelta(self.data, reset="roll")


def test_the_command_line_rolls_and_writes_the_roll_table(store, tmp_path, capsys):
    out = tmp_path / "out"
    code = main([str(store), "--continuous", "ES", "--roll", "days:8", "--adjust", "add", "--bars", "1h",
                 "--strategy", "tests.test_rolls:BuyAndSell", "--instrument", "ES", "--commission-per-contract", "2.5",
                 "--out", str(out), "--no-plot", "--no-cache", "--quiet"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "Roll 2024-03-07: ESH4 -> ESM4, gap +50.5 (5004 -> 5054.5)" in printed
    trades = pd.read_csv(out / "trades.csv")
    assert trades[["contract", "roll", "pnl"]].values.tolist() == [["ESH4", "out", 100.0], ["ESM4", "in", 175.0]]
    rolls = pd.read_csv(out / "rolls.csv")
    assert rolls[["date", "from", "to", "gap"]].values.tolist() == [["2024-03-07", "ESH4", "ESM4", 50.5]]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["load_report"]["rolls"][0]["gap"] == 50.5


@pytest.mark.parametrize("argv, message", [
    (["--continuous", "ES", "--symbol", "ESH4"], "give one of them"),
    (["--continuous", "ES", "--roll", "weekly"], "bad roll rule"),
    (["--adjust", "add"], "apply to a continuous contract"),
    (["--continuous", "ES", "--roll-positions", "keep"], "invalid choice: 'keep'"),
    (["--continuous", "CL"], "no expiry rule for the root 'CL'"),
])
def test_bad_continuous_options_are_one_line(store, tmp_path, capsys, argv, message):
    assert main([str(store), *argv, "--out", str(tmp_path / "o"), "--no-plot", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1


def test_a_run_config_gives_its_continuous_options():
    cfg = RunConfig(continuous="ES", roll="volume", adjust="ratio", expiry="HMUZ:3fri:5")
    assert cfg.load_options == LoadOptions(continuous="ES", roll="volume", adjust="ratio", expiry="HMUZ:3fri:5")


def test_roll_positions_is_checked():
    with pytest.raises(OrderFlowError, match="bad --roll-positions"):
        RunConfig(roll_positions="hold")
