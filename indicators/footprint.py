"""Footprint indicators: POC and value area, diagonal and stacked imbalances, large trades, absorption.

They read the per-bar footprint lines :func:`data.make_bars` computes (see
``data/bars/footprint.py`` for the exact rules), are built from Backtrader line
operations (same values with ``runonce=True`` and ``False``) and read nothing
after the current bar.
"""
from __future__ import annotations

import math

import backtrader as bt

from data.errors import OrderFlowError

from .orderflow import PLOT_GREEN, PLOT_RED, require_lines
from .warmup import WarmUpGuard

__all__ = ["PointOfControl", "FootprintImbalances", "StackedImbalance", "LargeTrades", "LargeOrders", "Absorption"]

_NAN = float("nan")


class PointOfControl(WarmUpGuard, bt.Indicator):
    """Each bar's point of control and value area, drawn on the price chart.

    ``poc``: the price level with the most volume in the bar; ``vah``/``val``: the
    value area high/low, the levels around the POC holding 70% of the bar's volume
    (grown one level at a time towards the side that traded more).
    """

    alias = ("POC",)
    lines = ("poc", "vah", "val")
    plotinfo = dict(plotname="POC / value area", subplot=False)
    plotlines = dict(
        poc=dict(marker="_", markersize=9.0, color="#ff7f0e", ls="", _name="POC"),
        vah=dict(marker="_", markersize=6.0, color="#7f7f7f", ls="", _name="VAH"),
        val=dict(marker="_", markersize=6.0, color="#7f7f7f", ls="", _name="VAL"),
    )

    def __init__(self) -> None:
        require_lines(self.data, ("poc", "vah", "val"), "PointOfControl")
        self.lines.poc = self.data.poc
        self.lines.vah = self.data.vah
        self.lines.val = self.data.val


class _UpDownHistogram(WarmUpGuard, bt.Indicator):
    """Two feed lines as a histogram: ``buy`` drawn up, ``sell`` drawn down (``sell_down = -sell``).

    ``buy``/``sell`` are the feed lines named by ``_feed_lines`` (buy first),
    ``net = buy - sell``. Subclasses set ``_feed_lines``, ``plotinfo.plotname`` and
    the legend names of ``buy`` and ``sell_down`` in ``plotlines``.
    """

    lines = ("buy", "sell", "net", "sell_down")
    _feed_lines: tuple[str, str]
    plotinfo = dict(plotyhlines=[0.0])
    plotlines = dict(
        buy=dict(_method="bar", color=PLOT_GREEN, width=1.0),
        sell_down=dict(_method="bar", color=PLOT_RED, width=1.0),
        sell=dict(_plotskip=True),
        net=dict(_plotskip=True),
    )

    def __init__(self) -> None:
        require_lines(self.data, self._feed_lines, self.aliased or type(self).__name__)
        buy, sell = (getattr(self.data.lines, name) for name in self._feed_lines)
        self.lines.buy = buy
        self.lines.sell = sell
        self.lines.net = buy - sell
        self.lines.sell_down = -sell


class FootprintImbalances(_UpDownHistogram):
    """Diagonal imbalance counts per bar: buy levels up, sell levels down.

    A buy imbalance at price p: buy volume at p >= ratio x sell volume one tick
    below; a sell imbalance: sell volume at p >= ratio x buy volume one tick above
    (``make_bars`` defaults: ratio 3, no minimum volume; recompute with
    ``data.bars.footprint.add_footprint_lines``). ``buy`` and ``sell`` are the counts,
    ``net = buy - sell``; the histogram draws ``buy`` up and ``-sell`` down.
    """

    alias = ("FPImbalances",)
    _feed_lines = ("buy_imbalances", "sell_imbalances")
    plotinfo = dict(plotname="Footprint imbalances")
    plotlines = dict(buy=dict(_name="buy imb."), sell_down=dict(_name="sell imb."))


class StackedImbalance(WarmUpGuard, bt.Indicator):
    """A stacked imbalance: at least ``min_stack`` adjacent levels imbalanced on one side.

    ``signal`` is +1 when the bar's longest buy stack has ``>= min_stack`` levels and
    is longer than any qualifying sell stack, -1 for the mirror case, 0 otherwise
    (ties included). ``stack_low``/``stack_high`` are the signalled stack's lowest and
    highest price (NaN with no signal); ``bull_mark``/``bear_mark`` draw a triangle
    below/above the stack on the price chart.
    """

    alias = ("Stacked",)
    lines = ("signal", "stack_low", "stack_high", "bull_mark", "bear_mark")
    params = (("min_stack", 3),)
    plotinfo = dict(plotname="Stacked imbalance", subplot=False)
    plotlines = dict(
        signal=dict(_plotskip=True),
        stack_low=dict(_plotskip=True),
        stack_high=dict(_plotskip=True),
        bull_mark=dict(marker="^", markersize=7.0, color=PLOT_GREEN, fillstyle="full", ls="", _name="buy stack"),
        bear_mark=dict(marker="v", markersize=7.0, color=PLOT_RED, fillstyle="full", ls="", _name="sell stack"),
    )

    def __init__(self) -> None:
        d = self.data
        require_lines(d, ("buy_stack", "sell_stack", "buy_stack_low", "buy_stack_high", "sell_stack_low",
                           "sell_stack_high"), "StackedImbalance")
        need = int(self.p.min_stack)
        if need < 1:
            raise OrderFlowError("StackedImbalance min_stack must be a whole number of levels >= 1",
                                 value=self.p.min_stack)
        buy_ok = d.buy_stack >= need
        sell_ok = d.sell_stack >= need
        buy = bt.And(buy_ok, d.buy_stack > bt.If(sell_ok, d.sell_stack, 0.0))
        sell = bt.And(sell_ok, d.sell_stack > bt.If(buy_ok, d.buy_stack, 0.0))
        self.lines.signal = buy - sell
        self.lines.stack_low = bt.If(buy, d.buy_stack_low, bt.If(sell, d.sell_stack_low, _NAN))
        self.lines.stack_high = bt.If(buy, d.buy_stack_high, bt.If(sell, d.sell_stack_high, _NAN))
        self.lines.bull_mark = bt.If(buy, d.low, _NAN)
        self.lines.bear_mark = bt.If(sell, d.high, _NAN)

    def _plotlabel(self) -> list:
        return [f">= {self.p.min_stack}"]


class LargeTrades(_UpDownHistogram):
    """Volume of large trades per bar: buyers up, sellers down.

    ``buy``/``sell``: the bar's volume of buyer/seller-initiated trades of at least
    the large-trade size (``make_bars`` default: the 99th percentile of the previous
    block of 10,000 trades); ``net = buy - sell``.
    """

    alias = ("BigTrades",)
    _feed_lines = ("large_buy_volume", "large_sell_volume")
    plotinfo = dict(plotname="Large trades")
    plotlines = dict(buy=dict(_name="large buys"), sell_down=dict(_name="large sells"))


class LargeOrders(_UpDownHistogram):
    """Volume of large aggressor orders per bar: buyers up, sellers down.

    As :class:`LargeTrades`, but over whole taker orders (``data.aggressor_orders``:
    consecutive trades with the same time stamp and side, or the same aggressor id,
    summed) rather than single prints; an order counts in the bar of its last trade.
    """

    alias = ("BigOrders",)
    _feed_lines = ("large_buy_orders", "large_sell_orders")
    plotinfo = dict(plotname="Large orders")
    plotlines = dict(buy=dict(_name="large buy orders"), sell_down=dict(_name="large sell orders"))


class Absorption(WarmUpGuard, bt.Indicator):
    """Absorption: heavy one-sided aggression that fails to move price, at the bar's extreme.

    Exactly :func:`data.bars.footprint.absorption`: ``signal`` is +1 (sellers absorbed at
    the low) when ``volume >= volume_factor * mean(volume of the previous lookback
    bars)``, ``delta <= -delta_fraction * volume``, ``open - close <= max_progress *
    (high - low)`` and ``poc - low <= extreme * (high - low)``; -1 (buyers absorbed
    at the high) for the mirror case; else 0. The first value comes after
    ``lookback`` bars. ``bull_mark``/``bear_mark`` draw on the price chart.
    """

    lines = ("signal", "bull_mark", "bear_mark")
    params = (
        ("lookback", 20),
        ("volume_factor", 1.5),
        ("delta_fraction", 0.25),
        ("max_progress", 0.25),
        ("extreme", 1.0 / 3.0),
    )
    plotinfo = dict(plotname="Absorption", subplot=False)
    plotlines = dict(
        signal=dict(_plotskip=True),
        bull_mark=dict(marker="o", markersize=6.0, color=PLOT_GREEN, fillstyle="none", ls="", _name="absorbed sellers"),
        bear_mark=dict(marker="o", markersize=6.0, color=PLOT_RED, fillstyle="none", ls="", _name="absorbed buyers"),
    )

    def __init__(self) -> None:
        d = self.data
        require_lines(d, ("volume", "delta", "poc"), "Absorption")
        lookback = int(self.p.lookback)
        if lookback < 1:
            raise OrderFlowError("Absorption lookback must be a whole number of bars >= 1", value=self.p.lookback)
        for name in ("volume_factor", "delta_fraction", "max_progress", "extreme"):
            value = float(getattr(self.p, name))
            if not (value >= 0 and math.isfinite(value)):
                raise OrderFlowError(f"Absorption {name} must be a number >= 0", value=value)
        average = bt.indicators.SMA(d.volume, period=lookback, plot=False)(-1)
        span = d.high - d.low
        heavy = d.volume >= self.p.volume_factor * average
        bull = bt.And(heavy, d.delta <= -self.p.delta_fraction * d.volume,
                      d.open - d.close <= self.p.max_progress * span, d.poc - d.low <= self.p.extreme * span)
        bear = bt.And(heavy, d.delta >= self.p.delta_fraction * d.volume,
                      d.close - d.open <= self.p.max_progress * span, d.high - d.poc <= self.p.extreme * span)
        self.lines.signal = bull - bear
        self.lines.bull_mark = bt.If(bull, d.low, _NAN)
        self.lines.bear_mark = bt.If(bear, d.high, _NAN)

    def _plotlabel(self) -> list:
        return [f"{self.p.lookback} bars, x{self.p.volume_factor:g} volume"]
