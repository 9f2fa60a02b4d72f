"""Trade-side classification for ticks whose aggressor flag is missing.

Tick-level rules (``classify(ticks, method)``; the names are the keys of
:data:`CLASSIFIERS`):

``tick``
    Tick rule: a trade above the previous trade price is a buy (+1), below it a
    sell (-1); a trade at the same price (zero tick) takes the sign of the last
    price change before it. With no earlier different price it stays unknown (0).
``reverse_tick``
    Reverse tick rule: the same against the *next* different price — a trade
    above the next different price is a buy, below it a sell. With no later
    different price it stays unknown. It looks ahead by construction.
``quote``
    Quote (midpoint) rule: above ``mid = (bid + ask) / 2`` a buy, below it a
    sell, at the mid unknown. Without a usable quote: unknown.
``lee_ready``
    Lee & Ready (1991): the quote rule, and the tick rule for trades at the mid
    or without a usable quote.
``emo``
    Ellis, Michaely & O'Hara (2000): at the ask a buy, at the bid a sell,
    everything else (inside the spread, outside the quotes, no usable quote)
    by the tick rule.
``clnv``
    Chakrabarty, Li, Nguyen & Van Ness (2007): with ``spread = ask - bid``, a
    trade in ``[ask - 0.3 spread, ask]`` is a buy and in ``[bid, bid + 0.3 spread]``
    a sell (boundaries and at-quote trades included); the middle 40 % of the
    spread, trades outside the quotes and trades without a usable quote go by
    the tick rule.

A *usable quote* has a finite bid and ask with ``ask >= bid``: crossed quotes
(``ask < bid``) and missing ones (no ``bid``/``ask`` columns, or NaN) count as
no quote. A locked quote (``ask == bid``) is usable for the quote rule (mid =
bid = ask) but puts a trade at that price both "at the bid" and "at the ask",
so EMO and CLNV leave it to the tick rule. Price comparisons with the quotes
allow a relative tolerance of 1e-9 of the quote's magnitude, so a price parsed
from text equals the quote (or a CLNV threshold) it was meant to equal despite
float rounding; real tick sizes are far coarser than that.

Bar-level rule (per bar, not per tick): :func:`bulk_volume_classification`
(Easley, López de Prado & O'Hara 2012).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from data.errors import OrderFlowError
from data.schema import UNKNOWN
from data.ticks import column_or_nan

# Relative tolerance for "price equals a quote / threshold" (see module docstring).
_RTOL = 1e-9
# CLNV: the share of the spread next to each quote that the quote rule decides.
CLNV_ZONE = 0.3


# --------------------------------------------------------------------------- rules on arrays


def _sign_with_carry(step: np.ndarray) -> np.ndarray:
    """Forward-fill the last non-zero sign over zero steps; leading zeros stay 0."""
    carried = pd.Series(step).replace(0.0, np.nan).ffill().fillna(0.0)
    return carried.to_numpy(dtype=np.int8)


def tick_rule(price: np.ndarray | pd.Series) -> np.ndarray:
    """Tick rule: ``sign(p[i] - p[j])`` with ``p[j]`` the last earlier price != ``p[i]``.

    Computed as ``sign(diff(p))`` with zero ticks forward-filled by the last
    non-zero sign; the first trade, and every trade before the first price
    change, is 0 (unknown). Non-finite prices are skipped (they get 0 and do
    not break the chain).
    """
    p = np.asarray(price, dtype=np.float64)
    out = np.zeros(len(p), dtype=np.int8)
    valid = np.isfinite(p)
    pv = p[valid]
    if len(pv):
        step = np.concatenate(([0.0], np.sign(np.diff(pv))))
        out[valid] = _sign_with_carry(step)
    return out


def reverse_tick_rule(price: np.ndarray | pd.Series) -> np.ndarray:
    """Reverse tick rule: ``sign(p[i] - p[k])`` with ``p[k]`` the next later price != ``p[i]``.

    The tick rule run on the reversed sequence, reversed back; trades after the
    last price change are 0 (unknown).
    """
    p = np.asarray(price, dtype=np.float64)
    return tick_rule(p[::-1])[::-1].copy()


def _tolerance(bid: np.ndarray, ask: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return _RTOL * np.maximum(np.abs(bid), np.abs(ask))


def usable_quote(bid: np.ndarray, ask: np.ndarray) -> np.ndarray:
    """True where ``bid`` and ``ask`` are finite and not crossed (``ask >= bid``)."""
    bid = np.asarray(bid, dtype=np.float64)
    ask = np.asarray(ask, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.isfinite(bid) & np.isfinite(ask) & (ask >= bid)


def _against_quotes(
    price: np.ndarray, bid: np.ndarray, ask: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """What the quote rules start from: ``price, bid, ask`` as float64, where the quote
    is usable (:func:`usable_quote`) and the price tolerance (:func:`_tolerance`)."""
    p = np.asarray(price, dtype=np.float64)
    bid = np.asarray(bid, dtype=np.float64)
    ask = np.asarray(ask, dtype=np.float64)
    return p, bid, ask, usable_quote(bid, ask), _tolerance(bid, ask)


def quote_rule(price: np.ndarray, bid: np.ndarray, ask: np.ndarray) -> np.ndarray:
    """Midpoint rule: ``+1`` if ``p > (bid + ask) / 2``, ``-1`` if below, else 0.

    0 also where the quote is not usable (missing or crossed).
    """
    p, bid, ask, ok, tol = _against_quotes(price, bid, ask)
    with np.errstate(invalid="ignore"):
        mid = (bid + ask) / 2.0
        above = ok & (p > mid + tol)
        below = ok & (p < mid - tol)
    return (above.astype(np.int8) - below.astype(np.int8)).astype(np.int8)


def _fill_with_tick(first: np.ndarray, price: np.ndarray) -> np.ndarray:
    """``first`` where it is non-zero, the tick rule elsewhere."""
    return np.where(first != 0, first, tick_rule(price)).astype(np.int8)


def lee_ready(price: np.ndarray, bid: np.ndarray, ask: np.ndarray) -> np.ndarray:
    """Lee–Ready: the quote rule; the tick rule at the mid and without a usable quote."""
    return _fill_with_tick(quote_rule(price, bid, ask), price)


def _at_quotes(price: np.ndarray, bid: np.ndarray, ask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(at_ask, at_bid)`` within tolerance, only where the quote is usable."""
    p, bid, ask, ok, tol = _against_quotes(price, bid, ask)
    with np.errstate(invalid="ignore"):
        return ok & (np.abs(p - ask) <= tol), ok & (np.abs(p - bid) <= tol)


def _decide(buy: np.ndarray, sell: np.ndarray) -> np.ndarray:
    """+1 where only ``buy`` holds, -1 where only ``sell`` holds, 0 where both or neither."""
    return (buy.astype(np.int8) - sell.astype(np.int8)).astype(np.int8)


def emo(price: np.ndarray, bid: np.ndarray, ask: np.ndarray) -> np.ndarray:
    """Ellis–Michaely–O'Hara: ``p == ask`` -> +1, ``p == bid`` -> -1, else the tick rule."""
    at_ask, at_bid = _at_quotes(price, bid, ask)
    return _fill_with_tick(_decide(at_ask, at_bid), price)


def clnv(price: np.ndarray, bid: np.ndarray, ask: np.ndarray) -> np.ndarray:
    """Chakrabarty–Li–Nguyen–Van Ness.

    With ``s = ask - bid``: ``ask - 0.3 s <= p <= ask`` -> +1,
    ``bid <= p <= bid + 0.3 s`` -> -1 (boundaries included, within tolerance);
    the middle 40 % of the spread, trades outside the quotes and trades
    without a usable quote take the tick rule.
    """
    p, bid, ask, ok, tol = _against_quotes(price, bid, ask)
    with np.errstate(invalid="ignore"):
        zone = CLNV_ZONE * (ask - bid)
        buy = ok & (p >= ask - zone - tol) & (p <= ask + tol)
        sell = ok & (p >= bid - tol) & (p <= bid + zone + tol)
    return _fill_with_tick(_decide(buy, sell), p)


# --------------------------------------------------------------------------- on tick frames


def _quotes(ticks: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The frame's bid/ask, all-NaN when it has no quote columns."""
    return column_or_nan(ticks, "bid"), column_or_nan(ticks, "ask")


def _price(ticks: pd.DataFrame) -> np.ndarray:
    return ticks["price"].to_numpy(np.float64, na_value=np.nan)


def _on_prices(rule: Callable[[np.ndarray], np.ndarray]) -> Callable[[pd.DataFrame], np.ndarray]:
    def run(ticks: pd.DataFrame) -> np.ndarray:
        return rule(_price(ticks))

    run.__doc__, run.__name__ = rule.__doc__, rule.__name__
    return run


def _on_quotes(
    rule: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
) -> Callable[[pd.DataFrame], np.ndarray]:
    def run(ticks: pd.DataFrame) -> np.ndarray:
        return rule(_price(ticks), *_quotes(ticks))

    run.__doc__, run.__name__ = rule.__doc__, rule.__name__
    return run


#: The tick-level methods: name -> function(ticks) -> int8 signs (+1/-1/0) for every row.
#: ``classify`` and the command line's ``--classify`` take exactly these names.
CLASSIFIERS: dict[str, Callable[[pd.DataFrame], np.ndarray]] = {
    "tick": _on_prices(tick_rule),
    "reverse_tick": _on_prices(reverse_tick_rule),
    "quote": _on_quotes(quote_rule),
    "lee_ready": _on_quotes(lee_ready),
    "emo": _on_quotes(emo),
    "clnv": _on_quotes(clnv),
}

#: Methods that need bid/ask; without them they fall back to the tick rule
#: (``quote`` has no fallback and leaves every side unknown).
QUOTE_METHODS = ("quote", "lee_ready", "emo", "clnv")

#: The bar-level method, applied to bars rather than ticks.
BAR_METHOD = "bvc"


def classify(ticks: pd.DataFrame, method: str, *, override: bool = False) -> pd.DataFrame:
    """Fill unknown trade sides by a classification rule.

    ``method`` is one of :data:`CLASSIFIERS` (see the module docstring for each
    rule). Returns a copy of ``ticks`` with

    - ``side`` (int8): with ``override=False`` only rows whose side is 0 take the
      rule's sign, known sides are kept; with ``override=True`` every row takes
      the rule's sign (a row the rule cannot sign becomes 0);
    - ``inferred`` (bool): True where the side now comes from the classifier,
      i.e. ``replaced & (new side != 0)``; a row not replaced keeps the input's
      ``inferred`` flag if the frame has one. So ``inferred`` implies ``side != 0``.

    The rule always sees every trade's price (known sides included), in row
    order. Frames without ``bid``/``ask``: ``lee_ready``, ``emo`` and ``clnv``
    reduce to the tick rule and ``quote`` leaves sides unknown.
    """
    rule = CLASSIFIERS.get(method)
    if rule is None:
        valid = ", ".join(CLASSIFIERS)
        hint = (
            " ('bvc' works on bars: use bulk_volume_classification(bars))"
            if method == BAR_METHOD else ""
        )
        raise OrderFlowError(f"unknown classification method; valid: {valid}{hint}", value=method)
    if not isinstance(ticks, pd.DataFrame):
        raise OrderFlowError(f"classify needs a DataFrame of ticks (see data.load_ticks), not {type(ticks).__name__}")
    if "price" not in ticks:
        raise OrderFlowError("ticks need a 'price' column to classify", column="price")

    out = ticks.copy()
    n = len(out)
    side = (
        out["side"].to_numpy(np.int8) if "side" in out else np.zeros(n, dtype=np.int8)
    )
    old_inferred = (
        out["inferred"].to_numpy(bool, na_value=False) if "inferred" in out else np.zeros(n, bool)
    )
    new = np.asarray(rule(out), dtype=np.int8)
    replace = np.ones(n, bool) if override else side == UNKNOWN
    side = np.where(replace, new, side).astype(np.int8)
    out["side"] = side
    out["inferred"] = np.where(replace, new != UNKNOWN, old_inferred)
    return out


# --------------------------------------------------------------------------- bars: BVC


def _cdf(z: np.ndarray, dist: str, df: float) -> np.ndarray:
    """Standard normal CDF ``ndtr`` or Student-t CDF ``stdtr(df, z)`` (scipy.special)."""
    from scipy.special import ndtr, stdtr

    if dist == "normal":
        return ndtr(z)
    if dist == "t":
        return stdtr(df, z)
    raise OrderFlowError("unknown distribution for bulk volume classification; valid: normal, t",
                         value=dist)


def bulk_volume_classification(
    bars: pd.DataFrame,
    *,
    window: int = 50,
    min_periods: int | None = None,
    dist: str = "normal",
    df: float = 0.25,
) -> pd.DataFrame:
    """Bulk volume classification (Easley, López de Prado & O'Hara 2012), per bar.

    ``dp[t] = close[t] - close[t-1]``;
    ``sigma[t]`` = sample standard deviation (ddof=1) of ``dp`` over the
    ``window`` bars *before* ``t`` (the current bar is excluded: no look-ahead),
    needing at least ``min_periods`` of them (default: ``window``);
    ``buy_volume = volume * F(dp / sigma)``, ``sell_volume = volume - buy_volume``,
    with ``F`` the standard normal CDF (``dist="normal"``) or the Student-t CDF
    with ``df`` degrees of freedom (``dist="t"``; 0.25 is the value used in the
    BVC literature's comparisons).
    A zero price change splits 50/50 (``F(0) = 1/2``). Where ``dp`` or ``sigma`` is
    undefined or ``sigma`` is 0 (the first bar, the first ``min_periods`` bars,
    a flat window) the bar also splits 50/50.

    Returns a copy of ``bars`` with ``buy_volume``, ``sell_volume``, ``delta =
    buy - sell`` recomputed, ``unknown_volume = 0``, ``inferred_volume = volume``
    (all of it is a guess), and ``delta_high = max(delta, 0)``,
    ``delta_low = min(delta, 0)`` where those columns exist (the intra-bar path
    is unknown under BVC).
    """
    for col in ("close", "volume"):
        if col not in bars:
            raise OrderFlowError("bars need 'close' and 'volume' for bulk volume classification",
                                 column=col)
    if window < 2:
        raise OrderFlowError("BVC window must be at least 2 bars", value=window)
    min_periods = window if min_periods is None else min_periods
    if not 2 <= min_periods <= window:
        raise OrderFlowError("BVC min_periods must be between 2 and window", value=min_periods)
    if dist == "t" and not df > 0:
        raise OrderFlowError("Student-t degrees of freedom must be positive", value=df)

    close = bars["close"].astype(np.float64)
    volume = bars["volume"].to_numpy(np.float64)
    dp = close.diff()
    sigma = dp.shift(1).rolling(window, min_periods=min_periods).std(ddof=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (dp / sigma).to_numpy(np.float64)
    share = _cdf(np.where(np.isfinite(z), z, 0.0), dist, df)  # undefined z -> F(0) = 1/2

    out = bars.copy()
    buy = volume * share
    sell = volume - buy
    delta = buy - sell
    out["buy_volume"] = buy
    out["sell_volume"] = sell
    out["unknown_volume"] = 0.0
    out["delta"] = delta
    if "delta_high" in out:
        out["delta_high"] = np.maximum(delta, 0.0)
    if "delta_low" in out:
        out["delta_low"] = np.minimum(delta, 0.0)
    out["inferred_volume"] = volume
    return out
