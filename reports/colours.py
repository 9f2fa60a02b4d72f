"""Colours the PNG charts and the HTML pages share, so that both pictures colour alike.

- :data:`RED_TO_GREEN` and :func:`scale_colours`: the scale of the sweep heat maps (``heatmap.png``
  and ``sweep.html``), worst value red, best green, NaN grey.
- :func:`text_colours`: the colour of text on a coloured cell, chosen by the cell's luminance
  (WCAG 2 contrast ratio) so that it reads on dark cells as on light ones: the sweep heat maps'
  values and the footprint's numbers (:func:`reports.footprint_chart.cell_text_colours`).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

__all__ = ["RED_TO_GREEN", "NAN_COLOUR", "GREEN", "RED", "GREY", "TEXT_ROLES", "value_range", "scale_colours",
           "hex_rgb", "relative_luminance", "contrast_ratio", "text_colours"]

# ColorBrewer's RdYlGn in 11 classes (bokeh.palettes.RdYlGn11 reversed), from the worst value to the best.
RED_TO_GREEN = ("#a50026", "#d73027", "#f46d43", "#fdae61", "#fee08b", "#ffffbf", "#d9ef8b", "#a6d96a", "#66bd63",
                "#1a9850", "#006837")
NAN_COLOUR = "#d9d9d9"  # a cell whose value is NaN (a run with no trades)
GREEN, RED, GREY = "#1a9641", "#d7191c", "#8a8a8a"  # the footprint's buyers, sellers and lines

# Text on a coloured cell, by role: the colours to try in turn, and the contrast ratio with the cell
# that the first reaching it must have; where none reaches it, the one of highest contrast
# (text_colours). Plain text at 7:1 (dark grey, black, or white on the darkest cells); the
# footprint's bold green or red numbers (imbalances) at 3:1, so that they keep their colour on
# light cells and darken on dark ones; the "x" between a cell's two numbers at 2.5:1.
TEXT_ROLES: dict[str, tuple[tuple[str, ...], float]] = {
    "plain": (("#333333", "#000000", "#ffffff"), 7.0),
    "buy": ((GREEN, "#0a5c23"), 3.0),
    "sell": ((RED, "#8c0e11"), 3.0),
    "sign": ((GREY, "#595959"), 2.5),
}


def value_range(values: Any) -> tuple[float, float]:
    """The range a colour scale spreads over: the finite values' lowest and highest (half a unit
    either side when they are equal; 0 to 1 when there is none)."""
    v = np.asarray(values, dtype=np.float64)
    finite = v[np.isfinite(v)]
    low, high = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    return (low - 0.5, high + 0.5) if low == high else (low, high)


def scale_colours(values: Any, low: float, high: float, palette: Sequence[str] = RED_TO_GREEN,
                  nan_colour: str = NAN_COLOUR) -> np.ndarray:
    """Each value's colour (``#rrggbb``) on ``palette`` spread evenly over ``[low, high]``, as
    Bokeh's ``LinearColorMapper`` draws its colour bar: class ``floor((v - low) * (1 / (high -
    low)) / (1 / n))`` of the n colours, ``high`` itself in the last, values outside the range in
    the first or last; NaN in ``nan_colour``."""
    v = np.asarray(values, dtype=np.float64)
    n = len(palette)
    with np.errstate(invalid="ignore", over="ignore"):
        index = np.floor((v - low) * (1 / (high - low)) / (1 / n))
    index = np.where(v == high, n - 1, np.clip(np.nan_to_num(index, nan=0.0), 0, n - 1)).astype(np.int64)
    return np.where(np.isnan(v), nan_colour, np.asarray(palette, dtype=object)[index]).astype(str)


def hex_rgb(colours: Any) -> np.ndarray:
    """``#rrggbb`` colours as RGB in [0, 1] (the last axis)."""
    text = np.asarray(colours, dtype=str)
    digits = np.char.lstrip(text, "#")
    return np.stack([np.vectorize(lambda s, i=i: int(s[i:i + 2], 16))(digits) for i in (0, 2, 4)], axis=-1) / 255


def relative_luminance(rgb: Any) -> np.ndarray:
    """WCAG 2's relative luminance of colours, RGB in [0, 1] (the last axis): ``0.2126 R + 0.7152 G
    + 0.0722 B`` of the linearised sRGB channels (``c / 12.92`` up to 0.04045, else ``((c + 0.055) /
    1.055) ** 2.4``)."""
    c = np.asarray(rgb, dtype=np.float64)
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return linear @ np.array([0.2126, 0.7152, 0.0722])


def contrast_ratio(a: Any, b: Any) -> Any:
    """WCAG 2's contrast ratio of two relative luminances: ``(lighter + 0.05) / (darker + 0.05)``, 1 to 21."""
    return (np.maximum(a, b) + 0.05) / (np.minimum(a, b) + 0.05)


def text_colours(backgrounds: Any, role: str = "plain", minimum: float | None = None) -> np.ndarray:
    """The colour (``#rrggbb``) of text of ``role`` (a key of :data:`TEXT_ROLES`) on each background
    (RGB in [0, 1], an ``(n, 3)`` array): the first of the role's colours whose contrast ratio with
    the background reaches the role's minimum (or ``minimum``), else the one of highest contrast."""
    colours, floor = TEXT_ROLES[role]
    floor = floor if minimum is None else minimum
    lum = relative_luminance(backgrounds)
    ratios = np.stack([contrast_ratio(lum, relative_luminance(hex_rgb(c))) for c in colours], axis=-1)
    reaching = ratios >= floor
    choice = np.where(reaching.any(axis=-1), reaching.argmax(axis=-1), ratios.argmax(axis=-1))
    return np.asarray(colours)[choice]
