"""Generate the bundled synthetic tick sample: an E-mini-S&P-like future, several CME sessions.

    python -m tools.make_sample [--out PATH] [--seed N] [--sessions N]

The output is deterministic for a given ``--seed`` and ``--sessions``: every session draws
from its own child of ``numpy.random.SeedSequence(seed)``, so session *k* is the same
whatever the number of sessions generated after it (only its starting price depends on
the sessions before it; the first session always starts at 5000.00).

The model (one session is simulated at a time, fully vectorised with numpy):

* **Clock.** CME Globex sessions 17:00-16:00 America/Chicago, one per trade date
  (Monday to Friday; the Monday session opens on Sunday evening), converted to UTC.
* **Arrivals.** Aggressive *parent* orders arrive as a Poisson process with a per-second
  intensity ``lambda(t) = 1.25 * profile(t) * exp(x(t) - var(x)/2)``: ``profile`` is the
  time-of-day shape (quiet Asian hours, a European-open bump, the 07:30 CT data release,
  a U-shape over the cash session 08:30-15:15 CT with the 15:00 close spike), ``x`` a sum
  of two AR(1) log-intensity factors (half-lives 2 and 30 minutes) that cluster activity.
  Each parent prints ``1 + Geometric`` trades at the same timestamp (a sweep of
  several resting orders), all on the parent's side.
* **Aggressor side.** ``P(buy) = (1 + tanh(z_herd(t) + z_inf(t))) / 2``: ``z_herd`` is a
  fast AR(1) (half-life 20 s, herding), ``z_inf`` the informed / meta-order component, a
  sum of AR(1)s with half-lives 5 and 45 minutes (long-memory-like persistence). Price
  impact is purely mechanical (below), so it is the persistence of this flow that makes a
  CVD trend weakly informative about the next minutes' returns.
* **Sizes.** Discrete Pareto: ``size = floor(U ** (-1 / 1.35))`` capped at 300 lots, so
  about 60 % are 1 lot, 12 % are 5 or more and roughly 1 in 200 is 50 or more.
* **Book.** A one-tick-wide quote ``bid = L * 0.25``, ``ask = bid + 0.25``. When the quote
  forms at trade ``s`` its ask and bid queues are drawn, lognormal around a depth that
  grows with activity (``45 * profile ** 0.6`` lots: about 15 overnight, 45-100 in the
  cash session; scaled to the sample's trade rate, a tenth of the real contract's), leaning
  with ``z_inf`` (``ask *= exp(-0.15 z_inf)``, ``bid *= exp(+0.15 z_inf)``) so that the raw
  imbalance ``bid_size - ask_size`` is mildly informative; the queue on the side just
  vacated starts at half depth. Queues refill at a rate ``rho`` times the expected
  one-sided aggressive flow and are depleted by aggressive volume::

      ask_size(j) = Qa(s) + Ra(t_j) - Ra(t_s) - (B(j-1) - B(s-1))

  with ``B`` the cumulative buy volume and ``Ra`` the cumulative refill. The first trade
  that exhausts a queue ends the level: the price moves one tick in its direction and
  new queues are drawn. Right after a move the vacated side stays empty for an
  exponential time (short when busy, long when quiet): the spread is then two ticks, and
  exhausting the side behind the move in that time moves the price two ticks.
  Buys print at the ask and sells at the bid in force before the trade.

Vectorising the queue mechanics: with ``Y(j) = B(j) - Ra(t_j)`` the level started at
``s`` ends at the first ``j >= s`` with ``Y(j) >= B(s-1) - Ra(t_s) + Qa(s)`` (likewise down with
the sell side). The queues are drawn for *every* trade as a potential start, each first
passage is found for all starts at once by binary lifting over a sparse table of running
maxima, and the chain of actual level starts ``0 -> next(0) -> next(next(0)) ...`` is
collected by pointer doubling. All steps are O(n log n) numpy operations; the only Python
loops run over sessions and over the log2(n) doubling levels.
"""
from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from data.bars.flow import tick_flow

TICK_SIZE = 0.25
CHICAGO = "America/Chicago"
SESSION_OPEN_HOUR = 17  # CT, the evening before the trade date
SESSION_SECONDS = 23 * 3600  # 17:00 -> 16:00 CT
FIRST_TRADE_DATE = "2024-04-15"  # a Monday; sessions run Sun 17:00 -> Fri 16:00 CT
DEFAULT_SEED = 20240415
DEFAULT_SESSIONS = 5
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "data" / "sample" / "sample_ticks.parquet"
START_LEVEL = 20000  # bid of the first quote in ticks: 5000.00
COLUMNS = ("timestamp", "price", "size", "side", "bid", "ask", "bid_size", "ask_size")


@dataclass(frozen=True)
class ModelParams:
    """The knobs of the microstructure model (see the module docstring)."""

    activity: float = 1.25  # multiplies activity_profile (parents per second)
    children_p: float = 0.68  # prints per parent: 1 + Geometric(p) - 1, mean 1/p
    size_alpha: float = 1.35  # tail exponent of print sizes
    size_cap: int = 300
    activity_factors: tuple[tuple[float, float], ...] = ((120.0, 0.45), (1800.0, 0.30))
    herd_factors: tuple[tuple[float, float], ...] = ((20.0, 0.22),)
    informed_factors: tuple[tuple[float, float], ...] = ((300.0, 0.06), (2700.0, 0.035))
    depth_cash: float = 45.0  # median queue (lots) when profile == 1
    depth_power: float = 0.6  # depth ~ profile ** depth_power
    depth_sigma: float = 0.6  # lognormal dispersion of queue draws
    vacated_share: float = 0.5  # the queue on the side just taken starts this deep
    lean: float = 0.15  # queue lean with the informed component
    refill: float = 0.25  # refill rate / expected one-sided aggressive flow
    gap_seconds: float = 0.35  # mean two-tick-spread time at profile == 1


def session_opens(sessions: int, first_trade_date: str = FIRST_TRADE_DATE) -> pd.DatetimeIndex:
    """UTC open times of ``sessions`` consecutive sessions.

    Trade dates are business days from ``first_trade_date``; each session opens at
    17:00 America/Chicago on the calendar day before its trade date (Sunday for Monday)
    and lasts 23 hours. Exchange holidays are ignored.
    """
    trade_dates = pd.bdate_range(first_trade_date, periods=sessions)
    local_open = (trade_dates - pd.Timedelta(days=1) + pd.Timedelta(hours=SESSION_OPEN_HOUR))
    return local_open.tz_localize(CHICAGO).tz_convert("UTC")


def activity_profile(seconds: np.ndarray) -> np.ndarray:
    """Expected aggressive parent orders per second, by seconds since the 17:00 CT open.

    A sum of shapes in Chicago time ``h`` (hours): an overnight floor of 0.11/s, a
    decaying burst after the 17:00 open, the 02:00 European open, a ramp into the 07:30
    data release, and over the cash session 08:30-15:15 (``m`` minutes since 08:30)
    ``0.85 + 2.6 exp(-m/25) + 0.45 exp(-m/120)`` plus a close spike peaking at 15:00;
    after 15:15 activity fades back towards the overnight level.
    """
    s = np.asarray(seconds, dtype=np.float64)
    h = (SESSION_OPEN_HOUR + s / 3600.0) % 24.0  # Chicago clock hour
    rate = np.full_like(s, 0.11)
    rate += 0.5 * np.exp(-s / 900.0)  # evening open
    rate += 0.25 * np.exp(-np.abs(h - 2.0) / 0.75) * (h < 8)  # Europe
    rate += 0.2 * np.clip((h - 4.0) / 4.5, 0, 1) * (h < 8.5)  # pre-market build-up
    rate += 0.9 * np.exp(-np.maximum(h - 7.5, 0) * 60 / 6.0) * (h >= 7.5) * (h < 8.5)  # 07:30 data
    cash = (h >= 8.5) & (h < 15.25)
    m = (h - 8.5) * 60.0
    u_shape = 0.85 + 2.6 * np.exp(-m / 25.0) + 0.45 * np.exp(-m / 120.0)
    u_shape += 1.6 * np.exp(-np.abs(m - 390.0) / 12.0) + 0.4 * np.clip((m - 300.0) / 90.0, 0, 1)
    rate = np.where(cash, u_shape, rate)
    after = (h >= 15.25) & (h < 16.0)
    rate = np.where(after, 0.15 + 0.6 * np.exp(-(h - 15.25) * 60 / 15.0), rate)
    return rate


def ar1(rng: np.random.Generator, n: int, half_life: float, sd: float) -> np.ndarray:
    """A stationary Gaussian AR(1) path ``x(t) = phi x(t-1) + e(t)`` of length ``n``.

    ``phi = 2 ** (-1 / half_life)`` and ``e ~ N(0, sd^2 (1 - phi^2))`` so that
    ``std(x) = sd``. Computed as the convolution of the shocks with the kernel ``phi^k``
    (truncated where ``phi^k < 1e-9``; the same length of burn-in shocks precedes the
    path) through the FFT.
    """
    phi = 2.0 ** (-1.0 / half_life)
    taps = int(np.ceil(np.log(1e-9) / np.log(phi))) + 1
    shocks = rng.standard_normal(n + taps) * sd * np.sqrt(1.0 - phi * phi)
    kernel = phi ** np.arange(taps)
    size = 1 << int(np.ceil(np.log2(n + 2 * taps)))
    full = np.fft.irfft(np.fft.rfft(shocks, size) * np.fft.rfft(kernel, size), size)
    return full[taps : taps + n]


def sum_ar1(
    rng: np.random.Generator, n: int, factors: tuple[tuple[float, float], ...]
) -> np.ndarray:
    """Sum of independent :func:`ar1` paths, one per ``(half_life, sd)`` factor."""
    total = np.zeros(n)
    for half_life, sd in factors:
        total += ar1(rng, n, half_life, sd)
    return total


def first_passage(y: np.ndarray, threshold: np.ndarray) -> np.ndarray:
    """For every start ``s``: the first ``j >= s`` with ``y[j] >= threshold[s]``, else ``n``.

    A sparse table holds ``max(y[i : i + 2**k])``; for each start the longest prefix
    that stays below its threshold is grown by binary lifting, largest block first.
    O(n log n) time and memory, no loop over elements.
    """
    n = len(y)
    tables = [np.asarray(y, dtype=np.float64)]
    while (1 << len(tables)) <= n:
        prev, half = tables[-1], 1 << (len(tables) - 1)
        nxt = prev.copy()
        nxt[: n - half] = np.maximum(prev[: n - half], prev[half:])
        tables.append(nxt)
    pos = np.arange(n)
    for k in range(len(tables) - 1, -1, -1):
        step = 1 << k
        inside = pos + step <= n
        below = inside & (tables[k][np.minimum(pos, n - 1)] < threshold)
        pos = np.where(below, pos + step, pos)
    return pos


def chain_from_zero(nxt: np.ndarray) -> np.ndarray:
    """The sorted orbit ``0, nxt[0], nxt[nxt[0]], ...`` below the sink ``n = len(nxt)``.

    ``nxt[i] > i`` for every ``i``, values ``>= n`` are the sink. Pointer doubling: with
    ``J = nxt`` composed with itself ``k`` times (``nxt^(2^k)``) the visited set doubles
    as ``P <- P | J[P]``; it stops once ``J[0]`` reaches the sink.
    """
    n = len(nxt)
    jump = np.append(np.minimum(nxt, n), n)
    nodes = np.array([0])
    while jump[0] < n:
        nodes = np.concatenate([nodes, jump[nodes]])
        jump = jump[jump]
    return np.unique(nodes[nodes < n])


@dataclass
class _Flow:
    """Aggressive prints of one session, sorted by time."""

    micros: np.ndarray  # int64 microseconds since the session open
    side: np.ndarray  # int8 +1/-1
    size: np.ndarray  # int64 lots
    second: np.ndarray  # int64 second of the session
    informed: np.ndarray  # z_inf per second of the session


def _simulate_flow(rng: np.random.Generator, params: ModelParams) -> _Flow:
    """Arrival times, aggressor sides and sizes of one session's prints."""
    seconds = np.arange(SESSION_SECONDS)
    profile = activity_profile(seconds)
    x = sum_ar1(rng, SESSION_SECONDS, params.activity_factors)
    var_x = sum(sd * sd for _, sd in params.activity_factors)
    intensity = params.activity * profile * np.exp(x - var_x / 2.0)
    herd = sum_ar1(rng, SESSION_SECONDS, params.herd_factors)
    informed = sum_ar1(rng, SESSION_SECONDS, params.informed_factors)
    p_buy = 0.5 * (1.0 + np.tanh(herd + informed))

    parents_per_second = rng.poisson(intensity)
    parent_second = np.repeat(seconds, parents_per_second)
    jitter = rng.integers(0, 1_000_000, parent_second.size)
    parent_micros = np.sort(parent_second * 1_000_000 + jitter)
    parent_second = parent_micros // 1_000_000
    buys = rng.random(parent_second.size) < p_buy[parent_second]
    parent_side = np.where(buys, 1, -1).astype(np.int8)
    prints = rng.geometric(params.children_p, parent_second.size)

    micros = np.repeat(parent_micros, prints)
    side = np.repeat(parent_side, prints)
    u = 1.0 - rng.random(micros.size)  # (0, 1]
    size = np.minimum(np.floor(u ** (-1.0 / params.size_alpha)), params.size_cap).astype(np.int64)
    return _Flow(micros, side, size, micros // 1_000_000, informed)


def _refill_curve(flow: _Flow, params: ModelParams) -> np.ndarray:
    """Cumulative refill (lots, integer) of one side of the book at each print.

    Rate ``rho * activity * profile(t) * E[prints per parent] * E[size] / 2`` lots per
    second (``rho`` = ``params.refill``), integrated up to each print's time and floored.
    """
    seconds = np.arange(SESSION_SECONDS)
    parents = params.activity * activity_profile(seconds)
    rate = params.refill * parents / params.children_p * _mean_size(params) / 2.0
    before = np.concatenate([[0.0], np.cumsum(rate)])[:-1]
    at = before[flow.second] + rate[flow.second] * (flow.micros % 1_000_000) / 1e6
    return np.floor(at).astype(np.int64)


def _mean_size(params: ModelParams) -> float:
    """E[size] of the capped discrete Pareto: ``sum_{k=1..cap} P(size >= k) = sum k^-alpha``."""
    k = np.arange(1, params.size_cap + 1, dtype=np.float64)
    return float(np.sum(k ** -params.size_alpha))


def _queue_draws(
    rng: np.random.Generator, flow: _Flow, params: ModelParams
) -> tuple[np.ndarray, np.ndarray]:
    """Ask and bid queue sizes for a quote formed at each print (a potential level start).

    ``median = depth_cash * profile ** depth_power``, lognormal with ``depth_sigma``, leaning
    with ``exp(-/+ lean * z_inf)``; the side vacated by the move that formed the quote
    (the ask after a down move, i.e. when the previous print was a sell) starts at
    ``vacated_share`` of a draw. At least one lot.
    """
    n = flow.side.size
    profile = activity_profile(flow.second)
    median = params.depth_cash * profile**params.depth_power
    z = flow.informed[flow.second]
    ask = median * np.exp(params.depth_sigma * rng.standard_normal(n) - params.lean * z)
    bid = median * np.exp(params.depth_sigma * rng.standard_normal(n) + params.lean * z)
    prev_side = np.concatenate([[0], flow.side[:-1]])
    ask = np.where(prev_side == -1, params.vacated_share * ask, ask)
    bid = np.where(prev_side == 1, params.vacated_share * bid, bid)
    return _lots(ask), _lots(bid)


def _lots(size: np.ndarray) -> np.ndarray:
    """Round to whole lots, at least one."""
    return np.maximum(np.rint(size), 1).astype(np.int64)


def _in_gap(
    rng: np.random.Generator, flow: _Flow, start: np.ndarray, params: ModelParams
) -> np.ndarray:
    """Whether each trade meets a two-tick spread: the side vacated by the last move is empty.

    A quote formed at trade ``s`` (after the move made by trade ``s-1``) stays two ticks wide
    for ``gap(s) ~ Exponential(mean = gap_seconds / sqrt(profile))`` seconds: brief when busy,
    longer when quiet. The first quote of a session has no gap.
    """
    n = flow.side.size
    gap = rng.exponential(1.0, n) * params.gap_seconds / np.sqrt(activity_profile(flow.second))
    moved_at = flow.micros[np.maximum(start - 1, 0)]
    return (start > 0) & (flow.micros - moved_at < gap[start] * 1e6)


def _level_offsets(
    starts: np.ndarray,
    up_exit: np.ndarray,
    down_exit: np.ndarray,
    in_gap: np.ndarray,
    came_from: np.ndarray,
) -> np.ndarray:
    """Bid level of each quote episode relative to the session's first, plus the final level.

    An episode ends with its first exhausting trade: one tick up (ask exhausted) or down
    (bid exhausted). While the spread is two ticks wide the side behind the last move shows
    the level one tick further away, so exhausting that side moves the level two ticks.
    Returns ``len(starts) + 1`` offsets: ``cumsum`` of the moves, starting at 0.
    """
    n = len(up_exit)
    exit_trade = np.minimum(up_exit[starts], down_exit[starts])
    moved = exit_trade < n  # the last episode may not end inside the session
    step = np.where(up_exit[starts] < down_exit[starts], 1, -1)
    last = np.minimum(exit_trade, n - 1)
    through_gap = moved & in_gap[last] & (step == -came_from[last])
    move = np.where(moved, step * (1 + through_gap), 0)
    return np.concatenate([[0], np.cumsum(move)])


def simulate_session(
    rng: np.random.Generator,
    open_utc: pd.Timestamp,
    start_level: int,
    params: ModelParams = ModelParams(),
) -> tuple[pd.DataFrame, int]:
    """One session of ticks in the canonical schema, and the bid level (ticks) it ends at.

    ``open_utc`` is the 17:00 CT open, ``start_level`` the first bid in ticks. Per trade ``j``
    in the quote episode that began at trade ``s``: ``ask_size(j) = Qa(s) + Ra(t_j) - Ra(t_s)
    - (B(j-1) - B(s-1))`` (likewise the bid with sell volume), a buy prints at the ask and a
    sell at the bid, and the first trade whose size reaches its side's queue ends the episode.
    """
    flow = _simulate_flow(rng, params)
    n = flow.side.size
    buy_vol = np.where(flow.side == 1, flow.size, 0)
    sell_vol = flow.size - buy_vol
    bought = np.cumsum(buy_vol)  # B(j), inclusive
    sold = np.cumsum(sell_vol)
    bought_before = bought - buy_vol  # B(j-1)
    sold_before = sold - sell_vol
    refill_ask = _refill_curve(flow, params)
    refill_bid = refill_ask  # symmetric refill
    ask_q, bid_q = _queue_draws(rng, flow, params)

    # Level started at s: ask exhausted at the first j with B(j) - Ra(j) >= B(s-1) - Ra(s) + Qa(s).
    ask_limit = bought_before - refill_ask + ask_q
    bid_limit = sold_before - refill_bid + bid_q
    up_exit = first_passage(bought - refill_ask, ask_limit)
    down_exit = first_passage(sold - refill_bid, bid_limit)
    exit_at = np.minimum(up_exit, down_exit)
    starts = chain_from_zero(exit_at + 1)
    episode = np.searchsorted(starts, np.arange(n), side="right") - 1
    start = starts[episode]  # the trade at which each trade's quote formed
    # Direction of the move that formed the quote: the side of the trade that exhausted a queue.
    came_from = np.where(start > 0, flow.side[np.maximum(start - 1, 0)], 0)
    in_gap = _in_gap(rng, flow, start, params)
    offsets = _level_offsets(starts, up_exit, down_exit, in_gap, came_from)
    bid_level = start_level + offsets[episode]
    ask_level = bid_level + 1
    bid_level = np.where(in_gap & (came_from == 1), bid_level - 1, bid_level)
    ask_level = np.where(in_gap & (came_from == -1), ask_level + 1, ask_level)

    ask_size = ask_limit[start] - (bought_before - refill_ask)
    bid_size = bid_limit[start] - (sold_before - refill_bid)
    bid = bid_level * TICK_SIZE
    ask = ask_level * TICK_SIZE
    frame = pd.DataFrame(
        {
            "timestamp": open_utc + pd.to_timedelta(flow.micros, unit="us"),
            "price": np.where(flow.side == 1, ask, bid),
            "size": flow.size.astype(np.float64),
            "side": flow.side,
            "bid": bid,
            "ask": ask,
            "bid_size": bid_size.astype(np.float64),
            "ask_size": ask_size.astype(np.float64),
        }
    )
    frame["timestamp"] = frame["timestamp"].astype("datetime64[ns, UTC]")
    return frame, int(start_level + offsets[-1])


def make_sample(
    sessions: int = DEFAULT_SESSIONS, seed: int = DEFAULT_SEED, params: ModelParams = ModelParams()
) -> pd.DataFrame:
    """Ticks of ``sessions`` consecutive sessions in the canonical schema.

    Session ``k`` uses ``default_rng(SeedSequence(seed).spawn(sessions)[k])`` and starts at
    the previous session's closing bid plus an overnight gap of ``round(N(0, 4))`` ticks
    (drawn from the session's own stream); the first starts at 5000.00.
    """
    opens = session_opens(sessions)
    children = np.random.SeedSequence(seed).spawn(sessions)
    frames, level = [], START_LEVEL
    for k, (open_utc, child) in enumerate(zip(opens, children)):
        rng = np.random.default_rng(child)
        gap = int(np.rint(4.0 * rng.standard_normal()))
        frame, level = simulate_session(rng, open_utc, level + (gap if k else 0), params)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def write_sample(frame: pd.DataFrame, path: Path | str) -> None:
    """Write the ticks as Parquet, zstd level 9, one row group per 1M rows."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(frame[list(COLUMNS)], preserve_index=False)
    pq.write_table(table, path, compression="zstd", compression_level=9)


def summarize(frame: pd.DataFrame) -> dict[str, float]:
    """Figures to check the sample by: counts, buy share, spread, and 1-minute predictability.

    Sessions are trade dates (Chicago time + 7 h). ``delta_next_corr`` is the Pearson
    correlation, within sessions, of a minute's volume delta (buy minus sell lots) with the
    next minute's change of the mid ``(bid + ask) / 2``; ``delta_same_corr`` the same with
    the same minute's change; ``imbalance_next_corr`` uses the minute's last
    ``bid_size - ask_size`` instead of the delta.
    """
    ts = frame["timestamp"]
    session = (ts.dt.tz_convert(CHICAGO) + pd.Timedelta(hours=24 - SESSION_OPEN_HOUR)).dt.date
    per_trade = pd.DataFrame(
        {
            "session": session,
            "minute": ts.dt.floor("1min"),
            "delta": tick_flow(frame["size"].to_numpy(), frame["side"].to_numpy())["delta"],
            "mid": (frame["bid"] + frame["ask"]) / 2,
            "imbalance": frame["bid_size"] - frame["ask_size"],
            "price": frame["price"],
        }
    )
    bars = per_trade.groupby(["session", "minute"]).agg(
        delta=("delta", "sum"), mid=("mid", "last"), imbalance=("imbalance", "last")
    )
    change = bars.groupby(level="session")["mid"].diff()
    next_change = change.groupby(level="session").shift(-1)
    ok = next_change.notna() & change.notna()
    sessions = per_trade.groupby("session")["price"].agg(["size", "min", "max"])
    bid_changes = int((frame["bid"].diff().fillna(0) != 0).sum())

    def corr(a: pd.Series, b: pd.Series) -> float:
        return float(np.corrcoef(a[ok], b[ok])[0, 1])

    return {
        "rows": len(frame),
        "sessions": len(sessions),
        "trades_per_session_min": int(sessions["size"].min()),
        "trades_per_session_max": int(sessions["size"].max()),
        "share_buys": float((frame["side"] == 1).mean()),
        "mean_spread_ticks": float(((frame["ask"] - frame["bid"]) / TICK_SIZE).mean()),
        "mean_size": float(frame["size"].mean()),
        "trades_per_bid_change": len(frame) / max(bid_changes, 1),
        "session_range_points_mean": float((sessions["max"] - sessions["min"]).mean()),
        "delta_same_corr": corr(bars["delta"], change),
        "delta_next_corr": corr(bars["delta"], next_change),
        "imbalance_next_corr": corr(bars["imbalance"], next_change),
    }


def main(argv: list[str] | None = None) -> int:
    """Command line: generate, write, print the summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="Parquet file to write")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--sessions", type=int, default=DEFAULT_SESSIONS)
    args = parser.parse_args(argv)
    if args.sessions < 1:
        parser.error("--sessions must be at least 1")
    began = time.perf_counter()
    frame = make_sample(args.sessions, args.seed)
    write_sample(frame, args.out)
    elapsed = time.perf_counter() - began
    megabytes = args.out.stat().st_size / 1e6
    print(f"wrote {args.out}: {len(frame):,} ticks, {megabytes:.2f} MB in {elapsed:.1f} s")
    for key, value in summarize(frame).items():
        print(f"  {key}: {value:.4g}" if isinstance(value, float) else f"  {key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
