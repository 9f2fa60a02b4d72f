"""Benchmark: resampling a month of 1-minute bars with footprints to coarser timeframes, and a
backtest on developing bars against the same backtest on closed bars.

    python -m tests.benchmarks.bench_timeframes

``run(n_ticks)`` (``n_ticks`` is ignored: the month is fixed) builds about 30,000 1-minute bars
of synthetic E-mini-like ticks (tick 0.25, about 100 trades a minute, ranges of some 20 levels a
minute) and their footprint table, then times:

- :func:`data.resample_bars` to 5 timeframes (5min, 15min, 30min, 1h, session), footprints
  merged and their numbers recomputed (target: under 1 s for the five);
- :func:`data.developing_bars` to 15min (the bar as it stands after each base bar);
- ``research.run`` of ``trend_imbalance`` on the 1-minute bars with its 15-minute trend feed,
  closed bars against developing bars (``--developing``; target: at most 1.5x the closed run), the
  15-minute feed's footprint lines made from the base footprint table in both.
  Developing bars make Backtrader run bar by bar (as its own ``replaydata`` does), so the closed
  run is timed both in its default vectorised mode and bar by bar.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from data import developing_bars, footprint, make_bars, resample_bars
from indicators.sessions import SessionCalendar
from research import RunConfig, engine
from research import run as run_backtest
from research.engine import Loaded
from tests.benchmarks.common import TICK, best_of

MINUTES = 30_000  # about a month of a 23-hour market
TIMEFRAMES = ("5min", "15min", "30min", "1h", "session")
TARGET_RESAMPLE_S = 1.0
TARGET_DEVELOPING_RATIO = 1.5


def month_of_ticks(minutes: int = MINUTES, per_minute: int = 100, seed: int = 11) -> pd.DataFrame:
    """Canonical ticks over ``minutes`` minutes (weekend gaps left out): a random walk of up to two
    ticks per trade on a 0.25 grid, buys at the ask and sells at the bid."""
    rng = np.random.default_rng(seed)
    n = minutes * per_minute
    gaps = rng.exponential(60e9 / per_minute, n).astype(np.int64)
    ts = np.int64(1_704_236_400_000_000_000) + np.cumsum(gaps)
    level = 19_000 + np.cumsum(rng.choice(np.array([-2, -1, 0, 1, 2]), size=n, p=[0.1, 0.15, 0.5, 0.15, 0.1]))
    side = np.where(rng.random(n) < 0.5, 1, -1).astype(np.int8)
    price = level * TICK
    return pd.DataFrame({
        "timestamp": pd.DatetimeIndex(ts.astype("datetime64[ns]")).tz_localize("UTC"),
        "price": price, "size": rng.geometric(0.4, n).astype(np.float64), "side": side,
        "bid": price - np.where(side == 1, TICK, 0.0), "ask": price + np.where(side == 1, 0.0, TICK),
        "bid_size": rng.integers(1, 60, n).astype(np.float64), "ask_size": rng.integers(1, 60, n).astype(np.float64),
    })


def run(n_ticks: int = 0) -> dict:
    """Time the resampling and the two backtests; print and return the figures."""
    ticks = month_of_ticks()
    bars = make_bars(ticks, "1min", tick_size=TICK)
    table = footprint(ticks, "1min", TICK)
    calendar = SessionCalendar("17:00", "America/Chicago")

    def resample_all(with_footprint: bool) -> None:
        for spec in TIMEFRAMES:
            resample_bars(bars, spec, footprint=table if with_footprint else None, calendar=calendar)

    resample_s = best_of(lambda: resample_all(True))
    plain_s = best_of(lambda: resample_all(False))
    developing_s = best_of(lambda: developing_bars(bars, "15min", footprint=table))
    # with the footprint table, as a run has it (from the ticks, the stream or the bar cache)
    loaded = Loaded(bars=bars, load_report={}, ticks_in_range=len(ticks), footprint=table)
    config = RunConfig(data=ticks, strategy="trend_imbalance", bars="1min")
    closed_run_s = best_of(lambda: run_backtest(config, loaded), repeat=2)
    closed_next_s = best_of(lambda: run_in_next_mode(config, loaded), repeat=2)
    developing_run_s = best_of(lambda: run_backtest(RunConfig(data=ticks, strategy="trend_imbalance", bars="1min",
                                                              developing=True), loaded), repeat=2)
    result = {"bars": len(bars), "cells": len(table), "resample_5_timeframes_s": resample_s,
              "resample_5_timeframes_no_footprint_s": plain_s, "developing_15min_s": developing_s,
              "closed_run_s": closed_run_s, "closed_run_next_mode_s": closed_next_s,
              "developing_run_s": developing_run_s, "developing_run_ratio": developing_run_s / closed_run_s,
              "developing_run_ratio_next_mode": developing_run_s / closed_next_s}
    print(f"resample_bars: {len(bars):,} 1-minute bars ({len(table):,} footprint cells) to "
          f"{', '.join(TIMEFRAMES)}: {resample_s:.3f} s with merged footprints (target < {TARGET_RESAMPLE_S:.0f} s), "
          f"{plain_s:.3f} s without; developing_bars to 15min {developing_s:.3f} s")
    print(f"trend_imbalance over them with a 15-minute feed: closed bars {closed_run_s:.2f} s (runonce), "
          f"{closed_next_s:.2f} s (bar by bar); developing bars {developing_run_s:.2f} s (always bar by bar) -> "
          f"{result['developing_run_ratio']:.2f}x the closed run, {result['developing_run_ratio_next_mode']:.2f}x "
          f"the closed run bar by bar (target <= {TARGET_DEVELOPING_RATIO}x)")
    if resample_s > TARGET_RESAMPLE_S:
        print(f"  above target: resampling {resample_s:.3f} s")
    if result["developing_run_ratio"] > TARGET_DEVELOPING_RATIO:
        print(f"  above target: developing run {result['developing_run_ratio']:.2f}x")
    return result


def run_in_next_mode(config: RunConfig, loaded: Loaded) -> None:
    """``research.run`` with Cerebro's ``runonce`` off (what developing bars need)."""
    original = engine.make_cerebro

    def bar_by_bar(*args, **kwargs):
        cerebro = original(*args, **kwargs)
        cerebro.p.runonce = False
        return cerebro

    engine.make_cerebro = bar_by_bar
    try:
        run_backtest(config, loaded)
    finally:
        engine.make_cerebro = original


if __name__ == "__main__":
    run()
