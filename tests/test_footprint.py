"""Footprints: the tidy table, POC, value area, diagonal and stacked imbalances,
large trades and absorption, checked by hand and against per-bar reference loops."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data import OrderFlowError, absorption, add_footprint_lines, footprint, footprint_stats, make_bars
from data.bars.footprint import (
    FootprintGrid,
    diagonal_imbalances,
    footprint_grid,
    grid_from_arrays,
    grid_from_table,
    grid_stats,
    infer_tick_size,
    level_prices,
    point_of_control,
    price_levels,
    value_area,
)
from data.bars.large import large_trade_threshold, large_trade_volume
from tests.conftest import need_sample

T0 = pd.Timestamp("2024-03-01 14:30:10", tz="UTC")

# A bar worked by hand (tick 0.25, price: sell x buy).
LADDER = [(101.00, 2, 40), (100.75, 10, 36), (100.50, 11, 33), (100.25, 9, 4), (100.00, 20, 1)]


def ladder_ticks(ladder, at=T0) -> pd.DataFrame:
    """One sell and one buy trade per level, all inside one 1-minute bar."""
    price, size, side = [], [], []
    for p, sold, bought in ladder:
        price += [p, p]
        size += [sold, bought]
        side += [-1, 1]
    return pd.DataFrame({
        "timestamp": pd.DatetimeIndex([at] * len(price)).as_unit("ns"),
        "price": np.array(price, dtype=float),
        "size": np.array(size, dtype=float),
        "side": np.array(side, dtype=np.int8),
    })


def test_worked_example_imbalances_stack_delta_poc_value_area():
    ticks = ladder_ticks(LADDER)
    stats = footprint_stats(ticks, "1min", 0.25, ratio=3, min_volume=5).iloc[0]
    grid = footprint_grid(ticks, "1min", 0.25)
    buy_imb, sell_imb = diagonal_imbalances(grid, ratio=3, min_volume=5)
    prices = grid.price
    # buy at p vs sell at p - 0.25: 40 >= 3*10, 36 >= 3*11, 33 >= 3*9; 4 < 3*20; 1 < 5 (minimum volume)
    assert prices[buy_imb].tolist() == [100.50, 100.75, 101.00]
    # sell at p vs buy at p + 0.25: 20 >= 3*4 at 100.00; 9 < 99, 11 < 108, 10 < 120; 2 < 5 at the top
    assert prices[sell_imb].tolist() == [100.00]
    assert stats["buy_imbalances"] == 3 and stats["sell_imbalances"] == 1
    assert stats["buy_stack"] == 3 and (stats["buy_stack_low"], stats["buy_stack_high"]) == (100.50, 101.00)
    assert stats["sell_stack"] == 1 and (stats["sell_stack_low"], stats["sell_stack_high"]) == (100.00, 100.00)
    table = footprint(ticks, "1min", 0.25)
    assert table["delta"].sum() == 62.0  # bought 114, sold 52
    # volumes 42, 46, 44, 13, 21 (total 166): POC 100.75 (46). Value area, 70% = 116.2:
    # 46 -> +44 (100.50 beats 101.00's 42) = 90 -> +42 (101.00 beats 100.25's 13) = 132 >= 116.2
    assert stats["poc"] == 100.75
    assert (stats["val"], stats["vah"]) == (100.50, 101.00)


def test_footprint_table_rows_columns_and_alignment_with_make_bars(small_ticks):
    table = footprint(small_ticks, "1min", 0.25)
    assert list(table.index.names) == ["timestamp", "price"]
    assert list(table.columns) == ["buy_volume", "sell_volume", "unknown_volume", "volume", "delta",
                                   "buy_trades", "sell_trades", "unknown_trades"]
    assert table.attrs["tick_size"] == 0.25 and table.attrs["bar_spec"] == "1min"
    # 09:32 bar: 100.00 unknown 4 (1 trade), 100.25 buy 2, 100.50 buy 6
    bar = table.loc[pd.Timestamp("2024-03-01 09:32", tz="UTC")]
    assert bar.index.tolist() == [100.00, 100.25, 100.50]
    assert bar["unknown_volume"].tolist() == [4.0, 0.0, 0.0]
    assert bar["buy_volume"].tolist() == [0.0, 2.0, 6.0]
    assert bar["buy_trades"].tolist() == [0.0, 1.0, 1.0] and bar["unknown_trades"].tolist() == [1.0, 0.0, 0.0]
    # 09:33 bar: 100.25 was traded twice (sell 3 and buy 2.5)
    assert table.loc[(pd.Timestamp("2024-03-01 09:33", tz="UTC"), 100.25), "volume"] == 5.5
    bars = make_bars(small_ticks, "1min")
    per_bar = table.groupby(level="timestamp")[["volume", "delta"]].sum()
    pd.testing.assert_index_equal(per_bar.index, bars.index)
    np.testing.assert_allclose(per_bar["volume"], bars["volume"])
    np.testing.assert_allclose(per_bar["delta"], bars["delta"])


@pytest.mark.parametrize("spec", ["5min", "3t", "2000v"])
def test_footprints_align_with_bars_on_the_sample(spec):
    ticks = pd.read_parquet(need_sample()).iloc[:60_000]
    grid = footprint_grid(ticks, spec, 0.25)
    bars = make_bars(ticks, spec, tick_size=0.25)
    assert np.array_equal(grid.stamps, bars.index.asi8)
    cells = grid.offsets[:-1]
    np.testing.assert_allclose(np.add.reduceat(grid.volume, cells), bars["volume"])
    np.testing.assert_allclose(np.add.reduceat(grid.buy - grid.sell, cells), bars["delta"], atol=1e-9)
    np.testing.assert_allclose(np.add.reduceat(grid.trades, cells), bars["trades"])
    np.testing.assert_array_equal(level_prices(grid.low, 0.25), bars["low"])
    np.testing.assert_array_equal(level_prices(grid.high, 0.25), bars["high"])
    assert (bars["val"] <= bars["poc"]).all() and (bars["vah"] >= bars["poc"]).all()
    table = footprint(ticks, spec, 0.25)
    assert table["volume"].sum() == pytest.approx(ticks["size"].sum())
    assert len(table) == int((grid.trades > 0).sum())


def test_zero_on_the_other_side_counts_once_the_minimum_volume_is_met():
    ticks = ladder_ticks(LADDER)
    grid = footprint_grid(ticks, "1min", 0.25)
    buy, sell = diagonal_imbalances(grid, ratio=3, min_volume=0)
    # with no minimum, the bottom buy (1 over nothing below) and the top sell (2 over nothing above) count
    assert grid.price[buy].tolist() == [100.00, 100.50, 100.75, 101.00]
    assert grid.price[sell].tolist() == [100.00, 101.00]
    stats = grid_stats(grid, ratio=3, min_volume=0)
    # two sell runs of one level: ties go to the lowest (the run furthest down)
    assert stats["sell_stack"][0] == 1 and stats["sell_stack_low"][0] == 100.00


def test_gap_levels_break_a_stack_and_hold_zero_volume():
    # 101.00 and 100.50 buy imbalances with nothing traded at 100.75: two runs of one, not a stack of 2
    ticks = ladder_ticks([(101.00, 1, 30), (100.50, 2, 30), (100.25, 1, 0)])
    grid = footprint_grid(ticks, "1min", 0.25)
    assert grid.price.tolist() == [100.25, 100.50, 100.75, 101.00]
    assert grid.volume.tolist() == [1.0, 32.0, 0.0, 31.0]
    stats = grid_stats(grid, ratio=3, min_volume=5)
    assert stats["buy_imbalances"][0] == 2 and stats["buy_stack"][0] == 1
    assert stats["buy_stack_low"][0] == 101.00  # ties between buy runs: the highest
    assert len(footprint(ticks, "1min", 0.25)) == 3  # the empty level has no row in the table


def test_point_of_control_ties_go_to_the_middle_then_lower():
    ticks = ladder_ticks([(100.75, 0, 5), (100.50, 0, 5), (100.25, 0, 2), (100.00, 0, 5)])
    grid = footprint_grid(ticks, "1min", 0.25)
    # levels 100.00..100.75, middle 100.375: 100.50 and 100.25 are nearest, 100.25 has 2 -> 100.50
    assert grid.price[point_of_control(grid)].tolist() == [100.50]
    ticks = ladder_ticks([(100.50, 0, 5), (100.25, 0, 1), (100.00, 0, 5)])
    grid = footprint_grid(ticks, "1min", 0.25)
    assert grid.price[point_of_control(grid)].tolist() == [100.00]  # equally far from 100.25: the lower


def reference_value_area(volumes: list[float], fraction: float) -> tuple[int, int]:
    """The greedy rule, one level at a time (above on ties), on one bar's ladder."""
    v = np.asarray(volumes, dtype=float)
    width = len(v)
    off = np.abs(2 * np.arange(width) - (width - 1))
    poc = min(range(width), key=lambda i: (-v[i], off[i], i))
    lo = hi = poc
    area, target = v[poc], fraction * v.sum() - 1e-9 * v.sum()
    while area < target and (lo > 0 or hi < width - 1):
        up = v[hi + 1] if hi < width - 1 else -1.0
        down = v[lo - 1] if lo > 0 else -1.0
        if up >= down:
            hi += 1
            area += up
        else:
            lo -= 1
            area += down
    return lo, hi


ladders = st.lists(st.lists(st.integers(0, 6), min_size=1, max_size=9), min_size=1, max_size=8)


@settings(max_examples=150, deadline=None)
@given(ladders, st.sampled_from([0.5, 0.7, 0.9, 1.0]))
def test_value_area_matches_the_greedy_loop(bars_volumes, fraction):
    widths = np.array([len(b) for b in bars_volumes])
    if any(sum(b) == 0 for b in bars_volumes):  # a bar always holds at least one trade
        bars_volumes = [b if sum(b) else b[:-1] + [1] for b in bars_volumes]
    low = np.arange(len(widths)) * 100
    volume = np.concatenate([np.asarray(b, dtype=float) for b in bars_volumes])
    zero = np.zeros_like(volume)
    grid = FootprintGrid(1.0, np.arange(len(widths)), low, low + widths - 1,
                         np.concatenate(([0], np.cumsum(widths))), volume, zero, zero, zero, zero, zero)
    val, vah = value_area(grid, point_of_control(grid), fraction)
    for b, vols in enumerate(bars_volumes):
        lo, hi = reference_value_area(vols, fraction)
        assert (val[b] - low[b], vah[b] - low[b]) == (lo, hi), (vols, fraction)


def reference_longest(flags: list[bool], prefer_high: bool) -> tuple[int, int]:
    best_len, best_lo, i = 0, -1, 0
    while i < len(flags):
        if flags[i]:
            j = i
            while j + 1 < len(flags) and flags[j + 1]:
                j += 1
            length = j - i + 1
            if length > best_len or (length == best_len and prefer_high):
                best_len, best_lo = length, i
            i = j + 1
        else:
            i += 1
    return best_len, best_lo


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.tuples(st.integers(0, 9), st.integers(0, 9)), min_size=1, max_size=10),
                min_size=1, max_size=6), st.sampled_from([1.5, 3.0]), st.sampled_from([0, 3]))
def test_imbalances_and_stacks_match_per_bar_loops(bars_cells, ratio, min_volume):
    price, size, side, starts = [], [], [], []
    for b, cells in enumerate(bars_cells):
        starts.append(len(price))
        for level, (sold, bought) in enumerate(cells):
            p = 1000 * b + level
            price += [p, p]
            size += [sold, bought]
            side += [-1, 1]
        if sum(s for s in size[starts[-1]:]) == 0:
            size[-1] = 1
    grid = grid_from_arrays(np.array(price, float), np.array(size, float), np.array(side), np.array(starts),
                            np.arange(len(starts)), 1.0)
    stats = grid_stats(grid, ratio=ratio, min_volume=min_volume)
    for b in range(len(bars_cells)):
        cells = grid.offsets[b], grid.offsets[b + 1]
        buy, sell = grid.buy[cells[0]:cells[1]], grid.sell[cells[0]:cells[1]]
        n = len(buy)
        buy_flags = [buy[i] > 0 and buy[i] >= min_volume and buy[i] >= ratio * (sell[i - 1] if i else 0) for i in range(n)]
        sell_flags = [sell[i] > 0 and sell[i] >= min_volume and sell[i] >= ratio * (buy[i + 1] if i < n - 1 else 0)
                      for i in range(n)]
        assert stats["buy_imbalances"][b] == sum(buy_flags)
        assert stats["sell_imbalances"][b] == sum(sell_flags)
        for flags, prefix, high in ((buy_flags, "buy", True), (sell_flags, "sell", False)):
            length, lo = reference_longest(flags, prefer_high=high)
            assert stats[f"{prefix}_stack"][b] == length
            if length:
                assert stats[f"{prefix}_stack_low"][b] == grid.low[b] + lo
                assert stats[f"{prefix}_stack_high"][b] == grid.low[b] + lo + length - 1
            else:
                assert np.isnan(stats[f"{prefix}_stack_low"][b])


def test_grid_round_trips_through_the_table():
    ticks = pd.concat([ladder_ticks(LADDER), ladder_ticks(LADDER[1:], T0 + pd.Timedelta("1min"))])
    grid = footprint_grid(ticks, "1min", 0.25)
    again = grid_from_table(footprint(ticks, "1min", 0.25))
    for a, b in zip(grid_stats(grid, min_volume=5).values(), grid_stats(again, min_volume=5).values()):
        np.testing.assert_array_equal(a, b)


def test_price_levels_and_tick_size_inference():
    assert price_levels([100.01, 4567.01, 0.07], 0.01).tolist() == [10001, 456701, 7]
    assert level_prices(np.array([456701]), 0.01).tolist() == [4567.01]
    assert infer_tick_size([100.00, 100.01, 100.03, 99.98]) == 0.01
    assert infer_tick_size([5000.25, 5000.75, 5000.25]) == 0.5  # never saw adjacent ticks: a multiple of 0.25
    assert infer_tick_size([7.0, 7.0]) == 1.0
    with pytest.raises(OrderFlowError, match="tick_size"):
        price_levels([1.0], 0)
    with pytest.raises(OrderFlowError, match="too small"):
        footprint(ladder_ticks([(100.0, 1, 1), (1e6, 1, 1)]), "1min", 0.01)


def test_large_trade_threshold_by_blocks_and_absolute():
    size = np.array([1, 2, 3, 10, 1, 1, 1, 1, 50.0])
    # blocks of 4: [1 2 3 10] -> p75 = the 3rd smallest, 3; [1 1 1 1] -> 1; [50]
    # each block is judged by the one before; the first by itself
    assert large_trade_threshold(size, "p75", window=4).tolist() == [3, 3, 3, 3, 3, 3, 3, 3, 1]
    starts = np.array([0, 4])
    side = np.array([1, -1, 1, -1, 1, 1, -1, 1, -1])
    buy, sell = large_trade_volume(size, side, starts, "p75", window=4)
    assert buy.tolist() == [3.0, 0.0] and sell.tolist() == [10.0, 50.0]
    buy, sell = large_trade_volume(size, side, starts, 2.0)
    assert buy.tolist() == [3.0, 0.0] and sell.tolist() == [12.0, 50.0]
    with pytest.raises(OrderFlowError, match="percentile"):
        large_trade_threshold(size, "top1%")


def absorption_bars(rows) -> pd.DataFrame:
    cols = ["open", "high", "low", "close", "volume", "delta", "poc"]
    index = pd.date_range("2024-03-01 14:31", periods=len(rows), freq="1min", tz="UTC")
    return pd.DataFrame(rows, columns=cols, index=index)


def test_absorption_hand_cases():
    quiet = [100, 101, 99, 100, 100, 0, 100]  # 100 volume, balanced
    rows = [quiet] * 3 + [
        [100, 100.5, 99, 100.25, 400, -200, 99.25],  # heavy (400 >= 1.5 x 100), sold -50%, closed up, POC at the low
        [100, 101, 99.5, 100.75, 400, 150, 100.75],  # bought +37.5%, rose +0.75 of 1.5 range: progress too big
        [100, 101, 99, 99.75, 500, 300, 100.75],     # 500 >= 1.5 x mean(100, 400, 400); bought +60%, closed
                                                     # lower, POC 0.25 below the high (<= 2/3): absorbed
        [100, 101, 99, 100, 140, -100, 99],           # sold hard at the low, but 140 < 1.5 x mean(400, 400, 500)
    ]
    signal = absorption(absorption_bars(rows), lookback=3, volume_factor=1.5, delta_fraction=0.25,
                        max_progress=0.25, extreme=1 / 3)
    assert signal.tolist() == [0, 0, 0, 1, 0, -1, 0]
    with pytest.raises(OrderFlowError, match="poc"):
        absorption(absorption_bars(rows).drop(columns="poc"))


def test_add_footprint_lines_recomputes_with_other_parameters():
    ticks = ladder_ticks(LADDER)
    bars = make_bars(ticks, "1min", tick_size=0.25)
    assert bars["buy_imbalances"].iloc[0] == 4  # defaults: no minimum volume
    stricter = add_footprint_lines(bars, ticks, 0.25, ratio=3, min_volume=5)
    assert stricter["buy_imbalances"].iloc[0] == 3 and stricter["sell_imbalances"].iloc[0] == 1
    assert bars["buy_imbalances"].iloc[0] == 4  # the original is untouched
    with pytest.raises(OrderFlowError, match="do not match"):
        add_footprint_lines(bars, ladder_ticks(LADDER, T0 + pd.Timedelta("5min")), 0.25)


# --- indicators ---------------------------------------------------------------------------------

from data.feed import OrderFlowFeed  # noqa: E402
from indicators import Absorption, FootprintImbalances, LargeTrades, PointOfControl, StackedImbalance  # noqa: E402
from tests.test_indicators import bars_frame, run_indicators  # noqa: E402


def stack_bars() -> pd.DataFrame:
    return bars_frame(
        pd.date_range("2024-03-01 14:31", periods=5, freq="1min", tz="UTC"),
        high=[101, 102, 103, 104, 105], low=[99, 100, 101, 102, 103],
        buy_stack=[3, 2, 4, 3, 0], buy_stack_low=[100, 101, 101.5, 103, np.nan],
        buy_stack_high=[100.5, 101.25, 102.25, 103.5, np.nan],
        sell_stack=[1, 3, 4, 2, 5], sell_stack_low=[99, 100, 101, 102, 103],
        sell_stack_high=[99, 100.5, 101.75, 102.25, 104],
        buy_imbalances=[4, 2, 5, 3, 0], sell_imbalances=[1, 3, 4, 2, 6],
        large_buy_volume=[10, 0, 5, 0, 0], large_sell_volume=[0, 20, 5, 0, 7],
    )


@pytest.mark.parametrize("runonce", [True, False])
def test_stacked_imbalance_signal_levels_and_marks(runonce):
    got = run_indicators(OrderFlowFeed.from_bars(stack_bars()),
                         {"s": lambda d: StackedImbalance(d, min_stack=3), "i": lambda d: FootprintImbalances(d),
                          "l": lambda d: LargeTrades(d)}, runonce)
    s = got["s"]
    # bar 1: buy 3 vs sell 1 (below 3) -> +1; bar 2: sell 3 vs buy 2 -> -1; bar 3: 4 vs 4 -> 0;
    # bar 4: buy 3, sell 2 -> +1; bar 5: sell 5 -> -1
    assert s["signal"].tolist() == [1, -1, 0, 1, -1]
    np.testing.assert_array_equal(s["stack_low"], [100, 100, np.nan, 103, 103])
    np.testing.assert_array_equal(s["stack_high"], [100.5, 100.5, np.nan, 103.5, 104])
    np.testing.assert_array_equal(s["bull_mark"], [99, np.nan, np.nan, 102, np.nan])
    np.testing.assert_array_equal(s["bear_mark"], [np.nan, 102, np.nan, np.nan, 105])
    assert got["i"]["net"].tolist() == [3, -1, 1, 1, -6] and got["i"]["sell_down"].tolist() == [-1, -3, -4, -2, -6]
    assert got["l"]["net"].tolist() == [10, -20, 0, 0, -7]


@pytest.mark.parametrize("runonce", [True, False])
def test_absorption_indicator_equals_the_data_function_and_poc_lines_pass_through(runonce):
    ticks = pd.read_parquet(need_sample()).iloc[:40_000]
    bars = make_bars(ticks, "1min", tick_size=0.25)
    params = dict(lookback=10, volume_factor=1.3, delta_fraction=0.15, max_progress=0.3, extreme=0.4)
    got = run_indicators(OrderFlowFeed.from_bars(bars),
                         {"a": lambda d: Absorption(d, **params), "p": lambda d: PointOfControl(d)}, runonce)
    expected = absorption(bars, **params).to_numpy()
    assert np.isnan(got["a"]["signal"][:10]).all() and (expected[:10] == 0).all()
    np.testing.assert_array_equal(got["a"]["signal"][10:], expected[10:])
    assert (expected != 0).sum() >= 3  # the parameters do fire on the sample
    np.testing.assert_array_equal(got["a"]["bull_mark"][10:], np.where(expected[10:] == 1, bars["low"][10:], np.nan))
    np.testing.assert_array_equal(got["p"]["poc"], bars["poc"])
    np.testing.assert_array_equal(got["p"]["val"], bars["val"])


# --- footprint chart ------------------------------------------------------------------------------

from reports.colours import TEXT_ROLES, contrast_ratio, relative_luminance, text_colours  # noqa: E402
from reports.footprint_chart import cell_shades, cell_text_colours, footprint_chart, trade_footprints, window_grid  # noqa: E402


def test_window_grid_takes_the_make_bars_bars_of_the_window():
    ticks = pd.read_parquet(need_sample()).iloc[:30_000]
    bars = make_bars(ticks, "500t", tick_size=0.25)
    start, end = bars.index[10], bars.index[17]
    grid, ohlc = window_grid(ticks, start, end, spec="500t", tick_size=0.25, row_ticks=1)
    expected = bars.iloc[10:18]
    assert np.array_equal(grid.stamps, expected.index.asi8)
    for name in ("open", "high", "low", "close", "volume", "delta"):
        np.testing.assert_allclose(ohlc[name].to_numpy(), expected[name].to_numpy(), err_msg=name)
    np.testing.assert_array_equal(grid_stats(grid)["poc"], expected["poc"])
    # rows of 2 ticks: the same bars on a coarser ladder
    coarse, _ = window_grid(ticks, start, end, spec="500t", tick_size=0.25, row_ticks=2)
    assert coarse.tick_size == 0.5 and np.array_equal(coarse.stamps, grid.stamps)
    with pytest.raises(OrderFlowError, match="no 500t bar"):
        window_grid(ticks, "2030-01-01", None, spec="500t")


def test_footprint_chart_and_trade_footprints_write_pngs(tmp_path):
    ticks = pd.read_parquet(need_sample()).iloc[:20_000]
    bars = make_bars(ticks, "1min", tick_size=0.25)
    path = footprint_chart(ticks, bars.index[5], bars.index[12], spec="1min", tick_size=0.25,
                           path=tmp_path / "fp.png", min_volume=5, tz="America/Chicago")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    trades = pd.DataFrame({"entry_time": [bars.index[20] + pd.Timedelta("5s")], "entry_price": [bars["close"].iloc[20]],
                           "exit_time": [bars.index[24]], "exit_price": [bars["close"].iloc[24]], "size": [-1.0]})
    paths = trade_footprints(ticks, trades, tmp_path / "trades", spec="1min", tick_size=0.25)
    assert [p.name for p in paths] == ["trade_001.png"] and paths[0].stat().st_size > 10_000


def test_cell_text_colour_follows_the_cell_luminance():
    # white; the darkest cells cell_shades makes (strength 0.55 towards the sell and the buy tint); near black
    shades = np.array([[1.0, 1.0, 1.0], [0.912, 0.505, 0.5105], [0.505, 0.7745, 0.5875], [0.1, 0.1, 0.1]])
    lum = relative_luminance(shades)  # WCAG 2: 0.2126 R + 0.7152 G + 0.0722 B of the linearised channels
    np.testing.assert_allclose(lum, [1.0, 0.34507, 0.47004, 0.01002], atol=5e-5)
    assert contrast_ratio(1.0, 0.0) == 21.0 and contrast_ratio(0.0, 1.0) == 21.0
    # #333333 on the darkest sell cell: (0.3451 + 0.05) / (0.0331 + 0.05) = 4.75, under 7: black (7.9)
    np.testing.assert_allclose(contrast_ratio(lum[1], relative_luminance(np.array([0.2, 0.2, 0.2]))), 4.75, atol=5e-3)
    assert text_colours(shades, "plain").tolist() == ["#333333", "#000000", "#000000", "#ffffff"]
    # bold green (#1a9641) on the sell cell: 1.44, on the buy cell 1.90: the dark green, 3.08 and 4.05
    assert text_colours(shades, "buy").tolist() == ["#1a9641", "#0a5c23", "#0a5c23", "#1a9641"]
    assert text_colours(shades, "sell").tolist() == ["#d7191c", "#8c0e11", "#8c0e11", "#d7191c"]
    # the sign: grey (3.45 on white) under 2.5 on both dark cells; #595959 reaches 2.64 and 3.47
    assert text_colours(shades, "sign").tolist() == ["#8a8a8a", "#595959", "#595959", "#8a8a8a"]
    # a colour that reaches its minimum nowhere: the one of highest contrast (white on the sell cell, 2.66)
    assert text_colours(shades[1:2], "plain", minimum=30.0).tolist() == ["#000000"]
    assert set(TEXT_ROLES) == {"plain", "buy", "sell", "sign"}


def _png_cell_texts(ticks, start, end):
    """The footprint PNG's figure and, per traded cell, the colours of its sell, sign and buy texts
    and of its background (reports.footprint_chart._draw, as footprint_chart draws it)."""
    from data.bars.imbalance import imbalance_rule
    from reports.footprint_chart import _draw

    grid, ohlc = window_grid(ticks, start, end, spec="1min", tick_size=0.25)
    fig = _draw(grid, ohlc, rule=imbalance_rule(None, None, None), min_stack=3, tz="UTC", spec="1min", title=None,
                marks=None, tick_size=0.25)
    ax = fig.axes[0]
    texts = [t.get_color() for t in ax.texts]
    traded = np.flatnonzero(grid.trades > 0)
    assert len(texts) == 3 * len(traded)
    backgrounds = [p.get_facecolor()[:3] for p in ax.patches[: len(traded)]]
    return grid, traded, texts[0::3], texts[1::3], texts[2::3], np.array(backgrounds)


def test_footprint_png_text_reads_on_every_cell():
    ticks = pd.read_parquet(need_sample())
    grid, traded, sell, sign, buy, backgrounds = _png_cell_texts(ticks, "2024-04-16 14:30", "2024-04-16 15:00")
    np.testing.assert_allclose(backgrounds, cell_shades(grid)[traded])
    lum = relative_luminance(backgrounds)

    def contrast(colours):
        from matplotlib.colors import to_rgb

        return contrast_ratio(lum, relative_luminance(np.array([to_rgb(c) for c in colours])))  # per cell

    buy_imb, sell_imb = diagonal_imbalances(grid, 3.0)
    assert sell_imb[traded].any() and buy_imb[traded].any()
    assert contrast(sell).min() >= 3.0 and contrast(buy).min() >= 3.0  # bold red and green included
    assert contrast(sign).min() >= 2.5
    assert (contrast(sell)[~sell_imb[traded]] >= 7.0).all() and (contrast(buy)[~buy_imb[traded]] >= 7.0).all()
    colours = cell_text_colours(cell_shades(grid), buy_imb, sell_imb)
    assert list(sell) == colours["sell"][traded].tolist() and list(buy) == colours["buy"][traded].tolist()
    assert list(sign) == colours["sign"][traded].tolist()
    # the darkest cells of this window do need the dark variants
    assert "#8c0e11" in sell and "#0a5c23" in buy and "#000000" in sell


# --- stacked_imbalance strategy -----------------------------------------------------------------------

from strategies import StackedImbalanceStrategy, get_strategy  # noqa: E402
from tests.test_strategies import run as run_strategy  # noqa: E402


def stacked_strategy_bars(delta: float, side: int = 1) -> pd.DataFrame:
    # bar 2 prints a stack of 3 (100.25-100.75, buy) or (101.25-101.75, sell) and closes at 101
    frame = bars_frame(
        pd.date_range("2024-03-01 14:31", periods=5, freq="1min", tz="UTC"),
        open=[100.5, 100.5, 101.25, 101.0, 99.5], high=[101, 101.5, 101.5, 101.25, 100],
        low=[100, 100.25, 101.0, 99.75, 99.0], close=[100.5, 101.0, 101.0, 99.75, 99.5],
        delta=[0, delta, 0, 0, 0],
    )
    frame[f"{'buy' if side > 0 else 'sell'}_stack"] = [0, 3, 0, 0, 0]
    frame["buy_stack_low"], frame["buy_stack_high"] = [np.nan, 100.25, np.nan, np.nan, np.nan], [np.nan, 100.75] + [np.nan] * 3
    frame["sell_stack_low"], frame["sell_stack_high"] = [np.nan, 101.25, np.nan, np.nan, np.nan], [np.nan, 101.75] + [np.nan] * 3
    return frame


def test_stacked_imbalance_enters_with_the_stack_and_stops_beyond_it():
    _, _, trades = run_strategy(stacked_strategy_bars(delta=50.0), get_strategy("stacked_imbalance"))
    (trade,) = trades
    # long at bar 3's open; stop = stack low 100.25 - 0.25 = 100.00; target = 101 + 2 x (101 - 100) = 103
    assert trade["direction"] == "long" and trade["size"] == 1 and trade["entry_price"] == 101.25
    assert trade["exit_price"] == 100.0 and trade["closed"]  # bar 4's low 99.75 crosses the stop
    # the same stack against the bar's delta is not confirmed; without confirmation it trades
    _, _, trades = run_strategy(stacked_strategy_bars(delta=-50.0), StackedImbalanceStrategy)
    assert trades == []
    _, _, trades = run_strategy(stacked_strategy_bars(delta=-50.0), StackedImbalanceStrategy, confirm_delta=False)
    assert [t["closed"] for t in trades] == [True]


def test_stacked_imbalance_short_stop_above_the_stack_and_time_exit():
    _, _, trades = run_strategy(stacked_strategy_bars(delta=-50.0, side=-1), StackedImbalanceStrategy,
                                max_hold=1, target=None)
    (trade,) = trades
    # short at 101.25; stop 101.75 + 0.25 = 102 is never reached; held 1 bar -> closed at bar 5's open
    assert trade["direction"] == "short" and trade["size"] == 1 and trade["closed"]
    assert trade["entry_price"] == 101.25 and trade["exit_price"] == 99.5


# --- run_backtest.py --footprint / --trade-footprints / --compare ---------------------------------------

import json  # noqa: E402

from tests.test_run_backtest import run_cli  # noqa: E402

RANGE = ["--start", "2024-04-16 08:30", "--end", "2024-04-16 11:30", "--tz", "America/Chicago", "--size", "1"]


def test_cli_footprint_window_and_trade_footprints(tmp_path):
    need_sample()
    code, out, err = run_cli([*RANGE, "--strategy", "stacked_imbalance", "--no-plot", "--out", str(tmp_path),
                              "--footprint", "2024-04-16 09:30", "2024-04-16 09:40", "--trade-footprints", "2"])
    assert code == 0, err
    assert (tmp_path / "footprint.png").read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in (tmp_path / "footprints").iterdir()) == ["trade_001.png", "trade_002.png"]
    assert "footprint.png" in out
    code, _, err = run_cli([*RANGE, "--no-plot", "--out", str(tmp_path), "--footprint", "2024-04-16 10:00",
                            "2024-04-16 09:00"])
    assert code == 2 and "--footprint" in err


def test_cli_compare_runs_each_strategy_on_the_same_bars(tmp_path):
    need_sample()
    code, out, err = run_cli([*RANGE, "--out", str(tmp_path), "--compare", "stacked_imbalance,ofi_momentum",
                              "--param", "min_stack=4", "--param", "threshold=1.5"])
    assert code == 0, err
    table = pd.read_csv(tmp_path / "compare.csv", index_col="strategy")
    assert table.index.tolist() == ["stacked_imbalance", "ofi_momentum"]
    header = next(line for line in out.splitlines() if line.startswith("strategy"))
    assert "profit factor" in header and "Sharpe" in header
    # each row is what a run of that strategy alone gives (its own --param only)
    for name, param in (("stacked_imbalance", "min_stack=4"), ("ofi_momentum", "threshold=1.5")):
        alone = tmp_path / f"alone_{name}"
        code, _, err = run_cli([*RANGE, "--strategy", name, "--param", param, "--no-plot", "--out", str(alone)])
        assert code == 0, err
        metrics = json.loads((alone / "metrics.json").read_text())["metrics"]
        assert table.loc[name, "trades"] == metrics["trades"]
        assert table.loc[name, "net profit"] == pytest.approx(metrics["net_pnl"])
        assert json.loads((tmp_path / name / "metrics.json").read_text())["params"][param.split("=")[0]] == \
            float(param.split("=")[1])
    code, _, err = run_cli([*RANGE, "--out", str(tmp_path), "--compare", "stacked_imbalance", "--param", "nope=1"])
    assert code == 2 and "nope" in err
