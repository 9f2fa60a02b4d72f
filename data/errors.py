"""The project's one error type for bad user input, and how the command lines show it."""
from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO


class OrderFlowError(ValueError):
    """Bad user input: a file, a column, a value, a bar spec, a parameter.

    The message names what was wrong and where: the source (file), the column
    and the first offending row (1-based data row, header not counted) when
    they apply; a long value is cut (:func:`shown_value`). The command line prints it
    as one line and exits with status 2.
    """

    def __init__(
        self,
        problem: str,
        *,
        source: Any = None,
        column: str | None = None,
        row: int | None = None,
        value: Any = None,
    ) -> None:
        self.problem = problem
        self.source = source
        self.column = column
        self.row = row
        self.value = value
        parts = []
        if source is not None:
            parts.append(str(source))
        if column is not None:
            parts.append(f"column {column!r}")
        if row is not None:
            parts.append(f"row {row}")
        where = ", ".join(parts)
        text = f"{where}: {problem}" if where else problem
        if value is not None:
            text += f" (value {shown_value(value)})"
        super().__init__(text)


def shown_value(value: Any, limit: int = 60) -> str:
    """``repr(value)`` for a message, cut to its first 40 characters past ``limit`` characters
    (an integer of thousands of digits, a long line of junk) with its length said."""
    try:
        text = repr(value)
    except ValueError:  # an int too long for Python to print
        return f"<{type(value).__name__} too long to print>"
    return text if len(text) <= limit else f"{text[:40]}... ({len(text):,} characters)"


class UsageError(OrderFlowError):
    """A command-line usage error (argparse's own complaints, turned into one line)."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser, whose errors (a missing or unknown argument, a bad choice) raise
    :class:`UsageError` instead of printing the usage and exiting: the command lines
    (``run_backtest.py``, ``python -m data.store``) print them as one line (:func:`print_error`).
    Its subparsers are of this class too."""

    def error(self, message: str) -> None:  # argparse would print usage + message and exit
        raise UsageError(f"{message} (see --help)")


def print_error(err: BaseException, stream: TextIO | None = None) -> int:
    """Print ``err`` as ONE line ``error: ...`` (its whitespace runs joined) on ``stream``
    (standard error); returns 2, the command lines' exit status for bad input."""
    message = " ".join(str(err).split())
    print(f"error: {message}", file=stream if stream is not None else sys.stderr)
    return 2
