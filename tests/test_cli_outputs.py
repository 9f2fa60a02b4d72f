"""What the command line prints and leaves in --out: the strategy list, counts in words, the files a run owns."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import strategies
from tests.test_run_backtest import SMALL_CSV, BuyThenSell, run_cli


@pytest.fixture
def stand_in(monkeypatch):
    monkeypatch.setitem(strategies.STRATEGIES, "buy_then_sell", BuyThenSell)
    return "buy_then_sell"


def test_list_strategies_shows_the_sizing_a_run_uses():
    code, out, err = run_cli(["--list-strategies"])
    assert code == 0 and err == ""
    blocks = dict(line.split(": ", 1) for line in out.splitlines() if line and not line.startswith((" ", "Without")))
    assert set(blocks) >= {"cvd_trend", "delta_divergence", "stacked_imbalance", "ofi_momentum"}
    params = out.split("cvd_trend:", 1)[1].splitlines()[1]
    assert "stake=1, pct_equity=100.0," in params  # what `Strategy cvd_trend(stake=1, pct_equity=100.0, ...)` runs
    assert "pct_equity=None" not in out.split("Without --size")[0]
    assert "Without --size: pct_equity=100.0 (100% of equity); with --instrument: stake=1, pct_equity=None" in out


# --- --out holds one run: the files a run owns are cleared before it writes; any other file stays -------------

RUN_LEFTOVERS = ["report.png", "bt_plot.png", "report.html", "footprint.png", "footprint.html",
                 "footprints/trade_001.png", "footprints/trade_012.png"]
NOT_OWNED = ["notes.txt", "footprints/mine.txt", "sweep.csv", "walk_forward.csv", "compare.csv", "report.png.bak",
             "keep/metrics.json"]


def leave(out: Path, names: list[str]) -> None:
    for name in names:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text("from an earlier run")


def files(out: Path) -> set[str]:
    return {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}


def test_a_run_clears_the_files_of_an_earlier_run_and_no_other(tmp_path, stand_in):
    out = tmp_path / "out"
    leave(out, RUN_LEFTOVERS + NOT_OWNED + ["metrics.json", "trades.csv"])
    code, text, err = run_cli([str(SMALL_CSV), "--strategy", stand_in, "--out", str(out), "--no-plot"])
    assert code == 0, err
    assert files(out) == {"metrics.json", "trades.csv", "equity.csv", *NOT_OWNED}
    assert json.loads((out / "metrics.json").read_text())["strategy"] == stand_in
    assert (f"Removed 7 files of an earlier run from {out} that this run does not write: bt_plot.png, footprint.html, "
            "footprint.png, footprints/trade_001.png, footprints/trade_012.png, report.html, report.png") in text


def test_a_run_removes_an_emptied_footprints_folder(tmp_path, stand_in):
    out = tmp_path / "out"
    leave(out, ["footprints/trade_001.png"])
    code, text, err = run_cli([str(SMALL_CSV), "--strategy", stand_in, "--out", str(out), "--no-plot"])
    assert code == 0, err
    assert not (out / "footprints").exists()
    assert "Removed 1 file of an earlier run from" in text


def test_a_failed_run_leaves_the_earlier_outputs(tmp_path, stand_in):
    out = tmp_path / "out"
    leave(out, ["metrics.json", "report.png"])
    code, text, err = run_cli([str(SMALL_CSV), "--strategy", stand_in, "--out", str(out), "--no-plot",
                               "--start", "2030-01-01"])
    assert code == 2 and "no bars" in err
    assert files(out) == {"metrics.json", "report.png"}


def test_an_input_in_out_is_never_cleared_nor_overwritten(tmp_path, stand_in):
    out = tmp_path / "out"
    out.mkdir()
    data = out / "trades.csv"
    data.write_bytes(SMALL_CSV.read_bytes())
    code, text, err = run_cli([str(data), "--strategy", stand_in, "--out", str(out), "--no-plot"])
    assert code == 2 and err.count("\n") == 1, err
    assert f"--out {out}: trades.csv there is an input of this run" in err
    assert data.read_bytes() == SMALL_CSV.read_bytes() and files(out) == {"trades.csv"}


def test_compare_clears_compare_csv_and_each_strategy_folder(tmp_path):
    out = tmp_path / "out"
    leave(out, ["cvd_trend/report.png", "cvd_trend/notes.txt", "metrics.json"])
    code, text, err = run_cli([str(SMALL_CSV), "--compare", "cvd_trend,ofi_momentum", "--param", "slope_period=1",
                               "--param", "period=1", "--out", str(out)])
    assert code == 0, err
    assert files(out) == {"compare.csv", "metrics.json", "cvd_trend/notes.txt",
                          *(f"{n}/{f}" for n in ("cvd_trend", "ofi_momentum")
                            for f in ("metrics.json", "trades.csv", "equity.csv"))}


def test_sweep_and_walk_forward_clear_their_own_files(tmp_path, stand_in):
    out = tmp_path / "out"
    sweep_files = ["sweep.html", "pbo_logits.png", "heatmap.png", "sets/0007.parquet"]
    walk_files = ["walk_forward.html", "walk_forward.png", "oos_trades.csv"]
    leave(out, sweep_files + walk_files + ["metrics.json"])
    code, text, err = run_cli([str(SMALL_CSV), "--strategy", stand_in, "--sweep", "sell_at=1,2", "--jobs", "1",
                               "--out", str(out)])
    assert code == 0, err
    left = files(out)
    assert {"sweep.html", "pbo_logits.png", "sets/0007.parquet"}.isdisjoint(left)  # 1 day: no PBO, no --html
    assert {"metrics.json", *walk_files} <= left and "heatmap.png" in left
    code, text, err = run_cli([str(SMALL_CSV), "--strategy", stand_in, "--sweep", "sell_at=1,2", "--jobs", "1",
                               "--walk-forward", "train=1b,test=1b", "--rank-by", "total_return_pct", "--out", str(out)])
    assert code == 0, err
    left = files(out)
    assert "walk_forward.html" not in left and {"walk_forward.png", "oos_trades.csv", "sweep.csv"} <= left


# --- counts in words: "1 trading day", "2 trading days" ------------------------------------------------------


def test_plural_and_durations():
    from reports.metrics import duration_text, plural

    assert [plural(n, "trading day") for n in (0, 1, 2, 1234)] == [
        "0 trading days", "1 trading day", "2 trading days", "1,234 trading days"]
    assert plural(1, "day file") == "1 day file" and plural(3, "match", "matches") == "3 matches"
    assert [duration_text(t) for t in ("1 days 03:15:00", "0 days 00:00:00", "2 days 00:01:00", "11 days 01:00:00")] \
        == ["1 day 03:15:00", "0 days 00:00:00", "2 days 00:01:00", "11 days 01:00:00"]


def test_one_day_and_one_bar_are_singular(tmp_path, stand_in):
    # bars 09:31, 09:32, 09:33 (one day); long 2 units at the 09:32 open (100.00), closed at the 09:33 open (100.25),
    # and the 09:32 close is 100.50: equity peaks at 09:32 and is below it for one bar, 09:33
    code, text, err = run_cli([str(SMALL_CSV), "--strategy", stand_in, "--out", str(tmp_path), "--no-plot"])
    assert code == 0, err
    assert "Built 3 bars of 1min from 10 ticks" in text and "; 1 trading day (days start at 17:00 America/Chicago)" in text
    assert "1 bar, 0 days 00:01:00" in text and "1 trading days" not in text
    code, text, err = run_cli([str(SMALL_CSV), "--strategy", stand_in, "--sweep", "sell_at=1,2", "--jobs", "1",
                               "--out", str(tmp_path / "sweep")])
    assert code == 0, err
    assert "Sweep of buy_then_sell: 2 sets over sell_at (2), 1 trading day; ranked by sharpe." in text


# --- bt_plot.png shows times in --tz ---------------------------------------------------------------------------


def bottom_dates(fig) -> list[str]:
    fig.canvas.draw()
    bottom = min(ax.get_position().y0 for ax in fig.axes)
    ax = next(a for a in fig.axes if abs(a.get_position().y0 - bottom) < 1e-9)
    return [t.get_text() for t in ax.get_xticklabels() if t.get_visible() and t.get_text()]


def test_backtrader_figure_writes_dates_in_the_zone():
    import matplotlib.pyplot as plt

    from reports.plots import backtrader_figure
    from research import RunConfig, run

    result = run(RunConfig(data=SMALL_CSV, strategy="cvd_trend", params={"slope_period": 1}, observers=True))
    labels = {}
    for tz in (None, "America/Chicago"):  # Backtrader draws into figure 0 each time: read one before the next
        fig = backtrader_figure(result.cerebro, tz=tz)
        try:
            dates = bottom_dates(fig)
            labels[tz] = (dates[0], dates[-1], fig.axes[-1].format_xdata(1.0))
        finally:
            plt.close(fig)
    # bars at 09:31, 09:32, 09:33 UTC; on 2024-03-01 Chicago is on CST, UTC-6
    assert labels[None] == ("2024-03-01 09:31", "2024-03-01 09:33", "2024-03-01 09:32")
    assert labels["America/Chicago"] == ("2024-03-01 03:31", "2024-03-01 03:33", "2024-03-01 03:32")


def test_bt_plot_follows_tz(tmp_path):
    pngs = []
    for tz in ("UTC", "America/Chicago"):
        code, text, err = run_cli([str(SMALL_CSV), "--param", "slope_period=1", "--tz", tz, "--no-plot", "--bt-plot",
                                   "--out", str(tmp_path / tz.replace("/", "_"))])
        assert code == 0, err
        pngs.append((tmp_path / tz.replace("/", "_") / "bt_plot.png").read_bytes())
    assert pngs[0][:8] == pngs[1][:8] == b"\x89PNG\r\n\x1a\n"
    assert pngs[0] != pngs[1]  # the same bars and trades; only the dates on the axis differ


# --- sweep tables: one number format per column ----------------------------------------------------------------


def test_sweep_table_columns_keep_one_format():
    """A count stays a whole number and money keeps two decimals, whatever type a row's value came in as (a float
    count after a NaN in the column, as sweep.csv reads back; a whole amount of money as a Python int)."""
    from types import SimpleNamespace

    import pandas as pd

    from reports.sweep import ranking_table

    table = pd.DataFrame({"label": ["a=1", "a=2", "a=3"], "sharpe": [1.25, 0.5, None],
                          "total_return_pct": [0.07, 1.5, -0.25], "max_drawdown_pct": [0.5, 0.25, 1.0],
                          "trades": [44.0, 1234.0, float("nan")], "win_rate_pct": [25.0, 50.0, None],
                          "profit_factor": [1.03, float("inf"), None], "net_pnl": pd.Series([32, 1250.5, -64], dtype=object),
                          "days": [30, 30, 30], "max_drawdown_bars": [778.0, 1097.0, 12.0]})
    rows = [line.split() for line in ranking_table(SimpleNamespace(table=table, rank_by="max_drawdown_bars")).splitlines()]
    assert rows[0][:4] == ["set", "parameters", "max_drawdown_bars", "*"]
    assert rows[1] == ["2", "a=3", "12", "-0.25", "n/a", "1.00", "n/a", "n/a", "n/a", "-64.00"]
    assert rows[2] == ["0", "a=1", "778", "0.07", "1.25", "0.50", "44", "25.00", "1.03", "32.00"]
    assert rows[3] == ["1", "a=2", "1,097", "1.50", "0.50", "0.25", "1,234", "50.00", "inf", "1,250.50"]
