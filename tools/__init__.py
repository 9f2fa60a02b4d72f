"""The project's tools, apart from the library: each runs as ``python -m tools.NAME``.

- :mod:`tools.make_sample`: the generator of the bundled synthetic sample ``data/sample/sample_ticks.parquet``;
- :mod:`tools.accuracy`: how well each trade-side classifier recovers the true side (``make accuracy``);
- :mod:`tools.imbalance_study`: which imbalance measure predicts and which resists spoofing;
- :mod:`tools.real_books`: the same measures against the mid-price on the real books of ``../shared/realdata``;
- :mod:`tools.readme`: regenerates the measured blocks of the README and ``docs/`` (``make readme``).

The library (``data``, ``indicators``, ``strategies``, ``research``, ``reports``, ``run_backtest``,
``run_backtest_options``, ``lambda_handler``) never imports from here (``tests/test_tools.py``), and ``pip install`` does not
ship this folder.
"""
from __future__ import annotations

import os
from pathlib import Path


def unrooted(text: str, *roots: Path) -> str:
    """``text`` with the paths under each of ``roots`` written relative to it (``realdata/lobster/...``):
    the notes of a study name no machine's absolute path, in a file or a measured block."""
    for root in roots:
        for form in {str(root), str(Path(root).resolve())}:
            text = text.replace(form.rstrip(os.sep) + os.sep, "")
    return text


def emit(text: str, out: Path | None) -> int:
    """A study's report: printed, and also written to ``out`` when given; exit status 0."""
    print(text)
    if out:
        Path(out).write_text(text)
    return 0
