"""Fills from a tape (execution.tape): a source read by day gives the same fills as the whole source."""
from __future__ import annotations

from dataclasses import replace

import backtrader as bt
import numpy as np
import pandas as pd
import pytest

from data import OrderFlowError, load_ticks
from data.options import LoadOptions
from data.store.dataset import TickStore
from execution import FileTape, Replay, simulate
from execution.tape import fill_source
from research import RunConfig, run

DAYS = ["2024-03-04", "2024-03-05", "2024-03-06", "2024-03-08", "2024-03-11"]  # gaps: the 7th, a weekend


def _day_ticks(day: str, rng: np.random.Generator, start: float, n: int = 240) -> pd.DataFrame:
    """Ticks of one day on a 0.25 grid, integer sizes, with the quote in force at each trade."""
    t0 = pd.Timestamp(day, tz="UTC") + pd.Timedelta("1h")
    gaps = rng.integers(1, 300, n).cumsum()
    times = t0 + pd.to_timedelta(gaps, unit="s")
    mid = start + 0.25 * rng.integers(-2, 3, n).cumsum()
    side = rng.choice([1, -1, 0], n, p=[0.45, 0.45, 0.1]).astype(np.int8)
    bid = mid - 0.25 * rng.integers(0, 2, n)
    ask = bid + 0.25 * rng.integers(1, 3, n)
    price = np.where(side > 0, ask, np.where(side < 0, bid, bid))
    return pd.DataFrame({"timestamp": times, "price": price, "size": rng.integers(1, 6, n).astype(float),
                         "side": side, "bid": bid, "ask": ask,
                         "bid_size": rng.integers(1, 20, n).astype(float),
                         "ask_size": rng.integers(1, 20, n).astype(float)})


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> tuple:
    rng = np.random.default_rng(7)
    out = tmp_path_factory.mktemp("days")
    frames, level = [], 100.0
    for day in DAYS:
        frame = _day_ticks(day, rng, level)
        level = float(frame["price"].iloc[-1])
        frame.to_parquet(out / f"ticks_{day}.parquet", index=False)
        frames.append(frame)
    whole = load_ticks(pd.concat(frames, ignore_index=True))
    store = tmp_path_factory.mktemp("store") / "ticks"
    TickStore.create(store).import_sources([out], symbol="ES", progress=False)
    return out, whole, store


def _orders(whole: pd.DataFrame, rng: np.random.Generator, n: int = 120) -> pd.DataFrame:
    t = pd.DatetimeIndex(whole["timestamp"]).asi8
    ns = (t[0] + (t[-1] - t[0]) * np.sort(rng.random(n))).astype(np.int64)
    times = pd.DatetimeIndex(ns).tz_localize("UTC")
    near = whole["price"].to_numpy()[np.searchsorted(t, ns).clip(0, len(t) - 1)]
    side = rng.choice([1, -1], n)
    kind = rng.choice(["market", "limit", "stop", "stop_limit", "trail", "trail_limit"], n)
    away = 0.25 * rng.integers(0, 12, n)
    price = np.where(kind == "limit", near - side * away, near + side * away)
    price = np.where((kind == "market") | ((kind == "trail") & (rng.random(n) < 0.5)), np.nan, price)
    limit = np.where(kind == "stop_limit", price + side * 0.5, np.nan)
    trail = np.where(np.char.startswith(kind.astype(str), "trail"), 0.25 * rng.integers(1, 8, n), np.nan)
    offset = np.where(kind == "trail_limit", side * 0.25, np.nan)
    cancel = pd.Series(times + pd.to_timedelta(rng.integers(60, 4 * 86_400, n), unit="s"))
    cancel[rng.random(n) < 0.5] = pd.NaT
    # a third arrive later than sent (up to two days: some on another day than the one they were sent)
    arrival = pd.Series(times + pd.to_timedelta(rng.integers(0, 2 * 86_400, n), unit="s"))
    arrival[rng.random(n) < 2 / 3] = pd.NaT
    cancel = cancel.where(cancel.isna() | arrival.isna() | (cancel > arrival), arrival)
    return pd.DataFrame({"id": np.arange(n), "time": times, "side": side, "type": kind, "price": price,
                         "size": rng.integers(1, 30, n).astype(float), "limit": limit, "trail_amount": trail,
                         "limit_offset": offset, "cancel_time": cancel, "arrival": arrival})


@pytest.mark.parametrize("book,queue,kind", [(False, "through", "folder"), (True, "risk_averse", "folder"),
                                             (True, "prob:2", "folder"), (True, "through", "folder"),
                                             (True, "risk_averse", "store"), (False, "through", "store"),
                                             (True, "risk_averse", "quotes")])
def test_windowed_fills_equal_the_whole_source(folder, book, queue, kind):
    """Random orders of every type (some cancelled, some open for days) on five days with gaps: the
    fills from the tape, read by day, are those on the whole source, exactly."""
    path, whole, store = folder
    path = store if kind == "store" else path
    quotes = None
    if kind == "quotes":  # a quote stream of its own: each tick's quote half a second before it, and again after
        q = whole[["timestamp", "bid", "ask", "bid_size", "ask_size"]]
        quotes = pd.concat([q.assign(timestamp=q["timestamp"] - pd.Timedelta("500ms")),
                            q.assign(timestamp=q["timestamp"] + pd.Timedelta("2s"), bid_size=q["bid_size"] + 1)])
        quotes = quotes.sort_values("timestamp", kind="stable").reset_index(drop=True)
    orders = _orders(whole, np.random.default_rng(11))
    expected = simulate(orders, Replay.from_ticks(whole, quotes, book=book), queue=queue, latency="1s",
                        slippage_ticks=1, tick_size=0.25)
    tape = FileTape(path, book=book, tick_size=0.25, quotes=quotes)
    got = simulate(orders, tape, queue=queue, latency="1s", slippage_ticks=1)
    assert len(expected) > 40 and set(expected["liquidity"]) == {"maker", "taker"} or not book
    pd.testing.assert_frame_equal(got, expected)
    assert tape.end_ns == int(whole["timestamp"].iloc[-1].value) + 1  # read to the end (orders open to the end)


def test_a_tape_holds_only_the_days_of_its_window(folder):
    path, whole, _ = folder
    tape = FileTape(path, book=True)
    assert tape.tick_size == 0.25  # from its first prices
    day = pd.Timestamp("2024-03-08", tz="UTC").value
    rp = tape.window(day, day + 86_400 * 10**9)
    assert sorted(tape._days) == [day // 86_400 // 10**9]  # the day asked for; the days before it are let go
    on_day = whole[(whole["timestamp"] >= "2024-03-08") & (whole["timestamp"] < "2024-03-09")]
    # the window's first tick is the last of the 6th (the book in force at the start), then the 8th's
    assert rp.time[0] == whole[whole["timestamp"] < "2024-03-07"]["timestamp"].iloc[-1].value
    assert len(rp.trades.seq) == len(on_day) + 1
    assert rp.book.bid[rp.trades.seq[0]] == whole[whole["timestamp"] < "2024-03-07"]["bid"].iloc[-1]
    # a window before the days held reads again from a few days before it
    early = tape.window(pd.Timestamp("2024-03-05", tz="UTC").value, pd.Timestamp("2024-03-05 03:00", tz="UTC").value)
    assert early.time[0] == whole[whole["timestamp"] < "2024-03-05"]["timestamp"].iloc[-1].value


def test_fill_source_is_a_tape_for_a_folder_and_refuses_a_book_it_lacks(folder, tmp_path):
    path, whole, _ = folder
    assert isinstance(fill_source(path, "trades"), FileTape)
    whole[["timestamp", "price", "size", "side"]].to_parquet(tmp_path / "a.parquet", index=False)
    with pytest.raises(OrderFlowError, match="--fills book needs quotes"):
        fill_source(tmp_path, "book")


def test_fill_source_reads_with_the_run_options(tmp_path):
    """--columns, --drop-bad-rows and --tz apply to the fills' ticks as to the bars'."""
    path = tmp_path / "renamed.csv"
    path.write_text("When,Last,Qty,Side\n2024-03-04 10:00:00,100.0,2,1\n2024-03-04 10:00:05,oops,1,1\n"
                    "2024-03-04 10:00:09,100.5,3,-1\n")
    options = LoadOptions(columns={"When": "timestamp", "Last": "price", "Qty": "size", "Side": "side"},
                          on_bad_rows="drop", tz="America/New_York")
    rp = fill_source(path, "trades", options=options)
    assert rp.trades.price.tolist() == [100.0, 100.5]
    assert rp.time[0] == pd.Timestamp("2024-03-04 15:00", tz="UTC").value  # 10:00 New York
    with pytest.raises(OrderFlowError):
        fill_source(path, "trades")  # read as today: no time column known, a bad price


class StoppedBracket(bt.Strategy):
    """On the first bar: a market buy of 1 with a stop 1.00 under the close and a target 100.00 above it."""

    def __init__(self) -> None:
        self.placed: list[bt.Order] = []

    def next(self) -> None:
        if len(self) == 1:
            close = self.data.close[0]
            self.placed = self.buy_bracket(size=1, exectype=bt.Order.Market, stopprice=close - 1.0,
                                           limitprice=close + 100.0)


def test_a_bracket_stopped_out_holds_only_the_days_of_its_life(folder):
    """The stop of a bracket fills on its first day and Backtrader cancels the target then: the tape of the
    folder holds that one day, not every day to the end of the data (where the target, simulated without
    its cancel, would still be waiting)."""
    path, _, _ = folder
    result = run(RunConfig(data=path, strategy=StoppedBracket, bars="30min", fills="book"))
    parent, stop, target = result.strategy.placed
    day = [f"{bt.num2date(b.dt):%Y-%m-%d}" for o in (parent, stop) for b in o.executed.exbits]
    assert set(day) == {"2024-03-04"} and stop.status == bt.Order.Completed
    assert target.status == bt.Order.Canceled and not target.executed.exbits
    tape = result.cerebro.broker.p.replay
    assert isinstance(tape, FileTape) and tape.peak_days == 1  # was 5: every day from the 4th to the 11th


class Working(bt.Strategy):
    """Every 5th bar, in turn: a buy bracket (market entry, stop and target a few points away, some working
    into the next day), a buy limit under the close cancelled 7 bars later, a buy limit further under it
    left working (for days, as the market rises), a sell bracket."""

    def __init__(self) -> None:
        self.cancel_at: dict[int, bt.Order] = {}
        self.cancelled = 0

    def notify_order(self, order: bt.Order) -> None:
        self.cancelled += order.status == bt.Order.Canceled

    def next(self) -> None:
        n, close = len(self), self.data.close[0]
        if n in self.cancel_at:
            self.cancel(self.cancel_at.pop(n))
        if n % 5:
            return
        turn = (n // 5) % 4
        if turn == 0:
            self.buy_bracket(size=2, exectype=bt.Order.Market, stopprice=close - 1.5, limitprice=close + 3.0)
        elif turn == 1:
            self.cancel_at[n + 7] = self.buy(exectype=bt.Order.Limit, price=close - 0.5, size=3)
        elif turn == 2:
            self.buy(exectype=bt.Order.Limit, price=close - 3.0, size=1)
        else:
            self.sell_bracket(size=1, exectype=bt.Order.Market, stopprice=close + 2.0, limitprice=close - 6.0)


def test_a_backtest_on_the_folder_fills_as_on_the_whole_source(folder):
    """Brackets, cancels and limit orders over five days: the fills of a backtest whose tape reads the folder
    by day (orders simulated again, a horizon twice as far each time, while they work) are those of the same
    ticks replayed whole, exactly: every transaction and the trades list."""
    path, whole, _ = folder
    config = RunConfig(data=path, strategy=Working, bars="30min", fills="book", latency="1s")
    on_tape = run(config)
    on_whole = run(replace(config, data=whole))
    broker = on_tape.cerebro.broker
    assert isinstance(broker.p.replay, FileTape) and isinstance(on_whole.cerebro.broker.p.replay, Replay)
    assert on_whole.cerebro.broker.resimulated == 0  # the whole source: each order simulated once
    assert broker.resimulated >= 5  # orders working past their first horizon
    assert on_tape.metrics["fills"] >= 20 and len(on_tape.trades) >= 3 and on_tape.strategy.cancelled >= 10
    assert _fills(on_tape) == _fills(on_whole)
    pd.testing.assert_frame_equal(on_tape.trades, on_whole.trades, check_exact=True)
    pd.testing.assert_frame_equal(on_tape.equity, on_whole.equity, check_exact=True)


def _fills(result) -> list[tuple]:
    """Every transaction: (bar, size, price, value), without the feed's name (the folder's, or "DataFrame")."""
    return [(when, size, price, value) for when, rows in result.analyzers["transactions"].items()
            for size, price, _, _, value in rows]


def test_a_folder_infers_the_tick_of_its_first_prices_as_the_whole_source(tmp_path):
    """Day 1 trades only on a 0.5 grid (100.0, 100.5, 101.0), day 2 on 0.25 (100.25, ...): over the first prices
    of the source the tick is 0.25, on the folder as on the same ticks as one frame. A market buy on day 2
    with 1 tick of slippage fills at the next trade, 100.75, plus 0.25: 101.0 on both (the first day alone
    said 0.5: 101.25)."""
    days = {"2024-03-04": [100.0, 100.5, 101.0], "2024-03-05": [100.25, 100.5, 100.75, 101.0]}
    frames = []
    for day, prices in days.items():
        times = pd.Timestamp(day, tz="UTC") + pd.Timedelta("1h") + pd.to_timedelta(np.arange(len(prices)), unit="min")
        frame = pd.DataFrame({"timestamp": times, "price": prices, "size": 1.0, "side": np.int8(1)})
        frame.to_parquet(tmp_path / f"ticks_{day}.parquet", index=False)
        frames.append(frame)
    whole = fill_source(load_ticks(pd.concat(frames, ignore_index=True)), "trades")
    tape = fill_source(tmp_path, "trades")
    assert isinstance(tape, FileTape) and tape.tick_size == whole.tick_size == 0.25
    orders = pd.DataFrame({"id": [1], "time": [pd.Timestamp("2024-03-05 01:01:30", tz="UTC")], "side": [1],
                           "type": ["market"], "price": [np.nan], "size": [1.0]})
    want = simulate(orders, whole, queue="through", slippage_ticks=1)
    got = simulate(orders, tape, queue="through", slippage_ticks=1)
    assert want["price"].tolist() == [101.0]
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    # an --end before day 2 stops the fills there, not the source's first prices (one file is replayed whole,
    # whatever the window): still 0.25
    assert fill_source(tmp_path, "trades", options=LoadOptions(end="2024-03-04 12:00")).tick_size == 0.25
