"""Library calls change nothing process-wide: streaming bars from a source leaves glibc's
allocator as it was; the allocator tuning of :func:`data.retain_freed_memory` is the
application's choice (the command line makes it).

Each case runs in a fresh Python process, which then asks glibc for a 24 MB block. By
default glibc serves a block that large with its own ``mmap`` (``mallinfo2().hblkhd`` grows by
it); after ``retain_freed_memory`` it comes from the heap (``hblkhd`` unchanged). The
process also reports the module's record of whether the tuning was applied.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import subprocess
import sys

import pytest

from tests.benchmarks.common import synthetic_ticks
from tests.conftest import REPO

PROBE = r"""
import ctypes, ctypes.util, json, sys

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.mallinfo2.restype = MallInfo2
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]

def mmapped(size=24 << 20):
    # whether glibc serves a block of this size with mmap (its default) rather than from the heap
    before = libc.mallinfo2().hblkhd
    block = libc.malloc(size)
    grew = libc.mallinfo2().hblkhd - before
    libc.free(block)
    return grew >= size

import data
from data.bars import stream
folder = sys.argv[1]
CASE
print(json.dumps({"applied": stream._retained, "mmapped": mmapped()}))
"""


def _glibc_with_mallinfo2() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        return hasattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), "mallinfo2")
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not _glibc_with_mallinfo2(), reason="needs glibc 2.33+ (mallopt, mallinfo2)")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A folder of two tick files: a source that make_bars streams."""
    root = tmp_path_factory.mktemp("ticks")
    ticks = synthetic_ticks(20_000)
    half = len(ticks) // 2
    ticks.iloc[:half].to_parquet(root / "a.parquet", index=False)
    ticks.iloc[half:].to_parquet(root / "b.parquet", index=False)
    return root


def run_case(case: str, folder, tmp_path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env["ORDERFLOW_CACHE_DIR"] = str(tmp_path / "cache")
    done = subprocess.run([sys.executable, "-c", PROBE.replace("CASE", case), str(folder)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_streaming_bars_leaves_the_allocator_alone(folder, tmp_path):
    case = """
bars = data.make_bars(folder, "1min")
assert len(bars) == 7 and bars.attrs["load_report"]["rows_kept"] == 20_000
data.make_bars(data.scan_ticks(folder, batch_rows=1_000), "1min", depth=False)
data.cached_bars(folder, "1min")
data.load_ticks(folder)
data.OrderFlowFeed.from_ticks(folder, bars="5min")
"""
    assert run_case(case, folder, tmp_path) == {"applied": False, "mmapped": True}


def test_the_application_opts_in(folder, tmp_path):
    # the probe sees the tuning when it is made: the case above would show it if a library call made it
    case = """
assert data.retain_freed_memory() is True
data.make_bars(folder, "1min")
"""
    assert run_case(case, folder, tmp_path) == {"applied": True, "mmapped": False}


def test_the_command_line_opts_in(folder, tmp_path):
    case = """
import run_backtest
assert run_backtest.main(["--list-strategies"]) == 0
"""
    assert run_case(case, folder, tmp_path) == {"applied": True, "mmapped": False}
