"""The HTML pages in a real headless Chromium (Selenium): no JavaScript error, the Bokeh roots
and glyphs expected, zooming changes what is drawn, footprint numbers appear when zoomed in.

Skipped with a reason where selenium, chromium or chromedriver is absent; `make test-browser`
runs only these, and CI installs Chromium first (.ci/run)."""
from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("bokeh", reason="bokeh is not installed (pip install -e '.[html]')")

from data import footprint  # noqa: E402
from reports import html  # noqa: E402
from reports.footprint_chart import fmt_volume  # noqa: E402
from tests.conftest import need_sample  # noqa: E402
from tests.html_fixtures import console_errors, make_result, need_browser, open_page, settle, start_browser  # noqa: E402
from tests.test_html import month_of_bars, month_result  # noqa: E402
from tests.test_html_sweep import run_cli_sweep, run_cli_walk_forward  # noqa: E402

pytestmark = pytest.mark.browser

MODEL = "return Bokeh.documents[0].get_model_by_name(arguments[0])"


@pytest.fixture(scope="module")
def driver():
    need_browser()
    d = start_browser()
    yield d
    d.quit()


@pytest.fixture(scope="module")
def ticks() -> pd.DataFrame:
    t = pd.read_parquet(need_sample())
    return t[t["timestamp"] < pd.Timestamp("2024-04-16 22:00", tz="UTC")].reset_index(drop=True)


@pytest.fixture(scope="module")
def report_page(tmp_path_factory, ticks):
    result = make_result(ticks)
    path = html.report(result, tmp_path_factory.mktemp("html") / "report.html", ticks=ticks, tick_size=0.25,
                       footprint_window=(result.bars.index[100], result.bars.index[159]))
    return result, path


def zoom(driver, range_name: str, start: float, end: float) -> None:
    driver.execute_script("Bokeh.documents[0].get_model_by_name(arguments[0]).setv({start: arguments[1], end: arguments[2]})",
                          range_name, start, end)
    settle(driver)


def data(driver, name: str, column: str) -> list:
    return driver.execute_script("return Array.from(Bokeh.documents[0].get_model_by_name(arguments[0]).data[arguments[1]])",
                                 name, column)


def test_report_roots_glyphs_and_no_console_error(driver, report_page):
    result, path = report_page
    open_page(driver, path)
    settle(driver, 1.0)
    assert console_errors(driver) == []
    roots = driver.execute_script("return Bokeh.documents[0].roots().map((r) => r.name)")
    assert roots == ["report"]
    for name in html.PANEL_NAMES + ("footprint", "footprint_strip"):
        assert driver.execute_script(MODEL + " != null", name), name
    # every bar is in the file once; the trades are all drawn
    assert len(data(driver, "bars_full", "close")) == len(result.bars)
    assert data(driver, "trades", "entry_bar") == result.trades["entry_bar"].tolist()
    # whole run in view: thinned to the plot width, each candle a bucket of k bars keeping its extremes
    n = len(result.bars)
    x = np.asarray(data(driver, "candles", "x"))
    k = int(data(driver, "candles", "bars")[0])
    width = driver.execute_script(MODEL + ".inner_width", "price")
    assert k == math.ceil(n / width) > 1
    assert len(x) == math.ceil(n / k)
    high = np.asarray(data(driver, "candles", "high"))
    low = np.asarray(data(driver, "candles", "low"))
    bar_high, bar_low = result.bars["high"].to_numpy(), result.bars["low"].to_numpy()
    np.testing.assert_array_equal(high, [bar_high[i:i + k].max() for i in range(0, n, k)])
    np.testing.assert_array_equal(low, [bar_low[i:i + k].min() for i in range(0, n, k)])
    dpos = np.asarray(data(driver, "candles", "dpos"))
    delta = result.bars["delta"].to_numpy()
    np.testing.assert_array_equal(dpos, [max(delta[i:i + k].max(), 0) for i in range(0, n, k)])
    # min-max decimation keeps every extreme of the lines: the drawn CVD spans the same range
    cvd = np.asarray(data(driver, "lines", "cvd"))
    assert cvd.max() == np.cumsum(delta).max() and cvd.min() == np.cumsum(delta).min()
    note = driver.execute_script(MODEL + ".text", "thin_note")
    assert f"each candle stands for {k} bars" in note


def test_report_zoom_draws_single_bars(driver, report_page):
    result, path = report_page
    open_page(driver, path)
    settle(driver, 0.8)
    y_before = driver.execute_script(MODEL + ".y_range.end", "price")
    zoom(driver, "x_range", 200, 260)
    x = np.asarray(data(driver, "candles", "x"))
    assert (np.asarray(data(driver, "candles", "bars")) == 1).all()
    inside = (x >= 200) & (x <= 260)
    assert inside.sum() == 61  # every bar of the view, and some beyond for panning
    np.testing.assert_array_equal(np.asarray(data(driver, "candles", "close"))[inside],
                                  result.bars["close"].to_numpy()[200:261])
    y_after = driver.execute_script(MODEL + ".y_range.end", "price")
    assert y_after != y_before  # the price axis follows the bars in view
    assert y_after >= result.bars["high"].to_numpy()[200:261].max()
    assert "Every bar is drawn" in driver.execute_script(MODEL + ".text", "thin_note")
    assert console_errors(driver) == []


def click_button(driver, name: str) -> None:
    """Click the Bokeh button named ``name`` as a user would (its element in the view's shadow root)."""
    driver.execute_script("""
const find = (v) => { if (v.model.name == arguments[0]) return v;
  for (const c of (v.child_views || [])) { const f = find(c); if (f) return f; } return null; };
let view = null;
for (const r of Bokeh.index.roots) view = view || find(r);
view.shadow_el.querySelector("button").click();""", name)
    settle(driver)


def test_report_footprint_opens_on_its_window_and_reads_at_once(driver, report_page, ticks):
    result, path = report_page
    open_page(driver, path)
    settle(driver, 0.8)
    visible = "return Bokeh.documents[0].get_model_by_name('footprint_sell_text').visible"
    # the charts show the whole run; the footprint its window's first 20 bars (100 ... 119), numbers shown
    assert driver.execute_script(MODEL + ".start", "x_range") == -1
    assert driver.execute_script(MODEL + ".end", "x_range") == len(result.bars)
    assert driver.execute_script(MODEL + ".start", "footprint_x_range") == pytest.approx(99.4)
    assert driver.execute_script(MODEL + ".end", "footprint_x_range") == pytest.approx(119.6)
    assert driver.execute_script(visible) is True
    # the cells are data.bars.footprint's for the window's bars: same count, same numbers
    table = footprint(ticks, "1min", 0.25)
    stamps = result.bars.index[100:160]
    window = table[table.index.get_level_values("timestamp").isin(stamps)]
    assert len(data(driver, "footprint_cells", "x")) == len(window)
    np.testing.assert_array_equal(data(driver, "footprint_cells", "sell"), window["sell_volume"].to_numpy())
    assert data(driver, "footprint_cells", "buy_text") == [fmt_volume(v) for v in window["buy_volume"]]
    # cells sit on the report's bar numbers
    assert sorted(set(data(driver, "footprint_cells", "x"))) == list(range(100, 160))
    # zoomed out over the window: a heat map; in again: the numbers
    zoom(driver, "footprint_x_range", 99, 160)
    assert driver.execute_script(visible) is False
    zoom(driver, "footprint_x_range", 109.4, 124.6)
    assert driver.execute_script(visible) is True
    # the button shows those bars in the charts above
    click_button(driver, "footprint_show")
    assert driver.execute_script(MODEL + ".start", "x_range") == pytest.approx(109.4)
    assert driver.execute_script(MODEL + ".end", "x_range") == pytest.approx(124.6)
    assert (np.asarray(data(driver, "candles", "bars")) == 1).all()
    assert console_errors(driver) == []


def test_footprint_page_opens_zoomed_in_with_the_marks(driver, tmp_path, ticks):
    trades = make_result(ticks).trades
    path = html.footprint_page(ticks, "2024-04-15 14:30", "2024-04-15 15:30", "1min", 0.25, tmp_path / "fp.html",
                               tz="America/Chicago", trades=trades)
    open_page(driver, path)
    settle(driver, 0.8)
    assert console_errors(driver) == []
    assert driver.execute_script("return Bokeh.documents[0].roots().map((r) => r.name)") == ["footprint_page"]
    assert driver.execute_script("return Bokeh.documents[0].get_model_by_name('footprint_sell_text').visible") is True
    for name in ("footprint_poc", "footprint_value_area", "footprint_rects"):
        assert driver.execute_script(MODEL + " != null", name), name
    n_bars = 61  # bars stamped 14:30 ... 15:30 inclusive
    assert driver.execute_script(MODEL + ".data_source.get_length()", "footprint_poc") == n_bars
    y0 = driver.execute_script(MODEL + ".end", "footprint_y_range")
    zoom(driver, "footprint_x_range", -0.6, n_bars - 0.4)
    assert driver.execute_script("return Bokeh.documents[0].get_model_by_name('footprint_sell_text').visible") is False
    assert driver.execute_script(MODEL + ".end", "footprint_y_range") != y0  # the price axis fits the bars in view


def test_footprint_text_colours_are_the_png_charts(driver, tmp_path, ticks):
    from tests.test_footprint import _png_cell_texts

    start, end = "2024-04-16 14:30", "2024-04-16 15:00"
    grid, traded, sell, sign, buy, _ = _png_cell_texts(ticks, start, end)
    assert grid.tick_size == 0.25  # one tick a row, as in the explorer
    path = html.footprint_page(ticks, start, end, "1min", 0.25, tmp_path / "fp.html")
    open_page(driver, path)
    settle(driver, 0.8)
    assert len(data(driver, "footprint_cells", "x")) == len(traded)
    # the browser colours each cell's texts as the PNG does, dark variants on the dark cells included
    assert data(driver, "footprint_cells", "sell_color") == list(sell)
    assert data(driver, "footprint_cells", "buy_color") == list(buy)
    assert data(driver, "footprint_cells", "sign_color") == list(sign)
    assert "#8c0e11" in sell and "#0a5c23" in buy
    for glyph, column in (("footprint_sell_text", "sell_color"), ("footprint_buy_text", "buy_color"),
                          ("footprint_times_sign", "sign_color")):
        assert driver.execute_script(MODEL + ".glyph.text_color.field", glyph) == column
    assert console_errors(driver) == []


def test_sweep_page(driver, tmp_path):
    grid = pd.DataFrame([(w, s) for w in (10, 20, 40) for s in (0.0, 0.5, 1.0, 2.0)], columns=["window", "min_slope"])
    grid["sharpe"] = grid["window"] / 20 - grid["min_slope"]
    grid["trades"] = 100 - grid["window"]
    times = pd.date_range("2024-01-01", periods=300, freq="h", tz="UTC")
    equity = pd.DataFrame({"value": 100_000 + np.cumsum(np.sin(np.arange(300) / 9.0))}, index=times)
    windows = pd.DataFrame({"train_start": times[[0, 50, 100]], "train_end": times[[99, 149, 199]],
                            "test_start": times[[100, 150, 200]], "test_end": times[[149, 199, 299]],
                            "params": ["window=10", "window=20", "window=10"]})
    path = html.save_page([html.sweep_heatmap(grid, "window", "min_slope", "sharpe"),
                           html.walk_forward_panel(equity, windows)], tmp_path / "sweep.html", "sweep")
    open_page(driver, path)
    settle(driver, 0.8)
    assert console_errors(driver) == []
    assert driver.execute_script(MODEL + ".data_source.get_length()", "sweep_rects") == 12
    assert driver.execute_script(MODEL + ".data_source.get_length()", "test_bars") == 3
    zoom(driver, "walk_forward_x", 100, 200)
    assert driver.execute_script(MODEL + ".start", "walk_forward_x") == 100


def test_a_month_of_minute_bars_becomes_interactive(driver, tmp_path):
    bars = month_of_bars()
    path = html.report(month_result(bars), tmp_path / "month.html")
    open_page(driver, path, timeout=60)
    settle(driver, 1.0)
    assert console_errors(driver) == []
    k = data(driver, "candles", "bars")[0]
    assert k > 1 and len(data(driver, "candles", "x")) == math.ceil(len(bars) / k)
    zoom(driver, "x_range", 15_000, 15_100)
    assert (np.asarray(data(driver, "candles", "bars")) == 1).all()


# -- sweep.html and walk_forward.html, written by the command line with --html


@pytest.fixture(scope="module")
def cli_sweep(tmp_path_factory):
    return run_cli_sweep(tmp_path_factory.mktemp("sweep"))


@pytest.fixture(scope="module")
def cli_walk_forward(tmp_path_factory):
    return run_cli_walk_forward(tmp_path_factory.mktemp("wf"))


_FIND_VIEW = """
const find = (v) => { if (v.model.name == arguments[0]) return v;
  for (const c of (v.child_views || [])) { const f = find(c); if (f) return f; } return null; };
let view = null;
for (const r of Bokeh.index.roots) view = view || find(r);
const box = (view.canvas_view || view.canvas).el.getBoundingClientRect();
return [box.left + view.frame.x_scale.compute(arguments[1]), box.top + view.frame.y_scale.compute(arguments[2])];
"""

_TOOLTIPS = """
const texts = [];
const walk = (root) => { for (const e of root.querySelectorAll("*")) {
  if (e.classList && [...e.classList].some((c) => c.toLowerCase().includes("tooltip")) && e.offsetParent) texts.push(e.innerText);
  if (e.shadowRoot) walk(e.shadowRoot); } };
walk(document);
return texts.join("\\n");
"""


def hover_at(driver, figure_name: str, x: float, y: float) -> str:
    """Move the real mouse to data point (x, y) of a figure; returns the text of the tooltips shown."""
    from selenium.webdriver.common.actions.action_builder import ActionBuilder

    px, py = driver.execute_script(_FIND_VIEW, figure_name, x, y)
    action = ActionBuilder(driver)
    action.pointer_action.move_to_location(int(px), int(py))
    action.perform()
    settle(driver, 0.5)
    return driver.execute_script(_TOOLTIPS)


def test_sweep_page_in_the_browser(driver, cli_sweep):
    import json

    table = pd.read_csv(cli_sweep / "sweep.csv").set_index("set")
    open_page(driver, cli_sweep / "sweep.html")
    settle(driver, 0.8)
    assert console_errors(driver) == []
    assert driver.execute_script("return Bokeh.documents[0].roots().map((r) => r.name)") == ["sweep_page"]
    # every set is in the cells' source; 2 x 2 cells shown (best over bars), the table lists every set
    assert driver.execute_script(MODEL + ".data_source.get_length()", "sweep_rects") == len(table)
    shown = driver.execute_script("return Bokeh.documents[0].get_model_by_name('sweep_filter').booleans")
    assert sum(shown) == 4
    assert driver.execute_script(MODEL + ".get_length()", "sweep_table_source") == len(table)
    combos = json.loads((cli_sweep / "sweep.json").read_text())["statistics"]["pbo"]["n_combinations"]
    assert sum(data(driver, "pbo_bins_source", "count")) == combos
    # choosing bars=5min shows the 5min sets
    driver.execute_script("Bokeh.documents[0].get_model_by_name('select_bars').value = '5min'")
    settle(driver)
    shown = driver.execute_script("return Bokeh.documents[0].get_model_by_name('sweep_filter').booleans")
    assert sorted(table.index[np.asarray(shown)]) == sorted(table.index[table["param:bars"] == "5min"])
    # hovering a cell shows the metrics of the set drawn there
    best = table[np.asarray(shown)].iloc[0]
    factors = driver.execute_script("const f = Bokeh.documents[0].get_model_by_name('sweep_heatmap');"
                                    " return [f.x_range.factors, f.y_range.factors]")
    x = factors[0].index(str(best["param:slope_period"])) + 0.5
    y = factors[1].index(str(best["param:min_slope"])) + 0.5
    tip = hover_at(driver, "sweep_heatmap", x, y)
    assert "profit_factor" in tip and "win_rate_pct" in tip and "5min" in tip
    # the table prints every metric with two decimals (counts whole), as the command line's table
    header, rows = table_cells(driver, "sweep_table")
    assert header[:4] == ["set", "slope_period", "min_slope", "bars"] and len(rows) == len(table)
    for k, title in enumerate(header[4:], start=4):
        pattern = r"-?\d{1,3}(,\d{3})*" + ("" if title in ("trades", "fills", "days") else r"\.\d\d")
        assert all(re.fullmatch(pattern, row[k]) or row[k] == "n/a" for row in rows), (title, [r[k] for r in rows])
    assert console_errors(driver) == []


def table_cells(driver, name: str) -> tuple[list[str], list[list[str]]]:
    """The column titles and the cells' texts of the Bokeh DataTable named ``name``, as shown."""
    return driver.execute_script("""
const find = (v) => { if (v.model.name == arguments[0]) return v;
  for (const c of (v.child_views || [])) { const f = find(c); if (f) return f; } return null; };
let view = null;
for (const r of Bokeh.index.roots) view = view || find(r);
const root = view.shadow_el;
const header = [...root.querySelectorAll(".slick-header-column")].map((e) => e.textContent.trim());
const rows = [...root.querySelectorAll(".slick-row")].map((r) => [...r.querySelectorAll(".slick-cell")].map((c) => c.textContent.trim()));
return [header, rows];""", name)


def test_walk_forward_page_in_the_browser(driver, cli_walk_forward):
    windows = pd.read_csv(cli_walk_forward / "walk_forward.csv")
    open_page(driver, cli_walk_forward / "walk_forward.html")
    settle(driver, 0.8)
    assert console_errors(driver) == []
    assert driver.execute_script("return Bokeh.documents[0].roots().map((r) => r.name)") == ["walk_forward_page"]
    for name, count in (("test_bars", len(windows)), ("train_bars", len(windows)), ("test_shade", len(windows))):
        assert driver.execute_script(MODEL + ".data_source.get_length()", name) == count, name
    n = len(data(driver, "walk_forward_equity_source", "value"))
    assert driver.execute_script(MODEL + ".get_length()", "walk_forward_table_source") == len(windows)
    zoom(driver, "walk_forward_x", 10, n / 2)
    assert driver.execute_script(MODEL + ".end", "walk_forward_x") == n / 2
    # hovering the middle of the second test window shows its chosen set and its metrics
    mid = float(np.asarray(data(driver, "walk_forward_windows_source", "test_mid"))[1])
    zoom(driver, "walk_forward_x", -1, n)
    y = driver.execute_script("const r = Bokeh.documents[0].get_model_by_name('walk_forward_equity').y_range;"
                              " return (r.start + r.end) / 2")
    tip = hover_at(driver, "walk_forward_equity", mid, y)
    assert windows["set"][1] in tip and "in sample" in tip and "out of sample" in tip
    assert console_errors(driver) == []


# -- text from the user (parameter values, file names) is shown as text, escaped once, and never runs

PAYLOAD, AMP = "<img src=x onerror=alert(1)>", "a&b"

_VISIBLE_TEXTS = """
const out = [];
const walk = (root) => { for (const e of root.querySelectorAll("*")) {
  if (e.shadowRoot) walk(e.shadowRoot);
  if (!["SCRIPT", "STYLE"].includes(e.tagName) && e.children.length == 0 && e.textContent.trim()) out.push(e.textContent);
  if (e.tagName == "IMG") out.push("<an img element>"); } };
walk(document);
return out;
"""


def _hostile_run(tmp_path, monkeypatch, *extra: str) -> None:
    """A run of a strategy whose string parameter ``tag`` takes PAYLOAD and AMP, on data in a file
    named after PAYLOAD too, with --html and ``extra`` (sweeps before the tag's, or a walk-forward)."""
    import shutil

    import run_backtest

    (tmp_path / "tagged_strategy.py").write_text(
        "from strategies.cvd_trend import CvdTrend\n\n\nclass Tagged(CvdTrend):\n    params = (('tag', 'plain'),)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    data = tmp_path / "<img src=x onerror=alert(2)>.parquet"
    shutil.copy(need_sample(), data)
    code = run_backtest.main([str(data), "--strategy", "tagged_strategy:Tagged", "--bars", "15min", "--start",
                              "2024-04-15", "--end", "2024-04-19", "--tz", "UTC", *extra, "--sweep", f"tag={PAYLOAD},{AMP}",
                              "--jobs", "1", "--html", "--out", str(tmp_path / "out")])
    assert code == 0


def _open_trapped(driver, path) -> None:
    """Open ``path`` with window.alert recording its calls instead of showing a dialog."""
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                           {"source": "window.__alerts = []; window.alert = (m) => window.__alerts.push(String(m));"})
    open_page(driver, path)
    settle(driver, 0.8)


def _assert_shown_once_escaped(driver, texts: list[str], must_show: list[str]) -> None:
    assert driver.execute_script("return window.__alerts") == []
    assert "<an img element>" not in texts  # the payload made no element
    joined = "\n".join(texts)
    for text in must_show:
        assert text in joined, text
    # escaped once: the text as given, never its escaped form
    assert "&lt;" not in joined and "&gt;" not in joined and "&amp;" not in joined
    assert console_errors(driver) == []


def test_sweep_page_shows_hostile_values_as_text(driver, tmp_path, monkeypatch):
    _hostile_run(tmp_path, monkeypatch, "--sweep", "slope_period=5,20", "--sweep", "min_slope=0,2", "--pbo-splits", "2")
    _open_trapped(driver, tmp_path / "out" / "sweep.html")
    texts = driver.execute_script(_VISIBLE_TEXTS)
    # the page's title, the table's cells (4 sets each), the menu of the third parameter, the best set
    assert texts.count(PAYLOAD) >= 4 + 1 and texts.count(AMP) >= 4 + 1
    assert driver.title == "Sweep: Tagged on <img src=x onerror=alert(2)>.parquet, 15min bars"
    # choosing a value from the menu and hovering a cell show it as text too
    driver.execute_script("Bokeh.documents[0].get_model_by_name('select_tag').value = arguments[0]", AMP)
    settle(driver)
    tips = [hover_at(driver, "sweep_heatmap", 0.5, 0.5)]
    assert f"tag:\t{AMP}" in tips[0] and f"label:\tslope_period=5,min_slope=0.0,tag={AMP}" in tips[0]
    driver.execute_script("Bokeh.documents[0].get_model_by_name('select_tag').value = arguments[0]", PAYLOAD)
    settle(driver)
    tips.append(hover_at(driver, "sweep_heatmap", 1.5, 1.5))
    assert f"tag:\t{PAYLOAD}" in tips[1]
    _assert_shown_once_escaped(driver, texts + tips, ["Sweep: Tagged on <img src=x onerror=alert(2)>.parquet",
                                                       f"tag={PAYLOAD}", f"tag={AMP}"])


def test_walk_forward_page_shows_hostile_values_as_text(driver, tmp_path, monkeypatch):
    _hostile_run(tmp_path, monkeypatch, "--walk-forward", "train=2D,test=1D")
    _open_trapped(driver, tmp_path / "out" / "walk_forward.html")
    texts = driver.execute_script(_VISIBLE_TEXTS)
    windows = pd.read_csv(tmp_path / "out" / "walk_forward.csv")
    chosen = [t for t in texts if t.startswith("tag=")]  # the table's "chosen set" column
    assert chosen == windows["set"].tolist() and set(chosen) <= {f"tag={PAYLOAD}", f"tag={AMP}"}
    mid = float(np.asarray(data(driver, "walk_forward_windows_source", "test_mid"))[0])
    tip = hover_at(driver, "walk_forward_windows", mid, len(windows))
    assert f"chosen set:\t{windows['set'][0]}" in tip
    _assert_shown_once_escaped(driver, texts + [tip], ["<img src=x onerror=alert(2)>.parquet"])
