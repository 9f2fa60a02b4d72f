"""Trades grouped into aggressor orders: one taker order that sweeps several levels is one order.

An exchange prints one trade per resting order a taker fills, so a market order
that takes three levels prints (at least) three trades, all with the taker's time
stamp and side (Binance and CME/Databento both do this). Counting "large trades"
over those single prints misses the large *order*. Here consecutive trades form one
order when they share

- the aggressor/order id, where the source has one (a column named in
  :data:`ORDER_ID_COLUMNS` or passed as ``by``), and the side; or otherwise
- the exact time stamp and the side.

Without an id two different takers matched in the same instant (or, on a source
stamped to the millisecond, the same millisecond) on the same side merge into one
order: the grouping is an upper bound on order size, exact where the exchange stamps
each match event.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from data.bars.large import DEFAULT_LARGE, DEFAULT_LARGE_WINDOW, LargeTradeCarry, large_trade_threshold, large_trade_volume
from data.ticks import ORDER_ID_COLUMNS, check_ticks, order_ids

__all__ = ["ORDER_ID_COLUMNS", "order_ids", "order_starts", "aggressor_orders", "large_orders", "large_order_volume"]


def order_starts(times: np.ndarray, side: np.ndarray, ids: np.ndarray | None = None) -> np.ndarray:
    """Index of the first trade of each order (ascending, ``[0]`` when there are trades).

    Trade ``i > 0`` opens a new order when ``side[i] != side[i-1]`` or, with ``ids``,
    ``ids[i] != ids[i-1]``, else ``times[i] != times[i-1]``.
    """
    n = len(side)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    key = np.asarray(times) if ids is None else np.asarray(ids)
    side = np.asarray(side)
    new = np.empty(n, dtype=bool)
    new[0] = True
    np.not_equal(side[1:], side[:-1], out=new[1:])
    new[1:] |= key[1:] != key[:-1]
    return np.flatnonzero(new)


def aggressor_orders(ticks: pd.DataFrame, *, by: str | None = None) -> pd.DataFrame:
    """Canonical ticks -> one row per aggressor order (see the module docstring for the grouping).

    Per order (trades ``i`` of the order, in file order): ``timestamp`` of its first
    trade and ``last_timestamp`` of its last; ``side``; ``size = sum(size_i)``;
    ``trades`` the number of prints; ``vwap = sum(price_i * size_i) / size`` (its
    average price; the first price when the size is 0); ``first_price``,
    ``last_price``, ``low``, ``high``; ``levels`` the number of distinct prices it
    traded at (the levels it swept); ``first_row``/``last_row`` the positions of its
    first and last trade in ``ticks``. Sizes are conserved: ``orders.size.sum() ==
    ticks.size.sum()``. ``attrs["trades_per_order"]`` = trades / orders.
    """
    ts = check_ticks(ticks)
    price = ticks["price"].to_numpy(np.float64)
    size = ticks["size"].to_numpy(np.float64)
    side = ticks["side"].to_numpy()
    starts = order_starts(ts, side, order_ids(ticks, by))
    n = len(ts)
    last = np.append(starts[1:], n) - 1
    total = np.add.reduceat(size, starts) if n else np.zeros(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        vwap = np.where(total > 0, np.add.reduceat(price * size, starts) / np.where(total > 0, total, 1.0), price[starts])
    order = _order_index(starts, n)
    by_price = np.lexsort((price, order))
    sorted_order, sorted_price = order[by_price], price[by_price]
    distinct = np.ones(n, dtype=bool)
    distinct[1:] = (sorted_order[1:] != sorted_order[:-1]) | (sorted_price[1:] != sorted_price[:-1])
    frame = pd.DataFrame(
        {
            "timestamp": pd.DatetimeIndex(ticks["timestamp"].array[starts]),
            "last_timestamp": pd.DatetimeIndex(ticks["timestamp"].array[last]),
            "side": side[starts].astype(np.int8),
            "size": total,
            "trades": (last - starts + 1).astype(np.int64),
            "vwap": vwap,
            "first_price": price[starts],
            "last_price": price[last],
            "low": np.minimum.reduceat(price, starts) if n else np.zeros(0),
            "high": np.maximum.reduceat(price, starts) if n else np.zeros(0),
            "levels": np.bincount(sorted_order[distinct], minlength=len(starts)).astype(np.int64),
            "first_row": starts,
            "last_row": last,
        }
    )
    frame.attrs["trades_per_order"] = n / len(starts) if len(starts) else float("nan")
    return frame


def _order_index(starts: np.ndarray, n: int) -> np.ndarray:
    marks = np.zeros(n, dtype=np.int64)
    marks[starts[1:]] = 1
    return np.cumsum(marks)


def large_orders(ticks: pd.DataFrame, threshold: "float | str" = DEFAULT_LARGE, window: int = DEFAULT_LARGE_WINDOW, *,
                 by: str | None = None) -> pd.DataFrame:
    """The aggressor orders (:func:`aggressor_orders`) of size at or above ``threshold``:
    a size, or ``"pQ"`` the Q-th percentile of the previous block of ``window`` orders
    (:func:`data.bars.large.large_trade_threshold`, applied to orders). One row per
    large order with the columns of :func:`aggressor_orders` plus ``threshold``: the
    "big trades" markers a chart draws at (``last_timestamp``, ``vwap``) with a size
    growing with ``size``."""
    orders = aggressor_orders(ticks, by=by)
    cut = large_trade_threshold(orders["size"].to_numpy(np.float64), threshold, window)
    keep = orders["size"].to_numpy(np.float64) >= cut
    out = orders.loc[keep].reset_index(drop=True)
    out["threshold"] = cut[keep]
    return out


def large_order_volume(
    times: np.ndarray,
    size: np.ndarray,
    side: np.ndarray,
    starts: np.ndarray,
    threshold: "float | str" = DEFAULT_LARGE,
    window: int = DEFAULT_LARGE_WINDOW,
    ids: np.ndarray | None = None,
    *,
    carry: LargeTradeCarry | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per bar, (buy volume, sell volume) of large aggressor *orders*: trades grouped
    by :func:`order_starts` (same side and time stamp, or same id), an
    order's size the sum of its trades, judged as :func:`data.bars.large.large_trade_volume` judges
    trades (the percentile over the previous block of ``window`` orders) and counted
    in the bar of its last trade. ``carry``: the order blocks of earlier ticks, for a
    stream whose batches end at an order's end (:mod:`data.bars.stream`)."""
    size = np.asarray(size, dtype=np.float64)
    first = order_starts(times, side, ids)
    if len(first) == 0:
        return np.zeros(len(starts)), np.zeros(len(starts))
    if len(first) == len(size):  # every trade is an order of its own: the orders are the trades (no copies)
        return large_trade_volume(size, side, starts, threshold, window, carry=carry)
    last = np.append(first[1:], len(size)) - 1
    return large_trade_volume(np.add.reduceat(size, first), np.asarray(side)[first], starts, threshold, window,
                              positions=last, carry=carry)
