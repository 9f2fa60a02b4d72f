"""Binance ``bookTicker`` CSV dumps and raw Binance WebSocket captures.

``binance_bookticker``: data.binance.vision futures ``bookTicker`` dumps, header
``update_id, best_bid_price, best_bid_qty, best_ask_price, best_ask_qty,
transaction_time, event_time``: quotes stamped with ``transaction_time`` (ms). They
hold no trades (load the ``trades``/``aggTrades`` dump of the same day as ticks, see
:mod:`data.formats`, and these with ``load_quotes`` / ``--quotes``).

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
Fields are pulled from each line with RE2 regular expressions in pyarrow: no Python
loop or ``json.loads`` per message.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ..errors import OrderFlowError
from ..loader import ColumnPicker, ReadResult, _head_text, _header, read_csv, register_format
from ..quotes import register_quote_reader

__all__ = ["BOOKTICKER_COLUMNS", "read_binance_stream", "read_stream_ticks", "read_stream_quotes"]

BOOKTICKER_COLUMNS = ("update_id", "best_bid_price", "best_bid_qty", "best_ask_price", "best_ask_qty",
                      "transaction_time", "event_time")
_HEAD = 160
_LINE = re.compile(r'^\s*(\d{10,20}\s+)?\{.*"e"\s*:\s*"(trade|aggTrade|bookTicker|depthUpdate)"')


def _is_bookticker(path: Path) -> bool:
    try:
        names = [n.strip().lower() for n in _header(path)[0]]
    except (OSError, pa.ArrowException, OrderFlowError):  # not a text file (Parquet, binary): not this format
        return False
    return names[:len(BOOKTICKER_COLUMNS) - 1] == list(BOOKTICKER_COLUMNS[:-1])


def _is_stream(path: Path) -> bool:
    try:
        lines = [line for line in _head_text(path).splitlines()[:20] if line.strip()]
    except (OSError, pa.ArrowException):
        return False
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


def _lines(path: Path) -> pa.Array:
    """Every line of the (possibly compressed) file as one string array."""
    try:
        table = pacsv.read_csv(
            str(path),
            read_options=pacsv.ReadOptions(column_names=["line"], block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter="\x1f", quote_char=False, escape_char=False),
            convert_options=pacsv.ConvertOptions(column_types={"line": pa.string()}))
    except (OSError, pa.ArrowInvalid) as exc:
        raise OrderFlowError(f"cannot read the capture: {exc}", source=path) from None
    return table["line"].combine_chunks()


def _field(lines: pa.Array, key: str, quoted: bool) -> pa.Array:
    """The value of ``"key":`` in each line (the first occurrence), as text; null where absent."""
    value = r'"(?P<v>[^"]*)"' if quoted else r"(?P<v>[^,}\s]*)"
    return pc.struct_field(pc.extract_regex(lines, rf'"{key}"\s*:\s*{value}'), [0])


def _numbers(text: pa.Array, what: str, path: Path, kind: pa.DataType | None = None) -> np.ndarray:
    try:
        return pc.cast(text, kind or pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:
        raise OrderFlowError(f"unreadable {what} in the capture", source=path, column=what) from None


def read_binance_stream(path: str | Path) -> dict[str, pd.DataFrame]:
    """A capture -> ``{"trades": ..., "quotes": ...}``, each in file order with ``timestamp``
    (exchange time), ``receive_time`` (the line's prefix; NaT without one) and the message's
    line number ``line`` (1-based). Trades: ``price, size, side, stream`` (``trade``/``aggTrade``);
    quotes: ``bid, ask, bid_size, ask_size``. Also ``counts``: messages per event type."""
    path = Path(path)
    lines = _lines(path)
    head = pc.utf8_slice_codeunits(lines, 0, _HEAD)  # the event type and symbol lead every message
    event = _field(head, "e", quoted=True)
    symbols = pc.unique(pc.drop_null(_field(head, "s", quoted=True))).to_pylist()
    if len(symbols) > 1:
        raise OrderFlowError(f"the capture holds {len(symbols)} symbols ({symbols[:5]}); ticks are one "
                             "instrument: split it by symbol first", source=path)
    prefix = pc.struct_field(pc.extract_regex(lines, r"^\s*(?P<v>\d{10,20})\s"), [0])
    receive = pc.cast(prefix, pa.int64()).to_numpy(zero_copy_only=False)

    def frame(kinds: tuple[str, ...]) -> tuple[pa.Array, np.ndarray, dict[str, np.ndarray]]:
        rows = np.flatnonzero(pc.is_in(event, pa.array(kinds)).to_numpy(zero_copy_only=False))
        sub = lines.take(pa.array(rows))
        t = _field(sub, "T", quoted=False)
        t = pc.if_else(pc.is_null(t), _field(sub, "E", quoted=False), t)
        ms = _numbers(t, "T", path, pa.int64())
        stamps = pd.DatetimeIndex((ms * 1_000_000).view("M8[ns]")).tz_localize("UTC")
        recv = pd.DatetimeIndex(np.where(np.isnan(receive[rows]), np.iinfo(np.int64).min,
                                         receive[rows]).astype(np.int64).view("M8[ns]")).tz_localize("UTC")
        return sub, rows, {"timestamp": stamps, "receive_time": recv, "line": rows + 1}

    sub, rows, base = frame(("trade", "aggTrade"))
    buyer_maker = pc.equal(_field(sub, "m", quoted=False), "true").to_numpy(zero_copy_only=False)
    trades = pd.DataFrame({
        **base,
        "price": _numbers(_field(sub, "p", quoted=True), "p", path),
        "size": _numbers(_field(sub, "q", quoted=True), "q", path),
        "side": np.where(buyer_maker, -1, 1).astype(np.int8),
        "stream": event.take(pa.array(rows)).to_numpy(zero_copy_only=False),
    }, copy=False)
    sub, rows, base = frame(("bookTicker",))
    quotes = pd.DataFrame({
        **base,
        "bid": _numbers(_field(sub, "b", quoted=True), "b", path),
        "ask": _numbers(_field(sub, "a", quoted=True), "a", path),
        "bid_size": _numbers(_field(sub, "B", quoted=True), "B", path),
        "ask_size": _numbers(_field(sub, "A", quoted=True), "A", path),
    }, copy=False)
    counts = pc.value_counts(pc.fill_null(event, "other")).to_pylist()
    trades.attrs["counts"] = {c["values"]: c["counts"] for c in counts}
    return {"trades": trades, "quotes": quotes}


def read_stream_ticks(path: Path, pick: ColumnPicker | None = None) -> ReadResult:
    """A capture -> ticks (see the module docstring); every line is accounted for in the report."""
    streams = read_binance_stream(path)
    trades = streams["trades"]
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
    quotes = read_binance_stream(path)["quotes"]
    return quotes[["timestamp", "bid", "ask", "bid_size", "ask_size"]]


register_format("binance_bookticker", _not_trades, detect=_is_bookticker)
register_quote_reader("binance_bookticker", read_bookticker_quotes)
register_format("binance_stream", read_stream_ticks, detect=_is_stream)
register_quote_reader("binance_stream", read_stream_quotes)
