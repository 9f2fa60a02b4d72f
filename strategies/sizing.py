"""How many units a trade takes: the sizing rules shared by the strategies and the research tools."""
from __future__ import annotations

import math
import numbers
from typing import Any

from data.errors import OrderFlowError


def is_real_number(value: Any) -> bool:
    """A finite int or float (not a bool)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def size_for_risk(risk_cash: float, stop_distance: float, multiplier: float, size_step: float = 1.0) -> float:
    """How many contracts risk at most ``risk_cash`` if the stop ``stop_distance`` points away is hit.

    ``size = floor(risk_cash / (stop_distance * multiplier) / size_step) * size_step``
    (whole contracts for futures; ``size_step`` 0.001 for a BTC perpetual). ES,
    $1,000 risk, 4-point stop: ``floor(1000 / (4 * 50)) = 5``. A quotient that
    float rounding leaves a hair under a whole step (0.3 / 0.1 = 2.9999999999999996)
    counts as that step. Commission and slippage are not included: add them to
    ``stop_distance`` for a stricter bound. Returns 0.0 when the risk does not
    cover one step.
    """
    for value, what in ((risk_cash, "risk"), (stop_distance, "stop distance"), (multiplier, "multiplier"),
                        (size_step, "size step")):
        if not is_real_number(value):
            raise OrderFlowError(f"{what} must be a finite number", value=value)
    if risk_cash < 0:
        raise OrderFlowError("risk must be >= 0", value=risk_cash)
    for value, what in ((stop_distance, "stop distance"), (multiplier, "multiplier"), (size_step, "size step")):
        if value <= 0:
            raise OrderFlowError(f"{what} must be > 0", value=value)
    steps = risk_cash / (stop_distance * multiplier) / size_step
    whole = math.floor(steps)
    if steps - whole > 1 - 1e-9:  # float rounding just under a whole step
        whole += 1
    return round(whole * size_step, 12)
