"""The queue models scored against the truth an MBO file holds about queues.

    python -m tools.queue_truth [--shared ../shared] [--out truth.md]

On the Databento ESH4 MBO file (``SHARED/realdata/databento/esh4-glbx-mdp3-20231225.mbo.dbn.zst``,
the Globex reopen, one hour): every real order added at the touch (its side's best price in
force just before its add, outside the opening snapshot) that later fills is a test. A 1-lot
limit order of ours at the same side and price, sent 1 ns before the real order's add (latency
0), stands just ahead of it in the queue: under price-time priority it is filled by the first
aggressor that reaches the real order, so its true first fill is at the exchange time of the
real order's first fill (``F`` record). Each queue model's first fill of our order
(:func:`execution.simulate`) is then

- **on time**: at that exchange time (the same match event);
- **early**: before it; **late**: after it; **never**: not at all by the end of the file.

``fifo`` runs on the book rebuilt from the orders with their ids; ``risk_averse`` and
``prob:N`` on the same book seen as price levels only (the replay without its queue priority).
The second table keeps only the real orders that stayed in the queue: an order modified before
its first fill (a new price, or a larger size: a new place), or filled at another price (the
opening auction's uncrossing, which has no aggressor) left the queue we stand in, so its first
fill is no truth for ours.
Under the tables: what the ``fifo`` misses have in common (modified, moved, iceberg: more
filled than ever displayed, added in the same match event as a trade: an aggressor's rest).
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from data.reading.readers.databento_mbo import F_SNAPSHOT, read_dbn_records
from execution import simulate
from execution.replay import Replay
from tools import emit

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
MBO_FILE = Path("realdata") / "databento" / "esh4-glbx-mdp3-20231225.mbo.dbn.zst"
MODELS = ("fifo", "risk_averse", "prob:1", "prob:2")
OUTCOMES = ("on time", "early", "late", "never")
_NEVER = np.iinfo(np.int64).max


def real_orders(records: np.ndarray, rp: Replay) -> pd.DataFrame:
    """The tests: one row per real order added at the touch (outside the snapshot) that later fills:
    ``row`` (its add), ``order_id``, ``side`` (+1 bid, -1 ask), ``price``, ``ts`` (the add's exchange
    time, ns), ``fill_row`` and ``fill_ts`` (its first ``F`` record), ``fill_price``, ``modified`` (a
    modify between the add and that fill), ``iceberg`` (more filled in all than it ever displayed),
    ``with_trade`` (added in the same match event as a trade)."""
    action = records["action"].view(np.uint8)
    side = records["side"].view(np.uint8)
    ts = records["ts_event"].astype(np.int64)
    oid = records["order_id"].astype(np.uint64)
    nano = records["price"].astype(np.int64)
    size = records["size"].astype(np.int64)
    live = (records["flags"] & F_SNAPSHOT) == 0
    adds = np.flatnonzero((action == ord("A")) & live & np.isin(side, (ord("B"), ord("A"))) & (np.arange(len(records)) > 0))
    sign = np.where(side[adds] == ord("B"), 1, -1)
    price = nano[adds] / 1e9
    best = np.where(sign > 0, rp.book.bid[adds - 1], rp.book.ask[adds - 1])
    at_touch = np.isclose(price, best, rtol=0, atol=1e-9)
    frame = pd.DataFrame({"row": adds, "order_id": oid[adds], "side": sign, "price": price, "ts": ts[adds],
                          "add_nano": nano[adds], "add_size": size[adds]})[at_touch]
    fills = np.flatnonzero(action == ord("F"))
    events = pd.DataFrame({"order_id": oid, "row": np.arange(len(records)), "action": action, "size": size,
                           "nano": nano})
    first = pd.DataFrame({"order_id": oid[fills], "fill_row": fills}).groupby("order_id", sort=False).first()
    frame = frame.join(first, on="order_id").dropna(subset=["fill_row"])
    frame["fill_row"] = frame["fill_row"].astype(np.int64)
    frame = frame[frame["fill_row"] > frame["row"]].reset_index(drop=True)
    frame["fill_ts"] = ts[frame["fill_row"].to_numpy()]
    frame["fill_price"] = nano[frame["fill_row"].to_numpy()] / 1e9
    frame["auction"] = side[frame["fill_row"].to_numpy()] == ord("N")  # an uncrossing fill: no aggressor
    mine = events[events["order_id"].isin(frame["order_id"])]
    mods = mine[mine["action"] == ord("M")].merge(frame[["order_id", "row", "fill_row", "add_nano", "add_size"]],
                                                   on="order_id", suffixes=("", "_add"))
    mods = mods[(mods["row"] > mods["row_add"]) & (mods["row"] < mods["fill_row"])
                & ((mods["nano"] != mods["add_nano"]) | (mods["size"] > mods["add_size"]))]  # a new place
    frame["modified"] = frame["order_id"].isin(mods["order_id"])
    filled = mine[mine["action"] == ord("F")].groupby("order_id")["size"].sum()
    shown = mine[np.isin(mine["action"], (ord("A"), ord("M")))].groupby("order_id")["size"].max()
    frame["iceberg"] = (frame["order_id"].map(filled) > frame["order_id"].map(shown)).to_numpy()
    frame["with_trade"] = np.isin(frame["ts"], ts[action == ord("T")])
    return frame


def first_fills(tests: pd.DataFrame, rp: Replay, queue: str) -> np.ndarray:
    """The exchange time (ns) of our 1-lot's first fill under ``queue`` for each test (``_NEVER``: none)."""
    orders = pd.DataFrame({"id": np.arange(len(tests)), "time": pd.to_datetime(tests["ts"] - 1, utc=True),
                           "side": tests["side"], "type": "limit", "price": tests["price"], "size": 1.0})
    source = rp if queue == "fifo" else dataclasses.replace(rp, queue=None)  # L2: price levels only
    fills = simulate(orders, source, queue=queue)
    first = fills.groupby("id")["time"].min()
    got = np.full(len(tests), _NEVER, np.int64)
    got[first.index.to_numpy(np.int64)] = pd.DatetimeIndex(first).as_unit("ns").asi8
    return got


def outcome(got: np.ndarray, truth: np.ndarray) -> np.ndarray:
    return np.select([got == truth, got == _NEVER, got < truth], list(OUTCOMES[:1]) + ["never", "early"], "late")


def score(path: Path, models: tuple[str, ...] = MODELS) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """The tests of ``path`` (:func:`real_orders`) and each model's outcome for each."""
    records = read_dbn_records(Path(path), ("mbo",))
    rp = Replay.from_mbo(path)
    tests = real_orders(records, rp)
    truth = tests["fill_ts"].to_numpy()
    results = {}
    for queue in models:
        got = first_fills(tests, rp, queue)
        tests[f"{queue}_first"] = got
        results[queue] = outcome(got, truth)
    return tests, results


def table(tests: pd.DataFrame, results: dict[str, np.ndarray], keep: np.ndarray) -> str:
    """A markdown table: per model, the share of each outcome and the median miss (ms) of early and late fills."""
    truth = tests["fill_ts"].to_numpy()[keep]
    lines = ["| queue model | orders | on time | early | late | never | median early (ms) | median late (ms) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for queue, outcomes in results.items():
        o = outcomes[keep]
        got = tests[f"{queue}_first"].to_numpy()[keep]
        share = {k: 100.0 * np.mean(o == k) for k in OUTCOMES}
        early = (truth - got)[o == "early"] / 1e6
        late = (got - truth)[o == "late"] / 1e6
        med = [f"{np.median(x):,.1f}" if len(x) else "-" for x in (early, late)]
        lines.append(f"| `{queue}` | {len(o):,} | {share['on time']:.1f} % | {share['early']:.1f} % | "
                     f"{share['late']:.1f} % | {share['never']:.1f} % | {med[0]} | {med[1]} |")
    return "\n".join(lines)


def report(shared: Path = SHARED) -> str:
    """The two tables and what the ``fifo`` misses have in common, as markdown; FileNotFoundError
    without the MBO file under ``shared``."""
    path = Path(shared) / MBO_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is absent (the shared real-data samples)")
    tests, results = score(path)
    moved = (tests["fill_price"] != tests["price"]).to_numpy() | tests["modified"].to_numpy()
    everything = np.ones(len(tests), bool)
    misses = results["fifo"] != "on time"
    m = tests[misses]
    crossed = (m["fill_price"] != m["price"]) & ~m["modified"] & ~m["auction"]
    explain = (f"`fifo` misses {int(misses.sum()):,} of {len(tests):,} orders: {int((moved & misses).sum()):,} of them "
               f"left the queue before their first fill: {int(m['modified'].sum()):,} were modified to a new price "
               f"or a larger size, {int((m['auction'] & ~m['modified']).sum()):,} filled in the opening auction's uncrossing "
               f"at another price (no aggressor), {int(crossed.sum()):,} traded as aggressors at a price through their "
               f"own (repriced across the spread: the feed shows their fill, on their own side, then a cancel at the "
               f"old price, and no modify); {int(m['iceberg'].sum()):,} filled more than they ever displayed "
               f"(icebergs) and {int(m['with_trade'].sum()):,} were added in a match event (an aggressor's rest). "
               f"Of the orders that stayed in the queue, `fifo` misses {int((misses & ~moved).sum()):,}.")
    return ("All real orders added at the touch that later filled:\n\n" + table(tests, results, everything)
            + "\n\nThose that stayed in the queue (not moved, first filled at their price by an aggressor):\n\n"
            + table(tests, results, ~moved)
            + "\n\n" + explain + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=SHARED, help="the shared/ folder (default ../shared)")
    parser.add_argument("--out", type=Path, default=None, help="also write the markdown here")
    args = parser.parse_args(argv)
    try:
        text = report(args.shared)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return emit(text, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
