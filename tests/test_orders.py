"""Trades grouped into aggressor orders (data.bars.orders) and the large-order lines: hand-worked and on real data."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from data import aggressor_orders, large_orders, make_bars
from data.bars.footprint import add_footprint_lines
from data.bars.orders import large_order_volume
from data.errors import OrderFlowError
from tests.conftest import canonical_ticks, need_shared

# (time, price, size, side): orders worked by hand
ROWS = [
    ("2024-03-01T09:30:00Z", 100.00, 2.0, 1),  # A: one buy sweeping 100.00 .. 100.50 at 09:30:00
    ("2024-03-01T09:30:00Z", 100.25, 3.0, 1),  # A
    ("2024-03-01T09:30:00Z", 100.50, 1.0, 1),  # A: 6 lots, 3 prints, 3 levels, vwap 601.25 / 6
    ("2024-03-01T09:30:00Z", 100.25, 4.0, -1),  # B: same instant, other side: a new order
    ("2024-03-01T09:30:01Z", 100.00, 5.0, -1),  # C
    ("2024-03-01T09:30:01Z", 100.00, 2.0, -1),  # C: 7 lots, 2 prints, 1 level
    ("2024-03-01T09:30:02Z", 100.25, 1.0, 1),  # D
    ("2024-03-01T09:30:02.5Z", 100.25, 1.0, 1),  # E: 0.5 s later: its own order (unless an id says otherwise)
]


def order_ticks(ids: list | None = None) -> pd.DataFrame:
    ticks = canonical_ticks(ROWS, quotes=False)
    if ids is not None:
        ticks["aggressor_id"] = ids
    return ticks


def test_orders_by_time_and_side_by_hand():
    orders = aggressor_orders(order_ticks())
    assert orders["side"].tolist() == [1, -1, -1, 1, 1]
    assert orders["size"].tolist() == [6.0, 4.0, 7.0, 1.0, 1.0]
    assert orders["trades"].tolist() == [3, 1, 2, 1, 1]
    assert orders["levels"].tolist() == [3, 1, 1, 1, 1]
    assert orders["vwap"].iloc[0] == pytest.approx(601.25 / 6)
    assert (orders["low"].iloc[0], orders["high"].iloc[0]) == (100.00, 100.50)
    assert (orders["first_price"].iloc[0], orders["last_price"].iloc[0]) == (100.00, 100.50)
    assert orders["first_row"].tolist() == [0, 3, 4, 6, 7]
    assert orders["last_row"].tolist() == [2, 3, 5, 6, 7]
    assert orders["size"].sum() == order_ticks()["size"].sum()  # nothing lost
    assert orders.attrs["trades_per_order"] == 8 / 5
    assert str(orders["timestamp"].dt.tz) == "UTC"


def test_orders_by_aggressor_id_where_the_source_has_one():
    orders = aggressor_orders(order_ticks(ids=[1, 1, 1, 2, 3, 3, 4, 4]))
    assert orders["size"].tolist() == [6.0, 4.0, 7.0, 2.0]  # D and E: one taker (id 4) over two instants
    # an id change splits trades of one instant
    split = aggressor_orders(order_ticks(ids=[1, 1, 9, 2, 3, 3, 4, 5]))
    assert split["size"].tolist() == [5.0, 1.0, 4.0, 7.0, 1.0, 1.0]
    with pytest.raises(OrderFlowError):
        aggressor_orders(order_ticks(), by="taker")


def test_large_orders_and_their_lines_per_bar():
    ticks = order_ticks()
    big = large_orders(ticks, 5.0)
    assert big["size"].tolist() == [6.0, 7.0] and (big["threshold"] == 5.0).all()
    # 09:30:00 is the end of the 09:30 bar (right-closed); the rest make the 09:31 bar
    bars = add_footprint_lines(make_bars(ticks, "1min", tick_size=0.25), ticks, 0.25, large=5.0)
    assert bars["large_buy_orders"].tolist() == [6.0, 0.0]  # the 3-print sweep: no single print reaches 5
    assert bars["large_sell_orders"].tolist() == [0.0, 7.0]
    assert bars["large_buy_volume"].tolist() == [0.0, 0.0]
    assert bars["large_sell_volume"].tolist() == [0.0, 5.0]  # as single prints, only the 5-lot
    # an order counts in the bar of its last trade (tick bars of 2 trades split order A)
    ts = ticks["timestamp"].array.asi8
    buy, _ = large_order_volume(ts, ticks["size"].to_numpy(), ticks["side"].to_numpy(), np.arange(0, 8, 2), 5.0)
    assert buy.tolist() == [0.0, 6.0, 0.0, 0.0]


def test_large_orders_by_percentile_of_previous_orders():
    ticks = order_ticks()
    # p50 of the 5 order sizes [6, 4, 7, 1, 1] (one block, judged against itself): the 3rd smallest, 4
    assert large_orders(ticks, "p50")["size"].tolist() == [6.0, 4.0, 7.0]


# --- real data: how many trades become one order -------------------------------------------------


def binance_stream_ticks(path) -> pd.DataFrame:
    """Trades of a Binance USD-M ``@trade`` capture (``<recv ns> <json>`` lines), side from ``m``."""
    raw = pd.read_csv(path, sep=" ", header=None, names=["recv", "msg"], dtype=str, compression="gzip")
    msgs = raw["msg"][raw["msg"].str.contains('@trade"', regex=False)]
    data = pd.json_normalize(pd.read_json(io.StringIO("\n".join(msgs)), lines=True)["data"])
    return pd.DataFrame({
        "timestamp": pd.to_datetime(data["T"].astype("int64"), unit="ms", utc=True).astype("datetime64[ns, UTC]"),
        "price": data["p"].astype(float),
        "size": data["q"].astype(float),
        "side": np.where(data["m"].astype(bool), -1, 1).astype(np.int8),
    })


# name -> (trades, orders, orders of several prints, most prints in one order, most levels swept)
MEASURED = {
    "binance_stream/usdm_btcusdt_20240808.gz": (21313, 5436, 1936, 348, 182),
    "binance_stream/usdm_ethusdt_20240808.gz": (14076, 3512, 1660, 228, 84),
    "freqtrade/public_trades_list.csv": (1000, 707, 41, 38, 38),
    "databento/ESU4.GLBX.MDP3.trades.20240701.dbn.zst": (120, 120, 0, 1, 1),
}


@pytest.mark.parametrize("name", list(MEASURED))
def test_trades_per_order_on_real_files(name):
    path = need_shared() / "realdata" / name
    if name.startswith("binance_stream"):
        ticks = binance_stream_ticks(path)
    else:
        if name.endswith(".dbn.zst"):
            pytest.importorskip("databento")
        from data import load_ticks

        ticks = load_ticks(path)
    ticks = ticks.sort_values("timestamp", kind="stable").reset_index(drop=True)
    orders = aggressor_orders(ticks)
    got = (len(ticks), len(orders), int((orders["trades"] > 1).sum()), int(orders["trades"].max()),
           int(orders["levels"].max()))
    assert got == MEASURED[name]
    assert orders["size"].sum() == pytest.approx(ticks["size"].sum(), rel=1e-12)
    bars = make_bars(ticks, "1min", depth=False)
    # an order is never smaller than its largest print, so the largest order >= the largest trade
    assert orders["size"].max() >= ticks["size"].max()
    assert bars["large_buy_orders"].sum() + bars["large_sell_orders"].sum() > 0
