"""Continuous futures contracts: the calendar (codes, expiries, roll dates) and the series read
from stores and files of several contracts whose roll days and gaps are worked out by hand."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data import OrderFlowError, cached_bars, footprint, load_ticks, make_bars, scan_ticks
from data.contracts import (
    ROOT_RULES,
    ContractRule,
    contract_rule,
    day_number,
    parse_contract,
    parse_roll,
    volume_schedule,
)
from data.reading.loader import describe_source
from data.store.dataset import TickStore
from tests.conftest import SHARED
from tests.test_stream import SUMS

ES = ROOT_RULES["ES"]

# ES roll dates, worked out by hand from a calendar: the third Friday of March, June, September
# and December, minus 8 days (the Thursday of the week before).
ES_ROLLS = {
    "ESH3": ("2023-03-17", "2023-03-09"), "ESM3": ("2023-06-16", "2023-06-08"),
    "ESU3": ("2023-09-15", "2023-09-07"), "ESZ3": ("2023-12-15", "2023-12-07"),
    "ESH4": ("2024-03-15", "2024-03-07"), "ESM4": ("2024-06-21", "2024-06-13"),
    "ESU4": ("2024-09-20", "2024-09-12"), "ESZ4": ("2024-12-20", "2024-12-12"),
    "ESH5": ("2025-03-21", "2025-03-13"), "ESM5": ("2025-06-20", "2025-06-12"),
    "ESU5": ("2025-09-19", "2025-09-11"), "ESZ5": ("2025-12-19", "2025-12-11"),
}


# The switch: the Globex open of the roll date, 17:00 Chicago the evening before: 23:00 UTC in winter
# (CST, UTC-6), 22:00 UTC in summer (CDT, UTC-5); daylight saving time began on 2023-03-12, 2024-03-10
# and 2025-03-09: the March 2025 roll (03-13) is already on summer time.
ES_SWITCHES = {
    "ESH3": "2023-03-08 23:00", "ESM3": "2023-06-07 22:00", "ESU3": "2023-09-06 22:00", "ESZ3": "2023-12-06 23:00",
    "ESH4": "2024-03-06 23:00", "ESM4": "2024-06-12 22:00", "ESU4": "2024-09-11 22:00", "ESZ4": "2024-12-11 23:00",
    "ESH5": "2025-03-12 22:00", "ESM5": "2025-06-11 22:00", "ESU5": "2025-09-10 22:00", "ESZ5": "2025-12-10 23:00",
}


@pytest.mark.parametrize("code", sorted(ES_ROLLS))
def test_es_expiries_and_roll_dates_2023_to_2025(code):
    expiry, roll = ES_ROLLS[code]
    contract = parse_contract(code, "ES", ES, dt.date(int("202" + code[-1]) - 1, 10, 1))
    assert contract.expiry(ES).isoformat() == expiry
    assert contract.roll_date(ES).isoformat() == roll
    assert contract.roll_date(ES).weekday() == 3  # a Thursday
    switch = ES.session_start(day_number(contract.roll_date(ES)))
    assert switch == pd.Timestamp(ES_SWITCHES[code], tz="UTC").value


@pytest.mark.parametrize("code, first_day, year, month", [
    ("ESH4", "2023-12-01", 2024, 3),
    ("ESH4", "2024-03-15", 2024, 3),  # on the expiry day itself
    ("ESH24", "2023-12-01", 2024, 3),
    ("ESM2024", "2023-12-01", 2024, 6),
    ("ESM23", "2023-02-21", 2023, 6),  # as Sierra Chart writes it
    ("esz3", "2023-10-02", 2023, 12),
    ("ESZ9", "2019-10-01", 2019, 12),
    ("ESH0", "2019-12-20", 2020, 3),  # the decade turns
])
def test_contract_codes(code, first_day, year, month):
    contract = parse_contract(code, "ES", ES, dt.date.fromisoformat(first_day))
    assert (contract.year, contract.month, contract.root) == (year, month, "ES")


def test_codes_that_are_no_contract_of_the_root():
    day = dt.date(2024, 1, 2)
    assert parse_contract("MESH4", "ES", ES, day) is None  # another root
    assert parse_contract("ESX4", "ES", ES, day) is None  # November: not an ES month
    assert parse_contract("ESH4X", "ES", ES, day) is None
    assert parse_contract("ES", "ES", ES, day) is None
    assert parse_contract("ESH245", "ES", ES, day) is None
    named = parse_contract("ESM23_test.scid", "ES", ES, dt.date(2023, 2, 21), whole=False)
    assert (named.year, named.month, named.code) == (2023, 6, "ESM23")
    assert parse_contract("ESM234.csv", "ES", ES, day, whole=False) is None


def test_expiry_rule_of_your_own():
    rule = ContractRule.parse("FGHJKMNQUVXZ:lastwed:3")
    assert str(rule) == "FGHJKMNQUVXZ:lastwed:3"
    assert rule.expiry(2024, 1) == dt.date(2024, 1, 31)  # the last Wednesday of January 2024
    assert contract_rule("XX", "HMUZ:3fri -07:00 America/Chicago") == ES
    assert contract_rule("XX", "HMUZ:3fri").open == "00:00 UTC"  # no preset: midnight UTC
    assert contract_rule("ES", "HMUZ:3fri:5").open == ES.open  # the root's session open kept
    assert str(contract_rule("ES", "HMUZ:3fri:8 00:00 utc")) == "HMUZ:3fri:8"  # overridden
    assert str(ES) == "HMUZ:3fri:8 -07:00 America/Chicago"
    # spaces around the rule's colons, as before a rule could carry its open
    assert str(ContractRule.parse("HMUZ: 3fri :8")) == "HMUZ:3fri:8"
    assert ContractRule.parse(" HMUZ : 3fri :8  -07:00 America/Chicago ") == ES
    assert contract_rule("es") is ES
    with pytest.raises(OrderFlowError, match="no expiry rule for the root 'FDAX'.*--expiry"):
        contract_rule("FDAX")
    for bad in ("HMUZ", "HMUZ:3xyz", "HMUA:3fri", "HMUZ:6fri", "HHUZ:3fri", "HMUZ:3fri 17:00",
                "HMUZ:3fri -07:00 Mars/Olympus", "HMUZ:3fri 25:00 UTC"):
        with pytest.raises(OrderFlowError):
            ContractRule.parse(bad)


def test_roll_rules():
    assert str(parse_roll(None, ES)) == "days:8"
    assert str(parse_roll("days:3", ES)) == "days:3"
    assert str(parse_roll("days", ES)) == "days:8"
    assert str(parse_roll(" Volume ", ES)) == "volume"
    for bad in ("days:x", "volume:2", "weeks:1", ""):
        with pytest.raises(OrderFlowError, match="bad roll rule"):
            parse_roll(bad, ES)


def test_volume_schedule_by_hand():
    # days 0..4; A traded 5, 5, 4, 1, 0; B 0, 3, 6, 2, 9; C 0, 0, 0, 7, 8
    a = (np.array([0, 1, 2, 3]), np.array([5.0, 5, 4, 1]))
    b = (np.array([1, 2, 3, 4]), np.array([3.0, 6, 2, 9]))
    c = (np.array([3, 4]), np.array([7.0, 8]))
    # B beats A on day 2 -> B from day 3; on day 3 C (7) beats B (2) -> C from day 4; never back
    assert volume_schedule([a, b, c]) == [3, 4]
    # a front that stops trading: the next that trades beats its 0 volume
    assert volume_schedule([(np.array([0]), np.array([5.0])), (np.array([1, 2]), np.array([1.0, 1.0]))]) == [2]


# ----------------------------------------------------------------------------- a store of three contracts

def rows(*items):
    """(time, price, size, side) -> canonical ticks with bid = price - 0.25 and ask = price."""
    frame = pd.DataFrame({
        "timestamp": pd.to_datetime([i[0] for i in items], utc=True).as_unit("ns"),
        "price": [float(i[1]) for i in items], "size": [float(i[2]) for i in items],
        "side": np.array([i[3] for i in items], dtype=np.int8)})
    frame["bid"] = frame["price"] - 0.25
    frame["ask"] = frame["price"]
    frame["bid_size"] = 1.0
    frame["ask_size"] = 2.0
    return frame


CONTRACTS = {
    "ESH4": rows(("2024-03-04 14:00", 4000.00, 1, 1), ("2024-03-05 14:00", 5000.00, 1, 1),
                 ("2024-03-05 15:00", 5000.25, 2, -1), ("2024-03-06 14:00", 5000.50, 3, 1),
                 ("2024-03-06 20:00", 5001.00, 1, 1), ("2024-03-07 14:00", 5004.00, 5, 1)),
    "ESM4": rows(("2024-03-05 16:00", 5050.75, 10, 1), ("2024-03-06 14:30", 5051.00, 1, -1),
                 ("2024-03-06 19:00", 5051.25, 1, 1), ("2024-03-07 14:10", 5052.00, 4, -1),
                 ("2024-03-08 14:00", 5052.25, 2, 1), ("2024-06-12 15:00", 5300.00, 3, 1),
                 ("2024-06-13 15:00", 5299.00, 1, -1)),
    "ESU4": rows(("2024-06-12 16:00", 5350.50, 2, -1), ("2024-06-13 13:00", 5351.00, 6, 1)),
    "NQH4": rows(("2024-03-05 14:00", 18000.00, 1, 1)),
}


def write_store(root: Path, contracts: dict[str, pd.DataFrame]) -> Path:
    store = TickStore.create(root)
    for symbol, ticks in contracts.items():
        days = ticks["timestamp"].dt.strftime("%Y-%m-%d")
        for day, group in ticks.groupby(days):
            store.write_day(symbol, day, group.reset_index(drop=True))
    return root


@pytest.fixture
def store(tmp_path):
    return write_store(tmp_path / "store", CONTRACTS)


def test_days_roll_add_by_hand(store):
    # rolls: 2024-03-07 (ESH4 5001.00 at 03-06 20:00 -> ESM4 5051.25 at 03-06 19:00: gap 50.25) and
    # 2024-06-13 (ESM4 5300.00 -> ESU4 5350.50: gap 50.50). ESH4 moves by 100.75, ESM4 by 50.50.
    ticks = load_ticks(store, continuous="ES", adjust="add")
    assert ticks["timestamp"].dt.strftime("%m-%d %H:%M").tolist() == [
        "03-04 14:00", "03-05 14:00", "03-05 15:00", "03-06 14:00", "03-06 20:00",  # ESH4 before 03-07
        "03-07 14:10", "03-08 14:00", "06-12 15:00",  # ESM4 from 03-07 to 06-13
        "06-13 13:00"]  # ESU4 from 06-13
    assert ticks["price"].tolist() == [4100.75, 5100.75, 5101.00, 5101.25, 5101.75,
                                       5102.50, 5102.75, 5350.50, 5351.00]
    assert ticks["bid"].tolist() == [p - 0.25 for p in ticks["price"]]
    assert ticks["ask"].tolist() == ticks["price"].tolist()
    assert ticks["size"].tolist() == [1, 1, 2, 3, 1, 4, 2, 3, 6]  # as traded
    assert ticks["side"].tolist() == [1, 1, -1, 1, 1, -1, 1, 1, 1]
    report = ticks.attrs["load_report"]
    assert [(r["date"], r["from"], r["to"], r["gap"]) for r in report["rolls"]] == [
        ("2024-03-07", "ESH4", "ESM4", 50.25), ("2024-06-13", "ESM4", "ESU4", 50.5)]
    first = report["rolls"][0]
    assert (first["from_price"], first["to_price"], first["from_time"], first["to_time"]) == (
        5001.0, 5051.25, "2024-03-06T20:00:00+00:00", "2024-03-06T19:00:00+00:00")
    assert (first["series_from"], first["series_to"]) == (5101.75, 5101.75)  # no jump
    assert [(c["contract"], c["rows"], c["shift"]) for c in report["contracts"]] == [
        ("ESH4", 5, 100.75), ("ESM4", 3, 50.5), ("ESU4", 1, 0.0)]
    assert any("NQH4" in note for note in report["notes"])  # another root, left out
    lines = describe_source(report)
    assert "Roll 2024-03-07: ESH4 -> ESM4, gap +50.25 (5001 -> 5051.25)" in lines


def test_days_roll_none_keeps_the_traded_prices(store):
    ticks = load_ticks(store, continuous="ES")  # adjust none by default
    assert ticks["price"].tolist() == [4000.00, 5000.00, 5000.25, 5000.50, 5001.00, 5052.00, 5052.25, 5300.00, 5351.00]
    report = ticks.attrs["load_report"]
    assert [r["gap"] for r in report["rolls"]] == [50.25, 50.5]
    assert [(r["series_from"], r["series_to"]) for r in report["rolls"]] == [(5001.0, 5051.25), (5300.0, 5350.5)]


def test_days_roll_ratio_rounds_to_the_tick(store):
    ticks = load_ticks(store, continuous="ES", adjust="ratio")
    r1, r2 = 5051.25 / 5001.00, 5350.50 / 5300.00
    want = [np.rint(p * r1 * r2 * 4) / 4 for p in (4000.00, 5000.00, 5000.25, 5000.50, 5001.00)]
    want += [np.rint(p * r2 * 4) / 4 for p in (5052.00, 5052.25, 5300.00)] + [5351.00]
    assert ticks["price"].tolist() == want
    # 4000 x (5051.25 / 5001) x (5350.50 / 5300) = 4000 x 1.0196721 = 4078.69, on the grid 4078.75 (add: 4100.75)
    assert want[0] == 4078.75
    assert want[1] == 5098.25  # 5000 x 1.0196721 = 5098.36 (add: 5100.75)
    assert ticks.attrs["load_report"]["tick"] == 0.25


def test_volume_roll_by_hand(store):
    # ESM4 traded 10 on 03-05 against ESH4's 3: the series switches at the start of 03-06;
    # gap: ESM4 5050.75 (03-05 16:00) - ESH4 5000.25 (03-05 15:00) = 50.50. ESU4 out-traded ESM4
    # on 06-12 (2 against 3? no: 2 < 3) and on 06-13 (6 > 1): the switch is 06-14, after the data.
    ticks = load_ticks(store, continuous="ES", roll="volume", adjust="add")
    report = ticks.attrs["load_report"]
    assert [(r["date"], r["from"], r["to"], r["gap"]) for r in report["rolls"]] == [("2024-03-06", "ESH4", "ESM4", 50.5)]
    assert ticks["price"].tolist() == [4050.50, 5050.50, 5050.75, 5051.00, 5051.25, 5052.00, 5052.25, 5300.00,
                                       5299.00]
    assert any("ESU4" in note and "passed over" in note for note in report["notes"])


def test_a_missing_contract_is_passed_over(tmp_path):
    root = write_store(tmp_path / "s", {"ESH4": CONTRACTS["ESH4"], "ESU4": CONTRACTS["ESU4"].assign(
        timestamp=pd.to_datetime(["2024-03-06 12:00", "2024-03-08 12:00"], utc=True).as_unit("ns"))})
    ticks = load_ticks(root, continuous="ES", adjust="add")
    report = ticks.attrs["load_report"]
    # ESM4 is not in the store: ESH4 rolls to ESU4 on ESH4's roll date
    assert [(r["date"], r["from"], r["to"], r["gap"]) for r in report["rolls"]] == [("2024-03-07", "ESH4", "ESU4", 349.5)]
    assert ticks["price"].tolist()[-1] == 5351.00
    assert "ESH4 rolls to ESU4: the source holds no tick of ESM4 in its turn" in report["notes"]


def test_a_window_cuts_the_same_series(store):
    whole = load_ticks(store, continuous="ES", adjust="add")
    part = load_ticks(store, continuous="ES", adjust="add", start="2024-03-06", end="2024-03-08")
    keep = (whole["timestamp"] >= "2024-03-06") & (whole["timestamp"] < "2024-03-09")
    pd.testing.assert_frame_equal(part, whole[keep].reset_index(drop=True), check_like=False)
    report = part.attrs["load_report"]
    assert [r["date"] for r in report["rolls"]] == ["2024-03-07"]  # the rolls inside the window
    assert [c["contract"] for c in report["contracts"]] == ["ESH4", "ESM4"]
    # a store reads only the day files of each contract's turn in the window
    assert [p["files_read"] for p in report["parts"]] == [1, 2]


def test_files_by_name_and_by_symbol_column_give_the_store_series(tmp_path, store):
    want = load_ticks(store, continuous="ES", adjust="add")
    named = tmp_path / "named"
    named.mkdir()
    for symbol, ticks in CONTRACTS.items():
        if symbol.startswith("ES"):
            ticks.to_csv(named / f"{symbol}-CME.csv", index=False)
    got = load_ticks(named, continuous="ES", adjust="add")
    pd.testing.assert_frame_equal(got[want.columns], want)
    assert got.attrs["load_report"]["rolls"] == want.attrs["load_report"]["rolls"]
    by_volume = load_ticks(named, continuous="ES", roll="volume")
    assert by_volume.attrs["load_report"]["rolls"] == load_ticks(store, continuous="ES", roll="volume").attrs[
        "load_report"]["rolls"]
    both = pd.concat([t.assign(symbol=s) for s, t in CONTRACTS.items()]).sort_values("timestamp", kind="stable")
    one = tmp_path / "one.csv"
    both.to_csv(one, index=False)
    got = load_ticks(one, continuous="ES", adjust="add")
    pd.testing.assert_frame_equal(got[want.columns], want)
    assert [c["contract"] for c in got.attrs["load_report"]["contracts"]] == ["ESH4", "ESM4", "ESU4"]


def test_footprint_levels_move_by_whole_ticks(store):
    # ESH4's ticks in the series: its footprint as traded, each level moved by 100.75 = 403 ticks
    series = load_ticks(store, continuous="ES", adjust="add")
    esh4 = CONTRACTS["ESH4"][CONTRACTS["ESH4"]["timestamp"] < "2024-03-07"]
    traded = footprint(esh4, "1D", tick_size=0.25).reset_index()
    moved = footprint(series[series["timestamp"] < "2024-03-07"], "1D", tick_size=0.25).reset_index()
    assert moved["price"].tolist() == [p + 403 * 0.25 for p in traded["price"]]
    pd.testing.assert_frame_equal(moved.drop(columns="price"), traded.drop(columns="price"))


def test_streamed_bars_equal_in_memory_bars_across_the_roll(store):
    source = scan_ticks(store, continuous="ES", adjust="add", batch_rows=2)
    streamed = make_bars(source, "1D", tick_size=0.25)
    memory = make_bars(load_ticks(store, continuous="ES", adjust="add"), "1D", tick_size=0.25)
    pd.testing.assert_frame_equal(streamed, memory)
    assert streamed.attrs["load_report"]["rolls"][0]["date"] == "2024-03-07"
    # the day of the roll: ESM4's ticks only, its open at 5102.50
    assert streamed.loc["2024-03-08", "open"] == 5102.5


def test_options_are_checked(store, tmp_path):
    with pytest.raises(OrderFlowError, match="give one of them"):
        load_ticks(store, continuous="ES", symbol="ESH4")
    with pytest.raises(OrderFlowError, match="bad adjust"):
        load_ticks(store, continuous="ES", adjust="back")
    with pytest.raises(OrderFlowError, match="bad roll rule"):
        load_ticks(store, continuous="ES", roll="days:-1")
    with pytest.raises(OrderFlowError, match="apply to a continuous contract"):
        load_ticks(store, adjust="add")
    with pytest.raises(OrderFlowError, match="no expiry rule for the root 'CL'"):
        load_ticks(store, continuous="CL")
    with pytest.raises(OrderFlowError, match="holds no contract of MES.*ESH4, ESM4, ESU4, NQH4"):
        load_ticks(store, continuous="MES")
    with pytest.raises(OrderFlowError, match="the DataFrame holds no contract of ES: its symbol column names none"):
        load_ticks(CONTRACTS["ESH4"], continuous="ES")  # no symbol column


def test_the_cache_key_covers_roll_and_adjust(store, tmp_path):
    keys = set()
    for adjust in ("none", "add", "ratio"):
        for roll in ("days:8", "volume"):
            bars, info = cached_bars(store, "1D", cache_dir=tmp_path / "cache", continuous="ES", roll=roll,
                                     adjust=adjust, tick_size=0.25)
            keys.add(info["key"])
            again, info = cached_bars(store, "1D", cache_dir=tmp_path / "cache", continuous="ES", roll=roll,
                                      adjust=adjust, tick_size=0.25)
            assert info["hit"]
            pd.testing.assert_frame_equal(again, bars, check_freq=False)
            assert again.attrs["load_report"]["rolls"] == bars.attrs["load_report"]["rolls"]
    assert len(keys) == 6


@pytest.mark.skipif(not (SHARED / "realdata" / "sierra" / "ESM23_test.scid").exists(),
                    reason="the real Sierra Chart file is in ../shared/realdata, absent here")
def test_a_sierra_file_named_by_its_contract(tmp_path):
    folder = tmp_path / "sierra"
    folder.mkdir()
    (folder / "ESM23_test.scid").write_bytes((SHARED / "realdata" / "sierra" / "ESM23_test.scid").read_bytes())
    ticks = load_ticks(folder, continuous="ES")
    report = ticks.attrs["load_report"]
    assert [c["contract"] for c in report["contracts"]] == ["ESM23"]
    assert report["rolls"] == [] and len(ticks) == report["rows_kept"] > 0


# ----------------------------------------------------------------------------- streamed = in memory, as a property

def random_contracts(seed: int, n: int) -> dict[str, pd.DataFrame]:
    """ESH4, ESM4 and ESU4 ticks around their roll dates on a 0.25 grid, with quotes and ties."""
    rng = np.random.default_rng(seed)
    out = {}
    for k, (symbol, first) in enumerate([("ESH4", "2024-03-05"), ("ESM4", "2024-03-05"), ("ESU4", "2024-06-11")]):
        start = pd.Timestamp(first, tz="UTC").value + 13 * 3_600_000_000_000
        gaps = rng.choice([0, 60, 600, 3_600, 40_000], size=n) * 1_000_000_000
        ts = start + np.cumsum(gaps)
        price = 5000.0 + 50 * k + 0.25 * np.cumsum(rng.integers(-2, 3, n))
        frame = pd.DataFrame({"timestamp": pd.DatetimeIndex(ts.view("M8[ns]")).tz_localize("UTC"), "price": price,
                              "size": rng.choice([1.0, 2.0, 5.0, 0.5], size=n),
                              "side": rng.integers(-1, 2, n).astype(np.int8)})
        frame["bid"] = price - 0.25 * rng.integers(0, 2, n)
        frame["ask"] = frame["bid"] + 0.25
        frame["bid_size"] = rng.integers(0, 9, n).astype(np.float64)
        frame["ask_size"] = rng.integers(0, 9, n).astype(np.float64)
        out[symbol] = frame
    return out


@pytest.fixture(scope="module")
def random_stores(tmp_path_factory):
    base = tmp_path_factory.mktemp("random-stores")
    return {seed: write_store(base / str(seed), random_contracts(seed, 120)) for seed in range(4)}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 3), batch_rows=st.integers(1, 50), spec=st.sampled_from(["7t", "9v", "1h", "4h"]),
       adjust=st.sampled_from(["none", "add", "ratio"]), roll=st.sampled_from(["days:8", "volume"]))
def test_streamed_equals_in_memory_across_rolls(random_stores, seed, batch_rows, spec, adjust, roll):
    store = random_stores[seed]
    options = dict(continuous="ES", adjust=adjust, roll=roll)
    streamed = make_bars(scan_ticks(store, batch_rows=batch_rows, **options), spec, tick_size=0.25,
                         footprint_params={"large_window": 7})
    memory = make_bars(load_ticks(store, **options), spec, tick_size=0.25, footprint_params={"large_window": 7})
    if roll == "days:8":  # ESH4 -> ESM4 on 03-07, ESM4 -> ESU4 on 06-13
        assert [r["date"] for r in streamed.attrs["load_report"]["rolls"]] == ["2024-03-07", "2024-06-13"]
    assert list(streamed.columns) == list(memory.columns) and streamed.index.equals(memory.index)
    for column in memory.columns:
        if column in SUMS:
            np.testing.assert_allclose(streamed[column], memory[column], rtol=1e-12, atol=1e-12, err_msg=column)
        else:
            np.testing.assert_array_equal(streamed[column], memory[column], err_msg=column)


# ----------------------------------------------------------------------------- a store on S3

@pytest.mark.parametrize("given", ["uri", "S3Path"])
def test_a_store_on_s3_is_read_as_a_store_given_as_text_or_as_an_s3path(s3, store, given):
    from data.storage import as_path

    uri = f"s3://{s3.new_bucket()}/store"
    write_store(uri, CONTRACTS)
    source = uri if given == "uri" else as_path(uri)
    got = load_ticks(source, continuous="ES", adjust="add")
    want = load_ticks(store, continuous="ES", adjust="add")
    pd.testing.assert_frame_equal(got, want)
    report = got.attrs["load_report"]
    assert report["rolls"] == want.attrs["load_report"]["rolls"]
    assert [p["format"] for p in report["parts"]] == ["store", "store", "store"]  # read as a store, not as files
    assert report["source"] == uri


def test_a_dataframe_of_several_contracts_gives_the_series_of_the_same_ticks_in_a_file(tmp_path, store):
    both = pd.concat([t.assign(symbol=s) for s, t in CONTRACTS.items()]).sort_values("timestamp", kind="stable")
    one = tmp_path / "one.csv"
    both.to_csv(one, index=False)
    for adjust, roll in (("add", None), ("ratio", "volume")):
        want = load_ticks(one, continuous="ES", adjust=adjust, roll=roll)
        got = load_ticks(both.reset_index(drop=True), continuous="ES", adjust=adjust, roll=roll)
        pd.testing.assert_frame_equal(got, want)
        for key in ("rolls", "contracts", "tick"):
            assert got.attrs["load_report"][key] == want.attrs["load_report"][key]
    got = load_ticks(both, continuous="ES", adjust="add", start="2024-03-06", end="2024-03-08")
    assert got["price"].tolist() == [5101.25, 5101.75, 5102.50, 5102.75]  # 03-06 to 03-08 included, as the store
    bars = make_bars(scan_ticks(both, continuous="ES", adjust="add", batch_rows=2), "1D", tick_size=0.25)
    pd.testing.assert_frame_equal(bars, make_bars(load_ticks(store, continuous="ES", adjust="add"), "1D",
                                                  tick_size=0.25))


# ----------------------------------------------------------------------------- a folder of many files

def day_files_of_two_contracts(folder: Path, days: int, rows: int = 40_000) -> Path:
    """One Parquet file per day from 2024-03-01 holding ESH4 and ESM4 ticks (a symbol column), in time order."""
    folder.mkdir()
    rng = np.random.default_rng(days)
    for day in range(days):
        start = pd.Timestamp("2024-03-01", tz="UTC").value + day * 86_400_000_000_000
        ts = start + np.sort(rng.integers(0, 86_400_000_000_000, rows))
        frame = pd.DataFrame({"timestamp": pd.DatetimeIndex(ts.view("M8[ns]")).tz_localize("UTC"),
                              "price": 5000.0 + 0.25 * rng.integers(0, 400, rows), "size": 1.0,
                              "side": rng.choice(np.array([-1, 1], np.int8), rows),
                              "symbol": np.where(np.arange(rows) % 2 == 0, "ESH4", "ESM4")})
        frame.to_parquet(folder / f"day-{day:02d}.parquet", index=False)
    return folder


def test_finding_the_contracts_of_a_folder_holds_one_file_at_a_time(tmp_path):
    import tracemalloc

    def peak(days: int) -> int:
        scan = scan_ticks(day_files_of_two_contracts(tmp_path / str(days), days), continuous="ES")
        tracemalloc.start()
        try:
            held = [s.held.contract.code for s in scan.store.plan.segments]
            assert held == (["ESH4", "ESM4"] if days > 6 else ["ESH4"])  # ESM4's turn from 2024-03-07
            held, top = tracemalloc.get_traced_memory()
            return top - held  # what was in memory at once beyond what stays (the loader's caches of file heads)
        finally:
            tracemalloc.stop()

    two, eight = peak(2), peak(8)
    # one file's ticks (40,000 rows) and their summary: about 4.4 MB either way; with every file's ticks held
    # until all were read it was 5.4 MB for two files and 11.5 MB for eight
    assert eight < 1.1 * two, (two, eight)
    source = scan_ticks(tmp_path / "8", continuous="ES", adjust="add", batch_rows=10_000)
    streamed = make_bars(source, "1h", tick_size=0.25)
    memory = make_bars(load_ticks(tmp_path / "8", continuous="ES", adjust="add"), "1h", tick_size=0.25)
    pd.testing.assert_frame_equal(streamed, memory)
    assert streamed.attrs["load_report"]["rolls"][0]["date"] == "2024-03-07"
    assert streamed["volume"].sum() == 6 * 20_000 + 2 * 20_000  # ESH4's six days, ESM4's two



# ----------------------------------------------------------------------------- the roll at the session open

def test_the_roll_switches_at_the_session_open_of_the_roll_date(tmp_path):
    # the evening before the 2024-03-07 roll: 17:00 Chicago (CST) is 23:00 UTC; ticks from then to
    # midnight UTC are of the Globex session of 03-07: ESM4's, not ESH4's
    contracts = {
        "ESH4": rows(("2024-03-06 22:59:59", 5001.00, 1, 1), ("2024-03-06 23:30:00", 5001.50, 7, -1),
                     ("2024-03-07 14:00:00", 5002.00, 1, 1)),
        "ESM4": rows(("2024-03-06 22:30:00", 5051.00, 2, 1), ("2024-03-06 23:00:00", 5051.25, 3, 1),
                     ("2024-03-06 23:45:00", 5051.50, 4, -1), ("2024-03-07 14:00:00", 5052.00, 5, 1)),
    }
    root = write_store(tmp_path / "s", contracts)
    folder = tmp_path / "files"
    folder.mkdir()
    for symbol, ticks in contracts.items():
        ticks.to_csv(folder / f"{symbol}.csv", index=False)
    for source in (root, folder):
        ticks = load_ticks(source, continuous="ES")
        assert ticks["timestamp"].dt.strftime("%m-%d %H:%M:%S").tolist() == [
            "03-06 22:59:59", "03-06 23:00:00", "03-06 23:45:00", "03-07 14:00:00"]
        assert ticks["price"].tolist() == [5001.00, 5051.25, 5051.50, 5052.00]
        roll = ticks.attrs["load_report"]["rolls"][0]
        # gap: ESM4's last trade before 23:00 (5051.00 at 22:30) - ESH4's (5001.00 at 22:59:59)
        assert (roll["date"], roll["time"], roll["gap"]) == ("2024-03-07", "2024-03-06T23:00:00+00:00", 50.0)
        assert (roll["from_time"], roll["to_time"]) == ("2024-03-06T22:59:59+00:00", "2024-03-06T22:30:00+00:00")
    # the volume rule counts session days too: ESM4 out-trades ESH4 (2 against 1) in the session of 03-06,
    # which ends at 23:00 UTC that day: the switch is then, before the volumes of the evening (by UTC days,
    # 9 against 8 over all of 03-06, it was at midnight)
    by_volume = load_ticks(root, continuous="ES", roll="volume").attrs["load_report"]["rolls"]
    assert [(r["date"], r["time"]) for r in by_volume] == [("2024-03-07", "2024-03-06T23:00:00+00:00")]
    # midnight UTC, as before, with an open of one's own
    utc = load_ticks(root, continuous="ES", expiry="HMUZ:3fri:8 00:00 UTC")
    assert utc["price"].tolist() == [5001.00, 5001.50, 5052.00]
    assert utc.attrs["load_report"]["rolls"][0]["time"] == "2024-03-07T00:00:00+00:00"
