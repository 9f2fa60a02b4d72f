"""The original serverless metrics, per trade, as a plain pandas function.

The project started from a script that, for a list of trades in the columns
``Price, Volume, BidSize, AskSize, TradeType`` (1 = bought on the ask,
2 = sold on the bid), added ``Aggressive_Buy, Aggressive_Sell, Volume_Delta,
CVD, Imbalance``. Its ``df.loc[mask, col] = df['Volume']`` on an integer
column raises a TypeError on pandas 3 as soon as a size is fractional;
:func:`order_flow_metrics` gives the same values without that trap, through
the project's one side parser and one delta computation.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from data.bars.flow import book_imbalance, tick_flow
from data.errors import OrderFlowError
from data.sides.codes import parse_side

ORIGINAL_COLUMNS = ("Volume", "TradeType", "BidSize", "AskSize")
CANONICAL_COLUMNS = ("size", "side", "bid_size", "ask_size")
PRICE_COLUMNS = ("Price", "price")  # checked when present (original, canonical), never computed with
INPUT_COLUMNS = (PRICE_COLUMNS[0], *ORIGINAL_COLUMNS, PRICE_COLUMNS[1], *CANONICAL_COLUMNS)
"""Every column :func:`order_flow_metrics` reads; the others are carried along untouched."""
METRIC_COLUMNS = ("Aggressive_Buy", "Aggressive_Sell", "Volume_Delta", "CVD", "Imbalance")
EXACT_INTEGERS = 2**53
"""Integers from here on (in magnitude) are not all held exactly by float64, in which the metrics are computed."""


class _Names(NamedTuple):
    """Where the inputs live in a frame: the original or the canonical names."""

    size: str
    side: str
    bid_size: str
    ask_size: str
    quotes_required: bool
    price: str


_ORIGINAL = _Names(*ORIGINAL_COLUMNS, quotes_required=True, price=PRICE_COLUMNS[0])
_CANONICAL = _Names(*CANONICAL_COLUMNS, quotes_required=False, price=PRICE_COLUMNS[1])


def order_flow_metrics(frame: pd.DataFrame, *, source: str | None = None) -> pd.DataFrame:
    """The original per-trade metrics, added to a copy of ``frame``.

    ``frame`` holds trades either in the original names (``Volume``,
    ``TradeType``, ``BidSize``, ``AskSize``; no time column needed) or in the
    canonical tick schema (``size``, ``side`` and optionally ``bid_size``,
    ``ask_size``, e.g. the output of :func:`data.load_ticks`). Per trade:

    - ``Aggressive_Buy  = Volume if side == +1 else 0``
    - ``Aggressive_Sell = Volume if side == -1 else 0``
    - ``Volume_Delta    = Aggressive_Buy - Aggressive_Sell``
    - ``CVD             = running sum of Volume_Delta`` (from the first row)
    - ``Imbalance       = BidSize - AskSize`` (NaN where a book size is absent)

    The side comes from :func:`data.sides.codes.parse_side`: ``TradeType`` 1 is +1
    (bought on the ask), 2 is -1 (sold on the bid), as in the original; the
    canonical -1 and the text codes (``buy``/``sell`` ...) are understood too;
    anything else (3, 0, 1.5, missing ...) is 0 and counts in neither column, as in
    the original. How many trades that is: ``result.attrs["unknown_side"]``.

    Integer sizes give integer (int64) columns, as the original did; fractional
    sizes give float64. The original names need all four columns (as the
    original did); canonical ticks without quotes get ``Imbalance`` NaN.
    ``Price`` (``price``) is not used, but when present must be a positive number.

    The metrics are computed in float64, so nothing wraps: an integer size of 2^53
    or more (:data:`EXACT_INTEGERS`, beyond which float64 skips integers) is refused,
    and so is a CVD that reaches 2^53 on integer sizes or overflows float64.

    Raises :class:`OrderFlowError` naming ``source``, the column and the first
    bad 1-based row for: no recognisable columns, a missing needed column, a
    size or book size that is not a number, infinite, negative or an integer
    beyond 2^53, a missing trade size, a price that is missing, not a number or
    not > 0, a CVD beyond exact numbers, boolean side codes or an integer side
    code beyond 64 bits.
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"order_flow_metrics needs a pandas DataFrame, not {type(frame).__name__}")
    names = _resolve_names(frame, source)
    size, size_is_int = _checked_sizes(frame, names.size, "trade size", required=True, source=source)
    sides = _checked_sides(frame, names.side, source)
    flow = tick_flow(size, sides)
    bid, bid_is_int = _optional_sizes(frame, names.bid_size, "bid size", source)
    ask, ask_is_int = _optional_sizes(frame, names.ask_size, "ask size", source)
    if names.price in frame.columns:
        _checked_sizes(frame, names.price, "price", required=True, source=source, positive=True)
    with np.errstate(over="ignore"):  # an overflow is refused by the check
        cvd = _checked_cvd(np.cumsum(flow["delta"]), size_is_int, frame, names.size, source)

    out = frame.copy()
    out["Aggressive_Buy"] = _as_int_if(flow["buy_volume"], size_is_int)
    out["Aggressive_Sell"] = _as_int_if(flow["sell_volume"], size_is_int)
    out["Volume_Delta"] = _as_int_if(flow["delta"], size_is_int)
    out["CVD"] = _as_int_if(cvd, size_is_int)
    out["Imbalance"] = _as_int_if(book_imbalance(bid, ask), bid_is_int and ask_is_int)
    out.attrs["unknown_side"] = int(np.count_nonzero(sides == 0))
    return out


def _resolve_names(frame: pd.DataFrame, source: str | None) -> _Names:
    """Pick the original or the canonical names; raise if a needed one is missing."""
    columns = set(frame.columns)
    if columns.intersection(ORIGINAL_COLUMNS):
        names = _ORIGINAL
    elif columns.intersection(CANONICAL_COLUMNS):
        names = _CANONICAL
    else:
        raise OrderFlowError(
            "no trade columns: expected the original Volume, TradeType, BidSize, AskSize "
            "or the canonical size, side (bid_size, ask_size optional)",
            source=source,
        )
    needed = names[:4] if names.quotes_required else names[:2]
    missing = [c for c in needed if c not in columns]
    if missing:
        raise OrderFlowError(
            f"missing column (needed: {', '.join(needed)})", source=source, column=missing[0]
        )
    return names


def _checked_sizes(
    frame: pd.DataFrame, column: str, label: str, *, required: bool, source: str | None, positive: bool = False
) -> tuple[np.ndarray, bool]:
    """A size (or, ``positive``, price) column as float64, and whether it was an integer column.

    Numbers and numeric text are accepted; the first row that is not a number (a
    boolean is not), is infinite (including an integer too large for a float), is
    negative (``positive``: not > 0), is an integer of :data:`EXACT_INTEGERS` or more
    in magnitude, or (when ``required``) is missing raises.
    """
    series = frame[column]
    if pd.api.types.is_bool_dtype(series.dtype):
        raise _bad_value(series, 0, f"{label} is not a number", column, source)
    integers = series.dtype.kind in "iu"
    if pd.api.types.is_numeric_dtype(series.dtype):
        numbers = series
        not_number = np.zeros(len(series), dtype=bool)
    else:
        try:
            numbers = pd.to_numeric(series, errors="coerce")
        except OverflowError:  # a Python int beyond float64: +-inf ("not finite"), on pandas 2.2 as on 3.x
            text = series.astype("string")
            numbers = pd.to_numeric(text, errors="coerce").astype(np.float64)
            whole = text.str.fullmatch(r"[+-]?\d+").fillna(False).to_numpy(dtype=bool) & numbers.isna().to_numpy()
            sign = np.where(text.str.startswith("-").fillna(False).to_numpy(dtype=bool), -np.inf, np.inf)
            numbers = numbers.mask(whole, pd.Series(sign, index=numbers.index))
        kinds = series.map(type, na_action="ignore")  # Python ints, and bools (which are not numbers)
        not_number = (series.notna() & numbers.isna()).to_numpy(dtype=bool) | kinds.isin([bool, np.bool_]).to_numpy(
            dtype=bool)
        integers = kinds.isin([int, np.int64, np.uint64]).to_numpy(dtype=bool)
    values = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    nan = np.isnan(values)
    inexact = integers & (np.abs(values) >= EXACT_INTEGERS)  # False for NaN
    valid = ((values > 0) if positive else (values >= 0)) & (values != np.inf) & ~inexact & ~not_number
    if not required:
        valid |= nan & ~not_number
    if not valid.all():
        _raise_first_bad(series, values, nan, not_number, inexact, required, positive, label, column, source)
    is_int = series.dtype.kind in "iu" and not nan.any()
    return values, is_int


def _raise_first_bad(
    series: pd.Series,
    values: np.ndarray,
    nan: np.ndarray,
    not_number: np.ndarray,
    inexact: np.ndarray,
    required: bool,
    positive: bool,
    label: str,
    column: str,
    source: str | None,
) -> None:
    """Raise for the first row of a size column that fails a check, saying which."""
    checks = (
        ("is not a number", not_number),
        ("is missing", nan & ~not_number if required else np.zeros_like(nan)),
        ("is not finite", np.isinf(values)),
        ("is not positive", values <= 0) if positive else ("is negative", values < 0),
        (f"is an integer beyond 2^53 = {EXACT_INTEGERS}, which float64 does not hold exactly", inexact),
    )
    bad = np.logical_or.reduce([mask for _, mask in checks])
    row = int(np.argmax(bad))
    reason = next(text for text, mask in checks if mask[row])
    raise _bad_value(series, row, f"{label} {reason}", column, source)


def _checked_cvd(
    cvd: np.ndarray, integral: bool, frame: pd.DataFrame, column: str, source: str | None
) -> np.ndarray:
    """The running sum of the deltas, unless it leaves the numbers float64 holds: for integer sizes
    2^53 (from there a float64 sum skips integers), else an overflow to infinity. A partial sum is
    exact while below 2^53, and rounding never takes one below 2^53 once it is there, so the first row
    at 2^53 or beyond is the first inexact one."""
    bad = np.abs(cvd) >= EXACT_INTEGERS if integral else ~np.isfinite(cvd)
    if bad.any():
        problem = (f"the CVD reaches 2^53 = {EXACT_INTEGERS} here, beyond the integers float64 holds exactly"
                   if integral else "the CVD overflows float64 here")
        raise _bad_value(frame[column], int(np.argmax(bad)), problem, column, source)
    return cvd


def _optional_sizes(
    frame: pd.DataFrame, column: str, label: str, source: str | None
) -> tuple[np.ndarray, bool]:
    """A book-size column (missing values allowed), or all NaN when absent."""
    if column not in frame.columns:
        return np.full(len(frame), np.nan), False
    return _checked_sizes(frame, column, label, required=False, source=source)


def _checked_sides(frame: pd.DataFrame, column: str, source: str | None) -> np.ndarray:
    """Side codes through the project's one parser (+1 buy, -1 sell, 0 neither)."""
    series = frame[column]
    if pd.api.types.is_bool_dtype(series.dtype):
        raise _bad_value(
            series, 0, "side codes must be 1/2, +1/-1 or buy/sell, not booleans", column, source
        )
    try:
        return parse_side(series)
    except OverflowError:  # a Python int that no 64-bit column holds (Arrow refuses it)
        huge = series.map(lambda v: isinstance(v, int) and not -2**63 <= v < 2**64, na_action="ignore")
        if not huge.any():
            raise
        raise _bad_value(series, int(np.argmax(huge.to_numpy(dtype=bool, na_value=False))),
                         "side code is an integer beyond 64 bits", column, source) from None


def _bad_value(
    series: pd.Series, row: int, problem: str, column: str, source: str | None
) -> OrderFlowError:
    """An OrderFlowError for 0-based position ``row`` of ``series`` (reported 1-based)."""
    value = series.iloc[row] if len(series) else None
    if isinstance(value, np.generic):
        value = value.item()
    if pd.api.types.is_scalar(value) and pd.isna(value):
        value = None
    return OrderFlowError(problem, source=source, column=column, row=row + 1, value=value)


def _as_int_if(values: np.ndarray, integral: bool) -> np.ndarray:
    """``values`` as int64 when every input was an integer column, else float64."""
    return values.astype(np.int64) if integral else values
