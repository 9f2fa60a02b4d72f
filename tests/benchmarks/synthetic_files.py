"""Large synthetic files in the exact layouts of the shared real files, for the reader benchmark.

Each writer mimics one real file's bytes (header, column order, number formats, line
shapes, compression), with made-up values: Tardis ``trades`` and ``incremental_book_L2``
CSVs, a LOBSTER zip (message + orderbook CSVs), a Sierra Chart ``.scid`` of tick
records, and a gzip Binance WebSocket capture of ``@trade`` and ``@bookTicker`` messages
prefixed by a receive time in ns. Timing only, not a market model.
"""
from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from data.reading.readers.sierra import SCID_HEADER_SIZE, SCID_RECORD

__all__ = ["write_tardis_trades", "write_tardis_l2", "write_lobster", "write_scid", "write_binance_capture"]


def _csv_bytes(columns: dict, header: str | None = None) -> bytes:
    sink = pa.BufferOutputStream()
    pacsv.write_csv(pa.table(columns), sink, pacsv.WriteOptions(include_header=False, quoting_style="none"))
    body = sink.getvalue().to_pybytes()
    return body if header is None else (header + "\n").encode() + body


def _walk(rng: np.random.Generator, n: int, start: float, tick: float) -> np.ndarray:
    steps = rng.choice(np.array([-1, 0, 1]), n, p=[0.1, 0.8, 0.1])
    return start + np.cumsum(steps) * tick


def write_tardis_trades(path: Path, n: int, seed: int = 1) -> Path:
    """Tardis ``trades``: ``exchange,symbol,timestamp,local_timestamp,id,side,price,amount`` (µs times)."""
    rng = np.random.default_rng(seed)
    ts = 1_582_329_602_111_000 + np.cumsum(rng.integers(0, 2_000, n))
    path.write_bytes(_csv_bytes({
        "exchange": pa.array(["binance-futures"] * n), "symbol": pa.array(["BTCUSDT"] * n),
        "timestamp": ts, "local_timestamp": ts + rng.integers(100_000, 400_000, n),
        "id": np.arange(42_377_944, 42_377_944 + n), "side": np.where(rng.random(n) < 0.5, "buy", "sell"),
        "price": np.round(_walk(rng, n, 9_682.0, 0.5), 1), "amount": rng.geometric(0.3, n) / 1000,
    }, "exchange,symbol,timestamp,local_timestamp,id,side,price,amount"))
    return path


def write_tardis_l2(path: Path, n: int, seed: int = 2, depth: int = 20) -> Path:
    """Tardis ``incremental_book_L2``: a snapshot of ``2 * depth`` levels, then one-level updates
    (``amount`` 0 deletes), a few rows per ``timestamp``."""
    rng = np.random.default_rng(seed)
    m = n - 2 * depth
    snap_px = np.r_[6_421.5 + 0.5 * np.arange(depth), 6_421.0 - 0.5 * np.arange(depth)]
    mid = _walk(rng, m, 6_421.25, 0.5)
    is_bid = rng.random(m) < 0.5
    offset = 0.25 + 0.5 * rng.geometric(0.3, m)
    price = np.r_[snap_px, np.where(is_bid, mid - offset, mid + offset)]
    amount = np.r_[rng.integers(1, 50, 2 * depth) * 10, np.where(rng.random(m) < 0.3, 0, rng.integers(1, 5000, m) * 10)]
    ts = 1_585_699_200_245_000 + np.r_[np.zeros(2 * depth, np.int64), np.cumsum(rng.random(m) < 0.4) * 1_000]
    path.write_bytes(_csv_bytes({
        "exchange": pa.array(["deribit"] * n), "symbol": pa.array(["BTC-PERPETUAL"] * n),
        "timestamp": ts, "local_timestamp": ts + 110_684, "is_snapshot": np.r_[np.ones(2 * depth, bool), np.zeros(m, bool)],
        "side": np.r_[np.full(depth, "ask"), np.full(depth, "bid"), np.where(is_bid, "bid", "ask")],
        "price": price, "amount": amount.astype(np.float64),
    }, "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount"))
    return path


def write_lobster(folder: Path, n_trades: int, seed: int = 3, ticker: str = "GOOG") -> Path:
    """A LOBSTER zip as LOBSTER ships it (``TICKER_DATE_34200000_57600000_{message,orderbook}_1.csv``,
    deflated) with about four messages per execution, as in the GOOG sample."""
    rng = np.random.default_rng(seed)
    n = 4 * n_trades
    kind = rng.choice(np.array([1, 2, 3, 4, 5]), n, p=[0.45, 0.02, 0.28, 0.18, 0.07])
    seconds = np.round(34_200 + np.sort(rng.random(n)) * 23_400, 9)
    mid = _walk(rng, n, 5_800_000, 100).astype(np.int64)
    direction = np.where(rng.random(n) < 0.5, 1, -1)
    message = _csv_bytes({"time": seconds, "type": kind, "order_id": rng.integers(1, 30_000_000, n),
                          "size": rng.geometric(0.02, n), "price": mid - direction * 100 * rng.integers(0, 5, n),
                          "direction": direction})
    book = _csv_bytes({"ask": mid + 100, "ask_size": rng.integers(1, 500, n), "bid": mid - 100,
                       "bid_size": rng.integers(1, 500, n)})
    stem = f"{ticker}_2012-06-21_34200000_57600000"
    path = folder / f"LOBSTER_SampleFile_{ticker}_2012-06-21_1.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr(f"{stem}_orderbook_1.csv", book)
        zf.writestr(f"{stem}_message_1.csv", message)
    return path


def write_scid(path: Path, n: int, seed: int = 4) -> Path:
    """A Sierra Chart ``.scid`` of tick records: 56-byte ``SCID`` header, 40-byte records
    (``Open`` 0, ``High`` ask, ``Low`` bid, ``Close`` price, one side's volume), times made
    unique within a millisecond by a microsecond counter, as Sierra writes them."""
    rng = np.random.default_rng(seed)
    ms = 3_886_000_000_000 + np.cumsum(rng.integers(0, 3, n))  # ms since 1899-12-30 (2023)
    same = np.r_[False, ms[1:] == ms[:-1]]
    run = np.cumsum(~same)
    counter = np.arange(n) - np.flatnonzero(~same)[run - 1]
    rec = np.zeros(n, SCID_RECORD)
    bid = _walk(rng, n, 4_100.0, 0.25)
    buy = rng.random(n) < 0.5
    size = rng.geometric(0.4, n).astype(np.uint32)
    rec["datetime"] = ms * 1000 + counter
    rec["high"], rec["low"] = bid + 0.25, bid
    rec["close"] = np.where(buy, bid + 0.25, bid)
    rec["num_trades"] = 1
    rec["total_volume"] = size
    rec["ask_volume"] = np.where(buy, size, 0)
    rec["bid_volume"] = np.where(buy, 0, size)
    header = bytearray(SCID_HEADER_SIZE)
    header[:4] = b"SCID"
    header[4:8] = SCID_HEADER_SIZE.to_bytes(4, "little")
    header[8:12] = SCID_RECORD.itemsize.to_bytes(4, "little")
    header[12:14] = (1).to_bytes(2, "little")
    path.write_bytes(bytes(header) + rec.tobytes())
    return path


def _decimal(units: np.ndarray, places: int) -> pa.Array:
    """Integers of 10**-places as fixed-point text (``6180030, 2`` -> ``"61800.30"``)."""
    whole = pc.cast(pa.array(units // 10**places), pa.string())
    frac = pc.utf8_lpad(pc.cast(pa.array(units % 10**places), pa.string()), places, "0")
    return pc.binary_join_element_wise(whole, frac, ".")


def _join(*parts) -> pa.Array:
    """Element-wise concatenation of text arrays and constant strings."""
    return pc.binary_join_element_wise(*[p if isinstance(p, (pa.Array, pa.ChunkedArray)) else pa.scalar(p) for p in parts], "")


def write_binance_capture(path: Path, n_trades: int, quotes_per_trade: int = 3, seed: int = 5) -> Path:
    """A gzip Binance USD-M capture: ``<receive ns> <message>`` lines of wrapped ``@trade`` and
    ``@bookTicker`` messages (about three quotes per trade, as in the BTCUSDT sample), the
    receive clock 1.3 s behind the exchange's."""
    rng = np.random.default_rng(seed)
    n = n_trades * (1 + quotes_per_trade)
    is_trade = np.zeros(n, bool)
    is_trade[rng.choice(n, n_trades, replace=False)] = True
    ms = 1_723_161_256_300 + np.cumsum(rng.integers(0, 3, n))
    text = {k: pc.cast(pa.array(v), pa.string()) for k, v in {
        "receive": (ms - 1_300) * 1_000_000 + rng.integers(0, 999_999, n), "ms": ms, "i": np.arange(n)}.items()}
    cents = (_walk(rng, n, 6_180_020, 10)).astype(np.int64)
    buyer_maker = rng.random(n) < 0.5
    lots = rng.geometric(0.3, n)
    t = np.flatnonzero(is_trade)
    q = np.flatnonzero(~is_trade)
    trade = _join(text["receive"].take(t), ' {"stream":"btcusdt@trade","data":{"e":"trade","E":', text["ms"].take(t), ',"T":',
                  text["ms"].take(t), ',"s":"BTCUSDT","t":', text["i"].take(t), ',"p":"',
                  _decimal(np.where(buyer_maker, cents, cents + 10)[t], 2), '","q":"', _decimal(lots[t], 3),
                  '","X":"MARKET","m":', pa.array(np.where(buyer_maker[t], "true", "false")), "}}")
    quote = _join(text["receive"].take(q), ' {"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":', text["i"].take(q),
                  ',"s":"BTCUSDT","b":"', _decimal(cents[q], 2), '","B":"', _decimal(lots[q] * 7, 3), '","a":"',
                  _decimal(cents[q] + 10, 2), '","A":"', _decimal(lots[q] * 5, 3), '","T":', text["ms"].take(q), ',"E":',
                  text["ms"].take(q), "}}")
    lines = np.empty(n, object)
    lines[t], lines[q] = trade.to_numpy(zero_copy_only=False), quote.to_numpy(zero_copy_only=False)
    with gzip.open(path, "wb", compresslevel=1) as fh:
        fh.write(("\n".join(lines) + "\n").encode())
    return path
