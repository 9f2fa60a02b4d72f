"""Interactive HTML reports with Bokeh: one self-contained file (Bokeh's JavaScript inline) that opens offline.

- :func:`report` — the backtest report: candles with entries and exits, delta, CVD, book
  imbalance, equity with drawdown shaded, on one linked time axis; the metrics table and the
  run's settings; with ``ticks``, the footprint explorer of a window of bars under them.
- :func:`footprint_page` — the footprint explorer of a chosen window on a page of its own.
- :func:`sweep_heatmap`, :func:`walk_forward_panel` — sweep panels (a metric over two
  parameters; walk-forward equity with its windows); :func:`save_page` writes panels to a file.

The time axis is the bar number, as in the PNG report (:mod:`reports.plots`): bars are drawn
side by side, so nights and weekends take no room and draw no flat lines; a faint vertical line
marks each gap in the data (:func:`reports.plots.session_gaps`). Tick labels are the bars' times
in the run's time zone, placed on round times (a JavaScript ticker choosing among the steps of
:func:`reports.plots.time_ticks`; :func:`reports.html_parts.time_axis`, shared with the footprint explorer).

The pages' scripts are JavaScript files in ``reports/js/`` (package data), read by
:func:`reports.html_parts.js_source` and inlined into each page by :func:`reports.html_parts.js_code`;
``tests/test_html_js.py`` ties their functions to Python references.

Large runs: every bar is in the file once (``bars_full``), and what is drawn is the visible
range plus half a screen either side, cut into buckets of ``k = ceil(visible bars / plot
width in pixels)`` bars: a bucket's candle has the first open, highest high, lowest low and last
close, its delta bars reach the lowest and highest delta of its bars, and each line keeps the
lowest and highest value of the bucket in the order they came (min-max decimation). Nothing
extreme is dropped; the page says how many bars a candle stands for. Zoomed in to fewer bars
than pixels, every bar is drawn as it is.
"""
from __future__ import annotations

import html as html_text
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from data.errors import OrderFlowError

from .colours import NAN_COLOUR, RED_TO_GREEN, hex_rgb, scale_colours, text_colours, value_range
from .html_parts import bar_times_ms, custom_js, legend_above, time_axis
from .metrics import metric_rows, metrics_note
from .plots import imbalance_mean, normalised_imbalance, session_gaps

__all__ = ["report", "footprint_page", "sweep_heatmap", "sweep_selectors", "best_in_cells", "walk_forward_panel", "save_page",
           "PANEL_NAMES"]

GREEN, RED, BLUE, GREY, ORANGE = "#2e9e44", "#d0343a", "#1f5fa8", "#8a8a8a", "#f08c00"
PANEL_NAMES = ("price", "delta", "cvd", "imbalance", "equity", "drawdown")
TABLE_CSS = """
table.of { border-collapse: collapse; font-size: 13px; font-family: system-ui, sans-serif; }
table.of td, table.of th { padding: 2px 10px; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
table.of td.v { text-align: right; font-variant-numeric: tabular-nums; }
table.of td { white-space: normal; overflow-wrap: anywhere; }
table.of td:first-child { white-space: nowrap; }
h2.of { font-size: 15px; margin: 14px 0 4px 0; font-family: system-ui, sans-serif; }
"""
PAGE_CSS = """<style>
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; margin: 12px 18px; color: #222; }
table.of { border-collapse: collapse; font-size: 13px; }
table.of td, table.of th { padding: 2px 10px; border-bottom: 1px solid #eee; text-align: left; }
table.of td.v { text-align: right; font-variant-numeric: tabular-nums; }
table.of td { max-width: 720px; white-space: normal; overflow-wrap: anywhere; }
.of-note { color: #555; font-size: 12.5px; }
h1.of { font-size: 18px; margin: 4px 0; } h2.of { font-size: 15px; margin: 14px 0 4px 0; }
</style>"""


# --------------------------------------------------------------------------- thinning (in the browser)


def _thin_callback(full: Any, candles: Any, lines: Any, x_range: Any, fig: Any, note: Any) -> Any:
    """Fills ``candles`` and ``lines`` from ``full`` for the visible x range (reports/js/thin.js; see the module docstring)."""
    return custom_js("thin", "thin", full=full, candles=candles, lines=lines, xr=x_range, fig=fig, note=note,
                     up=GREEN, down=RED)


# --------------------------------------------------------------------------- the report


def report(
    result: Any,
    path: "str | Path",
    *,
    ticks: pd.DataFrame | None = None,
    footprint_window: "tuple[Any, Any] | None" = None,
    settings: Mapping[str, Any] | None = None,
    title: str | None = None,
    tick_size: float | None = None,
    footprint_bars: int = 240,
) -> Path:
    """Write the interactive report of a backtest to ``path`` (one HTML file, no network needed).

    Reads ``result.bars`` (order-flow bars indexed by UTC bar time: ``open high low close volume
    delta bid_size ask_size``), ``result.equity`` (per bar: ``value``, ``drawdown`` in percent),
    ``result.trades`` (:func:`research.trades.trades_frame`), ``result.metrics``
    (:func:`research.metrics.performance`), ``result.cvd``/``result.cvd_label`` (the strategy's
    CVD per bar; the running sum of ``delta`` when None), ``result.cvd_resets`` if present, and
    ``result.config`` (``tz``, ``bars``, ``strategy_name``, ``data`` ...; ``settings`` replaces
    what is derived from it). Panels: candles with entries and exits (hover: time, price, size,
    P&L), delta (buy - sell), CVD, the book imbalance ``(bid - ask) / (bid + ask)``, equity with
    its running peak and the drawdown shaded, drawdown in percent. With ``ticks`` (the run's
    ticks), the footprint of the bars stamped in ``footprint_window`` (UTC unless zoned; default:
    from 10 bars before the first entry) is drawn below on the report's bar numbers and times, at
    most ``footprint_bars`` bars; it opens on the window's first bars, zoomed in to read each
    cell's numbers, and a button shows the bars it shows in the charts above. Returns the path written.
    """
    from bokeh.layouts import column, gridplot, row
    from bokeh.models import ColumnDataSource, Div, InlineStyleSheet, Range1d
    from bokeh.plotting import figure

    config = result.config
    tz = getattr(config, "tz", "UTC") or "UTC"
    bars, equity, trades = result.bars, result.equity, result.trades
    n = len(bars)
    if n == 0:
        raise OrderFlowError("the result has no bars to draw")
    delta = bars["delta"].to_numpy(np.float64)
    cvd = np.cumsum(delta) if getattr(result, "cvd", None) is None else np.asarray(result.cvd, np.float64)
    value = equity["value"].to_numpy(np.float64)
    imb = normalised_imbalance(bars["bid_size"].to_numpy(), bars["ask_size"].to_numpy()) \
        if {"bid_size", "ask_size"} <= set(bars.columns) else np.full(n, np.nan)
    full = ColumnDataSource(name="bars_full", data={
        "x": np.arange(n, dtype=np.int32),
        "t": bar_times_ms(bars.index, tz),
        **{k: bars[k].to_numpy(np.float64) for k in ("open", "high", "low", "close", "volume")},
        "delta": delta, "cvd": cvd, "imb": imb, "value": value, "peak": np.maximum.accumulate(value),
        "dd": -equity["drawdown"].to_numpy(np.float64),
    })
    # Drawn sources, filled in the browser for the visible range (reports/js/thin.js); they start with the
    # first bar as it is, so that every range has data to start from.
    first = {k: full.data[k][:1].tolist() for k in ("x", "open", "high", "low", "close", "delta", "volume", "cvd",
                                                    "imb", "value", "peak", "dd")}
    o, c = first["open"][0], first["close"][0]
    candles = ColumnDataSource(name="candles", data={
        **{k: first[k] for k in ("x", "open", "high", "low", "close", "delta", "volume")}, "w": [0.7],
        "top": [max(o, c)], "bottom": [min(o, c)], "color": [GREEN if c >= o else RED],
        "dpos": [max(first["delta"][0], 0.0)], "dneg": [min(first["delta"][0], 0.0)], "bars": [1], "time": [""]})
    lines = ColumnDataSource(name="lines", data={
        **{k: first[k] for k in ("x", "cvd", "imb", "value", "peak", "dd")},
        "imb_pos": [max(first["imb"][0], 0.0)], "imb_neg": [min(first["imb"][0], 0.0)]})
    x_range = Range1d(-1, n, bounds=(-1, n), min_interval=5, name="x_range")
    tools = "xpan,xwheel_zoom,box_zoom,reset,save"

    def panel(name: str, height: int, ylabel: str) -> Any:
        fig = figure(name=name, height=height, sizing_mode="stretch_width", x_range=x_range, tools=tools,
                     active_scroll="xwheel_zoom", active_drag="xpan", min_border_left=80)
        fig.yaxis.axis_label = ylabel
        fig.xaxis.visible = name == "drawdown"
        fig.xgrid.grid_line_alpha = 0.35
        fig.ygrid.grid_line_alpha = 0.35
        fig.yaxis.formatter.use_scientific = False
        return fig

    panels = {name: panel(name, h, label) for name, h, label in (
        ("price", 360, "price"), ("delta", 140, "delta (buy − sell)"), ("cvd", 150, "CVD"),
        ("imbalance", 120, "book imbalance"), ("equity", 200, "portfolio value"), ("drawdown", 150, "drawdown %"))}
    _price_panel(panels["price"], candles, trades, tz)
    _delta_panel(panels["delta"], candles)
    resets = getattr(result, "cvd_resets", None)
    _line_panel(panels["cvd"], lines, "cvd", BLUE, getattr(result, "cvd_label", "CVD") or "CVD", resets)
    _imbalance_panel(panels["imbalance"], lines, full, imb)
    _equity_panels(panels["equity"], panels["drawdown"], lines)
    gaps = session_gaps(bars.index)
    for fig in panels.values():
        if len(gaps):
            fig.vspan(x=gaps - 0.5, line_color=GREY, line_alpha=0.45, line_width=1)
    for fig in panels.values():  # hidden axes too: their ticks place the vertical grid lines
        time_axis(fig, full, tz)

    note = Div(name="thin_note", text="", styles={"color": "#555", "font-size": "12.5px"})
    callback = _thin_callback(full, candles, lines, x_range, panels["price"], note)
    x_range.js_on_change("start", callback)
    x_range.js_on_change("end", callback)

    heading = title or _title(result, tz)
    header = Div(text=f"<h1 class='of'>{html_text.escape(heading)}</h1>"
                      "<div class='of-note'>Drag to pan, scroll to zoom the time axis (box zoom for both axes), "
                      "double-click the reset tool to come back. Hover a candle, an entry or an exit for its numbers.</div>",
                 sizing_mode="stretch_width")
    sheet = InlineStyleSheet(css=TABLE_CSS)  # a Div's HTML lives in a shadow root: the page's CSS does not reach it
    tables = row(Div(text=metrics_html(result.metrics), stylesheets=[sheet], width=430, name="metrics"),
                 Div(text=_settings_html(settings or _settings(result, tz)), stylesheets=[sheet], width=760,
                     name="settings"))
    grid = gridplot([[fig] for fig in panels.values()], merge_tools=True, toolbar_location="right",
                    sizing_mode="stretch_width")
    parts = [header, note, grid, tables]
    on_load = [callback]
    if ticks is not None:
        _big_trades_layer(panels["price"], ticks, bars, getattr(config, "bars", "1min"), tz)
        from .html_footprint import footprint_figures, run_window

        window = footprint_window or run_window(bars.index, trades, footprint_bars)
        spec = getattr(config, "bars", "1min")
        fp, fp_load = footprint_figures(ticks, window[0], window[1], spec=spec, tick_size=tick_size, tz=tz,
                                        trades=trades, max_bars=footprint_bars, run_index=bars.index,
                                        report_range=x_range, times_source=full)
        parts += [Div(text="<h2 class='of'>Footprint</h2>"), *fp]
        on_load.extend(fp_load)
    layout = column(*parts, name="report", sizing_mode="stretch_width")
    return save_page(layout, path, heading, on_load=on_load)


def _big_trades_layer(fig: Any, ticks: pd.DataFrame, bars: pd.DataFrame, spec: str, tz: str,
                      threshold: "float | str" = "p99.9") -> None:
    """Large aggressor orders (:func:`reports.footprint_chart.big_trade_markers`: trades grouped into
    orders, at or above the 99.9th percentile of the previous orders) as circles at their average
    price on the bar they completed in, sized by the square root of their size, green for buyers and
    red for sellers; hover: time, size, side, trades, levels swept, price range. A click on its
    legend entry hides the layer (as any other)."""
    from bokeh.models import ColumnDataSource, HoverTool

    from .footprint_chart import big_trade_markers

    marks = big_trade_markers(ticks, spec=spec, threshold=threshold)
    x = bars.index.get_indexer(pd.DatetimeIndex(marks["bar_time"]))
    marks, x = marks[x >= 0], x[x >= 0]
    if not len(marks):
        return
    source = ColumnDataSource(name="big_trades", data={
        "x": x.astype(np.int32), "price": marks["price"].to_numpy(np.float64),
        "size": marks["size"].to_numpy(np.float64), "r": 4.0 + 3.0 * marks["radius"].to_numpy(np.float64),
        "side": np.where(marks["side"].to_numpy() > 0, "buy", "sell"),
        "color": np.where(marks["side"].to_numpy() > 0, GREEN, RED),
        "trades": marks["trades"].to_numpy(), "levels": marks["levels"].to_numpy(),
        "low": marks["low"].to_numpy(np.float64), "high": marks["high"].to_numpy(np.float64),
        "time": pd.DatetimeIndex(marks["time"]).tz_convert(tz).strftime("%Y-%m-%d %H:%M:%S.%f").str[:-3].tolist(),
    })
    glyph = fig.scatter("x", "price", size="r", source=source, fill_color="color", fill_alpha=0.25, line_color="color",
                        line_width=1.2, legend_label=f"large order ({threshold})", name="big_trades")
    fig.legend.click_policy = "hide"
    fig.add_tools(HoverTool(renderers=[glyph], tooltips=[
        ("large order", "@side @size{0,0.[00]} at @price{0,0.00[00]}"), ("time", "@time"),
        ("trades", "@trades, @levels level(s), @low{0,0.00[00]} to @high{0,0.00[00]}")]))


def _title(result: Any, tz: str) -> str:
    c, bars = result.config, result.bars
    data = getattr(c, "data", None)
    parts = [str(getattr(c, "strategy_name", "backtest")), Path(str(data)).name if data else None,
             f"{getattr(c, 'bars', '')} bars" if getattr(c, "bars", None) else None,
             f"{bars.index[0].tz_convert(tz):%Y-%m-%d} to {bars.index[-1].tz_convert(tz):%Y-%m-%d} ({tz})"]
    return "  ·  ".join(p for p in parts if p)


def _settings(result: Any, tz: str) -> dict[str, Any]:
    """The run's settings, from ``result.config`` (what the CLI's options set)."""
    c = result.config
    out: dict[str, Any] = {}
    names = {"data": "data", "strategy_name": "strategy", "bars": "bars", "cash": "cash", "commission": "commission",
             "classify": "classify", "quotes": "quotes"}
    for key, label in names.items():
        value = getattr(c, key, None)
        if value is not None:
            out[label] = value
    slippage = getattr(c, "slippage", None)
    if slippage:
        kind, amount = slippage
        out["slippage"] = f"{amount * 100:g}% of price" if kind == "perc" else f"{amount:g} per unit"
    session = getattr(c, "session", None)
    if session:
        out["session start"] = f"{session[0]:%H:%M} {session[1]}"
    params = getattr(c, "params", None)
    strat = getattr(result, "strategy", None)
    if strat is not None and hasattr(strat, "params"):
        params = {k: getattr(strat.p, k) for k in strat.params._getkeys()}
    if params:
        out["params"] = ", ".join(f"{k}={v}" for k, v in params.items())
    out["tz"] = tz
    bars = result.bars
    out["bar count"] = f"{len(bars):,}"
    return out


def metrics_html(metrics: Mapping[str, Any], heading: str = "Metrics") -> str:
    """The metrics of a run (:func:`reports.metrics.metric_rows`) as an HTML table under ``heading``."""
    rows = "".join(f"<tr><td>{html_text.escape(k)}</td><td class='v'>{html_text.escape(v)}</td></tr>"
                   for k, v in metric_rows(dict(metrics)))
    note = metrics_note(dict(metrics))
    note_html = f"<div class='of-note'>{html_text.escape(note)}</div>" if note else ""
    return f"<h2 class='of'>{html_text.escape(heading)}</h2><table class='of' id='metrics'>{rows}</table>{note_html}"


def _settings_html(settings: Mapping[str, Any]) -> str:
    rows = "".join(f"<tr><td>{html_text.escape(str(k))}</td><td>{html_text.escape(str(v))}</td></tr>"
                   for k, v in settings.items())
    return f"<h2 class='of'>Settings</h2><table class='of' id='settings'>{rows}</table>"


def _price_panel(fig: Any, candles: Any, trades: pd.DataFrame, tz: str) -> None:
    from bokeh.models import ColumnDataSource, DataRange1d, HoverTool

    wicks = fig.segment("x", "high", "x", "low", source=candles, color="color", line_width=1, name="wicks")
    bodies = fig.vbar("x", "w", "top", "bottom", source=candles, fill_color="color", line_color="color",
                      name="bodies")
    fig.y_range = DataRange1d(renderers=[wicks], range_padding=0.05)
    fig.add_tools(HoverTool(renderers=[bodies], tooltips=[
        ("time", "@time"), ("bars", "@bars"), ("open", "@open{0,0.00[00]}"), ("high", "@high{0,0.00[00]}"),
        ("low", "@low{0,0.00[00]}"), ("close", "@close{0,0.00[00]}"), ("volume", "@volume{0,0.[00]}"),
        ("delta", "@delta{+0,0.[00]}")]))
    if trades is None or len(trades) == 0:
        return
    source = ColumnDataSource(name="trades", data=_trade_columns(trades, tz))
    fig.segment("entry_bar", "entry_price", "exit_bar", "exit_price", source=source, color="result_color",
                line_width=1.6, line_alpha=0.7)
    tips = [("trade", "@number: @direction @size{0,0.[0000]}"), ("entry", "@entry_text at @entry_price{0,0.00[00]}"),
            ("exit", "@exit_text at @exit_price{0,0.00[00]}"), ("P&L", "@pnl{+0,0.00} (net @pnl_net{+0,0.00})"),
            ("bars held", "@bars_held")]
    entries = fig.scatter("entry_bar", "entry_price", source=source, marker="marker", size=11, fill_color="entry_color",
                          line_color="black", line_width=0.6, name="entries", legend_label="entry (▲ long, ▼ short)")
    exits = fig.scatter("exit_bar", "exit_price", source=source, marker="exit_marker", size=10, line_color="black",
                        fill_color="white", line_width=1.6, name="exits",
                        legend_label="exit (line green: won, red: lost; ○ open at end)")
    fig.add_tools(HoverTool(renderers=[entries, exits], tooltips=tips))
    legend_above(fig)


def _trade_columns(trades: pd.DataFrame, tz: str) -> dict[str, Any]:
    """The trades frame as columns for the price panel (times as text in ``tz``)."""
    long = (trades["direction"] == "long").to_numpy()
    closed = trades["closed"].to_numpy(bool) if "closed" in trades else np.ones(len(trades), bool)
    won = (trades["pnl_net"].to_numpy(np.float64) > 0)

    def text(times: pd.Series) -> list[str]:
        return [f"{t:%Y-%m-%d %a %H:%M:%S}" for t in pd.DatetimeIndex(times).tz_convert(tz)]

    return {
        "number": np.arange(1, len(trades) + 1),
        "entry_bar": trades["entry_bar"].to_numpy(np.int64), "exit_bar": trades["exit_bar"].to_numpy(np.int64),
        "entry_price": trades["entry_price"].to_numpy(np.float64),
        "exit_price": trades["exit_price"].to_numpy(np.float64),
        "direction": trades["direction"].astype(str).tolist(),
        "size": trades["size"].to_numpy(np.float64),
        "pnl": trades["pnl"].to_numpy(np.float64), "pnl_net": trades["pnl_net"].to_numpy(np.float64),
        "bars_held": trades["bars_held"].to_numpy(np.int64),
        "entry_text": text(trades["entry_time"]),
        "exit_text": [t if c else f"{t} (open at end, marked at the last close)"
                      for t, c in zip(text(trades["exit_time"]), closed)],
        "marker": np.where(long, "triangle", "inverted_triangle").tolist(),
        "entry_color": np.where(long, GREEN, RED).tolist(),
        "exit_marker": np.where(closed, "x", "circle").tolist(),
        "result_color": np.where(won, GREEN, RED).tolist(),
    }


def _delta_panel(fig: Any, candles: Any) -> None:
    from bokeh.models import HoverTool

    up = fig.vbar("x", "w", top="dpos", bottom=0, source=candles, color=GREEN, name="delta_up")
    down = fig.vbar("x", "w", top=0, bottom="dneg", source=candles, color=RED, name="delta_down")
    fig.add_tools(HoverTool(renderers=[up, down], tooltips=[("time", "@time"), ("delta", "@delta{+0,0.[00]}"),
                                                            ("volume", "@volume{0,0.[00]}")]))
    fig.hspan(y=[0], line_color=GREY, line_width=1)


def _line_panel(fig: Any, lines: Any, column: str, colour: str, label: str, resets: Any = None) -> None:
    from bokeh.models import DataRange1d

    line = fig.line("x", column, source=lines, color=colour, line_width=1.3, legend_label=label, name=f"{column}_line")
    fig.y_range = DataRange1d(renderers=[line], range_padding=0.08)
    fig.hspan(y=[0], line_color=GREY, line_width=1)
    if resets is not None and len(resets):
        fig.vspan(x=np.asarray(resets, dtype=np.float64) - 0.5, line_color=colour, line_dash="dashed", line_alpha=0.6,
                  legend_label="session reset")
    legend_above(fig)


def _imbalance_panel(fig: Any, lines: Any, full: Any, imb: np.ndarray) -> None:
    from bokeh.models import Range1d

    if np.isnan(imb).all():
        fig.text(x=[0], y=[0], text=["no bid/ask sizes in the data"], text_color=GREY, text_font_size="12px")
        return
    fig.varea("x", y1=0, y2="imb_pos", source=lines, fill_color=GREEN, fill_alpha=0.3)
    fig.varea("x", y1="imb_neg", y2=0, source=lines, fill_color=RED, fill_alpha=0.3)
    window, mean = imbalance_mean(imb)
    full.data["imb_mean"] = mean  # drawn from all bars: a mean is smooth at any zoom
    fig.line("x", "imb_mean", source=full, color="black", line_width=1, legend_label=f"{window}-bar mean")
    fig.y_range = Range1d(-1.05, 1.05)
    fig.hspan(y=[0], line_color=GREY, line_width=1)
    legend_above(fig)


def _equity_panels(fig: Any, dd_fig: Any, lines: Any) -> None:
    from bokeh.models import DataRange1d

    fig.varea("x", y1="value", y2="peak", source=lines, fill_color=RED, fill_alpha=0.3, legend_label="drawdown")
    fig.line("x", "peak", source=lines, color=GREY, line_dash="dotted", legend_label="running peak")
    eq = fig.line("x", "value", source=lines, color=BLUE, line_width=1.4, legend_label="equity", name="equity_line")
    fig.y_range = DataRange1d(renderers=[eq], range_padding=0.08)
    legend_above(fig)
    dd_fig.varea("x", y1="dd", y2=0, source=lines, fill_color=RED, fill_alpha=0.45)
    dd_fig.line("x", "dd", source=lines, color=RED, line_width=1, name="dd_line")


# --------------------------------------------------------------------------- pages


def save_page(layout: Any, path: "str | Path", title: str, *, on_load: Sequence[Any] = ()) -> Path:
    """Write Bokeh models (a layout, or a list of them stacked) to ``path`` as one HTML file with
    Bokeh's JavaScript inline (``bokeh.resources.INLINE``): it opens with no network.
    ``on_load``: CustomJS callbacks run once the page is ready (Bokeh's ``DocumentReady``)."""
    from bokeh.document import Document
    from bokeh.embed import file_html
    from bokeh.events import DocumentReady
    from bokeh.layouts import column
    from bokeh.resources import INLINE

    if isinstance(layout, (list, tuple)):
        layout = column(*layout, sizing_mode="stretch_width")
    doc = Document(title=title)
    doc.add_root(layout)
    for callback in on_load:
        doc.js_on_event(DocumentReady, callback)
    text = file_html(doc, resources=INLINE, title=title)
    text = text.replace("<head>", "<head>\n" + PAGE_CSS, 1)  # the first <head>: the bundles inline hold "</head>" in strings
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return out


def footprint_page(
    ticks: pd.DataFrame,
    start: Any,
    end: Any,
    spec: str,
    tick_size: float | None,
    path: "str | Path",
    *,
    tz: str = "UTC",
    trades: pd.DataFrame | None = None,
    title: str | None = None,
    max_bars: int = 400,
    ratio: float | None = None,
    min_volume: float = 0.0,
    min_stack: int = 3,
) -> Path:
    """Write the footprint explorer of the bars stamped in ``[start, end]`` (UTC unless zoned, the
    bars of ``make_bars(ticks, spec)``; at most ``max_bars``) to ``path`` as one HTML file.

    Cells are price levels (multiples of ``tick_size``, inferred when None) x bars; each shows
    ``sell x buy`` once zoomed in to a few dozen bars, and a heat map (green where buyers led,
    red where sellers did, darker with more volume: :func:`reports.footprint_chart.cell_shades`)
    when zoomed out. POC, value area, diagonal and stacked imbalances are marked as in the PNG
    chart (:func:`reports.footprint_chart.footprint_chart`), with ``ratio``, ``min_volume`` and
    ``min_stack`` as there. Hovering a cell shows all its numbers. ``trades`` (a trades frame)
    are marked at their price in the bar holding their time. Times are shown in ``tz``.
    """
    from bokeh.layouts import column
    from bokeh.models import Div

    from .html_footprint import footprint_figures

    figs, on_load = footprint_figures(ticks, start, end, spec=spec, tick_size=tick_size, tz=tz, trades=trades,
                                      max_bars=max_bars, ratio=ratio, min_volume=min_volume, min_stack=min_stack)
    heading = title or f"Footprint, {spec} bars ({tz})"
    layout = column(Div(text=f"<h1 class='of'>{html_text.escape(heading)}</h1>"), *figs, name="footprint_page",
                    sizing_mode="stretch_width")
    return save_page(layout, path, heading, on_load=on_load)


# --------------------------------------------------------------------------- sweeps


def sweep_heatmap(frame: pd.DataFrame, x: str, y: str, metric: str, *, title: str | None = None,
                  higher_is_better: bool = True, select: Sequence[str] = (),
                  order: Mapping[str, Sequence[Any]] | None = None) -> Any:
    """A metric over two parameters as an interactive heat map (a Bokeh figure named ``sweep_heatmap``).

    ``frame``: one row per backtest of the sweep, with the parameter columns ``x`` and ``y`` and the
    ``metric`` column (e.g. ``sharpe``); every other column is shown in the hover too. Each
    (``x``, ``y``) pair must appear once, or once per combination of the ``select`` columns (the
    other swept parameters). Cells sit on the distinct parameter values (sorted, or in the order
    ``order[column]`` gives; evenly spaced whatever the values' gaps), coloured from red (worst) to
    green (best; reversed when ``higher_is_better`` is False) over the metric's range, grey where
    the metric is NaN (a run with no trades): :func:`reports.colours.scale_colours`, as heatmap.png.
    With at most 400 cells, the value is printed in the cell in a colour that reads on it
    (:func:`reports.colours.text_colours`).

    With ``select``, a cell shows one row: the best by ``metric`` among the rows of that cell whose
    ``select`` values match the chosen ones (the first in frame order on a tie), a ``BooleanFilter``
    named ``sweep_filter`` marking it. The page starts with every ``select`` column on "best" (the
    best over all of them, as heatmap.png draws it); :func:`sweep_selectors` adds the menus.
    """
    from bokeh.models import BooleanFilter, CDSView, ColorBar, ColumnDataSource, HoverTool, LinearColorMapper
    from bokeh.plotting import figure

    select = list(select)
    for col in (x, y, metric, *select):
        if col not in frame.columns:
            raise OrderFlowError(f"sweep_heatmap: no column {col!r} in the sweep frame (columns: {', '.join(map(str, frame.columns))})")
    dup = frame.duplicated([x, y, *select], keep=False).to_numpy()
    if dup.any():
        first = int(np.flatnonzero(dup)[0])
        where = ", ".join(f"{c}={frame[c].iloc[first]}" for c in (x, y, *select))
        raise OrderFlowError(f"sweep_heatmap: {where} appears more than once (row {first}); pass one row per "
                             "parameter pair" + (" and selected values" if select else ""))
    order = dict(order or {})
    xs = [str(v) for v in order.get(x, sorted(frame[x].unique()))]
    ys = [str(v) for v in order.get(y, sorted(frame[y].unique()))]
    values = pd.to_numeric(frame[metric], errors="coerce").to_numpy(np.float64)
    data: dict[str, Any] = {str(c): frame[c].tolist() for c in frame.columns}
    data.update({"_x": frame[x].astype(str).tolist(), "_y": frame[y].astype(str).tolist(), "_value": values,
                 "_label": ["" if not np.isfinite(v) else f"{v:.3g}" for v in values]})
    view = None
    if select:
        key = np.where(np.isfinite(values), values if higher_is_better else -values, -np.inf)
        data["_key"] = key
        for j, col in enumerate(select):
            data[f"_sel{j}"] = frame[col].astype(str).tolist()
        keep = best_in_cells(data["_x"], data["_y"], key)
        view = CDSView(filter=BooleanFilter(booleans=keep.tolist(), name="sweep_filter"))
    low, high = value_range(values)
    palette = RED_TO_GREEN if higher_is_better else RED_TO_GREEN[::-1]
    fill = scale_colours(values, low, high, palette)
    data.update({"_fill": fill.tolist(), "_ink": text_colours(hex_rgb(fill)).tolist()})
    source = ColumnDataSource(data, name="sweep_cells")
    mapper = LinearColorMapper(palette=list(palette), low=low, high=high, nan_color=NAN_COLOUR, name="sweep_colours")
    fig = figure(name="sweep_heatmap", x_range=xs, y_range=ys, height=min(900, max(320, 40 * len(ys) + 120)),
                 width=min(1400, max(480, 60 * len(xs) + 200)), tools="hover,save,reset", toolbar_location="right",
                 title=title or f"{metric} by {x} and {y}")
    views = {"view": view} if view is not None else {}
    cells = fig.rect("_x", "_y", 1, 1, source=source, fill_color="_fill", line_color="white", name="sweep_rects", **views)
    if len(xs) * len(ys) <= 400:
        views = {"view": CDSView(filter=view.filter)} if view is not None else {}
        fig.text("_x", "_y", text="_label", source=source, text_align="center", text_baseline="middle",
                 text_font_size="11px", text_color="_ink", name="sweep_labels", **views)
    extra = [c for c in frame.columns if c not in (x, y, metric)]
    hover = fig.select_one(HoverTool)
    hover.renderers = [cells]
    hover.tooltips = [(x, f"@{{{x}}}"), (y, f"@{{{y}}}"), (metric, f"@{{{metric}}}{{0.[0000]}}")] + \
        [(str(c), f"@{{{c}}}") for c in extra]
    fig.add_layout(ColorBar(color_mapper=mapper, title=metric, width=10), "right")
    fig.xaxis.axis_label = x
    fig.yaxis.axis_label = y
    fig.grid.visible = False
    fig.axis.major_tick_line_color = None
    return fig


BEST_CHOICE = "best"


def best_in_cells(x: Sequence[Any], y: Sequence[Any], key: Sequence[float], rows: Sequence[bool] | None = None) -> np.ndarray:
    """One flag per row: is it the row a heat-map cell shows? Among the ``rows`` (a mask; all by
    default) sharing a cell ``(x, y)``, the one with the highest ``key``, the first on a tie. The
    menus of :func:`sweep_selectors` pick the same in the browser (reports/js/sweep_select.js)."""
    key = pd.Series(np.asarray(key, dtype=np.float64))
    mask = np.ones(len(key), dtype=bool) if rows is None else np.asarray(rows, dtype=bool)
    keep = np.zeros(len(key), dtype=bool)
    if mask.any():
        cells = [pd.Series(list(x))[mask], pd.Series(list(y))[mask]]
        keep[key[mask].groupby(cells, sort=False).idxmax().to_numpy()] = True
    return keep

def sweep_selectors(fig: Any, select: Sequence[str], values: Mapping[str, Sequence[Any]]) -> list[Any]:
    """One menu per ``select`` column of a :func:`sweep_heatmap` figure (named ``select_<column>``):
    ``"best"`` (the best row over that column's values, the start) or one of ``values[column]``."""
    from bokeh.models import Select

    rects = fig.select_one({"name": "sweep_rects"})
    menus = [Select(title=f"{col}:", value=BEST_CHOICE, options=[BEST_CHOICE] + [str(v) for v in values[col]],
                    name=f"select_{col}", width=160) for col in select]
    callback = custom_js("sweep_select", "select", source=rects.data_source, filter=rects.view.filter, menus=menus,
                         any=BEST_CHOICE)
    for menu in menus:
        menu.js_on_change("value", callback)
    return menus


def walk_forward_panel(equity: pd.DataFrame, windows: pd.DataFrame, *, tz: str = "UTC",
                       title: str = "Walk-forward: out-of-sample equity") -> Any:
    """The walk-forward equity with its windows: a Bokeh column of two figures on one time axis.

    ``equity``: indexed by time (UTC, or zone-less meaning UTC), column ``value`` (the equity of
    the out-of-sample segments chained together). ``windows``: one row per window with
    ``train_start``, ``train_end``, ``test_start``, ``test_end`` (times); any other column (the
    chosen ``params``, the test ``metric`` ...) appears in the hover, ``window`` as the window's
    number (else 1, 2, ...). The upper figure (``walk_forward_equity``) draws the equity, the test
    windows shaded in turn (hover: the window's columns) and a line at each test start; the lower
    (``walk_forward_windows``) one row per window, training grey and testing blue (the classic
    walk-forward diagram). Times are bar numbers of ``equity`` as in :func:`report` (a window edge
    sits on the first equity row at or after it), labelled in ``tz``: training that lies before the
    first equity row (the first window's, all of it) starts at the left edge.
    """
    from bokeh.layouts import column
    from bokeh.models import ColumnDataSource, HoverTool, Range1d
    from bokeh.plotting import figure

    need = ("train_start", "train_end", "test_start", "test_end")
    missing = [c for c in need if c not in windows.columns]
    if missing:
        raise OrderFlowError(f"walk_forward_panel: windows need columns {', '.join(need)}; missing {', '.join(missing)}")
    if "value" not in equity.columns:
        raise OrderFlowError("walk_forward_panel: equity needs a 'value' column")
    index = pd.DatetimeIndex(equity.index)
    index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    n = len(index)
    times = ColumnDataSource({"t": bar_times_ms(index, tz), "x": np.arange(n), "value": equity["value"].to_numpy(np.float64)},
                             name="walk_forward_equity_source")

    def position(col: str, end: bool) -> np.ndarray:
        t = pd.DatetimeIndex(windows[col])
        t = t.tz_localize("UTC") if t.tz is None else t.tz_convert("UTC")
        pos = np.searchsorted(index.asi8, t.as_unit(index.unit).asi8, side="right" if end else "left")
        return pos - 0.5

    k = len(windows)
    data: dict[str, Any] = {str(c): [str(v) for v in windows[c]] for c in windows.columns}
    data.update({"window": windows["window"].tolist() if "window" in windows.columns else np.arange(1, k + 1),
                 "row": np.arange(k, 0, -1, dtype=np.float64),
                 "train_l": position("train_start", False), "train_r": position("train_end", True),
                 "test_l": position("test_start", False), "test_r": position("test_end", True)})
    data["test_mid"] = (data["test_l"] + data["test_r"]) / 2
    data["test_width"] = data["test_r"] - data["test_l"]
    data["shade"] = [BLUE if i % 2 == 0 else "#7fa7d6" for i in range(k)]
    for col in need:
        data[col] = [f"{t:%Y-%m-%d %H:%M}" for t in _in_tz(windows[col], tz)]
    wins = ColumnDataSource(data, name="walk_forward_windows_source")
    x_range = Range1d(-1, max(n, 1), bounds=(-1, max(n, 1)), name="walk_forward_x")
    fig = figure(name="walk_forward_equity", height=300, sizing_mode="stretch_width", x_range=x_range,
                 tools="xpan,xwheel_zoom,box_zoom,reset,save", active_scroll="xwheel_zoom", title=title)
    shade = fig.vbar(x="test_mid", width="test_width", source=wins, fill_color="shade", fill_alpha=0.08, line_alpha=0,
                     top=float(np.nanmax(equity["value"])) if n else 1.0, bottom=float(np.nanmin(equity["value"])) if n else 0.0,
                     name="test_shade")
    shade.level = "underlay"
    fig.vspan(x=data["test_l"], line_color=BLUE, line_alpha=0.5, line_dash="dashed")
    fig.line("x", "value", source=times, color=BLUE, line_width=1.5, name="walk_forward_line")
    fig.yaxis.axis_label = "portfolio value"
    fig.yaxis.formatter.use_scientific = False
    time_axis(fig, times, tz)
    fig.xaxis.visible = False
    lower = figure(name="walk_forward_windows", height=max(160, 24 * k + 100), sizing_mode="stretch_width",
                   x_range=x_range, y_range=Range1d(0.4, k + 0.6), tools="xpan,xwheel_zoom,reset",
                   active_scroll="xwheel_zoom")
    train = lower.hbar(y="row", left="train_l", right="train_r", height=0.6, source=wins, fill_color="#bbbbbb",
                       line_color="#999999", name="train_bars", legend_label="training")
    test = lower.hbar(y="row", left="test_l", right="test_r", height=0.6, source=wins, fill_color=BLUE,
                      line_color=BLUE, name="test_bars", legend_label="testing (out of sample)")
    extra = [c for c in windows.columns if c not in (*need, "window")]
    tooltips = [("window", "@window"), ("training", "@train_start to @train_end"), ("testing", "@test_start to @test_end")] \
        + [(str(c), f"@{{{c}}}") for c in extra]
    lower.add_tools(HoverTool(renderers=[train, test], tooltips=tooltips))
    fig.add_tools(HoverTool(renderers=[shade], tooltips=tooltips, name="walk_forward_hover"))
    lower.yaxis.visible = False
    legend_above(lower)
    time_axis(lower, times, tz)
    return column(fig, lower, sizing_mode="stretch_width", name="walk_forward")


def _in_tz(values: Iterable[Any], tz: str) -> pd.DatetimeIndex:
    t = pd.DatetimeIndex(list(values))
    return (t.tz_localize("UTC") if t.tz is None else t).tz_convert(tz)

