"""Real data end to end: every trades file loads, aggregates and backtests.

Two sets: the real samples copied into tests/fixtures (always run; see
tests/fixtures/SOURCES.md), and every file under ../shared/realdata (skipped with a
reason on a clone without ../shared). Each data file is read by the reader its head
names (data.reading.readers, data.reading.formats); a file that holds no trade (Databento mbp-1 and
mbp-10 samples of book updates only, Tardis quotes and books) must fail with the clear
error and load as quotes instead. Files that are not data (licences, read-mes) are
skipped by name.
"""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import run_backtest
from data import OrderFlowError, load_quotes, load_ticks, make_bars
from tests.conftest import FIXTURES, SHARED, need_shared

REALDATA = SHARED / "realdata"
HAS_DATABENTO = importlib.util.find_spec("databento") is not None


def _dbn_mark(path: Path) -> list:
    if ".dbn" in path.suffixes and not HAS_DATABENTO:
        return [pytest.mark.skip(reason="the optional databento package is absent (pip install .[databento])")]
    return []


def _params(paths: list[Path]) -> list:
    return [pytest.param(p, id=p.name, marks=_dbn_mark(p)) for p in paths]


NOT_DATA = {"SOURCES.md", "LICENSE", "LOBSTER_SampleFiles_ReadMe.txt"}


def _shared_files() -> list:
    """Every data file under ../shared/realdata, or one skipped placeholder without it."""
    if not REALDATA.is_dir():
        return [pytest.param(None, id="shared-absent")]
    return _params(sorted(p for p in REALDATA.glob("*/*") if p.name not in NOT_DATA))


FIXTURE_FILES = _params([
    FIXTURES / "public_trades_list_simple_example.csv",
    FIXTURES / "GLBX.MDP3.tbbo.dbn.zst",
    FIXTURES / "XNAS.ITCH.tbbo.dbn.zst",
    FIXTURES / "GLBX.MDP3.mbp-1.dbn.zst",
])


# files of quotes only -> how many quote rows each gives
BOOK_ONLY = {
    "GLBX.MDP3.mbp-1.dbn.zst": 4,  # 4 book updates, no trade
    "XNAS.ITCH.mbp-1.dbn.zst": 4,
    "GLBX.MDP3.mbp-10.dbn.zst": 2,
    "binance-futures_book_snapshot_25_BTCUSDT.csv": 10,
    "binance-futures_book_snapshot_5_BTCUSDT.csv": 10,
    "binance-futures_quotes_2020-02-22_BTCUSDT.head10k.csv": 9_999,
    "deribit_incremental_book_L2_BTC-PERPETUAL.csv": 1,  # one snapshot message of asks
    "huobi-dm-swap_quotes_BTC-USD.csv": 10,
}


def check_end_to_end(path: Path, out: Path) -> None:
    """Load, make 1-second bars (volume and delta conserved), run the default strategy."""
    if path.name in BOOK_ONLY:
        with pytest.raises(OrderFlowError, match=r"no trade records \(action 'T'\)|load_quotes"):
            load_ticks(path)
        quotes = load_quotes(path)
        assert len(quotes) == BOOK_ONLY[path.name]
        assert quotes[["bid", "ask"]].notna().any(axis=1).all()  # one side of the book may be empty
        assert quotes["timestamp"].is_monotonic_increasing
        return
    ticks = load_ticks(path)
    report = ticks.attrs["load_report"]
    assert report["rows_kept"] == len(ticks) > 0
    assert report["rows_read"] == report["rows_kept"] + sum(report["rejected"].values())
    assert ticks["timestamp"].is_monotonic_increasing

    bars = make_bars(ticks, "1s")
    size, side = ticks["size"].to_numpy(), ticks["side"].to_numpy()
    assert bars["volume"].sum() == pytest.approx(size.sum())
    assert bars["delta"].sum() == pytest.approx(float(np.sum(size * side)))
    assert bars["trades"].sum() == len(ticks)

    # one bar per tick (1-second bars for the long files), a slope short enough for the 4-trade samples
    spec = "1t" if len(ticks) <= 5_000 else "1s"
    argv = [str(path), "--bars", spec, "--param", "slope_period=2", "--no-plot", "--out", str(out)]
    assert run_backtest.main(argv) == 0
    equity = pd.read_csv(out / "equity.csv")
    assert len(equity) == (len(ticks) if spec == "1t" else len(bars))
    assert json.loads((out / "metrics.json").read_text())


@pytest.mark.parametrize("path", FIXTURE_FILES)
def test_fixture_samples_end_to_end(path, tmp_path):
    check_end_to_end(path, tmp_path)


@pytest.mark.parametrize("path", _shared_files())
def test_shared_realdata_end_to_end(path, tmp_path):
    need_shared()
    if path is None or not REALDATA.is_dir():
        pytest.skip(f"{REALDATA} is absent")
    check_end_to_end(path, tmp_path)


def test_fixtures_are_the_shared_files():
    """The copies in tests/fixtures are byte-identical to ../shared/realdata."""
    need_shared()
    for name, folder in [("public_trades_list_simple_example.csv", "freqtrade"),
                         ("GLBX.MDP3.tbbo.dbn.zst", "databento"),
                         ("XNAS.ITCH.tbbo.dbn.zst", "databento"),
                         ("GLBX.MDP3.mbp-1.dbn.zst", "databento")]:
        assert (FIXTURES / name).read_bytes() == (REALDATA / folder / name).read_bytes(), name
