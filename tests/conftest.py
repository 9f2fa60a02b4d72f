"""Shared fixtures: the hand-checkable ticks of tests/fixtures/ticks_small.csv, built here
value by value so that bar and feed tests do not depend on the loader."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SAMPLE = REPO / "data" / "sample" / "sample_ticks.parquet"


def canonical_ticks(rows: list[tuple], quotes: bool = True) -> pd.DataFrame:
    """Ticks from (iso time, price, size, side[, bid_size, ask_size]) tuples."""
    frame = pd.DataFrame(
        {
            "timestamp": pd.to_datetime([r[0] for r in rows], utc=True, format="ISO8601").as_unit("ns"),
            "price": np.array([r[1] for r in rows], dtype=np.float64),
            "size": np.array([r[2] for r in rows], dtype=np.float64),
            "side": np.array([r[3] for r in rows], dtype=np.int8),
        }
    )
    if quotes:
        frame["bid_size"] = np.array([r[4] for r in rows], dtype=np.float64)
        frame["ask_size"] = np.array([r[5] for r in rows], dtype=np.float64)
    return frame


# The rows of tests/fixtures/ticks_small.csv (TradeType 1 -> +1, 2 -> -1, 0 -> 0).
SMALL_ROWS = [
    ("2024-03-01T09:30:05Z", 100.00, 2.0, 1, 10, 12),
    ("2024-03-01T09:30:20Z", 100.25, 3.0, 1, 8, 15),
    ("2024-03-01T09:30:40Z", 100.00, 5.0, -1, 9, 11),
    ("2024-03-01T09:31:00Z", 99.75, 1.5, -1, 20, 5),
    ("2024-03-01T09:31:10Z", 100.00, 4.0, 0, 7, 7),
    ("2024-03-01T09:31:30Z", 100.25, 2.0, 1, 6, 9),
    ("2024-03-01T09:31:59.5Z", 100.50, 6.0, 1, 5, 14),
    ("2024-03-01T09:32:00.5Z", 100.25, 3.0, -1, 11, 4),
    ("2024-03-01T09:32:30Z", 100.00, 1.0, -1, 12, 3),
    ("2024-03-01T09:33:00Z", 100.25, 2.5, 1, 10, 6),
]


@pytest.fixture
def small_ticks() -> pd.DataFrame:
    return canonical_ticks(SMALL_ROWS)


def need_shared() -> Path:
    """The ../shared folder beside the repo, or skip (it is absent on a user's clone)."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent: the shared real-data samples only exist beside the CI clone")
    return SHARED


def need_sample() -> Path:
    if not SAMPLE.is_file():
        pytest.skip(f"bundled sample {SAMPLE} is missing")
    return SAMPLE


@pytest.fixture(autouse=True, scope="session")
def _bar_cache_in_a_temporary_folder(tmp_path_factory):
    """The command line caches bars (data.cached_bars): keep the tests' entries out of ~/.cache."""
    import os

    from data.store.cache import CACHE_ENV

    old = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(tmp_path_factory.mktemp("bar-cache"))
    yield
    if old is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = old


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """A real S3-compatible server on localhost (moto's, in its own process: tests/s3_server.py), with
    dummy credentials in the environment while the session runs; skipped without ``moto[server]``."""
    from tests.s3_server import S3Server, environment, moto_available

    if not moto_available():
        pytest.skip("moto[server] is not installed (pip install -e '.[test]'): no local S3 server for the S3 tests")
    server = S3Server(tmp_path_factory.mktemp("s3-server"))
    try:
        with environment(None):
            yield server
    finally:
        server.stop()


@pytest.fixture
def s3(s3_server, monkeypatch):
    """The local S3 server as the endpoint of every s3:// path (``AWS_ENDPOINT_URL``), as a user sets it."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server.endpoint)
    return s3_server
