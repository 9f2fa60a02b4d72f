"""What a parameter sweep and a walk-forward show a person: tables, the overfitting checks, plots.

Everything here reads a finished :class:`research.sweep.SweepResult` or
:class:`research.walkforward.WalkForwardResult`; nothing runs a backtest. Plots are drawn
headless (matplotlib Agg) and saved as PNG.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from research.metrics import COUNT_METRICS

from .metrics import flag, fmt, plural, short_sample_note
from .output import align_table

SWEEP_FILES = ("sweep.csv", "returns.parquet", "sweep.json", "sets/*.parquet", "heatmap.png", "pbo_logits.png",
               "sweep.html")
"""The files a sweep writes into ``--out``: the first four are :class:`research.sweep.SweepStore`'s (cleared as
a sweep starts, kept by ``--resume``), the rest (:data:`SWEEP_PLOTS`) are cleared before they are drawn."""
SWEEP_PLOTS = SWEEP_FILES[4:]
WALK_FORWARD_FILES = ("walk_forward.csv", "oos_equity.csv", "oos_trades.csv", "walk_forward.json", "walk_forward.png",
                      "walk_forward.html")
"""The files a walk-forward writes into ``--out``, cleared before it writes them."""

TABLE_METRICS = [("return %", "total_return_pct"), ("Sharpe", "sharpe"), ("max DD %", "max_drawdown_pct"),
                 ("trades", "trades"), ("win %", "win_rate_pct"), ("profit factor", "profit_factor"),
                 ("net profit", "net_pnl")]


def cell_text(value: Any, key: str | None = None) -> str:
    """A table cell: whole numbers with thousands separators, floats by :func:`reports.metrics.fmt`, ``n/a`` for None/NaN.

    With the metric's ``key``, its column keeps one format whatever type a value came in as: a count
    (:data:`research.metrics.COUNT_METRICS`) as a whole number, any other number with two decimals.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    number = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if number and key is not None:
        if key in COUNT_METRICS and math.isfinite(value):
            return f"{int(round(value)):,}"
        return fmt(float(value))
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        return fmt(float(value))
    return str(value)


def ranking_table(result: Any, top: int = 10) -> str:
    """The ``top`` sets by the ranking metric: set, parameters, the ranking metric and the main metrics."""
    from research.sweep import rank_key

    table = result.table
    order = sorted(table.index, key=lambda n: (-rank_key(table.at[n, result.rank_by], result.rank_by), n))[:top]
    metrics = TABLE_METRICS if any(k == result.rank_by for _, k in TABLE_METRICS) else \
        [(result.rank_by, result.rank_by), *TABLE_METRICS]
    header = ["set", "parameters"] + [f"{label} *" if key == result.rank_by else label for label, key in metrics]
    days = table["days"] if "days" in table.columns else pd.Series(None, index=table.index, dtype=object)
    marked: list[Any] = []
    rows = [[str(n), str(table.at[n, "label"])] + [flagged(table.at[n, key], key, days[n], marked) for _, key in metrics]
            for n in order]
    return with_note(align_table(header, rows), marked)


def flagged(value: Any, key: str, days: Any, marked: list[Any]) -> str:
    """:func:`cell_text` of the metric ``key``, marked when it is a statistic of too few ``days``
    (:func:`reports.metrics.flag`); the days of a marked cell are added to ``marked``."""
    text = flag(cell_text(value, key), key, days)
    if text != cell_text(value, key):
        marked.append(days)
    return text


def with_note(text: str, marked: list[Any]) -> str:
    """A text table and, when cells of it are marked (their day counts in ``marked``), the note that says why."""
    if not marked:
        return text
    counts = {int(d) for d in marked}
    return text + "\n" + short_sample_note(counts.pop() if len(counts) == 1 else None)


def describe_sweep(result: Any, base: Any) -> str:
    """One line: how many sets over which grid, what was run now and what came from --resume."""
    grid = " x ".join(f"{a.name} ({len(a.values)})" for a in result.axes) or "no axes"
    resumed = len(result.table) - result.ran
    note = f"; {resumed} from an earlier run (--resume)" if resumed else ""
    return (f"Sweep of {base.strategy_name}: {plural(len(result.table), 'set')} over {grid}, "
            f"{plural(len(result.returns), 'trading day')}"
            f"{note}; ranked by {result.rank_by}.")


def sweep_report(result: Any, base: Any, top: int = 10) -> str:
    """What the command line prints after a sweep: the summary line, the top sets (* the ranking
    metric), the best set and the overfitting checks."""
    lines = [describe_sweep(result, base), "", ranking_table(result, top)]
    if len(result.table) > top:
        lines.append(f"({len(result.table) - top} more sets in sweep.csv)")
    if result.best is not None:
        lines += ["", best_line(result)]
    return "\n".join(lines + ["", "Overfitting checks", statistics_text(result)])


def best_line(result: Any) -> str:
    """``Best by sharpe: set 3 (slope_period=10,min_slope=0.5), sharpe 1.23``; "no set ranks" without a best."""
    if result.best is None:
        return f"No set has a {result.rank_by} to rank by."
    best = result.table.loc[result.best]
    value = flag(cell_text(best[result.rank_by], result.rank_by), result.rank_by, best.get("days"))
    return f"Best by {result.rank_by}: set {result.best} ({best['label']}), {result.rank_by} {value}"


def statistics_text(result: Any) -> str:
    """The overfitting checks in words: the deflated Sharpe ratio of the best set and the PBO."""
    stats = result.statistics
    if "error" in stats:
        return f"  overfitting checks not computed: {stats['error']}"
    lines = []
    dsr = stats.get("deflated_sharpe", {})
    if "error" in dsr or dsr.get("dsr") is None:
        lines.append(f"  Deflated Sharpe ratio: n/a ({dsr.get('error', 'the best set has constant returns')})")
    else:
        lines.append(f"  Deflated Sharpe ratio of the best set by Sharpe ({dsr['best']}): {dsr['dsr']:.3f}  "
                     f"(per-day Sharpe {dsr['sharpe']:.3f} against {dsr['benchmark']:.3f} expected from the best of "
                     f"{plural(dsr['n_trials'], 'trial')} of luck; {plural(dsr['n_obs'], 'day')}, "
                     f"skewness {cell_text(dsr['skewness'])}, "
                     f"kurtosis {cell_text(dsr['kurtosis'])})")
    pbo = stats.get("pbo", {})
    if "error" in pbo:
        lines.append(f"  Probability of backtest overfitting (CSCV, S={pbo.get('n_splits')}): n/a ({pbo['error']})")
    else:
        lines.append(f"  Probability of backtest overfitting (CSCV, S={pbo['n_splits']}, {pbo['n_combinations']:,} "
                     f"combinations): {pbo['pbo']:.3f}  (the in-sample best ranks at or below the median out of "
                     f"sample that often; it loses money out of sample in {100 * pbo['probability_of_loss']:.0f}%)")
    return "\n".join(lines)


def heatmap(result: Any, path: Path, title: str = "") -> Path | None:
    """The ranking metric over the first two swept parameters (the best value over any other axes),
    saved as a PNG (:func:`heatmap_figure`). None without axes."""
    fig = heatmap_figure(result, title)
    if fig is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path


def heatmap_figure(result: Any, title: str = "") -> Any:
    """The figure of :func:`heatmap`: one cell per pair of values of the first two axes (one row
    with one axis), coloured on :data:`reports.colours.RED_TO_GREEN` over the range of every set's
    metric (:func:`reports.colours.scale_colours`, as sweep.html colours its cells), its value
    printed in a colour that reads on it (:func:`reports.colours.text_colours`). Cells without a
    value are blank. None without axes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import ListedColormap, Normalize
    from matplotlib.figure import Figure

    from research.sweep import LOWER_IS_BETTER, grid_points, rank_key

    from .colours import RED_TO_GREEN, hex_rgb, scale_colours, text_colours, value_range

    axes = result.axes[:2]
    if not axes:
        return None
    table, metric = result.table, result.rank_by
    x_axis, y_axis = axes[0], axes[1] if len(axes) > 1 else None
    grid = np.full((len(y_axis.values) if y_axis else 1, len(x_axis.values)), np.nan)
    best_key = np.full(grid.shape, -np.inf)
    x_of = {repr(v): i for i, v in enumerate(x_axis.values)}
    y_of = {repr(v): i for i, v in enumerate(y_axis.values)} if y_axis else {}
    points = grid_points(result.axes)
    for n in table.index:
        point = points[n]
        i = y_of[repr(point[y_axis.name])] if y_axis else 0
        j = x_of[repr(point[x_axis.name])]
        value = table.at[n, metric]
        key = rank_key(value, metric)
        if key > best_key[i, j]:
            best_key[i, j] = key
            grid[i, j] = float(value)
    fig = Figure(figsize=(max(5.0, 0.9 * grid.shape[1] + 2.5), max(2.6, 0.6 * grid.shape[0] + 1.8)))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    low, high = value_range(pd.to_numeric(table[metric], errors="coerce"))
    palette = RED_TO_GREEN[::-1] if metric in LOWER_IS_BETTER else RED_TO_GREEN
    fill = hex_rgb(scale_colours(grid, low, high, palette, nan_colour="#ffffff"))
    ax.imshow(fill, aspect="auto", origin="lower")
    ink = text_colours(fill)
    for (i, j), value in np.ndenumerate(grid):
        if np.isfinite(value):
            ax.text(j, i, f"{value:.3g}", ha="center", va="center", fontsize=8, color=ink[i, j])
    ax.set_xticks(range(len(x_axis.values)), [str(v) for v in x_axis.values])
    ax.set_xlabel(x_axis.name)
    if y_axis:
        ax.set_yticks(range(len(y_axis.values)), [str(v) for v in y_axis.values])
        ax.set_ylabel(y_axis.name)
    else:
        ax.set_yticks([])
    others = [a.name for a in result.axes[2:]]
    note = f" (best over {', '.join(others)})" if others else ""
    ax.set_title((title + "\n" if title else "") + f"{metric}{note}", fontsize=10)
    fig.colorbar(ScalarMappable(norm=Normalize(low, high), cmap=ListedColormap(list(palette))), ax=ax, label=metric)
    fig.tight_layout()
    return fig


def pbo_logits(pbo: dict[str, Any]) -> np.ndarray:
    """The CSCV logits of a PBO statistic (``statistics["pbo"]``), one per combination (None dropped)."""
    return np.array([v for v in pbo.get("logits", []) if v is not None], dtype=np.float64)


def logit_bins(logits: np.ndarray) -> int:
    """Histogram bins for the logit distribution: one per distinct value, at least 5, at most 40."""
    return min(40, max(5, len(np.unique(logits))))


def pbo_plot(result: Any, path: Path) -> Path | None:
    """The CSCV logit distribution (histogram), the PBO being the share at or below 0. None without a PBO."""
    pbo = result.statistics.get("pbo", {})
    if "logits" not in pbo:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    logits = pbo_logits(pbo)
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    ax.hist(logits, bins=logit_bins(logits), color="#4c72b0", alpha=0.85)
    ax.axvline(0.0, color="#c44e52", lw=1.5, label=f"PBO = share at or below 0 = {pbo['pbo']:.3f}")
    ax.set_xlabel("logit of the in-sample best set's out-of-sample relative rank")
    ax.set_ylabel("combinations")
    ax.set_title(f"CSCV: S={pbo['n_splits']}, {plural(pbo['n_combinations'], 'combination')}, "
                 f"{plural(pbo['n_sets'], 'set')}", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_sweep_plots(result: Any, out: Path, title: str = "") -> dict[str, Path]:
    """heatmap.png (and pbo_logits.png when the PBO was computed) in ``out``."""
    paths = {}
    for name, draw in (("heatmap.png", lambda p: heatmap(result, p, title)), ("pbo_logits.png", lambda p: pbo_plot(result, p))):
        path = draw(out / name)
        if path is not None:
            paths[name] = path
    return paths


# ---------------------------------------------------------------------------------------------
# Walk-forward


def walk_forward_table(result: Any, tz: str) -> str:
    """One row per window: test dates, the chosen set, in-sample and out-of-sample ranking metric and return;
    a statistic of daily returns of too few days marked (:func:`reports.metrics.flag`), with the note."""
    marked: list[Any] = []
    return with_note(align_table(*walk_forward_table_rows(result, tz, marked)), marked)


def walk_forward_table_rows(result: Any, tz: str, marked: list[Any] | None = None) -> tuple[list[str], list[list[str]]]:
    """The header and rows (text) of :func:`walk_forward_table`; with a list ``marked``, the in- and out-of-sample
    values of too few days are marked (:func:`flagged`) and their day counts added to it."""
    key = result.rank_by

    def value(d: dict[str, Any], side: str) -> str:
        if marked is None:
            return cell_text(d[f"{side}_{key}"], key)
        return flagged(d[f"{side}_{key}"], key, d.get(f"{side}_days"), marked)

    header = ["window", "test from", "to", "chosen set", f"IS {key}", f"OOS {key}", "OOS return %", "OOS trades"]
    rows = []
    for r in result.windows.itertuples(index=False):
        d = r._asdict()
        rows.append([str(d["window"]), f"{pd.Timestamp(d['test_start']).tz_convert(tz):%Y-%m-%d %H:%M}",
                     f"{pd.Timestamp(d['test_end']).tz_convert(tz):%Y-%m-%d %H:%M}", str(d["set"]),
                     value(d, "is"), value(d, "oos"), cell_text(d["oos_total_return_pct"], "total_return_pct"),
                     cell_text(d["oos_trades"], "trades")])
    return header, rows


def walk_forward_report(result: Any, base: Any) -> str:
    """What the command line prints after a walk-forward: the windows, then the stitched out-of-sample metrics."""
    from .output import metrics_table

    return "\n".join([f"Walk-forward {result.spec} of {base.strategy_name}, chosen in sample by {result.rank_by}:", "",
                      walk_forward_table(result, base.tz), "", "Out of sample (the test windows stitched)",
                      metrics_table(result.metrics)])


def walk_forward_plot(result: Any, path: Path, tz: str, title: str = "") -> Path:
    """The stitched out-of-sample equity and its drawdown, each test window shaded and labelled with its set."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    equity = result.equity
    times = equity.index.tz_convert(tz).tz_localize(None)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    top.plot(times, equity["value"].to_numpy(), color="#1f4e79", lw=1.2, label="out-of-sample equity (stitched)")
    bottom.fill_between(times, 0, -equity["drawdown"].to_numpy(), color="#c44e52", alpha=0.6, step="post")
    windows = equity["window"].to_numpy()
    for k, row in enumerate(result.windows.itertuples(index=False)):
        inside = np.flatnonzero(windows == row.window)
        start, end = times[inside[0]], times[inside[-1]]
        for ax in (top, bottom):
            ax.axvspan(start, end, color="#dddddd" if k % 2 else "#f3f3f3", zorder=0)
            ax.axvline(start, color="#888888", lw=0.6, ls="--")
        top.text(start, 1.0, f" {row.window}: {row.set}", transform=top.get_xaxis_transform(), fontsize=7,
                 va="top", rotation=90, color="#444444")
    m = result.metrics
    top.set_title((title + "\n" if title else "") + f"walk-forward {result.spec}, chosen by {result.rank_by}: "
                  f"return {fmt(m['total_return_pct'], '%')}, Sharpe {fmt(m['sharpe'])}, "
                  f"max DD {fmt(m['max_drawdown_pct'], '%')}, {plural(m['trades'], 'trade')}", fontsize=10)
    top.set_ylabel("value")
    top.legend(loc="lower left", fontsize=8)
    bottom.set_ylabel("drawdown %")
    bottom.set_xlabel(f"time ({tz}); shaded: test windows")
    fig.autofmt_xdate()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
