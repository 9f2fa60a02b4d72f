"""Vendor tick formats (data/reading/formats.py): Binance trades/aggTrades, Databento DBN, ccxt,
NinjaTrader; detection, forced formats and the no-format error.

Files are written in tmp_path in the vendor's exact layout; expected values are worked
out by hand in the comments (epoch 1700000000 s = 2023-11-14 22:13:20 UTC,
1735689600 s = 2025-01-01 00:00:00 UTC, 1498793709 s = 2017-06-30 03:35:09 UTC:
17347 days = 2017-01-01 (17167 days) + 180, remainder 12909 s = 3 h 35 min 9 s).
"""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.feather as feather
import pytest

from data import load_quotes, load_ticks
from data.errors import OrderFlowError
from data.reading.formats import detect_binance
from data.reading.loader import FORMATS, format_load_report

FIXTURES = Path(__file__).parent / "fixtures"
HAS_DATABENTO = importlib.util.find_spec("databento") is not None
needs_databento = pytest.mark.skipif(
    not HAS_DATABENTO, reason="the optional databento package is absent (pip install .[databento])"
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def utc(*texts: str) -> list[pd.Timestamp]:
    return [pd.Timestamp(t, tz="UTC") for t in texts]


def report(ticks: pd.DataFrame) -> dict:
    return ticks.attrs["load_report"]


# --------------------------------------------------------------------------- Binance trades

SPOT_TRADES = (  # id, price, qty, quote_qty, time (ms), is_buyer_maker, is_best_match
    "101,42000.10,0.5,21000.05,1700000000123,True,True\n"
    "102,42000.20,0.25,10500.05,1700000000456,False,True\n"
    "103,42000.00,1.0,42000.00,1700000000456,true,True\n"
)


def test_binance_trades_headerless_spot(tmp_path):
    ticks = load_ticks(write(tmp_path, "BTCUSDT-trades-2023-11-14.csv", SPOT_TRADES))
    assert report(ticks)["format"] == "binance_trades"
    assert ticks["timestamp"].tolist() == utc(
        "2023-11-14 22:13:20.123", "2023-11-14 22:13:20.456", "2023-11-14 22:13:20.456"
    )
    assert ticks["price"].tolist() == [42000.10, 42000.20, 42000.00]
    assert ticks["size"].tolist() == [0.5, 0.25, 1.0]  # qty, not quote_qty
    assert ticks["side"].tolist() == [-1, 1, -1]  # buyer maker True -> the seller hit the bid
    assert report(ticks)["columns"] == {
        "timestamp": "time", "price": "price", "size": "qty", "is_buyer_maker": "is_buyer_maker",
    }


def test_binance_trades_with_header_and_microseconds(tmp_path):
    # futures dumps carry a header and no is_best_match; 2025+ spot dumps use microseconds
    text = "id,price,qty,quote_qty,time,is_buyer_maker\n7,100.5,2,201,1735689600123456,false\n"
    ticks = load_ticks(write(tmp_path, "t.csv", text))
    assert report(ticks)["format"] == "binance_trades"
    assert ticks["timestamp"].tolist() == utc("2025-01-01 00:00:00.123456")
    assert ticks[["price", "size", "side"]].values.tolist() == [[100.5, 2.0, 1.0]]


# --------------------------------------------------------------------------- Binance aggTrades


def test_binance_aggtrades_headerless(tmp_path):
    # the example line of Binance's public-data documentation, plus one seller-maker trade
    text = (
        "26129,0.01633102,4.70443515,27781,27781,1498793709153,True,True\n"
        "26130,0.01633200,1.5,27782,27784,1498793709200,False,True\n"
    )
    ticks = load_ticks(write(tmp_path, "ETHBTC-aggTrades-2017-06-30.csv", text))
    assert report(ticks)["format"] == "binance_aggtrades"
    assert ticks["timestamp"].tolist() == utc("2017-06-30 03:35:09.153", "2017-06-30 03:35:09.200")
    assert ticks["price"].tolist() == [0.01633102, 0.016332]
    assert ticks["size"].tolist() == [4.70443515, 1.5]
    assert ticks["side"].tolist() == [-1, 1]


def test_binance_aggtrades_with_header(tmp_path):
    text = (
        "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker\n"
        "5,10.0,3,7,9,1735689600000001,false\n"
    )
    ticks = load_ticks(write(tmp_path, "a.csv", text))
    assert report(ticks)["format"] == "binance_aggtrades"
    assert ticks["timestamp"].tolist() == utc("2025-01-01 00:00:00.000001")
    assert ticks[["price", "size", "side"]].values.tolist() == [[10.0, 3.0, 1.0]]


def test_binance_detection_tells_the_two_layouts_apart(tmp_path):
    # both have 7 columns here: trades with is_best_match, aggTrades without it; the first
    # boolean is the 6th column in trades and the 7th in aggTrades
    trades = write(tmp_path, "t.csv", "1,10.0,1,10.0,1700000000000,True,True\n")
    agg = write(tmp_path, "a.csv", "1,10.0,1,2,3,1700000000000,True\n")
    assert detect_binance(trades) == "binance_trades"
    assert detect_binance(agg) == "binance_aggtrades"
    assert detect_binance(FIXTURES / "ticks_small.csv") is None
    assert load_ticks(FIXTURES / "ticks_small.csv").attrs["load_report"]["format"] == "csv"


def test_binance_ambiguous_file_needs_format(tmp_path):
    # epoch seconds do not look like a Binance dump (ms/us), so nothing claims the file ...
    path = write(tmp_path, "old.csv", "1,10.0,2,20.0,1700000000,False\n")
    message = str(pytest.raises(OrderFlowError, load_ticks, path).value)
    assert "no price column" in message and "binance_trades" in message
    # ... and naming the format reads it by its column count
    ticks = load_ticks(path, format="binance_trades")
    assert ticks["timestamp"].tolist() == utc("2023-11-14 22:13:20")
    assert ticks[["price", "size", "side"]].values.tolist() == [[10.0, 2.0, 1.0]]


def test_binance_forced_on_wrong_column_count(tmp_path):
    path = write(tmp_path, "x.csv", "1,2,3\n")
    error = pytest.raises(OrderFlowError, load_ticks, path, format="binance_aggtrades").value
    assert "7 or 8 columns" in str(error) and "the first line has 3" in str(error)


@pytest.mark.parametrize("fmt", ["binance_trades", "binance_aggtrades"])
def test_binance_forced_on_a_file_with_another_header_says_so(tmp_path, fmt):
    # six columns, like a headerless trades dump, but the first line is names
    path = write(tmp_path, "x.csv", "Timestamp,Price,Volume,BidSize,AskSize,TradeType\n"
                                    "2024-03-01T09:30:05Z,100,2,10,12,1\n")
    error = pytest.raises(OrderFlowError, load_ticks, path, format=fmt).value
    assert str(error).startswith(f"{path}: the first line is a header (Timestamp, Price, Volume, BidSize, "
                                 f"AskSize, TradeType) that a Binance {fmt.split('_')[1]} dump does not have")
    assert "unparseable" not in str(error)
    assert load_ticks(path)["price"].tolist() == [100.0]  # read by its names without format=


# --------------------------------------------------------------------------- ccxt


def test_ccxt_csv_fixture_drops_repeated_ids():
    # freqtrade's example: ids ...957-961, then ...959 and ...960 again (rows 6 and 7)
    ticks = load_ticks(FIXTURES / "public_trades_list_simple_example.csv")
    rep = report(ticks)
    assert rep["format"] == "ccxt"
    assert (rep["rows_read"], rep["rows_kept"], rep["rejected"]) == (7, 5, {"duplicate_id": 2})
    assert ticks["size"].tolist() == [0.013, 0.001, 0.196, 0.046, 0.127]
    assert ticks["side"].tolist() == [1, -1, -1, -1, 1]  # "buy", "sell", "sell ", "  sell", "buy "
    assert ticks["timestamp"].iloc[-1] == pd.Timestamp("2023-02-02 04:10:00.773", tz="UTC")
    assert "Rejected 2: 2 duplicate id." in format_load_report(rep)


def test_ccxt_json_lists_and_objects(tmp_path):
    rows = [  # freqtrade's JSON layout: timestamp, id, type, side, price, amount, cost
        [1675311000092, "11", None, "buy", 23438.0, 0.013, 304.694],
        [1675311000211, "12", None, "sell", 23437.5, 0.001, 23.4375],
        [1675311000300, "11", None, "buy", 23438.0, 0.013, 304.694],
    ]
    ticks = load_ticks(write(tmp_path, "trades.json", json.dumps(rows)))
    assert report(ticks)["format"] == "ccxt" and report(ticks)["rejected"] == {"duplicate_id": 1}
    assert ticks[["price", "size", "side"]].values.tolist() == [[23438.0, 0.013, 1], [23437.5, 0.001, -1]]

    objects = [  # ccxt fetch_trades() dicts
        {"info": {"a": 1}, "timestamp": 1675311000092, "datetime": "2023-02-02T04:10:00.092Z",
         "symbol": "BTC/USDT", "id": "5", "order": None, "type": None, "takerOrMaker": "taker",
         "side": "sell", "price": 23437.5, "amount": 0.5, "cost": 11718.75, "fee": None},
    ]
    ticks = load_ticks(write(tmp_path, "fetched.json", json.dumps(objects)))
    assert report(ticks)["format"] == "ccxt"
    assert ticks["timestamp"].tolist() == utc("2023-02-02 04:10:00.092")
    assert ticks[["price", "size", "side"]].values.tolist() == [[23437.5, 0.5, -1]]


def test_ccxt_feather_and_plain_feather(tmp_path):
    table = pa.table({
        "timestamp": [1675311000092, 1675311000092, 1675311000500],
        "id": ["1", "1", "2"], "type": [None, None, None], "side": ["sell", "sell", "buy"],
        "price": [10.0, 10.0, 10.5], "amount": [1.0, 1.0, 2.0], "cost": [10.0, 10.0, 21.0],
    })
    feather.write_feather(table, tmp_path / "BTC_USDT-trades.feather")
    ticks = load_ticks(tmp_path / "BTC_USDT-trades.feather")
    assert report(ticks)["format"] == "ccxt" and report(ticks)["rejected"] == {"duplicate_id": 1}
    assert ticks[["price", "size", "side"]].values.tolist() == [[10.0, 1.0, -1], [10.5, 2.0, 1]]

    feather.write_feather(pa.table({"time": [1700000000000], "price": [3.0], "size": [4.0]}),
                          tmp_path / "plain.feather")
    plain = load_ticks(tmp_path / "plain.feather")
    assert report(plain)["format"] == "feather"
    assert plain[["price", "size", "side"]].values.tolist() == [[3.0, 4.0, 0]]


# --------------------------------------------------------------------------- NinjaTrader

NT8 = "20240301 093005 1234567;4500.25;4500;4500.25;3\n20240301 093006 0000000;4500.5;4500.25;4500.5;1\n"


def test_ninjatrader_default_utc_with_note(tmp_path):
    ticks = load_ticks(write(tmp_path, "ES 03-24.Last.txt", NT8))
    rep = report(ticks)
    assert rep["format"] == "ninjatrader"
    # fffffff = 100 ns units: 1234567 -> .1234567 s
    assert ticks["timestamp"].tolist() == utc("2024-03-01 09:30:05.1234567", "2024-03-01 09:30:06")
    assert ticks["price"].tolist() == [4500.25, 4500.5]
    assert ticks["bid"].tolist() == [4500.0, 4500.25] and ticks["ask"].tolist() == [4500.25, 4500.5]
    assert ticks["size"].tolist() == [3.0, 1.0]
    assert ticks["side"].tolist() == [0, 0] and rep["unknown_side"] == 2
    text = format_load_report(rep)
    assert "ninjatrader times carry no zone: read as UTC" in text and "no aggressor flag" in text


def test_ninjatrader_machine_zone(tmp_path):
    # 2024-03-01 is before US DST (10 March): New York is UTC-5, so 09:30 -> 14:30 UTC
    ticks = load_ticks(write(tmp_path, "nt.txt", NT8), tz="America/New_York")
    assert ticks["timestamp"].tolist() == utc("2024-03-01 14:30:05.1234567", "2024-03-01 14:30:06")
    assert not any("no zone" in n for n in report(ticks).get("notes", []))


def test_ninjatrader_bad_time_names_the_row(tmp_path):
    text = NT8 + "20240301 0930 1;4500;4499.75;4500;2\n"
    path = write(tmp_path, "nt.txt", text)
    error = pytest.raises(OrderFlowError, load_ticks, path, format="ninjatrader").value
    assert (error.row, error.column, error.value) == (3, "time", "20240301 0930 1")


@pytest.mark.parametrize(
    "line, value",
    [
        ("20240231 093000 0000000;4500;4499.75;4500;2", "2024-02-31T09:30:00.0000000"),  # no 31 February
        ("20230229 093000 0000000;4500;4499.75;4500;2", "2023-02-29T09:30:00.0000000"),  # not a leap year
        ("20240415 093099 0000000;4500;4499.75;4500;2", "2024-04-15T09:30:99.0000000"),  # second 99
        ("20240415 243000 0000000;4500;4499.75;4500;2", "2024-04-15T24:30:00.0000000"),  # hour 24
    ],
)
def test_ninjatrader_impossible_dates_and_times_name_the_row(tmp_path, line, value):
    path = write(tmp_path, "nt.txt", NT8 + line + "\n")
    error = pytest.raises(OrderFlowError, load_ticks, path).value
    assert (error.row, error.column, error.value) == (3, "time", value)
    assert "unparseable time" in str(error)
    ticks = load_ticks(path, on_bad_rows="drop")
    assert report(ticks)["rejected"] == {"bad_timestamp": 1}
    assert ticks["timestamp"].tolist() == utc("2024-03-01 09:30:05.1234567", "2024-03-01 09:30:06")


def test_ninjatrader_leap_day_and_a_year_out_of_range(tmp_path):
    text = "20240229 235959 5000000;1;1;1;1\n20000229 000000 0000000;2;2;2;1\n"
    ticks = load_ticks(write(tmp_path, "leap.txt", text))
    assert ticks["timestamp"].tolist() == utc("2000-02-29", "2024-02-29 23:59:59.5")
    path = write(tmp_path, "nt.txt", NT8 + "29990301 093007 0000000;4500;4499.75;4500;2\n")
    error = pytest.raises(OrderFlowError, load_ticks, path).value
    assert (error.row, error.column) == (3, "time") and "time out of range" in str(error)
    assert report(load_ticks(path, on_bad_rows="drop"))["rejected"] == {"time_out_of_range": 1}


# --------------------------------------------------------------------------- Databento


def dbn_bytes(schema: str, records: list, symbols=("X",)) -> bytes:
    """A DBN stream: metadata then the records, as the databento package writes it."""
    import databento_dbn as dbn

    meta = dbn.Metadata("GLBX.MDP3", 0, dbn.SType.RAW_SYMBOL, dbn.SType.INSTRUMENT_ID,
                        dbn.Schema.from_str(schema), symbols=list(symbols))
    return meta.encode() + b"".join(bytes(r) for r in records)


def mbp1(instrument: int, ts: int, price: float, size: int, action: str, side: str,
         bid: float, ask: float, bid_size: int, ask_size: int):
    import databento_dbn as dbn

    scale = dbn.FIXED_PRICE_SCALE
    level = dbn.BidAskPair(bid_px=round(bid * scale), ask_px=round(ask * scale),
                           bid_sz=bid_size, ask_sz=ask_size)
    return dbn.MBP1Msg(1, instrument, ts, round(price * scale), size, dbn.Action(action),
                       dbn.Side(side), 0, ts + 500, levels=level)


T0 = 1_709_285_405_000_000_000  # 2024-03-01 09:30:05 UTC in ns


@needs_databento
def test_databento_tbbo_fixture():
    ticks = load_ticks(FIXTURES / "GLBX.MDP3.tbbo.dbn.zst")
    assert report(ticks)["format"] == "databento"
    # ts_event (exchange time), not the index ts_recv (00:00:00.246821748 ...)
    assert ticks["timestamp"].tolist() == utc(
        "2020-12-28 00:00:00.246507011", "2020-12-28 00:00:00.338778645",
        "2020-12-28 00:00:00.350718341", "2020-12-28 00:00:00.721335895",
    )
    assert ticks["price"].tolist() == [3702.75, 3702.75, 3702.5, 3702.75]
    assert ticks["size"].tolist() == [1.0] * 4
    assert ticks["side"].tolist() == [1, 1, -1, 1]  # B, B, A, B
    assert ticks["bid"].tolist() == [3702.5] * 4 and ticks["ask"].tolist() == [3702.75] * 4
    assert ticks["bid_size"].tolist() == [8, 9, 7, 6] and ticks["ask_size"].tolist() == [8, 5, 9, 10]


@needs_databento
def test_databento_side_n_is_unknown():
    ticks = load_ticks(FIXTURES / "XNAS.ITCH.tbbo.dbn.zst")
    assert ticks["side"].tolist() == [1, 1, -1, 0]  # B, B, A, N
    assert ticks["size"].tolist() == [36, 4, 1, 1] and report(ticks)["unknown_side"] == 1
    assert ticks["ask"].tolist() == [521.0, 521.0, 535.5, 522.0]


@needs_databento
def test_databento_mbp1_keeps_trades_only(tmp_path):
    records = [
        mbp1(7, T0, 10.00, 5, "A", "B", 10.00, 10.50, 5, 3),          # book update
        mbp1(7, T0 + 1_000, 10.50, 2, "T", "B", 10.00, 10.50, 5, 3),  # buy at the ask
        mbp1(7, T0 + 2_000, 10.50, 2, "C", "A", 10.00, 10.50, 5, 1),  # the fill's book update
        mbp1(7, T0 + 3_000, 10.00, 4, "T", "A", 10.00, 10.50, 5, 1),  # sell at the bid
    ]
    path = tmp_path / "es.mbp-1.dbn"
    path.write_bytes(dbn_bytes("mbp-1", records))
    ticks = load_ticks(path)
    rep = report(ticks)
    assert (rep["rows_read"], rep["rows_kept"], rep["rejected"]) == (4, 2, {"book_update": 2})
    assert ticks["timestamp"].tolist() == [pd.Timestamp(T0 + 1_000, tz="UTC"),
                                           pd.Timestamp(T0 + 3_000, tz="UTC")]
    assert ticks[["price", "size", "side", "bid", "ask", "bid_size", "ask_size"]].values.tolist() == [
        [10.5, 2, 1, 10.0, 10.5, 5, 3], [10.0, 4, -1, 10.0, 10.5, 5, 1],
    ]


@needs_databento
def test_databento_errors(tmp_path):
    error = pytest.raises(OrderFlowError, load_ticks, FIXTURES / "GLBX.MDP3.mbp-1.dbn.zst").value
    assert "no trade records (action 'T') among the 4 mbp-1 records" in str(error)

    two = tmp_path / "two.dbn"
    two.write_bytes(dbn_bytes("mbp-1", [mbp1(7, T0, 10, 1, "T", "B", 10, 11, 1, 1),
                                       mbp1(8, T0 + 1, 20, 1, "T", "A", 19, 20, 1, 1)]))
    assert "holds 2 instruments" in str(pytest.raises(OrderFlowError, load_ticks, two).value)

    import databento_dbn as dbn
    bar = dbn.OHLCVMsg(dbn.RType.OHLCV_1M, 1, 7, T0, 10, 11, 9, 10, 100)
    ohlcv = tmp_path / "bars.dbn"
    ohlcv.write_bytes(dbn_bytes("ohlcv-1m", [bar]))
    message = str(pytest.raises(OrderFlowError, load_ticks, ohlcv).value)
    assert "schema 'ohlcv-1m' is not supported" in message and "'tbbo'" in message


def trade_records(n: int) -> list:
    """``n`` mbp-1 trade records, one a second from T0, alternately bought and sold."""
    return [mbp1(7, T0 + i * 1_000_000_000, 10 + i * 0.25, 1 + i % 3, "T", "BA"[i % 2], 9.75 + i * 0.25,
                 10 + i * 0.25, 5, 6) for i in range(n)]


def write_zstd(path: Path, *parts: bytes) -> Path:
    """Each part as a zstd frame of its own, one after the other (Databento's files hold the
    metadata in one frame and the records in the next)."""
    path.write_bytes(b"".join(pa.compress(part, codec="zstd", asbytes=True) for part in parts))
    return path


@needs_databento
@pytest.mark.parametrize("fraction", [0.37, 0.60, 0.83])
def test_databento_truncated_zstd_is_an_error_naming_the_byte(tmp_path, fraction):
    meta = dbn_bytes("mbp-1", [])
    whole = write_zstd(tmp_path / "whole.mbp-1.dbn.zst", meta, dbn_bytes("mbp-1", trade_records(4_000))[len(meta):])
    assert len(load_ticks(whole)) == 4_000 and len(load_quotes(whole)) == 4_000
    data = whole.read_bytes()
    cut = int(len(data) * fraction)
    path = tmp_path / "cut.mbp-1.dbn.zst"
    path.write_bytes(data[:cut])
    for read in (load_ticks, load_quotes):
        error = pytest.raises(OrderFlowError, read, path).value
        assert error.source == path
        assert f"truncated zstd file (the compressed data ends early: the file ends at byte {cut:,}" in str(error)
    # the bundled databento-python fixture (one zstd frame of 256 bytes) cut the same way
    fixture = FIXTURES / "GLBX.MDP3.tbbo.dbn.zst"
    data = fixture.read_bytes()
    cut = int(len(data) * fraction)
    path = tmp_path / fixture.name
    path.write_bytes(data[:cut])
    assert f"the file ends at byte {cut:,}" in str(pytest.raises(OrderFlowError, load_ticks, path).value)


@needs_databento
def test_databento_cut_record_is_an_error(tmp_path):
    stream = dbn_bytes("mbp-1", trade_records(5))
    meta = len(dbn_bytes("mbp-1", []))
    assert len(stream) == meta + 5 * 80  # an mbp-1 record is 80 bytes
    end = meta + 3 * 80 + 17  # 3 whole records and 17 bytes of the 4th
    raw = tmp_path / "cut.mbp-1.dbn"
    raw.write_bytes(stream[:end])
    error = pytest.raises(OrderFlowError, load_ticks, raw).value
    assert error.source == raw
    assert str(error) == (f"{raw}: truncated DBN data: the records end at byte {end:,} inside a record "
                          "(3 whole records of 80 bytes, then 17 bytes of a cut one)")
    # a whole zstd frame around the cut stream: the offset is in the decompressed data
    packed = write_zstd(tmp_path / "cut.mbp-1.dbn.zst", stream[:end])
    message = str(pytest.raises(OrderFlowError, load_quotes, packed).value)
    assert f"the records end at byte {end:,} of the decompressed data inside a record" in message
    # cut inside the metadata
    raw.write_bytes(stream[:meta - 5])
    message = str(pytest.raises(OrderFlowError, load_ticks, raw).value)
    assert f"truncated DBN data: the data ends at byte {meta - 5:,} inside the metadata ({meta:,} bytes)" in message


@needs_databento
def test_databento_damaged_bytes_are_errors(tmp_path):
    fixture = FIXTURES / "GLBX.MDP3.tbbo.dbn.zst"
    data = fixture.read_bytes()
    path = tmp_path / fixture.name
    outcomes = set()
    for at in range(len(data)):  # every byte flipped in turn: an error of ours or, at most, a read
        damaged = bytearray(data)
        damaged[at] ^= 0xFF
        path.write_bytes(bytes(damaged))
        try:
            load_ticks(path)
            outcomes.add("read")
        except OrderFlowError as err:
            assert err.source == path
            outcomes.add("error")
    assert "error" in outcomes
    damaged = bytearray(data)
    damaged[200] ^= 0xFF  # inside the compressed records: the frame's checksum no longer matches
    path.write_bytes(bytes(damaged))
    for read in (load_ticks, load_quotes):
        message = str(pytest.raises(OrderFlowError, read, path).value)
        assert message.startswith(f"{path}: cannot decompress this zstd file: ")


def test_databento_missing_package_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "databento", None)  # import databento -> ImportError
    error = pytest.raises(OrderFlowError, load_ticks, FIXTURES / "GLBX.MDP3.tbbo.dbn.zst").value
    assert "pip install .[databento]" in str(error)
    assert error.source == FIXTURES / "GLBX.MDP3.tbbo.dbn.zst"


# --------------------------------------------------------------------------- no format


def test_no_format_lists_formats_and_columns(tmp_path):
    path = write(tmp_path, "ticks.xyz", "a;b;c\n1;2;3\n")
    message = str(pytest.raises(OrderFlowError, load_ticks, path).value)
    assert "matches no known format (extension '.xyz', columns found: ['a', 'b', 'c'])" in message
    for name in ("binance_trades", "binance_aggtrades", "ccxt", "databento", "ninjatrader", "csv"):
        assert repr(name) in message

    path = write(tmp_path, "weird.csv", "foo,bar\n1,2\n")
    message = str(pytest.raises(OrderFlowError, load_ticks, path).value)
    assert "no price column; columns found: ['foo', 'bar']" in message
    assert f"format= (one of {sorted(FORMATS)})" in message


def test_unknown_format_name(tmp_path):
    path = write(tmp_path, "t.csv", SPOT_TRADES)
    message = str(pytest.raises(OrderFlowError, load_ticks, path, format="binance").value)
    assert "unknown format 'binance'" in message and "'binance_aggtrades'" in message
