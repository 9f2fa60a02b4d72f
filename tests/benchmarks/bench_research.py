"""Benchmark: a 16-set sweep on the bundled sample (serial, 2 local processes, a 2-worker Dask cluster),
memory per worker, and Backtrader's loop with our indicators against as many SMAs.

    python -m tests.benchmarks.bench_research

Targets: ``--jobs 2`` at most 0.6x the time of ``--jobs 1``; Dask within 1.2x of
``--jobs 2`` for the same work; the bars sent once per worker (a task is a few KB); our
indicators' loop at most 1.3x the same loop with as many SMAs, in both run modes. Figures on
a shared machine vary run to run: compare the ratios of one run.
"""
from __future__ import annotations

import contextlib
import os
import pickle
import threading
from typing import Any

import backtrader as bt

from data import OrderFlowFeed, retain_freed_memory
from indicators import CumulativeVolumeDelta, OrderBookImbalance, VolumeDelta
from research import RunConfig, engine
from research.executors import DaskExecutor, ProcessExecutor, SerialExecutor
from research.sweep import Task, parse_grid, point_config, sweep
from tests.benchmarks.common import best_of

GRID = ["slope_period=5,10,15,20", "min_slope=0,0.5,1,2"]  # 16 sets of cvd_trend
BARS = "1min"  # the command line's default: a run of cvd_trend on the week is ~0.4 s of Backtrader loop


class PeakRss:
    """Samples the resident memory of this process's children (the worker processes) every 50 ms."""

    def __init__(self) -> None:
        import psutil

        self.me, self.peaks, self._stop = psutil.Process(), {}, threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            for child in self.me.children(recursive=True):
                try:
                    self.peaks[child.pid] = max(self.peaks.get(child.pid, 0), child.memory_info().rss)
                except Exception:  # noqa: BLE001 - a child that just exited
                    pass

    def __enter__(self) -> "PeakRss":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self.thread.join()


def timed_sweep(base: RunConfig, executor: Any, repeat: int = 2) -> float:
    """The best of ``repeat`` whole sweeps (loading the bars included), in seconds."""
    axes = parse_grid(GRID, base.strategy)
    return best_of(lambda: sweep(base, axes, executor=executor, stats=False), repeat)


def sweep_figures(base: RunConfig, repeat: int = 3) -> dict[str, float]:
    """The best of ``repeat`` sweeps with each executor, taken in turns (serial, 2 processes, Dask),
    so that a slow spell of this shared machine hits all of them."""
    executors: dict[str, Any] = {"serial_s": SerialExecutor(), "jobs2_s": ProcessExecutor(2)}
    out: dict[str, float] = {key: float("inf") for key in executors}
    with contextlib.ExitStack() as stack:
        try:
            import psutil
            from distributed import Client, LocalCluster
        except ImportError:
            client = None
        else:
            environ = dict(os.environ)
            # the cluster sets its workers' environment in this process's (MALLOC_TRIM_THRESHOLD_,
            # OMP_NUM_THREADS ...): the benchmarks run after this one, and their child processes, must not inherit it
            stack.callback(lambda: (os.environ.clear(), os.environ.update(environ)))
            cluster = stack.enter_context(LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                                       dashboard_address=None, silence_logs=40))
            client = stack.enter_context(Client(cluster))
            client.run(lambda: __import__("research.engine"))  # import once, outside the timing (as a warm cluster)
            executors["dask_s"] = DaskExecutor(client)
            out["dask_s"] = float("inf")
        peaks: dict[int, int] = {}
        for _ in range(repeat):
            for key, executor in executors.items():
                with PeakRss() as rss:
                    out[key] = min(out[key], timed_sweep(base, executor, repeat=1))
                if key == "jobs2_s":
                    peaks.update({pid: max(peaks.get(pid, 0), peak) for pid, peak in rss.peaks.items()})
        out["worker_peak_rss_mb"] = max(peaks.values(), default=0) / 2**20
        if client is not None:
            rss = client.run(lambda: psutil.Process().memory_info().rss)
            out["dask_worker_rss_mb"] = max(rss.values()) / 2**20
    return out


def payload_figures(base: RunConfig) -> dict[str, float]:
    """What travels: the bars (once per worker) against one task (once per set)."""
    loaded = engine.load(base)
    task = Task(0, "x", point_config(base, {"slope_period": 5}), BARS)
    return {"bars_kb": len(pickle.dumps(loaded)) / 1024, "task_kb": len(pickle.dumps(task)) / 1024, "bars": len(loaded.bars)}


class Ours(bt.Strategy):
    params = (("n", 3),)

    def __init__(self) -> None:
        made = [lambda: VolumeDelta(self.data), lambda: CumulativeVolumeDelta(self.data),
                lambda: OrderBookImbalance(self.data)]
        self.ind = [make() for make in made[: self.p.n]]


class Smas(bt.Strategy):
    params = (("n", 3),)

    def __init__(self) -> None:
        self.ind = [bt.indicators.SMA(self.data.close, period=10 + k) for k in range(self.p.n)]


def loop_ratios(bars: Any) -> dict[str, float]:
    """Cerebro run time with 1, 2, 3 of our indicators over the same with as many SMAs, per run mode
    (the best of five runs of each, taken in turns)."""
    def once(cls: type, n: int, runonce: bool) -> None:
        cerebro = bt.Cerebro(stdstats=False, runonce=runonce)
        cerebro.adddata(OrderFlowFeed.from_bars(bars, BARS))
        cerebro.addstrategy(cls, n=n)
        cerebro.run()

    out = {}
    for runonce in (True, False):
        for n in (1, 2, 3):
            ours = smas = float("inf")
            for _ in range(5):  # interleaved, so that a slow spell of the machine hits both sides
                ours = min(ours, best_of(lambda n=n, runonce=runonce: once(Ours, n, runonce), repeat=1))
                smas = min(smas, best_of(lambda n=n, runonce=runonce: once(Smas, n, runonce), repeat=1))
            out[f"{'runonce' if runonce else 'next'}_{n}"] = ours / smas
    return out


def run(n_ticks: int = 0) -> dict[str, float]:
    """Print and return the figures (``n_ticks`` is unused: the sweep runs on the bundled sample)."""
    retain_freed_memory()  # as the command line does (the workers fork from this process)
    base = RunConfig(bars=BARS, params={"pct_equity": 100.0, "stake": None})
    print(f"Research: 16-set sweep of cvd_trend ({' x '.join(GRID)}) on the bundled sample, {BARS} bars, "
          f"{os.cpu_count()} cores")
    p = payload_figures(base)
    print(f"  sent once per worker: bars {p['bars_kb']:,.0f} KB ({p['bars']:,.0f} bars); per set: a task of {p['task_kb']:.1f} KB")
    s = sweep_figures(base)
    print(f"  --jobs 1 {s['serial_s']:.2f} s, --jobs 2 {s['jobs2_s']:.2f} s -> {s['jobs2_s'] / s['serial_s']:.2f}x "
          f"(target <= 0.6x); peak memory of a local worker {s['worker_peak_rss_mb']:,.0f} MB")
    if "dask_s" in s:
        print(f"  Dask LocalCluster (2 workers x 1 thread) {s['dask_s']:.2f} s -> {s['dask_s'] / s['jobs2_s']:.2f}x "
              f"--jobs 2 (target <= 1.2x); worker memory after the sweep {s['dask_worker_rss_mb']:,.0f} MB")
    bars = engine.load(RunConfig(bars=BARS)).bars
    r = loop_ratios(bars)
    ratios = {mode: " ".join(f"{r[mode + '_' + str(n)]:.2f}x" for n in (1, 2, 3)) for mode in ("runonce", "next")}
    print("  Backtrader loop, our indicators / as many SMAs (VolumeDelta, +CVD, +OBI; target <= 1.3x): "
          + ", ".join(f"{mode} {text}" for mode, text in ratios.items()))
    return {**p, **s, **{f"loop_{k}": v for k, v in r.items()}}


if __name__ == "__main__":
    run()
