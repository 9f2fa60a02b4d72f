"""Imbalance presets (data.bars.imbalance): each platform's rule on one hand-worked bar.

The bar (tick 0.25), sell x buy per level, and the diagonal pairs worked by hand:

    level   sell  buy   buy(p) vs sell(p-1)      sell(p) vs buy(p+1)
    101.25    0   12    12 vs  0 (zero)           0 -> never
    101.00    0   45    45 vs 15 (3.0 exactly)    0 -> never
    100.75   15   30    30 vs 14 (2.14, diff 16)  15 vs 45
    100.50   14    9     9 vs 60                  14 vs 30
    100.25   60    4     4 vs 35                  60 vs  9 (6.7)
    100.00   35    0     0 -> never               35 vs  4 (8.75)

- default (>= 3, no minimum, zero counts): buys 101.00 (3.0 >= 3), 101.25 (zero); sells 100.00, 100.25;
- atas (> 300%, volume > 30): 101.00 fails (45 is not > 45), 101.25 fails (12 is not > 30);
  sells 100.00 (35 > 12, 35 > 30) and 100.25 (60 > 27, 60 > 30);
- ninjatrader (> 1.5, difference >= 10): buys 100.75 (30 > 21, 16), 101.00 (45 > 22.5, 30),
  101.25 (12 > 0, 12); sells 100.00, 100.25: a stack of 3 buys;
- sierra (>= 300%, zero counts): as the default on these cells;
- custom(3, zero_rule="ignore"): 101.25 (against 0) drops: one buy;
- custom(3, diagonal=False), buy(p) vs sell(p): buys 101.25 (12 vs 0), 101.00 (45 vs 0);
  sells 100.00 (35 vs 0), 100.25 (60 vs 4); 100.75 (30 vs 15 = 2) is not one.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data import OrderFlowFeed, make_bars
from data.bars.footprint import add_footprint_lines, diagonal_imbalances, footprint_grid, footprint_stats
from data.bars.imbalance import IMBALANCE_PRESETS, ImbalanceRule, custom, imbalance_rule
from data.errors import OrderFlowError
from indicators import FootprintImbalances
from tests.conftest import canonical_ticks
from tests.test_indicators import run_indicators

CELLS = {  # level: (sell, buy)
    101.25: (0, 12),
    101.00: (0, 45),
    100.75: (15, 30),
    100.50: (14, 9),
    100.25: (60, 4),
    100.00: (35, 0),
}


def preset_ticks() -> pd.DataFrame:
    rows, second = [], 1
    for price, (sell, buy) in CELLS.items():
        for size, side in ((sell, -1), (buy, 1)):
            if size:
                rows.append((f"2024-03-01T09:30:{second:02d}Z", price, float(size), side))
                second += 1
    return canonical_ticks(rows, quotes=False)


EXPECTED = {  # rule -> (buy imbalance levels, sell imbalance levels)
    "default": ({101.00, 101.25}, {100.00, 100.25}),
    "atas": (set(), {100.00, 100.25}),
    "ninjatrader": ({100.75, 101.00, 101.25}, {100.00, 100.25}),
    "sierra": ({101.00, 101.25}, {100.00, 100.25}),
    "ignore_zero": ({101.00}, {100.00, 100.25}),
    "horizontal": ({101.00, 101.25}, {100.00, 100.25}),
}
RULES = {**{name: name for name in IMBALANCE_PRESETS},
         "ignore_zero": custom(3, zero_rule="ignore"), "horizontal": custom(3, diagonal=False)}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_each_rule_on_the_hand_worked_bar(name):
    ticks = preset_ticks()
    grid = footprint_grid(ticks, "1min", 0.25)
    buy, sell = diagonal_imbalances(grid, rule=RULES[name])
    prices = grid.price
    assert (set(prices[buy]), set(prices[sell])) == EXPECTED[name]
    stats = footprint_stats(ticks, "1min", 0.25, imbalance=RULES[name]).iloc[0]
    assert stats["buy_imbalances"] == len(EXPECTED[name][0])
    assert stats["sell_imbalances"] == len(EXPECTED[name][1])


def test_horizontal_compares_the_same_level():
    grid = footprint_grid(preset_ticks(), "1min", 0.25)
    # at ratio 2 the horizontal rule takes 100.75 (30 vs 15 on the same level); the diagonal one
    # compares 30 with the 14 sold at 100.50 and takes it too, but not 100.50's sells (14 vs 9 is 1.56)
    buy, _ = diagonal_imbalances(grid, rule=custom(2, diagonal=False))
    assert set(grid.price[buy]) == {100.75, 101.00, 101.25}
    _, sell = diagonal_imbalances(grid, rule=custom(1.5, diagonal=False))
    assert set(grid.price[sell]) == {100.00, 100.25, 100.50}  # 14 >= 1.5 x 9 on the same level
    _, sell = diagonal_imbalances(grid, rule=custom(1.5))
    assert set(grid.price[sell]) == {100.00, 100.25}  # diagonally 14 is set against 30 bought at 100.75


def test_stacks_follow_the_rule():
    stats = footprint_stats(preset_ticks(), "1min", 0.25, imbalance="ninjatrader").iloc[0]
    assert (stats["buy_stack"], stats["buy_stack_low"], stats["buy_stack_high"]) == (3, 100.75, 101.25)
    default = footprint_stats(preset_ticks(), "1min", 0.25).iloc[0]
    assert (default["buy_stack"], default["buy_stack_low"]) == (2, 101.00)


def test_the_default_stays_as_it_was():
    ticks = preset_ticks()
    old_style = footprint_stats(ticks, "1min", 0.25, ratio=3, min_volume=0)
    pd.testing.assert_frame_equal(footprint_stats(ticks, "1min", 0.25), old_style)
    pd.testing.assert_frame_equal(footprint_stats(ticks, "1min", 0.25, imbalance="default"), old_style)
    assert imbalance_rule() == IMBALANCE_PRESETS["default"]


def test_presets_are_the_documented_numbers():
    atas, nt, sierra = (IMBALANCE_PRESETS[k] for k in ("atas", "ninjatrader", "sierra"))
    assert (atas.ratio, atas.min_volume, atas.strict, atas.zero_rule, atas.diagonal) == (3.0, 30.0, True, "imbalance", True)
    assert (nt.ratio, nt.min_delta, nt.min_volume, nt.strict, nt.diagonal) == (1.5, 10.0, 0.0, True, True)
    assert (sierra.ratio, sierra.min_volume, sierra.strict, sierra.diagonal) == (3.0, 0.0, False, True)
    assert imbalance_rule("NinjaTrader") is nt and imbalance_rule("Sierra Chart") is sierra


def test_feed_lines_with_a_preset():
    from data.bars.make import make_bars

    ticks = preset_ticks()
    bars = make_bars(ticks, "1min", tick_size=0.25)
    nt = add_footprint_lines(bars, ticks, 0.25, imbalance="ninjatrader")
    assert (nt["buy_imbalances"].iloc[0], nt["buy_stack"].iloc[0]) == (3, 3)
    assert bars["buy_imbalances"].iloc[0] == 2  # make_bars keeps the default
    assert nt.attrs["imbalance"].startswith("ninjatrader")


@pytest.mark.parametrize("bad", [dict(imbalance="tradingview"), dict(imbalance="atas", ratio=2),
                                 dict(imbalance=ImbalanceRule(ratio=2), min_volume=1)])
def test_bad_rules_raise(bad):
    with pytest.raises(OrderFlowError):
        footprint_stats(preset_ticks(), "1min", 0.25, **bad)


@pytest.mark.parametrize("args", [(0,), (-1.0,), (3, -1), (3, 0, "maybe"), (np.nan,)])
def test_custom_checks_its_numbers(args):
    with pytest.raises(OrderFlowError):
        custom(*args)


@pytest.mark.parametrize("preset", ["atas", "ninjatrader", "sierra"])
def test_make_bars_and_the_feed_take_a_preset(preset):
    ticks = random_preset_ticks()
    direct = make_bars(ticks, "1min", tick_size=0.25, footprint_params={"imbalance": preset})
    recomputed = add_footprint_lines(make_bars(ticks, "1min", tick_size=0.25), ticks, 0.25, imbalance=preset)
    pd.testing.assert_frame_equal(direct, recomputed, check_like=False)
    assert direct.attrs["imbalance"] == recomputed.attrs["imbalance"]
    default = make_bars(ticks, "1min", tick_size=0.25)
    same = all(np.array_equal(default[c], direct[c]) for c in ("buy_imbalances", "sell_imbalances"))
    assert same == (preset == "sierra")  # Sierra's rule as read here (300%, zero counts) is the default's
    feed = OrderFlowFeed.from_ticks(ticks, "1min", footprint_params={"imbalance": preset})
    out = run_indicators(feed, {"fp": lambda d: FootprintImbalances(d)}, True)
    np.testing.assert_array_equal(out["fp"]["buy"], make_bars(ticks, "1min", footprint_params={"imbalance": preset})
                                  ["buy_imbalances"])


def random_preset_ticks() -> pd.DataFrame:
    """Ticks whose footprints have imbalances under some presets and not others (ratios 1.5-4, small volumes)."""
    rng = np.random.default_rng(5)
    n = 4000
    ts = pd.Timestamp("2024-03-04 14:30", tz="UTC") + pd.to_timedelta(np.sort(rng.uniform(0, 1800, n)), unit="s")
    return pd.DataFrame({"timestamp": ts.as_unit("ns"), "price": 100 + 0.25 * rng.integers(0, 12, n),
                         "size": rng.choice([1.0, 2.0, 5.0, 40.0], n), "side": rng.choice([-1, 1], n).astype(np.int8)})
