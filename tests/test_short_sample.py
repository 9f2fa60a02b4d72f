"""Statistics of fewer than 20 trading days are flagged: in the printed metrics, metrics.json, and the
sweep and walk-forward tables (one rule: research.metrics.short_sample, one constant: MIN_DAYS)."""
from __future__ import annotations

import json
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from reports import sweep as show
from reports.output import metrics_table
from research import metrics as perf
from tests.conftest import need_sample
from tests.test_run_backtest import SMALL_CSV, run_cli


def metrics_of_days(days: int) -> dict:
    """performance() of ``days`` daily closes of a curve that gains 1% and loses 0.5% in turn."""
    index = pd.date_range("2024-01-01 16:00", periods=days, freq="D", tz="UTC")
    steps = np.where(np.arange(days) % 2 == 0, 1.01, 0.995)
    equity = pd.Series(100.0 * np.cumprod(steps), index=index)
    bars = pd.DataFrame({"open": equity.to_numpy(), "close": equity.to_numpy()}, index=index)
    returns = perf.daily_returns(equity, 100.0)
    return perf.performance(equity, pd.DataFrame({"pnl_net": [], "closed": []}), returns, bars, equity * 0, 100.0)


@pytest.mark.parametrize("days, short", [(1, True), (3, True), (19, True), (20, False), (60, False)])
def test_the_rule_and_the_flag_in_the_metrics(days, short):
    assert perf.MIN_DAYS == 20
    m = metrics_of_days(days)
    assert m["days"] == days and m["short_sample"] is short and perf.short_sample(days) is short
    assert perf.to_json_ready(m)["short_sample"] is short


def test_printed_metrics_mark_the_daily_statistics_and_say_why():
    m = metrics_of_days(3)  # returns +1%, -0.5%, +1%: Sharpe = mean / sd * sqrt(252)
    r = np.array([0.01, -0.005, 0.01])
    assert m["sharpe"] == pytest.approx(r.mean() / r.std(ddof=1) * np.sqrt(252))
    text = metrics_table(m)
    rows = {line[:32].strip(): line[32:].strip() for line in text.splitlines() if line.startswith("  ")}
    assert rows["Sharpe (daily, x sqrt 252)"] == f"{m['sharpe']:.2f} †"
    assert rows["Sortino (daily, x sqrt 252)"] == f"{m['sortino']:.2f} †"
    assert rows["Annualised return"] == f"{m['annual_return_pct']:,.2f} % †"
    assert rows["Total return"] == f"{m['total_return_pct']:.2f} %" and rows["Trading days"] == "3"
    lines = text.splitlines()
    point = {line[:32].strip(): line.rfind(".") for line in lines[:-1]}
    # the marked values line up with the others
    assert point["Sharpe (daily, x sqrt 252)"] == point["Sortino (daily, x sqrt 252)"] == point["Start value"]
    assert point["Annualised return"] == point["Total return"] == point["Max drawdown"]
    assert text.splitlines()[-1] == ("† from 3 trading days, fewer than 20: a Sharpe ratio, Sortino ratio or "
                                     "annualised return of so few days is too noisy to rely on")


def test_enough_days_print_no_mark():
    text = metrics_table(metrics_of_days(20))
    assert "†" not in text


def test_a_run_of_one_day_is_flagged_in_metrics_json_and_the_output(tmp_path):
    code, out, err = run_cli([str(SMALL_CSV), "--param", "slope_period=1", "--out", str(tmp_path), "--no-plot"])
    assert code == 0, err
    metrics = json.loads((tmp_path / "metrics.json").read_text())["metrics"]
    assert metrics["days"] == 1 and metrics["short_sample"] is True
    assert "† from 1 trading day, fewer than 20" in out
    assert re.search(r"Sharpe \(daily, x sqrt 252\)\s+n/a\n", out)  # nothing to flag where nothing was computed


def table_result(days: list[int], sharpe: list[float]) -> SimpleNamespace:
    table = pd.DataFrame({"label": [f"p={n}" for n in range(len(days))], "sharpe": sharpe, "days": days,
                          "total_return_pct": [1.5, -2.25, 0.5][:len(days)], "max_drawdown_pct": 1.0, "trades": 4,
                          "win_rate_pct": 50.0, "profit_factor": 1.2, "net_pnl": 10.0})
    return SimpleNamespace(table=table, rank_by="sharpe")


def test_sweep_table_marks_sharpe_of_few_days():
    text = show.ranking_table(table_result([3, 3], [10.22, 1.5]))
    lines = text.splitlines()
    assert re.search(r"^0\s+p=0\s+1\.50\s+10\.22 †\s", lines[1]), lines[1]
    assert re.search(r"^1\s+p=1\s+-2\.25\s+1\.50 †\s", lines[2]), lines[2]
    assert lines[-1].startswith("† from 3 trading days, fewer than 20: ")
    plain = show.ranking_table(table_result([25, 25], [10.22, 1.5]))
    assert "†" not in plain and "Sharpe *" in plain  # the header's * marks the ranking metric


def test_walk_forward_prints_the_caveat_of_its_few_stitched_days(tmp_path):
    need_sample()
    code, out, err = run_cli(["--bars", "5min", "--sweep", "slope_period=5,10,20", "--walk-forward", "train=2D,test=1D",
                              "--jobs", "1", "--out", str(tmp_path)])
    assert code == 0, err
    doc = json.loads((tmp_path / "walk_forward.json").read_text())
    days = doc["out_of_sample_metrics"]["days"]
    assert days < 20 and doc["out_of_sample_metrics"]["short_sample"] is True
    assert re.search(r"Sharpe \(daily, x sqrt 252\)\s+-?[\d,]+\.\d\d †\n", out), out
    assert f"† from {days} trading days, fewer than 20: " in out
    table = out.split("Out of sample")[0]
    assert re.search(r"\s-?\d+\.\d\d †\s", table), table  # the in-sample Sharpe of 2 days, marked
    windows = pd.read_csv(tmp_path / "walk_forward.csv")
    assert list(windows["is_days"]) == [2, 2, 2] and list(windows["oos_days"]) == [1, 1, 1]


def test_html_metrics_carry_the_mark_and_the_note():
    from reports.html import metrics_html

    page = metrics_html(metrics_of_days(3))
    assert f"{metrics_of_days(3)['sharpe']:.2f} †</td>" in page
    assert "<div class='of-note'>† from 3 trading days, fewer than 20: " in page
    assert "†" not in metrics_html(metrics_of_days(20))
