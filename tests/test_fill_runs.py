"""Runs with fills from the ticks (--fills trades|book): the run's load options, sweeps and walk-forward,
and the fill options checked with the configuration, before any data is read."""
from __future__ import annotations

import backtrader as bt
import numpy as np
import pandas as pd
import pytest

import run_backtest as rb
from data import OrderFlowError
from research import RunConfig, run
from research.executors import SerialExecutor
from research.sweep import Axis, sweep
from research.walkforward import parse_walk_forward, walk_forward
from tests.test_execution_broker import ROWS, EveryType, executions, ticks
from tests.test_tape import DAYS, _day_ticks


class TwoLimits(bt.Strategy):
    """Once the broker takes its orders: a buy limit 3 lots at 1.5 x the close (marketable: it fills) and
    a buy limit 1 lot at half the close (never fills): 3 of 4 lots filled, 75 %."""

    params = (("unused", 1),)

    def __init__(self) -> None:
        self.taken = False

    def notify_order(self, order: bt.Order) -> None:
        if order.status == order.Accepted:
            self.taken = True

    def next(self) -> None:
        if not self.taken:
            self.buy(exectype=bt.Order.Limit, price=self.data.close[0] * 1.5, size=3)
            self.buy(exectype=bt.Order.Limit, price=self.data.close[0] * 0.5, size=1)


@pytest.fixture(scope="module")
def days(tmp_path_factory) -> tuple:
    rng = np.random.default_rng(3)
    out = tmp_path_factory.mktemp("fill_days")
    frames, level = [], 100.0
    for day in DAYS:
        frame = _day_ticks(day, rng, level, n=120)
        level = float(frame["price"].iloc[-1])
        frame.to_parquet(out / f"{day}.parquet", index=False)
        frames.append(frame)
    return out, pd.concat(frames, ignore_index=True)


def test_the_fills_read_the_ticks_with_the_run_load_options(tmp_path):
    """A CSV with its own column names (--columns) and a bad row (--drop-bad-rows): the fills read it as the
    bars do, so the orders fill as on the same ticks given as a frame."""
    lines = ["When,Last,Qty,Aggressor,Bid,Ask,BidQty,AskQty"]
    for i, (clock, price, size, side, bid, ask, bq, aq) in enumerate(ROWS):
        lines.append(f"2024-03-01 {clock},{price},{size},{side},{bid},{ask},{bq},{aq}")
        if i == 2:
            lines.append("2024-03-01 10:01:30,not a price,1,1,100.0,100.25,5,2")
    path = tmp_path / "renamed.csv"
    path.write_text("\n".join(lines) + "\n")
    columns = {"When": "timestamp", "Last": "price", "Qty": "size", "Aggressor": "side", "Bid": "bid", "Ask": "ask",
               "BidQty": "bid_size", "AskQty": "ask_size"}
    got = run(RunConfig(data=path, columns=columns, drop_bad_rows=True, strategy=EveryType, bars="1min",
                        fills="trades", latency="30s"))
    expected = run(RunConfig(data=ticks(), strategy=EveryType, bars="1min", fills="trades", latency="30s"))
    assert executions(got.strategy.placed["market"]) == [("10:02", 3, 100.5)]
    for kind in ("market", "limit", "stop", "stop_limit"):
        assert executions(got.strategy.placed[kind]) == executions(expected.strategy.placed[kind])


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_sweep_fills_from_the_ticks_of_a_frame_or_a_folder(days, jobs):
    folder, frame = days
    for data in (frame, folder):
        base = RunConfig(data=data, strategy=TwoLimits, bars="5min", fills="trades")
        single = run(base)
        assert single.metrics["fills"] == 1 and single.metrics["limit_fill_pct"] == 75.0
        result = sweep(base, [Axis("unused", (1, 2))], jobs=jobs)
        assert result.table["fills"].tolist() == [1, 1]
        assert result.table["final_value"].tolist() == [single.metrics["final_value"]] * 2


def test_walk_forward_counts_the_limit_orders_filled(days):
    folder, _ = days
    for fills in ("bar", "trades"):
        base = RunConfig(data=folder, strategy=TwoLimits, bars="5min", fills=fills)
        result = walk_forward(base, [Axis("unused", (1, 2))], parse_walk_forward("train=1D,test=1D"),
                              executor=SerialExecutor(), rank_by="fills")
        assert len(result.windows) >= 2
        assert result.metrics["limit_fill_pct"] == 75.0  # 3 of the 4 lots of each test window


def test_fill_options_are_checked_before_the_data_is_read(tmp_path, capsys):
    missing = tmp_path / "no_such_ticks.csv"
    with pytest.raises(OrderFlowError, match="--maker-fee needs --fills trades or --fills book"):
        RunConfig(data=missing, maker_fee=("fixed", 0.5))
    with pytest.raises(OrderFlowError, match="--quotes is the book of one contract"):
        RunConfig(data=missing, fills="book", continuous="ES", quotes=missing)
    with pytest.raises(OrderFlowError, match="--queue fifo needs --fills book"):
        RunConfig(data=missing, fills="trades", queue="fifo")
    with pytest.raises(OrderFlowError, match="--fills must be one of bar, trades, book"):
        RunConfig(data=missing, fills="ticks")
    # on the command line too: a file that cannot be read is not read
    garbage = tmp_path / "garbage.csv"
    garbage.write_text("nothing,here\n1,2\n")
    assert rb.main([str(garbage), "--continuous", "ES", "--fills", "book", "--quotes", str(missing), "--no-plot",
                    "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "--quotes is the book of one contract" in err and err.count("\n") == 1
    assert rb.main([str(garbage), "--fills", "trades", "--queue", "risk_averse", "--no-plot", "--out",
                    str(tmp_path / "o")]) == 2
    assert "--fills trades has no book to queue in" in capsys.readouterr().err
