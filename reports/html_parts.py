"""The pieces every interactive page shares (Bokeh): the bar-number time axis and the legend above a plot.

Used by :mod:`reports.html` (the report, the sweep and walk-forward panels) and
:mod:`reports.html_footprint` (the footprint explorer), so that every page's time axis reads the
same. See :mod:`reports.html` for why the axis is the bar number.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["bar_times_ms", "time_axis", "legend_above"]


# --------------------------------------------------------------------------- the time axis


def bar_times_ms(index: pd.DatetimeIndex, tz: str) -> np.ndarray:
    """Bar times as the clock reads them in ``tz``, in milliseconds since 1970-01-01 of that clock
    (``(local wall time - 1970-01-01) / 1 ms``): JavaScript's UTC getters then print local times."""
    times = pd.DatetimeIndex(index)
    if times.tz is not None:
        times = times.tz_convert(tz).tz_localize(None)
    return (times.as_unit("ns").asi8 // 1_000_000).astype(np.float64)


# Tick steps (ms), as reports.plots.time_ticks chooses them: the smallest giving at most max_ticks ticks.
_STEPS_MS = [int(pd.Timedelta(x).value // 1_000_000) for x in (
    "1s", "5s", "15s", "30s", "1min", "5min", "15min", "30min", "1h", "2h", "3h", "4h", "6h", "12h",
    "1D", "2D", "7D", "14D", "30D", "91D", "182D", "365D")]

_TICKER_JS = """
const t = src.data.t, n = t.length;
const lo = Math.max(0, Math.ceil(cb_data.start)), hi = Math.min(n - 1, Math.floor(cb_data.end));
if (n == 0 || hi < lo) return [];
const max_ticks = 12;
let best = null;
for (const step of steps) {   // the first bar of each interval of a round step
  const pos = [];
  let prev = Math.floor(t[lo] / step);
  if (lo == 0 || Math.floor(t[lo - 1] / step) != prev) pos.push(lo);
  for (let i = lo + 1; i <= hi; i++) {
    const b = Math.floor(t[i] / step);
    if (b != prev) { pos.push(i); prev = b; }
    if (pos.length > max_ticks) break;
  }
  best = pos;
  if (pos.length <= max_ticks && pos.length >= 2) break;
  if (pos.length <= max_ticks && step == steps[steps.length - 1]) break;
}
if (best.length < 2) {  // fewer than two round times in view: evenly spaced bars
  best = [];
  const k = Math.max(1, Math.round((hi - lo) / 6));
  for (let i = lo; i <= hi; i += k) best.push(i);
}
const kept = [], gap = 0.45 * (hi - lo + 1) / max_ticks;
for (const p of best) if (!kept.length || p - kept[kept.length - 1] >= gap) kept.push(p);
return kept;
"""

_FORMATTER_JS = """
const t = src.data.t, i = Math.round(tick);
if (i < 0 || i >= t.length) return "";
const D = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const M = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const p2 = (v) => String(v).padStart(2, "0");
const day = (ms) => { const d = new Date(ms); return D[d.getUTCDay()] + " " + p2(d.getUTCDate()) + " " + M[d.getUTCMonth()]; };
const d = new Date(t[i]);
const first = Math.round(ticks[0]), last = Math.round(ticks[ticks.length - 1]);
const spacing = ticks.length > 1 ? (t[Math.min(last, t.length - 1)] - t[Math.max(first, 0)]) / (ticks.length - 1) : 0;
if (spacing >= 86400000) return day(t[i]) + (spacing >= 30 * 86400000 ? " " + d.getUTCFullYear() : "");
let clock = p2(d.getUTCHours()) + ":" + p2(d.getUTCMinutes());
if (spacing > 0 && spacing < 60000 || d.getUTCSeconds() != 0 && spacing < 300000) clock += ":" + p2(d.getUTCSeconds());
const j = index > 0 ? Math.round(ticks[index - 1]) : -1;
if (j < 0 || j >= t.length || day(t[j]) != day(t[i])) return clock + "\\n" + day(t[i]);
return clock;
"""


def time_axis(fig: Any, times_source: Any, tz: str) -> None:
    """Put the bar-number time axis on ``fig``: ticks on the first bar of round time steps, labelled
    with that bar's time (``HH:MM``, the date where it changes). ``times_source`` is a
    ColumnDataSource with a column ``t`` (:func:`bar_times_ms`)."""
    from bokeh.models import CustomJSTicker, CustomJSTickFormatter

    fig.xaxis.ticker = CustomJSTicker(args={"src": times_source, "steps": _STEPS_MS}, major_code=_TICKER_JS,
                                      minor_code="return [];")
    fig.xaxis.formatter = CustomJSTickFormatter(args={"src": times_source}, code=_FORMATTER_JS)
    fig.xaxis.axis_label = f"bar time ({tz}); bars side by side, grey lines mark gaps in the data"
    fig.xaxis.axis_label_text_font_size = "11px"
    fig.xaxis.axis_label_text_font_style = "normal"


# --------------------------------------------------------------------------- the legend


def legend_above(fig: Any) -> None:
    """Move a figure's legend above its plot area, in one row (inside, it would hide the data)."""
    if not fig.legend:
        return
    legend = fig.legend[0]
    if legend in fig.center:
        fig.center.remove(legend)
    legend.orientation = "horizontal"
    legend.location = "top_left"
    legend.label_text_font_size = "11px"
    legend.padding = 2
    legend.margin = 2
    legend.spacing = 14
    legend.border_line_alpha = 0
    legend.glyph_height = 14
    legend.label_height = 14
    fig.add_layout(legend, "above")
