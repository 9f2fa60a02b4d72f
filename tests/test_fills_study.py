"""tools.fills_study: the real books' strongest short-horizon signal traded with each kind of fill."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.conftest import need_shared
from tools import fills_study


def test_average_fills_per_order_worked_by_hand():
    fills = pd.DataFrame({"id": [2, 0, 0], "time": pd.to_datetime(["2024-01-01 00:00:03", "2024-01-01 00:00:02",
                                                                   "2024-01-01 00:00:01"], utc=True),
                          "price": [5.0, 11.0, 10.0], "size": [1.0, 3.0, 1.0]})
    size, price, first = fills_study._average(fills, 3)
    # order 0: 1 at 10 then 3 at 11 = 4 at 10.75, first at 00:00:01; order 1: nothing; order 2: 1 at 5
    assert size.tolist() == [4.0, 0.0, 1.0]
    assert price[0] == pytest.approx(10.75) and np.isnan(price[1]) and price[2] == 5.0
    assert first.tolist() == [pd.Timestamp("2024-01-01 00:00:01").value, -1, pd.Timestamp("2024-01-01 00:00:03").value]


def test_on_amzn_the_spread_eats_the_edge_that_bar_fills_show():
    shared = need_shared()
    from tools import real_books

    books = {b.name: b for b in real_books.real_books(shared)[0]}
    if "LOBSTER AMZN" not in books:
        pytest.skip("the LOBSTER AMZN sample is absent")
    head, table = fills_study.study_book(books["LOBSTER AMZN"], shared / fills_study.BOOKS["LOBSTER AMZN"])
    assert head.startswith("#### LOBSTER AMZN: footprint imbalance count at 10s")
    rows = table.set_index("mode")
    # found: bar fills +0.25 ticks net per round trip; market orders -11.8 (the spread, 13.4 ticks, is 8 times the
    # gross 1.6); passive limits fill 1 in 6 and the mid then moves about 3 ticks against them
    assert rows.loc["bar fills", "net / trade"] > 0
    for latency in fills_study.LATENCIES:
        market = rows.loc[f"market, latency {latency}"]
        assert market["fill ratio"] == 1.0 and market["gross / trade"] > 0 > market["net / trade"]
        assert market["spread paid / trade"] > 5 * market["gross / trade"]
    for queue in ("fifo", "risk_averse", "prob:2"):
        passive = rows.loc[f"passive, {queue}"]
        assert 0.1 < passive["fill ratio"] < 0.25 and passive["adverse selection"] < -1 and passive["net / trade"] < 0
