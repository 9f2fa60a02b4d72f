"""Measure how well each trade-side classifier recovers the true aggressor flag.

    python -m tools.accuracy [--bars 10t] [--window 20] [--shared PATH]

For every sample that carries the true aggressor side, the side is hidden
(set to 0), each method of :data:`data.sides.classify.CLASSIFIERS` fills it, and the
result is compared with the truth. Trades whose true side is itself unknown
are left out of the scoring. Printed as a markdown table:

- ``signed``: share of trades the method gave a side (+1/-1) at all;
- ``trades right / signed``: correct sides over the trades the method signed;
- ``trades right / all``: correct sides over all scored trades (unsigned = wrong);
- ``volume right / signed`` and ``/ all``: the same weighted by trade size;
- ``bar volume right``: per bar (``--bars``), ``min(est buy, true buy) +
  min(est sell, true sell)`` summed over bars, over total volume — the measure
  of Easley, López de Prado & O'Hara (2012), where misclassified trades in
  the same bar can cancel. This is the only column bulk volume classification
  (``bvc``, computed with ``--window`` bars of trailing sigma) has, as it
  classifies volume per bar, not trades. Unsigned volume counts as wrong.

Samples (each skipped with a note when absent or unreadable): under ``shared/realdata``,
the freqtrade Binance ETH/USDT trades (no quotes, so the quote-based methods reduce to
the tick rule and ``quote`` signs nothing); the Databento ``tbbo`` files (3-4 trades);
LOBSTER AMZN and GOOG (the book before each execution; also scored on the executions of
hidden orders alone, which print inside the spread: column ``hidden`` of the ticks, from
``data.reading.readers.lobster.read_lobster_messages``); the Binance BTCUSDT and ETHUSDT perpetual
captures with their ``@bookTicker`` quotes joined three ways (:func:`binance_alignments`):
both on the exchange's time, both on the recorder's receive time, and trades on the
exchange's time against quotes on the receive time (the ~1.3 s clock skew of these
captures); Databento ESH4 MBO (the book rebuilt from the orders) and ESU4 mbp-1; and the
synthetic ``data/sample/sample_ticks.parquet``.

The printed table is ``trades right / all`` per sample and method, with bulk volume
classification's ``bar volume right``; ``--detail`` prints every column.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from data.bars.make import make_bars
from data.reading.loader import load_ticks
from data.sides.classify import CLASSIFIERS, bulk_volume_classification, classify
from tools import unrooted

REPO = Path(__file__).resolve().parents[1]  # tools/accuracy.py -> the repository
SHARED = REPO.parent / "shared"
BARS, WINDOW = "10t", 20  # the per-bar columns' bars and BVC's trailing window, unless told


@dataclass(frozen=True)
class Score:
    """One method's result on one sample (shares in [0, 1]; NaN where undefined)."""

    sample: str
    method: str
    signed: float
    trades_signed: float
    trades_all: float
    volume_signed: float
    volume_all: float
    bar_volume: float


def _share(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else float("nan")


def bar_volume_accuracy(estimated: pd.DataFrame, true: pd.DataFrame) -> float:
    """``sum_bars(min(buy_est, buy_true) + min(sell_est, sell_true)) / sum(volume)``."""
    right = np.minimum(estimated["buy_volume"], true["buy_volume"]) + np.minimum(
        estimated["sell_volume"], true["sell_volume"]
    )
    return _share(float(right.sum()), float(true["volume"].sum()))


def flow_bars(ticks: pd.DataFrame, bars: str) -> pd.DataFrame:
    """``make_bars`` without the book and footprint measures: the scores use only
    ``close``, ``volume``, ``buy_volume`` and ``sell_volume``."""
    return make_bars(ticks, bars, depth=False, footprint=False)


def score_method(
    sample: str, method: str, ticks: pd.DataFrame, bars: str, true_bars: pd.DataFrame | None = None,
    mask: np.ndarray | None = None,
) -> Score:
    """Hide the side, classify with ``method``, compare with the true side.

    ``true_bars`` is :func:`flow_bars` of ``ticks`` (computed here when not given; pass
    it to score several methods on one sample without rebuilding it). ``mask``: score only
    these trades (all are classified, in sequence, as the tick rule needs); the bar column
    is then NaN (a subset of trades makes no bars)."""
    truth = ticks["side"].to_numpy()
    guess = classify(ticks.assign(side=np.int8(0)), method)
    side = guess["side"].to_numpy()
    size = ticks["size"].to_numpy(np.float64)
    if mask is not None:
        truth, side, size = truth[mask], side[mask], size[mask]
        bar_volume = float("nan")
    else:
        true_bars = flow_bars(ticks, bars) if true_bars is None else true_bars
        bar_volume = bar_volume_accuracy(flow_bars(guess, bars), true_bars)
    signed, right = side != 0, side == truth
    return Score(
        sample=sample,
        method=method,
        signed=signed.mean() if len(side) else float("nan"),
        trades_signed=_share(right.sum(), signed.sum()),
        trades_all=_share(right.sum(), len(side)),
        volume_signed=_share(size[right].sum(), size[signed].sum()),
        volume_all=_share(size[right].sum(), size.sum()),
        bar_volume=bar_volume,
    )


def score_bvc(
    sample: str, ticks: pd.DataFrame, bars: str, window: int, true_bars: pd.DataFrame | None = None
) -> Score:
    """Bulk volume classification on ``bars``, scored per bar (``true_bars`` as for
    :func:`score_method`)."""
    true = flow_bars(ticks, bars) if true_bars is None else true_bars
    estimated = bulk_volume_classification(
        true, window=window, min_periods=max(2, window // 2)
    )
    nan = float("nan")
    return Score(sample, "bvc", nan, nan, nan, nan, nan, bar_volume_accuracy(estimated, true))


def binance_alignments(path: Path) -> dict[str, pd.DataFrame]:
    """A Binance capture's trades with their ``@bookTicker`` quotes joined (last quote strictly
    before each trade, :func:`data.join_quotes`) three ways: ``"exchange time"`` (both on
    the exchange's ``T``), ``"receive time"`` (both on the recorder's clock) and
    ``"trades exchange, quotes receive"`` (the recorder's clock skew left in)."""
    from data.reading.quotes import join_quotes
    from data.reading.readers.binance_stream import read_binance_stream

    streams = read_binance_stream(path)
    trades, quotes = streams["trades"], streams["quotes"]
    if (trades["stream"] == "trade").any():
        trades = trades[trades["stream"] == "trade"]

    def frame(rows: pd.DataFrame, time: str, columns: tuple[str, ...]) -> pd.DataFrame:
        out = rows.assign(timestamp=rows[time])[["timestamp", *columns]]
        return out.sort_values("timestamp", kind="stable").reset_index(drop=True)

    quote_cols = ("bid", "ask", "bid_size", "ask_size")
    trade_cols = ("price", "size", "side")
    return {
        "exchange time": join_quotes(frame(trades, "timestamp", trade_cols), frame(quotes, "timestamp", quote_cols)),
        "receive time": join_quotes(frame(trades, "receive_time", trade_cols),
                                    frame(quotes, "receive_time", quote_cols)),
        "trades exchange, quotes receive": join_quotes(frame(trades, "timestamp", trade_cols),
                                                       frame(quotes, "receive_time", quote_cols)),
    }


def lobster_ticks(path: Path) -> pd.DataFrame:
    """A LOBSTER day's executions (:func:`load_ticks`) with a ``hidden`` column: True for the
    executions of hidden orders (message type 5)."""
    from data.reading.readers.lobster import HIDDEN_EXECUTION, TRADE_TYPES, read_lobster_messages

    ticks = load_ticks(path)
    kind = read_lobster_messages(path)["type"].to_numpy()
    kind = kind[np.isin(kind, TRADE_TYPES)]
    if len(kind) != len(ticks) or ticks.attrs["load_report"].get("reordered"):
        raise ValueError("LOBSTER executions and ticks do not line up")
    return ticks.assign(hidden=kind == HIDDEN_EXECUTION)


def load_samples(shared: Path, repo: Path = REPO) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """The samples with a true side, and a note for each one skipped (its path relative to
    ``shared`` or ``repo``). A sample with a ``hidden`` column is scored on those trades too."""
    real = shared / "realdata"
    candidates = [("freqtrade ETH/USDT", real / "freqtrade/public_trades_list.csv", load_ticks)]
    candidates += [
        (f"databento {p.name.split('.')[0]} tbbo", p, load_ticks)
        for p in sorted((real / "databento").glob("*.tbbo.dbn.zst"))
    ]
    for ticker in ("AMZN", "GOOG"):
        candidates.append((f"LOBSTER {ticker}", real / f"lobster/LOBSTER_SampleFile_{ticker}_2012-06-21_1.zip",
                           lobster_ticks))
    candidates.append(("Binance BTCUSDT perp", real / "binance_stream/usdm_btcusdt_20240808.gz", binance_alignments))
    candidates.append(("Binance ETHUSDT perp", real / "binance_stream/usdm_ethusdt_20240808.gz", binance_alignments))
    candidates.append(("CME ESH4 MBO", real / "databento/esh4-glbx-mdp3-20231225.mbo.dbn.zst", load_ticks))
    candidates.append(("CME ESU4 mbp-1", real / "databento/ESU4.GLBX.MDP3.mbp-1.20240701.dbn.zst", load_ticks))
    candidates.append(("synthetic sample", repo / "data/sample/sample_ticks.parquet", load_ticks))
    samples, skipped = {}, []
    for name, path, read in candidates:
        if not path.exists():
            skipped.append(unrooted(f"{name}: {path} not found", shared, repo))
            continue
        try:
            loaded = read(path)
        except Exception as err:  # noqa: BLE001 - a skipped sample is reported, not fatal
            skipped.append(unrooted(f"{name}: not loaded ({type(err).__name__}: {err})", shared, repo))
            continue
        variants = loaded if isinstance(loaded, dict) else {"": loaded}
        for variant, ticks in variants.items():
            label = f"{name}, {variant}" if variant else name
            ticks = ticks[ticks["side"] != 0].reset_index(drop=True)  # no truth to score against
            if len(ticks) == 0:
                skipped.append(f"{label}: no trade with a known side")
                continue
            samples[label] = ticks
    return samples, skipped


def score_samples(samples: dict[str, pd.DataFrame], bars: str, window: int) -> tuple[list[Score], dict[str, int]]:
    """Every method on every sample (and on its hidden executions, where marked); trade counts per row label."""
    scores, sizes = [], {}
    for name, ticks in samples.items():
        true = flow_bars(ticks, bars)  # once per sample, shared by every method
        scores += [score_method(name, method, ticks, bars, true) for method in CLASSIFIERS]
        scores.append(score_bvc(name, ticks, bars, window, true))
        sizes[name] = len(ticks)
        if "hidden" in ticks:
            mask = ticks["hidden"].to_numpy(bool)
            label = f"{name}, hidden executions"
            scores += [score_method(label, method, ticks, bars, mask=mask) for method in CLASSIFIERS]
            sizes[label] = int(mask.sum())
    return scores, sizes


def compact_table(scores: list[Score], sizes: dict[str, int], bars: str, window: int) -> str:
    """``trades right / all`` per sample (rows) and method (columns), and bvc's bar volume right."""
    methods = list(CLASSIFIERS)
    cells: dict[str, dict[str, str]] = {}
    for s in scores:
        value = s.bar_volume if s.method == "bvc" else s.trades_all
        cells.setdefault(s.sample, {})[s.method] = "—" if np.isnan(value) else f"{100 * value:.1f}%"
    head = "| sample (trades) | " + " | ".join(methods) + f" | bvc (bar volume, {bars} bars) |"
    lines = [head, "|" + "---|" * (len(methods) + 2)]
    for sample, row in cells.items():
        lines.append(f"| {sample} ({sizes[sample]:,}) | " + " | ".join(row.get(m, "—") for m in methods + ["bvc"]) + " |")
    lines.append("")
    lines.append(f"Trades right / all (an unsigned trade counts as wrong). bvc: volume per bar, normal CDF, sigma "
                 f"over the {window} preceding bars (at least {max(2, window // 2)}); none for a subset of trades.")
    return "\n".join(lines)


def markdown_table(scores: list[Score], sizes: dict[str, int], bars: str, window: int) -> str:
    """The scores as a markdown table (percentages, one decimal)."""

    def pct(x: float) -> str:
        return "—" if np.isnan(x) else f"{100 * x:.1f}%"

    head = (
        f"| sample (trades) | method | signed | trades right / signed | trades right / all "
        f"| volume right / signed | volume right / all | bar volume right ({bars} bars) |"
    )
    lines = [head, "|" + "---|" * 8]
    for s in scores:
        lines.append(
            f"| {s.sample} ({sizes[s.sample]:,}) | {s.method} | {pct(s.signed)} "
            f"| {pct(s.trades_signed)} | {pct(s.trades_all)} | {pct(s.volume_signed)} "
            f"| {pct(s.volume_all)} | {pct(s.bar_volume)} |"
        )
    lines.append("")
    lines.append(f"bvc: normal CDF, sigma over the {window} preceding bars (at least {max(2, window // 2)}).")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the accuracy table; exit status 0, or 1 when no sample could be scored."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bars", default=BARS, help=f"bar spec for the per-bar columns and BVC (default {BARS})")
    parser.add_argument("--window", type=int, default=WINDOW, help=f"BVC trailing window in bars (default {WINDOW})")
    parser.add_argument("--shared", type=Path, default=SHARED, help="the shared/ folder")
    parser.add_argument("--detail", action="store_true", help="every column (signed, by volume ...) per method")
    args = parser.parse_args(argv)

    samples, skipped = load_samples(args.shared)
    scores, sizes = score_samples(samples, args.bars, args.window)
    if scores:
        table = markdown_table if args.detail else compact_table
        print(table(scores, sizes, args.bars, args.window))
    for note in skipped:
        print(f"skipped {note}", file=sys.stderr)
    return 0 if scores else 1


if __name__ == "__main__":
    sys.exit(main())
