"""Contract maths: futures (and a crypto perpetual) in the instrument's currency, through Backtrader.

An :class:`Instrument` carries what turns a price move into money: the
``multiplier`` (currency per point of price), the ``tick_size`` (smallest price
step) and the initial ``margin`` per contract. :func:`configure_broker` hands
them to Backtrader's own futures commission scheme (``broker.setcommission``
with ``stocklike=False``, ``commtype=COMM_FIXED``), so that Backtrader itself
computes, per contract:

- ``pnl = size * (exit - entry) * multiplier`` (a short has ``size < 0``);
- ``commission = commission_per_contract * |size|`` on every fill (per side),
  so a round turn costs twice that;
- ``pnlcomm = pnl - commission of both fills``;
- cash: the margin ``|size| * margin`` is set aside while a position is open and
  the position is marked to market bar by bar; the broker value is
  ``cash + margin held + open profit``, so after a closed trade it moves by ``pnlcomm``;
- slippage: ``slippage_ticks * tick_size`` price points against every fill
  (Backtrader's ``set_slippage_fixed``), never beyond the bar's high/low.

Worked example (``tests/test_engine.py``): ES, 1 contract, long 10 points with
$2.50 per side: ``pnl = 1 * 10 * 50 = 500``, ``commission = 2 * 2.50 = 5``,
``pnlcomm = 495``.

The presets below come from the exchanges' published contract specifications
(CME Group: cmegroup.com, product page "Contract Specs"). Multiplier, tick
size and tick value are fixed by the contract rules; **margins are not**: the
exchange changes them with volatility (and brokers add their own), so the
``margin`` figures are a typical initial margin at one point in time (early
2025, rounded) that only scale the cash a position ties up. They never change
profit and loss. Check the current ones at cmegroup.com/clearing/margins and
pass ``margin=`` for a backtest that depends on them.

When the contracts of these roots expire and roll (the third Friday of March, June,
September and December for the equity index futures) is the calendar of a continuous
contract, which the data loaders read: :data:`data.contracts.ROOT_RULES` (``--continuous``,
``--expiry`` for a root without a preset; docs/continuous.md).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import backtrader as bt

from data.errors import OrderFlowError
from strategies.sizing import is_real_number, size_for_risk  # noqa: F401  (size_for_risk: sizing by risk)


@dataclass(frozen=True)
class Instrument:
    """A tradable contract: what one unit of size is worth.

    - ``symbol``: the exchange's product code (``"ES"``);
    - ``multiplier``: currency per 1.0 of price per contract (ES: $50 per index point);
    - ``tick_size``: the smallest price step (ES: 0.25 points);
    - ``margin``: initial margin per contract in currency (ES: about $12,650 in
      early 2025; changes often), or None when ``margin_rate`` applies;
    - ``margin_rate``: margin as a fraction of the notional ``price * multiplier``
      (a crypto perpetual at 10x leverage: 0.1), instead of a fixed ``margin``;
    - ``size_step``: the smallest tradable quantity (1 contract for futures;
      0.001 BTC for a BTC perpetual);
    - ``currency``, ``exchange``, ``name``: labels.

    ``tick_value = tick_size * multiplier`` (ES: 0.25 * 50 = $12.50).
    """

    symbol: str
    multiplier: float
    tick_size: float
    margin: float | None = None
    margin_rate: float | None = None
    size_step: float = 1.0
    currency: str = "USD"
    exchange: str = ""
    name: str = ""

    def __post_init__(self) -> None:
        for field in ("multiplier", "tick_size", "size_step"):
            _check_positive(getattr(self, field), field, self.symbol)
        if self.margin is not None:
            _check_positive(self.margin, "margin", self.symbol)
        if self.margin_rate is not None:
            _check_positive(self.margin_rate, "margin_rate", self.symbol)
        if (self.margin is None) == (self.margin_rate is None):
            raise OrderFlowError(f"instrument {self.symbol}: give exactly one of margin (per contract) or margin_rate "
                                 "(a fraction of the notional)")

    @property
    def tick_value(self) -> float:
        """Currency per tick per contract: ``tick_size * multiplier``."""
        return self.tick_size * self.multiplier

    def margin_at(self, price: float) -> float:
        """Initial margin per contract at ``price``: ``margin``, or ``margin_rate * price * multiplier``."""
        if self.margin is not None:
            return self.margin
        return self.margin_rate * price * self.multiplier

    def with_overrides(self, **changes: Any) -> "Instrument":
        """A copy with some fields replaced (``None`` values are ignored), checked again.

        For explicit ``--multiplier`` / ``--tick-size`` / ``--margin`` on top of a preset.
        A new ``margin`` replaces a preset's ``margin_rate`` and vice versa.
        """
        changes = {k: v for k, v in changes.items() if v is not None}
        if "margin" in changes:
            changes.setdefault("margin_rate", None)
        elif "margin_rate" in changes:
            changes.setdefault("margin", None)
        return dataclasses.replace(self, **changes)


def _check_positive(value: Any, field: str, symbol: str) -> None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise OrderFlowError(f"instrument {symbol}: {field} must be a number", value=value) from None
    if not (math.isfinite(number) and number > 0):
        raise OrderFlowError(f"instrument {symbol}: {field} must be a finite number > 0", value=value)


# Contract terms from the exchanges' published specifications (cmegroup.com, "Contract Specs" of each
# product; CME Group runs CME, CBOT, NYMEX and COMEX). Tick value = tick size * multiplier, as the specs
# state it. Margins: typical CME initial (outright, speculator) margins in early 2025, rounded; they change
# with volatility, often several times a year: see cmegroup.com/clearing/margins.
INSTRUMENTS: dict[str, Instrument] = {i.symbol: i for i in (
    # CME E-mini S&P 500: $50 x index; 0.25 index points = $12.50
    Instrument("ES", 50.0, 0.25, margin=12_650.0, exchange="CME", name="E-mini S&P 500"),
    # CME Micro E-mini S&P 500: $5 x index; 0.25 index points = $1.25
    Instrument("MES", 5.0, 0.25, margin=1_265.0, exchange="CME", name="Micro E-mini S&P 500"),
    # CME E-mini Nasdaq-100: $20 x index; 0.25 index points = $5.00
    Instrument("NQ", 20.0, 0.25, margin=19_800.0, exchange="CME", name="E-mini Nasdaq-100"),
    # CME Micro E-mini Nasdaq-100: $2 x index; 0.25 index points = $0.50
    Instrument("MNQ", 2.0, 0.25, margin=1_980.0, exchange="CME", name="Micro E-mini Nasdaq-100"),
    # CBOT E-mini Dow ($5): $5 x DJIA; 1.0 index point = $5.00
    Instrument("YM", 5.0, 1.0, margin=9_500.0, exchange="CBOT", name="E-mini Dow ($5)"),
    # CME E-mini Russell 2000: $50 x index; 0.10 index points = $5.00
    Instrument("RTY", 50.0, 0.1, margin=7_000.0, exchange="CME", name="E-mini Russell 2000"),
    # NYMEX WTI Light Sweet Crude Oil: 1,000 barrels; $0.01 per barrel = $10.00
    Instrument("CL", 1_000.0, 0.01, margin=6_500.0, exchange="NYMEX", name="Crude Oil (WTI)"),
    # COMEX Gold: 100 troy ounces; $0.10 per troy ounce = $10.00
    Instrument("GC", 100.0, 0.1, margin=10_000.0, exchange="COMEX", name="Gold"),
    # CBOT 10-Year T-Note: $100,000 face value, quoted in points of par (1 point = $1,000);
    # one-half of 1/32 of one point (1/64 = 0.015625) = $15.625
    Instrument("ZN", 1_000.0, 1 / 64, margin=2_200.0, exchange="CBOT", name="10-Year T-Note"),
    # CME Euro FX: EUR 125,000; $0.00005 per euro = $6.25
    Instrument("6E", 125_000.0, 0.00005, margin=2_800.0, exchange="CME", name="Euro FX"),
    # A linear USDT-margined BTC perpetual swap (e.g. Binance BTCUSDT): quantity in BTC, multiplier 1,
    # price step 0.10 USDT, quantity step 0.001 BTC; margin a fraction of the notional (here 10x leverage).
    Instrument("BTC-PERP", 1.0, 0.1, margin_rate=0.1, size_step=0.001, currency="USDT", exchange="crypto",
               name="BTC linear perpetual"),
)}


def get_instrument(symbol: str) -> Instrument:
    """The preset for ``symbol`` (case-insensitive), or OrderFlowError listing the known ones."""
    key = str(symbol).strip().upper()
    if key not in INSTRUMENTS:
        raise OrderFlowError(f"unknown instrument {symbol!r}; known: {', '.join(INSTRUMENTS)} "
                             "(or give --multiplier and --tick-size)")
    return INSTRUMENTS[key]


def configure_broker(broker: bt.brokers.BackBroker, instrument: Instrument, *, commission_per_contract: float = 0.0,
                     slippage_ticks: float = 0.0, name: str | None = None) -> bt.CommInfoBase:
    """Set Backtrader's futures commission scheme and fixed slippage for ``instrument``; returns the scheme.

    ``broker.setcommission(commission=commission_per_contract, commtype=COMM_FIXED,
    mult=multiplier, margin=margin, stocklike=False)``: Backtrader then charges
    ``commission_per_contract * |size|`` on every fill (per side, in currency),
    counts ``pnl = size * (exit - entry) * multiplier`` and holds
    ``|size| * margin`` of cash while a position is open. With ``margin_rate``
    the margin follows the price (Backtrader's ``automargin``:
    ``margin = margin_rate * multiplier * price``).

    Slippage: ``broker.set_slippage_fixed(slippage_ticks * tick_size)``, against
    the trade on every fill (market orders at the open included, Backtrader's
    ``slip_open``), capped at the bar's high/low (``slip_match``). With
    ``slippage_ticks=0`` the broker's slippage settings are left as they are.
    ``name`` scopes the scheme to one data feed's name (Backtrader's default:
    every feed).
    """
    for value, what in ((commission_per_contract, "commission per contract"), (slippage_ticks, "slippage in ticks")):
        if not (is_real_number(value) and value >= 0):
            raise OrderFlowError(f"{what} must be a finite number >= 0", value=value)
    automargin = instrument.margin_rate * instrument.multiplier if instrument.margin_rate is not None else False
    broker.setcommission(commission=float(commission_per_contract), commtype=bt.CommInfoBase.COMM_FIXED,
                         mult=instrument.multiplier, margin=instrument.margin, automargin=automargin,
                         stocklike=False, name=name)
    if slippage_ticks:
        broker.set_slippage_fixed(slippage_ticks * instrument.tick_size, slip_open=True, slip_match=True)
    return broker.comminfo[name]


def instrument_from_options(symbol: str | None = None, *, multiplier: float | None = None,
                            tick_size: float | None = None, margin: float | None = None) -> Instrument | None:
    """The instrument of the command line's ``--instrument``/``--multiplier``/``--tick-size``/``--margin``:
    a preset with any of them overridden, or a custom contract from ``multiplier`` and ``tick_size``
    (margin: ``margin`` per contract, else the whole notional, ``margin_rate = 1``); None when none is given."""
    if symbol is not None:
        return get_instrument(symbol).with_overrides(multiplier=multiplier, tick_size=tick_size, margin=margin)
    if multiplier is None and tick_size is None and margin is None:
        return None
    if multiplier is None or tick_size is None:
        raise OrderFlowError("a contract without --instrument needs both --multiplier and --tick-size")
    return Instrument("custom", multiplier=multiplier, tick_size=tick_size, margin=margin,
                      margin_rate=None if margin is not None else 1.0)
