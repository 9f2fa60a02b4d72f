"""Record an exchange's WebSocket streams into captures that :func:`data.load_ticks` reads.

    python -m data.record binance-futures BTCUSDT ETHUSDT --out captures/

One connection for the combined streams of every symbol (``trade`` and ``bookTicker`` by default,
``--streams`` to choose), each message written as it arrives, prefixed by the local receive time
in ns: ``1723161255088176367 {"stream":"btcusdt@trade","data":{...}}``, the capture format of
:mod:`data.reading.readers.binance_stream`. One file per symbol and UTC day (of the receive time),
``OUT/<exchange>_<symbol>_<YYYYMMDD>.gz``; a recorder started again on a day that has a file
writes ``..._<YYYYMMDD>-2.gz`` (then ``-3`` ...), never into a file it did not open.

Safety: the lines are compressed and appended as one complete gzip member per symbol at least once
a second (a file is a valid multi-member gzip after every write), so a killed recorder loses at
most the last second and leaves files the reader reads whole. On a lost connection it reconnects
with growing delays (:func:`data.live.protocol.backoff_delays`), subscribes again (Binance closes
every connection after 24 hours) and writes a gap note (:func:`data.live.protocol.gap_note`) at
the first trade after it: the last trade id before, the first after, how many are missing. A
trade id that skips inside a connection gets a note too. Ctrl-C or SIGTERM stops it cleanly (the
last lines written, the connection closed), exit status 0.

Per message the work is what a client does anyway (receive, stamp, pick the symbol's buffer,
append); the trade-id checks and the compression run once per flush over the whole buffer.
"""
from __future__ import annotations

import argparse
import gzip
import os
import re
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from data.errors import ArgumentParser, OrderFlowError, print_error
from data.live.protocol import (
    DEFAULT_STREAMS,
    EXCHANGES,
    backoff_delays,
    connection_plan,
    gap_note,
    message_route,
    require_websockets,
    stream_names,
)
from data.ticks import DAY_NS

__all__ = ["Recorder", "CaptureFiles", "main"]

_TRADE_ID = re.compile(r'"e":"trade"[^\n]*?"t":(\d+)')


class CaptureFiles:
    """The capture files of one symbol: ``OUT/<exchange>_<symbol>_<YYYYMMDD>[-N].gz``, one per UTC
    day; :meth:`write` appends lines as one gzip member (a complete, readable file after each write)."""

    def __init__(self, out: Path, exchange: str, symbol: str, level: int = 6) -> None:
        self.out, self.exchange, self.symbol, self.level = Path(out), exchange, symbol.lower(), level
        self.day: int | None = None
        self.fd: int | None = None
        self.paths: list[Path] = []

    def write(self, lines: list[str], day: int) -> None:
        """Append ``lines`` (each ending in a newline) to the file of ``day`` (days since the epoch, UTC)."""
        if not lines:
            return
        if day != self.day:
            self._open(day)
        data = gzip.compress("".join(lines).encode("utf-8"), compresslevel=self.level, mtime=0)
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]

    def _open(self, day: int) -> None:
        self.close()
        stamp = time.strftime("%Y%m%d", time.gmtime(day * 86_400))
        base = f"{self.exchange}_{self.symbol}_{stamp}"
        for n in range(1, 10_000):
            path = self.out / (f"{base}.gz" if n == 1 else f"{base}-{n}.gz")
            try:
                self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
            except FileExistsError:
                continue
            self.day, self.paths = day, [*self.paths, path]
            return
        raise OrderFlowError(f"{self.out}: too many capture files of {base}")

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


@dataclass
class _Symbol:
    """One symbol's buffer and trade-id state."""

    files: CaptureFiles
    lines: list[str] = field(default_factory=list)
    last_trade: int | None = None
    lost: tuple[str, int | None] | None = None  # a lost connection's reason and last receive time before it
    messages: int = 0
    gaps: int = 0


class Recorder:
    """Records ``streams`` of ``symbols`` from ``url`` (an exchange's base address, or a full
    combined-stream or ``/ws`` address, as :func:`data.live.protocol.connection_plan` takes it)
    into ``out`` (see the module docstring). :meth:`run` records until :meth:`stop` is called (from
    a signal handler or another thread); ``log`` receives one line per event (connected, lost,
    gap)."""

    def __init__(self, url: str, symbols: Sequence[str], out: Path, *, exchange: str = "binance-futures",
                 streams: Sequence[str] = DEFAULT_STREAMS, flush_every: float = 1.0,
                 log: Callable[[str], None] | None = None) -> None:
        require_websockets()
        if not 0 < flush_every <= 1.0:
            raise OrderFlowError(f"flush_every must be in (0, 1] seconds, not {flush_every}")
        self.names = stream_names(symbols, streams)
        self.connect_url, self.subscribe = connection_plan(url, self.names)
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.symbols = {s.lower(): _Symbol(CaptureFiles(self.out, exchange, s)) for s in symbols}
        self.flush_every = flush_every
        self.log = log or (lambda text: None)
        self._stop = threading.Event()
        self._last_receive: int | None = None
        self._connected_at: int | None = None
        self.connections = 0
        self.other = 0  # messages about no recorded symbol (replies to SUBSCRIBE)

    def stop(self) -> None:
        """Ask :meth:`run` to finish (within ``flush_every`` seconds): it writes what it holds and returns."""
        self._stop.set()

    def run(self) -> dict:
        """Record until stopped; returns the counts (messages and gaps per symbol, connections, files)."""
        from websockets.exceptions import WebSocketException
        from websockets.sync.client import connect

        delays = backoff_delays()
        try:
            while not self._stop.is_set():
                reason = "connection closed"
                try:
                    with connect(self.connect_url, compression=None, open_timeout=10, close_timeout=2,
                                 max_size=None) as ws:
                        if self.subscribe is not None:
                            ws.send(self.subscribe)
                        self.connections += 1
                        self._connected_at = time.time_ns()
                        self.log(f"connected to {self.connect_url}" + (" (reconnection)" if self.connections > 1 else ""))
                        delays = backoff_delays()
                        self._receive(ws)
                except (OSError, TimeoutError, WebSocketException) as exc:
                    reason = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
                self._flush()
                if self._stop.is_set():
                    break
                self._lost(reason)
                self._stop.wait(next(delays))
        finally:
            self._flush()
            self._close()
        return self.counts()

    def _receive(self, ws) -> None:
        buffers = {key: s.lines for key, s in self.symbols.items()}
        deadline = time.monotonic() + self.flush_every
        recv, now_ns, route = ws.recv, time.time_ns, message_route
        while not self._stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                self._flush()
                deadline = time.monotonic() + self.flush_every
                continue
            try:
                message = recv(left)
            except TimeoutError:
                continue
            received = now_ns()
            if not isinstance(message, str):
                message = message.decode("utf-8", "replace")
            lines = buffers.get(route(message))
            if lines is None:
                self.other += 1
                continue
            lines.append(f"{received} {message}\n")
            self._last_receive = received

    def _lost(self, reason: str) -> None:
        """A connection ended: each symbol notes it, to write a gap note at its next trade."""
        self.log(f"connection lost ({reason}); reconnecting" if self.connections else f"cannot connect ({reason}); retrying")
        if not self.connections:  # nothing recorded yet: nothing lost
            return
        for s in self.symbols.values():
            if s.lost is None:
                s.lost = (reason, self._last_receive)

    def _flush(self) -> None:
        for key, s in self.symbols.items():
            if not s.lines:
                continue
            lines, s.lines[:] = list(s.lines), []
            s.messages += len(lines)
            self._notes(key, s, lines)
            first_day, last_day = _receive_time(lines[0]) // DAY_NS, _receive_time(lines[-1]) // DAY_NS
            if first_day == last_day:
                s.files.write(lines, first_day)
                continue
            days = [_receive_time(line) // DAY_NS for line in lines]  # midnight in this buffer: once a day
            start = 0
            for i in range(1, len(lines) + 1):
                if i == len(lines) or days[i] != days[start]:
                    s.files.write(lines[start:i], days[start])
                    start = i

    def _notes(self, key: str, s: _Symbol, lines: list[str]) -> None:
        """Gap notes into ``lines``: after a reconnection (at its head, once a trade came) and where a
        trade id skips. The trade ids are read from the whole buffer at once."""
        text = "".join(lines)
        found = list(_TRADE_ID.finditer(text))
        if not found:
            return
        ids = [int(m.group(1)) for m in found]
        notes: list[tuple[int, str]] = []
        received = _receive_time(lines[0])
        if s.lost is not None:
            reason, before = s.lost
            notes.append((0, gap_note(key, reason=reason, last_trade=s.last_trade, first_trade=ids[0],
                                      lost_from=before, lost_to=self._connected_at)))
            s.lost = None
        elif s.last_trade is not None and ids[0] != s.last_trade + 1:
            notes.append((0, gap_note(key, reason="trade ids skip", last_trade=s.last_trade, first_trade=ids[0],
                                      lost_from=None, lost_to=received)))
        for k in range(1, len(ids)):
            if ids[k] != ids[k - 1] + 1:  # rare: find the line of the skip
                at = text.count("\n", 0, found[k].start())
                notes.append((at, gap_note(key, reason="trade ids skip", last_trade=ids[k - 1], first_trade=ids[k],
                                           lost_from=None, lost_to=_receive_time(lines[at]))))
        for at, note in reversed(notes):
            lines.insert(at, f"{_receive_time(lines[at])} {note}\n")
        s.gaps += len(notes)
        for _, note in notes:
            self.log(f"gap in {key.upper()}: {note}")
        s.last_trade = ids[-1]

    def _close(self) -> None:
        for s in self.symbols.values():
            if s.lost is not None:  # stopped before a trade came after a reconnection: the note without it
                reason, before = s.lost
                s.files.write([f"{time.time_ns()} " + gap_note(s.files.symbol, reason=reason, last_trade=s.last_trade,
                                                               first_trade=None, lost_from=before, lost_to=None) + "\n"],
                              time.time_ns() // DAY_NS)
                s.gaps += 1
                s.lost = None
            s.files.close()

    def counts(self) -> dict:
        return {"connections": self.connections, "other_messages": self.other,
                "symbols": {k.upper(): {"messages": s.messages, "gaps": s.gaps,
                                        "files": [str(p) for p in s.files.paths]} for k, s in self.symbols.items()}}


def _receive_time(line: str) -> int:
    """The receive-time prefix (ns) of a buffered line."""
    return int(line[:line.index(" ")])


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(
        prog="python -m data.record",
        description="Record an exchange's WebSocket streams into gzip captures, one per symbol and UTC day, "
        "that load_ticks, load_quotes and run_backtest.py read. Stops cleanly on Ctrl-C or SIGTERM.",
        epilog="Files: OUT/<exchange>_<symbol>_<YYYYMMDD>.gz (-2, -3 ... when the recorder starts again on a day). "
        "Exit status: 0 stopped, 2 bad input (one 'error: ...' line on stderr).",
    )
    p.add_argument("exchange", choices=sorted(EXCHANGES), help="the exchange (its streams' default address)")
    p.add_argument("symbols", nargs="+", metavar="SYMBOL", help="instruments, e.g. BTCUSDT ETHUSDT")
    p.add_argument("--out", type=Path, required=True, help="folder of the capture files")
    p.add_argument("--streams", default=",".join(DEFAULT_STREAMS),
                   help=f"streams of each symbol, comma-separated; default {','.join(DEFAULT_STREAMS)} "
                   "(others: aggTrade, depth@100ms ...)")
    p.add_argument("--url", default=None, help="connect here instead of the exchange (a replay: ws://127.0.0.1:8765)")
    p.add_argument("--flush-every", type=float, default=1.0, metavar="SECONDS",
                   help="write the buffered lines at least this often (at most 1); default 1")
    p.add_argument("--quiet", action="store_true", help="no line per connection and gap on stderr")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; 0 when stopped by Ctrl-C or SIGTERM, 2 on bad input."""
    try:
        args = build_parser().parse_args(argv)
        out = args.out
        if out.exists() and not out.is_dir():
            raise OrderFlowError(f"--out {out} exists and is not a folder")
        log = (lambda text: None) if args.quiet else (lambda text: print(f"record: {text}", file=sys.stderr, flush=True))
        recorder = Recorder(args.url or EXCHANGES[args.exchange], args.symbols, out, exchange=args.exchange,
                            streams=[s for s in args.streams.split(",") if s.strip()], flush_every=args.flush_every,
                            log=log)
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    except (OrderFlowError, OSError) as exc:
        return print_error(exc)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: recorder.stop())
    counts = recorder.run()
    for symbol, c in counts["symbols"].items():
        log(f"{symbol}: {c['messages']:,} messages, {c['gaps']} gap note(s), files {', '.join(c['files']) or 'none'}")
    return 0
