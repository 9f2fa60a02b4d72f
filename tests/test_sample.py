"""The bundled sample data/sample/sample_ticks.parquet and its generator tools/make_sample.py."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from data.schema import TICK_COLUMNS, TICK_DTYPES
from tools import make_sample as ms

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample" / "sample_ticks.parquet"
CHICAGO = "America/Chicago"


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return pd.read_parquet(SAMPLE)


@pytest.fixture(scope="module")
def local(sample: pd.DataFrame) -> pd.Series:
    return sample["timestamp"].dt.tz_convert(CHICAGO)


@pytest.fixture(scope="module")
def same_session(sample: pd.DataFrame) -> np.ndarray:
    """True where trade j+1 is in the same session as trade j (sessions are 1 h apart)."""
    stamps = sample["timestamp"].to_numpy(dtype="datetime64[ns]")
    return np.diff(stamps) < np.timedelta64(30, "m")


# --- the shipped file -------------------------------------------------------------------


def test_file_is_small_zstd_and_large_enough(sample: pd.DataFrame) -> None:
    assert SAMPLE.stat().st_size <= 10_000_000
    assert len(sample) >= 300_000
    meta = pq.ParquetFile(SAMPLE).metadata
    assert {meta.row_group(0).column(i).compression for i in range(meta.num_columns)} == {"ZSTD"}


def test_canonical_columns_and_dtypes(sample: pd.DataFrame) -> None:
    assert list(sample.columns) == list(TICK_COLUMNS)
    assert {c: str(t) for c, t in sample.dtypes.items()} == TICK_DTYPES


def test_prices_on_the_quarter_point_grid(sample: pd.DataFrame) -> None:
    for column in ("price", "bid", "ask"):
        quarters = sample[column].to_numpy() * 4
        assert np.array_equal(quarters, np.round(quarters)), column
    assert 4000 < sample["price"].min() and sample["price"].max() < 6000


def test_quotes_and_trades_agree(sample: pd.DataFrame) -> None:
    bid, ask, price, side = (sample[c].to_numpy() for c in ("bid", "ask", "price", "side"))
    assert set(np.unique(side)) == {-1, 1}
    assert (bid < ask).all()
    assert set(np.unique((ask - bid) / 0.25)) == {1.0, 2.0}
    assert (price[side == 1] == ask[side == 1]).all()
    assert (price[side == -1] == bid[side == -1]).all()
    for column in ("size", "bid_size", "ask_size"):
        values = sample[column].to_numpy()
        assert (values >= 1).all() and (values == np.round(values)).all(), column


def test_sizes_are_heavy_tailed(sample: pd.DataFrame) -> None:
    size = sample["size"]
    assert 0.5 < (size == 1).mean() < 0.7  # P(1 lot) = 1 - 2**-1.35 = 0.61
    assert (size <= 5).mean() > 0.85
    assert (size >= 50).sum() > 500  # about 1 in 200


def test_timestamps_sorted_and_inside_cme_sessions(sample: pd.DataFrame, local: pd.Series) -> None:
    assert sample["timestamp"].is_monotonic_increasing
    hour, weekday = local.dt.hour, local.dt.day_of_week  # Monday = 0
    assert not (hour == 16).any()  # daily halt 16:00-17:00 CT
    assert not (weekday == 5).any()  # Saturday
    assert not ((weekday == 6) & (hour < 17)).any()  # Sunday before the open
    assert not ((weekday == 4) & (hour >= 17)).any()  # Friday evening
    trade_dates = pd.to_datetime((local + pd.Timedelta(hours=7)).dt.date.unique())
    assert list(trade_dates.day_of_week) == [0, 1, 2, 3, 4]
    first = local.iloc[0]
    assert (first.hour, first.weekday()) == (17, 6)  # Sunday 17:00 CT = 22:00 UTC (CDT)


def test_exhausting_a_queue_moves_the_price(sample: pd.DataFrame, same_session: np.ndarray) -> None:
    side, size = sample["side"].to_numpy()[:-1], sample["size"].to_numpy()[:-1]
    for direction, quote, queue in ((1, "ask", "ask_size"), (-1, "bid", "bid_size")):
        aggressor = direction  # a buy lifts the ask and moves it up, a sell the bid down
        level = sample[quote].to_numpy()
        moved = np.sign(np.diff(level)) == direction
        exhausts = size >= sample[queue].to_numpy()[:-1]
        mine = (side == aggressor) & same_session
        assert (moved[mine] == exhausts[mine]).all(), quote
        assert not (moved & (side == -aggressor) & same_session).any(), quote
        assert moved[mine].sum() > 5_000, quote


def test_a_trade_depletes_its_queue(sample: pd.DataFrame, same_session: np.ndarray) -> None:
    # At an unchanged quote the next queue is the old one less the trade plus refill >= 0.
    frame = sample.to_dict("series")
    for aggressor, quote, queue in ((1, "ask", "ask_size"), (-1, "bid", "bid_size")):
        level, depth = frame[quote].to_numpy(), frame[queue].to_numpy()
        kept = (np.diff(level) == 0) & (frame["side"].to_numpy()[:-1] == aggressor) & same_session
        refill = depth[1:] - (depth[:-1] - frame["size"].to_numpy()[:-1])
        assert (refill[kept] >= 0).all()
        assert np.median(refill[kept]) < 2


def test_busy_and_quiet_hours(local: pd.Series) -> None:
    minutes = local.dt.hour * 60 + local.dt.minute
    per_minute = {  # trades per clock minute over the sample
        "open": ((minutes >= 510) & (minutes < 540)).sum() / 30,  # 08:30-09:00
        "midday": ((minutes >= 690) & (minutes < 780)).sum() / 90,  # 11:30-13:00
        "close": ((minutes >= 870) & (minutes < 915)).sum() / 45,  # 14:30-15:15
        "night": ((minutes >= 0) & (minutes < 120)).sum() / 120,  # 00:00-02:00
    }
    assert per_minute["open"] > 2 * per_minute["midday"]
    assert per_minute["close"] > 1.3 * per_minute["midday"]
    assert per_minute["midday"] > 3 * per_minute["night"]


def test_order_flow_is_weakly_informative(sample: pd.DataFrame) -> None:
    stats = ms.summarize(sample)
    assert stats["sessions"] == 5
    assert 0.45 < stats["share_buys"] < 0.55
    assert 1.0 < stats["mean_spread_ticks"] < 1.2
    assert stats["delta_same_corr"] > 0.3  # flow moves the price
    assert 0.0 < stats["delta_next_corr"] < 0.25  # and carries a little information
    assert 0.0 < stats["imbalance_next_corr"] < 0.3
    side = sample["side"].to_numpy().astype(float)
    assert np.corrcoef(side[:-100], side[100:])[0, 1] > 0.005  # persistent order flow


# --- the generator ----------------------------------------------------------------------


def test_regenerating_the_first_session_reproduces_the_file(sample: pd.DataFrame) -> None:
    first = ms.make_sample(sessions=1, seed=ms.DEFAULT_SEED)
    pd.testing.assert_frame_equal(first, sample.iloc[: len(first)].reset_index(drop=True))
    assert sample["timestamp"].iloc[len(first)] - first["timestamp"].iloc[-1] > pd.Timedelta("1h")


def test_command_line_is_deterministic_per_seed(tmp_path: Path) -> None:
    paths = [tmp_path / f"run{i}.parquet" for i in range(2)]
    for path in paths:
        assert ms.main(["--out", str(path), "--seed", "7", "--sessions", "1"]) == 0
    one, two = (pd.read_parquet(p) for p in paths)
    pd.testing.assert_frame_equal(one, two)
    other = ms.make_sample(sessions=1, seed=8)
    assert len(other) != len(one) or not other["price"].equals(one["price"])


def test_session_opens_follow_the_chicago_clock() -> None:
    opens = ms.session_opens(6)
    assert opens[0] == pd.Timestamp("2024-04-14 22:00", tz="UTC")  # Sun 17:00 CDT
    assert opens[4] == pd.Timestamp("2024-04-18 22:00", tz="UTC")  # Thu 17:00 for Friday
    assert opens[5] == pd.Timestamp("2024-04-21 22:00", tz="UTC")  # skips the weekend
    winter = ms.session_opens(1, "2024-01-08")[0]
    assert winter == pd.Timestamp("2024-01-07 23:00", tz="UTC")  # Sun 17:00 CST


def _profile_at(hour: int, minute: int) -> float:
    """activity_profile at a Chicago clock time (seconds since the 17:00 open)."""
    return float(ms.activity_profile(np.array([((hour - 17) % 24) * 3600 + minute * 60]))[0])


def test_activity_profile_values() -> None:
    at = _profile_at
    # 08:30 (m = 0): 0.85 + 2.6 + 0.45 + 1.6 exp(-390/12)
    assert at(8, 30) == pytest.approx(0.85 + 2.6 + 0.45 + 1.6 * np.exp(-32.5))
    # 12:00 (m = 210): 0.85 + 2.6 exp(-210/25) + 0.45 exp(-210/120) + 1.6 exp(-180/12)
    midday = 0.85 + 2.6 * np.exp(-8.4) + 0.45 * np.exp(-1.75) + 1.6 * np.exp(-15)
    assert at(12, 0) == pytest.approx(midday)
    assert at(23, 0) == pytest.approx(0.11, abs=1e-9)  # Asian hours: the floor
    assert at(15, 0) > at(14, 0) > at(12, 0)


def test_first_passage_against_a_loop() -> None:
    rng = np.random.default_rng(0)
    for n in (1, 2, 7, 64, 300):
        y = np.cumsum(rng.integers(-3, 5, n)).astype(float)
        threshold = y + rng.integers(-2, 25, n)
        expected = [next((j for j in range(s, n) if y[j] >= threshold[s]), n) for s in range(n)]
        assert ms.first_passage(y, threshold).tolist() == expected


def test_chain_from_zero_against_a_loop() -> None:
    rng = np.random.default_rng(1)
    for n in (1, 5, 100, 1000):
        nxt = np.arange(n) + rng.integers(1, 6, n)  # may jump past the end: the sink
        expected, i = [], 0
        while i < n:
            expected.append(i)
            i = nxt[i]
        assert ms.chain_from_zero(nxt).tolist() == expected


def test_ar1_has_the_stated_sd_and_half_life() -> None:
    x = ms.ar1(np.random.default_rng(2), 200_000, half_life=10.0, sd=2.0)
    assert x.std() == pytest.approx(2.0, rel=0.05)
    assert np.corrcoef(x[:-10], x[10:])[0, 1] == pytest.approx(0.5, abs=0.04)
    assert abs(x[:1000].std() - 2.0) < 0.5  # stationary from the first value (burn-in)
