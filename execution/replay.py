"""The market a simulation replays: events, trades, the book, and queue priority.

A :class:`Replay` numbers the source's events ``0..n-1`` in stream order, each with its
exchange time (int64 ns, non-decreasing). "The state after event ``e``" is the book once
event ``e`` has happened; state ``-1`` is before the first event. It holds:

- ``trades``: the events that printed a trade (price, size, the aggressor's side);
- ``book`` (None for a trades-only source): the best bid/ask and sizes after each event,
  and :class:`Levels`, the displayed size of every price level over time merged with the
  volume traded at it (what the L2 queue models read); plus, for sources that give the
  book as ``k`` levels per event (LOBSTER orderbook files, MBP-10, quote streams, a tick
  frame's bid/ask columns), those snapshots (:class:`Depth`). A full-depth book (rebuilt
  from the orders: Databento MBO, order events) walks its :class:`Levels` instead;
- ``queue`` (sources with order ids only): every execution of a resting order with the
  event at which that order took its place in the queue (:class:`Priority`, what ``fifo``
  reads);
- ``receive_delay`` (Databento MBO only): ``ts_recv - ts_event`` of each event, the feed's
  own delay (``latency="feed"``);
- ``settle``: for each event, the event after which the book is consistent again
  (Databento MBO: the record flagged ``F_LAST`` that ends the exchange's message; the
  identity elsewhere).

Builders: :func:`replay` (any source), :meth:`Replay.from_order_events` (a table of order
events: tests, other feeds), and the per-format readers below. Prices are matched as
integers in units of 1e-9 (:func:`level_key`), so a price computed in floating point
finds its level.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from data.bars.footprint import infer_tick_size
from data.errors import OrderFlowError
from data.reading.loader import check_file, format_for, load_ticks
from data.reading.quotes import carried_quotes, load_quotes, quote_levels
from data.reading.readers.book import LevelUpdates, mbo_level_updates, top_of_book
from data.reading.readers.databento_mbo import F_LAST, F_SNAPSHOT, read_dbn_records
from data.reading.readers.lobster import read_lobster_book, read_lobster_messages

from .search import RangeMin, ffill_index

__all__ = ["Replay", "Tape", "INT64_MAX", "Trades", "Levels", "Depth", "Book", "Priority", "replay", "level_key", "ORDER_ACTIONS"]

_NANO = 1e9
INT64_MAX = int(np.iinfo(np.int64).max)  # a time that never comes
TICK_SAMPLE = 1_000_000  # a replay's tick is inferred from its first million prices (_tick)
_SIDE_BIT = np.int64(1) << np.int64(61)
_PRICE_OFFSET = np.int64(1) << np.int64(60)
_MAX_PRICE = float(_PRICE_OFFSET) / _NANO

# codes of the order-event actions (Replay.from_order_events)
NONE, ADD, CANCEL, FILL, HIDDEN, CROSS = 0, 1, 2, 3, 4, 5
ORDER_ACTIONS = {"add": ADD, "cancel": CANCEL, "fill": FILL, "hidden": HIDDEN, "cross": CROSS, "none": NONE}
_LOBSTER_ACTIONS = np.array([NONE, ADD, CANCEL, CANCEL, FILL, HIDDEN, CROSS, NONE], np.int8)  # by LOBSTER Type 0..7
_DBN_SIDES = np.zeros(256, np.int8)
_DBN_SIDES[ord("B")], _DBN_SIDES[ord("A")] = 1, -1


def price_nano(price: np.ndarray) -> np.ndarray:
    """Prices as int64 units of 1e-9 (the exact grid every source's prices lie on)."""
    price = np.asarray(price, np.float64)
    bad = ~np.isfinite(price) | (np.abs(price) >= _MAX_PRICE)
    if bad.any():
        raise OrderFlowError("a price level must be a finite number below 1e9 in size",
                             value=float(price[np.argmax(bad)]))
    return np.rint(price * _NANO).astype(np.int64)


def _key_nano(side: np.ndarray, nano: np.ndarray) -> np.ndarray:
    return np.where(np.asarray(side) > 0, _SIDE_BIT, np.int64(0)) + (np.asarray(nano, np.int64) + _PRICE_OFFSET)


def level_key(side: np.ndarray, price: np.ndarray) -> np.ndarray:
    """One int64 per (side, price) level: asks (side -1) before bids (+1), each by price."""
    return _key_nano(side, price_nano(price))


@dataclass
class Trades:
    """The trade events: event index, price, size, aggressor side (+1 buy, -1 sell, 0 unknown)."""

    seq: np.ndarray
    price: np.ndarray
    size: np.ndarray
    side: np.ndarray
    _by_price: dict = field(default_factory=dict, repr=False)

    def first(self, start: np.ndarray, threshold: np.ndarray, above: bool, strict: bool, hitting: int = 0) -> np.ndarray:
        """Index of the first trade ``>= start`` whose price is above (``above``) or below the
        threshold (``>=``/``<=`` when not ``strict``); ``len`` when none. ``hitting`` +1 / -1:
        only trades that hit that resting side (bids: a sell or unknown aggressor; asks: a buy or
        unknown aggressor); 0: every trade."""
        key = (above, hitting)
        if key not in self._by_price:
            values = -self.price if above else self.price.copy()
            if hitting:
                values = np.where(self.side * hitting > 0, np.inf, values)
            self._by_price[key] = RangeMin(values)
        t = np.asarray(threshold, np.float64)
        return self._by_price[key].first_below(start, -t if above else t, strict=strict)


@dataclass
class Levels:
    """Each price level's displayed size over time, merged with the volume traded at it.

    Rows are sorted by (level, event, trades before book updates at one event). Row ``r``:
    ``level[r]`` (index into ``keys``), ``seq[r]`` (event), ``size[r]`` (displayed size after
    the row, carried forward over trade rows; NaN where the source cannot see the level),
    ``traded[r]`` (volume traded at the level on this row, 0 on a book row) and ``cum[r]``
    (cumulative ``traded`` over all rows, a global running sum: differences within one level
    are that level's traded volume). A trade counts at the level of the resting side it hit
    (a buy hits the ask), or at both levels of its price when its aggressor is unknown.

    ``traded`` and ``cum`` are counted in units of ``1 / scale`` of a size (:func:`size_scale`):
    whole numbers, so that the queue's sums are exact and a fill does not depend on which rows
    came before the order (a window of the source gives the fills of the whole); ``scale`` None:
    the sizes as they are (no scale makes them whole: sums round as floats do). ``size`` is in
    the source's own units.
    """

    keys: np.ndarray
    level: np.ndarray
    seq: np.ndarray
    size: np.ndarray
    traded: np.ndarray
    cum: np.ndarray
    offsets: np.ndarray
    stride: int
    full_depth: bool
    scale: float | None = None
    _rowkey: np.ndarray = field(default=None, repr=False)
    _queue_min: RangeMin | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._rowkey = self.level * np.int64(self.stride) + self.seq

    def find(self, keys: np.ndarray) -> np.ndarray:
        """Level index of each key, -1 where the level never appears."""
        idx = np.searchsorted(self.keys, keys)
        idx = np.minimum(idx, max(len(self.keys) - 1, 0))
        found = (len(self.keys) > 0) & (self.keys[idx] == keys) if len(self.keys) else np.zeros(len(keys), bool)
        return np.where(found, idx, -1)

    def rows_after(self, level: np.ndarray, state: np.ndarray) -> np.ndarray:
        """First row of ``level`` whose event is after ``state`` (the level's end if none)."""
        return np.searchsorted(self._rowkey, level * np.int64(self.stride) + state, side="right")

    def size_at(self, level: np.ndarray, state: np.ndarray) -> np.ndarray:
        """Displayed size of ``level`` after event ``state`` (0, or NaN for a source that cannot see
        it, before the level's first row; 0 for a level index of -1)."""
        level, state = np.asarray(level, np.int64), np.asarray(state, np.int64)
        out = np.zeros(len(level)) if self.full_depth else np.full(len(level), np.nan)
        known = level >= 0
        if not known.any():
            return out
        row = self.rows_after(level[known], state[known]) - 1
        inside = row >= self.offsets[level[known]]
        got = out[known]
        got[inside] = self.size[row[inside]]
        out[known] = got
        return out

    def cum_at(self, level: np.ndarray, state: np.ndarray) -> np.ndarray:
        """The running traded volume (``cum``) of ``level`` as of event ``state``."""
        row = self.rows_after(level, state) - 1
        start = self.offsets[level]
        before = self.cum[start] - self.traded[start]
        return np.where(row >= start, self.cum[np.maximum(row, 0)], before)

    @property
    def queue_min(self) -> RangeMin:
        """Range minima of ``size + cum`` (in units; unseen sizes as +inf): the risk-averse queue bound."""
        if self._queue_min is None:
            self._queue_min = RangeMin(np.where(np.isnan(self.size), np.inf, self.units(self.size)) + self.cum)
        return self._queue_min

    @property
    def is_book(self) -> np.ndarray:
        return self.traded == 0

    def units(self, size: np.ndarray) -> np.ndarray:
        """Sizes of the source (a displayed size, a volume ahead) in the units of ``cum``."""
        return _in_units(size, self.scale)


@dataclass
class Depth:
    """Book snapshots of ``k`` levels per side (level 1 best; absent levels price NaN, size 0):
    ``row[e]`` is the snapshot in force after event ``e`` (-1 before the first)."""

    bid: np.ndarray
    bid_size: np.ndarray
    ask: np.ndarray
    ask_size: np.ndarray
    row: np.ndarray

    @property
    def k(self) -> int:
        return self.bid.shape[1]

    def side(self, side: int) -> tuple[np.ndarray, np.ndarray]:
        return (self.bid, self.bid_size) if side > 0 else (self.ask, self.ask_size)


@dataclass
class Book:
    """Best bid/ask and sizes after each event (NaN price, 0 size for an empty side), the
    :class:`Levels`, and the :class:`Depth` snapshots (None for a full-depth book)."""

    bid: np.ndarray
    bid_size: np.ndarray
    ask: np.ndarray
    ask_size: np.ndarray
    levels: Levels
    depth: Depth | None
    _best: dict = field(default_factory=dict, repr=False)

    def best(self, side: int, states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Best price and size of ``side`` (+1 bid, -1 ask) after each state (NaN, 0 at -1)."""
        price, size = (self.bid, self.bid_size) if side > 0 else (self.ask, self.ask_size)
        ok = states >= 0
        at = np.maximum(states, 0)
        return np.where(ok, price[at], np.nan), np.where(ok, size[at], 0.0)

    def best_min(self, side: int, above: bool) -> RangeMin:
        """Range minima over the events of the best ``side`` price (``above``: of minus the price);
        an empty side is +inf, so it is never "past" a threshold."""
        key = (side, above)
        if key not in self._best:
            price = self.bid if side > 0 else self.ask
            values = -price if above else price
            self._best[key] = RangeMin(np.where(np.isnan(values), np.inf, values))
        return self._best[key]

    def ladder(self, side: int, states: np.ndarray, chunk: int, width: int) -> tuple[np.ndarray, np.ndarray] | None:
        """Levels ``chunk * width .. (chunk + 1) * width - 1`` of ``side`` after each state, best
        first, as (prices, sizes) of shape ``(len(states), width)`` (NaN, 0 where absent); None
        when the source has no levels that deep."""
        q = len(states)
        if self.depth is not None:
            if chunk > 0:
                return None
            price, size = self.depth.side(side)
            row = np.where(states >= 0, self.depth.row[np.maximum(states, 0)], -1)
            px = np.where((row >= 0)[:, None], price[np.maximum(row, 0)], np.nan)
            sz = np.where((row >= 0)[:, None], size[np.maximum(row, 0)], 0.0)
            return px, np.where(np.isnan(px), 0.0, sz)
        lv = self.levels
        best, _ = self.best(side, states)
        has = ~np.isnan(best)
        start = lv.find(level_key(np.full(q, side), np.where(has, best, 0.0)))
        step = -1 if side > 0 else 1  # bids: down the keys (lower prices); asks: up
        offs = (chunk * width + np.arange(width)) * step
        idx = start[:, None] + offs
        side_bit = 1 if side > 0 else 0
        inside = (idx >= 0) & (idx < len(lv.keys)) & has[:, None] & (start[:, None] >= 0)
        idx_c = np.clip(idx, 0, max(len(lv.keys) - 1, 0))
        if len(lv.keys):
            inside &= (lv.keys[idx_c] >> 61) == side_bit
        if not inside.any():
            return None
        sz = lv.size_at(np.where(inside, idx_c, -1).ravel(), np.repeat(states, width)).reshape(q, width)
        sz = np.where(inside & (sz > 0), sz, 0.0)
        px = np.where(sz > 0, ((lv.keys[idx_c] & (_PRICE_OFFSET * 2 - 1)) - _PRICE_OFFSET) / _NANO, np.nan)
        return px, sz

    def size_at_price(self, side: np.ndarray, price: np.ndarray, states: np.ndarray) -> np.ndarray:
        """Displayed size at (side, price) after each state; NaN where the source cannot see that
        level (beyond the snapshot's depth, or before the first snapshot)."""
        if self.depth is None:
            return self.levels.size_at(self.levels.find(level_key(side, price)), states)
        out = np.full(len(states), np.nan)
        row = np.where(states >= 0, self.depth.row[np.maximum(states, 0)], -1)
        nano = price_nano(price)
        for s in (1, -1):
            sel = np.flatnonzero((side == s) & (row >= 0))
            if not len(sel):
                continue
            px, sz = self.depth.side(s)
            px, sz = px[row[sel]], sz[row[sel]]
            seen = np.isfinite(px)
            same = seen & (np.rint(np.where(seen, px, 0) * _NANO).astype(np.int64) == nano[sel, None])
            count = seen.sum(axis=1)
            worst = np.where(seen, px, np.inf if s > 0 else -np.inf)
            worst = worst.min(axis=1) if s > 0 else worst.max(axis=1)
            p = price[sel]
            inside = (count < self.depth.k) | ((p > worst) if s > 0 else (p < worst))
            out[sel] = np.where(same.any(axis=1), np.where(same, sz, 0).sum(axis=1), np.where(inside, 0.0, np.nan))
        return out


@dataclass
class Priority:
    """Executions of resting orders (sources with order ids), sorted by (level, event).

    Row ``r``: level ``key[r]``, event ``seq[r]``, ``size[r]``, ``cum[r]`` (global running sum of
    sizes; both in units of ``1 / scale`` of a size, as :class:`Levels` counts them) and
    ``reach[r]``: the latest queue entry (the event at which an order took its place) among the
    level's executions so far. An order that entered at event ``a`` is reached by the
    first execution of its level with ``reach > a``: under price-time priority that is the first
    execution of an order that came after it, which happens only once every order ahead has
    filled or left. Hidden executions and crosses enter at their own event (behind everyone).
    """

    key: np.ndarray
    seq: np.ndarray
    size: np.ndarray
    cum: np.ndarray
    reach: np.ndarray
    levels: np.ndarray  # distinct keys
    offsets: np.ndarray  # rows of level i: offsets[i]:offsets[i+1]
    stride: int
    scale: float | None = None
    _reachkey: np.ndarray = field(default=None, repr=False)
    _seqkey: np.ndarray = field(default=None, repr=False)

    def __post_init__(self) -> None:
        rank = np.repeat(np.arange(len(self.levels), dtype=np.int64), np.diff(self.offsets))
        self._reachkey = rank * self.stride + (self.reach + 1)
        self._seqkey = rank * self.stride + (self.seq + 1)

    def find(self, keys: np.ndarray) -> np.ndarray:
        idx = np.minimum(np.searchsorted(self.levels, keys), max(len(self.levels) - 1, 0))
        if not len(self.levels):
            return np.full(len(keys), -1)
        return np.where(self.levels[idx] == keys, idx, -1)

    def reached(self, level: np.ndarray, entry: np.ndarray) -> np.ndarray:
        """First row of ``level`` whose ``reach`` is after ``entry`` (the level's end if none)."""
        return np.searchsorted(self._reachkey, level * self.stride + (entry + 1), side="right")

    def last_by(self, level: np.ndarray, state: np.ndarray) -> np.ndarray:
        """Last row of ``level`` at or before event ``state`` (may fall before the level's rows)."""
        return np.searchsorted(self._seqkey, level * self.stride + (state + 1), side="right") - 1


@dataclass
class Replay:
    """A source's events, ready to simulate orders against (see the module docstring)."""

    time: np.ndarray
    trades: Trades
    book: Book | None
    queue: Priority | None
    tick_size: float
    name: str = "<replay>"
    receive_delay: np.ndarray | None = None
    settle: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.time)

    def __repr__(self) -> str:
        book = "no book" if self.book is None else (
            "full-depth book" if self.book.depth is None else f"book of {self.book.depth.k} level(s)")
        return (f"Replay({self.name}: {self.n:,} events, {len(self.trades.seq):,} trades, {book}"
                f"{', queue priority' if self.queue is not None else ''}, tick {self.tick_size:g})")

    @classmethod
    def from_order_events(cls, events: pd.DataFrame, *, name: str = "<order events>") -> "Replay":
        """A full-depth book with queue priority from a table of order events, one per row in
        stream order: ``timestamp``, ``action``, ``order_id``, ``side`` (of the resting order:
        +1 bid, -1 ask), ``price``, ``size``. Actions (LOBSTER's message types):

        - ``add``: a new resting order of ``size``; its place in the queue is this event;
        - ``cancel``: ``size`` leaves the order (a partial cancel keeps its place);
        - ``fill``: ``size`` of the resting order executes: a trade at ``price``, the aggressor
          on the other side;
        - ``hidden``: a trade against hidden liquidity resting on ``side`` (no book change);
        - ``cross``: a trade with no aggressor side (an auction); ``none``: no change.

        The book starts empty; level sizes are the sums of the orders' adds, cancels and fills.
        """
        need = ("timestamp", "action", "order_id", "side", "price", "size")
        missing = [c for c in need if c not in events]
        if missing:
            raise OrderFlowError(f"order events need the columns {list(need)}; missing {missing}", source=name)
        kind, names = pd.factorize(events["action"])  # a handful of distinct names, read once each
        lookup = np.array([ORDER_ACTIONS.get(str(a).strip().lower(), -1) for a in names] + [-1], np.int8)
        code = lookup[kind]
        if (code < 0).any():
            row = int(np.argmax(code < 0))
            raise OrderFlowError(f"unknown action (one of {sorted(ORDER_ACTIONS)})", source=name, column="action",
                                 row=row + 1, value=events["action"].iloc[row])
        time = _times(events["timestamp"], name)
        side = events["side"].to_numpy(np.int64)
        bad = (code != NONE) & (code != CROSS) & ~np.isin(side, (1, -1))
        if bad.any():
            row = int(np.argmax(bad))
            raise OrderFlowError("side must be +1 (bid) or -1 (ask)", source=name, column="side", row=row + 1,
                                 value=side[row])
        size = events["size"].to_numpy(np.float64)
        price = events["price"].to_numpy(np.float64)
        bad = (code != NONE) & ~(np.isfinite(size) & (size > 0))
        if bad.any():
            row = int(np.argmax(bad))
            raise OrderFlowError("size must be a number > 0", source=name, column="size", row=row + 1, value=size[row])
        return _from_codes(time, code, events["order_id"].to_numpy(np.int64), side, price, size, None, name)

    @classmethod
    def from_lobster(cls, path: str | Path) -> "Replay":
        """A LOBSTER day: the message file's orders (queue priority from the order ids, see
        :func:`_entries`) and the orderbook file's ``k`` levels as the displayed book."""
        messages = read_lobster_messages(path)
        book = read_lobster_book(path)
        k = len([c for c in book if c.startswith("bid_size_")])
        stack = {name: np.column_stack([book[f"{name}_{i}"] for i in range(1, k + 1)])
                 for name in ("bid", "bid_size", "ask", "ask_size")}
        n = len(messages)
        depth = Depth(stack["bid"], stack["bid_size"], stack["ask"], stack["ask_size"], np.arange(n))
        kind = messages["type"].to_numpy()
        code = _LOBSTER_ACTIONS[np.clip(kind, 0, 7)]
        return _from_codes(_times(messages["timestamp"], path), code, messages["order_id"].to_numpy(np.int64),
                           messages["direction"].to_numpy(np.int64), messages["price"].to_numpy(np.float64),
                           messages["size"].to_numpy(np.float64), depth, str(path))

    @classmethod
    def from_mbo(cls, path: str | Path) -> "Replay":
        """A Databento MBO file: the full-depth book rebuilt from its orders, trades from its ``T``
        records, queue priority from its ``F`` (fill) records, the feed's delay from ``ts_recv``."""
        records = read_dbn_records(Path(path), ("mbo",))
        return _from_mbo(records, str(path))

    @classmethod
    def from_ticks(cls, ticks: pd.DataFrame, quotes: pd.DataFrame | None = None, *, book: bool = True,
                   name: str = "<ticks>") -> "Replay":
        """Canonical ticks (``data.load_ticks``), with the book from ``quotes`` (a
        ``data.load_quotes`` stream, with its levels) or else from the ticks' own ``bid, ask,
        bid_size, ask_size`` (the quote in force at each trade). ``book=False`` (or ticks without
        quotes) replays the trades only."""
        return _from_ticks(ticks, quotes if book else None, book, name)


def _times(values: Any, source: Any) -> np.ndarray:
    stamps = pd.to_datetime(pd.Series(values), utc=True)
    if stamps.isna().any():
        row = int(np.argmax(stamps.isna().to_numpy()))
        raise OrderFlowError("missing time", source=source, column="timestamp", row=row + 1)
    ns = pd.DatetimeIndex(stamps).as_unit("ns").asi8
    if (np.diff(ns) < 0).any():
        row = int(np.argmax(np.diff(ns) < 0)) + 1
        raise OrderFlowError("events must be in time order", source=source, column="timestamp", row=row + 1)
    return ns


def _trade_levels(seq: np.ndarray, price: np.ndarray, size: np.ndarray, side: np.ndarray):
    """(seq, key, size) of the resting levels each trade hit: the ask for a buy, the bid for a
    sell, both for an unknown side."""
    nano = price_nano(price)
    resting = -np.asarray(side, np.int64)
    both = resting == 0
    seq2 = np.concatenate([seq, seq[both]])
    key = np.concatenate([_key_nano(np.where(both, 1, resting), nano), _key_nano(np.full(both.sum(), -1), nano[both])])
    return seq2, key, np.concatenate([size, size[both]])


def _levels(n: int, book_seq, book_key, book_size, trades: Trades, full_depth: bool) -> Levels:
    t_seq, t_key, t_size = _trade_levels(trades.seq, trades.price, trades.size, trades.side)
    seq = np.concatenate([np.asarray(book_seq, np.int64), t_seq])
    key = np.concatenate([np.asarray(book_key, np.int64), t_key])
    size = np.concatenate([np.asarray(book_size, np.float64), np.full(len(t_seq), np.nan)])
    scale = size_scale(np.asarray(book_size, np.float64), t_size)
    traded = np.concatenate([np.zeros(len(book_seq)), _in_units(t_size, scale)])
    is_book = np.concatenate([np.ones(len(book_seq), bool), np.zeros(len(t_seq), bool)])
    order = np.lexsort((is_book, seq, key))  # trades before the book update of the same event
    seq, key, size, traded, is_book = seq[order], key[order], size[order], traded[order], is_book[order]
    keys, level = np.unique(key, return_inverse=True)
    level = level.astype(np.int64).ravel()
    last = ffill_index(is_book)
    same = (last >= 0) & (level[np.maximum(last, 0)] == level)
    size = np.where(same, size[np.maximum(last, 0)], 0.0 if full_depth else np.nan)
    offsets = np.searchsorted(level, np.arange(len(keys) + 1))
    return Levels(keys, level, seq, size, traded, np.cumsum(traded), offsets, n + 1, full_depth, scale)


def _priority(n: int, key: np.ndarray, seq: np.ndarray, size: np.ndarray, entry: np.ndarray) -> Priority:
    order = np.lexsort((seq, key))
    key, seq, size, entry = key[order], seq[order], size[order], entry[order]
    levels, rank = np.unique(key, return_inverse=True)
    rank = rank.astype(np.int64).ravel()
    stride = np.int64(n + 3)
    reach = np.maximum.accumulate(rank * stride + (entry + 1)) - rank * stride - 1 if len(rank) else entry
    offsets = np.searchsorted(rank, np.arange(len(levels) + 1))
    scale = size_scale(size)
    size = _in_units(size, scale)
    return Priority(key, seq, size, np.cumsum(size), reach, levels, offsets, int(stride), scale)


_EXACT = 2.0 ** 53  # below this, sums of whole numbers are exact in float64


def size_scale(*sizes: np.ndarray) -> float | None:
    """``10 ** d`` for the fewest decimals ``d`` (0 to 9) that make every size a whole number of
    ``10 ** -d`` with a total below 2**53 (so that running sums of them are exact, whatever rows a
    sum starts from); None when no such ``d`` exists (sums then round as floats do)."""
    values = np.abs(np.concatenate([np.asarray(s, np.float64).ravel() for s in sizes]))
    values = values[np.isfinite(values)]
    total = float(values.sum()) if len(values) else 0.0
    for d in range(10):
        scale = 10.0 ** d
        if total * scale >= _EXACT:
            break
        if np.all(_whole(values * scale)):
            return scale
    return None


def _whole(scaled: np.ndarray) -> np.ndarray:
    """Which scaled sizes are whole numbers, up to float rounding (relative to their size), a size that
    is not zero staying so (5e-7 is not 0 units of 1)."""
    whole = np.rint(scaled)
    return (np.abs(scaled - whole) <= 1e-9 * np.maximum(1.0, np.abs(scaled))) & ((whole != 0) | (scaled == 0))


def _in_units(size: np.ndarray, scale: float | None) -> np.ndarray:
    """Sizes in units of ``1 / scale`` (whole numbers where ``scale`` makes them so; NaN and inf stay);
    as they are for a scale of None."""
    if scale is None:
        return np.asarray(size, np.float64)
    scaled = np.asarray(size, np.float64) * scale
    return np.where(_whole(scaled), np.rint(scaled), scaled)


def _top_from_updates(updates_seq, updates_key, updates_size, n: int) -> tuple[np.ndarray, ...]:
    """Best bid/ask after each event from full-depth level updates (:func:`top_of_book`)."""
    keys, level = np.unique(updates_key, return_inverse=True)
    is_bid = (keys >> 61) == 1
    price = ((keys & (_PRICE_OFFSET * 2 - 1)) - _PRICE_OFFSET) / _NANO
    upd = LevelUpdates(t=np.asarray(updates_seq, np.int64), level=level.astype(np.int64).ravel(),
                       size=np.asarray(updates_size, np.float64), price=price, is_bid=is_bid,
                       end=np.full(len(keys), n, np.int64))
    top = top_of_book(upd, n)
    return top.bid, top.bid_size, top.ask, top.ask_size


def _from_codes(time, code, order_id, side, price, size, depth: Depth | None, name: str) -> Replay:
    """The common builder of order-event sources (LOBSTER, :meth:`Replay.from_order_events`)."""
    n = len(time)
    seq = np.arange(n, dtype=np.int64)
    traded = (code == FILL) | (code == HIDDEN) | (code == CROSS)
    t_side = np.where(code == CROSS, 0, -side)[traded].astype(np.int8)
    trades = Trades(seq[traded], price[traded], size[traded], t_side)
    book_rows = (code == ADD) | (code == CANCEL) | (code == FILL)
    # level sizes from the orders: running sums of +add, -cancel, -fill per level
    b_seq = seq[book_rows]
    b_key = level_key(side[book_rows], price[book_rows])
    delta = np.where(code[book_rows] == ADD, size[book_rows], -size[book_rows])
    order = np.lexsort((b_seq, b_key))
    b_seq, b_key, delta = b_seq[order], b_key[order], delta[order]
    csum = np.cumsum(delta)
    start = np.ones(len(b_key), bool)
    start[1:] = b_key[1:] != b_key[:-1]
    base = (csum - delta)[start]
    b_size = np.maximum(csum - base[np.cumsum(start) - 1], 0.0)
    if depth is None:
        bid, bid_size, ask, ask_size = _top_from_updates(b_seq, b_key, b_size, n)
        levels = _levels(n, b_seq, b_key, b_size, trades, full_depth=True)
    else:
        bid, bid_size, ask, ask_size = _top_from_depth(depth, n)
        s_seq, s_key, s_size = _snapshot_rows(depth)
        levels = _levels(n, s_seq, s_key, s_size, trades, full_depth=False)
    # queue priority: a fill's order entered at its add; hidden executions and crosses enter at their own event
    entry = seq.copy()
    fills = np.flatnonzero(code == FILL)
    entry[fills] = _entries(code, order_id, fills, n)
    exec_rows = np.flatnonzero(traded)
    p_seq, p_key, p_size = _trade_levels(seq[exec_rows], price[exec_rows], size[exec_rows], t_side)
    p_entry = np.concatenate([entry[exec_rows], entry[exec_rows][t_side == 0]])
    queue = _priority(n, p_key, p_seq, p_size, p_entry)
    book = Book(bid, bid_size, ask, ask_size, levels, depth)
    return Replay(time, trades, book, queue, _tick(trades.price, bid, ask), name)


def _entries(code: np.ndarray, order_id: np.ndarray, fills: np.ndarray, n: int) -> np.ndarray:
    """The event at which the order of each fill took its place in the queue: its add. An order
    never added in the stream (LOBSTER keeps only the messages that touch the levels it records,
    so an order placed deeper, or before the file starts, first shows at its execution or
    cancel) entered before its first message and before the first add with a higher id (order
    ids rise with submission): one event before the earlier of the two."""
    adds = np.flatnonzero(code == ADD)
    by_id = np.argsort(order_id[adds], kind="stable")
    add_ids, add_seq = order_id[adds][by_id], adds[by_id]
    ids = order_id[fills]
    at = np.searchsorted(add_ids, ids, side="left")
    found = at < len(add_ids)
    found[found] &= add_ids[at[found]] == ids[found]
    entry = np.where(found, add_seq[np.minimum(at, max(len(add_seq) - 1, 0))] if len(add_seq) else -1, -1)
    unknown = ~found | (entry > fills)
    if unknown.any():
        later = np.minimum.accumulate(np.append(add_seq, n)[::-1])[::-1]  # first add at or after each id rank
        nxt = later[np.searchsorted(add_ids, ids[unknown], side="right")]
        seen_ids, seen_at = np.unique(order_id[(code == ADD) | (code == CANCEL) | (code == FILL)], return_index=True)
        rows = np.flatnonzero((code == ADD) | (code == CANCEL) | (code == FILL))
        first_seen = rows[seen_at[np.searchsorted(seen_ids, ids[unknown])]]
        entry[unknown] = np.minimum(nxt, first_seen) - 1
    return entry


def _tick(*prices: np.ndarray) -> float:
    """The tick of a replay: inferred from the first :data:`TICK_SAMPLE` finite prices of the first of
    ``prices`` (trades, then bids, then asks) whose first 100,000 take more than one value; else 1."""
    for p in prices:
        p = np.asarray(p, np.float64)
        p = p[np.isfinite(p)]
        if len(np.unique(p[:100_000])) > 1:
            return infer_tick_size(np.unique(p[:TICK_SAMPLE]))
    return 1.0


def _top_from_depth(depth: Depth, n: int) -> tuple[np.ndarray, ...]:
    row = depth.row
    ok = row >= 0
    at = np.maximum(row, 0)

    def col(a: np.ndarray, fill: float) -> np.ndarray:
        return np.where(ok, a[at, 0], fill)

    return col(depth.bid, np.nan), col(depth.bid_size, 0.0), col(depth.ask, np.nan), col(depth.ask_size, 0.0)


def _snapshot_rows(depth: Depth) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Level rows (event, key, size) from snapshots: each visible level's size at each snapshot,
    and where a level seen in one snapshot is gone from the next: size 0 when its price lies
    inside the next snapshot's visible range (it emptied), NaN (unseen) when beyond it."""
    first_seq = np.full(depth.bid.shape[0], -1, np.int64)
    rows_with = np.flatnonzero(depth.row >= 0)
    # the event at which each snapshot takes effect: the first event whose row is it
    change = np.ones(len(rows_with), bool)
    change[1:] = depth.row[rows_with[1:]] != depth.row[rows_with[:-1]]
    first_seq[depth.row[rows_with[change]]] = rows_with[change]
    out_seq, out_key, out_size = [], [], []
    k = depth.k
    for side in (1, -1):
        px, sz = depth.side(side)
        used = first_seq >= 0
        px, sz, seqs = px[used], sz[used], first_seq[used]
        m = len(seqs)
        seen = np.isfinite(px)
        r, c = np.nonzero(seen)
        nano = price_nano(px[r, c])
        rank, uniq = pd.factorize(nano, sort=False)
        width = np.int64(max(len(uniq), 1))
        here = r.astype(np.int64) * width + rank
        nxt = (r.astype(np.int64) + 1) * width + rank
        gone = (r + 1 < m) & ~np.isin(nxt, here)
        at = r[gone] + 1
        count = seen.sum(axis=1)
        worst = np.where(seen, px, np.inf if side > 0 else -np.inf)
        worst = worst.min(axis=1) if side > 0 else worst.max(axis=1)
        p = px[r, c][gone]
        inside = (count[at] < k) | ((p > worst[at]) if side > 0 else (p < worst[at]))
        key = _key_nano(np.full(len(r), side), nano)
        out_seq += [seqs[r], seqs[at]]
        out_key += [key, key[gone]]
        out_size += [sz[r, c], np.where(inside, 0.0, np.nan)]
    seq, key, size = np.concatenate(out_seq), np.concatenate(out_key), np.concatenate(out_size)
    order = np.lexsort((seq, key))
    seq, key, size = seq[order], key[order], size[order]
    same = np.zeros(len(seq), bool)
    same[1:] = (key[1:] == key[:-1]) & ((size[1:] == size[:-1]) | (np.isnan(size[1:]) & np.isnan(size[:-1])))
    return seq[~same], key[~same], size[~same]


def _from_mbo(records: np.ndarray, name: str) -> Replay:
    n = len(records)
    time = np.maximum.accumulate(records["ts_event"].astype(np.int64))
    action = records["action"].view(np.uint8)
    side_code = records["side"].view(np.uint8)
    nano = records["price"].astype(np.int64)
    updates, _ = mbo_level_updates(records["action"], records["side"], nano, records["size"], records["order_id"])
    top = top_of_book(updates, n)
    lv_key = _key_nano(np.where(updates.is_bid, 1, -1), updates.price.astype(np.int64))
    b_seq, b_key, b_size = updates.t, lv_key[updates.level], updates.size
    ended = np.flatnonzero(updates.end < n)  # levels of an epoch that a clear ended: empty from then on
    b_seq = np.concatenate([b_seq, updates.end[ended]])
    b_key = np.concatenate([b_key, lv_key[ended]])
    b_size = np.concatenate([b_size, np.zeros(len(ended))])
    is_trade = action == ord("T")
    t_idx = np.flatnonzero(is_trade)
    trades = Trades(t_idx.astype(np.int64), nano[t_idx] / _NANO, records["size"][t_idx].astype(np.float64),
                    _DBN_SIDES[side_code[t_idx]])
    levels = _levels(n, b_seq, b_key, b_size, trades, full_depth=True)
    # queue entries: an order's place is its add, or a modify that changes price or raises the size
    # (a modify that only reduces the size keeps the place); fills (F) carry their order's entry
    on_book = (side_code == ord("B")) | (side_code == ord("A"))
    sel = np.flatnonzero(on_book & np.isin(action, (ord("A"), ord("M"), ord("F"))))
    oid = records["order_id"][sel]
    order = np.lexsort((sel, oid))
    rows, oid = sel[order], oid[order]
    act = action[rows]
    first = np.ones(len(rows), bool)
    first[1:] = oid[1:] != oid[:-1]
    am = act != ord("F")
    prev = np.concatenate([[-1], ffill_index(am)[:-1]]) if len(rows) else np.zeros(0, np.int64)
    prev = np.where(first, -1, prev)
    ok = prev >= 0
    pr = rows[np.maximum(prev, 0)]
    keeps = (act == ord("M")) & ok & (nano[pr] == nano[rows]) & (side_code[pr] == side_code[rows]) & (
        records["size"][rows] <= records["size"][pr])
    new = first | (act == ord("A")) | ((act == ord("M")) & ~keeps)
    entry_rows = rows[ffill_index(new)] if len(rows) else rows
    fill = act == ord("F")
    f_seq = rows[fill].astype(np.int64)
    f_side = _DBN_SIDES[side_code[f_seq]]
    queue = _priority(n, _key_nano(f_side, nano[f_seq]), f_seq, records["size"][f_seq].astype(np.float64),
                      entry_rows[fill].astype(np.int64))
    book = Book(top.bid / _NANO, top.bid_size, top.ask / _NANO, top.ask_size, levels, None)
    flags = records["flags"]
    snapshot = (flags & F_SNAPSHOT) != 0
    delay = records["ts_recv"].astype(np.int64) - records["ts_event"].astype(np.int64)
    live = np.flatnonzero(~snapshot)
    receive = None
    if len(live):
        carried = ffill_index(~snapshot)
        receive = delay[np.where(carried >= 0, carried, live[0])].astype(np.int64)
    last = np.flatnonzero((flags & F_LAST) != 0)
    settle = np.arange(n)
    if len(last):
        nxt = np.searchsorted(last, np.arange(n))
        settle = np.where(nxt < len(last), last[np.minimum(nxt, len(last) - 1)], n - 1)
    return Replay(time, trades, book, queue, _tick(trades.price, book.bid, book.ask), name, receive, settle)


def _depth_from_quotes(quotes: pd.DataFrame, name: str) -> tuple[np.ndarray, ...]:
    k = quote_levels(quotes)
    if k:
        cols = {kind: np.column_stack([quotes[f"{kind}_{i}"].to_numpy(np.float64) for i in range(1, k + 1)])
                for kind in ("bid", "bid_size", "ask", "ask_size")}
        return cols["bid"], cols["bid_size"], cols["ask"], cols["ask_size"]
    missing = [c for c in ("bid_size", "ask_size") if c not in quotes]
    if missing:
        raise OrderFlowError(f"the quotes have bid/ask prices but no sizes ({missing} missing): a book needs "
                             "the size at each price (or replay the trades only)", source=name)
    return tuple(quotes[c].to_numpy(np.float64, copy=True)[:, None] for c in ("bid", "bid_size", "ask", "ask_size"))


def _from_ticks(ticks: pd.DataFrame, quotes: pd.DataFrame | None, book: bool, name: str) -> Replay:
    missing = [c for c in ("timestamp", "price", "size", "side") if c not in ticks]
    if missing:
        raise OrderFlowError(f"ticks need the columns timestamp, price, size, side; missing {missing}", source=name)
    t_time = _times(ticks["timestamp"], name)
    t_price = ticks["price"].to_numpy(np.float64)
    t_size = ticks["size"].to_numpy(np.float64)
    t_side = ticks["side"].to_numpy(np.int8)
    has_quotes = book and {"bid", "ask"} <= set(ticks.columns) and quotes is None
    if quotes is None and not has_quotes:
        n = len(t_time)
        trades = Trades(np.arange(n, dtype=np.int64), t_price, t_size, t_side)
        return Replay(t_time, trades, None, None, _tick(t_price), name)
    if quotes is not None:
        q_time = _times(quotes["timestamp"], name)
        bid, bid_size, ask, ask_size = _depth_from_quotes(quotes, name)
        # one stream: at one time, trades come before quotes (a quote stamped with a trade's time
        # is the book after it, as join_quotes reads it)
        when = np.concatenate([t_time, q_time])
        kind = np.concatenate([np.zeros(len(t_time), np.int8), np.ones(len(q_time), np.int8)])
        order = np.lexsort((kind, when))
    else:
        q_time = t_time
        bid, bid_size, ask, ask_size = _depth_from_quotes(ticks, name)
        # each trade's quote is the book just before it: quote i, then trade i
        when = np.concatenate([t_time, q_time])
        kind = np.concatenate([np.zeros(len(t_time), np.int8), np.ones(len(q_time), np.int8)])
        pos = np.concatenate([np.arange(len(t_time)) * 2 + 1, np.arange(len(q_time)) * 2])
        order = np.argsort(pos, kind="stable")
    n = len(when)
    time = when[order]
    position = np.empty(n, np.int64)
    position[order] = np.arange(n)
    t_seq = position[: len(t_time)]
    q_seq = position[len(t_time):]
    is_quote = kind[order] == 1
    qrow = np.full(n, -1, np.int64)
    qrow[q_seq] = np.arange(len(q_seq))
    last = ffill_index(is_quote)
    row = np.where(last >= 0, qrow[np.maximum(last, 0)], -1)
    for a in (bid, ask):
        a[a <= 0] = np.nan
    bid_size = np.where(np.isnan(bid), 0.0, np.nan_to_num(bid_size))
    ask_size = np.where(np.isnan(ask), 0.0, np.nan_to_num(ask_size))
    depth = Depth(bid, bid_size, ask, ask_size, row)
    trades = Trades(t_seq, t_price, t_size, t_side)
    b_top = _top_from_depth(depth, n)
    s_seq, s_key, s_size = _snapshot_rows(depth)
    levels = _levels(n, s_seq, s_key, s_size, trades, full_depth=False)
    return Replay(time, trades, Book(*b_top, levels, depth), None, _tick(t_price, b_top[0], b_top[2]), name)


@runtime_checkable
class Tape(Protocol):
    """A source of market events served by windows, for one too large to hold (:mod:`execution.tape`'s
    ``FileTape``) or one that grows (a live stream's: :class:`execution.live.LiveTape`).

    Every time is int64 ns and every span is half-open, ``[start, end)``: an event stamped at ``end``
    belongs to the next span. So:

    - ``window(start_ns, end_ns)``: the :class:`Replay` of the events with times in ``[start_ns, end_ns)``,
      with the book in force at ``start_ns`` (the last event before it comes first);
    - ``known_until``: every event stamped before this time is known, one stamped at it may still
      come (:data:`INT64_MAX` for files); ``window(start, known_until)`` holds all that is known;
    - ``end_ns``: no event at or after this time (:data:`INT64_MAX` while that is not known yet);
    - ``tick_size`` (the same for every window) and ``name``.

    :func:`execution.simulate` takes a tape as it takes a Replay, with the same fills."""

    name: str
    tick_size: float

    @property
    def known_until(self) -> int: ...

    @property
    def end_ns(self) -> int: ...

    def window(self, start_ns: int, end_ns: int) -> Replay: ...



def replay(source: Any, *, quotes: Any = None, book: bool = True) -> Replay:
    """Any source as a :class:`Replay`: a Replay (as is); a LOBSTER day or a Databento MBO file
    (book with queue priority); another file with a book beside its trades (MBP-10, mbp-1,
    tbbo, Binance captures: the trades and the quote stream); any other tick file or a tick
    DataFrame (its ``bid, ask, bid_size, ask_size`` as the book when present; else trades
    only); a DataFrame with an ``action`` column (:meth:`Replay.from_order_events`).
    ``quotes`` (a path or a quote DataFrame) gives the book of a tick source; ``book=False``
    replays the trades only."""
    if isinstance(source, Replay):
        return source
    if isinstance(source, pd.DataFrame):
        if "action" in source:
            return Replay.from_order_events(source)
        q = None if quotes is None or not book else (quotes if isinstance(quotes, pd.DataFrame) else load_quotes(quotes))
        return Replay.from_ticks(source, q, book=book)
    if not isinstance(source, (str, Path)):
        raise OrderFlowError(f"a source is a path, a tick DataFrame or a Replay, not {type(source).__name__}")
    path = Path(source)
    check_file(path, "tick file")
    fmt = format_for(path, None).name
    if book and quotes is None and fmt == "lobster":
        return Replay.from_lobster(path)
    if book and quotes is None and fmt == "databento_mbo":
        return Replay.from_mbo(path)
    ticks = load_ticks(path)
    q = None
    if book:
        q = carried_quotes(path) if quotes is None else (quotes if isinstance(quotes, pd.DataFrame) else load_quotes(quotes))
    return Replay.from_ticks(ticks, q, book=book, name=str(path))
