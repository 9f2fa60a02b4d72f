"""Depth lines from every update of a quote stream: make_bars(quotes=),
the feed, the streamed path, the multi-level imbalance and its indicator, the engine's --quotes.

The hand example: five quote states between and at four trades (seconds after 14:30:00 UTC)::

    state  time  bid x size    ask x size   OFI event e_n (against the state before)
    q0     0.5   100.0 x 5     101 x 7      0 (first)
    q1     1.5   100.0 x 8     101 x 6      bid same +3, ask same -(6-7) = +1  ->  +4
    q2     2.5   100.5 x 3     101 x 6      bid up   +3, ask same  0           ->  +3
    q3     3.5   100.5 x 3     101 x 2      bid same  0, ask same -(2-6) = +4  ->  +4
    q4     5.5   100.0 x 9     100.5 x 4    bid down -3, ask down -4           ->  -7

Trades at 1, 3, 4 and 6 s; each carries the last state strictly before it (q0, q2, q3, q4).
"""
from __future__ import annotations

import backtrader as bt
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data import OrderFlowError, OrderFlowFeed, join_quotes, load_quotes, make_bars, scan_ticks
from data.bars.spec import bar_opens
from data.reading.quotes import level_columns
from data.schema import DEPTH_LINES
from indicators import DepthImbalance

START = pd.Timestamp("2024-03-01 14:30", tz="UTC")
QUOTE_ROWS = [(0.5, 100.0, 5, 101.0, 7), (1.5, 100.0, 8, 101.0, 6), (2.5, 100.5, 3, 101.0, 6),
              (3.5, 100.5, 3, 101.0, 2), (5.5, 100.0, 9, 100.5, 4)]
TRADE_SECONDS = [1.0, 3.0, 4.0, 6.0]


def at(seconds) -> pd.Series:
    return pd.Series(START + pd.to_timedelta(np.asarray(seconds, dtype=float), unit="s")).dt.as_unit("ns")


def hand_quotes() -> pd.DataFrame:
    t, bid, bsz, ask, asz = zip(*QUOTE_ROWS)
    return pd.DataFrame({"timestamp": at(t), "bid": bid, "ask": ask, "bid_size": np.array(bsz, float),
                         "ask_size": np.array(asz, float)})


def hand_ticks() -> pd.DataFrame:
    n = len(TRADE_SECONDS)
    ticks = pd.DataFrame({"timestamp": at(TRADE_SECONDS), "price": [101.0, 101.0, 101.0, 100.5], "size": np.ones(n),
                          "side": np.ones(n, dtype=np.int8)})
    return join_quotes(ticks, hand_quotes())


def test_the_hand_ticks_carry_the_state_before_each_trade():
    assert hand_ticks()["bid_size"].tolist() == [5.0, 3.0, 3.0, 9.0]  # q0, q2, q3, q4


def test_ofi_from_every_update_differs_from_ofi_at_trades_by_hand():
    ticks, quotes = hand_ticks(), hand_quotes()
    # 2 s bars (0,2] (2,4] (4,6]: updates q0+q1 = 0+4, q2+q3 = 3+4, q4 = -7
    full = make_bars(ticks, "2s", quotes=quotes)
    assert full["ofi"].tolist() == [4.0, 7.0, -7.0]
    # at trades: t1 first (0); t3 sees q0 -> q2: bid up +3, ask same -(6-7) +1 = 4; t4 q2 -> q3 +4; t6 -7
    assert make_bars(ticks, "2s")["ofi"].tolist() == [0.0, 8.0, -7.0]
    # tick bars of 2 trades: windows (1 s - 1 ns, 3 s] and (3 s, 6 s]: q1+q2 = 7, q3+q4 = -3
    assert make_bars(ticks, "2t", quotes=quotes)["ofi"].tolist() == [7.0, -3.0]
    assert make_bars(ticks, "2t")["ofi"].tolist() == [4.0, -3.0]


def test_time_weighted_imbalance_depth_and_closing_sizes_by_hand():
    bars = make_bars(hand_ticks(), "2s", quotes=hand_quotes(), persistence="1s")
    # bar (0,2]: q0 rests 0.5-1.5 (1 s) at (5-7)/12, q1 1.5-2 (0.5 s) at (8-6)/14
    # bar (2,4]: q1 from the open 2-2.5 (0.5 s) at 1/7, q2 2.5-3.5 (1 s) at -3/9, q3 3.5-4 (0.5 s) at 1/5
    # bar (4,6]: q3 4-5.5 (1.5 s) at 1/5, q4 5.5-6 (0.5 s) at 5/13
    want_tw = [(-1 / 6 + 0.5 / 7) / 1.5, (0.5 / 7 - 1 / 3 + 0.5 / 5) / 2, (1.5 / 5 + 0.5 * 5 / 13) / 2]
    np.testing.assert_allclose(bars["tw_imbalance"], want_tw, rtol=1e-14)
    # mean of (bid + ask) / 2 over the states in force: (6, 7), (7, 4.5, 2.5), (2.5, 6.5)
    np.testing.assert_allclose(bars["avg_depth"], [6.5, 14 / 3, 4.5], rtol=1e-14)
    # the state in force at the close: q1, q3, q4
    assert bars["bid_size"].tolist() == [8.0, 3.0, 9.0]
    assert bars["ask_size"].tolist() == [6.0, 2.0, 4.0]
    assert bars["imbalance"].tolist() == [2.0, 1.0, 5.0]
    # q3: I = 3/5, 0.6 * 101 + 0.4 * 100.5
    assert bars["weighted_mid"].iloc[1] == pytest.approx(100.8, abs=1e-12)
    # persistence 1 s at the last state: q1 (anchor q0, same prices: min 5 | min 6), q3 (anchor q2: 3 | 2),
    # q4 (both prices changed since q3: 0 | 0 -> imbalance 0)
    assert bars["persistent_bid_size"].tolist() == [5.0, 3.0, 0.0]
    assert bars["persistent_ask_size"].tolist() == [6.0, 2.0, 0.0]
    np.testing.assert_allclose(bars["persistent_imbalance"], [-1 / 11, 0.2, 0.0], rtol=1e-14)
    assert bars[["depth_imbalance_5", "depth_imbalance_10"]].isna().all().all()  # top of book only


def test_sum_of_bar_ofi_is_the_stream_ofi_when_windows_cover_it():
    # tick bars cover (first trade - 1 ns, last trade]: every update after the first trade's time
    from data.bars.depth import ofi_events

    q = hand_quotes()
    events = ofi_events(q["bid"], q["bid_size"], q["ask"], q["ask_size"])
    bars = make_bars(hand_ticks(), "1t", quotes=q)
    covered = (q["timestamp"] >= at([1.0])[0]) & (q["timestamp"] <= at([6.0])[0])
    assert bars["ofi"].sum() == events[covered.to_numpy()].sum() == 4 + 3 + 4 - 7  # q1 .. q4


def test_bars_before_the_first_quote_are_nan_and_a_window_without_updates_is_zero():
    quotes = hand_quotes().iloc[2:]  # first state at 2.5 s
    bars = make_bars(hand_ticks(), "1s", quotes=quotes)  # bars at 1, 3, 4, 6 s
    assert bars[list(DEPTH_LINES[:-2])].iloc[0].isna().all()
    assert bars["bid_size"].isna().tolist() == [True, False, False, False]
    # (3,4]: no update inside: OFI 0, q3 (3.5 s) rests 0.5 s of it; (2,3]: q2 alone (first state: e 0)
    assert bars["ofi"].tolist()[1:] == [0.0, 4.0, -7.0]


def test_bar_opens():
    stamps = np.array([2, 4, 10, 11]) * 1_000_000_000
    np.testing.assert_array_equal(bar_opens(stamps, "2s", 1_500_000_000), stamps - 2_000_000_000)
    np.testing.assert_array_equal(bar_opens(stamps, "3t", 1_500_000_000), [1_499_999_999, *stamps[:-1]])


def level_quotes(sizes: list[tuple[list[float], list[float]]], seconds: list[float]) -> pd.DataFrame:
    k = len(sizes[0][0])
    frame = {"timestamp": at(seconds)}
    for i in range(1, k + 1):
        frame[f"bid_{i}"] = np.full(len(seconds), 100.0 - i)
        frame[f"bid_size_{i}"] = np.array([b[i - 1] for b, _ in sizes], dtype=float)
        frame[f"ask_{i}"] = np.full(len(seconds), 100.0 + i)
        frame[f"ask_size_{i}"] = np.array([a[i - 1] for _, a in sizes], dtype=float)
    frame = pd.DataFrame(frame)
    frame["bid"], frame["ask"] = frame["bid_1"], frame["ask_1"]
    frame["bid_size"], frame["ask_size"] = frame["bid_size_1"], frame["ask_size_1"]
    return load_quotes(frame[["timestamp", "bid", "ask", "bid_size", "ask_size", *level_columns(k)]])


def test_depth_imbalance_over_five_levels_by_hand():
    # state A (0.5 s): bids 1+2+3+4+5 = 15, asks 5 x 5 = 25 -> -10/40; state B (1.5 s): 20 vs 5 -> 15/25
    quotes = level_quotes([([1, 2, 3, 4, 5], [5] * 5), ([4] * 5, [1] * 5)], [0.5, 1.5])
    assert quotes.attrs["load_report"]["levels"] == 5
    ticks = pd.DataFrame({"timestamp": at([1.0, 1.8]), "price": [100.0, 100.0], "size": [1.0, 1.0],
                          "side": np.array([1, -1], dtype=np.int8)})
    bars = make_bars(ticks, "2s", quotes=quotes)
    # A rests 0.5 -> 1.5 (1 s), B 1.5 -> 2 (0.5 s)
    assert bars["depth_imbalance_5"].iloc[0] == pytest.approx((-0.25 * 1.0 + 0.6 * 0.5) / 1.5, abs=1e-15)
    assert np.isnan(bars["depth_imbalance_10"].iloc[0])  # 5 levels only
    # the top level alone: A 1 vs 5, B 4 vs 1
    assert bars["tw_imbalance"].iloc[0] == pytest.approx((-4 / 6 * 1.0 + 3 / 5 * 0.5) / 1.5, abs=1e-15)


@pytest.mark.parametrize("runonce", [True, False])
def test_depth_imbalance_indicator_hand_values_in_both_run_modes(runonce):
    index = pd.date_range("2024-03-01 14:31", periods=4, freq="1min", tz="UTC", name="timestamp")
    bars = make_bars(hand_ticks(), "2s", quotes=hand_quotes()).iloc[:1]
    bars = pd.concat([bars] * 4).set_axis(index)
    bars["depth_imbalance_10"] = [0.2, -0.4, 0.6, 0.1]
    bars["depth_imbalance_5"] = [0.5, 0.5, -0.5, 0.0]
    bars.attrs["bar_spec"] = "1min"
    seen = {}

    class Probe(bt.Strategy):
        def __init__(self):
            self.raw = DepthImbalance(self.data, levels=10)
            self.smooth = DepthImbalance(self.data, levels=10, period=2)
            self.five = DepthImbalance(self.data, levels=5, period=3, ma="ema")

        def stop(self):
            for name in ("raw", "smooth", "five"):
                seen[name] = np.asarray(getattr(self, name).imbalance.array[: len(self.data)])

    cerebro = bt.Cerebro(runonce=runonce, stdstats=False)
    cerebro.adddata(OrderFlowFeed.from_bars(bars))
    cerebro.addstrategy(Probe)
    cerebro.run()
    np.testing.assert_allclose(seen["raw"], [0.2, -0.4, 0.6, 0.1], rtol=1e-15)
    np.testing.assert_allclose(seen["smooth"], [np.nan, -0.1, 0.1, 0.35], rtol=1e-14)
    # EMA(3): seeded with the SMA of the first 3 (1/6), then alpha 1/2: 1/6 + (0 - 1/6) / 2
    np.testing.assert_allclose(seen["five"], [np.nan, np.nan, 1 / 6, 1 / 12], rtol=1e-14)


def test_depth_imbalance_rejects_other_levels():
    bars = make_bars(hand_ticks(), "2s", quotes=hand_quotes())

    class Probe(bt.Strategy):
        def __init__(self):
            DepthImbalance(self.data, levels=3)

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(OrderFlowFeed.from_bars(bars))
    cerebro.addstrategy(Probe)
    with pytest.raises(OrderFlowError, match="levels must be one of 5, 10"):
        cerebro.run()


def test_feed_from_ticks_takes_the_quote_stream():
    feed = OrderFlowFeed.from_ticks(hand_ticks(), "2s", quotes=hand_quotes())
    assert feed.p.dataname["ofi"].tolist() == [4.0, 7.0, -7.0]


def test_bad_quotes_are_refused():
    with pytest.raises(OrderFlowError, match="quote stream DataFrame"):
        make_bars(hand_ticks(), "2s", quotes="quotes.csv")
    backwards = hand_quotes().iloc[::-1].reset_index(drop=True)
    with pytest.raises(OrderFlowError, match="not sorted"):
        make_bars(hand_ticks(), "2s", quotes=backwards)


# --- the streamed path: exactly the in-memory bars ---------------------------------------------------------


def random_book(seed: int, n_ticks: int, n_quotes: int, levels: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    t0 = np.int64(1_709_285_400_000_000_000)
    tick_ts = t0 + np.cumsum(rng.choice([0, 0, 200, 700, 1500], n_ticks) * 1_000_000).astype(np.int64)
    quote_ts = np.sort(t0 - 2_000_000_000 + rng.integers(0, int(tick_ts[-1] - t0) + 4_000_000_000, n_quotes))
    price = 100.0 + 0.25 * np.cumsum(rng.integers(-1, 2, n_ticks))
    ticks = pd.DataFrame({"timestamp": pd.DatetimeIndex(tick_ts.view("M8[ns]")).tz_localize("UTC"), "price": price,
                          "size": rng.choice([1.0, 2.0, 0.5], n_ticks),
                          "side": rng.integers(-1, 2, n_ticks).astype(np.int8)})
    bid = 100.0 + 0.25 * np.cumsum(rng.integers(-1, 2, n_quotes))
    quotes = {"timestamp": pd.DatetimeIndex(quote_ts.view("M8[ns]")).tz_localize("UTC"), "bid": bid, "ask": bid + 0.25,
              "bid_size": rng.integers(0, 9, n_quotes).astype(float),
              "ask_size": rng.integers(0, 9, n_quotes).astype(float)}
    for i in range(1, levels + 1):
        quotes[f"bid_{i}"], quotes[f"ask_{i}"] = bid - 0.25 * (i - 1), bid + 0.25 * i
        quotes[f"bid_size_{i}"] = quotes["bid_size"] if i == 1 else rng.integers(0, 9, n_quotes).astype(float)
        quotes[f"ask_size_{i}"] = quotes["ask_size"] if i == 1 else rng.integers(0, 9, n_quotes).astype(float)
    return ticks, pd.DataFrame(quotes)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n_ticks=st.integers(1, 120), n_quotes=st.integers(1, 200),
       levels=st.sampled_from([0, 5, 10]), spec=st.sampled_from(["tick", "3t", "4v", "1s", "3s", "1min"]),
       batch_rows=st.integers(1, 50), depth=st.booleans())
def test_streamed_bars_with_quotes_equal_in_memory_bars(seed, n_ticks, n_quotes, levels, spec, batch_rows, depth):
    ticks, quotes = random_book(seed, n_ticks, n_quotes, levels)
    want = make_bars(ticks, spec, quotes=quotes, tick_size=0.25, depth=depth)
    got = make_bars(scan_ticks(ticks, batch_rows=batch_rows, progress=False), spec, quotes=quotes, tick_size=0.25,
                    depth=depth)
    assert list(got.columns) == list(want.columns)
    assert got.index.equals(want.index)
    quote_lines = ["bid_size", "ask_size", "imbalance"] + (list(DEPTH_LINES) if depth else [])
    for column in quote_lines:  # computed by the same function from the same stamps: equal, bit for bit
        np.testing.assert_array_equal(got[column].to_numpy(), want[column].to_numpy(), err_msg=column)
    np.testing.assert_allclose(got["volume"], want["volume"], rtol=1e-12)
    if depth and levels == 0:
        assert want["depth_imbalance_5"].isna().all()
    sizes = quotes.filter(regex=r"^(bid|ask)_size_\d+$").sum(axis=1)
    in_force = (quotes["timestamp"] < ticks["timestamp"].iloc[-1]) & (sizes > 0)
    spans_time = ticks["timestamp"].iloc[-1] > ticks["timestamp"].iloc[0]  # bars of no duration weigh nothing
    if depth and levels == 10 and in_force.any() and spans_time:  # some book with size was in force in a bar
        assert want["depth_imbalance_10"].notna().any()


# --- the engine: --quotes FILE and files that hold the book ------------------------------------------------


def write_hand_files(tmp_path):
    trades, quotes = tmp_path / "trades.csv", tmp_path / "quotes.csv"
    ticks = hand_ticks()
    pd.DataFrame({"timestamp": ticks["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "price": ticks["price"],
                  "size": ticks["size"], "side": ["buy"] * len(ticks)}).to_csv(trades, index=False)
    q = hand_quotes()
    q.assign(timestamp=q["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")).to_csv(quotes, index=False)
    return trades, quotes


def test_engine_quotes_file_gives_depth_from_every_update_and_joins_for_classification(tmp_path):
    from research import RunConfig
    from research.engine import load

    trades, quotes = write_hand_files(tmp_path)
    loaded = load(RunConfig(data=trades, quotes=quotes, bars="2s", keep_ticks=True))
    assert loaded.bars["ofi"].tolist() == [4.0, 7.0, -7.0]  # every update, not [0, 8, -7] at trades
    assert loaded.ticks["bid_size"].tolist() == [5.0, 3.0, 3.0, 9.0]  # the join, for classification
    # a 0.6 s lag: every state counts 0.6 s later (1.1, 2.1, 3.1, 4.1, 6.1 s): q0 | q1 + q2 | q3, and q4 after
    # the last bar
    lagged = load(RunConfig(data=trades, quotes=quotes, bars="2s", quote_lag="600ms"))
    assert lagged.bars["ofi"].tolist() == [0.0, 4.0 + 3.0, 4.0]


def test_engine_reads_the_book_of_a_file_that_holds_both():
    from research import RunConfig
    from research.engine import load
    from tests.conftest import need_shared

    path = need_shared() / "realdata/lobster/LOBSTER_SampleFile_AMZN_2012-06-21_1.zip"
    loaded = load(RunConfig(data=path, bars="1min", keep_ticks=True))
    quotes = load_quotes(path)
    assert any("quote updates" in note for note in loaded.load_report["notes"])
    pd.testing.assert_frame_equal(loaded.bars, make_bars(loaded.ticks, "1min", quotes=quotes))
    at_trades = make_bars(loaded.ticks, "1min")
    assert not np.allclose(loaded.bars["ofi"], at_trades["ofi"])  # most book updates happen between trades


def test_which_files_carry_a_book():
    from data.reading.quotes import book_format, carried_quotes
    from tests.conftest import FIXTURES, SHARED

    assert book_format(FIXTURES / "GLBX.MDP3.tbbo.dbn.zst") == "databento"
    assert book_format(FIXTURES / "ticks_small.csv") is None and carried_quotes(FIXTURES / "ticks_small.csv") is None
    assert len(carried_quotes(FIXTURES / "GLBX.MDP3.tbbo.dbn.zst")) > 0
    trades_only = SHARED / "realdata" / "databento" / "GLBX.MDP3.trades.dbn.zst"
    if trades_only.is_file():  # a DBN trades file holds no book: no stream, and no error
        assert book_format(trades_only) is None and carried_quotes(trades_only) is None
