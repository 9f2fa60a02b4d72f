"""Walk-forward: the windows worked out by hand, warm-up bars that trade nothing and count nowhere,
the chosen set and the out-of-sample runs checked against single engine runs, the stitched equity."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from data import OrderFlowError
from research import RunConfig, engine
from research.executors import SerialExecutor
from research.sweep import Axis, grid_points, point_config, rank_key
from research.walkforward import WalkSpec, Window, day_numbers, make_windows, parse_walk_forward, trading_days, walk_forward, window_rows
from tests.conftest import need_sample
from tests.sweep_helpers import Alternate, DieOnce


def test_parse_walk_forward() -> None:
    assert parse_walk_forward("train=10D,test=2D") == WalkSpec(10, 2, "days", False)
    assert parse_walk_forward(" train=500b , test=100b, anchored") == WalkSpec(500, 100, "bars", True)
    assert str(parse_walk_forward("test=1d,train=3d,anchored")) == "train=3D,test=1D,anchored"
    for bad in ("train=10D", "train=10D,test=2b", "train=0D,test=1D", "train=10,test=2", "train=1D,test=1D,rolling",
                "train=1D,train=2D,test=1D"):
        with pytest.raises(OrderFlowError, match="--walk-forward"):
            parse_walk_forward(bad)


def test_windows_by_hand() -> None:
    rolling = make_windows(10, WalkSpec(4, 2, "days"))
    assert rolling == [Window(0, 0, 4, 6), Window(1, 2, 6, 8), Window(2, 4, 8, 10)]
    anchored = make_windows(11, WalkSpec(4, 2, "days", anchored=True))  # day 10 makes no whole test window
    assert anchored == [Window(0, 0, 4, 6), Window(1, 0, 6, 8), Window(2, 0, 8, 10)]
    with pytest.raises(OrderFlowError, match="needs at least 6 trading days; the data has 5"):
        make_windows(5, WalkSpec(4, 2, "days"))


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    """Three CME sessions of 5min bars (17:00 Chicago Sunday to 17:00 Wednesday): trade dates 15-17 April."""
    config = RunConfig(data=need_sample(), bars="5min", start=pd.Timestamp("2024-04-14 22:00", tz="UTC"),
                       end=pd.Timestamp("2024-04-17 22:00", tz="UTC"))
    return engine.load(config).bars


@pytest.mark.parametrize("runonce", [True, False])
def test_warmup_bars_trade_nothing_and_count_nowhere(bars: pd.DataFrame, runonce: bool, monkeypatch) -> None:
    """Alternate orders on every bar: buy when flat, close when long; an order fills at the next bar's open.

    Warm-up 5 of 20 bars: the orders of bars 0-4 are rejected; the buy of bar 5 fills on bar 6, its
    close (placed on 6) on 7, ... so the trades open on bars 6, 8, ..., 18 and close on 7, 9, ..., 19.
    """
    original = engine.make_cerebro

    def cerebro_in_mode(config, frame):
        cerebro = original(config, frame)
        cerebro.p.runonce = runonce
        return cerebro

    monkeypatch.setattr(engine, "make_cerebro", cerebro_in_mode)
    loaded = engine.Loaded(bars=bars.iloc[:20], load_report={}, ticks_in_range=0)
    config = RunConfig(strategy=Alternate, bars="5min", cash=1e6)
    cold = engine.run(config, loaded)
    assert list(cold.trades["entry_time"]) == list(bars.index[1:20:2])  # no warm-up: 1, 3, ..., 19 (last open)
    warm = engine.run(replace(config, warmup_bars=5), loaded)
    assert list(warm.trades["entry_time"]) == list(bars.index[6:19:2])
    assert list(warm.trades["exit_time"]) == list(bars.index[7:20:2])
    assert warm.trades["closed"].all()
    assert list(warm.trades["entry_bar"]) == [1, 3, 5, 7, 9, 11, 13]  # counted from the first bar after the warm-up
    pd.testing.assert_index_equal(warm.equity.index, bars.index[5:20])
    assert warm.equity["value"].iloc[0] == 1e6  # bar 5 places the first order; bar 6 fills it at its open
    assert warm.equity["value"].iloc[1] == 1e6 + bars["close"].iloc[6] - bars["open"].iloc[6]
    pnl = sum((bars["open"].iloc[k + 1] - bars["open"].iloc[k]) for k in range(6, 19, 2))
    assert warm.equity["value"].iloc[-1] == pytest.approx(1e6 + pnl, abs=1e-9)
    assert warm.metrics["trades"] == 7 and warm.metrics["fills"] == 14
    assert warm.metrics["orders_rejected"] == 0  # the 5 orders of the warm-up bars are refused by design, not counted
    assert list(warm.daily.index) == sorted(set(warm.daily.index))


def test_walk_forward_against_single_runs(bars: pd.DataFrame) -> None:
    base = RunConfig(data=need_sample(), strategy=DieOnce, bars="5min", start=pd.Timestamp("2024-04-14 22:00", tz="UTC"),
                     end=pd.Timestamp("2024-04-17 22:00", tz="UTC"), cash=10_000.0)
    axes = [Axis("period", (3, 8, 20))]
    spec = parse_walk_forward("train=1D,test=1D")
    result = walk_forward(base, axes, spec, executor=SerialExecutor(), rank_by="total_return_pct")
    days = trading_days([bars], base.calendar)
    assert len(days) == 3 and len(result.windows) == 2
    loaded = engine.Loaded(bars=bars, load_report={}, ticks_in_range=0)
    finals, fills = [], []
    for w, row in zip(make_windows(len(days), spec), result.windows.itertuples()):
        a, b, c = window_rows(w, spec, day_numbers(bars, base.calendar, days))
        assert row.train_end < row.test_start and (row.train_bars, row.test_bars) == (b - a, c - b)
        assert set(base.calendar.trade_dates(bars.index[b:c])) == {days[w.test_start]}  # one whole day, not the train's
        # the chosen set is the best of the grid run on the train bars alone
        in_sample = [engine.run(point_config(base, p), replace(loaded, bars=bars.iloc[a:b])).metrics
                     for p in grid_points(axes)]
        best = int(np.argmax([rank_key(m["total_return_pct"], "total_return_pct") for m in in_sample]))
        assert row.set == f"period={axes[0].values[best]}"
        assert row.is_total_return_pct == in_sample[best]["total_return_pct"]
        # out of sample: that set on train + test bars, the train bars a warm-up
        oos = engine.run(replace(point_config(base, grid_points(axes)[best]), warmup_bars=b - a),
                         replace(loaded, bars=bars.iloc[a:c]))
        assert row.oos_total_return_pct == oos.metrics["total_return_pct"]
        window_equity = result.equity.loc[result.equity["window"] == w.number]
        pd.testing.assert_index_equal(window_equity.index, bars.index[b:c])
        finals.append(oos.metrics["final_value"])
        fills.append(oos.metrics["fills"])
    # stitched: each window's returns compounded from the cash
    expected = base.cash * np.prod([f / base.cash for f in finals])
    assert result.equity["value"].iloc[-1] == pytest.approx(expected, rel=1e-12)
    assert result.metrics["final_value"] == result.equity["value"].iloc[-1]
    assert result.metrics["fills"] == sum(fills) and result.metrics["orders_rejected"] == 0
    assert len(result.trades) == result.metrics["trades"] + result.metrics["open_trades_at_end"]


def test_a_window_where_no_set_ranks_is_an_error_not_set_zero() -> None:
    # one-day train windows: a daily Sharpe needs two days, so no set has one in sample
    base = RunConfig(data=need_sample(), strategy=DieOnce, bars="5min", start=pd.Timestamp("2024-04-14 22:00", tz="UTC"),
                     end=pd.Timestamp("2024-04-17 22:00", tz="UTC"), cash=10_000.0)
    with pytest.raises(OrderFlowError, match="no set has a sharpe in sample"):
        walk_forward(base, [Axis("period", (3, 8))], parse_walk_forward("train=1D,test=1D"), executor=SerialExecutor(),
                     rank_by="sharpe")
