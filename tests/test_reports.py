"""research.metrics on hand-made series (values worked out by hand) and reports.plots helpers."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from data.feed import date2num_ns
from indicators.sessions import SessionCalendar
from reports.plots import normalised_imbalance, plot_report, session_gaps, time_ticks
from research import metrics as m


def minutes(n: int, start: str = "2024-03-01 14:30") -> pd.DatetimeIndex:
    return pd.date_range(start, periods=n, freq="1min", tz="UTC")


# --- drawdown ----------------------------------------------------------------------------------


def test_drawdown_percent_below_running_peak():
    equity = pd.Series([100.0, 110.0, 99.0, 104.5, 121.0, 110.0], index=minutes(6))
    dd = m.drawdown(equity)
    # peaks 100, 110, 110, 110, 121, 121 -> 0, 0, 10 %, 5 %, 0, 100 * 11 / 121
    np.testing.assert_allclose(dd.to_numpy(), [0, 0, 10.0, 5.0, 0, 100 * 11 / 121])


def test_max_drawdown_depth_and_longest_stretch():
    times = minutes(6)
    equity = pd.Series([100.0, 110.0, 99.0, 104.5, 121.0, 110.0], index=times)
    stats = m.max_drawdown(equity)
    assert stats.max_pct == pytest.approx(10.0)
    # under water at bars 2 and 3 (peak bar 1, back above it at bar 4), and at bar 5 (1 bar)
    assert stats.length_bars == 2
    assert stats.peak == times[1] and stats.end == times[4]
    assert stats.duration == pd.Timedelta(minutes=3)
    assert stats.recovered


def test_max_drawdown_not_recovered_runs_to_the_last_bar():
    times = pd.DatetimeIndex(["2024-03-01 10:00", "2024-03-01 11:00", "2024-03-04 09:00"], tz="UTC")
    stats = m.max_drawdown(pd.Series([100.0, 90.0, 95.0], index=times))
    assert stats.max_pct == pytest.approx(10.0)
    assert stats.length_bars == 2
    assert stats.duration == pd.Timedelta(days=2, hours=23)
    assert not stats.recovered


def test_max_drawdown_longest_is_by_bars_not_depth():
    # a deep 1-bar dip (bar 1) and a shallow 3-bar one (bars 3-5)
    equity = pd.Series([100.0, 50.0, 100.0, 99.0, 99.0, 99.5, 101.0], index=minutes(7))
    stats = m.max_drawdown(equity)
    assert stats.max_pct == pytest.approx(50.0)
    assert stats.length_bars == 3
    assert stats.duration == pd.Timedelta(minutes=4)  # peak bar 2 -> recovery bar 6


def test_max_drawdown_of_a_rising_curve_is_zero():
    stats = m.max_drawdown(pd.Series([1.0, 2.0, 3.0], index=minutes(3)))
    assert (stats.max_pct, stats.length_bars, stats.duration) == (0.0, 0, pd.Timedelta(0))


# --- daily returns, Sharpe, Sortino ---------------------------------------------------------------


def test_sharpe_by_hand():
    r = pd.Series([0.01, -0.02, 0.03, 0.0])
    # mean 0.005; deviations 0.005, -0.025, 0.025, -0.005 -> var = 0.0013 / 3
    expected = 0.005 / math.sqrt(0.0013 / 3) * math.sqrt(252)
    assert m.sharpe_ratio(r) == pytest.approx(expected)
    assert m.sharpe_ratio(r) == pytest.approx(3.81293, abs=1e-5)


def test_sortino_by_hand():
    r = pd.Series([0.01, -0.02, 0.03, 0.0])
    # downside deviation sqrt((0 + 0.0004 + 0 + 0) / 4) = 0.01
    assert m.sortino_ratio(r) == pytest.approx(0.005 / 0.01 * math.sqrt(252))


@pytest.mark.parametrize("returns", [[0.01], [], [0.002, 0.002, 0.002]])
def test_sharpe_undefined_is_none(returns):
    assert m.sharpe_ratio(pd.Series(returns, dtype=float)) is None


def test_sortino_without_a_down_day_is_none():
    assert m.sortino_ratio(pd.Series([0.01, 0.02])) is None


def test_daily_returns_last_value_per_day_from_initial_cash():
    times = pd.DatetimeIndex(["2024-03-04 15:00", "2024-03-04 20:00", "2024-03-05 15:00", "2024-03-07 15:00"],
                             tz="UTC")
    equity = pd.Series([101.0, 102.0, 96.9, 100.776], index=times)
    r = m.daily_returns(equity, initial=100.0)
    assert list(r.index.strftime("%Y-%m-%d")) == ["2024-03-04", "2024-03-05", "2024-03-07"]
    np.testing.assert_allclose(r.to_numpy(), [0.02, -0.05, 0.04])


def test_daily_returns_cut_at_a_cme_session_start():
    # 16:59 CDT Monday is Monday's session; 17:01 CDT Monday (22:01 UTC) opens Tuesday's.
    times = pd.DatetimeIndex(["2024-04-15 21:59", "2024-04-15 22:01", "2024-04-16 21:00"], tz="UTC")
    equity = pd.Series([110.0, 99.0, 121.0], index=times)
    calendar = SessionCalendar("17:00", "America/Chicago")
    r = m.daily_returns(equity, initial=100.0, calendar=calendar)
    assert list(r.index.strftime("%Y-%m-%d")) == ["2024-04-15", "2024-04-16"]
    np.testing.assert_allclose(r.to_numpy(), [0.10, 0.10])
    # cut at midnight UTC instead, the 22:01 bar stays on Monday
    np.testing.assert_allclose(m.daily_returns(equity, initial=100.0).to_numpy(), [-0.01, 121 / 99 - 1])


def test_daily_returns_put_a_bar_stamped_at_the_open_in_the_closing_session():
    # Right-closed bars: the bar stamped 17:00:00 CDT (22:00 UTC) holds ticks from before the
    # opening, so it closes Monday's session, exactly as SessionCalendar (and the CVD reset) say.
    times = pd.DatetimeIndex(["2024-04-15 21:59", "2024-04-15 22:00", "2024-04-15 22:01"], tz="UTC")
    equity = pd.Series([101.0, 102.0, 51.0], index=times)
    calendar = SessionCalendar("17:00", "America/Chicago")
    r = m.daily_returns(equity, initial=100.0, calendar=calendar)
    assert list(r.index.strftime("%Y-%m-%d")) == ["2024-04-15", "2024-04-16"]
    np.testing.assert_allclose(r.to_numpy(), [0.02, -0.5])
    ids = calendar.ids(date2num_ns(times.as_unit("ns").asi8))
    assert list(ids - ids[0]) == [0, 0, 1]


# --- returns ---------------------------------------------------------------------------------------


def test_total_and_annualised_return():
    equity = pd.Series([100.0, 105.0, 110.0], index=minutes(3))
    assert m.total_return(equity, 100.0) == pytest.approx(10.0)
    assert m.annualised_return(10.0, pd.Timedelta(days=365.25)) == pytest.approx(10.0)
    assert m.annualised_return(10.0, pd.Timedelta(days=365.25 / 2)) == pytest.approx(21.0)
    assert m.annualised_return(10.0, pd.Timedelta(0)) is None


def test_buy_and_hold_from_first_open_to_last_close():
    bars = pd.DataFrame({"open": [200.0, 210.0], "close": [205.0, 190.0]}, index=minutes(2))
    assert m.buy_and_hold_return(bars) == pytest.approx(-5.0)


def test_time_in_market():
    assert m.time_in_market(pd.Series([0.0, 2.0, -1.0, 0.0, 0.0])) == pytest.approx(40.0)


# --- trades --------------------------------------------------------------------------------------


def test_trade_stats_by_hand_open_trade_excluded():
    trades = pd.DataFrame({"pnl_net": [10.0, -5.0, 20.0, -10.0, 0.0, 99.0],
                           "closed": [True, True, True, True, True, False]})
    s = m.trade_stats(trades)
    assert (s.trades, s.wins, s.losses) == (5, 2, 2)
    assert s.win_rate_pct == pytest.approx(40.0)
    assert s.profit_factor == pytest.approx(30.0 / 15.0)
    assert s.avg_trade == pytest.approx(3.0)
    assert (s.avg_win, s.avg_loss) == (15.0, -7.5)
    assert s.net_pnl == pytest.approx(15.0)


def test_profit_factor_edge_cases():
    assert m.trade_stats(pd.DataFrame({"pnl_net": [1.0, 2.0]})).profit_factor == math.inf
    empty = m.trade_stats(pd.DataFrame({"pnl_net": pd.Series(dtype=float)}))
    assert (empty.trades, empty.profit_factor, empty.win_rate_pct, empty.avg_trade) == (0, None, None, None)


def test_performance_and_json_ready():
    times = minutes(4)
    equity = pd.Series([1000.0, 1010.0, 990.0, 1020.0], index=times)
    trades = pd.DataFrame({"pnl_net": [20.0], "closed": [True]})
    bars = pd.DataFrame({"open": [10.0] * 4, "close": [10.0, 10.5, 9.5, 11.0]}, index=times)
    out = m.performance(equity, trades, m.daily_returns(equity, 1000.0), bars, pd.Series([0, 1, 1, 0]), 1000.0)
    assert out["total_return_pct"] == pytest.approx(2.0)
    assert out["max_drawdown_pct"] == pytest.approx(100 * 20 / 1010)
    assert out["max_drawdown_bars"] == 1
    assert out["trades"] == 1 and out["profit_factor"] == math.inf
    assert out["time_in_market_pct"] == pytest.approx(50.0)
    assert out["buy_hold_return_pct"] == pytest.approx(10.0)
    assert out["sharpe"] is None  # one day
    assert m.to_json_ready(out)["profit_factor"] == "inf"


# --- the metrics as text -----------------------------------------------------------------------------


def test_fmt_numbers_for_tables():
    from reports.metrics import fmt

    assert fmt(None) == "n/a"
    assert fmt(1234.5) == "1,234.50"
    assert fmt(12.345, " %", 1) == "12.3 %"
    assert fmt(7) == "7"
    assert (fmt(math.inf), fmt(-math.inf)) == ("inf", "-inf")


def test_the_printed_metrics_table_is_the_rows_of_the_html_table():
    """One metrics table: the command line prints the rows the HTML report shows (reports.metrics.metric_rows)."""
    from reports.metrics import metric_rows, metrics_note
    from reports.output import metrics_table

    times = minutes(4)
    equity = pd.Series([1000.0, 1010.0, 990.0, 1020.0], index=times)
    trades = pd.DataFrame({"pnl_net": [20.0, -5.0], "closed": [True, True]})
    bars = pd.DataFrame({"open": [10.0] * 4, "close": [10.0, 10.5, 9.5, 11.0]}, index=times)
    out = m.performance(equity, trades, m.daily_returns(equity, 1000.0), bars, pd.Series([0, 1, 1, 0]), 1000.0)
    out.update(orders_rejected=0, orders_margin=0, entries_skipped=None, sortino=-math.inf)
    rows = metric_rows(out)
    assert rows[:3] == [("Start value", "1,000.00"), ("Final value", "1,020.00"), ("Total return", "2.00 %")]
    assert ("Sortino (daily, x sqrt 252)", "-inf †") in rows  # one day: marked
    assert ("Profit factor", "4.00") in rows  # 20 / 5
    assert ("Longest drawdown", "1 bar, 0 days 00:02:00") in rows  # peak 1010 at 14:31, back above at 14:33
    width = max(len(k) for k, _ in rows)
    lines = metrics_table(out).splitlines()
    assert [(line[2:2 + width].rstrip(), line[2 + width:].strip()) for line in lines[:-1]] == rows
    assert lines[-1] == metrics_note(out) and lines[-1].startswith("† from 1 trading day")


# --- plots -----------------------------------------------------------------------------------------


def test_normalised_imbalance():
    out = normalised_imbalance(np.array([10.0, 0.0, 3.0, np.nan]), np.array([30.0, 0.0, 1.0, 5.0]))
    np.testing.assert_allclose(out[:3], [-0.5, 0.0, 0.5])
    assert np.isnan(out[3])


def test_session_gaps_mark_the_bar_after_a_break():
    times = pd.DatetimeIndex(["2024-04-15 20:58", "2024-04-15 20:59", "2024-04-15 21:00", "2024-04-15 22:01",
                              "2024-04-15 22:02"], tz="UTC")
    assert session_gaps(times).tolist() == [3]


def test_time_ticks_round_times_and_dates():
    times = pd.date_range("2024-04-15 22:01", "2024-04-17 06:00", freq="1min", tz="UTC")
    positions, labels = time_ticks(times, max_ticks=6)
    # 12-hour steps: 00:00 and 12:00; the 22:01 first bar is too close to the 00:00 tick and is dropped
    assert labels[0] == "00:00\nTue 16 Apr"
    assert labels[1] == "12:00"
    assert times[positions[0]] == pd.Timestamp("2024-04-16 00:00", tz="UTC")
    assert len(positions) <= 6


def test_plot_report_writes_png(tmp_path):
    times = minutes(50)
    rng = np.random.default_rng(1)
    close = 100 + np.cumsum(rng.normal(0, 0.25, 50))
    bars = pd.DataFrame({"open": close, "close": close, "delta": rng.normal(0, 10, 50),
                         "bid_size": rng.uniform(1, 9, 50), "ask_size": rng.uniform(1, 9, 50)}, index=times)
    value = pd.Series(1000 + np.cumsum(rng.normal(0, 1, 50)), index=times)
    equity = pd.DataFrame({"value": value, "drawdown": m.drawdown(value)})
    trades = pd.DataFrame({"entry_bar": [3, 20], "exit_bar": [10, 49], "entry_price": close[[3, 20]],
                           "exit_price": close[[10, 49]], "direction": ["long", "short"], "pnl_net": [1.0, -1.0],
                           "closed": [True, False]})
    path = plot_report(bars, equity, trades, tmp_path / "r.png", title="t", cvd_resets=[25])
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 20_000
