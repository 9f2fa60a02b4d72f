"""Trading sessions that open every day at a local wall-clock time (e.g. 17:00 America/Chicago).

Backtrader keeps bar times as float day numbers in UTC (``bt.date2num``); this
module maps them to sessions without ever assuming a fixed UTC offset, so the
session boundary follows daylight-saving changes.
"""
from __future__ import annotations

import datetime as dt
import re
import zoneinfo

import numpy as np
import pandas as pd

from data.errors import OrderFlowError
from data.feed import DAY_NS, EPOCH_ORDINAL, date2num_ns  # EPOCH_ORDINAL: Backtrader's day number of the epoch

_HHMM = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")

RESET_MODES = ("never", "session", "rolling", "roll")
DEFAULT_SESSION_START = "17:00"
DEFAULT_SESSION_TZ = "America/Chicago"
"""The default session: CME Globex futures open at 17:00 Chicago time for the next trade date."""


def parse_session_start(start: "str | dt.time") -> int:
    """``"17:00"``, ``"17:00:00"`` or a ``datetime.time`` -> nanoseconds after local midnight."""
    if isinstance(start, dt.time):
        h, m, s = start.hour, start.minute, start.second
    else:
        match = _HHMM.match(str(start))
        if not match:
            raise OrderFlowError("session_start must look like HH:MM, e.g. '17:00'", value=start)
        h, m, s = int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)
    if h > 23 or m > 59 or s > 59:
        raise OrderFlowError("session_start must be a time of day between 00:00 and 23:59:59", value=start)
    return ((h * 60 + m) * 60 + s) * 1_000_000_000


def check_tz(tz: str) -> str:
    """The IANA zone name ``tz`` if it exists (``"America/Chicago"``, ``"UTC"``), else OrderFlowError."""
    try:
        zoneinfo.ZoneInfo(str(tz))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise OrderFlowError("unknown time zone (use an IANA name such as 'America/Chicago' or 'UTC')", value=tz) from None
    return str(tz)


def check_reset(reset: str) -> str:
    """Validate a CVD reset mode: one of ``never``, ``session``, ``rolling``, ``roll``."""
    mode = str(reset).strip().lower()
    if mode not in RESET_MODES:
        raise OrderFlowError(f"reset must be one of {', '.join(RESET_MODES)}", value=reset)
    return mode


def bar_nums(times: "pd.DatetimeIndex | np.ndarray") -> np.ndarray:
    """Datetimes (naive ones are UTC) as Backtrader day numbers (UTC)."""
    index = pd.DatetimeIndex(times)
    index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    return date2num_ns(index.as_unit("ns").asi8)


class SessionCalendar:
    """Sessions opening each day at ``start`` local time in ``tz``.

    Session ``D`` (a local calendar date) is the half-open interval
    ``(B(D), B(D+1)]`` where ``B(D)`` is the UTC instant of wall time
    ``D + start`` in ``tz`` (a wall time skipped by a DST jump is shifted
    forward, a repeated one takes its first occurrence).

    The interval is closed on the right like the project's time bars, which
    hold the ticks in ``(t - length, t]`` and are stamped ``t``: a bar stamped
    exactly at ``B(D+1)`` holds ticks from before the new session's opening
    and so still belongs to session ``D``; the bar after it opens session
    ``D + 1``. A session's id is ``D.toordinal()``.
    """

    def __init__(self, start: "str | dt.time" = DEFAULT_SESSION_START, tz: str = DEFAULT_SESSION_TZ) -> None:
        self.start_ns = parse_session_start(start)
        self.tz = check_tz(tz)
        self._lo = np.inf  # cached session (lo, hi] and its id, for bar-by-bar use
        self._hi = -np.inf
        self._id = 0

    def boundaries(self, first_day: int, last_day: int) -> np.ndarray:
        """``B(D)`` as Backtrader day numbers for the local date ordinals ``first_day..last_day``."""
        return date2num_ns(self.boundaries_ns(first_day, last_day))

    def boundaries_ns(self, first_day: int, last_day: int) -> np.ndarray:
        """``B(D)`` in UTC nanoseconds for the local date ordinals ``first_day..last_day``."""
        days = np.arange(first_day, last_day + 1, dtype=np.int64)
        walls = pd.DatetimeIndex((days - EPOCH_ORDINAL) * DAY_NS + self.start_ns)
        utc = walls.tz_localize(self.tz, ambiguous=np.ones(len(days), dtype=bool), nonexistent="shift_forward")
        return utc.as_unit("ns").asi8

    def local_days(self, nums: np.ndarray) -> np.ndarray:
        """Local calendar date ordinal of each Backtrader day number (UTC) in ``tz``."""
        nums = np.asarray(nums, dtype=np.float64)
        ns = np.round((nums - EPOCH_ORDINAL) * DAY_NS).astype(np.int64)
        wall = pd.DatetimeIndex(ns, tz="UTC").tz_convert(self.tz).tz_localize(None)
        return wall.as_unit("ns").asi8 // DAY_NS + EPOCH_ORDINAL

    def ids(self, nums: np.ndarray) -> np.ndarray:
        """Session id of every bar time ``nums`` (Backtrader day numbers, UTC), vectorised.

        ``id = D`` such that ``B(D) < t <= B(D+1)``, found by a binary search of
        ``t`` among the boundaries of the local dates spanned by the data (+-2 days).
        """
        nums = np.asarray(nums, dtype=np.float64)
        if len(nums) == 0:
            return np.zeros(0, dtype=np.int64)
        days = self.local_days(nums)
        first = int(days.min()) - 2
        bounds = self.boundaries(first, int(days.max()) + 2)
        return first + np.searchsorted(bounds, nums, side="left") - 1

    def opens(self, nums: np.ndarray) -> np.ndarray:
        """Per bar time, whether it opens a session: its session id (:meth:`ids`) differs
        from the bar before it (False for the first bar, which has none before it)."""
        ids = self.ids(nums)
        return np.concatenate(([False], ids[1:] != ids[:-1])) if len(ids) else np.zeros(0, dtype=bool)

    def session_closes(self, times: "pd.DatetimeIndex | np.ndarray") -> np.ndarray:
        """Per time (naive ones are UTC), the close of its session in UTC nanoseconds: ``B(D + 1)``
        for the session ``D`` of :meth:`ids`, the next opening. Session bars are stamped there
        (:func:`data.resample_bars` with ``"session"``), as time bars are stamped at their end."""
        ids = self.ids(bar_nums(times))
        if len(ids) == 0:
            return np.zeros(0, dtype=np.int64)
        first = int(ids.min())
        return self.boundaries_ns(first + 1, int(ids.max()) + 1)[ids - first]

    def bar_opens(self, times: "pd.DatetimeIndex | np.ndarray") -> np.ndarray:
        """:meth:`opens` of bar times given as datetimes (naive ones are UTC)."""
        return self.opens(bar_nums(times))

    def id_of(self, num: float) -> int:
        """Session id of one bar time; the same rule as :meth:`ids`, cached per session."""
        if self._lo < num <= self._hi:
            return self._id
        day = int(self.local_days(np.array([num]))[0])
        bounds = self.boundaries(day - 2, day + 2)
        i = int(np.searchsorted(bounds, num, side="left"))
        self._lo, self._hi, self._id = bounds[i - 1], bounds[i], day - 2 + i - 1
        return self._id

    def trade_dates(self, times: "pd.DatetimeIndex | np.ndarray") -> pd.DatetimeIndex:
        """The trade date of each time (UTC): the session's local date, plus one day when the
        session opens after noon (a CME session opening Sunday 17:00 trades for Monday).

        ``trade_date = date(D) + 1 day if start >= 12:00 else date(D)``, with ``D`` the session
        id of :meth:`ids` (right-closed: a bar stamped exactly at an opening belongs to the
        session that closes there). Daily returns are cut by this rule.
        """
        ids = self.ids(bar_nums(times))
        ids = ids + (1 if self.start_ns >= 12 * 3600 * 1_000_000_000 else 0)
        return pd.DatetimeIndex((ids - EPOCH_ORDINAL) * DAY_NS)
