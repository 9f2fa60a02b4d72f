"""Futures contracts of one root: their codes, expiries, roll dates and the roll rules of a
continuous series (:mod:`data.reading.continuous` reads the ticks; this module only counts days).

Contract codes: the root, the month letter and the year, in the common spellings:
``ESH4`` (one digit), ``ESH24`` or ``ESM23`` (two, as Sierra Chart writes them), ``ESM2024``
(four). Month letters: F Jan, G Feb, H Mar, J Apr, K May, M Jun, N Jul, Q Aug, U Sep, V Oct,
X Nov, Z Dec. A year of one or two digits is the first such year whose expiry is not before
the contract's first day of data (ESH4 traded in December 2023 is March 2024).

Expiry: a :class:`ContractRule` per root: the months listed (``HMUZ``) and the nth weekday of
the expiry month (``3fri``: the third Friday), with the default roll, ``roll_days`` calendar
days before the expiry. :data:`ROOT_RULES` holds the presets: the CME equity index futures
(ES, MES, NQ, MNQ, YM, MYM, RTY, M2K) expire on the third Friday of March, June, September
and December and roll 8 days before, on the Thursday of the week before (CME's roll date):
ESH4 -> ESM4 on 2024-03-07. Another root takes a rule as text: ``"HMUZ:3fri"`` or
``"HMUZ:3fri:8"`` (months, nth weekday, roll days), or a :class:`ContractRule`.

Sessions: a rule also says when the trading day of a date opens (``open``): the CME equity
index presets' Globex session of a date opens at 17:00 America/Chicago the evening before
(``"-07:00 America/Chicago"``: seven hours before the date's midnight there, 22:00 or 23:00 UTC
as daylight saving time goes); a rule given as text without one keeps its root preset's, else
00:00 UTC. The days of the roll rules are these session days (:meth:`ContractRule.session_day`).

Roll rules (:func:`parse_roll`): ``days:N`` rolls N calendar days before the front contract's
expiry (``days``: the root's default); ``volume`` rolls after the first session day on which the
next contract traded more than the front one, never back. Either way the switch happens at the
session open of the roll date (:meth:`ContractRule.session_start`: ESH4 -> ESM4 on 2024-03-07 at
17:00 Chicago on 03-06, 23:00 UTC); a ``volume`` roll switches at the open of the session after
the one whose volumes decided it, so that the series never uses a volume it could not have seen.
"""
from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from data.errors import OrderFlowError
from data.ticks import DAY_NS

MONTH_CODES = "FGHJKMNQUVXZ"  # January .. December
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ADJUSTMENTS = ("none", "add", "ratio")
_RULE = re.compile(r"^\s*([A-Za-z]+)\s*:\s*([1-5]|last)\s*([a-z]{3})\s*(?::\s*(\d+)\s*)?$", re.IGNORECASE)
_OPEN_TEXT = re.compile(r"^\s*([+-]?)(\d{1,2}):(\d{2})\s+(\S+)\s*$")
_WITH_OPEN = re.compile(r"^(.*?)\s+([+-]?\d{1,2}:\d{2}\s+\S+)\s*$")  # an expiry rule, then its session open
UTC_OPEN = "00:00 UTC"
_ROLL = re.compile(r"^\s*(days|volume)\s*(?::\s*(\d+)\s*)?$", re.IGNORECASE)


def split_open(text: str) -> tuple[str, str]:
    """An expiry rule's text as (the rule, its session open or ""): ``"HMUZ:3fri:8 -07:00 America/Chicago"``
    -> ``("HMUZ:3fri:8", "-07:00 America/Chicago")``; spaces inside the rule (``"HMUZ: 3fri"``) stay in it."""
    match = _WITH_OPEN.match(str(text).strip())
    return (match.group(1), match.group(2)) if match else (str(text).strip(), "")


@lru_cache(maxsize=64)
def _session_open(text: str) -> tuple[str, int, str]:
    """``"-07:00 America/Chicago"`` -> (the text as kept, the offset from midnight in ns, the zone);
    OrderFlowError for a bad one."""
    match = _OPEN_TEXT.match(str(text))
    zone = match.group(4) if match else ""
    if match and zone.upper() == "UTC":
        zone = "UTC"
    try:
        ok = match is not None and int(match.group(3)) < 60 and int(match.group(2)) < 24 and bool(ZoneInfo(zone))
    except (ZoneInfoNotFoundError, ValueError):
        ok = False
    if not ok:
        raise OrderFlowError(f"bad session open {text!r}: [-]HH:MM ZONE, the wall time from the date's midnight in an "
                             "IANA zone, e.g. -07:00 America/Chicago (17:00 the evening before) or 00:00 UTC")
    sign = -1 if match.group(1) == "-" else 1
    minutes = int(match.group(2)) * 60 + int(match.group(3))
    kept = f"{'-' if sign < 0 and minutes else ''}{minutes // 60:02d}:{minutes % 60:02d} {zone}"
    return kept, sign * minutes * 60_000_000_000, zone


@dataclass(frozen=True)
class ContractRule:
    """When the contracts of a root expire, and the default roll.

    ``months``: the month letters the root lists (``"HMUZ"``); ``nth`` and ``weekday``: the
    expiry is the ``nth`` (1-5, or -1 for the last) ``weekday`` (0 Monday .. 6 Sunday) of the
    contract month; ``roll_days``: the default roll, that many calendar days before the expiry;
    ``open``: when the session (trading day) of a date opens, as ``[-]HH:MM ZONE``, the wall time
    in the IANA zone ZONE from the date's midnight there: ``"-07:00 America/Chicago"`` is 17:00
    Chicago time the evening before (CME Globex), ``"08:00 Europe/Berlin"`` 08:00 the same day,
    ``"00:00 UTC"`` (the default) midnight UTC. As text (:meth:`parse`, ``str()``):
    ``"HMUZ:3fri:8"``, with the open after a space when it is not midnight UTC:
    ``"HMUZ:3fri:8 -07:00 America/Chicago"``.
    """

    months: str = "HMUZ"
    nth: int = 3
    weekday: int = 4
    roll_days: int = 8
    open: str = UTC_OPEN

    def __post_init__(self) -> None:
        months = str(self.months).upper()
        if not months or any(m not in MONTH_CODES for m in months) or len(set(months)) != len(months):
            raise OrderFlowError(f"bad contract months {self.months!r}: month letters of {MONTH_CODES} (F January .. "
                                 "Z December), each once, e.g. HMUZ")
        object.__setattr__(self, "months", "".join(sorted(months, key=MONTH_CODES.index)))
        if self.nth not in (1, 2, 3, 4, 5, -1) or self.weekday not in range(7):
            raise OrderFlowError(f"bad expiry day: the nth (1-5 or last) weekday (0 Monday .. 6 Sunday), not "
                                 f"{self.nth!r} {self.weekday!r}")
        if not isinstance(self.roll_days, (int, np.integer)) or isinstance(self.roll_days, bool) or self.roll_days < 0:
            raise OrderFlowError(f"bad roll days {self.roll_days!r}: a whole number of calendar days >= 0")
        object.__setattr__(self, "open", _session_open(self.open)[0])

    @property
    def _open(self) -> tuple[int, str]:
        return _session_open(self.open)[1:]

    def session_start(self, day: int) -> int:
        """The instant (UTC ns) the session of day number ``day`` (:func:`day_number`) opens."""
        offset, zone = self._open
        wall = int(day) * DAY_NS + offset
        if zone == "UTC":
            return wall
        return pd.Timestamp(wall).tz_localize(zone, ambiguous=True, nonexistent="shift_forward").value

    def session_day(self, ts: np.ndarray) -> np.ndarray:
        """The day number of the session each UTC ns time of ``ts`` belongs to (vectorised)."""
        offset, zone = self._open
        ts = np.asarray(ts, dtype=np.int64)
        if zone != "UTC":
            ts = pd.DatetimeIndex(ts.view("M8[ns]"), tz="UTC").tz_convert(zone).tz_localize(None).asi8
        return (ts - offset) // DAY_NS

    @classmethod
    def parse(cls, text: "str | ContractRule") -> "ContractRule":
        """``"HMUZ:3fri"`` (months, the nth weekday of the expiry month: ``1mon`` .. ``5sun`` or
        ``lastfri``) with an optional ``:N`` of default roll days (8 when left out)."""
        if isinstance(text, ContractRule):
            return text
        rule, opening = split_open(text)
        match = _RULE.match(rule)
        if not match or match.group(3).lower() not in WEEKDAYS:
            raise OrderFlowError(f"bad expiry rule {text!r}: MONTHS:NTHDAY[:ROLLDAYS][ OPEN], e.g. HMUZ:3fri (the third "
                                 "Friday of March, June, September and December), HMUZ:3fri:8 or HMUZ:3fri:8 -07:00 "
                                 "America/Chicago (the session of a date opens at 17:00 Chicago time the evening before)")
        nth = -1 if match.group(2).lower() == "last" else int(match.group(2))
        days = int(match.group(4)) if match.group(4) is not None else cls.roll_days
        return cls(match.group(1), nth, WEEKDAYS.index(match.group(3).lower()), days, opening or UTC_OPEN)

    def __str__(self) -> str:
        nth = "last" if self.nth == -1 else str(self.nth)
        text = f"{self.months}:{nth}{WEEKDAYS[self.weekday]}:{self.roll_days}"
        return text if self.open == UTC_OPEN else f"{text} {self.open}"

    def expiry(self, year: int, month: int) -> dt.date:
        """The expiry date of the contract of ``year`` and ``month``."""
        weeks = calendar.Calendar().monthdatescalendar(year, month)
        days = [week[self.weekday] for week in weeks if week[self.weekday].month == month]
        if self.nth == -1:
            return days[-1]
        if self.nth > len(days):
            raise OrderFlowError(f"{calendar.month_name[month]} {year} has no {self.nth}th "
                                 f"{calendar.day_name[self.weekday]}: expiry rule {self}")
        return days[self.nth - 1]


EQUITY_INDEX = ContractRule("HMUZ", 3, 4, 8, "-07:00 America/Chicago")
"""The CME equity index futures: the third Friday of March, June, September and December,
rolled 8 days before (the Thursday of the week before: CME's roll date); the Globex session of
a date opens at 17:00 Chicago time the evening before."""
ROOT_RULES: dict[str, ContractRule] = {root: EQUITY_INDEX for root in ("ES", "MES", "NQ", "MNQ", "YM", "MYM", "RTY", "M2K")}
"""The preset expiry rule of each root (``continuous="ES"``); another root needs ``expiry=``."""


def contract_rule(root: str, expiry: "str | ContractRule | None" = None) -> ContractRule:
    """The expiry rule of ``root``: ``expiry`` (text or a :class:`ContractRule`) when given (text
    without a session open keeps the preset's), else the preset of :data:`ROOT_RULES`, else
    OrderFlowError naming the presets."""
    preset = ROOT_RULES.get(str(root).upper())
    if expiry is not None:
        rule = ContractRule.parse(expiry)
        if isinstance(expiry, str) and preset is not None and not split_open(expiry)[1]:
            rule = replace(rule, open=preset.open)
        return rule
    rule = preset
    if rule is None:
        raise OrderFlowError(f"no expiry rule for the root {root!r} (presets: {', '.join(ROOT_RULES)}): give one, "
                             "e.g. expiry='HMUZ:3fri' / --expiry HMUZ:3fri (the third Friday of March, June, "
                             "September and December)")
    return rule


@dataclass(frozen=True, order=True)
class Contract:
    """One contract: ``year``, ``month`` (1-12), its ``root`` and its ``code`` as the data spells it."""

    year: int
    month: int
    root: str
    code: str

    @property
    def name(self) -> str:
        """``ESM24``-style: root, month letter, two-digit year (for tables)."""
        return f"{self.root}{MONTH_CODES[self.month - 1]}{self.year % 100:02d}"

    def expiry(self, rule: ContractRule) -> dt.date:
        return rule.expiry(self.year, self.month)

    def roll_date(self, rule: ContractRule, days: int | None = None) -> dt.date:
        """``days`` (default the rule's) calendar days before the expiry."""
        return self.expiry(rule) - dt.timedelta(days=rule.roll_days if days is None else days)


def _code_pattern(root: str, whole: bool) -> re.Pattern:
    tail = "$" if whole else r"(?![0-9])"
    return re.compile(rf"^{re.escape(root)}([{MONTH_CODES}])(\d{{4}}|\d{{2}}|\d){tail}", re.IGNORECASE)


def parse_contract(code: str, root: str, rule: ContractRule, first_day: "dt.date | None" = None, *,
                   whole: bool = True) -> Contract | None:
    """The contract ``code`` names (``ESH4``, ``ESH24``, ``ESM2024``, ``ESM23``), or None when it is
    no contract of ``root``. ``whole=False`` reads a code at the start of a longer name
    (``ESM23_test.scid``, ``ESH4-CME.csv``: the code then anything but a digit).

    A year of one or two digits is the first year ending in them whose expiry (by ``rule``)
    is on or after ``first_day`` (the contract's first day of data); without ``first_day`` a
    two-digit year is 20YY and a one-digit year an error."""
    match = _code_pattern(root, whole).match(str(code).strip())
    if not match:
        return None
    month = MONTH_CODES.index(match.group(1).upper()) + 1
    if month not in [MONTH_CODES.index(m) + 1 for m in rule.months]:
        return None
    digits = match.group(2)
    if len(digits) == 4:
        year = int(digits)
    elif first_day is None:
        if len(digits) == 1:
            raise OrderFlowError(f"contract {code!r}: a one-digit year needs the contract's dates to tell the decade")
        year = 2000 + int(digits)
    else:
        step = 10 ** len(digits)
        year = first_day.year - (first_day.year - int(digits)) % step  # the latest year ending so, up to first_day's
        while rule.expiry(year, month) < first_day:
            year += step
    return Contract(year, month, str(root).upper(), match.group(0) if not whole else str(code).strip())


@dataclass(frozen=True)
class RollRule:
    """``kind`` ``"days"`` (``days`` calendar days before the expiry) or ``"volume"``."""

    kind: str
    days: int | None = None

    def __str__(self) -> str:
        return f"days:{self.days}" if self.kind == "days" else "volume"


def parse_roll(text: "str | None", rule: ContractRule) -> RollRule:
    """``"days:N"``, ``"days"`` (the rule's roll days), ``"volume"``, or None (the rule's ``days:N``)."""
    if text is None:
        return RollRule("days", rule.roll_days)
    match = _ROLL.match(str(text))
    if not match or (match.group(1).lower() == "volume" and match.group(2) is not None):
        raise OrderFlowError(f"bad roll rule {text!r}: days:N (N calendar days before the expiry, e.g. days:8) or volume "
                             "(after the first day the next contract trades more than the front one)")
    if match.group(1).lower() == "volume":
        return RollRule("volume")
    return RollRule("days", int(match.group(2)) if match.group(2) is not None else rule.roll_days)


def check_continuous(root: Any, roll: Any, adjust: Any, expiry: Any) -> None:
    """OrderFlowError for a bad continuous-contract option (the checks of :class:`data.options.LoadOptions`)."""
    if root is None:
        if roll is not None or expiry is not None or adjust != "none":
            raise OrderFlowError("roll=, adjust= and expiry= (--roll, --adjust, --expiry) apply to a continuous contract: "
                                 "give its root with continuous= / --continuous, e.g. ES")
        return
    if not isinstance(root, str) or not re.fullmatch(r"[A-Za-z0-9]+", root.strip()):
        raise OrderFlowError(f"bad continuous root {root!r}: the product code of the contracts, e.g. ES")
    rule = contract_rule(root.strip(), expiry)
    parse_roll(roll, rule)
    if adjust not in ADJUSTMENTS:
        raise OrderFlowError(f"bad adjust {adjust!r}: one of {', '.join(ADJUSTMENTS)}")


def day_number(date: dt.date) -> int:
    """Days since 1970-01-01."""
    return (date - dt.date(1970, 1, 1)).days


def day_date(number: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=int(number))


def days_schedule(contracts: Sequence[Contract], rule: ContractRule, days: int) -> list[int]:
    """The roll day of each contract but the last (day numbers, :func:`day_number`): its roll date
    by ``days`` calendar days before its expiry. ``contracts`` in expiry order."""
    return [day_number(c.roll_date(rule, days)) for c in contracts[:-1]]


def volume_schedule(day_volumes: Sequence[tuple[np.ndarray, np.ndarray]]) -> list[int]:
    """The roll days of the ``volume`` rule, for contracts in expiry order, each given as
    ``(day numbers, volume per day)``: the front starts as the first contract that trades on the
    first day of data; it rolls to the next contract after the first day on which that one
    (the next in expiry order that traded that day) traded more than the front; the switch is
    the next day (day + 1), and never back. Returns one roll day per contract but the last
    (a contract the series passes over rolls on the same day as the one before it; a contract
    never reached rolls on no day: a large number)."""
    n = len(day_volumes)
    never = np.iinfo(np.int64).max // DAY_NS
    if n == 0:
        return []
    all_days = np.unique(np.concatenate([d for d, _ in day_volumes])) if n else np.zeros(0, np.int64)
    grid = np.zeros((n, len(all_days)))
    for i, (d, v) in enumerate(day_volumes):
        np.add.at(grid[i], np.searchsorted(all_days, d), v)
    rolls = [never] * (n - 1)
    if not len(all_days):
        return rolls
    front = int(np.argmax(grid[:, 0] > 0))
    for i in range(front):  # contracts before the first front: passed over at once
        rolls[i] = int(all_days[0])
    day = 0
    while front < n - 1 and day < len(all_days):
        later = grid[front + 1:, day:]
        traded = later > 0
        # per day: the first later contract that traded, and its volume against the front's
        first = np.argmax(traded, axis=0)
        volume = later[first, np.arange(later.shape[1])]
        beats = traded.any(axis=0) & (volume > grid[front, day:])
        if not beats.any():
            break
        k = int(np.argmax(beats))
        switch = int(all_days[day + k]) + 1
        target = front + 1 + int(first[k])
        for i in range(front, target):
            rolls[i] = switch
        front = target
        day = int(np.searchsorted(all_days, switch))
    return rolls
