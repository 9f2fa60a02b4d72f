"""`make bench`: throughput of loading, aggregation, the metrics and the feed, from one run.

Prints ticks/s for CSV load, Parquet load and aggregation into 1-minute bars at 1M and
5M ticks; the original metrics function against ours on the same ticks (a ratio); and
loading the same bars into Cerebro through OrderFlowFeed against PandasData (a ratio).
Every figure is the best of a few repeats; compare ratios taken in one run, not figures
across machines. Other benchmark modules (``bench_*.py`` with ``run(n_ticks) -> dict``)
are run too.
"""
from __future__ import annotations

import argparse
import pkgutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable

import backtrader as bt
import numpy as np
import pandas as pd

from data import OrderFlowFeed, load_ticks, make_bars, order_flow_metrics
from data.schema import BAR_COLUMNS
from tests.benchmarks.common import best_of, synthetic_ticks
from tests.test_metrics import original_metrics

TARGETS = {"aggregate_core": 10e6, "csv": 2e6}


def preload_seconds(feed_factory: Callable[[], bt.feed.DataBase]) -> float:
    """Time for a feed to load all its bars into its line buffers (Cerebro's preload)."""
    def load() -> None:
        feed = feed_factory()
        bt.Cerebro().adddata(feed)
        feed._start()
        feed.preload()
    return best_of(load)


def cerebro_run_seconds(feed_factory: Callable[[], bt.feed.DataBase]) -> float:
    """Time for a whole Cerebro run of an empty strategy over the feed (preload + bar loop)."""
    def run() -> None:
        cerebro = bt.Cerebro(stdstats=False)
        cerebro.adddata(feed_factory())
        cerebro.addstrategy(bt.Strategy)
        cerebro.run()
    return best_of(run)


def bench_size(n: int, workdir: Path) -> dict[str, float]:
    ticks = synthetic_ticks(n)
    csv_path, parquet_path = workdir / f"ticks_{n}.csv", workdir / f"ticks_{n}.parquet"
    ticks.to_csv(csv_path, index=False)
    ticks.to_parquet(parquet_path, index=False)
    out = {
        "csv": n / best_of(lambda: load_ticks(csv_path)),
        "parquet": n / best_of(lambda: load_ticks(parquet_path)),
        "aggregate_core": n / best_of(lambda: make_bars(ticks, "1min", depth=False, footprint=False)),
        "aggregate": n / best_of(lambda: make_bars(ticks, "1min")),
    }
    original = pd.DataFrame({"Price": ticks["price"], "Volume": ticks["size"].astype(np.int64),
                             "BidSize": ticks["bid_size"].astype(np.int64),
                             "AskSize": ticks["ask_size"].astype(np.int64),
                             "TradeType": np.where(ticks["side"] == 1, 1, 2)})
    out["original_metrics_s"] = best_of(lambda: original_metrics(original))
    out["our_metrics_s"] = best_of(lambda: order_flow_metrics(original))
    return out


def feed_ratio(n_ticks: int = 1_000_000) -> dict[str, float]:
    ticks = synthetic_ticks(n_ticks)
    bars = make_bars(ticks, "1s")  # about 20,000 bars
    pandas_frame = bars.tz_localize(None)

    def ours() -> bt.feed.DataBase:
        return OrderFlowFeed.from_bars(bars, "1s")

    def theirs() -> bt.feed.DataBase:
        return bt.feeds.PandasData(dataname=pandas_frame, timeframe=bt.TimeFrame.Seconds,
                                   compression=1, openinterest=None)

    return {"bars": float(len(bars)),
            "ours_load": preload_seconds(ours), "pandas_load": preload_seconds(theirs),
            "ours_run": cerebro_run_seconds(ours), "pandas_run": cerebro_run_seconds(theirs)}


def other_benchmarks(n: int) -> None:
    """Run every ``bench_*.py`` module beside this one, each in a fresh process (each prints its
    own figures): none measures in a process that the others have filled with their data, threads
    and environment (forking worker processes from a heap of gigabytes, or inheriting the
    environment a Dask cluster writes into its parent's, changed their figures)."""
    here = Path(__file__).parent
    for module in pkgutil.iter_modules([str(here)]):
        if module.name.startswith("bench_"):
            code = f"from tests.benchmarks.{module.name} import run; run({int(n)})"
            done = subprocess.run([sys.executable, "-c", code], cwd=here.parents[1], capture_output=True, text=True)
            print(done.stdout, end="", flush=True)
            if done.returncode:
                raise RuntimeError(f"{module.name} failed:\n{done.stderr}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,5000000", help="tick counts, comma-separated")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    print("ticks/s: load_ticks from CSV and Parquet; make_bars into 1-minute bars with the core lines\n"
          "(OHLCV, delta, ... imbalance) and with every line (plus depth and footprint numbers);\n"
          "time of order_flow_metrics over the original script's formulas on the same ticks")
    print(f"{'ticks':>10} {'CSV load':>12} {'Parquet load':>13} {'bars, core':>12} {'bars, all':>12} "
          f"{'metrics ours/original':>22}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            r = bench_size(n, Path(tmp))
            print(f"{n:>10,} {r['csv']:>12,.0f} {r['parquet']:>13,.0f} {r['aggregate_core']:>12,.0f} "
                  f"{r['aggregate']:>12,.0f} {r['our_metrics_s'] / r['original_metrics_s']:>21.2f}x")
            for key, target in TARGETS.items():
                if r[key] < target:
                    print(f"  below target: {key} {r[key]:,.0f}/s < {target:,.0f}/s")
    f = feed_ratio()
    print(f"Loading {f['bars']:,.0f} bars into Cerebro (preload): OrderFlowFeed {f['ours_load']:.3f} s "
          f"({len(BAR_COLUMNS)} lines), PandasData {f['pandas_load']:.3f} s (OHLCV) -> "
          f"{f['pandas_load'] / f['ours_load']:.1f}x faster (target >= 2x)")
    print(f"Whole Cerebro run, empty strategy: OrderFlowFeed {f['ours_run']:.2f} s, PandasData "
          f"{f['pandas_run']:.2f} s -> {f['pandas_run'] / f['ours_run']:.1f}x")
    other_benchmarks(sizes[0])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
