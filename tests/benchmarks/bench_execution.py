"""Benchmark: execution.simulate, a book replayed with queue tracking and limit orders over a real day.

    python -m tests.benchmarks.bench_execution [n_events]

``run(n)``:

1. ``n`` synthetic order events (adds around a random-walk mid, partial fills, fills and cancels):
   the replay built from them (:meth:`execution.Replay.from_order_events`: the full-depth book, its
   levels and the queue priority of every execution) plus 10,000 resting limit orders simulated under
   each queue model, as book events per second of the two together (target >= 1M/s);
2. the LOBSTER AMZN day of the shared samples (skipped without ../shared): 10,000 limit orders
   under each queue model (target < 2 s), and the time to read and replay the day;
3. whole backtests (``research.run``, the default strategy, no bar cache): ``--fills trades`` on the
   bundled sample against ``--fills bar`` (target within 2x), and ``--fills book`` on the AMZN day
   against ``--fills bar`` (target within 3x).

Every figure is the best of a few runs.
"""
from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from execution import Replay, replay, simulate
from research import RunConfig
from research import run as backtest
from tests.benchmarks.common import best_of
from tests.conftest import SAMPLE, SHARED

TARGET_EVENTS = 1e6
TARGET_SECONDS = 2.0
TARGET_RUNS = {"trades": 2.0, "book": 3.0}  # a backtest's time with fills from the ticks / with bar fills
N_ORDERS = 10_000
QUEUES = ("fifo", "risk_averse", "prob:1", "prob:2")
AMZN = SHARED / "realdata" / "lobster" / "LOBSTER_SampleFile_AMZN_2012-06-21_1.zip"
T0 = 1_704_205_800_000_000_000  # 2024-01-02 14:30 UTC


def synthetic_events(n: int, seed: int = 3) -> pd.DataFrame:
    """About ``n`` order events, ten a second: each order is added 1-5 ticks from a random-walk mid,
    a third of them partly filled, then filled (30 %) or cancelled."""
    rng = np.random.default_rng(seed)
    m = int(n / 2.3)  # an add and an end each, a partial fill for a third (less those of size 1)
    span = n / 10.0  # seconds
    t_add = np.sort(rng.random(m)) * span
    mid = 10_000 + np.cumsum(rng.choice([-1, 0, 1], int(span) + 2, p=[0.2, 0.6, 0.2]))
    side = np.where(rng.random(m) < 0.5, 1, -1)
    ticks = mid[t_add.astype(np.int64)] - side * rng.geometric(0.4, m)
    price = ticks * 0.25
    size = rng.integers(1, 11, m).astype(np.float64)
    oid = np.arange(1, m + 1)
    t_end = t_add + rng.exponential(5.0, m)
    partial = rng.random(m) < 1 / 3
    t_part = t_add + (t_end - t_add) * rng.random(m)
    half = np.floor(size / 2)
    partial &= half > 0
    filled = rng.random(m) < 0.3
    rest = np.where(partial, size - half, size)
    when = np.concatenate([t_add, t_part[partial], t_end])
    action = np.concatenate([np.full(m, "add"), np.full(partial.sum(), "fill"), np.where(filled, "fill", "cancel")])
    frame = pd.DataFrame({
        "timestamp": pd.DatetimeIndex((T0 + (when * 1e9).astype(np.int64)).view("M8[ns]")).tz_localize("UTC"),
        "action": pd.Categorical(action),
        "order_id": np.concatenate([oid, oid[partial], oid]),
        "side": np.concatenate([side, side[partial], side]),
        "price": np.concatenate([price, price[partial], price]),
        "size": np.concatenate([size, half[partial], rest]),
    })
    return frame.iloc[np.argsort(when, kind="stable")].reset_index(drop=True)


def limit_orders(rp: Replay, n: int, seed: int = 5, unit: float = 1.0) -> pd.DataFrame:
    """``n`` limit orders at random times while the source trades, 0-3 ticks behind the touch (a
    tenth one tick through it), resting until the end."""
    rng = np.random.default_rng(seed)
    traded = rp.time[rp.trades.seq]
    times = np.sort(rng.integers(traded[len(traded) // 50], traded[-1], n))
    state = np.searchsorted(rp.time, times, side="right") - 1
    side = rng.choice([1, -1], n)
    away = rng.integers(-1, 4, n) * rp.tick_size
    touch = np.where(side > 0, rp.book.bid[state], rp.book.ask[state])
    price = np.where(side > 0, touch - away, touch + away)
    ok = np.isfinite(price)
    return pd.DataFrame({"id": np.arange(n)[ok], "time": pd.DatetimeIndex(times[ok].view("M8[ns]")).tz_localize("UTC"),
                         "side": side[ok], "type": "limit", "price": price[ok],
                         "size": rng.integers(1, 4, ok.sum()) * unit})


def run(n_events: int = 2_000_000) -> dict:
    events = synthetic_events(n_events)
    n = len(events)
    build = best_of(lambda: Replay.from_order_events(events))
    rp = Replay.from_order_events(events)
    orders = limit_orders(rp, N_ORDERS)
    result: dict = {"events": n, "build_s": build}
    print(f"execution: replay of {n:,} order events (book, levels, queue priority) in {build:.2f} s "
          f"= {n / build / 1e6:.2f}M events/s")
    for queue in QUEUES:
        seconds = best_of(lambda: simulate(orders, rp, queue=queue))  # noqa: B023
        rate = n / (build + seconds)
        result[f"replay_and_queue_{queue}_events_per_s"] = rate
        flag = "" if rate >= TARGET_EVENTS else f"  below target {TARGET_EVENTS:,.0f}/s"
        print(f"  + {len(orders):,} resting limit orders, queue={queue}: {seconds:.2f} s -> "
              f"{rate / 1e6:.2f}M book events/s with queue tracking{flag}")
    result.update(fill_runs(SAMPLE, "trades", "the bundled sample"))
    if not AMZN.is_file():
        print(f"LOBSTER AMZN day: skipped ({AMZN} is absent)")
        return result
    result.update(fill_runs(AMZN, "book", "the LOBSTER AMZN day"))
    read = best_of(lambda: replay(AMZN))
    day = replay(AMZN)
    orders = limit_orders(day, N_ORDERS, unit=100.0)
    result["amzn_read_and_replay_s"] = read
    print(f"LOBSTER AMZN day ({day.n:,} messages): read and replayed in {read:.2f} s")
    for queue in QUEUES:
        seconds = best_of(lambda: simulate(orders, day, queue=queue))  # noqa: B023
        result[f"amzn_{queue}_s"] = seconds
        flag = "" if seconds < TARGET_SECONDS else f"  above target {TARGET_SECONDS:.0f} s"
        print(f"  {len(orders):,} limit orders, queue={queue}: {seconds:.2f} s "
              f"({seconds + read:.2f} s with the read){flag}")
    return result


def fill_runs(data, fills: str, name: str) -> dict:
    """A whole backtest of ``data`` with ``--fills {fills}`` against the same with ``--fills bar`` (best of 3 each)."""
    seconds = {mode: best_of(lambda: backtest(RunConfig(data=data, fills=mode)))  # noqa: B023
               for mode in ("bar", fills)}
    ratio = seconds[fills] / seconds["bar"]
    flag = "" if ratio <= TARGET_RUNS[fills] else f"  above target {TARGET_RUNS[fills]:.0f}x"
    print(f"backtest of {name}: --fills {fills} {seconds[fills]:.2f} s, --fills bar {seconds['bar']:.2f} s -> "
          f"{ratio:.2f}x{flag}")
    return {f"run_{fills}_s": seconds[fills], f"run_{fills}_bar_s": seconds["bar"], f"run_{fills}_ratio": ratio}


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 2_000_000)
