"""Bar specifications (``"1min"``/``"5s"``/``"1h"`` time, ``"500t"`` tick, ``"1000v"`` volume, ``"session"``
a trading session, for bars resampled by :func:`data.resample_bars`) and the assignment of sorted ticks
to bars (:func:`assign_bars`): what a bar is, shared by every module that makes or reads bars."""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data.errors import OrderFlowError
from data.ticks import DAY_NS, timestamps_ns

SESSION = "session"
_COUNT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([tv])\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class BarSpec:
    """A parsed bar spec.

    ``kind`` is ``"tick"`` (one bar per trade, or per ``size`` trades), ``"volume"``
    (a bar closes on the first trade that brings its volume to ``size``) or
    ``"time"`` (right-closed intervals of ``offset``, stamped at their end) or ``"session"``
    (the sessions of a calendar, stamped at their close; made from bars by
    :func:`data.resample_bars`, not from ticks).
    """

    text: str
    kind: str
    size: float = 1
    offset: pd.DateOffset | None = None

    @property
    def timeframe(self) -> int:
        """Backtrader timeframe for feeds and analyzers."""
        return _bt_timeframe(self)[0]

    @property
    def compression(self) -> int:
        """Backtrader compression (bars of the timeframe's unit per bar)."""
        return _bt_timeframe(self)[1]

    @property
    def nanos(self) -> int | None:
        """Length in ns of a fixed-length time bar, else None (calendar offsets)."""
        if self.kind != "time":
            return None
        try:
            return int(self.offset.nanos)  # type: ignore[union-attr]
        except (AttributeError, ValueError):
            return None


def parse_bar_spec(spec: "str | BarSpec | None") -> BarSpec:
    """Parse ``None``/``"tick"`` (one bar per trade), ``"Nt"``, ``"Nv"`` or a pandas offset alias."""
    if isinstance(spec, BarSpec):
        return spec
    if spec is not None and not isinstance(spec, str):
        raise OrderFlowError(
            "a bar spec is text: a time offset (5s, 1min, 1h), N trades (500t), N units of volume "
            f"(1000v), or None / 'tick' for one bar per trade; not {type(spec).__name__}"
        )
    if spec is None or str(spec).strip().lower() in ("tick", "ticks", ""):
        return BarSpec("tick", "tick", 1)
    text = str(spec).strip()
    if text.lower() == SESSION:
        return BarSpec(SESSION, SESSION)
    m = _COUNT.match(text)
    if m:
        size = float(m.group(1))
        kind = "tick" if m.group(2).lower() == "t" else "volume"
        if size <= 0 or (kind == "tick" and size != int(size)):
            raise OrderFlowError(
                f"bad bar spec {text!r}: a tick bar needs a whole number of trades > 0, "
                "a volume bar a volume > 0"
            )
        return BarSpec(text, kind, int(size) if kind == "tick" else size)
    try:
        offset = pd.tseries.frequencies.to_offset(text)
    except (ValueError, TypeError):
        offset = None
    if offset is None:
        raise OrderFlowError(
            f"bad bar spec {text!r}: use a time offset (5s, 1min, 15min, 1h, 1D), "
            "N trades (500t), N units of volume (1000v) or 'tick'"
        )
    try:
        positive = pd.Timestamp("2000-01-01") + offset > pd.Timestamp("2000-01-01")
    except (ValueError, TypeError):
        positive = True
    if not positive:
        raise OrderFlowError(f"bad bar spec {text!r}: a time bar must be longer than zero")
    return BarSpec(text, "time", 1, offset)


def _bt_timeframe(spec: BarSpec) -> tuple[int, int]:
    import backtrader as bt  # here, so that parsing a spec does not load Backtrader

    if spec.kind == "tick":
        return bt.TimeFrame.Ticks, int(spec.size)
    if spec.kind == "volume":
        return bt.TimeFrame.Ticks, 1
    if spec.kind == SESSION:
        return bt.TimeFrame.Days, 1
    nanos = spec.nanos
    if nanos is None:  # calendar offsets: weeks, months, ...
        name = type(spec.offset).__name__
        n = abs(int(getattr(spec.offset, "n", 1)))
        if name.startswith("Week"):
            return bt.TimeFrame.Weeks, n
        if "Month" in name:
            return bt.TimeFrame.Months, n
        if "Year" in name:
            return bt.TimeFrame.Years, n
        return bt.TimeFrame.Days, n
    units = (  # (ns per unit, Backtrader timeframe) from the largest fixed unit down
        (DAY_NS, bt.TimeFrame.Days),
        (60_000_000_000, bt.TimeFrame.Minutes),
        (1_000_000_000, bt.TimeFrame.Seconds),
        (1_000, bt.TimeFrame.MicroSeconds),
    )
    for unit, timeframe in units:
        if nanos % unit == 0:
            return timeframe, nanos // unit
    return bt.TimeFrame.MicroSeconds, max(1, nanos // 1_000)


# --------------------------------------------------------------------------- ticks -> bars


def assign_bars(ts_ns: np.ndarray, size: np.ndarray, spec: "BarSpec | str | None",
                size_before: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Split sorted ticks into bars.

    Returns ``(starts, stamps)``: the index of each bar's first tick (ascending,
    ``starts[0] == 0``) and each bar's timestamp in UTC ns.

    - tick spec ``None``/``"tick"``: one bar per trade, stamped with its time;
    - ``"Nt"``: every N trades (the last bar may hold fewer), stamped with its last tick;
    - ``"Nv"``: a bar closes on the first trade that brings its volume to at least
      N; that trade is not split and the next bar starts empty; stamped with its
      last tick (the last bar may hold less than N);
    - time offsets: right-closed intervals ``(t - offset, t]`` stamped ``t``, as
      Backtrader's resampler does; fixed lengths are anchored at the Unix epoch
      (so a bar's boundaries never depend on where the data starts), calendar
      offsets (``"1W"``, ``"ME"``) group whole UTC days; empty intervals make no bar.

    ``size_before``: the cumulative size of the ticks before these, which start a
    bar (a stream's carry, see :func:`volume_bar_starts`).
    """
    spec = parse_bar_spec(spec)
    if spec.kind == SESSION:
        raise OrderFlowError("session bars are made from bars: data.resample_bars(bars, 'session', calendar=...)")
    n = len(ts_ns)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if spec.kind == "tick":
        starts = np.arange(0, n, int(spec.size), dtype=np.int64)
        return starts, ts_ns[bar_ends(starts, n) - 1]
    if spec.kind == "volume":
        starts, _ = volume_bar_starts(np.asarray(size, dtype=np.float64), float(spec.size), size_before)
        return starts, ts_ns[bar_ends(starts, n) - 1]
    if spec.nanos is not None:
        found = _fixed_time_bars(ts_ns, spec.nanos)
        if found is not None:
            return found
    labels = _time_labels(ts_ns, spec)
    starts = np.flatnonzero(np.diff(labels)) + 1
    starts = np.concatenate(([0], starts)).astype(np.int64)
    return starts, labels[starts]


def bar_opens(stamps: np.ndarray, spec: "BarSpec | str | None", first_ns: int) -> np.ndarray:
    """Where each bar's quote window ``(open_b, stamp_b]`` begins (UTC ns), for depth from a
    quote stream (:func:`data.bars.depth.quote_depth_lines`).

    Fixed-length time bars: ``open_b = stamp_b - length`` (the bar's own interval: quote
    updates in an interval without trades, which makes no bar, belong to no bar). Tick,
    volume and calendar bars: ``open_b = stamp_{b-1}`` (the book since the previous bar's
    close), and for the first bar ``first_ns - 1``, its first trade's time ``first_ns``
    included.
    """
    spec = parse_bar_spec(spec)
    stamps = np.asarray(stamps, dtype=np.int64)
    if spec.kind == "time" and spec.nanos is not None:
        return stamps - int(spec.nanos)
    return np.concatenate(([int(first_ns) - 1], stamps[:-1])) if len(stamps) else stamps.copy()


def bar_ends(starts: np.ndarray, n: int) -> np.ndarray:
    """One past the last tick of each bar given by its first ticks ``starts`` (``n`` ticks in all)."""
    return np.append(starts[1:], n)


def _fixed_time_bars(ts_ns: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray] | None:
    """``(starts, stamps)`` of fixed-length time bars without a label per tick.

    Bar boundaries ``k * step`` from the first tick's bar to the last's; the ticks
    up to boundary ``b`` are ``searchsorted(ts, b, "right")`` of them (right-closed),
    so a bar's first tick is the count up to the boundary before it; boundaries
    with no new tick make no bar. The same bars as :func:`_time_labels`; None when
    there are more boundaries than ticks (sparse ticks over a long span), where the
    per-tick labels are cheaper.
    """
    first = -(-int(ts_ns[0]) // step) * step
    last = -(-int(ts_ns[-1]) // step) * step
    n_edges = (last - first) // step + 1
    if n_edges > len(ts_ns):
        return None
    edges = first + step * np.arange(n_edges, dtype=np.int64)
    upto = np.searchsorted(ts_ns, edges, side="right")
    before = np.concatenate(([0], upto[:-1]))
    filled = upto > before
    return before[filled].astype(np.int64), edges[filled]


def _time_labels(ts_ns: np.ndarray, spec: BarSpec) -> np.ndarray:
    """Each tick's bar end: the smallest bar boundary >= its time (right-closed)."""
    step = spec.nanos
    if step is not None:
        return -(-ts_ns // step) * step  # ceil to a multiple of the step, anchored at the epoch
    # Calendar offsets (weeks, months ...): whole UTC days, each in the period whose
    # last day is the first anchor on or after it; stamped at that day's end.
    days = ts_ns - ts_ns % DAY_NS
    first, last = pd.Timestamp(days[0], tz="UTC"), pd.Timestamp(days[-1], tz="UTC")
    edges = pd.date_range(spec.offset.rollback(first) - spec.offset, spec.offset.rollforward(last) + spec.offset,
                          freq=spec.offset).normalize()
    edges_ns = timestamps_ns(edges)
    return edges_ns[np.searchsorted(edges_ns, days, side="left")] + DAY_NS


def volume_bar_starts(size: np.ndarray, threshold: float, size_before: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Bar starts for volume bars (one searchsorted per bar, not a loop per tick) and
    the running total ``C_i = C_{i-1} + size_i`` (``C_{-1} = size_before``).

    A bar closes on the first trade j with ``C_j >= base + threshold`` (less a
    relative 1e-9 for float sums of fractional sizes), ``base`` the total at the
    previous bar's close. ``size_before`` continues the running total of earlier
    ticks that ended on a bar's close: ``np.cumsum`` adds in order, so a stream
    (:mod:`data.bars.stream`) finds the same closes, float for float, as one pass.
    """
    if size_before == 0.0:
        cumulative = np.cumsum(size)
    else:
        cumulative = np.cumsum(np.concatenate(([size_before], size)))[1:]
    tolerance = threshold * 1e-9  # float sums of fractional sizes
    n = len(size)
    starts = [0]
    base = size_before
    while True:
        end = int(np.searchsorted(cumulative, base + threshold - tolerance, side="left"))
        if end >= n - 1:
            break
        starts.append(end + 1)
        base = cumulative[end]
    return np.asarray(starts, dtype=np.int64), cumulative


def bar_index(stamps_ns: np.ndarray) -> pd.DatetimeIndex:
    """Bar times (UTC ns) as the bars' index."""
    return pd.DatetimeIndex(stamps_ns.astype("datetime64[ns]"), name="timestamp").tz_localize("UTC")
