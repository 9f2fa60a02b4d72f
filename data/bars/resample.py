"""Order-flow bars of a coarser timeframe made from finer bars, every line by its own rule.

Backtrader's ``resampledata``/``replaydata`` carry OHLCV and open interest only. Here each
bar field is aggregated by the rule written beside its definition in :mod:`data.schema`
(:data:`data.schema.RESAMPLE_RULES`): sums for volumes, delta, OFI and counts; last values
for the closing book; extremes for high/low; the running delta across the base bars for
``delta_high``/``delta_low``; weighted means for VWAP and the book averages; and the
footprint numbers (POC, value area, diagonal and stacked imbalances) recomputed from the
base bars' footprints merged level by level, with the same functions that compute them
from ticks (:func:`data.bars.footprint.grid_stats`).

- :func:`resample_bars`: the closed coarser bars;
- :func:`resample_footprint`: the merged footprint table of those bars;
- :func:`developing_bars`: the coarser bar as it stands after each base bar (replay), which
  uses nothing after that base bar; its last state in each coarser bar equals the closed bar.

Coarser bars are groups of whole base bars, cut by the bar assignment of ``make_bars``
(:func:`data.bars.make.assign_bars` on the base bars' times for time bars,
:func:`data.bars.make.volume_bar_starts` on their trades or volume for ``Nt``/``Nv`` bars) or
by a session calendar. Every reduction is one ``np.ufunc.reduceat`` over the groups (closed
bars) or one grouped running sum or extreme (developing bars): no Python loop per bar.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable, Protocol

import numpy as np
import pandas as pd

from data.bars.footprint import (
    DEFAULT_VALUE_AREA,
    GRID_PARAMS,
    FootprintGrid,
    check_footprint_params,
    describe_rule,
    grid_stats,
    grid_table,
    price_levels,
    table_tick_size,
)
from data.bars.spec import (
    DAY_NS,
    SESSION,
    BarSpec,
    assign_bars,
    bar_index,
    bar_opens,
    parse_bar_spec,
    volume_bar_starts,
)
from data.errors import OrderFlowError
from data.options import BarOptions
from data.schema import (
    BAR_COLUMNS,
    FIRST,
    FOOTPRINT,
    LAST,
    MAX,
    MIN,
    RESAMPLE_RULE_NAMES,
    RESAMPLE_RULES,
    RUNNING_HIGH,
    RUNNING_LOW,
    SUM,
    TIME_MEAN,
    TRADE_MEAN,
    VOLUME_MEAN,
)
from data.ticks import timestamps_ns

_FOOTPRINT_VOLUMES = ("buy_volume", "sell_volume", "unknown_volume")
_FOOTPRINT_COUNTS = ("buy_trades", "sell_trades", "unknown_trades")


class SessionCloses(Protocol):
    """What :func:`resample_bars` needs of a session calendar (``indicators.sessions.SessionCalendar``)."""

    def session_closes(self, times: pd.DatetimeIndex) -> np.ndarray:
        """Per time, the UTC ns of the close of its session."""


@dataclass
class Groups:
    """Coarser bars as groups of consecutive base bars: group ``g`` holds base bars
    ``starts[g] .. ends[g] - 1`` and is stamped ``stamps[g]`` (UTC ns); ``ids`` is each base
    bar's group."""

    spec: BarSpec
    starts: np.ndarray
    stamps: np.ndarray
    n_base: int

    @cached_property
    def ends(self) -> np.ndarray:
        return np.append(self.starts[1:], self.n_base)

    @cached_property
    def ids(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.starts)), np.diff(np.append(self.starts, self.n_base)))


def base_spec(bars: pd.DataFrame) -> BarSpec | None:
    """The spec the bars were made with (``attrs["bar_spec"]``), None when unknown."""
    text = bars.attrs.get("bar_spec")
    return parse_bar_spec(text) if text is not None else None


def group_bars(bars: pd.DataFrame, spec: "BarSpec | str", calendar: SessionCloses | None = None) -> Groups:
    """Cut base ``bars`` into the bars of ``spec`` (see :func:`resample_bars` for the rules)."""
    spec = parse_bar_spec(spec)
    base = base_spec(bars)
    check_timeframe(base, spec)
    ts = timestamps_ns(bars.index)
    if len(ts) and (np.diff(ts) < 0).any():
        raise OrderFlowError("bars are not sorted by time", row=int(np.argmax(np.diff(ts) < 0)) + 2)
    n = len(ts)
    if n == 0:
        return Groups(spec, np.zeros(0, np.int64), np.zeros(0, np.int64), 0)
    if spec.kind == SESSION:
        if calendar is None:  # sessions of UTC days: the right-closed days of "1D"
            starts, stamps = assign_bars(ts, np.zeros(n), "1D")
        else:
            labels = np.asarray(calendar.session_closes(bars.index), dtype=np.int64)
            starts = np.concatenate(([0], np.flatnonzero(np.diff(labels)) + 1)).astype(np.int64)
            stamps = labels[starts]
    elif spec.kind in ("tick", "volume"):
        column = "trades" if spec.kind == "tick" else "volume"
        starts, _ = volume_bar_starts(bars[column].to_numpy(np.float64), float(spec.size))
        stamps = ts[np.append(starts[1:], n) - 1]
    else:
        starts, stamps = assign_bars(ts, np.zeros(n), spec)
    return Groups(spec, np.asarray(starts, dtype=np.int64), np.asarray(stamps, dtype=np.int64), n)


def check_timeframe(base: "BarSpec | str | None", spec: "BarSpec | str") -> None:
    """OrderFlowError unless bars of ``spec`` can be made of whole ``base`` bars: a time spec must
    be a whole multiple of a time base (a calendar offset, of a base that divides a day); one bar
    per trade is no coarser timeframe."""
    base = parse_bar_spec(base) if base is not None else None
    spec = parse_bar_spec(spec)
    if spec.kind == "tick" and spec.size == 1:
        raise OrderFlowError("one bar per trade is not a coarser timeframe: resample to a time, Nt, Nv or "
                             "session spec")
    if base is None or base.kind != "time" or spec.kind != "time":
        return
    if base.nanos is None:
        if spec.nanos is not None:
            raise OrderFlowError(f"{spec.text} bars cannot be made from {base.text} bars: not a coarser timeframe")
        return
    unit = spec.nanos if spec.nanos is not None else DAY_NS  # calendar offsets group whole UTC days
    if unit % base.nanos:
        raise OrderFlowError(f"{spec.text} bars cannot be made from {base.text} bars: the timeframe must be a whole "
                             f"multiple of the bars' {base.text}" + ("" if spec.nanos else " that divides a day"))


# --------------------------------------------------------------------------- the rules


class Mode:
    """How a rule reduces per-base-bar values: over each whole group (closed bars) or
    running from each group's first base bar (developing bars)."""

    def __init__(self, groups: Groups) -> None:
        self.groups = groups

    def total(self, values: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def high(self, values: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def low(self, values: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def first(self, values: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def last(self, values: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class Closed(Mode):
    """One value per group: ``np.ufunc.reduceat`` over the group's base bars."""

    def total(self, values: np.ndarray) -> np.ndarray:
        return np.add.reduceat(values, self.groups.starts)

    def high(self, values: np.ndarray) -> np.ndarray:
        return np.maximum.reduceat(values, self.groups.starts)

    def low(self, values: np.ndarray) -> np.ndarray:
        return np.minimum.reduceat(values, self.groups.starts)

    def first(self, values: np.ndarray) -> np.ndarray:
        return values[self.groups.starts]

    def last(self, values: np.ndarray) -> np.ndarray:
        return values[self.groups.ends - 1]


class Running(Mode):
    """One value per base bar: the group's reduction over its base bars up to this one
    (grouped running sums and extremes, which add in order)."""

    def __init__(self, groups: Groups) -> None:
        super().__init__(groups)
        self._ids = groups.ids

    def _grouped(self, values: np.ndarray):
        return pd.Series(values, copy=False).groupby(self._ids, sort=False)

    def total(self, values: np.ndarray) -> np.ndarray:
        return self._grouped(values).cumsum().to_numpy(np.float64)

    def high(self, values: np.ndarray) -> np.ndarray:
        return self._grouped(values).cummax().to_numpy(np.float64)

    def low(self, values: np.ndarray) -> np.ndarray:
        return self._grouped(values).cummin().to_numpy(np.float64)

    def first(self, values: np.ndarray) -> np.ndarray:
        return values[self.groups.starts][self._ids]

    def last(self, values: np.ndarray) -> np.ndarray:
        return values


def _finite_total(mode: Mode, values: np.ndarray) -> np.ndarray:
    """SUM: the sum of the finite values; NaN where none is finite."""
    known = np.isfinite(values)
    if known.all():
        return mode.total(values)
    total = mode.total(np.where(known, values, 0.0))
    seen = mode.high(known.astype(np.float64)) > 0
    return np.where(seen, total, np.nan)


def _weighted_mean(mode: Mode, values: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``sum(w v) / sum(w)`` over the finite values; their plain mean where the weights sum
    to 0; NaN where no value is finite (the fallbacks of ``data.bars.depth``'s bar means)."""
    known = np.isfinite(values)
    v = np.where(known, values, 0.0)
    w = np.where(known, weight, 0.0)
    wsum = mode.total(w)
    count = mode.total(known.astype(np.float64))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = mode.total(w * v) / wsum
        plain = mode.total(v) / count
    out = np.where(wsum > 0, out, plain)
    return np.where(count > 0, out, np.nan)


def _running_delta_before(groups: Groups, delta: np.ndarray) -> np.ndarray:
    """Per base bar, the sum of the deltas of the base bars before it in its group (added in order)."""
    shifted = np.concatenate(([0.0], delta[:-1]))
    shifted[groups.starts] = 0.0
    return Running(groups).total(shifted)


@dataclass
class Inputs:
    """What the rules read: the base bars' columns, durations and group cuts."""

    bars: pd.DataFrame
    groups: Groups
    durations: np.ndarray

    def column(self, name: str) -> np.ndarray:
        return self.bars[name].to_numpy(np.float64)


RuleFunction = Callable[[Mode, Inputs, str], np.ndarray]


def _volume_mean(mode: Mode, data: Inputs, name: str) -> np.ndarray:
    volume = data.column("volume")
    total = mode.total(data.column(name) * volume)
    weight = mode.total(volume)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(weight > 0, total / weight, mode.last(data.column("close")))


def _running_extreme(high: bool) -> RuleFunction:
    def rule(mode: Mode, data: Inputs, name: str) -> np.ndarray:
        before = _running_delta_before(data.groups, data.column("delta"))
        return (mode.high if high else mode.low)(before + data.column(name))
    return rule


RULES: dict[str, RuleFunction] = {
    FIRST: lambda mode, data, name: mode.first(data.column(name)),
    LAST: lambda mode, data, name: mode.last(data.column(name)),
    MAX: lambda mode, data, name: mode.high(data.column(name)),
    MIN: lambda mode, data, name: mode.low(data.column(name)),
    SUM: lambda mode, data, name: _finite_total(mode, data.column(name)),
    RUNNING_HIGH: _running_extreme(True),
    RUNNING_LOW: _running_extreme(False),
    VOLUME_MEAN: _volume_mean,
    TRADE_MEAN: lambda mode, data, name: _weighted_mean(mode, data.column(name), data.column("trades")),
    TIME_MEAN: lambda mode, data, name: _weighted_mean(mode, data.column(name), data.durations),
    # FOOTPRINT lines come from the merged footprint (_footprint_columns), not from the bars' own values
}
if set(RULES) | {FOOTPRINT} != set(RESAMPLE_RULE_NAMES):  # a rule named in the schema without its code
    raise ImportError(f"resampling rules without code: {sorted(set(RESAMPLE_RULE_NAMES) - set(RULES) - {FOOTPRINT})}")


def base_durations(bars: pd.DataFrame, groups: Groups) -> np.ndarray:
    """Each base bar's duration in ns, the weight of the time-weighted lines: its window
    ``(open_b, stamp_b]`` (:func:`data.bars.make.bar_opens`: the bar's length for fixed time bars,
    the time since the previous bar otherwise, 0 for the first such bar), cut at the open of its
    coarser bar when that is a fixed-length time bar."""
    ts = timestamps_ns(bars.index)
    if len(ts) == 0:
        return np.zeros(0)
    base = base_spec(bars)
    opens = bar_opens(ts, base if base is not None else "tick", int(ts[0]) + 1)
    if groups.spec.kind == "time" and groups.spec.nanos is not None:
        opens = np.maximum(opens, (groups.stamps - groups.spec.nanos)[groups.ids])
    return np.maximum(ts - opens, 0).astype(np.float64)


# --------------------------------------------------------------------------- footprints


@dataclass
class TableRows:
    """A base footprint table's rows mapped onto the base bars and the coarser groups."""

    frame: pd.DataFrame  # the rows, columns timestamp, price, volumes (and counts)
    bar: np.ndarray  # base bar of each row
    group: np.ndarray  # coarser bar of each row
    level: np.ndarray  # price level code of each row
    tick: float


def _table_rows(table: pd.DataFrame, bars: pd.DataFrame, groups: Groups, tick_size: float | None) -> TableRows:
    if not isinstance(table, pd.DataFrame):
        raise OrderFlowError(f"footprint= takes a footprint table (data.footprint), not {type(table).__name__}")
    frame = table.reset_index() if isinstance(table.index, pd.MultiIndex) else table
    missing = [c for c in ("timestamp", "price", *_FOOTPRINT_VOLUMES) if c not in frame.columns]
    if missing:
        raise OrderFlowError(f"the footprint table lacks column(s) {', '.join(missing)} (make it with data.footprint)")
    tick = table_tick_size(table, tick_size)
    ts = timestamps_ns(frame["timestamp"])
    stamps = timestamps_ns(bars.index)
    bar = np.searchsorted(stamps, ts, side="left")
    found = bar < len(stamps)
    found[found] = stamps[bar[found]] == ts[found]
    if not found.all():
        row = int(np.argmin(found))
        raise OrderFlowError(f"the footprint table has a bar at {pd.Timestamp(ts[row], tz='UTC')} that the bars do not "
                             "have: make both from the same ticks and spec", column="timestamp", row=row + 1)
    level = price_levels(frame["price"].to_numpy(np.float64), tick)
    return TableRows(frame, bar, groups.ids[bar], level, tick)


def _merged_grid(rows: TableRows, groups: Groups, counts: bool) -> tuple[FootprintGrid, np.ndarray]:
    """The coarser bars' footprint grid (the base cells added level by level, in bar order) and
    whether each coarser bar has any footprint row."""
    n = len(groups.starts)
    big = np.iinfo(np.int64).max
    low = np.full(n, big, dtype=np.int64)
    high = np.full(n, -big, dtype=np.int64)
    np.minimum.at(low, rows.group, rows.level)
    np.maximum.at(high, rows.group, rows.level)
    present = high >= low
    low[~present], high[~present] = 0, 0
    offsets = np.concatenate(([0], np.cumsum(high - low + 1))).astype(np.int64)
    cell = offsets[rows.group] + rows.level - low[rows.group]
    n_cells = int(offsets[-1])

    def add(column: str) -> np.ndarray | None:
        if column not in rows.frame:
            return None if column in _FOOTPRINT_COUNTS else np.zeros(n_cells)
        return np.bincount(cell, weights=rows.frame[column].to_numpy(np.float64), minlength=n_cells)

    buy, sell, unknown = (add(c) for c in _FOOTPRINT_VOLUMES)
    trades = [add(c) for c in _FOOTPRINT_COUNTS] if counts else [None, None, None]
    if counts and any(t is None for t in trades):  # a table without counts: a traded cell is one with volume
        traded = (buy + sell + unknown) > 0
        trades = [traded.astype(np.float64), np.zeros(n_cells), np.zeros(n_cells)]
    grid = FootprintGrid(rows.tick, groups.stamps, low, high, offsets, buy, sell, unknown, *trades)
    return grid, present


def _developing_grid(rows: TableRows, groups: Groups, stamps: np.ndarray) -> tuple[FootprintGrid, np.ndarray]:
    """One grid per base bar: the footprint of its coarser bar from the group's first base bar
    up to it. The base cells are laid out per group as a dense (level x base bar) block, added
    up along the base bars (a grouped running sum: in order), and each developing state takes
    the levels it has reached from its column of the block."""
    n_groups = len(groups.starts)
    n_base = groups.n_base
    big = np.iinfo(np.int64).max
    bar_low = np.full(n_base, big, dtype=np.int64)
    bar_high = np.full(n_base, -big, dtype=np.int64)
    np.minimum.at(bar_low, rows.bar, rows.level)
    np.maximum.at(bar_high, rows.bar, rows.level)
    running = Running(groups)
    state_low = running.low(bar_low.astype(np.float64))
    state_high = running.high(bar_high.astype(np.float64))
    present = state_high >= state_low
    group_low = np.minimum.reduceat(bar_low, groups.starts) if n_base else np.zeros(0, np.int64)
    group_high = np.maximum.reduceat(bar_high, groups.starts) if n_base else np.zeros(0, np.int64)
    group_ok = group_high >= group_low
    group_low, group_high = np.where(group_ok, group_low, 0), np.where(group_ok, group_high, 0)
    length = np.diff(np.append(groups.starts, n_base))
    width = group_high - group_low + 1
    # blocks ordered by length, so that the blocks of one length are one (levels x length) matrix
    order = np.argsort(length, kind="stable")
    sizes = (length * width)[order]
    block = np.empty(n_groups, dtype=np.int64)
    block[order] = np.concatenate(([0], np.cumsum(sizes)[:-1])) if n_groups else sizes
    n_dense = int(sizes.sum())
    position = np.arange(n_base) - groups.starts[groups.ids]  # base bar's place in its group
    g = rows.group
    dense_cell = block[g] + (rows.level - group_low[g]) * length[g] + position[rows.bar]
    lengths, first = np.unique(length[order], return_index=True)
    bounds = np.append(np.concatenate(([0], np.cumsum(sizes)))[first], n_dense)
    sums = {}
    for name in _FOOTPRINT_VOLUMES:
        dense = np.bincount(dense_cell, weights=rows.frame[name].to_numpy(np.float64), minlength=n_dense)
        for size, lo, hi in zip(lengths, bounds[:-1], bounds[1:]):  # one pass per distinct group length
            matrix = dense[lo:hi].reshape(-1, int(size))
            np.cumsum(matrix, axis=1, out=matrix)  # along the base bars: in order
        sums[name] = dense
    # the developing grids: state j covers the levels state_low_j .. state_high_j of its group
    ids = groups.ids
    low = np.where(present, state_low, group_low[ids]).astype(np.int64)
    high = np.where(present, state_high, group_low[ids]).astype(np.int64)
    cells = high - low + 1
    offsets = np.concatenate(([0], np.cumsum(cells))).astype(np.int64)
    owner = np.repeat(np.arange(n_base), cells)
    relative = np.arange(int(offsets[-1]), dtype=np.int64) - offsets[:-1][owner] + (low - group_low[ids])[owner]
    source = block[ids][owner] + relative * length[ids][owner] + position[owner]
    buy, sell, unknown = (sums[name][source] for name in _FOOTPRINT_VOLUMES)
    return FootprintGrid(rows.tick, stamps, low, high, offsets, buy, sell, unknown, None, None, None), present


def _stats_params(footprint_params: dict[str, Any] | None, bars: pd.DataFrame) -> dict[str, Any]:
    params = check_footprint_params(footprint_params)
    made_with = bars.attrs.get("imbalance")
    if made_with and describe_rule(params) != made_with:
        raise OrderFlowError(f"the bars' footprint lines use the imbalance rule {made_with!r}: pass the "
                             "footprint_params they were made with")
    out = {k: params[k] for k in GRID_PARAMS if k in params}  # the large-trade lines are sums
    out.setdefault("value_area_fraction", DEFAULT_VALUE_AREA)
    return out


def _footprint_columns(grid: FootprintGrid, present: np.ndarray, params: dict[str, Any]) -> dict[str, np.ndarray]:
    lines = grid_stats(grid, **params)
    return {name: np.where(present, values, np.nan) for name, values in lines.items()}


# --------------------------------------------------------------------------- public functions


def _aggregate(mode: Mode, bars: pd.DataFrame, groups: Groups, grid_lines: dict[str, np.ndarray] | None
               ) -> dict[str, np.ndarray]:
    data = Inputs(bars, groups, base_durations(bars, groups))
    columns = {}
    for name in BAR_COLUMNS:
        if name not in bars:
            continue
        rule = RESAMPLE_RULES[name]
        if rule == FOOTPRINT:
            size = len(groups.starts) if isinstance(mode, Closed) else groups.n_base
            columns[name] = grid_lines[name] if grid_lines is not None else np.full(size, np.nan)
        else:
            columns[name] = RULES[rule](mode, data, name)
    return columns


def _checked_bars(bars: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(bars, pd.DataFrame):
        raise OrderFlowError(f"resampling needs a bars DataFrame (from data.make_bars), not {type(bars).__name__}")
    missing = [c for c in ("open", "high", "low", "close", "volume", "delta", "trades") if c not in bars]
    if missing:
        raise OrderFlowError(f"bars lack column(s) {', '.join(missing)} (build them with data.make_bars)")
    return bars


def resample_bars(
    bars: pd.DataFrame,
    spec: "BarSpec | str",
    *,
    footprint: pd.DataFrame | None = None,
    calendar: SessionCloses | None = None,
    options: BarOptions | None = None,
    **keywords: Any,
) -> pd.DataFrame:
    """Bars of the coarser timeframe ``spec`` made from order-flow ``bars`` (``make_bars``' output),
    every line aggregated by its rule in :data:`data.schema.RESAMPLE_RULES`.

    ``spec``: a time offset that is a whole multiple of the bars' own (``"5min"``, ``"15min"``,
    ``"1h"``, ``"1D"``; anchored at the epoch and right-closed like ``make_bars``: a base bar
    stamped 10:15 is in the 10:15 bar, one stamped 10:16 in the 10:30 bar; calendar offsets such
    as ``"1W"`` group whole UTC days); ``"session"``: the sessions of ``calendar`` (an
    ``indicators.sessions.SessionCalendar``; a bar belongs to the session of its time stamp, and
    the session bar is stamped at the session's close), UTC days (``"1D"``) without one;
    ``"Nt"``/``"Nv"``: a coarser bar closes on the first base bar that brings its trades/volume to
    at least N (whole base bars, stamped with the last one's time).

    Per coarser bar of base bars ``i`` (in order): ``open`` the first ``open``, ``close`` the last
    ``close``, ``high``/``low`` the extremes; sums of ``volume``, the buy/sell/unknown volumes,
    ``delta``, ``trades``, ``inferred_volume``, ``ofi`` and the large-trade lines; ``delta_high =
    max_i(D_(i-1) + delta_high_i)`` and ``delta_low = min_i(D_(i-1) + delta_low_i)`` with ``D_i``
    the running sum of the deltas (the extremes of the running delta across the base bars);
    ``vwap = sum(vwap_i volume_i) / sum(volume_i)``; the last ``bid_size ask_size imbalance``,
    ``persistent_*`` and ``weighted_mid``; ``avg_depth`` weighted by each base bar's trades;
    ``tw_imbalance`` and ``depth_imbalance_K`` weighted by each base bar's duration.

    ``footprint``: the base bars' footprint table (:func:`data.footprint` of the same ticks and
    spec). Its cells are added level by level into the coarser bars' footprints, and ``poc vah val
    buy_imbalances sell_imbalances`` and the stacks are computed from them as from ticks. ``options``
    (:class:`data.options.BarOptions`, or its fields as keywords) are those the base bars were made
    with: their ``footprint_params`` (``ratio``, ``min_volume``, ``imbalance``,
    ``value_area_fraction``) and ``tick_size`` (default: the table's). Without a footprint table
    those lines are NaN: they cannot be rebuilt from the bars' own numbers. Columns the bars lack
    stay out, as do columns that are no bar field. ``attrs["bar_spec"]`` is ``spec``.
    """
    options = BarOptions.of(options, **keywords)
    bars = _checked_bars(bars)
    groups = group_bars(bars, spec, calendar)
    grid_lines = None
    if footprint is not None and len(groups.starts):
        params = _stats_params(options.footprint_params, bars)
        grid, present = _merged_grid(_table_rows(footprint, bars, groups, options.tick_size), groups, counts=False)
        grid_lines = _footprint_columns(grid, present, params)
    columns = _aggregate(Closed(groups), bars, groups, grid_lines)
    out = pd.DataFrame(columns, index=bar_index(groups.stamps))
    out.attrs = {k: v for k, v in bars.attrs.items() if k != "load_report"}
    out.attrs["bar_spec"] = groups.spec.text
    return out


def resample_footprint(
    footprint: pd.DataFrame,
    bars: pd.DataFrame,
    spec: "BarSpec | str",
    *,
    calendar: SessionCloses | None = None,
    options: BarOptions | None = None,
    **keywords: Any,
) -> pd.DataFrame:
    """The footprint table of ``resample_bars(bars, spec)``: the base table's cells (buy, sell and
    unknown volumes and trade counts) added level by level into each coarser bar, in the shape of
    :func:`data.footprint` (equal to the footprint of the ticks for those bars; ``options``' or the
    keyword ``tick_size``, default the table's)."""
    options = BarOptions.of(options, **keywords)
    bars = _checked_bars(bars)
    groups = group_bars(bars, spec, calendar)
    grid, _ = _merged_grid(_table_rows(footprint, bars, groups, options.tick_size), groups, counts=True)
    table = grid_table(grid)
    table.attrs["bar_spec"] = groups.spec.text
    return table


def developing_bars(
    bars: pd.DataFrame,
    spec: "BarSpec | str",
    *,
    footprint: pd.DataFrame | None = None,
    calendar: SessionCloses | None = None,
    options: BarOptions | None = None,
    **keywords: Any,
) -> pd.DataFrame:
    """The coarser bar of ``spec`` as it stands after each base bar (a replay): one row per base
    bar, indexed by the base bar's time, holding its coarser bar aggregated over the base bars
    from the coarser bar's first up to this one, by the same rules as :func:`resample_bars`
    (running sums, extremes and weighted means; the footprint lines from the footprint merged so
    far). A row uses no base bar after its own; the last row of each coarser bar equals that bar
    in ``resample_bars`` (its time is the last base bar's, not the coarser bar's end). Column
    ``opens`` is True on the first base bar of each coarser bar. Arguments as in
    :func:`resample_bars`."""
    options = BarOptions.of(options, **keywords)
    bars = _checked_bars(bars)
    groups = group_bars(bars, spec, calendar)
    stamps = timestamps_ns(bars.index)
    grid_lines = None
    if footprint is not None and groups.n_base:
        params = _stats_params(options.footprint_params, bars)
        grid, present = _developing_grid(_table_rows(footprint, bars, groups, options.tick_size), groups, stamps)
        grid_lines = _footprint_columns(grid, present, params)
    columns = _aggregate(Running(groups), bars, groups, grid_lines)
    opens = np.zeros(groups.n_base, dtype=bool)
    opens[groups.starts] = True
    columns["opens"] = opens
    out = pd.DataFrame(columns, index=bars.index.copy())
    out.attrs = {k: v for k, v in bars.attrs.items() if k != "load_report"}
    out.attrs["bar_spec"] = groups.spec.text
    return out
