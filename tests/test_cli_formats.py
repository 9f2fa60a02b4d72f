"""run_backtest's data options: --format, --quotes/--quote-lag and --classify.

Trades (no side column) at 8.0, 10.0, 10.5, 11.0, 12.0 s after 14:30 UTC, prices 100.0,
100.5, 101.0, 101.2, 100.0; quotes 99/101 at 9.0 s, 100/102 at 10.5 s, 101/103 at
10.9 s, 102/104 at 12.0 s. The quote rule on the quote strictly before each trade:
  lag 0:      none (0); mid 100 -> +1; mid 100 (10.5 not strictly before) -> +1;
              mid 102 -> -1; mid 102 (12.0 not strictly before) -> -1.
  lag 600 ms: 11.0 s sees only the 9.0 s quote (the 10.5 one counts from 11.1 s):
              mid 100, 101.2 -> +1; 12.0 s sees 101/103 (from 11.5 s) -> -1.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import run_backtest as rb
from research import load

TRADES = (
    "time,price,size\n"
    "2024-03-01T14:30:08Z,100.0,1\n2024-03-01T14:30:10Z,100.5,2\n2024-03-01T14:30:10.5Z,101.0,3\n"
    "2024-03-01T14:30:11Z,101.2,4\n2024-03-01T14:30:12Z,100.0,5\n"
)
QUOTES = (
    "time,bid,ask\n2024-03-01T14:30:09Z,99,101\n2024-03-01T14:30:10.5Z,100,102\n"
    "2024-03-01T14:30:10.9Z,101,103\n2024-03-01T14:30:12Z,102,104\n"
)


@pytest.fixture
def files(tmp_path) -> tuple[Path, Path]:
    trades, quotes = tmp_path / "trades.csv", tmp_path / "quotes.csv"
    trades.write_text(TRADES)
    quotes.write_text(QUOTES)
    return trades, quotes


def loaded(argv: list[str]):
    config, _ = rb.make_config(rb.build_parser().parse_args(argv + ["--bars", "1t"]))
    config.keep_ticks = True
    loaded = load(config)
    return loaded.ticks, loaded.load_report, loaded.bars


@pytest.mark.parametrize("lag, sides", [(None, [0, 1, 1, -1, -1]), ("600ms", [0, 1, 1, 1, -1])])
def test_quotes_then_quote_rule(files, lag, sides):
    trades, quotes = files
    argv = [str(trades), "--quotes", str(quotes), "--classify", "quote"]
    ticks, report, bars = loaded(argv + (["--quote-lag", lag] if lag else []))
    assert ticks["side"].tolist() == sides
    assert bars["delta"].tolist() == [s * v for s, v in zip(sides, [1, 2, 3, 4, 5])]
    assert bars["inferred_volume"].tolist() == [0, 2, 3, 4, 5]
    assert "4 of 5 unknown sides filled by quote" in report["notes"][-1]


def test_bvc_classifies_bars(files):
    ticks, report, bars = loaded([str(files[0]), "--classify", "bvc"])
    assert (ticks["side"] == 0).all()  # ticks untouched, bars split
    np.testing.assert_allclose(bars["buy_volume"] + bars["sell_volume"], bars["volume"])
    assert bars["inferred_volume"].tolist() == bars["volume"].tolist()
    # too few bars for a trailing sigma: every bar splits 50/50 (Phi(0) = 1/2)
    np.testing.assert_allclose(bars["delta"], 0.0)


def test_cli_option_errors(files, capsys):
    trades, quotes = files
    assert rb.main([str(trades), "--classify", "magic"]) == 2
    assert "unknown --classify 'magic'; use one of tick, reverse_tick" in capsys.readouterr().err
    assert rb.main([str(trades), "--quote-lag", "5ms"]) == 2
    assert "--quote-lag needs --quotes FILE" in capsys.readouterr().err
    assert rb.main([str(trades), "--quotes", str(quotes), "--quote-lag=-1s"]) == 2
    assert "quote lag must be a duration >= 0" in capsys.readouterr().err
    assert rb.main([str(trades), "--format", "binance_trades"]) == 2
    assert "the first line is a header (time, price, " in capsys.readouterr().err  # a header Binance lacks
