"""Ticks -> order-flow bars, vectorised with numpy (no Python loop per tick).

Every bar is a contiguous run of ticks (ticks are sorted by time), so each field
is one ``np.ufunc.reduceat`` over the bar start indices.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from data.bars.depth import DEFAULT_PERSISTENCE, depth_lines, quote_depth_lines
from data.bars.flow import book_imbalance, quote_columns, tick_flow
from data.bars.footprint import describe_rule, footprint_lines
from data.bars.orders import order_ids
from data.bars.spec import BarSpec, parse_bar_spec
from data.errors import OrderFlowError
from data.schema import CORE_BAR_COLUMNS, DEPTH_LINES, FOOTPRINT_LINES, TICK_REQUIRED

DAY_NS = 86_400_000_000_000


def timestamps_ns(timestamps: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """UTC nanoseconds since the epoch as int64 (no copy when already ns)."""
    arr = pd.DatetimeIndex(timestamps) if not isinstance(timestamps, pd.Series) else timestamps.array
    if arr.tz is None:
        raise OrderFlowError("timestamps must be timezone-aware (UTC); load ticks with load_ticks")
    if arr.unit != "ns":
        arr = arr.as_unit("ns")
    return arr.asi8


def assign_bars(ts_ns: np.ndarray, size: np.ndarray, spec: "BarSpec | str | None",
                size_before: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Split sorted ticks into bars.

    Returns ``(starts, stamps)``: the index of each bar's first tick (ascending,
    ``starts[0] == 0``) and each bar's timestamp in UTC ns.

    - tick spec ``None``/``"tick"``: one bar per trade, stamped with its time;
    - ``"Nt"``: every N trades (the last bar may hold fewer), stamped with its last tick;
    - ``"Nv"``: a bar closes on the first trade that brings its volume to at least
      N; that trade is not split and the next bar starts empty; stamped with its
      last tick (the last bar may hold less than N);
    - time offsets: right-closed intervals ``(t - offset, t]`` stamped ``t``, as
      Backtrader's resampler does; fixed lengths are anchored at the Unix epoch
      (so a bar's boundaries never depend on where the data starts), calendar
      offsets (``"1W"``, ``"ME"``) group whole UTC days; empty intervals make no bar.

    ``size_before``: the cumulative size of the ticks before these, which start a
    bar (a stream's carry, see :func:`volume_bar_starts`).
    """
    spec = parse_bar_spec(spec)
    if spec.kind == "session":
        raise OrderFlowError("session bars are made from bars: data.resample_bars(bars, 'session', calendar=...)")
    n = len(ts_ns)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if spec.kind == "tick":
        starts = np.arange(0, n, int(spec.size), dtype=np.int64)
        return starts, ts_ns[_ends(starts, n) - 1]
    if spec.kind == "volume":
        starts, _ = volume_bar_starts(np.asarray(size, dtype=np.float64), float(spec.size), size_before)
        return starts, ts_ns[_ends(starts, n) - 1]
    if spec.nanos is not None:
        found = _fixed_time_bars(ts_ns, spec.nanos)
        if found is not None:
            return found
    labels = _time_labels(ts_ns, spec)
    starts = np.flatnonzero(np.diff(labels)) + 1
    starts = np.concatenate(([0], starts)).astype(np.int64)
    return starts, labels[starts]


def make_bars(
    ticks: "pd.DataFrame | Any",
    spec: "BarSpec | str | None" = "1min",
    *,
    tick_size: float | None = None,
    persistence: "str | pd.Timedelta | float" = DEFAULT_PERSISTENCE,
    depth: bool = True,
    footprint: bool = True,
    quotes: pd.DataFrame | None = None,
    footprint_params: "dict[str, Any] | None" = None,
) -> pd.DataFrame:
    """Aggregate canonical ticks into order-flow bars indexed by bar time (UTC).

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
    ``(open_b, stamp_b]`` of :func:`bar_opens` (formulas in
    :func:`data.bars.depth.quote_depth_lines`; ``depth_imbalance_5``/``_10`` where the stream
    has that many levels), not from the quotes carried on the trades, which stay on the
    ticks (trade-side classification uses them). Without ``quotes`` they come from the
    ticks' own quotes, and ``depth_imbalance_*`` are NaN.

    ``depth=False`` / ``footprint=False`` leave those groups out (about half of
    the work); a feed over such bars shows NaN in their lines.

    ``ticks`` may also be a tick source (a :func:`data.scan_ticks` source, a folder, a
    glob, a list of files or a tick store): the bars are then built batch by batch in
    bounded memory (:mod:`data.bars.stream`), equal to the bars of all the ticks at once.
    """
    if not isinstance(ticks, pd.DataFrame):
        from data.bars.stream import bars_from_source  # the stream builds on this module

        return bars_from_source(ticks, spec, tick_size=tick_size, persistence=persistence, depth=depth,
                                footprint=footprint, quotes=quotes, footprint_params=footprint_params)
    spec = parse_bar_spec(spec)
    ts = check_ticks(ticks)
    price = ticks["price"].to_numpy(np.float64)
    size = ticks["size"].to_numpy(np.float64)
    side = ticks["side"].to_numpy()
    starts, stamps = assign_bars(ts, size, spec)
    if len(starts) == 0:
        return empty_bars(spec, bar_columns(depth, footprint))
    columns, _ = core_columns(ticks, price, size, side, starts)
    if quotes is not None:
        columns.update(stream_depth_columns(quotes, stamps, bar_opens(stamps, spec, int(ts[0])), persistence, depth))
    elif depth:
        columns.update(depth_lines(ticks, ts, starts, stamps, persistence))
    if footprint:
        if tick_size is None:
            tick_size = ticks.attrs.get("tick_size")
        columns.update(footprint_lines(price, size, side, starts, stamps, tick_size,
                                       price_range=(columns["low"], columns["high"]), times=ts, ids=order_ids(ticks),
                                       **(footprint_params or {})))
    bars = pd.DataFrame(columns, index=bar_index(stamps))
    bars.attrs["bar_spec"] = spec.text
    if footprint and describe_rule(footprint_params):
        bars.attrs["imbalance"] = describe_rule(footprint_params)
    return bars


def bar_opens(stamps: np.ndarray, spec: "BarSpec | str | None", first_ns: int) -> np.ndarray:
    """Where each bar's quote window ``(open_b, stamp_b]`` begins (UTC ns), for depth from a
    quote stream (:func:`data.bars.depth.quote_depth_lines`).

    Fixed-length time bars: ``open_b = stamp_b - length`` (the bar's own interval: quote
    updates in an interval without trades, which makes no bar, belong to no bar). Tick,
    volume and calendar bars: ``open_b = stamp_{b-1}`` (the book since the previous bar's
    close), and for the first bar ``first_ns - 1``, its first trade's time ``first_ns``
    included.
    """
    spec = parse_bar_spec(spec)
    stamps = np.asarray(stamps, dtype=np.int64)
    if spec.kind == "time" and spec.nanos is not None:
        return stamps - int(spec.nanos)
    return np.concatenate(([int(first_ns) - 1], stamps[:-1])) if len(stamps) else stamps.copy()


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
    last = _ends(starts, len(price)) - 1

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


def _ends(starts: np.ndarray, n: int) -> np.ndarray:
    return np.append(starts[1:], n)


def _fixed_time_bars(ts_ns: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray] | None:
    """``(starts, stamps)`` of fixed-length time bars without a label per tick.

    Bar boundaries ``k * step`` from the first tick's bar to the last's; the ticks
    up to boundary ``b`` are ``searchsorted(ts, b, "right")`` of them (right-closed),
    so a bar's first tick is the count up to the boundary before it; boundaries
    with no new tick make no bar. The same bars as :func:`_time_labels`; None when
    there are more boundaries than ticks (sparse ticks over a long span), where the
    per-tick labels are cheaper.
    """
    first = -(-int(ts_ns[0]) // step) * step
    last = -(-int(ts_ns[-1]) // step) * step
    n_edges = (last - first) // step + 1
    if n_edges > len(ts_ns):
        return None
    edges = first + step * np.arange(n_edges, dtype=np.int64)
    upto = np.searchsorted(ts_ns, edges, side="right")
    before = np.concatenate(([0], upto[:-1]))
    filled = upto > before
    return before[filled].astype(np.int64), edges[filled]


def _time_labels(ts_ns: np.ndarray, spec: BarSpec) -> np.ndarray:
    """Each tick's bar end: the smallest bar boundary >= its time (right-closed)."""
    step = spec.nanos
    if step is not None:
        return -(-ts_ns // step) * step  # ceil to a multiple of the step, anchored at the epoch
    # Calendar offsets (weeks, months ...): whole UTC days, each in the period whose
    # last day is the first anchor on or after it; stamped at that day's end.
    days = ts_ns - ts_ns % DAY_NS
    first, last = pd.Timestamp(days[0], tz="UTC"), pd.Timestamp(days[-1], tz="UTC")
    edges = pd.date_range(spec.offset.rollback(first) - spec.offset, spec.offset.rollforward(last) + spec.offset,
                          freq=spec.offset).normalize()
    edges_ns = timestamps_ns(edges)
    return edges_ns[np.searchsorted(edges_ns, days, side="left")] + DAY_NS


def volume_bar_starts(size: np.ndarray, threshold: float, size_before: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Bar starts for volume bars (one searchsorted per bar, not a loop per tick) and
    the running total ``C_i = C_{i-1} + size_i`` (``C_{-1} = size_before``).

    A bar closes on the first trade j with ``C_j >= base + threshold`` (less a
    relative 1e-9 for float sums of fractional sizes), ``base`` the total at the
    previous bar's close. ``size_before`` continues the running total of earlier
    ticks that ended on a bar's close: ``np.cumsum`` adds in order, so a stream
    (:mod:`data.bars.stream`) finds the same closes, float for float, as one pass.
    """
    if size_before == 0.0:
        cumulative = np.cumsum(size)
    else:
        cumulative = np.cumsum(np.concatenate(([size_before], size)))[1:]
    tolerance = threshold * 1e-9  # float sums of fractional sizes
    n = len(size)
    starts = [0]
    base = size_before
    while True:
        end = int(np.searchsorted(cumulative, base + threshold - tolerance, side="left"))
        if end >= n - 1:
            break
        starts.append(end + 1)
        base = cumulative[end]
    return np.asarray(starts, dtype=np.int64), cumulative


def bar_index(stamps_ns: np.ndarray) -> pd.DatetimeIndex:
    """Bar times (UTC ns) as the bars' index."""
    return pd.DatetimeIndex(stamps_ns.astype("datetime64[ns]"), name="timestamp").tz_localize("UTC")


def bar_columns(depth: bool, footprint: bool) -> tuple[str, ...]:
    """The columns of ``make_bars`` with or without the depth and footprint groups."""
    return CORE_BAR_COLUMNS + (DEPTH_LINES if depth else ()) + (FOOTPRINT_LINES if footprint else ())


def empty_bars(spec: BarSpec, columns: tuple[str, ...]) -> pd.DataFrame:
    """A bars frame with no bar."""
    bars = pd.DataFrame({c: np.zeros(0) for c in columns}, index=bar_index(np.zeros(0, dtype=np.int64)))
    bars.attrs["bar_spec"] = spec.text
    return bars
