"""The loader's speed tricks, each tied to the plain formula it replaces (as in test_fast_paths.py):
integer side codes by table look-up against the float comparisons, Arrow integers kept as numpy
integers when nothing is missing, and the text check's character class against its per-character
definition."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from data.reading.loader import _ODD_CHARACTERS, arrow_to_pandas
from data.sides.codes import parse_side


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


def test_odd_characters_are_the_control_characters_but_tab_and_line_breaks_and_undecodable_bytes() -> None:
    odd = {chr(c) for c in range(0x10000) if not 0xD800 <= c < 0xE000 and _ODD_CHARACTERS.fullmatch(chr(c))}
    assert odd == {c for c in map(chr, range(32)) if c not in "\t\r\n\f"} | {"\ufffd"}
