"""LOBSTER message + orderbook files (NASDAQ TotalView-ITCH books, academic data).

LOBSTER ships one day of one ticker as two headerless CSV files, usually in a zip::

    TICKER_YYYY-MM-DD_START_END_message_LEVELS.csv    Time, Type, OrderID, Size, Price, Direction
    TICKER_YYYY-MM-DD_START_END_orderbook_LEVELS.csv  AskPrice1, AskSize1, BidPrice1, BidSize1, ... per level

``Time`` is seconds after midnight in New York time (the date comes from the file
name); prices are dollars x 10,000. Row ``i`` of the orderbook is the book *after*
message ``i``. Either file, or the zip, can be given: the other file is found beside it
(or in the same zip) by its name.

Ticks: the executions, ``Type`` 4 (visible order) and 5 (hidden order), and 6 (a
cross, e.g. an auction, side 0); ``Direction`` is the side of the *resting* order, so
the aggressor's side is ``-Direction``. Each trade's quote is the orderbook row before
it (the book in force when it arrived). The other messages (submissions, cancels,
deletions, halts) are rejected as ``book_update``. :func:`read_lobster_messages` gives
every message (with its type, so hidden executions can be told apart) for studies.

Quotes: every orderbook row, at its message's time, with all its levels when it has
more than one (``bid_1..bid_k`` ..., see :mod:`data.reading.quotes`). LOBSTER's dummy prices for
an unoccupied level (-9999999999 bid, 9999999999 ask, size 0) become NaN, 0.
"""
from __future__ import annotations

import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from data.errors import OrderFlowError
from data.reading.loader import ColumnPicker, ReadResult, register_format
from data.reading.quotes import level_columns, register_quote_reader

__all__ = ["LOBSTER_NAME", "MESSAGE_COLUMNS", "read_lobster_messages", "read_lobster_book", "read_lobster",
           "read_lobster_quotes", "TRADE_TYPES", "HIDDEN_EXECUTION"]

LOBSTER_NAME = re.compile(
    r"^(?P<ticker>.+?)_(?P<date>\d{4}-\d{2}-\d{2})_(?P<start>\d+)_(?P<end>\d+)_(?P<kind>message|orderbook)_(?P<levels>\d+)\.csv$")
MESSAGE_COLUMNS = ("time", "type", "order_id", "size", "price", "direction")
TRADE_TYPES = (4, 5, 6)
HIDDEN_EXECUTION = 5
_DUMMY = 9_999_999_999
_PRICE_SCALE = 10_000.0
NEW_YORK = "America/New_York"


@dataclass
class _Pair:
    """Where the two files of one LOBSTER day are: names, and the zip holding them (or None)."""

    message: str
    orderbook: str
    archive: Path | None
    folder: Path
    date: str


def _pair_in_zip(path: Path) -> _Pair:
    try:
        with zipfile.ZipFile(path) as zf:
            names = [Path(n).name for n in zf.namelist()]
            members = {Path(n).name: n for n in zf.namelist()}
    except (OSError, zipfile.BadZipFile) as exc:
        raise OrderFlowError(f"cannot read zip: {exc}", source=path) from None
    messages = [n for n in names if (m := LOBSTER_NAME.match(n)) and m["kind"] == "message"]
    if len(messages) != 1:
        raise OrderFlowError(f"a LOBSTER zip must hold one message file; found {len(messages)} among {names} "
                             "(extract one day and pass its message file)", source=path)
    message = messages[0]
    orderbook = message.replace("_message_", "_orderbook_")
    if orderbook not in members:
        raise OrderFlowError(f"no orderbook file {orderbook!r} beside {message!r} in the zip", source=path)
    return _Pair(members[message], members[orderbook], path, path.parent, LOBSTER_NAME.match(message)["date"])


def _pair(path: Path) -> _Pair:
    if zipfile.is_zipfile(path):
        return _pair_in_zip(path)
    match = LOBSTER_NAME.match(path.name)
    if match is None:
        raise OrderFlowError("a LOBSTER file must keep LOBSTER's name TICKER_YYYY-MM-DD_START_END_"
                             "{message|orderbook}_LEVELS.csv (the date is only in the name)", source=path)
    message = path.name.replace("_orderbook_", "_message_")
    orderbook = path.name.replace("_message_", "_orderbook_")
    for name in (message, orderbook):
        if not (path.parent / name).is_file():
            raise OrderFlowError(f"LOBSTER needs both files of the day: {name!r} is not beside it", source=path)
    return _Pair(message, orderbook, None, path.parent, match["date"])


def _is_lobster(path: Path) -> bool:
    if LOBSTER_NAME.match(path.name):
        return True
    if path.suffix.lower() != ".zip" or not zipfile.is_zipfile(path):
        return False
    try:
        with zipfile.ZipFile(path) as zf:
            return any((m := LOBSTER_NAME.match(Path(n).name)) and m["kind"] == "message" for n in zf.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


def _read_table(pair: _Pair, name: str, names: list[str], types: dict[str, pa.DataType]) -> pa.Table:
    """One CSV of the pair with these column names and types. From a zip the member is streamed into
    pyarrow's reader (inflating overlaps parsing: about twice as fast as inflating it whole first)."""
    source = pair.archive or pair.folder / name
    read = pacsv.ReadOptions(column_names=names, block_size=1 << 22)
    convert = pacsv.ConvertOptions(column_types=types)
    try:
        if pair.archive is None:
            return pacsv.read_csv(str(pair.folder / name), read_options=read, convert_options=convert)
        with zipfile.ZipFile(pair.archive) as zf, zf.open(name) as member:
            return pacsv.read_csv(member, read_options=read, convert_options=convert)
    except (OSError, pa.ArrowInvalid, zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise OrderFlowError(f"cannot read LOBSTER file {name}: {exc}", source=source) from None


def _utc_ns(seconds: np.ndarray, date: str) -> np.ndarray:
    """Seconds after New York midnight on ``date`` -> int64 ns since the epoch (UTC), with the
    day's UTC offset at noon (trading hours never straddle a daylight-saving change)."""
    noon = pd.Timestamp(f"{date} 12:00").tz_localize(NEW_YORK)
    midnight_utc = pd.Timestamp(date).value - int(noon.utcoffset().total_seconds() * 1e9)
    return midnight_utc + np.rint(seconds * 1e9).astype(np.int64)


def read_lobster_messages(path: str | Path) -> pd.DataFrame:
    """Every message: ``timestamp`` (UTC), ``type``, ``order_id``, ``size``, ``price`` (dollars),
    ``direction`` (side of the resting order), in file order."""
    path = Path(path)
    pair = _pair(path)
    table = _read_table(pair, pair.message, list(MESSAGE_COLUMNS), {
        "time": pa.float64(), "type": pa.int8(), "order_id": pa.int64(), "size": pa.float64(),
        "price": pa.float64(), "direction": pa.int8()})
    cols = {c: table[c].to_numpy() for c in MESSAGE_COLUMNS}
    ns = _utc_ns(cols.pop("time"), pair.date)
    return pd.DataFrame({"timestamp": pd.DatetimeIndex(ns.view("M8[ns]")).tz_localize("UTC"),
                         **cols, "price": cols["price"] / _PRICE_SCALE}, copy=False)


def read_lobster_book(path: str | Path) -> dict[str, np.ndarray]:
    """The orderbook file as canonical level arrays ``bid_1, bid_size_1, ask_1, ...`` (prices in
    dollars, unoccupied levels NaN / 0), one row per message."""
    path = Path(path)
    pair = _pair(path)
    first = _first_line(pair)
    n_cols = first.count(",") + 1
    if n_cols % 4:
        raise OrderFlowError(f"a LOBSTER orderbook has 4 columns per level; found {n_cols}", source=path)
    k = n_cols // 4
    names = [f"{kind}_{i}" for i in range(1, k + 1) for kind in ("ask", "ask_size", "bid", "bid_size")]
    table = _read_table(pair, pair.orderbook, names, {n: pa.float64() for n in names})
    out: dict[str, np.ndarray] = {}
    for name in level_columns(k):
        values = table[name].to_numpy()
        if name.startswith(("bid_size", "ask_size")):
            out[name] = values
        else:
            out[name] = np.where(np.abs(values) >= _DUMMY, np.nan, values / _PRICE_SCALE)
    return out


def _first_line(pair: _Pair) -> str:
    if pair.archive is not None:
        with zipfile.ZipFile(pair.archive) as zf, zf.open(pair.orderbook) as fh:
            return fh.readline().decode("ascii", errors="replace").strip()
    with open(pair.folder / pair.orderbook, "rb") as fh:
        return fh.readline().decode("ascii", errors="replace").strip()


def _checked(messages: pd.DataFrame, book: dict[str, np.ndarray], path: Path) -> None:
    if len(book["bid_1"]) != len(messages):
        raise OrderFlowError(f"the orderbook has {len(book['bid_1']):,} rows and the message file "
                             f"{len(messages):,}: they must match row for row", source=path)


def read_lobster(path: Path, pick: ColumnPicker | None = None) -> ReadResult:
    """LOBSTER day -> ticks: executions with side ``-Direction`` and the book before each."""
    messages = read_lobster_messages(path)
    book = read_lobster_book(path)
    _checked(messages, book, path)
    kind = messages["type"].to_numpy()
    trade = np.isin(kind, TRADE_TYPES)
    side = np.where(kind == 6, 0, -messages["direction"].to_numpy()).astype(np.int8)

    def before(values: np.ndarray, fill: float) -> np.ndarray:
        return np.concatenate([[fill], values[:-1]])

    frame = pd.DataFrame({
        "timestamp": messages["timestamp"], "price": messages["price"], "size": messages["size"], "side": side,
        "bid": before(book["bid_1"], np.nan), "ask": before(book["ask_1"], np.nan),
        "bid_size": before(book["bid_size_1"], 0.0), "ask_size": before(book["ask_size_1"], 0.0),
    }, copy=False)
    hidden = int(np.count_nonzero(kind == HIDDEN_EXECUTION))
    notes = [f"LOBSTER: executions are the ticks ({hidden:,} of hidden orders); side = -Direction; "
             "times are New York time; each trade's quote is the book before it"]
    return ReadResult(frame, rejects={"book_update": ~trade}, notes=notes)


def read_lobster_quotes(path: Path) -> pd.DataFrame:
    """LOBSTER day -> one quote per orderbook row at its message's time (levels when > 1)."""
    messages = read_lobster_messages(path)
    book = read_lobster_book(path)
    _checked(messages, book, path)
    levels = book if len(book) > 4 else {}
    return pd.DataFrame({
        "timestamp": messages["timestamp"], "bid": book["bid_1"], "ask": book["ask_1"],
        "bid_size": book["bid_size_1"], "ask_size": book["ask_size_1"], **levels,
    }, copy=False)


register_format("lobster", read_lobster, detect=_is_lobster)
register_quote_reader("lobster", read_lobster_quotes)
