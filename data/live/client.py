"""The connection of a live feed: a thread that receives an exchange's messages, reconnects and
subscribes again when the connection is lost, and hands the messages over in batches.

The thread does per message only what receiving needs (the library's read, one append under a
lock); the consumer (:class:`data.live.feed.LiveOrderFlowFeed`) takes everything received so far in
one call (:meth:`StreamClient.take`) and parses it as one block (:mod:`data.live.bars`).
Connection events (connected, lost) are kept with their place among the messages, so that the
consumer sees them in order.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Iterator

from data.live.protocol import backoff_delays, connection_plan, require_websockets

__all__ = ["StreamClient", "Event"]


@dataclass(frozen=True)
class Event:
    """A connection event: ``kind`` ``"connected"`` or ``"lost"`` (with the ``reason``), at ``time``
    (local ns), before the message number ``at`` of the batch it is taken with."""

    kind: str
    time: int
    at: int
    reason: str = ""


class StreamClient:
    """Receives the streams ``names`` from ``url`` (:func:`data.live.protocol.connection_plan`) in a
    background thread (:meth:`start`), reconnecting with growing delays (``first_delay`` doubling
    up to ``most_delay`` seconds) and subscribing again after each reconnection, until :meth:`close`.
    """

    def __init__(self, url: str, names: list[str], *, first_delay: float = 0.25, most_delay: float = 30.0,
                 open_timeout: float = 10.0) -> None:
        require_websockets()
        self.url, self.subscribe = connection_plan(url, names)
        self.names = names
        self.first_delay, self.most_delay, self.open_timeout = first_delay, most_delay, open_timeout
        self._lock = threading.Lock()
        self._inbox: list[str] = []
        self._events: list[Event] = []
        self._arrived = threading.Event()
        self._stop = threading.Event()
        self._ws = None
        self._thread: threading.Thread | None = None
        self.connections = 0
        self.received = 0

    def start(self) -> "StreamClient":
        self._thread = threading.Thread(target=self._run, name="orderflow-live", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop receiving: close the connection and wait for the thread."""
        self._stop.set()
        ws = self._ws
        if ws is not None:
            try:
                ws.close()
            except Exception:  # noqa: BLE001 - closing a connection that is already gone
                pass
        if self._thread is not None:
            self._thread.join(timeout=10)

    def pending(self) -> bool:
        """Whether messages or events wait to be taken."""
        return bool(self._inbox or self._events)

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for something to take; True when there is."""
        if self.pending():
            return True
        self._arrived.wait(timeout)
        return self.pending()

    def take(self) -> tuple[list[str], list[Event]]:
        """Everything received since the last call: the messages, and the events with their place."""
        with self._lock:
            messages, events = self._inbox, self._events
            self._inbox, self._events = [], []
            self._arrived.clear()
        return messages, events

    def _event(self, kind: str, reason: str = "") -> None:
        with self._lock:
            self._events.append(Event(kind, time.time_ns(), len(self._inbox), reason))
            self._arrived.set()

    def _run(self) -> None:
        from websockets.exceptions import WebSocketException
        from websockets.sync.client import connect

        delays: Iterator[float] = backoff_delays(self.first_delay, self.most_delay)
        while not self._stop.is_set():
            reason = "closed by the server"
            try:
                with connect(self.url, compression=None, open_timeout=self.open_timeout, close_timeout=2,
                             max_size=None) as ws:
                    self._ws = ws
                    if self.subscribe is not None:
                        ws.send(self.subscribe)
                    self.connections += 1
                    self._event("connected")
                    delays = backoff_delays(self.first_delay, self.most_delay)
                    self._receive(ws)
            except (OSError, TimeoutError, WebSocketException) as exc:
                reason = f"{type(exc).__name__}: {exc}"
            finally:
                self._ws = None
            if self._stop.is_set():
                break
            self._event("lost", reason)
            self._stop.wait(next(delays))

    def _receive(self, ws) -> None:
        lock, arrived, inbox_of = self._lock, self._arrived, self
        for message in ws:
            if not isinstance(message, str):
                message = message.decode("utf-8", "replace")
            with lock:
                inbox_of._inbox.append(message)
            if not arrived.is_set():
                arrived.set()
            self.received += 1
