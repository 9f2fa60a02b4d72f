"""sweep.html and walk_forward.html without a browser: written by the command line with --html, self-contained,
and holding the sweep's and walk-forward's numbers (read back from the file's Bokeh document). The browser
checks are in test_html_browser.py."""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("bokeh", reason="bokeh is not installed (pip install -e '.[html]')")

import run_backtest  # noqa: E402
from reports.sweep import cell_text  # noqa: E402
from research import RunConfig  # noqa: E402
from research.executors import SerialExecutor  # noqa: E402
from research.sweep import EXACT_FLOATS, metric_names, parse_grid, sweep  # noqa: E402
from tests.conftest import need_sample  # noqa: E402

# Four days of the bundled sample (enough for a PBO with S = 2): each set runs in ~0.1-0.3 s.
WINDOW = ["--start", "2024-04-15 00:00", "--end", "2024-04-19 00:00", "--tz", "UTC"]


def tiny_config(**kw) -> RunConfig:
    return RunConfig(data=need_sample(), strategy="cvd_trend", bars="15min", start=pd.Timestamp("2024-04-15", tz="UTC"),
                     end=pd.Timestamp("2024-04-19", tz="UTC"), **kw)


def read_document(path: Path):
    """The Bokeh document embedded in a standalone HTML file, deserialised into models (the JSON is
    HTML-escaped inside its script element; BokehJS unescapes it before parsing, as here)."""
    from html import unescape

    from bokeh.document import Document

    text = path.read_text(encoding="utf-8")
    payload = re.search(r'<script type="application/json" id="[^"]+">\s*(.*?)\s*</script>', text, re.S).group(1)
    (doc_json,) = json.loads(unescape(payload)).values()
    return Document.from_json(doc_json)


def assert_self_contained(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=", text), "scripts must be inline (no network)"
    assert "cdn.bokeh.org" not in text and "Bokeh.embed.embed_items" in text
    return text


def number(value) -> float:
    return math.nan if value is None else float(value)


def run_cli_sweep(out: Path) -> Path:
    """slope_period x min_slope x bars through the command line with --html (3 axes: a menu for bars)."""
    status = run_backtest.main([str(need_sample()), "--strategy", "cvd_trend", "--bars", "15min", *WINDOW,
                                "--sweep", "slope_period=5,20", "--sweep", "min_slope=0,2", "--sweep", "bars=5min,15min",
                                "--jobs", "1", "--pbo-splits", "2", "--html", "--out", str(out)])
    assert status == 0
    return out


def run_cli_walk_forward(out: Path) -> Path:
    """A walk-forward over slope_period (train 2 days, test 1) through the command line with --html."""
    status = run_backtest.main([str(need_sample()), "--strategy", "cvd_trend", "--bars", "15min",
                                "--start", "2024-04-15", "--end", "2024-04-19", "--tz", "America/Chicago",
                                "--sweep", "slope_period=5,20", "--walk-forward", "train=2D,test=1D",
                                "--jobs", "1", "--html", "--out", str(out)])
    assert status == 0
    return out


@pytest.fixture(scope="module")
def cli_sweep(tmp_path_factory) -> Path:
    return run_cli_sweep(tmp_path_factory.mktemp("sweep"))


@pytest.fixture(scope="module")
def cli_walk_forward(tmp_path_factory) -> Path:
    return run_cli_walk_forward(tmp_path_factory.mktemp("wf"))


def test_cli_sweep_writes_sweep_html(cli_sweep):
    path = cli_sweep / "sweep.html"
    text = assert_self_contained(path)
    assert "Deflated Sharpe ratio" in text and "Probability of backtest overfitting" in text
    doc = read_document(path)
    table = pd.read_csv(cli_sweep / "sweep.csv", **EXACT_FLOATS).set_index("set")
    cells = doc.select_one({"name": "sweep_cells"}).data
    # one cell row per set, in set order, with its parameters and its metric
    assert [int(s) for s in cells["set"]] == table.index.tolist()
    assert cells["slope_period"] == table["param:slope_period"].astype(str).tolist()
    assert cells["bars"] == table["param:bars"].tolist()
    np.testing.assert_array_equal(np.asarray(cells["sharpe"], dtype=float), table["sharpe"].to_numpy(float))
    # the hover lists every metric of the set
    from bokeh.models import HoverTool

    hover = doc.select_one({"name": "sweep_heatmap"}).select_one(HoverTool)
    shown = {label for label, _ in hover.tooltips}
    assert set(metric_names(table.rename(columns=lambda c: c.removeprefix("param:")))) - {"label"} <= shown
    # 'best' over bars to start: each (slope_period, min_slope) cell shows its set with the highest Sharpe
    keep = np.asarray(doc.select_one({"name": "sweep_filter"}).booleans)
    shown_sets = sorted(table.index[keep])
    expected = sorted(table.assign(s=table["sharpe"].fillna(-np.inf)).reset_index()
                      .sort_values(["s", "set"], ascending=[False, True])
                      .groupby(["param:slope_period", "param:min_slope"]).head(1)["set"])
    assert shown_sets == expected and len(shown_sets) == 4
    menu = doc.select_one({"name": "select_bars"})
    assert menu.value == "best" and menu.options == ["best", "5min", "15min"]
    # the table: every set, best Sharpe first
    rows = doc.select_one({"name": "sweep_table_source"}).data
    order = table["sharpe"].fillna(-np.inf).sort_values(ascending=False, kind="stable").index.tolist()
    assert rows["set"].tolist() == order
    # the PBO histogram holds every CSCV combination; its title gives the PBO of sweep.json
    stats = json.loads((cli_sweep / "sweep.json").read_text())["statistics"]
    bins = doc.select_one({"name": "pbo_bins_source"}).data
    assert int(np.sum(bins["count"])) == stats["pbo"]["n_combinations"]
    assert f"{stats['pbo']['pbo']:.3f}" in doc.select_one({"name": "pbo_logits"}).title.text
    assert f"{stats['deflated_sharpe']['dsr']:.3f}" in text


def test_one_parameter_sweep_is_a_bar_chart(tmp_path):
    result = sweep(tiny_config(), parse_grid(["slope_period=5,10,20"], "cvd_trend"), executor=SerialExecutor(), splits=2)
    from reports.html_sweep import sweep_page

    path = sweep_page(result, tmp_path / "sweep.html", tiny_config())
    assert_self_contained(path)
    doc = read_document(path)
    assert doc.select_one({"name": "sweep_heatmap"}) is None
    fig = doc.select_one({"name": "sweep_bars"})
    assert list(fig.x_range.factors) == ["5", "10", "20"]  # the order given, not sorted as text
    data = doc.select_one({"name": "sweep_cells"}).data
    sharpe = result.table["sharpe"].map(number).to_numpy()
    np.testing.assert_array_equal(np.asarray(data["_value"], dtype=float), np.nan_to_num(sharpe))
    # coloured on the heat maps' scale: worst red, best green, no trades grey
    finite = sharpe[np.isfinite(sharpe)]
    assert data["_fill"] == ["#d9d9d9" if math.isnan(v) else "#a50026" if v == finite.min() else
                             "#006837" if v == finite.max() else data["_fill"][i] for i, v in enumerate(sharpe)]
    assert data["_label"] == ["n/a" if math.isnan(v) else f"{v:.3g}" for v in sharpe]
    # labels sit outside their bar: above a positive one, below a negative one
    assert data["_baseline"] == ["top" if v < 0 else "bottom" for v in sharpe]


def test_two_parameter_heat_map_has_no_menu(tmp_path):
    result = sweep(tiny_config(), parse_grid(["slope_period=20,5", "min_slope=0,2"], "cvd_trend"), executor=SerialExecutor(),
                   splits=2)
    from reports.html_sweep import sweep_page

    doc = read_document(sweep_page(result, tmp_path / "sweep.html", tiny_config()))
    fig = doc.select_one({"name": "sweep_heatmap"})
    assert list(fig.x_range.factors) == ["20", "5"] and list(fig.y_range.factors) == ["0.0", "2.0"]  # grid order
    assert doc.select_one({"name": "sweep_filter"}) is None and doc.select_one({"name": "sweep_menus"}) is None
    data = doc.select_one({"name": "sweep_cells"}).data
    assert list(zip(data["_x"], data["_y"])) == [("20", "0.0"), ("20", "2.0"), ("5", "0.0"), ("5", "2.0")]


def test_heatmap_png_and_sweep_html_colour_each_cell_alike(tmp_path):
    """heatmap.png and sweep.html draw the cell a set shows in the same colour, its value in the
    same readable colour (white on the darkest cells), the best over the third parameter alike."""
    from reports.html_sweep import sweep_page
    from reports.sweep import heatmap_figure

    grid = parse_grid(["slope_period=5,10,20", "min_slope=0,2", "bars=5min,15min"], "cvd_trend")
    result = sweep(tiny_config(), grid, executor=SerialExecutor(), splits=2)
    ax = heatmap_figure(result).axes[0]
    rgb = np.asarray(ax.images[0].get_array())
    png_fill = {(j, i): "#" + "".join(f"{round(c * 255):02x}" for c in rgb[i, j]) for i in range(rgb.shape[0])
                for j in range(rgb.shape[1])}
    png_ink = {tuple(int(round(p)) for p in t.get_position()): t.get_color() for t in ax.texts}
    png_text = {tuple(int(round(p)) for p in t.get_position()): t.get_text() for t in ax.texts}
    doc = read_document(sweep_page(result, tmp_path / "sweep.html", tiny_config()))
    data = doc.select_one({"name": "sweep_cells"}).data
    shown = doc.select_one({"name": "sweep_filter"}).booleans  # "best" over bars, as heatmap.png
    xs, ys = ["5", "10", "20"], ["0.0", "2.0"]
    cells = {(xs.index(x), ys.index(y)): i for i, (x, y) in enumerate(zip(data["_x"], data["_y"])) if shown[i]}
    assert sorted(cells) == sorted(png_fill) and len(cells) == 6
    for cell, i in cells.items():
        assert png_fill[cell] == data["_fill"][i], cell
        assert png_ink[cell] == data["_ink"][i] and png_text[cell] == data["_label"][i], cell
    # the best and the worst set sit on the darkest green and red, printed in white
    best = int(np.nanargmax(data["sharpe"]))
    assert data["_fill"][best] == "#006837" and data["_ink"][best] == "#ffffff"


def test_cli_walk_forward_writes_walk_forward_html(cli_walk_forward):
    path = cli_walk_forward / "walk_forward.html"
    text = assert_self_contained(path)
    assert "Out of sample (the test windows stitched)" in text
    doc = read_document(path)
    windows = pd.read_csv(cli_walk_forward / "walk_forward.csv", **EXACT_FLOATS)
    equity = pd.read_csv(cli_walk_forward / "oos_equity.csv", **EXACT_FLOATS)
    np.testing.assert_allclose(doc.select_one({"name": "walk_forward_equity_source"}).data["value"], equity["value"],
                               rtol=1e-9)  # the csv keeps 10 significant digits
    wins = doc.select_one({"name": "walk_forward_windows_source"}).data
    assert list(wins["window"]) == windows["window"].tolist()
    assert wins["chosen set"] == windows["set"].tolist()
    assert wins["slope_period"] == windows["param:slope_period"].astype(str).tolist()
    # the equity holds the test bars only: the windows follow one another and span their test bars
    test_l, test_r = np.asarray(wins["test_l"]), np.asarray(wins["test_r"])
    np.testing.assert_array_equal(test_r - test_l, windows["test_bars"])
    assert test_l[0] == -0.5 and test_r[-1] == len(equity) - 0.5
    np.testing.assert_array_equal(test_l[1:], test_r[:-1])
    # hover: in- and out-of-sample metrics of each window
    assert wins["sharpe"] == [f"{cell_text(a)} in sample, {cell_text(b)} out of sample"
                              for a, b in zip(windows["is_sharpe"].map(number), windows["oos_sharpe"].map(number))]
    assert wins["test_start"][0] == f"{pd.Timestamp(windows['test_start'][0]):%Y-%m-%d %H:%M}"  # in --tz, as the csv
    labels = {label for label, _ in doc.select_one({"name": "walk_forward_hover"}).tooltips}
    assert {"window", "chosen set", "slope_period", "sharpe", "total_return_pct", "trades"} <= labels
