"""order_flow_metrics: parity with the original script, fractional sizes, canonical ticks, errors."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data.bars.metrics import order_flow_metrics
from data.errors import OrderFlowError

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "ticks_small.csv"
METRICS = ["Aggressive_Buy", "Aggressive_Sell", "Volume_Delta", "CVD", "Imbalance"]

# Worked out by hand from tests/fixtures/ticks_small.csv
# (Volume 2, 3, 5, 1.5, 4, 2, 6, 3, 1, 2.5; TradeType 1, 1, 2, 2, 0, 1, 1, 2, 2, 1).
FIXTURE_EXPECTED = {
    "Aggressive_Buy": [2, 3, 0, 0, 0, 2, 6, 0, 0, 2.5],
    "Aggressive_Sell": [0, 0, 5, 1.5, 0, 0, 0, 3, 1, 0],
    "Volume_Delta": [2, 3, -5, -1.5, 0, 2, 6, -3, -1, 2.5],
    "CVD": [2, 5, 0, -1.5, -1.5, 0.5, 6.5, 3.5, 2.5, 5.0],
    "Imbalance": [-2, -7, -2, 15, 0, -3, -9, 7, 9, 4],
}


def original_metrics(df: pd.DataFrame) -> pd.DataFrame:
    """The original serverless script's formulas, verbatim (the reference).

    On pandas 3 this raises a TypeError when a Volume is fractional (a float is
    set into the integer column made by ``= 0``), so it is run on integer data only.
    """
    df = df.copy()
    df["Aggressive_Buy"] = 0
    df["Aggressive_Sell"] = 0
    df.loc[df["TradeType"] == 1, "Aggressive_Buy"] = df["Volume"]
    df.loc[df["TradeType"] == 2, "Aggressive_Sell"] = df["Volume"]
    df["Volume_Delta"] = df["Aggressive_Buy"] - df["Aggressive_Sell"]
    df["CVD"] = df["Volume_Delta"].cumsum()
    df["Imbalance"] = df["BidSize"] - df["AskSize"]
    return df


def random_integer_trades(seed: int, n: int = 500) -> pd.DataFrame:
    """Trades in the original names with integer sizes and codes 0..3 (3 = unknown)."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "Price": 100 + rng.integers(-40, 40, n) * 0.25,
        "Volume": rng.integers(0, 1_000, n),
        "BidSize": rng.integers(0, 500, n),
        "AskSize": rng.integers(0, 500, n),
        "TradeType": rng.integers(0, 4, n),
    })


def fixture_trades() -> pd.DataFrame:
    return pd.read_csv(FIXTURE)


@pytest.mark.parametrize("seed", range(5))
def test_parity_with_original_formulas_on_random_integer_data(seed: int) -> None:
    trades = random_integer_trades(seed)
    # Values and dtypes (int64, as the original gives on integer data) must agree.
    pd.testing.assert_frame_equal(order_flow_metrics(trades), original_metrics(trades))


def test_fractional_sizes_give_hand_checked_values() -> None:
    result = order_flow_metrics(fixture_trades())
    for column, expected in FIXTURE_EXPECTED.items():
        assert result[column].tolist() == expected, column
    assert result["Aggressive_Buy"].dtype == np.float64


def test_input_frame_is_not_modified_and_columns_are_kept() -> None:
    trades = fixture_trades()
    before = trades.copy()
    result = order_flow_metrics(trades)
    pd.testing.assert_frame_equal(trades, before)
    assert list(result.columns) == list(before.columns) + METRICS
    pd.testing.assert_frame_equal(result[list(before.columns)], before)


@settings(max_examples=60, deadline=None)
@given(st.lists(
    st.tuples(
        st.floats(0, 1e6, allow_nan=False),
        st.sampled_from([0, 1, 2, 7]),
    ),
    min_size=1,
    max_size=60,
))
def test_cvd_is_running_sum_of_deltas(rows: list[tuple[float, int]]) -> None:
    volume = [v for v, _ in rows]
    kind = [k for _, k in rows]
    frame = pd.DataFrame({"Volume": volume, "TradeType": kind, "BidSize": 1.0, "AskSize": 2.0})
    result = order_flow_metrics(frame)
    buys = [v if k == 1 else 0.0 for v, k in rows]
    sells = [v if k == 2 else 0.0 for v, k in rows]
    assert result["Aggressive_Buy"].tolist() == buys
    assert result["Aggressive_Sell"].tolist() == sells
    assert result["Volume_Delta"].tolist() == [b - s for b, s in zip(buys, sells)]
    assert result["CVD"].iloc[-1] == pytest.approx(math.fsum(b - s for b, s in zip(buys, sells)),
                                                   rel=1e-9, abs=1e-6)
    np.testing.assert_array_equal(result["CVD"], np.cumsum(result["Volume_Delta"].to_numpy()))
    assert (result["Imbalance"] == -1.0).all()


def canonical_fixture(with_quotes: bool = True) -> pd.DataFrame:
    raw = fixture_trades()
    ticks = pd.DataFrame({
        "timestamp": pd.to_datetime(raw["Timestamp"], utc=True, format="ISO8601"),
        "price": raw["Price"].astype(np.float64),
        "size": raw["Volume"].astype(np.float64),
        "side": raw["TradeType"].map({1: 1, 2: -1, 0: 0}).astype(np.int8),
    })
    if with_quotes:
        ticks["bid_size"] = raw["BidSize"].astype(np.float64)
        ticks["ask_size"] = raw["AskSize"].astype(np.float64)
    return ticks


def test_canonical_ticks_give_the_same_metrics() -> None:
    result = order_flow_metrics(canonical_fixture())
    for column, expected in FIXTURE_EXPECTED.items():
        assert result[column].tolist() == expected, column


def test_canonical_ticks_without_quotes_have_nan_imbalance() -> None:
    result = order_flow_metrics(canonical_fixture(with_quotes=False))
    assert result["CVD"].tolist() == FIXTURE_EXPECTED["CVD"]
    assert result["Imbalance"].isna().all()
    assert result["Imbalance"].dtype == np.float64


def test_output_of_load_ticks_works() -> None:
    from data import load_ticks

    try:
        ticks = load_ticks(FIXTURE)
    except NotImplementedError:
        pytest.skip("data.load_ticks is not written yet")
    result = order_flow_metrics(ticks)
    assert result["CVD"].tolist() == FIXTURE_EXPECTED["CVD"]
    assert result["Imbalance"].tolist() == FIXTURE_EXPECTED["Imbalance"]


def test_side_codes_go_through_the_project_parser() -> None:
    frame = pd.DataFrame({
        "Volume": [1, 2, 4, 8, 16, 32, 64],
        "TradeType": ["1", " buy", "SELL ", "2", "-1", "x", None],
        "BidSize": 0, "AskSize": 0,
    })
    result = order_flow_metrics(frame)
    assert result["Aggressive_Buy"].tolist() == [1, 2, 0, 0, 0, 0, 0]
    assert result["Aggressive_Sell"].tolist() == [0, 0, 4, 8, 16, 0, 0]
    assert result["CVD"].tolist() == [1, 3, -1, -9, -25, -25, -25]


def test_numeric_text_sizes_are_read_as_numbers() -> None:
    frame = pd.DataFrame({"Volume": ["0.5", " 2 "], "TradeType": [1, 2],
                          "BidSize": ["3", "1.5"], "AskSize": [1, 1]})
    result = order_flow_metrics(frame)
    assert result["Volume_Delta"].tolist() == [0.5, -2.0]
    assert result["Imbalance"].tolist() == [2.0, 0.5]


def test_a_missing_book_size_gives_nan_imbalance_on_that_row_only() -> None:
    frame = pd.DataFrame({"Volume": [1, 2], "TradeType": [1, 1],
                          "BidSize": [5, None], "AskSize": [3, 3]})
    result = order_flow_metrics(frame)
    assert result["Imbalance"].iloc[0] == 2.0
    assert math.isnan(result["Imbalance"].iloc[1])


def test_empty_frame_gives_empty_metrics() -> None:
    frame = pd.DataFrame({"Volume": [], "TradeType": [], "BidSize": [], "AskSize": []})
    result = order_flow_metrics(frame)
    assert len(result) == 0
    assert list(result.columns[-5:]) == METRICS


def trades(**columns: list) -> pd.DataFrame:
    base = {"Volume": [1, 2, 3], "TradeType": [1, 2, 1], "BidSize": [1, 1, 1], "AskSize": [2, 2, 2]}
    base.update(columns)
    return pd.DataFrame(base)


@pytest.mark.parametrize(("frame", "message"), [
    (pd.DataFrame({"Price": [1.0]}),
     "no trade columns: expected the original Volume, TradeType, BidSize, AskSize "
     "or the canonical size, side (bid_size, ask_size optional)"),
    (trades().drop(columns="BidSize"),
     "column 'BidSize': missing column (needed: Volume, TradeType, BidSize, AskSize)"),
    (trades().drop(columns="TradeType"),
     "column 'TradeType': missing column (needed: Volume, TradeType, BidSize, AskSize)"),
    (pd.DataFrame({"size": [1.0]}), "column 'side': missing column (needed: size, side)"),
    (trades(Volume=[1, 2, "abc"]), "column 'Volume', row 3: trade size is not a number (value 'abc')"),
    (trades(Volume=[1, -2, 3]), "column 'Volume', row 2: trade size is negative (value -2)"),
    (trades(Volume=[1.5, np.nan, -3]), "column 'Volume', row 2: trade size is missing"),
    (trades(Volume=[1, 2, np.inf]), "column 'Volume', row 3: trade size is not finite (value inf)"),
    (trades(AskSize=[1, -1, 1]), "column 'AskSize', row 2: ask size is negative (value -1)"),
    (trades(BidSize=[1, 1, "deep"]), "column 'BidSize', row 3: bid size is not a number (value 'deep')"),
    (trades(TradeType=[True, False, True]),
     "column 'TradeType', row 1: side codes must be 1/2, +1/-1 or buy/sell, not booleans (value True)"),
    (trades(Volume=[True, False, True]), "column 'Volume', row 1: trade size is not a number (value True)"),
])
def test_bad_input_raises_naming_column_and_first_bad_row(frame: pd.DataFrame, message: str) -> None:
    with pytest.raises(OrderFlowError) as info:
        order_flow_metrics(frame)
    assert str(info.value) == message


def test_source_is_named_in_the_error() -> None:
    with pytest.raises(OrderFlowError, match=r"^trades, column 'Volume', row 1: trade size is negative"):
        order_flow_metrics(trades(Volume=[-1, 2, 3]), source="trades")


def test_error_row_is_the_position_not_the_index_label() -> None:
    frame = trades(Volume=[1, 2, -3]).set_axis([10, 20, 30])
    with pytest.raises(OrderFlowError) as info:
        order_flow_metrics(frame)
    assert info.value.row == 3


EXACT = "an integer beyond 2^53 = 9007199254740992, which float64 does not hold exactly"


@pytest.mark.parametrize(("frame", "message"), [
    (trades(Volume=[1, 2**53, 3]), f"column 'Volume', row 2: trade size is {EXACT} (value 9007199254740992)"),
    (trades(Volume=np.array([1, 2, 2**63], dtype=np.uint64)),
     f"column 'Volume', row 3: trade size is {EXACT} (value 9223372036854775808)"),
    (trades(BidSize=pd.Series([1, 2**70, 1], dtype=object)),
     f"column 'BidSize', row 2: bid size is {EXACT} (value 1180591620717411303424)"),
    (trades(Volume=[2**52, 1, 2**52]),  # buy, sell, buy: 2^52 - 1 + 2^52 = 2^53 - 1 is still exact
     None),
    (trades(Volume=[2**52, 0, 2**52]),
     "column 'Volume', row 3: the CVD reaches 2^53 = 9007199254740992 here, beyond the integers float64 "
     "holds exactly (value 4503599627370496)"),
    (trades(Volume=[1e308, 1e308, 1e308], TradeType=[2, 1, 2]), None),
    (trades(Volume=[1e308, 1e308, 1e308], TradeType=[2, 2, 1]),
     "column 'Volume', row 2: the CVD overflows float64 here (value 1e+308)"),
    (trades(Volume=[1, True, 3]), "column 'Volume', row 2: trade size is not a number (value True)"),
    (trades(TradeType=pd.Series([1, 2, 2**70], dtype=object)),
     "column 'TradeType', row 3: side code is an integer beyond 64 bits (value 1180591620717411303424)"),
    (trades(Price=[100.0, 0.0, -1.0]), "column 'Price', row 2: price is not positive (value 0.0)"),
    (trades(Price=[100.0, 100.25, "x"]), "column 'Price', row 3: price is not a number (value 'x')"),
    (canonical_fixture().assign(price=-1.0), "column 'price', row 1: price is not positive (value -1.0)"),
])
def test_no_silent_overflow_and_checked_prices(frame: pd.DataFrame, message: str | None) -> None:
    if message is None:
        result = order_flow_metrics(frame)
        assert result["CVD"].tolist() == np.cumsum(result["Volume_Delta"]).tolist()
        return
    with pytest.raises(OrderFlowError) as info:
        order_flow_metrics(frame)
    assert str(info.value) == message


def test_trades_of_neither_side_are_counted_in_attrs() -> None:
    result = order_flow_metrics(trades(TradeType=[3, 1.5, np.nan]))
    assert result.attrs["unknown_side"] == 3
    assert order_flow_metrics(fixture_trades()).attrs["unknown_side"] == 1  # TradeType 0 on the fifth trade
    assert order_flow_metrics(trades()).attrs["unknown_side"] == 0
