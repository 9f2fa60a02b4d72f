"""load_ticks: formats, column names, sides, timestamps, bad input, drop mode, ordering."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data.errors import OrderFlowError
from data.reading.loader import FORMATS, format_load_report, load_ticks, read_csv, register_format

FIXTURE = Path(__file__).parent / "fixtures" / "ticks_small.csv"
SHARED = Path(__file__).resolve().parents[2] / "shared"
FREQTRADE = SHARED / "realdata" / "freqtrade"

# The fixture, typed in by hand from tests/fixtures/ticks_small.csv.
TIMES = [
    "2024-03-01 09:30:05", "2024-03-01 09:30:20", "2024-03-01 09:30:40",
    "2024-03-01 09:31:00", "2024-03-01 09:31:10", "2024-03-01 09:31:30",
    "2024-03-01 09:31:59.5", "2024-03-01 09:32:00.5", "2024-03-01 09:32:30",
    "2024-03-01 09:33:00",
]
PRICES = [100.0, 100.25, 100.0, 99.75, 100.0, 100.25, 100.5, 100.25, 100.0, 100.25]
SIZES = [2, 3, 5, 1.5, 4, 2, 6, 3, 1, 2.5]
SIDES = [1, 1, -1, -1, 0, 1, 1, -1, -1, 1]  # TradeType 1 -> +1, 2 -> -1, 0 -> 0
BID_SIZES = [10, 8, 9, 20, 7, 6, 5, 11, 12, 10]
ASK_SIZES = [12, 15, 11, 5, 7, 9, 14, 4, 3, 6]
# 2024-03-01T00:00Z = 1709251200 s (2024-01-01 = 1704067200, + 60 days); 09:30:05 = +34205 s
EPOCH_0930_05 = 1_709_285_405


def write(tmp_path: Path, text: str, name: str = "ticks.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def utc(*texts: str) -> list[pd.Timestamp]:
    return [pd.Timestamp(t, tz="UTC") for t in texts]


def error_of(source, **kwargs) -> OrderFlowError:
    with pytest.raises(OrderFlowError) as info:
        load_ticks(source, **kwargs)
    return info.value


# --------------------------------------------------------------------------- the fixture


def test_fixture_values_dtypes_and_report():
    ticks = load_ticks(FIXTURE)
    assert list(ticks.columns) == ["timestamp", "price", "size", "side", "bid_size", "ask_size"]
    assert ticks.dtypes.astype(str).to_dict() == {
        "timestamp": "datetime64[ns, UTC]", "price": "float64", "size": "float64",
        "side": "int8", "bid_size": "float64", "ask_size": "float64",
    }
    assert isinstance(ticks.index, pd.RangeIndex) and ticks.index.start == 0
    assert list(ticks["timestamp"]) == utc(*TIMES)
    assert ticks["price"].tolist() == PRICES
    assert ticks["size"].tolist() == SIZES
    assert ticks["side"].tolist() == SIDES
    assert ticks["bid_size"].tolist() == BID_SIZES
    assert ticks["ask_size"].tolist() == ASK_SIZES
    report = ticks.attrs["load_report"]
    assert report["source"] == str(FIXTURE)
    assert report["format"] == "csv"
    assert (report["rows_read"], report["rows_kept"]) == (10, 10)
    assert report["rejected"] == {}
    assert report["unknown_side"] == 1  # the TradeType 0 row
    assert report["reordered"] == 0
    assert report["columns"]["size"] == "Volume" and report["columns"]["side"] == "TradeType"


def fixture_trades() -> list[dict]:
    """The fixture as the original event's trade objects (plus its time)."""
    return [
        {"Timestamp": t.replace(" ", "T") + "Z", "Price": p, "Volume": v, "BidSize": b,
         "AskSize": a, "TradeType": {1: 1, -1: 2, 0: 0}[s]}
        for t, p, v, b, a, s in zip(TIMES, PRICES, SIZES, BID_SIZES, ASK_SIZES, SIDES)
    ]


def test_same_data_in_every_format_gives_equal_frames(tmp_path):
    expected = load_ticks(FIXTURE)
    gz = tmp_path / "ticks.csv.gz"
    gz.write_bytes(gzip.compress(FIXTURE.read_bytes()))
    parquet = tmp_path / "ticks.parquet"
    pd.read_csv(FIXTURE).to_parquet(parquet)
    event = write(tmp_path, json.dumps({"trades": fixture_trades()}), "event.json")
    bare = write(tmp_path, json.dumps(fixture_trades()), "list.json")
    frame = pd.DataFrame(fixture_trades())
    sources = {"csv": gz, "parquet": parquet, "json": event}
    for fmt, source in sources.items():
        got = load_ticks(source)
        pd.testing.assert_frame_equal(got, expected)
        assert got.attrs["load_report"]["format"] == fmt
    pd.testing.assert_frame_equal(load_ticks(bare), expected)
    got = load_ticks(frame)
    pd.testing.assert_frame_equal(got, expected)
    assert got.attrs["load_report"]["format"] == "dataframe"


def test_dataframe_input_is_not_modified_and_not_shared():
    frame = pd.DataFrame({"timestamp": pd.to_datetime(["2024-03-01 09:30:05"] * 2),
                          "price": [10.0, 11.0], "size": [1.0, 2.0], "side": [1, -1]})
    before = frame.copy()
    ticks = load_ticks(frame)
    ticks.loc[0, "price"] = 99.0
    pd.testing.assert_frame_equal(frame, before)


def test_format_forced_and_delimiter_sniffed(tmp_path):
    path = write(tmp_path, "time;price;qty\n2024-03-01 09:30:05;10.5;1\n", "ticks.dat")
    assert "extension" in str(error_of(path))
    ticks = load_ticks(path, format="csv")
    assert ticks["price"].tolist() == [10.5] and ticks["size"].tolist() == [1.0]
    assert "unknown format" in str(error_of(path, format="xlsx"))


def test_a_registered_format_brings_its_own_column_names(tmp_path):
    def read_headerless(path: Path, pick) -> pd.DataFrame:
        names = ["T", "p", "q", "m"]
        frame = pd.read_csv(path, header=None, names=names)
        pick(names)
        return frame

    register_format("headerless", read_headerless, (".hl",),
                    columns={"T": "timestamp", "p": "price", "q": "size", "m": "is_buyer_maker"})
    try:
        path = write(tmp_path, f"{EPOCH_0930_05}000,10.5,2,true\n{EPOCH_0930_05}500,10.75,1,false\n",
                     "trades.hl")
        ticks = load_ticks(path)
    finally:
        FORMATS.pop("headerless")
    assert list(ticks["timestamp"]) == utc("2024-03-01 09:30:05", "2024-03-01 09:30:05.5")
    assert ticks["side"].tolist() == [-1, 1]
    assert ticks.attrs["load_report"]["format"] == "headerless"


def test_csv_reader_reads_only_the_used_columns(tmp_path):
    path = write(tmp_path, "id,Time,Price,Volume,note\n7,2024-03-01 09:30:05,10,1,x\n")
    raw = read_csv(path, lambda names: {"Time": "timestamp", "Price": "price", "Volume": "size"})
    assert list(raw.columns) == ["Time", "Price", "Volume"]
    assert raw["Price"].dtype == np.float64  # numeric columns forced to float64


# --------------------------------------------------------------------------- sides


@pytest.mark.parametrize(
    "header, codes, expected",
    [
        ("TradeType", ["1", "2", "0", "3"], [1, -1, 0, 0]),
        ("side", ["1", "-1", "1", "0"], [1, -1, 1, 0]),
        ("side", ["buy", " SELL ", "Buy", "hold"], [1, -1, 1, 0]),
        ("Side", ["B", "A", "b", "N"], [1, -1, 1, 0]),
        ("is_buyer_maker", ["true", "false", "True", "FALSE"], [-1, 1, -1, 1]),
        ("isBuyerMaker", ["1", "0", "0", ""], [-1, 1, 1, 0]),
    ],
)
def test_side_codings(tmp_path, header, codes, expected):
    rows = "".join(f"2024-03-01 09:30:0{i},10,1,{c}\n" for i, c in enumerate(codes))
    ticks = load_ticks(write(tmp_path, f"time,price,size,{header}\n{rows}"))
    assert ticks["side"].tolist() == expected
    assert ticks["side"].dtype == np.int8
    assert ticks.attrs["load_report"]["unknown_side"] == expected.count(0)


def test_side_codings_from_python_objects():
    base = {"timestamp": ["2024-03-01 09:30:00"] * 4, "price": 10.0, "size": 1.0}
    mixed = load_ticks(pd.DataFrame({**base, "side": [1, "sell", 2, None]}))
    assert mixed["side"].tolist() == [1, -1, -1, 0]
    maker = load_ticks(pd.DataFrame({**base, "is_buyer_maker": [True, False, True, False]}))
    assert maker["side"].tolist() == [-1, 1, -1, 1]
    error = error_of(pd.DataFrame({**base, "side": [True, False, True, False]}))
    assert "is_buyer_maker" in str(error) and "'side'" in str(error)


def test_no_side_column_is_all_unknown(tmp_path):
    ticks = load_ticks(write(tmp_path, "time,price,size\n2024-03-01 09:30:00,10,1\n2024-03-01 09:30:01,11,2\n"))
    assert ticks["side"].tolist() == [0, 0]
    assert ticks.attrs["load_report"]["unknown_side"] == 2
    assert list(ticks.columns) == ["timestamp", "price", "size", "side"]


def test_side_column_wins_over_buyer_maker(tmp_path):
    text = "time,price,size,side,is_buyer_maker\n2024-03-01 09:30:00,10,1,buy,true\n"
    assert load_ticks(write(tmp_path, text))["side"].tolist() == [1]
    mapped = load_ticks(write(tmp_path, text), columns={"is_buyer_maker": "is_buyer_maker"})
    assert mapped["side"].tolist() == [-1]


# --------------------------------------------------------------------------- timestamps


def one_time(tmp_path: Path, value: str, **kwargs) -> pd.Timestamp:
    ticks = load_ticks(write(tmp_path, f"Time,Price,Volume\n{value},10,1\n"), **kwargs)
    assert str(ticks["timestamp"].dtype) == "datetime64[ns, UTC]"
    return ticks["timestamp"].iloc[0]


@pytest.mark.parametrize(
    "value, tz, expected",
    [
        ("2024-03-01T09:30:05Z", None, "2024-03-01 09:30:05"),
        ("2024-03-01T09:30:05.25+01:00", None, "2024-03-01 08:30:05.25"),
        ("2024-03-01 09:30:05", None, "2024-03-01 09:30:05"),
        ("2024-03-01 09:30:05.123456", None, "2024-03-01 09:30:05.123456"),
        # New York is UTC-5 in March before the DST switch (10 March 2024)
        ("2024-03-01 09:30:05", "America/New_York", "2024-03-01 14:30:05"),
        ("2024-07-01 09:30:05", "America/New_York", "2024-07-01 13:30:05"),
        ("2024-03-01T09:30:05Z", "America/New_York", "2024-03-01 09:30:05"),  # zone wins
        (str(EPOCH_0930_05), None, "2024-03-01 09:30:05"),
        (f"{EPOCH_0930_05}250", None, "2024-03-01 09:30:05.25"),
        (f"{EPOCH_0930_05}250001", None, "2024-03-01 09:30:05.250001"),
        (f"{EPOCH_0930_05}250001002", None, "2024-03-01 09:30:05.250001002"),
        (f"{EPOCH_0930_05}.138", None, "2024-03-01 09:30:05.138"),
        (f"{EPOCH_0930_05}250.5", None, "2024-03-01 09:30:05.2505"),
        (str(EPOCH_0930_05), "Asia/Tokyo", "2024-03-01 09:30:05"),  # epoch is UTC already
    ],
)
def test_timestamp_forms(tmp_path, value, tz, expected):
    assert one_time(tmp_path, value, tz=tz) == pd.Timestamp(expected, tz="UTC")


def test_mixed_zone_and_naive_text_with_tz(tmp_path):
    text = "time,price,size\n2024-03-01 09:30:00,10,1\n2024-03-01T15:00:00+00:00,10,1\n"
    ticks = load_ticks(write(tmp_path, text), tz="Europe/Berlin")  # UTC+1 in March
    assert list(ticks["timestamp"]) == utc("2024-03-01 08:30:00", "2024-03-01 15:00:00")


def test_datetime_columns_and_index():
    naive = pd.to_datetime(["2024-03-01 09:30:05", "2024-03-01 09:30:06"])
    base = {"price": [10.0, 11.0], "size": [1.0, 1.0]}
    as_utc = utc("2024-03-01 09:30:05", "2024-03-01 09:30:06")
    assert list(load_ticks(pd.DataFrame({"time": naive, **base}))["timestamp"]) == as_utc
    tokyo = load_ticks(pd.DataFrame({"time": naive, **base}), tz="Asia/Tokyo")  # UTC+9
    assert list(tokyo["timestamp"]) == utc("2024-03-01 00:30:05", "2024-03-01 00:30:06")
    aware = pd.DataFrame({"time": naive.tz_localize("Asia/Tokyo"), **base})
    assert list(load_ticks(aware)["timestamp"]) == utc("2024-03-01 00:30:05", "2024-03-01 00:30:06")
    indexed = pd.DataFrame(base, index=naive)
    assert list(load_ticks(indexed)["timestamp"]) == as_utc
    epoch_ms = pd.DataFrame({"ts": [EPOCH_0930_05 * 1000, EPOCH_0930_05 * 1000 + 1], **base})
    assert list(load_ticks(epoch_ms)["timestamp"]) == utc("2024-03-01 09:30:05", "2024-03-01 09:30:05.001")


# --------------------------------------------------------------------------- column names


def test_canonical_names_any_case_and_aliases(tmp_path):
    text = ("TIMESTAMP,Trade_Price,QTY,SIDE,Bid_Price,ask_price,BID_QTY,AskSize\n"
            "2024-03-01 09:30:00,10.5,2,sell,10.25,10.75,3,4\n")
    ticks = load_ticks(write(tmp_path, text))
    assert list(ticks.columns) == ["timestamp", "price", "size", "side", "bid", "ask", "bid_size", "ask_size"]
    assert ticks.iloc[0, 1:].tolist() == [10.5, 2.0, -1, 10.25, 10.75, 3.0, 4.0]
    for alias in ("amount", "Quantity", "size"):
        got = load_ticks(write(tmp_path, f"date,price,{alias}\n2024-03-01,10,7\n"))
        assert got["size"].tolist() == [7.0]


def test_timestamp_preferred_over_date(tmp_path):
    text = "date,timestamp,price,amount\n2020-01-01 00:00:00,1709285405000,10,1\n"
    assert load_ticks(write(tmp_path, text))["timestamp"].iloc[0] == pd.Timestamp("2024-03-01 09:30:05", tz="UTC")


def test_column_mapping(tmp_path):
    text = "When,Last,Shares,Aggr,Price\n2024-03-01 09:30:00,10.5,3,A,99\n"
    mapping = {"When": "timestamp", "last": "price", "Shares": "size", "Aggr": "side"}
    ticks = load_ticks(write(tmp_path, text), columns=mapping)
    assert ticks.iloc[0, 1:].tolist() == [10.5, 3.0, -1]  # "Price" is ignored: Last was mapped
    assert "'Nope'" in str(error_of(write(tmp_path, text), columns={"Nope": "price"}))
    assert "unknown target" in str(error_of(write(tmp_path, text), columns={"Last": "last"}))


# --------------------------------------------------------------------------- bad input


def test_missing_and_empty_files(tmp_path):
    missing = error_of(tmp_path / "nope.csv")
    assert "nope.csv" in str(missing) and "not found" in str(missing)
    empty = error_of(write(tmp_path, "", "empty.csv"))
    assert "empty.csv" in str(empty) and "empty" in str(empty)
    header_only = error_of(write(tmp_path, "Time,Price,Volume\n", "header.csv"))
    assert "no rows" in str(header_only)
    assert "no rows" in str(error_of(write(tmp_path, '{"trades": []}', "e.json")))
    assert "no rows" in str(error_of(pd.DataFrame({"time": [], "price": [], "size": []})))


@pytest.mark.parametrize("drop, what", [("Price", "price"), ("Volume", "size"), ("Time", "timestamp")])
def test_missing_required_column_lists_columns_found(tmp_path, drop, what):
    names = [n for n in ("Time", "Price", "Volume", "TradeType") if n != drop]
    path = write(tmp_path, ",".join(names) + "\n" + ",".join("1" for _ in names) + "\n")
    error = error_of(path)
    assert f"no {what} column" in str(error) and str(path) in str(error)
    assert str(names) in str(error)
    assert error.column == what


GOOD = "2024-03-01 09:30:00,10,1"


@pytest.mark.parametrize(
    "bad_line, column, problem",
    [
        ("2024-03-01 09:30:00,abc,1", "Price", "unparseable number"),
        ("2024-03-01 09:30:00,,1", "Price", "missing price"),
        ("2024-03-01 09:30:00,0,1", "Price", "price must be > 0"),
        ("2024-03-01 09:30:00,-5,1", "Price", "price must be > 0"),
        ("2024-03-01 09:30:00,10,x", "Volume", "unparseable number"),
        ("2024-03-01 09:30:00,10,", "Volume", "missing size"),
        ("2024-03-01 09:30:00,10,-2", "Volume", "negative size"),
        ("2024-13-45 09:30:00,10,1", "Time", "unparseable time"),
        ("yesterday,10,1", "Time", "unparseable time"),
        (",10,1", "Time", "missing time"),
    ],
)
def test_bad_value_names_file_column_and_row(tmp_path, bad_line, column, problem):
    path = write(tmp_path, "\n".join(["Time,Price,Volume", GOOD, GOOD, bad_line, GOOD, bad_line]) + "\n")
    error = error_of(path)
    assert (error.source, error.column, error.row) == (path, column, 3)
    assert problem in str(error)
    assert f"{path}, column '{column}', row 3: {problem}" in str(error)


def test_first_bad_row_wins_across_columns(tmp_path):
    text = "Time,Price,Volume\n2024-03-01 09:30:00,10,1\n2024-03-01 09:30:00,10,-1\nbad,10,1\n"
    error = error_of(write(tmp_path, text))
    assert (error.column, error.row) == ("Volume", 2)


def test_bad_epoch_row_and_bad_quote(tmp_path):
    text = f"ts,price,size,bid\n{EPOCH_0930_05}000,10,1,9\n5,10,1,9\n"
    error = error_of(write(tmp_path, text))  # 5 is not an epoch in milliseconds
    assert (error.column, error.row) == ("ts", 2)
    text = f"ts,price,size,bid\n{EPOCH_0930_05},10,1,9\n{EPOCH_0930_05},10,1,oops\n"
    error = error_of(write(tmp_path, text))
    assert (error.column, error.row, error.value) == ("bid", 2, "oops")


# --------------------------------------------------------------------------- times out of range


@pytest.mark.parametrize(
    "bad",
    [
        "2999-04-14T22:00:02Z",             # read by pyarrow as a timestamp column
        "3024-01-01 00:00:00",
        "1600-04-14T22:00:02.5+02:00",
        "2262-04-12T00:00:00Z",             # a day after the last ns time
    ],
)
def test_time_out_of_range_names_the_row_or_is_counted(tmp_path, bad):
    good = ["2024-03-01T09:30:05Z", "2024-03-01T09:30:06.123456789Z"]  # nanoseconds: pandas parses in ns
    path = write(tmp_path, "Time,Price,Volume\n" + "".join(f"{t},10,1\n" for t in [good[0], bad, good[1]]))
    error = error_of(path)
    assert (error.column, error.row) == ("Time", 2)
    assert "time out of range (times must lie in 1677-09-21 .. 2262-04-11 UTC)" in str(error)
    ticks = load_ticks(path, on_bad_rows="drop")
    assert ticks["timestamp"].tolist() == utc(*good)
    assert ticks.attrs["load_report"]["rejected"] == {"time_out_of_range": 1}
    assert "1 time out of range" in format_load_report(ticks.attrs["load_report"])


def test_time_out_of_range_in_a_zone_and_apart_from_bad_text(tmp_path):
    lines = ["2024-03-01 09:30:05,10,1", "2999-01-01 00:00:00,10,1", "2024-02-30 00:00:00,10,1",
             "1600-01-01T00:00:00.123456789Z,10,1", "2024-03-01 09:30:06.5,10,1"]
    path = write(tmp_path, "Time,Price,Volume\n" + "\n".join(lines) + "\n")
    ticks = load_ticks(path, on_bad_rows="drop", tz="America/New_York")
    assert ticks["timestamp"].tolist() == utc("2024-03-01 14:30:05", "2024-03-01 14:30:06.5")
    assert ticks.attrs["load_report"]["rejected"] == {"time_out_of_range": 2, "bad_timestamp": 1}


def test_time_out_of_range_in_parquet_epochs_and_frames(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    year_3000_us = 32_503_680_000_000_000  # 3000-01-01 in microseconds
    stamps = pa.array([EPOCH_0930_05 * 10**6, year_3000_us], pa.timestamp("us", tz="UTC"))
    pq.write_table(pa.table({"timestamp": stamps, "price": [10.0, 11.0], "size": [1.0, 2.0]}),
                   tmp_path / "t.parquet")
    error = error_of(tmp_path / "t.parquet")
    assert (error.column, error.row) == ("timestamp", 2) and "time out of range" in str(error)
    ticks = load_ticks(tmp_path / "t.parquet", on_bad_rows="drop")
    assert ticks["timestamp"].tolist() == utc("2024-03-01 09:30:05")
    # epoch seconds of 2300 (10^10 s) overflow nanoseconds; so do microseconds of 3000
    for times in ([EPOCH_0930_05, 10**10], [EPOCH_0930_05 * 10**6, year_3000_us]):
        frame = pd.DataFrame({"ts": times, "price": [10.0, 11.0], "size": [1.0, 2.0]})
        assert error_of(frame).row == 2 and "time out of range" in str(error_of(frame))
        assert load_ticks(frame, on_bad_rows="drop")["timestamp"].tolist() == utc("2024-03-01 09:30:05")
    frame = pd.DataFrame({"ts": pd.Series(np.array(["2024-03-01T09:30:05", "2500-01-01T00:00:00"], "datetime64[s]")),
                          "price": [10.0, 11.0], "size": [1.0, 2.0]})
    assert frame["ts"].dtype == "datetime64[s]"
    assert error_of(frame).row == 2 and "time out of range" in str(error_of(frame))


def test_mixed_epoch_units_each_read_by_its_size_and_noted(tmp_path):
    s, ms, us = EPOCH_0930_05, (EPOCH_0930_05 + 1) * 1000 + 250, (EPOCH_0930_05 + 2) * 10**6 + 7
    path = write(tmp_path, f"ts,price,size\n{s},10,1\n{ms},10,1\n{s + 3},10,1\n{us},10,1\n")
    ticks = load_ticks(path)
    assert ticks["timestamp"].tolist() == utc("2024-03-01 09:30:05", "2024-03-01 09:30:06.25",
                                              "2024-03-01 09:30:07.000007", "2024-03-01 09:30:08")
    report = ticks.attrs["load_report"]
    assert report["rejected"] == {}
    assert report["notes"] == ["column 'ts' mixes epoch units (2 in s, 1 in ms, 1 in us): "
                               "each value read in the unit its size says"]
    # a small number among milliseconds could be seconds or a time in 1970: rejected, not guessed
    path = write(tmp_path, f"ts,price,size\n{ms},10,1\n{ms + 5},10,1\n86400,10,1\n")
    error = error_of(path)
    assert (error.column, error.row, error.value) == ("ts", 3, 86400)
    assert "epoch time of unclear unit (most of the column is in ms" in str(error)
    assert load_ticks(path, on_bad_rows="drop").attrs["load_report"]["rejected"] == {"unclear_epoch_unit": 1}


# --------------------------------------------------------------------------- broken files

GOOD_CSV = "Timestamp,Price,Volume\n" + "".join(f"2024-03-01T09:30:{i % 60:02d}Z,100,{i}\n" for i in range(20_000))


def test_a_plain_file_named_gz_is_not_a_valid_gzip_file(tmp_path):
    for name in ("ticks.csv.gz", "ticks.json.gz"):
        path = write(tmp_path, GOOD_CSV[:200], name)
        assert str(error_of(path)) == f"{path}: not a valid gzip file (named .gz, but its content is not gzip-compressed)"


@pytest.mark.parametrize("keep", [300, 40_000])  # cut inside the head that is sniffed, and after it
def test_a_truncated_gzip_is_named_truncated(tmp_path, keep):
    whole = gzip.compress(GOOD_CSV.encode())
    assert len(gzip.compress(GOOD_CSV[: 1 << 16].encode())) < 40_000 < len(whole)  # 40,000: past the sniffed head
    path = tmp_path / "ticks.csv.gz"
    path.write_bytes(whole[:keep])
    assert str(error_of(path)).startswith(f"{path}: truncated gzip file (the compressed data ends early")
    path = tmp_path / "ticks.json.gz"
    path.write_bytes(gzip.compress(b'{"trades": [{"Price": 1, "Volume": 1, "Time": "2024-03-01"}]}')[:30])
    assert "truncated gzip file" in str(error_of(path))


def test_text_that_is_not_utf8_names_the_line_and_byte(tmp_path):
    text = "Timestamp,Price,Volume,TradeType\n2024-03-01T09:30:00Z,100,1,buy\n2024-03-01T09:30:01Z,100,1,sé\n"
    path = tmp_path / "latin1.csv"
    path.write_bytes(text.encode("latin-1"))  # é is the one byte 0xe9 in Latin-1, not UTF-8
    # 33 + 31 bytes of the first two lines, then "2024-03-01T09:30:01Z,100,1,s" (28)
    message = f"{path}: not UTF-8 text: byte 0xe9 at byte 92 (line 3) is not UTF-8 (save the file as UTF-8)"
    assert str(error_of(path)) == message
    packed = tmp_path / "latin1.csv.gz"
    packed.write_bytes(gzip.compress(text.encode("latin-1")))
    assert "byte 0xe9 at byte 92 of the decompressed text (line 3)" in str(error_of(packed))
    path.write_bytes(text.encode("utf-8"))  # the same text in UTF-8 reads: "sé" is an unknown side
    assert load_ticks(path)["side"].tolist() == [1, 0]


def test_binary_files_say_they_are_not_text_without_echoing_the_bytes(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    cases = {
        "gzip named .csv": (gzip.compress(GOOD_CSV[:500].encode()), "it is gzip-compressed: name it x.csv.gz to read it"),
        "junk": (bytes(range(256)) * 4, "binary data"),
        "junk without an extension": (bytes(range(255, -1, -1)) * 4, "binary data"),
    }
    for label, (data, hint) in cases.items():
        path = tmp_path / ("x" if "extension" in label else "x.csv")
        path.write_bytes(data)
        assert str(error_of(path)) == f"{path}: not a text file ({hint})", label
    path = tmp_path / "table.csv"
    pq.write_table(pa.table({"a": [1]}), path)
    assert str(error_of(path)) == f"{path}: not a text file (it looks like a Parquet file)"
    latin1 = tmp_path / "latin1.csv"  # a few undecodable bytes in text are still text
    latin1.write_bytes("Time,Price,Volume,Note\n2024-03-01 09:30:05,10,1,caf\xe9\n".encode("latin-1"))
    assert load_ticks(latin1)["price"].tolist() == [10.0]


def test_not_a_regular_file_says_what_it_is(tmp_path):
    import os

    assert str(error_of("/dev/null")) == "/dev/null: is a character device, not a file of ticks"
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    assert str(error_of(fifo)) == f"{fifo}: is a named pipe, not a file of ticks"  # never opened: no hang
    assert str(error_of(tmp_path / "none.csv")) == f"{tmp_path / 'none.csv'}: file not found"
    from data import load_quotes

    with pytest.raises(OrderFlowError, match="/dev/null: is a character device, not a quote file"):
        load_quotes("/dev/null")


def test_a_repeated_column_name_is_named(tmp_path):
    path = write(tmp_path, "Timestamp,Price,Volume,Price\n2024-03-01 09:30:05,10,1,11\n")
    error = error_of(path)
    assert error.column == "Price"
    assert "column name repeated (2 columns are named 'Price')" in str(error)
    frame = pd.DataFrame([["2024-03-01", 10, 1, 2]], columns=["time", "price", "size", "size"])
    assert "2 columns are named 'size'" in str(error_of(frame))
    # a repeated column the loader does not use is no problem
    path = write(tmp_path, "Timestamp,Price,Volume,Note,Note\n2024-03-01 09:30:05,10,1,a,b\n", "notes.csv")
    assert load_ticks(path)["price"].tolist() == [10.0]


def test_bad_json_and_bad_options(tmp_path):
    assert "malformed JSON" in str(error_of(write(tmp_path, '{"trades": [', "bad.json")))
    assert "trades" in str(error_of(write(tmp_path, '{"rows": []}', "other.json")))
    error = error_of(write(tmp_path, '{"trades": [{"Price": 1}, 7]}', "items.json"))
    assert error.row == 2
    assert "on_bad_rows" in str(error_of(FIXTURE, on_bad_rows="skip"))
    assert "unknown time zone 'Mars/Base'" in str(error_of(FIXTURE, tz="Mars/Base"))
    assert "not in the data" in str(error_of(FIXTURE, columns={"Nope": "price"}, on_bad_rows="drop"))


# --------------------------------------------------------------------------- drop mode, order


def test_drop_mode_counts_rejected_rows_by_reason(tmp_path):
    lines = [
        "Time,Price,Volume,TradeType",
        "2024-03-01 09:30:00,10,1,1",    # kept
        "2024-03-01 09:30:01,abc,1,1",   # bad_price
        "2024-03-01 09:30:02,10,-1,2",   # negative_size
        "2024-03-01 09:30:03,10,,2",     # missing_size
        "never,0,-1,1",                  # bad time, bad price, negative size: counted once
        "2024-03-01 09:30:05,0,1,1",     # non_positive_price
        "2024-03-01 09:30:06,11,2,9",    # kept, unknown side
    ]
    ticks = load_ticks(write(tmp_path, "\n".join(lines) + "\n"), on_bad_rows="drop")
    assert ticks["price"].tolist() == [10.0, 11.0]
    assert ticks["side"].tolist() == [1, 0]
    assert isinstance(ticks.index, pd.RangeIndex)
    report = ticks.attrs["load_report"]
    assert (report["rows_read"], report["rows_kept"]) == (7, 2)
    assert report["rejected"] == {
        "bad_timestamp": 1, "bad_price": 1, "non_positive_price": 1,
        "missing_size": 1, "negative_size": 1,
    }
    assert report["unknown_side"] == 1
    text = format_load_report(report)
    assert "Loaded 2 of 7 rows" in text and "Rejected 5" in text and "1 bad price" in text


def test_drop_mode_with_every_row_bad_raises(tmp_path):
    error = error_of(write(tmp_path, "Time,Price,Volume\n2024-03-01,0,1\n"), on_bad_rows="drop")
    assert "all 1 rows rejected" in str(error)


def test_reordering_is_stable_and_counted(tmp_path):
    lines = [
        "Time,Price,Volume",
        "2024-03-01 09:30:02,1,1",
        "2024-03-01 09:30:01,2,1",   # earlier than the row before: 1
        "2024-03-01 09:30:02,3,1",
        "2024-03-01 09:30:01,4,1",   # 2
        "2024-03-01 09:30:03,5,1",
        "2024-03-01 09:30:00,6,1",   # 3
    ]
    ticks = load_ticks(write(tmp_path, "\n".join(lines) + "\n"))
    # ties keep file order: 09:30:01 -> rows 2, 4; 09:30:02 -> rows 1, 3
    assert ticks["price"].tolist() == [6, 2, 4, 1, 3, 5]
    assert ticks.attrs["load_report"]["reordered"] == 3
    assert "3 rows were out of time order" in format_load_report(ticks.attrs["load_report"])


# --------------------------------------------------------------------------- real data


@pytest.mark.skipif(not FREQTRADE.is_dir(), reason="../shared/realdata/freqtrade is absent")
def test_freqtrade_public_trades():
    ticks = load_ticks(FREQTRADE / "public_trades_list.csv")
    report = ticks.attrs["load_report"]
    assert (report["rows_read"], report["rows_kept"], report["unknown_side"]) == (1000, 1000, 0)
    assert report["columns"]["timestamp"] == "timestamp" and report["columns"]["size"] == "amount"
    first = ticks.iloc[0]  # 0,1675329600138,1206419187,,buy,1666.8,26.062,...
    assert first["timestamp"] == pd.Timestamp("2023-02-02 09:20:00.138", tz="UTC")
    assert (first["price"], first["size"], first["side"]) == (1666.8, 26.062, 1)
    assert ticks.iloc[1][["price", "size", "side"]].tolist() == [1666.79, 0.152, -1]
    assert ticks["timestamp"].is_monotonic_increasing
    assert ticks["timestamp"].iloc[-1].strftime("%H:%M") == "09:23"


@pytest.mark.skipif(not FREQTRADE.is_dir(), reason="../shared/realdata/freqtrade is absent")
def test_freqtrade_stray_spaces():
    ticks = load_ticks(FREQTRADE / "public_trades_list_simple_example.csv")
    # detected as ccxt: rows 6 and 7 repeat the ids of rows 3 and 4 and are rejected
    assert len(ticks) == 5 and ticks.attrs["load_report"]["rejected"] == {"duplicate_id": 2}
    # sides "buy", "sell", "sell ", "  sell" ...
    assert ticks["side"].tolist()[:4] == [1, -1, -1, -1]
    assert ticks["price"].tolist()[:2] == [23438.0, 23437.5]
    assert ticks["size"].tolist()[:3] == [0.013, 0.001, 0.196]
    assert ticks["timestamp"].iloc[0] == pd.Timestamp("2023-02-02 04:10:00.092", tz="UTC")
