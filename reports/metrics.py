"""The metrics of a run as text: one formatter of numbers for every table, and the rows of the metrics table.

The figures are computed by :mod:`research.metrics` (and the engine's order counts); here they are
only written out. :func:`metric_rows` is the one metrics table: the command line prints it
(:func:`reports.output.metrics_table`), the HTML report shows it (:func:`reports.html.metrics_html`).
"""
from __future__ import annotations

import math
from typing import Any


def fmt(value: Any, suffix: str = "", digits: int = 2) -> str:
    """A number for a table: thousands separators, ``digits`` decimals and ``suffix``; ``n/a`` for None,
    ``inf``/``-inf`` for an infinite value (a profit factor with no loss), an integer as it is."""
    if value is None:
        return "n/a"
    if isinstance(value, float):
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return f"{value:,.{digits}f}{suffix}"
    return f"{value}{suffix}"


def metric_rows(m: dict[str, Any]) -> list[tuple[str, str]]:
    """The metrics of :func:`research.metrics.performance` as (label, text) rows, in the order of the command line's
    table: money with 2 decimals and thousands separators, percentages with " %", ``n/a`` for
    undefined values (a Sharpe ratio of fewer than two days), ``inf`` for a profit factor with no loss."""
    dd_time = m.get("max_drawdown_duration")
    rows = [
        ("Start value", fmt(m.get("start_value"))),
        ("Final value", fmt(m.get("final_value"))),
        ("Total return", fmt(m.get("total_return_pct"), " %")),
        ("Annualised return", fmt(m.get("annual_return_pct"), " %")),
        ("Sharpe (daily, x sqrt 252)", fmt(m.get("sharpe"))),
        ("Sortino (daily, x sqrt 252)", fmt(m.get("sortino"))),
        ("Max drawdown", fmt(m.get("max_drawdown_pct"), " %")),
        ("Longest drawdown", "n/a" if m.get("max_drawdown_bars") is None else f"{m['max_drawdown_bars']} bars, {dd_time}"
         + ("" if m.get("max_drawdown_recovered", True) else " (not recovered)")),
        ("Trades (closed)", fmt(m.get("trades"))),
        ("Win rate", fmt(m.get("win_rate_pct"), " %", 1)),
        ("Profit factor", fmt(m.get("profit_factor"))),
        ("Average trade (net)", fmt(m.get("avg_trade"))),
        ("Net profit of closed trades", fmt(m.get("net_pnl"))),
        ("Open at end (marked to market)", f"{m.get('open_trades_at_end')} ({fmt(m.get('open_pnl_net'))})"),
        ("Time in market", fmt(m.get("time_in_market_pct"), " %", 1)),
        ("Buy and hold return", fmt(m.get("buy_hold_return_pct"), " %")),
        ("Trading days", fmt(m.get("days"))),
        ("Orders rejected (margin)", f"{fmt(m.get('orders_rejected'))} ({fmt(m.get('orders_margin'))})"),
        ("Entries skipped (size 0)", fmt(m.get("entries_skipped"))),
    ]
    return rows
