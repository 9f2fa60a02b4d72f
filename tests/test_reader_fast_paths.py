"""The readers' speed tricks, each tied to the plain formula it replaces (as in test_fast_paths.py):
the Binance capture's byte-matrix prefix scan and its message layouts against a regular expression
and ``json.loads`` per line (and against its own plain path, ``MAX_LAYOUTS = 0``: a substring search
and pyarrow's JSON reader), the Tardis trades single read against the loader's CSV reader (and its
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
from data.reading.readers import binance_stream, lobster, tardis
from data.reading.readers.binance_stream import NO_PREFIX, MessageLayout, read_binance_stream, split_capture, windows
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


def assert_as_reference(got: dict, trades: list, quotes: list, counts: dict) -> None:
    """A capture read (``read_binance_stream``) equals the per-line reference (``reference_capture``)."""
    t, q = got["trades"], got["quotes"]
    ms, receive = stamps(t)
    assert list(zip(t["line"], ms, receive, t["price"], t["size"], t["side"], t["stream"])) == trades
    ms, receive = stamps(q)
    assert list(zip(q["line"], ms, receive, q["bid"], q["ask"], q["bid_size"], q["ask_size"])) == quotes
    assert t.attrs["counts"] == counts


@pytest.mark.parametrize("seed", [0, 1])
def test_capture_read_equals_json_loads_per_line(tmp_path, seed):
    text = b"\n".join(line for line in odd_capture(seed).split(b"\n")
                      if b"not json" not in line and not line.rstrip().endswith(b'"1"'))  # only valid JSON
    path = tmp_path / "capture.gz"
    path.write_bytes(gzip.compress(text))
    trades, quotes, counts = reference_capture(text)
    got = read_binance_stream(path)
    assert_as_reference(got, trades, quotes, counts)


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


# --- Binance message layouts: a line's bytes against its layout, and json.loads ------------------

TRADE = ('{"stream":"btcusdt@trade","data":{"e":"trade","E":%(E)s,"T":%(T)s,"s":"%(s)s","t":%(t)s,'
         '"p":%(p)s,"q":%(q)s,"X":%(X)s,"m":%(m)s}}')
QUOTE = ('{"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":%(u)s,"s":"%(s)s","b":%(b)s,"B":%(B)s,'
         '"a":%(a)s,"A":%(A)s,"T":%(T)s,"E":%(E)s}}')
AGG = '{"e":"aggTrade","E":%(E)s,"a":%(t)s,"s":"%(s)s","p":%(p)s,"q":%(q)s,"f":1,"l":2,"T":%(T)s,"m":%(m)s}'
DEPTH = ('{"stream":"btcusdt@depth@0ms","data":{"e":"depthUpdate","E":%(E)s,"T":%(T)s,"s":"%(s)s","U":1,"u":2,'
         '"pu":0,"b":[["61800.20","1.5"]],"a":[]}}')
SNAPSHOT = '{"lastUpdateId":5,"E":1723161255030,"T":1723161255029,"bids":[["61800.20","1.5"]],"asks":[]}'
USUAL = {"E": "1723161255030", "T": "1723161255029", "s": "BTCUSDT", "t": "5170838052", "u": "400900217",
         "p": '"61800.30"', "q": '"0.006"', "X": '"MARKET"', "m": "false",
         "b": '"61800.20"', "B": '"2.5"', "a": '"61800.30"', "A": '"0.125"'}


def message(template: str, **values: str) -> str:
    return template % {**USUAL, **values}


# a trade line with these values: does it follow the layout of the usual trade line (by hand)?
LAYOUT_CASES = [
    ({}, True),
    ({"T": "5", "E": "0", "t": "123456789012345678"}, True),  # other lengths, a lone 0, 18 digits
    ({"p": '"1"', "q": '""', "X": '"LIQUIDATION"', "m": "true"}, True),  # an empty string
    ({"X": '"' + "x" * 63 + '"'}, True),  # the longest string a layout reads
    ({"X": '"' + "x" * 64 + '"'}, False),  # longer: left to the JSON reader
    ({"T": "1234567890123456789"}, False),  # 19 digits may not fit int64
    ({"T": "-5"}, False), ({"T": "1.5"}, False), ({"T": '"5"'}, False), ({"T": "null"}, False), ({"T": "05"}, False),
    ({"p": "61800.3"}, False),  # a number where the layout has a string
    ({"p": '"61800\\u002e30"'}, False), ({"X": '"MAR\\"KET"'}, False), ({"X": '"\u00e9"'}, False),  # escapes, not ASCII
    ({"m": "null"}, False), ({"m": '"true"'}, False), ({"m": "TRUE"}, False),
    ({"s": "ETHUSDT"}, False), ({"s": "BTCUSDTX"}, False),  # the symbol is part of the layout
]


def test_layout_reads_what_json_loads_reads():
    """A line follows the usual trade line's layout exactly when its values differ only in their
    digits and letters, and the bytes the layout gives for each value are its JSON text."""
    layout = MessageLayout.learn(message(TRADE).encode())
    assert (layout.kind, layout.symbol, layout.complete) == (b"trade", b"BTCUSDT", True)
    lines = [message(TRADE, **values) for values, _ in LAYOUT_CASES]
    lines += [message(TRADE).replace(",", ", "), message(TRADE).replace('"p"', '"P"'),  # spacing, another key
              message(TRADE)[:-2] + ',"x":1}}', message(TRADE)[:-1], message(QUOTE)]  # one key more, cut short, a quote
    expected = [follows for _, follows in LAYOUT_CASES] + [False] * 5
    buf = np.frombuffer("\n".join(lines).encode(), np.uint8)
    length = np.array([len(line.encode()) for line in lines])
    at = np.r_[0, np.cumsum(length + 1)[:-1]]
    window, start, stop = windows(buf, at, length, layout.width(), layout.reach)
    ok, end, spans = layout.match(window, start, stop)
    assert (ok & (end == start + length)).tolist() == expected
    assert layout.match(window, start, stop, layout.classify_end)[0].tolist()[:2] == [True, True]
    for i in np.flatnonzero(expected):
        data = json.loads(lines[i])["data"]
        for path, (begin, size) in spans.items():
            assert bytes(window[begin[i]:begin[i] + size[i]]).decode() == json.dumps(data[path[-1]]).strip('"')


def usual_capture(kinds: tuple[str, ...], prefix: bool = True, n: int = 120, seed: int = 0) -> bytes:
    """Lines as a recorder writes them: these kinds in random order, values of several lengths."""
    rng = np.random.default_rng(seed)
    templates = {"trade": TRADE, "bookTicker": QUOTE, "aggTrade": AGG, "depthUpdate": DEPTH}
    lines = []
    for i in range(n):
        kind = kinds[rng.integers(len(kinds))]
        number = lambda: f'"{rng.integers(1, 10**rng.integers(1, 7)) / 1000:.3f}"'  # noqa: E731
        values = {"T": str(1723161255029 + i), "E": str(1723161255030 + i), "t": str(rng.integers(1, 10**12)),
                  "p": number(), "q": number(), "b": number(), "B": number(), "a": number(), "A": number(),
                  "m": ["true", "false"][rng.integers(2)], "X": ['"MARKET"', '"LIQUIDATION"'][rng.integers(2)]}
        body = SNAPSHOT if kind == "snapshot" else message(templates[kind], **values)
        lines.append((f"{1723161256300000000 + i * 1_000_003} " if prefix else "") + body)
    return ("\n".join(lines) + "\n").encode()


CAPTURES = {
    "mixed": (("trade", "bookTicker", "bookTicker", "depthUpdate", "snapshot"), True),
    "mixed, no prefix": (("trade", "aggTrade", "bookTicker", "depthUpdate"), False),
    "trades only": (("trade",), True),
    "bookTicker only": (("bookTicker",), True),
    "aggTrade only, bare": (("aggTrade",), False),
}


@pytest.mark.parametrize("name", list(CAPTURES))
def test_layouts_read_what_json_loads_and_the_plain_path_read(tmp_path, monkeypatch, name):
    kinds, prefix = CAPTURES[name]
    text = usual_capture(kinds, prefix)
    path = tmp_path / "capture.gz"
    path.write_bytes(gzip.compress(text))
    trades, quotes, counts = reference_capture(text)

    def no_json(*args, **kwargs):
        raise AssertionError("a line of the usual layouts reached the JSON reader")

    with monkeypatch.context() as patch:
        patch.setattr(binance_stream.pajson, "read_json", no_json)
        fast = read_binance_stream(path)
    assert_as_reference(fast, trades, quotes, counts)
    monkeypatch.setattr(binance_stream, "MAX_LAYOUTS", 0)  # every line the plain way
    plain = read_binance_stream(path)
    for key in ("trades", "quotes"):
        pd.testing.assert_frame_equal(fast[key], plain[key], check_exact=True)
    assert list(fast["trades"].attrs["counts"].items()) == list(plain["trades"].attrs["counts"].items())


def test_layouts_learned_late_and_across_blocks(tmp_path):
    """A capture of several blocks whose aggregate trades only begin in its last block, and lines that
    part from their kind's layout after their event type and symbol (other spacing, an escaped
    quote, two keys swapped: read the plain way) among them: all as json.loads reads them."""
    path = write_binance_capture(tmp_path / "usdm.gz", 6_000)
    text = gzip.decompress(path.read_bytes())
    odd = [message(TRADE).replace(",", ", "), message(TRADE, X='"MAR\\"KET"'),
           message(TRADE).replace('"p":"61800.30","q":"0.006"', '"q":"0.006","p":"61800.30"')]
    text += usual_capture(("aggTrade", "trade"), n=50, seed=3) + "\n".join(odd).encode() + b"\n"
    path.write_bytes(gzip.compress(text))
    trades, quotes, counts = reference_capture(text)
    got = read_binance_stream(path)
    t, q = got["trades"], got["quotes"]
    ms, receive = stamps(t)
    assert list(zip(t["line"], ms, receive, t["price"], t["size"], t["side"], t["stream"])) == trades
    assert q["bid"].tolist() == [quote[3] for quote in quotes] and q["line"].tolist() == [quote[0] for quote in quotes]
    assert t.attrs["counts"] == counts and counts["bookTicker"] == 18_000


@pytest.mark.parametrize("layouts", [True, False])
def test_unreadable_lines_are_named(tmp_path, monkeypatch, layouts):
    if not layouts:
        monkeypatch.setattr(binance_stream, "MAX_LAYOUTS", 0)
    good = [message(TRADE, T=str(1000 + i)) for i in range(6)]
    path = tmp_path / "capture.txt"
    path.write_text("\n".join(good[:2] + ["", message(TRADE, T="05")] + good[2:]))  # not JSON, on line 4
    with pytest.raises(OrderFlowError, match="cannot read the capture") as err:
        read_binance_stream(path)
    assert err.value.row == 4
    path.write_text("\n".join(good[:3] + [message(TRADE) + "}"] + good[3:]))  # the layout, then a "}" too many
    with pytest.raises(OrderFlowError, match="cannot read the capture") as err:
        read_binance_stream(path)
    assert err.value.row == 4
    path.write_text("\n".join(good[:4] + [message(TRADE, q='"0.0O6"')] + good[4:]))  # a letter O, on line 5
    with pytest.raises(OrderFlowError, match="unreadable q") as err:
        read_binance_stream(path)
    assert (err.value.row, err.value.column, err.value.value) == (5, "q", "0.0O6")
    path.write_text("\n".join(good[:1] + [message(TRADE, s="ETHUSDT"), message(QUOTE, s="XRPUSDT")] + good[1:]))
    with pytest.raises(OrderFlowError, match=r"3 symbols \(\['BTCUSDT', 'ETHUSDT', 'XRPUSDT'\]\)"):
        read_binance_stream(path)


def test_a_value_e_before_the_event_type(tmp_path):
    """The event type is the first "e" in the line (as string_field reads it): a string value "e"
    before it leaves the line without one, in the layout's way as in the plain way."""
    line = '{"x":"%s","e":"trade","T":1,"s":"X","p":"1.5","q":"2","m":true}'
    path = tmp_path / "capture.txt"
    path.write_text("\n".join([line % "a", line % "e", line % "b", line % "s"]) + "\n")
    fast = read_binance_stream(path, quotes=False)["trades"]
    assert fast["line"].tolist() == [1, 3, 4] and fast.attrs["counts"] == {"trade": 3, "other": 1}


@pytest.mark.parametrize("name", ["capture.gz", "capture.txt"])
def test_empty_capture(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(gzip.compress(b"") if name.endswith(".gz") else b"")
    got = read_binance_stream(path)
    assert got["trades"].empty and got["quotes"].empty and got["trades"].attrs["counts"] == {}
    assert list(got["trades"].columns) == ["timestamp", "receive_time", "line", "price", "size", "side", "stream"]
    assert str(got["quotes"]["timestamp"].dtype) == "datetime64[ns, UTC]"
    with pytest.raises(OrderFlowError, match="empty file|no @trade or @aggTrade messages among the 0 lines"):
        load_ticks(path, format="binance_stream")  # the loader's own check, or (gzip) the reader's


def test_captures_of_one_kind(tmp_path):
    """Trades only: no quotes (not the JSON reader's "Empty JSON file"); bookTicker only: load_ticks
    says to use load_quotes."""
    trades = tmp_path / "trades.gz"
    trades.write_bytes(gzip.compress(usual_capture(("trade",))))
    assert len(load_ticks(trades)) == 120 and read_binance_stream(trades)["quotes"].empty
    with pytest.raises(OrderFlowError, match="empty quote file"):
        load_quotes(trades)
    book = tmp_path / "book.gz"
    book.write_bytes(gzip.compress(usual_capture(("bookTicker",))))
    assert len(load_quotes(book)) == 120
    with pytest.raises(OrderFlowError, match="book streams only is quotes"):
        load_ticks(book)


def test_usual_prefixes_checked_eight_bytes_at_a_time():
    """Each byte value in each digit of the usual prefix, and in its space: the lines with a prefix are
    those the regular expression (on bytes: ASCII digits and spaces) finds one in."""
    usual = b"1723161255088176367 "
    lines = [usual + b'{"e":"x"}'] * 64
    for at in (0, 7, 8, 15, 16, 18, 19):
        lines += [usual[:at] + bytes([value]) + usual[at + 1:] + b"{}" for value in range(256)
                  if value != 10 and (at, value) != (0, ord("9"))]  # a 9 first: above int64 (tested below)
    text = b"\n".join(lines)
    got = split_capture(np.frombuffer(text, np.uint8))
    want = [re.match(rb"^\s*(\d{10,20})\s+", line) for line in lines]
    assert got.receive.tolist() == [int(w.group(1)) if w else NO_PREFIX for w in want]
    assert got.json_at.tolist() == [w.end() if w else len(line) - len(line.lstrip(b" \t\r\f\v")) for w, line in zip(want, lines)]


def test_receive_prefixes_at_the_int64_limit():
    usual = [b'1723161255088176367 {"e":"x"}'] * 70
    lines = split_capture(np.frombuffer(b"\n".join(usual + [b"9223372036854775807 {}"]), np.uint8))
    assert lines.receive[-2:].tolist() == [1723161255088176367, 2**63 - 1]
    assert lines.receive_of(np.array([70, 3])).tolist() == [2**63 - 1, 1723161255088176367]
    for prefix in (b"9223372036854775808", b"18446744073709551617", b"99999999999999999999"):
        with pytest.raises(OrderFlowError, match="does not fit in int64"):
            split_capture(np.frombuffer(b"\n".join(usual + [prefix + b" {}"]), np.uint8))


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
