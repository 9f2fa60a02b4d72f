"""The footprint explorer in Bokeh: price levels x bars, ``sell x buy`` in each cell once zoomed in.

The HTML twin of :mod:`reports.footprint_chart` (the PNG): the grid comes from
:func:`reports.footprint_chart.window_grid`, the marks from :mod:`data.bars.footprint`
(:func:`~data.bars.footprint.diagonal_imbalances`, :func:`~data.bars.footprint.point_of_control`,
:func:`~data.bars.footprint.value_area`, :func:`~data.bars.footprint.longest_runs`) and the cell shading
from :func:`reports.footprint_chart.cell_shades` (the text on it from
:func:`reports.footprint_chart.cell_text_colours`), so both pictures mark and colour the same cells.
Used by :func:`reports.html.report` (under the report, on its bar numbers and times) and
:func:`reports.html.footprint_page` (a page of its own).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from data.bars.footprint import (
    DEFAULT_RATIO,
    diagonal_imbalances,
    level_prices,
    longest_runs,
    point_of_control,
    value_area,
)

from .footprint_chart import cell_shades, cell_text_colours, fmt_volume, spec_has_seconds, window_grid
from .html_parts import bar_times_ms, custom_js, legend_above, time_axis

__all__ = ["footprint_figures", "run_window", "CELL_BUDGET", "TEXT_MIN_PX", "FIRST_VIEW_BARS"]

GREEN, RED, GREY, ORANGE, INK = "#1a9641", "#d7191c", "#8a8a8a", "#f08c00", "#333333"
CELL_BUDGET = 60_000  # cells drawn at most; beyond it levels merge into rows of several ticks
TEXT_MIN_PX = (58.0, 13.0)  # cell size in pixels (width, height) from which the numbers are printed
HALF = 0.37  # half a cell's width, in bars (as in the PNG chart)
FIRST_VIEW_BARS = 20  # bars in view when the explorer opens: wide enough cells for the numbers

def run_window(index: pd.DatetimeIndex, trades: pd.DataFrame | None, max_bars: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The default footprint window of a run: from 10 bars before the first entry (the first bar
    when there is no trade), ``max_bars`` bars long (clipped to the run)."""
    first = 0
    if trades is not None and len(trades):
        first = max(0, int(trades["entry_bar"].min()) - 10)
    last = min(len(index) - 1, first + max_bars - 1)
    return index[first], index[last]


def footprint_figures(
    ticks: pd.DataFrame,
    start: Any,
    end: Any,
    *,
    spec: str,
    tick_size: float | None = None,
    tz: str = "UTC",
    trades: pd.DataFrame | None = None,
    max_bars: int = 400,
    ratio: float | None = None,
    min_volume: float = 0.0,
    min_stack: int = 3,
    run_index: pd.DatetimeIndex | None = None,
    report_range: Any = None,
    times_source: Any = None,
) -> tuple[list[Any], list[Any]]:
    """``(models, on_load)``: the Bokeh models of the footprint of the bars stamped in ``[start, end]``
    (a note, the footprint figure ``footprint``, the delta/volume strip ``footprint_strip``) and the
    callbacks to run when the page is ready.

    Rows are one tick tall unless the window would need more than :data:`CELL_BUDGET` cells (then
    rows of several ticks, as :func:`~reports.footprint_chart.window_grid` merges them). The
    figures open on the window's first :data:`FIRST_VIEW_BARS` bars, where the numbers read at
    once (their x range ``footprint_x_range`` spans the window). With ``run_index`` (the report's
    bar times), ``report_range`` (the x range of its charts) and ``times_source``, cells sit on the
    report's bar numbers and times, and a button (``footprint_show``) shows the footprint's bars in
    the report's charts; otherwise they sit on the window's own bar numbers.
    """
    from bokeh.layouts import gridplot
    from bokeh.models import Button, ColumnDataSource, Div, HoverTool, Range1d
    from bokeh.plotting import figure

    ratio = DEFAULT_RATIO if ratio is None else float(ratio)
    grid, ohlc = window_grid(ticks, start, end, spec=spec, tick_size=tick_size, row_ticks=1, max_bars=max_bars)
    if grid.offsets[-1] > CELL_BUDGET:
        rows = math.ceil(int(grid.offsets[-1]) / CELL_BUDGET)
        grid, ohlc = window_grid(ticks, start, end, spec=spec, tick_size=grid.tick_size, row_ticks=rows,
                                 max_bars=max_bars)
    row = grid.tick_size
    tick = row / ohlc.attrs.get("row_ticks", 1)
    n_bars = grid.n_bars
    stamps = ohlc.index
    local = stamps.tz_convert(tz)
    clock = "%H:%M:%S" if spec_has_seconds(spec) else "%H:%M"
    bar_text = [f"{t:%Y-%m-%d %a} {t.strftime(clock)}" for t in local]

    linked = False
    if run_index is not None and report_range is not None and times_source is not None:
        pos = np.searchsorted(run_index.asi8, stamps.asi8)
        linked = bool((pos < len(run_index)).all() and (run_index.asi8[np.minimum(pos, len(run_index) - 1)]
                                                         == stamps.asi8).all())
    if linked:
        bar_x = pos.astype(np.float64)
    else:
        bar_x = np.arange(n_bars, dtype=np.float64)
        times_source = ColumnDataSource({"t": bar_times_ms(stamps, tz)}, name="footprint_times")
    # open on the window's first bars, zoomed in far enough to read the numbers at once
    first, last = float(bar_x[0]), float(bar_x[-1])
    x_range = Range1d(first - 0.6, min(last, first + FIRST_VIEW_BARS - 1) + 0.6, bounds=(first - 1, last + 1),
                      name="footprint_x_range")

    # per cell (traded cells only, as in the PNG chart)
    buy_imb, sell_imb = diagonal_imbalances(grid, ratio, min_volume)
    poc = point_of_control(grid)
    val, vah = value_area(grid, poc)
    buy_len, buy_lo, buy_hi = longest_runs(buy_imb, grid, prefer_high=True)
    sell_len, sell_lo, sell_hi = longest_runs(sell_imb, grid, prefer_high=False)
    bar, level = grid.bar, grid.level
    in_value = (level >= val[bar]) & (level <= vah[bar])
    in_buy_stack = (buy_len[bar] >= min_stack) & (level >= buy_lo[bar]) & (level <= buy_hi[bar])
    in_sell_stack = (sell_len[bar] >= min_stack) & (level >= sell_lo[bar]) & (level <= sell_hi[bar])
    is_poc = np.zeros(len(level), dtype=bool)
    is_poc[poc] = True
    background = cell_shades(grid)
    shades = (np.clip(background, 0, 1) * 255).round().astype(int)
    ink = cell_text_colours(background, buy_imb, sell_imb)  # as the PNG chart colours them
    traded = np.flatnonzero(grid.trades > 0)
    cb = bar[traded]

    def flags(c: int) -> str:
        marks = [name for name, on in (("POC", is_poc[c]), ("value area", in_value[c]),
                                        ("buy imbalance", buy_imb[c]), ("sell imbalance", sell_imb[c]),
                                        ("in a buy stack", in_buy_stack[c]), ("in a sell stack", in_sell_stack[c])) if on]
        return ", ".join(marks) or "-"

    cells = ColumnDataSource(name="footprint_cells", data={
        "x": bar_x[cb], "y": grid.price[traded],
        "fill": [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in shades[traded]],
        "sell": grid.sell[traded], "buy": grid.buy[traded], "unknown": grid.unknown[traded],
        "volume": grid.volume[traded], "delta": grid.buy[traded] - grid.sell[traded],
        "sell_trades": grid.sell_trades[traded], "buy_trades": grid.buy_trades[traded],
        "unknown_trades": grid.unknown_trades[traded],
        "time": [bar_text[b] for b in cb], "marks": [flags(c) for c in traded],
        "sell_text": [fmt_volume(v) for v in grid.sell[traded]], "buy_text": [fmt_volume(v) for v in grid.buy[traded]],
        "sell_color": ink["sell"][traded].tolist(), "buy_color": ink["buy"][traded].tolist(),
        "sign_color": ink["sign"][traded].tolist(),
        "sell_style": np.where(sell_imb[traded], "bold", "normal").tolist(),
        "buy_style": np.where(buy_imb[traded], "bold", "normal").tolist(),
        "sell_x": bar_x[cb] - 0.05, "buy_x": bar_x[cb] + 0.05,
    })
    lo_price, hi_price = float(ohlc["low"].min()), float(ohlc["high"].max())
    y_range = Range1d(lo_price - row, hi_price + row, name="footprint_y_range")
    height = 620
    fig = figure(name="footprint", height=height, sizing_mode="stretch_width", x_range=x_range, y_range=y_range,
                 tools="xpan,xwheel_zoom,ywheel_zoom,box_zoom,reset,save", active_scroll="xwheel_zoom",
                 active_drag="xpan", min_border_left=80)
    fig.xgrid.visible = False
    fig.ygrid.grid_line_alpha = 0.25
    fig.yaxis.axis_label = "price"
    fig.yaxis.formatter.use_scientific = False
    rects = fig.rect("x", "y", 2 * HALF, row, source=cells, fill_color="fill", line_color="#d9d9d9", line_width=0.5,
                     name="footprint_rects")
    fig.add_tools(HoverTool(renderers=[rects], tooltips=[
        ("bar", "@time"), ("price", "@y{0,0.00[0000]}"), ("sell × buy", "@sell{0,0.[000]} × @buy{0,0.[000]}"),
        ("unknown side", "@unknown{0,0.[000]}"), ("volume", "@volume{0,0.[000]}"), ("delta", "@delta{+0,0.[000]}"),
        ("trades sell / buy / unknown", "@sell_trades / @buy_trades / @unknown_trades"), ("marks", "@marks")]))
    texts = [
        fig.text("sell_x", "y", text="sell_text", source=cells, text_align="right", text_baseline="middle",
                 text_font_size="11px", text_color="sell_color", text_font_style="sell_style", name="footprint_sell_text"),
        fig.text("x", "y", text={"value": "×"}, source=cells, text_align="center", text_baseline="middle",
                 text_font_size="9px", text_color="sign_color", name="footprint_times_sign"),
        fig.text("buy_x", "y", text="buy_text", source=cells, text_align="left", text_baseline="middle",
                 text_font_size="11px", text_color="buy_color", text_font_style="buy_style", name="footprint_buy_text"),
    ]
    for r in texts:
        r.visible = False

    # per bar: POC box, value-area bracket, stacks, candle
    poc_x = bar_x
    fig.rect(poc_x, grid.price[poc], 2 * HALF, row, fill_alpha=0, line_color=ORANGE, line_width=2, name="footprint_poc",
             legend_label="POC")
    va_lo = level_prices(val, grid.tick_size) - 0.45 * row
    va_hi = level_prices(vah, grid.tick_size) + 0.45 * row
    bx = bar_x - HALF + 0.02
    fig.segment(np.concatenate([bx, bx, bx]), np.concatenate([va_lo, va_lo, va_hi]),
                np.concatenate([bx, bx + 0.05, bx + 0.05]), np.concatenate([va_hi, va_lo, va_hi]),
                line_color="#555555", line_width=1.2, name="footprint_value_area", legend_label="70% value area")
    for length, s_lo, s_hi, colour, side in ((buy_len, buy_lo, buy_hi, GREEN, "buy"),
                                             (sell_len, sell_lo, sell_hi, RED, "sell")):
        stacked = np.flatnonzero(length >= min_stack)
        if len(stacked):
            y0 = level_prices(s_lo[stacked], grid.tick_size) - row / 2
            y1 = level_prices(s_hi[stacked], grid.tick_size) + row / 2
            fig.quad(left=bar_x[stacked] + HALF - 0.07, right=bar_x[stacked] + HALF, bottom=y0, top=y1,
                     fill_color=colour, line_color=None, name=f"footprint_{side}_stacks",
                     legend_label=f"{side} stack (≥ {min_stack} imbalances)")
    up = (ohlc["close"] >= ohlc["open"]).to_numpy()
    colour = np.where(up, GREEN, RED).tolist()
    cx = bar_x - HALF - 0.08
    o, c = ohlc["open"].to_numpy(np.float64), ohlc["close"].to_numpy(np.float64)
    bars = ColumnDataSource(name="footprint_bars", data={
        "x": bar_x, "cx": cx, "open": o, "high": ohlc["high"].to_numpy(np.float64),
        "low": ohlc["low"].to_numpy(np.float64), "close": c, "top": np.maximum(o, c),
        "bottom": np.where(np.abs(o - c) < 0.08 * row, np.maximum(o, c) - 0.08 * row, np.minimum(o, c)),
        "color": colour, "delta": ohlc["delta"].to_numpy(np.float64), "volume": ohlc["volume"].to_numpy(np.float64),
        "delta_text": [("+" if v > 0 else "-" if v < 0 else "") + fmt_volume(abs(v)) for v in ohlc["delta"]],
        "volume_text": [fmt_volume(v) for v in ohlc["volume"]],
        "delta_color": np.where(ohlc["delta"] > 0, GREEN, np.where(ohlc["delta"] < 0, RED, INK)).tolist(),
        "time": bar_text,
    })
    fig.segment("cx", "high", "cx", "low", source=bars, color="color", line_width=1.2, name="footprint_wicks")
    fig.vbar("cx", 0.07, "top", "bottom", source=bars, fill_color="color", line_color="color", name="footprint_bodies")
    _trade_marks(fig, trades, ohlc, bar_x, row)
    legend_above(fig)

    strip = figure(name="footprint_strip", height=110, sizing_mode="stretch_width", x_range=x_range,
                   y_range=Range1d(0, 2), tools="xpan,xwheel_zoom,reset", active_scroll="xwheel_zoom", active_drag="xpan",
                   min_border_left=80)
    strip.ygrid.visible = False
    strip.xgrid.visible = False
    strip.yaxis.ticker = [0.5, 1.5]
    strip.yaxis.major_label_overrides = {0.5: "volume", 1.5: "delta"}
    strip_texts = [
        strip.text("x", 1.5, text="delta_text", source=bars, text_align="center", text_baseline="middle",
                   text_font_size="12px", text_font_style="bold", text_color="delta_color", name="strip_delta_text"),
        strip.text("x", 0.5, text="volume_text", source=bars, text_align="center", text_baseline="middle",
                   text_font_size="12px", text_color=INK, name="strip_volume_text"),
    ]
    scale = float(np.abs(bars.data["delta"]).max()) or 1.0
    strip_bars = [strip.vbar(bar_x, 0.7, top=1.0 + 0.95 * np.maximum(bars.data["delta"], 0) / scale, bottom=1.0,
                             color=GREEN, name="strip_delta_up"),
                  strip.vbar(bar_x, 0.7, top=1.0, bottom=1.0 + 0.95 * np.minimum(bars.data["delta"], 0) / scale,
                             color=RED, name="strip_delta_down")]
    for r in strip_texts:
        r.visible = False
    strip.add_tools(HoverTool(renderers=strip_bars, tooltips=[("bar", "@time"), ("delta", "@delta{+0,0.[000]}"),
                                                              ("volume", "@volume{0,0.[000]}")]))
    strip.hspan(y=[1.0], line_color="#dddddd")
    time_axis(strip, times_source, tz)
    time_axis(fig, times_source, tz)  # hidden, but its ticks place the grid
    fig.xaxis.visible = False

    rows_note = (f"tick {tick:g}" if ohlc.attrs.get("row_ticks", 1) == 1
                 else f"rows of {ohlc.attrs['row_ticks']} ticks ({row:g})")
    window_text = f"{bar_text[0]} to {bar_text[-1]} ({tz})"
    legend = Div(name="footprint_legend", text=(
        f"<div class='of-note'>Footprint of {n_bars} {spec} bars, {window_text}; {rows_note}. Bold green/red: "
        f"diagonal imbalance ≥ {ratio:g}:1{f', min. volume {min_volume:g}' if min_volume else ''}; orange box: POC; "
        f"bracket at the left: 70% value area; strip at the right: ≥ {min_stack} stacked imbalances; "
        "▲/▼ entries, ✕ exits.</div>"), sizing_mode="stretch_width")
    note = Div(name="footprint_note", text="", styles={"color": "#555", "font-size": "12.5px"})
    callback = custom_js("footprint_view", "view", fig=fig, xr=x_range, yr=y_range, bars=bars, row=row, texts=texts,
                         strip_texts=strip_texts, strip_bars=strip_bars, min_px=list(TEXT_MIN_PX), note=note, fit_y=True)
    x_range.js_on_change("start", callback)
    x_range.js_on_change("end", callback)
    models: list[Any] = [legend, note]
    if linked:
        show = Button(label="Show these bars in the charts above", name="footprint_show", button_type="light")
        show.js_on_click(custom_js("footprint_view", "show_in_report", footprint_range=x_range, report_range=report_range))
        models.append(show)
    grid_plot = gridplot([[fig], [strip]], merge_tools=True, toolbar_location="right", sizing_mode="stretch_width")
    return [*models, grid_plot], [callback]


def _trade_marks(fig: Any, trades: pd.DataFrame | None, ohlc: pd.DataFrame, bar_x: np.ndarray, row: float) -> None:
    """Entries and exits in the bar whose interval holds their time (the first bar stamped at or
    after it, bars being right-closed), right of the cells' centre, as in the PNG chart."""
    if trades is None or len(trades) == 0:
        return
    stamps = ohlc.index.asi8
    before = ohlc.attrs.get("previous_stamp")
    xs, ys, kinds = [], [], []
    long = (trades["direction"] == "long").to_numpy() if "direction" in trades else trades["size"].to_numpy() > 0
    closed = trades["closed"].to_numpy(bool) if "closed" in trades else np.ones(len(trades), bool)
    for col, price, kind in (("entry_time", "entry_price", np.where(long, "long", "short")),
                             ("exit_time", "exit_price", np.where(closed, "exit", "open"))):
        t = pd.DatetimeIndex(trades[col])
        t = (t.tz_localize("UTC") if t.tz is None else t.tz_convert("UTC")).as_unit("ns").asi8
        b = np.searchsorted(stamps, t, side="left")
        inside = (b < len(stamps)) & ((t > before) if before is not None else True)
        xs.append(bar_x[b[inside]] + 0.3)
        ys.append(trades[price].to_numpy(np.float64)[inside])
        kinds.append(np.asarray(kind)[inside])
    x, y, kind = np.concatenate(xs), np.concatenate(ys), np.concatenate(kinds)
    style = {"long": ("triangle", GREEN), "short": ("inverted_triangle", RED), "exit": ("x", "#222222"),
             "open": ("circle", "#222222")}
    for name, (marker, colour) in style.items():
        sel = kind == name
        if sel.any():
            fig.scatter(x[sel], y[sel], marker=marker, size=13, fill_color=colour, line_color="white" if name in (
                "long", "short") else colour, line_width=1.2 if name in ("long", "short") else 2.5,
                name=f"footprint_{name}")
