"""Ticks -> order-flow bars, vectorised with numpy (no Python loop per tick).

Every bar is a contiguous run of ticks (ticks are sorted by time), so each field
is one ``np.ufunc.reduceat`` over the bar start indices.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from data.bars.depth import depth_lines, quote_depth_lines
from data.bars.flow import book_imbalance, quote_columns, tick_flow
from data.bars.footprint import describe_rule, footprint_lines
from data.bars.spec import BarSpec, assign_bars, bar_ends, bar_index, bar_opens, parse_bar_spec
from data.errors import OrderFlowError
from data.options import BarOptions
from data.schema import CORE_BAR_COLUMNS, DEPTH_LINES, FOOTPRINT_LINES
from data.ticks import check_ticks, order_ids


def make_bars(
    ticks: pd.DataFrame,
    spec: "BarSpec | str | None" = "1min",
    *,
    quotes: pd.DataFrame | None = None,
    options: BarOptions | None = None,
    **keywords: Any,
) -> pd.DataFrame:
    """Aggregate a DataFrame of canonical ticks into order-flow bars indexed by bar time (UTC).

    ``options``: :class:`data.options.BarOptions`, or its fields as keywords (each described
    below). A tick source is streamed by :func:`data.make_bars` (:mod:`data.bars.stream`),
    with the same result.

    Per bar (ticks i in the bar, in order):
    ``open/close`` first/last price; ``high/low`` max/min price;
    ``volume = sum(size)``; ``buy_volume``/``sell_volume``/``unknown_volume`` the
    size of trades with side +1/-1/0; ``delta = buy_volume - sell_volume``;
    ``delta_high = max(0, max_k D_k)`` and ``delta_low = min(0, min_k D_k)`` where
    ``D_k`` is the running delta from the bar's open (a delta candle: open 0, close
    ``delta``); ``trades`` the tick count; ``vwap = sum(price*size)/volume`` (the
    close when volume is 0); ``bid_size``/``ask_size`` at the last tick and
    ``imbalance = bid_size - ask_size`` there (NaN without quotes);
    ``inferred_volume`` the size of trades whose side was inferred by
    :func:`data.sides.classify` (column ``inferred``; 0 when absent).

    Conservation: ``sum(volume)`` equals the ticks' total size and ``sum(delta)``
    the ticks' final CVD, up to float rounding.

    Book measures (``data.bars.depth.depth_lines``, window ``persistence``): ``ofi
    avg_depth tw_imbalance persistent_bid_size persistent_ask_size
    persistent_imbalance weighted_mid``. Footprint numbers
    (``data.bars.footprint.footprint_lines`` with its defaults: ratio 3, no minimum
    volume, 70% value area, large trades at the 99th percentile of the previous
    10,000): ``poc vah val buy_imbalances sell_imbalances buy_stack buy_stack_low
    buy_stack_high sell_stack sell_stack_low sell_stack_high large_buy_volume
    large_sell_volume large_buy_orders large_sell_orders`` (large orders: trades grouped
    into aggressor orders by ``data.bars.orders``), on a grid of ``tick_size`` (default
    ``ticks.attrs["tick_size"]``, else inferred from the prices). ``footprint_params``
    passes other parameters to them (``imbalance="atas"`` or another platform preset of
    :mod:`data.bars.imbalance`, ``ratio``, ``min_volume``, ``large``, ...: see
    ``data.bars.footprint.footprint_lines``); ``data.bars.footprint.add_footprint_lines``
    recomputes them on bars already built.

    ``quotes``: a quote stream (:func:`data.load_quotes`, every book update, in exchange
    time like the ticks). Then the book measures and the closing ``bid_size ask_size
    imbalance`` come from every update of the stream, bar ``b`` covering the window
    ``(open_b, stamp_b]`` of :func:`data.bars.spec.bar_opens` (formulas in
    :func:`data.bars.depth.quote_depth_lines`; ``depth_imbalance_5``/``_10`` where the stream
    has that many levels), not from the quotes carried on the trades, which stay on the
    ticks (trade-side classification uses them). Without ``quotes`` they come from the
    ticks' own quotes, and ``depth_imbalance_*`` are NaN.

    ``depth=False`` / ``footprint=False`` leave those groups out (about half of
    the work); a feed over such bars shows NaN in their lines.
    """
    options = BarOptions.of(options, **keywords)
    spec = parse_bar_spec(spec)
    ts = check_ticks(ticks)
    price = ticks["price"].to_numpy(np.float64)
    size = ticks["size"].to_numpy(np.float64)
    side = ticks["side"].to_numpy()
    starts, stamps = assign_bars(ts, size, spec)
    if len(starts) == 0:
        return empty_bars(spec, bar_columns(options.depth, options.footprint))
    columns, _ = core_columns(ticks, price, size, side, starts)
    if quotes is not None:
        columns.update(stream_depth_columns(quotes, stamps, bar_opens(stamps, spec, int(ts[0])), options.persistence,
                                            options.depth))
    elif options.depth:
        columns.update(depth_lines(ticks, ts, starts, stamps, options.persistence))
    if options.footprint:
        tick_size = options.tick_size if options.tick_size is not None else ticks.attrs.get("tick_size")
        columns.update(footprint_lines(price, size, side, starts, stamps, tick_size,
                                       price_range=(columns["low"], columns["high"]), times=ts, ids=order_ids(ticks),
                                       **dict(options.footprint_params or {})))
    bars = pd.DataFrame(columns, index=bar_index(stamps))
    bars.attrs["bar_spec"] = spec.text
    if options.footprint and describe_rule(options.footprint_params):
        bars.attrs["imbalance"] = describe_rule(options.footprint_params)
    return bars


def stream_depth_columns(quotes: pd.DataFrame, stamps: np.ndarray, opens: np.ndarray,
                         persistence: "str | pd.Timedelta | float", depth: bool) -> dict[str, np.ndarray]:
    """The bar columns a quote stream gives (:func:`data.bars.depth.quote_depth_lines`): the
    closing ``bid_size ask_size imbalance`` always, the :data:`DEPTH_LINES` when ``depth``."""
    if not isinstance(quotes, pd.DataFrame) or not {"timestamp", "bid", "ask"} <= set(quotes.columns):
        raise OrderFlowError("quotes= takes a quote stream DataFrame with timestamp, bid, ask (and bid_size, "
                             "ask_size) columns: load it with data.load_quotes")
    lines = quote_depth_lines(quotes, stamps, opens, persistence)
    keep = ("bid_size", "ask_size", "imbalance") + (DEPTH_LINES if depth else ())
    return {name: lines[name] for name in keep}


def core_columns(
    ticks: pd.DataFrame,
    price: np.ndarray,
    size: np.ndarray,
    side: np.ndarray,
    starts: np.ndarray,
    delta_before: float = 0.0,
) -> tuple[dict[str, np.ndarray], float]:
    """The :data:`CORE_BAR_COLUMNS` of bars given by first-tick indices ``starts``
    (the formulas are in :func:`make_bars`' docstring), and the running delta after
    the last tick.

    ``delta_before``: the running delta (cumulative sum of the signed sizes) of the
    ticks before ``ticks``, so that a stream of batches (:mod:`data.bars.stream`) continues
    the one running sum of the whole data, value for value (``np.cumsum`` adds in
    order: the same floats as one pass over everything).
    """
    flow = tick_flow(size, side)
    last = bar_ends(starts, len(price)) - 1

    def total(values: np.ndarray) -> np.ndarray:
        return np.add.reduceat(values, starts)

    volume = total(size)
    buy, sell = total(flow["buy_volume"]), total(flow["sell_volume"])
    delta = buy - sell
    if delta_before == 0.0:
        running = np.cumsum(flow["delta"])
    else:
        running = np.cumsum(np.concatenate(([delta_before], flow["delta"])))[1:]
    before = np.where(starts > 0, running[starts - 1], delta_before)
    delta_high = np.maximum(np.maximum.reduceat(running, starts) - before, np.maximum(delta, 0.0))
    delta_low = np.minimum(np.minimum.reduceat(running, starts) - before, np.minimum(delta, 0.0))
    close = price[last]
    with np.errstate(invalid="ignore", divide="ignore"):
        vwap = np.where(volume > 0, total(price * size) / volume, close)
    bid_size, ask_size = (q[last] for q in quote_columns(ticks))
    inferred = np.asarray(ticks["inferred"], dtype=bool) if "inferred" in ticks else None
    return {
        "open": price[starts],
        "high": np.maximum.reduceat(price, starts),
        "low": np.minimum.reduceat(price, starts),
        "close": close,
        "volume": volume,
        "buy_volume": buy,
        "sell_volume": sell,
        "unknown_volume": total(flow["unknown_volume"]),
        "delta": delta,
        "delta_high": delta_high,
        "delta_low": delta_low,
        "trades": (last - starts + 1).astype(np.float64),
        "vwap": vwap,
        "bid_size": bid_size,
        "ask_size": ask_size,
        "imbalance": book_imbalance(bid_size, ask_size),
        "inferred_volume": total(np.where(inferred, size, 0.0)) if inferred is not None else np.zeros(len(starts)),
    }, float(running[-1])


def bar_columns(depth: bool, footprint: bool) -> tuple[str, ...]:
    """The columns of ``make_bars`` with or without the depth and footprint groups."""
    return CORE_BAR_COLUMNS + (DEPTH_LINES if depth else ()) + (FOOTPRINT_LINES if footprint else ())


def empty_bars(spec: BarSpec, columns: tuple[str, ...]) -> pd.DataFrame:
    """A bars frame with no bar."""
    bars = pd.DataFrame({c: np.zeros(0) for c in columns}, index=bar_index(np.zeros(0, dtype=np.int64)))
    bars.attrs["bar_spec"] = spec.text
    return bars
