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
Other messages (depth diffs, REST snapshots) are counted as ``book_update`` and skipped.
Speed (see :func:`read_binance_stream`): lines, receive-time prefixes, event types and
symbols are found with numpy over the whole decompressed buffer; only the lines a caller
needs (trades, or bookTicker quotes) are parsed, by pyarrow's JSON reader. No Python loop
or ``json.loads`` per message; the file is held in memory whole (twice: the text and a
writable copy).
"""
from __future__ import annotations

import gzip
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson
from numpy.lib.stride_tricks import sliding_window_view

from data.errors import OrderFlowError
from data.reading.loader import ColumnPicker, ReadResult, head_text, read_csv, read_header, read_problem, register_format
from data.reading.quotes import register_quote_reader

__all__ = ["BOOKTICKER_COLUMNS", "CaptureLines", "NO_PREFIX", "byte_rows", "split_capture", "string_field",
           "read_binance_stream", "read_stream_ticks", "read_stream_quotes"]

BOOKTICKER_COLUMNS = ("update_id", "best_bid_price", "best_bid_qty", "best_ask_price", "best_ask_qty",
                      "transaction_time", "event_time")
_LINE = re.compile(r'^\s*(\d{10,20}\s+)?\{.*"e"\s*:\s*"(trade|aggTrade|bookTicker|depthUpdate)"')


def _is_bookticker(path: Path) -> bool:
    names = [n.strip().lower() for n in read_header(path)[0]]  # unreadable: OrderFlowError, "not mine" to format_for
    return names[:len(BOOKTICKER_COLUMNS) - 1] == list(BOOKTICKER_COLUMNS[:-1])


def _is_stream(path: Path) -> bool:
    lines = [line for line in head_text(path).splitlines()[:20] if line.strip()]
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
_QUOTE_FIELDS = {"b": pa.string(), "B": pa.string(), "a": pa.string(), "A": pa.string()}


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
    its 1-based line number in the file (empty lines are skipped); ``receive``: the receive-time
    prefix in ns (:data:`NO_PREFIX` where absent); ``json_at``: where the message starts (after
    the prefix and spaces); ``is_json``: the message starts with ``{`` and ends with ``}``.
    """

    start: np.ndarray
    stop: np.ndarray
    number: np.ndarray
    receive: np.ndarray
    json_at: np.ndarray
    is_json: np.ndarray


NO_PREFIX = np.iinfo(np.int64).min


def byte_rows(buf: np.ndarray, at: np.ndarray, width: int) -> np.ndarray:
    """``buf[at[i]:at[i] + width]`` for every i as a (len(at), width) matrix, 0 past the buffer's end
    (rows of a sliding-window view: one copy, no index matrix)."""
    out = np.zeros((len(at), width), np.uint8)
    whole = at <= len(buf) - width
    if whole.any():
        out[whole] = sliding_window_view(buf, width)[at[whole]]
    tail = at[~whole, None] + np.arange(width)
    out[~whole] = np.where(tail < len(buf), buf[np.clip(tail, 0, max(len(buf) - 1, 0))], 0) if len(buf) else 0
    return out


def _first(mask: np.ndarray) -> np.ndarray:
    """Per row, the first column where ``mask`` holds (the width when none)."""
    return np.where(mask.any(axis=1), mask.argmax(axis=1), mask.shape[1])


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
    if np.any(value[prefixed] > np.uint64(np.iinfo(np.int64).max)):
        raise OrderFlowError("a receive-time prefix does not fit in int64 nanoseconds")
    return np.where(prefixed, value.astype(np.int64), NO_PREFIX), json_at


def split_capture(buf: np.ndarray) -> CaptureLines:
    r"""Locate each line of ``buf`` (uint8) and its parts (:class:`CaptureLines`).

    The prefix is what the regular expression ``^\s*(\d{10,20})\s+`` matches (its digits read as
    int64 ns), found with whole-array operations, not line by line: lines of the file's usual shape
    (``D`` digits, one space, ``{``, as in its first lines) by one gather per digit column, the
    others by :func:`_prefixes` on a byte matrix."""
    newline = np.flatnonzero(buf == 10)
    start = np.r_[0, newline + 1]
    stop = np.r_[newline, len(buf)]
    nonempty = stop > start
    number = np.flatnonzero(nonempty) + 1
    start, stop = start[nonempty], stop[nonempty]
    receive = np.full(len(start), NO_PREFIX)
    json_at = np.zeros(len(start), np.int64)
    rest = np.ones(len(start), bool)
    sample_receive, sample_at = _prefixes(buf, start[:64], stop[:64])
    usual = sample_at[sample_receive != NO_PREFIX]
    width = int(np.bincount(usual).argmax()) - 1 if len(usual) else 0  # digits of the usual prefix
    if 10 <= width <= 19:  # up to 19 digits fit in uint64
        head = byte_rows(buf, start, width + 2)
        digits = (head[:, :width] - np.uint8(48)).T.copy()  # one row per digit column: contiguous passes
        idx = np.flatnonzero((stop - start > width + 1) & (head[:, width] == 32) & (head[:, width + 1] == ord("{"))
                             & (digits < 10).all(axis=0))
        value = np.zeros(len(idx), np.uint64)
        for row in digits[:, idx]:
            value = value * np.uint64(10) + row
        fits = value <= np.uint64(np.iinfo(np.int64).max)  # the others raise below
        idx = idx[fits]
        receive[idx], json_at[idx], rest[idx] = value[fits].astype(np.int64), width + 1, False
    rows = np.flatnonzero(rest)
    receive[rows], json_at[rows] = _prefixes(buf, start[rows], stop[rows])
    begin = start + json_at
    last = stop - 1
    while True:  # the last non-space byte of each line (trailing "\r" or spaces are rare: few passes)
        trailing = (last >= begin) & np.isin(buf[np.maximum(last, 0)], _SPACE)
        if not trailing.any():
            break
        last = last - trailing
    is_json = (json_at < _PREFIX_WIDTH) & (last > begin) & (buf[np.minimum(begin, len(buf) - 1)] == ord("{")) \
        & (buf[np.maximum(last, 0)] == ord("}"))
    return CaptureLines(start, stop, number, receive, json_at, is_json)


def string_field(buf: np.ndarray, lines: pa.LargeStringArray, start: np.ndarray, stop: np.ndarray, key: str,
                 width: int = 32, expect: tuple[bytes, ...] = ()) -> np.ndarray:
    r"""The text value of the first ``"key"`` in each line ``buf[start[i]:stop[i]]`` (``lines`` is the
    same lines as an Arrow array) when it reads ``"key"\s*:\s*"value"`` (``b""`` otherwise, or when
    the value is longer than ``width``), as ``S{width}`` bytes: what ``json.loads(line)`` gives for a
    one-letter key of a flat or wrapped Binance message. The key is found by Arrow's substring search
    (it leads each message: a few bytes per line); values in ``expect`` written compactly
    (``"k":"value"``) are recognised by one gather per byte, the rest read from a byte matrix."""
    found = pc.find_substring(lines, f'"{key}"').to_numpy(zero_copy_only=False)
    line = np.flatnonzero(found >= 0)
    at = start[line] + found[line]
    out = np.zeros(len(start), f"S{width}")
    rest = np.ones(len(line), bool)
    patterns = [np.frombuffer(f'"{key}":"'.encode() + name + b'"', np.uint8) for name in expect]
    rows = byte_rows(buf, at, max(map(len, patterns), default=0))
    for name, pattern in zip(expect, patterns):
        hit = rest & (rows[:, :len(pattern)] == pattern).all(axis=1) & (at + len(pattern) <= stop[line])
        out[line[hit]] = name
        rest &= ~hit
    line, at = line[rest], at[rest]
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


def _codes(values: np.ndarray, common: tuple[bytes, ...]) -> tuple[np.ndarray, list[bytes]]:
    """Codes of byte strings and the distinct values in order of first appearance; the ``common``
    values are matched by comparison (cheap), only the rest go through a sort."""
    code = np.full(len(values), -1, np.int64)
    names: list[bytes] = []
    for name in common:
        hit = values == name
        if hit.any():
            code[hit] = len(names)
            names.append(name)
    rest = code < 0
    if rest.any():
        others, inverse = np.unique(values[rest], return_inverse=True)
        code[rest] = len(names) + inverse
        names += list(others)
    first_seen = np.full(len(names), len(values))
    np.minimum.at(first_seen, code, np.arange(len(values)))
    order = np.argsort(first_seen, kind="stable")
    rank = np.empty(len(names), np.int64)
    rank[order] = np.arange(len(names))
    return rank[code], [names[i] for i in order]


def _blank(buf: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
    """Overwrite ``buf[lo[i]:hi[i]]`` with spaces for every i, without a loop per range."""
    length = hi - lo
    keep = length > 0
    lo, length = lo[keep], length[keep]
    if not len(lo):
        return
    first = np.cumsum(length) - length
    buf[np.repeat(lo - first, length) + np.arange(int(length.sum()))] = 32


def _schema(fields: dict[str, pa.DataType]) -> pa.Schema:
    """A message's fields at the top level (bare) and under ``data`` (wrapped)."""
    return pa.schema([*fields.items(), ("data", pa.struct(list(fields.items())))])


def _read_json(buffer: pa.Buffer, fields: dict[str, pa.DataType], path: Path, rows: int) -> dict[str, pa.ChunkedArray]:
    """``fields`` of each of the ``rows`` non-blank JSON lines in ``buffer``, wrapped messages' ``data`` first."""
    try:
        block = min(max(buffer.size // 64, 1 << 16), 1 << 24)  # small blocks spread a small file over the threads
        table = pajson.read_json(pa.BufferReader(buffer), read_options=pajson.ReadOptions(block_size=block),
                                 parse_options=pajson.ParseOptions(explicit_schema=_schema(fields),
                                                                   unexpected_field_behavior="ignore"))
    except pa.ArrowInvalid as exc:
        raise OrderFlowError(f"cannot read the capture: {exc}", source=path) from None
    if table.num_rows != rows:
        raise OrderFlowError(f"cannot read the capture: {table.num_rows:,} JSON messages in {rows:,} lines", source=path)
    data = table["data"]
    return {name: pc.coalesce(pc.struct_field(data, name), table[name]) for name in fields}


def _numbers(text: pa.ChunkedArray, what: str, path: Path) -> np.ndarray:
    try:
        return pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:
        raise OrderFlowError(f"unreadable {what} in the capture", source=path, column=what) from None


def _stamps(ms: np.ndarray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex((ms.astype(np.int64) * 1_000_000).view("M8[ns]")).tz_localize("UTC")


def read_binance_stream(path: str | Path, quotes: bool = True, trades: bool = True) -> dict[str, pd.DataFrame]:
    """A capture -> ``{"trades": ..., "quotes": ...}``, each in file order with ``timestamp``
    (exchange time ``T``, else ``E``), ``receive_time`` (the line's prefix; NaT without one) and the
    message's line number ``line`` (1-based). Trades: ``price, size, side, stream``
    (``trade``/``aggTrade``), with ``attrs["counts"]``: messages per event type (``other`` for lines
    without one: REST snapshots, lines that are not JSON); quotes: ``bid, ask, bid_size, ask_size``.
    ``quotes=False`` / ``trades=False`` leave one out (and skip its parsing).

    Speed: the file is split into lines and the receive-time prefixes read with numpy
    (:func:`split_capture`); each message's event type and symbol are found from the positions of
    ``"e"`` and ``"s"`` in the whole buffer (:func:`string_field`); then only the trade lines (and,
    when asked, the ``@bookTicker`` lines) are gathered, their prefixes blanked, and parsed by
    pyarrow's JSON reader with only the fields used. Depth diffs (most of a capture's bytes) are
    never parsed. No loop or ``json.loads`` per message."""
    path = Path(path)
    buf = np.frombuffer(bytearray(_text(path)), np.uint8)
    lines = split_capture(buf)
    begin = lines.start + lines.json_at
    text = pa.LargeStringArray.from_buffers(len(lines.start), pa.py_buffer(np.r_[lines.start, len(buf)].astype(np.int64)),
                                            pa.py_buffer(buf))
    usual = (b"bookTicker", b"trade", b"depthUpdate", b"aggTrade")
    names = string_field(buf, text, lines.start, lines.stop, "e", expect=usual)
    names[~lines.is_json] = b""
    code, kinds = _codes(names, (*usual, b""))
    kinds_of = np.array([k.decode("utf-8", "replace") or None for k in kinds], object)
    first = string_field(buf, text[:64], lines.start[:64], lines.stop[:64], "s")  # the usual symbol
    symbols = string_field(buf, text, lines.start, lines.stop, "s", expect=tuple(set(first) - {b""}))[lines.is_json]
    symbols = symbols[symbols != b""]
    if len(symbols) and (symbols != symbols[0]).any():
        symbols = [s.decode("utf-8", "replace") for s in _codes(symbols, ())[1]]
        raise OrderFlowError(f"the capture holds {len(symbols)} symbols ({symbols[:5]}); ticks are one "
                             "instrument: split it by symbol first", source=path)

    def parse(kinds: tuple[str, ...], fields: dict[str, pa.DataType]) -> tuple[dict, dict[str, pa.ChunkedArray]]:
        """The lines of these event kinds: their base columns and their ``fields`` (one JSON parse)."""
        line = np.flatnonzero(np.isin(code, np.flatnonzero(np.isin(kinds_of, kinds))))
        _blank(buf, lines.start[line], begin[line])  # the prefixes: JSON allows the spaces
        picked = text.take(pa.array(line))
        ends = np.frombuffer(picked.buffers()[1], np.int64, count=len(line) + 1, offset=picked.offset * 8)
        body = picked.buffers()[2].slice(int(ends[0]), int(ends[-1] - ends[0])) if len(line) else pa.py_buffer(b"")
        values = _read_json(body, {"T": pa.int64(), "E": pa.int64(), **fields}, path, len(line))
        ms = pc.coalesce(values["T"], values["E"])
        if ms.null_count:
            raise OrderFlowError("unreadable T in the capture (no T or E)", source=path, column="T")
        return {"timestamp": _stamps(ms.to_numpy()),
                "receive_time": pd.DatetimeIndex(lines.receive[line].view("M8[ns]")).tz_localize("UTC"),
                "line": lines.number[line]}, {**values, "stream": kinds_of[code[line]]}

    out = {}
    if trades:
        base, values = parse(("trade", "aggTrade"), {"p": pa.string(), "q": pa.string(), "m": pa.bool_()})
        buyer_maker = pc.fill_null(values["m"], False).to_numpy(zero_copy_only=False)
        out["trades"] = pd.DataFrame({
            **base,
            "price": _numbers(values["p"], "p", path),
            "size": _numbers(values["q"], "q", path),
            "side": np.where(buyer_maker, -1, 1).astype(np.int8),
            "stream": values["stream"],
        }, copy=False)
        counts = np.bincount(code, minlength=len(kinds_of))
        out["trades"].attrs["counts"] = {k or "other": int(c) for k, c in zip(kinds_of, counts)}
    if not quotes:
        return out
    base, values = parse(("bookTicker",), _QUOTE_FIELDS)
    return {**out, "quotes": pd.DataFrame({
        **base,
        "bid": _numbers(values["b"], "b", path),
        "ask": _numbers(values["a"], "a", path),
        "bid_size": _numbers(values["B"], "B", path),
        "ask_size": _numbers(values["A"], "A", path),
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
    other = n_lines - len(trades)
    if other:  # lines that are not trades: one placeholder row each, so that the report counts them
        pad = pd.DataFrame({"timestamp": pd.Series(pd.NaT, index=range(other), dtype="datetime64[ns, UTC]"),
                            "price": np.nan, "size": np.nan, "side": np.int8(0)})
        frame = pd.concat([frame, pad], ignore_index=True)
        rejects = {k: np.r_[v, np.zeros(other, bool)] for k, v in rejects.items()}
        rejects["book_update"] = np.r_[np.zeros(len(trades), bool), np.ones(other, bool)]
    notes = ["Binance capture: stamped with the exchange's time T, not the receive time; "
             f"messages {trades.attrs['counts']}"]
    return ReadResult(frame, rejects=rejects, notes=notes)


def read_stream_quotes(path: Path) -> pd.DataFrame:
    """A capture -> the @bookTicker quotes at the exchange's time."""
    quotes = read_binance_stream(path, trades=False)["quotes"]
    return quotes[["timestamp", "bid", "ask", "bid_size", "ask_size"]]


register_format("binance_bookticker", _not_trades, detect=_is_bookticker)
register_quote_reader("binance_bookticker", read_bookticker_quotes)
register_format("binance_stream", read_stream_ticks, detect=_is_stream)
register_quote_reader("binance_stream", read_stream_quotes)
