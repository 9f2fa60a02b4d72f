"""The loader's speed tricks, each tied to the plain formula it replaces (as in test_fast_paths.py):
integer side codes by table look-up against the float comparisons, the one-pass checks of numbers
and times against the masks of every rule, Arrow integers kept as numpy integers when nothing is
missing, and the text check's character class against its per-character definition."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data import OrderFlowError, load_ticks
from data.reading.loader import _ODD_CHARACTERS, _ns, _to_float, _to_ns, arrow_to_pandas
from data.sides.codes import parse_side

NAT = np.iinfo(np.int64).min


def reference_sides(values: pd.Series) -> np.ndarray:
    """parse_side's rule for numbers, one float comparison per code: 1 -> +1, -1 and 2 -> -1, else
    (missing included) 0."""
    v = values.to_numpy(dtype=np.float64, na_value=np.nan)
    return np.select([v == 1, (v == -1) | (v == 2)], [1, -1], 0).astype(np.int8)


INT_DTYPES = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
              "Int8", "Int16", "Int64", "UInt8", "UInt64", "int8[pyarrow]", "int64[pyarrow]", "uint8[pyarrow]"]


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_integer_sides_equal_the_float_comparisons(dtype: str) -> None:
    pandas_dtype = pd.Series([], dtype=dtype).dtype
    info = np.iinfo(getattr(pandas_dtype, "numpy_dtype", pandas_dtype))
    low, high = max(info.min, -300), min(info.max, 300)
    everything = np.arange(low, high + 1)
    nullable = dtype[0].isupper() or "pyarrow" in dtype
    cases = {
        "every small integer": everything,  # the general path (codes outside -1..2)
        "canonical sides": [c for c in (-1, 0, 1, 1, 0, -1) if c >= low],  # already sides
        "TradeType codes": [c for c in (1, 2, 0, 2, -1, 1) if c >= low],  # the table
        "one code": [2],
        "just below the sides": [c for c in (-2, -1, 0, 1) if c >= low],
        "just below the table": [c for c in (-2, -1, 0, 2) if c >= low],
        "just above the table": [c for c in (-1, 0, 2, 3) if c >= low],
        "extremes": [info.min, 1, info.max, 2],
    }
    for label, codes in cases.items():
        values = list(codes) + ([None, None] if nullable else [])
        series = pd.Series(values, dtype=dtype)
        got = parse_side(series)
        assert got.dtype == np.int8 and np.array_equal(got, reference_sides(series)), label
    if nullable:
        series = pd.Series([None, None], dtype=dtype)
        assert np.array_equal(parse_side(series), [0, 0])


def test_integer_sides_are_a_new_array() -> None:
    codes = np.array([1, -1, 0, 1], dtype=np.int8)
    sides = parse_side(codes)
    sides[0] = 0
    assert codes.tolist() == [1, -1, 0, 1]


NUMBERS = {
    "finite": [1.0, 0.0, -2.5, 3.0],
    "missing": [1.0, np.nan, 2.0, np.nan],
    "infinite": [np.inf, 1.0, -np.inf, 0.0],
    "everything": [np.nan, np.inf, -np.inf, 0.0, -1.0, 5.0],
    "a sum that overflows": [1e308, 1e308, 1e308, 2.0],  # finite values whose sum is not
    "huge and infinite": [1e308, 1e308, np.inf, np.nan],
}


@pytest.mark.parametrize("label", list(NUMBERS))
@pytest.mark.parametrize("dtype", ["float64", "float32", "Float64", "double[pyarrow]"])
def test_numbers_checked_in_one_pass_equal_isnan_and_isinf(label: str, dtype: str) -> None:
    values = np.array(NUMBERS[label])
    if dtype == "float32":
        values = np.where(np.isfinite(values) & (np.abs(values) >= 1e308), 3e38, values)  # float32's huge
    s = pd.Series(values, dtype=dtype) if dtype == "float64" or dtype == "float32" else \
        pd.Series([None if np.isnan(x) else x for x in values], dtype=dtype)
    v, missing, bad = _to_float(s)
    plain = s.to_numpy(dtype=np.float64, na_value=np.nan)
    assert np.array_equal(v, plain, equal_nan=True)
    assert np.array_equal(missing, np.isnan(plain)) and np.array_equal(bad, np.isinf(plain))


def reference_ns(s: pd.Series) -> np.ndarray:
    """UTC int64 ns of a datetime column (NaT: int64 min), one Timestamp at a time."""
    utc = s.dt.tz_localize("UTC") if s.dt.tz is None else s.dt.tz_convert("UTC")
    return np.array([NAT if t is pd.NaT else t.value for t in utc])


@pytest.mark.parametrize("unit", ["ns", "us", "ms", "s"])
@pytest.mark.parametrize("zone", [None, "UTC", "Europe/Berlin"])
@pytest.mark.parametrize("with_nat", [False, True])
def test_times_in_ns_taken_as_they_are_equal_the_general_conversion(unit: str, zone: str | None, with_nat: bool) -> None:
    stamps = pd.Series(pd.date_range("2024-03-31 00:30", periods=6, freq="37min", tz=zone)).astype(
        f"datetime64[{unit}]" if zone is None else f"datetime64[{unit}, {zone}]")
    if with_nat:
        stamps[[1, 4]] = pd.NaT
    ns, out_of_range = _ns(stamps)
    want = reference_ns(stamps)
    assert np.array_equal(ns, want) and not out_of_range.any()
    times = _to_ns(stamps, None)
    assert np.array_equal(times.ns, want)
    assert np.array_equal(times.missing, stamps.isna().to_numpy()) and not times.bad.any() and not times.out_of_range.any()


def test_wall_times_that_do_not_exist_are_bad_not_missing() -> None:
    """Naive times in a zone: 02:30 on 2024-03-31 does not exist in Berlin (the clocks jump from 02:00 to 03:00)."""
    wall = pd.Series(pd.to_datetime(["2024-03-31 01:30", "2024-03-31 02:30", None, "2024-03-31 03:30"]))
    times = _to_ns(wall, "Europe/Berlin")
    assert times.missing.tolist() == [False, False, True, False]
    assert times.bad.tolist() == [False, True, False, False]
    assert times.ns[0] == pd.Timestamp("2024-03-31 00:30", tz="UTC").value
    assert times.ns[3] == pd.Timestamp("2024-03-31 01:30", tz="UTC").value


def test_arrow_integers_become_nullable_only_for_a_type_with_missing_values() -> None:
    table = pa.table({
        "side": pa.array([1, -1, 1], pa.int8()),
        "epoch": pa.array([1, None, 3], pa.int64()),
        "id": pa.array([7, 8, 9], pa.int64()),  # the type has missing values in another column
        "small": pa.array([1, 2, None], pa.uint16()),
        "big": pa.array([1, 2, 3], pa.uint64()),
        "price": pa.array([1.5, None, 2.5], pa.float64()),
    })
    frame = arrow_to_pandas(table)
    dtypes = {name: str(dtype) for name, dtype in frame.dtypes.items()}
    assert dtypes == {"side": "int8", "epoch": "Int64", "id": "Int64", "small": "Int64", "big": "uint64",
                      "price": "float64"}
    assert frame["epoch"].tolist() == [1, pd.NA, 3] and frame["small"].tolist() == [1, 2, pd.NA]


# --------------------------------------------------------------------------- whole loads

RULES = ("price", "size", "bid", "ask", "bid_size", "ask_size")


def reference_load(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """load_ticks(..., on_bad_rows="drop") of a frame of numbers and UTC times by the plain formulas:
    every rule's mask in the loader's order (each row counted under its first failing rule), kept rows
    stable-sorted by time, sides by :func:`reference_sides`."""
    rules: list[tuple[str, np.ndarray]] = [("missing_timestamp", frame["timestamp"].isna().to_numpy())]
    for column in RULES:
        v = frame[column].to_numpy(dtype=np.float64, na_value=np.nan)
        nan, inf = np.isnan(v), np.isinf(v)
        rules.append((f"bad_{column}", inf))
        if column == "price":
            rules += [("missing_price", nan), ("non_positive_price", ~nan & ~inf & (v <= 0))]
        elif column == "size":
            rules += [("missing_size", nan), ("negative_size", ~nan & ~inf & (v < 0))]
        elif column in ("bid", "ask"):
            rules.append((f"non_positive_{column}", ~nan & ~inf & (v <= 0)))
        else:
            rules.append((f"negative_{column}", ~nan & ~inf & (v < 0)))
    rejected, counts = np.zeros(len(frame), dtype=bool), {}
    for reason, mask in rules:
        if (mask & ~rejected).any():
            counts[reason] = int((mask & ~rejected).sum())
        rejected |= mask
    kept = frame[~rejected]
    stamps = pd.DatetimeIndex(kept["timestamp"]).tz_convert("UTC").as_unit("ns")
    ts = stamps.asi8
    order = np.argsort(ts, kind="stable")
    out = pd.DataFrame({
        "timestamp": stamps[order],
        **{c: kept[c].to_numpy(dtype=np.float64, na_value=np.nan)[order] for c in ("price", "size")},
        "side": reference_sides(kept["side"])[order],
        **{c: kept[c].to_numpy(dtype=np.float64, na_value=np.nan)[order] for c in RULES[2:]},
    })
    report = {
        "rows_read": len(frame), "rows_kept": len(out), "rejected": counts,
        "unknown_side": int((out["side"] == 0).sum()), "crossed_quotes": int((out["bid"] > out["ask"]).sum()),
        "reordered": int((ts[1:] < ts[:-1]).sum()),
    }
    first = min(((int(np.argmax(mask)), i) for i, (_, mask) in enumerate(rules) if mask.any()), default=None)
    return out, {**report, "first_bad": None if first is None else (first[0] + 1, rules[first[1]][0])}


def random_ticks(n: int, seed: int, dirt: str, sides: str) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ts = pd.Timestamp("2024-03-01 14:30", tz="UTC").value + np.cumsum(rng.integers(0, 3 * 10**8, n))
    bid = 100 + 0.25 * rng.integers(0, 40, n)
    frame = pd.DataFrame({
        "timestamp": pd.DatetimeIndex(ts, tz="UTC"),
        "price": bid + 0.25 * rng.integers(0, 2, n), "size": rng.geometric(0.4, n).astype(float),
        "bid": bid, "ask": bid + 0.25 * rng.integers(-1, 3, n),  # some crossed and locked books
        "bid_size": rng.integers(1, 30, n).astype(float), "ask_size": rng.integers(0, 30, n).astype(float),
    })
    codes = {"canonical": [-1, 0, 1], "TradeType": [0, 1, 2], "wide": [-7, -1, 0, 1, 2, 3, 120]}[sides.split()[0]]
    frame.insert(3, "side", rng.choice(np.array(codes, dtype=np.int8), n))
    if sides.endswith("with nulls"):
        frame["side"] = frame["side"].astype("Int8")
        frame.loc[rng.choice(n, 20, replace=False), "side"] = pd.NA
    if dirt in ("dirty", "unsorted"):
        for column, bad in [("timestamp", pd.NaT), ("price", np.nan), ("price", 0.0), ("price", -0.25), ("price", np.inf),
                            ("price", -np.inf), ("size", np.nan), ("size", -1.0), ("size", 0.0), ("size", -np.inf),
                            ("bid", np.nan), ("bid", 0.0), ("ask", -np.inf), ("ask", np.inf), ("bid_size", -2.0),
                            ("bid_size", np.nan), ("ask_size", np.inf), ("ask_size", -1.0)]:
            frame.loc[rng.choice(n, 7, replace=False), column] = bad
    if dirt == "signs":  # values out of sign only, nothing missing or infinite: price's minimum is exactly 0
        for column, bad in [("price", 0.0), ("size", -1.0), ("bid", -0.25), ("bid", 0.0), ("ask", 0.0),
                            ("bid_size", -2.0), ("ask_size", -1.0)]:
            frame.loc[rng.choice(n, 7, replace=False), column] = bad
    if dirt == "unsorted":
        frame = frame.iloc[rng.permutation(n)].reset_index(drop=True)
        frame.loc[5:60, "timestamp"] = frame.loc[5, "timestamp"]  # ties keep their order
    if dirt == "huge":
        frame.loc[: n // 2, "ask"] = 1e308  # valid prices whose sum overflows
    return frame


@pytest.mark.parametrize("dirt", ["clean", "signs", "dirty", "unsorted", "huge"])
@pytest.mark.parametrize("sides", ["canonical", "TradeType", "wide", "canonical with nulls", "wide with nulls"])
@pytest.mark.parametrize("source", ["dataframe", "parquet"])
def test_load_ticks_equals_the_plain_rules(tmp_path, dirt: str, sides: str, source: str) -> None:
    frame = random_ticks(3_000, seed=len(dirt) * 31 + len(sides), dirt=dirt, sides=sides)
    want, report = reference_load(frame)
    ticks = frame
    if source == "parquet":  # several row groups; a side with missing codes is read as nullable Int64
        ticks = tmp_path / "ticks.parquet"
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), ticks, row_group_size=700)
        assert pq.read_table(ticks).column("side").null_count == (20 if "nulls" in sides else 0)
    got = load_ticks(ticks, on_bad_rows="drop")
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    first_bad = report.pop("first_bad")
    assert {k: got.attrs["load_report"][k] for k in report} == report
    if first_bad is None:
        assert load_ticks(ticks).equals(got)
        return
    with pytest.raises(OrderFlowError) as err:
        load_ticks(ticks)
    row, reason = first_bad
    kind, column = next((k, reason[len(k):]) for k in ("missing_", "bad_", "non_positive_", "negative_")
                        if reason.startswith(k))
    problem = {"missing_": f"missing {column}".replace("timestamp", "time"), "bad_": "unparseable number",
               "non_positive_": f"{column} must be > 0" if column == "price" else f"{column} price must be > 0",
               "negative_": f"negative {column}"}[kind]
    assert (err.value.row, err.value.column, err.value.problem) == (row, column, problem)


def test_odd_characters_are_the_control_characters_but_tab_and_line_breaks_and_undecodable_bytes() -> None:
    odd = {chr(c) for c in range(0x10000) if not 0xD800 <= c < 0xE000 and _ODD_CHARACTERS.fullmatch(chr(c))}
    assert odd == {c for c in map(chr, range(32)) if c not in "\t\r\n\f"} | {"\ufffd"}
