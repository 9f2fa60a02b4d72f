"""Session volume profile: volume at each price level over the session, its POC and value area.

The profile of bar ``t`` adds up the footprint cells (:func:`data.bars.footprint`: bar x
price level) of every bar of the current session up to and including ``t`` (and of
the ``sessions - 1`` sessions before it: a composite profile); sessions are the
CVD's (:class:`indicators.sessions.SessionCalendar`: ``session_start`` local time in
``tz``, right-closed). From that profile, with the very rules of the per-bar
footprint (:func:`data.bars.footprint.point_of_control`, :func:`data.bars.footprint.value_area`):

- ``poc``: the level with the most volume (ties: nearest the middle of the range, then lower);
- ``vah``/``val``: the value area, grown from the POC one level at a time towards
  the side that traded more until it holds ``value_area`` (70%) of the volume.

At bar ``t`` only bars up to ``t`` count: these are the *developing* POC, VAH and VAL
a strategy can trade on (no look-ahead). :func:`session_profile` gives the profile
itself (volume per level) for a chart.
"""
from __future__ import annotations

import math

import backtrader as bt
import numpy as np
import pandas as pd

from data.bars.footprint import FootprintGrid, level_prices, point_of_control, price_levels, value_area
from data.errors import OrderFlowError
from data.feed import date2num_ns

from .orderflow import line_values, store_line
from .sessions import SessionCalendar
from .warmup import WarmUpGuard

__all__ = ["SessionVolumeProfile", "session_profile", "developing_profile"]

_CHUNK_CELLS = 1 << 22  # dense rows x levels per block: bounded memory on long sessions


def _table_arrays(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """A footprint table's (bar day numbers, level codes, volumes, tick) per cell, in table order."""
    if not isinstance(table, pd.DataFrame) or "volume" not in table or table.index.nlevels != 2:
        raise OrderFlowError("the session profile needs a footprint table from data.footprint(ticks, spec, tick_size)")
    tick = table.attrs.get("tick_size")
    if not tick:
        raise OrderFlowError("the footprint table has no attrs['tick_size'] (make it with data.bars.footprint)")
    stamps = pd.DatetimeIndex(table.index.get_level_values(0))
    stamps = stamps.tz_localize("UTC") if stamps.tz is None else stamps.tz_convert("UTC")
    nums = date2num_ns(stamps.as_unit("ns").asi8)
    levels = price_levels(table.index.get_level_values(1).to_numpy(np.float64), tick)
    return nums, levels, table["volume"].to_numpy(np.float64), float(tick)


def _session_rank(ids: np.ndarray) -> np.ndarray:
    """0, 1, 2 ... : the number of session changes before each bar (sessions with data, in order)."""
    return np.concatenate(([0], np.cumsum(ids[1:] != ids[:-1]))) if len(ids) else np.zeros(0, dtype=np.int64)


def _stats(rows_low: np.ndarray, rows_high: np.ndarray, cells: np.ndarray, tick: float,
           fraction: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """POC, VAH, VAL prices of profiles laid out as a footprint grid (one 'bar' per profile)."""
    offsets = np.concatenate(([0], np.cumsum(rows_high - rows_low + 1))).astype(np.int64)
    zeros = np.zeros(len(cells))
    grid = FootprintGrid(tick, np.zeros(len(rows_low), np.int64), rows_low, rows_high, offsets, zeros, zeros, cells,
                         None, None, None)
    poc = point_of_control(grid)
    val, vah = value_area(grid, poc, fraction)
    return level_prices(grid.level[poc], tick), level_prices(vah, tick), level_prices(val, tick)


def developing_profile(bar_nums: np.ndarray, cell_bar: np.ndarray, cell_level: np.ndarray, cell_volume: np.ndarray,
                       session_rank: np.ndarray, tick: float, *, sessions: int = 1,
                       fraction: float = 0.70) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Developing ``(poc, vah, val)`` of every bar, vectorised (see the module docstring).

    ``cell_bar``: the bar index of each footprint cell (ascending), ``cell_level`` its
    level code, ``cell_volume`` its volume; ``session_rank`` per bar (0, 1, ...). The
    profile of bar ``t`` in session ``s`` is ``base_s + sum of its session's cells up
    to t``, ``base_s`` the totals of sessions ``s-sessions+1 .. s-1`` added in session
    order (the same additions, in the same order, as the bar-by-bar indicator). Dense
    per session, in blocks of at most ``_CHUNK_CELLS`` cells.
    """
    n = len(bar_nums)
    out = tuple(np.full(n, np.nan) for _ in range(3))
    if n == 0 or len(cell_bar) == 0:
        return out
    bar_rank = session_rank
    n_sessions = int(bar_rank[-1]) + 1
    cell_rank = bar_rank[cell_bar]
    cell_edges = np.searchsorted(cell_rank, np.arange(n_sessions + 1))
    bar_edges = np.searchsorted(bar_rank, np.arange(n_sessions + 1))
    totals: list[tuple[int, np.ndarray]] = []  # per session: (lowest level, dense volumes)
    for s in range(n_sessions):  # one pass per session (not per bar or tick)
        c0, c1 = cell_edges[s], cell_edges[s + 1]
        b0, b1 = bar_edges[s], bar_edges[s + 1]
        window = totals[max(0, s - sessions + 1):s]
        lo = min([int(cell_level[c0:c1].min())] + [low for low, _ in window]) if c1 > c0 else None
        if lo is None:
            totals.append((0, np.zeros(0)))
            continue
        hi = max([int(cell_level[c0:c1].max())] + [low + len(v) - 1 for low, v in window])
        width = hi - lo + 1
        base = np.zeros(width)
        base_lo, base_hi = np.iinfo(np.int64).max, np.iinfo(np.int64).min
        for low, v in window:
            if len(v):
                base[low - lo: low - lo + len(v)] += v
                base_lo, base_hi = min(base_lo, low), max(base_hi, low + len(v) - 1)
        running = np.zeros(width)
        seen_lo, seen_hi = base_lo, base_hi
        step = max(1, _CHUNK_CELLS // width)
        for r0 in range(b0, b1, step):
            r1 = min(b1, r0 + step)
            k0, k1 = np.searchsorted(cell_bar, [r0, r1])
            rows = r1 - r0
            dense = np.bincount((cell_bar[k0:k1] - r0) * width + (cell_level[k0:k1] - lo),
                                weights=cell_volume[k0:k1], minlength=rows * width).reshape(rows, width)
            dense[0] += running
            cum = np.cumsum(dense, axis=0)
            running = cum[-1].copy()
            # each row's traded range so far: running extremes of the levels with cells
            row_lo = np.full(rows, np.iinfo(np.int64).max)
            row_hi = np.full(rows, np.iinfo(np.int64).min)
            np.minimum.at(row_lo, cell_bar[k0:k1] - r0, cell_level[k0:k1])
            np.maximum.at(row_hi, cell_bar[k0:k1] - r0, cell_level[k0:k1])
            row_lo = np.minimum.accumulate(np.minimum(row_lo, seen_lo))
            row_hi = np.maximum.accumulate(np.maximum(row_hi, seen_hi))
            seen_lo, seen_hi = int(row_lo[-1]), int(row_hi[-1])
            cols = np.arange(width) + lo
            mask = (cols >= row_lo[:, None]) & (cols <= row_hi[:, None])
            cells = (base + cum)[mask]
            poc, vah, val = _stats(row_lo, row_hi, cells, tick, fraction)
            for target, values in zip(out, (poc, vah, val)):
                target[r0:r1] = values
        totals.append((int(cell_level[c0:c1].min()), running[int(cell_level[c0:c1].min()) - lo:
                                                              int(cell_level[c0:c1].max()) - lo + 1].copy()))
    return out


def session_profile(table: pd.DataFrame, *, session_start: str = "17:00", tz: str = "America/Chicago",
                    sessions: int = 1, until=None, value_area_fraction: float = 0.70) -> pd.DataFrame:
    """The volume profile of the last ``sessions`` sessions up to ``until`` (default: the
    table's last bar): one row per price level (ascending) with ``volume``,
    ``buy_volume``, ``sell_volume``; ``attrs``: ``poc``, ``vah``, ``val`` (the rules of
    :class:`SessionVolumeProfile`), ``first``/``last`` bar times and ``sessions``.
    ``table``: :func:`data.bars.footprint` of the bars."""
    nums, levels, volume, tick = _table_arrays(table)
    stamps = pd.DatetimeIndex(table.index.get_level_values(0))
    if until is not None:
        limit = pd.Timestamp(until)
        limit = limit.tz_localize("UTC") if limit.tzinfo is None else limit
        keep = stamps <= limit
        table, nums, levels, volume, stamps = table[keep], nums[keep], levels[keep], volume[keep], stamps[keep]
    if len(table) == 0:
        raise OrderFlowError(f"no footprint cell up to {until}")
    ids = SessionCalendar(session_start, tz).ids(nums)
    wanted = np.unique(ids)[-int(sessions):]
    keep = np.isin(ids, wanted)
    part = table[keep]
    prices = part.index.get_level_values(1)
    profile = part[["volume", "buy_volume", "sell_volume"]].groupby(prices).sum().sort_index()
    profile.index.name = "price"
    lv = price_levels(profile.index.to_numpy(np.float64), tick)
    lo, hi = int(lv.min()), int(lv.max())
    dense = np.zeros(hi - lo + 1)
    dense[lv - lo] = profile["volume"].to_numpy()
    poc, vah, val = _stats(np.array([lo]), np.array([hi]), dense, tick, value_area_fraction)
    profile.attrs.update(poc=float(poc[0]), vah=float(vah[0]), val=float(val[0]), sessions=int(len(wanted)),
                         first=stamps[keep].min(), last=stamps[keep].max(), tick_size=tick)
    return profile


class SessionVolumeProfile(WarmUpGuard, bt.Indicator):
    """Developing session volume profile: ``poc``, ``vah``, ``val`` of the session so far.

    ``footprint``: the footprint table of the feed's bars (``data.footprint(ticks,
    spec, tick_size)``, the same bars as the feed); ``session_start``/``tz``: the
    CVD's session calendar (defaults 17:00 America/Chicago); ``sessions``: 1 for the
    session's own profile, N for a composite over the current and N - 1 previous
    sessions; ``value_area``: the share of volume in the value area (0.70). See the
    module docstring for the rules. A bar with no cells in the table (none traded)
    keeps the profile as it was. Drawn on the price chart.
    """

    alias = ("SVP",)
    lines = ("poc", "vah", "val")
    params = (("footprint", None), ("session_start", "17:00"), ("tz", "America/Chicago"), ("sessions", 1),
              ("value_area", 0.70))
    plotinfo = dict(plotname="Session profile", subplot=False)
    plotlines = dict(
        poc=dict(color="#d62728", linewidth=1.0, _name="session POC"),
        vah=dict(color="#7f7f7f", ls="--", linewidth=0.8, _name="VAH"),
        val=dict(color="#7f7f7f", ls="--", linewidth=0.8, _name="VAL"),
    )

    def __init__(self) -> None:
        table = self.p.footprint if self.p.footprint is not None else getattr(self.data, "footprint_table", None)
        if table is None:
            raise OrderFlowError("SessionVolumeProfile needs footprint=data.footprint(ticks, spec, tick_size) "
                                 "of the feed's bars")
        self._nums, self._levels, self._volume, self._tick = _table_arrays(table)
        n = int(self.p.sessions)
        if n < 1:
            raise OrderFlowError("SessionVolumeProfile sessions must be a whole number >= 1", value=self.p.sessions)
        if not 0 < float(self.p.value_area) <= 1:
            raise OrderFlowError("SessionVolumeProfile value_area must be in (0, 1]", value=self.p.value_area)
        self._calendar = SessionCalendar(self.p.session_start, self.p.tz)
        # bar-by-bar state
        self._session = None
        self._done: list[dict[int, float]] = []  # finished sessions' level -> volume, in order
        self._current: dict[int, float] = {}

    def _cells(self, start: int, end: int, nums: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Cells of the bars at positions ``start..end-1`` (times ``nums``): (bar index, level, volume)."""
        pos = np.searchsorted(nums, self._nums)
        inside = (pos < len(nums)) & (nums[np.minimum(pos, len(nums) - 1)] == self._nums)
        return pos[inside], self._levels[inside], self._volume[inside]

    def once(self, start: int, end: int) -> None:
        if end <= start:
            return
        nums = line_values(self.data.datetime, 0, end)  # the profile of bar t needs the session's earlier bars
        bar, level, volume = self._cells(0, end, nums)
        rank = _session_rank(self._calendar.ids(nums))
        poc, vah, val = developing_profile(nums, bar, level, volume, rank, self._tick, sessions=int(self.p.sessions),
                                           fraction=float(self.p.value_area))
        poc, vah, val = (_carry_forward(x) for x in (poc, vah, val))
        for line, values in zip((self.lines.poc, self.lines.vah, self.lines.val), (poc, vah, val)):
            store_line(line, start, values[start:end])

    def next(self) -> None:
        num = self.data.datetime[0]
        session = self._calendar.id_of(num)
        if self._session is not None and session != self._session:
            self._done.append(self._current)
            self._current = {}
        self._session = session
        lo_i, hi_i = np.searchsorted(self._nums, num, "left"), np.searchsorted(self._nums, num, "right")
        for level, volume in zip(self._levels[lo_i:hi_i].tolist(), self._volume[lo_i:hi_i].tolist()):  # one bar's cells
            self._current[level] = self._current.get(level, 0.0) + volume
        n = int(self.p.sessions)
        window = self._done[len(self._done) - (n - 1):] if n > 1 else []
        keys = set(self._current).union(*window) if self._current or window else set()
        if not keys:
            prev = (self.lines.poc[-1], self.lines.vah[-1], self.lines.val[-1]) if len(self) > 1 else (math.nan,) * 3
            self.lines.poc[0], self.lines.vah[0], self.lines.val[0] = prev
            return
        lo, hi = min(keys), max(keys)
        base = np.zeros(hi - lo + 1)
        for profile in window:  # finished sessions first, in order, then the current one
            for level, volume in profile.items():
                base[level - lo] += volume
        cur = np.zeros(hi - lo + 1)
        for level, volume in self._current.items():
            cur[level - lo] = volume
        poc, vah, val = _stats(np.array([lo]), np.array([hi]), base + cur, self._tick, float(self.p.value_area))
        self.lines.poc[0], self.lines.vah[0], self.lines.val[0] = poc[0], vah[0], val[0]

    def _plotlabel(self) -> list:
        return [f"{self.p.sessions} sessions" if int(self.p.sessions) > 1 else "session"]


def _carry_forward(values: np.ndarray) -> np.ndarray:
    """NaN (a bar with no cells) takes the previous value."""
    return pd.Series(values).ffill().to_numpy()
