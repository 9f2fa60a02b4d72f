"""Time windows (``start``/``end``): one parser for the command line, RunConfig, scan_ticks and the
store. A date or partial date covers its whole period, a time is an instant, a time alone is refused."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

import run_backtest as rb
from data import OrderFlowError, load_ticks, scan_ticks
from data.options import utc_time
from data.store.dataset import TickStore
from research import RunConfig, load
from tests.conftest import SMALL_ROWS, canonical_ticks


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


@pytest.mark.parametrize("text, start, end", [
    ("2024", "2024-01-01", "2025-01-01"),
    ("2024-03", "2024-03-01", "2024-04-01"),
    ("2024-02", "2024-02-01", "2024-03-01"),  # a leap year's February: 29 days
    ("March 2024", "2024-03-01", "2024-04-01"),
    ("2024-03-31", "2024-03-31", "2024-04-01"),
    ("2024-12", "2024-12-01", "2025-01-01"),
])
def test_a_partial_date_covers_its_whole_period(text, start, end):
    assert utc_time(text, "start") == utc(start)
    assert utc_time(text, "end", end=True) == utc(end)  # the bound is the instant after the period


def test_periods_are_cut_in_the_zone_and_a_time_is_the_last_instant_kept():
    # March 2024 in Chicago: CST (-6) on the 1st, CDT (-5) from the 10th, so April starts at 05:00 UTC
    assert utc_time("2024-03", "start", tz="America/Chicago") == utc("2024-03-01 06:00")
    assert utc_time("2024-03", "end", end=True, tz="America/Chicago") == utc("2024-04-01 05:00")
    # a time: that instant; as an end the last one kept (the exclusive bound is 1 ns later)
    assert utc_time("2024-03-31 10:30", "start", tz="America/Chicago") == utc("2024-03-31 15:30")
    assert utc_time("2024-03-31 10:30", "end", end=True) == utc("2024-03-31 10:30") + pd.Timedelta(1, "ns")
    # a zone in the text wins over tz; a Timestamp is an instant and an exclusive end
    assert utc_time("2024-03-31 10:30+02:00", "start", tz="America/Chicago") == utc("2024-03-31 08:30")
    assert utc_time(utc("2024-03-31"), "end", end=True) == utc("2024-03-31")
    assert utc_time(dt.date(2024, 3, 31), "end", end=True) == utc("2024-04-01")
    # beyond the nanosecond range an end is no bound, a start an error
    assert utc_time("9999-12-31", "end", end=True) is None and utc_time("2262", "end", end=True) is None
    with pytest.raises(OrderFlowError, match="1677 and 2262"):
        utc_time("3000", "start")
    # 02:30 on 10 March 2024 never happened in Chicago, 01:30 on 3 November happened twice
    for text in ("2024-03-10 02:30", "2024-11-03 01:30"):
        with pytest.raises(OrderFlowError, match="skips or repeats that time"):
            utc_time(text, "start", tz="America/Chicago")
    assert utc_time("2024-11-03 01:30-05:00", "start", tz="America/Chicago") == utc("2024-11-03 06:30")


@pytest.mark.parametrize("text, words", [
    ("10:00", "a time alone"),
    ("10:00:00", "a time alone"),
    ("10am", "a time alone"),
    ("Mar 5", "no year"),
    ("today", "bad end"),
    ("2024-13", "bad end"),
    ("soon", "bad end"),
])
def test_a_time_alone_or_a_date_without_a_year_is_refused(text, words):
    with pytest.raises(OrderFlowError, match=words):
        utc_time(text, "end", end=True)


def month_ticks() -> pd.DataFrame:
    """Ticks at 12:00 UTC on 2024-02-29, 2024-03-01, 2024-03-31 and 2024-04-01 (two each)."""
    days = ["2024-02-29", "2024-03-01", "2024-03-31", "2024-04-01"]
    rows = [(f"{d}T12:00:0{k}Z", 100.0 + i, 1.0, 1, 5, 5) for i, d in enumerate(days) for k in range(2)]
    return canonical_ticks(rows)


def test_scan_ticks_and_the_store_cover_the_whole_month(tmp_path):
    ticks = month_ticks()
    ticks.to_parquet(tmp_path / "ticks.parquet", index=False)
    store = TickStore.create(tmp_path / "store")
    store.import_sources([tmp_path / "ticks.parquet"], symbol="ES", progress=False)
    for source in (tmp_path / "ticks.parquet", tmp_path / "store"):
        march = load_ticks(source, start="2024-03", end="2024-03")
        assert march["price"].tolist() == [101.0, 101.0, 102.0, 102.0], source
        assert len(load_ticks(source, start="2024", end="2024")) == 8
        assert load_ticks(source, end="2024-02")["price"].tolist() == [100.0, 100.0]
        # a time as end keeps that instant: 2024-03-31 12:00:00 is in, 12:00:01 is not
        kept = load_ticks(source, start="2024-03-31", end="2024-03-31 12:00")
        assert kept["timestamp"].tolist() == [utc("2024-03-31 12:00")]
        with pytest.raises(OrderFlowError, match="a time alone"):
            scan_ticks(source, end="12:00")


def test_run_config_takes_text_windows_in_its_zone(tmp_path):
    path = tmp_path / "ticks.parquet"
    month_ticks().to_parquet(path, index=False)
    config = RunConfig(data=path, bars="1t", start="2024-03", end="2024-03", tz="America/Chicago")
    assert (config.start, config.end) == (utc("2024-03-01 06:00"), utc("2024-04-01 05:00"))
    assert load(config).bars["close"].tolist() == [101.0, 101.0, 102.0, 102.0]
    with pytest.raises(OrderFlowError, match="a time alone"):
        RunConfig(data=path, end="10:00")


def test_cli_end_month_covers_the_month_and_a_time_alone_is_one_error_line(tmp_path, capsys):
    path = tmp_path / "ticks.csv"
    ticks = canonical_ticks(SMALL_ROWS)
    ticks.assign(timestamp=ticks["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")).to_csv(path, index=False)
    config, _ = rb.make_config(rb.build_parser().parse_args([str(path), "--start", "2024", "--end", "2024-03",
                                                             "--tz", "America/Chicago"]))
    assert (config.start, config.end) == (utc("2024-01-01 06:00"), utc("2024-04-01 05:00"))
    code = rb.main([str(path), "--end", "2024-03", "--bars", "1t", "--param", "slope_period=2", "--no-plot",
                    "--out", str(tmp_path / "out")])
    assert code == 0
    assert "Built 10 bars of 1t from 10 ticks" in capsys.readouterr().out
    code = rb.main([str(path), "--end", "10:00", "--no-plot", "--out", str(tmp_path / "out2")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("error: bad --end '10:00': a time alone") and "2024-03-31 10:00" in err
