"""The metrics of a run as text: one formatter of numbers for every table, counts in words, the rows of
the metrics table and the mark of a statistic of too few days.

The figures are computed by :mod:`research.metrics` (and the engine's order counts); here they are
only written out. :func:`metric_rows` is the one metrics table: the command line prints it
(:func:`reports.output.metrics_table`), the HTML report shows it (:func:`reports.html.metrics_html`).
"""
from __future__ import annotations

import math
import re
from typing import Any

from research.metrics import DAY_STATISTICS, MIN_DAYS, short_sample

SHORT_MARK = "†"
"""The mark of a flagged value in a text table, explained by :func:`short_sample_note` under it."""


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


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 trading day``, ``5 trading days``, ``1,234 bars``: a count and its noun, singular for exactly 1
    (``many``: the plural when it is not ``word + "s"``)."""
    return f"{count:,} {word if count == 1 else (many or word + 's')}"


def duration_text(text: str) -> str:
    """A duration as pandas writes it (``str(Timedelta)``), with ``1 days`` said ``1 day``."""
    return re.sub(r"^(-?)1 days\b", r"\g<1>1 day", str(text))


def flag(text: str, key: str, days: Any) -> str:
    """``text``, the value of metric ``key``, with :data:`SHORT_MARK` when it is a statistic of daily returns
    from too few ``days`` (:func:`research.metrics.short_sample`); ``n/a`` stays unmarked."""
    return f"{text} {SHORT_MARK}" if key in DAY_STATISTICS and text != "n/a" and short_sample(days) else text


def short_sample_note(days: Any = None) -> str:
    """The footnote of :func:`flag`'s mark: ``† from 3 trading days, fewer than 20: ...``."""
    many = (f"{plural(int(days), 'trading day')}, fewer than {MIN_DAYS}" if short_sample(days)
            else f"fewer than {MIN_DAYS} trading days")
    return (f"{SHORT_MARK} from {many}: a Sharpe ratio, Sortino ratio or annualised return of so few days is too "
            "noisy to rely on")


def metric_rows(m: dict[str, Any]) -> list[tuple[str, str]]:
    """The metrics of :func:`research.metrics.performance` as (label, text) rows, in the order of the command
    line's table: money with 2 decimals and thousands separators, percentages with " %", ``n/a`` for
    undefined values (a Sharpe ratio of fewer than two days), ``inf`` for a profit factor with no loss;
    the statistics of daily returns of fewer than :data:`research.metrics.MIN_DAYS` days marked
    (:func:`metrics_note`)."""
    dd_time = m.get("max_drawdown_duration")

    def daily(key: str, suffix: str = "") -> str:  # a statistic of daily returns, flagged when days are too few
        return flag(fmt(m.get(key), suffix), key, m.get("days"))

    rows = [
        ("Start value", fmt(m.get("start_value"))),
        ("Final value", fmt(m.get("final_value"))),
        ("Total return", fmt(m.get("total_return_pct"), " %")),
        ("Annualised return", daily("annual_return_pct", " %")),
        ("Sharpe (daily, x sqrt 252)", daily("sharpe")),
        ("Sortino (daily, x sqrt 252)", daily("sortino")),
        ("Max drawdown", fmt(m.get("max_drawdown_pct"), " %")),
        ("Longest drawdown", "n/a" if m.get("max_drawdown_bars") is None
         else f"{plural(m['max_drawdown_bars'], 'bar')}, {duration_text(dd_time)}"
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


def metrics_note(m: dict[str, Any]) -> str | None:
    """The footnote under :func:`metric_rows` when they mark a value (:func:`short_sample_note`), else None."""
    if not short_sample(m.get("days")) or all(m.get(k) is None for k in DAY_STATISTICS):
        return None
    return short_sample_note(m.get("days"))
