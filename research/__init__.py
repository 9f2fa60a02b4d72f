"""The backtest engine: a run configuration and ``run(config) -> Result``, apart from the command line.

    from research import RunConfig, run
    result = run(RunConfig(strategy="cvd_trend", bars="5min", params={"slope_period": 5}))
    print(result.metrics["sharpe"], len(result.trades))
"""
from .config import RunConfig, resolve_strategy
from .engine import Loaded, Result, load, run

__all__ = ["RunConfig", "Result", "Loaded", "load", "run", "resolve_strategy"]
