"""The interactive pages of a parameter sweep and a walk-forward: one self-contained HTML file each (Bokeh).

- :func:`sweep_page` (``sweep.html``): the ranking metric over the swept parameters, hover showing
  every metric of the set; the table of every set (best first, sortable); the overfitting checks
  (deflated Sharpe ratio, PBO) with the CSCV logit distribution. The chart is

  * one parameter: a bar per value (``sweep_bars``);
  * two: the heat map of :func:`reports.html.sweep_heatmap` over them;
  * three or more: the heat map over the first two, with a menu per further parameter
    (:func:`reports.html.sweep_selectors`): "best" (the start) shows in each cell the best set over
    that parameter's values, as heatmap.png does; a value shows the sets with that value.

- :func:`walk_forward_page` (``walk_forward.html``): the stitched out-of-sample equity with the
  test windows shaded and the train/test diagram below (:func:`reports.html.walk_forward_panel`),
  hover showing each window's dates, chosen parameters and in- and out-of-sample metrics; the
  stitched out-of-sample metrics and the table of windows.

Both read finished results (:class:`research.sweep.SweepResult`,
:class:`research.walkforward.WalkForwardResult`); nothing here runs a backtest.
"""
from __future__ import annotations

import html as html_text
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from . import html
from .colours import RED_TO_GREEN, scale_colours, value_range
from .sweep import (
    TABLE_METRICS,
    best_line,
    cell_text,
    describe_sweep,
    logit_bins,
    pbo_logits,
    statistics_text,
    walk_forward_table_rows,
)

__all__ = ["sweep_page", "walk_forward_page", "sweep_frame", "sweep_bars", "pbo_figure", "window_frame"]

PARAM = "param:"


def _div(text: str, name: str | None = None, **kwargs: Any) -> Any:
    from bokeh.models import Div, InlineStyleSheet

    # a Div's HTML lives in a shadow root: the page's CSS does not reach it
    return Div(text=text, name=name, stylesheets=[InlineStyleSheet(css=html.TABLE_CSS + NOTE_CSS)], **kwargs)


NOTE_CSS = ".of-note { color: #555; font-size: 12.5px; font-family: system-ui, sans-serif; } p.of { margin: 3px 0; }"


def _lower_is_better(metric: str) -> bool:
    from research.sweep import LOWER_IS_BETTER

    return metric in LOWER_IS_BETTER


# --------------------------------------------------------------------------- the sweep


def sweep_frame(result: Any) -> pd.DataFrame:
    """The sweep table for the page: ``set``, one column per swept parameter (its name without
    ``param:``; kept when a metric has the same name), ``label`` and every metric, in set order."""
    table = result.table
    names = {c: c.removeprefix(PARAM) if c.removeprefix(PARAM) not in table.columns else c
             for c in table.columns if c.startswith(PARAM)}
    return table.rename(columns=names).reset_index()


def _axis_columns(result: Any, frame: pd.DataFrame) -> list[str]:
    return [a.name if a.name in frame.columns else PARAM + a.name for a in result.axes]


def _hover_frame(frame: pd.DataFrame, params: Sequence[str], metric: str) -> pd.DataFrame:
    """What the chart's hover shows: the parameters, the ranked ``metric`` as a number, every other
    metric as text (:func:`reports.sweep.cell_text`), the set number and label."""
    out = frame[list(params)].astype(str)  # as the axes label them (a float 0.5 would show as 0.500)
    out[metric] = pd.to_numeric(frame[metric], errors="coerce").astype(np.float64)
    out["set"] = frame["set"].astype(str)
    for col in frame.columns:
        if col not in out.columns and col != "label":
            out[col] = [cell_text(v) for v in frame[col]]
    out["label"] = frame["label"].astype(str)
    return out


def sweep_bars(frame: pd.DataFrame, x: str, metric: str, *, order: Sequence[Any] | None = None,
               higher_is_better: bool = True, title: str | None = None) -> Any:
    """One swept parameter: a bar per value of ``x`` with height ``metric`` (a Bokeh figure named
    ``sweep_bars``, bars ``sweep_bar_rects``), coloured as the heat map (red worst, green best),
    hover showing every column of ``frame``. NaN metrics draw no bar and say n/a in the hover."""
    from bokeh.models import ColumnDataSource, HoverTool
    from bokeh.plotting import figure

    xs = [str(v) for v in (order if order is not None else sorted(frame[x].unique()))]
    values = pd.to_numeric(frame[metric], errors="coerce").to_numpy(np.float64)
    low, high = value_range(values)
    data = {str(c): frame[c].tolist() for c in frame.columns}
    data.update({"_x": frame[x].astype(str).tolist(), "_value": np.where(np.isfinite(values), values, 0.0),
                 "_fill": scale_colours(values, low, high, RED_TO_GREEN if higher_is_better else RED_TO_GREEN[::-1]).tolist(),
                 "_label": ["n/a" if not np.isfinite(v) else f"{v:.3g}" for v in values],
                 "_baseline": ["top" if v < 0 else "bottom" for v in values],  # the value outside its bar
                 "_offset": [3 if v < 0 else -3 for v in values]})
    source = ColumnDataSource(data, name="sweep_cells")
    fig = figure(name="sweep_bars", x_range=xs, height=360, width=min(1400, max(480, 60 * len(xs) + 160)), tools="save,reset",
                 toolbar_location="right", title=title or f"{metric} by {x}")
    bars = fig.vbar("_x", 0.7, "_value", source=source, fill_color="_fill", line_color="#555555", name="sweep_bar_rects")
    fig.text("_x", "_value", text="_label", source=source, text_align="center", text_baseline="_baseline",
             text_font_size="11px", y_offset="_offset", name="sweep_labels")
    fig.y_range.range_padding = 0.15
    fig.hspan(y=[0], line_color="#8a8a8a", line_width=1)
    extra = [c for c in frame.columns if c not in (x, metric)]
    fig.add_tools(HoverTool(renderers=[bars], tooltips=[(x, f"@{{{x}}}"), (metric, f"@{{{metric}}}{{0.[0000]}}")]
                            + [(str(c), f"@{{{c}}}") for c in extra]))
    fig.xaxis.axis_label = x
    fig.yaxis.axis_label = metric
    fig.xgrid.visible = False
    return fig


def sweep_chart(result: Any, frame: pd.DataFrame | None = None) -> list[Any]:
    """The chart of the ranking metric over the swept parameters (see the module docstring), with
    its menus; an explanatory Div when nothing was swept."""
    from bokeh.layouts import row

    frame = sweep_frame(result) if frame is None else frame
    metric, axes = result.rank_by, result.axes
    params = _axis_columns(result, frame)
    hover = _hover_frame(frame, params, metric)
    higher = not _lower_is_better(metric)
    order = {col: axis.values for col, axis in zip(params, axes)}
    if not axes:
        return [_div("<p class='of-note'>No parameter was swept: the table below has the one set.</p>")]
    if len(axes) == 1:
        return [sweep_bars(hover, params[0], metric, order=order[params[0]], higher_is_better=higher)]
    others = params[2:]
    fig = html.sweep_heatmap(hover, params[0], params[1], metric, higher_is_better=higher, select=others, order=order)
    if not others:
        return [fig]
    note = _div(f"<p class='of-note'>{len(others)} more swept parameter{'s' if len(others) > 1 else ''}: choose a value, or "
                "'best' for the best set over its values in each cell (as heatmap.png draws it).</p>")
    return [note, row(*html.sweep_selectors(fig, others, order), name="sweep_menus"), fig]


def sweep_table(result: Any, frame: pd.DataFrame | None = None, height: int = 320) -> Any:
    """Every set as a sortable Bokeh DataTable (named ``sweep_table``), best first by the ranking metric:
    set, parameters, the ranking metric (marked *) and the main metrics (those the command line prints, with
    two decimals as there; counts whole)."""
    from bokeh.models import ColumnDataSource, DataTable, NumberFormatter, StringFormatter, TableColumn

    from research.sweep import rank_key

    frame = sweep_frame(result) if frame is None else frame
    metric = result.rank_by
    order = sorted(range(len(frame)), key=lambda i: (-rank_key(frame[metric].iloc[i], metric), int(frame["set"].iloc[i])))
    frame = frame.iloc[order]
    params = _axis_columns(result, frame)
    data: dict[str, Any] = {"set": frame["set"].to_numpy(np.int64)}
    columns = [TableColumn(field="set", title="set", width=50)]
    for col in params:
        data[col] = frame[col].astype(str).tolist()
        columns.append(TableColumn(field=col, title=col.removeprefix(PARAM), formatter=StringFormatter()))
    metrics = [(metric, metric)] + [(label, key) for label, key in TABLE_METRICS if key != metric]
    for label, key in metrics:
        data[key] = pd.to_numeric(frame[key], errors="coerce").to_numpy(np.float64)
        whole = key in ("trades", "fills", "days")
        columns.append(TableColumn(field=key, title=f"{label} *" if key == metric else label,
                                   formatter=NumberFormatter(format="0,0" if whole else "0,0.00",
                                                             text_align="right", nan_format="n/a")))
    return DataTable(source=ColumnDataSource(data, name="sweep_table_source"), columns=columns, name="sweep_table",
                     height=min(height, 28 * len(frame) + 32), sizing_mode="stretch_width", index_position=None)


def pbo_figure(pbo: dict[str, Any]) -> Any | None:
    """The CSCV logit distribution as a histogram (figure ``pbo_logits``, bins ``pbo_bins``), the line at 0
    marking the PBO (the share of combinations at or below it); hover: a bin's range and count. None
    without logits (the PBO could not be computed)."""
    from bokeh.models import ColumnDataSource, HoverTool
    from bokeh.plotting import figure

    logits = pbo_logits(pbo)
    if not len(logits):
        return None
    counts, edges = np.histogram(logits, bins=logit_bins(logits))
    source = ColumnDataSource({"left": edges[:-1], "right": edges[1:], "count": counts,
                               "share": counts / counts.sum()}, name="pbo_bins_source")
    fig = figure(name="pbo_logits", height=300, width=620, tools="save,reset",
                 title=f"CSCV: S={pbo['n_splits']}, {pbo['n_combinations']:,} combinations, {pbo['n_sets']} sets; "
                       f"PBO = share at or below 0 = {pbo['pbo']:.3f}")
    bins = fig.quad(left="left", right="right", top="count", bottom=0, source=source, fill_color=html.BLUE,
                    fill_alpha=0.75, line_color="white", name="pbo_bins")
    fig.vspan(x=[0.0], line_color=html.RED, line_width=2)
    fig.add_tools(HoverTool(renderers=[bins], tooltips=[("logit", "@left{0.00} to @right{0.00}"),
                                                        ("combinations", "@count"), ("share", "@share{0.0%}")]))
    fig.xaxis.axis_label = "logit of the in-sample best set's out-of-sample relative rank (≤ 0: at or below the median)"
    fig.yaxis.axis_label = "combinations"
    fig.xgrid.visible = False
    return fig


def sweep_page(result: Any, path: "str | Path", base: Any, *, title: str | None = None) -> Path:
    """Write ``sweep.html`` for a finished sweep (see the module docstring); ``base`` is the sweep's
    :class:`research.RunConfig` (strategy, data, bars). Returns the path written."""
    from bokeh.layouts import column

    heading = title or f"Sweep: {base.strategy_name} on {base.data_name}, {base.bars} bars"
    frame = sweep_frame(result)
    intro = (f"<h1 class='of'>{html_text.escape(heading)}</h1><p class='of-note'>{html_text.escape(describe_sweep(result, base))} "
             "Hover a cell for every metric of its set; click a column header of the table to sort.</p>")
    checks = "".join(f"<p class='of'>{html_text.escape(line.strip())}</p>" for line in statistics_text(result).splitlines())
    parts = [_div(intro, sizing_mode="stretch_width"), *sweep_chart(result, frame),
             _div(f"<p class='of'><b>{html_text.escape(best_line(result))}</b></p>", name="sweep_best"),
             _div("<h2 class='of'>Sets (best first)</h2>"), sweep_table(result, frame),
             _div(f"<h2 class='of'>Overfitting checks</h2>{checks}", name="sweep_statistics", sizing_mode="stretch_width")]
    pbo = pbo_figure(result.statistics.get("pbo", {}))
    if pbo is not None:
        parts.append(pbo)
    return html.save_page(column(*parts, name="sweep_page", sizing_mode="stretch_width"), path, heading)


# --------------------------------------------------------------------------- the walk-forward


def window_frame(result: Any, tz: str) -> pd.DataFrame:
    """One row per window for the walk-forward panel's hover: ``window``, the train and test times,
    ``bars`` (train and test counts), the chosen ``set`` and each parameter, then per metric of
    walk_forward.csv one text cell ``"<in sample> in sample, <out of sample> out of sample"``."""
    w = result.windows
    out = pd.DataFrame({"window": w["window"].astype(int)})
    for col in ("train_start", "train_end", "test_start", "test_end"):
        out[col] = pd.DatetimeIndex(w[col]).tz_convert(tz)
    out["bars"] = [f"{a:,} train, {b:,} test" for a, b in zip(w["train_bars"], w["test_bars"])]
    out["chosen set"] = w["set"].astype(str)
    for col in w.columns:
        if col.startswith(PARAM):
            out[col.removeprefix(PARAM)] = w[col].astype(str)
    keys = [c.removeprefix("is_") for c in w.columns if c.startswith("is_") and "oos_" + c.removeprefix("is_") in w.columns]
    for key in keys:
        out[key] = [f"{cell_text(a)} in sample, {cell_text(b)} out of sample" for a, b in zip(w["is_" + key], w["oos_" + key])]
    return out


def walk_forward_page(result: Any, path: "str | Path", base: Any, *, title: str | None = None) -> Path:
    """Write ``walk_forward.html`` for a finished walk-forward (see the module docstring); ``base`` is
    its :class:`research.RunConfig` (strategy, data, bars, ``tz`` for the times shown). Returns the path."""
    from bokeh.layouts import column
    from bokeh.models import ColumnDataSource, DataTable, TableColumn

    tz = getattr(base, "tz", "UTC") or "UTC"
    heading = title or f"Walk-forward: {base.strategy_name} on {base.data_name}, {base.bars} bars"
    m = result.metrics
    intro = (f"<h1 class='of'>{html_text.escape(heading)}</h1><p class='of-note'>Walk-forward {html_text.escape(str(result.spec))}"
             f", {len(result.windows)} windows, parameters chosen in sample by {html_text.escape(result.rank_by)}. "
             "The equity stitches the test windows (out of sample), each shaded; below, each window's training (grey) "
             "and testing (blue). Hover a window for its dates, chosen parameters and in- and out-of-sample metrics. "
             f"Times in {html_text.escape(tz)}; bars side by side (training before the first test window starts at "
             "the left edge).</p>")
    panel = html.walk_forward_panel(result.equity, window_frame(result, tz), tz=tz,
                                    title=f"Out-of-sample equity: return {cell_text(m.get('total_return_pct'))} %, "
                                          f"Sharpe {cell_text(m.get('sharpe'))}, max DD {cell_text(m.get('max_drawdown_pct'))} %, "
                                          f"{m.get('trades')} trades")
    header, rows = walk_forward_table_rows(result, tz)
    table = DataTable(source=ColumnDataSource({f"c{i}": [r[i] for r in rows] for i in range(len(header))},
                                              name="walk_forward_table_source"),
                      columns=[TableColumn(field=f"c{i}", title=h, width=300 if h == "chosen set" else 100)
                               for i, h in enumerate(header)], name="walk_forward_table",
                      height=min(320, 28 * len(rows) + 32), sizing_mode="stretch_width", index_position=None)
    parts = [_div(intro, sizing_mode="stretch_width"), panel, _div("<h2 class='of'>Windows</h2>"), table,
             _div(html.metrics_html(m, "Out of sample (the test windows stitched)"), name="metrics", width=460)]
    return html.save_page(column(*parts, name="walk_forward_page", sizing_mode="stretch_width"), path, heading)
