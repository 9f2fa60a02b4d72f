"""Footprint imbalance rules: our default and the presets of ATAS, NinjaTrader 8 and Sierra Chart.

An imbalance compares the aggressive volume of one side at a price level with the
other side's volume at the level it competes with:

- *diagonal* (every platform's default): the buyers lifting the offer at ``p``
  against the sellers hitting the bid one level lower, ``buy(p)`` vs ``sell(p - 1)``;
  the sellers at ``p`` against the buyers one level higher, ``sell(p)`` vs ``buy(p + 1)``;
- *horizontal*: both sides of the same level, ``buy(p)`` vs ``sell(p)``.

With ``x`` the imbalancing side's volume and ``y`` the other side's, a level is an
imbalance when all of::

    x > 0
    x >= ratio * y          (x > ratio * y       when strict)
    x >= min_volume         (x > min_volume      when strict)
    x - y >= min_delta
    y > 0                   (only with zero_rule="ignore")

A level outside the bar's range (above its high, below its low) has ``y = 0``.
``zero_rule="imbalance"`` lets a zero on the other side make an imbalance (any
volume is at least ``ratio`` times 0, so the filters decide); ``"ignore"`` never
flags against a zero (ATAS's "Ignore zero values").

Presets (:data:`IMBALANCE_PRESETS`), each from the platform's own help page or code;
where a page is silent we say so and what we assumed:

``"default"`` (this project, unchanged): ratio 3, no minimum, ``>=``, zero counts, diagonal.

``"atas"``: the ATAS *Stacked Imbalance* indicator
(https://support.atas.net/knowledge-bases/2/articles/17947-stacked-imbalances and its
open-source code, ``ATAS.Indicators.Technical.StackedImbalance``): "compares the volume
of bids at one price level with the volume of asks on the price located one level
higher" (diagonal); *Imbalance Ratio* 300 (percent: ask > bid x 300 / 100, strictly
greater); *Imbalance Volume* 30, "the minimum volume filter. For imbalances by asks it
filters asks" (ask > 30, strictly); *Ignore zero values* off by default (a zero bid
below makes an ask imbalance once the ask passes the volume filter). ATAS's footprint
colouring "Bid/Ask Imbalance" uses a default *Imbalance Rate* of 150%
(https://support.atas.net/knowledge-bases/2/articles/400-type-of-clusters-bidask-imbalance)
with no volume filter: ``custom(1.5, strict=True)``.

``"ninjatrader"``: NinjaTrader 8 Order Flow Volumetric Bars
(https://ninjatrader.com/support/helpGuides/nt8/order_flow_volumetric_bars.htm):
"the price level buying and selling volumes are compared diagonally ... by exceeding
the set Imbalance ratio" (default 1.5: 1000 bought against 300 sold one level below is
a buy imbalance), and *Imbalance min delta* (default 10): the imbalancing side must
exceed the other by at least 10 contracts. "Exceeding" is read as strictly greater;
the page does not treat a zero on the other side apart, so it counts (the min delta
keeps one-lot prints at the bar's edge from flagging).

``"sierra"``: Sierra Chart Numbers Bars, text/background colouring "based on Diagonal
Dominant Side AskVol BidVol Percentage"
(https://www.sierrachart.com/index.php?page=doc/NumbersBars.php): "Ask Percentage = Ask
Volume at the given price / Bid Volume at the previous price", "Bid Percentage = Bid
Volume at the given price / Ask Volume at the next price", compared with the study's
*Percent Compare Thresholds*, a range's lower bound included (">="). The page gives
neither a default threshold for imbalances nor the result of a division by a zero
volume: we take 300% and let a zero count (a division by zero is an unbounded
percentage), with no volume filter. Check these two settings against your study.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from data.errors import OrderFlowError

ZERO_RULES = ("imbalance", "ignore")
DEFAULT_RATIO = 3.0  # the project's rule when no preset is named


@dataclass(frozen=True)
class ImbalanceRule:
    """One imbalance definition (see the module docstring for the formula)."""

    ratio: float = DEFAULT_RATIO
    min_volume: float = 0.0
    zero_rule: str = "imbalance"
    diagonal: bool = True
    min_delta: float = 0.0
    strict: bool = False
    name: str = "custom"

    def describe(self) -> str:
        """One line for chart legends: ``"atas: diagonal >3:1, vol. >30"``."""
        op = ">" if self.strict else "≥"
        parts = [f"{'diagonal' if self.diagonal else 'horizontal'} {op}{self.ratio:g}:1"]
        if self.min_volume:
            parts.append(f"vol. {op}{self.min_volume:g}")
        if self.min_delta:
            parts.append(f"diff. ≥{self.min_delta:g}")
        if self.zero_rule == "ignore":
            parts.append("zeros ignored")
        return f"{self.name}: {', '.join(parts)}"


def custom(ratio: float, min_volume: float = 0.0, zero_rule: str = "imbalance", diagonal: bool = True, *,
           min_delta: float = 0.0, strict: bool = False) -> ImbalanceRule:
    """A checked :class:`ImbalanceRule`: ``ratio > 0``, ``min_volume >= 0``, ``min_delta >= 0``,
    ``zero_rule`` one of ``"imbalance"`` (a zero on the other side counts) or ``"ignore"``."""
    try:
        ratio, min_volume, min_delta = float(ratio), float(min_volume), float(min_delta)
    except (TypeError, ValueError):
        raise OrderFlowError(f"imbalance ratio/min_volume/min_delta must be numbers, not {ratio!r}, {min_volume!r}, "
                             f"{min_delta!r}") from None
    if not (np.isfinite(ratio) and ratio > 0):
        raise OrderFlowError(f"imbalance ratio must be above 0, not {ratio!r}")
    if not (np.isfinite(min_volume) and min_volume >= 0) or not (np.isfinite(min_delta) and min_delta >= 0):
        raise OrderFlowError(f"imbalance min_volume and min_delta must be >= 0, not {min_volume!r}, {min_delta!r}")
    if zero_rule not in ZERO_RULES:
        raise OrderFlowError(f"imbalance zero_rule must be one of {', '.join(ZERO_RULES)}, not {zero_rule!r}")
    return ImbalanceRule(ratio, min_volume, zero_rule, bool(diagonal), min_delta, bool(strict))


IMBALANCE_PRESETS: dict[str, ImbalanceRule] = {
    "default": replace(custom(DEFAULT_RATIO), name="default"),
    "atas": replace(custom(3.0, 30.0, strict=True), name="atas"),
    "ninjatrader": replace(custom(1.5, min_delta=10.0, strict=True), name="ninjatrader"),
    "sierra": replace(custom(3.0), name="sierra"),
}


def imbalance_rule(imbalance: "str | ImbalanceRule | None" = None, ratio: float | None = None,
                   min_volume: float | None = None) -> ImbalanceRule:
    """The rule to apply: a preset name (``"atas"``, ``"ninjatrader"``, ``"sierra"``,
    ``"default"``), an :class:`ImbalanceRule` (from :func:`custom`), or None for the
    default rule with ``ratio`` / ``min_volume`` (the older keyword arguments). Naming a
    rule and passing ``ratio`` or ``min_volume`` as well is an error (which would win?)."""
    if imbalance is None:
        rule = custom(DEFAULT_RATIO if ratio is None else ratio, 0.0 if min_volume is None else min_volume)
        return replace(rule, name="default") if rule == replace(IMBALANCE_PRESETS["default"], name="custom") else rule
    if ratio is not None or min_volume is not None:
        raise OrderFlowError("give either imbalance= (a preset or custom(...)) or ratio=/min_volume=, not both")
    if isinstance(imbalance, ImbalanceRule):
        return imbalance
    key = str(imbalance).strip().lower().replace(" ", "").replace("_", "")
    key = {"nt8": "ninjatrader", "ninja": "ninjatrader", "sierrachart": "sierra"}.get(key, key)
    if key not in IMBALANCE_PRESETS:
        raise OrderFlowError(f"unknown imbalance preset {imbalance!r}; use one of {', '.join(IMBALANCE_PRESETS)} "
                             "or data.bars.imbalance.custom(ratio, min_volume, zero_rule, diagonal)")
    return IMBALANCE_PRESETS[key]


def flag_imbalances(buy: np.ndarray, sell: np.ndarray, offsets: np.ndarray, rule: ImbalanceRule) -> tuple[np.ndarray, np.ndarray]:
    """Per cell of dense per-bar ladders (bar ``b`` owns cells ``offsets[b]:offsets[b+1]``,
    levels ascending): (is a buy imbalance, is a sell imbalance), by ``rule``."""
    buy = np.asarray(buy, dtype=np.float64)
    sell = np.asarray(sell, dtype=np.float64)
    if rule.diagonal:
        starts, ends = offsets[:-1], offsets[1:]
        bottom = np.zeros(len(buy), dtype=bool)
        top = np.zeros(len(buy), dtype=bool)
        bottom[starts[ends > starts]] = True
        top[ends[ends > starts] - 1] = True
        against_buy = np.where(bottom, 0.0, np.roll(sell, 1))  # sell one level below
        against_sell = np.where(top, 0.0, np.roll(buy, -1))  # buy one level above
    else:
        against_buy, against_sell = sell, buy
    return _flags(buy, against_buy, rule), _flags(sell, against_sell, rule)


def _flags(x: np.ndarray, y: np.ndarray, rule: ImbalanceRule) -> np.ndarray:
    at_least = np.greater if rule.strict else np.greater_equal
    flags = (x > 0) & at_least(x, rule.ratio * y) & at_least(x, rule.min_volume)
    if rule.min_delta:
        flags &= x - y >= rule.min_delta
    if rule.zero_rule == "ignore":
        flags &= y > 0
    return flags
