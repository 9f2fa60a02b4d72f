"""Fast paths of the bar aggregation give exactly what the plain per-tick formulas give."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data.bars.spec import _fixed_time_bars, _time_labels, assign_bars, parse_bar_spec
from data.sides.codes import parse_side


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


# --------------------------------------------------------------------------- sides


def reference_text_side(value) -> int:
    """A side code by the documented table, one value at a time (stray spaces and case ignored)."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return 0
    codes = {"buy": 1, "b": 1, "+1": 1, "1": 1, "1.0": 1, "sell": -1, "s": -1, "a": -1, "-1": -1, "-1.0": -1, "2": -1, "2.0": -1}
    return codes.get(str(value).strip().lower(), 0)


@pytest.mark.parametrize("dtype", [object, "string[python]", "string[pyarrow]", "category"])
def test_text_sides_equal_the_code_table_per_value(dtype) -> None:
    """parse_side looks text codes up with pyarrow's index_in instead of pandas' map: the codes of
    the table, one value at a time."""
    rng = np.random.default_rng(8)
    spellings = np.array(["buy", " Sell", "SELL ", "b", "B", "s", "A", "a ", "1", "+1", "1.0", "-1", "-1.0", "2", "2.0",
                          "0", "unknown", "", "  ", "\tbuy", "bu y", "Kauf", None], dtype=object)
    values = spellings[rng.integers(0, len(spellings), 2_000)]
    column = pd.Series(values, dtype=dtype)
    assert parse_side(column).tolist() == [reference_text_side(v) for v in values]
    assert parse_side(column.iloc[:0]).tolist() == []


def test_text_sides_of_mixed_objects_go_by_their_text() -> None:
    """An object column mixing text and numbers (not Arrow strings): each value's ``str``."""
    values = ["buy", 1, -1.0, 2, " S ", None, 1.5, "sell"]
    column = pd.Series(values, dtype=object)
    assert parse_side(column).tolist() == [reference_text_side(v) for v in values] == [1, 1, -1, -1, -1, 0, 0, -1]


# --------------------------------------------------------------------------- depth


def reference_ofi(pb, qb, pa, qa):
    """ofi_events as first written: terms added to zeros one temporary at a time."""
    e = np.zeros(len(pb))
    step = e[1:]
    step += qb[1:] * (pb[1:] >= pb[:-1])
    step -= qb[:-1] * (pb[1:] <= pb[:-1])
    step -= qa[1:] * (pa[1:] <= pa[:-1])
    step += qa[:-1] * (pa[1:] >= pa[:-1])
    step[~np.isfinite(step)] = 0.0
    return e


def random_quotes(n: int, seed: int, bad: float | None = None) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    pb = 100 + 0.25 * np.cumsum(rng.choice([-1, 0, 0, 1], n))
    pa = pb + 0.25 * rng.integers(1, 3, n)
    qb, qa = rng.exponential(7.0, n), rng.integers(0, 9, n).astype(float)
    if bad is not None:
        for arr in (pb, qb, pa, qa):
            arr[rng.integers(0, n, 15)] = bad
    return pb, qb, pa, qa


@pytest.mark.filterwarnings("ignore:invalid value encountered in multiply")  # inf * 0, as the formula has it
@pytest.mark.parametrize("bad", [None, np.nan, np.inf, -3.0, -0.0, 0.0])
def test_ofi_events_equal_the_formula_bit_for_bit(bad: float | None) -> None:
    from data.bars.blocks import bar_blocks
    from data.bars.depth import _block_ofi, ofi_events

    quotes = random_quotes(3_000, 5, bad)
    want = reference_ofi(*quotes)
    assert np.array_equal(ofi_events(*quotes).view(np.int64), want.view(np.int64))
    starts = np.arange(0, 3_000, 70)
    sums = np.concatenate([_block_ofi(*quotes, lo, hi, starts[b0:b1] - lo, np.empty(3_000), np.empty(3_000))
                           for b0, b1, lo, hi in bar_blocks(starts, 3_000, 500)])
    assert np.array_equal(sums.view(np.int64), np.add.reduceat(want, starts).view(np.int64))


def reference_weighted_mean(v, ts, starts, stamps):
    """time_weighted_mean as first written (weights, then finite values only)."""
    from data.bars.depth import _weighted_bar_mean

    n = len(v)
    last = np.append(starts[1:], n) - 1
    weight = np.empty(n)
    np.subtract(ts[1:], ts[:-1], out=weight[:-1], casting="unsafe")
    weight[last] = np.maximum(stamps - ts[last], 0)
    return _weighted_bar_mean(v, weight, starts)


@pytest.mark.parametrize("bad", [None, np.nan, np.inf])
def test_time_weighted_and_plain_bar_means_equal_the_masked_formulas(bad: float | None) -> None:
    from data.bars.depth import _nan_bar_mean, time_weighted_mean

    rng = np.random.default_rng(8)
    v = rng.normal(size=2_000)
    if bad is not None:
        v[rng.integers(0, 2_000, 30)] = bad
    ts = np.cumsum(rng.choice([0, 0, 5, 10**6, 10**9], 2_000)).astype(np.int64)
    starts = np.unique(np.concatenate(([0], rng.integers(1, 2_000, 150)))).astype(np.int64)
    stamps = ts[np.append(starts[1:], 2_000) - 1] + rng.choice([0, 10**9], len(starts))
    want = reference_weighted_mean(v, ts, starts, stamps)
    np.testing.assert_array_equal(time_weighted_mean(v, ts, starts, stamps), want)
    known = np.isfinite(v)
    with np.errstate(invalid="ignore", divide="ignore"):
        plain = np.add.reduceat(np.where(known, v, 0.0), starts) / np.add.reduceat(known.astype(float), starts)
    np.testing.assert_array_equal(_nan_bar_mean(v, starts), plain)


@pytest.mark.parametrize("every", [1, 40])
def test_persistent_size_from_gathered_windows_equals_the_pass_over_all_states(every: int) -> None:
    from data.bars import depth

    pb, qb, _, _ = random_quotes(4_000, 2, np.nan)
    ts = np.cumsum(np.random.default_rng(4).choice([0, 10**7, 10**8, 10**9], 4_000)).astype(np.int64)
    at = np.arange(3, 4_000, every)
    anchor = np.searchsorted(ts, ts[at] - 10**9, side="right") - 1
    windows = depth._windows(anchor, at, len(ts))
    if every == 1:
        assert windows is None  # more states in the windows than there are: one pass instead
    else:
        got = depth._persistent_in_windows(pb, qb, at, anchor, windows)
        changes = np.flatnonzero(pb[1:] != pb[:-1]) + 1
        run_start = np.concatenate(([0], changes))[np.searchsorted(changes, at, side="right")]
        lowest = depth._range_min(qb, ts, np.maximum(anchor, 0), at, 10**9)
        want = np.where(np.isnan(qb[at]), np.nan, np.where(anchor >= run_start, lowest, 0.0))
        np.testing.assert_array_equal(got, want)
        assert (got > 0).sum() > 10  # some windows did rest


# --------------------------------------------------------------------------- footprint


def reference_infer_tick_size(price: np.ndarray) -> float:
    """infer_tick_size as first written (filtered copies of the gaps)."""
    price = np.asarray(price, dtype=np.float64)[:1_000_000]
    gaps = np.abs(np.diff(price))
    gaps = gaps[np.isfinite(gaps) & (gaps > 0)]
    if len(gaps) == 0:
        return 1.0
    smallest = float(gaps.min())
    scale = float(np.nanmax(np.abs(price))) * 1e-9
    if smallest <= scale:
        gaps = gaps[gaps > scale]
        if len(gaps) == 0:
            return 1.0
        smallest = float(gaps.min())
    return float(f"{smallest:.6g}")


@pytest.mark.parametrize("prices", [
    [], [5.0], [5.0, 5.0, 5.0], [1.0, np.nan, 1.25, np.inf, 1.5], [np.nan, np.nan], [np.inf, 1.0, 2.0],
    [-3.0, -2.5, -2.75], [4567.01, 4567.02, 4567.010000000000005, 4567.03], [1e12, 1e12 + 1e-4, 1e12 + 1.0],
    [0.0, 0.0, 1e-12], list(100 + 0.01 * np.cumsum(np.random.default_rng(1).integers(-3, 4, 5_000))),
])
def test_infer_tick_size_equals_the_filtered_gaps(prices: list[float]) -> None:
    from data.bars.footprint import infer_tick_size

    with np.errstate(invalid="ignore"):
        assert infer_tick_size(np.array(prices)) == reference_infer_tick_size(np.array(prices))


@pytest.mark.parametrize("tick", [0.25, 0.01, 0.3, 1e-5, 7.0])
def test_price_levels_in_one_buffer_equal_rint_astype(tick: float) -> None:
    from data.bars.footprint import price_levels

    price = np.random.default_rng(2).uniform(-50, 5_000, 20_000)
    price[:3] = [0.125, 2.5, -2.5]  # halves round to even either way
    inverse = 1.0 / tick
    scaled = price * round(inverse) if abs(inverse - round(inverse)) < 1e-9 * inverse else price / tick
    assert np.array_equal(price_levels(price, tick), np.rint(scaled).astype(np.int64))


def tie_heavy_grid(seed: int, nan: bool = False):
    """A grid of many bars whose cells share a few small volumes (ties everywhere)."""
    from data.bars.footprint import grid_from_arrays

    rng = np.random.default_rng(seed)
    n = 6_000
    price = 100 + 0.25 * rng.integers(0, 9, n)
    size = rng.integers(1, 3, n).astype(float)
    if nan:
        size[rng.integers(0, n, 5)] = np.nan
    side = rng.choice(np.array([-1, 0, 1], dtype=np.int8), n)
    starts = np.unique(np.concatenate(([0], rng.integers(1, n, 400)))).astype(np.int64)
    return grid_from_arrays(price, size, side, starts, np.arange(len(starts)), 0.25), price, size, side, starts


@pytest.mark.parametrize("nan", [False, True])
def test_point_of_control_without_a_sort_equals_the_lexsort(nan: bool) -> None:
    from data.bars.footprint import point_of_control

    grid = tie_heavy_grid(4, nan)[0]
    bar = grid.bar
    rel = np.arange(len(bar)) - grid.offsets[:-1][bar]
    off_centre = np.abs(2 * rel - (grid.high - grid.low)[bar])
    want = np.lexsort((rel, off_centre, -grid.volume, bar))[grid.offsets[:-1]]
    assert np.array_equal(point_of_control(grid), want)


@pytest.mark.parametrize("threshold,window", [("p99", 10_000), ("p90", 700), ("p50", 1), (2.0, 10_000)])
def test_large_trades_compared_per_block_equal_the_per_trade_thresholds(threshold, window) -> None:
    from data.bars.large import large_trade_threshold, large_trade_volume

    _, _, size, side, starts = tie_heavy_grid(6)
    size = size * np.random.default_rng(1).exponential(1.0, len(size))
    per_trade = large_trade_threshold(size, threshold, window)
    large = size >= per_trade
    bar = np.searchsorted(starts, np.arange(len(size)), side="right") - 1
    want_buy = np.bincount(bar[large], weights=np.where(side == 1, size, 0.0)[large], minlength=len(starts))
    want_sell = np.bincount(bar[large], weights=np.where(side == -1, size, 0.0)[large], minlength=len(starts))
    buy, sell = large_trade_volume(size, side, starts, threshold, window)
    assert np.array_equal(buy, want_buy) and np.array_equal(sell, want_sell)
    assert 0 < large.sum() < len(size)


# --------------------------------------------------------------------------- blocks


def test_bar_blocks_cover_every_bar_once_in_whole_bars() -> None:
    from data.bars.blocks import bar_blocks

    assert bar_blocks(np.array([0, 3, 5, 9, 20]), 25, 4) == [(0, 2, 0, 5), (2, 3, 5, 9), (3, 4, 9, 20), (4, 5, 20, 25)]
    assert bar_blocks(np.array([0]), 25, 4) == [(0, 1, 0, 25)]  # one long bar: one block
    assert bar_blocks(np.zeros(0, dtype=np.int64), 0, 4) == []


@pytest.mark.parametrize("spec", ["1min", "5s", "250t", "40v"])
def test_bars_are_the_same_whatever_the_block_size(monkeypatch, spec: str) -> None:
    import pandas as pd

    from data import make_bars
    from data.bars import blocks
    from tests.benchmarks.common import synthetic_ticks

    ticks = synthetic_ticks(30_000, seed=2)
    rng = np.random.default_rng(0)
    ticks["size"] = rng.exponential(0.37, len(ticks))  # fractional: any change of summation order shows
    ticks.loc[rng.random(len(ticks)) < 0.01, "bid_size"] = np.nan
    whole = make_bars(ticks, spec)
    monkeypatch.setattr(blocks, "BLOCK_TICKS", 97)
    pd.testing.assert_frame_equal(make_bars(ticks, spec), whole, check_exact=True)


def reference_cells(price, size, side, starts, tick):
    """grid_from_arrays as first written: every tick's level, one bincount over all keys."""
    from data.bars.footprint import price_levels

    n = len(price)
    level = price_levels(price, tick)
    low, high = np.minimum.reduceat(level, starts), np.maximum.reduceat(level, starts)
    offsets = np.concatenate(([0], np.cumsum(high - low + 1))).astype(np.int64)
    key = level * 3 + side + np.repeat(3 * (offsets[:-1] - low) + 1, np.diff(np.append(starts, n)))
    n_keys = 3 * int(offsets[-1])
    return low, high, offsets, np.bincount(key, weights=size, minlength=n_keys), np.bincount(key, minlength=n_keys)


@pytest.mark.parametrize("tick", [0.25, 0.3, 0.01])
@pytest.mark.parametrize("block", [None, 97])
def test_grid_binned_by_block_equals_one_bincount(monkeypatch, tick: float, block: int | None) -> None:
    from data.bars import blocks
    from data.bars.footprint import grid_from_arrays

    if block:
        monkeypatch.setattr(blocks, "BLOCK_TICKS", block)
    rng = np.random.default_rng(12)
    n = 20_000
    price = 4_000 + 0.25 * np.cumsum(rng.choice([-2, -1, 0, 0, 1, 2], n))
    size = rng.exponential(0.37, n)
    side = rng.choice(np.array([-1, 0, 1], dtype=np.int8), n)
    starts = np.unique(np.concatenate(([0], rng.integers(1, n, 300)))).astype(np.int64)
    low, high, offsets, volume, counts = reference_cells(price, size, side, starts, tick)
    for price_range in (None, (np.minimum.reduceat(price, starts), np.maximum.reduceat(price, starts))):
        grid = grid_from_arrays(price, size, side, starts, np.arange(len(starts)), tick, price_range=price_range)
        assert np.array_equal(grid.low, low) and np.array_equal(grid.high, high)
        assert np.array_equal(grid.offsets, offsets)
        got = np.column_stack([grid.sell, grid.unknown, grid.buy]).ravel()
        assert np.array_equal(got.view(np.int64), volume.view(np.int64))
        trades = np.column_stack([grid.sell_trades, grid.unknown_trades, grid.buy_trades]).ravel()
        assert np.array_equal(trades, counts)


def test_grid_with_odd_prices_or_sides_takes_the_plain_path() -> None:
    from data.bars.footprint import grid_from_arrays

    price = np.array([10.0, 10.25, 10.5, 10.25])
    starts = np.array([0, 2])
    odd_side = grid_from_arrays(price, np.ones(4), np.array([1, 2, -1, 0]), starts, starts, 0.25)
    # side 2 at 10.25 (cell 1) lands one key up: the sell slot of cell 2, a cell of the next bar
    # (as the single bincount always did); 10.5 sold and 10.25 unknown fill cells 3 and 2
    assert odd_side.sell.tolist() == [0.0, 0.0, 1.0, 1.0] and odd_side.buy.tolist() == [1.0, 0.0, 0.0, 0.0]
    assert odd_side.unknown.tolist() == [0.0, 0.0, 1.0, 0.0]
    with np.errstate(invalid="ignore"), pytest.raises(OverflowError):  # a NaN price has no level, as before
        grid_from_arrays(np.array([10.0, np.nan, 10.5]), np.ones(3), np.ones(3, np.int8), starts[:1], starts[:1], 0.25)


# --------------------------------------------------------------------------- large-trade percentiles


def reference_order_statistic(blocks: np.ndarray, q: float) -> np.ndarray:
    """The ceil(q% * m)-th smallest of each row: one np.partition of the whole row (the plain formula)."""
    m = blocks.shape[1]
    k = min(max(int(np.ceil(q / 100.0 * m)) - 1, 0), m - 1)
    return np.partition(blocks, k, axis=1)[:, k]


@pytest.mark.parametrize("q", [0.0, 50.0, 87.5, 90.0, 99.0, 99.5, 99.99, 100.0])
@pytest.mark.parametrize("m", [1, 7, 16, 100, 997, 10_000])
@pytest.mark.parametrize("kind", ["geometric", "exponential", "constant", "sorted", "reversed", "special"])
def test_order_statistic_equals_one_partition(q: float, m: int, kind: str) -> None:
    """The bounded ranking (only the values at or above the smallest group maximum)
    picks the very value np.partition picks: ties, constant rows, sorted rows, and
    rows with NaN (sorted last), infinities and signed zeros."""
    from data.bars.large import _order_statistic

    rng = np.random.default_rng(int(q * 100) + m)
    rows = 6
    values = {
        "geometric": lambda: rng.geometric(0.4, rows * m).astype(np.float64),
        "exponential": lambda: rng.exponential(3.0, rows * m),
        "constant": lambda: np.full(rows * m, 2.0),
        "sorted": lambda: np.sort(rng.integers(0, 50, rows * m)).astype(np.float64),
        "reversed": lambda: np.sort(rng.exponential(3.0, rows * m))[::-1].copy(),
        "special": lambda: rng.choice(np.array([0.0, -0.0, 1.0, 5.0, np.inf, np.nan]), rows * m,
                                      p=[0.3, 0.2, 0.3, 0.17, 0.02, 0.01]),
    }[kind]()
    blocks = values.reshape(rows, m)
    got, want = _order_statistic(blocks, q), reference_order_statistic(blocks, q)
    assert np.array_equal(got, want, equal_nan=True)  # -0.0 == 0.0: either zero is the same threshold


@pytest.mark.parametrize("threshold", ["p99", "p90", 3.0])
def test_large_orders_of_single_trades_equal_the_grouped_formula(threshold) -> None:
    """When every trade is an order of its own, large_order_volume skips the grouping;
    the result is the grouped formula's: order sizes by np.add.reduceat over the order
    starts, each counted in the bar of its last trade (and with carried blocks)."""
    from data.bars.large import LargeTradeCarry, large_trade_volume
    from data.bars.orders import large_order_volume

    rng = np.random.default_rng(21)
    n = 25_000
    times = np.cumsum(rng.integers(1, 1_000, n))  # distinct times: no two trades in one order
    size, side = rng.geometric(0.4, n).astype(np.float64), rng.choice(np.array([-1, 0, 1], dtype=np.int8), n)
    starts = np.unique(np.concatenate(([0], rng.integers(1, n, 400))))
    first = np.arange(n)
    for cut in (n, 12_345):
        plain_carry, fast_carry = LargeTradeCarry(), LargeTradeCarry()
        for lo, hi in ((0, cut), (cut, n)):
            if lo == hi:
                continue
            local = starts[(starts >= lo) & (starts < hi)] - lo
            local = np.unique(np.concatenate(([0], local)))
            want = large_trade_volume(np.add.reduceat(size[lo:hi], first[: hi - lo]), side[lo:hi][first[: hi - lo]],
                                      local, threshold, 1_000, positions=first[: hi - lo], carry=plain_carry)
            got = large_order_volume(times[lo:hi], size[lo:hi], side[lo:hi], local, threshold, 1_000, carry=fast_carry)
            assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
        assert np.array_equal(plain_carry.sizes, fast_carry.sizes) and plain_carry.threshold == fast_carry.threshold


@pytest.mark.parametrize("kind,price,extra", [
    ("market", np.nan, {}), ("limit", 100.25, {}), ("stop", 99.5, {}), ("stop_limit", 99.5, {"limit": 99.25}),
    ("trail", np.nan, {"trail_amount": 0.75}), ("trail", 101.0, {"trail_percent": 0.01}),
    ("trail_limit", np.nan, {"trail_amount": 1.0, "limit_offset": -0.25})])
def test_one_order_made_whole_equals_the_checked_row(kind: str, price: float, extra: dict) -> None:
    """The broker's order, made whole (``_Orders.one``: no DataFrame, no checks), is the order the checks make
    of the same row."""
    from execution.simulate import _check_orders, _Orders

    sent, arrival = 1_709_287_260_000_000_000, 1_709_287_260_002_000_000
    row = pd.DataFrame({"id": [7], "time": pd.DatetimeIndex([sent]).tz_localize("UTC"),
                        "arrival": pd.DatetimeIndex([arrival]).tz_localize("UTC"), "side": [-1], "type": [kind],
                        "price": [price], "size": [3.0], **{k: [v] for k, v in extra.items()}})
    checked = _check_orders(row)
    whole = _Orders.one(7, sent, -1, kind, price, 3.0, arrival=arrival, **extra)
    for name in _Orders.__dataclass_fields__:
        got, want = getattr(whole, name), getattr(checked, name)
        assert got.dtype.kind == want.dtype.kind and np.array_equal(got, want, equal_nan=got.dtype.kind == "f"), name
