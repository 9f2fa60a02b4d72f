"""Benchmark: streaming bars from a tick store on a local S3-compatible server against the same
store on disk.

    python -m tests.benchmarks.bench_s3 [--ticks 5000000]

Synthetic ticks (one million a day, tests.benchmarks.common) are written into a store on disk
(tests.benchmarks.bench_store.fill_store) and the same files uploaded into a bucket of moto's
S3 server (``moto[server]``, run in a process of its own on localhost: tests/s3_server.py).
Fresh processes then stream each store into 1-minute bars with every line
(``make_bars(scan_ticks(store))``, the code of bench_store), taking turns, three of each: the
fastest of each is reported, with the requests the S3 reads made. The server shares the
machine's cores with the reader, so the figure includes serving the bytes.

Target: streaming from S3 within 1.5x the time from disk.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import pyarrow.fs as pafs

from tests.benchmarks.bench_store import _STREAM, REPO, fill_store
from tests.s3_server import CREDENTIALS, S3Server, moto_available

TARGET = 1.5
MIN_TICKS = 5_000_000


def _child(env: dict[str, str], store: str) -> dict:
    import json

    out = subprocess.run([sys.executable, "-c", _STREAM, store], cwd=REPO, env=env, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(n_ticks: int = MIN_TICKS, repeat: int = 3) -> dict | None:
    """Print and return the figures for a store of ``max(n_ticks, MIN_TICKS)`` ticks."""
    if not moto_available():
        print("S3 store -> bars: skipped (moto[server] is not installed: pip install -e '.[test]')")
        return None
    n_ticks = max(int(n_ticks), MIN_TICKS)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        server = S3Server(work / "server")
        try:
            root = work / "store"
            fill_store(root, n_ticks)
            s3 = server.filesystem()
            bucket = server.new_bucket("bench")
            pafs.copy_files(str(root), f"{bucket}/store", source_filesystem=pafs.LocalFileSystem(), destination_filesystem=s3)
            env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
            remote_env = {**env, **CREDENTIALS, "AWS_ENDPOINT_URL": server.endpoint}
            disk, remote = [], []
            for _ in range(repeat):
                disk.append(_child(env, str(root)))
                remote.append(_child(remote_env, f"s3://{bucket}/store"))
            with server.recording() as requests:
                _child(remote_env, f"s3://{bucket}/store")
        finally:
            server.stop()
    best_disk, best_s3 = min(disk, key=lambda r: r["seconds"]), min(remote, key=lambda r: r["seconds"])
    ratio = best_s3["seconds"] / best_disk["seconds"]
    kinds = Counter("list" if not r.key else r.method for r in requests)
    mb = sum(r.range_bytes or 0 for r in requests) / 1e6
    print(f"tick store -> 1min bars, every line, {n_ticks:,} ticks: disk {best_disk['seconds']:.2f} s "
          f"({n_ticks / best_disk['seconds'] / 1e6:.1f}M ticks/s), local S3 server {best_s3['seconds']:.2f} s "
          f"({n_ticks / best_s3['seconds'] / 1e6:.1f}M ticks/s) -> {ratio:.2f}x the time on disk "
          f"(target <= {TARGET}x; best of {repeat} each; S3 requests: {kinds['list']} listings, {kinds['HEAD']} HEAD, "
          f"{kinds['GET']} range GETs for {mb:,.0f} MB; peak RSS disk {best_disk['peak_rss_mb']:,.0f} MB, "
          f"S3 {best_s3['peak_rss_mb']:,.0f} MB; load average {best_s3['load']:.1f} on {os.cpu_count()} cores)")
    if ratio > TARGET:
        print(f"  above target: S3 {ratio:.2f}x > {TARGET}x")
    return {"n_ticks": n_ticks, "disk_s": best_disk["seconds"], "s3_s": best_s3["seconds"], "ratio": ratio,
            "requests": dict(kinds), "mb": mb}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=MIN_TICKS, help="ticks in the store (at least 5,000,000)")
    args = parser.parse_args(argv)
    run(args.ticks)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
