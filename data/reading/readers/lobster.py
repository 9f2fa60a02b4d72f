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

import contextlib
import re
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
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
    given: Path  # the path as given (either file, or the zip)


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
    return _Pair(members[message], members[orderbook], path, path.parent, LOBSTER_NAME.match(message)["date"], path)


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
    return _Pair(message, orderbook, None, path.parent, match["date"], path)


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


_MESSAGE_TYPES = {"time": pa.float64(), "type": pa.int8(), "order_id": pa.int64(), "size": pa.float64(),
                  "price": pa.float64(), "direction": pa.int8()}
# pyarrow parses blocks of this size on its CPU threads while its IO thread reads (from a zip: inflates) the
# next ones; 1 MB spreads even a sample day's 2 MB message file over both cores (4 MB left it one block)
_BLOCK = 1 << 20


def _first_line(pair: _Pair, name: str, zf: zipfile.ZipFile | None) -> str:
    with zf.open(name) if zf is not None else open(pair.folder / name, "rb") as fh:
        return fh.readline().decode("ascii", errors="replace").strip()


def _read_table(pair: _Pair, name: str, types: dict[str, pa.DataType] | None = None) -> pa.Table:
    """One CSV of the pair: the message file under :data:`MESSAGE_COLUMNS` (``types`` given), or the
    orderbook (``types`` None) under level names from its first line, all float64. From a zip the
    member is streamed into pyarrow's reader: its IO thread inflates (zlib releases the GIL) while
    its CPU threads parse the blocks read before."""
    source = pair.archive or pair.folder / name
    try:
        with zipfile.ZipFile(pair.archive) if pair.archive else contextlib.nullcontext() as zf:
            if types is None:
                first = _first_line(pair, name, zf)
                types = dict.fromkeys(_book_names(first.count(",") + 1, pair.given), pa.float64())
            read = pacsv.ReadOptions(column_names=list(types), block_size=_BLOCK)
            convert = pacsv.ConvertOptions(column_types=types)
            if zf is None:
                return pacsv.read_csv(str(source), read_options=read, convert_options=convert)
            with zf.open(name) as member:
                return pacsv.read_csv(member, read_options=read, convert_options=convert)
    except (OSError, pa.ArrowInvalid, zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise OrderFlowError(f"cannot read LOBSTER file {name}: {exc}", source=source) from None


def _book_names(n_cols: int, source: Path) -> list[str]:
    if n_cols % 4:
        raise OrderFlowError(f"a LOBSTER orderbook has 4 columns per level; found {n_cols}", source=source)
    return [f"{kind}_{i}" for i in range(1, n_cols // 4 + 1) for kind in ("ask", "ask_size", "bid", "bid_size")]


def _read_day(path: Path) -> tuple[_Pair, pa.Table, pa.Table]:
    """Both files of the day as pyarrow tables, checked to match row for row. The orderbook is read on
    a second thread while this one reads the message file (each inflates and parses outside the GIL);
    a bad message file is reported first, as when they are read one after the other."""
    pair = _pair(path)
    with ThreadPoolExecutor(max_workers=1) as pool:
        book = pool.submit(_read_table, pair, pair.orderbook)
        messages = _read_table(pair, pair.message, _MESSAGE_TYPES)
        book = book.result()
    if book.num_rows != messages.num_rows:
        raise OrderFlowError(f"the orderbook has {book.num_rows:,} rows and the message file "
                             f"{messages.num_rows:,}: they must match row for row", source=path)
    return pair, messages, book


def _utc_ns(seconds: np.ndarray, date: str) -> np.ndarray:
    """Seconds after New York midnight on ``date`` -> int64 ns since the epoch (UTC), with the
    day's UTC offset at noon (trading hours never straddle a daylight-saving change)."""
    noon = pd.Timestamp(f"{date} 12:00").tz_localize(NEW_YORK)
    midnight_utc = pd.Timestamp(date).value - int(noon.utcoffset().total_seconds() * 1e9)
    return midnight_utc + np.rint(seconds * 1e9).astype(np.int64)


def _timestamps(messages: pa.Table, date: str) -> pd.DatetimeIndex:
    ns = _utc_ns(messages["time"].to_numpy(), date)
    return pd.DatetimeIndex(ns.view("M8[ns]")).tz_localize("UTC")


def _levels(book: pa.Table, k: int) -> dict[str, np.ndarray]:
    """The first ``k`` levels as canonical arrays (:func:`data.reading.quotes.level_columns`): prices
    in dollars, LOBSTER's dummy prices of an unoccupied level NaN (their size is 0)."""
    out: dict[str, np.ndarray] = {}
    for name in level_columns(k):
        values = book[name].to_numpy()
        if name.startswith(("bid_size", "ask_size")):
            out[name] = values
        else:
            out[name] = np.where(np.abs(values) >= _DUMMY, np.nan, values / _PRICE_SCALE)
    return out


def read_lobster_messages(path: str | Path) -> pd.DataFrame:
    """Every message: ``timestamp`` (UTC), ``type``, ``order_id``, ``size``, ``price`` (dollars),
    ``direction`` (side of the resting order), in file order."""
    pair = _pair(Path(path))
    table = _read_table(pair, pair.message, _MESSAGE_TYPES)
    cols = {c: table[c].to_numpy() for c in MESSAGE_COLUMNS[1:]}
    return pd.DataFrame({"timestamp": _timestamps(table, pair.date), **cols, "price": cols["price"] / _PRICE_SCALE},
                        copy=False)


def read_lobster_book(path: str | Path) -> dict[str, np.ndarray]:
    """The orderbook file as canonical level arrays ``bid_1, bid_size_1, ask_1, ...`` (prices in
    dollars, unoccupied levels NaN / 0), one row per message."""
    pair = _pair(Path(path))
    table = _read_table(pair, pair.orderbook)
    return _levels(table, table.num_columns // 4)


def read_lobster(path: Path, pick: ColumnPicker | None = None) -> ReadResult:
    """LOBSTER day -> ticks: executions with side ``-Direction`` and the book before each."""
    pair, messages, book = _read_day(path)
    top = _levels(book, 1)
    kind = messages["type"].to_numpy()
    trade = np.isin(kind, TRADE_TYPES)
    side = np.where(kind == 6, 0, -messages["direction"].to_numpy()).astype(np.int8)

    def before(values: np.ndarray, fill: float) -> np.ndarray:
        return np.concatenate([[fill], values[:-1]])

    frame = pd.DataFrame({
        "timestamp": _timestamps(messages, pair.date), "price": messages["price"].to_numpy() / _PRICE_SCALE,
        "size": messages["size"].to_numpy(), "side": side,
        "bid": before(top["bid_1"], np.nan), "ask": before(top["ask_1"], np.nan),
        "bid_size": before(top["bid_size_1"], 0.0), "ask_size": before(top["ask_size_1"], 0.0),
    }, copy=False)
    hidden = int(np.count_nonzero(kind == HIDDEN_EXECUTION))
    notes = [f"LOBSTER: executions are the ticks ({hidden:,} of hidden orders); side = -Direction; "
             "times are New York time; each trade's quote is the book before it"]
    return ReadResult(frame, rejects={"book_update": ~trade}, notes=notes)


def read_lobster_quotes(path: Path) -> pd.DataFrame:
    """LOBSTER day -> one quote per orderbook row at its message's time (levels when > 1)."""
    pair, messages, book = _read_day(path)
    k = book.num_columns // 4
    levels = _levels(book, k)
    return pd.DataFrame({
        "timestamp": _timestamps(messages, pair.date), "bid": levels["bid_1"], "ask": levels["ask_1"],
        "bid_size": levels["bid_size_1"], "ask_size": levels["ask_size_1"], **(levels if k > 1 else {}),
    }, copy=False)


register_format("lobster", read_lobster, detect=_is_lobster)
register_quote_reader("lobster", read_lobster_quotes)
