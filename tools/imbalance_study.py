"""Which imbalance can you trust? Predictive power and spoof resistance of six order-flow measures.

    python -m tools.imbalance_study [--data ticks.parquet --tick-size 0.25] [--bars 1min] [--seed 7] [--out study.md]

For every bar the measures are (all from :func:`data.make_bars`):

- raw imbalance: ``bid_size - ask_size`` at the bar's last tick (the original metric);
- time-weighted: the normalised imbalance ``(b - a) / (b + a)`` averaged over the bar,
  each quote weighted by how long it rested;
- persistence-filtered: the normalised imbalance of the depth that rested 1 s;
- OFI: order flow imbalance summed over the bar, divided by the bar's average depth;
- footprint imbalance count: diagonal buy imbalances minus sell imbalances (ratio 3);
- delta: buy volume minus sell volume.

Part 1, prediction: each measure at bar t against the return of bar t+1
(``close[t+1] / close[t] - 1``; pairs across a gap of more than 30 minutes are
dropped): Pearson and Spearman correlation, and the hit rate (the share of bars
where the measure and the next return are both non-zero and have the same sign).

Part 2, spoofing: fake size is added to the best bid or ask (side at random) for
less than a second, then pulled, and the bars are rebuilt from the doctored ticks
(the fake order rests at the price where it was posted: it shows only while that
price is the best quote).
Two spoofers: one posting at random moments (``per_bar`` episodes per bar on
average), one painting the close (an episode covering each bar's last tick). The
fake size is ``size_factor`` times the median displayed size. Reported: the share
of bars whose value changed, the mean absolute change in units of the measure's
own standard deviation, and the correlation of the doctored values with the clean
ones; then the prediction table again on the doctored bars.

The quotes of the tick schema are those in force at each trade, so a spoof is
seen only at trades that happen while it rests, as in any trades-with-quotes
file. Real data: the samples in ``../shared/realdata`` are used when present
(ETH/USDT trades without quotes: only delta and the footprint count apply; the
Databento files hold 4 trades each, shown with their count and not read as evidence).
Then :mod:`tools.real_books`: the relation of every measure with the mid-price, built
from the whole quote stream, and the spoof test, on the real books (LOBSTER, Binance
captures, CME ES), skipped with a reason when ``../shared`` is absent.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from data.bars.make import make_bars
from data.errors import OrderFlowError
from data.ticks import timestamps_ns
from tools import emit, unrooted
from tools.real_books import report as real_books_report
from tools.real_books import shift_table

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample" / "sample_ticks.parquet"
SHARED = REPO.parent / "shared" / "realdata"

MEASURES: dict[str, Callable[[pd.DataFrame], pd.Series]] = {
    "raw imbalance": lambda b: b["imbalance"],
    "time-weighted": lambda b: b["tw_imbalance"],
    "persistence-filtered": lambda b: b["persistent_imbalance"],
    "OFI / depth": lambda b: b["ofi"] / b["avg_depth"].where(b["avg_depth"] > 0),
    "footprint imbalance count": lambda b: b["buy_imbalances"] - b["sell_imbalances"],
    "delta": lambda b: b["delta"],
}
QUOTE_MEASURES = ("raw imbalance", "time-weighted", "persistence-filtered", "OFI / depth")


def measures(bars: pd.DataFrame) -> pd.DataFrame:
    """The six measures per bar (columns named as in :data:`MEASURES`)."""
    return pd.DataFrame({name: f(bars).astype(np.float64) for name, f in MEASURES.items()}, index=bars.index)


def next_returns(bars: pd.DataFrame, max_gap: str = "30min") -> pd.Series:
    """``close[t+1] / close[t] - 1``, NaN for the last bar and across gaps longer than ``max_gap``."""
    close = bars["close"].astype(np.float64)
    ret = close.shift(-1) / close - 1.0
    gap = pd.Series(bars.index, index=bars.index).shift(-1) - bars.index
    return ret.where(gap <= pd.Timedelta(max_gap))


def prediction_table(values: pd.DataFrame, future: pd.Series) -> pd.DataFrame:
    """Per measure: pairs used, Pearson and Spearman correlation with the next return, hit rate.

    ``hit rate = #(sign(m) == sign(r)) / #(m != 0 and r != 0)``; ``±2 SE`` is
    ``2 / sqrt(n)``, the size a correlation must exceed to differ from 0 at about 95%.
    """
    rows = {}
    for name in values:
        m = values[name]
        ok = m.notna() & future.notna() & np.isfinite(m)
        x, y = m[ok], future[ok]
        n = int(ok.sum())
        signed = (x != 0) & (y != 0)
        hits = float((np.sign(x[signed]) == np.sign(y[signed])).mean()) if signed.any() else math.nan
        pearson = float(x.corr(y)) if n > 2 and x.std() > 0 else math.nan
        spearman = float(x.rank().corr(y.rank())) if n > 2 and x.std() > 0 else math.nan
        rows[name] = {"n": n, "pearson": pearson, "spearman": spearman, "±2 SE": 2 / math.sqrt(n) if n else math.nan,
                      "hit rate": hits, "signed pairs": int(signed.sum())}
    return pd.DataFrame(rows).T[["n", "pearson", "spearman", "±2 SE", "hit rate", "signed pairs"]]


def inject_spoofs(
    ticks: pd.DataFrame,
    starts_ns: np.ndarray,
    lives_ns: np.ndarray,
    sides: np.ndarray,
    size: float,
) -> pd.DataFrame:
    """A copy of ``ticks`` where each episode shows ``size`` extra lots at the best bid
    (side +1) or ask (side -1) from ``start`` to ``start + life``.

    The fake order rests at the quote price in force when it is posted: it adds to
    ``bid_size`` (``ask_size``) only at the episode's ticks where the bid (ask) is
    still that price, and is gone once the quote moves away. Vectorised over
    (episode, tick) pairs: an episode covers the few trades of less than a second.
    """
    ts = timestamps_ns(ticks["timestamp"])
    first = np.searchsorted(ts, starts_ns, side="left")
    stop = np.searchsorted(ts, starts_ns + lives_ns, side="left")
    counts = stop - first
    live = counts > 0
    first, counts, sides = first[live], counts[live], sides[live]
    offsets = np.concatenate(([0], np.cumsum(counts)))
    episode = np.repeat(np.arange(len(first)), counts)
    tick = first[episode] + np.arange(offsets[-1]) - offsets[:-1][episode]
    out = ticks.copy()
    for side, price_col, size_col in ((1, "bid", "bid_size"), (-1, "ask", "ask_size")):
        price = ticks[price_col].to_numpy(np.float64)
        pinned = (sides[episode] == side) & (price[tick] == price[first[episode]])
        extra = np.bincount(tick[pinned], minlength=len(ts))[: len(ts)] * size
        out[size_col] = ticks[size_col].to_numpy(np.float64) + extra
    return out


def spoof_episodes(ticks: pd.DataFrame, bars: pd.DataFrame, kind: str, per_bar: float, rng: np.random.Generator,
                   life: tuple[float, float] = (0.1, 0.9)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(starts, lives, sides) of spoof episodes lasting ``life`` seconds (uniform).

    ``kind="random"``: ``per_bar * len(bars)`` episodes starting at random trades;
    ``kind="close"``: one episode per bar, ending just after the bar's last trade.
    """
    ts = timestamps_ns(ticks["timestamp"])
    if kind == "random":
        count = int(round(per_bar * len(bars)))
        lives = (rng.uniform(*life, count) * 1e9).astype(np.int64)
        starts = np.sort(ts[rng.integers(0, len(ts), count)])
    elif kind == "close":
        last = np.searchsorted(ts, timestamps_ns(bars.index), side="right") - 1
        lives = (rng.uniform(*life, len(last)) * 1e9).astype(np.int64)
        starts = ts[last] + 1 - lives
    else:
        raise ValueError(f"unknown spoofer {kind!r}")
    sides = rng.choice(np.array([-1, 1]), len(starts))
    return starts, lives, sides


def study_sample(path: Path, spec: str, seed: int, per_bar: float, size_factor: float,
                 tick_size: float | None = None) -> dict[str, pd.DataFrame]:
    """Both parts of the study on a tick file with quotes (any format ``load_ticks`` reads)."""
    from data import load_ticks

    ticks = load_ticks(path)
    if not {"bid", "ask", "bid_size", "ask_size"} <= set(ticks.columns):
        raise OrderFlowError("the study needs ticks with bid, ask, bid_size and ask_size", source=path)
    bars = make_bars(ticks, spec, tick_size=tick_size)
    clean = measures(bars)
    future = next_returns(bars)
    tables = {"prediction": prediction_table(clean, future)}
    fake = size_factor * float(np.nanmedian(np.concatenate([ticks["bid_size"], ticks["ask_size"]])))
    rng = np.random.default_rng(seed)
    for kind in ("random", "close"):
        episodes = spoof_episodes(ticks, bars, kind, per_bar, rng)
        doctored_bars = make_bars(inject_spoofs(ticks, *episodes, size=fake), spec, tick_size=tick_size)
        doctored = measures(doctored_bars)
        tables[f"spoof {kind}"] = shift_table(clean, doctored)
        tables[f"prediction spoof {kind}"] = prediction_table(doctored, future)
    tables["meta"] = pd.DataFrame({"value": {"ticks": len(ticks), "bars": len(bars), "fake size": fake,
                                             "episodes per bar (random)": per_bar}})
    return tables


def study_real(spec_trades: str = "5s") -> dict[str, pd.DataFrame]:
    """The prediction table on the real samples, where present."""
    from data import load_ticks

    out = {}
    eth = SHARED / "freqtrade" / "public_trades_list.csv"
    if eth.is_file():
        ticks = load_ticks(eth)
        bars = make_bars(ticks, spec_trades, tick_size=0.01)
        table = prediction_table(measures(bars)[["footprint imbalance count", "delta"]], next_returns(bars))
        out[f"ETH/USDT trades (Binance), {spec_trades} bars"] = table
    for name, label in (("GLBX.MDP3.tbbo.dbn.zst", "ES (CME) tbbo"), ("XNAS.ITCH.tbbo.dbn.zst", "NVDA (Nasdaq) tbbo")):
        path = SHARED / "databento" / name
        if path.is_file():
            try:
                ticks = load_ticks(path)
            except Exception as exc:  # the reader is optional (another format module)
                out[f"{label}: not read ({unrooted(str(exc), SHARED.parent)})"] = pd.DataFrame()
                continue
            bars = make_bars(ticks, None)  # one bar per trade: there are only a few
            out[f"{label}, one bar per trade"] = prediction_table(measures(bars), next_returns(bars, "1D"))
    return out


def _markdown(table: pd.DataFrame, digits: int = 3) -> str:
    if table.empty:
        return "(no data)\n"
    header = "| measure | " + " | ".join(map(str, table.columns)) + " |"
    lines = [header, "|" + "---|" * (len(table.columns) + 1)]
    for name, row in table.iterrows():
        cells = []
        for column, v in row.items():
            if column in ("n", "signed pairs"):
                cells.append(f"{int(v):,}")
            elif isinstance(v, float) and math.isnan(v):
                cells.append("n/a")
            else:
                cells.append(f"{v:.{digits}f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def report(spec: str = "1min", seed: int = 7, per_bar: float = 2.0, size_factor: float = 5.0,
           data: Path | None = None, tick_size: float | None = None, real_books: bool = True) -> str:
    """The whole study as markdown (on ``data``, default the bundled sample, then the real samples,
    then, with ``real_books``, :mod:`tools.real_books` on the real books found)."""
    parts = [f"# Which imbalance can you trust? ({spec} bars, seed {seed})\n"]
    path = data if data is not None else SAMPLE
    if data is not None and not data.is_file():
        raise OrderFlowError(f"data file not found: {data}")
    if path.is_file():
        tables = study_sample(path, spec, seed, per_bar, size_factor,
                              tick_size if tick_size is not None or data is not None else 0.25)
        meta = tables["meta"]["value"]
        parts.append(f"## {path.name} ({int(meta['ticks']):,} ticks, {int(meta['bars']):,} bars)\n")
        parts.append("Prediction of the next bar's return:\n\n" + _markdown(tables["prediction"]))
        for kind, what in (("random", f"at random moments ({per_bar:g} per bar on average)"),
                           ("close", "covering each bar's last trade (painting the close)")):
            parts.append(f"\nSpoofing {what}: {meta['fake size']:g} lots for 0.1-0.9 s, bid or ask at random.\n\n"
                         + _markdown(tables[f"spoof {kind}"])
                         + "\nPrediction on the spoofed bars:\n\n" + _markdown(tables[f"prediction spoof {kind}"]))
    for label, table in study_real().items():
        parts.append(f"\n## {label}\n\n" + _markdown(table))
    if real_books:
        parts.append("\n## Real books\n\n" + real_books_report(SHARED.parent, seed))
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", default="1min", help="bar spec for the sample (default 1min)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the spoof injection")
    parser.add_argument("--per-bar", type=float, default=2.0, help="random spoof episodes per bar on average")
    parser.add_argument("--size-factor", type=float, default=5.0, help="fake size, times the median displayed size")
    parser.add_argument("--data", type=Path, default=None,
                        help="a tick file with quotes (default: the bundled sample)")
    parser.add_argument("--tick-size", type=float, default=None, help="tick size of --data (default: inferred)")
    parser.add_argument("--out", type=Path, default=None, help="also write the markdown here")
    parser.add_argument("--no-real", action="store_true", help="leave out the real books (tools.real_books)")
    args = parser.parse_args(argv)
    try:
        text = report(args.bars, args.seed, args.per_bar, args.size_factor, args.data, args.tick_size,
                      real_books=not args.no_real)
    except OrderFlowError as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    return emit(text, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
