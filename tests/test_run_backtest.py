"""run_backtest.py: the command line end to end, its outputs against each other and against
Backtrader's own analyzers, hand-checked trades on the small fixture, and bad input."""
from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import zoneinfo
from pathlib import Path

import backtrader as bt
import numpy as np
import pandas as pd
import pytest

import run_backtest as rb
import strategies
from research import config as rc
from research import load, run
from research import metrics as perf
from research.engine import make_cerebro
from tests.conftest import FIXTURES, need_sample

SMALL_CSV = FIXTURES / "ticks_small.csv"
PNG = b"\x89PNG\r\n\x1a\n"


class BuyThenSell(bt.Strategy):
    """Test stand-in: enter ``stake`` units on bar ``buy_at`` and close on bar ``sell_at`` (0-based; None: never)."""

    params = (("stake", 2), ("pct_equity", None), ("buy_at", 0), ("sell_at", 1), ("short", False),
              ("ratio", 0.5), ("label", None))

    def next(self) -> None:
        i = len(self) - 1
        if i == self.p.buy_at:
            (self.sell if self.p.short else self.buy)(size=self.p.stake)
        if self.p.sell_at is not None and i == self.p.sell_at:
            self.close()


@pytest.fixture
def stand_in(monkeypatch):
    monkeypatch.setitem(strategies.STRATEGIES, "buy_then_sell", BuyThenSell)
    return "buy_then_sell"


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = rb.main(argv)
    return code, out.getvalue(), err.getvalue()


# --- hand-checked trades on the 10-tick fixture ---------------------------------------------------
# 1min bars of ticks_small.csv: 09:31 O 100.00 C 99.75 | 09:32 O 100.00 H 100.50 C 100.50
#                               09:33 O 100.25 L 100.00 C 100.25
# An order placed on bar k fills at the open of bar k + 1.


def small_run(tmp_path: Path, *extra: str) -> tuple[int, pd.DataFrame, pd.DataFrame, dict, str]:
    code, out, err = run_cli([str(SMALL_CSV), "--strategy", "buy_then_sell", "--out", str(tmp_path), "--no-plot",
                              *extra])
    assert code == 0, err
    trades = pd.read_csv(tmp_path / "trades.csv")
    equity = pd.read_csv(tmp_path / "equity.csv")
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    return code, trades, equity, metrics, out


def test_long_trade_by_hand_with_commission(tmp_path, stand_in):
    _, trades, equity, doc, out = small_run(tmp_path, "--commission", "0.001")
    assert len(trades) == 1
    t = trades.iloc[0]
    assert (t.direction, t["size"], t.entry_price, t.exit_price) == ("long", 2, 100.0, 100.25)
    assert t.entry_time == "2024-03-01 09:32:00+00:00" and t.exit_time == "2024-03-01 09:33:00+00:00"
    assert t.bars_held == 1 and bool(t.closed)
    assert t.pnl == pytest.approx(2 * 0.25)
    assert t.commission == pytest.approx(0.001 * (200.0 + 200.5))
    assert t.pnl_net == pytest.approx(0.5 - 0.4005)
    # equity: flat; after the fill: cash 100000 - 200 - 0.2 plus 2 x close 100.50; then sold
    np.testing.assert_allclose(equity["value"], [100_000.0, 100_000.8, 100_000.0995])
    assert equity["position"].tolist() == [0, 2, 0]
    assert equity["drawdown"].iloc[2] == pytest.approx(100 * (1 - 100_000.0995 / 100_000.8))
    m = doc["metrics"]
    assert m["trades"] == 1 and m["win_rate_pct"] == 100.0 and m["profit_factor"] == "inf"
    assert m["final_value"] == pytest.approx(100_000.0995)
    assert m["time_in_market_pct"] == pytest.approx(100 / 3)
    assert m["buy_hold_return_pct"] == pytest.approx(100 * (100.25 / 100.0 - 1))
    assert not (tmp_path / "report.png").exists()  # --no-plot
    assert "Loaded 10 of 10 rows" in out and "Built 3 bars of 1min" in out


def test_fixed_slippage_moves_both_fills_against_the_trade(tmp_path, stand_in):
    # buy at 100.00 + 0.25 (within the 09:32 high 100.50); sell at 100.25 - 0.25 (the 09:33 low is 100.00)
    _, trades, _, doc, _ = small_run(tmp_path, "--slippage", "0.25")
    t = trades.iloc[0]
    assert (t.entry_price, t.exit_price) == (100.25, 100.0)
    assert t.pnl == pytest.approx(-0.5) and doc["metrics"]["final_value"] == pytest.approx(99_999.5)


def test_short_trade(tmp_path, stand_in):
    _, trades, _, doc, _ = small_run(tmp_path, "--param", "short=true")
    t = trades.iloc[0]
    assert (t.direction, t["size"], t.entry_price, t.exit_price) == ("short", 2, 100.0, 100.25)
    assert t.pnl == pytest.approx(-0.5) and t.pnl_net == pytest.approx(-0.5)
    assert doc["metrics"]["win_rate_pct"] == 0.0 and doc["metrics"]["profit_factor"] == 0.0


def test_open_trade_is_marked_to_market(tmp_path, stand_in):
    _, trades, equity, doc, _ = small_run(tmp_path, "--param", "sell_at=999", "--commission", "0.001")
    t = trades.iloc[0]
    assert not bool(t.closed)
    assert t.exit_price == 100.25 and t.exit_time == "2024-03-01 09:33:00+00:00"
    assert t.pnl == pytest.approx(0.5) and t.pnl_net == pytest.approx(0.5 - 0.2)
    m = doc["metrics"]
    assert m["trades"] == 0 and m["open_trades_at_end"] == 1
    assert m["final_value"] - 100_000 == pytest.approx(t.pnl_net)
    assert equity["value"].iloc[-1] == pytest.approx(100_000.3)


def test_size_percent_and_tz_in_outputs(tmp_path, stand_in):
    _, trades, equity, doc, _ = small_run(tmp_path, "--size", "50%", "--tz", "America/New_York")
    assert doc["params"]["pct_equity"] == 50.0
    assert equity["time"].iloc[0] == "2024-03-01 04:31:00-05:00"
    assert trades.iloc[0].entry_time == "2024-03-01 04:32:00-05:00"


def test_drop_bad_rows_counts_them(tmp_path, stand_in):
    lines = SMALL_CSV.read_text().splitlines()
    lines[3] = lines[3].replace("100.00", "oops")  # third data row
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    code, out, err = run_cli([str(bad), "--strategy", "buy_then_sell", "--out", str(tmp_path / "o"), "--no-plot"])
    assert code == 2 and err.startswith("error:") and err.count("\n") == 1
    code, out, err = run_cli([str(bad), "--strategy", "buy_then_sell", "--out", str(tmp_path / "o"), "--no-plot",
                              "--drop-bad-rows"])
    assert code == 0, err
    assert "Loaded 9 of 10 rows" in out and "Rejected 1" in out
    assert json.loads((tmp_path / "o" / "metrics.json").read_text())["load_report"]["rows_kept"] == 9


def test_a_folder_source_notes_what_it_skips_and_a_missing_symbol_is_an_error(tmp_path, stand_in):
    folder = tmp_path / "ticks"
    folder.mkdir()
    (folder / "es.csv").write_text(SMALL_CSV.read_text())
    (folder / "_draft.csv").write_text(SMALL_CSV.read_text())
    code, out, err = run_cli([str(folder), "--strategy", "buy_then_sell", "--out", str(tmp_path / "o"), "--no-plot"])
    assert code == 0, err
    note = (f"Note: skipped in {folder}: 1 file whose name starts with '_' (_draft.csv): a folder source reads "
            "the files directly in it, except hidden ones and those whose names start with '_'.")
    assert "Loaded 10 of 10 rows" in out and note in out
    lines = SMALL_CSV.read_text().splitlines()
    tagged = [lines[0] + ",symbol"] + [line + ",ESH4" for line in lines[1:]]
    (folder / "es.csv").write_text("\n".join(tagged) + "\n")
    code, out, err = run_cli([str(folder), "--strategy", "buy_then_sell", "--symbol", "NQH4", "--out",
                              str(tmp_path / "o"), "--no-plot", "--no-cache"])
    assert code == 2 and err == (f"error: {folder}: no ticks of symbol 'NQH4': it holds ESH4 (10 rows); pick one of "
                                 "those with symbol= / --symbol\n")


# --- end to end on the bundled sample ------------------------------------------------------------------

SAMPLE_ARGS = ["--start", "2024-04-16", "--end", "2024-04-17 12:00", "--tz", "America/Chicago",
               "--session-start", "17:00", "--size", "10%", "--commission", "0.0001", "--slippage", "0.25",
               "--param", "reset=session"]


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    need_sample()
    out_dir = tmp_path_factory.mktemp("sample_run")
    code, out, err = run_cli([*SAMPLE_ARGS, "--out", str(out_dir)])  # no DATA: the bundled sample, cvd_trend
    assert code == 0, err
    return {
        "out": out,
        "dir": out_dir,
        "doc": json.loads((out_dir / "metrics.json").read_text()),
        "trades": pd.read_csv(out_dir / "trades.csv"),
        "equity": pd.read_csv(out_dir / "equity.csv"),
    }


def test_sample_writes_every_output(sample_run):
    d = sample_run["dir"]
    png = (d / "report.png").read_bytes()
    assert png[:8] == PNG and len(png) > 50_000
    doc = sample_run["doc"]
    assert Path(doc["data"]) == rc.DEFAULT_DATA
    assert (doc["strategy"], doc["bars"]) == ("cvd_trend", "1min")
    assert doc["params"]["session_start"] == "17:00" and doc["params"]["tz"] == "America/Chicago"
    assert list(sample_run["trades"].columns[:10]) == ["entry_time", "exit_time", "direction", "size", "entry_price",
                                                      "exit_price", "points", "pnl", "pnl_net", "commission"]
    assert list(sample_run["equity"].columns) == ["time", "value", "drawdown", "position"]
    assert len(sample_run["equity"]) == doc["bar_count"]


def test_sample_prints_load_report_and_metrics(sample_run):
    out = sample_run["out"]
    for text in ("Loaded 408,706 of 408,706 rows", "ticks in range", "bars of 1min", "Sharpe (daily, x sqrt 252)",
                 "Sortino", "Max drawdown", "Longest drawdown", "Win rate", "Profit factor", "Time in market",
                 "Buy and hold return", "report.png"):
        assert text in out, text
    table = out.split("Metrics")[1].split("Wrote")[0]
    assert len([line for line in table.splitlines() if line.startswith("  ")]) == 19  # 17 figures, orders rejected, entries skipped
    assert "n/a" not in table and "None" not in table and "nan" not in table.lower()


def test_sample_metrics_agree_with_trades_and_equity(sample_run):
    m = sample_run["doc"]["metrics"]
    trades, equity = sample_run["trades"], sample_run["equity"]
    closed = trades[trades["closed"]]
    assert m["trades"] == len(closed) > 5
    assert m["win_rate_pct"] == pytest.approx(100 * (closed["pnl_net"] > 0).mean())
    assert m["net_pnl"] == pytest.approx(closed["pnl_net"].sum(), abs=1e-6)
    assert m["avg_trade"] == pytest.approx(closed["pnl_net"].mean(), abs=1e-6)
    wins, losses = closed.loc[closed.pnl_net > 0, "pnl_net"].sum(), closed.loc[closed.pnl_net < 0, "pnl_net"].sum()
    assert m["profit_factor"] == pytest.approx(wins / -losses)
    # every trade, open ones marked to market, adds up to the final value minus the cash
    assert trades["pnl_net"].sum() == pytest.approx(m["final_value"] - 100_000.0, abs=1e-3)
    assert equity["value"].iloc[-1] == pytest.approx(m["final_value"])
    assert m["total_return_pct"] == pytest.approx(100 * (m["final_value"] / 100_000 - 1))
    assert m["max_drawdown_pct"] == pytest.approx(equity["drawdown"].max())
    assert m["time_in_market_pct"] == pytest.approx(100 * (equity["position"] != 0).mean())
    # trade rows: pnl from the prices, net of the commission (0.0001 of value per fill)
    sign = np.where(trades["direction"] == "long", 1.0, -1.0)
    np.testing.assert_allclose(trades["pnl"], sign * trades["size"] * (trades["exit_price"] - trades["entry_price"]),
                               atol=1e-6)
    np.testing.assert_allclose(trades["points"], sign * (trades["exit_price"] - trades["entry_price"]), atol=1e-9)
    np.testing.assert_allclose(trades["pnl_net"], trades["pnl"] - trades["commission"], atol=1e-6)
    fills = closed["size"] * (closed["entry_price"] + closed["exit_price"]) * 1e-4
    np.testing.assert_allclose(closed["commission"], fills, rtol=1e-9)
    assert (trades["bars_held"] >= 0).all()
    assert (pd.to_datetime(trades["exit_time"]) >= pd.to_datetime(trades["entry_time"])).all()


class CmeDayReturn(bt.analyzers.TimeReturn):
    """TimeReturn with days cut at 17:00 Chicago: a bar after 17:00 counts for the next trade date."""

    def _get_dt_cmpkey(self, when):
        if when == dt.datetime.min:
            return super()._get_dt_cmpkey(when)
        local = when.replace(tzinfo=dt.timezone.utc).astimezone(zoneinfo.ZoneInfo("America/Chicago"))
        day = local.date() + dt.timedelta(days=1 if local.time() > dt.time(17, 0) else 0)
        return super()._get_dt_cmpkey(dt.datetime.combine(day, dt.time(0, 0)))


def test_sample_metrics_agree_with_backtrader_analyzers(sample_run):
    config, _ = rb.make_config(rb.build_parser().parse_args([*SAMPLE_ARGS, "--out", str(sample_run["dir"])]))
    result = run(config)
    m, a = result.metrics, result.analyzers
    assert a["trades"]["total"]["closed"] == m["trades"]
    assert a["trades"]["won"]["total"] == m["wins"]
    assert a["trades"]["pnl"]["net"]["total"] == pytest.approx(m["net_pnl"])
    assert a["drawdown"]["max"]["drawdown"] == pytest.approx(m["max_drawdown_pct"])
    assert a["drawdown"]["max"]["len"] == m["max_drawdown_bars"]
    assert m["fills"] == sum(len(v) for v in a["transactions"].values())
    # Backtrader's TimeReturn (days cut at 17:00 Chicago by its own date arithmetic) against the
    # engine's daily returns (cut by the indicators' SessionCalendar): the same days, the same returns
    cerebro = make_cerebro(config, result.bars)
    cerebro.addanalyzer(CmeDayReturn, _name="daily", timeframe=bt.TimeFrame.Days)
    theirs = cerebro.run()[0].analyzers.daily.get_analysis()
    assert [d.date() for d in theirs] == [d.date() for d in result.daily.index]
    np.testing.assert_allclose(list(theirs.values()), result.daily.to_numpy(), rtol=1e-12)
    assert m["sharpe"] == pytest.approx(perf.sharpe_ratio(result.daily))
    assert m == sample_run["doc"]["metrics"] | {"profit_factor": m["profit_factor"]}  # same run, same figures


def test_bt_plot_saved_without_display(tmp_path, monkeypatch):
    need_sample()
    monkeypatch.delenv("DISPLAY", raising=False)
    code, out, err = run_cli(["--start", "2024-04-16 08:30", "--end", "2024-04-16 10:30", "--tz", "America/Chicago",
                              "--no-plot", "--bt-plot", "--out", str(tmp_path)])
    assert code == 0, err
    png = (tmp_path / "bt_plot.png").read_bytes()
    assert png[:8] == PNG and len(png) > 50_000
    assert not (tmp_path / "report.png").exists()
    import matplotlib

    assert matplotlib.get_backend().lower() == "agg"


# --- options ---------------------------------------------------------------------------------------------


def test_list_strategies():
    code, out, err = run_cli(["--list-strategies"])
    assert code == 0 and err == ""
    assert "cvd_trend:" in out and "delta_divergence:" in out and "slope_period=10" in out


def test_help_documents_the_options():
    code, out, _ = run_cli(["--help"])
    assert code == 0
    for option in ("--strategy", "--bars", "--cash", "--commission", "--slippage", "set_slippage_fixed", "--size",
                   "--param", "--start", "--end", "--tz", "--session-start", "--out", "--no-plot", "--bt-plot",
                   "--list-strategies", "--format", "--drop-bad-rows"):
        assert option in out, option


@pytest.mark.parametrize("text, default, expected", [
    ("5", 10, 5), ("5.0", 10, 5), ("0.5", 1.0, 0.5), ("3", 1.0, 3.0), ("true", False, True), ("Off", True, False),
    ("none", None, None), ("7", None, 7), ("2.5", None, 2.5), ("yes", None, "yes"),
    ("false", None, False), ("session", "never", "session"),
])
def test_parse_value_takes_the_default_type(text, default, expected):
    value = rc.parse_value(text, default)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize("text, default", [("abc", 1), ("2.5", 1), ("maybe", True), ("x", 1.0), ("none", 3),
                                           ("null", "x"), ("none", 0.5), ("nan", 1.0), ("inf", 1.0), ("-inf", 2),
                                           ("nan", None)])
def test_parse_value_rejects(text, default):
    with pytest.raises(ValueError):
        rc.parse_value(text, default)


def test_parse_params_types_and_suggestion():
    params = rc.parse_params(["stake=3", "ratio=0.25", "short=yes", "label=abc", "buy-at=4"], BuyThenSell, "t")
    assert params == {"stake": 3, "ratio": 0.25, "short": True, "label": "abc", "buy_at": 4}
    with pytest.raises(rb.OrderFlowError, match=r"unknown parameter 'stak'.*did you mean 'stake'\?"):
        rc.parse_params(["stak=3"], BuyThenSell, "t")


def test_parse_size_and_slippage():
    assert rc.parse_size("3", BuyThenSell) == {"stake": 3, "pct_equity": None}
    assert rc.parse_size("12.5%", BuyThenSell) == {"pct_equity": 12.5}
    assert rc.parse_size(None, BuyThenSell) == {"pct_equity": 100.0}  # the default: all in, whole units
    assert rc.parse_slippage("0.25") == ("fixed", 0.25)
    assert rc.parse_slippage("0.01%") == ("perc", pytest.approx(0.0001))


def test_session_options_reach_the_strategy_parameters():
    args = rb.build_parser().parse_args([str(SMALL_CSV), "--session-start", "08:30", "--session-tz", "America/New_York"])
    config, _ = rb.make_config(args)
    assert config.params["session_start"] == "08:30" and config.params["tz"] == "America/New_York"
    assert config.session == (dt.time(8, 30), "America/New_York")
    # no session options: trading days follow the strategy's own session (cvd_trend: 17:00 Chicago)
    config, _ = rb.make_config(rb.build_parser().parse_args([str(SMALL_CSV)]))
    assert config.session == (dt.time(17, 0), "America/Chicago") and "tz" not in config.params
    # a zone alone keeps the strategy's session start
    config, _ = rb.make_config(rb.build_parser().parse_args([str(SMALL_CSV), "--session-tz", "Europe/London"]))
    assert config.session == (dt.time(17, 0), "Europe/London")
    assert config.params == {"tz": "Europe/London", "pct_equity": 100.0}


def test_end_date_covers_its_day_in_tz():
    assert rc.parse_time("2024-04-16", "America/Chicago", "--end", end=True) == pd.Timestamp("2024-04-17 05:00",
                                                                                               tz="UTC")
    assert rc.parse_time("2024-04-16 08:30", "America/Chicago", "--start") == pd.Timestamp("2024-04-16 13:30",
                                                                                             tz="UTC")


# --- bad input: one line on stderr, exit status 2 ----------------------------------------------------------

BAD = [
    (["/no/such/ticks.csv"], "not found"),
    (["--strategy", "cvd_trnd"], "did you mean 'cvd_trend'"),
    (["--param", "slope_perod=5"], "did you mean 'slope_period'"),
    (["--param", "slope_period=abc"], "slope_period"),
    (["--param", "noequals"], "KEY=VALUE"),
    (["--param", "reset=sesion"], "reset must be one of"),  # rejected by the strategy itself
    (["--bars", "5x"], "bad bar spec"),
    (["--bars", "0t"], "bad bar spec"),
    (["--size", "abc"], "--size"),
    (["--size", "0"], "--size"),
    (["--size", "150%"], "--size"),
    (["--slippage", "fast"], "--slippage"),
    (["--commission", "-0.1"], "--commission"),
    (["--start", "2024-03-02", "--end", "2024-03-01"], "not before"),
    (["--start", "someday"], "--start"),
    (["--tz", "Mars/Olympus"], "time zone"),
    (["--session-start", "25:00"], "--session-start"),
    (["--start", "2020-01-01", "--end", "2020-01-02"], "no bars"),
    (["--cash", "lots"], "--cash"),
    (["--no-such-option"], "unrecognized"),
    # none only where the parameter can be off; no nan/inf; slippage below 100%
    (["--param", "slope_period=none"], "slope_period cannot be none"),
    (["--param", "min_slope=nan"], "finite"),
    (["--param", "min_slope=-inf"], "finite"),
    (["--compare", "cvd_trend,ofi_momentum", "--param", "window=none"], "window cannot be none"),
    (["--slippage", "100%"], "below 100%"),
    (["--slippage", "250%"], "below 100%"),
    (["--compare", ""], "bad --compare"),
    (["--compare", "cvd_trend,,ofi_momentum"], "bad --compare"),
    (["--compare", "cvd_trend,CVD_TREND"], "named twice"),
    (["--size", "0.5"], "whole units only"),
    (["--footprint", "2030-01-01", "2030-01-02"], "--footprint: no bars"),
    (["--html-footprint", "2030-01-01", "2030-01-02"], "--html-footprint: no bars"),
    (["--html-footprint", "2024-03-02", "2024-03-01"], "not before"),
    (["--imbalance", "bookmap"], "invalid choice"),
]


@pytest.mark.parametrize("argv, words", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_exits_2_with_one_line(tmp_path, argv, words):
    data = [] if argv[0].startswith("/") else [str(SMALL_CSV)]
    code, out, err = run_cli([*data, *argv, "--out", str(tmp_path), "--no-plot"])
    assert code == 2
    assert err.startswith("error: ") and err.endswith("\n") and err.count("\n") == 1, err
    assert words in err
    assert "Traceback" not in err + out
    assert not (tmp_path / "metrics.json").exists()


@pytest.mark.parametrize("kind", ["file", "under-a-file", "devnull"])
def test_unusable_out_is_refused_before_loading(tmp_path, kind):
    afile = tmp_path / "taken"
    afile.write_text("x")
    out = {"file": afile, "under-a-file": afile / "results", "devnull": Path("/dev/null")}[kind]
    # the data file does not parse: a refusal that came after loading would name it instead
    bad = tmp_path / "bad.csv"
    bad.write_text("Timestamp,Price,Volume\nnot-a-time,1,1\n")
    code, out_text, err = run_cli([str(bad), "--out", str(out), "--no-plot"])
    assert code == 2 and err.startswith("error: --out ") and err.count("\n") == 1, err


def test_end_far_in_the_future_means_no_end(tmp_path):
    code, out, err = run_cli([str(SMALL_CSV), "--end", "9999-12-31", "--bars", "1t", "--out", str(tmp_path),
                              "--no-plot", "--param", "slope_period=2"])
    assert code == 0, err
    assert "10 ticks" in out


def test_fractional_size_needs_fractional(tmp_path):
    code, out, err = run_cli([str(SMALL_CSV), "--size", "0.5", "--param", "fractional=true", "--bars", "1t",
                              "--param", "slope_period=2", "--out", str(tmp_path), "--no-plot"])
    assert code == 0, err
    assert json.loads((tmp_path / "metrics.json").read_text())["params"]["stake"] == 0.5


def test_footprint_over_too_many_bars_says_it_is_cut(tmp_path):
    code, out, err = run_cli([str(need_sample()), "--start", "2024-04-16 08:00", "--end", "2024-04-16 10:00",
                              "--tz", "America/Chicago", "--footprint", "2024-04-16 08:30", "2024-04-16 09:59",
                              "--no-plot", "--out", str(tmp_path)])
    assert code == 0, err
    assert "note: --footprint covers 90 bars; footprint.png draws the first 80" in err
    assert (tmp_path / "footprint.png").exists()


def test_imbalance_preset_reaches_the_bars():
    config, _ = rb.make_config(rb.build_parser().parse_args([str(SMALL_CSV), "--imbalance", "ninjatrader"]))
    assert config.footprint_params == {"imbalance": "ninjatrader"}
    loaded = load(config)
    assert loaded.bars.attrs["imbalance"].startswith("ninjatrader")


def test_html_report_and_footprint_page_are_written(tmp_path):
    code, out, err = run_cli([str(SMALL_CSV), "--bars", "1t", "--param", "slope_period=2", "--no-plot", "--html",
                              "--html-footprint", "2024-03-01 09:30", "2024-03-01 09:33", "--out", str(tmp_path)])
    assert code == 0, err
    for name in ("report.html", "footprint.html"):
        page = (tmp_path / name).read_text()
        assert "Bokeh" in page and "<script src=" not in page  # resources inline: opens offline
        assert name in out


def test_too_few_bars_for_the_indicators_is_bad_input(tmp_path, capsys):
    # 5 one-minute bars, while cvd_trend's slope over 10 bars needs 11
    code = rb.main([str(need_sample()), "--start", "2024-04-15 14:00", "--end", "2024-04-15 14:05",
                    "--no-plot", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == ("error: only 5 bars of data: CvdTrend's indicators need 11 "
                           "(use a longer period, smaller bars or shorter indicator periods)")
