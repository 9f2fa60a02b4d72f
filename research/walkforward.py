"""Walk-forward analysis: choose parameters on a train window, trade them on the test window after it, roll on.

    from research.walkforward import parse_walk_forward, walk_forward
    result = walk_forward(RunConfig(), axes, parse_walk_forward("train=3D,test=1D"), jobs=2)
    result.windows, result.equity, result.metrics

For each window ``k`` (rolling: the train window moves by one test length; ``anchored``:
it always starts at the first day):

1. every set of the grid runs on the train window's bars alone (the in-sample sweep);
2. the best set by ``rank_by`` there (the first in grid order on a tie) runs on the
   train and test bars together, the train bars being a warm-up
   (``RunConfig.warmup_bars``): its indicators see them, but it cannot trade on them
   and they count nowhere; its equity, trades and metrics cover the test window only.

Windows are counted in trading days of the session calendar (``config.calendar``, the
cut of the daily returns) or in bars. Test windows follow one another without overlap and
never overlap their own train window; the parameters of window ``k`` are chosen from
bars that all end before its first test bar. Only whole test windows are run.

The out-of-sample equity stitches the test windows: each starts from the cash, and the
stitched curve compounds their bar-by-bar returns, ``V_t = cash * prod(1 + r_s, s <= t)``
with ``r_s = v_s / v_(s-1) - 1`` inside a window (``v`` of the window's first bar
measured from the cash). A position still open at a window's end is marked to market
there (as at the end of any backtest).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Sequence

import numpy as np
import pandas as pd

from data import OrderFlowError

from . import metrics as perf
from .config import RunConfig
from .engine import ORDER_METRICS
from .executors import Executor, make_executor
from .sweep import (
    BARS_AXIS,
    DEFAULT_RANK,
    Axis,
    SetResult,
    Task,
    best_index,
    check_rank_by,
    execute,
    grid_points,
    load_bars,
    point_config,
    set_label,
    task_config,
)

SUMMARY_METRICS = ["total_return_pct", "sharpe", "max_drawdown_pct", "trades", "win_rate_pct", "profit_factor",
                   "net_pnl", "days"]


@dataclass(frozen=True)
class WalkSpec:
    """Train and test lengths in ``unit`` (``"days"``: trading days; ``"bars"``), rolling or anchored."""

    train: int
    test: int
    unit: str
    anchored: bool = False

    def __str__(self) -> str:
        suffix = "D" if self.unit == "days" else "b"
        return f"train={self.train}{suffix},test={self.test}{suffix}" + (",anchored" if self.anchored else "")


_LENGTH = re.compile(r"^\s*(\d+)\s*([dDbB])\s*$")


def parse_walk_forward(text: str) -> WalkSpec:
    """``"train=10D,test=2D"``, ``"train=500b,test=100b"``, optionally ``",anchored"`` -> :class:`WalkSpec`.

    ``D`` counts trading days (sessions of the calendar), ``b`` bars; both lengths take
    the same unit and are > 0.
    """
    usage = f"bad --walk-forward {text!r}: use train=10D,test=2D[,anchored] (D trading days, b bars)"
    fields: dict[str, str] = {}
    anchored = False
    for part in str(text).split(","):
        key, sep, value = part.strip().partition("=")
        if not sep and key.lower() == "anchored":
            anchored = True
        elif sep and key.lower() in ("train", "test") and key.lower() not in fields:
            fields[key.lower()] = value
        else:
            raise OrderFlowError(usage)
    if set(fields) != {"train", "test"}:
        raise OrderFlowError(usage)
    parsed = {k: _LENGTH.match(v) for k, v in fields.items()}
    if not all(parsed.values()):
        raise OrderFlowError(usage)
    units = {m.group(2).lower() for m in parsed.values()}
    if len(units) > 1:
        raise OrderFlowError(f"bad --walk-forward {text!r}: train and test in the same unit (both D or both b)")
    train, test = int(parsed["train"].group(1)), int(parsed["test"].group(1))
    if train < 1 or test < 1:
        raise OrderFlowError(f"bad --walk-forward {text!r}: lengths must be > 0")
    return WalkSpec(train, test, "days" if units == {"d"} else "bars", anchored)


@dataclass(frozen=True)
class Window:
    """Window ``number``: train units ``[train_start, test_start)``, test units ``[test_start, test_end)``.

    Units are positions in the list of trading days (or bars); :func:`window_rows` turns
    them into bar rows of a given bars frame.
    """

    number: int
    train_start: int
    test_start: int
    test_end: int


def make_windows(units: int, spec: WalkSpec) -> list[Window]:
    """The whole windows over ``units`` trading days (or bars).

    Window ``k``: test ``[T + k*t, T + (k+1)*t)`` with ``T`` the train length and ``t`` the
    test length; train ``[k*t, T + k*t)`` rolling, ``[0, T + k*t)`` anchored.
    """
    count = (units - spec.train) // spec.test if units >= spec.train + spec.test else 0
    if count == 0:
        what = "trading days" if spec.unit == "days" else "bars"
        raise OrderFlowError(f"--walk-forward {spec} needs at least {spec.train + spec.test} {what}; "
                             f"the data has {units}")
    return [Window(k, 0 if spec.anchored else k * spec.test, spec.train + k * spec.test,
                   spec.train + (k + 1) * spec.test) for k in range(count)]


def trading_days(frames: Sequence[pd.DataFrame], calendar: Any) -> pd.DatetimeIndex:
    """The sorted trading days (``calendar.trade_dates``) that have bars in any of ``frames``."""
    days = [pd.DatetimeIndex(calendar.trade_dates(f.index)).unique() for f in frames]
    return days[0].append(days[1:]).unique().sort_values() if len(days) > 1 else days[0].sort_values()


def day_numbers(bars: pd.DataFrame, calendar: Any, days: pd.DatetimeIndex) -> np.ndarray:
    """Per bar, the position of its trading day (``calendar.trade_dates``) among ``days``."""
    return days.get_indexer(calendar.trade_dates(bars.index))


def window_rows(window: Window, spec: WalkSpec, numbers: np.ndarray) -> tuple[int, int, int]:
    """Bar rows ``(train_first, test_first, test_end)`` of ``window`` (end exclusive) in bars whose
    trading days are at positions ``numbers`` (:func:`day_numbers`) of the days the window counts."""
    if spec.unit == "bars":
        return window.train_start, window.test_start, window.test_end
    first, test, end = np.searchsorted(numbers, [window.train_start, window.test_start, window.test_end], side="left")
    return int(first), int(test), int(end)


@dataclass
class WalkForwardResult:
    """Per window: dates, the chosen set, in- and out-of-sample metrics; the stitched out-of-sample run."""

    spec: WalkSpec
    rank_by: str
    windows: pd.DataFrame  # one row per window
    equity: pd.DataFrame  # stitched out-of-sample: value, drawdown, position, window (time index, UTC)
    trades: pd.DataFrame  # out-of-sample trades, with their window
    daily: pd.Series
    metrics: dict[str, Any]


def walk_forward(base: RunConfig, axes: Sequence[Axis], spec: WalkSpec, *, jobs: int | None = None,
                 scheduler: Any = None, executor: Executor | None = None,
                 rank_by: str = DEFAULT_RANK) -> WalkForwardResult:
    """Run the walk-forward analysis of the grid ``axes`` on ``base`` (see the module docstring)."""
    check_rank_by(rank_by)
    points = grid_points(axes)
    specs = [p.get(BARS_AXIS, base.bars) for p in points]
    if spec.unit == "bars" and len(set(specs)) > 1:
        raise OrderFlowError("--walk-forward in bars (b) with --sweep bars=...: bar counts differ between bar "
                             "specs; count the windows in trading days (D)")
    loaded = load_bars(base, specs)
    calendar = base.calendar
    days = trading_days([v.bars for v in loaded.values()], calendar)
    windows = make_windows(len(loaded[specs[0]].bars) if spec.unit == "bars" else len(days), spec)
    numbers = {s: day_numbers(loaded[s].bars, calendar, days) for s in loaded}  # once per bar spec, not per window
    rows = {(w.number, s): window_rows(w, spec, numbers[s]) for w in windows for s in loaded}
    for (number, s), (a, b, c) in rows.items():
        if not a < b < c:
            raise OrderFlowError(f"walk-forward window {number}: no {s} bars in its train or test days")
    own = executor is None
    executor = executor or make_executor(jobs, scheduler)
    try:
        train = [Task(w.number * len(points) + n, set_label(p), task_config(point_config(base, p)), specs[n],
                      rows=rows[w.number, specs[n]][:2]) for w in windows for n, p in enumerate(points)]
        in_sample: dict[int, SetResult] = {r.number: r for r in execute(executor, train, loaded, "walk-forward: train")}
        chosen: dict[int, int] = {}
        for w in windows:
            best = best_index([in_sample[w.number * len(points) + n].metrics.get(rank_by) for n in range(len(points))],
                              rank_by)
            if best is None:
                raise OrderFlowError(f"walk-forward window {w.number}: no set has a {rank_by} in sample (no trades, or "
                                     "too few days for it); use a longer train window or another --rank-by")
            chosen[w.number] = best
        test = []
        for w in windows:
            n = chosen[w.number]
            a, b, c = rows[w.number, specs[n]]
            config = replace(task_config(point_config(base, points[n])), warmup_bars=b - a)
            test.append(Task(w.number, set_label(points[n]), config, specs[n], rows=(a, c), keep_equity=True))
        out_sample = {r.number: r for r in execute(executor, test, loaded, "walk-forward: test")}
    finally:
        if own:
            executor.close()
    table = window_table(windows, points, chosen, in_sample, out_sample, rows, specs, loaded, base, rank_by)
    equity, trades = stitch([out_sample[w.number] for w in windows], base.cash)
    daily = perf.daily_returns(equity["value"], base.cash, calendar)
    test_bars = pd.concat([loaded[specs[chosen[w.number]]].bars.iloc[rows[w.number, specs[chosen[w.number]]][1]:
                                                                     rows[w.number, specs[chosen[w.number]]][2]]
                           for w in windows])
    metrics = perf.performance(equity["value"], trades, daily, test_bars, equity["position"], base.cash)
    for key in ORDER_METRICS:  # fills, refused orders, skipped entries: the sums over the test windows
        counts = [out_sample[w.number].metrics.get(key) for w in windows]
        metrics[key] = None if all(c is None for c in counts) else sum(c or 0 for c in counts)
    metrics["limit_fill_pct"] = perf.limit_fill_pct([pair for w in windows for pair in out_sample[w.number].limits])
    return WalkForwardResult(spec=spec, rank_by=rank_by, windows=table, equity=equity, trades=trades, daily=daily,
                             metrics=metrics)


def window_table(windows: list[Window], points: list[dict[str, Any]], chosen: dict[int, int],
                 in_sample: dict[int, SetResult], out_sample: dict[int, SetResult], rows: dict, specs: list[str],
                 loaded: dict, base: RunConfig, rank_by: str) -> pd.DataFrame:
    """walk_forward.csv: window, train and test bar times (first and last bar, in ``base.tz``), the chosen
    set, and its in-sample (``is_``) and out-of-sample (``oos_``) metrics."""
    keys = list(dict.fromkeys([rank_by, *SUMMARY_METRICS]))
    records = []
    for w in windows:
        n = chosen[w.number]
        a, b, c = rows[w.number, specs[n]]
        index = loaded[specs[n]].bars.index.tz_convert(base.tz)
        record = {"window": w.number, "train_start": index[a], "train_end": index[b - 1],
                  "test_start": index[b], "test_end": index[c - 1], "train_bars": b - a, "test_bars": c - b,
                  "set": set_label(points[n]), **{f"param:{k}": v for k, v in points[n].items()}}
        record.update({f"is_{k}": in_sample[w.number * len(points) + n].metrics.get(k) for k in keys})
        record.update({f"oos_{k}": out_sample[w.number].metrics.get(k) for k in keys})
        records.append(record)
    return pd.DataFrame(records)


def stitch(results: list[SetResult], cash: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The stitched out-of-sample equity (value, drawdown, position, window) and trades (with their window)."""
    returns, positions, windows, times, trades = [], [], [], [], []
    for r in results:
        values = r.equity["value"].to_numpy(np.float64)
        returns.append(values / np.concatenate(([cash], values[:-1])) - 1.0)
        positions.append(r.equity["position"].to_numpy(np.float64))
        windows.append(np.full(len(values), r.number))
        times.append(r.equity.index)
        if len(r.trades):
            trades.append(r.trades.drop(columns=["entry_bar", "exit_bar"]).assign(window=r.number))
    index = times[0].append(times[1:]) if len(times) > 1 else times[0]
    value = pd.Series(cash * np.cumprod(1.0 + np.concatenate(returns)), index=index, name="value")
    equity = pd.DataFrame({"value": value, "drawdown": perf.drawdown(value),
                           "position": np.concatenate(positions), "window": np.concatenate(windows)})
    trade_frame = (pd.concat(trades, ignore_index=True) if trades
                   else pd.DataFrame(columns=["entry_time", "exit_time", "pnl_net", "closed", "window"]))
    return equity, trade_frame
