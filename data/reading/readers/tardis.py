"""Tardis.dev CSV files (``tardis-dev`` / datasets API layouts).

Every file starts ``exchange,symbol,timestamp,local_timestamp``; ``timestamp`` is the
exchange's time and ``local_timestamp`` Tardis's receive time, both microseconds since
the epoch. Rows are stamped with ``timestamp`` (the exchange's clock).

=================================  =====================================  ====================
data type                          columns after the four above           read as
=================================  =====================================  ====================
``trades``                         ``id, side, price, amount``            ticks (``side`` is the
                                                                          aggressor: buy/sell/unknown)
``quotes``                         ``ask_amount, ask_price, bid_price,    quotes
                                   bid_amount``
``book_snapshot_5`` / ``_25`` ...  ``asks[0].price, asks[0].amount,       quotes with k levels
                                   bids[0].price, bids[0].amount, ...``
``incremental_book_L2``            ``is_snapshot, side, price, amount``   quotes: top of the book
                                                                          rebuilt from the updates
=================================  =====================================  ====================

``incremental_book_L2``: each row sets one level's size (``amount`` 0 removes it); a run of
``is_snapshot`` rows is a fresh book (it replaces every level), rows with one
``timestamp`` are one message. The book is rebuilt without a loop per row
(:func:`data.reading.readers.book.top_of_book`) and one quote is kept at the end of each
message where the best bid/ask or a size changed. Quote and book files hold no trades:
``load_ticks`` refuses them with an error saying to load them as quotes.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from data.errors import OrderFlowError
from data.reading.loader import ColumnPicker, ReadResult, check_utf8, not_utf8, read_csv, read_header, register_format
from data.reading.quotes import level_columns, register_quote_reader
from data.reading.readers.book import LevelUpdates, top_of_book
from data.sides.codes import parse_side

__all__ = ["tardis_kind", "read_tardis_trades", "tardis_sides", "read_tardis_quotes", "read_tardis_snapshot",
           "read_tardis_l2", "TARDIS_KINDS"]

_PREFIX = ["exchange", "symbol", "timestamp", "local_timestamp"]
TARDIS_KINDS = {
    "trades": ["id", "side", "price", "amount"],
    "quotes": ["ask_amount", "ask_price", "bid_price", "bid_amount"],
    "incremental_book_L2": ["is_snapshot", "side", "price", "amount"],
}


def tardis_kind(path: Path) -> str | None:
    """``"trades"``, ``"quotes"``, ``"book_snapshot"``, ``"incremental_book_L2"`` or None, from the header."""
    names, delimiter = read_header(path)  # unreadable: OrderFlowError, "not mine" to loader.format_for
    if delimiter != "," or [n.strip() for n in names[:4]] != _PREFIX:
        return None
    rest = [n.strip() for n in names[4:]]
    for kind, cols in TARDIS_KINDS.items():
        if rest == cols:
            return kind
    if rest[:4] == ["asks[0].price", "asks[0].amount", "bids[0].price", "bids[0].amount"] and len(rest) % 4 == 0:
        return "book_snapshot"
    return None


def _read(path: Path, columns: list[str], types: dict[str, pa.DataType]) -> pa.Table:
    try:
        table = pacsv.read_csv(str(path), read_options=pacsv.ReadOptions(block_size=1 << 22),
                               convert_options=pacsv.ConvertOptions(include_columns=columns, column_types=types))
    except (OSError, pa.ArrowInvalid) as exc:
        if "invalid utf8" in str(exc).lower():
            raise not_utf8(path) from None
        raise OrderFlowError(f"cannot read Tardis CSV: {exc}", source=path) from None
    return check_utf8(table, path)


def _block_size(path: Path) -> int:
    """The size of the blocks pyarrow parses a trades file in, on its threads: two blocks at least, so
    that a 10,000-trade file (850 KB) is parsed on both cores, 4 MB at most (a large file in smaller
    blocks took up to a quarter longer)."""
    return min(1 << 22, max(1 << 16, path.stat().st_size // 2 + 1))


def _single_symbol(table: pa.Table, path: Path) -> None:
    symbols = pa.compute.unique(table["symbol"]).to_pylist()
    if len(symbols) > 1:
        raise OrderFlowError(f"the file holds {len(symbols)} symbols ({symbols[:5]}); ticks and quotes are one "
                             "instrument: split it by symbol first", source=path, column="symbol")


def _times(us: np.ndarray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex((us.astype(np.int64) * 1000).view("M8[ns]")).tz_localize("UTC")


def read_tardis_trades(path: Path, pick: ColumnPicker) -> pd.DataFrame:
    """Tardis ``trades``: ``timestamp`` (exchange time, µs), ``amount`` as the size and ``side`` (the
    aggressor) as the side, the symbol checked to be one, all from one read of the file.

    Speed: one pyarrow read of only the used columns with their types stated (``symbol`` and
    ``side`` dictionary-encoded, the sides parsed once per distinct text: :func:`tardis_sides`), in
    two blocks at least (:func:`_block_size`); a file whose values do not convert is read again
    by the loader's CSV reader (:func:`data.reading.loader.read_csv`), which names the first bad row."""
    used = pick([n.strip() for n in read_header(path)[0]])
    types = {"symbol": pa.dictionary(pa.int32(), pa.string())}
    for name, target in used.items():
        types[name] = {"timestamp": pa.int64(), "price": pa.float64(), "size": pa.float64()}.get(
            target, pa.dictionary(pa.int32(), pa.string()))
    try:
        table = pacsv.read_csv(str(path), read_options=pacsv.ReadOptions(block_size=_block_size(path)),
                               convert_options=pacsv.ConvertOptions(include_columns=list(types), column_types=types))
    except (OSError, pa.ArrowInvalid):
        table = None
    if table is None or any(table[name].null_count for name in used):
        _single_symbol(_read(path, ["symbol"], {"symbol": pa.string()}), path)
        return read_csv(path, pick)
    _single_symbol(table, path)
    return pd.DataFrame({name: _column(table[name], used[name]) for name in used}, copy=False)


def _column(values: pa.ChunkedArray, target: str) -> np.ndarray | pd.Series:
    """A column for the loader: numbers (epochs included, no missing values here) as numpy arrays, as
    its CSV reader gives them, the side as its codes (:func:`tardis_sides`), other text as a categorical."""
    if target == "side":
        return tardis_sides(values)
    if pa.types.is_dictionary(values.type):
        return values.to_pandas()
    return values.to_numpy()


def tardis_sides(values: pa.ChunkedArray) -> np.ndarray:
    """Dictionary-encoded side text -> int8 sides: :func:`data.sides.codes.parse_side` of the distinct
    texts (the dictionary the blocks share once unified), spread over the rows by their indices.
    What the loader does with a text column (it parses each distinct code once), minus its pandas
    round trip: a categorical, then factorised again."""
    unified = values.unify_dictionaries()
    if unified.num_chunks == 0:
        return np.zeros(0, np.int8)
    codes = parse_side(unified.chunk(0).dictionary.to_pandas())
    return codes[np.concatenate([chunk.indices.to_numpy() for chunk in unified.chunks])]


def _not_trades(kind: str):
    def read(path: Path, pick: ColumnPicker) -> ReadResult:
        raise OrderFlowError(
            f"a Tardis {kind} file holds the book, not trades: load it with data.load_quotes "
            "(or --quotes beside a trades file)", source=path)

    read.__doc__ = f"Tardis {kind}: refused as ticks (it holds quotes)."
    return read


def read_tardis_quotes(path: Path) -> pd.DataFrame:
    """Tardis ``quotes``: best bid/ask and amounts at ``timestamp``."""
    cols = ["symbol", "timestamp", "bid_price", "bid_amount", "ask_price", "ask_amount"]
    table = _read(path, cols, {"timestamp": pa.int64(), **{c: pa.float64() for c in cols[2:]}})
    _single_symbol(table, path)
    return pd.DataFrame({
        "timestamp": _times(table["timestamp"].to_numpy()),
        "bid": table["bid_price"].to_numpy(zero_copy_only=False),
        "ask": table["ask_price"].to_numpy(zero_copy_only=False),
        "bid_size": table["bid_amount"].to_numpy(zero_copy_only=False),
        "ask_size": table["ask_amount"].to_numpy(zero_copy_only=False),
    }, copy=False)


def read_tardis_snapshot(path: Path) -> pd.DataFrame:
    """Tardis ``book_snapshot_k``: one quote per row with its k levels (missing levels NaN / 0)."""
    names = [n.strip() for n in read_header(path)[0]]
    k = (len(names) - 4) // 4
    source = {}  # canonical level column -> Tardis column
    for i in range(1, k + 1):
        for side in ("bid", "ask"):
            source[f"{side}_{i}"] = f"{side}s[{i - 1}].price"
            source[f"{side}_size_{i}"] = f"{side}s[{i - 1}].amount"
    cols = ["symbol", "timestamp", *source.values()]
    table = _read(path, cols, {"timestamp": pa.int64(), **{c: pa.float64() for c in cols[2:]}})
    _single_symbol(table, path)
    levels = {name: table[source[name]].to_numpy(zero_copy_only=False) for name in level_columns(k)}
    for name in levels:
        if "_size_" in name:
            levels[name] = np.nan_to_num(levels[name], nan=0.0)
    return pd.DataFrame({
        "timestamp": _times(table["timestamp"].to_numpy()),
        "bid": levels["bid_1"], "ask": levels["ask_1"], "bid_size": levels["bid_size_1"], "ask_size": levels["ask_size_1"],
        **levels,
    }, copy=False)


def l2_top_of_book(is_snapshot: np.ndarray, is_bid: np.ndarray, price: np.ndarray, amount: np.ndarray):
    """Top of book after each incremental L2 row: a run of snapshot rows starts a new epoch
    (a fresh book); each row sets its (epoch, side, price) level to ``amount``."""
    n = len(price)
    snap = np.asarray(is_snapshot, bool)
    starts = snap & ~np.r_[False, snap[:-1]]
    epoch = np.cumsum(starts)
    order = np.lexsort((price, is_bid, epoch))
    new = np.ones(n, bool)
    k_ep, k_bid, k_px = epoch[order], is_bid[order], price[order]
    new[1:] = (k_ep[1:] != k_ep[:-1]) | (k_bid[1:] != k_bid[:-1]) | (k_px[1:] != k_px[:-1])
    level = np.empty(n, np.int64)
    level[order] = np.cumsum(new) - 1
    firsts = order[new]
    ends = np.append(np.flatnonzero(starts), n)
    updates = LevelUpdates(t=np.arange(n), level=level, size=amount, price=price[firsts], is_bid=is_bid[firsts],
                           end=ends[epoch[firsts]])
    return top_of_book(updates, n)


def read_tardis_l2(path: Path) -> pd.DataFrame:
    """Tardis ``incremental_book_L2`` -> the top-of-book stream (see the module docstring)."""
    cols = ["symbol", "timestamp", "is_snapshot", "side", "price", "amount"]
    table = _read(path, cols, {"timestamp": pa.int64(), "is_snapshot": pa.bool_(), "side": pa.string(),
                               "price": pa.float64(), "amount": pa.float64()})
    _single_symbol(table, path)
    side = table["side"].to_numpy(zero_copy_only=False).astype(str)
    bad = ~np.isin(side, ["bid", "ask"])
    if bad.any():
        row = int(np.argmax(bad))
        raise OrderFlowError("side must be 'bid' or 'ask'", source=path, column="side", row=row + 1, value=side[row])
    ts = table["timestamp"].to_numpy()
    snap = table["is_snapshot"].to_numpy(zero_copy_only=False).astype(bool)
    top = l2_top_of_book(snap, side == "bid", table["price"].to_numpy(), table["amount"].to_numpy())
    last = np.r_[ts[1:] != ts[:-1], True] & ~(snap & np.r_[snap[1:], False])  # end of a message, not mid-snapshot
    state = np.column_stack([top.bid, top.bid_size, top.ask, top.ask_size])[last]
    same = np.zeros(len(state), bool)
    if len(state) > 1:
        same[1:] = ((state[1:] == state[:-1]) | (np.isnan(state[1:]) & np.isnan(state[:-1]))).all(axis=1)
    rows = np.flatnonzero(last)[~same]
    return pd.DataFrame({"timestamp": _times(ts[rows]), "bid": top.bid[rows], "ask": top.ask[rows],
                         "bid_size": top.bid_size[rows], "ask_size": top.ask_size[rows]}, copy=False)


register_format("tardis_trades", read_tardis_trades, columns={"timestamp": "timestamp", "amount": "size", "side": "side"},
                detect=lambda path: tardis_kind(path) == "trades")
for _kind, _reader in (("quotes", read_tardis_quotes), ("book_snapshot", read_tardis_snapshot),
                       ("incremental_book_L2", read_tardis_l2)):
    register_format(f"tardis_{_kind}", _not_trades(_kind), detect=lambda path, k=_kind: tardis_kind(path) == k)
    register_quote_reader(f"tardis_{_kind}", _reader)
