"""data.reading.readers: vendor books and trade stores, each checked by hand on a tiny fixture and,
where ../shared is present, against the counts in its SOURCES.md and a slow reference."""
from __future__ import annotations

import gzip
import importlib.util
import json
import zipfile

import numpy as np
import pandas as pd
import pytest

from data import OrderFlowError, classify, load_quotes, load_ticks
from data.reading.quotes import level_columns, quote_levels
from data.reading.readers.book import mbo_level_updates, stab_max, top_of_book
from data.reading.readers.tardis import l2_top_of_book
from tests.conftest import FIXTURES, need_shared
from tests.fixtures import make_reader_fixtures as mk

HAS_DATABENTO = importlib.util.find_spec("databento") is not None
needs_databento = pytest.mark.skipif(not HAS_DATABENTO, reason="the optional databento package is absent")
LOBSTER_MSG = FIXTURES / mk.LOBSTER_NAME.format("message")


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


# --------------------------------------------------------------------------- the book core


def test_stab_max_equals_brute_force():
    rng = np.random.default_rng(3)
    for n in (1, 2, 7, 64, 100):
        lo = rng.integers(0, n, 50)
        hi = lo + rng.integers(0, n, 50)
        hi = np.minimum(hi, n)
        value = rng.integers(0, 1000, 50)
        expected = np.full(n, -1)
        for a, b, v in zip(lo, hi, value):
            expected[a:b] = np.maximum(expected[a:b], v)
        assert np.array_equal(stab_max(lo, hi, value, n), expected)


def reference_mbo(events: list[tuple]) -> np.ndarray:
    """Plain Python book: orders in a dict, level sizes per side; best bid/ask after each event."""
    orders: dict[int, tuple[bool, int, float]] = {}
    levels: dict[bool, dict[int, float]] = {True: {}, False: {}}
    out = []

    def remove(oid: int) -> None:
        is_bid, px, qty = orders.pop(oid)
        levels[is_bid][px] -= qty
        if levels[is_bid][px] == 0:
            del levels[is_bid][px]

    for action, side, px, qty, oid in events:
        if action == "R":
            orders.clear()
            levels[True].clear()
            levels[False].clear()
        elif action in "ACM" and side in "AB":
            if action == "C":
                if oid in orders:
                    is_bid, opx, oqty = orders[oid]
                    remove(oid)
                    if oqty - qty > 0:
                        orders[oid] = (is_bid, opx, oqty - qty)
                        levels[is_bid][opx] = levels[is_bid].get(opx, 0.0) + oqty - qty
            else:
                if oid in orders:
                    remove(oid)
                if qty > 0:
                    orders[oid] = (side == "B", px, qty)
                    levels[side == "B"][px] = levels[side == "B"].get(px, 0.0) + qty
        bid = max(levels[True]) if levels[True] else np.nan
        ask = min(levels[False]) if levels[False] else np.nan
        out.append((bid, levels[True].get(bid, 0.0), ask, levels[False].get(ask, 0.0)))
    return np.array(out, dtype=np.float64)


def fast_mbo(events: list[tuple]) -> np.ndarray:
    action = np.array([e[0].encode() for e in events], dtype="S1")
    side = np.array([e[1].encode() for e in events], dtype="S1")
    px = np.array([e[2] for e in events], dtype=np.int64)
    qty = np.array([e[3] for e in events], dtype=np.float64)
    oid = np.array([e[4] for e in events], dtype=np.uint64)
    updates, _ = mbo_level_updates(action, side, px, qty, oid)
    top = top_of_book(updates, len(events))
    return np.column_stack([top.bid, top.bid_size, top.ask, top.ask_size])


HAND_EVENTS = [  # (action, side, price, size, order id) -> best bid, size, best ask, size after it
    ("A", "B", 100, 5, 1),   # bid 100 x 5
    ("A", "A", 101, 3, 2),   # ask 101 x 3
    ("A", "B", 100, 2, 3),   # bid 100 x 7 (two orders)
    ("C", "B", 100, 5, 1),   # order 1 gone: bid 100 x 2
    ("M", "B", 99, 4, 3),    # order 3 moves to 99 with 4: bid 99 x 4
    ("T", "B", 101, 1, 0),   # a trade: no change
    ("F", "A", 101, 1, 2),   # a fill: no change (the cancel follows)
    ("C", "A", 101, 1, 2),   # ask 101 x 2
    ("C", "B", 98, 1, 77),   # cancel of an unknown order: no change
    ("R", "N", 0, 0, 0),     # clear: empty book
    ("A", "A", 102, 1, 4),   # ask 102 x 1
]
HAND_BOOK = [
    (100, 5, np.nan, 0), (100, 5, 101, 3), (100, 7, 101, 3), (100, 2, 101, 3), (99, 4, 101, 3),
    (99, 4, 101, 3), (99, 4, 101, 3), (99, 4, 101, 2), (99, 4, 101, 2), (np.nan, 0, np.nan, 0),
    (np.nan, 0, 102, 1),
]


def test_mbo_book_by_hand():
    expected = np.array(HAND_BOOK, dtype=np.float64)
    np.testing.assert_array_equal(reference_mbo(HAND_EVENTS), expected)
    np.testing.assert_array_equal(fast_mbo(HAND_EVENTS), expected)


def random_events(rng: np.random.Generator, n: int) -> list[tuple]:
    events, live = [], []
    for _ in range(n):
        roll = rng.random()
        if roll < 0.45 or not live:
            oid = int(rng.integers(1, 10**6))
            side = "B" if rng.random() < 0.5 else "A"
            base = 100 if side == "B" else 103
            events.append(("A", side, base + int(rng.integers(-3, 4)), int(rng.integers(1, 6)), oid))
            live.append((oid, side))
        elif roll < 0.75:
            oid, side = live[int(rng.integers(len(live)))]
            events.append(("C", side, 0, int(rng.integers(1, 4)), oid))
        elif roll < 0.93:
            oid, side = live[int(rng.integers(len(live)))]
            base = 100 if side == "B" else 103
            events.append(("M", side, base + int(rng.integers(-3, 4)), int(rng.integers(1, 6)), oid))
        elif roll < 0.98:
            events.append(("T", "B", 101, 1, 0))
        else:
            events.append(("R", "N", 0, 0, 0))
            live = []
    return events


@pytest.mark.parametrize("seed", range(5))
def test_mbo_book_matches_reference_on_random_events(seed):
    """Crossed and locked books, partial cancels, re-pricing modifies, clears, unknown ids."""
    events = random_events(np.random.default_rng(seed), 400)
    np.testing.assert_array_equal(fast_mbo(events), reference_mbo(events))


def test_l2_book_by_hand():
    # rows: snapshot (bid 10 x 1, bid 9 x 2, ask 11 x 3), update bid 10 -> 0, ask 10.5 x 4, new snapshot
    snap = np.array([1, 1, 1, 0, 0, 1, 1], bool)
    is_bid = np.array([1, 1, 0, 1, 0, 1, 0], bool)
    price = np.array([10, 9, 11, 10, 10.5, 8, 12], float)
    amount = np.array([1, 2, 3, 0, 4, 5, 6], float)
    top = l2_top_of_book(snap, is_bid, price, amount)
    np.testing.assert_array_equal(top.bid, [10, 10, 10, 9, 9, 8, 8])
    np.testing.assert_array_equal(top.bid_size, [1, 1, 1, 2, 2, 5, 5])
    np.testing.assert_array_equal(top.ask, [np.nan, np.nan, 11, 11, 10.5, np.nan, 12])
    np.testing.assert_array_equal(top.ask_size, [0, 0, 3, 3, 4, 0, 6])


# --------------------------------------------------------------------------- Sierra Chart


def test_scid_fixtures_are_what_the_script_writes(tmp_path):
    for path in mk.write(tmp_path):
        assert path.read_bytes() == (FIXTURES / path.name).read_bytes(), path.name


def test_scid_ticks_by_hand():
    ticks = load_ticks(FIXTURES / "sierra_ticks.scid")
    report = ticks.attrs["load_report"]
    assert report["format"] == "sierra_scid" and report["rows_kept"] == 6
    t0 = utc("2024-03-01 14:30:00")
    ms = pd.to_timedelta([1, 2, 7, 7, 9, 1500], unit="ms")
    assert list(ticks["timestamp"]) == list(t0 + ms)  # the split trade's +1 us counter is gone
    assert ticks["price"].tolist() == [5000.25, 5000.0, 5000.5, 5000.75, 5000.5, 5000.5]
    assert ticks["size"].tolist() == [3, 2, 4, 1, 5, 1]
    assert ticks["side"].tolist() == [1, -1, 1, 1, 0, -1]
    assert ticks["bid"].tolist() == [5000.0, 5000.0, 5000.25, 5000.5, 5000.5, 5000.5]
    assert ticks["ask"].tolist() == [5000.25, 5000.25, 5000.5, 5000.75, 5000.75, 5000.75]
    assert any("split" in note and ": 1;" in note for note in report["notes"])


def test_scid_bar_file_is_refused():
    with pytest.raises(OrderFlowError, match=r"holds bars, not trades.*row 1|row 1.*holds bars, not trades"):
        load_ticks(FIXTURES / "sierra_bars.scid")


def test_scid_truncated_and_empty(tmp_path):
    data = (FIXTURES / "sierra_ticks.scid").read_bytes()
    (tmp_path / "cut.scid").write_bytes(data[:-3])
    with pytest.raises(OrderFlowError, match="truncated"):
        load_ticks(tmp_path / "cut.scid")
    (tmp_path / "empty.scid").write_bytes(data[:56])
    with pytest.raises(OrderFlowError, match="no records"):
        load_ticks(tmp_path / "empty.scid")


def test_scid_real_sample():
    path = need_shared() / "realdata" / "sierra" / "ESM23_test.scid"
    ticks = load_ticks(path)
    assert len(ticks) == 10 and ticks["size"].sum() == 10
    assert ticks["side"].tolist() == [-1, -1, -1, -1, -1, -1, 1, 1, -1, -1]
    assert ticks["timestamp"].iloc[0] == utc("2023-02-21 20:37:19.026")
    assert ticks["timestamp"].iloc[3] == ticks["timestamp"].iloc[4]  # one trade split in two records
    assert ((ticks["bid"] <= ticks["price"]) & (ticks["price"] <= ticks["ask"])).iloc[:-1].all()


# --------------------------------------------------------------------------- LOBSTER


def test_lobster_ticks_by_hand():
    ticks = load_ticks(LOBSTER_MSG)
    report = ticks.attrs["load_report"]
    assert report["format"] == "lobster" and report["rejected"] == {"book_update": 4}
    # 09:30:01.25 New York (EDT, UTC-4) on 2012-06-21
    assert list(ticks["timestamp"]) == [utc("2012-06-21 13:30:01.25"), utc("2012-06-21 13:30:02")]
    assert ticks["price"].tolist() == [585.10, 585.05]
    assert ticks["side"].tolist() == [1, -1]  # -Direction
    assert ticks["bid"].tolist() == [585.0, 585.0] and ticks["ask"].tolist() == [585.1, 585.1]
    assert ticks["ask_size"].tolist() == [50, 30]  # the book *before* each execution


def test_lobster_quotes_by_hand_with_levels():
    quotes = load_quotes(FIXTURES / mk.LOBSTER_NAME.format("orderbook"))
    assert quote_levels(quotes) == 2 and quotes.attrs["load_report"]["levels"] == 2
    assert list(quotes.columns) == ["timestamp", "bid", "ask", "bid_size", "ask_size", *level_columns(2)]
    assert quotes["timestamp"].iloc[0] == utc("2012-06-21 13:30:00.000000001")
    assert np.isnan(quotes["ask"].iloc[0]) and quotes["ask_size"].iloc[0] == 0  # dummy level
    assert quotes["bid"].tolist()[:4] == [585.0] * 4 and np.isnan(quotes["bid"].iloc[4])
    assert quotes["bid_2"].isna().all() and (quotes["bid_size_2"] == 0).all()
    assert (quotes["bid_1"].fillna(-1) == quotes["bid"].fillna(-1)).all()


def test_lobster_zip_equals_csv_pair(tmp_path):
    archive = tmp_path / "LOBSTER_SampleFile_AAPL_2012-06-21_2.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for kind in ("message", "orderbook"):
            zf.write(FIXTURES / mk.LOBSTER_NAME.format(kind), mk.LOBSTER_NAME.format(kind))
    pd.testing.assert_frame_equal(load_ticks(archive), load_ticks(LOBSTER_MSG), check_like=False)
    assert load_ticks(archive).attrs["load_report"]["format"] == "lobster"


def test_lobster_needs_both_files(tmp_path):
    lone = tmp_path / LOBSTER_MSG.name
    lone.write_bytes(LOBSTER_MSG.read_bytes())
    with pytest.raises(OrderFlowError, match="orderbook"):
        load_ticks(lone)


@pytest.mark.parametrize("name, executions, hidden, buys", [("AMZN", 11_419, 2_445, None), ("GOOG", 11_678, 3_913, None)])
def test_lobster_real_samples(name, executions, hidden, buys):
    path = need_shared() / "realdata" / "lobster" / f"LOBSTER_SampleFile_{name}_2012-06-21_1.zip"
    ticks = load_ticks(path)
    assert len(ticks) == executions
    assert ticks["timestamp"].iloc[0] >= utc("2012-06-21 13:30") and ticks["timestamp"].iloc[-1] <= utc("2012-06-21 20:00")
    from data.reading.readers.lobster import read_lobster_messages
    messages = read_lobster_messages(path)
    assert int((messages["type"] == 5).sum()) == hidden
    quotes = load_quotes(path)
    assert len(quotes) == len(messages)
    visible = messages[messages["type"] == 4]
    # a visible execution takes the best quote on the resting side: the book before it has that price
    book_before = quotes.iloc[visible.index - 1]
    at = np.where(visible["direction"] == 1, book_before["bid"], book_before["ask"])
    assert np.mean(np.isclose(at, visible["price"])) > 0.99


# --------------------------------------------------------------------------- Databento


@needs_databento
def test_mbo_real_file_ticks_and_book():
    import databento

    path = need_shared() / "realdata" / "databento" / "esh4-glbx-mdp3-20231225.mbo.dbn.zst"
    ticks = load_ticks(path)
    report = ticks.attrs["load_report"]
    assert report["format"] == "databento_mbo" and report["rows_read"] == 68_792
    assert len(ticks) == 2_973 and ticks["size"].sum() == 9_892
    assert ticks["side"].value_counts().to_dict() == {1: 1_542, -1: 1_430, 0: 1}
    records = databento.DBNStore.from_file(path).to_ndarray()
    events = list(zip(records["action"].astype(str), records["side"].astype(str), records["price"].tolist(),
                      records["size"].astype(float).tolist(), records["order_id"].tolist()))
    ref = reference_mbo(events)
    trades = np.flatnonzero(records["action"] == b"T")
    before = ref[trades - 1]
    np.testing.assert_array_equal(ticks["bid"].to_numpy(), before[:, 0] / 1e9)
    np.testing.assert_array_equal(ticks["bid_size"].to_numpy(), before[:, 1])
    np.testing.assert_array_equal(ticks["ask"].to_numpy(), before[:, 2] / 1e9)
    np.testing.assert_array_equal(ticks["ask_size"].to_numpy(), before[:, 3])
    # the aggressor trades at the opposite best quote almost always (sweeps go through it)
    buys = ticks["side"] == 1
    assert (ticks.loc[buys, "price"] >= ticks.loc[buys, "ask"]).mean() > 0.95
    quotes = load_quotes(path)
    assert quotes["timestamp"].is_monotonic_increasing and len(quotes) > 10_000
    live = quotes[quotes["timestamp"] >= utc("2023-12-25 23:00")]
    assert (live["bid"] < live["ask"]).all()  # not crossed once the market is open


@needs_databento
def test_mbp10_levels_and_no_trades():
    path = need_shared() / "realdata" / "databento" / "GLBX.MDP3.mbp-10.dbn.zst"
    with pytest.raises(OrderFlowError, match="load_quotes"):
        load_ticks(path)
    quotes = load_quotes(path)
    assert quote_levels(quotes) == 10 and len(quotes) == 2
    assert quotes["bid_1"].iloc[0] == 3720.25 and quotes["bid_10"].iloc[0] == 3718.0
    assert np.all(np.diff(quotes.loc[0, [f"ask_{i}" for i in range(1, 11)]].to_numpy(float)) > 0)


DBN_REAL = {  # file -> what a whole read gives (load_ticks rows, and whether it has a book for load_quotes)
    "ESU4.GLBX.MDP3.trades.20240701.dbn.zst": (120, False),
    "ESU4.GLBX.MDP3.mbp-1.20240701.dbn.zst": (120, True),
    "esh4-glbx-mdp3-20231225.mbo.dbn.zst": (2_973, True),
}


@needs_databento
@pytest.mark.parametrize("name", sorted(DBN_REAL))
def test_truncated_real_databento_files_are_errors(tmp_path, name):
    whole = need_shared() / "realdata" / "databento" / name
    rows, book = DBN_REAL[name]
    assert len(load_ticks(whole)) == rows
    data = whole.read_bytes()
    for fraction in (0.37, 0.60, 0.83):
        cut = int(len(data) * fraction)
        path = tmp_path / f"{fraction}_{name}"
        path.write_bytes(data[:cut])
        for read in (load_ticks, load_quotes) if book else (load_ticks,):
            error = pytest.raises(OrderFlowError, read, path).value
            assert error.source == path, (fraction, read.__name__)
            assert f"truncated zstd file (the compressed data ends early: the file ends at byte {cut:,}" in str(error)


@needs_databento
@pytest.mark.parametrize("name", sorted(DBN_REAL))
def test_damaged_real_databento_files_are_errors(tmp_path, name):
    data = bytearray((need_shared() / "realdata" / "databento" / name).read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the records' frame: its checksum no longer matches
    path = tmp_path / name
    path.write_bytes(bytes(data))
    message = str(pytest.raises(OrderFlowError, load_ticks, path).value)
    assert message.startswith(f"{path}: cannot decompress this zstd file: ")
    assert "checksum" in message


# --------------------------------------------------------------------------- Tardis


TARDIS_L2 = """exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount
deribit,BTC-PERPETUAL,1000000,1000100,true,bid,100.5,2
deribit,BTC-PERPETUAL,1000000,1000100,true,bid,100,7
deribit,BTC-PERPETUAL,1000000,1000100,true,ask,101,3
deribit,BTC-PERPETUAL,2000000,2000100,false,bid,100.5,0
deribit,BTC-PERPETUAL,2000000,2000100,false,ask,100.75,1
deribit,BTC-PERPETUAL,3000000,3000100,false,bid,99,5
deribit,BTC-PERPETUAL,4000000,4000100,false,ask,100.75,4
"""


def test_tardis_l2_by_hand(tmp_path):
    path = tmp_path / "deribit_incremental_book_L2_BTC-PERPETUAL.csv"
    path.write_text(TARDIS_L2)
    with pytest.raises(OrderFlowError, match="load_quotes"):
        load_ticks(path)
    quotes = load_quotes(path)
    assert quotes.attrs["load_report"]["format"] == "tardis_incremental_book_L2"
    # one quote per message (rows sharing a timestamp); the 3 s message changes nothing on top
    assert list(quotes["timestamp"]) == [utc("1970-01-01 00:00:01"), utc("1970-01-01 00:00:02"), utc("1970-01-01 00:00:04")]
    assert quotes[["bid", "bid_size", "ask", "ask_size"]].values.tolist() == [
        [100.5, 2, 101, 3], [100, 7, 100.75, 1], [100, 7, 100.75, 4]]


TARDIS_TRADES = (b"exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"  # 63 bytes
                 b"binance-futures,BTCUSDT,1000000,1000100,1,buy,100.5,2\n"  # 54
                 b"binance-futures,BTCUSDT,2000000,2000100,2,sell,100,1\n"  # 53
                 b"binance-futures,BTCUSDT,3000000,3000100,3,buy,101,3\n")


@pytest.mark.parametrize("column, good, bad", [("side", b",buy,101", b",b\xffuy,101"),
                                               ("symbol", b"BTCUSDT,3", b"BTC\xffUSDT,3")])
def test_tardis_bytes_that_are_not_utf8_name_the_line_and_byte(tmp_path, column, good, bad):
    path = tmp_path / "binance-futures_trades_BTCUSDT.csv"
    path.write_bytes(TARDIS_TRADES)
    assert load_ticks(path)["side"].tolist() == [1, -1, 1]
    data = TARDIS_TRADES.replace(good, bad)
    # line 4 starts at 63 + 54 + 53 = 170; "binance-futures,BTCUSDT,3000000,3000100,3,b" is 43 bytes, "binance-futures,BTC" 19
    at = 170 + (43 if column == "side" else 19)
    assert data.index(b"\xff") == at
    path.write_bytes(data)
    error = pytest.raises(OrderFlowError, load_ticks, path).value
    assert error.source == path
    assert error.problem == f"not UTF-8 text: byte 0xff at byte {at:,} (line 4) is not UTF-8 (save the file as UTF-8)"
    # a quotes file the same
    quotes = tmp_path / "binance-futures_quotes_BTCUSDT.csv"
    quotes.write_bytes(b"exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount\n"
                       b"binance-futures,BTCUSDT,1000000,1000100,2,101,100,3\n"
                       b"binance-futures,BTC\xe9USDT,2000000,2000100,2,101,100,3\n")
    error = pytest.raises(OrderFlowError, load_quotes, quotes).value
    assert error.source == quotes and "byte 0xe9 at byte 155 (line 3)" in error.problem  # 84 + 52 + 19


def test_tardis_real_files():
    folder = need_shared() / "realdata" / "tardis"
    trades = load_ticks(folder / "binance-futures_trades_2020-02-22_BTCUSDT.head10k.csv")
    assert trades.attrs["load_report"]["format"] == "tardis_trades" and len(trades) == 9_999
    assert trades["timestamp"].iloc[0] == utc("2020-02-22 00:00:02.111")
    quotes = load_quotes(folder / "binance-futures_quotes_2020-02-22_BTCUSDT.head10k.csv")
    assert len(quotes) == 9_999 and quotes["bid"].iloc[0] == 9681.92 and quotes["ask_size"].iloc[0] == 0.84
    overlap = trades[trades["timestamp"] <= quotes["timestamp"].iloc[-1]]
    assert len(overlap) == 502
    for k in (5, 25):
        book = load_quotes(folder / f"binance-futures_book_snapshot_{k}_BTCUSDT.csv")
        assert quote_levels(book) == k
        assert (book["bid_1"] == book["bid"]).all() and (book[f"ask_{k}"] > book["ask_1"]).all()


# --------------------------------------------------------------------------- Binance


def capture_lines(prefix: bool = True) -> list[str]:
    """A 3-message-type capture; the receive clock runs 1.3 s behind the exchange's T."""
    def line(recv_ms: int, stream: str, data: dict) -> str:
        body = json.dumps({"stream": stream, "data": data}, separators=(",", ":"))
        return f"{recv_ms * 1_000_000} {body}" if prefix else body

    return [
        line(1_000, "btcusdt@depth@0ms", {"e": "depthUpdate", "E": 2_300, "T": 2_300, "s": "BTCUSDT",
                                          "b": [["10.0", "1.0"]], "a": []}),
        line(1_005, "btcusdt@bookTicker", {"e": "bookTicker", "u": 1, "s": "BTCUSDT", "b": "100.0", "B": "2.5",
                                           "a": "100.5", "A": "1.5", "T": 2_305, "E": 2_306}),
        line(1_010, "btcusdt@trade", {"e": "trade", "E": 2_310, "T": 2_310, "s": "BTCUSDT", "t": 7, "p": "100.5",
                                      "q": "0.25", "X": "MARKET", "m": False}),
        line(1_011, "btcusdt@aggTrade", {"e": "aggTrade", "E": 2_310, "a": 3, "s": "BTCUSDT", "p": "100.5",
                                         "q": "0.25", "f": 7, "l": 7, "T": 2_310, "m": False}),
        line(1_020, "btcusdt@trade", {"e": "trade", "E": 2_320, "T": 2_319, "s": "BTCUSDT", "t": 8, "p": "100.0",
                                      "q": "1.5", "X": "MARKET", "m": True}),
    ]


@pytest.mark.parametrize("prefix", [True, False])
def test_binance_capture_by_hand(tmp_path, prefix):
    path = tmp_path / "capture.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(capture_lines(prefix)) + "\n")
    ticks = load_ticks(path)
    report = ticks.attrs["load_report"]
    assert report["format"] == "binance_stream"
    assert report["rejected"] == {"aggregate_duplicate": 1, "book_update": 2}
    assert list(ticks["timestamp"]) == [utc("1970-01-01 00:00:02.310"), utc("1970-01-01 00:00:02.319")]
    assert ticks["side"].tolist() == [1, -1] and ticks["size"].tolist() == [0.25, 1.5]
    quotes = load_quotes(path)
    assert quotes[["bid", "ask", "bid_size", "ask_size"]].values.tolist() == [[100.0, 100.5, 2.5, 1.5]]
    assert quotes["timestamp"].iloc[0] == utc("1970-01-01 00:00:02.305")  # T, not the receive time
    from data.reading.readers.binance_stream import read_binance_stream

    raw = read_binance_stream(path)["trades"]
    if prefix:
        assert raw["receive_time"].iloc[0] == utc("1970-01-01 00:00:01.010")
    else:
        assert raw["receive_time"].isna().all()


def test_binance_bookticker_dump(tmp_path):
    path = tmp_path / "BTCUSDT-bookTicker-2024-08-08.csv"
    path.write_text("update_id,best_bid_price,best_bid_qty,best_ask_price,best_ask_qty,transaction_time,event_time\n"
                    "1,61800.2,2.5,61800.3,1.25,1723161256313,1723161256314\n"
                    "2,61800.1,0.5,61800.3,1.0,1723161256400,1723161256401\n")
    with pytest.raises(OrderFlowError, match="load_quotes"):
        load_ticks(path)
    quotes = load_quotes(path)
    assert quotes["timestamp"].tolist() == [utc("2024-08-08 23:54:16.313"), utc("2024-08-08 23:54:16.400")]
    assert quotes["bid"].tolist() == [61800.2, 61800.1] and quotes["ask_size"].tolist() == [1.25, 1.0]


@pytest.mark.parametrize("name, trades, buys, quotes", [("btcusdt", 21_313, 9_616, 66_089), ("ethusdt", 14_076, 6_984, 53_992)])
def test_binance_real_captures(name, trades, buys, quotes):
    path = need_shared() / "realdata" / "binance_stream" / f"usdm_{name}_20240808.gz"
    ticks = load_ticks(path)
    assert len(ticks) == trades and int((ticks["side"] == 1).sum()) == buys
    assert ticks["timestamp"].iloc[0] >= utc("2024-08-08 23:54:15")
    book = load_quotes(path)
    assert len(book) == quotes and (book["bid"] <= book["ask"]).all()


# --------------------------------------------------------------------------- truth is kept


def test_stated_sides_are_kept_unless_overridden():
    """Sides the source states are never replaced by a classifier unless asked (override=True)."""
    ticks = load_ticks(LOBSTER_MSG)
    kept = classify(ticks, "quote")
    assert kept["side"].tolist() == [1, -1] and not kept["inferred"].any()
    # the hidden sell at 585.05 is exactly at the mid: the quote rule cannot sign it
    overridden = classify(ticks, "quote", override=True)
    assert overridden["side"].tolist() == [1, 0] and overridden["inferred"].tolist() == [True, False]
