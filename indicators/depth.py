"""Book indicators that are harder to game than the raw imbalance (lines from data/bars/depth.py).

Each reads a line :func:`data.make_bars` computes per bar (``ofi``, ``avg_depth``,
``tw_imbalance``, ``persistent_imbalance``, ``weighted_mid``, ``depth_imbalance_5``/``_10``) and is built from
Backtrader line operations, so ``runonce=True`` and ``runonce=False`` give the same
values, and nothing after the current bar is read.
"""
from __future__ import annotations

import backtrader as bt

from data.errors import OrderFlowError
from data.schema import DEPTH_IMBALANCE_LEVELS

from .orderflow import require_lines, smoothed_line, smoothing_label
from .warmup import WarmUpGuard

__all__ = ["OrderFlowImbalance", "TimeWeightedImbalance", "PersistentImbalance", "WeightedMid", "DepthImbalance"]


class OrderFlowImbalance(WarmUpGuard, bt.Indicator):
    """Order Flow Imbalance (Cont, Kukanov & Stoikov 2014) summed over ``period`` bars.

    The feed's ``ofi`` line is, per bar, the sum over its quote changes of
    ``e_n = q^b_n 1{P^b_n >= P^b_{n-1}} - q^b_{n-1} 1{P^b_n <= P^b_{n-1}}
    - q^a_n 1{P^a_n <= P^a_{n-1}} + q^a_{n-1} 1{P^a_n >= P^a_{n-1}}``: depth added
    at or above the best bid and removed from the best ask counts as buying pressure.

    ``ofi = sum(ofi over the last period bars)``; with ``normalise=True`` it is
    divided by the average best-quote depth of those bars
    (``mean(avg_depth)``, ``avg_depth = mean((bid_size + ask_size) / 2)`` per bar),
    which makes it comparable across instruments and times of day (0 when the
    depth is 0). NaN without quotes.
    """

    alias = ("OFI",)
    lines = ("ofi",)
    params = (("period", 1), ("normalise", False))
    plotinfo = dict(plotname="OFI", plotyhlines=[0.0])
    plotlines = dict(ofi=dict(_method="bar", color="#17becf", width=1.0))

    def __init__(self) -> None:
        require_lines(self.data, ("ofi", "avg_depth"), "OrderFlowImbalance")
        period = int(self.p.period)
        if period < 1:
            raise OrderFlowError("OrderFlowImbalance period must be a whole number of bars >= 1", value=self.p.period)
        total = self.data.ofi if period == 1 else bt.indicators.SumN(self.data.ofi, period=period)
        if self.p.normalise:
            depth = self.data.avg_depth if period == 1 else bt.indicators.SMA(self.data.avg_depth, period=period)
            total = bt.DivByZero(total, depth, zero=0.0)
        self.lines.ofi = total

    def _plotlabel(self) -> list:
        label = [f"{self.p.period} bars"] if int(self.p.period) > 1 else []
        return label + (["/ depth"] if self.p.normalise else [])


class TimeWeightedImbalance(WarmUpGuard, bt.Indicator):
    """Book imbalance averaged over each bar, each quote weighted by how long it rested.

    ``imbalance`` = the feed's ``tw_imbalance``:
    ``sum(w_i (b_i - a_i) / (b_i + a_i)) / sum(w_i)`` over the bar's quote states,
    ``w_i`` the time until the next state (or the bar's end); smoothed by an SMA or
    EMA (``ma``) of ``period`` bars when ``period > 1``. Size shown for a fraction
    of a second weighs that fraction of the bar.
    """

    alias = ("TWImbalance",)
    lines = ("imbalance",)
    params = (("period", 1), ("ma", "sma"))
    plotinfo = dict(plotname="Time-weighted imbalance", plotyhlines=[0.0], plotyticks=[-1.0, 0.0, 1.0],
                    plotymargin=0.05)
    plotlines = dict(imbalance=dict(color="#8c564b"))

    def __init__(self) -> None:
        require_lines(self.data, ("tw_imbalance",), "TimeWeightedImbalance")
        self.lines.imbalance = smoothed_line(self.data.tw_imbalance, self.p.period, self.p.ma, "TimeWeightedImbalance")

    def _plotlabel(self) -> list:
        return smoothing_label(self.p)


class PersistentImbalance(WarmUpGuard, bt.Indicator):
    """Imbalance of depth that has rested: size posted and pulled quickly never counts.

    ``imbalance = (pb - pa) / (pb + pa)`` at the bar's last quote (the feed's
    ``persistent_imbalance``), where ``pb``/``pa`` are the minimum best bid/ask
    queue over the trailing persistence window (``make_bars(persistence="1s")``),
    0 for a queue whose price changed within the window; 0 when neither side has
    rested depth. Smoothed by ``ma`` over ``period`` bars when ``period > 1``.
    ``bid``/``ask`` carry the filtered sizes.
    """

    alias = ("PersistentOBI",)
    lines = ("imbalance", "bid", "ask")
    params = (("period", 1), ("ma", "sma"))
    plotinfo = dict(plotname="Persistent imbalance", plotyhlines=[0.0], plotyticks=[-1.0, 0.0, 1.0],
                    plotymargin=0.05)
    plotlines = dict(imbalance=dict(color="#e377c2"), bid=dict(_plotskip=True), ask=dict(_plotskip=True))

    def __init__(self) -> None:
        require_lines(self.data, ("persistent_imbalance", "persistent_bid_size", "persistent_ask_size"),
                       "PersistentImbalance")
        self.lines.imbalance = smoothed_line(self.data.persistent_imbalance, self.p.period, self.p.ma,
                                         "PersistentImbalance")
        self.lines.bid = self.data.persistent_bid_size
        self.lines.ask = self.data.persistent_ask_size

    def _plotlabel(self) -> list:
        return smoothing_label(self.p)


class WeightedMid(WarmUpGuard, bt.Indicator):
    """Size-weighted mid price at the bar's last quote, drawn on the price chart.

    ``wmid = I * ask + (1 - I) * bid`` with ``I = bid_size / (bid_size + ask_size)``
    (bid 150 x 400, ask 152 x 100: I = 0.8, wmid = 151.6); a heavy bid pulls it up
    towards the ask. NaN when the ticks carry no quote prices.
    """

    alias = ("WMid",)
    lines = ("wmid",)
    plotinfo = dict(plotname="Weighted mid", subplot=False)
    plotlines = dict(wmid=dict(color="#ff7f0e", ls="--", linewidth=0.9))

    def __init__(self) -> None:
        require_lines(self.data, ("weighted_mid",), "WeightedMid")
        self.lines.wmid = self.data.weighted_mid


class DepthImbalance(WarmUpGuard, bt.Indicator):
    """Book imbalance over the first ``levels`` price levels of each side, time-weighted over the bar.

    ``imbalance`` = the feed's ``depth_imbalance_<levels>`` (``levels`` 5 or 10):
    ``sum(w_j x_j) / sum(w_j)`` over the bar's quote states, ``x_j = (B_j - A_j) / (B_j + A_j)``
    with ``B_j``/``A_j`` the size resting on the first ``levels`` bid/ask levels and ``w_j``
    how long the state rested in the bar (bids 10+6+4+2+3 = 25 against asks 5+5+5+5+5 = 25
    give 0); smoothed by an SMA or EMA (``ma``) of ``period`` bars when ``period > 1``. Size
    deeper in the book is harder to pull unseen than the top queue, and a spoof at the best
    price moves it less. NaN unless the bars were made from a quote stream with that many
    levels (``make_bars(ticks, spec, quotes=load_quotes(...))`` on MBP-10, LOBSTER with
    levels, Tardis snapshots).
    """

    alias = ("DepthOBI",)
    lines = ("imbalance",)
    params = (("levels", 5), ("period", 1), ("ma", "sma"))
    plotinfo = dict(plotname="Depth imbalance", plotyhlines=[0.0], plotyticks=[-1.0, 0.0, 1.0], plotymargin=0.05)
    plotlines = dict(imbalance=dict(color="#9467bd"))

    def __init__(self) -> None:
        if self.p.levels not in DEPTH_IMBALANCE_LEVELS:
            raise OrderFlowError(f"DepthImbalance levels must be one of {', '.join(map(str, DEPTH_IMBALANCE_LEVELS))}",
                                 value=self.p.levels)
        name = f"depth_imbalance_{self.p.levels}"
        require_lines(self.data, (name,), "DepthImbalance")
        self.lines.imbalance = smoothed_line(getattr(self.data.lines, name), self.p.period, self.p.ma, "DepthImbalance")

    def _plotlabel(self) -> list:
        return [f"{self.p.levels} levels"] + smoothing_label(self.p)
