"""Progress bars (tqdm) on standard error for work that can take more than a few seconds.

``progress=None`` (the default everywhere) shows a bar only when standard error is a
terminal; ``False`` (the command line's ``--quiet``) never; ``True`` always.
"""
from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm


def progress_bar(total: float | None = None, *, desc: str = "", unit: str = "ticks",
                 progress: bool | None = None, **options: Any) -> tqdm:
    """A tqdm bar on stderr, disabled when ``progress`` is False, or None and stderr is not a terminal."""
    enabled = progress if progress is not None else _is_terminal()
    return tqdm(total=total, desc=desc, unit=unit, unit_scale=True, dynamic_ncols=True, leave=False,
                file=sys.stderr, disable=not enabled, **options)


def _is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False
