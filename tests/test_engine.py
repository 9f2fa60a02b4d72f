"""The engine apart from the command line: RunConfig -> run -> Result, the same figures as the CLI."""
from __future__ import annotations

import datetime as dt
import json
import pickle

import backtrader as bt
import numpy as np
import pytest

import run_backtest as rb
from data import OrderFlowError
from reports.metrics import to_json_ready
from research import RunConfig, load, resolve_strategy, run
from tests.conftest import FIXTURES

SMALL_CSV = FIXTURES / "ticks_small.csv"


class BuyFirstSellThird(bt.Strategy):
    """Buy 2 units on the first bar, close on the third."""

    params = (("stake", 2),)

    def next(self) -> None:
        if len(self) == 1:
            self.buy(size=self.p.stake)
        elif len(self) == 3:
            self.close()


def test_run_by_hand_on_the_small_fixture():
    # 1-trade bars of the fixture: the buy fills at bar 2's open (100.25), the close at bar 4's open (99.75)
    result = run(RunConfig(data=SMALL_CSV, strategy=BuyFirstSellThird, bars="1t", cash=1000.0))
    assert len(result.bars) == 10
    closed = result.trades[result.trades["closed"]]
    assert len(closed) == 1
    assert closed["pnl"].iloc[0] == pytest.approx(2 * (99.75 - 100.25))
    assert result.metrics["final_value"] == pytest.approx(1000.0 - 1.0)
    assert result.equity["value"].iloc[-1] == pytest.approx(999.0)
    # one trade date (UTC midnight cut): its return is the whole run's
    assert result.daily.to_numpy() == pytest.approx([-1.0 / 1000.0])


def test_strategy_from_a_module_of_ones_own(tmp_path):
    assert resolve_strategy("tests.test_engine:BuyFirstSellThird") is BuyFirstSellThird
    with pytest.raises(OrderFlowError, match="cannot import strategy module"):
        resolve_strategy("no_such_module_xyz:Thing")
    with pytest.raises(OrderFlowError, match="not a Backtrader Strategy"):
        resolve_strategy("tests.test_engine:SMALL_CSV")
    code = rb.main([str(SMALL_CSV), "--strategy", "tests.test_engine:BuyFirstSellThird", "--bars", "1t",
                    "--cash", "1000", "--no-plot", "--out", str(tmp_path)])
    assert code == 0
    doc = json.loads((tmp_path / "metrics.json").read_text())
    assert doc["metrics"]["final_value"] == pytest.approx(999.0)


def test_cli_and_engine_give_the_same_figures(tmp_path):
    code = rb.main([str(SMALL_CSV), "--bars", "1t", "--param", "slope_period=2", "--size", "1", "--no-plot",
                    "--out", str(tmp_path)])
    assert code == 0
    doc = json.loads((tmp_path / "metrics.json").read_text())["metrics"]
    result = run(RunConfig(data=SMALL_CSV, bars="1t", params={"slope_period": 2, "stake": 1, "pct_equity": None},
                           session=(dt.time(17, 0), "America/Chicago")))
    ours = json.loads(json.dumps(to_json_ready(result.metrics), default=str))
    assert ours.keys() == doc.keys()
    assert ours == doc


def test_loaded_once_many_runs_and_slim_results_pickle():
    config = RunConfig(data=SMALL_CSV, strategy=BuyFirstSellThird, bars="1t", cash=1000.0)
    loaded = load(config)
    a = run(config, loaded)
    b = run(config.with_params(stake=4), loaded)
    assert b.metrics["final_value"] - 1000.0 == pytest.approx(2 * (a.metrics["final_value"] - 1000.0))
    slim = pickle.loads(pickle.dumps(b.slim()))
    assert slim.cerebro is None and slim.params["stake"] == 4
    np.testing.assert_array_equal(slim.equity["value"], b.equity["value"])
