"""Order-flow bars from ticks that arrive in batches, equal to ``make_bars`` over all of them.

:class:`BarStream` takes canonical tick frames in time order (``add``) and returns the
bars at the end (``finish``), or as they close (``take``, with ``close_held`` for a live feed
whose clock passed the held bar's end: :mod:`data.live.bars`); only bars (small) are held whole. It computes each bar
with the very functions ``make_bars`` uses, on the bar's own ticks, and carries across
batches exactly what those functions need from earlier ticks:

- the ticks of the last bar of a batch, which may continue in the next one, are held
  back and processed with the next batch (so every bar is computed from all its ticks,
  whatever the batch split; memory is a batch plus the largest bar);
- the running delta before the batch (``delta_high``/``delta_low``) and the running
  total of sizes (volume bars' closes), continued with ``np.cumsum``, which adds in
  order: the same floats as one pass;
- the quote states needed by the depth lines: the tick before the batch (OFI of the
  first tick) and the states back to the one in force a persistence window before
  the first held tick (``persistent_*`` windows);
- whether some tick carries bid and ask prices (decided over *all* ticks in one pass;
  until both are seen a stream computes OFI and persistence both ways and keeps the
  right one at the end);
- the large-trade and large-order blocks (:class:`data.bars.large.LargeTradeCarry`; a
  chunk also ends where an aggressor order ends, so that orders are whole) and the tick size of
  the footprint grid: given, or inferred from the first
  :data:`data.bars.footprint.INFER_SAMPLE` trades (the stream waits until it has them, as it
  waits for the first whole block of large-trade sizes).

Work is split up to three ways, so that the cores overlap it: a tick store's batches are
decoded by a reader thread (:func:`data.reading.sources.read_ahead`); the depth lines and the
large-trade lines of each chunk by a side thread (which alone carries the quote states and
the large-trade blocks), where a core is free for it (:func:`side_thread_helps`); the core
lines and the footprint grid's lines here. Each thread takes the chunks in order, so the
results are those of one pass, with or without the side thread.

Floating-point sums (``volume``, ``buy/sell/unknown_volume``, ``delta``, ``vwap``,
``inferred_volume``, ``ofi``, ``avg_depth``, ``tw_imbalance``) add the same values in the
same order, but numpy's vectorised reductions may group the additions by the memory
alignment of a bar's first tick, which differs between batches: they may differ in the
last bits (relative 1e-12 in the tests). Every other column is equal.

One difference is documented, not removed: with an inferred tick size too fine for the
price range, ``make_bars`` coarsens the footprint grid by powers of ten judging all the
trades, a stream judging its first chunk (a million trades or more); pass ``tick_size``.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import importlib
import os
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from typing import Any, Iterable

import numpy as np
import pandas as pd

from data.bars.depth import depth_lines, quotes_have_prices, window_ns
from data.bars.footprint import (
    DEFAULT_VALUE_AREA,
    TABLE_CELLS,
    cells_table,
    check_footprint_params,
    describe_rule,
    fitted_grid,
    footprint_lines,
    grid_cells,
    infer_tick_size,
    large_lines,
)
from data.bars.large import DEFAULT_LARGE, DEFAULT_LARGE_WINDOW, LargeTradeCarry
from data.bars.make import bar_columns, core_columns, empty_bars, stream_depth_columns
from data.bars.orders import order_starts
from data.bars.spec import BarSpec, assign_bars, bar_index, bar_opens, parse_bar_spec
from data.errors import OrderFlowError
from data.options import BarOptions
from data.reading.progress import progress_bar
from data.reading.sources import scan_ticks
from data.schema import TICK_QUOTES, TICK_REQUIRED
from data.ticks import ORDER_ID, TickColumns, concat_arrays, tick_arrays, timestamps_ns

# the module, not the function data.bars.footprint that the package exports under its name
footprint_module = importlib.import_module("data.bars.footprint")
_QUOTES = TICK_QUOTES  # bid, ask, bid_size, ask_size
_PRICE_DEPENDENT = ("ofi", "persistent_bid_size", "persistent_ask_size", "persistent_imbalance")


class BarStream:
    """Bars of ``spec`` from tick batches (see the module docstring for what is carried).

    ``options`` (:class:`data.options.BarOptions`, or its fields as keywords) as in
    :func:`data.make_bars`; ``footprint_params`` may hold ``ratio``, ``min_volume``,
    ``imbalance``, ``value_area_fraction``, ``large``, ``large_window`` (see
    :func:`data.bars.footprint.footprint_lines`). ``side_thread``: compute the depth and
    large-trade lines on a thread of their own (the same bars either way; see
    :func:`side_thread_helps` for when it is faster). ``table``: keep the bars' footprint table
    as well (:meth:`footprint_table`; equal to :func:`data.footprint` of all the ticks), chunk by
    chunk, from the grid the footprint lines are computed on (with its trade counts).
    """

    def __init__(
        self,
        spec: "BarSpec | str | None" = "1min",
        *,
        options: BarOptions | None = None,
        side_thread: bool = True,
        table: bool = False,
        **keywords: Any,
    ) -> None:
        options = BarOptions.of(options, **keywords)
        footprint_params = options.footprint_params
        self.spec = parse_bar_spec(spec)
        self.options = options
        self.side_thread = side_thread
        self.depth, self.footprint = options.depth, options.footprint
        self.persistence = options.persistence
        self.window = window_ns(self.persistence) if self.depth else 0
        params = dict(ratio=None, min_volume=None, imbalance=None, value_area_fraction=DEFAULT_VALUE_AREA,
                      large=DEFAULT_LARGE, large_window=DEFAULT_LARGE_WINDOW)  # None: footprint_lines' defaults
        params.update(check_footprint_params(footprint_params))
        self.params = params
        self.tick_size = options.tick_size
        self.table = table and self.footprint
        self._cells: list[dict[str, np.ndarray]] = []  # per chunk, its footprint cells (grid_cells), with table
        self._tick: float | None = None  # the footprint grid's tick once decided
        self._started = False
        self._pending: dict[str, np.ndarray] | None = None
        self._context: dict[str, np.ndarray] | None = None
        self._delta_before = 0.0
        self._size_before = 0.0
        self._last_ts: int | None = None
        self.first_ts: int | None = None  # the first tick's time (UTC ns), once one came
        self._seen_bid = self._seen_ask = False
        self._large = LargeTradeCarry()
        self._large_orders = LargeTradeCarry()
        self._chunks: list[dict[str, np.ndarray]] = []
        self._side_jobs: list[Future] = []  # per chunk: its depth and large-trade lines, from the side thread
        self._side_thread: ThreadPoolExecutor | None = None
        self._stamps: list[np.ndarray] = []
        self._completed = 0  # chunks whose side-thread lines are in (see _complete)
        self._taken = 0  # chunks returned by take()
        self.ticks = 0

    # ----------------------------------------------------------------- input

    def add(self, ticks: pd.DataFrame) -> None:
        """Take the next batch of canonical ticks (sorted, later than every earlier batch)."""
        if not isinstance(ticks, pd.DataFrame):
            raise OrderFlowError("a tick batch must be a DataFrame of canonical ticks (see data.scan_ticks)")
        missing = [c for c in TICK_REQUIRED if c not in ticks.columns]
        if missing:
            raise OrderFlowError(f"tick batch lacks column(s) {', '.join(missing)}")
        if len(ticks) == 0:
            return
        if self.tick_size is None and not self._started and self._pending is None:
            self.tick_size = ticks.attrs.get("tick_size")
        self.add_arrays(tick_arrays(ticks))

    def add_arrays(self, batch: dict[str, np.ndarray]) -> None:
        """:meth:`add` for a batch already in arrays (:func:`data.ticks.tick_arrays`: times as int64
        UTC ns, ``side`` int8, sizes and quotes float64, NaN where missing), as a tick
        store reads them (:meth:`data.store.dataset.TickStore.array_batches`): no DataFrame."""
        ts = batch["timestamp"]
        if len(ts) == 0:
            return
        back = ts[1:] < ts[:-1]
        if back.any():
            raise OrderFlowError("tick batch is not sorted by time", column="timestamp", row=int(np.argmax(back)) + 2)
        if self._last_ts is not None and ts[0] < self._last_ts:
            raise OrderFlowError(
                f"tick batches are not in time order: a batch starts at {pd.Timestamp(int(ts[0]), tz='UTC')} "
                f"before the previous batch's last tick {pd.Timestamp(self._last_ts, tz='UTC')}",
                column="timestamp",
            )
        if self.first_ts is None:
            self.first_ts = int(ts[0])
        self._last_ts = int(ts[-1])
        self.ticks += len(ts)
        if "bid" in batch and not self._seen_bid:
            self._seen_bid = quotes_have_prices(batch["bid"], batch["bid"])
        if "ask" in batch and not self._seen_ask:
            self._seen_ask = quotes_have_prices(batch["ask"], batch["ask"])
        if self._started and self._pending is not None and len(self._pending["timestamp"]):
            self._pending = self._join_held(self._pending, batch)
        else:
            self._pending = batch if self._pending is None else concat_arrays(self._pending, batch)
        self._process(final=False)

    def _join_held(self, held: dict[str, np.ndarray], batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Finish the held bar with the head of ``batch`` (a small copy: the held ticks and
        a growing head until a bar closes in it) and return the rest of the batch as views,
        instead of copying the whole batch behind the held ticks."""
        n = len(batch["timestamp"])
        k = min(n, 1 << 14)
        while True:
            self._pending = concat_arrays(held, {name: values[:k] for name, values in batch.items()})
            self._process(final=False)
            left = len(self._pending["timestamp"])
            if left <= k:  # what is held now lies in the batch: batch[k - left:k]
                return {name: values[k - left:] for name, values in batch.items()}
            if k == n:
                return self._pending
            k = min(n, 4 * k)

    def finish(self) -> pd.DataFrame:
        """Process the ticks held back and return all the bars (as ``make_bars`` would)."""
        self._process(final=True)
        try:
            self._complete(len(self._chunks))
        finally:
            if self._side_thread is not None:
                self._side_thread.shutdown()
                self._side_thread = None
        return self._frame(0)

    def footprint_table(self) -> pd.DataFrame:
        """The footprint table of the bars made so far (a stream made with ``table=True`` and the
        footprint lines): :func:`data.footprint`'s shape, ``attrs`` ``tick_size`` and ``bar_spec``;
        without the rows :meth:`take_footprint_table` has handed out."""
        if not self.table:
            raise OrderFlowError("this stream keeps no footprint table: make it with table=True and the footprint lines")
        cells = {name: np.concatenate([c[name] for c in self._cells]) if self._cells else
                 np.zeros(0, np.int64 if name in ("timestamp", "level") else np.float64) for name in TABLE_CELLS}
        table = cells_table(cells, self._tick if self._tick is not None else 1.0)
        table.attrs["bar_spec"] = self.spec.text
        return table

    def take_footprint_table(self) -> pd.DataFrame:
        """The footprint table rows of the bars made since the last call, which the stream then lets go
        (a live feed's coarser bars take them as they come: :class:`data.timeframes.CoarserBars`)."""
        table = self.footprint_table()
        self._cells = []
        return table

    def take(self) -> pd.DataFrame:
        """The bars made since the last call (all of them the first time): every bar before the
        one held back, which a later tick may still join. A live feed calls it after each batch
        (:mod:`data.live.bars`); :meth:`finish` still returns every bar.

        A bar taken here is final, with one exception: depth lines from quotes carried on the
        ticks, while no tick has shown both quote prices yet, are those of a stream without
        prices (a later tick with prices changes them in :meth:`finish`, not here)."""
        first = self._taken
        self._complete(len(self._chunks))
        self._taken = len(self._chunks)
        return self._frame(first)

    def close_held(self) -> bool:
        """Make the bar held back now, as if no later tick can join it (a live stream whose clock
        has passed the bar's end): the next :meth:`take` returns it, and later ticks start new bars.
        Only once the first bars were made: before that, the first chunk waits for the ticks it
        needs (the tick-size sample, the first block of large-trade sizes). False when nothing
        was made."""
        if not self._started or self._pending is None or not len(self._pending["timestamp"]):
            return False
        self._process(final=True)
        return True

    def held_until(self) -> int | None:
        """The end (UTC ns) of the time bar held back: once the clock passes it no tick can join it;
        None when no tick is held or the bars are not time bars."""
        pending = self._pending
        if self.spec.kind != "time" or pending is None or not len(pending["timestamp"]):
            return None
        return int(assign_bars(pending["timestamp"][-1:], pending["size"][-1:], self.spec)[1][-1])

    def _complete(self, upto: int) -> None:
        """Put the side thread's lines of the chunks before ``upto`` into them (once each)."""
        has_prices = self._seen_bid and self._seen_ask
        for chunk, job in zip(self._chunks[self._completed:upto], self._side_jobs[self._completed:upto]):
            lines, alternative = job.result()
            chunk.update(lines)
            if has_prices and alternative is not None:
                chunk.update(alternative)
        self._completed = max(self._completed, upto)

    def _frame(self, first: int) -> pd.DataFrame:
        """The bars of the chunks from ``first`` on, as a frame of :func:`bar_columns`."""
        columns = bar_columns(self.depth, self.footprint)
        chunks = self._chunks[first:]
        if not chunks:
            return empty_bars(self.spec, columns)
        data = {name: np.concatenate([c[name] for c in chunks]) for name in chunks[0]}
        bars = pd.DataFrame(data, index=bar_index(np.concatenate(self._stamps[first:])))
        bars = bars[[c for c in columns if c in bars.columns]]
        bars.attrs["bar_spec"] = self.spec.text
        if self.footprint and describe_rule(self.params):
            bars.attrs["imbalance"] = describe_rule(self.params)
        return bars

    # ----------------------------------------------------------------- work

    def _first_needs(self) -> int:
        """Ticks the first chunk must hold: the sample the tick size is inferred from,
        and a whole block of large-trade sizes (judged against itself)."""
        if not self.footprint:
            return 0
        need = footprint_module.INFER_SAMPLE if self.tick_size is None else 0
        if isinstance(self.params["large"], str):
            need = max(need, int(self.params["large_window"]))
        return need

    def _process(self, final: bool) -> None:
        pending = self._pending
        if pending is None or len(pending["timestamp"]) == 0:
            return
        n = len(pending["timestamp"])
        need = 0 if self._started or final else self._first_needs()
        if n < need:
            return
        ts, price, size, side = (pending[k] for k in ("timestamp", "price", "size", "side"))
        starts, stamps = assign_bars(ts, size, self.spec, self._size_before)
        if final:
            cut = n
        else:
            if len(starts) < 2:
                return
            keep = self._order_safe_bars(pending, starts)
            if keep < 1:
                return
            cut = int(starts[keep])
            starts, stamps = starts[:keep], stamps[:keep]
            if cut < need or (need and self._too_few_orders(pending, cut)):
                return
        if self.footprint and self._tick is None:
            self._tick = self._decide_tick(price, size, side, starts, stamps, cut)
        self._started = True
        chunk = {k: v[:cut] for k, v in pending.items()}
        frame = TickColumns(chunk)
        columns, self._delta_before = core_columns(frame, price[:cut], size[:cut], side[:cut], starts,
                                                   self._delta_before)
        self._submit_side(chunk, starts, stamps, int(ts[cut]) if cut < n else None)
        if self.footprint:
            grid = None
            if self.table:  # the grid with its trade counts, for the table too
                grid = fitted_grid(price[:cut], size[:cut], side[:cut], starts, stamps, self._tick, coarsen=False,
                                   price_range=(columns["low"], columns["high"]), counts=True)
                self._cells.append(grid_cells(grid))
            columns.update(footprint_lines(price[:cut], size[:cut], side[:cut], starts, stamps, self._tick,
                                           price_range=(columns["low"], columns["high"]), with_large=False,
                                           grid=grid, **self.params))
        self._chunks.append(columns)
        self._stamps.append(np.asarray(stamps, dtype=np.int64))
        if self.spec.kind == "volume":
            self._size_before = float(np.cumsum(np.concatenate(([self._size_before], size[:cut])))[-1])
        self._pending = {k: v[cut:] for k, v in pending.items()}

    def _too_few_orders(self, pending: dict[str, np.ndarray], cut: int) -> bool:
        """Whether the first ``cut`` ticks hold fewer than a block of large-order sizes:
        the first block of aggressor orders is judged against itself, so the first chunk
        must hold it whole, as it holds the first block of trades (an order of several
        trades makes fewer orders than trades)."""
        if not (self.footprint and isinstance(self.params["large"], str)):
            return False
        ids = pending[ORDER_ID][:cut] if ORDER_ID in pending else None
        return len(order_starts(pending["timestamp"][:cut], pending["side"][:cut], ids)) < int(self.params["large_window"])

    def _order_safe_bars(self, pending: dict[str, np.ndarray], starts: np.ndarray) -> int:
        """How many whole bars to process now: those before the last bar start that also
        starts an aggressor order (:func:`data.bars.orders.order_starts`), so that no order is
        cut between two chunks (the large-order lines count whole orders). Time bars
        always qualify at their last start; an order spanning tick or volume bars moves
        the cut back to the bar where it begins."""
        if not self.footprint or len(starts) < 2:
            return len(starts) - 1
        if self.spec.kind == "time" and ORDER_ID not in pending:
            return len(starts) - 1  # ticks of one time stamp share a time bar: a bar start is a new time, a new order
        first = order_starts(pending["timestamp"], pending["side"], pending.get(ORDER_ID))
        opens = np.zeros(len(pending["timestamp"]), dtype=bool)
        opens[first] = True
        ok = np.flatnonzero(opens[np.asarray(starts[1:], dtype=np.int64)])
        return int(ok[-1]) + 1 if len(ok) else 0

    def _decide_tick(self, price: np.ndarray, size: np.ndarray, side: np.ndarray, starts: np.ndarray,
                     stamps: np.ndarray, cut: int) -> float:
        """The footprint tick: the given one, else inferred from the first trades (the
        pending ticks start at the first trade) and coarsened to fit the first chunk."""
        if self.tick_size is not None:
            return float(self.tick_size)
        tick = infer_tick_size(price)
        low, high = np.minimum.reduceat(price[:cut], starts), np.maximum.reduceat(price[:cut], starts)
        grid = fitted_grid(price[:cut], size[:cut], side[:cut], starts, stamps, tick, coarsen=True,
                           price_range=(low, high))
        return grid.tick_size

    def _submit_side(self, chunk: dict[str, np.ndarray], starts: np.ndarray, stamps: np.ndarray,
                     first_held: int | None) -> None:
        """Hand the chunk's depth lines and large-trade lines (:func:`data.bars.footprint.large_lines`)
        to the side thread, which computes them while this thread goes on with the core
        and footprint grid lines (numpy releases the GIL: on two cores they overlap). One
        thread, chunks in order: the states they carry (the quote context, the large-trade
        blocks) are only its own. At most two chunks wait for it (memory stays bounded);
        an error there is raised here or by :meth:`finish`. Without a side thread the
        job runs here, now, and its result waits in a finished future all the same."""
        seen_prices = self._seen_bid and self._seen_ask
        if not self.side_thread:
            done: Future = Future()
            done.set_result(self._side_job(chunk, starts, stamps, seen_prices, first_held))
            self._side_jobs.append(done)
            return
        if self._side_thread is None:
            self._side_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="orderflow-bars")
        if len(self._side_jobs) >= 2:
            self._side_jobs[-2].result()
        self._side_jobs.append(self._side_thread.submit(self._side_job, chunk, starts, stamps, seen_prices, first_held))

    def _side_job(self, chunk: dict[str, np.ndarray], starts: np.ndarray, stamps: np.ndarray, seen_prices: bool,
                  first_held: int | None) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray] | None]:
        lines: dict[str, np.ndarray] = {}
        alternative = None
        if self.depth:
            lines, alternative = self._depth(chunk, starts, stamps, seen_prices)
            if first_held is not None:
                self._keep_context(chunk, first_held)
        if self.footprint:
            lines.update(large_lines(chunk["size"], chunk["side"], starts, self.params["large"],
                                     self.params["large_window"], times=chunk["timestamp"], ids=chunk.get(ORDER_ID),
                                     carry=self._large, order_carry=self._large_orders))
        return lines, alternative

    def _depth(self, chunk: dict[str, np.ndarray], starts: np.ndarray, stamps: np.ndarray,
               seen_prices: bool) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray] | None]:
        """Depth lines of the chunk's bars; and, while no tick has shown both quote prices
        yet, the price-dependent lines as they would be if a later tick does.

        The first bars, whose persistence windows (or OFI's previous tick) reach back
        before the chunk, are computed with the carried quote states in front; the rest
        on a view of the chunk from the anchor of the first of them. Either way the states
        before a group's first bar go in as one extra bar, dropped afterwards."""
        ts = chunk["timestamp"]
        n = len(ts)
        context = self._context
        if context is None or len(context["timestamp"]) == 0:
            return self._depth_of([(chunk, starts, stamps, 0)], seen_prices)
        last = np.append(starts[1:], n) - 1
        anchor = np.searchsorted(ts, ts[last] - self.window, side="right") - 1
        inside = (anchor >= 0) & (starts >= 1)
        first_inside = int(np.argmax(inside)) if inside.any() else len(starts)
        groups = []
        if first_inside > 0:
            end = int(starts[first_inside]) if first_inside < len(starts) else n
            head = concat_arrays(context, {k: v[:end] for k, v in chunk.items()})
            extra = len(context["timestamp"])
            groups.append((head, np.concatenate(([0], starts[:first_inside] + extra)),
                           np.concatenate(([context["timestamp"][-1]], stamps[:first_inside])), 1))
        if first_inside < len(starts):
            b = first_inside
            a = int(min(anchor[b], starts[b] - 1))
            tail = {k: v[a:] for k, v in chunk.items()}
            groups.append((tail, np.concatenate(([0], starts[b:] - a)),
                           np.concatenate(([ts[starts[b] - 1]], stamps[b:])), 1))
        return self._depth_of(groups, seen_prices)

    def _depth_of(self, groups: list[tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, int]], seen_prices: bool
                  ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray] | None]:
        """Depth lines over ``(ticks, starts, stamps, extra bars in front)`` groups, end to end
        (``seen_prices``: some earlier tick showed both quote prices)."""
        def lines(has_prices: bool) -> dict[str, np.ndarray]:
            parts = []
            for ticks, starts, stamps, drop in groups:
                out = depth_lines(TickColumns(ticks), ticks["timestamp"], starts, stamps, self.persistence,
                                  has_prices=has_prices)
                parts.append({k: v[drop:] for k, v in out.items()})
            return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

        if seen_prices:
            return lines(True), None
        with_prices = lines(True)
        return lines(False), {k: with_prices[k] for k in _PRICE_DEPENDENT}

    def _keep_context(self, chunk: dict[str, np.ndarray], first_held: int) -> None:
        """Keep the quote states from the one in force a window before the first held
        tick (the anchor of its persistence window; also the tick before it, for OFI)."""
        keep = ["timestamp"] + [k for k in _QUOTES if k in chunk]
        part = {k: chunk[k] for k in keep}
        k = int(np.searchsorted(chunk["timestamp"], first_held - self.window, side="right")) - 1
        if k < 0 and self._context is not None:  # the anchor is before the chunk: continue the carried states
            part = concat_arrays({name: self._context[name] for name in keep if name in self._context}, part)
            k = int(np.searchsorted(part["timestamp"], first_held - self.window, side="right")) - 1
        self._context = {name: values[max(k, 0):].copy() for name, values in part.items()}


def stream_bars(batches: Iterable[pd.DataFrame], spec: "BarSpec | str | None" = "1min", **keywords: Any) -> pd.DataFrame:
    """``make_bars`` over tick batches in time order (``keywords``: those of :class:`BarStream`)."""
    stream = BarStream(spec, **keywords)
    for batch in batches:
        stream.add(batch)
    return stream.finish()


def bars_from_source(source: Any, spec: "BarSpec | str | None" = "1min", *, progress: bool | None = None,
                     quotes: pd.DataFrame | None = None, options: BarOptions | None = None,
                     side_thread: bool | None = None, table: bool = False,
                     **keywords: Any) -> "pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame | None]":
    """``make_bars`` streamed from a tick source (anything :func:`data.scan_ticks` takes),
    with a progress bar in ticks on stderr (``progress`` as in :mod:`data.reading.progress`;
    default: the source's setting). ``bars.attrs["load_report"]`` is the source's report.
    ``options``/``keywords``: the bar options (:class:`data.options.BarOptions`);
    ``side_thread`` as in :class:`BarStream` (None: where it helps, :func:`side_thread_helps`).
    ``table``: return ``(bars, footprint table)``, the table made in the same pass
    (:meth:`BarStream.footprint_table`; None when the bars have no footprint lines).

    ``quotes`` (a quote stream DataFrame, held in memory) is supported exactly: the
    depth lines from a quote stream depend only on the bars' times and the first
    trade's time (:func:`data.bars.spec.bar_opens`), so they are computed once the stream has
    made its bars, equal to ``make_bars(all_ticks, spec, quotes=quotes)``'s (tested as a
    property). :class:`BarStream` itself takes no quotes."""
    options = BarOptions.of(options, **keywords)
    scan = scan_ticks(source)
    depth = options.depth
    if side_thread is None:
        side_thread = side_thread_helps(reader_thread=scan.reads_ahead)
    # with quotes, the depth lines come from the quote stream below
    stream = BarStream(spec, options=replace(options, depth=False) if quotes is not None else options,
                       side_thread=side_thread, table=table)
    # a store's batches as arrays straight from Arrow (no pandas); other sources' as frames
    batches, add = ((scan.array_batches(), stream.add_arrays) if scan.kind in ("store", "continuous")
                    else (scan.batches(), stream.add))
    with progress_bar(desc="bars", progress=scan.progress if progress is None else progress) as bar:
        for batch in batches:
            add(batch)
            bar.update(len(batch["timestamp"]))
    bars = stream.finish()
    if quotes is not None and not len(bars):
        bars = empty_bars(stream.spec, bar_columns(depth, stream.footprint))
    elif quotes is not None:
        stamps = timestamps_ns(bars.index)
        lines = stream_depth_columns(quotes, stamps, bar_opens(stamps, stream.spec, stream.first_ts), stream.persistence, depth)
        bars = bars.assign(**lines)[list(bar_columns(depth, stream.footprint))]
        bars.attrs["bar_spec"] = stream.spec.text
    bars.attrs["load_report"] = dict(scan.report)
    if table:
        return bars, stream.footprint_table() if stream.table else None
    return bars


def side_thread_helps(*, reader_thread: bool) -> bool:
    """Whether a :class:`BarStream` gains from its side thread: when this process may run on
    more cores than the threads already busy (the main one, and a source's reader thread).
    With a reader thread on two cores, a third busy thread only contends for them: measured
    here on two cores, 100M ticks from a store into 1-minute bars with every line took 6.3 s
    with it and 5.6 s without."""
    return usable_cores() > (2 if reader_thread else 1)


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# glibc's mallopt parameters (malloc.h) and the values set by retain_freed_memory
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 32 << 20  # glibc's largest: blocks below it come from the reusable heap
TRIM_THRESHOLD = 256 << 20  # free heap kept for reuse instead of handed back to the system
_retained = False


def retain_freed_memory() -> bool:
    """Let glibc's allocator keep freed memory for reuse (once per process; True if set).

    An application's choice, never made by a library call: the command line
    (``run_backtest.py``) and the benchmarks call it; a program using the library calls it
    (``data.retain_freed_memory()``) if it wants streams faster, and nothing changes
    otherwise. ``_retained`` records whether it was applied in this process.

    A stream allocates and frees the same few-MB arrays for every batch. By default
    glibc serves such blocks with fresh ``mmap`` pages or trims them off the heap when
    freed, so every batch pays a page fault per 4 KB touched again: on a virtual
    machine that alone can cost more than the bar arithmetic. Here blocks up to
    :data:`MMAP_THRESHOLD` come from the heap and up to :data:`TRIM_THRESHOLD` of free
    heap is kept (``mallopt``; process-wide, for the whole process and the processes it
    forks, as ``MALLOC_MMAP_THRESHOLD_`` and ``MALLOC_TRIM_THRESHOLD_`` would set it).
    Memory stays bounded: at most that much more stays resident. Nothing is done off
    glibc, or when the environment sets either variable itself."""
    global _retained
    if _retained:
        return True
    if not sys.platform.startswith("linux") or any(k in os.environ for k in ("MALLOC_MMAP_THRESHOLD_",
                                                                             "MALLOC_TRIM_THRESHOLD_")):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    _retained = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _retained
