"""Databento order-by-order (``mbo``) and 10-level (``mbp-10``) DBN files.

``mbo``: every order event. Trades are the ``T`` records (the aggressor's side:
``B`` -> +1, ``A`` -> -1, ``N`` -> 0); the book is rebuilt from the add / cancel /
modify / clear events, starting from the snapshot the file begins with
(:func:`data.reading.readers.book.mbo_level_updates`, no Python loop per event), and each
trade carries the best bid/ask and sizes in force just before it (the book after the
record before the trade; ``T`` and ``F`` records do not change the book: every fill is
followed by the cancel or modify that does). The quote stream is the book after each
record flagged ``F_LAST`` (the last record of an exchange event, where Databento says
the book is consistent) outside the snapshot, one row per change of the top of book.

``mbp-10``: trades are the ``T`` records with level 0 as their quote (as for
``mbp-1``); the quote stream is every record with its 10 levels (canonical level
columns ``bid_1..bid_10`` ..., see :mod:`data.reading.quotes`).

Both are read with the ``databento`` package (``pip install .[databento]``) into its
raw record arrays (``to_ndarray``), stamped with ``ts_event`` (exchange time). Prices
are integers in units of 1e-9; the undefined price becomes NaN.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from data.errors import OrderFlowError
from data.reading.formats import dbn_schema, read_dbn
from data.reading.loader import ColumnPicker, ReadResult, register_format
from data.reading.quotes import level_columns, register_quote_reader
from data.reading.readers.book import TopOfBook, mbo_level_updates, top_of_book

__all__ = ["dbn_schema", "read_dbn_records", "mbo_top_of_book", "read_mbo", "read_mbo_quotes",
           "read_mbp10", "read_mbp10_quotes", "F_LAST", "F_SNAPSHOT"]

F_LAST = 128
F_SNAPSHOT = 32
_UNDEF_PRICE = np.iinfo(np.int64).max
_SIDES = np.zeros(256, np.int8)
_SIDES[ord("B")], _SIDES[ord("A")] = 1, -1


def read_dbn_records(path: Path, schemas: Sequence[str]) -> np.ndarray:
    """The file's records as the databento package's structured array (one instrument).

    Raises :class:`OrderFlowError` when the package is missing, the file is truncated,
    damaged or unreadable, its schema is not in ``schemas`` (all as
    :func:`data.reading.formats.read_dbn`) or it holds several instruments.
    """
    records, _, _ = read_dbn(path, schemas)
    ids = np.unique(records["instrument_id"])
    if len(ids) > 1:
        raise OrderFlowError(
            f"the file holds {len(ids)} instruments (instrument_id {ids[:10].tolist()}); a book is one "
            "instrument: split the file by instrument_id first", source=path)
    return records


def _prices(raw: np.ndarray) -> np.ndarray:
    """DBN fixed-point prices (1e-9) -> float64, the undefined price -> NaN."""
    out = raw.astype(np.float64) / 1e9
    out[raw == _UNDEF_PRICE] = np.nan
    return out


def _times(ns: np.ndarray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(ns.astype(np.int64).view("M8[ns]")).tz_localize("UTC")


def mbo_top_of_book(records: np.ndarray) -> TopOfBook:
    """Best bid/ask (prices as floats) and sizes after each MBO record, rebuilt from the
    order events (see :mod:`data.reading.readers.book`)."""
    updates, _ = mbo_level_updates(records["action"], records["side"], records["price"],
                                   records["size"], records["order_id"])
    top = top_of_book(updates, len(records))
    top.bid = top.bid / 1e9
    top.ask = top.ask / 1e9
    return top


def _before(values: np.ndarray, fill: float) -> np.ndarray:
    """The value after the previous record (the state in force when a record arrives)."""
    out = np.empty_like(values)
    out[:1] = fill
    out[1:] = values[:-1]
    return out


def read_mbo(path: Path, pick: ColumnPicker | None = None) -> ReadResult:
    """Databento MBO -> ticks: the ``T`` records with the rebuilt book before each.

    The other records (adds, cancels, modifies, fills, clears) are rejected as
    ``book_update``, so the report accounts for every record.
    """
    records = read_dbn_records(path, ("mbo",))
    action = records["action"].view(np.uint8)
    trade = action == ord("T")
    if not trade.any():
        raise OrderFlowError(f"no trade records (action 'T') among the {len(records)} mbo records: "
                             "use data.load_quotes for the book", source=path)
    top = mbo_top_of_book(records)
    frame = pd.DataFrame({
        "timestamp": _times(records["ts_event"]),
        "price": _prices(records["price"]),
        "size": records["size"].astype(np.float64),
        "side": _SIDES[records["side"].view(np.uint8)],
        "bid": _before(top.bid, np.nan),
        "ask": _before(top.ask, np.nan),
        "bid_size": _before(top.bid_size, 0.0),
        "ask_size": _before(top.ask_size, 0.0),
    }, copy=False)
    snapshot = int(np.count_nonzero(records["flags"] & F_SNAPSHOT))
    notes = [f"mbo: {int(trade.sum()):,} trade records are the ticks; their bid/ask is the book rebuilt "
             f"from the {len(records) - int(trade.sum()):,} other records (snapshot of {snapshot:,} orders first)"]
    return ReadResult(frame, rejects={"book_update": ~trade}, notes=notes)


def read_mbo_quotes(path: Path) -> pd.DataFrame:
    """Databento MBO -> the top-of-book stream: the rebuilt book after each ``F_LAST`` record
    outside the snapshot, kept where the best bid, ask or a size changed."""
    records = read_dbn_records(path, ("mbo",))
    top = mbo_top_of_book(records)
    flags = records["flags"]
    emit = ((flags & F_LAST) != 0) & ((flags & F_SNAPSHOT) == 0)
    state = np.column_stack([top.bid, top.bid_size, top.ask, top.ask_size])[emit]
    same = np.zeros(len(state), bool)
    if len(state) > 1:
        prev, cur = state[:-1], state[1:]
        same[1:] = ((prev == cur) | (np.isnan(prev) & np.isnan(cur))).all(axis=1)
    rows = np.flatnonzero(emit)[~same]
    return pd.DataFrame({
        "timestamp": _times(records["ts_event"][rows]),
        "bid": top.bid[rows], "ask": top.ask[rows],
        "bid_size": top.bid_size[rows], "ask_size": top.ask_size[rows],
    }, copy=False)


def _mbp10_levels(records: np.ndarray, rows: np.ndarray | slice) -> dict[str, np.ndarray]:
    names = level_columns(10)
    out: dict[str, np.ndarray] = {}
    for name in names:
        kind, level = name.rsplit("_", 1)
        side, is_size = kind.split("_")[0], kind.endswith("size")
        field = f"{side}_{'sz' if is_size else 'px'}_{int(level) - 1:02d}"
        raw = records[field][rows]
        out[name] = raw.astype(np.float64) if is_size else _prices(raw)
    return out


def read_mbp10(path: Path, pick: ColumnPicker | None = None) -> ReadResult:
    """Databento MBP-10 -> ticks: the ``T`` records, with level 0 (the book in force at the
    trade) as their quote; book records are rejected as ``book_update``."""
    records = read_dbn_records(path, ("mbp-10",))
    trade = records["action"].view(np.uint8) == ord("T")
    if not trade.any():
        raise OrderFlowError(
            f"no trade records (action 'T') among the {len(records)} mbp-10 records: nothing to load as "
            "ticks (an mbp-10 file without trades is quotes: use data.load_quotes / --quotes)", source=path)
    frame = pd.DataFrame({
        "timestamp": _times(records["ts_event"]),
        "price": _prices(records["price"]),
        "size": records["size"].astype(np.float64),
        "side": _SIDES[records["side"].view(np.uint8)],
        "bid": _prices(records["bid_px_00"]), "ask": _prices(records["ask_px_00"]),
        "bid_size": records["bid_sz_00"].astype(np.float64), "ask_size": records["ask_sz_00"].astype(np.float64),
    }, copy=False)
    return ReadResult(frame, rejects={"book_update": ~trade},
                      notes=["mbp-10: trade records are the ticks, their level 0 the book in force"])


def read_mbp10_quotes(path: Path) -> pd.DataFrame:
    """Databento MBP-10 -> one quote per record with its 10 levels per side."""
    records = read_dbn_records(path, ("mbp-10",))
    levels = _mbp10_levels(records, slice(None))
    return pd.DataFrame({
        "timestamp": _times(records["ts_event"]),
        "bid": levels["bid_1"], "ask": levels["ask_1"],
        "bid_size": levels["bid_size_1"], "ask_size": levels["ask_size_1"],
        **levels,
    }, copy=False)


register_format("databento_mbo", read_mbo, detect=lambda path: dbn_schema(path) == "mbo")
register_format("databento_mbp10", read_mbp10, detect=lambda path: dbn_schema(path) == "mbp-10")
register_quote_reader("databento_mbo", read_mbo_quotes)
register_quote_reader("databento_mbp10", read_mbp10_quotes)
