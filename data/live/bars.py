"""A live stream's messages -> ticks, quotes and order-flow bars, batch by batch, by the code of the
file path.

:class:`LiveBars` takes the messages received since the last call as one block (``add``): it reads
them with the capture reader (:func:`data.reading.readers.binance_stream.read_binance_stream`, the
block parsed at once as a capture's lines), checks them with the loader's own rules
(:func:`data.reading.loader.normalise_ticks`, :func:`data.reading.quotes.normalise_quotes`, bad rows
rejected and counted), and feeds the trades to a :class:`data.bars.stream.BarStream`, whose bars
equal ``make_bars`` over all the ticks. The book lines come, as for a capture file
(:func:`data.reading.quotes.carried_quotes`), from every ``@bookTicker`` update through
:func:`data.bars.make.stream_depth_columns`, computed when a bar closes over the quote states it
needs (kept from the one in force a persistence window before the last closed bar).

- A bar is made when a trade after its end arrives (:meth:`BarStream.take`) or, for time bars, when
  the exchange's clock has passed its end by ``grace`` (:meth:`LiveBars.close_due`; the exchange's
  clock is estimated from the latest message's exchange time and the local clock). It is handed out
  once a trade stamped after its end has come (a tick or volume bar may end on a trade whose stamp
  the next bar's first trade shares) and, with quotes, a quote stamped after it; or once that clock
  has passed its end by ``grace`` (a bar of any kind). A bar handed out settles the ``tape``
  through its end (:meth:`data.live.tape.TickTape.settle`).
- Trades are checked by trade id (``t``): an id at or below the last one is a duplicate (dropped,
  counted), an id beyond the next one is a gap (reported with the ids and times around it).
- A trade older than the last one, or inside a bar already made (for tick and volume bars: stamped
  at or before the end of one handed out), is late: dropped and counted, as is a quote older than
  the last one or stamped at or before the end of a bar handed out.
- With a ``tape`` (:class:`data.live.tape.TickTape`), the trades and quotes kept go onto it as they
  come (what paper fills read).

No loop per message: every step is over the block's arrays.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from data.bars.depth import window_ns
from data.bars.make import bar_columns, empty_bars, stream_depth_columns
from data.bars.spec import bar_opens, parse_bar_spec
from data.bars.stream import BarStream
from data.errors import OrderFlowError
from data.live.tape import TickTape
from data.options import BarOptions
from data.reading.loader import normalise_ticks
from data.reading.quotes import normalise_quotes
from data.reading.readers.binance_stream import read_binance_stream
from data.ticks import timestamps_ns

__all__ = ["LiveBars"]

_QUOTE_COLUMNS = ("bid", "ask", "bid_size", "ask_size")
_SHOWN_GAPS = 20  # gaps named one by one in the report's notes


class LiveBars:
    """Bars of ``spec`` from a live stream's message blocks (see the module docstring).

    ``options``: the bar options (:class:`data.options.BarOptions`); with footprint lines they need
    ``tick_size`` (a file infers it from its first million trades, which a live stream does not
    have). ``quotes``: the book lines come from ``@bookTicker`` updates (else from the trades,
    which carry no quotes: NaN). ``grace``: how long past a time bar's end, on the exchange's
    clock, it waits for late trades before closing without a later trade. ``name`` names the
    stream in messages and the report. ``tape``: a :class:`data.live.tape.TickTape` that gets the
    trades and quotes kept (as the file reader gives them)."""

    def __init__(self, spec: Any = "1min", *, options: BarOptions | None = None, quotes: bool = True,
                 grace: Any = "1s", name: str = "live stream", tape: TickTape | None = None) -> None:
        self.spec = parse_bar_spec(spec)
        self.options = BarOptions.of(options)
        if self.options.footprint and self.options.tick_size is None:
            raise OrderFlowError("live bars with footprint lines need tick_size= (the instrument's price step, e.g. "
                                 "0.1 for BTCUSDT futures): a file infers it from its first million trades, a live "
                                 "stream cannot; or footprint=False")
        self.quotes = quotes
        try:
            self.grace = int(pd.Timedelta(grace).value)
        except (ValueError, TypeError):
            raise OrderFlowError(f"bad grace {grace!r}: a duration such as 1s or 500ms") from None
        if self.grace < 0:
            raise OrderFlowError(f"bad grace {grace!r}: a duration >= 0")
        self.name = name
        self.tape = tape
        self.window = window_ns(self.options.persistence)
        self.stream = BarStream(self.spec, options=replace(self.options, depth=False) if quotes else self.options,
                                side_thread=False)
        self._quote_arrays: dict[str, np.ndarray] = {"timestamp": np.zeros(0, np.int64),
                                                     **{c: np.zeros(0) for c in _QUOTE_COLUMNS}}
        self.last_id: int | None = None
        self.last_ts: int | None = None  # the last trade kept
        self.last_trade: tuple[int, int] | None = None  # its id and time
        self.last_quote_ts: int | None = None
        self.closed_through: int | None = None  # the last bar handed out's stamp
        self.made_through: int | None = None  # the last bar made's stamp (later trades inside it are late)
        self.bars_made = 0  # bars handed out
        self._made = 0  # bars made by the stream (handed out or waiting for the quote stream)
        self._waiting: list[pd.DataFrame] = []
        self.offset: int | None = None  # exchange clock - local clock (ns), from the latest message
        self.latest: int | None = None  # the latest exchange time seen (ns)
        self.counts = {"messages": 0, "trades": 0, "kept": 0, "quotes": 0, "quotes_kept": 0}
        self.rejected: dict[str, int] = {}
        self.quote_rejected: dict[str, int] = {}
        self.gaps: list[dict[str, Any]] = []

    def keep_table(self) -> None:
        """Keep the bars' footprint table as well (:meth:`take_footprint_table`), for coarser bars with
        footprint lines; before the first trade."""
        if self.stream.ticks:
            raise OrderFlowError("the footprint table is kept from the first trade on: ask for it before the stream starts")
        self.stream = BarStream(self.spec, options=self.stream.options, side_thread=False, table=True)

    def take_footprint_table(self) -> pd.DataFrame | None:
        """The footprint table rows of the bars made since the last call (None unless :meth:`keep_table`
        was called and the bars have footprint lines); each row is handed out once, then let go."""
        return self.stream.take_footprint_table() if self.stream.table else None

    # ----------------------------------------------------------------- input

    def add(self, messages: list[str], received: int) -> pd.DataFrame:
        """Read a block of messages (received by ``received``, local ns) and return the bars it closed."""
        if not messages:
            return self._take()
        self.counts["messages"] += len(messages)
        block = read_binance_stream(self.name, quotes=self.quotes, text="\n".join(messages).encode("utf-8"),
                                    trade_ids=True)
        trades, quotes = block["trades"], block.get("quotes")
        self._clock(trades, quotes, received)
        if quotes is not None and len(quotes):
            self._add_quotes(quotes)
        if len(trades):
            self._add_trades(trades)
        return self._take()

    def close_due(self, now: int) -> pd.DataFrame:
        """The bars whose end the exchange's clock (estimated at local time ``now``, ns) has passed by the
        grace period: those made but waiting for the quote stream, and the time bar held back; else
        nothing."""
        if self.offset is None:
            return self._take()
        clock = now + self.offset
        end = self.stream.held_until()
        if end is not None and clock >= end + self.grace:
            self.stream.close_held()
        return self._take(clock - self.grace)

    def finish(self) -> pd.DataFrame:
        """The bars still held (the end of the stream): what ``make_bars`` gives at the end of a file."""
        bars = self.stream.finish()
        self._waiting.append(bars.iloc[self._made:])
        self._made = len(bars)
        if len(bars):
            self.made_through = int(timestamps_ns(bars.index)[-1])
        return self._release(np.iinfo(np.int64).max)

    def _clock(self, trades: pd.DataFrame, quotes: pd.DataFrame | None, received: int) -> None:
        latest = [int(f["timestamp"].array.asi8.max()) for f in (trades, quotes) if f is not None and len(f)]
        if latest:
            self.latest = max(latest + ([self.latest] if self.latest is not None else []))
            self.offset = self.latest - received

    def _add_quotes(self, raw: pd.DataFrame) -> None:
        quotes = normalise_quotes(raw[["timestamp", *_QUOTE_COLUMNS]], on_bad_rows="drop", source=self.name,
                                  format="binance_stream")
        _count(self.quote_rejected, quotes.attrs["load_report"].get("rejected"))
        self.counts["quotes"] += len(raw)
        ts = quotes["timestamp"].array.asi8
        floor = self.last_quote_ts if self.last_quote_ts is not None else np.iinfo(np.int64).min
        late = ts < floor
        if self.closed_through is not None:
            late |= ts <= self.closed_through
        if late.any():
            self.quote_rejected["late"] = self.quote_rejected.get("late", 0) + int(late.sum())
            quotes, ts = quotes[~late], ts[~late]
        if not len(ts):
            return
        self.last_quote_ts = int(ts[-1])
        self.counts["quotes_kept"] += len(ts)
        if self.tape is not None:
            self.tape.add_quotes(quotes)
        arrays = self._quote_arrays
        arrays["timestamp"] = np.concatenate([arrays["timestamp"], ts])
        for name in _QUOTE_COLUMNS:
            arrays[name] = np.concatenate([arrays[name], quotes[name].to_numpy(np.float64)])

    def _add_trades(self, trades: pd.DataFrame) -> None:
        self.counts["trades"] += len(trades)
        ids = trades["trade_id"].to_numpy(np.int64)
        ts = trades["timestamp"].array.asi8
        keep = np.ones(len(ids), bool)
        has_id = ids >= 0
        if has_id.any():
            before = np.maximum.accumulate(np.r_[self.last_id if self.last_id is not None else -1,
                                                 np.where(has_id, ids, -1)])[:-1]
            duplicate = has_id & (ids <= before)
            keep &= ~duplicate
            _count(self.rejected, {"duplicate_trade_id": int(duplicate.sum())})
            self._gaps(ids[keep & has_id], ts[keep & has_id])
        floor = self.last_ts if self.last_ts is not None else np.iinfo(np.int64).min
        running = np.maximum.accumulate(np.r_[floor, np.where(keep, ts, floor)])[:-1]
        late = keep & (ts < running)
        settled = self.made_through if self.spec.kind == "time" else self.closed_through
        if settled is not None:
            late |= keep & (ts <= settled)
        keep &= ~late
        _count(self.rejected, {"late": int(late.sum())})
        if not keep.any():
            return
        frame = pd.DataFrame({c: trades[c].to_numpy()[keep] for c in ("price", "size", "side")})
        frame.insert(0, "timestamp", trades["timestamp"].array[keep])
        ticks = normalise_ticks(frame, on_bad_rows="drop", source=self.name, format="binance_stream", copy=False)
        _count(self.rejected, ticks.attrs["load_report"].get("rejected"))
        if len(ticks):
            if self.tape is not None:
                self.tape.add_trades(ticks)
            self.stream.add(ticks)
            self.last_ts = int(ticks["timestamp"].array.asi8[-1])
            self.counts["kept"] += len(ticks)

    def _gaps(self, ids: np.ndarray, ts: np.ndarray) -> None:
        """Record where the kept trade ids skip (after the last id seen before them)."""
        if not len(ids):
            return
        prev_id = np.r_[self.last_id if self.last_id is not None else ids[0] - 1, ids[:-1]]
        prev_ts = np.r_[self.last_trade[1] if self.last_trade is not None else ts[0], ts[:-1]]
        for k in np.flatnonzero(ids - prev_id > 1).tolist():  # a loop per gap, not per trade
            self.gaps.append({"last_trade_id": int(prev_id[k]), "first_trade_id": int(ids[k]),
                              "missed_trades": int(ids[k] - prev_id[k] - 1),
                              "from": pd.Timestamp(int(prev_ts[k]), tz="UTC"), "to": pd.Timestamp(int(ts[k]), tz="UTC")})
        self.last_id = int(ids[-1])
        self.last_trade = (int(ids[-1]), int(ts[-1]))

    # ----------------------------------------------------------------- output

    def _take(self, passed: int | None = None) -> pd.DataFrame:
        """The bars the stream made, and of those waiting the ones whose trades and book are complete:
        every trade stamped up to a bar's end is in once a later-stamped trade came (a tick or volume bar
        can end on a trade that shares its stamp with the next bar's first: that one is not later), and
        every quote once a later quote came (each stream is in time order); or once the exchange's clock
        is ``passed`` their end (``close_due``), a bar of any kind, whether or not a later trade or quote
        came. A bar handed out settles the tape through its end (a trade or quote stamped up to it that
        comes later is late: :meth:`_add_trades`, :meth:`_add_quotes`). So the tape of paper fills knows
        a bar's end when the bar comes, as a backtest does."""
        new = self.stream.take()
        if len(new):
            self._waiting.append(new)
            self._made += len(new)
            self.made_through = int(timestamps_ns(new.index)[-1])
        never = np.iinfo(np.int64).min
        bound = (self.last_ts - 1) if self.last_ts is not None else never
        if self.quotes:
            bound = min(bound, (self.last_quote_ts - 1) if self.last_quote_ts is not None else never)
        return self._release(max(bound, passed) if passed is not None else bound)

    def _release(self, upto: int) -> pd.DataFrame:
        """The waiting bars stamped at or before ``upto`` (ns), with their book lines."""
        waiting = [w for w in self._waiting if len(w)]
        if not waiting:
            self._waiting = []
            return self._empty()
        bars = pd.concat(waiting) if len(waiting) > 1 else waiting[0]
        cut = int(np.searchsorted(timestamps_ns(bars.index), upto, side="right"))
        self._waiting = [bars.iloc[cut:]]
        return self._with_depth(bars.iloc[:cut])

    def _with_depth(self, bars: pd.DataFrame) -> pd.DataFrame:
        """The bars with their book lines from the quote stream (as ``make_bars(..., quotes=)``); then
        the quote states no later bar needs are let go."""
        if not len(bars):
            return self._empty()
        stamps = timestamps_ns(bars.index)
        if self.quotes:
            previous = np.array([] if self.closed_through is None else [self.closed_through], np.int64)
            opens = bar_opens(np.concatenate([previous, stamps]), self.spec, self.stream.first_ts)[len(previous):]
            lines = stream_depth_columns(self._quote_frame(), stamps, opens, self.options.persistence,
                                         self.options.depth)
            bars = bars.assign(**lines)[list(bar_columns(self.options.depth, self.stream.footprint))]
            bars.attrs["bar_spec"] = self.spec.text
            self._trim(int(stamps[-1]))
        self.closed_through = int(stamps[-1])
        if self.tape is not None:
            self.tape.settle(self.closed_through)
        self.bars_made += len(bars)
        return bars

    def _empty(self) -> pd.DataFrame:
        return empty_bars(self.spec, bar_columns(self.options.depth, self.stream.footprint))

    def _quote_frame(self) -> pd.DataFrame:
        arrays = self._quote_arrays
        frame = pd.DataFrame({name: arrays[name] for name in _QUOTE_COLUMNS})
        frame.insert(0, "timestamp", pd.DatetimeIndex(arrays["timestamp"].view("M8[ns]")).tz_localize("UTC"))
        return frame

    def _trim(self, stamp: int) -> None:
        """Keep the quote states from the one in force a persistence window before the state in force
        at ``stamp`` (the last closed bar's end): later bars open at or after ``stamp``, and their
        closing states look back one window from a state no earlier than that one."""
        ts = self._quote_arrays["timestamp"]
        last = int(np.searchsorted(ts, stamp, side="right")) - 1
        if last < 0:
            return
        anchor = int(np.searchsorted(ts, ts[last] - self.window, side="right")) - 1
        first = max(min(anchor, last - 1), 0)
        if first > 0:
            self._quote_arrays = {name: values[first:].copy() for name, values in self._quote_arrays.items()}

    def report(self) -> dict[str, Any]:
        """What was read, kept and rejected, and the gaps, in the shape of a load report
        (:func:`data.reading.loader.format_load_report`): ``rows_read`` trades received, ``rows_kept``
        in the bars, ``rejected`` by reason (duplicate trade ids, late trades, the loader's reasons),
        ``gaps`` (each: the trade ids and times around it), ``quotes`` (received, kept, rejected)."""
        notes = [f"gap: {g['missed_trades']:,} trade(s) missing between trade ids {g['last_trade_id']} and "
                 f"{g['first_trade_id']} ({g['from']:%Y-%m-%d %H:%M:%S.%f} to {g['to']:%H:%M:%S.%f} UTC)"
                 for g in self.gaps[:_SHOWN_GAPS]]
        if len(self.gaps) > _SHOWN_GAPS:
            notes.append(f"{len(self.gaps) - _SHOWN_GAPS} more gap(s), {sum(g['missed_trades'] for g in self.gaps):,} "
                         "trades missing in all")
        return {"source": self.name, "format": "binance live stream", "rows_read": self.counts["trades"],
                "rows_kept": self.counts["kept"], "rejected": {k: v for k, v in self.rejected.items() if v},
                "notes": notes, "gaps": [dict(g) for g in self.gaps],
                "missed_trades": sum(g["missed_trades"] for g in self.gaps), "messages": self.counts["messages"],
                "quotes": {"rows_read": self.counts["quotes"], "rows_kept": self.counts["quotes_kept"],
                           "rejected": {k: v for k, v in self.quote_rejected.items() if v}}}


def _count(into: dict[str, int], counts: dict[str, int] | None) -> None:
    for reason, n in (counts or {}).items():
        if n:
            into[reason] = into.get(reason, 0) + int(n)
