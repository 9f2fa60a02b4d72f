"""Canonical ticks as the bar code reads them: times as UTC nanoseconds, the checks of a tick
frame, the columns as numpy arrays (what a stream carries between batches) and the aggressor
order ids some sources carry. Shared by reading, the side classifiers and the bars."""
from __future__ import annotations

import numpy as np
import pandas as pd

from data.errors import OrderFlowError
from data.schema import TICK_QUOTES, TICK_REQUIRED

DAY_NS = 86_400_000_000_000  # nanoseconds in a day

# columns that name the aggressor (taker) order of each trade, where a source has one
ORDER_ID_COLUMNS = ("aggressor_id", "taker_order_id", "order_id")
ORDER_ID = "order_id"  # the name of the ticks' aggressor/order id column in tick arrays, if any


def timestamps_ns(timestamps: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """UTC nanoseconds since the epoch as int64 (no copy when already ns)."""
    arr = pd.DatetimeIndex(timestamps) if not isinstance(timestamps, pd.Series) else timestamps.array
    if arr.tz is None:
        raise OrderFlowError("timestamps must be timezone-aware (UTC); load ticks with load_ticks")
    if arr.unit != "ns":
        arr = arr.as_unit("ns")
    return arr.asi8


def check_ticks(ticks: pd.DataFrame) -> np.ndarray:
    """The ticks' times in UTC ns, after checking the columns are there and the times sorted."""
    if not isinstance(ticks, pd.DataFrame):
        raise OrderFlowError("make_bars needs a DataFrame of ticks (see data.load_ticks)")
    missing = [c for c in TICK_REQUIRED if c not in ticks.columns]
    if missing:
        raise OrderFlowError(
            f"ticks lack column(s) {', '.join(missing)}; found {', '.join(map(str, ticks.columns))} "
            "(load them with data.load_ticks)"
        )
    ts = timestamps_ns(ticks["timestamp"])
    back = ts[1:] < ts[:-1]
    if back.any():
        raise OrderFlowError(
            "ticks are not sorted by time (load them with data.load_ticks, which sorts them)",
            column="timestamp", row=int(np.argmax(back)) + 2,
        )
    return ts


def column_or_nan(ticks: pd.DataFrame, name: str) -> np.ndarray:
    """The ticks' column ``name`` as float64 (missing values NaN), or all NaN when there is no such column.
    ``ticks`` may also be a stream's view of numpy columns (:class:`TickColumns`)."""
    if name not in ticks:
        return np.full(len(ticks), np.nan)
    values = ticks[name]
    return np.asarray(values, dtype=np.float64) if isinstance(values, np.ndarray) else \
        values.to_numpy(np.float64, na_value=np.nan)


def order_ids(ticks: pd.DataFrame, by: str | None = None) -> np.ndarray | None:
    """The ticks' aggressor/order id column (``by``, else the first of :data:`ORDER_ID_COLUMNS`
    present), or None when the source has none."""
    if by is not None:
        if by not in ticks:
            raise OrderFlowError(f"ticks have no order id column {by!r}; found {', '.join(map(str, ticks.columns))}",
                                 column=by)
        return ticks[by].to_numpy()
    name = next((c for c in ORDER_ID_COLUMNS if c in ticks), None)
    return None if name is None else ticks[name].to_numpy()


def tick_arrays(ticks: pd.DataFrame) -> dict[str, np.ndarray]:
    """The canonical columns of a frame as numpy arrays (times as int64 UTC ns), what
    :meth:`data.bars.stream.BarStream.add_arrays` takes."""
    out = {"timestamp": timestamps_ns(ticks["timestamp"])}
    out["price"] = ticks["price"].to_numpy(np.float64)
    out["size"] = ticks["size"].to_numpy(np.float64)
    out["side"] = ticks["side"].to_numpy()
    for name in TICK_QUOTES:
        if name in ticks:
            out[name] = ticks[name].to_numpy(np.float64, na_value=np.nan)
    if "inferred" in ticks:
        out["inferred"] = ticks["inferred"].to_numpy(bool)
    ids = order_ids(ticks)
    if ids is not None:
        out[ORDER_ID] = ids
    return out


def concat_arrays(first: dict[str, np.ndarray], second: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Two runs of tick arrays end to end; a column one lacks is NaN there (False for ``inferred``)."""
    out = {}
    for name in dict.fromkeys([*first, *second]):
        parts = []
        for part in (first, second):
            n = len(part["timestamp"])
            if name in part:
                parts.append(part[name])
            else:
                parts.append(np.zeros(n, dtype=bool) if name == "inferred" else np.full(n, np.nan))
        out[name] = np.concatenate(parts)
    return out


class TickColumns:
    """Tick arrays seen as the bar functions read a tick frame (``name in ticks``,
    ``ticks[name]`` a numpy array, ``len(ticks)`` the rows), without building a
    DataFrame for each chunk (about a millisecond each)."""

    __slots__ = ("arrays", "rows")

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.arrays = arrays
        self.rows = len(arrays["timestamp"])

    def __contains__(self, name: object) -> bool:
        return name in self.arrays

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    def __len__(self) -> int:
        return self.rows


def price_grid(price: np.ndarray) -> float:
    """The grid of a run of trade prices: the smallest positive gap between consecutive prices,
    rounded to 6 significant digits (float noise such as ``0.010000000000005`` becomes
    ``0.01``; gaps below a billionth of the prices are noise too). 1.0 when every price is the
    same. The one rule of an inferred tick size: the footprint grid's
    (:func:`data.bars.footprint.infer_tick_size`) and a continuous contract's whole ticks
    (:mod:`data.reading.continuous`)."""
    price = np.asarray(price, dtype=np.float64)
    if len(price) < 2:
        return 1.0
    smallest = _smallest_positive(np.abs(np.diff(price)))
    if smallest is None:
        return 1.0
    # discard float noise below a billionth of the price (e.g. 1e-14 from rounding)
    scale = max(abs(float(np.nanmax(price))), abs(float(np.nanmin(price)))) * 1e-9
    if smallest <= scale:
        gaps = np.abs(np.diff(price))
        gaps = gaps[np.isfinite(gaps) & (gaps > scale)]
        if len(gaps) == 0:
            return 1.0
        smallest = float(gaps.min())
    return float(f"{smallest:.6g}")


def _smallest_positive(gaps: np.ndarray) -> float | None:
    """The smallest finite value above 0 of ``gaps`` (values >= 0 or NaN; overwritten), None if none.

    Without a filtered copy: the bit patterns of doubles >= 0 order like their values
    (NaN patterns above infinity), and as unsigned integers ``0 - 1`` wraps to the
    largest, so the minimum of ``bits - 1`` is the smallest value above 0.
    """
    bits = gaps.view(np.uint64)
    bits -= np.uint64(1)
    lowest = bits.min()
    if lowest == np.iinfo(np.uint64).max:  # every gap is 0
        return None
    smallest = float(np.array(lowest + np.uint64(1), dtype=np.uint64).view(np.float64))
    return smallest if np.isfinite(smallest) else None
