"""Sierra Chart intraday data files (``.scid``) holding tick-by-tick records.

Layout (Sierra Chart's published ``s_IntradayFileHeader`` / ``s_IntradayRecord``): a
header starting with ``SCID`` (u32 header size, u32 record size 40, u16 version ...),
then records of ``DateTime`` int64 (microseconds since 1899-12-30 UTC), ``Open High
Low Close`` float32 and ``NumTrades TotalVolume BidVolume AskVolume`` uint32.

In a tick file each record is one trade: ``Close`` the price, ``TotalVolume`` the size,
``High``/``Low`` the ask/bid in force, and the trade's side from where it traded:
``AskVolume > 0`` -> +1 (bought at the ask), ``BidVolume > 0`` -> -1, neither or both
-> 0. ``Open`` is 0, or marks the first (-1.99900095e37) and last (-1.99900197e37)
records of one trade that Sierra split across several records (one aggressor order
filled at several prices): each record stays a tick (nothing is merged), and the
report counts them. Times in one millisecond are made unique by Sierra with a
microsecond counter, so the microseconds are not a clock: times are cut to the
millisecond and the file's order breaks ties.

A file of 1-second or longer records holds bars (``Open`` is a real price), not trades:
it is refused with a clear error.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from data.errors import OrderFlowError
from data.reading.loader import ColumnPicker, ReadResult, register_format

__all__ = ["SCID_RECORD", "SCID_HEADER_SIZE", "FIRST_SUB_TRADE", "LAST_SUB_TRADE", "read_scid_records", "read_scid"]

SCID_RECORD = np.dtype([
    ("datetime", "<i8"), ("open", "<f4"), ("high", "<f4"), ("low", "<f4"), ("close", "<f4"),
    ("num_trades", "<u4"), ("total_volume", "<u4"), ("bid_volume", "<u4"), ("ask_volume", "<u4"),
])
SCID_HEADER_SIZE = 56
FIRST_SUB_TRADE = np.float32(-1.99900095e37)
LAST_SUB_TRADE = np.float32(-1.99900197e37)
# microseconds from 1899-12-30 (Sierra's epoch) to 1970-01-01
_EPOCH_US = 25569 * 86_400 * 1_000_000


def _is_scid(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"SCID"
    except OSError:
        return False


def read_scid_records(path: Path) -> np.ndarray:
    """The raw records (:data:`SCID_RECORD`) after checking the header."""
    with open(path, "rb") as fh:
        head = fh.read(SCID_HEADER_SIZE)
    if len(head) < 12 or head[:4] != b"SCID":
        raise OrderFlowError("not a Sierra Chart intraday file (no 'SCID' header)", source=path)
    header_size = int.from_bytes(head[4:8], "little")
    record_size = int.from_bytes(head[8:12], "little")
    if record_size != SCID_RECORD.itemsize or header_size < 12:
        raise OrderFlowError(f"unsupported .scid layout: header {header_size} bytes, records of {record_size} bytes "
                             f"(expected {SCID_RECORD.itemsize})", source=path)
    body = path.stat().st_size - header_size
    if body <= 0:
        raise OrderFlowError("empty file (a .scid header and no records)", source=path)
    if body % record_size:
        raise OrderFlowError(f"truncated .scid file: {body} bytes of records is not a multiple of {record_size}",
                             source=path)
    return np.fromfile(path, dtype=SCID_RECORD, offset=header_size)


def read_scid(path: Path, pick: ColumnPicker | None = None) -> ReadResult:
    """A tick-by-tick ``.scid`` file -> ticks with side, bid and ask (see the module docstring)."""
    rec = read_scid_records(path)
    marker = (rec["open"] == FIRST_SUB_TRADE) | (rec["open"] == LAST_SUB_TRADE)
    bars = (rec["open"] != 0) & ~marker
    if bars.any():
        row = int(np.argmax(bars))
        raise OrderFlowError(
            "holds bars, not trades (record Open is a price: the chart's intraday storage is 1 second or "
            "longer); set Sierra Chart's 'Intraday Data Storage Time Unit' to 1 Tick and download the data again",
            source=path, column="Open", row=row + 1, value=float(rec["open"][row]))
    ms = (rec["datetime"] - _EPOCH_US) // 1000  # the microseconds are a counter, not a clock
    side = np.zeros(len(rec), np.int8)
    side[rec["ask_volume"] > 0] = 1
    side[rec["bid_volume"] > 0] -= 1  # bid and ask volume both: 0 (unknown)
    frame = pd.DataFrame({
        "timestamp": pd.DatetimeIndex((ms * 1_000_000).view("M8[ns]")).tz_localize("UTC"),
        "price": rec["close"].astype(np.float64),
        "size": rec["total_volume"].astype(np.float64),
        "side": side,
        "bid": rec["low"].astype(np.float64),
        "ask": rec["high"].astype(np.float64),
    }, copy=False)
    notes = ["scid: times cut to the millisecond (Sierra makes times within one millisecond unique with a "
             "microsecond counter); ties keep the file's order"]
    firsts = int(np.count_nonzero(rec["open"] == FIRST_SUB_TRADE))
    if firsts:
        notes.append(f"scid: trades split by Sierra Chart across several records (first/last marked in Open): "
                     f"{firsts:,}; each record is kept as a tick")
    return ReadResult(frame, notes=notes)


register_format("sierra_scid", read_scid, (".scid",), detect=_is_scid)
