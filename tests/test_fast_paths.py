"""Fast paths of the bar aggregation give exactly what the plain per-tick formulas give."""
from __future__ import annotations

import numpy as np
import pytest

from data.barspec import parse_bar_spec
from data.bars import _fixed_time_bars, _time_labels, assign_bars


def labels_reference(ts: np.ndarray, spec: str) -> tuple[np.ndarray, np.ndarray]:
    """Bars from one label per tick (the per-tick definition)."""
    labels = _time_labels(ts, parse_bar_spec(spec))
    starts = np.concatenate(([0], np.flatnonzero(np.diff(labels)) + 1))
    return starts, labels[starts]


@pytest.mark.parametrize("spec", ["1s", "5s", "1min", "7min", "1h"])
@pytest.mark.parametrize("origin", [1_704_205_800_000_000_000, -86_400_000_000_000 * 3 + 17])
def test_fixed_time_bars_equal_per_tick_labels(spec: str, origin: int) -> None:
    rng = np.random.default_rng(11)
    gaps = rng.choice(np.array([0, 1, 10**6, 10**9, 7 * 10**9, 3 * 60 * 10**9]), 10_000,
                      p=[0.3, 0.1, 0.3, 0.278, 0.02, 0.002])
    ts = origin + np.cumsum(gaps)
    ts[100:110] = ts[100] - ts[100] % 10**9  # ticks exactly on a boundary close their bar
    ts = np.sort(ts)
    starts, stamps = _fixed_time_bars(ts, parse_bar_spec(spec).nanos)
    want_starts, want_stamps = labels_reference(ts, spec)
    assert np.array_equal(starts, want_starts) and np.array_equal(stamps, want_stamps)
    got = assign_bars(ts, np.ones(len(ts)), spec)
    assert np.array_equal(got[0], want_starts) and np.array_equal(got[1], want_stamps)


def test_sparse_ticks_over_a_long_span_use_per_tick_labels() -> None:
    ts = np.array([0, 10**9, 400 * 86_400 * 10**9], dtype=np.int64)  # 3 ticks, 400 days of 1s bars
    assert _fixed_time_bars(ts, 10**9) is None
    starts, stamps = assign_bars(ts, np.ones(3), "1s")
    assert starts.tolist() == [0, 1, 2] and stamps.tolist() == [0, 10**9, 400 * 86_400 * 10**9]
