"""Benchmark: ticks per second into 1-minute footprints, from ticks already in memory.

    python -m tests.benchmarks.bench_footprint [n_ticks]

``run(n_ticks)`` builds synthetic E-mini-like ticks (tick 0.25, about 50 trades a
second), then times :func:`data.bars.footprint.footprint` (table), the per-bar
footprint statistics, and ``make_bars`` with all its lines. It returns the figures
as a dict for the benchmark runner (``tests/benchmarks/run.py``).
"""
from __future__ import annotations

import sys

from data.bars.footprint import footprint, footprint_grid, grid_stats
from data.bars.make import make_bars
from tests.benchmarks.common import TICK, best_of, synthetic_ticks


def run(n_ticks: int = 2_000_000) -> dict:
    """Time footprints of ``n_ticks`` synthetic ticks into 1-minute bars; print and return ticks/s."""
    ticks = synthetic_ticks(n_ticks)
    table_s = best_of(lambda: footprint(ticks, "1min", TICK))
    grid = footprint_grid(ticks, "1min", TICK)
    stats_s = best_of(lambda: grid_stats(grid, ratio=3.0, min_volume=5.0))
    bars_s = best_of(lambda: make_bars(ticks, "1min"))
    table = footprint(ticks, "1min", TICK)
    result = {
        "n_ticks": n_ticks,
        "bars": grid.n_bars,
        "cells": len(table),
        "footprint_ms": table_s * 1e3,
        "footprint_ticks_per_s": n_ticks / table_s,
        "footprint_plus_stats_ticks_per_s": n_ticks / (table_s + stats_s),
        "make_bars_all_lines_ticks_per_s": n_ticks / bars_s,
    }
    print(
        f"footprint 1min: {n_ticks:,} ticks -> {grid.n_bars:,} bars, {len(table):,} cells in "
        f"{table_s * 1e3:.0f} ms = {result['footprint_ticks_per_s'] / 1e6:.1f}M ticks/s "
        f"(with per-bar stats {result['footprint_plus_stats_ticks_per_s'] / 1e6:.1f}M ticks/s; "
        f"make_bars with every line {result['make_bars_all_lines_ticks_per_s'] / 1e6:.1f}M ticks/s)"
    )
    return result


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 2_000_000)
