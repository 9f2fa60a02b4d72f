"""Example order-flow strategies for Backtrader, registered by name for the command line.

    from strategies import get_strategy
    cerebro.addstrategy(get_strategy("cvd_trend"), slope_period=5, stop=2.0)
"""
from __future__ import annotations

import difflib
import inspect
from typing import Any, Callable

from data.errors import OrderFlowError

from .base import OrderFlowStrategy
from .cvd_trend import CvdTrend
from .delta_divergence import DeltaDivergenceStrategy
from .ofi_momentum import OfiMomentum
from .own import USAGE, is_path
from .stacked_imbalance import StackedImbalanceStrategy
from .trend_imbalance import TrendImbalance

STRATEGIES: dict[str, type[OrderFlowStrategy]] = {
    "cvd_trend": CvdTrend,
    "delta_divergence": DeltaDivergenceStrategy,
    "stacked_imbalance": StackedImbalanceStrategy,
    "ofi_momentum": OfiMomentum,
    "trend_imbalance": TrendImbalance,
}


def get_strategy(name: str) -> type[OrderFlowStrategy]:
    """The strategy class registered as ``name`` (case and ``-``/``_`` ignored).

    An unknown name raises :class:`data.OrderFlowError` listing the names, with
    the closest one suggested.
    """
    key = str(name).strip().lower().replace("-", "_")
    if key in STRATEGIES:
        return STRATEGIES[key]
    close = difflib.get_close_matches(key, list(STRATEGIES), n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    if is_path(str(name).strip()):
        hint = f"; {USAGE}, e.g. --strategy {str(name).strip()}:ClassName"
    raise OrderFlowError(f"unknown strategy {name!r}{hint} (available: {', '.join(STRATEGIES)})")


def strategy_params(name: "str | type[OrderFlowStrategy]") -> dict[str, Any]:
    """Parameter names and defaults of a strategy (base parameters included), in declaration order."""
    cls = get_strategy(name) if isinstance(name, str) else name
    return dict(cls.params._getitems())


def strategy_rules(name: "str | type[OrderFlowStrategy]") -> str:
    """The strategy's rules: its class docstring, dedented (for ``--list-strategies`` and docs/strategies.md)."""
    cls = get_strategy(name) if isinstance(name, str) else name
    return inspect.cleandoc(cls.__doc__ or "")


def describe_strategies(params: "Callable[[type[OrderFlowStrategy]], dict[str, Any]] | None" = None) -> str:
    """One block per registered strategy: name, first docstring line, parameters with their values
    (``params(cls)``; default: the class defaults, :func:`strategy_params`)."""
    lines = []
    for name, cls in sorted(STRATEGIES.items()):
        doc = (cls.__doc__ or "").strip().splitlines()
        lines.append(f"{name}: {doc[0].strip() if doc else cls.__name__}")
        lines.append("    params: " + ", ".join(f"{k}={v!r}" for k, v in (params or strategy_params)(cls).items()))
    return "\n".join(lines)


__all__ = [
    "OrderFlowStrategy",
    "CvdTrend",
    "DeltaDivergenceStrategy",
    "StackedImbalanceStrategy",
    "OfiMomentum",
    "TrendImbalance",
    "STRATEGIES",
    "get_strategy",
    "strategy_params",
    "strategy_rules",
    "describe_strategies",
]
