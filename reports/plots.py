"""Performance pictures, drawn headless and saved as PNG.

``plot_report`` draws the backtest report (price with trades, delta, CVD, book
imbalance, equity with drawdown) with matplotlib's object API (``Figure``, no
pyplot, no display). ``save_backtrader_plot`` saves Backtrader's own
``cerebro.plot()`` figure, forcing the Agg backend that Backtrader overrides.

Panels are drawn against the bar number, not the time: intraday data spread
over several sessions would otherwise show long straight lines across the
nights and weekends. The x tick labels give the bars' times, and a faint
vertical line marks each gap in the data (a session break).
"""
from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from data.bars.depth import normalised_imbalance as depth_imbalance
from indicators.candles import cvd_candles

__all__ = ["plot_report", "save_backtrader_plot", "backtrader_figure", "time_ticks", "session_gaps", "normalised_imbalance",
           "imbalance_mean"]

GREEN, RED, BLUE, GREY = "#2e9e44", "#d0343a", "#1f5fa8", "#8a8a8a"

TIME_STEPS = [pd.Timedelta(x) for x in (
    "1s", "5s", "15s", "30s", "1min", "5min", "15min", "30min", "1h", "2h", "3h", "4h", "6h", "12h",
    "1D", "2D", "7D", "14D", "30D", "91D", "182D", "365D",
)]


def time_ticks(times: pd.DatetimeIndex, max_ticks: int = 14) -> tuple[np.ndarray, list[str]]:
    """Tick positions (bar numbers) and labels for a bar-number axis.

    A tick goes on the first bar of each interval of a round step (the smallest
    of 1s ... 365 days giving at most ``max_ticks`` ticks), labelled with that
    bar's own time (``HH:MM``; the date is added when it changes from the
    previous tick). Ticks closer than 0.45 x the even spacing to the previous
    one are dropped (bars of trades or volume crowd in busy minutes).
    ``times`` should already be in the display time zone.
    """
    n = len(times)
    if n == 0:
        return np.zeros(0, dtype=int), []
    naive = times.tz_localize(None) if times.tz is not None else times
    ns = naive.as_unit("ns").asi8
    for step in TIME_STEPS:
        buckets = ns // step.value
        positions = np.concatenate(([0], np.flatnonzero(np.diff(buckets)) + 1))
        if len(positions) <= max_ticks:
            break
    else:
        positions = np.linspace(0, n - 1, max_ticks).astype(int)
    if len(positions) > 2 and positions[1] - positions[0] < 0.7 * np.mean(np.diff(positions[1:])):
        positions = positions[1:]  # the first bar sits just before a round time: keep the round one
    positions = _thin(positions, 0.45 * n / max_ticks)
    labels, last_date = [], None
    show_time = step < pd.Timedelta("1D")
    for pos in positions:  # at most max_ticks labels
        t = naive[pos]
        date = t.strftime("%a %d %b %Y" if step >= pd.Timedelta("30D") else "%a %d %b")
        clock = t.strftime("%H:%M:%S" if step < pd.Timedelta("1min") else "%H:%M")
        if not show_time:
            labels.append(date)
        elif date != last_date:
            labels.append(f"{clock}\n{date}")
        else:
            labels.append(clock)
        last_date = date
    return positions, labels


def _thin(positions: np.ndarray, min_gap: float) -> np.ndarray:
    """Drop tick positions closer than ``min_gap`` bars to the previous kept one (bursty tick/volume bars)."""
    kept = [positions[0]] if len(positions) else []
    for pos in positions[1:]:  # at most a few dozen ticks
        if pos - kept[-1] >= min_gap:
            kept.append(pos)
    return np.asarray(kept, dtype=int)


def session_gaps(times: pd.DatetimeIndex, factor: float = 5.0, minimum: str = "30min") -> np.ndarray:
    """Bar numbers that follow a gap: a time step longer than ``factor`` x the median step and ``minimum``."""
    if len(times) < 2:
        return np.zeros(0, dtype=int)
    steps = np.diff(times.as_unit("ns").asi8)
    threshold = max(factor * float(np.median(steps)), pd.Timedelta(minimum).value)
    return np.flatnonzero(steps > threshold) + 1


def normalised_imbalance(bid_size: np.ndarray, ask_size: np.ndarray) -> np.ndarray:
    """``(bid - ask) / (bid + ask)`` in [-1, 1] (:func:`data.bars.depth.normalised_imbalance`), drawn as 0
    where both sizes are 0 (a flat line, not a gap); NaN when a size is missing."""
    imbalance = depth_imbalance(bid_size, ask_size)
    total = np.asarray(bid_size, dtype=np.float64) + np.asarray(ask_size, dtype=np.float64)
    return np.where(np.isnan(imbalance) & ~np.isnan(total), 0.0, imbalance)


def imbalance_mean(imbalance: np.ndarray) -> tuple[int, np.ndarray]:
    """The smoothed book imbalance drawn over the raw one: ``(window, mean)``, the rolling mean of
    the last ``window = max(5, n // 300)`` bars (fewer at the start; NaNs skipped)."""
    window = max(5, len(imbalance) // 300)
    return window, pd.Series(imbalance).rolling(window, min_periods=1).mean().to_numpy()


def plot_report(
    bars: pd.DataFrame,
    equity: pd.DataFrame,
    trades: pd.DataFrame,
    path: "str | Path",
    *,
    title: str = "",
    cvd: "np.ndarray | None" = None,
    cvd_label: str = "CVD",
    cvd_resets: "Sequence[int] | None" = None,
    tz: str = "UTC",
    summary: str = "",
    dpi: int = 110,
    profile: "pd.DataFrame | None" = None,
    levels: "pd.DataFrame | None" = None,
    bands: "pd.DataFrame | None" = None,
) -> Path:
    """Draw the report and save it as PNG at ``path``.

    ``bars``: order-flow bars indexed by time (``close``, ``delta``, ``bid_size``,
    ``ask_size``); ``equity``: one row per bar with ``value`` and ``drawdown``
    (percent); ``trades``: ``entry_bar``, ``exit_bar``, ``entry_price``,
    ``exit_price``, ``direction`` ("long"/"short"), ``pnl_net``. ``cvd``: the
    strategy's CVD per bar (the running sum of ``delta`` when None);
    ``cvd_resets``: bar numbers where it restarts (dashed lines); ``summary``:
    a few lines of text boxed on the equity panel.

    Session tools (optional): ``profile``, a volume profile from
    :func:`indicators.session_profile` (volume per price, ``attrs`` poc/vah/val),
    drawn as a horizontal histogram beside the price panel, sharing its price axis,
    value area shaded and POC in red; ``levels``, one row per bar with ``poc``,
    ``vah``, ``val`` (the developing :class:`indicators.SessionVolumeProfile` lines),
    drawn as steps on the price panel; ``bands``, one row per bar with ``vwap`` and
    ``upper1..3``/``lower1..3`` (:class:`indicators.VWAPBands`), drawn on the price
    panel. When ``bars`` carry ``delta_high``/``delta_low``, the CVD is drawn as
    candles (:func:`indicators.candles.cvd_candles`: open ``cvd - delta``, high/low
    the running CVD's extremes inside the bar).
    """
    n = len(bars)
    x = np.arange(n)
    times = bars.index.tz_convert(tz) if bars.index.tz is not None else bars.index
    fig = Figure(figsize=(16, 14), layout="constrained")
    ratios = [3.2, 1.1, 1.2, 0.9, 1.8, 0.8]
    axes = fig.subplots(len(ratios), 1, sharex=True, gridspec_kw={"height_ratios": ratios})
    ax_price, ax_delta, ax_cvd, ax_imb, ax_eq, ax_dd = axes

    _price_panel(ax_price, x, bars, trades)
    _session_lines(ax_price, x, levels, bands)
    if profile is not None and len(profile):
        _profile_beside(ax_price, profile)
    _delta_panel(ax_delta, x, bars["delta"].to_numpy(np.float64))
    cvd_values = np.cumsum(bars["delta"].to_numpy(np.float64)) if cvd is None else np.asarray(cvd, np.float64)
    _cvd_panel(ax_cvd, x, cvd_values, cvd_label, cvd_resets)
    if "delta_high" in bars and "delta_low" in bars:
        _cvd_candles(ax_cvd, x, cvd_values, bars)
    _imbalance_panel(ax_imb, x, bars)
    _equity_panel(ax_eq, x, equity, summary)
    _drawdown_panel(ax_dd, x, equity)

    gaps = session_gaps(times)
    for ax in axes:
        for g in gaps:
            ax.axvline(g - 0.5, color=GREY, lw=0.6, alpha=0.5, zorder=0)
        ax.grid(True, axis="y", alpha=0.25)
        ax.margins(x=0.005)
        ax.ticklabel_format(axis="y", useOffset=False, style="plain")
    positions, labels = time_ticks(times)
    ax_dd.xaxis.set_major_locator(FixedLocator(positions))
    ax_dd.xaxis.set_major_formatter(FuncFormatter(lambda v, i: labels[i] if i is not None and i < len(labels) else ""))
    ax_dd.xaxis.set_minor_locator(NullLocator())
    for ax in axes:
        ax.grid(True, axis="x", alpha=0.2)
    ax_dd.set_xlabel(f"bar time ({tz}); bars drawn side by side, grey lines mark gaps in the data")
    if title:
        fig.suptitle("\n".join(textwrap.wrap(title, 150)), fontsize=12)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path


def _price_panel(ax: Any, x: np.ndarray, bars: pd.DataFrame, trades: pd.DataFrame) -> None:
    ax.plot(x, bars["close"].to_numpy(np.float64), color="#333333", lw=0.8, label="close")
    if len(trades):
        entry = trades["entry_bar"].to_numpy(int)
        exit_ = trades["exit_bar"].to_numpy(int)
        long = (trades["direction"] == "long").to_numpy()
        won = (trades["pnl_net"] > 0).to_numpy()
        e_px, x_px = trades["entry_price"].to_numpy(float), trades["exit_price"].to_numpy(float)
        for sel, color in ((won, GREEN), (~won, RED)):  # entry -> exit segments, coloured by result
            if sel.any():
                ax.plot(np.vstack([entry[sel], exit_[sel]]), np.vstack([e_px[sel], x_px[sel]]),
                        color=color, lw=0.9, alpha=0.55)
        ax.scatter(entry[long], e_px[long], marker="^", s=46, color=GREEN, edgecolor="black", lw=0.4,
                   zorder=5, label="long entry")
        ax.scatter(entry[~long], e_px[~long], marker="v", s=46, color=RED, edgecolor="black", lw=0.4,
                   zorder=5, label="short entry")
        closed = trades["closed"].to_numpy(bool) if "closed" in trades else np.ones(len(trades), bool)
        ax.scatter(exit_[closed], x_px[closed], marker="x", s=30, color="black", lw=1.0, zorder=6,
                   label="exit (line green: won, red: lost)")
        if not closed.all():
            ax.scatter(exit_[~closed], x_px[~closed], marker="o", s=40, facecolor="none", edgecolor="black",
                       lw=1.0, zorder=6, label="open at end (marked at last close)")
    ax.set_ylabel("price")
    ax.legend(loc="upper left", fontsize=8, ncols=5, framealpha=0.8)


def _session_lines(ax: Any, x: np.ndarray, levels: "pd.DataFrame | None", bands: "pd.DataFrame | None") -> None:
    """Developing session POC / value area (steps) and VWAP with its bands on the price panel."""
    if bands is not None and len(bands):
        ax.plot(x, bands["vwap"].to_numpy(np.float64), color="#ff7f0e", lw=1.0, label="VWAP")
        for k, style in ((1, "--"), (2, ":"), (3, ":")):
            if f"upper{k}" in bands:
                up, lo = bands[f"upper{k}"].to_numpy(np.float64), bands[f"lower{k}"].to_numpy(np.float64)
                ax.plot(x, up, color="#ff7f0e", lw=0.6, ls=style, alpha=0.9 - 0.2 * k, label="±1, 2, 3 sd" if k == 1 else None)
                ax.plot(x, lo, color="#ff7f0e", lw=0.6, ls=style, alpha=0.9 - 0.2 * k)
        ax.fill_between(x, bands["lower1"].to_numpy(np.float64), bands["upper1"].to_numpy(np.float64),
                        color="#ff7f0e", alpha=0.06, lw=0)
    if levels is not None and len(levels):
        ax.step(x, levels["poc"].to_numpy(np.float64), where="mid", color=RED, lw=0.9, label="developing POC")
        ax.step(x, levels["vah"].to_numpy(np.float64), where="mid", color=GREY, lw=0.7, ls="--", label="VAH / VAL")
        ax.step(x, levels["val"].to_numpy(np.float64), where="mid", color=GREY, lw=0.7, ls="--")
    if (levels is not None and len(levels)) or (bands is not None and len(bands)):
        ax.legend(loc="upper left", fontsize=8, ncols=5, framealpha=0.8)


def _profile_beside(ax: Any, profile: pd.DataFrame) -> None:
    """A horizontal volume histogram just right of the price panel, on the same price axis."""
    side = ax.inset_axes((1.005, 0.0, 0.07, 1.0), sharey=ax)
    price = profile.index.to_numpy(np.float64)
    volume = profile["volume"].to_numpy(np.float64)
    step = float(np.min(np.diff(price))) if len(price) > 1 else 1.0
    vah, val, poc = profile.attrs.get("vah"), profile.attrs.get("val"), profile.attrs.get("poc")
    inside = (price >= val) & (price <= vah) if vah is not None else np.zeros(len(price), bool)
    colours = np.where(price == poc, RED, np.where(inside, "#6b8fc7", "#c3c9d3"))
    side.barh(price, volume, height=step * 0.9, color=colours, lw=0)
    if "buy_volume" in profile:
        side.barh(price, profile["buy_volume"].to_numpy(np.float64), height=step * 0.35, color=GREEN, alpha=0.55, lw=0)
    side.tick_params(axis="y", labelleft=False, length=0)
    side.tick_params(axis="x", labelsize=6)
    side.set_xticks([])
    sessions = profile.attrs.get("sessions", 1)
    side.set_title(f"profile\n{sessions} session{'s' if sessions != 1 else ''}", fontsize=7)
    for spine in ("top", "right", "bottom"):
        side.spines[spine].set_visible(False)


def _cvd_candles(ax: Any, x: np.ndarray, cvd: np.ndarray, bars: pd.DataFrame) -> None:
    """CVD candles over the CVD line: wick = running CVD's range in the bar, body open -> close."""
    open_, high, low, close = cvd_candles(cvd, bars["delta"].to_numpy(np.float64), bars["delta_high"].to_numpy(np.float64),
                                          bars["delta_low"].to_numpy(np.float64))
    up = close >= open_
    width = max(0.3, min(2.0, 800 / max(len(x), 1)))
    ax.vlines(x, low, high, colors=np.where(up, GREEN, RED), lw=width * 0.5, alpha=0.8)
    ax.vlines(x, np.minimum(open_, close), np.maximum(open_, close), colors=np.where(up, GREEN, RED), lw=width * 2)


def _delta_panel(ax: Any, x: np.ndarray, delta: np.ndarray) -> None:
    colors = np.where(delta >= 0, GREEN, RED)
    ax.vlines(x, 0, delta, colors=colors, lw=max(0.3, min(2.0, 800 / max(len(x), 1))))
    ax.axhline(0, color=GREY, lw=0.6)
    ax.set_ylabel("delta\n(buy − sell)")


def _cvd_panel(ax: Any, x: np.ndarray, cvd: np.ndarray, label: str, resets: "Sequence[int] | None") -> None:
    ax.plot(x, cvd, color=BLUE, lw=0.9, label=label)
    ax.axhline(0, color=GREY, lw=0.6)
    if resets is not None and len(resets):
        for i, r in enumerate(resets):
            ax.axvline(r - 0.5, color=BLUE, lw=0.8, ls="--", alpha=0.6, label="session reset" if i == 0 else None)
    ax.set_ylabel("CVD")
    ax.legend(loc="upper left", fontsize=8, framealpha=0.8)


def _imbalance_panel(ax: Any, x: np.ndarray, bars: pd.DataFrame) -> None:
    imb = normalised_imbalance(bars["bid_size"].to_numpy(), bars["ask_size"].to_numpy())
    if np.isnan(imb).all():
        ax.text(0.5, 0.5, "no bid/ask sizes in the data", transform=ax.transAxes, ha="center", va="center",
                color=GREY)
    else:
        ax.fill_between(x, 0, imb, where=imb >= 0, color=GREEN, alpha=0.25, lw=0, interpolate=True)
        ax.fill_between(x, 0, imb, where=imb < 0, color=RED, alpha=0.25, lw=0, interpolate=True)
        window, smooth = imbalance_mean(imb)
        ax.plot(x, smooth, color="black", lw=0.8, label=f"{window}-bar mean")
        ax.legend(loc="upper left", fontsize=8, framealpha=0.8)
        ax.set_ylim(-1.05, 1.05)
    ax.axhline(0, color=GREY, lw=0.6)
    ax.set_ylabel("book imbalance\n(bid−ask)/(bid+ask)")


def _equity_panel(ax: Any, x: np.ndarray, equity: pd.DataFrame, summary: str) -> None:
    value = equity["value"].to_numpy(np.float64)
    peak = np.maximum.accumulate(value)
    ax.plot(x, peak, color=GREY, lw=0.6, ls=":", label="running peak")
    ax.plot(x, value, color=BLUE, lw=1.1, label="equity")
    ax.fill_between(x, value, peak, where=value < peak, color=RED, alpha=0.3, lw=0, label="drawdown")
    ax.set_ylabel("portfolio value")
    ax.legend(loc="upper left", fontsize=8, ncols=3, framealpha=0.8)
    if summary:
        ax.text(0.995, 0.96, summary, transform=ax.transAxes, ha="right", va="top", fontsize=8.5,
                family="monospace", bbox=dict(boxstyle="round", facecolor="white", alpha=0.85, edgecolor=GREY))


def _drawdown_panel(ax: Any, x: np.ndarray, equity: pd.DataFrame) -> None:
    dd = -equity["drawdown"].to_numpy(np.float64)
    ax.fill_between(x, dd, 0, color=RED, alpha=0.45, lw=0)
    ax.plot(x, dd, color=RED, lw=0.6)
    ax.set_ylabel("drawdown %")
    low = float(np.nanmin(dd)) if len(dd) else 0.0
    ax.set_ylim(min(low * 1.1, -1e-6), max(-low * 0.05, 1e-7))


def _show_bottom_dates(fig: Any, rotation: float) -> None:
    """Turn the x tick labels (dates) back on for the lowest axes of a Backtrader figure."""
    if not fig.axes:
        return
    bottom = min(ax.get_position().y0 for ax in fig.axes)
    for ax in fig.axes:
        if abs(ax.get_position().y0 - bottom) < 1e-9:
            ax.tick_params(axis="x", which="major", labelbottom=True, labelrotation=rotation)


def save_backtrader_plot(cerebro: Any, path: "str | Path", *, width: float = 16, height: float = 10,
                         dpi: int = 110, tz: str | None = None, **plot_kwargs: Any) -> Path:
    """Save Backtrader's own ``cerebro.plot()`` figure of the first strategy as PNG, with no display,
    its dates in ``tz`` (:func:`backtrader_figure`)."""
    import matplotlib.pyplot as plt

    fig = backtrader_figure(cerebro, tz=tz, **plot_kwargs)
    fig.set_size_inches(width, height)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
    finally:
        plt.close(fig)
    return path


def backtrader_figure(cerebro: Any, tz: str | None = None, **plot_kwargs: Any) -> Figure:
    """Backtrader's own plot of the first strategy (``Plot(**plot_kwargs)``) as one figure, drawn headless,
    with its dates in ``tz`` (default UTC).

    Importing ``backtrader.plot`` calls ``matplotlib.use('TkAgg')`` and
    ``cerebro.plot`` ignores its ``use=`` argument, so Agg is forced right after
    that import and before pyplot draws anything; the plotter is then run
    directly (``iplot=False``), skipping the ``show()`` call ``cerebro.plot`` makes.
    Backtrader hides every x tick label and then re-shows the bottom ones with
    ``setp(ax.get_xticklabels(), visible=True)``, which finds nothing on current
    matplotlib (it lists visible labels only): the bottom dates are turned back on here.
    Backtrader writes its dates in UTC whatever the feed's zone (its date formatters call
    ``num2date`` without one): they are written in ``tz`` here.
    """
    import backtrader.plot as btplot  # sets TkAgg (or MacOSX) as a side effect
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    strategy = cerebro.runstrats[0][0]
    plotter = btplot.Plot(**plot_kwargs)
    figures = plotter.plot(strategy, figid=0, numfigs=1, iplot=False)
    if not figures:
        raise ValueError("Backtrader drew no figure (no bars?)")
    for extra in figures[1:]:
        plt.close(extra)
    fig = figures[0]
    if tz is not None:
        _dates_in_zone(fig, tz)
    _show_bottom_dates(fig, plotter.pinf.sch.tickrotation)
    return fig


def _dates_in_zone(fig: Any, tz: str) -> None:
    """Give every date formatter of a Backtrader figure (tick labels, the cursor's x) the zone ``tz``."""
    import zoneinfo

    from backtrader.plot.formatters import MyDateFormatter
    from backtrader.utils.dateintern import num2date

    zone = zoneinfo.ZoneInfo(tz)

    def zoned(formatter: MyDateFormatter) -> FuncFormatter:
        dates, fmt = formatter.dates, formatter.fmt

        def text(x: float, pos: Any = None) -> str:
            index = min(max(int(round(x)), 0), len(dates) - 1)
            return num2date(dates[index], zone).strftime(fmt)

        return FuncFormatter(text)

    for ax in fig.axes:
        if isinstance(ax.xaxis.get_major_formatter(), MyDateFormatter):
            ax.xaxis.set_major_formatter(zoned(ax.xaxis.get_major_formatter()))
        if isinstance(ax.fmt_xdata, MyDateFormatter):
            ax.fmt_xdata = zoned(ax.fmt_xdata)
