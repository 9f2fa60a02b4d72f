"""Benchmark: months of ticks from a tick store, in bounded memory.

    python -m tests.benchmarks.bench_store [--ticks 10000000,100000000] [--dir DIR]

For each size, synthetic ticks (tests.benchmarks.common, one million a day) are written
into a store day by day (never all in memory), then a fresh subprocess streams them into
1-minute bars with every line (``make_bars(scan_ticks(store))``) and reports its peak
resident memory (``VmHWM``), its throughput (wall clock) and its CPU time (all its
threads: the store's reader and the bars; see data.bars.stream), with the load average,
since on a shared machine the wall clock says as much about the neighbours as about the
code. Three such processes run in turn: the fastest is reported (every figure of ``make
bench`` is a best of a few), the slowest beside it, and the highest peak memory.
Also: ``load_ticks`` of one Parquet file against ``pyarrow.parquet.read_table(...).to_pandas()`` of the same file, and the
time a run on cached bars of a month of 1-minute bars takes to reach the first
strategy bar (a fresh process: cached_bars -> OrderFlowFeed -> Cerebro -> first next()).

Times exclude starting Python and importing the packages (reported apart for the first bar).

Targets: peak RSS <= 2 GB at 100M ticks and within 1.3x of the 10M figure;
>= 15M ticks/s end to end; load_ticks >= 0.5x raw pyarrow; first bar < 1 s.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from data.store.dataset import TickStore
from tests.benchmarks.common import best_of, synthetic_ticks

REPO = Path(__file__).resolve().parents[2]
PER_DAY = 1_000_000
DAY0 = pd.Timestamp("2024-01-02", tz="UTC")

_STREAM = """
import json, os, resource, sys, time
from data import make_bars, retain_freed_memory, scan_ticks
retain_freed_memory()  # as the command line does
def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
def peak_rss_mb():
    # VmHWM: this process image's own peak (ru_maxrss can carry the parent's RSS over fork + exec)
    try:
        with open("/proc/self/status") as status:
            return next(int(l.split()[1]) for l in status if l.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
cpu0, start = cpu(), time.perf_counter()
bars = make_bars(scan_ticks(sys.argv[1], progress=False), "1min", tick_size=0.25)
seconds, cpu_seconds = time.perf_counter() - start, cpu() - cpu0
report = bars.attrs["load_report"]
print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "load": os.getloadavg()[0], "bars": len(bars),
                  "ticks": report["rows_kept"], "columns": bars.shape[1],
                  "peak_rss_mb": peak_rss_mb()}))
"""

_FIRST_BAR = """
import json, sys, time
launched = time.perf_counter()
import backtrader as bt
from data import OrderFlowFeed, cached_bars, retain_freed_memory
retain_freed_memory()  # as the command line does
start = time.perf_counter()
bars, info = cached_bars(sys.argv[1], "1min", cache_dir=sys.argv[2], tick_size=0.25, progress=False)
seen = {}
class First(bt.Strategy):
    def next(self):
        if not seen:
            seen["t"] = time.perf_counter() - start
            seen["imports"] = start - launched
            self.env.runstop()
cerebro = bt.Cerebro(stdstats=False)
cerebro.adddata(OrderFlowFeed.from_bars(bars))
cerebro.addstrategy(First)
cerebro.run()
print(json.dumps({"first_bar_s": seen["t"], "imports_s": seen["imports"], "hit": info["hit"], "bars": len(bars)}))
"""


def fill_store(root: Path, n_ticks: int, per_day: int = PER_DAY, trades_per_second: float = 50.0) -> TickStore:
    """Write ``n_ticks`` synthetic ticks into a store, ``per_day`` a day (one day in memory)."""
    store = TickStore.create(root)
    day = 0
    left = n_ticks
    while left > 0:
        count = min(per_day, left)
        ticks = synthetic_ticks(count, seed=day, trades_per_second=trades_per_second)
        midnight = DAY0 + pd.Timedelta(days=day)
        ticks["timestamp"] += midnight - ticks["timestamp"].iloc[0].floor("h")  # the session's hour, on this day
        ticks = ticks[ticks["timestamp"] < midnight + pd.Timedelta(days=1)]
        store.write_day("ES", midnight.strftime("%Y-%m-%d"), ticks)
        left -= count
        day += 1
    return store


def _child(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], cwd=REPO, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def stream_figures(n_ticks: int, workdir: Path, repeat: int = 3) -> dict:
    """The fastest of ``repeat`` fresh processes streaming the store into bars (as every figure of
    ``make bench`` is a best of a few), with the slowest beside it and the highest peak memory of all."""
    root = workdir / f"store_{n_ticks}"
    start = time.perf_counter()
    fill_store(root, n_ticks)
    filled = time.perf_counter() - start
    runs = [_child(_STREAM, str(root)) for _ in range(repeat)]
    result = min(runs, key=lambda r: r["seconds"])
    result.update(n_ticks=n_ticks, fill_s=filled, ticks_per_s=n_ticks / result["seconds"], runs=len(runs),
                  slowest_ticks_per_s=n_ticks / max(r["seconds"] for r in runs),
                  peak_rss_mb=max(r["peak_rss_mb"] for r in runs),
                  store_mb=sum(p.stat().st_size for p in root.rglob("*.parquet")) / 1e6)
    return result


def parquet_load_ratio(n_ticks: int, workdir: Path) -> dict:
    import pyarrow.parquet as pq

    from data import load_ticks

    path = workdir / "one.parquet"
    synthetic_ticks(n_ticks).to_parquet(path, index=False)
    ours = best_of(lambda: load_ticks(path))
    raw = best_of(lambda: pq.read_table(path).to_pandas())
    return {"load_ticks_s": ours, "pyarrow_s": raw, "ratio": raw / ours}


def first_bar_figures(workdir: Path) -> dict:
    """A month (30 days) of round-the-clock trading, 3 trades a second: ~43,000 1-minute bars."""
    root = workdir / "month"
    fill_store(root, 30 * 250_000, per_day=250_000, trades_per_second=3.0)
    cache = workdir / "cache"
    cold = _child(_FIRST_BAR, str(root), str(cache))
    warm = _child(_FIRST_BAR, str(root), str(cache))
    return {"bars": warm["bars"], "cold_s": cold["first_bar_s"], "warm_s": warm["first_bar_s"], "hit": warm["hit"],
            "imports_s": warm["imports_s"]}


def run(n_ticks: int = 1_000_000, sizes: list[int] | None = None, directory: str | None = None) -> dict:
    """Print and return the figures at ``sizes`` (default ``n_ticks`` and 10x that)."""
    sizes = sizes or [n_ticks, 10 * n_ticks]
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        work = Path(tmp)
        streams = []
        for n in sizes:
            r = stream_figures(n, work)
            streams.append(r)
            print(f"store -> 1min bars, every line: {n:>12,} ticks ({r['store_mb']:,.0f} MB on disk) -> {r['bars']:,} bars "
                  f"in {r['seconds']:.1f} s = {r['ticks_per_s'] / 1e6:.1f}M ticks/s (best of {r['runs']}; slowest "
                  f"{r['slowest_ticks_per_s'] / 1e6:.1f}M), peak RSS {r['peak_rss_mb']:,.0f} MB "
                  f"(CPU {r['cpu_seconds']:.1f} s = {n / r['cpu_seconds'] / 1e6:.1f}M ticks per CPU-second; "
                  f"load average {r['load']:.1f} on {os.cpu_count()} cores)")
            for path in (work / f"store_{n}").rglob("*.parquet"):
                path.unlink()
        growth = streams[-1]["peak_rss_mb"] / streams[0]["peak_rss_mb"]
        print(f"peak RSS {sizes[-1]:,} / {sizes[0]:,} ticks: {growth:.2f}x (target <= 1.3x; <= 2,048 MB)")
        load = parquet_load_ratio(min(n_ticks, 5_000_000), work)
        print(f"load_ticks of one Parquet file: {load['load_ticks_s']:.2f} s vs pyarrow read_table().to_pandas() "
              f"{load['pyarrow_s']:.2f} s -> {load['ratio']:.2f}x its rate (target >= 0.5x)")
        first = first_bar_figures(work)
        print(f"cached month of 1-minute bars ({first['bars']:,}): first strategy bar {first['warm_s']:.2f} s after "
              f"the imports (cache hit; building them: {first['cold_s']:.1f} s; importing backtrader and data "
              f"first: {first['imports_s']:.2f} s) (target < 1 s)")
    return {"streams": streams, "growth": growth, "load": load, "first_bar": first}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", default="10000000,100000000", help="store sizes, comma-separated")
    parser.add_argument("--dir", help="where to write the stores (default: the system's temporary folder)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.ticks.split(",")]
    run(sizes[0], sizes, args.dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
