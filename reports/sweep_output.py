"""The files of a parameter sweep and a walk-forward in ``--out``: tables, plots and, on request, the pages.

A sweep's tables (``sweep.csv``, ``returns.parquet``, ``sweep.json``) are written as it runs
(:class:`research.sweep.SweepStore`); here its plots (:mod:`reports.sweep`) and its page
(:mod:`reports.html_sweep`). A walk-forward's tables, plot and page are all written here.
Everything reads a finished result; nothing runs a backtest.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from research import metrics as perf

from .html_sweep import sweep_page, walk_forward_page
from .output import jsonable
from .sweep import walk_forward_plot, write_sweep_plots


def write_sweep_outputs(result: Any, out: Path, base: Any, html: bool = False) -> list[Path]:
    """The plots of a sweep (heatmap.png, pbo_logits.png) in ``out``, and with ``html`` the interactive
    sweep.html (:func:`reports.html_sweep.sweep_page`); returns every file the sweep wrote."""
    title = f"{base.strategy_name} on {base.data_name}, {base.bars} bars"
    written = [out / n for n in ("sweep.csv", "returns.parquet", "sweep.json")]
    written += list(write_sweep_plots(result, out, title).values())
    if html:
        written.append(sweep_page(result, out / "sweep.html", base))
    return written


def write_walk_forward(result: Any, out: Path, base: Any, html: bool = False) -> list[Path]:
    """walk_forward.csv, oos_equity.csv, oos_trades.csv, walk_forward.json and walk_forward.png in ``out``,
    and with ``html`` the interactive walk_forward.html (:func:`reports.html_sweep.walk_forward_page`)."""
    tz = base.tz
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / name for name in ("walk_forward.csv", "oos_equity.csv", "oos_trades.csv", "walk_forward.json")}
    windows = result.windows.copy()
    for column in ("train_start", "train_end", "test_start", "test_end"):
        windows[column] = pd.DatetimeIndex(windows[column]).tz_convert(tz)
    windows.to_csv(paths["walk_forward.csv"], index=False, float_format="%.10g")
    equity = result.equity.copy()
    equity.insert(0, "time", equity.index.tz_convert(tz))
    equity.to_csv(paths["oos_equity.csv"], index=False, float_format="%.10g")
    result.trades.to_csv(paths["oos_trades.csv"], index=False, float_format="%.10g")
    document = {"walk_forward": str(result.spec), "rank_by": result.rank_by, "windows": len(result.windows),
                "out_of_sample_metrics": perf.to_json_ready(result.metrics),
                "daily_returns": {str(k.date()): float(v) for k, v in result.daily.items()},
                "chosen": [jsonable(v) for v in result.windows["set"]]}
    paths["walk_forward.json"].write_text(json.dumps(document, indent=2, default=str) + "\n")
    title = f"{base.strategy_name} on {base.data_name}, {base.bars} bars"
    written = [*paths.values(), walk_forward_plot(result, out / "walk_forward.png", tz, title)]
    if html:
        written.append(walk_forward_page(result, out / "walk_forward.html", base))
    return written
