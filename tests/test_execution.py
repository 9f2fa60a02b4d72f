"""execution.simulate: tiny books where every fill is worked out by hand, then invariants on
the shared real books (LOBSTER AMZN/GOOG, CME ES MBO, a Binance capture)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data import OrderFlowError
from execution import Replay, replay, simulate
from execution.search import RangeMin
from tests.conftest import need_shared

T0 = pd.Timestamp("2024-01-02 15:00:00", tz="UTC")


def t(seconds: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(seconds=seconds)


def book(*rows) -> pd.DataFrame:
    """Order events ``(second, action, order id, side of the resting order, price, size)``."""
    return pd.DataFrame([(t(r[0]), *r[1:]) for r in rows],
                        columns=["timestamp", "action", "order_id", "side", "price", "size"])


def orders(*rows, cancel=None) -> pd.DataFrame:
    """Orders ``(id, second, side, type, price, size)``."""
    frame = pd.DataFrame([(r[0], t(r[1]), *r[2:]) for r in rows], columns=["id", "time", "side", "type", "price", "size"])
    if cancel is not None:
        frame["cancel_time"] = [pd.NaT if c is None else t(c) for c in cancel]
    return frame


def rows(fills: pd.DataFrame) -> list[tuple]:
    """Fills as ``(id, second, price, size, liquidity)`` with sizes rounded to 1e-9."""
    return [(f.id, (f.time - T0).total_seconds(), f.price, round(f.size, 9), f.liquidity) for f in fills.itertuples()]


# A book: bids 100.00 x 5 (order 1); asks 101.00 x 4 (3), 101.50 x 2 (4), 102.00 x 10 (5).
LADDER = [(0, "add", 1, 1, 100.0, 5), (0, "add", 3, -1, 101.0, 4), (0, "add", 4, -1, 101.5, 2),
          (0, "add", 5, -1, 102.0, 10)]


# --------------------------------------------------------------------------- market orders


def test_market_order_walks_the_levels_at_arrival():
    fills = simulate(orders((1, 1, 1, "market", np.nan, 7), (2, 1, -1, "market", np.nan, 2)), book(*LADDER))
    # buy 7: 4 at 101.00, 2 at 101.50, the last 1 at 102.00, all at the arrival (1 s), taking;
    # sell 2: 2 of the 5 bid at 100.00
    assert rows(fills) == [(1, 1.0, 101.0, 4, "taker"), (1, 1.0, 101.5, 2, "taker"), (1, 1.0, 102.0, 1, "taker"),
                           (2, 1.0, 100.0, 2, "taker")]
    assert fills["ahead"].isna().all()


def test_market_order_rest_waits_for_prices_not_taken_yet():
    # one level of book (a quote stream): the ask is 100.00 x 3 at 0 s, still 100.00 (now x 6) at 2 s,
    # 100.50 x 2 at 3 s, 99.75 x 5 at 4 s
    quotes = pd.DataFrame({"timestamp": [t(0), t(2), t(3), t(4)], "bid": [99.0] * 4, "ask": [100.0, 100.0, 100.5, 99.75],
                           "bid_size": [5.0] * 4, "ask_size": [3.0, 6.0, 2.0, 5.0]})
    ticks = pd.DataFrame({"timestamp": [t(10)], "price": [99.75], "size": [1.0], "side": np.array([1], np.int8)})
    source = Replay.from_ticks(ticks, quotes)
    fills = simulate(orders((1, 1, 1, "market", np.nan, 6)), source)
    # at arrival (1 s): 3 at 100.00. At 2 s the ask is still 100.00: that liquidity was taken (the replay
    # does not remove it), not taken twice. At 3 s: 2 at 100.50. At 4 s: 99.75 is outside the range taken
    # (100.00..100.50): the last 1 there.
    assert rows(fills) == [(1, 1.0, 100.0, 3, "taker"), (1, 3.0, 100.5, 2, "taker"), (1, 4.0, 99.75, 1, "taker")]


def test_market_order_on_trades_only_takes_the_next_trade_plus_slippage():
    ticks = pd.DataFrame({"timestamp": [t(0), t(2), t(3)], "price": [100.0, 100.5, 101.0], "size": [1.0, 1.0, 1.0],
                          "side": np.array([1, -1, 1], np.int8)})
    fills = simulate(orders((1, 1, 1, "market", np.nan, 5), (2, 2, -1, "market", np.nan, 5)), ticks,
                     slippage_ticks=2, tick_size=0.25)
    # buy sent at 1 s: the first trade after it is 100.50 at 2 s, + 2 ticks of 0.25 = 101.00, whole size.
    # sell sent at 2 s: the trade stamped 2 s is not after its arrival; 101.00 at 3 s - 0.50 = 100.50.
    assert rows(fills) == [(1, 2.0, 101.0, 5, "taker"), (2, 3.0, 100.5, 5, "taker")]


def test_latency_shifts_arrival():
    events = book(*LADDER, (1.5, "cancel", 3, -1, 101.0, 4))  # the 101.00 offer leaves at 1.5 s
    order = orders((1, 1, 1, "market", np.nan, 5))
    # no latency: arrives at 1 s, before the cancel: 4 at 101.00, 1 at 101.50
    assert rows(simulate(order, events)) == [(1, 1.0, 101.0, 4, "taker"), (1, 1.0, 101.5, 1, "taker")]
    # 1 s of latency: arrives at 2 s, after it: 2 at 101.50, 3 at 102.00, stamped 2 s
    assert rows(simulate(order, events, latency="1s")) == [(1, 2.0, 101.5, 2, "taker"), (1, 2.0, 102.0, 3, "taker")]
    # 0.5 s: arrives at 1.5 s, the cancel's own time: events stamped at the arrival come before the order
    assert rows(simulate(order, events, latency="500ms"))[0] == (1, 1.5, 101.5, 2, "taker")


# --------------------------------------------------------------------------- limit orders


def test_marketable_limit_takes_up_to_its_price_then_rests():
    events = book(*LADDER, (2, "fill", 1, 1, 100.0, 5))  # at 2 s a seller takes the 100.00 bid
    fills = simulate(orders((1, 1, 1, "limit", 101.5, 10)), events)
    # at arrival: 4 at 101.00 and 2 at 101.50 (102.00 is beyond the limit); 4 rest at 101.50, nobody
    # ahead (no bid there). The trade at 100.00 prints through 101.50: all 4 fill at 101.50, as maker.
    assert rows(fills) == [(1, 1.0, 101.0, 4, "taker"), (1, 1.0, 101.5, 2, "taker"), (1, 2.0, 101.5, 4, "maker")]
    assert fills["ahead"].isna().tolist() == [True, True, False] and fills["ahead"].iloc[2] == 0


# bids at 100.00: order 1 x 5, order 2 x 3 (8 ahead of an order that arrives at 1 s); an offer at 101.
QUEUE = [(0, "add", 1, 1, 100.0, 5), (0, "add", 2, 1, 100.0, 3), (0, "add", 9, -1, 101.0, 10)]
LATER_CANCEL = book(
    *QUEUE,
    (2, "add", 3, 1, 100.0, 4),      # behind us
    (3, "cancel", 3, 1, 100.0, 4),   # a later order's cancel: must not move us
    (4, "fill", 1, 1, 100.0, 5),     # 5 of the 8 ahead trade
    (5, "fill", 2, 1, 100.0, 2),     # 7 of 8
    (6, "add", 4, 1, 100.0, 6),      # behind us
    (7, "fill", 2, 1, 100.0, 1),     # all 8 ahead gone
    (8, "fill", 4, 1, 100.0, 3),     # an order behind us trades: the trade reached us
    (9, "fill", 4, 1, 100.0, 2),
)


def test_fifo_a_later_orders_cancel_does_not_move_the_order_up():
    fills = simulate(orders((1, 1, 1, "limit", 100.0, 4)), LATER_CANCEL, queue="fifo")
    # 8 ahead. Had the cancel at 3 s counted, 4 would be ahead and the fill of 5 at 4 s would reach us.
    # It does not: the first execution of an order behind us is at 8 s (3 lots), then 1 of the 2 at 9 s.
    assert rows(fills) == [(1, 8.0, 100.0, 3, "maker"), (1, 9.0, 100.0, 1, "maker")]
    assert fills["ahead"].tolist() == [8, 8]
    # risk_averse on the same book: ahead 8; the level grows to 12 and shrinks back to 8 (no cap below 8);
    # the trades 5 + 2 + 1 + 3 = 11 pass 8 by 3 at 8 s, then 2 more at 9 s fill the last 1: the same
    assert rows(simulate(orders((1, 1, 1, "limit", 100.0, 4)), LATER_CANCEL)) == rows(fills)


def test_prob_takes_an_unexplained_shrink_from_ahead_in_proportion():
    fills = simulate(orders((1, 1, 1, "limit", 100.0, 4)), LATER_CANCEL, queue="prob:1")
    # prob:1, f(x) = x. At 2 s the level grows 8 -> 12 (4 behind us). At 3 s it shrinks by 4 with no trade:
    # ahead 8, behind 4, so 8/(8+4) = 2/3 of it comes from ahead: ahead = 8 - 4 * 2/3 = 16/3.
    # 4 s: a trade of 5 -> ahead 1/3. 5 s: a trade of 2 passes it: fill 2 - 1/3 = 5/3.
    # 7 s: trade of 1 -> fill 1 (8/3 in all). 8 s: trade of 3 -> the last 4/3.
    assert rows(fills) == [(1, 5.0, 100.0, round(5 / 3, 9), "maker"), (1, 7.0, 100.0, 1, "maker"),
                           (1, 8.0, 100.0, round(4 / 3, 9), "maker")]
    # prob:2, f(x) = x^2: the share from ahead is 64/(64+16) = 4/5: ahead = 8 - 3.2 = 4.8; after the 5 at 4 s
    # nothing is ahead (-0.2): the 4 s trade fills 0.2, 5 s fills 2, 7 s fills 1, 8 s the last 0.8
    fills2 = simulate(orders((1, 1, 1, "limit", 100.0, 4)), LATER_CANCEL, queue="prob:2")
    assert rows(fills2) == [(1, 4.0, 100.0, 0.2, "maker"), (1, 5.0, 100.0, 2, "maker"), (1, 7.0, 100.0, 1, "maker"),
                            (1, 8.0, 100.0, 0.8, "maker")]


AHEAD_CANCELS = book(
    *QUEUE,
    (2, "add", 3, 1, 100.0, 6),      # behind us: the level shows 14
    (3, "cancel", 2, 1, 100.0, 3),   # an order AHEAD of us leaves: 11 shown
    (4, "fill", 1, 1, 100.0, 5),     # the last order ahead trades
    (5, "fill", 3, 1, 100.0, 4),     # an order behind us trades
)


def test_fifo_moves_up_on_the_cancels_of_orders_ahead_risk_averse_does_not():
    order = orders((1, 1, 1, "limit", 100.0, 2))
    # fifo: 8 ahead, 5 after order 2's cancel, 0 after the fill of 5; the 4 at 5 s reach us: 2 filled
    assert rows(simulate(order, AHEAD_CANCELS, queue="fifo")) == [(1, 5.0, 100.0, 2, "maker")]
    # risk_averse: the level (14, then 11, then 6) never falls below the 8 ahead, so the cancel cannot be
    # told apart from one behind us: 8 ahead; trades 5 + 4 = 9 pass it by 1 at 5 s
    assert rows(simulate(order, AHEAD_CANCELS)) == [(1, 5.0, 100.0, 1, "maker")]


def test_risk_averse_caps_ahead_at_a_shrunken_level():
    events = book(
        *QUEUE,
        (2, "add", 3, 1, 100.0, 5),      # 13 shown
        (3, "cancel", 1, 1, 100.0, 5),   # 8 shown: not below the 8 ahead
        (4, "cancel", 2, 1, 100.0, 3),   # 5 shown: ahead capped at 5
        (5, "fill", 3, 1, 100.0, 5),     # trades 5: exactly the 5 ahead, no fill
        (6, "add", 4, 1, 100.0, 6),
        (7, "fill", 4, 1, 100.0, 4),     # trades 4 more: all 4 to us
    )
    order = orders((1, 1, 1, "limit", 100.0, 4))
    # without the cap 8 would stay ahead and the 9 traded would fill only 1; capped at 5, the 4 at 7 s fill us
    assert rows(simulate(order, events)) == [(1, 7.0, 100.0, 4, "maker")]
    # fifo knows both cancels were ahead of us: nothing ahead from 4 s, so the 5 at 5 s fill all 4
    assert rows(simulate(order, events, queue="fifo")) == [(1, 5.0, 100.0, 4, "maker")]


def test_cancel_takes_effect_after_the_latency():
    # the order of test_fifo_a_later...: fills of 3 at 8 s and 1 at 9 s; cancelled at 7.5 s
    order = orders((1, 1, 1, "limit", 100.0, 4), cancel=[7.5])
    assert rows(simulate(order, LATER_CANCEL, queue="fifo")) == []
    # with 0.5 s of latency the order arrives at 1.5 s and the cancel at 8 s: the fill at 8 s is stamped at
    # the cancel's arrival, so it still happens; the one at 9 s does not
    assert rows(simulate(order, LATER_CANCEL, queue="fifo", latency="500ms")) == [(1, 8.0, 100.0, 3, "maker")]


def test_limit_order_on_a_tick_frames_quotes_and_a_sweep_through_its_price():
    # each trade's quote is the book just before it. The buy at 100.00 arrives at 1.5 s: the bid shown is
    # 100.00 x 10 (the quote before the 1 s trade), so 10 are ahead. At 2 s the level shows 8 (the 2 traded at
    # 1 s explain it): 8 ahead; the sell of 5 leaves 3 ahead. At 3 s 3 shown, a sell of 4 passes the 3: fill 1.
    # At 4 s a sell of 1 prints at 99.50, through the price: the level was swept, nothing is ahead any more,
    # and that 1 fills us at 100.00; at 5 s a sell of 3 at 100.00 fills the last 1.
    ticks = pd.DataFrame({
        "timestamp": [t(1), t(2), t(3), t(4), t(5)], "price": [100.0, 100.0, 100.0, 99.5, 100.0],
        "size": [2.0, 5.0, 4.0, 1.0, 3.0], "side": np.array([-1] * 5, np.int8), "bid": [100.0, 100.0, 100.0, 100.0, 99.5],
        "ask": [100.5] * 5, "bid_size": [10.0, 8.0, 3.0, 1.0, 2.0], "ask_size": [5.0] * 5})
    fills = simulate(orders((1, 1.5, 1, "limit", 100.0, 3)), ticks)
    assert rows(fills) == [(1, 3.0, 100.0, 1, "maker"), (1, 4.0, 100.0, 1, "maker"), (1, 5.0, 100.0, 1, "maker")]
    assert fills["ahead"].tolist() == [10, 10, 10]


# --------------------------------------------------------------------------- stop orders


def test_stop_orders_trigger_on_a_trade_at_or_through_then_take_the_book():
    events = book(
        (0, "add", 1, 1, 100.0, 5), (0, "add", 2, 1, 99.5, 3), (0, "add", 3, -1, 101.0, 2),
        (0, "add", 4, -1, 101.5, 5),
        (2, "fill", 3, -1, 101.0, 2),    # a buyer takes the 101.00 offer: a trade at 101.00
        (3, "fill", 1, 1, 100.0, 2),     # a seller hits 100.00 for 2: 3 left there
        (5, "cancel", 1, 1, 100.0, 3),   # the best bid is 99.50 again: a price the sell stop took
        (6, "add", 6, 1, 99.0, 2),
        (7, "cancel", 2, 1, 99.5, 3),    # the best bid is 99.00 x 2
    )
    fills = simulate(orders((1, 1, 1, "stop", 101.0, 3), (2, 1, -1, "stop", 100.0, 7), (3, 1, -1, "stop", 99.0, 1)),
                     events)
    # buy stop 101: the trade at 101.00 (2 s) is at its price: triggers; the book after it offers 101.50 x 5: 3 there.
    # sell stop 100: the 3 s trade at 100.00 triggers; the book after it bids 100.00 x 3 and 99.50 x 3: 6 there,
    # then the last 1 waits for a bid at a price it has not taken: 99.00 at 7 s (not 99.50 at 5 s).
    # Sell stop 99: no trade that low, no fill.
    assert rows(fills) == [(1, 2.0, 101.5, 3, "taker"), (2, 3.0, 100.0, 3, "taker"), (2, 3.0, 99.5, 3, "taker"),
                           (2, 7.0, 99.0, 1, "taker")]


def test_stop_on_trades_only_fills_at_the_next_trade():
    ticks = pd.DataFrame({"timestamp": [t(1), t(2), t(3), t(4)], "price": [100.0, 100.5, 101.0, 101.25],
                          "size": [1.0] * 4, "side": np.array([1, 1, 1, 1], np.int8)})
    # buy stop 100.75 triggers on the 101.00 trade (3 s) and fills at the next trade, 101.25 + 1 tick
    fills = simulate(orders((1, 0.5, 1, "stop", 100.75, 2)), ticks, slippage_ticks=1, tick_size=0.25)
    assert rows(fills) == [(1, 4.0, 101.5, 2, "taker")]


# --------------------------------------------------------------------------- errors


def test_a_source_without_the_data_a_mode_needs_is_one_clear_error():
    trades = pd.DataFrame({"timestamp": [t(1)], "price": [100.0], "size": [1.0], "side": np.array([1], np.int8)})
    with pytest.raises(OrderFlowError, match="trades only"):
        simulate(orders((1, 0, 1, "limit", 100.0, 1)), trades)
    quoted = trades.assign(bid=99.0, ask=100.0, bid_size=1.0, ask_size=1.0)
    with pytest.raises(OrderFlowError, match="fifo.*order ids"):
        simulate(orders((1, 0, 1, "limit", 100.0, 1)), quoted, queue="fifo")
    with pytest.raises(OrderFlowError, match="feed.*receive times"):
        simulate(orders((1, 0, 1, "market", np.nan, 1)), book(*LADDER), latency="feed")
    with pytest.raises(OrderFlowError, match="no sizes"):
        simulate(orders((1, 0, 1, "market", np.nan, 1)), trades.assign(bid=99.0, ask=100.0))


@pytest.mark.parametrize("change, message", [
    (dict(side=[2]), "column 'side', row 1: side must be"),
    (dict(type=["iceberg"]), "column 'type', row 1: type must be"),
    (dict(price=[100.0]), "column 'price', row 1: a market order has no price"),
    (dict(size=[0.0]), "column 'size', row 1: size must be"),
    (dict(cancel_time=[t(-1)]), "cancel_time is before"),
])
def test_bad_orders_name_the_column_and_row(change, message):
    frame = orders((1, 0, 1, "market", np.nan, 1)).assign(**change)
    with pytest.raises(OrderFlowError, match=message):
        simulate(frame, book(*LADDER))


def test_bad_options():
    order = orders((1, 0, 1, "market", np.nan, 1))
    with pytest.raises(OrderFlowError, match="queue must be"):
        simulate(order, book(*LADDER), queue="prob:x")
    with pytest.raises(OrderFlowError, match="latency must be"):
        simulate(order, book(*LADDER), latency="-1ms")
    with pytest.raises(OrderFlowError, match="missing \\['size'\\]"):
        simulate(order.drop(columns="size"), book(*LADDER))


def test_range_min_against_brute_force():
    rng = np.random.default_rng(5)
    for n in (1, 31, 32, 33, 700):
        values = rng.normal(size=n)
        rm = RangeMin(values)
        lo, hi = rng.integers(0, n, 300), rng.integers(0, n, 300)
        assert np.array_equal(rm.min(lo, hi), [values[a:b + 1].min() if a <= b else np.inf for a, b in zip(lo, hi)])
        start, th = rng.integers(0, n + 1, 300), rng.normal(size=300) - 1
        want = [next((j for j in range(s, n) if values[j] < x), n) for s, x in zip(start, th)]
        assert np.array_equal(rm.first_below(start, th), want)


# --------------------------------------------------------------------------- the real books

REAL = {
    "AMZN": "lobster/LOBSTER_SampleFile_AMZN_2012-06-21_1.zip",
    "GOOG": "lobster/LOBSTER_SampleFile_GOOG_2012-06-21_1.zip",
    "ES": "databento/esh4-glbx-mdp3-20231225.mbo.dbn.zst",
    "BTC": "binance_stream/usdm_btcusdt_20240808.gz",
}
UNIT = {"AMZN": 100.0, "GOOG": 100.0, "ES": 1.0, "BTC": 0.01}  # order sizes: 1 to 3 of these
_REPLAYS: dict[str, Replay] = {}


def real(name: str) -> Replay:
    if name not in _REPLAYS:
        _REPLAYS[name] = replay(need_shared() / "realdata" / REAL[name])
    return _REPLAYS[name]


def random_orders(name: str, n: int, seed: int, kinds=("market", "limit", "stop"), window: str | None = "60s"):
    """Orders at random times while the market trades: limits 0-3 ticks from the touch on their side (or
    marketable 1 tick through it), stops 0-2 ticks beyond the opposite touch."""
    rp = real(name)
    rng = np.random.default_rng(seed)
    traded = rp.time[rp.trades.seq]  # the span of the trades (an MBO file starts with a day-old snapshot)
    times = np.sort(rng.integers(traded[len(traded) // 50], traded[-1], n))
    state = np.searchsorted(rp.time, times, side="right") - 1
    side = rng.choice([1, -1], n)
    kind = rng.choice(list(kinds), n)
    bid, ask = rp.book.bid[state], rp.book.ask[state]
    tick = rp.tick_size
    away = rng.integers(-1, 4, n) * tick
    limit = np.where(side > 0, bid - away, ask + away)
    stop = np.where(side > 0, ask + rng.integers(0, 3, n) * tick, bid - rng.integers(0, 3, n) * tick)
    frame = pd.DataFrame({"id": np.arange(n), "time": pd.DatetimeIndex(times.view("M8[ns]")).tz_localize("UTC"),
                          "side": side, "type": kind,
                          "price": np.where(kind == "market", np.nan, np.where(kind == "limit", limit, stop)),
                          "size": rng.integers(1, 4, n) * UNIT[name]})
    if window is not None:
        frame["cancel_time"] = frame["time"] + pd.Timedelta(window)
    return frame


def models(rp: Replay) -> list[str]:
    return (["fifo"] if rp.queue is not None else []) + ["risk_averse", "prob:2"]


@pytest.mark.parametrize("name", list(REAL))
def test_real_passive_fills_never_exceed_the_volume_traded_at_or_through_the_price(name):
    rp = real(name)
    frame = random_orders(name, 600, seed=1, kinds=("limit",))
    tr = rp.trades
    trade_time = rp.time[tr.seq]
    for queue in models(rp):
        fills = simulate(frame, rp, queue=queue, latency="1ms")
        maker = fills[fills["liquidity"] == "maker"]
        assert maker["id"].nunique() > 20, queue
        for oid, got in maker.groupby("id"):
            o = frame.loc[oid]
            arrive = (o["time"] + pd.Timedelta("1ms")).value
            stamps = got["time"].to_numpy().view(np.int64) if got["time"].dt.tz is None else \
                got["time"].dt.tz_convert(None).to_numpy().view(np.int64)
            after = (trade_time > arrive) & (trade_time <= stamps.max())
            at = np.abs(tr.price - o["price"]) < 1e-9
            through = tr.price < o["price"] - 1e-9 if o["side"] > 0 else tr.price > o["price"] + 1e-9
            assert got["size"].sum() <= tr.size[after & (at | through)].sum() + 1e-9, (queue, oid)
            # the fills before the first print through the price are volume traded at the price itself
            first_through = trade_time[after & through].min() if (after & through).any() else np.iinfo(np.int64).max
            early = got["size"].to_numpy()[stamps < first_through].sum()
            assert early <= tr.size[after & at].sum() + 1e-9, (queue, oid)
            assert got["size"].sum() <= o["size"] + 1e-9


@pytest.mark.parametrize("name", list(REAL))
def test_real_no_fill_before_arrival(name):
    rp = real(name)
    frame = random_orders(name, 800, seed=2)
    for latency in (None, "1ms", "50ms"):
        fills = simulate(frame, rp, latency=latency, queue=models(rp)[0])
        arrive = frame.set_index("id")["time"] + pd.Timedelta(latency or 0)
        assert len(fills) > 100
        assert (fills["time"].to_numpy() >= arrive.loc[fills["id"]].to_numpy()).all()
        taker = fills["liquidity"] == "taker"
        market = frame.set_index("id").loc[fills["id"], "type"].to_numpy() == "market"
        # a market order's first fills are at its arrival (the book in force), the rest later
        first = fills[taker & market].groupby("id")["time"].min()
        assert (first.to_numpy() == arrive.loc[first.index].to_numpy()).mean() > 0.95


@pytest.mark.parametrize("name", list(REAL))
def test_real_later_latency_never_fills_market_orders_better_on_average(name):
    """Market orders sent at the time of a trade, on its side (a strategy reacting to aggression):
    the book moves the way the trade went, so a later arrival pays more on average."""
    rp = real(name)
    tr = rp.trades
    pick = np.flatnonzero(tr.side != 0)[::3][:3000]
    frame = pd.DataFrame({"id": np.arange(len(pick)),
                          "time": pd.DatetimeIndex(rp.time[tr.seq[pick]].view("M8[ns]")).tz_localize("UTC"),
                          "side": tr.side[pick].astype(int), "type": "market", "price": np.nan, "size": 1.0})

    def cost(latency) -> float:
        fills = simulate(frame, rp, latency=latency)
        paid = (fills["price"] * fills["size"]).groupby(fills["id"]).sum() / fills.groupby("id")["size"].sum()
        return float((paid * frame.set_index("id").loc[paid.index, "side"]).mean())

    at_once = cost(None)
    for latency in ("1ms", "10ms", "100ms"):
        assert cost(latency) >= at_once, latency


@pytest.mark.parametrize("name", ["AMZN", "GOOG"])
def test_real_fifo_and_risk_averse_agree_when_nobody_cancels(name):
    """Orders joining the touch on the LOBSTER day whose level sees no cancel (and no hidden execution,
    which fifo puts behind the order and risk_averse counts as passing it) while they live: the volume
    ahead can only trade away, so both models give the same fills. LOBSTER's level-1 file holds only
    the messages that touch the best prices, so the level must also stay at the touch (or be swept)
    all along: behind it, cancels happen unseen (fifo still sees their effect, by the order ids)."""
    from data.reading.readers.lobster import read_lobster_messages
    from execution.replay import level_key

    rp = real(name)
    msg = read_lobster_messages(need_shared() / "realdata" / REAL[name])
    frame = random_orders(name, 3000, seed=3, kinds=("limit",), window="20s")
    sent = pd.DatetimeIndex(frame["time"]).asi8
    state = np.searchsorted(rp.time, sent, side="right") - 1
    touch = np.where(frame["side"] > 0, rp.book.bid[state], rp.book.ask[state])
    frame, sent = frame[np.isclose(frame["price"], touch)], sent[np.isclose(frame["price"], touch)]
    noisy = msg[np.isin(msg["type"], (2, 3, 5))]  # partial cancels, deletes, hidden executions
    keys = np.concatenate([level_key(noisy["direction"].to_numpy(), noisy["price"].to_numpy()),
                           level_key(frame["side"].to_numpy(), frame["price"].to_numpy())])
    group, _ = pd.factorize(keys)
    start = int(rp.time[0])
    span = np.int64(1) << np.int64(46)  # more than a day of nanoseconds
    stamp = group[: len(noisy)] * span + (pd.DatetimeIndex(noisy["timestamp"]).asi8 - start)
    stamp.sort()
    mine = group[len(noisy):] * span
    lo = np.searchsorted(stamp, mine + (sent - start), side="right")
    hi = np.searchsorted(stamp, mine + (pd.DatetimeIndex(frame["cancel_time"]).asi8 - start), side="right")
    book = rp.book
    last = np.searchsorted(rp.time, pd.DatetimeIndex(frame["cancel_time"]).asi8, side="right") - 1
    first = np.searchsorted(rp.time, sent, side="right")
    buy = frame["side"].to_numpy() > 0
    highest_bid = -book.best_min(1, above=True).min(first, last)
    lowest_ask = book.best_min(-1, above=False).min(first, last)
    at_touch = np.where(buy, highest_bid <= frame["price"] + 1e-9, lowest_ask >= frame["price"] - 1e-9)
    frame = frame[(lo == hi) & at_touch]
    assert len(frame) > 50
    fifo = simulate(frame, rp, queue="fifo")
    averse = simulate(frame, rp, queue="risk_averse")
    assert (fifo["liquidity"] == "maker").sum() > 10
    pd.testing.assert_frame_equal(fifo, averse)


def test_real_mbo_feed_latency_is_the_feeds_own_delay():
    rp = real("ES")
    frame = random_orders("ES", 300, seed=4, kinds=("market",), window=None)
    fills = simulate(frame, rp, latency="feed")
    first = fills.groupby("id")["time"].min()
    delay = (first - frame.set_index("id").loc[first.index, "time"]).dt.total_seconds()
    # ts_recv - ts_event on this file: about 80 to 140 microseconds on live records
    assert delay.between(5e-5, 5e-3).mean() > 0.95


def test_docs_example_runs_as_written(tmp_path):
    import os
    import subprocess
    import sys

    from tests.conftest import REPO
    from tools.readme import block_file

    folder = need_shared() / "realdata" / "lobster"
    text = block_file("execution-example").read_text()
    block = text.split("<!-- execution-example:start -->", 1)[1].split("<!-- execution-example:end -->", 1)[0]
    script = tmp_path / "example.py"
    script.write_text(block.split("```python", 1)[1].rsplit("```", 1)[0])
    done = subprocess.run([sys.executable, str(script)], cwd=folder, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    # the market buy takes the 224.35 offer at arrival; the sell at 224.40 rests and fills by priority later
    assert "224.35  100.0     taker" in done.stdout and "maker" in done.stdout


def test_stop_limit_triggers_then_rests_as_a_limit():
    events = book(*LADDER, (2, "fill", 3, -1, 101.0, 1),   # a buyer lifts 1 of the 4 at 101.00
                  (3, "add", 6, -1, 101.25, 3),              # a new offer between 101.00 and 101.50
                  (4, "fill", 3, -1, 101.0, 3),              # 101.00 is gone: the best offer is 101.25
                  (5, "add", 7, 1, 100.5, 2),                # a bid joins at 100.50: 2 ahead of nobody
                  (6, "fill", 7, 1, 100.5, 2))               # a seller hits 100.50 for 2
    frame = orders((1, 1, 1, "stop_limit", 101.0, 6), (2, 1, 1, "stop_limit", 101.0, 5)).assign(limit=[101.25, 100.5])
    fills = simulate(frame, events)
    # both trigger on the 101.00 trade at 2 s. Order 1, limit 101.25: the book after the trigger offers 101.00 x 3,
    # 3 taken there at 2 s; the other 3 rest at 101.25 (nobody bids there). At 3 s 101.25 is offered (the replay
    # does not cross it with ours); at 4 s a BUYER takes the 3 lots at 101.00: below 101.25 but on the other side
    # (the lots order 1 already took), so no fill. At 6 s a SELLER hits 100.50, through 101.25: 2 of its 3 rest.
    # Order 2, limit 100.50: not marketable (best offer 101.00) and rests with nothing ahead; at 5 s a bid of 2
    # joins behind it, at 6 s the seller's 2 at 100.50 go to order 2 (each order is simulated alone).
    assert rows(fills) == [(1, 2.0, 101.0, 3, "taker"), (1, 6.0, 101.25, 2, "maker"), (2, 6.0, 100.5, 2, "maker")]
    with pytest.raises(OrderFlowError, match="column 'limit', row 1: a stop_limit order needs"):
        simulate(orders((1, 1, 1, "stop_limit", 101.0, 6)), events)


def test_through_fills_only_from_trades_through_the_price():
    trades = pd.DataFrame({"timestamp": [t(1), t(2), t(3), t(4), t(5)], "price": [100.0, 99.5, 99.0, 98.5, 98.0],
                           "size": [1.0, 2.0, 1.0, 1.0, 5.0], "side": np.array([-1] * 5, np.int8)})
    frame = orders((1, 0.5, 1, "limit", 99.0, 3), (2, 0.5, 1, "limit", 100.5, 2))
    fills = simulate(frame, trades, queue="through", slippage_ticks=2, tick_size=0.25)
    # order 1 (buy 99.00): the first trade after it, 100.00, is above its price: it rests. 99.50 is not through
    # it, 99.00 is at it (no fill: "through" counts only trades through the price); 98.50 (1 lot) at 4 s and
    # 98.00 (5) at 5 s are through it: 1, then the last 2, at 99.00.
    # order 2 (buy 100.50): the first trade, 100.00, is at a better price: it takes it whole, 2 ticks worse = 100.50
    assert rows(fills) == [(2, 1.0, 100.5, 2, "taker"), (1, 4.0, 99.0, 1, "maker"), (1, 5.0, 99.0, 2, "maker")]


# --------------------------------------------------------------------------- trailing stops

TRAIL_TRADES = pd.DataFrame({"timestamp": [t(s) for s in range(1, 9)],
                             "price": [100.0, 100.5, 101.0, 100.75, 101.5, 100.5, 100.25, 100.0],
                             "size": [1.0] * 8, "side": np.array([1] * 8, np.int8)})


def test_trailing_stop_follows_the_best_trade_since_arrival_then_fills_as_a_stop():
    frame = orders((1, 0.5, -1, "trail", np.nan, 2), (2, 0.5, -1, "trail", 100.5, 1), (3, 0.5, -1, "trail", np.nan, 1),
                   (4, 2.5, 1, "trail", np.nan, 1), (5, 0.5, -1, "trail", np.nan, 1),
                   cancel=[None, None, None, None, 5.5])
    frame["trail_amount"] = [0.75, 0.75, np.nan, 0.5, 0.75]
    frame["trail_percent"] = [np.nan, np.nan, 0.01, np.nan, np.nan]
    fills = simulate(frame, TRAIL_TRADES)
    # 1: sell, 0.75 under the highest trade: 99.25, 99.75, 100.25 (after 101.00); 100.75 is above it; 100.75 after
    #    101.50; the 100.50 trade (6 s) is at or below it: triggered; on trades only it fills at the next trade,
    #    100.25 at 7 s.
    # 2: its initial stop 100.50: the first trade, 100.00, is below it: triggered at 1 s, fills at 100.50 (2 s).
    # 3: 1 % under the highest: 99.00, 99.495, 99.99, then 100.485 after 101.50; 100.50 (6 s) is above it, 100.25
    #    (7 s) below: fills at 100.00 (8 s).
    # 4: buy, arrives at 2.5 s: 0.5 over the lowest trade since: 101.50 (after 101.00), 101.25 (after 100.75); the
    #    101.50 trade at 5 s is at or above it: fills at 100.50 (6 s).
    # 5: as 1 but cancelled at 5.5 s, before its trigger: nothing.
    assert rows(fills) == [(2, 2.0, 100.5, 1, "taker"), (4, 6.0, 100.5, 1, "taker"), (1, 7.0, 100.25, 2, "taker"),
                           (3, 8.0, 100.0, 1, "taker")]


def test_trailing_stop_scans_long_runs_of_trades():
    # 5,000 rising trades then a fall: the stop is found past the first chunks of the scan
    n = 5_000
    price = np.concatenate([100.0 + 0.25 * np.arange(n), [100.0 + 0.25 * (n - 1) - 1.0, 50.0]])
    trades = pd.DataFrame({"timestamp": [t(0.001 * (i + 1)) for i in range(n + 2)], "price": price,
                           "size": [1.0] * (n + 2), "side": np.array([1] * (n + 2), np.int8)})
    frame = orders((1, 0, -1, "trail", np.nan, 1)).assign(trail_amount=1.0)
    # the highest trade is the last of the rise, 100 + 0.25 x 4,999 = 1,349.75; the stop 1,348.75; the next trade
    # is exactly there: triggered, filled at the last trade (50.00)
    assert rows(simulate(frame, trades)) == [(1, 0.001 * (n + 2), 50.0, 1, "taker")]


def test_trailing_stop_limit_keeps_its_limit_at_the_same_distance_from_the_stop():
    events = book(*LADDER,
                  (2, "fill", 3, -1, 101.0, 4),     # a buyer takes the 101.00 offer: a trade at 101.00
                  (3, "fill", 4, -1, 101.5, 2),     # and the 101.50 offer: a trade at 101.50
                  (4, "fill", 1, 1, 100.0, 1),      # a seller hits 100.00 for 1: 4 bid there
                  (5, "add", 8, -1, 100.25, 2),     # an offer joins at 100.25 (after ours)
                  (6, "fill", 8, -1, 100.25, 2))    # a buyer takes it: a trade at 100.25
    frame = orders((1, 1, -1, "trail", np.nan, 3), (2, 1, -1, "trail_limit", np.nan, 3))
    frame["trail_amount"] = 1.0
    frame["limit_offset"] = [np.nan, -0.25]
    fills = simulate(frame, events)
    # the stop: 100.00 after the 101.00 trade, 100.50 after 101.50; the 100.00 trade at 4 s triggers both.
    # 1 (trail): sells 3 into the 100.00 bid (4 there after the trade).
    # 2 (trail_limit): its limit is 0.25 under the stop at the trigger, 100.25 (not 100.00 - 0.25 = 99.75, where the
    #    first stop put it): above the 100.00 bid, it rests at 100.25 with nobody ahead; the buyer of 2 at 6 s fills 2.
    assert rows(fills) == [(1, 4.0, 100.0, 3, "taker"), (2, 6.0, 100.25, 2, "maker")]


@pytest.mark.parametrize("change, message", [
    (dict(trail_amount=[np.nan]), "column 'trail_amount', row 1: a trail order needs trail_amount > 0"),
    (dict(trail_amount=[-1.0]), "column 'trail_amount', row 1: a trail order needs"),
    (dict(trail_amount=[np.nan], trail_percent=[1.5]), "column 'trail_percent', row 1: trail_percent is a fraction"),
])
def test_bad_trailing_stops_name_the_column_and_row(change, message):
    frame = orders((1, 0, -1, "trail", np.nan, 1)).assign(trail_amount=1.0).assign(**change)
    with pytest.raises(OrderFlowError, match=message):
        simulate(frame, TRAIL_TRADES)
    with pytest.raises(OrderFlowError, match="column 'limit_offset', row 1: a trail_limit order needs"):
        simulate(orders((1, 0, -1, "trail_limit", np.nan, 1)).assign(trail_amount=1.0), book(*LADDER))


# --------------------------------------------------------------------------- arrival given per order


def test_an_arrival_column_replaces_time_plus_latency():
    events = book(*LADDER, (1.5, "cancel", 3, -1, 101.0, 4))  # the 101.00 offer leaves at 1.5 s
    frame = orders((1, 1, 1, "market", np.nan, 5), (2, 1, 1, "market", np.nan, 5)).assign(arrival=[t(2), pd.NaT])
    # order 1 arrives at 2 s as its column says (after the cancel): 2 at 101.50, 3 at 102.00; order 2 has no
    # arrival: sent at 1 s plus the latency, 0.25 s: 4 at 101.00, 1 at 101.50
    assert rows(simulate(frame, events, latency="250ms")) == [
        (2, 1.25, 101.0, 4, "taker"), (2, 1.25, 101.5, 1, "taker"), (1, 2.0, 101.5, 2, "taker"),
        (1, 2.0, 102.0, 3, "taker")]
    with pytest.raises(OrderFlowError, match="column 'arrival', row 1: arrival is before the order's time"):
        simulate(frame.assign(arrival=[t(0.5), pd.NaT]), events)
    # a cancel that arrives before the order (sent at 1.2 s + 0.25 s, the order at 2 s): nothing fills; one that
    # arrives with it (1.75 s + 0.25 s) lets what is there at arrival fill, as a fill at a cancel's arrival stands
    cancelled = frame.assign(cancel_time=[t(1.2), pd.NaT])
    assert rows(simulate(cancelled, events, latency="250ms")) == [(2, 1.25, 101.0, 4, "taker"),
                                                                   (2, 1.25, 101.5, 1, "taker")]
    together = frame.assign(cancel_time=[t(1.75), pd.NaT])
    assert [r[0] for r in rows(simulate(together, events, latency="250ms"))] == [2, 2, 1, 1]


@pytest.mark.parametrize("queue", ["risk_averse", "prob:2"])
def test_queue_fills_are_exact_and_do_not_depend_on_the_events_before_the_order(queue):
    """Worked by hand: one quote (bid 100.0 x 0.3, ask 101.0 x 1); a buy limit of 0.5 at 100.0 sent at
    second 10 has 0.3 ahead; sells of 0.1, 0.1, 0.2, 0.3, 0.1 at 100.0 then trade 0.1, 0.2, 0.4, 0.7, 0.8
    there: filled clip(traded - 0.3, 0, 0.5) = 0, 0, 0.1, 0.4, 0.5, so fills of exactly 0.1, 0.3 and 0.1
    (the float literals, no rounding). The same with 1,000 trades of 0.1 at 99.0 before the order (whose
    running sum a float would round): the fills do not change in a single bit."""
    quote = pd.DataFrame({"timestamp": [t(0)], "bid": [100.0], "ask": [101.0], "bid_size": [0.3], "ask_size": [1.0]})
    after = pd.DataFrame({"timestamp": [t(11 + k) for k in range(5)], "price": 100.0,
                          "size": [0.1, 0.1, 0.2, 0.3, 0.1], "side": -1})
    before = pd.DataFrame({"timestamp": [t(1 + k / 1000) for k in range(1000)], "price": 99.0, "size": 0.1, "side": -1})
    order = orders((1, 10, 1, "limit", 100.0, 0.5))
    want = [(1, 13.0, 100.0, 0.1, "maker"), (1, 14.0, 100.0, 0.3, "maker"), (1, 15.0, 100.0, 0.1, "maker")]
    for ticks in (after, pd.concat([before, after], ignore_index=True)):
        fills = simulate(order, Replay.from_ticks(ticks, quote), queue=queue)
        assert [(f.id, (f.time - T0).total_seconds(), f.price, f.size, f.liquidity) for f in fills.itertuples()] == want
        assert fills["ahead"].tolist() == [0.3] * 3


def test_size_units_keep_tiny_sizes():
    from execution.replay import size_scale

    assert size_scale(np.array([1.0, 2.0, 5e-7])) == 1e7  # 5e-7 is not 0 units of 1
    assert size_scale(np.array([0.1 + 0.2, 1.0])) == 10.0  # float rounding of a tenth is still a tenth
    assert size_scale(np.array([1e-8, 3.0])) == 1e8 and size_scale(np.array([2.0 ** 60])) is None
    # the bid shows 5e-7 at 100.00 when a buy limit of 1e-6 arrives there (1.5 s): the sale of 5e-7 at 2 s takes
    # what is ahead, the next of 5e-7 at 3 s fills half of it, the sale of 2 at 4 s the rest
    quotes = pd.DataFrame({"timestamp": [t(0), t(1.2)], "bid": [100.0, 100.0], "ask": [101.0, 101.0],
                           "bid_size": [1.0, 5e-7], "ask_size": [1.0, 1.0]})
    trades = pd.DataFrame({"timestamp": [t(1), t(2), t(3), t(4)], "price": 100.0, "size": [1.0, 5e-7, 5e-7, 2.0],
                           "side": -1})
    fills = simulate(orders((1, 1.5, 1, "limit", 100.0, 1e-6)), Replay.from_ticks(trades, quotes), queue="risk_averse")
    assert [((f.time - T0).total_seconds(), f.size) for f in fills.itertuples()] == [(3.0, 5e-7), (4.0, 5e-7)]


def test_the_refusals_of_fifo_and_feed_latency_are_one_message_for_a_file_and_a_live_stream():
    """A source without order ids (a tick frame with its quotes) and a live stream refuse ``fifo`` with the same
    words, naming the source; likewise ``latency="feed"`` without receive times."""
    from execution.simulate import no_order_ids, no_receive_times

    quoted = pd.DataFrame({"timestamp": [t(1)], "price": [100.0], "size": [1.0], "side": np.array([1], np.int8),
                           "bid": 99.0, "ask": 100.0, "bid_size": 1.0, "ask_size": 1.0})
    with pytest.raises(OrderFlowError) as fifo:
        simulate(orders((1, 0, 1, "limit", 100.0, 1)), quoted, queue="fifo")
    assert str(fifo.value) == str(no_order_ids("<ticks>")) == (
        "queue fifo needs order ids (Databento MBO, LOBSTER): <ticks> has none; use risk_averse or prob:N")
    with pytest.raises(OrderFlowError) as feed:
        simulate(orders((1, 0, 1, "market", np.nan, 1)), quoted, latency="feed")
    assert str(feed.value) == str(no_receive_times("<ticks>"))
    assert str(no_receive_times("a live Binance stream")).startswith("latency feed needs the feed's receive times")
