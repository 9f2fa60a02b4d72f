"""reports.colours: the sweep heat maps' colour scale and the text colour chosen by a cell's
luminance, by hand. The scale against Bokeh's colour mapper in the browser: test_html_js.py."""
from __future__ import annotations

import math

import numpy as np

from reports.colours import (
    NAN_COLOUR,
    RED_TO_GREEN,
    contrast_ratio,
    hex_rgb,
    relative_luminance,
    scale_colours,
    text_colours,
    value_range,
)


def test_the_scale_is_colorbrewers_red_yellow_green():
    from bokeh.palettes import RdYlGn11

    assert RED_TO_GREEN == tuple(reversed(RdYlGn11))


def test_scale_colours_by_hand():
    # 11 classes over [0, 11]: class floor(v), 11 itself in the last, outside the range clipped
    values = [0.0, 0.999, 1.0, 5.5, 10.999, 11.0, -3.0, 12.0, math.inf, -math.inf, math.nan]
    got = scale_colours(values, 0.0, 11.0).tolist()
    assert got == [RED_TO_GREEN[i] for i in (0, 0, 1, 5, 10, 10, 0, 10, 10, 0)] + [NAN_COLOUR]
    assert scale_colours([2.0], 0.0, 11.0, RED_TO_GREEN[::-1]).tolist() == [RED_TO_GREEN[8]]
    assert scale_colours(np.array([[0.0, math.nan]]), 0.0, 1.0, nan_colour="#ffffff").tolist() == [[RED_TO_GREEN[0], "#ffffff"]]
    assert value_range([1.0, math.nan, -2.0, math.inf]) == (-2.0, 1.0)
    assert value_range([3.0, 3.0]) == (2.5, 3.5) and value_range([math.nan]) == (0.0, 1.0)


def test_text_reads_on_every_colour_of_the_scale():
    backgrounds = hex_rgb(list(RED_TO_GREEN) + [NAN_COLOUR, "#ffffff"])
    np.testing.assert_allclose(hex_rgb("#ff8000"), [1.0, 128 / 255, 0.0])
    ink = text_colours(backgrounds)
    # white on the darkest two reds and the darkest green, black on the mid tones, dark grey on the pale ones
    assert ink.tolist() == ["#ffffff", "#ffffff", "#000000", "#000000", "#333333", "#333333", "#333333", "#333333",
                            "#000000", "#000000", "#ffffff", "#333333", "#333333"]
    ratios = contrast_ratio(relative_luminance(backgrounds), relative_luminance(hex_rgb(ink)))
    assert ratios.min() >= 4.5
    # black on the darkest red, as heatmap.png printed it: 2.6:1; white 8.0:1
    dark = relative_luminance(hex_rgb("#a50026"))
    assert round(float(contrast_ratio(dark, 0.0)), 1) == 2.6 and round(float(contrast_ratio(dark, 1.0)), 1) == 8.0
