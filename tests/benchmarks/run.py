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
import importlib
import pkgutil
import tempfile
import time
from pathlib import Path
from typing import Callable

import backtrader as bt
import numpy as np
import pandas as pd

from data import OrderFlowFeed, load_ticks, make_bars, order_flow_metrics
from data.schema import BAR_COLUMNS
from tests.test_metrics import original_metrics

TARGETS = {"aggregate": 10e6, "csv": 2e6}


def synthetic_ticks(n: int, seed: int = 7) -> pd.DataFrame:
    """n canonical ticks over about 20 trading hours (vectorised; for timing only)."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-03-04 14:30", tz="UTC").value
    gaps = rng.exponential(72e9 / max(n / 1000, 1), n).astype(np.int64)  # ~ n trades in 20 h
    side = rng.choice(np.array([-1, 1], dtype=np.int8), n)
    price = 5000 + np.cumsum(side * (rng.random(n) < 0.05)) * 0.25
    return pd.DataFrame({
        "timestamp": pd.to_datetime(start + np.cumsum(gaps), utc=True).as_unit("ns"),
        "price": price,
        "size": rng.integers(1, 20, n).astype(np.float64),
        "side": side,
        "bid": price - 0.25,
        "ask": price,
        "bid_size": rng.integers(1, 300, n).astype(np.float64),
        "ask_size": rng.integers(1, 300, n).astype(np.float64),
    })


def best_of(fn: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


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
        "aggregate": n / best_of(lambda: make_bars(ticks, "1min")),
    }
    original = pd.DataFrame({"Price": ticks["price"], "Volume": ticks["size"].astype(np.int64),
                             "BidSize": ticks["bid_size"].astype(np.int64),
                             "AskSize": ticks["ask_size"].astype(np.int64),
                             "TradeType": np.where(ticks["side"] == 1, 1, 2)})
    out["original_metrics_s"] = best_of(lambda: original_metrics(original))
    out["our_metrics_s"] = best_of(lambda: order_flow_metrics(original))
    return out


def feed_ratio(n_bars: int = 20_000) -> dict[str, float]:
    ticks = synthetic_ticks(n_bars * 50)
    bars = make_bars(ticks, "5s")
    pandas_frame = bars.tz_localize(None)

    def ours() -> bt.feed.DataBase:
        return OrderFlowFeed.from_bars(bars, "5s")

    def theirs() -> bt.feed.DataBase:
        return bt.feeds.PandasData(dataname=pandas_frame, timeframe=bt.TimeFrame.Seconds,
                                   compression=5, openinterest=None)

    return {"bars": float(len(bars)),
            "ours_load": preload_seconds(ours), "pandas_load": preload_seconds(theirs),
            "ours_run": cerebro_run_seconds(ours), "pandas_run": cerebro_run_seconds(theirs)}


def other_benchmarks(n: int) -> None:
    here = Path(__file__).parent
    for module in pkgutil.iter_modules([str(here)]):
        if module.name.startswith("bench_"):
            result = importlib.import_module(f"tests.benchmarks.{module.name}").run(n)
            print(f"{module.name}: " + ", ".join(f"{k} {v:,.0f}" if isinstance(v, float) else f"{k} {v}"
                                                 for k, v in result.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,5000000", help="tick counts, comma-separated")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{'ticks':>10} {'CSV load/s':>14} {'Parquet load/s':>15} {'1-min bars/s':>14} {'metrics ours/original':>22}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            r = bench_size(n, Path(tmp))
            print(f"{n:>10,} {r['csv']:>14,.0f} {r['parquet']:>15,.0f} {r['aggregate']:>14,.0f} "
                  f"{r['our_metrics_s'] / r['original_metrics_s']:>21.2f}x")
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
