"""The order-flow study on real books: how each imbalance measure relates to the mid-price.

    python -m tools.real_books [--shared ../shared] [--out real.md]   # also part of python -m tools.imbalance_study

Books (``../shared/realdata``, skipped with a reason when absent): LOBSTER AMZN and GOOG
(NASDAQ, 2012-06-21, 09:30-16:00, level 1), the Binance BTCUSDT and ETHUSDT perpetual
WebSocket captures (6 minutes, @trade and @bookTicker on the exchange's time), Databento
ESH4 MBO (the Globex reopen, book rebuilt from the orders) and ESU4 mbp-1 (4 quiet minutes).
Bars are built with ``make_bars(ticks, spec, quotes=stream)``: every book update counts.

For bar ``b`` covering ``(t_b - L, t_b]`` (``L`` the bar length) the mid-price change is
``dm_b = mid(t_b) - mid(t_b - L)``, mid the ``(bid + ask) / 2`` of the quote state in force
at that time; the next bar's is ``dm'_b = mid(t_b + L) - mid(t_b)`` (defined from the quote
stream even when no trade made the next bar). For each measure ``x``:

- contemporaneous (Cont, Kukanov & Stoikov 2014): OLS ``dm_b = a + beta x_b``; R² and the
  t-statistic of ``beta``;
- prediction: ``corr(x_b, dm'_b)`` with its standard error ``sqrt((1 - r²) / (n - 2))``.

Beside the measures from the stream, ``OFI (quotes at trades)`` is the OFI of the same
bars from the quote carried on each trade only (``make_bars`` without ``quotes=``).

Standard errors assume independent bars (no overlap, no autocorrelation correction): read
anything under 2 SE as nothing. The spoof test injects fake size into the quote *stream*
(a new state when the fake order is posted, another when it is pulled, see
:func:`inject_quote_spoofs`) and rebuilds the bars.
"""
from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from data.bars.depth import timestamps_of
from data.bars.make import make_bars
from data.ticks import timestamps_ns
from tools import emit, unrooted

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

#: measure name -> bar column(s) formula; the four book measures come from the quote stream
BOOK_MEASURES = {
    "raw imbalance": lambda b: b["imbalance"],
    "time-weighted": lambda b: b["tw_imbalance"],
    "persistence-filtered": lambda b: b["persistent_imbalance"],
    "OFI": lambda b: b["ofi"],
    "OFI / depth": lambda b: b["ofi"] / b["avg_depth"].where(b["avg_depth"] > 0),
    "depth imbalance (5 levels)": lambda b: b["depth_imbalance_5"],
    "footprint imbalance count": lambda b: b["buy_imbalances"] - b["sell_imbalances"],
    "delta": lambda b: b["delta"],
}


@dataclass
class Book:
    """One real sample: trades with their stated sides, the whole quote stream, what it is."""

    name: str
    ticks: pd.DataFrame
    quotes: pd.DataFrame
    tick_size: float
    specs: tuple[str, ...]
    spoof_spec: str
    what: str


def real_books(shared: Path = SHARED) -> tuple[list[Book], list[str]]:
    """The real books found under ``shared/realdata``, and a note for each one skipped (its path relative to ``shared``)."""
    from data import join_quotes, load_quotes, load_ticks

    real = shared / "realdata"
    candidates = [
        ("LOBSTER AMZN", real / "lobster/LOBSTER_SampleFile_AMZN_2012-06-21_1.zip", 0.01, ("10s", "1min", "5min"),
         "1min", "NASDAQ 2012-06-21 09:30-16:00, level 1"),
        ("LOBSTER GOOG", real / "lobster/LOBSTER_SampleFile_GOOG_2012-06-21_1.zip", 0.01, ("10s", "1min", "5min"),
         "1min", "NASDAQ 2012-06-21 09:30-16:00, level 1"),
        ("Binance BTCUSDT perp", real / "binance_stream/usdm_btcusdt_20240808.gz", 0.1, ("1s", "10s", "1min"),
         "10s", "2024-08-08 23:54-24:00 UTC, @trade + @bookTicker"),
        ("Binance ETHUSDT perp", real / "binance_stream/usdm_ethusdt_20240808.gz", 0.01, ("1s", "10s", "1min"),
         "10s", "2024-08-08 23:54-24:00 UTC, @trade + @bookTicker"),
        ("CME ESH4 MBO", real / "databento/esh4-glbx-mdp3-20231225.mbo.dbn.zst", 0.25, ("10s", "1min"),
         "10s", "Globex reopen 2023-12-25 23:00-24:00 UTC, book rebuilt from the orders"),
        ("CME ESU4 mbp-1", real / "databento/ESU4.GLBX.MDP3.mbp-1.20240701.dbn.zst", 0.25, ("10s", "1min"),
         "10s", "2024-07-01 23:58-00:02 UTC, top of book"),
    ]
    books, skipped = [], []
    for name, path, tick, specs, spoof_spec, what in candidates:
        if not path.is_file():
            skipped.append(unrooted(f"{name}: {path} not found", shared))
            continue
        try:
            ticks, quotes = load_ticks(path), load_quotes(path)
            if "bid" not in ticks:  # a capture's trades carry no quote: the last one strictly before each
                ticks = join_quotes(ticks, quotes)
        except Exception as err:  # noqa: BLE001 - a skipped sample is reported, not fatal
            skipped.append(unrooted(f"{name}: not loaded ({type(err).__name__}: {err})", shared))
            continue
        books.append(Book(name, ticks, quotes, tick, specs, spoof_spec, what))
    return books, skipped


def mid_at(quotes: pd.DataFrame, times_ns: np.ndarray) -> np.ndarray:
    """``(bid + ask) / 2`` of the quote state in force at each time (the last at or before it); NaN before the first."""
    ts = timestamps_of(quotes)
    i = np.searchsorted(ts, np.asarray(times_ns, dtype=np.int64), side="right") - 1
    mid = (quotes["bid"].to_numpy(np.float64) + quotes["ask"].to_numpy(np.float64)) / 2
    return np.where(i >= 0, mid[np.maximum(i, 0)], np.nan)


def mid_changes(bars: pd.DataFrame, quotes: pd.DataFrame, length_ns: int) -> tuple[np.ndarray, np.ndarray]:
    """``(dm, dm_next)``: the mid change over each bar ``(t - L, t]`` and over the next interval ``(t, t + L]``."""
    t = timestamps_ns(bars.index)
    now = mid_at(quotes, t)
    return now - mid_at(quotes, t - length_ns), mid_at(quotes, t + length_ns) - now


def ols(x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """OLS of ``y = a + b x`` over the pairs where both are finite: ``n``, ``r2``, ``beta``, ``t``
    (beta over its homoskedastic standard error), ``corr`` and its SE ``sqrt((1 - r²) / (n - 2))``."""
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    n = len(x)
    nan = {"n": n, "r2": math.nan, "beta": math.nan, "t": math.nan, "corr": math.nan, "se": math.nan}
    if n < 3 or x.std() == 0 or y.std() == 0:
        return nan
    r = float(np.corrcoef(x, y)[0, 1])
    beta = r * y.std() / x.std()
    se_r = math.sqrt(max(1 - r * r, 0.0) / (n - 2))
    return {"n": n, "r2": r * r, "beta": beta, "t": r / se_r if se_r > 0 else math.inf, "corr": r, "se": se_r}


def book_bars(book: Book, spec: str, quotes: pd.DataFrame | None = None) -> pd.DataFrame:
    return make_bars(book.ticks, spec, quotes=book.quotes if quotes is None else quotes, tick_size=book.tick_size)


def measure_frame(bars: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({name: f(bars).astype(np.float64) for name, f in BOOK_MEASURES.items()}, index=bars.index)


def relation_table(book: Book, spec: str) -> pd.DataFrame:
    """Per measure: bars, contemporaneous R² and t, next-bar correlation and its SE."""
    bars = book_bars(book, spec)
    length = int(pd.Timedelta(spec).value)
    dm, dm_next = mid_changes(bars, book.quotes, length)
    values = measure_frame(bars)
    at_trades = make_bars(book.ticks, spec, tick_size=book.tick_size, footprint=False)  # the same bars
    values.insert(4, "OFI (quotes at trades)", at_trades["ofi"].to_numpy())
    rows = {}
    for name, x in values.items():
        now, ahead = ols(x.to_numpy(), dm), ols(x.to_numpy(), dm_next)
        rows[name] = {"bars": now["n"], "R² now": now["r2"], "t now": now["t"], "corr next": ahead["corr"],
                      "SE next": ahead["se"], "t next": ahead["t"]}
    return pd.DataFrame(rows).T


def inject_quote_spoofs(quotes: pd.DataFrame, starts_ns: np.ndarray, lives_ns: np.ndarray, sides: np.ndarray,
                        size: float) -> pd.DataFrame:
    """The quote stream with ``size`` fake lots at the best bid (side +1) or ask (-1) from
    ``start`` to ``start + life`` for each episode.

    Two states are inserted per episode: at ``start``, a copy of the state in force then
    (the fake order arrives), and at ``start + life``, a copy of the state in force then
    (it leaves); the fake size is added to the episode's side on every state from the
    post up to the pull whose price on that side is still the price at ``start`` (the
    order rests at the price where it was posted). Inserted states follow the stream's
    own states at the same time, pulls before posts. Episodes before the first state
    are dropped. Vectorised over (episode, state) pairs.
    """
    ts = timestamps_of(quotes)
    starts = np.asarray(starts_ns, dtype=np.int64)
    valid = starts >= ts[0]  # nothing to spoof before the first state
    starts, sides = starts[valid], np.asarray(sides)[valid]
    ends = starts + np.asarray(lives_ns, dtype=np.int64)[valid]
    times = np.concatenate([ends, starts])  # at one instant a pull comes before a post
    inserted = quotes.iloc[np.searchsorted(ts, times, side="right") - 1].copy()
    inserted["timestamp"] = pd.DatetimeIndex(times.view("M8[ns]")).tz_localize("UTC")
    out = pd.concat([quotes, inserted], ignore_index=True)
    order = np.lexsort((np.arange(len(out)), timestamps_ns(out["timestamp"])))
    out = out.iloc[order].reset_index(drop=True)
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    n, m = len(quotes), len(starts)
    first, stop = position[n + m:], position[n:n + m]  # each episode's post and pull rows
    counts = np.maximum(stop - first, 0)
    episode = np.repeat(np.arange(m), counts)
    offsets = np.concatenate(([0], np.cumsum(counts)))
    row = first[episode] + np.arange(offsets[-1]) - offsets[:-1][episode]
    for side, price_col, size_col in ((1, "bid", "bid_size"), (-1, "ask", "ask_size")):
        price = out[price_col].to_numpy(np.float64)
        pinned = (sides[episode] == side) & (price[row] == price[first[episode]])
        out[size_col] = out[size_col].to_numpy(np.float64) + np.bincount(row[pinned], minlength=len(out)) * size
    return out


def spoof_episodes(bars: pd.DataFrame, quotes: pd.DataFrame, kind: str, per_bar: float, rng: np.random.Generator,
                   life: tuple[float, float] = (0.1, 0.9)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(starts, lives, sides): ``kind="random"`` at random quote states, ``per_bar`` per bar on
    average; ``kind="close"`` one per bar, resting over the bar's close."""
    ts = timestamps_of(quotes)
    if kind == "random":
        count = int(round(per_bar * len(bars)))
        starts = np.sort(ts[rng.integers(0, len(ts), count)])
        lives = (rng.uniform(*life, count) * 1e9).astype(np.int64)
    else:
        stamps = timestamps_ns(bars.index)
        lives = (rng.uniform(*life, len(stamps)) * 1e9).astype(np.int64)
        starts = stamps + 1 - lives
    return starts, lives, rng.choice(np.array([-1, 1]), len(starts))


def shift_table(clean: pd.DataFrame, doctored: pd.DataFrame) -> pd.DataFrame:
    """Per measure: share of bars changed, mean |change| / std(clean), corr(clean, doctored)."""
    rows = {}
    for name in clean:
        a, b = clean[name], doctored[name]
        ok = a.notna() & b.notna()
        change = (b[ok] - a[ok]).abs()
        scale = a[ok].std()
        rows[name] = {
            "bars changed %": 100.0 * float((change > 1e-9 * max(scale, 1.0)).mean()),
            "mean |change| / std": float(change.mean() / scale) if scale > 0 else math.nan,
            "corr(clean, spoofed)": float(a[ok].corr(b[ok])) if scale > 0 and b[ok].std() > 0 else math.nan,
        }
    return pd.DataFrame(rows).T


def spoof_table(book: Book, seed: int = 7, per_bar: float = 2.0, size_factor: float = 5.0) -> pd.DataFrame:
    """Per measure and spoofer: share of bars changed, mean |change| / std, next-bar corr after."""
    bars = book_bars(book, book.spoof_spec)
    clean = measure_frame(bars)
    length = int(pd.Timedelta(book.spoof_spec).value)
    _, dm_next = mid_changes(bars, book.quotes, length)
    shown = np.concatenate([book.quotes["bid_size"], book.quotes["ask_size"]])
    fake = size_factor * float(np.nanmedian(shown[shown > 0]))
    rng = np.random.default_rng(seed)
    parts = {}
    for kind in ("random", "close"):
        doctored_quotes = inject_quote_spoofs(book.quotes, *spoof_episodes(bars, book.quotes, kind, per_bar, rng),
                                              size=fake)
        doctored = measure_frame(book_bars(book, book.spoof_spec, doctored_quotes))
        shift = shift_table(clean, doctored)
        after = {name: ols(doctored[name].to_numpy(), dm_next)["corr"] for name in doctored}
        parts[kind] = pd.DataFrame({"changed %": shift["bars changed %"], "shift": shift["mean |change| / std"],
                                    "corr next after": pd.Series(after)})
    table = pd.concat(parts, axis=1)
    table.attrs["fake"] = fake
    return table


def relation_markdown(book: Book) -> str:
    """One table per book: measures down, for each bar length R² now (t) and corr next ± SE."""
    tables = {spec: relation_table(book, spec) for spec in book.specs}
    head = "| measure | " + " | ".join(f"{s}: R² now (t) | {s}: corr next ± SE" for s in book.specs) + " |"
    lines = [head, "|---|" + "---|---|" * len(book.specs)]
    for name in tables[book.specs[0]].index:
        cells = []
        for spec in book.specs:
            row = tables[spec].loc[name]
            if not np.isfinite(row["R² now"]):
                cells += ["n/a", "n/a"]
                continue
            cells.append(f"{row['R² now']:.3f} ({row['t now']:+.1f})")
            cells.append(f"{row['corr next']:+.3f} ± {row['SE next']:.3f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    bars = " / ".join(f"{int(tables[s]['bars'].max()):,}" for s in book.specs)
    return "\n".join(lines) + f"\n\nBars used ({' / '.join(book.specs)}): {bars} (bars with a measure and a mid change).\n"


def spoof_markdown(book: Book, seed: int = 7) -> str:
    table = spoof_table(book, seed)
    lines = ["| measure | random: bars changed, shift | close: bars changed, shift | corr next: clean -> after close |",
             "|---|---|---|---|"]
    clean = relation_table(book, book.spoof_spec)["corr next"]
    for name in BOOK_MEASURES:
        r, c = table.loc[name, "random"], table.loc[name, "close"]
        if not np.isfinite(r["shift"]) and not np.isfinite(c["shift"]):
            continue
        lines.append(f"| {name} | {r['changed %']:.0f}%, {r['shift']:.2f} | {c['changed %']:.0f}%, {c['shift']:.2f} "
                     f"| {clean[name]:+.3f} -> {c['corr next after']:+.3f} |")
    return (f"Spoofing on the {book.spoof_spec} bars: {table.attrs['fake']:g} lots (5 x the median displayed size) "
            "for 0.1-0.9 s, bid or ask at random, 2 per bar at random moments or one over each bar's close:\n\n"
            + "\n".join(lines) + "\n")


def strategies_markdown(shared: Path = SHARED, spec: str = "1min") -> tuple[str, list[str]]:
    """Every registered strategy on the longest real samples (the LOBSTER days, 6.5 hours
    each), one backtest each with :func:`research.run` (defaults: one unit, no costs); the
    bars' book lines come from the file's own quote stream. With a note for each day skipped."""
    from reports.output import compare_frame, compare_table
    from research import RunConfig, run
    from strategies import STRATEGIES

    parts, skipped = [], []
    for ticker in ("AMZN", "GOOG"):
        path = shared / f"realdata/lobster/LOBSTER_SampleFile_{ticker}_2012-06-21_1.zip"
        if not path.is_file():
            skipped.append(unrooted(f"strategies on LOBSTER {ticker}: {path} not found", shared))
            continue
        names = list(STRATEGIES)
        results = [run(RunConfig(data=path, strategy=name, bars=spec)) for name in names]
        parts.append(f"LOBSTER {ticker}, {len(results[0].bars):,} {spec} bars, one share, no costs:\n\n```\n"
                     + compare_table(compare_frame(names, results)) + "\n```\n")
    return "\n".join(parts), skipped


def study(shared: Path = SHARED, seed: int = 7) -> tuple[str, list[str]]:
    """The study on every real book found, as markdown, and a note for each book (or strategy run) left out."""
    books, skipped = real_books(shared)
    parts = ["R² now: of the bar's mid change on the measure (t of the slope); corr next: with the next "
             "interval's mid change, ± one standard error.\n"]
    for book in books:
        parts.append(f"#### {book.name} ({book.what}): {len(book.ticks):,} trades, {len(book.quotes):,} quote updates\n")
        parts.append(relation_markdown(book))
        parts.append(spoof_markdown(book, seed))
    strategies, left_out = strategies_markdown(shared)
    parts += ["#### The strategies on the longest real samples\n", strategies]
    return "\n".join(parts), skipped + left_out


def report(shared: Path = SHARED, seed: int = 7) -> str:
    """:func:`study` with its notes of what was left out at the end."""
    text, skipped = study(shared, seed)
    return text + "".join(f"\n(skipped {note})\n" for note in skipped)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=SHARED, help="the shared/ folder (default ../shared)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the spoof injection")
    parser.add_argument("--out", type=Path, default=None, help="also write the markdown here")
    args = parser.parse_args(argv)
    text = report(args.shared, args.seed)
    return emit(text, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
