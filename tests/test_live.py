"""Live data: the bars of a live stream, the replay server, the recorder, the live feed and the live
command line, against real WebSocket servers on 127.0.0.1 started by the tests (in a thread or as
``python -m data.replay`` processes).

The central checks replay the shared Binance capture at full speed through the live feed and
compare with a backtest of the same file: every bar line, the indicator values, the orders and the
fills are equal; a connection dropped by the server shows its gap (the trade ids around it) and the
run goes on; a recorder pointed at the replay writes a capture that reads back to the same trades
and quotes."""
from __future__ import annotations

import json
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data import BarOptions, OrderFlowError, load_quotes, load_ticks, make_bars
from data.bars.stream import BarStream
from data.live.bars import LiveBars
from data.live.protocol import gap_note
from data.live.record import CaptureFiles
from data.reading.readers.binance_stream import capture_messages, read_binance_stream
from tests.conftest import REPO, SHARED

websockets = pytest.importorskip("websockets", reason="the live tests need the websockets package (pip install .[live])")

from data.live.replay import ReplayServer  # noqa: E402  (after the skip: it needs websockets at start)

CAPTURES = SHARED / "realdata" / "binance_stream"
BTC, ETH = CAPTURES / "usdm_btcusdt_20240808.gz", CAPTURES / "usdm_ethusdt_20240808.gz"
BASE_MS = 1_700_000_000_000  # a whole second: 1s bars end on base + k * 1000 ms


def need_captures() -> None:
    if not BTC.exists() or not ETH.exists():
        pytest.skip(f"the shared Binance captures are absent ({CAPTURES})")


def trade(tid: int, ms: int, price: float, qty: float, sell: bool = False, symbol: str = "btcusdt") -> str:
    """A combined-stream @trade message as Binance futures sends it (``m``: the buyer is the maker)."""
    return (f'{{"stream":"{symbol}@trade","data":{{"e":"trade","E":{ms},"T":{ms},"s":"{symbol.upper()}","t":{tid},'
            f'"p":"{price}","q":"{qty}","X":"MARKET","m":{"true" if sell else "false"}}}}}')


def quote(uid: int, ms: int, bid: float, ask: float, bid_size: float, ask_size: float, symbol: str = "btcusdt") -> str:
    return (f'{{"stream":"{symbol}@bookTicker","data":{{"e":"bookTicker","u":{uid},"s":"{symbol.upper()}",'
            f'"b":"{bid}","B":"{bid_size}","a":"{ask}","A":"{ask_size}","T":{ms},"E":{ms}}}}}')


class Process:
    """A command run in the worktree, its output lines read by a thread (``wait_for`` a pattern)."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, *args], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, bufsize=1)
        self.lines: queue.Queue = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)

    def wait_for(self, pattern: str, timeout: float = 30) -> re.Match:
        deadline = time.monotonic() + timeout
        while True:
            for line in self.seen:
                found = re.search(pattern, line)
                if found:
                    return found
            try:
                self.seen.append(self.lines.get(timeout=max(deadline - time.monotonic(), 0.01)))
            except queue.Empty:
                if time.monotonic() >= deadline:
                    raise AssertionError(f"no {pattern!r} within {timeout} s; output: {''.join(self.seen)}") from None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait(10)
        time.sleep(0.05)
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return code

    @property
    def output(self) -> str:
        return "".join(self.seen)


@contextmanager
def replay(*args: str):
    """``python -m data.replay ARGS --port 0``; yields the process and its address."""
    server = Process("-m", "data.replay", *args, "--port", "0")
    try:
        url = server.wait_for(r"ws://127\.0\.0\.1:\d+").group(0)
        yield server, url
    finally:
        server.stop()


def merged_wanted(paths, symbols=("btcusdt",)) -> pd.DataFrame:
    """The trade and bookTicker messages of the captures in the order a replay sends them (by exchange
    time, ties in file order), as the reference for what a client receives."""
    frames = [capture_messages(p).assign(capture=k) for k, p in enumerate(paths)]
    merged = pd.concat(frames, ignore_index=True)
    merged = merged.iloc[np.lexsort((np.arange(len(merged)), merged["timestamp"].array.asi8))].reset_index(drop=True)
    stream = merged["text"].str.slice(11).str.split('"').str[0]
    wanted = stream.isin([f"{s}@{k}" for s in symbols for k in ("trade", "bookTicker")])
    return merged[wanted.to_numpy()].reset_index(drop=True)


# --------------------------------------------------------------------------- bars from messages


def test_live_bars_drop_duplicates_report_gaps_and_late_trades_and_close_on_grace():
    """Worked by hand: 1s bars of trades on a tick of 1, no footprint lines.

    Batch 1: ids 1 (t+100 ms, 100 x 1, buy), 2 (t+500, 101 x 2, sell), 2 again, 5 (t+900, 102 x 1, buy):
    the repeat is a duplicate; 3 and 4 are missing (a gap of 2). Batch 2: id 4 (a duplicate: at or
    below 5), id 6 (t+1200, 103 x 1, sell), which closes bar t+1000: open 100, high 102, low 100,
    close 102, volume 4, buys 2, sells 2, delta 0, running delta 1, -1, 0: high 1, low -1, 3 trades,
    vwap (100 + 202 + 102) / 4 = 101. Bar t+2000 holds id 6; the exchange clock is t+1200 ms when the
    batch arrives at local time R: with a grace of 0.5 s, the bar closes at local R + 1.3 s. Then id 7
    at t+1500 (inside the closed bar) is late, id 8 at t+2100 opens the next bar."""
    with pytest.raises(OrderFlowError, match="tick_size"):  # the footprint lines need the tick
        LiveBars("1s", quotes=False)
    live = LiveBars("1s", quotes=False, grace="500ms", name="test", options=BarOptions(footprint=False))
    t, r = BASE_MS, 5_000_000_000_000
    out = live.add([trade(1, t + 100, 100.0, 1.0), trade(2, t + 500, 101.0, 2.0, sell=True),
                    trade(2, t + 500, 101.0, 2.0, sell=True), trade(5, t + 900, 102.0, 1.0)], r)
    assert out.empty
    out = live.add([trade(4, t + 950, 99.0, 9.0), trade(6, t + 1200, 103.0, 1.0, sell=True)], r)
    assert list(out.index) == [pd.Timestamp(t + 1000, unit="ms", tz="UTC")]
    row = out.iloc[0]
    assert (row.open, row.high, row.low, row.close, row.volume) == (100.0, 102.0, 100.0, 102.0, 4.0)
    assert (row.buy_volume, row.sell_volume, row.delta, row.delta_high, row.delta_low) == (2.0, 2.0, 0.0, 1.0, -1.0)
    assert (row.trades, row.vwap) == (3, 101.0)
    assert live.close_due(r + 1_299_000_000).empty  # the exchange clock is at t + 1999 ms: inside the grace
    closed = live.close_due(r + 1_300_000_000)
    assert list(closed.index) == [pd.Timestamp(t + 2000, unit="ms", tz="UTC")] and closed.iloc[0].close == 103.0
    assert live.add([trade(7, t + 1500, 104.0, 1.0), trade(8, t + 2100, 105.0, 1.0)], r).empty
    last = live.finish()
    assert list(last.index) == [pd.Timestamp(t + 3000, unit="ms", tz="UTC")] and last.iloc[0].open == 105.0
    report = live.report()
    assert report["rejected"] == {"duplicate_trade_id": 2, "late": 1}
    assert (report["rows_read"], report["rows_kept"]) == (8, 5)
    assert [(g["last_trade_id"], g["first_trade_id"], g["missed_trades"]) for g in report["gaps"]] == [(2, 5, 2)]
    assert report["notes"][0].startswith("gap: 2 trade(s) missing between trade ids 2 and 5")


def test_bar_stream_take_and_close_held_give_the_bars_of_make_bars(small_ticks):
    """The small ticks make bars 09:31, 09:32, 09:33 (right-closed minutes). In batches of three, a bar
    is taken once a tick after its end came: none after 09:30:05-09:30:40 (09:31 held), 09:31 after
    09:31:10, 09:32 after 09:32:00.5, then 09:33 at the end. Closing the held bar 09:32 at 09:31:59.5
    (its end passed) and going on gives the same bars."""
    options = BarOptions(footprint=False)
    expected = make_bars(small_ticks, "1min", options=options)
    stream = BarStream("1min", options=options, side_thread=False)
    parts = []
    for k in range(0, len(small_ticks), 3):
        stream.add(small_ticks.iloc[k:k + 3])
        parts.append(stream.take())
        if k == 0:
            assert stream.held_until() == pd.Timestamp("2024-03-01 09:31", tz="UTC").value
    assert [len(p) for p in parts] == [0, 1, 1, 0]
    finished = stream.finish()
    pd.testing.assert_frame_equal(finished, expected)
    pd.testing.assert_frame_equal(pd.concat([*parts, finished.iloc[2:]]), expected)
    stream = BarStream("1min", options=options, side_thread=False)
    stream.add(small_ticks.iloc[:7])  # through 09:31:59.5: bar 09:32 is held
    parts = [stream.take()]
    assert stream.close_held()
    parts.append(stream.take())
    stream.add(small_ticks.iloc[7:])
    parts.append(stream.take())
    assert [len(p) for p in parts] == [1, 1, 0]
    parts.append(stream.finish().iloc[2:])
    pd.testing.assert_frame_equal(pd.concat(parts), expected)
    assert not BarStream("1min", side_thread=False).close_held()  # nothing held


@pytest.mark.parametrize("spec", ["1s", "5s", "300t", "5v"])
def test_live_bars_over_message_blocks_equal_make_bars_of_the_capture(spec):
    """The shared capture's messages in blocks of changing sizes (1 to 3,000) make the bars of a
    backtest of the file: make_bars over its ticks with every quote update (the file's carried
    quotes), every line equal."""
    need_captures()
    messages = [line.split(" ", 1)[1] for line in _lines(BTC)]
    live = LiveBars(spec, options=BarOptions(tick_size=0.1), name="test")
    sizes = np.random.default_rng(3).choice([1, 7, 64, 500, 3000], size=len(messages))
    parts, k = [], 0
    for size in sizes:
        if k >= len(messages):
            break
        parts.append(live.add(messages[k:k + size], 0))
        k += size
    parts.append(live.finish())
    got = pd.concat(parts)
    expected = make_bars(load_ticks(BTC), spec, quotes=load_quotes(BTC), tick_size=0.1)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert live.report()["rejected"] == {} and live.report()["quotes"]["rows_kept"] == 66_089


def _lines(path: Path) -> list[str]:
    import gzip

    return [line for line in gzip.decompress(path.read_bytes()).decode().splitlines()
            if '"e":"trade"' in line or '"e":"bookTicker"' in line]


# --------------------------------------------------------------------------- the replay server


@pytest.fixture
def tiny_capture(tmp_path):
    """Three trades and two quotes a second apart, a REST snapshot line (not replayed)."""
    lines = [f"{1_700_000_000_000_000_000 + k} {text}" for k, text in enumerate([
        '{"lastUpdateId":1,"E":1,"T":1,"bids":[],"asks":[]}',
        quote(1, BASE_MS, 99.0, 100.0, 1.0, 2.0),
        trade(1, BASE_MS + 1000, 100.0, 1.0),
        trade(2, BASE_MS + 2000, 99.0, 2.0, sell=True),
        quote(2, BASE_MS + 2000, 98.0, 99.0, 3.0, 4.0),
        trade(3, BASE_MS + 3000, 98.0, 1.0),
    ])]
    path = tmp_path / "tiny.gz"
    import gzip

    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    return path


def test_replay_speaks_the_exchanges_protocol(tiny_capture):
    from websockets.sync.client import connect

    with ReplayServer([tiny_capture], port=0) as server:
        with connect(server.url + "/ws", open_timeout=5) as ws:
            ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@trade"], "id": 7}))
            assert json.loads(ws.recv(timeout=5)) == {"result": None, "id": 7}
            got = [json.loads(ws.recv(timeout=5)) for _ in range(3)]  # bare messages, in order
            assert [(m["e"], m["t"], m["p"]) for m in got] == [("trade", 1, "100.0"), ("trade", 2, "99.0"),
                                                               ("trade", 3, "98.0")]
            ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 8}))
            assert json.loads(ws.recv(timeout=5)) == {"result": ["btcusdt@trade"], "id": 8}
            ws.send("not json")
            assert json.loads(ws.recv(timeout=5))["error"]["code"] == 3
        assert server.wait(5)
    with ReplayServer([tiny_capture], port=0) as server:
        with connect(server.url + "/stream?streams=btcusdt@bookTicker", open_timeout=5) as ws:
            got = [json.loads(ws.recv(timeout=5)) for _ in range(2)]
            assert [(m["stream"], m["data"]["b"]) for m in got] == [("btcusdt@bookTicker", "99.0"),
                                                                     ("btcusdt@bookTicker", "98.0")]
        with connect(server.url + "/elsewhere", open_timeout=5) as ws:
            with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
                ws.recv(timeout=5)
            assert closed.value.rcvd.code == 1008


def test_replay_keeps_the_recorded_pace_times_the_speed(tiny_capture):
    """Trades 1 s apart in the capture arrive 0.5 s apart at speed 2."""
    from websockets.sync.client import connect

    with ReplayServer([tiny_capture], port=0, speed=2.0) as server:
        with connect(server.url + "/stream?streams=btcusdt@trade", open_timeout=5) as ws:
            arrivals = []
            for _ in range(3):
                ws.recv(timeout=5)
                arrivals.append(time.monotonic())
    gaps = np.diff(arrivals)
    assert np.all((gaps > 0.4) & (gaps < 0.75)), gaps


@pytest.mark.parametrize("outage", ["soon", "-1s"])
def test_a_bad_outage_is_the_projects_error(tiny_capture, outage):
    with pytest.raises(OrderFlowError, match="outage must be a duration"):
        ReplayServer([tiny_capture], port=0, outage=outage)


def test_replay_command_line_errors_are_one_line(tmp_path):
    for args in (["-m", "data.replay", str(tmp_path / "missing.gz")],
                 ["-m", "data.replay", str(tmp_path / "missing.gz"), "--speed", "fast"],
                 ["-m", "data.record", "nowhere", "BTCUSDT", "--out", str(tmp_path)]):
        done = subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=60)
        assert done.returncode == 2, done
        assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: "), done.stderr
    done = subprocess.run([sys.executable, "-m", "data.replay", str(tmp_path / "missing.gz")], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert "missing.gz" in done.stderr


# --------------------------------------------------------------------------- the live feed against a backtest


def _config(bars: str, strategy="cvd_trend"):
    from research import RunConfig
    from research.instruments import get_instrument

    return RunConfig(data=BTC, strategy=strategy, bars=bars, params={"slope_period": 3}, cache=False,
                     instrument=get_instrument("BTC-PERP"), session=(pd.Timestamp("00:00").time(), "UTC"))


def _orders(result) -> list[tuple]:
    return [(o.created.dt, o.size, o.executed.dt, o.executed.price, o.executed.size, o.getstatusname())
            for o in result.cerebro.broker.orders]


def _indicator_values(result) -> list[np.ndarray]:
    from research.engine import _indicators

    return [np.asarray(line.array) for ind in _indicators(result.strategy) for line in ind.lines]


@pytest.mark.parametrize("bars", ["5s", "300t"])
def test_a_replay_through_the_live_feed_gives_the_backtest(bars):
    """The capture replayed at full speed by ``python -m data.replay`` through ``run_live``: the bars
    (every line, exactly), the indicator values, the orders and their fills, the trades, the equity and
    the metrics of ``research.run`` on the capture file."""
    need_captures()
    from research import run
    from research.live import LiveSource, run_live

    config = _config(bars)
    backtest = run(config)
    with replay(str(BTC), "--speed", "max") as (server, url):
        live = run_live(config, LiveSource(url, "BTCUSDT", idle_stop=2.0), qcheck=0.2)
        server.wait_for("replay finished: 87,402 messages sent")
    assert len(backtest.trades) >= 3 and backtest.metrics["fills"] >= 5  # the comparison covers orders
    pd.testing.assert_frame_equal(live.bars, backtest.bars, check_exact=True)
    assert all(np.array_equal(a, b, equal_nan=True) for a, b in
               zip(_indicator_values(live), _indicator_values(backtest), strict=True))
    assert _orders(live) == _orders(backtest)
    assert live.analyzers["transactions"] == backtest.analyzers["transactions"]
    pd.testing.assert_frame_equal(live.trades, backtest.trades)
    pd.testing.assert_frame_equal(live.equity, backtest.equity)
    assert {k: v for k, v in live.metrics.items() if v == v} == {k: v for k, v in backtest.metrics.items() if v == v}
    report = live.load_report
    assert (report["rows_read"], report["rows_kept"], report["rejected"], report["gaps"]) == (21_313, 21_313, {}, [])


def _seen_by_strategy():
    """trend_imbalance that records, at every base bar, its time, ``len`` of the coarser feed and every
    line of the coarser feed's current bar (what the strategy sees)."""
    from strategies import TrendImbalance

    class Recording(TrendImbalance):
        def __init__(self) -> None:
            super().__init__()
            self.seen: list[tuple] = []

        def _record(self) -> None:
            coarse = self.datas[1]
            self.seen.append((self.datas[0].datetime[0], len(coarse),
                              tuple(line[0] for line in coarse.lines) if len(coarse) else ()))

        def prenext(self) -> None:
            self._record()

        def next(self) -> None:
            self._record()
            super().next()

    return Recording


def test_a_replay_with_a_coarser_timeframe_gives_the_backtest():
    """``trend_imbalance`` on 5s bars with its trend on 1min bars, the capture replayed at full speed
    through ``run_live``: the coarser feed's bars (every line, the footprint lines too) are the backtest's,
    the strategy sees each of them at the same base bar (``len`` and every line, at every base bar), and
    the orders, fills, trades and metrics are the backtest's."""
    need_captures()
    from research import run
    from research.live import LiveSource, run_live

    config = replace(_config("5s"), strategy=_seen_by_strategy(), params={"trend_bars": "1min"})
    backtest = run(config)
    with replay(str(BTC), "--speed", "max") as (server, url):
        live = run_live(config, LiveSource(url, "BTCUSDT", idle_stop=2.0), qcheck=0.2)
        server.wait_for("replay finished: 87,402 messages sent")
    coarse = live.strategy.datas[1]
    assert type(coarse).__name__ == "LiveResampledFeed" and coarse._name == "1min"
    expected = backtest.strategy.datas[1].p.dataname  # the backtest's 1min bars
    assert len(expected) == 6 and expected["poc"].notna().all() and expected["sell_imbalances"].notna().all()
    pd.testing.assert_frame_equal(coarse.bars(), expected, check_exact=True)
    seen, wanted = live.strategy.seen, backtest.strategy.seen
    assert len(wanted) == len(backtest.bars) and [n for _, n, _ in wanted][-1] == 6
    assert repr(seen) == repr(wanted)  # every base bar: the same time, len(data1) and data1's lines (NaN too)
    assert len(backtest.trades) >= 3 and backtest.metrics["fills"] >= 10
    assert _orders(live) == _orders(backtest)
    assert live.analyzers["transactions"] == backtest.analyzers["transactions"]
    pd.testing.assert_frame_equal(live.trades, backtest.trades, check_exact=True)
    pd.testing.assert_frame_equal(live.equity, backtest.equity, check_exact=True)
    assert {k: v for k, v in live.metrics.items() if v == v} == {k: v for k, v in backtest.metrics.items() if v == v}
    assert coarse.coarser.held <= 12 + 1  # one minute of 5s bars and the one before


@pytest.mark.parametrize(("fills", "bars", "stop", "target"), [("book", "5s", 20.0, 2.0), ("trades", "300t", 3.0, 1.0)])
def test_paper_fills_of_a_replay_give_the_backtests_fills(fills, bars, stop, target):
    """``--fills book`` (and ``trades``) on the capture replayed at full speed: brackets (a market entry, a
    stop and a limit target, one cancelling the other) fill live on the feed's tape exactly as in a backtest
    of the capture file with the same fills: the orders, each fill's time, price, size and liquidity, the
    trades list (arrival, ahead, liquidity) and the metrics."""
    need_captures()
    from research import run
    from research.live import LiveSource, run_live

    config = replace(_config(bars), fills=fills, params={"slope_period": 3, "stop": stop, "target": target})
    backtest = run(config)
    with replay(str(BTC), "--speed", "max") as (server, url):
        live = run_live(config, LiveSource(url, "BTCUSDT", idle_stop=2.0), qcheck=0.2)
        server.wait_for("replay finished: 87,402 messages sent")
    liquidity = set(backtest.trades["exit_liquidity"].dropna())
    assert backtest.metrics["fills"] >= 30 and {"maker", "taker"} <= liquidity  # targets rest and fill
    assert _orders(live) == _orders(backtest)
    assert live.analyzers["transactions"] == backtest.analyzers["transactions"]
    pd.testing.assert_frame_equal(live.trades, backtest.trades, check_exact=True)
    pd.testing.assert_frame_equal(live.equity, backtest.equity, check_exact=True)
    assert {k: v for k, v in live.metrics.items() if v == v} == {k: v for k, v in backtest.metrics.items() if v == v}
    broker = live.cerebro.broker
    assert type(broker).__name__ == "LiveExecutionBroker" and broker.p.queue == ("risk_averse" if fills == "book"
                                                                                 else "through")
    assert len(broker.p.tape.ticks) < 50_000  # let go of what no open order needs (the capture: 87,402 messages)


def test_paper_fills_paced_are_simulated_again_as_the_tape_grows(tmp_path):
    """The synthetic capture at 10 times its pace through ``run_backtest.py --live --fills book``: the bars
    come while the stream goes, so resting orders are simulated again as more of the tape is known (the
    fills made final each time); trades.csv and metrics.json equal a backtest of the file's."""
    from research import RunConfig, run
    from research.instruments import get_instrument
    from research.live import LiveSource, run_live

    capture = synthetic_capture(tmp_path / "synthetic.gz")
    config = RunConfig(data=capture, strategy="cvd_trend", bars="1s", fills="book", cache=False,
                       params={"slope_period": 3, "stop": 4.0, "target": 3.0}, instrument=get_instrument("BTC-PERP"),
                       session=(pd.Timestamp("00:00").time(), "UTC"))
    backtest = run(config)
    with replay(str(capture), "--speed", "10") as (server, url):
        live = run_live(config, LiveSource(url, "BTCUSDT", idle_stop=1.5), qcheck=0.05)
    assert backtest.metrics["fills"] >= 10 and live.cerebro.broker.resimulated >= 5
    assert _orders(live) == _orders(backtest)
    assert live.analyzers["transactions"] == backtest.analyzers["transactions"]
    pd.testing.assert_frame_equal(live.trades, backtest.trades, check_exact=True)
    assert {k: v for k, v in live.metrics.items() if v == v} == {k: v for k, v in backtest.metrics.items() if v == v}


def test_paper_fills_paced_on_tick_bars_whose_trades_share_a_millisecond(tmp_path):
    """Trades two to a millisecond (as Binance's often are: a buy, then a sell) on 5-trade bars, ``--fills
    book``, at the recorded pace: 16,000 trades 1 ms apart (the first bars wait for their orders), then
    1,000 at 50 ms (so that each millisecond comes alone). Every other bar ends on the first trade of a
    millisecond, and the trade that closes it shares the bar's last stamp: the bar is handed out once a
    later trade has come, so that the fills stamped at its end are known then and booked in it, as in the
    backtest of the file: the orders, each fill's bar, the trades list and the metrics are the backtest's."""
    from research import RunConfig, run
    from research.instruments import get_instrument
    from research.live import LiveSource, run_live

    k = np.arange(17_000)
    capture = synthetic_capture(tmp_path / "paired.gz", n=len(k), sells=k % 2 == 1,
                                ms=np.where(k < 16_000, k // 2, 8_000 + (k - 16_000) // 2 * 50))
    config = RunConfig(data=capture, strategy="cvd_trend", bars="5t", fills="book", cache=False,
                       params={"slope_period": 3, "stop": 1.0, "target": 0.5}, instrument=get_instrument("BTC-PERP"),
                       session=(pd.Timestamp("00:00").time(), "UTC"))
    backtest = run(config)
    with replay(str(capture), "--speed", "1") as (server, url):
        live = run_live(config, LiveSource(url, "BTCUSDT", idle_stop=1.5), qcheck=0.05)
    stamps = load_ticks(capture)["timestamp"].array.asi8
    ends, starts = stamps[4::5], stamps[5::5]
    shared_ends = set(ends[:len(starts)][ends[:len(starts)] == starts].tolist())  # the next bar starts then too
    fills = [int(t) for o in backtest.cerebro.broker.orders for t in (getattr(o.info, "fill_times", None) or [])]
    # fills stamped at such a bar's end, in the slow part: the case this checks (they were booked a bar late)
    shared = [f for f in fills if f in shared_ends and f > stamps[16_000]]
    assert len(shared) >= 10, len(shared)
    assert _orders(live) == _orders(backtest)
    assert live.analyzers["transactions"] == backtest.analyzers["transactions"]
    pd.testing.assert_frame_equal(live.trades, backtest.trades, check_exact=True)
    assert {k: v for k, v in live.metrics.items() if v == v} == {k: v for k, v in backtest.metrics.items() if v == v}


def test_paper_fills_paced_in_time_bars_closed_by_grace_on_a_quiet_book(tmp_path):
    """The synthetic capture at 10 times its pace, ``--fills book`` on 1s bars, but the book goes quiet
    after 14,000 trades (no quote after 70 s): from then on every bar is handed out by the grace period,
    with no quote after its end. The bar settles the tape through its end, so the fills stamped inside it
    are final when it comes and booked in it, as in the backtest of the file: the orders, each fill's bar,
    the trades list and the metrics are the backtest's."""
    from research import RunConfig, run
    from research.instruments import get_instrument
    from research.live import LiveSource, run_live

    capture = synthetic_capture(tmp_path / "quiet.gz", quotes=14_000)
    config = RunConfig(data=capture, strategy="cvd_trend", bars="1s", fills="book", cache=False,
                       params={"slope_period": 3, "stop": 4.0, "target": 3.0}, instrument=get_instrument("BTC-PERP"),
                       session=(pd.Timestamp("00:00").time(), "UTC"))
    backtest = run(config)
    with replay(str(capture), "--speed", "10") as (server, url):
        live = run_live(config, LiveSource(url, "BTCUSDT", idle_stop=1.5), qcheck=0.05)
    quiet = (BASE_MS + 14_000 * 5) * 1_000_000  # the first trade without a quote
    fills = [int(t) for o in backtest.cerebro.broker.orders for t in (getattr(o.info, "fill_times", None) or [])]
    assert len([f for f in fills if f >= quiet]) >= 5, fills  # fills in the bars closed by grace: the case
    assert _orders(live) == _orders(backtest)
    assert live.analyzers["transactions"] == backtest.analyzers["transactions"]
    pd.testing.assert_frame_equal(live.trades, backtest.trades, check_exact=True)
    assert {k: v for k, v in live.metrics.items() if v == v} == {k: v for k, v in backtest.metrics.items() if v == v}

def test_tick_tape_windows_known_time_and_memory():
    """Worked by hand: trades at 10, 20, 20, 30 ns and quotes at 5, 15, 25 ns. Known (every event before it
    has arrived): the trades have passed 20 and the quotes 25, and a later trade may still be stamped 20: 20;
    with the trade at 30: 25. The window [16, 30): the trades at 20, 20 and the quotes 15 (in force at 16),
    25. Settling the tape through 40 (a bar that ends there handed out): every event up to 40 is on it, so 41. Dropping
    before 20: the trades from 20 on, the quotes from 15 (in force at 20). Then 5,000 appends of a trade
    and a quote (five times the largest capacity allowed), the tape cut after each: the buffers stay small."""
    from data.live.tape import TickTape

    def ts(*ns):
        return pd.DatetimeIndex(np.array(ns, "M8[ns]")).tz_localize("UTC")

    tape = TickTape()
    tape.add_trades(pd.DataFrame({"timestamp": ts(10, 20), "price": [1.0, 2.0], "size": 1.0, "side": [1, -1]}))
    tape.add_quotes(pd.DataFrame({"timestamp": ts(5, 15, 25), "bid": [1.0, 2.0, 3.0], "ask": [2.0, 3.0, 4.0],
                                  "bid_size": 1.0, "ask_size": 2.0}))
    assert tape.known_until == 20
    tape.add_trades(pd.DataFrame({"timestamp": ts(20, 30), "price": [3.0, 4.0], "size": 1.0, "side": [1, 0]}))
    assert tape.known_until == 25
    window = tape.trades(16, 30)
    assert window["timestamp"].array.asi8.tolist() == [20, 20] and window["price"].tolist() == [2.0, 3.0]
    assert tape.quotes(16, 30)["timestamp"].array.asi8.tolist() == [15, 25]
    assert tape.quotes(15, 25)["bid"].tolist() == [1.0, 2.0]  # in force at 15: the quote at 5; then the one at 15
    tape.settle(40)
    assert tape.known_until == 41 and tape.end_ns == np.iinfo(np.int64).max
    tape.drop_before(20)
    assert tape.trades(0, 100)["timestamp"].array.asi8.tolist() == [20, 20, 30]
    assert tape.quotes(0, 100)["timestamp"].array.asi8.tolist() == [15, 25]
    for k in range(100, 5_100):
        tape.add_trades(pd.DataFrame({"timestamp": ts(k), "price": [1.0], "size": 1.0, "side": [1]}))
        tape.add_quotes(pd.DataFrame({"timestamp": ts(k), "bid": [1.0], "ask": [2.0], "bid_size": 1.0, "ask_size": 1.0}))
        tape.drop_before(k - 10)
    assert len(tape.trade_columns) == 11 and tape.trade_columns.capacity <= 1024
    tape.end()
    assert tape.known_until == np.iinfo(np.int64).max and tape.end_ns == 5_100


def test_a_tape_settled_by_a_closed_bar_knows_its_end_without_a_later_quote():
    """Worked by hand: trades at 1,000 and 5,000 ns, one quote at 900 ns (a quiet book). Known: the quotes
    have passed only 900, so 900. A time bar ending at 10,000 ns closed by grace settles the tape: every
    trade and quote stamped at or before 10,000 is on it (later ones are late), so 10,001, though no quote
    came after 900. A quote and a trade at 12,000 and 15,000: the earlier of the two streams' last times,
    12,000, lifts it."""
    from data.live.tape import TickTape

    def ts(*ns):
        return pd.DatetimeIndex(np.array(ns, "M8[ns]")).tz_localize("UTC")

    tape = TickTape()
    tape.add_trades(pd.DataFrame({"timestamp": ts(1_000, 5_000), "price": [1.0, 2.0], "size": 1.0, "side": [1, -1]}))
    tape.add_quotes(pd.DataFrame({"timestamp": ts(900), "bid": [1.0], "ask": [2.0], "bid_size": 1.0, "ask_size": 2.0}))
    assert tape.known_until == 900
    tape.settle(10_000)
    assert tape.known_until == 10_001
    tape.add_quotes(pd.DataFrame({"timestamp": ts(12_000), "bid": [1.0], "ask": [2.0], "bid_size": 1.0, "ask_size": 2.0}))
    tape.add_trades(pd.DataFrame({"timestamp": ts(15_000), "price": [3.0], "size": 1.0, "side": [1]}))
    assert tape.known_until == 12_000


def test_live_bars_released_by_grace_settle_the_tape_and_make_earlier_quotes_late():
    """Worked by hand: 1s bars with quotes, a grace of 0.5 s. A quote at t+100 ms, trades at t+200 and
    t+1,200 ms (the second closes bar t+1,000 but no quote has come after t+100: it waits). At local R the
    exchange clock is t+1,200; at R + 1.3 s it is t+2,500, past bar t+2,000's end by the grace: both bars
    are handed out and the tape is settled through t+2,000 (known: t+2,000 ms + 1 ns) without a later
    quote. Then a quote at t+1,900 (inside a closed bar) is late: dropped, counted, not on the tape; one at
    t+2,100 is kept. On 2-trade bars the same: trades at t+200, t+300, t+300 make bar t+300 (the third
    shares its stamp: no later trade yet, and no later quote); the grace hands it out at t+800 and
    settles the tape through t+300, so a fourth trade stamped t+300 that comes then is late (it would
    have been known already), one at t+400 is kept."""
    from data.live.tape import TickTape

    t, r, ms = BASE_MS, 5_000_000_000_000, 1_000_000
    tape = TickTape()
    live = LiveBars("1s", grace="500ms", name="test", options=BarOptions(footprint=False), tape=tape)
    assert live.add([quote(1, t + 100, 99.0, 100.0, 1.0, 1.0), trade(1, t + 200, 100.0, 1.0),
                     trade(2, t + 1200, 101.0, 1.0)], r).empty
    assert tape.known_until == (t + 100) * ms
    closed = live.close_due(r + 1_300_000_000)
    assert list(closed.index) == [pd.Timestamp(t + k, unit="ms", tz="UTC") for k in (1000, 2000)]
    assert tape.known_until == (t + 2000) * ms + 1
    live.add([quote(2, t + 1900, 98.0, 99.0, 1.0, 1.0), quote(3, t + 2100, 97.0, 98.0, 1.0, 1.0)], r)
    assert live.report()["quotes"] == {"rows_read": 3, "rows_kept": 2, "rejected": {"late": 1}}
    assert tape.quotes(0, 2**62)["timestamp"].array.asi8.tolist() == [(t + 100) * ms, (t + 2100) * ms]

    tape = TickTape()
    live = LiveBars("2t", grace="500ms", name="test", options=BarOptions(footprint=False), tape=tape)
    assert live.add([quote(1, t + 100, 99.0, 100.0, 1.0, 1.0), trade(1, t + 200, 100.0, 1.0),
                     trade(2, t + 300, 101.0, 1.0), trade(3, t + 300, 102.0, 1.0)], r).empty
    assert tape.known_until == (t + 100) * ms  # bar t+300 is made; neither a later trade nor quote: it waits
    assert live.close_due(r + 499_000_000).empty  # the exchange clock: t + 799 ms, inside the grace
    closed = live.close_due(r + 500_000_000)  # t + 800 ms: past t + 300 by the grace
    assert list(closed.index) == [pd.Timestamp(t + 300, unit="ms", tz="UTC")] and closed.iloc[0].close == 101.0
    assert tape.known_until == (t + 300) * ms + 1
    assert live.add([trade(4, t + 300, 103.0, 1.0), trade(5, t + 400, 104.0, 1.0)], r).empty
    assert live.report()["rejected"] == {"late": 1}
    assert tape.trades(0, 2**62)["price"].tolist() == [100.0, 101.0, 102.0, 104.0]


def test_simulate_on_a_live_tape_gives_the_fills_of_the_whole_capture():
    """A LiveTape is a Tape: ``simulate(orders, live_tape)`` reads it by windows (``[start, end)``, as a file
    tape). On the capture's first half (the stream going on) the fills are those of the whole capture
    stamped before what the tape knows; once the stream has ended, all of them, exactly. Its windows are
    those of a file tape of the same ticks and quotes: an event stamped at a window's end is not in it."""
    need_captures()
    from data.live.tape import TickTape
    from execution import FileTape, simulate
    from execution import replay as replay_of
    from execution.live import LiveTape

    ticks, quotes = load_ticks(BTC), load_quotes(BTC)
    tts, qts = ticks["timestamp"].array.asi8, quotes["timestamp"].array.asi8
    rng = np.random.default_rng(11)
    sent = np.sort(rng.integers(tts[0], tts[-1] - 60 * 10**9, 24))
    touch = np.searchsorted(qts, sent, side="right") - 1
    side = rng.choice([1, -1], 24)
    kind = np.array(["limit", "market", "stop", "limit"] * 6)
    bid, ask = quotes["bid"].to_numpy()[touch], quotes["ask"].to_numpy()[touch]
    price = np.select([kind == "market", kind == "limit"], [np.nan, np.where(side > 0, bid, ask)],
                      np.where(side > 0, ask + 5, bid - 5))
    orders = pd.DataFrame({"id": range(24), "time": pd.DatetimeIndex(sent.view("M8[ns]")).tz_localize("UTC"),
                           "side": side, "type": kind, "price": price, "size": rng.integers(1, 30, 24) / 10})
    want = simulate(orders, replay_of(BTC), queue="risk_averse", tick_size=0.1)
    tape = TickTape()
    live = LiveTape(tape, tick_size=0.1, name="tape")
    half = tts[len(tts) // 2]
    tape.add_trades(ticks[tts <= half])
    tape.add_quotes(quotes[qts <= half])
    known = live.known_until
    assert known == half  # a later trade may still be stamped ``half``
    got = simulate(orders[sent < known], live, queue="risk_averse")
    pd.testing.assert_frame_equal(got, want[want["time"].array.asi8 < known].reset_index(drop=True), check_exact=True)
    assert 10 <= len(got) < len(want)
    tape.add_trades(ticks[tts > half])
    tape.add_quotes(quotes[qts > half])
    tape.end()
    assert live.end_ns == max(tts[-1], qts[-1]) + 1
    got = simulate(orders, live, queue="risk_averse")
    assert (want["liquidity"] == "maker").sum() >= 10
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    frame = ticks[["timestamp", "price", "size", "side"]]
    on_file = FileTape(frame, quotes=quotes, book=True, tick_size=0.1)
    start, end = int(tts[100]), int(tts[5000])  # a trade is stamped at the end: in neither window
    a, b = live.window(start, end), on_file.window(start, end)
    assert a.time[-1] < end and a.time[-1] == b.time[-1] and a.book.bid[-1] == b.book.bid[-1]
    assert np.array_equal(a.time[a.time >= start], b.time[b.time >= start])  # (the file's leads with a tick)
    assert np.array_equal(a.trades.price[a.time[a.trades.seq] >= start], b.trades.price[b.time[b.trades.seq] >= start])


def test_windows_of_a_growing_tape_give_the_fills_of_the_whole_capture():
    """The capture's trades and quotes put on a tape in 12 steps; at each, orders sent so far (limit orders
    at the touch, market and stop orders) are simulated on the window from their send time to what the tape
    knows: the fills up to that time never change from one step to the next, and at the end they are those
    of the whole file, exactly, for each queue model."""
    need_captures()
    from data.live.tape import TickTape
    from execution import replay as replay_of
    from execution import simulate
    from execution.live import MARGIN_NS, LiveTape

    ticks, quotes = load_ticks(BTC), load_quotes(BTC)
    rng = np.random.default_rng(3)
    t0, t1 = ticks["timestamp"].array.asi8[[0, -1]]
    sent = np.sort(rng.integers(t0, t1 - 60 * 10**9, 16))
    qts = quotes["timestamp"].array.asi8
    touch = np.searchsorted(qts, sent, side="right") - 1
    side = rng.choice([1, -1], 16)
    kind = np.array(["limit", "market", "stop", "limit"] * 4)
    bid, ask = quotes["bid"].to_numpy()[touch], quotes["ask"].to_numpy()[touch]
    price = np.select([kind == "market", kind == "limit"], [np.nan, np.where(side > 0, bid, ask)],
                      np.where(side > 0, ask + 5, bid - 5))
    orders = pd.DataFrame({"id": range(16), "time": pd.DatetimeIndex(sent.view("M8[ns]")).tz_localize("UTC"),
                           "side": side, "type": kind, "price": price, "size": rng.integers(1, 30, 16) / 10})
    whole = replay_of(BTC)
    tts = ticks["timestamp"].array.asi8
    for model in ("risk_averse", "prob:2", "through"):
        tape = TickTape()
        live = LiveTape(tape, tick_size=0.1, name="tape")
        final = None
        cuts = np.linspace(t0, t1, 13).astype(np.int64)
        for lo, hi in zip(cuts[:-1], cuts[1:]):
            tape.add_trades(ticks[(tts > lo if lo > t0 else tts >= lo) & (tts <= hi)])
            tape.add_quotes(quotes[(qts > lo if lo > t0 else qts >= lo) & (qts <= hi)])
            known = live.known_until
            due = orders[sent <= known]
            if not len(due):
                continue
            fills = simulate(due, live.window(int(sent[0]) - MARGIN_NS, known), queue=model, tick_size=0.1)
            fills = fills[fills["time"].array.asi8 <= known].reset_index(drop=True)
            if final is not None:
                pd.testing.assert_frame_equal(fills.iloc[:len(final)], final, check_exact=True)
            final = fills
        tape.end()
        fills = simulate(orders, live.window(int(sent[0]) - MARGIN_NS, live.known_until), queue=model, tick_size=0.1)
        want = simulate(orders, whole, queue=model, tick_size=0.1)
        assert (want["liquidity"] == "maker").sum() >= 50
        pd.testing.assert_frame_equal(fills, want, check_exact=True)


def test_a_dropped_connection_shows_the_gap_and_the_run_goes_on():
    """The replay cuts the connection after 30,000 messages and loses the next 2 s of exchange time: the
    feed tells CONNBROKEN, reconnects (CONNECTED, LIVE), reports the gap with the trade ids around it,
    and its bars are those of the capture without the lost messages."""
    need_captures()
    from research.live import LiveSource, run_live
    from strategies.cvd_trend import CvdTrend

    class Noting(CvdTrend):
        statuses: list[str] = []

        def notify_data(self, data, status, *args, **kwargs):
            Noting.statuses.append(data._getstatusname(status))

    merged = merged_wanted([BTC])
    cut = 30_000
    drop_time = merged["timestamp"].iloc[cut - 1]
    lost = merged.iloc[cut:][merged["timestamp"].iloc[cut:] <= drop_time + pd.Timedelta("2s")]
    lost_trades = int((lost["kind"] == "trade").sum())
    trades_before = int((merged["kind"].iloc[:cut] == "trade").sum())
    quotes_before = int((merged["kind"].iloc[:cut] == "bookTicker").sum())
    ids = read_binance_stream(BTC, quotes=False, trade_ids=True)["trades"]["trade_id"].to_numpy()
    with replay(str(BTC), "--speed", "max", "--drop-after", str(cut), "--outage", "2s") as (server, url):
        result = run_live(_config("5s", Noting), LiveSource(url, "BTCUSDT", idle_stop=2.0), qcheck=0.2,
                          first_delay=0.1)
        server.wait_for("dropped 1 connection")
    assert Noting.statuses == ["CONNECTED", "LIVE", "CONNBROKEN", "CONNECTED", "LIVE", "DISCONNECTED"]
    report = result.load_report
    assert lost_trades > 0
    assert [(g["last_trade_id"], g["first_trade_id"], g["missed_trades"]) for g in report["gaps"]] == [
        (int(ids[trades_before - 1]), int(ids[trades_before + lost_trades]), lost_trades)]
    assert [e["event"] for e in report["connections"]] == ["connected", "lost", "connected", "ended"]
    ticks = load_ticks(BTC)
    ticks = ticks.drop(index=range(trades_before, trades_before + lost_trades)).reset_index(drop=True)
    quotes = load_quotes(BTC)
    lost_quotes = int((lost["kind"] == "bookTicker").sum())
    quotes = quotes.drop(index=range(quotes_before, quotes_before + lost_quotes)).reset_index(drop=True)
    expected = make_bars(ticks, "5s", quotes=quotes, tick_size=0.1)
    pd.testing.assert_frame_equal(result.bars, expected, check_exact=True)
    assert result.bars.index[-1] == pd.Timestamp("2024-08-09 00:00:00", tz="UTC")  # the run went on to the end


def synthetic_capture(path: Path, n: int = 20_000, per_second: int = 200, seed: int = 5,
                      ms: np.ndarray | None = None, sells: np.ndarray | None = None, quotes: int | None = None) -> Path:
    """A capture of ``n`` trades ``1000 / per_second`` ms apart (each its own aggressor order), each after a
    quote: so that the first block of 10,000 large-order sizes, which the first bars wait for, comes
    half-way through it. ``ms``: each trade's time instead, in ms after the first; ``sells``: which trades
    are sells (else half of them at random); ``quotes``: only the first that many trades follow a quote."""
    import gzip

    rng = np.random.default_rng(seed)
    price = 50_000 + np.cumsum(rng.choice([-0.1, 0.0, 0.1], n)).round(1)
    sells = rng.random(n) < 0.5 if sells is None else np.asarray(sells, bool)
    sizes = rng.integers(1, 50, n) / 1000
    lines = []
    for k in range(n):
        at = BASE_MS + (k * 1000 // per_second if ms is None else int(ms[k]))
        if quotes is None or k < quotes:
            lines.append(f"{at * 1_000_000} {quote(k, at, round(price[k] - 0.1, 1), price[k], 1.5, 2.5)}")
        lines.append(f"{at * 1_000_000} {trade(k + 1, at, price[k], sizes[k], sell=bool(sells[k]))}")
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    return path


def test_live_command_line_writes_as_it_goes_reports_the_gap_and_stops_on_sigterm(tmp_path):
    """``run_backtest.py --live`` against a replay at 20 times the recorded pace (100 s of 200 trades a
    second) that cuts the connection 75 s in (after trade 15,000) and loses 1 s: metrics.json, trades.csv
    and equity.csv appear and grow while it runs, the lost connection and the gap (the 200 trades of the
    outage and those that passed while the feed reconnected: the replay keeps its pace) are said on
    stderr and kept in metrics.json, SIGTERM ends it with the report, status 0."""
    capture = synthetic_capture(tmp_path / "synthetic.gz")
    out = tmp_path / "out"
    drop = pd.Timestamp(BASE_MS + 75_000, unit="ms", tz="UTC")
    with replay(str(capture), "--speed", "20", "--drop-at", str(drop), "--outage", "1s") as (server, url):
        run = Process("run_backtest.py", "--live", url, "--symbol", "BTCUSDT", "--instrument", "BTC-PERP", "--bars",
                      "5s", "--param", "slope_period=3", "--write-every", "0.2", "--out", str(out), "--no-plot")
        try:
            run.wait_for("Live: cvd_trend on BTCUSDT", timeout=60)
            counts = []
            deadline = time.monotonic() + 40
            while time.monotonic() < deadline and (len(counts) < 2 or counts[-1] == counts[0]):
                if (out / "metrics.json").exists():
                    counts.append(json.loads((out / "metrics.json").read_text())["bar_count"])
                    assert (out / "trades.csv").exists() and (out / "equity.csv").exists()
                time.sleep(0.2)
            assert len(counts) >= 2 and counts[-1] > counts[0], counts  # written as the run goes
            server.wait_for("replay finished", timeout=30)
            time.sleep(3.0)  # the last bar closes on the grace period (1 s past its end, on the exchange's clock)
        finally:
            code = run.stop(signal.SIGTERM)
    assert code == 0, run.output
    assert "live: connection lost at" in run.output and "live: reconnected at" in run.output and "Metrics" in run.output
    said = re.search(r"live: gap of ([\d,]+) trade\(s\) between trade ids 15000 and (\d+)", run.output)
    missed = int(said.group(1).replace(",", ""))
    assert missed >= 200 and int(said.group(2)) == 15_000 + missed + 1  # the outage, and what passed while away
    document = json.loads((out / "metrics.json").read_text())
    assert document["bar_count"] == 20  # 100 s of 5s bars, all closed
    gaps = document["load_report"]["gaps"]
    assert [(g["last_trade_id"], g["first_trade_id"], g["missed_trades"]) for g in gaps] == [
        (15_000, 15_001 + missed, missed)]
    assert document["load_report"]["rows_kept"] == 20_000 - missed
    assert len(pd.read_csv(out / "equity.csv")) == 20


def test_live_command_line_errors(tmp_path):
    from run_backtest import main

    cases = {
        ("--live", "ws://127.0.0.1:9", "--instrument", "BTC-PERP"): "--live needs --symbol",
        ("data.csv", "--live", "ws://127.0.0.1:9", "--symbol", "BTCUSDT"): "takes no DATA",
        ("--live", "ws://127.0.0.1:9", "--symbol", "BTCUSDT"): "tick size",
        ("--live", "http://127.0.0.1:9", "--symbol", "BTCUSDT", "--instrument", "BTC-PERP"): "bad WebSocket address",
        ("--live", "ws://127.0.0.1:9", "--symbol", "BTCUSDT", "--instrument", "BTC-PERP", "--grace", "soon"): "bad grace",
        ("--live", "ws://127.0.0.1:9", "--symbol", "BTCUSDT", "--instrument", "BTC-PERP", "--sweep", "slope_period=2,3"):
            "--sweep does not apply",
        ("--live", "ws://127.0.0.1:9", "--symbol", "BTCUSDT", "--instrument", "BTC-PERP", "--fills", "book", "--queue",
         "fifo"): "queue fifo needs order ids (Databento MBO, LOBSTER): a live Binance stream has none",
        ("--live", "ws://127.0.0.1:9", "--symbol", "BTCUSDT", "--instrument", "BTC-PERP", "--fills", "trades",
         "--queue", "risk_averse"): "--fills trades has no book to queue in",
        ("--live", "ws://127.0.0.1:9", "--symbol", "BTCUSDT", "--instrument", "BTC-PERP", "--fills", "book",
         "--latency", "feed"): "latency feed needs the feed's receive times",
        ("--live", "ws://127.0.0.1:9", "--symbol", "BTCUSDT", "--instrument", "BTC-PERP", "--timeframes", "5min",
         "--developing"): "--developing needs the bars of files",
        ("--live", "ws://127.0.0.1:9", "--symbol", "BTCUSDT", "--instrument", "BTC-PERP", "--timeframes", "500t"):
            "a live run's coarser timeframes are time or session bars",
    }
    for args, message in cases.items():
        err = _stderr_of(main, [*args, "--out", str(tmp_path / "out")])
        assert err.count("\n") == 1 and err.startswith("error: ") and message in err, (args, err)


def test_live_run_with_no_server_ends_with_one_error_line(tmp_path, capfd):
    """Nothing listens: the feed keeps retrying until --idle-stop, then the run says no bar came."""
    from run_backtest import main

    started = time.monotonic()
    code = main(["--live", "ws://127.0.0.1:9", "--symbol", "BTCUSDT", "--instrument", "BTC-PERP", "--idle-stop", "1",
                 "--out", str(tmp_path / "out")])
    err = capfd.readouterr().err
    assert code == 2 and "error: no bar came from ws://127.0.0.1:9 (BTCUSDT)" in err
    assert time.monotonic() - started < 15


def _stderr_of(main, argv) -> str:
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        assert main(argv) == 2
    return err.getvalue()


# --------------------------------------------------------------------------- the recorder


def _read_back(path: Path) -> dict[str, pd.DataFrame]:
    got = read_binance_stream(path)
    return {k: v.drop(columns=["receive_time", "line"]).reset_index(drop=True) for k, v in got.items()}


def test_a_recorder_pointed_at_the_replay_writes_captures_that_read_back_to_the_originals(tmp_path):
    """Two symbols on one connection: each file reads back to its original's trades and quotes (in
    exchange-time order, as load_ticks and load_quotes give them), through the capture reader and
    through load_ticks / load_quotes; every line carries a receive time in ns."""
    need_captures()
    out = tmp_path / "captures"
    with replay(str(BTC), str(ETH), "--speed", "max") as (server, url):
        recorder = Process("-m", "data.record", "binance-futures", "BTCUSDT", "ETHUSDT", "--url", url, "--out", str(out))
        try:
            server.wait_for("replay finished", timeout=60)
            time.sleep(1.5)  # the last second is flushed
        finally:
            code = recorder.stop(signal.SIGTERM)
    assert code == 0, recorder.output
    assert "BTCUSDT: 87,402 messages, 0 gap note(s)" in recorder.output
    for symbol, original in (("btcusdt", BTC), ("ethusdt", ETH)):
        [path] = sorted(out.glob(f"binance-futures_{symbol}_*.gz"))
        assert re.fullmatch(rf"binance-futures_{symbol}_\d{{8}}\.gz", path.name)
        expected = _read_back(original)
        got = _read_back(path)
        for kind in ("trades", "quotes"):
            pd.testing.assert_frame_equal(got[kind], expected[kind].sort_values("timestamp", kind="stable")
                                          .reset_index(drop=True), check_exact=True)
        pd.testing.assert_frame_equal(load_ticks(path), load_ticks(original), check_exact=True, check_like=False)
        assert load_quotes(path).reset_index(drop=True).equals(load_quotes(original).reset_index(drop=True))
        assert read_binance_stream(path)["trades"]["receive_time"].notna().all()


def test_a_killed_recorder_leaves_files_the_reader_reads(tmp_path):
    """SIGKILL in the middle of a paced replay: the file is whole gzip members; it reads back to the
    first trades of the original, ids without a hole, up to the last flush."""
    need_captures()
    out = tmp_path / "captures"
    with replay(str(BTC), "--speed", "20") as (server, url):
        recorder = Process("-m", "data.record", "binance-futures", "BTCUSDT", "--url", url, "--out", str(out))
        try:
            recorder.wait_for("connected to", timeout=60)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not list(out.glob("*.gz")):
                time.sleep(0.2)
            time.sleep(2.0)
        finally:
            recorder.stop(signal.SIGKILL)
    [path] = list(out.glob("*.gz"))
    trades = read_binance_stream(path, trade_ids=True)["trades"]
    original = read_binance_stream(BTC, trade_ids=True)["trades"]
    assert 0 < len(trades) < len(original)
    assert np.array_equal(trades["trade_id"].to_numpy(), original["trade_id"].to_numpy()[:len(trades)])
    assert np.array_equal(trades["price"].to_numpy(), original["price"].to_numpy()[:len(trades)])


def test_a_recorder_notes_the_gap_of_a_reconnection(tmp_path):
    """The replay cuts the connection after 20,000 messages and loses 2 s: the recorder reconnects,
    writes one gap note with the last trade id before and the first after, and the capture reads back
    to the original without the lost trades; the load report counts the note as recorder_gap."""
    need_captures()
    merged = merged_wanted([BTC])
    cut = 20_000
    drop_time = merged["timestamp"].iloc[cut - 1]
    lost = merged.iloc[cut:][merged["timestamp"].iloc[cut:] <= drop_time + pd.Timedelta("2s")]
    lost_trades = int((lost["kind"] == "trade").sum())
    before = int((merged["kind"].iloc[:cut] == "trade").sum())
    ids = read_binance_stream(BTC, quotes=False, trade_ids=True)["trades"]["trade_id"].to_numpy()
    out = tmp_path / "captures"
    with replay(str(BTC), "--speed", "max", "--drop-after", str(cut), "--outage", "2s") as (server, url):
        recorder = Process("-m", "data.record", "binance-futures", "BTCUSDT", "--url", url, "--out", str(out))
        try:
            server.wait_for("replay finished", timeout=60)
            time.sleep(1.5)
        finally:
            code = recorder.stop(signal.SIGTERM)
    assert code == 0, recorder.output
    assert "connection lost" in recorder.output and "gap in BTCUSDT" in recorder.output
    [path] = list(out.glob("*.gz"))
    import gzip

    notes = [json.loads(line.split(" ", 1)[1]) for line in gzip.decompress(path.read_bytes()).decode().splitlines()
             if '"e":"gap"' in line]
    assert [(n["last_trade_id"], n["first_trade_id"], n["missed_trades"]) for n in notes] == [
        (int(ids[before - 1]), int(ids[before + lost_trades]), lost_trades)]
    ticks = load_ticks(path)
    report = ticks.attrs["load_report"]
    assert report["rejected"]["recorder_gap"] == 1 and any("gap(s)" in n for n in report["notes"])
    expected = load_ticks(BTC).drop(index=range(before, before + lost_trades)).reset_index(drop=True)
    pd.testing.assert_frame_equal(ticks.reset_index(drop=True), expected, check_exact=True)


def test_capture_files_never_write_into_a_file_they_did_not_open(tmp_path):
    """A second recorder on the same day starts ``-2``; a file is valid gzip after each write."""
    day = 19_723  # 2024-01-01
    first, second = CaptureFiles(tmp_path, "binance-futures", "BTCUSDT"), CaptureFiles(tmp_path, "binance-futures", "BTCUSDT")
    first.write([f"1704067200000000000 {trade(1, 1704067200000, 1.0, 1.0)}\n"], day)
    second.write([f"1704067201000000000 {trade(2, 1704067201000, 1.0, 1.0)}\n"], day)
    first.write([f"1704067202000000000 {trade(3, 1704067202000, 1.0, 1.0)}\n"], day)
    first.write([f"1704153600000000000 {trade(4, 1704153600000, 1.0, 1.0)}\n"], day + 1)
    for files in (first, second):
        files.close()
    assert [p.name for p in first.paths] == ["binance-futures_btcusdt_20240101.gz", "binance-futures_btcusdt_20240102.gz"]
    assert [p.name for p in second.paths] == ["binance-futures_btcusdt_20240101-2.gz"]
    ids = [read_binance_stream(p, trade_ids=True)["trades"]["trade_id"].tolist() for p in first.paths + second.paths]
    assert ids == [[1, 3], [4], [2]]


def test_the_reader_counts_gap_notes(tmp_path):
    import gzip

    note = gap_note("btcusdt", reason="connection closed", last_trade=2, first_trade=5, lost_from=1_000_000_000,
                    lost_to=2_000_000_000)
    assert json.loads(note)["missed_trades"] == 2
    lines = [trade(1, BASE_MS, 100.0, 1.0), trade(2, BASE_MS + 1, 100.0, 1.0), note, trade(5, BASE_MS + 2, 100.0, 1.0)]
    path = tmp_path / "c.gz"
    path.write_bytes(gzip.compress("".join(f"{1_700_000_000_000_000_000 + k} {line}\n" for k, line in enumerate(lines))
                                   .encode()))
    ticks = load_ticks(path)
    report = ticks.attrs["load_report"]
    assert len(ticks) == 3 and report["rejected"] == {"recorder_gap": 1}
    assert any("noted 1 gap(s)" in n for n in report["notes"])


def test_without_websockets_the_live_commands_say_what_to_install(tmp_path, monkeypatch):
    from run_backtest import main

    monkeypatch.setitem(sys.modules, "websockets", None)  # as if it were not installed
    err = _stderr_of(main, ["--live", "ws://127.0.0.1:9", "--symbol", "BTCUSDT", "--instrument", "BTC-PERP",
                            "--out", str(tmp_path / "out")])
    assert err == "error: live data needs the websockets package: pip install 'orderflow-bt[live]' (or pip install websockets)\n"
