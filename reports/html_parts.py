"""The pieces every interactive page shares (Bokeh): the pages' JavaScript, the bar-number time axis and
the legend above a plot.

Used by :mod:`reports.html` (the report, the sweep and walk-forward panels) and
:mod:`reports.html_footprint` (the footprint explorer), so that every page's time axis reads the
same. See :mod:`reports.html` for why the axis is the bar number. The scripts are JavaScript files in
``reports/js/`` (package data), read by :func:`js_source` and inlined into each page by
:func:`js_code`; ``tests/test_html_js.py`` ties their functions to Python references.
"""
from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any, Iterable

import numpy as np
import pandas as pd

from .plots import TIME_STEPS

__all__ = ["bar_times_ms", "time_axis", "legend_above", "js_source", "js_code", "custom_js"]


# --------------------------------------------------------------------------- the time axis


def bar_times_ms(index: pd.DatetimeIndex, tz: str) -> np.ndarray:
    """Bar times as the clock reads them in ``tz``, in milliseconds since 1970-01-01 of that clock
    (``(local wall time - 1970-01-01) / 1 ms``): JavaScript's UTC getters then print local times."""
    times = pd.DatetimeIndex(index)
    if times.tz is not None:
        times = times.tz_convert(tz).tz_localize(None)
    return (times.as_unit("ns").asi8 // 1_000_000).astype(np.float64)


# Tick steps (ms): those of reports.plots.time_ticks.
_STEPS_MS = [int(step.value // 1_000_000) for step in TIME_STEPS]


# --------------------------------------------------------------------------- the page's JavaScript


@lru_cache(maxsize=None)
def js_source(name: str) -> str:
    """The text of ``reports/js/<name>.js``, shipped as package data (the scripts of the pages)."""
    return resources.files("reports").joinpath("js", f"{name}.js").read_text(encoding="utf-8")


def js_code(name: str, entry: str, names: Iterable[str]) -> str:
    """The code of a Bokeh JavaScript callback (the body of a function whose parameters are the
    callback's ``args`` and what Bokeh passes, such as ``cb_data``): the functions of
    ``reports/js/<name>.js``, then ``return entry({names})``, the named values in one object."""
    return f"{js_source(name)}\nreturn {entry}({{{', '.join(names)}}});\n"


def custom_js(name: str, entry: str, **args: Any) -> Any:
    """A ``bokeh.models.CustomJS`` running function ``entry`` of ``reports/js/<name>.js`` with ``args``."""
    from bokeh.models import CustomJS

    return CustomJS(args=args, code=js_code(name, entry, args))


def time_axis(fig: Any, times_source: Any, tz: str) -> None:
    """Put the bar-number time axis on ``fig``: ticks on the first bar of round time steps, labelled
    with that bar's time (``HH:MM``, the date where it changes). ``times_source`` is a
    ColumnDataSource with a column ``t`` (:func:`bar_times_ms`)."""
    from bokeh.models import CustomJSTicker, CustomJSTickFormatter

    fig.xaxis.ticker = CustomJSTicker(args={"src": times_source, "steps": _STEPS_MS}, minor_code="return [];",
                                      major_code=js_code("time_axis", "ticker", ("src", "steps", "cb_data")))
    fig.xaxis.formatter = CustomJSTickFormatter(args={"src": times_source},
                                                code=js_code("time_axis", "formatter", ("src", "tick", "index", "ticks")))
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
