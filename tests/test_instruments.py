"""Contract maths: presets against the exchanges' specs, real Backtrader runs in currency, sizing by risk."""
from __future__ import annotations

import backtrader as bt
import pandas as pd
import pytest

from data.errors import OrderFlowError
from data.feed import OrderFlowFeed
from research.instruments import INSTRUMENTS, Instrument, configure_broker, get_instrument, size_for_risk
from tests.test_indicators import bars_frame

TIMES = pd.date_range("2024-03-01 15:01", periods=5, freq="1min", tz="UTC")
CASH = 100_000.0


class EnterExit(bt.Strategy):
    """Market order of ``size`` (signed) on bar 1, close on bar 3: fills at the opens of bars 2 and 4.

    Records per bar the broker's value and cash (after the bar's fills and mark to market) and the
    closed trades' pnl / pnlcomm as Backtrader computes them.
    """

    params = (("size", 1.0),)

    def __init__(self) -> None:
        self.values: list[float] = []
        self.cash: list[float] = []
        self.trades: list[tuple[float, float]] = []
        self.fills: list[float] = []

    def next(self) -> None:
        self.values.append(self.broker.getvalue())
        self.cash.append(self.broker.getcash())
        if len(self) == 1:
            self.buy(size=self.p.size) if self.p.size > 0 else self.sell(size=-self.p.size)
        elif len(self) == 3:
            self.close()

    def notify_order(self, order: bt.Order) -> None:
        if order.status == order.Completed:
            self.fills.append(order.executed.price)

    def notify_trade(self, trade: bt.Trade) -> None:
        if trade.isclosed:
            self.trades.append((trade.pnl, trade.pnlcomm))


def run(bars: pd.DataFrame, instrument: Instrument, size: float, runonce: bool = True, **costs) -> EnterExit:
    cerebro = bt.Cerebro(stdstats=False, runonce=runonce)
    cerebro.broker.setcash(CASH)
    configure_broker(cerebro.broker, instrument, **costs)
    cerebro.adddata(OrderFlowFeed.from_bars(bars))
    cerebro.addstrategy(EnterExit, size=size)
    return cerebro.run()[0]


def es_bars(entry_open: float = 5000.0, exit_open: float = 5010.0) -> pd.DataFrame:
    """Five 1-minute ES bars: bar 2 opens at ``entry_open``, bar 4 at ``exit_open``; each bar spans
    its open +- 2 points, so one tick of slippage always stays inside the bar."""
    opens = [entry_open - 3, entry_open, entry_open + 5, exit_open, exit_open]
    closes = [entry_open, entry_open + 5, exit_open, exit_open, exit_open]
    return bars_frame(TIMES, open=opens, close=closes, high=[max(o, c) + 2 for o, c in zip(opens, closes)],
                      low=[min(o, c) - 2 for o, c in zip(opens, closes)])


@pytest.mark.parametrize("runonce", [True, False])
def test_es_long_10_points_with_2_50_per_side_nets_495(runonce):
    strat = run(es_bars(5000.0, 5010.0), INSTRUMENTS["ES"], 1, runonce, commission_per_contract=2.50)
    assert strat.fills == [5000.0, 5010.0]
    # gross 1 * 10 points * $50 = 500; commission 2 sides * $2.50 = 5
    assert strat.trades == [(pytest.approx(500.0), pytest.approx(495.0))]
    assert strat.broker.getvalue() == pytest.approx(CASH + 495.0)
    # bar 2: filled at 5000 (paid 2.50), marked at its close 5005: +5 * 50 = 250 open profit,
    # and $12,650 margin set aside out of cash while the contract is held
    assert strat.values[1] == pytest.approx(CASH - 2.50 + 250.0)
    assert strat.cash[1] == pytest.approx(CASH - 2.50 + 250.0 - 12_650.0)
    assert strat.cash[-1] == pytest.approx(CASH + 495.0)  # margin released after the exit


@pytest.mark.parametrize("runonce", [True, False])
def test_es_short_trade_and_two_contracts(runonce):
    # short 2 contracts at 5010, cover at 5000: 2 * 10 * 50 = 1000 gross; 4 fills-contracts * 2.50 = 10
    strat = run(es_bars(5010.0, 5000.0), INSTRUMENTS["ES"], -2, runonce, commission_per_contract=2.50)
    assert strat.fills == [5010.0, 5000.0]
    assert strat.trades == [(pytest.approx(1000.0), pytest.approx(990.0))]
    assert strat.broker.getvalue() == pytest.approx(CASH + 990.0)
    # a losing short: sold 5000, bought back 5010: -500 - 5
    strat = run(es_bars(5000.0, 5010.0), INSTRUMENTS["ES"], -1, runonce, commission_per_contract=2.50)
    assert strat.trades == [(pytest.approx(-500.0), pytest.approx(-505.0))]
    assert strat.broker.getvalue() == pytest.approx(CASH - 505.0)


@pytest.mark.parametrize("side", [1, -1])
def test_slippage_in_ticks_moves_both_fills_against_the_trade(side):
    # 2 ticks of ES = 0.50 points against each fill: a long buys 5000.50 and sells 5009.50 (9 points),
    # a short sells 4999.50 and covers 5010.50 (a loss of 11 points)
    strat = run(es_bars(5000.0, 5010.0), INSTRUMENTS["ES"], side, commission_per_contract=2.50, slippage_ticks=2)
    if side > 0:
        assert strat.fills == [5000.5, 5009.5]
        gross = 9.0 * 50
    else:
        assert strat.fills == [4999.5, 5010.5]
        gross = -11.0 * 50
    assert strat.trades == [(pytest.approx(gross), pytest.approx(gross - 5.0))]
    assert strat.broker.getvalue() == pytest.approx(CASH + gross - 5.0)


def test_other_contracts_in_their_currency():
    # CL: long 1 at 78.00, out at 78.50: 0.50 * 1000 = $500; $1.50 per side
    cl = bars_frame(TIMES, open=[77.9, 78.0, 78.2, 78.5, 78.5], close=[78.0, 78.2, 78.5, 78.5, 78.5],
                    high=[78.1, 78.3, 78.6, 78.6, 78.6], low=[77.8, 77.9, 78.1, 78.4, 78.4])
    strat = run(cl, INSTRUMENTS["CL"], 1, commission_per_contract=1.50)
    assert strat.trades == [(pytest.approx(500.0), pytest.approx(497.0))]
    # ZN: long 1 at 110-16 (110.5), out 4 ticks (4/64) higher: 4 * $15.625 = $62.50
    zn = bars_frame(TIMES, open=[110.5, 110.5, 110.5, 110.5625, 110.5625], close=[110.5] * 3 + [110.5625] * 2,
                    high=[111.0] * 5, low=[110.0] * 5)
    strat = run(zn, INSTRUMENTS["ZN"], 1)
    assert strat.trades == [(pytest.approx(62.5), pytest.approx(62.5))]


def test_crypto_perpetual_fractional_size_margin_from_notional():
    # 0.5 BTC long at 60,000, out at 61,000: 0.5 * 1000 * 1 = 500 USDT; margin 10% of 0.5 * 60,000 = 3,000
    btc = bars_frame(TIMES, open=[59_900.0, 60_000.0, 60_000.0, 61_000.0, 61_000.0],
                     close=[60_000.0] * 3 + [61_000.0] * 2, high=[62_000.0] * 5, low=[59_000.0] * 5)
    strat = run(btc, INSTRUMENTS["BTC-PERP"], 0.5)
    assert strat.trades == [(pytest.approx(500.0), pytest.approx(500.0))]
    assert strat.cash[1] == pytest.approx(CASH - 3_000.0)
    assert strat.broker.getvalue() == pytest.approx(CASH + 500.0)


# tick value per contract as the exchanges' specs state it (CME Group "Contract Specs")
SPEC_TICK_VALUES = {"ES": 12.50, "MES": 1.25, "NQ": 5.00, "MNQ": 0.50, "YM": 5.00, "RTY": 5.00, "CL": 10.00,
                    "GC": 10.00, "ZN": 15.625, "6E": 6.25}


def test_presets_match_the_published_tick_values():
    assert set(SPEC_TICK_VALUES) <= set(INSTRUMENTS)
    for symbol, tick_value in SPEC_TICK_VALUES.items():
        assert INSTRUMENTS[symbol].tick_value == pytest.approx(tick_value, abs=1e-12), symbol
        assert INSTRUMENTS[symbol].margin > 0 and INSTRUMENTS[symbol].size_step == 1.0
    perp = INSTRUMENTS["BTC-PERP"]
    assert perp.multiplier == 1.0 and perp.margin is None and perp.margin_at(60_000.0) == pytest.approx(6_000.0)
    assert get_instrument(" es ") is INSTRUMENTS["ES"]


def test_bad_instruments_and_costs_raise():
    with pytest.raises(OrderFlowError, match="unknown instrument 'XX'.*ES"):
        get_instrument("XX")
    with pytest.raises(OrderFlowError, match="multiplier"):
        Instrument("X", 0.0, 0.25, margin=100.0)
    with pytest.raises(OrderFlowError, match="exactly one of margin"):
        Instrument("X", 50.0, 0.25)
    with pytest.raises(OrderFlowError, match="commission"):
        configure_broker(bt.brokers.BackBroker(), INSTRUMENTS["ES"], commission_per_contract=-1.0)
    with pytest.raises(OrderFlowError, match="slippage"):
        configure_broker(bt.brokers.BackBroker(), INSTRUMENTS["ES"], slippage_ticks=float("nan"))


def test_with_overrides_replaces_fields_and_margin_kind():
    es = INSTRUMENTS["ES"]
    assert es.with_overrides(margin=500.0, multiplier=None).margin == 500.0
    assert es.with_overrides(margin=500.0).multiplier == 50.0
    custom = INSTRUMENTS["BTC-PERP"].with_overrides(margin=1_000.0)
    assert custom.margin == 1_000.0 and custom.margin_rate is None
    assert es.with_overrides(margin_rate=0.05).margin is None
    with pytest.raises(OrderFlowError, match="tick_size"):
        es.with_overrides(tick_size=-0.25)


def test_configure_broker_returns_backtraders_futures_scheme():
    broker = bt.brokers.BackBroker()
    info = configure_broker(broker, INSTRUMENTS["ES"], commission_per_contract=2.5)
    assert not info.stocklike and info.p.mult == 50.0 and info.get_margin(5000.0) == 12_650.0
    assert info.getcommission(-3, 5000.0) == pytest.approx(7.5)  # per contract per side
    assert info.profitandloss(2, 5000.0, 5010.0) == pytest.approx(1000.0)
    named = configure_broker(broker, INSTRUMENTS["MES"], name="mes")
    assert broker.comminfo["mes"] is named and broker.comminfo[None] is info


@pytest.mark.parametrize("risk, stop, mult, step, expected", [
    (1_000.0, 4.0, 50.0, 1.0, 5.0),      # ES: 1000 / (4 * 50) = 5
    (999.99, 4.0, 50.0, 1.0, 4.0),       # a cent short of 5 contracts' risk: 4
    (150.0, 4.0, 50.0, 1.0, 0.0),        # cannot afford one contract
    (1_000.0, 7.0, 5.0, 1.0, 28.0),      # MES: 1000 / 35 = 28.57 -> 28
    (0.3, 0.1, 1.0, 1.0, 3.0),           # 0.3 / 0.1 is 2.9999999999999996 in floats: still 3
    (100.0, 150.0, 1.0, 0.001, 0.666),   # BTC perp: 0.6667 BTC -> 0.666 in steps of 0.001
])
def test_size_for_risk(risk, stop, mult, step, expected):
    assert size_for_risk(risk, stop, mult, step) == pytest.approx(expected, abs=1e-12)


def test_size_for_risk_rejects_bad_input():
    for args in [(100.0, 0.0, 50.0), (100.0, -1.0, 50.0), (-1.0, 4.0, 50.0), (100.0, 4.0, 0.0), (float("nan"), 4.0, 50.0)]:
        with pytest.raises(OrderFlowError):
            size_for_risk(*args)
