"""Binance ``bookTicker`` CSV dumps and raw Binance WebSocket captures.

``binance_bookticker``: data.binance.vision futures ``bookTicker`` dumps, header
``update_id, best_bid_price, best_bid_qty, best_ask_price, best_ask_qty,
transaction_time, event_time``: quotes stamped with ``transaction_time`` (ms). They
hold no trades (load the ``trades``/``aggTrades`` dump of the same day as ticks, see
:mod:`data.reading.formats`, and these with ``load_quotes`` / ``--quotes``).

``binance_stream``: a recorder's capture, one message per line (gzip or plain), each
optionally prefixed by a local receive time and a space, as common recorders write
them::

    1723161255088176367 {"stream":"btcusdt@trade","data":{"e":"trade","E":...,"T":...,"p":"61800.30","q":"0.006","m":false}}

Messages may be wrapped (``{"stream": ..., "data": {...}}``) or bare. ``@trade`` and
``@aggTrade`` messages are ticks (``p`` price, ``q`` size, ``m`` buyer is maker: true ->
-1, false -> +1); when a capture has both, ``@trade`` is kept and the aggregates are
rejected as ``aggregate_duplicate`` (they repeat the same volume). ``@bookTicker``
messages are quotes (``b``/``B`` bid and size, ``a``/``A`` ask and size). Everything is
stamped with the exchange's transaction time ``T`` (ms; ``E`` when ``T`` is absent), not
the receive time: the recorder's clock may be far off (about 1.3 s in the shared
samples). :func:`read_binance_stream` also gives the receive times, to study that skew.
Other messages (depth diffs, REST snapshots) are counted as ``book_update`` and skipped; a
recorder's gap notes (``{"e": "gap", ...}``, :func:`data.live.protocol.gap_note`) as ``recorder_gap``,
with a note in the load report.
Speed (see :func:`read_binance_stream`): lines and receive-time prefixes are found with
numpy over the whole decompressed buffer; a recorder writes every message of a stream the
same way, so each kind's layout is learned from one line (:class:`MessageLayout`) and all
the lines are matched against it at once with byte matrices, which gives their event type
and symbol and, for the lines a caller needs (trades, or bookTicker quotes), their fields.
Lines that follow no layout go through a substring search and pyarrow's JSON reader. No
Python loop or ``json.loads`` per message; the file is held in memory whole.
"""
from __future__ import annotations

import gzip
import json
import re
import zlib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from data.errors import OrderFlowError
from data.live.protocol import GAP_KIND
from data.reading.loader import ColumnPicker, ReadResult, head_lines, read_csv, read_header, read_problem, register_format
from data.reading.quotes import register_quote_reader

__all__ = ["BOOKTICKER_COLUMNS", "CaptureLines", "capture_messages", "MAX_LAYOUTS", "MessageLayout", "NO_PREFIX", "Value", "byte_rows",
           "split_capture", "string_field", "windows", "read_binance_stream", "read_stream_ticks", "read_stream_quotes"]

BOOKTICKER_COLUMNS = ("update_id", "best_bid_price", "best_bid_qty", "best_ask_price", "best_ask_qty",
                      "transaction_time", "event_time")
_LINE = re.compile(r'^\s*(\d{10,20}\s+)?\{.*"e"\s*:\s*"(trade|aggTrade|bookTicker|depthUpdate)"')


def _is_bookticker(path: Path) -> bool:
    names = [n.strip().lower() for n in read_header(path)[0]]  # unreadable: OrderFlowError, "not mine" to format_for
    return names[:len(BOOKTICKER_COLUMNS) - 1] == list(BOOKTICKER_COLUMNS[:-1])


def _is_stream(path: Path) -> bool:
    lines = [line for line in head_lines(path)[:20] if line.strip()]
    return bool(lines) and any(_LINE.match(line) for line in lines) and all(
        re.match(r"^\s*(\d{10,20}\s+)?\{", line) for line in lines[:-1])


def _not_trades(path: Path, pick: ColumnPicker) -> ReadResult:
    raise OrderFlowError("a Binance bookTicker dump holds quotes, not trades: load it with data.load_quotes "
                         "(or --quotes beside the day's trades or aggTrades dump)", source=path)


def read_bookticker_quotes(path: Path) -> pd.DataFrame:
    """A bookTicker dump -> quotes at ``transaction_time``."""
    names = {"transaction_time": "timestamp", "best_bid_price": "bid", "best_ask_price": "ask",
             "best_bid_qty": "bid_size", "best_ask_qty": "ask_size"}
    return read_csv(path, lambda found: {n: names[n] for n in found if n in names}).rename(columns=names)


_PREFIX_WIDTH = 32  # a receive-time prefix (10-20 digits), its spaces and the JSON's "{" lie within this
_SPACE = np.frombuffer(b" \t\r\n\f\v", np.uint8)
_IS_SPACE = np.isin(np.arange(256), _SPACE)
_TRADE_FIELDS = {"p": pa.string(), "q": pa.string(), "m": pa.bool_()}
_ID_FIELD = {"t": pa.int64()}
_QUOTE_FIELDS = {"b": pa.string(), "B": pa.string(), "a": pa.string(), "A": pa.string()}
_TIME_FIELDS = {"T": pa.int64(), "E": pa.int64()}


def _text(path: Path) -> bytes:
    """The whole (decompressed) file; gzip through :func:`gzip.decompress` (multi-member, and twice
    as fast as a streamed inflate), other codecs through pyarrow."""
    try:
        if path.suffix.lower() == ".gz":
            return gzip.decompress(path.read_bytes())
        with pa.input_stream(str(path), compression="detect") as stream:
            return stream.read()
    except (OSError, EOFError, zlib.error, pa.ArrowException) as exc:
        raise read_problem(path, exc) from None


@dataclass
class CaptureLines:
    """The lines of a capture, located in one byte buffer without a loop per line.

    ``start[i]``/``stop[i]``: line ``i``'s bytes (``stop`` excludes the newline); ``number``:
    its 1-based line number in the file (empty lines are skipped); ``json_at``: where the message
    starts (after the prefix and spaces); ``end``: one past its last non-space byte; ``is_json``:
    the message starts with ``{`` and ends with ``}``; ``receive``: the receive-time prefix in ns
    (:data:`NO_PREFIX` where absent), read when first asked for (:meth:`receive_of` reads only
    some lines': the usual prefixes are checked for every line but read for those asked for).
    """

    start: np.ndarray
    stop: np.ndarray
    number: np.ndarray
    json_at: np.ndarray
    end: np.ndarray
    is_json: np.ndarray
    buf: np.ndarray = field(repr=False)
    usual: np.ndarray = field(repr=False)  # the line's prefix is the usual one: ``digits`` digits and a space
    digits: int = field(repr=False)
    odd: np.ndarray = field(repr=False)  # the receive times of the other lines (NO_PREFIX where none)

    def receive_of(self, rows: np.ndarray) -> np.ndarray:
        """The receive times of these lines."""
        out = self.odd[rows]
        usual = self.usual[rows]
        if usual.any():
            out[usual] = _decimals(self.buf, self.start[rows[usual]], self.digits).astype(np.int64)
        return out

    @cached_property
    def receive(self) -> np.ndarray:
        return self.receive_of(np.arange(len(self.start)))


NO_PREFIX = np.iinfo(np.int64).min


def _decimals(buf: np.ndarray, at: np.ndarray, digits: int) -> np.ndarray:
    """The ``digits``-digit numbers (at most 19: uint64) written at ``buf[at[i]:]``."""
    columns = (byte_rows(buf, at, digits) - np.uint8(48)).T.copy()  # one row per digit column: contiguous passes
    value = np.zeros(len(at), np.uint64)
    for column in columns:  # Horner
        value = value * np.uint64(10) + column
    return value


def _all_digits(words: np.ndarray, digits: int) -> np.ndarray:
    """Per row of ``words`` (bytes as uint64 words), whether its first ``digits`` bytes are all
    ASCII digits: eight at a time (xor "0", then a byte is a digit when, high bit aside, adding
    0x76 leaves its high bit clear)."""
    ok = np.ones(len(words), bool)
    for k in range(-(-digits // 8)):
        mask = np.frombuffer((b"\xff" * min(8, digits - 8 * k)).ljust(8, b"\0"), np.uint64)[0]
        x = words[:, k] ^ np.uint64(0x3030_3030_3030_3030)
        ok &= (((x & np.uint64(0x7F7F_7F7F_7F7F_7F7F)) + (np.uint64(0x7676_7676_7676_7676) & mask)) | x) \
            & np.uint64(0x8080_8080_8080_8080) & mask == 0  # no carry: a byte of at most 0x7F plus 0x76
    return ok


def byte_rows(buf: np.ndarray, at: np.ndarray, width: int) -> np.ndarray:
    """``buf[at[i]:at[i] + width]`` for every i as a (len(at), width) matrix, 0 past the buffer's end.

    One gather of ``width``-byte items from a view of the buffer with a stride of one byte (a
    copy per row, no index matrix, faster than a sliding-window view's rows); only rows that
    reach past the end, at most the last few lines, are gathered byte by byte."""
    if width == 0:
        return np.zeros((len(at), 0), np.uint8)
    if len(buf) >= width:
        limit = len(buf) - width
        items = np.ndarray((limit + 1,), f"V{width}", buffer=buf, strides=(1,))
        out = items[np.minimum(at, limit)].view(np.uint8).reshape(len(at), width)
        near = np.flatnonzero(at > limit)
    else:
        out = np.zeros((len(at), width), np.uint8)
        near = np.arange(len(at))
    if len(near) and len(buf):
        cols = at[near, None] + np.arange(width)
        out[near] = np.where(cols < len(buf), buf[np.minimum(cols, len(buf) - 1)], 0)
    return out


def _first(mask: np.ndarray) -> np.ndarray:
    """Per row, the first column where ``mask`` holds (the width when none)."""
    at = mask.argmax(axis=1)  # 0 where none: told apart by looking there (any(axis=1) is slower on short rows)
    return np.where(mask[np.arange(len(mask)), at], at, mask.shape[1])


def _none(words: np.ndarray) -> np.ndarray:
    """Per row of a (n, k) uint64 matrix, whether every word is 0 (a loop over the k columns:
    numpy reduces short rows slowly)."""
    acc = words[:, 0].copy() if words.shape[1] else np.zeros(len(words), np.uint64)
    for j in range(1, words.shape[1]):
        acc |= words[:, j]
    return acc == 0


def _gather(buf: np.ndarray, at: np.ndarray, width: int) -> np.ndarray:
    """:func:`byte_rows` where every row lies within ``buf`` (a padded :func:`windows` buffer)."""
    items = np.ndarray((len(buf) - width + 1,), f"V{width}", buffer=buf, strides=(1,))
    return items[at].view(np.uint8).reshape(len(at), width)


def _equals(buf: np.ndarray, at: np.ndarray, text: bytes, mask: bytes | None = None) -> np.ndarray:
    """``buf[at[i]:at[i] + len(text)] == text`` for every i (only the bytes where ``mask`` is 0xff,
    when given), compared eight bytes at a time."""
    width = -(-len(text) // 8) * 8
    rows = _gather(buf, at, width).view(np.uint64)
    want = np.frombuffer(text.ljust(width, b"\0"), np.uint64)
    mask = np.frombuffer((mask if mask is not None else b"\xff" * len(text)).ljust(width, b"\0"), np.uint64)
    return _none((rows ^ want) & mask)


def _may_start_with(words: np.ndarray, text: bytes) -> np.ndarray:
    """Which messages may begin with ``text``: the first and the last of its eight-byte words (within
    the first ``words.shape[1]``) compared with theirs (``words``: the messages' first bytes as
    uint64 words, one row each); a quick filter before :meth:`MessageLayout.match`, which compares all."""
    text = text[:words.shape[1] * 8]
    last = -(-len(text) // 8) - 1
    want = np.frombuffer(text.ljust(last * 8 + 8, b"\0"), np.uint64)
    mask = np.frombuffer((b"\xff" * len(text)).ljust(last * 8 + 8, b"\0"), np.uint64)
    return (((words[:, 0] ^ want[0]) & mask[0]) == 0) & (((words[:, last] ^ want[last]) & mask[last]) == 0)


def _prefixes(buf: np.ndarray, start: np.ndarray, stop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Receive time (:data:`NO_PREFIX` where none) and JSON start column of each line, any shape:
    ``^\s*(\d{10,20})\s+`` on a byte matrix of the lines' first :data:`_PREFIX_WIDTH` bytes."""
    n = len(start)
    cols = np.arange(_PREFIX_WIDTH)
    head = byte_rows(buf, start, _PREFIX_WIDTH)
    head[cols >= (stop - start)[:, None]] = 0  # past the line's end
    space = _IS_SPACE[head]
    digit = (head - np.uint8(48)) < 10
    lead = _first(~space)
    after = _first(~digit & (cols >= lead[:, None]))
    digits = after - lead
    rows = np.arange(n)
    prefixed = (digits >= 10) & (digits <= 20) & (after < _PREFIX_WIDTH) & space[rows, np.minimum(after, _PREFIX_WIDTH - 1)]
    json_at = np.where(prefixed, _first(~space & (cols >= after[:, None])), lead)
    shifted = head if not lead.any() else np.take_along_axis(head, np.minimum(lead[:, None] + cols, _PREFIX_WIDTH - 1), 1)
    value = np.zeros(n, np.uint64)
    for j in range(int(digits[prefixed].max()) if prefixed.any() else 0):  # Horner, one digit column at a time
        d = shifted[:, j].astype(np.uint64) - np.uint64(48)
        value = np.where(j < digits, value * np.uint64(10) + d, value)
    if np.any(value[prefixed] > np.uint64(np.iinfo(np.int64).max)) or np.any(digits[prefixed] == 20):  # 20 digits: above uint64 too
        raise OrderFlowError("a receive-time prefix does not fit in int64 nanoseconds")
    return np.where(prefixed, value.astype(np.int64), NO_PREFIX), json_at


def split_capture(buf: np.ndarray) -> CaptureLines:
    r"""Locate each line of ``buf`` (uint8) and its parts (:class:`CaptureLines`).

    The prefix is what the regular expression ``^\s*(\d{10,20})\s+`` matches (its digits read as
    int64 ns), found with whole-array operations, not line by line: lines of the file's usual shape
    (``D`` digits, one space, ``{``, as in its first lines) by one gather and eight digits at a time
    (their values read later, for the lines asked for), lines that begin with ``{`` (no prefix) by
    their first byte, the others by :func:`_prefixes` on a byte matrix."""
    newline = np.flatnonzero(buf == 10)
    start = np.r_[0, newline + 1]
    stop = np.r_[newline, len(buf)]
    nonempty = stop > start
    number = np.flatnonzero(nonempty) + 1
    if len(number) < len(start):
        start, stop = start[nonempty], stop[nonempty]
    odd = np.full(len(start), NO_PREFIX)
    json_at = np.zeros(len(start), np.int64)
    usual = np.zeros(len(start), bool)
    sample_receive, sample_at = _prefixes(buf, start[:64], stop[:64])
    seen = sample_at[sample_receive != NO_PREFIX]
    width = int(np.bincount(seen).argmax()) - 1 if len(seen) else 0  # digits of the usual prefix
    head = byte_rows(buf, start, 24)  # the digits, the space and the "{"
    bare = head[:, 0] == ord("{")  # no prefix: the message at once
    if 10 <= width <= 19:  # up to 19 digits fit in uint64
        usual = (stop - start > width + 1) & (head[:, width] == 32) & (head[:, width + 1] == ord("{")) \
            & _all_digits(head.view(np.uint64), width)
        if width == 19:  # those above int64 raise below (only a 9 can lead them)
            nine = np.flatnonzero(usual & (head[:, 0] == ord("9")))
            usual[nine] = _decimals(buf, start[nine], width) <= np.uint64(np.iinfo(np.int64).max)
        json_at[usual] = width + 1
    rows = np.flatnonzero(~usual & ~bare)
    odd[rows], json_at[rows] = _prefixes(buf, start[rows], stop[rows])
    begin = start + json_at
    last = stop - 1
    tail = buf[np.maximum(last, 0)] if len(buf) else np.zeros(0, np.uint8)
    while True:  # the last non-space byte of each line (trailing "\r" or spaces are rare: few passes)
        trailing = (last >= begin) & ((tail == 32) | ((tail - np.uint8(9)) < 5))  # " " or \t \n \v \f \r
        if not trailing.any():
            break
        last = last - trailing
        tail = buf[np.maximum(last, 0)]
    brace = usual | bare  # known to begin with "{"; the others looked at
    brace[rows] = buf[np.minimum(begin[rows], len(buf) - 1)] == ord("{")
    is_json = (json_at < _PREFIX_WIDTH) & (last > begin) & brace & (tail == ord("}"))
    return CaptureLines(start, stop, number, json_at, last + 1, is_json, buf, usual, width, odd)


def string_field(buf: np.ndarray, lines: pa.LargeStringArray, start: np.ndarray, stop: np.ndarray, key: str,
                 width: int = 32) -> np.ndarray:
    r"""The text value of the first ``"key"`` in each line ``buf[start[i]:stop[i]]`` (``lines`` is the
    same lines as an Arrow array) when it reads ``"key"\s*:\s*"value"`` (``b""`` otherwise, or when
    the value is longer than ``width``), as ``S{width}`` bytes: what ``json.loads(line)`` gives for a
    one-letter key of a flat or wrapped Binance message. The key is found by Arrow's substring search
    (it leads each message: a few bytes per line), the value read from a byte matrix. The general
    path: lines of the usual shapes are read by their :class:`MessageLayout` instead."""
    found = pc.find_substring(lines, f'"{key}"').to_numpy(zero_copy_only=False)
    line = np.flatnonzero(found >= 0)
    at = start[line] + found[line]
    out = np.zeros(len(start), f"S{width}")
    span = 3 + 8 + width + 1  # "k", up to 4 spaces each side of ":", the quoted value
    rows = byte_rows(buf, at, span)
    cols = np.arange(span)
    space = _IS_SPACE[rows]
    r = np.arange(len(at))
    colon = _first(~space & (cols >= 3))
    quote = _first(~space & (cols > colon[:, None]))
    end = _first((rows == 34) & (cols > quote[:, None]))
    ok = (rows[r, np.minimum(colon, span - 1)] == ord(":")) & (rows[r, np.minimum(quote, span - 1)] == 34) & (end < span)
    ok &= at + end < stop[line]
    value = np.take_along_axis(rows, np.minimum(quote[:, None] + 1 + np.arange(width), span - 1), 1)
    value[np.arange(width) >= (end - quote - 1)[:, None]] = 0
    out[line[ok]] = np.ascontiguousarray(value[ok]).view(f"S{width}")[:, 0]
    return out


# --------------------------------------------------------------------------- message layouts

_INT, _STR, _BOOL = 0, 1, 2
_VALUE_WIDTH = (19, 64, 6)  # bytes a value may take, plus one: ints of 1-18 digits (int64), strings up to 63 bytes, false
_STR_FIRST_READ = 24  # bytes first read for a string value (most are short); the rare longer ones are read again
_BLOCK_BYTES = 1 << 21  # messages matched together (see _blocks)
_HEAD = 128  # bytes of each message read to classify it (the usual layouts' event type and symbol lie within)
_MAX_SHAPES = 64  # messages of more value-length combinations than this are matched part by part
_TRUE, _FALSE = (np.frombuffer(word.ljust(8, b"\0"), np.uint64)[0] for word in (b"true", b"false"))
_ARROW_TYPE = (pa.int64(), pa.string(), pa.bool_())
_LITERAL_KEYS = ("stream", "e", "s")  # values written into a layout: it stands for one stream, kind and symbol
MAX_LAYOUTS = 32  # layouts learned; lines of others go the plain way: string_field and the JSON reader (0: every line,
#                   what the layouts are tested against)
_MAX_MISSES = 64  # lines that teach no layout (REST snapshots, odd spacing) before the rest go that way too
_KEY_VALUE = re.compile(rb'"[es]"\s*:\s*"([^"]{0,32})"')


class _Object(list):
    """A JSON object's (key, value) pairs in their order (``json.loads``'s ``object_pairs_hook``)."""


class _NoLayout(Exception):
    """A message whose layout cannot be written down (repeated or escaped keys)."""


@dataclass(frozen=True)
class Value:
    """A value in a :class:`MessageLayout`: its keys from the top (``("data", "p")``) and class
    (``_INT`` digits, ``_STR`` printable ASCII between quotes, ``_BOOL`` true/false)."""

    path: tuple[str, ...]
    kind: int


def _plain(text: str) -> bool:
    """Printable ASCII without ``"`` or ``\\``: JSON writes it as it is."""
    return text.isascii() and text.isprintable() and '"' not in text and "\\" not in text


def _render(message: _Object, path: tuple[str, ...], comma: bytes, colon: bytes, out: list) -> bool:
    """Append ``message``'s parts (literal bytes or :class:`Value`) with their text in this message
    to ``out``; False where it stops at a value whose length a layout cannot state (an array, a
    float, a null, a long or negative integer, an escaped string)."""
    keys = [key for key, _ in message]
    if len(set(keys)) < len(keys) or not all(map(_plain, keys)):
        raise _NoLayout
    out.append((b"{", b"{"))
    for i, (key, value) in enumerate(message):
        head = (comma if i else b"") + b'"' + key.encode() + b'"' + colon
        out.append((head, head))
        where = (*path, key)
        if isinstance(value, _Object):
            if not _render(value, where, comma, colon, out):
                return False
        elif isinstance(value, str) and _plain(value):
            text = b'"' + value.encode() + b'"'
            out += [(text, text)] if key in _LITERAL_KEYS else [(b'"', b'"'), (Value(where, _STR), text[1:-1]), (b'"', b'"')]
        elif isinstance(value, bool):
            out.append((Value(where, _BOOL), b"true" if value else b"false"))
        elif type(value) is int and 0 <= value < 10**18:
            out.append((Value(where, _INT), str(value).encode()))
        else:
            return False
    out.append((b"}", b"}"))
    return True


@dataclass
class MessageLayout:
    """One shape of message, learned from one line: the literal bytes between its values.

    A recorder writes every message of a stream the same way (the same keys in the same order,
    compact separators), so once one ``@trade`` line is known, every other is that text with
    other digits in its values: a line follows the layout when its bytes equal each literal part
    and each value is a run of its class's bytes (:meth:`match`, a few byte-matrix operations
    per part over all the lines at once). ``parts`` alternates literal text and :class:`Value`;
    the values of ``stream``, ``e`` and ``s`` are literal, so a layout holds one kind of message
    of one symbol. ``classify_end``: the parts that hold the line's first ``"e"`` and ``"s"``
    (what :func:`string_field` reads: its event type and symbol); ``complete``: the parts cover
    the whole message (a depth update's arrays end its layout early: it is only classified)."""

    parts: list
    kind: bytes
    symbol: bytes
    classify_end: int
    complete: bool

    @classmethod
    def learn(cls, body: bytes) -> MessageLayout | None:
        """The layout of ``body`` (a message without prefix or trailing spaces) written with compact
        or ``", "``/``": "`` separators; None when it has none (not a JSON object, other spacing,
        no ``"e"`` and ``"s"`` strings found by :func:`string_field` before its first array)."""
        try:
            message = json.loads(body, object_pairs_hook=_Object)
        except (ValueError, RecursionError):
            return None
        if not isinstance(message, _Object):
            return None
        for comma, colon in ((b",", b":"), (b", ", b": ")):
            pieces: list = []
            try:
                complete = _render(message, (), comma, colon, pieces)
            except _NoLayout:
                return None
            merged: list = []  # adjacent literals joined
            for part, shown in pieces:
                if isinstance(part, bytes) and merged and isinstance(merged[-1][0], bytes):
                    merged[-1] = (merged[-1][0] + part, merged[-1][1] + shown)
                else:
                    merged.append((part, shown))
            text = b"".join(shown for _, shown in merged)
            if body == text if complete else body.startswith(text):
                break
        else:
            return None
        found = {}
        edges = np.cumsum([0] + [len(shown) for _, shown in merged])  # where each part starts in the text
        for key in (b"e", b"s"):  # the first "e" and "s" in the text must lie in literal parts
            at = text.find(b'"' + key + b'"')
            index = int(np.searchsorted(edges, at, side="right")) - 1
            part = merged[index][0] if at >= 0 else None
            read = _KEY_VALUE.match(part, int(at - edges[index])) if isinstance(part, bytes) else None
            if read is None:
                return None
            found[key] = index, read.group(1)
        return cls([part for part, _ in merged], found[b"e"][1], found[b"s"][1],
                   max(found[b"e"][0], found[b"s"][0]) + 1, complete)

    def width(self, upto: int | None = None) -> int:
        """The most bytes ``parts[:upto]`` can take (each value at its longest)."""
        return sum(len(part) if isinstance(part, bytes) else _VALUE_WIDTH[part.kind] - 1 for part in self.parts[:upto])

    @property
    def reach(self) -> int:
        """The most bytes :meth:`match` reads at once (the padding its :func:`windows` need)."""
        return max(-(-len(part) // 8) * 8 if isinstance(part, bytes) else _VALUE_WIDTH[_STR] for part in self.parts)

    def match(self, buf: np.ndarray, at: np.ndarray, stop: np.ndarray, upto: int | None = None,
              known: int = 0) -> tuple[np.ndarray, np.ndarray, dict]:
        """Which of the messages ``buf[at[i]:stop[i]]`` begin with ``parts[:upto]``: a mask, where each
        one's last part ends, and each value's ``(start, length)`` in ``buf`` (where the mask holds).
        ``buf``: the messages' :func:`windows` padded by :attr:`reach` (a small buffer: each gather hits
        the cache, and none runs past its end). ``known``: the messages are known to begin with
        ``parts[:known]`` (they were classified by this layout): their literal bytes are not
        compared again.

        Two passes: each value's length, read where the parts before it would put it (one gather per
        value); then the messages grouped by those lengths (a stream's messages have few: prices
        and sizes of a handful of widths), each group's literal bytes, now at the same offsets in
        every message of the group, compared with the group's template at once."""
        parts = self.parts[:upto]
        pos = at.astype(np.int64)
        ok = np.ones(len(at), bool)
        spans = {}
        for index, part in enumerate(parts):
            if isinstance(part, bytes):
                pos = pos + len(part)
                continue
            ok &= pos <= stop
            pos = np.minimum(pos, stop)  # where a message stops matching, reads stay within it
            if part.kind == _INT:  # 1 to 18 digits, no leading zero
                rows = _gather(buf, pos, _VALUE_WIDTH[_INT])
                length = _first((rows - np.uint8(48)) >= 10)
                ok &= (length > 0) & (length < _VALUE_WIDTH[_INT]) & ((rows[:, 0] != 48) | (length == 1))
            elif part.kind == _STR:  # printable ASCII up to the closing quote, no escapes
                rows = _gather(buf, pos, _STR_FIRST_READ)
                length = _string_length(rows)
                longer = np.flatnonzero(length == _STR_FIRST_READ)
                if len(longer):
                    length[longer] = _string_length(_gather(buf, pos[longer], _VALUE_WIDTH[_STR]))
                ok &= length < _VALUE_WIDTH[_STR]
                if index < self.classify_end:  # a value "e" or "s" would be the first "e" / "s" in the line
                    ok &= (length != 1) | ((rows[:, 0] != ord("e")) & (rows[:, 0] != ord("s")))
            else:  # true or false
                word = _gather(buf, pos, 8).view(np.uint64)[:, 0]
                true = (word & np.uint64(0xFFFF_FFFF)) == _TRUE
                ok &= true | ((word & np.uint64(0xFF_FFFF_FFFF)) == _FALSE)
                length = np.where(true, 4, 5)
            spans[part.path] = (pos, length)
            pos = pos + length
        ok &= pos <= stop  # (a guard: no class or literal holds the newline that ends a message's bytes)
        live = np.flatnonzero(ok)
        lengths = [length[live] for _, length in spans.values()]
        if len(lengths) <= 10:  # each length < 64: six bits each in one integer
            key = sum((length.astype(np.int64) << (6 * k) for k, length in enumerate(lengths)), np.zeros(len(live), np.int64))
            shapes, first, group = np.unique(key, return_index=True, return_inverse=True)
        else:
            shapes, first, group = np.unique(np.stack(lengths, axis=1), axis=0, return_index=True, return_inverse=True)
        if len(shapes) <= _MAX_SHAPES:
            order = np.argsort(group, kind="stable")
            bounds = np.r_[0, np.cumsum(np.bincount(group.reshape(-1), minlength=len(shapes)))]
            for g, row in enumerate(first):
                rows = live[order[bounds[g]:bounds[g + 1]]]
                skip, text, mask = self.template([int(length[row]) for length in lengths], upto, known)
                ok[rows] = _equals(buf, at[rows] + skip, text, mask)
            return ok, pos, spans
        ends = iter((start + length for start, length in spans.values()))  # many shapes: each literal where it falls
        cursor = at.astype(np.int64)
        for index, part in enumerate(parts):
            if isinstance(part, bytes):
                if index >= known:
                    ok &= _equals(buf, cursor, part)
                cursor = cursor + len(part)
            else:
                cursor = next(ends)
        return ok, pos, spans

    def template(self, lengths: list[int], upto: int | None = None, skip: int = 0) -> tuple[int, bytes, bytes]:
        """``parts[skip:upto]`` with these value lengths (of all the values in ``parts[:upto]``): where
        they begin, their bytes (0 for the values) and a mask of the literal bytes."""
        lengths = iter(lengths)
        text, mask, begin = [], [], 0
        for index, part in enumerate(self.parts[:upto]):
            size = len(part) if isinstance(part, bytes) else next(lengths)
            if index < skip:
                begin += size
                continue
            text.append(part if isinstance(part, bytes) else bytes(size))
            mask.append((b"\xff" if isinstance(part, bytes) else b"\0") * size)
        return begin, b"".join(text), b"".join(mask)

    def classifies(self, buf: np.ndarray, at: np.ndarray, length: np.ndarray) -> np.ndarray:
        """Which of the messages ``buf[at[i]:at[i] + length[i]]`` begin with the parts that hold their
        event type and symbol (:meth:`match` on their :func:`windows`, a cache-sized block at a time)."""
        width = min(self.width(self.classify_end), int(length.max(initial=0)))
        return np.concatenate([np.zeros(0, bool)] + [
            self.match(*windows(buf, at[rows], length[rows], width, self.reach), self.classify_end)[0]
            for rows in _blocks(len(at), width)])

    def read(self, buf: np.ndarray, at: np.ndarray, length: np.ndarray, sources: dict[str, Value | None],
             fields: dict[str, pa.DataType]) -> tuple[np.ndarray, dict[str, pa.Array]]:
        """Which of the messages ``buf[at[i]:at[i] + length[i]]``, classified by this layout (they begin
        with ``parts[:classify_end]``), follow it whole, and the ``fields`` of those that do (found
        where :meth:`sources` says)."""
        width = min(self.width(), int(length.max(initial=0)))
        oks, values = [np.zeros(0, bool)], []
        for rows in _blocks(len(at), width):
            window, start, stop = windows(buf, at[rows], length[rows], width, self.reach)
            ok, end, spans = self.match(window, start, stop, known=self.classify_end)
            ok &= end == start + length[rows]
            oks.append(ok)
            values.append(_layout_values(window, spans, ok, sources))
        ok = np.concatenate(oks)
        n = int(ok.sum())
        return ok, {name: _arrow_values([got[name] for got in values if name in got], kind, n) for name, kind in fields.items()}

    def sources(self, fields: dict[str, pa.DataType]) -> dict[str, Value | None] | None:
        """Where each field is (``data``'s first, then the top level's, as the JSON reader's
        coalesce takes them; None: absent), or None when the layout cannot give them all as
        the JSON reader would (incomplete, a non-object ``data``, a value of another type)."""
        values = {part.path: part for part in self.parts if isinstance(part, Value)}
        if not self.complete or ("data",) in values:
            return None
        nested = {path[:-1] for path in values if len(path) > 1}  # objects within the message
        if any((name,) in nested or ("data", name) in nested for name in fields):
            return None
        out = {name: values.get(("data", name), values.get((name,))) for name in fields}
        if any(v is not None and _ARROW_TYPE[v.kind] != fields[name] for name, v in out.items()):
            return None
        return out


def _blocks(n: int, width: int) -> list[slice]:
    """``n`` messages of ``width`` bytes in blocks of about :data:`_BLOCK_BYTES`: a block's windows stay
    in the CPU's cache while each part of a layout is matched (about 1.5 times faster than all at once)."""
    rows = max(_BLOCK_BYTES // max(width, 1), 1)
    return [slice(lo, lo + rows) for lo in range(0, n, rows)]


def windows(buf: np.ndarray, at: np.ndarray, length: np.ndarray, width: int,
            pad: int = 64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The messages ``buf[at[i]:at[i] + length[i]]`` cut to ``width`` bytes, one after another in a new
    buffer (one gather) followed by ``pad`` zeros (what a read of that many bytes from a message's end
    needs): that buffer, where each message starts in it and where it stops."""
    start = np.arange(len(at), dtype=np.int64) * width
    out = np.zeros(len(at) * width + pad, np.uint8)
    out[:len(at) * width] = byte_rows(buf, at, width).ravel()
    return out, start, start + np.minimum(length, width)


def _string_length(rows: np.ndarray) -> np.ndarray:
    """Per row, the bytes before the first one a plain string value cannot hold (``"``, ``\\``, not
    printable ASCII): the value's length when that byte is its closing quote."""
    return _first(((rows - np.uint8(32)) >= 95) | (rows == 34) | (rows == 92))


def _ints(buf: np.ndarray, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """The integers written in ``buf[start[i]:start[i] + length[i]]`` (1-18 digits each), those of
    each length together (a stream writes its times and ids at one or two lengths)."""
    value = np.zeros(len(start), np.int64)
    for size in np.flatnonzero(np.bincount(length)):
        rows = np.flatnonzero(length == size) if size != length[0] or (length != size).any() else slice(None)
        total = np.zeros(len(value[rows]), np.int64)
        for column in _gather(buf, start[rows], size).T.copy():  # Horner, one contiguous digit column at a time
            total = total * 10 + column
        value[rows] = total - 48 * ((10 ** int(size) - 1) // 9)  # the "0"s of every digit taken off at once
    return value


def _layout_values(buf: np.ndarray, spans: dict, ok: np.ndarray, sources: dict[str, Value | None]) -> dict[str, tuple]:
    """Each field of the lines where ``ok`` holds, from their values' spans: integers, booleans, or
    strings as their lengths and bytes one after another (absent fields: nothing)."""
    out = {}
    for name, value in sources.items():
        if value is None:
            continue
        start, length = spans[value.path]
        start, length = start[ok], length[ok]
        if value.kind == _INT:
            out[name] = (_ints(buf, start, length),)
        elif value.kind == _STR:
            width = int(length.max(initial=0))
            out[name] = (length, _gather(buf, start, width)[np.arange(width) < length[:, None]])  # row by row
        else:
            out[name] = (buf[start] == ord("t"),)
    return out


def _arrow_values(pieces: list[tuple], kind: pa.DataType, n: int) -> pa.Array:
    """The pieces of one field from :func:`_layout_values` (none: all null) as one Arrow array."""
    if not pieces:
        return pa.nulls(n, kind)
    if len(pieces[0]) == 1:
        return pa.array(np.concatenate([piece[0] for piece in pieces]), kind)
    offsets = np.r_[0, np.cumsum(np.concatenate([length for length, _ in pieces]))]
    data = np.concatenate([data for _, data in pieces])
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


def _merged(pieces: list[tuple[np.ndarray, pa.Array]], n: int) -> pa.Array:
    """One array of ``n`` values from pieces ``(positions, values)`` that together cover 0..n-1 once."""
    if len(pieces) == 1:
        at, values = pieces[0]
        if np.array_equal(at, np.arange(n)):
            return values
    at = np.concatenate([at for at, _ in pieces])
    kinds = {values.type for _, values in pieces}
    kind = pa.large_string() if pa.large_string() in kinds else kinds.pop()  # strings cut from the bytes, or read as JSON
    values = pa.concat_arrays([values.cast(kind) for _, values in pieces])
    return values.take(pa.array(np.argsort(at, kind="stable")))


def _first_failing(n: int, attempt) -> int:
    """The first i in ``range(n)`` where ``attempt(lo, hi)`` fails on ``[lo, hi)`` (given it fails on
    all n): bisection, a few calls instead of one per row."""
    lo, hi = 0, n
    while hi - lo > 1:
        mid = (lo + hi) // 2
        try:
            attempt(lo, mid)
        except (pa.ArrowInvalid, OrderFlowError):
            hi = mid
        else:
            lo = mid
    return lo


def _schema(fields: dict[str, pa.DataType]) -> pa.Schema:
    """A message's fields at the top level (bare) and under ``data`` (wrapped)."""
    return pa.schema([*fields.items(), ("data", pa.struct(list(fields.items())))])


def _blank(buf: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
    """Overwrite ``buf[lo[i]:hi[i]]`` with spaces for every i, without a loop per range."""
    length = hi - lo
    keep = length > 0
    lo, length = lo[keep], length[keep]
    if not len(lo):
        return
    first = np.cumsum(length) - length
    buf[np.repeat(lo - first, length) + np.arange(int(length.sum()))] = 32


def _numbers(text: pa.Array, what: str, path: Path, line: np.ndarray) -> np.ndarray:
    """Text -> float64 by Arrow's cast; a value it cannot read is named with its line number."""
    try:
        return pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:
        bad = _first_failing(len(text), lambda lo, hi: pc.cast(text[lo:hi], pa.float64()))
        raise OrderFlowError(f"unreadable {what} in the capture", source=path, column=what, row=int(line[bad]),
                             value=text[bad].as_py()) from None


def _stamps(ms: np.ndarray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex((ms.astype(np.int64) * 1_000_000).view("M8[ns]")).tz_localize("UTC")


class _Heads:
    """A block of messages ``buf[at[i]:at[i] + size[i]]`` and their first :data:`_HEAD` bytes (one
    gather: the :func:`windows` the usual layouts' event type and symbol are matched in)."""

    def __init__(self, buf: np.ndarray, at: np.ndarray, size: np.ndarray):
        self.buf, self.at, self.size = buf, at, size
        self.window, self.start, self.stop = windows(buf, at, size, _HEAD, _HEAD + 8)
        self.words = self.window[:len(at) * _HEAD].reshape(len(at), _HEAD)[:, :64].view(np.uint64)

    def matching(self, layout: MessageLayout, left: np.ndarray) -> np.ndarray:
        """Which of the messages where ``left`` holds begin with ``layout``'s event type and symbol."""
        found = np.flatnonzero(left & _may_start_with(self.words, layout.parts[0]))
        if layout.width(layout.classify_end) <= _HEAD:
            return found[layout.match(self.window, self.start[found], self.stop[found], layout.classify_end)[0]]
        return found[layout.classifies(self.buf, self.at[found], self.size[found])]


class _Capture:
    """A capture's bytes, lines and each line's event type and symbol (:meth:`classify`)."""

    def __init__(self, path: Path, text: bytes | None = None):
        self.path = path
        self.buf = np.frombuffer(_text(path) if text is None else text, np.uint8)
        self.lines = split_capture(self.buf)
        self.begin = self.lines.start + self.lines.json_at
        self.classify()

    @cached_property
    def text(self) -> pa.LargeStringArray:
        """The lines (from their first byte to the next line's) as an Arrow array over the same buffer."""
        offsets = np.r_[self.lines.start, len(self.buf)].astype(np.int64)
        return pa.LargeStringArray.from_buffers(len(self.lines.start), pa.py_buffer(offsets), pa.py_buffer(self.buf))

    def classify(self) -> None:
        """``code`` (per line, into ``kinds``: event types by first appearance, None for lines without
        one) and ``layouts`` (each learned :class:`MessageLayout` and its lines); raises when the
        capture holds several symbols.

        The lines are taken in blocks (their first :data:`_HEAD` bytes gathered once, a cache-sized
        block at a time); each layout is learned from the first line that no earlier layout
        matched and matched against all the block's lines left (a loop per layout, a handful per
        capture); lines that teach none, and all lines left after :data:`MAX_LAYOUTS` layouts or
        :data:`_MAX_MISSES` lines that taught none, are read by :func:`string_field`."""
        buf, lines, n = self.buf, self.lines, len(self.lines.start)
        rows = np.flatnonzero(lines.is_json)
        length = lines.end[rows] - self.begin[rows]
        follows = np.full(len(rows), -1)  # the layout each JSON line follows
        layouts: list[MessageLayout] = []
        misses = 0
        for block in _blocks(len(rows), _HEAD):
            heads = _Heads(buf, self.begin[rows[block]], length[block])
            left = np.ones(len(heads.at), bool)
            for k, layout in enumerate(layouts):
                found = heads.matching(layout, left)
                follows[block.start + found], left[found] = k, False
            while left.any() and len(layouts) < MAX_LAYOUTS and misses < _MAX_MISSES:
                first = int(left.argmax())
                layout = MessageLayout.learn(buf[heads.at[first]:heads.at[first] + heads.size[first]].tobytes())
                found = heads.matching(layout, left) if layout is not None else np.zeros(0, np.int64)
                if not len(found) or found[0] != first:  # no layout (or, were it possible, one its own line does not follow)
                    misses += 1
                    left[first] = False
                    continue
                follows[block.start + found], left[found] = len(layouts), False
                layouts.append(layout)
        self.layouts = [(layout, rows[follows == k]) for k, layout in enumerate(layouts)]
        rest = rows[follows < 0]
        names: dict[bytes, int] = {b"": 0}
        code = np.zeros(n, np.int64)
        symbols = [(held[0], layout.symbol) for layout, held in self.layouts if layout.symbol]
        for layout, held in self.layouts:
            code[held] = names.setdefault(layout.kind, len(names))
        if len(rest):
            text = self.text.take(pa.array(rest))
            kind = string_field(buf, text, lines.start[rest], lines.stop[rest], "e")
            values, inverse = np.unique(kind, return_inverse=True)
            code[rest] = np.array([names.setdefault(v, len(names)) for v in values])[inverse]  # per distinct value
            values, first = np.unique(string_field(buf, text, lines.start[rest], lines.stop[rest], "s"), return_index=True)
            symbols += [(rest[i], v) for i, v in zip(first, values) if v]
        present = [(int(hit.argmax()), c) for c in range(len(names)) if (hit := code == c).any()]
        rank = np.zeros(len(names), np.int64)
        rank[[c for _, c in sorted(present)]] = np.arange(len(present))
        self.code = rank[code]
        by_code = {c: name for name, c in names.items()}
        self.kinds = [by_code[c].decode("utf-8", "replace") or None for _, c in sorted(present)]
        distinct = list(dict.fromkeys(s.decode("utf-8", "replace") for _, s in sorted(symbols)))
        if len(distinct) > 1:
            raise OrderFlowError(f"the capture holds {len(distinct)} symbols ({distinct[:5]}); ticks are one "
                                 "instrument: split it by symbol first", source=self.path)

    def messages(self, kinds: tuple[str, ...], fields: dict[str, pa.DataType]) -> tuple[dict, dict[str, pa.Array]]:
        """The lines of these event kinds: their base columns (``timestamp``, ``receive_time``,
        ``line``) and their ``fields`` and ``stream``, in file order. Lines that follow a complete
        layout are read from their bytes (:meth:`MessageLayout.match`), the others by pyarrow's JSON
        reader (:meth:`json_fields`)."""
        line = np.flatnonzero(np.isin(np.array(self.kinds, object), kinds)[self.code])
        index = np.zeros(len(self.code), np.int64)
        index[line] = np.arange(len(line))  # a line's place among these
        fields = {**_TIME_FIELDS, **fields}
        pieces: list[tuple[np.ndarray, dict[str, pa.Array]]] = []
        done = np.zeros(len(line), bool)
        for layout, rows in self.layouts:
            sources = layout.sources(fields) if layout.kind.decode("utf-8", "replace") in kinds else None
            if sources is None:
                continue
            ok, got = layout.read(self.buf, self.begin[rows], self.lines.end[rows] - self.begin[rows], sources, fields)
            at = index[rows[ok]]
            pieces.append((at, got))
            done[at] = True
        rest = np.flatnonzero(~done)
        if len(rest):
            pieces.append((rest, self.json_fields(line[rest], fields)))
        values = {name: _merged([(at, got[name]) for at, got in pieces], len(line)) if pieces else pa.array([], kind)
                  for name, kind in fields.items()}
        ms = pc.coalesce(values.pop("T"), values.pop("E"))
        if ms.null_count:
            bad = int(np.flatnonzero(ms.is_null().to_numpy(zero_copy_only=False))[0])
            raise OrderFlowError("unreadable T in the capture (no T or E)", source=self.path, column="T",
                                 row=int(self.lines.number[line[bad]]))
        return {"timestamp": _stamps(ms.to_numpy()),
                "receive_time": pd.DatetimeIndex(self.lines.receive_of(line).view("M8[ns]")).tz_localize("UTC"),
                "line": self.lines.number[line]}, {**values, "stream": np.array(self.kinds, object)[self.code[line]]}

    def json_fields(self, line: np.ndarray, fields: dict[str, pa.DataType]) -> dict[str, pa.Array]:
        """``fields`` of these lines by pyarrow's JSON reader (their prefixes blanked in a copy: JSON
        allows the spaces), wrapped messages' ``data`` first; a line it cannot read is named."""
        try:
            return self._read_json(line, fields)
        except (pa.ArrowInvalid, OrderFlowError) as exc:
            failure = exc
        bad = _first_failing(len(line), lambda lo, hi: self._read_json(line[lo:hi], fields))
        row = None
        try:
            self._read_json(line[bad:bad + 1], fields)
        except (pa.ArrowInvalid, OrderFlowError) as exc:  # the first line it cannot read, alone
            failure, row = exc, int(self.lines.number[line[bad]])
        problem = failure.problem if isinstance(failure, OrderFlowError) else f"cannot read the capture: {failure}"
        raise OrderFlowError(problem, source=self.path, row=row) from None

    def _read_json(self, line: np.ndarray, fields: dict[str, pa.DataType]) -> dict[str, pa.Array]:
        picked = self.text.take(pa.array(line))
        ends = np.frombuffer(picked.buffers()[1], np.int64, count=len(line) + 1, offset=picked.offset * 8)
        body = np.frombuffer(picked.buffers()[2], np.uint8)[ends[0]:ends[-1]].copy()
        starts = ends[:-1] - ends[0]
        _blank(body, starts, starts + self.lines.json_at[line])
        block = min(max(len(body) // 64, 1 << 16), 1 << 24)  # small blocks spread a small file over the threads
        table = pajson.read_json(pa.BufferReader(pa.py_buffer(body)), read_options=pajson.ReadOptions(block_size=block),
                                 parse_options=pajson.ParseOptions(explicit_schema=_schema(fields),
                                                                   unexpected_field_behavior="ignore"))
        if table.num_rows != len(line):
            raise OrderFlowError(f"cannot read the capture: {table.num_rows:,} JSON messages in {len(line):,} lines")
        data = table["data"]
        return {name: pc.coalesce(pc.struct_field(data, name), table[name]).combine_chunks() for name in fields}


def read_binance_stream(path: str | Path, quotes: bool = True, trades: bool = True, *, text: bytes | None = None,
                        trade_ids: bool = False) -> dict[str, pd.DataFrame]:
    """A capture -> ``{"trades": ..., "quotes": ...}``, each in file order with ``timestamp``
    (exchange time ``T``, else ``E``), ``receive_time`` (the line's prefix; NaT without one) and the
    message's line number ``line`` (1-based). Trades: ``price, size, side, stream``
    (``trade``/``aggTrade``), with ``attrs["counts"]``: messages per event type (``other`` for lines
    without one: REST snapshots, lines that are not JSON); quotes: ``bid, ask, bid_size, ask_size``.
    ``quotes=False`` / ``trades=False`` leave one out (and skip its parsing). ``text``: the
    capture's lines already in memory (a live stream's latest messages, :mod:`data.live.bars`);
    ``path`` then only names them in messages. ``trade_ids``: trades also get ``trade_id``
    (the message's ``t``, -1 where it has none, as ``@aggTrade`` messages).

    Speed: the file is split into lines and the receive-time prefixes read with numpy
    (:func:`split_capture`); each line's event type and symbol come from the :class:`MessageLayout`
    it follows (learned from one line of each kind, matched against all lines at once with byte
    matrices), and the fields of the trade (and, when asked, ``@bookTicker``) lines are cut
    from their bytes the same way, the numbers converted by Arrow's cast. Lines that follow no
    layout go through a substring search and pyarrow's JSON reader. Depth diffs (most of a
    capture's bytes) are never parsed. No loop or ``json.loads`` per message."""
    path = Path(path)
    capture = _Capture(path, text)
    out = {}
    if trades:
        base, values = capture.messages(("trade", "aggTrade"), {**_TRADE_FIELDS, **(_ID_FIELD if trade_ids else {})})
        buyer_maker = pc.fill_null(values["m"], False).to_numpy(zero_copy_only=False)
        line = base["line"]
        out["trades"] = pd.DataFrame({
            **base,
            "price": _numbers(values["p"], "p", path, line),
            "size": _numbers(values["q"], "q", path, line),
            "side": np.where(buyer_maker, -1, 1).astype(np.int8),
            "stream": values["stream"],
            **({"trade_id": pc.fill_null(values["t"], -1).to_numpy(zero_copy_only=False)} if trade_ids else {}),
        }, copy=False)
        counts = np.bincount(capture.code, minlength=len(capture.kinds))
        out["trades"].attrs["counts"] = {k or "other": int(c) for k, c in zip(capture.kinds, counts)}
    if not quotes:
        return out
    base, values = capture.messages(("bookTicker",), _QUOTE_FIELDS)
    line = base["line"]
    return {**out, "quotes": pd.DataFrame({
        **base,
        "bid": _numbers(values["b"], "b", path, line),
        "ask": _numbers(values["a"], "a", path, line),
        "bid_size": _numbers(values["B"], "B", path, line),
        "ask_size": _numbers(values["A"], "A", path, line),
    }, copy=False)}


def read_stream_ticks(path: Path, pick: ColumnPicker | None = None) -> ReadResult:
    """A capture -> ticks (see the module docstring); every line is accounted for in the report."""
    trades = read_binance_stream(path, quotes=False)["trades"]
    n_lines = sum(trades.attrs["counts"].values())
    if trades.empty:
        raise OrderFlowError(f"no @trade or @aggTrade messages among the {n_lines:,} lines: a capture of book "
                             "streams only is quotes (use data.load_quotes / --quotes)", source=path)
    frame = pd.DataFrame({c: trades[c] for c in ("timestamp", "price", "size", "side")})
    rejects = {}
    is_agg = (trades["stream"] == "aggTrade").to_numpy()
    if is_agg.any() and not is_agg.all():
        rejects["aggregate_duplicate"] = is_agg
    gaps = trades.attrs["counts"].get(GAP_KIND, 0)
    other = n_lines - len(trades)
    if other:  # lines that are not trades: one placeholder row each, so that the report counts them
        pad = pd.DataFrame({"timestamp": pd.Series(pd.NaT, index=range(other), dtype="datetime64[ns, UTC]"),
                            "price": np.nan, "size": np.nan, "side": np.int8(0)})
        frame = pd.concat([frame, pad], ignore_index=True)
        rejects = {k: np.r_[v, np.zeros(other, bool)] for k, v in rejects.items()}
        rejects["book_update"] = np.r_[np.zeros(len(trades), bool), np.ones(other - gaps, bool), np.zeros(gaps, bool)]
        if gaps:
            rejects["recorder_gap"] = np.r_[np.zeros(n_lines - gaps, bool), np.ones(gaps, bool)]
    notes = ["Binance capture: stamped with the exchange's time T, not the receive time; "
             f"messages {trades.attrs['counts']}"]
    if gaps:
        notes.append(f"the recorder noted {gaps:,} gap(s) in this capture (lines {{\"e\":\"{GAP_KIND}\"...}}: "
                     "messages lost while it reconnected, with the last trade id before and the first after)")
    return ReadResult(frame, rejects=rejects, notes=notes)


def capture_messages(path: str | Path) -> pd.DataFrame:
    """Every exchange message of a capture, in file order: ``timestamp`` (the exchange's time ``T``,
    else ``E``), ``kind`` (its event type), ``line`` (1-based) and ``text`` (the message as
    recorded, without the receive-time prefix): what a replay sends (:mod:`data.live.replay`).
    Lines without an event type (REST snapshots, replies) and a recorder's gap notes are left out."""
    path = Path(path)
    capture = _Capture(path)
    kinds = tuple(k for k in capture.kinds if k and k != GAP_KIND)
    base, values = capture.messages(kinds, {})
    rows = np.searchsorted(capture.lines.number, base["line"])
    begin, end = (capture.lines.start + capture.lines.json_at)[rows], capture.lines.end[rows]
    raw = capture.buf.tobytes()
    text = [raw[b:e].decode("utf-8", "replace") for b, e in zip(begin.tolist(), end.tolist())]
    return pd.DataFrame({"timestamp": base["timestamp"], "kind": values["stream"], "line": base["line"], "text": text})


def read_stream_quotes(path: Path) -> pd.DataFrame:
    """A capture -> the @bookTicker quotes at the exchange's time."""
    quotes = read_binance_stream(path, trades=False)["quotes"]
    return quotes[["timestamp", "bid", "ask", "bid_size", "ask_size"]]


register_format("binance_bookticker", _not_trades, detect=_is_bookticker)
register_quote_reader("binance_bookticker", read_bookticker_quotes)
register_format("binance_stream", read_stream_ticks, detect=_is_stream)
register_quote_reader("binance_stream", read_stream_quotes)
