"""Regenerate the measured blocks of the README and docs/, so that no figure in them is hand-edited.

    python -m tools.readme make-run es-run strategies accuracy real-books   # `make readme`
    python -m tools.readme accuracy real-books --shared ../shared             # `make accuracy`
    python -m tools.readme strategies --file notes.md                         # a file of your own

Each block sits between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->`` markers, in the
file that :data:`BLOCK_FILES` names for it (``--file`` names another):
``make-run`` is the output of ``run_backtest.py`` with no arguments; ``es-run`` the same
strategy as one ES contract with costs; ``strategies`` the
rules of every registered strategy (their docstrings); ``accuracy`` the trade-side
classifier table of ``tools.accuracy``; ``real-books`` the study on the real books of
``SHARED/realdata`` (``tools.real_books``); ``bench`` the output of ``make bench``
(slow: minutes).

A block that cannot be computed here (a real-data file missing or unreadable under
``--shared``), or whose text would name a path of this machine, is left as it is in the
file, and standard error says which and why.
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

from tools import unrooted

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"  # the real data, under SHARED/realdata (--shared)

# Every marked block of the README and docs/ and the file that holds it (relative to the
# repository): the generator writes each block it computes to its file, and the tests read
# the hand-written ones (code they run, figures of a benchmark) there.
BLOCK_FILES: dict[str, str] = {
    "make-run": "README.md",                      # computed: run_backtest.py with no arguments
    "example": "README.md",                       # hand-written: run by tests/test_readme_example.py
    "recipe-reader": "README.md",                 # hand-written recipes: run by tests/test_docs.py
    "recipe-indicator": "README.md",
    "recipe-strategy": "README.md",
    "recipe-report": "README.md",
    "own-strategy": "docs/strategies.md",         # hand-written: run by tests/test_own_strategy.py
    "execution-example": "docs/fills.md",         # hand-written: run by tests/test_execution.py
    "es-run": "docs/research.md",                 # computed: one ES contract with costs
    "strategies": "docs/strategies.md",           # computed: the strategies' docstrings
    "footprint": "docs/bars-and-indicators.md",   # hand-written: footprints, depth, charts
    "real-books": "docs/real-data-studies.md",    # computed from SHARED/realdata
    "accuracy": "docs/real-data-studies.md",      # computed from SHARED/realdata and the sample
    "bench": "docs/benchmarks.md",                # computed: make bench (minutes)
    "bench-store": "docs/benchmarks.md",          # hand-written: python -m tests.benchmarks.bench_store
}


class Kept(Exception):
    """A block that cannot be computed here: the file keeps the one it has (the message says why)."""


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def replace_block(text: str, name: str, body: str) -> str:
    """``text`` with the lines between the ``name`` markers replaced by ``body``."""
    start, end = markers(name)
    if start not in text or end not in text:
        raise KeyError(f"no {start} ... {end} block")
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
    return unrooted(out.getvalue(), REPO)


def make_run_block(shared: Path) -> str:
    import run_backtest

    with tempfile.TemporaryDirectory() as tmp:
        text = _captured(lambda: run_backtest.main(["--out", tmp]))
    text = text.replace(tmp, "results")
    return f"```\n$ make run\n{text.rstrip()}\n```"


ES_ARGS = ["--instrument", "ES", "--commission-per-contract", "2.25", "--slippage-ticks", "1", "--no-plot"]


def es_run_block(shared: Path) -> str:
    """The README's futures example: cvd_trend on the sample as one ES contract with costs."""
    import run_backtest

    with tempfile.TemporaryDirectory() as tmp:
        text = _captured(lambda: run_backtest.main([*ES_ARGS, "--out", tmp]))
        trades = (Path(tmp) / "trades.csv").read_text().splitlines()[:4]
    lines = text.replace(tmp, "results").rstrip().splitlines()
    shown = [line for line in lines if not line.startswith(("Loaded", "Built"))]
    return (f"```\n$ python run_backtest.py {' '.join(ES_ARGS)}\n" + "\n".join(shown)
            + "\n$ head -4 results/trades.csv\n" + "\n".join(trades) + "\n```")


def strategies_block(shared: Path) -> str:
    from strategies import STRATEGIES, strategy_rules

    parts = []
    for name, cls in STRATEGIES.items():
        rules = re.sub(r":\w+:`", "`", strategy_rules(cls)).split("\n", 1)  # reST roles -> code
        summary, details = rules[0], (rules[1].strip() if len(rules) > 1 else "")
        parts.append(f"**`{name}`**: {summary}\n\n{details}")
    return "\n\n".join(parts)


def _complete(skipped: list[str], shared: Path) -> None:
    """Raise :class:`Kept` when a sample of the block was left out: a partial table never replaces a whole one."""
    if skipped:
        raise Kept(f"not computed here, {len(skipped)} sample(s) left out under {shared}:\n"
                   + "\n".join(f"  {note}" for note in skipped))


def accuracy_block(shared: Path) -> str:
    from tools import accuracy

    samples, skipped = accuracy.load_samples(shared)
    _complete(skipped, shared)  # before the minutes of scoring
    scores, sizes = accuracy.score_samples(samples, accuracy.BARS, accuracy.WINDOW)
    return accuracy.compact_table(scores, sizes, accuracy.BARS, accuracy.WINDOW)


def real_books_block(shared: Path) -> str:
    from tools import real_books

    text, skipped = real_books.study(shared)
    _complete(skipped, shared)
    return text


def bench_block(shared: Path) -> str:
    from tests.benchmarks import run

    text = _captured(lambda: run.main([])).rstrip()
    return f"```\n$ make bench   # best of 3 per figure, on {os.cpu_count()} cores\n{text}\n```"


BLOCKS: dict[str, Callable[[Path], str]] = {
    "make-run": make_run_block, "es-run": es_run_block, "strategies": strategies_block,
    "accuracy": accuracy_block, "real-books": real_books_block, "bench": bench_block}


def machine_paths(shared: Path) -> list[str]:
    """The absolute paths of this machine a block must not name: the repository and the folder
    above it, the data folder, the home and temporary folders."""
    roots = {REPO, REPO.parent, Path(shared).resolve(), Path.home(), Path(tempfile.gettempdir()).resolve()}
    return sorted({str(root) for root in roots if len(root.parts) > 1}, key=len, reverse=True)


def regenerate(text: str, names: list[str], shared: Path,
               blocks: dict[str, Callable[[Path], str]] = BLOCKS) -> tuple[str, dict[str, str]]:
    """``text`` with the ``names`` blocks computed again, and why each block left as it was was kept."""
    kept = {}
    for name in names:
        try:
            body = blocks[name](shared)
            leaked = next((path for path in machine_paths(shared) if path in body), None)
            if leaked is not None:
                raise Kept(f"it names {leaked}, a path of this machine")
        except Kept as why:
            kept[name] = str(why)
            continue
        text = replace_block(text, name, body)
    return text, kept


def block_file(name: str) -> Path:
    """The file of the repository that holds block ``name`` (:data:`BLOCK_FILES`)."""
    return REPO / BLOCK_FILES[name]


def shown(path: Path) -> str:
    """``path`` as messages name it: relative to the repository when inside it, else its name."""
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return path.name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("blocks", nargs="+", choices=sorted(BLOCKS))
    parser.add_argument("--file", type=Path, default=None,
                        help="the markdown file holding the blocks (default: each block's own file: "
                             + ", ".join(f"{name} in {BLOCK_FILES[name]}" for name in sorted(BLOCKS)) + ")")
    parser.add_argument("--shared", type=Path, default=SHARED,
                        help="the folder holding realdata/ (default: shared/ beside the repository)")
    args = parser.parse_args(argv)
    files: dict[Path, list[str]] = {}
    for name in dict.fromkeys(args.blocks):
        files.setdefault(args.file if args.file is not None else block_file(name), []).append(name)
    texts = {}
    for path, names in files.items():  # every file and marker checked before any work
        if not path.is_file():
            print(f"error: {path} not found", file=sys.stderr)
            return 2
        texts[path] = path.read_text()
        absent = [" ... ".join(markers(name)) for name in names if not all(m in texts[path] for m in markers(name))]
        if absent:
            print(f"error: {path} has no {', '.join(absent)} block", file=sys.stderr)
            return 2
    for path, names in files.items():
        text, kept = regenerate(texts[path], names, args.shared)
        for name in names:
            if name in kept:
                print(f"{shown(path)}: kept the {name} block as it is: {kept[name]}", file=sys.stderr)
            else:
                print(f"{shown(path)}: regenerated {name}", file=sys.stderr)
        if text != texts[path]:
            path.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
