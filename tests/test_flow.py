"""data.bars.flow.tick_flow: hand-checked splits, and the fast path equals the np.where definition bit for bit."""
from __future__ import annotations

import numpy as np
import pytest

from data.bars.flow import tick_flow


def reference_flow(size: np.ndarray, side: np.ndarray) -> dict[str, np.ndarray]:
    """The definition, written with np.where."""
    buy = np.where(side == 1, size, 0.0)
    sell = np.where(side == -1, size, 0.0)
    return {"buy_volume": buy, "sell_volume": sell, "unknown_volume": np.where(side == 0, size, 0.0),
            "delta": buy - sell}


def test_hand_checked_split() -> None:
    flow = tick_flow(np.array([2.0, 3.0, 1.5, 4.0]), np.array([1, -1, 0, 1], dtype=np.int8))
    assert flow["buy_volume"].tolist() == [2.0, 0.0, 0.0, 4.0]
    assert flow["sell_volume"].tolist() == [0.0, 3.0, 0.0, 0.0]
    assert flow["unknown_volume"].tolist() == [0.0, 0.0, 1.5, 0.0]
    assert flow["delta"].tolist() == [2.0, -3.0, 0.0, 4.0]


def test_missing_size_on_the_other_side_is_zero_not_nan() -> None:
    # NaN * 0 would be NaN: such sizes must take the np.where path
    flow = tick_flow(np.array([np.nan, 1.0, np.inf]), np.array([-1, 1, 0], dtype=np.int8))
    assert flow["buy_volume"].tolist() == [0.0, 1.0, 0.0]
    assert flow["delta"][1:].tolist() == [1.0, 0.0]
    assert np.isnan(flow["delta"][0]) and np.isnan(flow["sell_volume"][0])


@pytest.mark.parametrize("extra", [None, np.nan, np.inf, -2.0, -0.0, 0.0])
def test_equals_the_definition_bit_for_bit(extra: float | None) -> None:
    rng = np.random.default_rng(3)
    size = rng.exponential(0.37, 5_000)
    side = rng.choice(np.array([-1, 0, 1, 2], dtype=np.int8), 5_000)
    if extra is not None:
        size[rng.integers(0, 5_000, 20)] = extra
    got, want = tick_flow(size, side), reference_flow(size, side)
    for name, values in want.items():
        assert np.array_equal(got[name].view(np.int64), values.view(np.int64)), name  # sign of zero too
    no_unknown = tick_flow(size, np.where(side == 0, 1, side).astype(np.int8))
    assert not no_unknown["unknown_volume"].any()
