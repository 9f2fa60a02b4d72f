"""Benchmark: a continuous contract built from a store of several contracts, against the same
ticks stored as one symbol.

    python -m tests.benchmarks.bench_continuous [--ticks 5000000]

Synthetic ticks (tests.benchmarks.common, a million a day; ``make bench``: five days) are written twice: into a store as
one symbol ``ES`` (the single-contract build), and into a store of the contracts ESH4 and ESM4,
the days before the roll (2024-03-07) as ESH4 and the days from it as ESM4, each contract also
holding the other's days around the roll (the two days after ESH4's roll, the two days before
ESM4's turn), as a real store does. A fresh subprocess streams each into 1-minute bars with every
line: ``make_bars(scan_ticks(store), "1min")`` against ``make_bars(scan_ticks(store,
continuous="ES", adjust="add"), "1min")``, whose series holds exactly the single-contract ticks
(the ESH4 prices moved by the gap). Five processes each, in turn: the fastest of each is
compared, in wall-clock time and in CPU time (all threads), which a shared machine's
neighbours disturb less.

Target: the continuous build within 1.2x of the single-contract build.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

from data.store.dataset import TickStore
from tests.benchmarks.common import synthetic_ticks

REPO = Path(__file__).resolve().parents[2]
PER_DAY = 1_000_000
ROLL = pd.Timestamp("2024-03-07", tz="UTC")
TARGET = 1.2

_BUILD = """
import json, resource, sys, time
from data import make_bars, retain_freed_memory, scan_ticks
retain_freed_memory()  # as the command line does
def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
options = json.loads(sys.argv[2])
cpu0, start = cpu(), time.perf_counter()
bars = make_bars(scan_ticks(sys.argv[1], progress=False, **options), "1min", tick_size=0.25)
seconds, cpu_seconds = time.perf_counter() - start, cpu() - cpu0
report = bars.attrs["load_report"]
print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "bars": len(bars), "ticks": report["rows_kept"],
                  "rolls": len(report.get("rolls") or [])}))
"""


def fill_stores(single: Path, contracts: Path, n_ticks: int) -> int:
    """The same days of ticks into ``single`` (symbol ES) and ``contracts`` (ESH4 before the roll,
    ESM4 from it, each with two days of the other's turn beside). Returns the days written."""
    one, both = TickStore.create(single), TickStore.create(contracts)
    days = max(2, -(-n_ticks // PER_DAY))
    first = ROLL - pd.Timedelta(days=days // 2)
    for k in range(days):
        midnight = first + pd.Timedelta(days=k)
        ticks = synthetic_ticks(n_ticks // days, seed=k)
        ticks["timestamp"] += midnight - ticks["timestamp"].iloc[0].floor("h")
        ticks = ticks[ticks["timestamp"] < midnight + pd.Timedelta(days=1)]
        date = midnight.strftime("%Y-%m-%d")
        one.write_day("ES", date, ticks)
        front = "ESH4" if midnight < ROLL else "ESM4"
        both.write_day(front, date, ticks)
        other = "ESM4" if front == "ESH4" else "ESH4"
        if abs((midnight - ROLL) / pd.Timedelta(days=1) + 0.5) <= 2:  # the days around the roll: both trade
            shifted = ticks.assign(price=ticks["price"] + (50.0 if other == "ESM4" else -50.0))
            both.write_day(other, date, shifted)
    return days


def _child(store: Path, options: dict) -> dict:
    out = subprocess.run([sys.executable, "-c", _BUILD, str(store), json.dumps(options)], cwd=REPO,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(n_ticks: int = 1_000_000, directory: str | None = None, repeat: int = 5, days: int = 5) -> dict:
    """Print and return the two builds' times on ``days`` times ``n_ticks`` ticks (``make bench``
    passes its first size: 5 days of a million; below a few million ticks the fixed costs of a
    process, a few tens of milliseconds, decide the ratio)."""
    n_ticks *= days
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        single, contracts = Path(tmp) / "single", Path(tmp) / "contracts"
        written = fill_stores(single, contracts, n_ticks)
        plain, rolled = [], []
        for _ in range(repeat):  # in turn, so that both meet the same neighbours on a shared machine
            plain.append(_child(single, {}))
            rolled.append(_child(contracts, {"continuous": "ES", "adjust": "add"}))
    best_plain, best_rolled = min(plain, key=lambda r: r["seconds"]), min(rolled, key=lambda r: r["seconds"])
    assert best_plain["ticks"] == best_rolled["ticks"] and best_rolled["rolls"] == 1, (best_plain, best_rolled)
    ratio = best_rolled["seconds"] / best_plain["seconds"]
    cpu_plain, cpu_rolled = min(r["cpu_seconds"] for r in plain), min(r["cpu_seconds"] for r in rolled)
    print(f"continuous ES (ESH4 -> ESM4, adjust add) from a store of {written} days, {best_plain['ticks']:,} ticks -> "
          f"{best_rolled['bars']:,} 1-minute bars: {best_rolled['seconds']:.2f} s; the same ticks as one symbol: "
          f"{best_plain['seconds']:.2f} s -> {ratio:.2f}x (target <= {TARGET}x; best of {repeat}); CPU time "
          f"{cpu_rolled:.2f} s against {cpu_plain:.2f} s -> {cpu_rolled / cpu_plain:.2f}x")
    return {"single_s": best_plain["seconds"], "continuous_s": best_rolled["seconds"], "ratio": ratio,
            "cpu_ratio": cpu_rolled / cpu_plain, "ticks": best_plain["ticks"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=5_000_000, help="ticks in the series")
    parser.add_argument("--dir", help="where to write the stores (default: the system's temporary folder)")
    args = parser.parse_args(argv)
    run(args.ticks, args.dir, days=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
