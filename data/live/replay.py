"""Replay captures as the exchange sent them: a WebSocket server on localhost for tests and dry runs.

    python -m data.replay captures/binance-futures_btcusdt_20240808.gz --port 8765 --speed 10

It serves what the exchange serves (:mod:`data.live.protocol`): combined-stream URLs
(``/stream?streams=btcusdt@trade/btcusdt@bookTicker``: wrapped messages), ``/stream`` and ``/ws``
(bare messages) with ``SUBSCRIBE``/``UNSUBSCRIBE``/``LIST_SUBSCRIPTIONS`` requests, and sends the
captured messages (:func:`data.reading.readers.binance_stream.capture_messages`) of the streams each
client subscribed to, in exchange-time order (several captures merged; ties keep file order), at
the recorded pace times ``speed`` (``None``: as fast as the clients take them).

One replay runs for all clients, as the exchange's stream does: it starts when the first client
has subscribed to a stream; at a paced speed it runs on the wall clock, and what passes while
nobody is connected is lost; at full speed it waits for a subscribed client. ``drop_after`` / ``drop_at`` cut every connection
(abruptly, as a network fault does) after that many messages sent or when the replay reaches that
exchange time; the messages of the next ``outage`` of exchange time are then never sent, so a
client that reconnects sees a gap in the trade ids, as after a real outage.
"""
from __future__ import annotations

import argparse
import json
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from data.errors import ArgumentParser, OrderFlowError, print_error
from data.live.protocol import message_route, parse_request, require_websockets
from data.options import duration, utc_time
from data.reading.loader import check_file
from data.reading.readers.binance_stream import capture_messages

__all__ = ["ReplayServer", "main"]

_BARE_STREAM = {"depthUpdate": "depth"}  # a bare message's stream, by its event type, where they differ
_BLOCK = 4096  # messages handed to the clients at once at full speed


@dataclass
class _Client:
    """One connection: whether it gets wrapped messages, and which streams it wants."""

    ws: Any
    wrapped: bool
    wanted: np.ndarray  # per stream id of the replay
    lock: threading.Lock = field(default_factory=threading.Lock)
    sent: int = 0
    alive: bool = True

    def send(self, text: str) -> None:
        with self.lock:
            self.ws.send(text)


class ReplayServer:
    """A replay of ``captures`` (see the module docstring) on ``host:port`` (0: a free port).

    ``speed``: times the recorded pace (None: full speed); ``drop_after``: cut the connections when
    that many messages were sent (each value once); ``drop_at``: when the replay reaches these
    exchange times; ``outage``: exchange time lost after each cut. :meth:`start` serves in threads,
    :attr:`url` is its address, :meth:`wait` waits for the end of the replay, :meth:`close` stops."""

    def __init__(self, captures: Sequence[str | Path], *, host: str = "127.0.0.1", port: int = 8765,
                 speed: float | None = None, drop_after: Sequence[int] = (), drop_at: Sequence[Any] = (),
                 outage: Any = "1s", log: Callable[[str], None] | None = None) -> None:
        require_websockets()
        if speed is not None and not speed > 0:
            raise OrderFlowError(f"bad speed {speed}: a factor > 0, or None for full speed")
        if not captures:
            raise OrderFlowError("no capture to replay")
        frames = []
        for k, path in enumerate(captures):
            check_file(Path(path))
            frame = capture_messages(path)
            frames.append(frame.assign(capture=k))
        merged = pd.concat(frames, ignore_index=True)
        order = np.lexsort((np.arange(len(merged)), merged["timestamp"].array.asi8))
        merged = merged.iloc[order].reset_index(drop=True)
        if merged.empty:
            raise OrderFlowError(f"no exchange messages in {', '.join(map(str, captures))}")
        self.times = merged["timestamp"].array.asi8.astype(np.int64)
        self.texts: list[str] = merged["text"].tolist()
        names = [_stream_of(text, kind) for text, kind in zip(self.texts, merged["kind"].tolist())]
        self.streams, ids = np.unique(np.array(names, dtype=object), return_inverse=True)
        self.stream_ids = ids.astype(np.int64).reshape(-1)
        self.index = {name: k for k, name in enumerate(self.streams.tolist())}
        self.wrapped_source = np.array([t.startswith('{"stream":"') for t in self.texts])
        self.host, self.port, self.speed = host, port, speed
        self.drop_after = sorted(int(n) for n in drop_after)
        if any(n < 1 for n in self.drop_after):
            raise OrderFlowError("drop_after takes counts of messages >= 1")
        self.drop_at = sorted(int(utc_time(t, "drop_at").value) for t in drop_at)
        self.outage = int(duration(outage, "outage", "1s or 500ms").value)
        self.log = log or (lambda text: None)
        self.clients: list[_Client] = []
        self.sent = 0
        self.drops: list[dict] = []
        self.finished = threading.Event()
        self._changed = threading.Condition()
        self._closing = threading.Event()
        self._server = None
        self._threads: list[threading.Thread] = []

    # ------------------------------------------------------------------ serving

    def start(self) -> "ReplayServer":
        """Listen and replay in background threads; returns the server."""
        from websockets.sync.server import serve

        self._server = serve(self._handle, self.host, self.port, compression=None, max_size=2**20)
        self.port = self._server.socket.getsockname()[1]
        for target in (self._server.serve_forever, self._broadcast):
            thread = threading.Thread(target=target, name=f"replay-{target.__name__}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the end of the replay; True when it ended."""
        return self.finished.wait(timeout)

    def close(self) -> None:
        """Stop replaying, close every connection and the listening socket, join the threads."""
        self._closing.set()
        with self._changed:
            self._changed.notify_all()
        if self._server is not None:
            self._server.shutdown()
        for client in list(self.clients):
            _cut(client)
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> "ReplayServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _handle(self, ws: Any) -> None:
        """One connection: its streams from the path, then its requests until it closes."""
        plan = parse_request(ws.request.path)
        if plan is None:
            ws.close(1008, "unknown path: use /stream?streams=..., /stream or /ws")
            return
        wrapped, names = plan
        client = _Client(ws, wrapped, np.zeros(len(self.streams), bool))
        self._want(client, names, True)
        with self._changed:
            self.clients.append(client)
            self._changed.notify_all()
        try:
            for message in ws:
                reply = self._request(client, message)
                if reply is not None:
                    client.send(reply)
        except Exception:  # noqa: BLE001 - any end of the connection ends it
            pass
        finally:
            client.alive = False
            with self._changed:
                if client in self.clients:
                    self.clients.remove(client)

    def _want(self, client: _Client, names: list[str], on: bool) -> None:
        for name in names:
            if name in self.index:
                client.wanted[self.index[name]] = on

    def _request(self, client: _Client, message: Any) -> str | None:
        """The reply to a client's request (Binance's ``{"result": ..., "id": ...}`` or ``{"error": ...}``)."""
        try:
            request = json.loads(message)
            method, params, rid = request["method"], request.get("params", []), request.get("id")
        except (ValueError, TypeError, KeyError):
            return json.dumps({"error": {"code": 3, "msg": "Invalid JSON"}, "id": None})
        if method in ("SUBSCRIBE", "UNSUBSCRIBE") and isinstance(params, list):
            self._want(client, [str(p) for p in params], method == "SUBSCRIBE")
            with self._changed:
                self._changed.notify_all()
            return json.dumps({"result": None, "id": rid})
        if method == "LIST_SUBSCRIPTIONS":
            return json.dumps({"result": [str(s) for s in self.streams[client.wanted]], "id": rid})
        return json.dumps({"error": {"code": 2, "msg": f"Invalid request: {method}"}, "id": rid})

    # ------------------------------------------------------------------ the replay

    def _wait_for_client(self) -> bool:
        """Wait for a client that subscribed to some stream (False: the server is closing)."""
        with self._changed:
            while not any(c.alive and c.wanted.any() for c in self.clients) and not self._closing.is_set():
                self._changed.wait(0.5)
        return not self._closing.is_set()

    def _broadcast(self) -> None:
        n = len(self.texts)
        if not self._wait_for_client():
            return
        started = time.monotonic()
        self.log(f"first client subscribed: replaying {n:,} messages")
        due = None if self.speed is None else started + (self.times - self.times[0]) / 1e9 / self.speed
        i = 0
        while i < n and not self._closing.is_set():
            if self.speed is None:
                if not self._wait_for_client():
                    return
                j = min(n, i + _BLOCK)
            else:
                j = min(n, int(np.searchsorted(due, time.monotonic(), side="right")), i + _BLOCK)
                if j <= i:
                    self._closing.wait(min(max(float(due[i]) - time.monotonic(), 0.0), 0.05))
                    continue
            with self._changed:
                clients = [c for c in self.clients if c.alive]
            wanted = np.zeros(j - i, bool)
            for client in clients:
                wanted |= client.wanted[self.stream_ids[i:j]]
            count = np.cumsum(wanted)
            cut, drop = self._until_drop(i, j, count)
            for client in clients:
                self._send(client, i, cut)
            self.sent += int(count[cut - i - 1]) if cut > i else 0
            i = self._drop(cut, drop) if drop is not None else cut
        if not self._closing.is_set():
            self.finished.set()
            self.log(f"replay finished: {self.sent:,} messages sent in {time.monotonic() - started:.1f} s")

    def _until_drop(self, i: int, j: int, count: np.ndarray) -> tuple[int, tuple[str, int] | None]:
        """Where the block ``i:j`` ends (``count``: the messages some client wants, cumulated): at ``j``,
        or at the next cut, then with its kind and the exchange time from which the outage counts."""
        cut, drop = j, None
        if self.drop_at:
            at = i + int(np.searchsorted(self.times[i:j], self.drop_at[0], side="left"))
            if at < j:
                cut, drop = at, ("at", self.drop_at[0])
        if self.drop_after:
            need = self.drop_after[0] - self.sent
            k = 0 if need <= 0 else int(np.searchsorted(count, need, side="left")) + 1
            if k <= len(count) and (i + k < cut or drop is None) and (need <= 0 or k > 0):
                cut, drop = i + k, ("after", int(self.times[max(i + k - 1, 0)]))
        return cut, drop

    def _send(self, client: _Client, i: int, j: int) -> None:
        picked = np.flatnonzero(client.wanted[self.stream_ids[i:j]]) + i
        texts, wrapped_source = self.texts, self.wrapped_source
        try:
            for k in picked.tolist():
                client.send(texts[k] if client.wrapped == wrapped_source[k] else self._form(k, client.wrapped))
                client.sent += 1
        except Exception:  # noqa: BLE001 - a connection that failed is dropped
            client.alive = False

    def _form(self, k: int, wrapped: bool) -> str:
        """Message ``k`` wrapped for a ``/stream`` client or bare for a ``/ws`` one."""
        text = self.texts[k]
        if wrapped:
            return f'{{"stream":"{self.streams[self.stream_ids[k]]}","data":{text}}}'
        return text[text.index('"data":') + 7:-1]

    def _drop(self, cut: int, drop: tuple[str, int]) -> int:
        """Cut every connection before message ``cut``; lose the messages of the outage that follows
        the drop's exchange time; returns where the replay goes on."""
        kind, outage_from = drop
        (self.drop_at if kind == "at" else self.drop_after).pop(0)
        with self._changed:
            clients, self.clients = list(self.clients), []
        for client in clients:
            _cut(client)
        resume = max(cut, int(np.searchsorted(self.times, outage_from + self.outage, side="right")))
        at = pd.Timestamp(int(outage_from), tz="UTC")
        self.drops.append({"after_messages": self.sent, "at": at, "lost": resume - cut, "connections": len(clients)})
        self.log(f"dropped {len(clients)} connection(s) after {self.sent:,} messages sent, at {at}; the "
                 f"{resume - cut:,} messages of the next {self.outage / 1e9:g} s are lost")
        return resume


def _cut(client: _Client) -> None:
    """Close a connection abruptly (no closing handshake), as a network fault would."""
    client.alive = False
    try:
        client.ws.socket.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _stream_of(text: str, kind: str) -> str:
    """The stream a message belongs to: a wrapped message's ``stream``, else ``<symbol>@<kind>``."""
    if text.startswith('{"stream":"'):
        return text[11:text.index('"', 11)]
    return f"{message_route(text)}@{_BARE_STREAM.get(kind, kind)}"


def parse_speed(text: str) -> float | None:
    """``--speed``: ``max`` (None) or a factor > 0."""
    if text.strip().lower() == "max":
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise OrderFlowError(f"bad --speed {text!r}: a factor > 0 (1, 10) or max")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(
        prog="python -m data.replay",
        description="Serve captures over WebSocket on localhost as the exchange streamed them: combined-stream "
        "URLs (/stream?streams=btcusdt@trade/btcusdt@bookTicker), /stream and /ws with SUBSCRIBE. One replay for "
        "all clients, starting at the first connection. Stops on Ctrl-C or SIGTERM.",
        epilog="Prints its address on the first line (ws://HOST:PORT) and 'replay finished' at the end of the "
        "captures. Exit status: 0 stopped, 2 bad input (one 'error: ...' line on stderr).",
    )
    p.add_argument("captures", nargs="+", type=Path, metavar="CAPTURE", help="capture files (python -m data.record)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on; default 127.0.0.1")
    p.add_argument("--port", type=int, default=8765, help="port; 0 picks a free one; default 8765")
    p.add_argument("--speed", default="1", help="times the recorded pace (1, 10 ...) or max; default 1")
    p.add_argument("--drop-after", type=int, action="append", default=[], metavar="N",
                   help="cut every connection after N messages sent (repeatable)")
    p.add_argument("--drop-at", action="append", default=[], metavar="TIME",
                   help="cut every connection when the replay reaches this exchange time, UTC (repeatable)")
    p.add_argument("--outage", default="1s", metavar="DURATION",
                   help="exchange time whose messages are lost after each cut; default 1s")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; 0 when stopped, 2 on bad input."""
    def say(text: str) -> None:
        print(f"replay: {text}", flush=True)

    try:
        args = build_parser().parse_args(argv)
        server = ReplayServer(args.captures, host=args.host, port=args.port, speed=parse_speed(args.speed),
                              drop_after=args.drop_after, drop_at=args.drop_at, outage=args.outage, log=say).start()
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    except (OrderFlowError, OSError) as exc:
        return print_error(exc)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    first, last = (pd.Timestamp(int(t), tz="UTC") for t in (server.times[0], server.times[-1]))
    say(f"serving {len(server.texts):,} messages of {len(server.streams)} streams ({', '.join(server.streams)}), "
        f"{first:%Y-%m-%d %H:%M:%S} to {last:%H:%M:%S} UTC, at speed {args.speed} on {server.url}")
    while not stop.wait(0.2):
        pass
    server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
