"""Benchmark: the live feed and the recorder against the replay server, on the shared Binance captures.

    python -m tests.benchmarks.bench_live

- The live feed: each shared capture replayed at full speed by ``python -m data.replay`` (its own
  process, as the exchange is) through :class:`data.LiveOrderFlowFeed` in Cerebro with 1-minute
  bars and every line: how many times real time it keeps up with (the capture's span over the
  time from connecting to the last message made into bars; target >= 50x). Also the message
  path alone (:class:`data.live.bars.LiveBars` on the capture's messages in blocks of 500, no
  network).
- The recorder: ``python -m data.record`` pinned to one core, the replay server on the other,
  both captures at full speed: messages per second of the replay and per CPU-second of the
  recorder (target >= 5,000/s on one core); the files are checked to hold every message.
"""
from __future__ import annotations

import gzip
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from tests.conftest import REPO, SHARED

CAPTURES = SHARED / "realdata" / "binance_stream"
SHARED_CAPTURES = {"BTCUSDT": CAPTURES / "usdm_btcusdt_20240808.gz", "ETHUSDT": CAPTURES / "usdm_ethusdt_20240808.gz"}
TARGET_SPEED = 50.0
TARGET_RECORDER = 5_000.0


class _Server:
    """``python -m data.replay`` in its own process (on ``cores`` when given), its output lines kept."""

    def __init__(self, captures: list[Path], *args: str, cores: set[int] | None = None) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "data.replay", *map(str, captures), "--port", "0", *args],
                                     cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     preexec_fn=(lambda: os.sched_setaffinity(0, cores)) if cores else None)
        self.lines: list[str] = []
        self.done = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + 60
        while not any("ws://" in line for line in self.lines):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("the replay server did not start: " + "".join(self.lines))
            time.sleep(0.05)
        self.url = re.search(r"ws://[\d.]+:\d+", "".join(self.lines)).group(0)

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)
            if "replay finished" in line:
                self.done.set()

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(20)


def live_speed(symbol: str, path: Path, fills: str | None = None) -> dict[str, float]:
    """One capture at full speed through the live feed in Cerebro: times real time. ``fills``
    ("trades" / "book"): with the feed's tape and the paper broker of a live run on it."""
    import backtrader as bt

    from data.live.feed import LiveOrderFlowFeed
    from data.reading.readers.binance_stream import capture_messages

    times = capture_messages(path)["timestamp"]
    span = (times.max() - times.min()).total_seconds()
    server = _Server([path], "--speed", "max")
    idle = 0.5
    try:
        cerebro = bt.Cerebro(stdstats=False)
        tick = 0.1 if symbol == "BTCUSDT" else 0.01
        feed = LiveOrderFlowFeed(server.url, symbol, bars="1min", tick_size=tick, idle_stop=idle, qcheck=0.05,
                                 tape=fills is not None)
        if fills is not None:
            from execution.live import LiveExecutionBroker, LiveTape

            tape = LiveTape(feed.tape, tick_size=tick, name=symbol, book=fills == "book")
            cerebro.broker = LiveExecutionBroker(tape=tape, feed=feed,
                                                 queue="risk_averse" if fills == "book" else "through")
        cerebro.adddata(feed)
        cerebro.addstrategy(bt.Strategy)
        start = time.perf_counter()
        cerebro.run()
        wall = time.perf_counter() - start - idle  # the feed ends after idle_stop without a message
    finally:
        server.close()
    return {"span": span, "wall": wall, "speed": span / wall, "bars": float(len(feed.bars())),
            "messages": float(feed.live_bars.counts["messages"])}


def message_path(symbol: str, path: Path, block: int = 500) -> dict[str, float]:
    """The message path alone: LiveBars over the capture's trade and quote messages in blocks."""
    from data import BarOptions
    from data.live.bars import LiveBars

    lines = [line.split(" ", 1)[1] for line in gzip.decompress(path.read_bytes()).decode().splitlines()
             if '"e":"trade"' in line or '"e":"bookTicker"' in line]
    best = float("inf")
    for _ in range(3):
        live = LiveBars("1min", options=BarOptions(tick_size=0.1 if symbol == "BTCUSDT" else 0.01))
        start = time.perf_counter()
        for k in range(0, len(lines), block):
            live.add(lines[k:k + block], 0)
        live.finish()
        best = min(best, time.perf_counter() - start)
    return {"messages": float(len(lines)), "seconds": best}


def recorder_rate() -> dict[str, float]:
    """Both captures at full speed into ``python -m data.record`` on one core (the server on the other)."""
    cores = sorted(os.sched_getaffinity(0))
    recorder_core, server_core = {cores[0]}, {cores[-1]}
    server = _Server(list(SHARED_CAPTURES.values()), "--speed", "max", cores=server_core)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            recorder = subprocess.Popen(
                [sys.executable, "-m", "data.record", "binance-futures", *SHARED_CAPTURES, "--url", server.url,
                 "--out", tmp, "--quiet"], cwd=REPO, preexec_fn=lambda: os.sched_setaffinity(0, recorder_core))
            if not server.done.wait(120):
                raise RuntimeError("the replay did not finish")
            time.sleep(1.5)  # the last flush
            recorder.send_signal(signal.SIGTERM)
            _, status, usage = os.wait4(recorder.pid, 0)
            recorder.returncode = os.waitstatus_to_exitcode(status)
        finally:
            server.close()
        finished = re.search(r"replay finished: ([\d,]+) messages sent in ([\d.]+) s", "".join(server.lines))
        sent, seconds = int(finished.group(1).replace(",", "")), float(finished.group(2))
        recorded = sum(len(gzip.decompress(p.read_bytes()).splitlines()) for p in Path(tmp).glob("*.gz"))
    cpu = usage.ru_utime + usage.ru_stime
    return {"sent": float(sent), "recorded": float(recorded), "seconds": seconds, "rate": sent / seconds,
            "cpu": cpu, "cpu_rate": sent / cpu, "status": float(recorder.returncode),
            "same_core": float(recorder_core == server_core)}


def run(n: int = 0) -> None:
    """Print the figures (``n`` is not used: the shared captures are the data)."""
    if not all(p.exists() for p in SHARED_CAPTURES.values()):
        print(f"live: skipped, the shared captures are absent ({CAPTURES})")
        return
    try:
        import websockets  # noqa: F401
    except ImportError:
        print("live: skipped, websockets is not installed (pip install .[live])")
        return
    print("live feed: each shared capture replayed at full speed (python -m data.replay) into LiveOrderFlowFeed, "
          "1min bars, every line")
    for symbol, path in SHARED_CAPTURES.items():
        r = live_speed(symbol, path)
        m = message_path(symbol, path)
        mark = "" if r["speed"] >= TARGET_SPEED else f"  below target {TARGET_SPEED:.0f}x"
        print(f"  {symbol}: {r['messages']:,.0f} messages over {r['span']:.0f} s of exchange time in {r['wall']:.2f} s = "
              f"{r['speed']:.0f}x real time (target >= {TARGET_SPEED:.0f}x){mark}; {r['bars']:.0f} bars; message path alone "
              f"(LiveBars, blocks of 500) {m['messages'] / m['seconds']:,.0f} messages/s = "
              f"{r['span'] / m['seconds']:.0f}x real time")
    r = recorder_rate()
    mark = "" if r["cpu_rate"] >= TARGET_RECORDER else f"  below target {TARGET_RECORDER:,.0f}/s"
    where = "the same core as the server (one core here)" if r["same_core"] else "one core, the server on another"
    print(f"recorder (python -m data.record, {where}): {r['sent']:,.0f} messages of both captures at full speed in "
          f"{r['seconds']:.1f} s = {r['rate']:,.0f} messages/s; recorder CPU {r['cpu']:.2f} s = "
          f"{r['cpu_rate']:,.0f} messages per CPU-second (target >= {TARGET_RECORDER:,.0f}/s){mark}; "
          f"{r['recorded']:,.0f} lines written, exit status {r['status']:.0f}")


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
