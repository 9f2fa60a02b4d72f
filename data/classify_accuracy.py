"""Measure how well each trade-side classifier recovers the true aggressor flag.

    python -m data.classify_accuracy [--bars 10t] [--window 20] [--shared PATH]

For every sample that carries the true aggressor side, the side is hidden
(set to 0), each method of :data:`data.classify.CLASSIFIERS` fills it, and the
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

Samples: the freqtrade Binance ETH/USDT trades under ``shared/realdata``
(no quotes, so the quote-based methods reduce to the tick rule and ``quote``
signs nothing), the Databento ``tbbo`` files (trades with the best bid/offer;
skipped when they cannot be loaded, e.g. without the ``databento`` package),
and the synthetic ``data/sample/sample_ticks.parquet`` (skipped if absent).
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .bars import make_bars
from .classify import CLASSIFIERS, bulk_volume_classification, classify
from .loader import load_ticks

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


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
    sample: str, method: str, ticks: pd.DataFrame, bars: str, true_bars: pd.DataFrame | None = None
) -> Score:
    """Hide the side, classify with ``method``, compare with the true side.

    ``true_bars`` is :func:`flow_bars` of ``ticks`` (computed here when not given; pass
    it to score several methods on one sample without rebuilding it)."""
    true_bars = flow_bars(ticks, bars) if true_bars is None else true_bars
    truth = ticks["side"].to_numpy()
    guess = classify(ticks.assign(side=np.int8(0)), method)
    side = guess["side"].to_numpy()
    size = ticks["size"].to_numpy(np.float64)
    signed, right = side != 0, side == truth
    return Score(
        sample=sample,
        method=method,
        signed=signed.mean() if len(side) else float("nan"),
        trades_signed=_share(right.sum(), signed.sum()),
        trades_all=_share(right.sum(), len(side)),
        volume_signed=_share(size[right].sum(), size[signed].sum()),
        volume_all=_share(size[right].sum(), size.sum()),
        bar_volume=bar_volume_accuracy(flow_bars(guess, bars), true_bars),
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


def load_samples(shared: Path, repo: Path = REPO) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """The samples with a true side, and a note for each one skipped."""
    candidates = [("freqtrade ETH/USDT", shared / "realdata/freqtrade/public_trades_list.csv")]
    candidates += [
        (f"databento {p.name.split('.')[0]} tbbo", p)
        for p in sorted((shared / "realdata/databento").glob("*.tbbo.dbn.zst"))
    ]
    candidates.append(("synthetic sample", repo / "data/sample/sample_ticks.parquet"))
    samples, skipped = {}, []
    for name, path in candidates:
        if not path.exists():
            skipped.append(f"{name}: {path} not found")
            continue
        try:
            ticks = load_ticks(path)
        except Exception as err:  # noqa: BLE001 - a skipped sample is reported, not fatal
            skipped.append(f"{name}: not loaded ({type(err).__name__}: {err})")
            continue
        ticks = ticks[ticks["side"] != 0].reset_index(drop=True)  # no truth to score against
        if len(ticks) == 0:
            skipped.append(f"{name}: no trade with a known side")
            continue
        samples[name] = ticks
    return samples, skipped


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
            f"| {s.sample} ({sizes[s.sample]}) | {s.method} | {pct(s.signed)} "
            f"| {pct(s.trades_signed)} | {pct(s.trades_all)} | {pct(s.volume_signed)} "
            f"| {pct(s.volume_all)} | {pct(s.bar_volume)} |"
        )
    lines.append("")
    lines.append(f"bvc: normal CDF, sigma over the {window} preceding bars (at least {max(2, window // 2)}).")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the accuracy table; exit status 0, or 1 when no sample could be scored."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bars", default="10t", help="bar spec for the per-bar columns and BVC")
    parser.add_argument("--window", type=int, default=20, help="BVC trailing window in bars")
    parser.add_argument("--shared", type=Path, default=SHARED, help="the shared/ folder")
    args = parser.parse_args(argv)

    samples, skipped = load_samples(args.shared)
    scores = []
    for name, ticks in samples.items():
        true = flow_bars(ticks, args.bars)  # once per sample, shared by every method
        scores += [score_method(name, method, ticks, args.bars, true) for method in CLASSIFIERS]
        scores.append(score_bvc(name, ticks, args.bars, args.window, true))
    if scores:
        print(markdown_table(scores, {k: len(v) for k, v in samples.items()}, args.bars, args.window))
    for note in skipped:
        print(f"skipped {note}", file=sys.stderr)
    return 0 if scores else 1


if __name__ == "__main__":
    sys.exit(main())
