"""Strategies: registry, sizing, bracket fills at the right prices, no orphan orders, trades on the sample."""
from __future__ import annotations

import backtrader as bt
import pandas as pd
import pytest

from data.bars.make import make_bars
from data.errors import OrderFlowError
from data.feed import OrderFlowFeed
from research.trades import TradeRecorder, trades_frame
from strategies import (
    STRATEGIES,
    CvdTrend,
    DeltaDivergenceStrategy,
    OrderFlowStrategy,
    get_strategy,
    strategy_params,
    strategy_rules,
)
from tests.conftest import need_sample
from tests.test_indicators import DIV_TIMES, bars_frame, divergence_bars

TIMES = pd.date_range("2024-03-01 10:01", periods=5, freq="1min", tz="UTC")


class OneShot(OrderFlowStrategy):
    """Test strategy: enter ``side`` on bar ``signal_bar`` (1-based), exit by signal on bar ``exit_bar``."""

    params = (("side", 1), ("signal_bar", 1), ("exit_bar", None))

    def __init__(self) -> None:
        super().__init__()
        self.statuses: dict[int, str] = {}
        self.prices: dict[int, float | None] = {}

    def entry_signal(self) -> int:
        return self.p.side if len(self) == self.p.signal_bar else 0

    def exit_signal(self) -> bool:
        return self.p.exit_bar is not None and len(self) >= self.p.exit_bar

    def notify_order(self, order: bt.Order) -> None:
        self.statuses[order.ref] = order.getstatusname()
        self.prices[order.ref] = order.created.price
        super().notify_order(order)


def run(bars: pd.DataFrame, strategy: type, cash: float = 10_000.0, **params):
    """Run ``strategy`` on ``bars``: (the strategy, the broker, the trades as TradeRecorder rows
    with their times, one dict per trade, sorted by entry: see research.trades.trades_frame)."""
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.broker.setcash(cash)
    cerebro.adddata(OrderFlowFeed.from_bars(bars))
    cerebro.addstrategy(strategy, **params)
    cerebro.addanalyzer(TradeRecorder, _name="recorder")
    result = cerebro.run()[0]
    trades = trades_frame(result.analyzers.recorder.get_analysis()["trades"], bars.index)
    return result, cerebro.broker, trades.to_dict("records")


def ohlc(rows: list[tuple[float, float, float, float]]) -> pd.DataFrame:
    o, h, lo, c = (list(x) for x in zip(*rows))
    return bars_frame(TIMES[: len(rows)], open=o, high=h, low=lo, close=c)


# bar 1 signals at its close 100; the market entry fills at bar 2's open 100.5;
# with stop=1, target=2 the bracket is: stop 99, target 102 (from the signal close)
ENTRY = [(100.0, 100.5, 99.5, 100.0), (100.5, 101.0, 100.25, 100.75)]


@pytest.mark.parametrize(
    "third_bar, exit_price",
    [
        ((101.0, 102.5, 100.75, 102.25), 102.0),  # high crosses the 102 target: limit fills at 102
        ((100.0, 100.25, 98.5, 98.75), 99.0),  # low crosses the 99 stop: stop fills at 99
        ((98.0, 98.5, 97.5, 98.25), 98.0),  # gap below the stop: fills at the open, 98
        ((103.0, 103.5, 102.5, 103.0), 103.0),  # gap above the target: the limit fills at the open, 103
    ],
)
def test_long_bracket_fills_at_the_right_price(third_bar, exit_price) -> None:
    strategy, broker, trades = run(ohlc(ENTRY + [third_bar]), OneShot, stop=1.0, target=2.0)
    (trade,) = trades
    assert trade["closed"] and trade["direction"] == "long"
    assert trade["entry_price"] == 100.5 and trade["size"] == 1
    assert trade["exit_price"] == exit_price
    assert trade["pnl"] == pytest.approx(exit_price - 100.5)
    assert trade["entry_time"] == TIMES[1] and trade["exit_time"] == TIMES[2]
    main, *legs = sorted(strategy.statuses)  # order refs count up across runs: take them in order
    assert sorted(strategy.prices[r] for r in legs) == [99.0, 102.0]  # stop and target prices
    assert sorted(strategy.statuses.values()) == ["Canceled", "Completed", "Completed"]  # the other leg cancelled
    assert broker.get_orders_open() == [] and strategy.position.size == 0


def test_short_bracket_fills_at_the_target() -> None:
    # signal close 100, short stop 101, target 98; entry at the open 99.5; bar 3 trades down to 97.5
    bars = ohlc([(100.0, 100.5, 99.5, 100.0), (99.5, 99.75, 99.0, 99.5), (99.0, 99.25, 97.5, 97.75)])
    strategy, broker, trades = run(bars, OneShot, side=-1, stop=1.0, target=2.0)
    (trade,) = trades
    assert (trade["entry_price"], trade["exit_price"], trade["direction"], trade["size"]) == (99.5, 98.0, "short", 1)
    assert trade["closed"]
    assert trade["pnl"] == pytest.approx(1.5)
    assert broker.get_orders_open() == []


def test_stop_only_bracket() -> None:
    bars = ohlc(ENTRY + [(100.0, 100.25, 98.5, 98.75)])
    strategy, broker, trades = run(bars, OneShot, stop=1.0)
    assert [(t["exit_price"], t["closed"]) for t in trades] == [(99.0, True)]
    assert len(strategy.statuses) == 2 and broker.get_orders_open() == []


def test_signal_exit_cancels_the_bracket_legs() -> None:
    # far stop/target that never trade; the exit signal on bar 3 closes at bar 4's open
    bars = ohlc(ENTRY + [(100.75, 101.0, 100.5, 100.75), (101.25, 101.5, 101.0, 101.25), (101.0, 101.5, 100.5, 101.0)])
    strategy, broker, trades = run(bars, OneShot, stop=5.0, target=5.0, exit_bar=3)
    (trade,) = trades
    assert (trade["entry_price"], trade["exit_price"], trade["closed"]) == (100.5, 101.25, True)
    main, stop_leg, target_leg, close = sorted(strategy.statuses)
    assert strategy.statuses[stop_leg] == strategy.statuses[target_leg] == "Canceled"
    assert strategy.statuses[close] == "Completed"
    assert broker.get_orders_open() == [] and strategy.position.size == 0


def test_one_position_at_a_time_and_allow_short() -> None:
    class Always(OneShot):
        def entry_signal(self) -> int:
            return self.p.side

    bars = ohlc(ENTRY * 2 + [ENTRY[0]])
    strategy, _, _ = run(bars, Always)
    assert strategy.position.size == 1  # entered once, never added
    strategy, broker, _ = run(bars, Always, side=-1, allow_short=False)
    assert strategy.position.size == 0 and strategy.statuses == {}


@pytest.mark.parametrize(
    "params, size",
    [
        ({}, 1),
        ({"stake": 3}, 3),
        ({"pct_equity": 10}, 9),  # 10_000 * 10% / 101 = 9.90 -> 9 whole units
        ({"pct_equity": 10, "fractional": True}, 1000 / 101),
        ({"pct_equity": 10, "side": -1}, -9),
        ({"pct_equity": 0.5}, 0),  # 50 / 101 < 1 unit: no trade
    ],
)
def test_sizing(params: dict, size: float) -> None:
    bars = ohlc([(100.0, 101.5, 99.5, 101.0), (101.0, 101.5, 100.5, 101.0)])
    strategy, _, _ = run(bars, OneShot, **params)
    assert strategy.position.size == pytest.approx(size, rel=1e-12)


@pytest.mark.parametrize("params", [{"pct_equity": -5}, {"stake": 0}, {"stop": "far"}, {"target": -1.0}])
def test_bad_strategy_parameters(params: dict) -> None:
    with pytest.raises(OrderFlowError, match="parameter"):
        run(ohlc(ENTRY), OneShot, **params)


def test_delta_divergence_brackets_beyond_the_extreme() -> None:
    # divergence series (tests/test_indicators.py): bullish on bar 3 (low 98.5, close 99),
    # bearish on bars 6 and 8. Long: stop 98.5 - 0.25 = 98.25, risk 0.75, target 99 + 2 * 0.75 = 100.5;
    # fills at bar 4's open 99.25, stopped on bar 5 (open 98.5, low 98) at 98.25.
    # Short on bar 6's signal (high 100, close 99.5): stop 100.25, target 99.5 - 1.5 = 98;
    # fills at bar 7's open 100. Backtrader activates bracket legs on the bar after the
    # entry fills, so bar 7's high of 100.5 is not seen: bar 8 opens at 100.75, above the
    # stop, which fills at that open.
    strategy, broker, trades = run(divergence_bars(), DeltaDivergenceStrategy, period=3)
    got = [(t["entry_price"], t["exit_price"], t["direction"], t["size"], t["closed"]) for t in trades]
    assert got == [(99.25, 98.25, "long", 1, True), (100.0, 100.75, "short", 1, True)]
    assert [t["exit_time"] for t in trades] == [DIV_TIMES[5], DIV_TIMES[8]]
    assert broker.get_orders_open() == []


def test_delta_divergence_time_exit() -> None:
    # no stop hit when the stop offset is wide; max_hold=1 closes one bar after the fill
    strategy, _, trades = run(divergence_bars(), DeltaDivergenceStrategy, period=3, stop_offset=5.0, max_hold=1,
                              target=None)
    first = trades[0]
    assert (first["entry_time"], first["exit_time"], first["bars_held"], first["closed"]) == (
        DIV_TIMES[4], DIV_TIMES[6], 2, True)
    assert (first["entry_price"], first["exit_price"]) == (99.25, 99.5)  # bar 4's and bar 6's opens


# --- registry ------------------------------------------------------------------------------------------


def test_registry() -> None:
    assert {"cvd_trend": CvdTrend, "delta_divergence": DeltaDivergenceStrategy}.items() <= STRATEGIES.items()
    assert {"stacked_imbalance", "ofi_momentum"} <= set(STRATEGIES)
    assert get_strategy("cvd_trend") is CvdTrend
    assert get_strategy(" Delta-Divergence ") is DeltaDivergenceStrategy
    for name in STRATEGIES:
        rules = strategy_rules(name)
        assert rules.startswith(("Trade", "Fade")) and "exit" in rules.lower()
    params = strategy_params("cvd_trend")
    assert params["stake"] == 1 and params["pct_equity"] is None and params["slope_period"] == 10
    assert strategy_params(DeltaDivergenceStrategy)["target"] == 2.0


@pytest.mark.parametrize(
    "name, words",
    [
        ("cvd_trnd", "did you mean 'cvd_trend'?"),
        ("delta_divergense", "did you mean 'delta_divergence'?"),
        ("zzz", "available: cvd_trend, delta_divergence"),
    ],
)
def test_unknown_strategy(name: str, words: str) -> None:
    with pytest.raises(OrderFlowError) as info:
        get_strategy(name)
    message = str(info.value)
    assert words in message and repr(name) in message
    assert "cvd_trend" in message and "delta_divergence" in message
    if name == "zzz":
        assert "did you mean" not in message


# --- on the bundled sample ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_bars() -> pd.DataFrame:
    return make_bars(pd.read_parquet(need_sample()), "1min")


@pytest.mark.parametrize(
    "name, params",
    [
        ("cvd_trend", {}),
        ("cvd_trend", {"stop": 2.0, "target": 4.0, "pct_equity": 20}),
        ("delta_divergence", {}),
    ],
)
def test_strategies_trade_on_the_sample(sample_bars: pd.DataFrame, name: str, params: dict) -> None:
    strategy, broker, trades = run(sample_bars, get_strategy(name), cash=100_000.0, **params)
    closed = [t for t in trades if t["closed"]]
    assert len(closed) >= 1 and len(trades) - len(closed) == (strategy.position.size != 0)
    assert all(t["exit_time"] >= t["entry_time"] for t in trades)
    # closed profits add up to the broker's change, plus the open position's mark-to-market
    open_pnl = strategy.position.size * (sample_bars["close"].iloc[-1] - strategy.position.price)
    assert sum(t["pnl"] for t in closed) + open_pnl == pytest.approx(broker.getvalue() - 100_000.0)
    assert sum(t["pnl"] for t in trades if not t["closed"]) == pytest.approx(open_pnl)  # the open trade's row
    if strategy.position.size == 0:
        assert broker.get_orders_open() == []  # no orphan bracket leg
    else:
        assert len(broker.get_orders_open()) <= 2
