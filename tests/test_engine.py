"""The engine apart from the command line: RunConfig -> run -> Result, the same figures as the CLI."""
from __future__ import annotations

import datetime as dt
import json
import math
import pickle
import re
from dataclasses import replace

import backtrader as bt
import numpy as np
import pandas as pd
import pytest

import run_backtest as rb
from data import OrderFlowError
from research import RunConfig, engine, load, resolve_strategy, run
from research.instruments import get_instrument
from research.metrics import to_json_ready
from strategies.base import OrderFlowStrategy
from tests.conftest import FIXTURES, need_sample

SMALL_CSV = FIXTURES / "ticks_small.csv"


class BuyFirstSellThird(bt.Strategy):
    """Buy 2 units on the first bar, close on the third."""

    params = (("stake", 2),)

    def next(self) -> None:
        if len(self) == 1:
            self.buy(size=self.p.stake)
        elif len(self) == 3:
            self.close()


class FlipEveryHour(bt.Strategy):
    """A user's own strategy with no session parameters: 1 unit long, then short, flipped every 60 bars."""

    def next(self) -> None:
        if len(self) % 60 == 0:
            self.order_target_size(target=1 if len(self) // 60 % 2 else -1)


def test_run_by_hand_on_the_small_fixture():
    # 1-trade bars of the fixture: the buy fills at bar 2's open (100.25), the close at bar 4's open (99.75)
    result = run(RunConfig(data=SMALL_CSV, strategy=BuyFirstSellThird, bars="1t", cash=1000.0))
    assert len(result.bars) == 10
    closed = result.trades[result.trades["closed"]]
    assert len(closed) == 1
    assert closed["pnl"].iloc[0] == pytest.approx(2 * (99.75 - 100.25))
    assert result.metrics["final_value"] == pytest.approx(1000.0 - 1.0)
    assert result.equity["value"].iloc[-1] == pytest.approx(999.0)
    # one trade date (the default 17:00 Chicago cut): its return is the whole run's
    assert result.daily.to_numpy() == pytest.approx([-1.0 / 1000.0])


def test_strategy_from_a_module_of_ones_own(tmp_path):
    assert resolve_strategy("tests.test_engine:BuyFirstSellThird") is BuyFirstSellThird
    with pytest.raises(OrderFlowError, match="cannot import strategy module"):
        resolve_strategy("no_such_module_xyz:Thing")
    with pytest.raises(OrderFlowError, match="not a Backtrader Strategy"):
        resolve_strategy("tests.test_engine:SMALL_CSV")
    code = rb.main([str(SMALL_CSV), "--strategy", "tests.test_engine:BuyFirstSellThird", "--bars", "1t",
                    "--cash", "1000", "--no-plot", "--out", str(tmp_path)])
    assert code == 0
    doc = json.loads((tmp_path / "metrics.json").read_text())
    assert doc["metrics"]["final_value"] == pytest.approx(999.0)


def test_cli_and_engine_give_the_same_figures(tmp_path):
    code = rb.main([str(SMALL_CSV), "--bars", "1t", "--param", "slope_period=2", "--size", "1", "--no-plot",
                    "--out", str(tmp_path)])
    assert code == 0
    doc = json.loads((tmp_path / "metrics.json").read_text())["metrics"]
    result = run(RunConfig(data=SMALL_CSV, bars="1t", params={"slope_period": 2, "stake": 1, "pct_equity": None},
                           session=(dt.time(17, 0), "America/Chicago")))
    ours = json.loads(json.dumps(to_json_ready(result.metrics), default=str))
    assert ours.keys() == doc.keys()
    assert ours == doc


def test_loaded_once_many_runs_and_slim_results_pickle():
    config = RunConfig(data=SMALL_CSV, strategy=BuyFirstSellThird, bars="1t", cash=1000.0)
    loaded = load(config)
    a = run(config, loaded)
    b = run(config.with_params(stake=4), loaded)
    assert b.metrics["final_value"] - 1000.0 == pytest.approx(2 * (a.metrics["final_value"] - 1000.0))
    slim = pickle.loads(pickle.dumps(b.slim()))
    assert slim.cerebro is None and slim.params["stake"] == 4
    np.testing.assert_array_equal(slim.equity["value"], b.equity["value"])


# --- money as the exchange counts it ------------------------------------------------------------------


def es_ticks(tmp_path):
    """Four one-minute bars of ES: the buy on bar 1 fills at bar 2's open (5000), the close on bar 3 at
    bar 4's open (5010): long 10 points. Bars 2 and 4 have a range, so that slippage fits inside it
    (Backtrader never slips a fill beyond the bar's high or low)."""
    path = tmp_path / "es.csv"
    path.write_text("Timestamp,Price,Volume,TradeType\n"
                    "2024-03-01T14:30:10Z,4999.75,1,1\n2024-03-01T14:30:40Z,4999.75,1,1\n"
                    "2024-03-01T14:31:10Z,5000.00,1,1\n2024-03-01T14:31:40Z,5001.00,1,1\n"
                    "2024-03-01T14:32:10Z,5010.00,1,2\n2024-03-01T14:32:40Z,5010.00,1,2\n"
                    "2024-03-01T14:33:10Z,5010.00,1,1\n2024-03-01T14:33:40Z,5009.00,1,2\n")
    return path


@pytest.mark.parametrize("runonce", [True, False])
def test_es_long_ten_points_at_2_50_a_side_nets_495(tmp_path, runonce):
    config = RunConfig(data=es_ticks(tmp_path), strategy=BuyFirstSellThird, params={"stake": 1}, bars="1min",
                       instrument=get_instrument("ES"), commission_per_contract=2.5)
    result = run(config)
    trade = result.trades.iloc[0]
    assert (trade.entry_price, trade.exit_price, trade.points) == (5000.0, 5010.0, 10.0)
    assert trade.pnl == pytest.approx(500.0) and trade.commission == pytest.approx(5.0)
    assert trade.pnl_net == pytest.approx(495.0)
    assert result.metrics["final_value"] == pytest.approx(100_000 + 495)


def test_cli_es_with_costs_and_risk_sizing(tmp_path):
    data = es_ticks(tmp_path)
    code = rb.main([str(data), "--strategy", "tests.test_engine:BuyFirstSellThird", "--bars", "1min", "--instrument",
                    "es", "--commission-per-contract", "2.5", "--slippage-ticks", "1", "--no-plot", "--out",
                    str(tmp_path / "out")])
    assert code == 0
    trades = pd.read_csv(tmp_path / "out" / "trades.csv")
    # one tick (0.25) against each fill: in at 5000.25, out at 5009.75: 9.5 points x 2 contracts x $50 - 4 x $2.50
    assert trades.loc[0, ["size", "entry_price", "exit_price", "points"]].tolist() == [2, 5000.25, 5009.75, 9.5]
    assert trades.loc[0, "pnl_net"] == pytest.approx(9.5 * 2 * 50 - 4 * 2.5)
    doc = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert doc["instrument"]["symbol"] == "ES" and doc["instrument"]["multiplier"] == 50


def test_risk_sizing_takes_floor_of_risk_over_stop_value(tmp_path):
    # cvd_trend with a 4-point stop and $1,000 of risk on ES: floor(1000 / (4 x 50)) = 5 contracts a trade
    code = rb.main(["--start", "2024-04-16 08:30", "--end", "2024-04-16 11:00", "--tz", "America/Chicago",
                    "--instrument", "ES", "--param", "stop=4", "--risk", "1000", "--no-plot", "--out", str(tmp_path)])
    assert code == 0
    trades = pd.read_csv(tmp_path / "trades.csv")
    assert len(trades) >= 3 and set(trades["size"]) == {5}


@pytest.mark.parametrize("argv, words", [
    (["--commission-per-contract", "2.5"], "need a contract"),
    (["--instrument", "ES", "--commission", "0.001"], "--commission-per-contract"),
    (["--instrument", "XYZ"], "XYZ"),
    (["--multiplier", "50"], "--tick-size"),
    (["--instrument", "ES", "--slippage-ticks", "-1"], "--slippage-ticks"),
    (["--risk", "1000"], "needs a stop"),
    (["--risk", "0", "--param", "stop=4"], "--risk"),
])
def test_contract_options_bad_input(tmp_path, argv, words, capsys):
    code = rb.main(["--start", "2024-04-16 08:30", "--end", "2024-04-16 10:00", "--tz", "America/Chicago", *argv,
                    "--no-plot", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1, err
    assert words in err


# --- many files, the bar cache ----------------------------------------------------------------------------


def test_folder_of_files_streams_and_the_cache_serves_the_second_run(tmp_path, capsys):
    ticks = pd.read_parquet(need_sample()).iloc[:60_000]
    folder = tmp_path / "days"
    folder.mkdir()
    days = ticks["timestamp"].dt.tz_convert("UTC").dt.date
    for day, part in ticks.groupby(days):
        part.to_parquet(folder / f"{day}.parquet")
    argv = [str(folder), "--no-plot", "--cache-dir", str(tmp_path / "cache")]
    assert rb.main([*argv, "--out", str(tmp_path / "a")]) == 0
    first = capsys.readouterr().out
    assert f"Read {len(list(folder.iterdir()))} files" in first and "bar cache" not in first
    assert rb.main([*argv, "--out", str(tmp_path / "b")]) == 0
    second = capsys.readouterr().out
    assert "Bars loaded from the bar cache" in second
    one = load(RunConfig(data=ticks))  # the same ticks in memory: the same bars
    cached = pd.read_csv(tmp_path / "b" / "equity.csv")
    assert len(cached) == len(one.bars)
    a, b = (json.loads((tmp_path / d / "metrics.json").read_text())["metrics"] for d in ("a", "b"))
    assert a == b
    # --no-cache rebuilds; a file that changed is a miss
    assert rb.main([*argv, "--no-cache", "--out", str(tmp_path / "c")]) == 0
    assert "bar cache" not in capsys.readouterr().out
    first_file = sorted(folder.iterdir())[0]
    pd.read_parquet(first_file).iloc[:-1].to_parquet(first_file)
    assert rb.main([*argv, "--out", str(tmp_path / "d")]) == 0
    assert "bar cache" not in capsys.readouterr().out


def test_profile_of_the_run_holds_all_its_volume(tmp_path):
    from reports.output import run_profile

    config = RunConfig(start=pd.Timestamp("2024-04-16 13:00", tz="UTC"), end=pd.Timestamp("2024-04-16 23:00", tz="UTC"),
                       keep_ticks=True, session=(dt.time(17, 0), "America/Chicago"))
    result = run(config)
    profile = run_profile(result)
    assert profile["volume"].sum() == pytest.approx(result.ticks["size"].sum())
    assert profile.attrs["val"] <= profile.attrs["poc"] <= profile.attrs["vah"]
    assert profile.attrs["sessions"] == 2  # the run crosses the 17:00 Chicago open
    code = rb.main(["--start", "2024-04-16 08:00", "--end", "2024-04-16 12:00", "--tz", "America/Chicago", "--profile",
                    "--out", str(tmp_path)])
    assert code == 0 and (tmp_path / "report.png").stat().st_size > 50_000


def test_cvd_resets_are_where_the_session_cvd_restarts():
    """The reset marks of a session-reset CVD are the bars where the indicator restarts its sum:
    there (and on the first bar) cvd equals the bar's delta; elsewhere it is the previous cvd plus delta."""
    result = run(RunConfig(data=need_sample(), strategy="cvd_trend", params={"reset": "session"}, bars="5min"))
    cvd, delta = result.cvd, np.nan_to_num(result.bars["delta"].to_numpy(np.float64))
    resets = result.cvd_resets
    assert len(resets) >= 3  # the bundled sample spans several CME sessions
    restart = np.zeros(len(cvd), dtype=bool)
    restart[resets] = True
    restart[0] = True
    np.testing.assert_allclose(cvd[restart], delta[restart])
    np.testing.assert_allclose(cvd[1:][~restart[1:]], (cvd[:-1] + delta[1:])[~restart[1:]])
    local = result.bars.index.tz_convert("America/Chicago")
    opened = local[resets]  # the first bar of a session: after 17:00, its previous bar at or before 17:00
    before = local[resets - 1]
    assert all((o - pd.Timedelta(hours=17, microseconds=1)).date() > (b - pd.Timedelta(hours=17, microseconds=1)).date()
               for o, b in zip(opened, before))


# --- trading days: the session calendar, whatever zone times are shown in ---------------------------------

DAY_METRICS = ("sharpe", "sortino", "days", "trades", "final_value")


def test_display_zone_changes_no_metric_of_any_strategy(tmp_path):
    # the sample's five CME sessions (Sunday 17:00 to Friday 16:00 Chicago): 5 trading days for every strategy,
    # its own (no session parameters) included, and the same Sharpe whether times are shown in UTC, Chicago or Tokyo
    sample = need_sample()
    names = ["cvd_trend", "stacked_imbalance", "ofi_momentum", "delta_divergence"]
    seen: dict[str, dict[str, dict]] = {}
    for tz in ("UTC", "America/Chicago", "Asia/Tokyo"):
        out = tmp_path / tz.replace("/", "-")
        common = ["--tz", tz, "--no-plot", "--quiet", "--cache-dir", str(tmp_path / "cache")]
        assert rb.main([str(sample), "--compare", ",".join(names), *common, "--out", str(out)]) == 0
        assert rb.main([str(sample), "--strategy", "tests.test_engine:FlipEveryHour", *common,
                        "--out", str(out / "own")]) == 0
        seen[tz] = {name: json.loads((out / name / "metrics.json").read_text())["metrics"] for name in [*names, "own"]}
    for name in [*names, "own"]:
        first = {k: seen["UTC"][name][k] for k in DAY_METRICS}
        assert first["days"] == 5, name
        for tz in ("America/Chicago", "Asia/Tokyo"):
            assert {k: seen[tz][name][k] for k in DAY_METRICS} == first, (name, tz)
    assert seen["UTC"]["stacked_imbalance"]["trades"] == 248 and seen["UTC"]["own"]["trades"] > 100


def in_run_mode(monkeypatch, runonce: bool) -> None:
    """Make the engine's cerebro run in Backtrader's vectorised (``runonce``) or bar-by-bar mode."""
    original = engine.make_cerebro

    def cerebro_in_mode(config, bars):
        cerebro = original(config, bars)
        cerebro.p.runonce = runonce
        return cerebro

    monkeypatch.setattr(engine, "make_cerebro", cerebro_in_mode)


@pytest.mark.parametrize("runonce", [True, False])
def test_engine_metrics_do_not_depend_on_the_display_zone(monkeypatch, runonce):
    in_run_mode(monkeypatch, runonce)
    loaded = load(RunConfig(data=need_sample(), bars="5min"))
    for strategy in ("stacked_imbalance", "ofi_momentum", FlipEveryHour):
        metrics = [run(RunConfig(data=need_sample(), strategy=strategy, bars="5min", tz=tz), loaded).metrics
                   for tz in ("UTC", "America/Chicago", "Asia/Tokyo")]
        assert metrics[0]["days"] == 5
        assert all(m == metrics[0] for m in metrics[1:]), strategy


def test_days_are_cut_by_the_session_calendar_not_the_display_zone():
    # two bars either side of 17:00 Chicago on Monday 15 April 2024 (22:00 UTC): two trading days,
    # Monday and Tuesday, in every display zone; midnight UTC or Tokyo would cut elsewhere
    times = pd.DatetimeIndex(["2024-04-15 21:59", "2024-04-15 22:01", "2024-04-15 23:59", "2024-04-16 00:01"], tz="UTC")
    for tz in ("UTC", "Asia/Tokyo", "America/Chicago"):
        calendar = RunConfig(tz=tz).calendar
        assert calendar.trade_dates(times).strftime("%Y-%m-%d").tolist() == [
            "2024-04-15", "2024-04-16", "2024-04-16", "2024-04-16"], tz
    # a session given: its start and zone, not --tz
    assert RunConfig(tz="Asia/Tokyo", session=(dt.time(0, 0), "UTC")).calendar.trade_dates(times).strftime(
        "%Y-%m-%d").tolist() == ["2024-04-15", "2024-04-15", "2024-04-15", "2024-04-16"]


def test_session_start_alone_keeps_the_session_zone_not_the_display_zone():
    args = rb.build_parser().parse_args([str(SMALL_CSV), "--strategy", "stacked_imbalance", "--tz", "Asia/Tokyo",
                                         "--session-start", "18:00"])
    config, _ = rb.make_config(args)
    assert config.session == (dt.time(18, 0), "America/Chicago")
    config, _ = rb.make_config(rb.build_parser().parse_args([str(SMALL_CSV), "--tz", "Asia/Tokyo",
                                                             "--session-start", "18:00"]))
    assert config.session == (dt.time(18, 0), "America/Chicago")  # cvd_trend's own zone
    assert config.params["session_start"] == "18:00" and config.params["tz"] == "America/Chicago"


# --- money must stay finite ----------------------------------------------------------------------------


@pytest.mark.parametrize("runonce", [True, False])
def test_money_that_overflows_a_float_is_an_error_not_nan_metrics(tmp_path, monkeypatch, runonce):
    # long 10 points of a contract worth 1e308 per point: the profit, 1e309, is no float (inf)
    in_run_mode(monkeypatch, runonce)
    config = RunConfig(data=es_ticks(tmp_path), strategy=BuyFirstSellThird, params={"stake": 1}, bars="1min",
                       instrument=get_instrument("ES").with_overrides(multiplier=1e308))
    with pytest.raises(OrderFlowError, match=r"portfolio value is not finite from 2024-03-01 14:33.*multiplier 1e\+308"):
        run(config)
    # the same contract at 1e300 per point is large but finite: it runs
    result = run(replace(config, instrument=get_instrument("ES").with_overrides(multiplier=1e300)))
    assert result.metrics["final_value"] == pytest.approx(100_000 + 10 * 1e300)


def test_cli_multiplier_that_overflows_is_one_error_line(tmp_path, capsys):
    code = rb.main([str(es_ticks(tmp_path)), "--strategy", "tests.test_engine:BuyFirstSellThird", "--bars", "1min",
                    "--instrument", "ES", "--multiplier", "1e308", "--no-plot", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: the portfolio value is not finite"), err
    assert not (tmp_path / "out" / "metrics.json").exists()


@pytest.mark.parametrize("changes, words", [
    ({"cash": math.inf}, "cash"), ({"cash": math.nan}, "cash"), ({"cash": 0.0}, "cash"),
    ({"commission": math.nan}, "commission"), ({"commission": 1.0}, "commission"),
    ({"commission_per_contract": math.inf}, "commission_per_contract"),
    ({"slippage_ticks": math.nan}, "slippage_ticks"), ({"slippage": ("fixed", math.inf)}, "slippage"),
])
def test_non_finite_money_in_a_config_is_refused(changes, words):
    with pytest.raises(OrderFlowError, match=words):
        RunConfig(data=SMALL_CSV, **changes)


@pytest.mark.parametrize("argv, words", [
    (["--cash", "inf"], "--cash"), (["--cash", "nan"], "--cash"), (["--commission", "nan"], "--commission"),
    (["--instrument", "ES", "--margin", "inf"], "margin"), (["--instrument", "ES", "--multiplier", "nan"], "multiplier"),
    (["--instrument", "ES", "--commission-per-contract", "inf"], "--commission-per-contract"),
])
def test_cli_non_finite_money_is_one_error_line(tmp_path, capsys, argv, words):
    code = rb.main([str(SMALL_CSV), *argv, "--no-plot", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1 and words in err, err


@pytest.mark.parametrize("runonce", [True, False])
def test_cash_that_overflows_when_sized_by_percent_is_an_error(monkeypatch, runonce):
    # 100% of 1e308 in units of ~100: the value leaves the floats (inf) and so would the next order's size
    in_run_mode(monkeypatch, runonce)
    config = RunConfig(data=SMALL_CSV, bars="1t", params={"slope_period": 2, "pct_equity": 100, "stake": None},
                       cash=1e308)
    with pytest.raises(OrderFlowError, match="not finite"):
        run(config)


# --- orders the broker refused, entries too small to place ---------------------------------------------------


@pytest.mark.parametrize("runonce", [True, False])
def test_orders_refused_for_lack_of_margin_are_counted(tmp_path, monkeypatch, runonce):
    # ES holds 12,650 of margin per contract: with 10,000 of cash the buy of bar 1 is refused (Backtrader's Margin
    # status), so the close of bar 3 has nothing to close: 0 trades, 1 order refused
    in_run_mode(monkeypatch, runonce)
    config = RunConfig(data=es_ticks(tmp_path), strategy=BuyFirstSellThird, params={"stake": 1}, bars="1min",
                       instrument=get_instrument("ES"), cash=10_000.0)
    result = run(config)
    assert result.metrics["trades"] == 0 and result.metrics["final_value"] == 10_000.0
    assert (result.metrics["orders_rejected"], result.metrics["orders_margin"]) == (1, 1)
    enough = run(replace(config, cash=12_650.0))  # exactly the margin: the order is taken
    assert (enough.metrics["trades"], enough.metrics["orders_rejected"], enough.metrics["orders_margin"]) == (1, 0, 0)
    # orders of warm-up bars are refused by design and not counted: the buy of bar 1 is one of them
    warm = run(replace(config, warmup_bars=2))
    assert warm.metrics["orders_rejected"] == 0


def test_cli_says_plainly_that_every_order_was_refused(tmp_path, capsys):
    code = rb.main([str(es_ticks(tmp_path)), "--strategy", "tests.test_engine:BuyFirstSellThird", "--bars", "1min",
                    "--instrument", "ES", "--margin", "200000", "--no-plot", "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 0
    assert re.search(r"Orders rejected \(margin\)\s+1 \(1\)\n", out)
    assert ("Note: the broker rejected every order (1), 1 for lack of cash or margin (Backtrader's Margin status), "
            "so the run made no trade") in out
    doc = json.loads((tmp_path / "out" / "metrics.json").read_text())["metrics"]
    assert (doc["orders_rejected"], doc["orders_margin"], doc["trades"]) == (1, 1, 0)


class AlwaysLong(OrderFlowStrategy):
    """Enter long on every bar it is flat; never exit."""

    def entry_signal(self) -> int:
        return 1


@pytest.mark.parametrize("runonce", [True, False])
def test_entries_whose_size_rounds_to_zero_are_counted(monkeypatch, runonce):
    # 100% of 1 of cash buys 0 whole units at ~100: each of the 10 one-trade bars signals an entry and skips it;
    # 50% of 1,000 buys floor(500 / 100.00) = 5 units on the first signal and no entry is skipped
    in_run_mode(monkeypatch, runonce)
    config = RunConfig(data=SMALL_CSV, strategy=AlwaysLong, bars="1t", params={"pct_equity": 100}, cash=1.0)
    poor = run(config)
    assert (poor.metrics["entries_skipped"], poor.metrics["trades"], poor.metrics["open_trades_at_end"]) == (10, 0, 0)
    rich = run(replace(config, cash=1000.0, params={"pct_equity": 50}))
    assert rich.metrics["entries_skipped"] == 0 and rich.trades["size"].tolist() == [5]
    assert run(replace(config, strategy=BuyFirstSellThird, params={})).metrics["entries_skipped"] is None


def test_cli_says_plainly_that_entries_were_too_small(tmp_path, capsys):
    code = rb.main([str(SMALL_CSV), "--bars", "1t", "--param", "slope_period=2", "--cash", "1", "--no-plot",
                    "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    skipped = json.loads((tmp_path / "metrics.json").read_text())["metrics"]["entries_skipped"]
    assert skipped > 0
    assert (f"Note: {skipped} entry signals were skipped: their size rounded down to 0 units "
            "(100% of the equity buys less than one unit)") in out
