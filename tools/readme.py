"""Regenerate the README's measured blocks, so that no figure in it is hand-edited.

    python -m tools.readme make-run es-run strategies accuracy   # `make readme`

Each block sits between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->`` markers:
``make-run`` is the output of ``run_backtest.py`` with no arguments; ``es-run`` the same
strategy as one ES contract with costs; ``strategies`` the
rules of every registered strategy (their docstrings); ``accuracy`` the trade-side
classifier table of ``tools.accuracy``; ``real-books`` the study on the real books of
``../shared/realdata`` (``tools.real_books``); ``bench`` the output of ``make bench``
(slow: minutes).
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"


def replace_block(text: str, name: str, body: str) -> str:
    """``text`` with the lines between the ``name`` markers replaced by ``body``."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if start not in text or end not in text:
        raise KeyError(f"README has no {start} ... {end} block")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{body.rstrip()}\n{end}{tail}"


def _captured(fn: Callable[[], int]) -> str:
    """What ``fn`` prints, run with an empty bar cache (as a first run on a fresh clone)."""
    from data.store.cache import CACHE_ENV

    out = io.StringIO()
    with tempfile.TemporaryDirectory() as cache, contextlib.redirect_stdout(out):
        old, os.environ[CACHE_ENV] = os.environ.get(CACHE_ENV), cache
        try:
            status = fn()
        finally:
            if old is None:
                os.environ.pop(CACHE_ENV)
            else:
                os.environ[CACHE_ENV] = old
    if status not in (0, None):
        raise SystemExit(f"generator exited with {status}:\n{out.getvalue()}")
    return out.getvalue().replace(f"{REPO}/", "")


def make_run_block() -> str:
    import run_backtest

    with tempfile.TemporaryDirectory() as tmp:
        text = _captured(lambda: run_backtest.main(["--out", tmp]))
    text = text.replace(tmp, "results")
    return f"```\n$ make run\n{text.rstrip()}\n```"


ES_ARGS = ["--instrument", "ES", "--commission-per-contract", "2.25", "--slippage-ticks", "1", "--no-plot"]


def es_run_block() -> str:
    """The README's futures example: cvd_trend on the sample as one ES contract with costs."""
    import run_backtest

    with tempfile.TemporaryDirectory() as tmp:
        text = _captured(lambda: run_backtest.main([*ES_ARGS, "--out", tmp]))
        trades = (Path(tmp) / "trades.csv").read_text().splitlines()[:4]
    lines = text.replace(tmp, "results").rstrip().splitlines()
    shown = [line for line in lines if not line.startswith(("Loaded", "Built"))]
    return (f"```\n$ python run_backtest.py {' '.join(ES_ARGS)}\n" + "\n".join(shown)
            + "\n$ head -4 results/trades.csv\n" + "\n".join(trades) + "\n```")


def strategies_block() -> str:
    from strategies import STRATEGIES, strategy_rules

    parts = []
    for name, cls in STRATEGIES.items():
        rules = re.sub(r":\w+:`", "`", strategy_rules(cls)).split("\n", 1)  # reST roles -> code
        summary, details = rules[0], (rules[1].strip() if len(rules) > 1 else "")
        parts.append(f"**`{name}`**: {summary}\n\n{details}")
    return "\n\n".join(parts)


def accuracy_block() -> str:
    from tools import accuracy as classify_accuracy

    return _captured(lambda: classify_accuracy.main([]))


def real_books_block() -> str:
    from tools import real_books

    return real_books.report()


def bench_block() -> str:
    from tests.benchmarks import run

    text = _captured(lambda: run.main([])).rstrip()
    return f"```\n$ make bench   # best of 3 per figure, on this project's 2-core machine\n{text}\n```"


BLOCKS = {"make-run": make_run_block, "es-run": es_run_block, "strategies": strategies_block,
          "accuracy": accuracy_block, "real-books": real_books_block, "bench": bench_block}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("blocks", nargs="+", choices=sorted(BLOCKS))
    args = parser.parse_args(argv)
    text = README.read_text()
    for name in args.blocks:
        text = replace_block(text, name, BLOCKS[name]())
        print(f"README: regenerated {name}", file=sys.stderr)
    README.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
