"""What the recorder, the replay server and the live feed share of Binance's WebSocket protocol.

Binance serves market streams named ``<symbol>@<stream>`` in lower case (``btcusdt@trade``,
``btcusdt@bookTicker``). A client either names them in a combined-stream URL,
``wss://fstream.binance.com/stream?streams=btcusdt@trade/btcusdt@bookTicker`` (each message then
comes wrapped: ``{"stream": "btcusdt@trade", "data": {...}}``), or connects to ``/stream`` (wrapped)
or ``/ws`` (bare messages) and sends ``{"method": "SUBSCRIBE", "params": [names], "id": 1}``,
answered by ``{"result": null, "id": 1}``. The exchange closes every connection after 24 hours;
a client reconnects and subscribes again.

A capture (:mod:`data.reading.readers.binance_stream`) is one message per line, prefixed by the
local receive time in ns. When a recorder loses messages (a reconnection), it writes a gap note
(:func:`gap_note`), a line ``{"e": "gap", ...}`` with the last trade id before and the first after.
"""
from __future__ import annotations

import json
import re
from typing import Iterable, Iterator
from urllib.parse import parse_qs, urlsplit, urlunsplit

from data.errors import OrderFlowError

__all__ = ["EXCHANGES", "DEFAULT_STREAMS", "require_websockets", "stream_names", "connection_plan", "subscribe_message", "parse_request",
           "message_route", "backoff_delays", "gap_note", "GAP_KIND"]

EXCHANGES = {
    "binance-futures": "wss://fstream.binance.com",  # USD-M futures
    "binance": "wss://stream.binance.com:9443",  # spot
}
"""The exchanges a recorder knows by name, and the base address of their market streams."""

DEFAULT_STREAMS = ("trade", "bookTicker")
"""The streams recorded and followed by default: every trade, and the best bid and ask."""

GAP_KIND = "gap"
"""The event type of a recorder's gap note."""

_NAME = re.compile(r"^[a-z0-9]+@[A-Za-z0-9@_]+$")


def require_websockets() -> None:
    """OrderFlowError, saying how to install it, when the ``websockets`` package is missing."""
    try:
        import websockets  # noqa: F401
    except ImportError:
        raise OrderFlowError("live data needs the websockets package: pip install 'orderflow-bt[live]' "
                             "(or pip install websockets)") from None


def stream_names(symbols: Iterable[str], streams: Iterable[str] = DEFAULT_STREAMS) -> list[str]:
    """``["btcusdt@trade", "btcusdt@bookTicker", ...]``: each stream of each symbol (symbols in lower
    case, as the exchange names them). OrderFlowError for a name the exchange would refuse."""
    names = [f"{symbol.strip().lower()}@{stream.strip()}" for symbol in symbols for stream in streams]
    bad = [n for n in names if not _NAME.match(n)]
    if bad or not names:
        raise OrderFlowError(f"bad stream name {bad[0]!r}: a symbol (BTCUSDT) and a stream (trade, bookTicker, "
                             "aggTrade, depth@100ms ...)" if bad else "no stream to follow: name a symbol")
    return names


def connection_plan(url: str, names: list[str]) -> tuple[str, str | None]:
    """Where to connect for ``names``, and the ``SUBSCRIBE`` message to send once connected (None:
    the URL names them). A URL with ``?streams=`` is used as it is; one ending in ``/ws`` or
    ``/stream`` subscribes by message; a bare address (``wss://fstream.binance.com``,
    ``ws://127.0.0.1:8765``) gets the combined-stream URL of ``names``."""
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.netloc:
        raise OrderFlowError(f"bad WebSocket address {url!r}: use ws://HOST:PORT or wss://HOST (for example "
                             f"{EXCHANGES['binance-futures']})")
    if "streams" in parse_qs(parts.query):
        return url, None
    path = parts.path.rstrip("/")
    if path.endswith("/ws") or path.endswith("/stream"):
        return url, subscribe_message(names)
    return urlunsplit((parts.scheme, parts.netloc, path + "/stream", "streams=" + "/".join(names), "")), None


def subscribe_message(names: list[str], request_id: int = 1, method: str = "SUBSCRIBE") -> str:
    """The JSON text of a ``SUBSCRIBE`` (or ``UNSUBSCRIBE``) request for ``names``."""
    return json.dumps({"method": method, "params": list(names), "id": request_id})


def parse_request(path: str) -> tuple[bool, list[str]] | None:
    """A server's view of a client's request path: ``(wrapped, names)``, whether messages go out
    wrapped (``/stream``) or bare (``/ws``) and the streams named in the path; None for a path the
    exchange does not serve. ``/stream?streams=a/b``, ``/stream``, ``/ws/a/b``, ``/ws``."""
    parts = urlsplit(path)
    route = parts.path.rstrip("/")
    if route == "/stream":
        streams = parse_qs(parts.query).get("streams", [""])[0]
        return True, [n for n in streams.split("/") if n]
    if route == "/ws" or route.startswith("/ws/"):
        return False, [n for n in route[len("/ws"):].split("/") if n]
    return None


def message_route(message: str) -> str | None:
    """The symbol (lower case) a message is about: a wrapped message's stream name before ``@``,
    a bare one's ``"s"``; None for other messages (replies to requests). No JSON parsing: a
    recorder calls it on every message."""
    if message.startswith('{"stream":"'):
        at = message.find("@", 11)
        return message[11:at] if at > 0 else None
    at = message.find('"s":"')
    if at < 0:
        return None
    end = message.find('"', at + 5)
    return message[at + 5:end].lower() if end > 0 else None


def backoff_delays(first: float = 0.25, most: float = 30.0) -> Iterator[float]:
    """Seconds to wait before each reconnection attempt: ``first``, doubling, at most ``most``."""
    delay = first
    while True:
        yield delay
        delay = min(delay * 2, most)


def gap_note(symbol: str, *, reason: str, last_trade: int | None, first_trade: int | None,
             lost_from: int | None, lost_to: int | None) -> str:
    """A recorder's gap note (one JSON line; :data:`GAP_KIND` events are not trades or quotes: the
    reader counts them under ``recorder_gap``): the symbol, why (``reason``), the last trade id
    recorded before and the first after, how many trades are missing between them
    (``first - last - 1``, None when either is unknown), and the receive times (ns) of the last
    message before and the first after (``lost_from``, ``lost_to``). ``E`` is ``lost_to`` in ms,
    so that the note has an event time as every message does."""
    missed = first_trade - last_trade - 1 if first_trade is not None and last_trade is not None else None
    stamp = lost_to if lost_to is not None else lost_from
    return json.dumps({"e": GAP_KIND, "E": None if stamp is None else stamp // 1_000_000, "s": symbol.upper(),
                       "reason": reason, "last_trade_id": last_trade, "first_trade_id": first_trade,
                       "missed_trades": missed, "lost_from": lost_from, "lost_to": lost_to}, separators=(",", ":"))
