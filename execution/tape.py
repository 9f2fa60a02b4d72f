"""Where fills read the market from: one :class:`~execution.replay.Replay`, or a :class:`Tape` of windows.

A whole :class:`~execution.replay.Replay` holds a source's every event in memory: right for one
file or a DataFrame (a LOBSTER day or a Databento MBO file rebuilds its book and queue priority
from its own order ids). A *tape* serves the events of a source too large to hold, a window at
a time, through the :class:`~execution.replay.Tape` protocol (its docstring states the convention:
spans are half-open, ``[start, end)``): ``window(start_ns, end_ns)``, ``known_until``, ``end_ns``,
``tick_size``, ``name``. A file tape's window starts with the last quote before ``start_ns``, or the
last tick (whose bid/ask is the book at that trade); its ``known_until`` is ``INT64_MAX`` (files are
complete) and its ``end_ns`` the last event's time + 1 once it has read to its source's end.

:func:`execution.simulate` on a tape executes orders on
windows that start at the UTC day of their arrival and double in length until each order is
finished: filled, its cancel arrived, or the data ended. An order that meets no event after its
arrival in a window, and a stop (or stop-limit) whose price no trade reached, moves on to the
next window alone (its state is still that of its arrival). Fills are causal (a fill depends
only on the events up to its time), so the fills equal those of :func:`execution.simulate` on
the whole source.

:class:`FileTape` is the tape of any source :func:`data.scan_ticks` reads (file, folder, glob,
list of files, tick store, ``s3://``), read with the run's :class:`data.options.LoadOptions`.
:func:`fill_source` picks the one of a run.
"""
from __future__ import annotations

import collections
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data.api import load_ticks
from data.errors import OrderFlowError
from data.options import LoadOptions
from data.reading.loader import format_for
from data.reading.quotes import carried_quotes, lagged, load_quotes
from data.reading.sources import is_many, scan_ticks
from data.storage import is_remote
from data.ticks import DAY_NS

from .replay import INT64_MAX, TICK_SAMPLE, Replay, Tape

__all__ = ["Tape", "FileTape", "fill_source", "default_queue", "FILL_MODES"]

FILL_MODES = ("bar", "trades", "book")
LOOKBACK_DAYS = 4  # how far before a window a restarted read begins, to find the book in force at its start
BATCH_ROWS = 1 << 18  # rows per batch read from the source (the read-ahead beyond a window: at most one batch)


class FileTape:
    """The :class:`Tape` of a tick source: files, folders, globs, lists, a store, ``s3://``.

    ``options``: how the ticks are read (:class:`data.options.LoadOptions`: format, columns, tz,
    bad rows, symbol); its ``start`` is where reading begins (less :data:`LOOKBACK_DAYS`), its
    ``end`` where the data ends for the fills. ``quotes``: a canonical quote stream (with its lag
    applied) as the book; else the ticks' own ``bid, ask, bid_size, ask_size`` when ``book``.
    ``tick_size``: the tick of every window (None: inferred once, as a whole replay of the source infers
    it: from its first million prices).

    Reading: the source is read forward in time order, by UTC day, once, through
    ``data.scan_ticks`` with the options (a store reads only the partitions and row groups of the
    days asked for). It keeps the days of the last window asked for, plus the batch read ahead
    beyond it (at most :data:`BATCH_ROWS` rows), and the last tick of each day read (the book in
    force at the next day's start). A window before the days it holds restarts the read
    :data:`LOOKBACK_DAYS` days before it (from the source's start when nothing is there).
    :attr:`peak_days` is the most days it has held at once.
    """

    def __init__(self, source: Any, options: LoadOptions | None = None, *, quotes: pd.DataFrame | None = None,
                 book: bool = False, tick_size: float | None = None, name: str | None = None) -> None:
        options = LoadOptions.of(options)
        self.source = source
        self.options = replace(options, start=None, end=None, progress=False)
        self.begin = None if options.start is None else int(options.start.value)
        self.stop = INT64_MAX if options.end is None else int(options.end.value)
        self.quotes = quotes
        self.book = bool(book)
        self.name = name or str(source)
        self._q_time = None if quotes is None else pd.DatetimeIndex(quotes["timestamp"]).as_unit("ns").asi8
        self.peak_days = 0  # the most complete days held at once
        self._reset_cache()
        self.tick_size = float(tick_size) if tick_size else self._first_tick()

    # ------------------------------------------------------------------ the protocol

    @property
    def known_until(self) -> int:
        return INT64_MAX

    @property
    def end_ns(self) -> int:
        if self._ended and self._last_time is not None:
            return min(self._last_time + 1, self.stop)
        return INT64_MAX if self.stop == INT64_MAX else self.stop

    def window(self, start_ns: int, end_ns: int) -> Replay:
        start_ns, end_ns = int(start_ns), min(int(end_ns), self.stop)
        if self._last_window is not None and self._last_window[0] == (start_ns, end_ns):
            return self._last_window[1]  # the broker asks for one order at a time: the day's window again
        first, last = start_ns // DAY_NS, max(end_ns - 1, start_ns) // DAY_NS
        if not self._serves(first):
            self._restart(first)
        gone = [d for d in self._days if d < first]  # what the window no longer needs
        for day in gone:
            del self._days[day]
        self._evicted = max([self._evicted, first - 1])  # days read on the way to the window are not kept
        self._read_through(last)
        parts = [self._days[d] for d in range(first, last + 1) if d in self._days]
        ticks = pd.concat(parts, ignore_index=True) if len(parts) > 1 else (parts[0] if parts else self._empty())
        ts = pd.DatetimeIndex(ticks["timestamp"]).as_unit("ns").asi8
        before = ticks[ts < start_ns].tail(1)
        if not len(before):
            before = self._tail_before(first)
        ticks = pd.concat([before, ticks[(ts >= start_ns) & (ts < end_ns)]], ignore_index=True)
        quotes = None
        if self.quotes is not None:
            lo = max(np.searchsorted(self._q_time, start_ns, side="left") - 1, 0)
            hi = np.searchsorted(self._q_time, end_ns, side="left")
            quotes = self.quotes.iloc[lo:hi]
        rp = Replay.from_ticks(ticks, quotes, book=self.book, name=self.name)
        self._last_window = ((start_ns, end_ns), rp)
        return rp

    # ------------------------------------------------------------------ reading by day

    def _reset_cache(self) -> None:
        self._days: collections.OrderedDict[int, pd.DataFrame] = collections.OrderedDict()  # complete days held
        self._tails: dict[int, pd.DataFrame] = {}  # day -> its last tick (the book in force after it)
        self._stream = None
        self._from: int | None = None  # the first day the current read covers (None: the source's start)
        self._pending: list[pd.DataFrame] = []  # ticks of the day being read
        self._pending_day: int | None = None
        self._evicted = -1  # the last day let go
        self._last_time: int | None = None
        self._ended = False
        self._last_window: tuple[tuple[int, int], Replay] | None = None

    def __getstate__(self) -> dict[str, Any]:  # sent to workers without what it has read
        state = dict(self.__dict__)
        for key in ("_days", "_tails", "_stream", "_from", "_pending", "_pending_day", "_evicted", "_last_time",
                    "_ended", "_last_window"):
            state.pop(key)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._reset_cache()

    def _empty(self) -> pd.DataFrame:
        return pd.DataFrame({"timestamp": pd.DatetimeIndex([], tz="UTC").as_unit("ns"), "price": np.zeros(0),
                             "size": np.zeros(0), "side": np.zeros(0, np.int8)})

    def _knows_before(self, day: int) -> bool:
        """Whether the current read knows the last tick before ``day`` (none: it read from the start)."""
        return self._from is None or any(self._from <= d < day for d in self._tails)

    def _tail_before(self, day: int) -> pd.DataFrame:
        known = [d for d in self._tails if d < day]
        return self._tails[max(known)] if known else self._empty()

    def _serves(self, day: int) -> bool:
        """Whether the current read can serve a window from ``day``: it has not let the day go, and it
        knows the book in force at its start."""
        return self._stream is not None and day > self._evicted and self._knows_before(day)

    def _restart(self, day: int) -> None:
        """Read again from ``LOOKBACK_DAYS`` before ``day``; from the source's start when that finds no
        tick before ``day``."""
        for begin in (day - LOOKBACK_DAYS, None):
            self._open(begin)
            self._evicted = day - 1  # only the last tick of each day before ``day`` is wanted
            self._read_through(day - 1)
            if self._knows_before(day):
                return

    def _open(self, begin: int | None) -> None:
        self._reset_cache()
        self._from = begin
        self._stream = self._scan(begin)

    def _scan(self, begin: int | None, *, to_end: bool = False) -> Any:
        """The source's batches from day ``begin`` (None: its start) to the end of the fills (``to_end``: of
        the source)."""
        start = None if begin is None else pd.Timestamp(begin * DAY_NS, tz="UTC")
        end = None if self.stop == INT64_MAX or to_end else pd.Timestamp(self.stop, tz="UTC")
        scan = scan_ticks(self.source, options=replace(self.options, start=start, end=end), batch_rows=BATCH_ROWS)
        return iter(scan.batches())

    def _read_through(self, day: int) -> None:
        """Read until every day up to ``day`` is complete (or the source ends)."""
        while not self._ended and (self._pending_day is None or self._pending_day <= day):
            batch = next(self._stream, None)
            if batch is None:
                self._close_day()
                self._ended = True
                break
            ts = pd.DatetimeIndex(batch["timestamp"]).as_unit("ns").asi8
            days = ts // DAY_NS
            cuts = np.flatnonzero(np.diff(days)) + 1
            for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(days)]):
                d = int(days[lo])
                if self._pending_day is not None and d != self._pending_day:
                    self._close_day()
                self._pending_day = d
                self._pending.append(batch.iloc[lo:hi])

    def _close_day(self) -> None:
        if self._pending_day is None:
            return
        frame = pd.concat(self._pending, ignore_index=True) if len(self._pending) > 1 else \
            self._pending[0].reset_index(drop=True)
        if self._pending_day > self._evicted:
            self._days[self._pending_day] = frame
            self.peak_days = max(self.peak_days, len(self._days))
        self._tails[self._pending_day] = frame.tail(1)
        self._last_time = int(pd.DatetimeIndex(frame["timestamp"]).as_unit("ns").asi8[-1])
        self._pending, self._pending_day = [], None

    def _first_tick(self) -> float:
        """The tick of every window: the one a whole replay of the source infers (``Replay.tick_size``:
        from its first :data:`~execution.replay.TICK_SAMPLE` prices, trades then bids then asks), from
        a replay of the source's first ticks, read until there are that many or the source ends. The
        read is its own: the windows' days are read apart from it."""
        stream = self._scan(None, to_end=True)  # as a whole replay reads it, whatever the run's window
        parts, rows = [], 0
        while rows < TICK_SAMPLE:
            batch = next(stream, None)
            if batch is None:
                break
            parts.append(batch)
            rows += len(batch)
        if not rows:
            raise OrderFlowError("no ticks in the source to fill orders from", source=self.name)
        ticks = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        quotes = None
        if self.quotes is not None:
            last = int(pd.DatetimeIndex(ticks["timestamp"]).as_unit("ns").asi8[-1])
            quotes = self.quotes.iloc[:np.searchsorted(self._q_time, last, side="left")]
        first = Replay.from_ticks(ticks, quotes, book=self.book, name=self.name)
        if self.book and first.book is None:
            raise no_book(self.name)
        return first.tick_size


def no_book(name: str) -> OrderFlowError:
    """The error of ``--fills book`` on a source without a book."""
    return OrderFlowError(f"--fills book needs quotes: {name} has trades only (no bid/ask with sizes); "
                          "use --fills trades, or give the book with --quotes FILE")


def fill_source(data: Any, fills: str, quotes: Any = None, *, options: LoadOptions | None = None,
                quote_lag: Any = None, tick_size: float | None = None) -> Replay | FileTape:
    """Where a run's orders fill for ``fills`` (``"trades"``: the trades only; ``"book"``: with the
    book, from the source itself or ``quotes``), read with the run's ``options`` (format, columns, tz,
    bad rows, symbol; ``quotes`` with the same tz and bad-row rule, moved ``quote_lag`` later).

    One file or a DataFrame: its whole :class:`~execution.replay.Replay` (a LOBSTER day or Databento MBO
    file with its order ids; a file holding its book beside its trades with that book). Any other source
    (folder, glob, list, store, ``s3://``): a :class:`FileTape`, read by day. A source without a book for
    ``"book"`` is an error. A continuous contract (``options.continuous``) is read as the series: its
    ticks across the rolls, prices adjusted as its bars show them; its book is the ticks' own bid and
    ask (moved with the prices), not a file's quote stream."""
    if fills not in FILL_MODES[1:]:
        raise OrderFlowError(f"--fills must be one of {', '.join(FILL_MODES)}, not {fills!r}")
    options = LoadOptions.of(options)
    book = fills == "book"
    q = None
    if book and quotes is not None:
        q = quotes if isinstance(quotes, pd.DataFrame) else load_quotes(quotes, tz=options.tz,
                                                                         on_bad_rows=options.on_bad_rows)
        q = lagged(q, quote_lag)
    if is_many(data) or (isinstance(data, str) and is_remote(data)):
        return FileTape(data, options, quotes=q, book=book, tick_size=tick_size,
                        name=f"{len(data)} files" if isinstance(data, (list, tuple)) else str(data))
    whole = replace(options, start=None, end=None, progress=False)
    if isinstance(data, pd.DataFrame):
        source = Replay.from_ticks(load_ticks(data, options=whole), q, book=book, name="<DataFrame>")
    else:
        path = Path(data)
        fmt = format_for(path, options.format).name
        own = book and q is None and options.continuous is None  # the file's own book: one instrument's
        if own and fmt == "lobster":
            source = Replay.from_lobster(path)
        elif own and fmt == "databento_mbo":
            source = Replay.from_mbo(path)
        else:
            if own:
                q = carried_quotes(path, options.format)
            source = Replay.from_ticks(load_ticks(path, options=whole), q, book=book, name=str(path))
    if book and source.book is None:
        raise no_book(source.name)
    return source


def default_queue(source: Replay | Tape, fills: str, queue: str | None) -> str:
    """The queue model of a run: ``through`` for trades only (the only model they allow), else ``queue``
    if given, else ``fifo`` where the source has order ids, ``risk_averse`` for another book. (A run's
    settings are checked together by :func:`research.config.check_fills`.)"""
    if fills == "trades":
        return "through"
    if queue is not None:
        return queue
    return "fifo" if getattr(source, "queue", None) is not None else "risk_averse"
