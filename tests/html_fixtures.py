"""Helpers for the HTML report tests: a backtest result built from real pieces (no CLI), and a
headless Chromium driven by Selenium (skipped with a reason where it is absent)."""
from __future__ import annotations

import shutil
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from data import make_bars
from research import metrics as perf
from research.trades import trades_frame

CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
CHROMEDRIVER = ("chromedriver",)


def make_result(ticks: pd.DataFrame, spec: str = "1min", tz: str = "America/Chicago") -> SimpleNamespace:
    """What the engine's Result carries, from ``ticks``: bars, an equity curve (100,000 plus
    0.05 per unit of running delta), two trades (a long won, a short open at the end) and the metrics."""
    bars = make_bars(ticks, spec)
    n = len(bars)
    value = pd.Series(100_000.0 + 0.05 * np.cumsum(bars["delta"].to_numpy()), index=bars.index)
    position = pd.Series(0.0, index=bars.index)
    equity = pd.DataFrame({"value": value, "drawdown": perf.drawdown(value), "position": position})
    close = bars["close"].to_numpy()
    rows = [
        {"entry_bar": 5, "exit_bar": 15, "direction": "long", "size": 2.0, "entry_price": close[5],
         "exit_price": close[15], "points": close[15] - close[5],
         "pnl": 2 * (close[15] - close[5]) + 10, "pnl_net": 2 * (close[15] - close[5]) + 10,
         "commission": 0.0, "closed": True},
        {"entry_bar": n - 20, "exit_bar": n - 1, "direction": "short", "size": 1.0, "entry_price": close[n - 20],
         "exit_price": close[n - 1], "points": close[n - 20] - close[n - 1],
         "pnl": close[n - 20] - close[n - 1], "pnl_net": close[n - 20] - close[n - 1],
         "commission": 0.0, "closed": False},
    ]
    trades = trades_frame(rows, bars.index)
    daily = perf.daily_returns(value, 100_000.0)
    metrics = perf.performance(value, trades, daily, bars, position, 100_000.0)
    config = SimpleNamespace(tz=tz, bars=spec, strategy_name="test_strategy", data=Path("ticks.parquet"),
                             cash=100_000.0, commission=0.0, slippage=("fixed", 0.0), params={"window": 20},
                             session=None)
    return SimpleNamespace(config=config, bars=bars, equity=equity, trades=trades, daily=daily, metrics=metrics,
                           cvd=None, cvd_label="CVD (running sum of delta)", cvd_resets=None, strategy=None)


def need_browser() -> tuple[str, str]:
    """Paths of Chromium and chromedriver, or skip with the reason."""
    pytest.importorskip("selenium", reason="selenium is not installed (pip install -e '.[browser]')")
    browser = next((p for p in map(shutil.which, CHROMIUM) if p), None)
    driver = next((p for p in map(shutil.which, CHROMEDRIVER) if p), None)
    if browser is None or driver is None:
        pytest.skip("headless Chromium is absent: apt-get install chromium chromium-driver (make test-browser)")
    return browser, driver


def start_browser(width: int = 1600, height: int = 1200) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver = need_browser()
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                f"--window-size={width},{height}", "--allow-file-access-from-files"):
        options.add_argument(arg)
    options.binary_location = browser
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=options)


def open_page(driver: Any, path: Path, timeout: float = 30.0) -> float:
    """Load ``path`` and wait until Bokeh has rendered its document; returns the seconds it took."""
    start = time.perf_counter()
    driver.get(path.resolve().as_uri())
    while time.perf_counter() - start < timeout:
        if driver.execute_script(
                "return !!(window.Bokeh && Bokeh.documents.length && Bokeh.index && Object.keys(Bokeh.index).length)"):
            return time.perf_counter() - start
        time.sleep(0.05)
    raise AssertionError(f"Bokeh did not render {path} within {timeout} s")


def settle(driver: Any, seconds: float = 0.4) -> None:
    """Let Bokeh run its callbacks and repaint."""
    time.sleep(seconds)


def console_errors(driver: Any) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
