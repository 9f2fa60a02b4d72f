"""What a backtest shows a person: the load and run summaries, the metrics table, the files.

Everything here reads a :class:`research.Result` (and output options); nothing runs a
backtest. ``write_outputs`` writes ``metrics.json``, ``trades.csv``, ``equity.csv``;
``draw`` the PNG report, Backtrader's own plot and footprint charts.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data.reading.continuous import ROLL_TABLE
from data.reading.loader import describe_source
from research.metrics import to_json_ready

from .metrics import SHORT_MARK, fmt, metric_rows, metrics_note, plural

COMPARE_COLUMNS = [
    ("trades", "trades", "{:d}"), ("win %", "win_rate_pct", "{:.1f}"), ("profit factor", "profit_factor", "{:.2f}"),
    ("net profit", "net_pnl", "{:,.2f}"), ("return %", "total_return_pct", "{:.2f}"), ("Sharpe", "sharpe", "{:.2f}"),
    ("max DD %", "max_drawdown_pct", "{:.2f}"), ("in market %", "time_in_market_pct", "{:.1f}"),
]


RUN_FILES = ("metrics.json", "trades.csv", "equity.csv", "rolls.csv", "report.png", "bt_plot.png", "report.html",
             "footprint.png", "footprint.html", "footprints/trade_*.png")
"""The files a backtest writes into ``--out`` (some only with their options), as names or globs in it."""
COMPARE_FILES = ("compare.csv",)
"""What ``--compare`` writes into ``--out`` besides each strategy's :data:`RUN_FILES` in ``OUT/NAME/``."""


def describe_load(result: Any) -> str:
    """What was loaded: the load report (and the bar cache), the range, the bars and the period."""
    c, bars = result.config, result.bars
    lines = describe_source(result.load_report) if result.load_report else []
    cache = getattr(result, "cache", None)
    if cache and cache.get("hit"):
        lines.append(f"Bars loaded from the bar cache ({cache['path']}), not rebuilt from the ticks.")
    kept = result.load_report.get("rows_kept", result.ticks_in_range)
    if (c.start is not None or c.end is not None) and result.load_report.get("format") not in ("files", "store",
                                                                                               "continuous"):
        lines.append(f"Range {c.range_text()}: {plural(result.ticks_in_range, 'tick')} in range "
                     f"({kept - result.ticks_in_range:,} outside).")
    first, last = bars.index[0].tz_convert(c.tz), bars.index[-1].tz_convert(c.tz)
    clock, zone = c.trading_session
    lines.append(f"Built {plural(len(bars), 'bar')} of {c.bars} from {plural(result.ticks_in_range, 'tick')}, "
                 f"{first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} {c.tz}; {plural(len(result.daily), 'trading day')} "
                 f"(days start at {clock:%H:%M} {zone}).")
    return "\n".join(lines)


def describe_run(result: Any) -> str:
    """Strategy, parameters and costs, one line."""
    c = result.config
    params = ", ".join(f"{k}={v}" for k, v in result.params.items())
    kind, amount = c.slippage
    slip = f"{amount * 100:g}% of price" if kind == "perc" else f"{amount:g} per unit"
    if c.instrument is not None:
        i = c.instrument
        margin = f"margin {i.margin:,.0f}" if i.margin is not None else f"margin {i.margin_rate:.0%} of notional"
        money = (f"{i.symbol} contract (x{i.multiplier:g} {i.currency} per point, tick {i.tick_size:g}, {margin}), "
                 f"commission {c.commission_per_contract:g} {i.currency} per contract per side, slippage "
                 f"{c.slippage_ticks:g} ticks" + (f" + {slip}" if amount else ""))
    else:
        money = f"commission {c.commission:g} of value per fill, slippage {slip}"
    return f"Strategy {c.strategy_name}({params}); cash {c.cash:,.0f}, {money}."


def metrics_table(m: dict[str, Any]) -> str:
    """The metrics as an aligned two-column table: the rows of :func:`reports.metrics.metric_rows`, and
    the note under them when they mark a value (:func:`reports.metrics.metrics_note`)."""
    rows = metric_rows(m)
    width = max(len(k) for k, _ in rows)
    note = metrics_note(m)
    if note:  # the marked values end in " †": the others move left by as much, so that the numbers line up
        pad = " " * (len(SHORT_MARK) + 1)
        rows = [(k, v if v.endswith(SHORT_MARK) else v + pad) for k, v in rows]
    return "\n".join([f"  {k:<{width}}  {v:>24}".rstrip() for k, v in rows] + ([note] if note else []))


def order_notes(result: Any) -> list[str]:
    """Plain notes when the broker refused orders (Backtrader's ``Margin``/``Rejected`` statuses)
    or entry signals were skipped because their size rounded down to 0 units; empty otherwise."""
    m, notes = result.metrics, []
    rejected, margin = m.get("orders_rejected") or 0, m.get("orders_margin") or 0
    if rejected:
        why = f"{margin} for lack of cash or margin (Backtrader's Margin status)"
        if not m.get("fills"):
            notes.append(f"Note: the broker rejected every order ({rejected}), {why}, so the run made no trade; "
                         "use more cash, a smaller size or a smaller margin.")
        else:
            notes.append(f"Note: the broker rejected {rejected} orders, {why}; the run traded only the others.")
    skipped = m.get("entries_skipped") or 0
    if skipped:
        pct, risk = result.params.get("pct_equity"), result.params.get("risk")
        reason = (f"the risk of {risk:g} covers less than one unit at the stop" if risk is not None
                  else f"{pct:g}% of the equity buys less than one unit" if pct is not None else "the stake is 0")
        notes.append(f"Note: {skipped} entry signals were skipped: their size rounded down to 0 units ({reason}); "
                     "use more cash or a size in units (--size 1).")
    return notes


def _local(times: pd.Series | pd.DatetimeIndex, tz: str) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(times).tz_convert(tz)


def check_out_dir(out: Path) -> Path:
    """``out`` if it is, or can be made, a writable folder; else OrderFlowError (before any work is done)."""
    from data import OrderFlowError

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OrderFlowError(f"--out {out} exists and is not a folder")
    parent = out
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise OrderFlowError(f"--out {out}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OrderFlowError(f"--out {out}: {parent} is not writable")
    return out


def run_inputs(config: Any) -> list[Path]:
    """The files a run reads that are named one by one (DATA files, ``--quotes``): never cleared or overwritten."""
    data = config.data if isinstance(config.data, (list, tuple)) else [config.data]
    files = [Path(d) for d in data if isinstance(d, (str, Path))]
    if config.quotes is not None:
        files.append(Path(config.quotes))
    return [f for f in files if f.is_file()]


def owned_files(out: Path, patterns: "tuple[str, ...]", inputs: "list[Path] | tuple[Path, ...]" = ()) -> list[Path]:
    """The files of ``out`` that ``patterns`` (names or globs, relative to ``out``) name: what a run of that kind
    owns there. OrderFlowError when one of them is one of the run's ``inputs`` (it would be overwritten)."""
    from data import OrderFlowError

    out = Path(out)
    if not out.is_dir():
        return []
    found = sorted({p for pattern in patterns for p in out.glob(pattern) if p.is_file()})
    for path in found:
        source = next((f for f in inputs if os.path.samefile(f, path)), None)
        if source is not None:
            raise OrderFlowError(f"--out {out}: {path.relative_to(out).as_posix()} there is an input of this run "
                                 f"({source}) and would be overwritten; choose another --out")
    return found


def clear_outputs(out: Path, patterns: "tuple[str, ...]", inputs: "list[Path] | tuple[Path, ...]" = ()) -> list[Path]:
    """Remove the files of an earlier run that ``patterns`` name from ``out`` (:func:`owned_files`), and a
    subfolder of theirs left empty; never any other file. Returns the removed files."""
    removed = owned_files(out, patterns, inputs)
    for path in removed:
        path.unlink()
    for folder in {p.parent for p in removed} - {Path(out)}:
        if not any(folder.iterdir()):
            folder.rmdir()
    return removed


def describe_cleared(removed: "list[Path]", written: Any, out: Path) -> str | None:
    """``Removed 2 files of an earlier run ...``: the removed files this run did not write again (None if none)."""
    again = {Path(p) for p in written}
    stale = [p.relative_to(out).as_posix() for p in removed if p not in again]
    if not stale:
        return None
    return (f"Removed {plural(len(stale), 'file')} of an earlier run from {out} that this run does not write: "
            f"{', '.join(stale)}")


def write_outputs(result: Any, out: Path) -> dict[str, Path]:
    """metrics.json, trades.csv, equity.csv in ``out`` (and rolls.csv, the roll table of a continuous
    contract); returns their paths."""
    c = result.config
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / name for name in ("metrics.json", "trades.csv", "equity.csv")}
    trades = result.trades.drop(columns=["entry_bar", "exit_bar"]).copy()
    if len(trades):
        trades["entry_time"] = _local(trades["entry_time"], c.tz)
        trades["exit_time"] = _local(trades["exit_time"], c.tz)
    trades.to_csv(paths["trades.csv"], index=False, float_format="%.10g")
    equity = result.equity.copy()
    equity.insert(0, "time", _local(equity.index, c.tz))
    equity.to_csv(paths["equity.csv"], index=False, float_format="%.10g")
    if result.load_report.get("format") == "continuous":
        paths["rolls.csv"] = out / "rolls.csv"
        pd.DataFrame(result.load_report.get("rolls") or [], columns=list(ROLL_TABLE)).to_csv(
            paths["rolls.csv"], index=False, float_format="%.10g")
    bars = result.bars
    document = {
        "data": str(c.data) if not isinstance(c.data, pd.DataFrame) else c.data_name,
        "strategy": c.strategy_name,
        "params": {k: jsonable(v) for k, v in result.params.items()},
        "bars": c.bars,
        "columns": c.columns,
        "bar_count": len(bars),
        "period": {"first_bar": bars.index[0].tz_convert(c.tz).isoformat(),
                   "last_bar": bars.index[-1].tz_convert(c.tz).isoformat(), "tz": c.tz},
        "cash": c.cash,
        "commission": c.commission,
        "slippage": {"kind": c.slippage[0], "amount": c.slippage[1]},
        "instrument": None if c.instrument is None else {
            **{k: jsonable(v) for k, v in dataclasses.asdict(c.instrument).items()},
            "commission_per_contract": c.commission_per_contract, "slippage_ticks": c.slippage_ticks},
        "load_report": {k: jsonable(v) for k, v in result.load_report.items()},
        **({"roll_positions": c.roll_positions} if c.continuous else {}),
        "ticks_in_range": result.ticks_in_range,
        "metrics": to_json_ready(result.metrics),
    }
    paths["metrics.json"].write_text(json.dumps(document, indent=2, default=str) + "\n")
    return paths


def jsonable(value: Any) -> Any:
    """Times, paths and numpy scalars as JSON values."""
    if isinstance(value, (dt.time, dt.datetime, dt.date, Path)):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    return value


def run_profile(result: Any) -> "pd.DataFrame | None":
    """The composite volume profile of every session of the run (:func:`indicators.session_profile`
    over the footprint of its ticks, sessions cut by the run's session calendar); None without ticks."""
    if result.ticks is None:
        return None
    from data import footprint
    from indicators import session_profile

    c = result.config
    clock, zone = c.trading_session
    table = footprint(result.ticks, c.bars, c.instrument.tick_size if c.instrument is not None else None)
    sessions = int(len(np.unique(c.calendar.trade_dates(result.bars.index))))
    return session_profile(table, session_start=clock.strftime("%H:%M:%S"), tz=zone, sessions=max(sessions, 1))


def draw(result: Any, out: Path, *, plot: bool = True, bt_plot: bool = False,
         footprint: "tuple[pd.Timestamp, pd.Timestamp] | None" = None, trade_footprints: int = 0,
         max_footprint_bars: int = 80, profile: bool = False) -> dict[str, Path]:
    """report.png (with the session volume profile beside the price panel when ``profile``), bt_plot.png
    (``bt_plot``), footprint.png (``footprint`` window), footprints/trade_NNN.png."""
    from reports.plots import plot_report, save_backtrader_plot

    c, m = result.config, result.metrics
    paths: dict[str, Path] = {}
    if plot:
        params = ", ".join(f"{k}={v}" for k, v in result.params.items())
        title = (f"{c.strategy_name}({params})  ·  {c.data_name}  ·  {c.bars} bars  ·  "
                 f"{result.bars.index[0].tz_convert(c.tz):%Y-%m-%d} to "
                 f"{result.bars.index[-1].tz_convert(c.tz):%Y-%m-%d} {c.tz}")
        summary = "\n".join([
            f"return {fmt(m['total_return_pct'], '%')}  (buy & hold {fmt(m['buy_hold_return_pct'], '%')})",
            f"Sharpe {fmt(m['sharpe'])}  Sortino {fmt(m['sortino'])}",
            f"max DD {fmt(m['max_drawdown_pct'], '%')}  trades {m['trades']}  win {fmt(m['win_rate_pct'], '%', 0)}",
        ])
        paths["report.png"] = plot_report(
            result.bars, result.equity, result.trades, out / "report.png", title=title, cvd=result.cvd,
            cvd_label=result.cvd_label, cvd_resets=result.cvd_resets, tz=c.tz, summary=summary,
            profile=run_profile(result) if profile else None)
    if bt_plot:
        paths["bt_plot.png"] = save_backtrader_plot(result.cerebro, out / "bt_plot.png", tz=c.tz)
    paths.update(draw_footprints(result, out, footprint, trade_footprints, max_footprint_bars))
    return paths


def draw_footprints(result: Any, out: Path, window: "tuple[pd.Timestamp, pd.Timestamp] | None",
                    trade_count: int, max_bars: int = 80) -> dict[str, Path]:
    """footprint.png for a window START END, footprints/trade_NNN.png for the first ``trade_count`` trades."""
    from reports.footprint_chart import footprint_chart, trade_footprints

    c, paths = result.config, {}
    if result.ticks is None or (window is None and not trade_count):
        return paths
    trades = result.trades
    if window is not None:
        marks = [{"time": t.entry_time, "price": t.entry_price, "kind": t.direction} for t in trades.itertuples()]
        marks += [{"time": t.exit_time, "price": t.exit_price, "kind": "exit"}
                  for t in trades.itertuples() if t.closed]
        paths["footprint.png"] = footprint_chart(
            result.ticks, window[0], window[1], spec=c.bars, path=out / "footprint.png", tz=c.tz,
            marks=marks, max_bars=max_bars, title=f"{c.data_name}: footprint, {c.bars} bars ({c.tz})",
            imbalance=c.imbalance)
    if trade_count:
        closed = trades[trades["closed"]]
        for k, path in enumerate(trade_footprints(result.ticks, closed, out / "footprints", spec=c.bars,
                                                  max_trades=trade_count, tz=c.tz, imbalance=c.imbalance),
                           start=1):
            paths[f"footprints/trade_{k:03d}.png"] = path
    return paths


def write_html(result: Any, out: Path, *, report: bool = False,
               footprint: "tuple[pd.Timestamp, pd.Timestamp] | None" = None) -> dict[str, Path]:
    """report.html (``report``: the interactive report, its footprint explorer on the ``footprint``
    window if given) and footprint.html (a ``footprint`` window)."""
    paths: dict[str, Path] = {}
    if not report and footprint is None:
        return paths
    from reports import html

    if report:  # its footprint explorer shows the footprint window when there is one
        paths["report.html"] = html.report(result, out / "report.html", ticks=result.ticks, footprint_window=footprint)
    if footprint is not None:
        c = result.config
        paths["footprint.html"] = html.footprint_page(
            result.ticks, footprint[0], footprint[1], c.bars, None, out / "footprint.html", tz=c.tz,
            trades=result.trades, title=f"{c.data_name}: footprint, {c.bars} bars ({c.tz})")
    return paths


def compare_frame(names: list[str], results: list[Any]) -> pd.DataFrame:
    """One row of metrics per strategy (the ``--compare`` table's values)."""
    return pd.DataFrame([{label: r.metrics.get(key) for label, key, _ in COMPARE_COLUMNS} for r in results],
                        index=pd.Index(names, name="strategy"))


def compare_table(table: pd.DataFrame) -> str:
    """The --compare table, aligned, n/a for undefined values."""
    def cell(value: Any, pattern: str) -> str:
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return "inf" if isinstance(value, float) and math.isinf(value) else "n/a"
        return pattern.format(int(value) if pattern == "{:d}" else value)

    rows = [[str(name)] + [cell(row[label], fmt_) for label, _, fmt_ in COMPARE_COLUMNS]
            for name, row in table.iterrows()]
    return align_table(["strategy"] + [label for label, _, _ in COMPARE_COLUMNS], rows)


def align_table(header: list[str], rows: list[list[str]]) -> str:
    """Text cells as a table: the first column left-aligned, the others right-aligned, two spaces apart."""
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    return "\n".join([line(header)] + [line(r) for r in rows])
