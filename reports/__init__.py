"""Performance reports: metrics on equity curves and trades (``reports.metrics``) and
headless plots (``reports.plots``). Nothing here imports the command line."""
from .metrics import (
    TRADING_DAYS,
    DrawdownStats,
    TradeStats,
    annualised_return,
    buy_and_hold_return,
    daily_returns,
    drawdown,
    max_drawdown,
    performance,
    sharpe_ratio,
    sortino_ratio,
    time_in_market,
    total_return,
    trade_stats,
)

__all__ = [
    "TRADING_DAYS",
    "DrawdownStats",
    "TradeStats",
    "annualised_return",
    "buy_and_hold_return",
    "daily_returns",
    "drawdown",
    "max_drawdown",
    "performance",
    "sharpe_ratio",
    "sortino_ratio",
    "time_in_market",
    "total_return",
    "trade_stats",
]
