"""Footprint charts: bars across, price levels down, ``sell x buy`` in every cell.

Drawn as traders know them from their platforms: each bar is a column of cells,
one per price level, holding the volume sold on the bid and bought on the ask at
that level; a diagonal imbalance prints its number bold in green (buyers) or red
(sellers); the point of control is boxed; a thin candle runs beside the left edge
of each column, the value area is a bracket inside that edge, and a stacked
imbalance is a solid strip along the right edge of its levels; under each bar a
strip gives its delta (green or red) and volume. Headless (matplotlib's object
API, Agg), saved as PNG.

    from reports.footprint_chart import footprint_chart
    footprint_chart(ticks, "2024-04-16 14:30", "2024-04-16 14:45", spec="1min", tick_size=0.25,
                    path="footprint.png")
"""
from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from data.bars.footprint import (
    FootprintGrid,
    diagonal_imbalances,
    grid_from_arrays,
    infer_tick_size,
    level_prices,
    longest_runs,
    point_of_control,
    value_area,
)
from data.bars.imbalance import ImbalanceRule, imbalance_rule
from data.bars.orders import large_orders
from data.bars.spec import assign_bars, parse_bar_spec
from data.errors import OrderFlowError
from data.ticks import timestamps_ns

from .colours import GREEN, RED, text_colours

__all__ = ["footprint_chart", "window_grid", "trade_footprints", "big_trade_markers", "cell_shades", "fmt_volume",
           "cell_text_colours"]

ORANGE = "#f08c00"
_BUY_FILL, _SELL_FILL = np.array([0.10, 0.59, 0.25]), np.array([0.84, 0.10, 0.11])
MAX_LEVELS = 70  # rows drawn before levels are merged into rows of several ticks


def _utc(value: Any) -> pd.Timestamp | None:
    if value is None:
        return None
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def window_grid(
    ticks: pd.DataFrame,
    start: Any = None,
    end: Any = None,
    *,
    spec: str = "1min",
    tick_size: float | None = None,
    row_ticks: int | None = None,
    max_bars: int = 60,
) -> tuple[FootprintGrid, pd.DataFrame]:
    """The footprint grid and OHLC of the bars stamped in ``[start, end]`` (UTC unless
    the times carry a zone), the very bars ``make_bars(ticks, spec)`` makes.

    Bars are assigned on all ticks first, so tick and volume bars keep their
    boundaries. Rows are ``row_ticks`` ticks tall (default: the fewest ticks per
    row that keeps the window within ``MAX_LEVELS`` rows). At most ``max_bars``
    bars (the first ones of the window).
    """
    spec_ = parse_bar_spec(spec)
    ts = timestamps_ns(ticks["timestamp"])
    size = ticks["size"].to_numpy(np.float64)
    starts, stamps = assign_bars(ts, size, spec_)
    lo_t, hi_t = _utc(start), _utc(end)
    keep = np.ones(len(stamps), dtype=bool)
    if lo_t is not None:
        keep &= stamps >= lo_t.value
    if hi_t is not None:
        keep &= stamps <= hi_t.value
    chosen = np.flatnonzero(keep)[:max_bars]
    if len(chosen) == 0:
        raise OrderFlowError(f"no {spec_.text} bar is stamped between {start} and {end}")
    ends = np.append(starts[1:], len(ts))
    first, stop = int(starts[chosen[0]]), int(ends[chosen[-1]])
    price = ticks["price"].to_numpy(np.float64)[first:stop]
    tick = float(tick_size) if tick_size is not None else ticks.attrs.get("tick_size") or infer_tick_size(price)
    if row_ticks is None:
        span = (price.max() - price.min()) / tick + 1
        row_ticks = max(1, math.ceil(span / MAX_LEVELS))
    row = tick * int(row_ticks)
    local_starts = starts[chosen] - first
    grid = grid_from_arrays(price, size[first:stop], ticks["side"].to_numpy()[first:stop], local_starts,
                            stamps[chosen], row)
    last = np.append(local_starts[1:], len(price)) - 1
    ohlc = pd.DataFrame(
        {
            "open": price[local_starts],
            "high": np.maximum.reduceat(price, local_starts),
            "low": np.minimum.reduceat(price, local_starts),
            "close": price[last],
            "volume": np.add.reduceat(size[first:stop], local_starts),
        },
        index=pd.DatetimeIndex(stamps[chosen].astype("datetime64[ns]")).tz_localize("UTC"),
    )
    ohlc["delta"] = np.add.reduceat(grid.buy - grid.sell, grid.offsets[:-1])
    # the stamp of the bar before the window: times up to it belong to earlier bars
    ohlc.attrs["previous_stamp"] = int(stamps[chosen[0] - 1]) if chosen[0] > 0 else None
    ohlc.attrs["row_ticks"] = int(row_ticks)
    return grid, ohlc


def big_trade_markers(
    ticks: pd.DataFrame,
    start: Any = None,
    end: Any = None,
    *,
    spec: str = "1min",
    threshold: "float | str" = "p99",
    window: int = 10_000,
    by: str | None = None,
) -> pd.DataFrame:
    """The "big trades" layer: large aggressor orders (:func:`data.large_orders`, trades
    grouped by time stamp and side or aggressor id, at or above ``threshold``, a size
    or ``"pQ"`` of the previous ``window`` orders) whose bar is stamped in ``[start, end]``.

    One row per order: ``time`` (its last trade), ``bar_time`` (the ``make_bars(ticks,
    spec)`` bar holding that trade), ``price`` (the order's average price), ``size``,
    ``side`` (+1 buy, -1 sell), ``trades``, ``levels``, ``low``, ``high``, and
    ``radius``, a marker radius growing with the square root of the size (1 for the
    smallest, 3 for the largest in the frame): what a chart draws, in any library.
    """
    spec_ = parse_bar_spec(spec)
    orders = large_orders(ticks, threshold, window, by=by)
    ts = timestamps_ns(ticks["timestamp"])
    starts, stamps = assign_bars(ts, ticks["size"].to_numpy(np.float64), spec_)
    bar = np.searchsorted(starts, orders["last_row"].to_numpy(), side="right") - 1
    frame = pd.DataFrame({
        "time": orders["last_timestamp"],
        "bar_time": pd.DatetimeIndex(stamps[bar].astype("datetime64[ns]")).tz_localize("UTC") if len(bar) else
        pd.DatetimeIndex([], tz="UTC"),
        "price": orders["vwap"],
        "size": orders["size"],
        "side": orders["side"],
        "trades": orders["trades"],
        "levels": orders["levels"],
        "low": orders["low"],
        "high": orders["high"],
    })
    lo_t, hi_t = _utc(start), _utc(end)
    if lo_t is not None:
        frame = frame[frame["bar_time"] >= lo_t]
    if hi_t is not None:
        frame = frame[frame["bar_time"] <= hi_t]
    root = np.sqrt(frame["size"].to_numpy(np.float64))
    span = root.max() - root.min() if len(root) else 0.0
    frame = frame.assign(radius=1.0 + 2.0 * (root - root.min()) / span if span > 0 else np.ones(len(root)))
    return frame.reset_index(drop=True)


def fmt_volume(value: float) -> str:
    """Volumes as traders read them: whole lots as integers, fractions with 3 significant digits."""
    if value == 0:
        return "0"
    if float(value).is_integer() and abs(value) < 1e7:
        return f"{int(value)}"
    if abs(value) >= 1000:
        return f"{value / 1000:.1f}k"
    return f"{value:.3g}"


def cell_shades(grid: FootprintGrid) -> np.ndarray:
    """Each cell's background as RGB in [0, 1] (an ``(n_cells, 3)`` array): a tint towards green
    (delta >= 0) or red, of strength ``0.10 + 0.45 * share * (0.35 + 0.65 * |lean|)`` where
    ``share = volume / the bar's largest cell volume`` and ``lean = (buy - sell) / volume``
    (0 for an empty cell): ``colour = 1 - strength * (1 - tint)``."""
    volume = grid.volume
    if len(volume) == 0:
        return np.zeros((0, 3))
    bar_max = np.maximum.reduceat(volume, grid.offsets[:-1])[grid.bar]
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(bar_max > 0, volume / bar_max, 0.0)
        lean = np.where(volume > 0, (grid.buy - grid.sell) / volume, 0.0)
    tint = np.where((lean >= 0)[:, None], _BUY_FILL, _SELL_FILL)
    strength = 0.10 + 0.45 * share * (0.35 + 0.65 * np.abs(lean))
    return 1 - strength[:, None] * (1 - tint)


def cell_text_colours(shades: np.ndarray, buy_imbalance: np.ndarray, sell_imbalance: np.ndarray) -> dict[str, np.ndarray]:
    """Per cell, the colours of its three texts on its background ``shades`` (:func:`cell_shades`), by
    :func:`reports.colours.text_colours`: ``sell`` (the sell volume: role ``sell`` where it is a
    sell imbalance, ``plain`` otherwise), ``buy`` (likewise) and ``sign`` (the "x" between them).
    The PNG chart and the HTML explorer both colour their cell text with it."""
    plain = text_colours(shades, "plain")
    return {"sell": np.where(sell_imbalance, text_colours(shades, "sell"), plain),
            "buy": np.where(buy_imbalance, text_colours(shades, "buy"), plain),
            "sign": text_colours(shades, "sign")}


def footprint_chart(
    ticks: pd.DataFrame,
    start: Any = None,
    end: Any = None,
    *,
    spec: str = "1min",
    tick_size: float | None = None,
    path: "str | Path" = "footprint.png",
    ratio: float | None = None,
    min_volume: float | None = None,
    imbalance: "str | ImbalanceRule | None" = None,
    min_stack: int = 3,
    row_ticks: int | None = None,
    tz: str = "UTC",
    title: str | None = None,
    marks: "Iterable[dict] | pd.DataFrame | None" = None,
    big_trades: "float | str | pd.DataFrame | None" = None,
    max_bars: int = 60,
    dpi: int = 110,
) -> Path:
    """Draw the footprint of the bars stamped in ``[start, end]`` and save it as a PNG.

    Cells read ``sell x buy`` (volume hitting the bid x volume lifting the offer at
    that price). A buy imbalance (default: buy at p >= ``ratio`` x sell at p - 1 row, at least
    ``min_volume``; or the rule ``imbalance``, a platform preset ``"atas"``,
    ``"ninjatrader"``, ``"sierra"`` or :func:`data.bars.imbalance.custom`) prints the buy number
    bold green, a sell imbalance (sell at p >= ``ratio`` x buy at p + 1 row) the sell number bold red; runs of at least
    ``min_stack`` such levels get a solid strip along their right edge (stacked imbalance). The cell
    with the most volume (POC) is boxed in orange; the background shade grows with
    the cell's volume and leans green or red with its delta; on the darker shades the numbers
    take darker colours (black, dark green, dark red: :func:`cell_text_colours`). Under each bar:
    delta and volume. ``marks``: trades to draw, rows with ``time``, ``price`` and
    ``kind`` (``"long"``, ``"short"`` or ``"exit"``), placed in the bar that
    contains their time. ``big_trades``: a large-order threshold (a size or ``"p99"``)
    or a frame from :func:`big_trade_markers`: each large aggressor order is a circle at
    its average price on its bar, green (buy) or red (sell), its area growing with its
    size. Times are labelled in ``tz``. Returns the path written.
    """
    grid, ohlc = window_grid(ticks, start, end, spec=spec, tick_size=tick_size, row_ticks=row_ticks,
                             max_bars=max_bars)
    rule = imbalance_rule(imbalance, ratio, min_volume)
    if big_trades is not None and not isinstance(big_trades, pd.DataFrame):
        big_trades = big_trade_markers(ticks, ohlc.index[0], ohlc.index[-1], spec=spec, threshold=big_trades)
    fig = _draw(grid, ohlc, rule=rule, min_stack=min_stack, tz=tz, spec=spec,
                title=title, marks=marks, tick_size=tick_size, big=big_trades)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    fig.savefig(out, dpi=dpi)
    return out


def _draw(grid: FootprintGrid, ohlc: pd.DataFrame, *, rule: ImbalanceRule, min_stack: int, tz: str,
          spec: str, title: str | None, marks: Any, tick_size: float | None, big: pd.DataFrame | None = None) -> Figure:
    n_bars = grid.n_bars
    row = grid.tick_size
    lo_level, hi_level = int(grid.low.min()), int(grid.high.max())
    n_rows = hi_level - lo_level + 1
    width = min(max(7.0, 1.3 * n_bars + 1.6), 60.0)
    height = min(max(5.0, 0.24 * n_rows + 2.4), 40.0)
    fig = Figure(figsize=(width, height))
    strip = 0.55 / height  # room for the delta/volume strip, in figure fraction
    ax = fig.add_axes((0.9 / width, (0.55 + 0.2) / height + strip, 1 - 1.3 / width, 1 - (1.5 + 0.2) / height - strip))
    sub = fig.add_axes((0.9 / width, 0.55 / height, 1 - 1.3 / width, strip), sharex=ax)
    font = 8.0

    bar = grid.bar
    level = grid.level
    buy_imb, sell_imb = diagonal_imbalances(grid, rule=rule)
    poc = point_of_control(grid)
    val, vah = value_area(grid, poc)  # level codes, as are the stacks'
    stacks = {"buy": longest_runs(buy_imb, grid, prefer_high=True),
              "sell": longest_runs(sell_imb, grid, prefer_high=False)}
    shades = cell_shades(grid)
    ink = cell_text_colours(shades, buy_imb, sell_imb)  # readable on each cell's shade
    half = 0.37  # half the cell width; the candle takes the left gap
    for c in np.flatnonzero(grid.trades > 0):
        b, y = bar[c], level[c] - lo_level
        ax.add_patch(Rectangle((b - half, y - 0.5), 2 * half, 1.0, facecolor=shades[c], edgecolor="#d9d9d9", lw=0.4))
        ax.text(b - 0.04, y, fmt_volume(grid.sell[c]), ha="right", va="center", fontsize=font, color=ink["sell"][c],
                fontweight="bold" if sell_imb[c] else "normal")
        ax.text(b, y, "×", ha="center", va="center", fontsize=font * 0.8, color=ink["sign"][c])
        ax.text(b + 0.04, y, fmt_volume(grid.buy[c]), ha="left", va="center", fontsize=font, color=ink["buy"][c],
                fontweight="bold" if buy_imb[c] else "normal")
    for b in range(n_bars):
        c = poc[b]
        ax.add_patch(Rectangle((b - half, level[c] - lo_level - 0.5), 2 * half, 1.0, fill=False,
                               edgecolor=ORANGE, lw=1.6, zorder=3))
        _candle(ax, b, ohlc.iloc[b], lo_level, row, half)
        _value_area(ax, b, val[b], vah[b], lo_level, half)
        for side, colour in (("buy", GREEN), ("sell", RED)):
            length, stack_lo, stack_hi = stacks[side]
            if length[b] >= min_stack:  # a solid strip along the stack's right edge
                y0 = stack_lo[b] - lo_level - 0.5
                y1 = stack_hi[b] - lo_level + 0.5
                ax.add_patch(Rectangle((b + half - 0.07, y0), 0.07, y1 - y0, facecolor=colour, edgecolor="none",
                                       zorder=4))
    _draw_marks(ax, marks, ohlc, lo_level, row)
    if big is not None and len(big):
        _draw_big_trades(ax, big, ohlc, lo_level, row)

    ax.set_xlim(-0.6, n_bars - 0.4)
    ax.set_ylim(-0.6, n_rows - 0.4)
    step = max(1, math.ceil(n_rows / 40))
    ys = np.arange(0, n_rows, step)
    ax.set_yticks(ys)
    ax.set_yticklabels([_price_label(p, tick_size or row) for p in level_prices(ys + lo_level, row)], fontsize=7)
    ax.tick_params(axis="x", labelbottom=False, length=0)
    ax.grid(False)
    for spine in ("top", "right"):
        ax.spines[spine].set_visible(False)
    times = ohlc.index.tz_convert(tz)
    label_times = [t.strftime("%H:%M:%S" if spec_has_seconds(spec) else "%H:%M") for t in times]
    _strip(sub, ohlc, n_bars, label_times, font)
    day = times[0].strftime("%Y-%m-%d")
    heading = title or f"Footprint, {spec} bars, {day} ({tz})"
    rows_note = (f"tick {_price_label(row, row)}" if ohlc.attrs.get("row_ticks", 1) == 1
                 else f"rows of {ohlc.attrs['row_ticks']} ticks ({_price_label(row, row)})")
    fig.suptitle(heading, fontsize=11, x=0.9 / width, ha="left", y=1 - 0.18 / height, va="top")
    legend = (f"cells: sell × buy, {rows_note}  |  bold green/red: imbalance ({rule.describe()})"
              f"  |  orange box: POC  |  bracket at the left: 70% "
              f"value area  |  solid strip at the right: ≥ {min_stack} stacked imbalances"
              + ("  |  circles: large aggressor orders (area ~ size)" if big is not None and len(big) else ""))
    fig.text(0.9 / width, 1 - 0.5 / height, "\n".join(textwrap.wrap(legend, int((width - 1.2) * 15.5))),
             fontsize=7.5, color="#444444", va="top", linespacing=1.4)
    return fig


def spec_has_seconds(spec: str) -> bool:
    parsed = parse_bar_spec(spec)
    return parsed.nanos is None or parsed.nanos % 60_000_000_000 != 0


def _price_label(price: float, tick: float) -> str:
    decimals = max(0, -int(math.floor(math.log10(tick))) if tick < 1 else 0)
    if tick < 1 and not math.isclose(round(tick, decimals), tick):
        decimals += 1
    return f"{price:.{decimals}f}"


def _candle(ax: Any, b: int, bar: pd.Series, lo_level: int, row: float, half: float) -> None:
    """A thin candle down the left edge of column ``b``: wick high-low, body open-close."""
    def y(price: float) -> float:
        return price / row - lo_level

    x = b - half - 0.08
    colour = GREEN if bar["close"] >= bar["open"] else RED
    ax.plot([x, x], [y(bar["low"]), y(bar["high"])], color=colour, lw=0.8, zorder=2)
    body_lo, body_hi = sorted((y(bar["open"]), y(bar["close"])))
    ax.add_patch(Rectangle((x - 0.035, body_lo), 0.07, max(body_hi - body_lo, 0.08), facecolor=colour,
                           edgecolor=colour, zorder=2))


def _value_area(ax: Any, b: int, val: int, vah: int, lo_level: int, half: float) -> None:
    """A bracket just inside the left edge of the column from VAL to VAH (level codes)."""
    y0 = val - lo_level - 0.45
    y1 = vah - lo_level + 0.45
    x = b - half + 0.02
    ax.plot([x + 0.04, x, x, x + 0.04], [y0, y0, y1, y1], color="#555555", lw=1.0, zorder=3)


def _strip(sub: Any, ohlc: pd.DataFrame, n_bars: int, labels: Sequence[str], font: float) -> None:
    """Delta and volume under each bar, and the bar times."""
    sub.set_ylim(0, 2)
    for b in range(n_bars):
        delta = ohlc["delta"].iloc[b]
        sub.text(b, 1.5, f"{'+' if delta > 0 else ''}{fmt_volume(delta) if delta >= 0 else '-' + fmt_volume(-delta)}",
                 ha="center", va="center", fontsize=font + 0.5, fontweight="bold",
                 color=GREEN if delta > 0 else RED if delta < 0 else "#333333")
        sub.text(b, 0.5, fmt_volume(ohlc["volume"].iloc[b]), ha="center", va="center", fontsize=font + 0.5, color="#333333")
    sub.set_yticks([1.5, 0.5])
    sub.set_yticklabels(["delta", "volume"], fontsize=7.5)
    sub.set_xticks(range(n_bars))
    sub.set_xticklabels(labels, fontsize=7.5, rotation=0 if n_bars <= 24 else 90)
    sub.tick_params(axis="y", length=0)
    for spine in ("top", "right", "left"):
        sub.spines[spine].set_visible(False)
    sub.axhline(1.0, color="#dddddd", lw=0.6)


def _draw_marks(ax: Any, marks: Any, ohlc: pd.DataFrame, lo_level: int, row: float) -> None:
    """Entry/exit markers at their price, on the right of the column of the bar whose
    interval holds their time (the first bar stamped at or after it)."""
    if marks is None:
        return
    frame = pd.DataFrame(marks)
    if frame.empty:
        return
    stamps = ohlc.index.asi8
    before = ohlc.attrs.get("previous_stamp")
    for _, mark in frame.iterrows():
        t = _utc(mark["time"]).value
        b = int(np.searchsorted(stamps, t, side="left"))  # right-closed: the first bar stamped at or after t
        if b >= len(stamps) or (before is not None and t <= before):
            continue  # outside the window
        kind = str(mark.get("kind", "exit"))
        style = {"long": ("^", GREEN), "short": ("v", RED)}.get(kind, ("X", "#222222"))
        ax.plot([b + 0.3], [mark["price"] / row - lo_level], marker=style[0], color=style[1], markersize=9,
                markeredgecolor="white", markeredgewidth=1.0, ls="", zorder=6)


def _draw_big_trades(ax: Any, big: pd.DataFrame, ohlc: pd.DataFrame, lo_level: int, row: float) -> None:
    """Large orders as translucent circles at their average price in their bar's column."""
    column = np.searchsorted(ohlc.index.asi8, pd.DatetimeIndex(big["bar_time"]).asi8)
    inside = (column < len(ohlc)) & (ohlc.index.asi8[np.minimum(column, len(ohlc) - 1)] == pd.DatetimeIndex(big["bar_time"]).asi8)
    if not inside.any():
        return
    sel = big[inside]
    colours = np.where(sel["side"].to_numpy() > 0, GREEN, RED)
    ax.scatter(column[inside], sel["price"].to_numpy(np.float64) / row - lo_level, s=120.0 * sel["radius"] ** 2,
               facecolors=colours, edgecolors="black", linewidths=0.6, alpha=0.35, zorder=5)


def trade_footprints(
    ticks: pd.DataFrame,
    trades: pd.DataFrame,
    out_dir: "str | Path",
    *,
    spec: str = "1min",
    tick_size: float | None = None,
    before: int = 6,
    after: int = 4,
    max_trades: int = 10,
    **chart: Any,
) -> list[Path]:
    """One footprint PNG per trade (the first ``max_trades``): ``before`` bars before the
    entry to ``after`` bars after the exit, capped at 20 bars, with the entry and exit marked.

    ``trades``: ``entry_time entry_price exit_time exit_price size`` (signed), or with a
    ``direction`` column (``long``/``short``) as :func:`research.trades.trades_frame`
    gives them (run_backtest's trades.csv).
    Files ``trade_001.png`` ...
    """
    out = Path(out_dir)
    paths: list[Path] = []
    if trades is None or len(trades) == 0:
        return paths
    ts = timestamps_ns(ticks["timestamp"])
    _, stamps = assign_bars(ts, ticks["size"].to_numpy(np.float64), parse_bar_spec(spec))
    for k, trade in enumerate(pd.DataFrame(trades).head(max_trades).itertuples(index=False), start=1):
        entry = _utc(trade.entry_time).value
        exit_ = _utc(trade.exit_time).value if pd.notna(getattr(trade, "exit_time", None)) else entry
        first = max(0, int(np.searchsorted(stamps, entry, side="left")) - before)
        last = min(len(stamps) - 1, int(np.searchsorted(stamps, exit_, side="left")) + after, first + 19)
        direction = str(getattr(trade, "direction", "")) or ("long" if trade.size > 0 else "short")
        marks = [{"time": trade.entry_time, "price": trade.entry_price, "kind": direction}]
        if pd.notna(getattr(trade, "exit_time", None)):
            marks.append({"time": trade.exit_time, "price": trade.exit_price, "kind": "exit"})
        title = (f"Trade {k}: {direction} {abs(trade.size):g} at {trade.entry_price:g}"
                 + (f", out at {trade.exit_price:g}" if pd.notna(getattr(trade, "exit_price", None)) else ""))
        paths.append(footprint_chart(ticks, pd.Timestamp(stamps[first], tz="UTC"), pd.Timestamp(stamps[last], tz="UTC"),
                                     spec=spec, tick_size=tick_size, path=out / f"trade_{k:03d}.png", title=title,
                                     marks=marks, **chart))
    return paths
