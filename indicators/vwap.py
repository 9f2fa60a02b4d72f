"""VWAP with standard-deviation bands: session VWAP (:class:`SessionVWAP`) plus ±1, 2, 3 sd, and an anchor.

Over the bars ``i`` of the session (or since the anchor) up to ``t``, with ``p_i``
the bar's own VWAP and ``v_i`` its volume:

    vwap[t] = sum(v_i * p_i) / sum(v_i)                        (SessionVWAP)
    var[t]  = sum(v_i * (p_i - vwap[t])**2) / sum(v_i)         (volume-weighted variance around the VWAP)
            = sum(v_i * (p_i - r)**2) / sum(v_i) - (vwap[t] - r)**2   for any constant r
    sd[t]   = sqrt(max(var[t], 0));  upper_k = vwap + k * sd,  lower_k = vwap - k * sd  (k = 1, 2, 3)

``r`` is the first bar's price (a constant that keeps the sums small, so the
subtraction loses no digits on prices far from 0). On a tick feed (one trade per bar)
this is the trades' own volume-weighted variance; on bars each bar's volume counts
at its VWAP, so the variance inside a bar is left out (the platforms' bar-based
VWAP bands make the same choice, with a typical price in place of the bar's VWAP).
"""
from __future__ import annotations

import math

import numpy as np

from data.errors import OrderFlowError

from .orderflow import SessionVWAP, line_values, segment_cumsum, store_line

__all__ = ["VWAPBands"]

_BANDS = (1, 2, 3)


class VWAPBands(SessionVWAP):
    """Session or anchored VWAP with ±1, 2, 3 standard-deviation bands (see the module docstring).

    Lines: those of :class:`SessionVWAP` (``vwap cum_pv cum_volume``) and ``cum_pv2``
    (``sum(v * (p - r)**2)``), ``sd``, ``upper1 lower1 upper2 lower2 upper3 lower3``.
    ``reset="session"`` (default) restarts at every session (``session_start``, ``tz``,
    the CVD's calendar); ``"never"`` runs from the first bar. ``anchor`` (a time, UTC
    unless it carries a zone): an anchored VWAP, NaN before the first bar stamped at
    or after it, accumulating from that bar (and, with ``reset="session"``, restarting
    at each later session). Drawn on the price chart.
    """

    alias = ("VWAPSD",)
    lines = ("cum_pv2", "sd", "upper1", "lower1", "upper2", "lower2", "upper3", "lower3")
    params = (("anchor", None),)
    plotinfo = dict(plotname="VWAP bands", subplot=False)
    plotlines = dict(
        cum_pv2=dict(_plotskip=True),
        sd=dict(_plotskip=True),
        upper1=dict(color="#ff7f0e", ls="--", linewidth=0.7, alpha=0.8),
        lower1=dict(color="#ff7f0e", ls="--", linewidth=0.7, alpha=0.8),
        upper2=dict(color="#ff7f0e", ls=":", linewidth=0.7, alpha=0.7),
        lower2=dict(color="#ff7f0e", ls=":", linewidth=0.7, alpha=0.7),
        upper3=dict(color="#ff7f0e", ls=":", linewidth=0.5, alpha=0.5),
        lower3=dict(color="#ff7f0e", ls=":", linewidth=0.5, alpha=0.5),
    )

    def __init__(self) -> None:
        super().__init__()
        self._anchor = self._anchor_num(self.p.anchor)
        self._ref = None

    @staticmethod
    def _anchor_num(anchor) -> float | None:
        if anchor is None:
            return None
        import pandas as pd

        from data.feed import date2num_ns

        try:
            ts = pd.Timestamp(anchor)
        except (TypeError, ValueError):
            raise OrderFlowError("VWAPBands anchor must be a time, e.g. '2024-03-08 14:30'", value=anchor) from None
        ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
        return float(date2num_ns(np.array([ts.value]))[0])

    def _reference(self) -> float:
        if self._ref is None:
            first = self.data.vwap.array[0] if len(self.data.vwap.array) else 0.0
            self._ref = first if first == first else 0.0
        return self._ref

    # --- where a run starts: the session's, plus the anchor bar --------------------------------------

    def _opens_session(self) -> bool:
        if self._anchor is None:
            return super()._opens_session()
        dt = self.data.datetime
        if dt[0] < self._anchor:
            return False
        if len(self) == 1 or dt[-1] < self._anchor:
            return True
        return super()._opens_session()

    def _session_starts(self, start: int, end: int) -> np.ndarray:
        new = super()._session_starts(start, end)
        if self._anchor is not None and end > start:
            nums = line_values(self.data.datetime, max(start - 1, 0), end)
            after = nums >= self._anchor
            first = after[1:] & ~after[:-1] if start > 0 else np.concatenate(([after[0]], after[1:] & ~after[:-1]))
            new |= first
        return new

    def _before_anchor(self, nums: np.ndarray) -> np.ndarray:
        return np.zeros(len(nums), dtype=bool) if self._anchor is None else nums < self._anchor

    # --- bar by bar and vectorised: the same operations in the same order ----------------------------

    def next(self) -> None:
        super().next()
        lines = self.lines
        if self._anchor is not None and self.data.datetime[0] < self._anchor:
            for line in lines:
                line[0] = float("nan")
            return
        volume = self.data.volume[0]
        x = self.data.vwap[0] - self._reference()
        pv2 = x * x * volume
        cum = pv2 if self._opens_session() else lines.cum_pv2[-1] + pv2
        lines.cum_pv2[0] = cum
        cum_volume = lines.cum_volume[0]
        if cum_volume > 0:
            m = lines.vwap[0] - self._reference()
            var = cum / cum_volume - m * m
            sd = math.sqrt(var) if var > 0 else 0.0
        else:
            sd = 0.0
        lines.sd[0] = sd
        vwap = lines.vwap[0]
        for k in _BANDS:
            getattr(lines, f"upper{k}")[0] = vwap + k * sd
            getattr(lines, f"lower{k}")[0] = vwap - k * sd

    def once(self, start: int, end: int) -> None:
        super().once(start, end)
        if end <= start:
            return
        ref = self._reference()
        volume = line_values(self.data.volume, start, end)
        x = line_values(self.data.vwap, start, end) - ref
        pv2 = x * x * volume
        carry = self.lines.cum_pv2.array[start - 1] if start > 0 else 0.0
        cum = segment_cumsum(pv2, self._session_starts(start, end), carry)
        cum_volume = line_values(self.lines.cum_volume, start, end)
        vwap = line_values(self.lines.vwap, start, end)
        m = vwap - ref
        with np.errstate(invalid="ignore", divide="ignore"):
            var = np.where(cum_volume > 0, cum / np.where(cum_volume > 0, cum_volume, 1.0) - m * m, 0.0)
        sd = np.sqrt(np.where(var > 0, var, 0.0))
        columns = {"cum_pv2": cum, "sd": sd}
        for k in _BANDS:
            columns[f"upper{k}"] = vwap + k * sd
            columns[f"lower{k}"] = vwap - k * sd
        before = self._before_anchor(line_values(self.data.datetime, start, end))
        if before.any():
            for name in self.lines.getlinealiases():
                values = columns.get(name, line_values(getattr(self.lines, name), start, end))
                columns[name] = np.where(before, np.nan, values)
        for name, values in columns.items():
            store_line(getattr(self.lines, name), start, values)

    def _plotlabel(self) -> list:
        return ["anchored"] if self._anchor is not None else super()._plotlabel()
