"""Quotes from a separate file joined onto trades (data/reading/quotes.py), worked by hand.

Trades at 10.0, 10.5, 11.0 and 12.0 s (and one at 8.0 s, before any quote); quotes
(bid/ask) at 9.0 s 99/101, 10.5 s 100/102, 10.9 s 101/103, 12.0 s 102/104.

lag 0 (a quote is used by trades strictly after it):
  8.0 -> none; 10.0 -> 9.0 (99/101); 10.5 -> 9.0 (the 10.5 quote is not strictly
  before); 11.0 -> 10.9 (101/103); 12.0 -> 10.9 (the 12.0 quote is not strictly before).
lag 100 ms (quotes in force from 9.1, 10.6, 11.0, 12.1):
  10.0 -> 99/101; 10.5 -> 99/101; 11.0 -> 10.6 (100/102: 11.0 is not strictly after
  11.0); 12.0 -> 11.0 (101/103).
lag 600 ms (in force from 9.6, 11.1, 11.5, 12.6):
  10.0, 10.5, 11.0 -> 99/101; 12.0 -> 11.5 (101/103).
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data import join_quotes, load_quotes, load_ticks
from data.errors import OrderFlowError
from data.reading.loader import format_load_report

FIXTURES = Path(__file__).parent / "fixtures"
BASE = pd.Timestamp("2024-03-01 14:30:00", tz="UTC")
needs_databento = pytest.mark.skipif(
    importlib.util.find_spec("databento") is None,
    reason="the optional databento package is absent (pip install .[databento])",
)

QUOTES_CSV = (
    "time,bid,ask,bid_size,ask_size\n"
    "2024-03-01T14:30:09Z,99,101,5,6\n"
    "2024-03-01T14:30:10.5Z,100,102,7,8\n"
    "2024-03-01T14:30:10.9Z,101,103,9,10\n"
    "2024-03-01T14:30:12Z,102,104,11,12\n"
)


@pytest.fixture
def trades() -> pd.DataFrame:
    seconds = [8.0, 10.0, 10.5, 11.0, 12.0]
    frame = pd.DataFrame({
        "timestamp": [BASE + pd.Timedelta(seconds=s) for s in seconds],
        "price": [100.0, 100.5, 101.0, 101.5, 102.0],
        "size": [1.0, 2.0, 3.0, 4.0, 5.0],
        "side": np.zeros(5, dtype=np.int8),
    })
    return load_ticks(frame)


@pytest.fixture
def quotes(tmp_path) -> pd.DataFrame:
    path = tmp_path / "quotes.csv"
    path.write_text(QUOTES_CSV)
    return load_quotes(path)


def test_load_quotes(quotes):
    assert list(quotes.columns) == ["timestamp", "bid", "ask", "bid_size", "ask_size"]
    assert quotes["timestamp"].tolist() == [BASE + pd.Timedelta(seconds=s) for s in (9, 10.5, 10.9, 12)]
    assert quotes["bid"].tolist() == [99, 100, 101, 102]
    assert quotes.attrs["load_report"]["columns"]["timestamp"] == "time"


@pytest.mark.parametrize(
    "lag, bids, asks",
    [
        (None, [np.nan, 99, 99, 101, 101], [np.nan, 101, 101, 103, 103]),
        ("100ms", [np.nan, 99, 99, 100, 101], [np.nan, 101, 101, 102, 103]),
        (pd.Timedelta("600ms"), [np.nan, 99, 99, 99, 101], [np.nan, 101, 101, 101, 103]),
    ],
)
def test_join_strictly_before_with_lag(trades, quotes, lag, bids, asks):
    joined = join_quotes(trades, quotes, lag=lag)
    np.testing.assert_array_equal(joined["bid"].to_numpy(), bids)
    np.testing.assert_array_equal(joined["ask"].to_numpy(), asks)
    assert joined["price"].tolist() == trades["price"].tolist()  # trades untouched, in order
    assert list(joined.columns) == ["timestamp", "price", "size", "side", "bid", "ask", "bid_size", "ask_size"]


def test_join_sizes_report_and_replacement(trades, quotes):
    with_old = trades.assign(bid=1.0, ask=2.0)  # quote columns of the ticks are replaced
    joined = join_quotes(with_old, quotes)
    np.testing.assert_array_equal(joined["bid_size"].to_numpy(), [np.nan, 5, 5, 9, 9])
    np.testing.assert_array_equal(joined["ask_size"].to_numpy(), [np.nan, 6, 6, 10, 10])
    rep = joined.attrs["load_report"]
    assert rep["quotes"]["trades_without_quote"] == 1 and rep["quotes"]["rows"] == 4
    assert rep["rows_kept"] == 5  # the ticks' own report is kept
    assert "strictly before each trade; 1 trades have no quote in force" in format_load_report(rep)


def test_same_time_quotes_last_wins(trades):
    quotes = load_quotes(pd.DataFrame({
        "timestamp": [BASE + pd.Timedelta(seconds=9)] * 2, "bid": [1.0, 99.0], "ask": [2.0, 101.0],
    }))
    joined = join_quotes(trades, quotes)
    np.testing.assert_array_equal(joined["bid"].to_numpy(), [np.nan, 99, 99, 99, 99])
    assert "bid_size" not in joined


def test_join_from_a_path(trades, tmp_path):
    path = tmp_path / "q.csv"
    path.write_text(QUOTES_CSV)
    assert join_quotes(trades, path)["ask"].tolist()[1:] == [101, 101, 103, 103]


def test_quote_errors(trades, quotes, tmp_path):
    with pytest.raises(OrderFlowError, match="lag must be a duration >= 0"):
        join_quotes(trades, quotes, lag="-1s")
    with pytest.raises(OrderFlowError, match="lag must be a duration such as"):
        join_quotes(trades, quotes, lag="soon")
    with pytest.raises(OrderFlowError, match="sorted by time"):
        join_quotes(trades.iloc[::-1], quotes)
    path = tmp_path / "bad.csv"
    path.write_text("time,bid,offer_px\n2024-03-01T14:30:09Z,99,101\n")
    message = str(pytest.raises(OrderFlowError, load_quotes, path).value)
    assert "no ask column; columns found: ['time', 'bid', 'offer_px']" in message
    path.write_text("time,bid,ask\n2024-03-01T14:30:09Z,99,1o1\n")
    error = pytest.raises(OrderFlowError, load_quotes, path).value
    assert (error.row, error.column, error.value) == (1, "ask", "1o1")


@needs_databento
def test_mbp1_book_updates_as_quotes():
    quotes = load_quotes(FIXTURES / "GLBX.MDP3.mbp-1.dbn.zst")
    assert quotes["timestamp"].tolist() == [pd.Timestamp(t, tz="UTC") for t in (
        "2020-12-28 00:00:00.005871213", "2020-12-28 00:00:00.062570311",
        "2020-12-28 00:00:00.076022275", "2020-12-28 00:00:00.076339855")]
    assert quotes["bid_size"].tolist() == [19, 20, 20, 21] and quotes["ask_size"].tolist() == [13, 13, 14, 14]
    # the tbbo trades (00:00:00.2465 on) all come after the last book update
    ticks = join_quotes(load_ticks(FIXTURES / "GLBX.MDP3.tbbo.dbn.zst"), quotes)
    assert ticks["bid"].tolist() == [3702.25] * 4 and ticks["ask_size"].tolist() == [14] * 4


# --------------------------------------------------------------------------- impossible quotes


@pytest.mark.parametrize("bad, column", [("0,101", "bid"), ("-99,101", "bid"), ("99,0", "ask")])
def test_non_positive_quote_prices_are_bad_rows(tmp_path, bad, column):
    path = tmp_path / "q.csv"
    path.write_text(QUOTES_CSV.replace("99,101", bad, 1))  # the first quote
    with pytest.raises(OrderFlowError) as err:
        load_quotes(path)
    assert (err.value.column, err.value.row) == (column, 1)
    assert f"{column} price must be > 0" in str(err.value)
    quotes = load_quotes(path, on_bad_rows="drop")
    assert quotes.attrs["load_report"]["rejected"] == {f"non_positive_{column}": 1}
    assert quotes["bid"].tolist() == [100.0, 101.0, 102.0]


def test_a_missing_side_of_the_book_is_still_kept(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text(QUOTES_CSV.replace("99,101", ",101", 1))
    quotes = load_quotes(path)
    assert np.isnan(quotes["bid"].iloc[0]) and quotes.attrs["load_report"]["rejected"] == {}


def test_crossed_quotes_are_counted_in_both_reports(tmp_path):
    path = tmp_path / "q.csv"
    # the 10.9 s quote crossed (bid 104 > ask 103); the 12.0 s quote locked (102/102): not crossed
    path.write_text(QUOTES_CSV.replace("101,103", "104,103").replace("102,104", "102,102"))
    quotes = load_quotes(path)
    assert quotes.attrs["load_report"]["crossed_quotes"] == 1
    assert "1 row has a crossed book (bid > ask)" in format_load_report(quotes.attrs["load_report"])
    ticks = load_ticks(pd.DataFrame({
        "timestamp": BASE + pd.to_timedelta([10.0, 11.0, 12.0, 13.0], unit="s"),
        "price": [100.0, 103.5, 103.5, 102.0], "size": 1.0,
    }))
    joined = join_quotes(ticks, quotes)
    # 11.0 and 12.0 s trade against the crossed 10.9 s quote; 13.0 s against the locked one
    report = joined.attrs["load_report"]
    assert report["quotes"]["trades_with_crossed_quote"] == 2
    assert "0 trades have no quote in force, 2 a crossed one (bid > ask" in format_load_report(report)


def test_rejected_quote_rows_are_told_in_the_ticks_report(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text(QUOTES_CSV.replace("99,101", "0,101", 1))
    ticks = load_ticks(pd.DataFrame({"timestamp": [BASE + pd.Timedelta(seconds=11)], "price": [100.5], "size": [1.0]}))
    joined = join_quotes(ticks, load_quotes(path, on_bad_rows="drop"))
    assert joined.attrs["load_report"]["quotes"]["rejected"] == {"non_positive_bid": 1}
    assert "quote rows rejected: 1 non positive bid" in format_load_report(joined.attrs["load_report"])
