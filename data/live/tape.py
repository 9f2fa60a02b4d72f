"""The tape of a live stream: the trades and quotes it received, kept as growing column buffers.

:class:`TickTape` keeps the trades a live feed kept (the canonical tick columns ``timestamp, price,
size, side`` as the file reader gives them, after the same checks: duplicates and late trades are
not on it) and its ``@bookTicker`` quotes (``timestamp, bid, ask, bid_size, ask_size``), each as
numpy columns that grow by amortised appends (a block of messages is one append, no frame per
message). What paper fills read from it (:class:`execution.live.LiveTape`):

- ``trades(start, end)``: the trades stamped in ``[start, end)`` (the convention of
  :class:`execution.replay.Tape`);
- ``quotes(start, end)``: the quotes stamped in ``[start, end)``, led by the one in force at
  ``start`` (the last one before it), so that a window starts with the book it would see;
- ``known_until``: every event stamped before it has arrived. The trades come in time order and so
  do the quotes, but a later one may still share the last one's time: the earlier of the two
  streams' last times; or, if later, the end of the last bar handed out + 1 ns (:meth:`settle`: a
  trade or quote stamped up to it that comes later is late, dropped from the bars and the tape
  alike; so a bar closed by the grace period, with no quote after its end, is known through its
  end); once the feed has ended (:meth:`end`), everything;
- ``end_ns``: once the feed has ended, its last event's time + 1;
- ``drop_before(time)``: memory stays bounded: the trades before ``time`` go, and the quotes before
  the one in force at it.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["TickTape", "Columns", "TRADE_COLUMNS", "QUOTE_COLUMNS"]

TRADE_COLUMNS = {"timestamp": np.int64, "price": np.float64, "size": np.float64, "side": np.int8}
QUOTE_COLUMNS = {"timestamp": np.int64, "bid": np.float64, "ask": np.float64, "bid_size": np.float64,
                 "ask_size": np.float64}
_EVER = np.iinfo(np.int64).max
_FIRST_CAPACITY = 1024


class Columns:
    """Named numpy columns of one length that grow at the end and are cut at the front, in buffers
    that double when full (amortised O(1) per row); the rows cut are reused by the next growth."""

    def __init__(self, dtypes: dict[str, Any]) -> None:
        self._buffers = {name: np.empty(_FIRST_CAPACITY, dtype) for name, dtype in dtypes.items()}
        self._start = 0
        self._stop = 0

    def __len__(self) -> int:
        return self._stop - self._start

    def __getitem__(self, name: str) -> np.ndarray:
        """The column's rows (a view: valid until the next append)."""
        return self._buffers[name][self._start:self._stop]

    @property
    def capacity(self) -> int:
        return len(next(iter(self._buffers.values())))

    def append(self, columns: dict[str, np.ndarray]) -> None:
        n = len(next(iter(columns.values())))
        if not n:
            return
        held = len(self)
        if self._stop + n > self.capacity:
            size = max(2 * (held + n), _FIRST_CAPACITY)
            grow = size > self.capacity
            for name, old in self._buffers.items():
                new = np.empty(size, old.dtype) if grow else old
                new[:held] = old[self._start:self._stop]  # (a forward copy within one buffer is safe)
                self._buffers[name] = new
            self._start, self._stop = 0, held
        for name, buffer in self._buffers.items():
            buffer[self._stop:self._stop + n] = columns[name]
        self._stop += n

    def drop(self, rows: int) -> None:
        """Let go of the first ``rows`` rows."""
        self._start += min(max(int(rows), 0), len(self))


class TickTape:
    """The trades (and with ``quotes``, the quotes) a live feed received (module docstring)."""

    def __init__(self, quotes: bool = True) -> None:
        self.trade_columns = Columns(TRADE_COLUMNS)
        self.quote_columns = Columns(QUOTE_COLUMNS) if quotes else None
        self.ended = False
        self.settled = np.iinfo(np.int64).min

    def add_trades(self, ticks: pd.DataFrame) -> None:
        """Canonical ticks (``timestamp`` UTC, ``price``, ``size``, ``side``) in time order, after the last."""
        self.trade_columns.append({"timestamp": ticks["timestamp"].array.asi8,
                                   **{c: ticks[c].to_numpy(TRADE_COLUMNS[c]) for c in ("price", "size", "side")}})

    def add_quotes(self, quotes: pd.DataFrame) -> None:
        """Quotes (``timestamp`` UTC, ``bid, ask, bid_size, ask_size``) in time order, after the last."""
        if self.quote_columns is not None:
            self.quote_columns.append({"timestamp": quotes["timestamp"].array.asi8,
                                       **{c: quotes[c].to_numpy(np.float64) for c in list(QUOTE_COLUMNS)[1:]}})

    def settle(self, time: int) -> None:
        """Every trade and quote stamped at or before ``time`` (ns) is on the tape: ones that come later
        are late (a bar that ends there has been handed out)."""
        self.settled = max(self.settled, int(time))

    def end(self) -> None:
        """The stream has ended: everything is known."""
        self.ended = True

    @property
    def known_until(self) -> int:
        """ns: every trade and quote stamped before it is on the tape (module docstring)."""
        if self.ended:
            return _EVER
        known = self._last(self.trade_columns)
        if self.quote_columns is not None:
            known = min(known, self._last(self.quote_columns))
        return max(known, self.settled + 1)

    @property
    def end_ns(self) -> int:
        """ns: once the stream has ended, its last event's time + 1 (no event at or after it); else never."""
        if not self.ended:
            return _EVER
        return max(self._last(c) for c in (self.trade_columns, self.quote_columns) if c is not None) + 1

    @staticmethod
    def _last(columns: Columns) -> int:
        return int(columns["timestamp"][-1]) if len(columns) else np.iinfo(np.int64).min + 1

    @property
    def first(self) -> int | None:
        """The earliest time the tape still holds in full (trades and the book from then on)."""
        stamps = [int(c["timestamp"][0]) for c in (self.trade_columns, self.quote_columns) if c is not None and len(c)]
        return min(stamps) if stamps else None

    def trades(self, start: int, end: int) -> pd.DataFrame:
        """The trades stamped in ``[start, end)`` (ns) as canonical ticks."""
        columns = self.trade_columns
        ts = columns["timestamp"]
        lo, hi = np.searchsorted(ts, start, side="left"), np.searchsorted(ts, end, side="left")
        return _frame(columns, lo, max(hi, lo))

    def quotes(self, start: int, end: int) -> pd.DataFrame | None:
        """The quotes stamped in ``[start, end)``, led by the one in force at ``start`` (the last before it;
        None without quotes)."""
        columns = self.quote_columns
        if columns is None:
            return None
        ts = columns["timestamp"]
        lo = max(int(np.searchsorted(ts, start, side="left")) - 1, 0)
        hi = int(np.searchsorted(ts, end, side="left"))
        return _frame(columns, lo, max(hi, lo))

    def drop_before(self, time: int) -> None:
        """Let go of the trades stamped before ``time`` (ns) and the quotes before the one in force at it."""
        self.trade_columns.drop(np.searchsorted(self.trade_columns["timestamp"], time, side="left"))
        if self.quote_columns is not None:
            self.quote_columns.drop(np.searchsorted(self.quote_columns["timestamp"], time, side="left") - 1)

    def __len__(self) -> int:
        """Rows held (trades and quotes)."""
        return len(self.trade_columns) + (len(self.quote_columns) if self.quote_columns is not None else 0)


def _frame(columns: Columns, lo: int, hi: int) -> pd.DataFrame:
    frame = {name: columns[name][lo:hi].copy() for name in columns._buffers if name != "timestamp"}
    stamps = pd.DatetimeIndex(columns["timestamp"][lo:hi].view("M8[ns]")).tz_localize("UTC")
    return pd.DataFrame({"timestamp": stamps, **frame})
