"""The trades list and the metrics say how each order executed against its signal (the bar's close):
arrival, fill times, slippage in ticks, maker/taker, volume ahead, the fill ratio of limit orders and the
implementation shortfall; worked out by hand on the tiny book of tests/test_execution_broker.py."""
from __future__ import annotations

import backtrader as bt
import pandas as pd
import pytest

from research import RunConfig, run
from tests.test_execution_broker import ticks


class Legs(bt.Strategy):
    """Bar 10:01 (close 100.25): buy 3 at market. Bar 10:02 (close 100.50): sell limit ``exit_at`` x 3 (closes
    the long) and buy limit 99.00 x 2 (never fills)."""

    params = (("exit_at", 100.25),)

    def next(self) -> None:
        if len(self) == 1:
            self.buy(size=3)
        elif len(self) == 2:
            self.sell(exectype=bt.Order.Limit, price=self.p.exit_at, size=3)
            self.buy(exectype=bt.Order.Limit, price=99.0, size=2)


class Passive(bt.Strategy):
    """Bar 10:02 (close 100.50): buy limit 100.25 x 1, behind the 3 bid there."""

    def next(self) -> None:
        if len(self) == 2:
            self.buy(exectype=bt.Order.Limit, price=100.25, size=1)


class TrailLimit(bt.Strategy):
    """Bar 10:01: a buy trailing stop-limit 5.00 above the price, which never triggers on this tiny book."""

    def next(self) -> None:
        if len(self) == 1:
            self.buy(exectype=bt.Order.StopTrailLimit, trailamount=5.0, plimit=0.0, size=2)


def at(clock: str) -> pd.Timestamp:
    return pd.Timestamp(f"2024-03-01 {clock}", tz="UTC")


def test_book_fills_their_times_slippage_and_liquidity():
    result = run(RunConfig(data=ticks(), strategy=Legs, bars="1min", fills="book"))
    (t,) = result.trades.to_dict("records")
    # entry: sent at the 10:01 close (100.25), no latency: 2 at the offer 100.25 at once, the last 1 at 100.50
    # when the quote shows it (10:01:40): average 100.3333, 0.0833 above the signal = 1/3 of a 0.25 tick
    assert (t["entry_signal_time"], t["entry_signal_price"], t["entry_arrival"]) == (at("10:01"), 100.25, at("10:01"))
    assert (t["entry_first_fill"], t["entry_last_fill"]) == (at("10:01"), at("10:01:40"))
    assert t["entry_price"] == pytest.approx(100.3333333) and t["entry_slippage_ticks"] == pytest.approx(1 / 3)
    assert t["entry_liquidity"] == "taker" and pd.isna(t["entry_ahead"])
    # exit: the sell limit 100.25 sent at the 10:02 close (100.50) is marketable (bid 100.25 x 3): 3 at 100.25,
    # one tick worse than the signal for a long's exit
    assert (t["exit_signal_time"], t["exit_signal_price"], t["exit_first_fill"]) == (at("10:02"), 100.5, at("10:02"))
    assert t["exit_slippage_ticks"] == pytest.approx(1.0) and t["exit_liquidity"] == "taker"
    # shortfall: (0.0833 + 0.25) points x 3 units = 1.00 lost against the signals
    assert t["shortfall"] == pytest.approx(1.0)
    m = result.metrics
    assert m["avg_slippage_ticks"] == pytest.approx((1 / 3 + 1) / 2)
    assert m["implementation_shortfall"] == pytest.approx(1.0)
    assert m["limit_fill_pct"] == pytest.approx(60.0)  # limits: 3 of 3 and 0 of 2 filled


def test_a_resting_limit_reports_the_volume_ahead_and_maker():
    result = run(RunConfig(data=ticks(), strategy=Passive, bars="1min", fills="book", queue="risk_averse"))
    (t,) = result.trades.to_dict("records")
    # sent at 10:02 (close 100.50): the bid 100.25 shows 3 ahead; the seller of 3 at 10:02:30 takes them, the
    # sale at 100.00 at 10:02:50 prints through and fills the 1 at 100.25: a tick better than the signal
    assert t["entry_ahead"] == 3 and t["entry_liquidity"] == "maker"
    assert (t["entry_first_fill"], t["entry_price"], t["entry_slippage_ticks"]) == (at("10:02:50"), 100.25, -1.0)
    assert not t["closed"] and pd.isna(t["exit_signal_price"]) and t["shortfall"] == pytest.approx(-0.25)
    assert result.metrics["limit_fill_pct"] == pytest.approx(100.0)
    assert result.metrics["implementation_shortfall"] is None  # no closed trade


@pytest.mark.parametrize("fills", ["bar", "book"])
def test_a_trailing_stop_limit_counts_in_the_fill_ratio_of_limit_orders(fills):
    result = run(RunConfig(data=ticks(), strategy=TrailLimit, bars="1min", fills=fills))
    assert result.metrics["limit_fill_pct"] == 0.0  # 0 of 2 filled (it never triggers), not "no limit orders"


def test_bar_fills_have_the_same_columns():
    result = run(RunConfig(data=ticks(), strategy=Legs, bars="1min", fills="bar"))
    (t,) = result.trades.to_dict("records")
    # the market buy fills at the next bar's open (100.25, bar 10:02): no slippage against the 10:01 close; the
    # sell limit 100.25 at the open of bar 10:03 (100.25), a tick below the 10:02 close
    assert (t["entry_signal_price"], t["entry_price"], t["entry_slippage_ticks"]) == (100.25, 100.25, 0.0)
    assert (t["entry_arrival"], t["entry_first_fill"], t["entry_last_fill"]) == (at("10:01"), at("10:02"), at("10:02"))
    assert (t["exit_signal_price"], t["exit_price"], t["exit_slippage_ticks"]) == (100.5, 100.25, 1.0)
    assert t["entry_liquidity"] is None and pd.isna(t["entry_ahead"])
    assert t["shortfall"] == pytest.approx(0.75)
    assert result.metrics["limit_fill_pct"] == pytest.approx(60.0)
    assert result.metrics["avg_slippage_ticks"] == pytest.approx(0.5)


def test_trades_csv_writes_every_time_column_in_the_run_time_zone(tmp_path):
    from reports.output import write_outputs

    result = run(RunConfig(data=ticks(), strategy=Legs, bars="1min", fills="book", tz="America/New_York"))
    write_outputs(result, tmp_path)
    row = pd.read_csv(tmp_path / "trades.csv").iloc[0]
    # 10:01:40 UTC is 05:01:40 in New York (EST, UTC-5, on 1 March)
    assert row["entry_last_fill"] == "2024-03-01 05:01:40-05:00"
    assert row["entry_signal_time"] == "2024-03-01 05:01:00-05:00" and row["entry_liquidity"] == "taker"
    assert row["shortfall"] == pytest.approx(1.0)


def test_sweeps_carry_the_execution_metrics(tmp_path):
    from research.executors import SerialExecutor
    from research.sweep import Axis, sweep

    base = RunConfig(data=ticks(), strategy=Legs, bars="1min")
    result = sweep(base, [Axis("exit_at", (100.25, 100.5))], out=tmp_path, executor=SerialExecutor(), stats=False,
                   rank_by="implementation_shortfall")
    # bar fills as in test_bar_fills_have_the_same_columns; the sell limit 100.50 never fills (no bar after 10:02
    # reaches 100.50): none of the 3 + 2 units of limit orders filled
    table = result.table
    assert table["implementation_shortfall"].iloc[0] == pytest.approx(0.75)
    assert table["avg_slippage_ticks"].iloc[0] == pytest.approx(0.5)
    assert list(table["limit_fill_pct"]) == pytest.approx([60.0, 0.0])


def test_the_metrics_table_shows_the_fill_ratio_of_runs_with_limit_orders():
    from reports.metrics import metric_rows

    rows = dict(metric_rows(run(RunConfig(data=ticks(), strategy=Legs, bars="1min", fills="book")).metrics))
    assert rows["Limit orders filled"] == "60.0 %"
    assert rows["Slippage vs signal (ticks)"] == "0.67" and rows["Implementation shortfall"] == "1.00"
    assert "Limit orders filled" not in dict(metric_rows(run(RunConfig(data=ticks(), strategy=Passive.__base__,
                                                                      bars="1min")).metrics))


class BuyOnce(bt.Strategy):
    def next(self) -> None:
        if len(self) == 1:
            self.buy(size=1)


def test_slippage_is_counted_in_the_ticks_the_fills_use():
    quote = (100.0, 100.1, 5, 5)
    rows = [("10:00:10", 100.0, 1, -1, *quote), ("10:00:50", 100.0, 1, -1, *quote),   # bar 10:01: all at 100.00
            ("10:01:20", 100.0, 1, -1, *quote), ("10:01:30", 100.1, 1, 1, *quote),    # bar 10:02: 100.10 inside,
            ("10:01:40", 100.5, 1, 1, *quote), ("10:01:50", 100.0, 1, -1, *quote)]    # not its open, high, low, close
    result = run(RunConfig(data=ticks(rows), strategy=BuyOnce, bars="1min", fills="book"))
    # the bars' prices step by 0.50 (100.00, 100.50); the trades by 0.10: the fills' tick. The buy sent at the
    # 10:01 close (100.00) takes the 100.10 offer: one tick worse, not a fifth of one
    (t,) = result.trades.to_dict("records")
    assert t["entry_price"] == pytest.approx(100.1) and t["entry_slippage_ticks"] == pytest.approx(1.0)
    assert result.cerebro.broker.tick_size == pytest.approx(0.1)
