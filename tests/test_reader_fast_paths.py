"""The readers' speed tricks, each tied to the plain formula it replaces (as in test_fast_paths.py):
the Binance capture's byte-matrix prefix scan and JSON parse against a regular expression and
``json.loads`` per line, the Tardis trades single read against the loader's CSV reader (and its
sides, parsed once per distinct text, against parse_side of every row), and the LOBSTER day read
at once (both files on two threads, streamed from the zip in blocks) against pandas' CSV parser
and the plain formulas."""
from __future__ import annotations

import gzip
import json
import re
import zipfile

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from data import OrderFlowError, load_quotes, load_ticks
from data.reading.loader import FORMATS, read_csv
from data.reading.readers import lobster, tardis
from data.reading.readers.binance_stream import NO_PREFIX, read_binance_stream, split_capture
from data.sides.codes import parse_side
from tests.benchmarks.synthetic_files import write_binance_capture, write_lobster, write_tardis_trades
from tests.conftest import FIXTURES
from tests.fixtures.make_reader_fixtures import LOBSTER_NAME

PREFIX = re.compile(r"^\s*(\d{10,20})\s+")


def reference_lines(text: bytes) -> list[tuple[int, int, str | None]]:
    """(line number, receive ns or NO_PREFIX, the JSON object text or None) per non-empty line."""
    out = []
    for number, raw in enumerate(text.split(b"\n"), start=1):
        if not raw:
            continue
        line = raw.decode()
        match = PREFIX.match(line)
        receive = int(match.group(1)) if match else NO_PREFIX
        body = (line[match.end():] if match else line).strip()
        out.append((number, receive, body if body.startswith("{") and body.endswith("}") else None))
    return out


def odd_capture(seed: int) -> bytes:
    """Lines of every shape: prefixes of 5..22 digits, tabs, no prefix, blank lines, CRLF, spaces in
    the JSON, bare and wrapped messages, a REST snapshot, depth diffs, garbage, a truncated line."""
    rng = np.random.default_rng(seed)
    bodies = [
        '{"stream":"x@trade","data":{"e":"trade","E":5,"T":4,"s":"X","p":"1.5","q":"2","m":true}}',
        '{"e": "trade", "E": 7, "T": 6, "s": "X", "p": "1.25", "q": "0.5", "m": false}',
        '{"e":"aggTrade","E":9,"s":"X","p":"2","q":"1","m":false}',
        '{"stream":"x@bookTicker","data":{"e":"bookTicker","s":"X","b":"1.0","B":"3","a":"1.5","A":"4","T":8,"E":9}}',
        '{"stream":"x@depth","data":{"e":"depthUpdate","E":1,"T":1,"s":"X","b":[["1.0","2"]],"a":[]}}',
        '{"lastUpdateId":5,"E":1,"T":1,"bids":[["1.0","2"]],"asks":[]}',
        "not json at all", '{"e":"trade","T":3,"p":"1"', "",
    ]
    lines = []
    for _ in range(300):
        body = bodies[rng.integers(len(bodies))]
        digits = "".join(rng.choice(list("0123456789"), int(rng.choice([5, 9, 10, 13, 18, 21]))))
        prefix = ["", f"1{digits} ", f"  {digits}\t ", f"{rng.integers(10**18, 9 * 10**18)}  ", f"{digits}x "][rng.integers(5)]
        end = "\r" if rng.random() < 0.1 else ""
        lines.append(prefix + body + end)
    return ("\n".join(lines) + ("\n" if seed % 2 else "")).encode()


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_capture_lines_equal_the_regex_per_line(seed):
    text = odd_capture(seed)
    buf = np.frombuffer(text, np.uint8)
    lines = split_capture(buf)
    expected = reference_lines(text)
    assert lines.number.tolist() == [e[0] for e in expected]
    assert lines.receive.tolist() == [e[1] for e in expected]
    got = [text[s + j:e].decode().strip() if ok else None
           for s, e, j, ok in zip(lines.start, lines.stop, lines.json_at, lines.is_json)]
    assert got == [e[2] for e in expected]


def reference_capture(text: bytes) -> tuple[list[tuple], list[tuple], dict[str, int]]:
    """Trades (line, T, receive, price, size, side, event) and quotes via json.loads per line."""
    trades, quotes, counts = [], [], {}
    for number, receive, body in reference_lines(text):
        msg = json.loads(body) if body is not None else {}
        msg = msg.get("data", msg)
        event = msg.get("e") or "other"
        counts[event] = counts.get(event, 0) + 1
        t = msg.get("T", msg.get("E"))
        if event in ("trade", "aggTrade"):
            trades.append((number, t, receive, float(msg["p"]), float(msg["q"]), -1 if msg.get("m") else 1, event))
        elif event == "bookTicker":
            quotes.append((number, t, receive, float(msg["b"]), float(msg["a"]), float(msg["B"]), float(msg["A"])))
    return trades, quotes, counts


def stamps(frame: pd.DataFrame) -> tuple[list, list]:
    ms = (frame["timestamp"].astype("int64") // 1_000_000).tolist()
    receive = [NO_PREFIX if pd.isna(r) else r.value for r in frame["receive_time"]]
    return ms, receive


@pytest.mark.parametrize("seed", [0, 1])
def test_capture_read_equals_json_loads_per_line(tmp_path, seed):
    text = b"\n".join(line for line in odd_capture(seed).split(b"\n")
                      if b"not json" not in line and not line.rstrip().endswith(b'"1"'))  # only valid JSON
    path = tmp_path / "capture.gz"
    path.write_bytes(gzip.compress(text))
    trades, quotes, counts = reference_capture(text)
    got = read_binance_stream(path)
    t, q = got["trades"], got["quotes"]
    ms, receive = stamps(t)
    assert list(zip(t["line"], ms, receive, t["price"], t["size"], t["side"], t["stream"])) == trades
    ms, receive = stamps(q)
    assert list(zip(q["line"], ms, receive, q["bid"], q["ask"], q["bid_size"], q["ask_size"])) == quotes
    assert t.attrs["counts"] == counts


def test_capture_with_bad_lines_counts_them_as_other(tmp_path):
    path = tmp_path / "capture.txt"
    path.write_bytes(b'1723161255088176367 {"e":"trade","T":5,"s":"X","p":"1.5","q":"2","m":true}\n'
                     b"garbage line\n"
                     b'1723161255088176368 {"e":"trade","T":6,"s":"X","p":"1.5"')  # cut off mid-write
    ticks = load_ticks(path, format="binance_stream")
    assert len(ticks) == 1 and ticks.attrs["load_report"]["rejected"] == {"book_update": 2}


def test_synthetic_capture_reads_back_exactly(tmp_path):
    """The benchmark's own capture: its trades and quotes read back as json.loads gives them."""
    path = write_binance_capture(tmp_path / "usdm.gz", 500)
    trades, quotes, counts = reference_capture(gzip.decompress(path.read_bytes()))
    assert counts == {"trade": 500, "bookTicker": 1500}
    ticks, book = load_ticks(path), load_quotes(path)
    assert ticks["price"].tolist() == [tr[3] for tr in sorted(trades, key=lambda r: r[1])]
    assert book["bid"].tolist() == [qu[3] for qu in sorted(quotes, key=lambda r: r[1])]


def test_tardis_trades_single_read_equals_the_loader_csv_reader(tmp_path, monkeypatch):
    path = write_tardis_trades(tmp_path / "binance-futures_trades_2020-02-22_BTCUSDT.csv", 2_000)
    fast = load_ticks(path)
    plain = load_ticks(path, format="csv", columns={"amount": "size"})
    pd.testing.assert_frame_equal(fast, plain, check_exact=True)
    assert fast.attrs["load_report"]["format"] == "tardis_trades"
    assert {k: v for k, v in fast.attrs["load_report"].items() if k not in ("format",)} == \
        {k: v for k, v in plain.attrs["load_report"].items() if k not in ("format",)}


def test_tardis_trades_with_a_bad_value_name_the_row(tmp_path):
    path = tmp_path / "trades.csv"
    path.write_text("exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"
                    "bitmex,XBTUSD,1585699200245000,1585699200355684,a,buy,6421.5,10\n"
                    "bitmex,XBTUSD,1585699200246000,1585699200355685,b,sell,oops,5\n")
    with pytest.raises(OrderFlowError, match="row 2") as err:
        load_ticks(path)
    assert err.value.column == "price"
    assert FORMATS["tardis_trades"].read is not read_csv


def test_tardis_sides_equal_parse_side_of_each_row(tmp_path, monkeypatch):
    """tardis_sides parses each block's dictionary of side texts once: the sides are parse_side of
    every row, whatever the spelling, with blocks small enough that their dictionaries differ."""
    monkeypatch.setattr(tardis, "_block_size", lambda path: 1 << 12)
    rng = np.random.default_rng(5)
    spellings = np.array(["buy", "sell", " Buy", "SELL", "unknown", "b", "s ", "A", "", "+1", "2"])
    side = spellings[rng.integers(0, len(spellings), 3_000)]
    side[:1_500] = np.where(side[:1_500] == "SELL", "sell", side[:1_500])  # the first blocks lack a spelling
    lines = [f"bitmex,XBTUSD,{1_585_699_200_000_000 + i * 1_000},{1_585_699_200_100_000 + i * 1_000},{i},{s},6421.5,{i % 7 + 1}"
             for i, s in enumerate(side)]
    path = tmp_path / "bitmex_trades_XBTUSD.csv"
    path.write_text("exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n" + "\n".join(lines) + "\n")
    table = pacsv.read_csv(path, read_options=pacsv.ReadOptions(block_size=1 << 12),
                           convert_options=pacsv.ConvertOptions(column_types={"side": pa.dictionary(pa.int32(), pa.string())}))
    assert table["side"].num_chunks > 3
    assert np.array_equal(tardis.tardis_sides(table["side"]), parse_side(pd.Series(side, dtype=object)))
    fast = load_ticks(path)
    assert fast.attrs["load_report"]["format"] == "tardis_trades"
    pd.testing.assert_frame_equal(fast, load_ticks(path, format="csv", columns={"amount": "size"}), check_exact=True)


# --------------------------------------------------------------------------- LOBSTER


def reference_lobster(path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ticks and quotes of a one-level LOBSTER zip by pandas' own CSV parser and the plain formulas:
    a message's time is New York midnight + Time seconds (to the ns, from the decimal text), an
    execution (Type 4, 5 or 6) is a tick at Price / 10,000 with side -Direction (0 for a cross),
    quoted by the orderbook row before it; the quotes are every orderbook row at its message's
    time, LOBSTER's dummy prices NaN."""
    with zipfile.ZipFile(path) as zf:
        name = {kind: next(n for n in zf.namelist() if f"_{kind}_" in n) for kind in ("message", "orderbook")}
        messages = pd.read_csv(zf.open(name["message"]), header=None, dtype={"time": str},
                               names=["time", "type", "order_id", "size", "price", "direction"])
        book = pd.read_csv(zf.open(name["orderbook"]), header=None, names=["ask", "ask_size", "bid", "bid_size"])
    seconds = messages["time"].str.split(".", expand=True).fillna("")
    ns = seconds[0].astype(np.int64) * 10**9 + seconds[1].str.ljust(9, "0").astype(np.int64)
    midnight = pd.Timestamp(name["message"].split("_")[1], tz="America/New_York")
    times = (midnight + pd.to_timedelta(ns.to_numpy(), "ns")).tz_convert("UTC")
    for column in ("bid", "ask"):
        book[column] = book[column].where(book[column].abs() < 9_999_999_999) / 10_000
    quotes = pd.DataFrame({"timestamp": times, **{c: book[c].astype(float) for c in ("bid", "ask", "bid_size", "ask_size")}})
    before = book.shift(1).fillna({"bid_size": 0.0, "ask_size": 0.0})
    trade = messages["type"].isin([4, 5, 6]).to_numpy()
    ticks = pd.DataFrame({
        "timestamp": times, "price": messages["price"] / 10_000, "size": messages["size"].astype(float),
        "side": np.where(messages["type"] == 6, 0, -messages["direction"]).astype(np.int8),
        **{c: before[c].astype(float) for c in ("bid", "ask", "bid_size", "ask_size")},
    })[trade]
    return ticks.reset_index(drop=True), quotes


def test_lobster_day_read_at_once_equals_pandas_and_the_plain_formulas(tmp_path, monkeypatch):
    """read_lobster reads the orderbook on a second thread while this one reads the message file,
    each member streamed from the zip into pyarrow in blocks parsed on its threads: with blocks much
    smaller than the files, the ticks and quotes are those of pandas' parser and the plain formulas."""
    monkeypatch.setattr(lobster, "_BLOCK", 1 << 16)
    path = write_lobster(tmp_path, 5_000)
    ticks, quotes = reference_lobster(path)
    got = load_ticks(path)
    pd.testing.assert_frame_equal(got, ticks, check_exact=True)
    report = got.attrs["load_report"]
    assert report["rows_read"] == 20_000 and report["rejected"] == {"book_update": 20_000 - len(ticks)}
    pd.testing.assert_frame_equal(load_quotes(path), quotes, check_exact=True)


def test_lobster_day_reports_the_message_file_first(tmp_path):
    """The two files are read at once, but a day with both files bad is reported as when they are
    read one after the other: the message file's error first."""
    day = {kind: (FIXTURES / LOBSTER_NAME.format(kind)).read_text().splitlines() for kind in ("message", "orderbook")}
    bad_message = [*day["message"][:2], day["message"][2].replace(",20,", ",x,"), *day["message"][3:]]
    bad_book = [*day["orderbook"][:3], day["orderbook"][3].replace("5851000", "y", 1), *day["orderbook"][4:]]
    for message, book, culprit in ((bad_message, bad_book, "message"), (day["message"], bad_book, "orderbook")):
        archive = tmp_path / f"{culprit}.zip"
        with zipfile.ZipFile(archive, "w") as zf:
            zf.writestr(LOBSTER_NAME.format("message"), "\n".join(message) + "\n")
            zf.writestr(LOBSTER_NAME.format("orderbook"), "\n".join(book) + "\n")
        for load in (load_ticks, load_quotes):
            with pytest.raises(OrderFlowError, match=f"cannot read LOBSTER file {LOBSTER_NAME.format(culprit)}"):
                load(archive)
