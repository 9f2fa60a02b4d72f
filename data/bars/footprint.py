"""Footprints: executed volume per bar and price level, and the per-bar numbers drawn from them.

A footprint splits each bar's volume by price level (the trade price rounded to a
multiple of ``tick_size``) and by aggressor. Everything here is vectorised over a
*dense grid*: every bar owns the contiguous block of cells for the levels
``low .. high`` it traded (empty levels inside the range are cells holding zeros),
so one ``np.bincount`` per quantity aggregates all ticks, and the level below/above
a cell is simply the previous/next cell of the same bar.

Public functions:

- :func:`footprint` — the tidy table (bar time x price level: buy/sell/unknown volume
  and trade counts) that lives beside the feed;
- :func:`footprint_stats` — per bar: point of control, value area, diagonal
  imbalance counts and the longest stacked imbalance per side;
- :func:`large_lines` — the large-trade and large-order lines (:mod:`data.bars.large`, :mod:`data.bars.orders`);
- :func:`absorption` — the absorption signal (+1 sellers absorbed at the low, -1 buyers
  absorbed at the high);
- :func:`add_footprint_lines` — recompute the footprint lines of a bars frame with
  other parameters (``make_bars`` fills them with the defaults).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from data.bars.blocks import bar_blocks, longest
from data.bars.imbalance import DEFAULT_RATIO, ImbalanceRule, custom, flag_imbalances, imbalance_rule
from data.bars.large import DEFAULT_LARGE, DEFAULT_LARGE_WINDOW, LargeTradeCarry, large_trade_volume
from data.bars.orders import large_order_volume
from data.bars.spec import BarSpec, assign_bars, parse_bar_spec
from data.errors import OrderFlowError
from data.schema import FOOTPRINT_LINES
from data.ticks import check_ticks, order_ids, price_grid, timestamps_ns

DEFAULT_VALUE_AREA = 0.70
_MAX_CELLS_PER_TICK = 8
_MIN_CELL_BUDGET = 1 << 22
INFER_SAMPLE = 1_000_000  # infer the tick from the first million trades
# the footprint parameters (``make_bars``' ``footprint_params``): those of the grid's lines
# (:func:`grid_stats`), then those of the large-trade lines (:func:`large_lines`)
GRID_PARAMS = ("ratio", "min_volume", "imbalance", "value_area_fraction")
FOOTPRINT_PARAMS = (*GRID_PARAMS, "large", "large_window")


def check_footprint_params(params: "dict | None") -> dict:
    """``params`` as a dict, or OrderFlowError naming those not in :data:`FOOTPRINT_PARAMS`."""
    params = dict(params or {})
    unknown = set(params) - set(FOOTPRINT_PARAMS)
    if unknown:
        raise OrderFlowError(f"unknown footprint parameter(s) {sorted(unknown)}; known: {sorted(FOOTPRINT_PARAMS)}")
    return params


# --------------------------------------------------------------------------- levels


def infer_tick_size(price: np.ndarray) -> float:
    """The price grid of the trades (:func:`data.ticks.price_grid`: the smallest positive gap
    between consecutive trade prices, rounded to 6 significant digits, so that float noise
    such as ``0.010000000000005`` becomes ``0.01``) from the first :data:`INFER_SAMPLE` trades.
    1.0 when every price is the same.

    It is an upper bound on the true tick size (a multiple of it when some ticks
    were never traded next to each other); pass ``tick_size`` to be exact.
    """
    return price_grid(np.asarray(price, dtype=np.float64)[:INFER_SAMPLE])


def _check_tick_size(tick_size: float) -> float:
    try:
        tick = float(tick_size)
    except (TypeError, ValueError):
        raise OrderFlowError(f"tick_size must be a positive number, not {tick_size!r}") from None
    if not np.isfinite(tick) or tick <= 0:
        raise OrderFlowError(f"tick_size must be a positive number, not {tick_size!r}")
    return tick


def price_levels(price: np.ndarray, tick_size: float) -> np.ndarray:
    """Integer level codes ``round(price / tick_size)`` (int64).

    When ``1 / tick_size`` is a whole number (0.25 -> 4, 0.01 -> 100) the price is
    multiplied by it, which is exact for more prices than dividing by the tick.
    """
    price = np.asarray(price, dtype=np.float64)
    return _levels_into(price, _check_tick_size(tick_size), np.empty(price.shape, dtype=np.int64))


def _levels_into(price: np.ndarray, tick: float, levels: np.ndarray) -> np.ndarray:
    """:func:`price_levels` written into the int64 array ``levels`` (the scaled
    prices first, as floats in the same buffer, then their rounded codes)."""
    inverse = 1.0 / tick
    scaled = levels.view(np.float64)
    if abs(inverse - round(inverse)) < 1e-9 * inverse:
        np.multiply(price, round(inverse), out=scaled)
    else:
        np.divide(price, tick, out=scaled)
    return np.rint(scaled, out=levels, casting="unsafe")


def level_prices(levels: np.ndarray, tick_size: float) -> np.ndarray:
    """Prices of level codes: ``level * tick_size``, computed as ``level / (1 / tick)``
    when that is a whole number so that 456701 at tick 0.01 gives exactly 4567.01."""
    tick = _check_tick_size(tick_size)
    levels = np.asarray(levels)
    inverse = 1.0 / tick
    if abs(inverse - round(inverse)) < 1e-9 * inverse:
        return levels / float(round(inverse))
    return levels * tick


# --------------------------------------------------------------------------- the grid


@dataclass
class FootprintGrid:
    """Dense per-bar ladders of cells, bar after bar.

    Bar ``b`` owns cells ``offsets[b] : offsets[b + 1]`` for the levels
    ``low[b] .. high[b]`` in ascending order; ``buy``/``sell``/``unknown`` are the
    volumes and ``*_trades`` the trade counts of each cell (None in a grid built
    with ``counts=False``, which the per-bar lines use: they need only volumes).
    """

    tick_size: float
    stamps: np.ndarray  # bar times, UTC ns
    low: np.ndarray  # lowest level of each bar (int64)
    high: np.ndarray
    offsets: np.ndarray  # n_bars + 1 cell offsets
    buy: np.ndarray
    sell: np.ndarray
    unknown: np.ndarray
    buy_trades: np.ndarray | None
    sell_trades: np.ndarray | None
    unknown_trades: np.ndarray | None

    @property
    def n_bars(self) -> int:
        return len(self.low)

    @property
    def volume(self) -> np.ndarray:
        return self.buy + self.sell + self.unknown

    @property
    def trades(self) -> np.ndarray:
        return self.buy_trades + self.sell_trades + self.unknown_trades

    @property
    def bar(self) -> np.ndarray:
        """The bar index of every cell."""
        return np.repeat(np.arange(self.n_bars), np.diff(self.offsets))

    @property
    def level(self) -> np.ndarray:
        """The level code of every cell."""
        bar = self.bar
        return np.arange(len(bar), dtype=np.int64) - self.offsets[:-1][bar] + self.low[bar]

    @property
    def price(self) -> np.ndarray:
        return level_prices(self.level, self.tick_size)


def _bar_ids(starts: np.ndarray, n: int) -> np.ndarray:
    """The bar index of each tick, from the bars' first-tick indices."""
    marks = np.zeros(n, dtype=np.int64)
    marks[starts[1:]] = 1
    return np.cumsum(marks)


def grid_from_arrays(
    price: np.ndarray,
    size: np.ndarray,
    side: np.ndarray,
    starts: np.ndarray,
    stamps: np.ndarray,
    tick_size: float,
    *,
    counts: bool = True,
    price_range: tuple[np.ndarray, np.ndarray] | None = None,
) -> FootprintGrid:
    """Aggregate sorted ticks (bars given by first-tick indices ``starts``) into a grid.

    Cell of tick i: ``offsets[b] + level_i - low[b]`` with ``b`` its bar; volumes
    and counts are ``np.bincount`` over ``3 * cell + (side + 1)``, so one pass
    gives all three aggressor columns. ``counts=False``: volumes only (the trade
    counts are None), one ``np.bincount`` fewer. ``price_range``: each bar's lowest
    and highest price when the caller has them (``make_bars`` does).

    A bar's lowest and highest level are the levels of its lowest and highest
    price (rounding ``price * (1 / tick)`` never reverses an order), so the cells
    are laid out before any tick is binned, and the ticks are binned block by block
    (:func:`data.bars.blocks.bar_blocks`: each block's keys and cells stay in cache;
    ``np.bincount`` adds a cell's trades in the same order). Prices that are not
    finite, or sides other than -1/0/+1, take the plain path: every tick's level first.
    """
    n = len(price)
    starts = np.asarray(starts, dtype=np.int64)
    side = np.asarray(side)
    size = np.asarray(size, dtype=np.float64)
    tick = _check_tick_size(tick_size)
    extremes = _bar_level_range(price, starts, tick, price_range) if n and _plain_sides(side) else None
    if extremes is None:
        level = price_levels(price, tick)
        low = np.minimum.reduceat(level, starts) if n else np.zeros(0, np.int64)
        high = np.maximum.reduceat(level, starts) if n else np.zeros(0, np.int64)
    else:
        low, high = extremes
    offsets = _cell_offsets(low, high, n, tick_size)
    n_cells = int(offsets[-1])
    # key = 3 * cell + (side + 1), cell = offsets[b] + level - low[b]: sell, unknown, buy
    shift = 3 * (offsets[:-1] - low) + 1
    if extremes is None:
        key = np.multiply(level, 3, out=level)  # the levels are not needed any more
        key += side
        key += np.repeat(shift, np.diff(np.append(starts, n)))
        volume = np.bincount(key, weights=size, minlength=3 * n_cells)
        trades = np.bincount(key, minlength=3 * n_cells).astype(np.float64) if counts else None
    else:
        volume, trades = _binned_by_block(price, size, side, starts, tick, offsets, shift, counts)
    volume = volume.reshape(n_cells, 3)
    trades = trades.reshape(n_cells, 3) if counts else None
    return FootprintGrid(
        tick_size=float(tick_size),
        stamps=np.asarray(stamps, dtype=np.int64),
        low=low,
        high=high,
        offsets=offsets,
        buy=volume[:, 2].copy(),
        sell=volume[:, 0].copy(),
        unknown=volume[:, 1].copy(),
        buy_trades=trades[:, 2].copy() if counts else None,
        sell_trades=trades[:, 0].copy() if counts else None,
        unknown_trades=trades[:, 1].copy() if counts else None,
    )


def _plain_sides(side: np.ndarray) -> bool:
    return len(side) == 0 or bool(side.min() >= -1 and side.max() <= 1)


_LEVEL_LIMIT = 1 << 62  # codes beyond this may have overflowed int64 (NaN and overflow cast to -2**63)


def _bar_level_range(price: np.ndarray, starts: np.ndarray, tick: float,
                     price_range: tuple[np.ndarray, np.ndarray] | None) -> tuple[np.ndarray, np.ndarray] | None:
    """Each bar's lowest and highest level from its lowest and highest price; None
    when a bar's price range is not finite or its codes leave int64."""
    if price_range is None:
        price_range = np.minimum.reduceat(price, starts), np.maximum.reduceat(price, starts)
    low_price, high_price = (np.asarray(p, dtype=np.float64) for p in price_range)
    if not (np.isfinite(low_price).all() and np.isfinite(high_price).all()):
        return None
    low, high = price_levels(low_price, tick), price_levels(high_price, tick)
    inside = (np.abs(low) < _LEVEL_LIMIT).all() and (np.abs(high) < _LEVEL_LIMIT).all()
    return (low, high) if inside else None


def _cell_offsets(low: np.ndarray, high: np.ndarray, n: int, tick_size: float) -> np.ndarray:
    """Cell offsets of the bars' ladders (``n_bars + 1``); raises when there would be
    more cells than the budget (a tick size too small for the price range)."""
    offsets = np.concatenate(([0], np.cumsum(high - low + 1))).astype(np.int64)
    n_cells = int(offsets[-1])
    budget = max(_MAX_CELLS_PER_TICK * n, _MIN_CELL_BUDGET)
    if n_cells > budget:
        widest = int(np.argmax(high - low))
        raise OrderFlowError(
            f"tick_size {tick_size!r} is too small for the price range: the footprint would need "
            f"{n_cells:,} price levels for {n:,} trades (bar {widest + 1} spans "
            f"{int(high[widest] - low[widest]) + 1:,} levels); pass the instrument's tick size"
        )
    return offsets


def _binned_by_block(price: np.ndarray, size: np.ndarray, side: np.ndarray, starts: np.ndarray, tick: float,
                     offsets: np.ndarray, shift: np.ndarray, counts: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """Volumes (and trade counts) of the ``3 * cells`` keys, one block of whole bars
    at a time: a block's keys fall in its own bars' cells."""
    n_keys = 3 * int(offsets[-1])
    volume = np.empty(n_keys)
    trades = np.empty(n_keys) if counts else None
    blocks = bar_blocks(starts, len(price))
    buffer = np.empty(longest(blocks), dtype=np.int64)
    for b0, b1, lo, hi in blocks:
        key = _levels_into(price[lo:hi], tick, buffer[: hi - lo])
        key *= 3
        key += side[lo:hi]
        key += np.repeat(shift[b0:b1] - 3 * offsets[b0], np.diff(np.append(starts[b0:b1], hi)))
        first, end = 3 * int(offsets[b0]), 3 * int(offsets[b1])
        volume[first:end] = np.bincount(key, weights=size[lo:hi], minlength=end - first)
        if counts:
            trades[first:end] = np.bincount(key, minlength=end - first)
    return volume, trades


def fitted_grid(
    price: np.ndarray,
    size: np.ndarray,
    side: np.ndarray,
    starts: np.ndarray,
    stamps: np.ndarray,
    tick_size: float,
    *,
    coarsen: bool,
    price_range: tuple[np.ndarray, np.ndarray] | None = None,
    counts: bool = False,
) -> FootprintGrid:
    """:func:`grid_from_arrays` (volumes only, unless ``counts``) at ``tick_size``; with ``coarsen``, a
    tick too fine for the price range (more cells than the budget) is multiplied by 10
    until the grid fits (``grid.tick_size`` is the tick used)."""
    tick = _check_tick_size(tick_size)
    while True:
        try:
            return grid_from_arrays(price, size, side, starts, stamps, tick, counts=counts, price_range=price_range)
        except OrderFlowError:
            if not coarsen:
                raise
            tick *= 10.0


def footprint_grid(ticks: pd.DataFrame, spec: "BarSpec | str | None", tick_size: float | None = None) -> FootprintGrid:
    """The dense footprint grid of canonical ticks for bars of ``spec`` (the same
    bars as ``make_bars(ticks, spec)``); ``tick_size`` inferred when None."""
    ts = check_ticks(ticks)
    price = ticks["price"].to_numpy(np.float64)
    size = ticks["size"].to_numpy(np.float64)
    starts, stamps = assign_bars(ts, size, parse_bar_spec(spec))
    tick = infer_tick_size(price) if tick_size is None else _check_tick_size(tick_size)
    return grid_from_arrays(price, size, ticks["side"].to_numpy(), starts, stamps, tick)


def table_tick_size(table: pd.DataFrame, tick_size: float | None = None) -> float:
    """The price grid of a tidy footprint table: ``tick_size`` if given, else the table's
    ``attrs["tick_size"]``, else inferred from its distinct prices."""
    if tick_size is None:
        tick_size = table.attrs.get("tick_size")
    if tick_size is None:
        prices = table.index.get_level_values("price") if "price" in (table.index.names or ()) else table["price"]
        tick_size = infer_tick_size(np.unique(np.asarray(prices, dtype=np.float64)))
    return _check_tick_size(tick_size)


def grid_from_table(table: pd.DataFrame, tick_size: float | None = None) -> FootprintGrid:
    """Rebuild the dense grid from a tidy footprint table (or any slice of one)."""
    frame = table.reset_index() if isinstance(table.index, pd.MultiIndex) else table
    tick = table_tick_size(table, tick_size)
    ts = timestamps_ns(frame["timestamp"])
    order = np.lexsort((frame["price"].to_numpy(np.float64), ts))
    ts = ts[order]
    starts = np.concatenate(([0], np.flatnonzero(np.diff(ts)) + 1)).astype(np.int64) if len(ts) else np.zeros(0, np.int64)
    level = price_levels(frame["price"].to_numpy(np.float64)[order], tick)
    low = np.minimum.reduceat(level, starts) if len(ts) else np.zeros(0, np.int64)
    high = np.maximum.reduceat(level, starts) if len(ts) else np.zeros(0, np.int64)
    offsets = np.concatenate(([0], np.cumsum(high - low + 1))).astype(np.int64)
    cell = level + (offsets[:-1] - low)[_bar_ids(starts, len(ts))]
    n_cells = int(offsets[-1])

    def spread(column: str) -> np.ndarray:
        out = np.zeros(n_cells)
        if column in frame:
            out[cell] = frame[column].to_numpy(np.float64)[order]
        return out

    return FootprintGrid(tick, ts[starts] if len(ts) else ts, low, high, offsets,
                         spread("buy_volume"), spread("sell_volume"), spread("unknown_volume"),
                         spread("buy_trades"), spread("sell_trades"), spread("unknown_trades"))


# --------------------------------------------------------------------------- the table


def footprint(ticks: pd.DataFrame, spec: "BarSpec | str | None" = "1min", tick_size: float | None = None) -> pd.DataFrame:
    """The footprint of canonical ticks: one row per bar and traded price level.

    Bars are exactly those of ``make_bars(ticks, spec)``; a trade's level is its
    price rounded to a multiple of ``tick_size`` (inferred with
    :func:`infer_tick_size` when None). Index ``(timestamp, price)`` sorted by
    bar time then price ascending; columns ``buy_volume sell_volume
    unknown_volume volume delta buy_trades sell_trades unknown_trades`` with
    ``volume = buy + sell + unknown`` and ``delta = buy_volume - sell_volume``.
    Levels inside a bar's range where nothing traded have no row.
    ``attrs``: ``tick_size`` and ``bar_spec``.
    """
    spec = parse_bar_spec(spec)
    grid = footprint_grid(ticks, spec, tick_size)
    table = grid_table(grid)
    table.attrs["bar_spec"] = spec.text
    return table


_VOLUMES = ("buy_volume", "sell_volume", "unknown_volume")
_COUNTS = ("buy_trades", "sell_trades", "unknown_trades")
TABLE_CELLS = ("timestamp", "level", "buy_volume", "sell_volume", "unknown_volume", "buy_trades", "sell_trades",
               "unknown_trades")
"""What a footprint table is made of (:func:`grid_cells`); its ``price``, ``volume`` and ``delta`` follow."""


def grid_cells(grid: FootprintGrid) -> dict[str, np.ndarray]:
    """The traded cells of a grid (with trade counts) as the arrays of :data:`TABLE_CELLS`: the bar's
    time (UTC ns), the level code, the volumes and the trade counts; :func:`cells_table` makes the
    table of them (of one grid, or of the grids of consecutive bars, concatenated)."""
    traded = np.flatnonzero(grid.trades > 0)
    bar = grid.bar[traded]
    return {"timestamp": grid.stamps[bar], "level": (traded - grid.offsets[:-1][bar] + grid.low[bar]).astype(np.int64),
            "buy_volume": grid.buy[traded], "sell_volume": grid.sell[traded], "unknown_volume": grid.unknown[traded],
            "buy_trades": grid.buy_trades[traded], "sell_trades": grid.sell_trades[traded],
            "unknown_trades": grid.unknown_trades[traded]}


def cells_table(cells: dict[str, np.ndarray], tick_size: float) -> pd.DataFrame:
    """The tidy footprint table (see :func:`footprint`) of :func:`grid_cells`' arrays."""
    stamps = pd.DatetimeIndex(np.asarray(cells["timestamp"], dtype=np.int64).astype("datetime64[ns]")).tz_localize("UTC")
    prices = level_prices(np.asarray(cells["level"], dtype=np.int64), tick_size)
    index = pd.MultiIndex.from_arrays([stamps, prices], names=["timestamp", "price"])
    buy, sell, unknown = (np.asarray(cells[name], dtype=np.float64) for name in _VOLUMES)
    table = pd.DataFrame(
        {
            "buy_volume": buy,
            "sell_volume": sell,
            "unknown_volume": unknown,
            "volume": buy + sell + unknown,
            "delta": buy - sell,
            **{name: np.asarray(cells[name], dtype=np.float64) for name in _COUNTS},
        },
        index=index,
    )
    table.attrs["tick_size"] = float(tick_size)
    return table


def grid_table(grid: FootprintGrid) -> pd.DataFrame:
    """The tidy table of a grid's traded cells (see :func:`footprint`)."""
    return cells_table(grid_cells(grid), grid.tick_size)


# --------------------------------------------------------------------------- per-cell measures


def diagonal_imbalances(grid: FootprintGrid, ratio: float = DEFAULT_RATIO, min_volume: float = 0.0,
                        rule: "ImbalanceRule | str | None" = None) -> tuple[np.ndarray, np.ndarray]:
    """Per cell: is it a buy imbalance, is it a sell imbalance (two boolean arrays).

    Default rule (diagonal comparison, as footprint charts do: the buyer lifting the
    offer at p against the seller hitting the bid one tick lower):

    - buy imbalance at p:  ``buy(p) >= ratio * sell(p - tick)`` and ``buy(p) >= min_volume``;
    - sell imbalance at p: ``sell(p) >= ratio * buy(p + tick)`` and ``sell(p) >= min_volume``.

    Zero rule: a level outside the bar's range, or where nothing traded on the
    other side, has volume 0, and any non-zero volume is at least ``ratio`` times 0;
    so a zero on the other side makes an imbalance exactly when the imbalancing
    side reaches ``min_volume`` (and is above zero). ``min_volume`` is what keeps
    the bar's top and bottom levels from flagging on one or two lots.

    ``rule``: a platform preset (``"atas"``, ``"ninjatrader"``, ``"sierra"``) or
    :func:`data.bars.imbalance.custom` rule instead of ``ratio``/``min_volume`` (see
    :mod:`data.bars.imbalance` for each platform's definition).
    """
    if rule is None:
        rule = custom(ratio, min_volume)
    elif not isinstance(rule, ImbalanceRule):
        rule = imbalance_rule(rule)
    return flag_imbalances(grid.buy, grid.sell, grid.offsets, rule)


def point_of_control(grid: FootprintGrid) -> np.ndarray:
    """Per bar, the cell index of the point of control: the level with the most
    volume (buy + sell + unknown). Ties go to the level nearest the middle of the
    bar's range, then to the lower one."""
    volume = grid.volume
    bar = grid.bar
    seg = grid.offsets[:-1]
    rel = np.arange(len(volume)) - seg[bar]
    width = (grid.high - grid.low)[bar]
    off_centre = np.abs(2 * rel - width)  # twice the distance from the range's middle
    if len(volume) == 0:
        return seg.copy()
    top = np.maximum.reduceat(volume, seg)
    if np.isnan(top).any():  # NaN volumes: let the sort order them (last)
        order = np.lexsort((rel, off_centre, -volume, bar))
        return order[seg]
    # among each bar's cells with the top volume, the smallest (off_centre, rel): one
    # integer per cell (rel < span), one minimum per bar, no sort
    span = int(width.max()) + 1
    score = np.where(volume == top[bar], off_centre * span + rel, np.iinfo(np.int64).max)
    return seg + np.minimum.reduceat(score, seg) % span


def value_area(grid: FootprintGrid, poc: np.ndarray, fraction: float = DEFAULT_VALUE_AREA) -> tuple[np.ndarray, np.ndarray]:
    """Per bar, the lowest and highest level code of the value area.

    Rule (one level at a time, as most footprint tools do): start from the POC;
    while the area holds less than ``fraction`` of the bar's volume, add the next
    level above or the next level below, whichever traded more (above on ties;
    once one side is exhausted, the other). Vectorised: this greedy choice takes
    cells in decreasing order of the running minimum of volume walking away from
    the POC on each side (ties: above first, then nearer first), so one lexsort and
    one cumulative sum give every bar's area.
    """
    if not 0 < fraction <= 1:
        raise OrderFlowError(f"value area fraction must be in (0, 1], not {fraction!r}")
    volume = grid.volume
    n = len(volume)
    bar = grid.bar
    poc_cell = poc[bar]
    index = np.arange(n)
    above = index > poc_cell
    below = index < poc_cell
    # key: running minimum of volume walking away from the POC, one segment per bar and side
    rank = np.unique(volume, return_inverse=True)[1].astype(np.int64).reshape(-1)
    key = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    key[above] = _segmented_running_min(rank[above], bar[above])
    rev = np.flatnonzero(below)[::-1]
    key[rev] = _segmented_running_min(rank[rev], bar[rev])
    distance = np.abs(index - poc_cell)
    side = np.where(above, 0, 1)  # above first on ties
    order = np.lexsort((distance, side, -key, bar))  # POC first in each bar (largest key)
    vol_sorted = volume[order]
    cum = np.cumsum(vol_sorted)
    seg_start = grid.offsets[:-1]
    before = cum - vol_sorted - np.repeat(np.concatenate(([0.0], cum))[seg_start], np.diff(grid.offsets))
    total = np.add.reduceat(volume, seg_start) if n else np.zeros(0)
    target = fraction * total - 1e-9 * total - 1e-15 * abs(cum[-1])  # tolerate float sums
    taken = before < target[bar]
    taken[seg_start] = True  # the POC (first of its bar) is always in
    level = grid.level[order]
    big = np.iinfo(np.int64).max
    lo = np.minimum.reduceat(np.where(taken, level, big), seg_start)
    hi = np.maximum.reduceat(np.where(taken, level, -big), seg_start)
    return lo, hi


def _segmented_running_min(values: np.ndarray, segment: np.ndarray) -> np.ndarray:
    """Running minimum that restarts where ``segment`` changes (values are ranks >= 0).

    Each segment is shifted below every earlier one (by ``len(values) + 1`` per
    segment step), so one ``np.minimum.accumulate`` restarts at each segment
    boundary; exact in int64.
    """
    if len(values) == 0:
        return values
    step = np.int64(values.max() + 1)
    position = np.cumsum(np.concatenate(([0], (np.diff(segment) != 0).astype(np.int64))))
    shifted = values - position * step
    return np.minimum.accumulate(shifted) + position * step


def longest_runs(flags: np.ndarray, grid: FootprintGrid, prefer_high: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per bar, the longest run of adjacent flagged levels: (length, low level, high level).

    Length 0 and levels -1 when a bar has no flagged level. Ties between runs of the
    same length go to the highest run when ``prefer_high`` (buy stacks) else to the
    lowest (sell stacks): the run furthest in the imbalance's direction.
    """
    n_bars = grid.n_bars
    length = np.zeros(n_bars, dtype=np.int64)
    lo = np.full(n_bars, -1, dtype=np.int64)
    hi = np.full(n_bars, -1, dtype=np.int64)
    if not flags.any():
        return length, lo, hi
    first_of_bar = np.zeros(len(flags), dtype=bool)
    first_of_bar[grid.offsets[:-1]] = True
    prev = np.concatenate(([False], flags[:-1]))
    run_start = flags & (~prev | first_of_bar)
    run_id = np.cumsum(run_start) - 1
    starts = np.flatnonzero(run_start)
    lengths = np.bincount(run_id[flags], minlength=len(starts))
    run_bar = grid.bar[starts]
    rel = starts - grid.offsets[:-1][run_bar]
    tie = rel if prefer_high else -rel
    order = np.lexsort((tie, lengths, run_bar))
    last = np.flatnonzero(np.append(run_bar[order][1:] != run_bar[order][:-1], True))
    best = order[last]
    bars = run_bar[best]
    length[bars] = lengths[best]
    lo[bars] = grid.low[bars] + rel[best]
    hi[bars] = lo[bars] + lengths[best] - 1
    return length, lo, hi


def footprint_stats(
    grid_or_ticks: "FootprintGrid | pd.DataFrame",
    spec: "BarSpec | str | None" = None,
    tick_size: float | None = None,
    *,
    ratio: float | None = None,
    min_volume: float | None = None,
    value_area_fraction: float = DEFAULT_VALUE_AREA,
    imbalance: "str | ImbalanceRule | None" = None,
) -> pd.DataFrame:
    """Per-bar numbers of a footprint, indexed by bar time.

    Takes a :class:`FootprintGrid`, or canonical ticks with ``spec`` and ``tick_size``.
    Columns:

    - ``poc``: price of the level with most volume (:func:`point_of_control`);
    - ``vah``/``val``: value area high/low (:func:`value_area`, 70% by default);
    - ``buy_imbalances``/``sell_imbalances``: counts of diagonal imbalances
      (:func:`diagonal_imbalances` with ``ratio`` and ``min_volume``, or the rule
      ``imbalance``: a preset ``"atas"``/``"ninjatrader"``/``"sierra"`` or
      :func:`data.bars.imbalance.custom`; the default stays ratio 3, no minimum);
    - ``buy_stack``/``sell_stack``: the longest run of adjacent same-side
      imbalances (a stacked imbalance; 0 when none) and ``*_stack_low``/``*_stack_high``
      its lowest and highest price (NaN when none).
    """
    grid = grid_or_ticks if isinstance(grid_or_ticks, FootprintGrid) else footprint_grid(grid_or_ticks, spec, tick_size)
    columns = grid_stats(grid, ratio=ratio, min_volume=min_volume, value_area_fraction=value_area_fraction,
                         imbalance=imbalance)
    index = pd.DatetimeIndex(grid.stamps.astype("datetime64[ns]"), name="timestamp").tz_localize("UTC")
    return pd.DataFrame(columns, index=index)


def grid_stats(grid: FootprintGrid, *, ratio: float | None = None, min_volume: float | None = None,
               value_area_fraction: float = DEFAULT_VALUE_AREA,
               imbalance: "str | ImbalanceRule | None" = None) -> dict[str, np.ndarray]:
    """The columns of :func:`footprint_stats` as a dict of arrays (one value per bar)."""
    rule = imbalance_rule(imbalance, ratio, min_volume)
    if grid.n_bars == 0:
        return {name: np.zeros(0) for name in FOOTPRINT_LINES[:11]}
    poc = point_of_control(grid)
    val, vah = value_area(grid, poc, value_area_fraction)
    buy_imb, sell_imb = diagonal_imbalances(grid, rule=rule)
    seg = grid.offsets[:-1]
    buy_len, buy_lo, buy_hi = longest_runs(buy_imb, grid, prefer_high=True)
    sell_len, sell_lo, sell_hi = longest_runs(sell_imb, grid, prefer_high=False)

    def prices(levels: np.ndarray, present: np.ndarray) -> np.ndarray:
        return np.where(present, level_prices(levels, grid.tick_size), np.nan)

    return {
        "poc": level_prices(grid.level[poc], grid.tick_size),
        "vah": level_prices(vah, grid.tick_size),
        "val": level_prices(val, grid.tick_size),
        "buy_imbalances": np.add.reduceat(buy_imb.astype(np.float64), seg),
        "sell_imbalances": np.add.reduceat(sell_imb.astype(np.float64), seg),
        "buy_stack": buy_len.astype(np.float64),
        "buy_stack_low": prices(buy_lo, buy_len > 0),
        "buy_stack_high": prices(buy_hi, buy_len > 0),
        "sell_stack": sell_len.astype(np.float64),
        "sell_stack_low": prices(sell_lo, sell_len > 0),
        "sell_stack_high": prices(sell_hi, sell_len > 0),
    }


# --------------------------------------------------------------------------- absorption


def absorption(
    bars: pd.DataFrame,
    *,
    lookback: int = 20,
    volume_factor: float = 1.5,
    delta_fraction: float = 0.25,
    max_progress: float = 0.25,
    extreme: float = 1.0 / 3.0,
) -> pd.Series:
    """Absorption: heavy, one-sided aggression that fails to move price, at the bar's extreme.

    ``+1`` (sellers absorbed at the low, bullish) on a bar where all of:

    1. heavy volume: ``volume >= volume_factor * mean(volume of the previous lookback bars)``;
    2. strong selling: ``delta <= -delta_fraction * volume``;
    3. little progress: ``open - close <= max_progress * (high - low)`` (price fell
       at most that share of the range, or rose);
    4. at the extreme: ``poc - low <= extreme * (high - low)`` (the heaviest level is
       in the bottom part of the range: the sellers hit a bid that held).

    ``-1`` (buyers absorbed at the high, bearish) mirrors it: ``delta >=
    delta_fraction * volume``, ``close - open <= max_progress * (high - low)`` and
    ``high - poc <= extreme * (high - low)``. ``0`` otherwise, and during the
    first ``lookback`` bars. Needs the columns ``open high low close volume delta poc``.
    Uses only the bar itself and earlier bars.
    """
    missing = [c for c in ("open", "high", "low", "close", "volume", "delta", "poc") if c not in bars]
    if missing:
        raise OrderFlowError(f"absorption needs bar column(s) {', '.join(missing)} (build bars with data.make_bars)")
    if lookback < 1:
        raise OrderFlowError(f"absorption lookback must be at least 1 bar, not {lookback!r}")
    o, h, lo, c = (bars[k].to_numpy(np.float64) for k in ("open", "high", "low", "close"))
    volume, delta, poc = (bars[k].to_numpy(np.float64) for k in ("volume", "delta", "poc"))
    average = pd.Series(volume).rolling(lookback, min_periods=lookback).mean().shift(1).to_numpy()
    span = h - lo
    heavy = volume >= volume_factor * average  # False while the average is NaN
    bullish = heavy & (delta <= -delta_fraction * volume) & (o - c <= max_progress * span) & (poc - lo <= extreme * span)
    bearish = heavy & (delta >= delta_fraction * volume) & (c - o <= max_progress * span) & (h - poc <= extreme * span)
    signal = bullish.astype(np.int8) - bearish.astype(np.int8)
    return pd.Series(signal, index=bars.index, name="absorption")


# --------------------------------------------------------------------------- feed lines


def footprint_lines(
    price: np.ndarray,
    size: np.ndarray,
    side: np.ndarray,
    starts: np.ndarray,
    stamps: np.ndarray,
    tick_size: float | None = None,
    *,
    ratio: float | None = None,
    min_volume: float | None = None,
    value_area_fraction: float = DEFAULT_VALUE_AREA,
    imbalance: "str | ImbalanceRule | None" = None,
    large: "float | str" = DEFAULT_LARGE,
    large_window: int = DEFAULT_LARGE_WINDOW,
    price_range: tuple[np.ndarray, np.ndarray] | None = None,
    times: np.ndarray | None = None,
    ids: np.ndarray | None = None,
    carry: "LargeTradeCarry | None" = None,
    order_carry: "LargeTradeCarry | None" = None,
    with_large: bool = True,
    grid: FootprintGrid | None = None,
) -> dict[str, np.ndarray]:
    """All :data:`FOOTPRINT_LINES` for bars given by first-tick indices (used by ``make_bars``;
    ``price_range``: each bar's low and high price, if known, see :func:`grid_from_arrays`).
    ``large_buy_orders``/``large_sell_orders`` (:func:`data.bars.orders.large_order_volume`, same
    threshold as the large trades) need the ticks' ``times`` (and ``ids`` where the
    source has aggressor ids); without ``times`` they are left out. ``carry`` and
    ``order_carry``: the large-trade and large-order blocks of earlier ticks, for a
    stream (see :class:`data.bars.large.LargeTradeCarry`). ``with_large=False`` leaves out the large
    trade and order lines, for a caller that computes them apart (:func:`large_lines`). ``grid``: the
    ticks' grid when the caller made it (a stream that keeps the footprint table), instead of making it here.

    With ``tick_size=None`` the tick is inferred (:func:`infer_tick_size`) and, should
    that grid be too fine for the price range, coarsened by powers of ten until the
    grid fits, so that ``make_bars`` never fails on a footprint.
    """
    if grid is None:
        inferred = tick_size is None
        tick = infer_tick_size(price) if inferred else _check_tick_size(tick_size)
        grid = fitted_grid(price, size, side, starts, stamps, tick, coarsen=inferred, price_range=price_range)
    lines = grid_stats(grid, ratio=ratio, min_volume=min_volume, value_area_fraction=value_area_fraction,
                       imbalance=imbalance)
    if with_large:
        lines.update(large_lines(size, side, starts, large, large_window, times=times, ids=ids, carry=carry,
                                 order_carry=order_carry))
    return lines


def large_lines(
    size: np.ndarray,
    side: np.ndarray,
    starts: np.ndarray,
    large: "float | str" = DEFAULT_LARGE,
    large_window: int = DEFAULT_LARGE_WINDOW,
    *,
    times: np.ndarray | None = None,
    ids: np.ndarray | None = None,
    carry: "LargeTradeCarry | None" = None,
    order_carry: "LargeTradeCarry | None" = None,
) -> dict[str, np.ndarray]:
    """The large-trade lines of :func:`footprint_lines`: ``large_buy_volume``/``large_sell_volume``
    (:func:`data.bars.large.large_trade_volume`) and, given ``times``, ``large_buy_orders``/``large_sell_orders``
    (:func:`data.bars.orders.large_order_volume`)."""
    lines = {}
    lines["large_buy_volume"], lines["large_sell_volume"] = large_trade_volume(size, side, starts, large, large_window,
                                                                                carry=carry)
    if times is not None:
        lines["large_buy_orders"], lines["large_sell_orders"] = large_order_volume(
            times, size, side, starts, large, large_window, ids, carry=order_carry)
    return lines


def describe_rule(params: "dict | None") -> str | None:
    """``bars.attrs["imbalance"]``: the imbalance rule that footprint ``params`` name
    (:meth:`data.bars.imbalance.ImbalanceRule.describe`), None for the default rule."""
    if not params or params.get("imbalance") is None:
        return None
    return imbalance_rule(params["imbalance"], params.get("ratio"), params.get("min_volume")).describe()


def add_footprint_lines(
    bars: pd.DataFrame,
    ticks: pd.DataFrame,
    tick_size: float | None = None,
    **params,
) -> pd.DataFrame:
    """A copy of ``bars`` (from ``make_bars(ticks, spec)``) with the footprint lines
    recomputed with other parameters (``tick_size``, ``ratio``, ``min_volume``,
    ``imbalance`` (a platform preset such as ``"atas"``, see :mod:`data.bars.imbalance`),
    ``value_area_fraction``, ``large``, ``large_window``; see :func:`footprint_lines`).
    ``attrs["imbalance"]`` records the rule used."""
    ts = check_ticks(ticks)
    spec = parse_bar_spec(bars.attrs.get("bar_spec"))
    size = ticks["size"].to_numpy(np.float64)
    starts, stamps = assign_bars(ts, size, spec)
    if len(stamps) != len(bars) or not np.array_equal(stamps, timestamps_ns(bars.index)):
        raise OrderFlowError("bars do not match these ticks (build them with make_bars(ticks, spec) from the same ticks)")
    lines = footprint_lines(ticks["price"].to_numpy(np.float64), size, ticks["side"].to_numpy(), starts, stamps,
                            tick_size, times=ts, ids=order_ids(ticks), **params)
    out = bars.copy()
    for name, values in lines.items():
        out[name] = values
    out.attrs = dict(bars.attrs)
    if tick_size is not None:
        out.attrs["tick_size"] = float(tick_size)
    out.attrs["imbalance"] = imbalance_rule(params.get("imbalance"), params.get("ratio"), params.get("min_volume")).describe()
    return out
