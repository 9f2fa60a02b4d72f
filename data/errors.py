"""The project's one error type for bad user input."""
from __future__ import annotations

from typing import Any


class OrderFlowError(ValueError):
    """Bad user input: a file, a column, a value, a bar spec, a parameter.

    The message names what was wrong and where: the source (file), the column
    and the first offending row (1-based data row, header not counted) when
    they apply. The command line prints it as one line and exits with status 2.
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
            text += f" (value {value!r})"
        super().__init__(text)
