"""Performance metrics as plain functions on pandas objects.

Inputs are an equity curve (portfolio value per bar, a Series indexed by bar
time), daily returns (a Series of simple returns, one per trading day) and a
trades frame (one row per trade with at least ``pnl_net``; a boolean ``closed``
column marks a trade still open at the end, marked to market). Percentages are
returned as percent (``12.5`` means 12.5 %); a figure that cannot be computed
(no trades, a flat curve, fewer than two days) is ``None``, never NaN.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

TRADING_DAYS = 252
"""Trading days per year used to annualise daily Sharpe and Sortino ratios."""

_YEAR = pd.Timedelta(days=365.25)

MIN_DAYS = 20
"""Statistics of daily returns (:data:`DAY_STATISTICS`) from fewer trading days than this are flagged
(:func:`short_sample`): in the metrics (``short_sample``), the printed tables and the sweep and
walk-forward tables. A Sharpe ratio of a few days is mostly noise: its standard error is about
``sqrt(252 / days)`` in annual units, 3.5 on 20 days."""
DAY_STATISTICS = ("sharpe", "sortino", "annual_return_pct")
COUNT_METRICS = ("trades", "wins", "losses", "days", "max_drawdown_bars", "open_trades_at_end", "fills")
"""The metrics that count things (whole numbers); every other numeric metric is an amount or a ratio."""


def short_sample(days: Any) -> bool:
    """Whether statistics of ``days`` trading days are flagged: ``days < MIN_DAYS`` (unknown: not flagged)."""
    try:
        count = float(days)
    except (TypeError, ValueError):
        return False
    return math.isfinite(count) and count < MIN_DAYS


def _finite(value: float) -> float | None:
    return float(value) if value is not None and np.isfinite(value) else None


def drawdown(equity: pd.Series) -> pd.Series:
    """Drawdown in percent below the running peak.

    ``dd_t = 100 * (1 - V_t / max(V_0 .. V_t))``: 0 at a new high, positive below it.
    """
    values = equity.to_numpy(np.float64)
    peak = np.maximum.accumulate(values)
    with np.errstate(invalid="ignore", divide="ignore"):
        dd = np.where(peak > 0, 100.0 * (1.0 - values / peak), 0.0)
    return pd.Series(dd, index=equity.index, name="drawdown")


@dataclass(frozen=True)
class DrawdownStats:
    """The deepest drawdown and the longest time under water.

    ``max_pct``: the largest ``drawdown`` value. ``length_bars``: the most
    consecutive bars spent below a previous peak (as Backtrader's DrawDown
    analyzer counts ``max.len``). ``duration``: for that same stretch, the time
    from the peak bar to the recovery bar (the first bar back at or above the
    peak), or to the last bar when the curve never recovered. ``peak``/``end``:
    the times that stretch starts and ends; ``recovered`` whether it did.
    """

    max_pct: float
    length_bars: int
    duration: pd.Timedelta
    peak: Any = None
    end: Any = None
    recovered: bool = True


def max_drawdown(equity: pd.Series) -> DrawdownStats:
    """Max drawdown (percent) and the longest under-water stretch (bars and time).

    With ``p(t)`` the index of the last bar at the running maximum up to ``t``,
    a bar is under water when ``V_t < V_p(t)``; the length of a stretch is
    ``max(t - p(t))`` over its bars, its duration ``T[r] - T[p]`` with ``r`` the
    recovery bar (``r = t_last + 1``, or the last bar when still under water).
    """
    dd = drawdown(equity).to_numpy()
    n = len(dd)
    if n == 0:
        return DrawdownStats(0.0, 0, pd.Timedelta(0))
    values = equity.to_numpy(np.float64)
    at_peak = values >= np.maximum.accumulate(values)
    idx = np.arange(n)
    peak_idx = np.maximum.accumulate(np.where(at_peak, idx, 0))
    under = np.where(at_peak, 0, idx - peak_idx)
    if under.max() == 0:
        return DrawdownStats(float(dd.max()), 0, pd.Timedelta(0), equity.index[0], equity.index[0], True)
    last = int(np.argmax(under))  # last bar of the (first) longest stretch: ``under`` rises by 1 per bar
    peak = int(peak_idx[last])
    recovered = last + 1 < n
    end = last + 1 if recovered else last
    times = equity.index
    duration = _timedelta(times[end], times[peak])
    return DrawdownStats(float(dd.max()), int(under[last]), duration, times[peak], times[end], recovered)


def _timedelta(later: Any, earlier: Any) -> pd.Timedelta:
    try:
        return pd.Timedelta(later - earlier)
    except (TypeError, ValueError):  # a plain integer index: no time
        return pd.Timedelta(0)


def daily_returns(equity: pd.Series, initial: float | None = None, calendar: Any = None) -> pd.Series:
    """Simple return per trading day: ``r_d = V_close(d) / V_close(d-1) - 1``.

    ``V_close(d)`` is the last equity value of day ``d``; the first day is
    measured from ``initial`` (the starting cash) when given, else from the
    first value. Days are the trade dates of ``calendar``
    (:meth:`indicators.sessions.SessionCalendar.trade_dates`, the session cut the
    indicators use; midnight UTC when None). Days with no bars are skipped, so
    weekends and holidays add no zero returns.
    """
    if equity.empty:
        return pd.Series(dtype=np.float64, name="return")
    index = pd.DatetimeIndex(equity.index)
    if calendar is not None:
        days = calendar.trade_dates(index)
    else:
        days = (index.tz_convert("UTC").tz_localize(None) if index.tz is not None else index).normalize()
    closes = equity.groupby(np.asarray(days)).last()
    start = float(initial) if initial is not None else float(equity.iloc[0])
    previous = np.concatenate(([start], closes.to_numpy()[:-1]))
    return pd.Series(closes.to_numpy() / previous - 1.0, index=pd.DatetimeIndex(closes.index), name="return")


def sharpe_ratio(returns: pd.Series, periods: int = TRADING_DAYS) -> float | None:
    """Annualised Sharpe ratio of daily returns, risk-free rate 0.

    ``S = mean(r) / std(r) * sqrt(periods)`` with the sample standard deviation
    (ddof 1). ``None`` with fewer than two returns or a zero deviation.
    """
    r = pd.Series(returns, dtype=np.float64).dropna().to_numpy()
    if len(r) < 2:
        return None
    sd = r.std(ddof=1)
    if not sd > 0:
        return None
    return _finite(r.mean() / sd * math.sqrt(periods))


def sortino_ratio(returns: pd.Series, periods: int = TRADING_DAYS) -> float | None:
    """Annualised Sortino ratio of daily returns, target 0.

    ``S = mean(r) / DD * sqrt(periods)`` with the downside deviation
    ``DD = sqrt(mean(min(r, 0)^2))`` taken over all days. ``None`` with fewer
    than two returns or no down day.
    """
    r = pd.Series(returns, dtype=np.float64).dropna().to_numpy()
    if len(r) < 2:
        return None
    downside = math.sqrt(np.mean(np.minimum(r, 0.0) ** 2))
    if not downside > 0:
        return None
    return _finite(r.mean() / downside * math.sqrt(periods))


def total_return(equity: pd.Series, initial: float) -> float | None:
    """Total return in percent: ``100 * (V_end / initial - 1)``."""
    if equity.empty or not initial:
        return None
    return _finite(100.0 * (float(equity.iloc[-1]) / float(initial) - 1.0))


def annualised_return(total_pct: float | None, elapsed: pd.Timedelta) -> float | None:
    """Compound annual growth in percent: ``100 * ((1 + R) ** (365.25 d / elapsed) - 1)``.

    ``R`` is the total return as a fraction and ``elapsed`` the calendar time the
    test covered (first to last bar). On a few days of data this is a large,
    noisy number; it is reported as computed (``None`` when it overflows, as on
    a few minutes of data).
    """
    if total_pct is None or elapsed <= pd.Timedelta(0):
        return None
    growth = 1.0 + total_pct / 100.0
    if growth <= 0:
        return -100.0
    with np.errstate(over="ignore"):
        value = 100.0 * (np.float64(growth) ** (_YEAR / elapsed) - 1.0)  # inf (-> None) on overflow
    return _finite(value)


@dataclass(frozen=True)
class TradeStats:
    """Closed-trade statistics (an open trade marked to market is not counted).

    ``win_rate_pct = 100 * wins / trades`` (a win is ``pnl_net > 0``);
    ``profit_factor = sum(pnl_net > 0) / |sum(pnl_net < 0)|`` (``inf`` with wins
    and no loss, ``None`` with neither); ``avg_trade = mean(pnl_net)``.
    """

    trades: int
    wins: int
    losses: int
    win_rate_pct: float | None
    profit_factor: float | None
    avg_trade: float | None
    avg_win: float | None
    avg_loss: float | None
    gross_profit: float
    gross_loss: float
    net_pnl: float


def trade_stats(trades: pd.DataFrame) -> TradeStats:
    """Count, win rate, profit factor and average of the closed trades' ``pnl_net``."""
    closed = trades[trades["closed"].astype(bool)] if "closed" in trades.columns else trades
    pnl = closed["pnl_net"].to_numpy(np.float64)
    n = len(pnl)
    wins, losses = pnl[pnl > 0], pnl[pnl < 0]
    gross_profit, gross_loss = float(wins.sum()), float(losses.sum())
    if gross_loss < 0:
        profit_factor: float | None = gross_profit / -gross_loss
    else:
        profit_factor = math.inf if gross_profit > 0 else None
    return TradeStats(
        trades=n,
        wins=len(wins),
        losses=len(losses),
        win_rate_pct=100.0 * len(wins) / n if n else None,
        profit_factor=profit_factor,
        avg_trade=float(pnl.mean()) if n else None,
        avg_win=float(wins.mean()) if len(wins) else None,
        avg_loss=float(losses.mean()) if len(losses) else None,
        gross_profit=gross_profit,
        gross_loss=gross_loss,
        net_pnl=float(pnl.sum()),
    )


def time_in_market(position: pd.Series) -> float | None:
    """Percent of bars that end with an open position: ``100 * mean(position != 0)``."""
    if len(position) == 0:
        return None
    return float(100.0 * np.mean(position.to_numpy(np.float64) != 0))


def buy_and_hold_return(bars: pd.DataFrame) -> float | None:
    """Price return of holding one unit from the first bar's open to the last bar's close.

    ``100 * (close_last / open_first - 1)``, without costs.
    """
    if bars.empty or not bars["open"].iloc[0]:
        return None
    return _finite(100.0 * (float(bars["close"].iloc[-1]) / float(bars["open"].iloc[0]) - 1.0))


def execution_stats(trades: pd.DataFrame) -> dict[str, float | None]:
    """How the closed trades' orders executed against their signals (the columns of
    :func:`research.trades.trades_frame`):

    - ``avg_slippage_ticks``: the mean of the entry and exit slippages in ticks over the
      closed trades' legs (each leg counts once; None without a tick size or legs);
    - ``implementation_shortfall``: the sum of the closed trades' ``shortfall``, the profit
      lost between the signal prices (the signal bars' closes) and the fills, in the account's
      currency (positive: the fills cost money).
    """
    closed = trades[trades["closed"].astype(bool)] if "closed" in trades.columns else trades
    if "entry_slippage_ticks" not in closed.columns or "shortfall" not in closed.columns:
        return {"avg_slippage_ticks": None, "implementation_shortfall": None}
    legs = np.concatenate([closed["entry_slippage_ticks"].to_numpy(np.float64),
                           closed["exit_slippage_ticks"].to_numpy(np.float64)])
    legs = legs[np.isfinite(legs)]
    shortfall = closed["shortfall"].to_numpy(np.float64)
    return {"avg_slippage_ticks": float(legs.mean()) if len(legs) else None,
            "implementation_shortfall": float(np.nansum(shortfall)) if len(shortfall) else None}


def limit_fill_pct(limits: list[tuple[float, float]]) -> float | None:
    """The fill ratio of limit orders in percent: ``100 * sum(filled) / sum(ordered)`` over the
    ``(ordered, filled)`` sizes of the limit, stop-limit and trailing stop-limit orders the broker accepted (one still
    resting at the end counts as far as it filled); None without limit orders."""
    ordered = sum(o for o, _ in limits)
    return 100.0 * sum(f for _, f in limits) / ordered if ordered else None


def performance(
    equity: pd.Series,
    trades: pd.DataFrame,
    returns: pd.Series,
    bars: pd.DataFrame,
    position: pd.Series,
    initial: float,
) -> dict[str, Any]:
    """All the figures of the metrics table, as a JSON-ready dict (see each function)."""
    total = total_return(equity, initial)
    elapsed = _timedelta(equity.index[-1], equity.index[0]) if len(equity) else pd.Timedelta(0)
    dd = max_drawdown(equity)
    stats = trade_stats(trades)
    open_rows = trades[~trades["closed"].astype(bool)] if "closed" in trades.columns else trades.iloc[:0]
    result: dict[str, Any] = {
        "start_value": float(initial),
        "final_value": float(equity.iloc[-1]) if len(equity) else None,
        "total_return_pct": total,
        "annual_return_pct": annualised_return(total, elapsed),
        "sharpe": sharpe_ratio(returns),
        "sortino": sortino_ratio(returns),
        "days": int(len(returns)),
        "short_sample": short_sample(len(returns)),
        "max_drawdown_pct": dd.max_pct,
        "max_drawdown_bars": dd.length_bars,
        "max_drawdown_duration": str(dd.duration),
        "max_drawdown_recovered": dd.recovered,
        "time_in_market_pct": time_in_market(position),
        "buy_hold_return_pct": buy_and_hold_return(bars),
        "open_trades_at_end": int(len(open_rows)),
        "open_pnl_net": float(open_rows["pnl_net"].sum()) if len(open_rows) else 0.0,
    }
    result.update(asdict(stats))
    result.update(execution_stats(trades))
    return result


def to_json_ready(metrics: dict[str, Any]) -> dict[str, Any]:
    """Replace non-finite floats (``inf`` profit factor) by strings JSON can hold."""
    out = {}
    for key, value in metrics.items():
        if isinstance(value, float) and not math.isfinite(value):
            out[key] = "inf" if value > 0 else ("-inf" if value < 0 else None)
        else:
            out[key] = value
    return out

