"""Benchmark: the vendor readers of data.reading.readers, and the MBO book rebuild.

    python -m tests.benchmarks.bench_readers [n_events]

``run(n)`` times :func:`data.reading.readers.book` on ``n`` synthetic order events (adds, partial
and full cancels, modifies: events/s, target >= 1M/s), then ``load_ticks`` / ``load_quotes``
on the largest shared file of each kind (trades/s and records/s; skipped without
../shared), then on large files in the same layouts that it writes itself
(:mod:`tests.benchmarks.synthetic_files`: ``n`` trades, a quarter of that for the Binance
capture, whose three quotes per trade make 4 lines per trade), against the target of
>= 2M trades/s, and the Databento MBO reader against the databento package's own
``DBNStore.to_df()`` on the same file (target: within 2x).
"""
from __future__ import annotations

import sys
import tempfile
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np

from data import load_quotes, load_ticks
from data.reading.readers.book import mbo_level_updates, top_of_book
from tests.benchmarks import synthetic_files as synth
from tests.benchmarks.common import best_of
from tests.conftest import SHARED

TARGET_EVENTS = 1e6
TARGET_TRADES = 2e6
REAL = SHARED / "realdata"
LARGEST = {  # the largest shared file of each kind
    "databento_mbo": REAL / "databento" / "esh4-glbx-mdp3-20231225.mbo.dbn.zst",
    "lobster": REAL / "lobster" / "LOBSTER_SampleFile_GOOG_2012-06-21_1.zip",
    "sierra_scid": REAL / "sierra" / "ESM23_test.scid",
    "tardis_trades": REAL / "tardis" / "binance-futures_trades_2020-02-22_BTCUSDT.head10k.csv",
    "binance_stream": REAL / "binance_stream" / "usdm_btcusdt_20240808.gz",
}


def synthetic_mbo(n: int, seed: int = 11) -> dict[str, np.ndarray]:
    """``n`` events of ~n/3 orders: each added, then modified or partly cancelled, then cancelled."""
    rng = np.random.default_rng(seed)
    m = n // 3
    oid = np.arange(1, m + 1, dtype=np.uint64)
    bid = rng.random(m) < 0.5
    price = np.where(bid, 10_000 - rng.geometric(0.3, m), 10_000 + rng.geometric(0.3, m)).astype(np.int64) * 250_000_000
    size = rng.integers(1, 20, m)
    start = np.sort(rng.random(m)) * n
    t = np.concatenate([start, start + rng.exponential(50, m), start + rng.exponential(200, m) + 50])
    middle_is_modify = rng.random(m) < 0.5
    action = np.concatenate([np.full(m, b"A"), np.where(middle_is_modify, b"M", b"C"), np.full(m, b"C")])
    qty = np.concatenate([size, np.where(middle_is_modify, size + 1, 1), np.full(m, 100)])
    order = np.argsort(t, kind="stable")
    return {"action": action[order].astype("S1"), "side": np.tile(np.where(bid, b"B", b"A"), 3)[order].astype("S1"),
            "price": np.tile(price, 3)[order], "size": qty[order].astype(np.float64), "order_id": np.tile(oid, 3)[order]}


def _flag(per_s: float) -> str:
    return "" if per_s >= TARGET_TRADES else f"  below target {TARGET_TRADES:,.0f}/s"


def inflate_floor(path: Path, trades: int, seconds: float, result: dict, key: str) -> str:
    """A compressed file's floor: trades per second of only inflating it (a gzip file, or a zip's CSVs
    one after the other, as LOBSTER ships them; no reader of it on one core can beat that), and the
    reader's ``seconds`` as a multiple of the inflate time (same run, same timer)."""
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as zf:
            members = [n for n in zf.namelist() if n.endswith(".csv")]
            inflate = best_of(lambda: [zf.read(n) for n in members])
    else:
        data = path.read_bytes()
        inflate = best_of(lambda: zlib.decompress(data, 31))
    result[key] = trades / inflate
    return f"inflating alone {inflate * 1e3:.0f} ms = {trades / inflate:,.0f} trades/s (the floor: reader {seconds / inflate:.1f}x)"


def synthetic(n_trades: int = 1_000_000) -> dict:
    """``load_ticks`` (and ``load_quotes`` for the Tardis L2 book) on large files written in the shared
    files' layouts: trades/s, records/s and MB/s of the file as stored."""
    n_trades = max(n_trades, 1_000)
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = {
            "tardis_trades": (synth.write_tardis_trades, folder / "binance-futures_trades_2020-02-22_BTCUSDT.csv", n_trades),
            "lobster": (synth.write_lobster, folder, n_trades),
            "sierra_scid": (synth.write_scid, folder / "ESM23.scid", n_trades),
            "binance_stream": (synth.write_binance_capture, folder / "usdm_btcusdt.gz", n_trades // 4),
            "tardis_incremental_book_L2": (synth.write_tardis_l2, folder / "deribit_incremental_book_L2.csv", n_trades),
        }
        print(f"synthetic files in the shared files' layouts ({n_trades:,} trades; the Binance capture a quarter):")
        for name, (write, target, n) in files.items():
            path = write(target, n)
            megabytes = path.stat().st_size / 1e6
            if name == "tardis_incremental_book_L2":
                s = best_of(lambda p=path: load_quotes(p), repeat=2)
                print(f"{name:>15}: {n:,} rows, {megabytes:,.0f} MB: load_quotes {s:.2f} s = {n / s:,.0f} rows/s")
                result[f"{name}_synthetic_rows_per_s"] = n / s
                continue
            ticks = load_ticks(path)
            rows = ticks.attrs["load_report"]["rows_read"]
            s = best_of(lambda p=path: load_ticks(p), repeat=2)
            result[f"{name}_synthetic_trades_per_s"] = len(ticks) / s
            print(f"{name:>15}: {len(ticks):,} trades of {rows:,} records, {megabytes:,.0f} MB: {s:.2f} s = "
                  f"{len(ticks) / s:,.0f} trades/s, {rows / s:,.0f} records/s, {megabytes / s:,.0f} MB/s"
                  f"{_flag(len(ticks) / s)}")
            if name in ("binance_stream", "lobster"):
                print(f"{'':>15}  {inflate_floor(path, len(ticks), s, result, f'{name}_synthetic_inflate_trades_per_s')}")
            path.unlink()
    return result


def shared_files() -> dict:
    """``load_ticks`` (and ``load_quotes``) on the largest shared file of each kind."""
    result = {}
    for name, path in LARGEST.items():
        if not path.is_file():
            continue
        ticks = load_ticks(path)
        s = best_of(lambda p=path: load_ticks(p))
        rows = ticks.attrs["load_report"]["rows_read"]
        result[f"{name}_trades_per_s"] = len(ticks) / s
        line = (f"{name:>15}: {path.name}: {len(ticks):,} trades of {rows:,} records in {s * 1e3:.0f} ms = "
                f"{len(ticks) / s:,.0f} trades/s, {rows / s:,.0f} records/s{_flag(len(ticks) / s)}")
        if name in ("databento_mbo", "lobster", "binance_stream"):
            q = best_of(lambda p=path: load_quotes(p))
            line += f"; load_quotes {q * 1e3:.0f} ms"
        if name in ("binance_stream", "lobster"):
            line += "; " + inflate_floor(path, len(ticks), s, result, f"{name}_inflate_trades_per_s")
        print(line)
    return result


def run(n_events: int = 2_000_000) -> dict:
    events = synthetic_mbo(n_events)
    n = len(events["action"])

    def rebuild() -> None:
        updates, _ = mbo_level_updates(events["action"], events["side"], events["price"], events["size"],
                                       events["order_id"])
        top_of_book(updates, n)

    seconds = best_of(rebuild)
    result = {"mbo_events": n, "mbo_events_per_s": n / seconds}
    flag = "" if n / seconds >= TARGET_EVENTS else f"  below target {TARGET_EVENTS:,.0f}/s"
    print(f"MBO book rebuild: {n:,} events in {seconds:.2f} s = {n / seconds / 1e6:.2f}M events/s{flag}")
    if REAL.is_dir():
        result.update(shared_files())
    else:
        print(f"readers on the shared files: skipped ({REAL} is absent)")
    result.update(synthetic(min(n_events, 1_000_000)))
    path = LARGEST["databento_mbo"]
    try:
        import databento
    except ImportError:
        return result
    if not path.is_file():
        return result

    def vendor() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            databento.DBNStore.from_file(path).to_df()

    ours, theirs = best_of(lambda: load_ticks(path)), best_of(vendor)
    result["mbo_vs_databento_to_df"] = ours / theirs
    print(f"Databento MBO: load_ticks (book rebuilt, bid/ask on every trade) {ours * 1e3:.0f} ms vs "
          f"databento DBNStore.to_df() {theirs * 1e3:.0f} ms = {ours / theirs:.2f}x (target <= 2x)")
    return result


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 2_000_000)
