"""Order-flow indicators on the feed's lines: volume delta, CVD, book imbalance, divergence, session VWAP.

Every indicator reads the lines of :class:`data.OrderFlowFeed` (a tick feed and a
bar feed carry the same names), gives the same values with ``runonce=True``
(vectorised ``once``) and ``runonce=False`` (``next``), and reads nothing after
the current bar.
"""
from __future__ import annotations

import backtrader as bt
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from data.errors import OrderFlowError

from .sessions import SessionCalendar, check_reset
from .warmup import WarmUpGuard

__all__ = [
    "VolumeDelta",
    "CumulativeVolumeDelta",
    "OrderBookImbalance",
    "DeltaDivergence",
    "SessionVWAP",
]

PLOT_GREEN = "#2ca02c"
PLOT_RED = "#d62728"


# --- array helpers for the vectorised ``once`` -------------------------------------------------


def line_values(line: bt.LineBuffer, start: int, end: int) -> np.ndarray:
    """A float copy of ``line``'s absolute bar positions ``start..end-1`` (runonce arrays)."""
    return np.array(line.array[start:end], dtype=np.float64)


def store_line(line: bt.LineBuffer, start: int, values: np.ndarray) -> None:
    """Write ``values`` into ``line`` at absolute positions ``start..start+len(values)-1``."""
    if len(values):
        np.frombuffer(line.array, dtype=np.float64)[start : start + len(values)] = values


def require_lines(data: bt.LineSeries, names: tuple[str, ...], who: str) -> None:
    """Fail clearly when ``data`` is not an order-flow feed (e.g. a plain OHLCV feed)."""
    missing = [n for n in names if not hasattr(data.lines, n)]
    if missing:
        raise OrderFlowError(
            f"{who} needs a feed with the order-flow line(s) {', '.join(missing)}; "
            "build it with data.OrderFlowFeed.from_ticks / from_bars"
        )


def smoothed_line(line, period, ma, who: str):
    """``line`` itself (period 1) or its SMA/EMA (``ma``) over ``period`` bars; OrderFlowError
    naming ``who`` for a period below 1 or another ``ma``."""
    n = int(period)
    kind = str(ma).lower()
    if n < 1:
        raise OrderFlowError(f"{who} period must be a whole number of bars >= 1", value=period)
    if kind not in ("sma", "ema"):
        raise OrderFlowError(f"{who} ma must be 'sma' or 'ema'", value=ma)
    if n == 1:
        return line
    return (bt.indicators.EMA if kind == "ema" else bt.indicators.SMA)(line, period=n, plot=False)


def smoothing_label(p) -> list:
    """Plot label of an indicator with ``period``/``ma`` params: ``["SMA 4"]``, nothing unsmoothed."""
    return [f"{p.ma.upper()} {p.period}"] if int(p.period) > 1 else []


def segment_cumsum(values: np.ndarray, new: np.ndarray, carry: float) -> np.ndarray:
    """Running sum of ``values`` that restarts (from the value itself) where ``new`` is True.

    Before the first restart the sum continues from ``carry``. Each segment is one
    ``np.cumsum`` (sequential additions), so the result equals, bit for bit, the
    bar-by-bar ``prev + value`` of the ``next`` methods.
    """
    out = np.empty_like(values)
    edges = np.concatenate(([0], np.flatnonzero(new), [len(values)]))
    for a, b in zip(edges[:-1], edges[1:]):
        if a == b:
            continue
        if a == 0 and not (len(new) and new[0]):
            out[a:b] = np.cumsum(np.concatenate(([carry], values[a:b])))[1:]
        else:
            out[a:b] = np.cumsum(values[a:b])
    return out


class _SessionMixin:
    """Session bookkeeping shared by CVD and session VWAP: which bars open a new session."""

    def _init_sessions(self, reset: str) -> None:
        self._mode = check_reset(reset)
        self._calendar = SessionCalendar(self.p.session_start, self.p.tz) if self._mode == "session" else None
        # reset="roll": the times of a continuous contract's rolls (data.feed.OrderFlowFeed.rolls)
        self._rolls = np.asarray(getattr(self.data, "rolls", ()), dtype=np.float64) if self._mode == "roll" else None

    def _opens_session(self) -> bool:
        """``next`` mode: True on the first bar and on the first bar of every session (of every
        contract, for ``reset="roll"``: the first bar stamped after a roll)."""
        if len(self) == 1:
            return True
        dt = self.data.datetime
        if self._rolls is not None:
            return bool(np.any((self._rolls >= dt[-1]) & (self._rolls < dt[0])))
        if self._calendar is None:
            return False
        return self._calendar.id_of(dt[0]) != self._calendar.id_of(dt[-1])

    def _session_starts(self, start: int, end: int) -> np.ndarray:
        """``once`` mode: the same flags for absolute bar positions ``start..end-1``."""
        new = np.zeros(end - start, dtype=bool)
        if start == 0 and end > 0:
            new[0] = True
        if (self._calendar is not None or self._rolls is not None) and end > max(start, 1):
            first = max(start - 1, 0)
            times = line_values(self.data.datetime, first, end)
            if self._rolls is not None:  # a roll between the bar before and this one
                passed = np.searchsorted(self._rolls, times, side="left")
                opens = np.r_[False, passed[1:] > passed[:-1]]
            else:
                opens = self._calendar.opens(times)  # opens[k]: position first + k
            new[first + 1 - start :] |= opens[1:]
        return new


class VolumeDelta(WarmUpGuard, bt.Indicator):
    """Volume delta per bar, drawn as a green/red histogram.

    ``delta = buy_volume - sell_volume`` (the feed's ``delta`` line: volume of
    buyer-initiated trades minus seller-initiated ones; unknown-side volume is not
    in it). For the histogram: ``delta_up = max(delta, 0)`` (green bars) and
    ``delta_down = min(delta, 0)`` (red bars); the ``delta`` line itself is not
    drawn. A NaN delta gives 0 in both halves.
    """

    alias = ("Delta",)
    lines = ("delta", "delta_up", "delta_down")
    plotinfo = dict(plotname="Volume delta", plotyhlines=[0.0])
    plotlines = dict(
        delta=dict(_plotskip=True),
        delta_up=dict(_method="bar", color=PLOT_GREEN, width=1.0, _name="buy delta", _plotvaluetag=False),
        delta_down=dict(_method="bar", color=PLOT_RED, width=1.0, _name="sell delta", _plotvaluetag=False),
    )

    def __init__(self) -> None:
        require_lines(self.data, ("delta",), "VolumeDelta")

    def next(self) -> None:
        d = self.data.delta[0]
        self.lines.delta[0] = d
        self.lines.delta_up[0] = d if d > 0 else 0.0
        self.lines.delta_down[0] = d if d < 0 else 0.0

    def once(self, start: int, end: int) -> None:
        d = line_values(self.data.delta, start, end)
        store_line(self.lines.delta, start, d)
        store_line(self.lines.delta_up, start, np.where(d > 0, d, 0.0))
        store_line(self.lines.delta_down, start, np.where(d < 0, d, 0.0))

    def _plotlabel(self) -> list:
        return []


class CumulativeVolumeDelta(WarmUpGuard, bt.Indicator, _SessionMixin):
    """Cumulative volume delta (CVD): the running sum of the feed's ``delta`` line.

    ``reset`` chooses where the sum starts again:

    - ``"never"``: ``cvd[t] = delta[0] + ... + delta[t]`` over all bars;
    - ``"session"``: the same, restarting at every session: the first bar of a
      session has ``cvd = delta`` of that bar. Sessions open each day at
      ``session_start`` local time in ``tz`` (defaults 17:00 America/Chicago, CME
      Globex; ``"00:00"``/``"UTC"`` for crypto) and follow daylight-saving
      changes. A bar belongs to the session that contains its time stamp;
      sessions are ``(open, next open]``, closed on the right like the time bars
      (see :class:`indicators.sessions.SessionCalendar`);
    - ``"rolling"``: ``cvd[t] = delta[t-window+1] + ... + delta[t]``, the sum of the
      last ``window`` deltas (Backtrader's ``SumN``; NaN for the first
      ``window - 1`` bars);
    - ``"roll"``: the running sum restarting at each roll of a continuous contract
      (``continuous=`` / ``--continuous``): the first bar stamped after a roll has
      ``cvd = delta`` of that bar (the feed's :attr:`data.feed.OrderFlowFeed.rolls`;
      ``"never"`` on other data).

    A NaN delta adds 0 in the ``never``/``session`` modes.
    """

    alias = ("CVD",)
    lines = ("cvd",)
    params = (
        ("reset", "never"),
        ("session_start", "17:00"),
        ("tz", "America/Chicago"),
        ("window", 20),
    )
    plotinfo = dict(plotname="CVD", plotyhlines=[0.0])
    plotlines = dict(cvd=dict(color="#1f77b4", linewidth=1.2))

    def __init__(self) -> None:
        require_lines(self.data, ("delta",), "CumulativeVolumeDelta")
        self._init_sessions(self.p.reset)
        if self._mode == "rolling":
            window = int(self.p.window)
            if window < 1:
                raise OrderFlowError("CVD window must be a whole number of bars >= 1", value=self.p.window)
            self.lines.cvd = bt.indicators.SumN(self.data.delta, period=window)

    def next(self) -> None:
        if self._mode == "rolling":
            return  # computed by SumN
        d = self.data.delta[0]
        d = 0.0 if d != d else d
        self.lines.cvd[0] = d if self._opens_session() else self.lines.cvd[-1] + d

    def once(self, start: int, end: int) -> None:
        if self._mode == "rolling" or end <= start:
            return
        d = np.nan_to_num(line_values(self.data.delta, start, end), nan=0.0)
        carry = self.lines.cvd.array[start - 1] if start > 0 else 0.0
        store_line(self.lines.cvd, start, segment_cumsum(d, self._session_starts(start, end), carry))

    def _plotlabel(self) -> list:
        if self._mode == "session":
            return [f"session {self.p.session_start} {self.p.tz}"]
        if self._mode == "rolling":
            return [f"{self.p.window} bars"]
        return []


class OrderBookImbalance(WarmUpGuard, bt.Indicator):
    """Order-book imbalance at the best bid/ask.

    ``raw = bid_size - ask_size`` (the original metric, the feed's ``imbalance``),
    ``normalized = (bid_size - ask_size) / (bid_size + ask_size)`` in [-1, 1]:
    +1 all size on the bid, -1 all on the ask, 0 when both sizes are 0; a NaN size
    (no quotes) gives NaN. With ``period > 1`` the normalized line is smoothed by a
    simple (``ma="sma"``) or exponential (``ma="ema"``) moving average of that many
    bars (NaN for the first ``period - 1`` bars); ``period=1`` leaves it unsmoothed.
    Only the normalized line is drawn (its scale is fixed); ``raw`` is available to code.
    """

    alias = ("OBI",)
    lines = ("raw", "normalized")
    params = (("period", 1), ("ma", "sma"))
    plotinfo = dict(plotname="Book imbalance", plotyhlines=[0.0], plotyticks=[-1.0, 0.0, 1.0], plotymargin=0.05)
    plotlines = dict(raw=dict(_plotskip=True), normalized=dict(color="#9467bd"))

    def __init__(self) -> None:
        require_lines(self.data, ("bid_size", "ask_size"), "OrderBookImbalance")
        bid, ask = self.data.bid_size, self.data.ask_size
        self.lines.raw = bid - ask
        self.lines.normalized = smoothed_line(bt.DivByZero(bid - ask, bid + ask, zero=0.0), self.p.period, self.p.ma,
                                          "OrderBookImbalance")

    def _plotlabel(self) -> list:
        return smoothing_label(self.p)


class DeltaDivergence(WarmUpGuard, bt.Indicator):
    """Divergence between price and CVD at an N-bar extreme (``N = period``).

    At bar ``t``, over the ``N`` previous bars ``t-N .. t-1``:

    - bullish (+1): ``low[t] < min(low[t-N..t-1])`` (a new N-bar low) and
      ``cvd[t] > cvd[j]``, where ``j`` is the most recent bar in ``t-N..t-1``
      whose low equals that minimum (CVD makes a higher low where price makes
      a lower one);
    - bearish (-1): ``high[t] > max(high[t-N..t-1])`` and ``cvd[t] < cvd[k]``, ``k``
      the most recent bar holding that maximum;
    - ``divergence = bullish - bearish``: +1, -1, or 0 (none, or both on one
      outside bar).

    ``cvd`` is a :class:`CumulativeVolumeDelta` built with ``reset``,
    ``session_start``, ``tz`` and ``window`` (default ``"never"``: with a session
    reset between ``j`` and ``t`` the comparison mixes two sessions). Lines:
    ``divergence``; ``bull_mark`` (= ``low`` on bullish bars, else NaN) and
    ``bear_mark`` (= ``high`` on bearish bars) draw triangles on the price chart.
    The first value comes after ``N`` bars (plus the CVD's own warm-up).
    """

    alias = ("DeltaDiv",)
    lines = ("divergence", "bull_mark", "bear_mark")
    params = (
        ("period", 20),
        ("reset", "never"),
        ("session_start", "17:00"),
        ("tz", "America/Chicago"),
        ("window", 20),
    )
    plotinfo = dict(plotname="Delta divergence", subplot=False)
    plotlines = dict(
        divergence=dict(_plotskip=True),
        bull_mark=dict(marker="^", markersize=8.0, color=PLOT_GREEN, fillstyle="full", ls="", _name="bullish div."),
        bear_mark=dict(marker="v", markersize=8.0, color=PLOT_RED, fillstyle="full", ls="", _name="bearish div."),
    )

    def __init__(self) -> None:
        require_lines(self.data, ("delta", "high", "low"), "DeltaDivergence")
        self.n = int(self.p.period)
        if self.n < 1:
            raise OrderFlowError("DeltaDivergence period must be >= 1", value=self.p.period)
        self.cvd = CumulativeVolumeDelta(
            self.data, reset=self.p.reset, session_start=self.p.session_start, tz=self.p.tz, window=self.p.window
        )
        # first value once the CVD is defined on the current bar and the N bars before it
        self.addminperiod(self.cvd._minperiod + self.n - self._minperiod + 1)

    @staticmethod
    def _signal(low, high, cvd, prev_low, prev_high, prev_cvd) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows of previous-N-bar windows -> (divergence, bull_mark, bear_mark), vectorised."""
        rows = np.arange(len(low))
        last = prev_low.shape[1] - 1
        j = last - np.argmin(prev_low[:, ::-1], axis=1)  # most recent bar of the window's low
        k = last - np.argmax(prev_high[:, ::-1], axis=1)
        bull = (low < prev_low[rows, j]) & (cvd > prev_cvd[rows, j])
        bear = (high > prev_high[rows, k]) & (cvd < prev_cvd[rows, k])
        div = bull.astype(np.float64) - bear.astype(np.float64)
        return div, np.where(bull, low, np.nan), np.where(bear, high, np.nan)

    def next(self) -> None:
        n = self.n

        def window(line: bt.LineBuffer) -> np.ndarray:
            return np.array(line.get(ago=-1, size=n), dtype=np.float64)[None, :]

        out = self._signal(
            np.array([self.data.low[0]]),
            np.array([self.data.high[0]]),
            np.array([self.cvd.lines.cvd[0]]),
            window(self.data.low),
            window(self.data.high),
            window(self.cvd.lines.cvd),
        )
        for line, values in zip(self.lines, out):
            line[0] = float(values[0])

    def once(self, start: int, end: int) -> None:
        if end <= start:
            return
        n = self.n

        def current(line: bt.LineBuffer) -> np.ndarray:
            return line_values(line, start, end)

        def windows(line: bt.LineBuffer) -> np.ndarray:  # row r: positions start+r-n .. start+r-1
            return sliding_window_view(line_values(line, start - n, end - 1), n)

        low, high, cvd = self.data.low, self.data.high, self.cvd.lines.cvd
        out = self._signal(current(low), current(high), current(cvd), windows(low), windows(high), windows(cvd))
        for line, values in zip(self.lines, out):
            store_line(line, start, values)

    def _plotlabel(self) -> list:
        return [self.n, self.p.reset]


class SessionVWAP(WarmUpGuard, bt.Indicator, _SessionMixin):
    """Volume-weighted average price since the session's open.

    ``vwap[t] = cum_pv[t] / cum_volume[t]`` with ``cum_pv = sum(vwap_i * volume_i)``
    and ``cum_volume = sum(volume_i)`` over the bars ``i`` of the session up to
    ``t`` (the feed's per-bar ``vwap``, so this equals ``sum(price * size) / sum(size)``
    over the session's ticks); the close while the session has traded no volume.
    Sessions as in :class:`CumulativeVolumeDelta` (``session_start``, ``tz``);
    ``reset="never"`` anchors it at the first bar instead. Drawn on the price chart.
    """

    alias = ("SVWAP",)
    lines = ("vwap", "cum_pv", "cum_volume")
    params = (("reset", "session"), ("session_start", "17:00"), ("tz", "America/Chicago"))
    plotinfo = dict(plotname="Session VWAP", subplot=False)
    plotlines = dict(
        vwap=dict(color="#ff7f0e", linewidth=1.2), cum_pv=dict(_plotskip=True), cum_volume=dict(_plotskip=True)
    )

    def __init__(self) -> None:
        require_lines(self.data, ("vwap", "volume"), "SessionVWAP")
        if check_reset(self.p.reset) == "rolling":
            raise OrderFlowError("SessionVWAP reset must be 'session', 'roll' or 'never'", value=self.p.reset)
        self._init_sessions(self.p.reset)

    def next(self) -> None:
        volume = self.data.volume[0]
        pv = self.data.vwap[0] * volume
        if self._opens_session():
            cum_pv, cum_volume = pv, volume
        else:
            cum_pv, cum_volume = self.lines.cum_pv[-1] + pv, self.lines.cum_volume[-1] + volume
        self.lines.cum_pv[0] = cum_pv
        self.lines.cum_volume[0] = cum_volume
        self.lines.vwap[0] = cum_pv / cum_volume if cum_volume > 0 else self.data.close[0]

    def once(self, start: int, end: int) -> None:
        if end <= start:
            return
        volume = line_values(self.data.volume, start, end)
        pv = line_values(self.data.vwap, start, end) * volume
        new = self._session_starts(start, end)
        carry_pv = self.lines.cum_pv.array[start - 1] if start > 0 else 0.0
        carry_volume = self.lines.cum_volume.array[start - 1] if start > 0 else 0.0
        cum_pv = segment_cumsum(pv, new, carry_pv)
        cum_volume = segment_cumsum(volume, new, carry_volume)
        with np.errstate(invalid="ignore", divide="ignore"):
            vwap = np.where(cum_volume > 0, cum_pv / cum_volume, line_values(self.data.close, start, end))
        store_line(self.lines.cum_pv, start, cum_pv)
        store_line(self.lines.cum_volume, start, cum_volume)
        store_line(self.lines.vwap, start, vwap)

    def _plotlabel(self) -> list:
        return [f"{self.p.session_start} {self.p.tz}"] if self._mode == "session" else ["anchored"]

