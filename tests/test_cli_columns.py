"""``--columns THEIRS=canonical,...``: a file with column names of its own on the command line."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import FIXTURES
from tests.test_run_backtest import run_cli

SMALL_CSV = FIXTURES / "ticks_small.csv"
OWN_NAMES = {"Timestamp": "When", "Price": "Last", "Volume": "Qty", "TradeType": "Aggressor"}


@pytest.fixture
def own_csv(tmp_path: Path) -> Path:
    """ticks_small.csv with names no loader knows, and a second size column (Half = Volume / 2)."""
    frame = pd.read_csv(SMALL_CSV).rename(columns=OWN_NAMES)
    frame["Half"] = frame["Qty"] / 2
    path = tmp_path / "own.csv"
    frame.to_csv(path, index=False)
    return path


def test_unknown_columns_name_the_command_line_option(own_csv, tmp_path):
    code, out, err = run_cli([str(own_csv), "--out", str(tmp_path / "out"), "--no-plot"])
    assert code == 2 and err.count("\n") == 1, err
    assert "no price column" in err and "--columns YOURS=price" in err and "columns={'YOURS': 'price'}" in err


def test_columns_map_the_file(own_csv, tmp_path):
    out = tmp_path / "out"
    code, text, err = run_cli([str(own_csv), "--columns", "When=timestamp, Last=price,Qty=size,Aggressor=side",
                               "--out", str(out), "--no-plot", "--no-cache", "--strategy", "cvd_trend",
                               "--param", "slope_period=1"])
    assert code == 0, err
    assert "Loaded 10 of 10 rows" in text and "Built 3 bars of 1min from 10 ticks" in text
    doc = json.loads((out / "metrics.json").read_text())
    assert doc["columns"] == {"When": "timestamp", "Last": "price", "Qty": "size", "Aggressor": "side"}
    # the 1min bars of ticks_small.csv: 09:31 closes at 99.75, 09:32 at 100.50, 09:33 at 100.25
    equity = pd.read_csv(out / "equity.csv")
    assert list(equity["time"]) == ["2024-03-01 09:31:00+00:00", "2024-03-01 09:32:00+00:00",
                                    "2024-03-01 09:33:00+00:00"]


def test_each_mapping_has_its_own_bars_in_the_cache(own_csv, tmp_path):
    """Two mappings of one file are two bar sets: the cache key holds the mapping."""
    printed = []
    for n, size in enumerate(("Qty", "Half", "Qty")):
        code, text, err = run_cli([str(own_csv), "--columns", f"When=timestamp,Last=price,{size}=size",
                                   "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / str(n)),
                                   "--no-plot", "--param", "slope_period=1"])
        assert code == 0, err
        printed.append("Bars loaded from the bar cache" in text)
    assert printed == [False, False, True]
    assert len(list((tmp_path / "cache").glob("*.parquet"))) == 2


@pytest.mark.parametrize("text, words", [
    ("When", "bad --columns 'When': THEIRS=CANONICAL"),
    ("When=timestamp,,Last=price", "bad --columns"),
    ("=price", "bad --columns"),
    ("When=stamp", "unknown target column 'stamp' in --columns"),
    ("When=timestamp,Last=timestamp", "two columns are mapped to 'timestamp'"),
    ("Nope=price", "column 'Nope' given in columns= (--columns) is not in the data"),
])
def test_bad_columns_are_one_error_line(own_csv, tmp_path, text, words):
    code, out, err = run_cli([str(own_csv), "--columns", text, "--out", str(tmp_path / "out"), "--no-plot"])
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1, err
    assert words in err
    assert not (tmp_path / "out" / "metrics.json").exists()
