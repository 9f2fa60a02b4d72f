"""reports.html without a browser: the files it writes (self-contained, small enough), the time
axis values, the sweep panels' inputs. The browser checks are in test_html_browser.py."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("bokeh", reason="bokeh is not installed (pip install -e '.[html]')")

from data import OrderFlowError  # noqa: E402
from reports import html, html_parts  # noqa: E402
from tests.conftest import need_sample  # noqa: E402
from tests.html_fixtures import make_result  # noqa: E402


@pytest.fixture(scope="module")
def sample_ticks() -> pd.DataFrame:
    ticks = pd.read_parquet(need_sample())
    return ticks[ticks["timestamp"] < pd.Timestamp("2024-04-16 22:00", tz="UTC")].reset_index(drop=True)


def test_bar_times_ms_are_the_local_wall_clock():
    index = pd.DatetimeIndex(["2024-04-16 14:30", "2024-11-04 14:30"], tz="UTC")
    # Chicago: CDT (UTC-5) in April, CST (UTC-6) after 3 November
    expected = pd.DatetimeIndex(["2024-04-16 09:30", "2024-11-04 08:30"]).as_unit("ns").asi8 // 1_000_000
    np.testing.assert_array_equal(html_parts.bar_times_ms(index, "America/Chicago"), expected.astype(float))


def month_of_bars(n: int = 30_000) -> pd.DataFrame:
    """~30,000 1-minute bars over weekday sessions 08:30-15:14 Chicago (405 bars a day), a random walk."""
    days = pd.bdate_range("2024-03-01", periods=n // 405 + 1)
    times = [pd.date_range(d + pd.Timedelta("8h31min"), periods=405, freq="1min") for d in days]
    index = pd.DatetimeIndex(np.concatenate(times)[:n]).tz_localize("America/Chicago").tz_convert("UTC")
    rng = np.random.default_rng(7)
    close = 5000 + np.cumsum(rng.choice([-0.25, 0, 0.25], n))
    open_ = np.concatenate(([5000.0], close[:-1]))
    spread = rng.integers(0, 4, n) * 0.25
    buy, sell = rng.integers(50, 400, n).astype(float), rng.integers(50, 400, n).astype(float)
    return pd.DataFrame({"open": open_, "high": np.maximum(open_, close) + spread, "low": np.minimum(open_, close) - spread,
                         "close": close, "volume": buy + sell, "delta": buy - sell,
                         "bid_size": rng.integers(1, 50, n).astype(float), "ask_size": rng.integers(1, 50, n).astype(float)},
                        index=index.rename("timestamp"))


def month_result(bars: pd.DataFrame):
    from types import SimpleNamespace

    from research import metrics as perf

    value = pd.Series(100_000 + np.cumsum(bars["delta"].to_numpy()) * 0.01, index=bars.index)
    trades = pd.DataFrame({"entry_time": bars.index[10:2000:20], "exit_time": bars.index[15:2005:20],
                           "direction": ["long", "short"] * 50, "size": 1.0,
                           "entry_price": bars["close"].to_numpy()[10:2000:20], "exit_price": bars["close"].to_numpy()[15:2005:20],
                           "pnl": 1.0, "pnl_net": 1.0, "commission": 0.0, "bars_held": 5, "closed": True,
                           "entry_bar": np.arange(10, 2000, 20), "exit_bar": np.arange(15, 2005, 20)})
    return SimpleNamespace(
        bars=bars, equity=pd.DataFrame({"value": value, "drawdown": perf.drawdown(value)}), trades=trades,
        metrics={"start_value": 100_000.0, "final_value": float(value.iloc[-1]), "trades": 100},
        cvd=None, cvd_label="CVD", config=SimpleNamespace(tz="America/Chicago", bars="1min", strategy_name="month"))


def test_a_month_of_minute_bars_fits_in_10_mb(tmp_path):
    bars = month_of_bars()
    out = html.report(month_result(bars), tmp_path / "month.html")
    size = out.stat().st_size
    assert size <= 10 * 1024 * 1024, f"{size / 1e6:.1f} MB"
    assert len(bars) == 30_000


def test_report_is_self_contained(tmp_path, sample_ticks):
    result = make_result(sample_ticks)
    out = html.report(result, tmp_path / "r.html", ticks=sample_ticks, tick_size=0.25)
    text = out.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=", text), "scripts must be inline (no network)"
    assert "cdn.bokeh.org" not in text
    assert "Bokeh.embed.embed_items" in text
    # the metrics table as the CLI prints it, and the settings
    assert "Max drawdown" in text and "test_strategy" in text and "America/Chicago" in text


def test_report_without_bid_ask_sizes_says_so(tmp_path, sample_ticks):
    result = make_result(sample_ticks)
    result.bars = result.bars.drop(columns=["bid_size", "ask_size"])
    text = html.report(result, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "no bid/ask sizes in the data" in text


def test_sweep_heatmap_rejects_ambiguous_or_missing_columns():
    frame = pd.DataFrame({"a": [1, 1, 2], "b": [5, 5, 5], "sharpe": [0.1, 0.2, 0.3]})
    with pytest.raises(OrderFlowError, match="a=1, b=5 appears more than once"):
        html.sweep_heatmap(frame, "a", "b", "sharpe")
    with pytest.raises(OrderFlowError, match="no column 'sortino'"):
        html.sweep_heatmap(frame.iloc[1:], "a", "b", "sortino")


def test_sweep_heatmap_cells_and_colour_range():
    frame = pd.DataFrame({"window": [10, 20, 10, 20], "slope": [0.5, 0.5, 1.0, 1.0], "sharpe": [0.5, -1.0, np.nan, 2.0],
                          "trades": [3, 4, 0, 9]})
    fig = html.sweep_heatmap(frame, "window", "slope", "sharpe")
    assert list(fig.x_range.factors) == ["10", "20"] and list(fig.y_range.factors) == ["0.5", "1.0"]
    rect = fig.select_one({"name": "sweep_rects"})
    mapper = fig.select_one({"name": "sweep_colours"})  # the colour bar's
    assert (mapper.low, mapper.high) == (-1.0, 2.0)  # the finite range; NaN drawn grey
    data = rect.data_source.data
    assert data["_label"] == ["0.5", "-1", "", "2"]
    # 0.5 is in class floor(1.5 / 3 x 11) = 5 of 11 (pale yellow), -1 the first (dark red), 2 the last (dark green)
    assert data["_fill"] == ["#ffffbf", "#a50026", "#d9d9d9", "#006837"] and rect.glyph.fill_color == "_fill"
    # the value reads on its cell: dark grey on the pale ones, white on the dark red and green (6.9:1, black 3:1)
    assert data["_ink"] == ["#333333", "#ffffff", "#333333", "#ffffff"]
    assert fig.select_one({"name": "sweep_labels"}).glyph.text_color == "_ink"


def test_walk_forward_window_edges_on_equity_rows():
    times = pd.date_range("2024-01-01", periods=10, freq="D", tz="UTC")
    equity = pd.DataFrame({"value": np.arange(10, dtype=float) + 100}, index=times)
    windows = pd.DataFrame({"train_start": [times[0], times[2]], "train_end": [times[3], times[5]],
                            "test_start": [times[4], times[6]], "test_end": [times[5], times[8]],
                            "params": ["w=10", "w=20"]})
    panel = html.walk_forward_panel(equity, windows)
    source = panel.select_one({"name": "walk_forward_windows_source"})
    # a window edge is the half-bar boundary before its first row / after its last row
    np.testing.assert_array_equal(source.data["test_l"], [3.5, 5.5])
    np.testing.assert_array_equal(source.data["test_r"], [5.5, 8.5])
    np.testing.assert_array_equal(source.data["train_l"], [-0.5, 1.5])
    with pytest.raises(OrderFlowError, match="missing test_end"):
        html.walk_forward_panel(equity, windows.drop(columns=["test_end"]))


def test_report_draws_the_large_orders_with_the_ticks(tmp_path, sample_ticks):
    from bokeh.models import ColumnDataSource

    from reports.footprint_chart import big_trade_markers
    from tests.test_html_sweep import read_document

    result = make_result(sample_ticks)
    out = html.report(result, tmp_path / "r.html", ticks=sample_ticks, tick_size=0.25)
    source = read_document(out).select_one({"name": "big_trades", "type": ColumnDataSource})
    marks = big_trade_markers(sample_ticks, spec="1min", threshold="p99.9")
    assert len(marks) > 0
    np.testing.assert_array_equal(source.data["size"], marks["size"].to_numpy())
    np.testing.assert_array_equal(source.data["x"], result.bars.index.get_indexer(pd.DatetimeIndex(marks["bar_time"])))
    assert set(source.data["side"]) <= {"buy", "sell"}
    # without the ticks there is no layer
    plain = html.report(result, tmp_path / "p.html")
    assert not list(read_document(plain).select({"name": "big_trades"}))


def test_cli_report_footprint_is_the_requested_window_and_opens_on_it(tmp_path):
    import run_backtest
    from tests.test_html_sweep import read_document

    code = run_backtest.main([str(need_sample()), "--tz", "UTC", "--no-plot", "--html", "--html-footprint",
                              "2024-04-16 14:30", "2024-04-16 15:30", "--out", str(tmp_path)])
    assert code == 0
    doc = read_document(tmp_path / "report.html")
    legend = doc.select_one({"name": "footprint_legend"}).text
    assert "Footprint of 61 1min bars, 2024-04-16 Tue 14:30 to 2024-04-16 Tue 15:30 (UTC)" in legend
    bars = doc.select_one({"name": "footprint_bars"}).data
    first = float(bars["x"][0])
    assert bars["time"][0] == "2024-04-16 Tue 14:30" and list(bars["x"]) == [first + i for i in range(61)]
    # the report's charts open on the whole run, the footprint on the window's first 20 bars
    run = doc.select_one({"name": "x_range"})
    assert (run.start, run.end) == (-1, len(doc.select_one({"name": "bars_full"}).data["x"]))
    view = doc.select_one({"name": "footprint_x_range"})
    assert (view.start, view.end) == (pytest.approx(first - 0.6), pytest.approx(first + 19.6))
    assert (view.bounds[0], view.bounds[1]) == (first - 1, first + 61)
