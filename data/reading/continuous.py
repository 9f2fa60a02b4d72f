"""A continuous futures series: the contracts of one root in a tick store or in files, read as
one stream of canonical ticks across the rolls.

    scan_ticks("store/", continuous="ES", roll="days:8", adjust="add")
    load_ticks("ticks/", continuous="ES", roll="volume")

**Contracts.** A store's symbols, or the symbols of the files' (or a DataFrame's) symbol column,
or else the files' names, are read as contract codes of the root (``ESH4``, ``ESH24``, ``ESM2024``,
``ESM23_test.scid``: :func:`data.contracts.parse_contract`); other symbols and files are passed
over with a note. The contracts are ordered by expiry (the root's rule,
:data:`data.contracts.ROOT_RULES`, or ``expiry=``).

**Rolls.** Each contract is the front one from its predecessor's roll to its own: by ``days:N``
N calendar days before its expiry (ESH4 -> ESM4 on 2024-03-07), by ``volume`` after the first
session day the next contract traded more (:mod:`data.contracts`). A roll switches at the
session open of its date, the rule's ``open`` (ES: 17:00 Chicago the evening before, 23:00 UTC
on 2024-03-06; :meth:`data.contracts.ContractRule.session_start`), and the days of the rules
are session days: the ticks of a contract are those in ``[its start, its roll)``, so every tick of the series
is a tick of its front contract as traded, its size and side untouched. A contract with no tick
in its turn is passed over: its predecessor rolls straight to its successor, and a note of the
load report says so. A window (``start``/``end``) takes the same series, cut: the turns, gaps
and price moves come from the whole source, the roll table lists the rolls inside the window.

**Prices.** The price gap at a roll is the new contract's last trade before the roll (or its
first one after it when it has none before) minus the old contract's last trade before it: two
traded prices, so a whole number of ticks (rounded to 1e-10 against float noise). ``adjust``:

- ``none``: the traded prices; the series jumps by the gap at each roll (the roll table and
  the feed's roll times mark where);
- ``add``: every earlier contract shifted by the sum of the later gaps, in whole ticks, so that
  the last contract of the source is as traded and the series has no jump at a roll;
- ``ratio``: every earlier contract multiplied by the product of the later ratios (new price /
  old price at each roll), then rounded to the tick grid (the finest step of the prices read
  around the rolls, :func:`data.ticks.price_grid`; the report's ``tick``).

Bid and ask move with the prices. Bars built from the series (:func:`data.make_bars`, streamed
or in memory) are those of these ticks: volume and delta as traded, the running sums (CVD, the
large-trade blocks) carried across the roll, and a footprint's levels moved by the adjustment in
whole ticks, each level whole (``ratio`` rounds each price to the nearest tick first).

**Reading.** A store reads only the day files of each contract's turn (and, to find the gaps,
the times and prices of each contract's day file holding the roll instant, or one row group of
the day before or after it; with a session open other than midnight UTC, the first and last row
group of each contract, for the sessions its first and last day files reach into; the ``volume``
rule also reads the sizes and times of every day of the root).
Files are read once, one at a time, to find their contracts (each file's ticks summarised per
contract and session day: volume, first and last trade; memory holds one file's ticks), and again for
the series (a store is faster: ``python -m data.store import``, one symbol per contract). A
DataFrame's contracts are the values of its symbol column.

The load report (``format`` ``continuous``) holds the roll table (``rolls``: date, time,
from, to, the two prices, the gap and the prices in the series), each contract's turn and rows
(``contracts``) and the reports of the parts read (``parts``).
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa

from data.contracts import (
    MONTH_CODES,
    UTC_OPEN,
    Contract,
    ContractRule,
    RollRule,
    contract_rule,
    day_date,
    day_number,
    days_schedule,
    parse_contract,
    parse_roll,
    volume_schedule,
)
from data.errors import OrderFlowError
from data.options import LoadOptions
from data.reading.progress import progress_bar
from data.reading.sources import (
    TickSource,
    file_stamp,
    frame_symbols,
    read_symbols,
    register_continuous,
    source_files,
    source_name,
    source_store,
)
from data.ticks import DAY_NS, price_grid

_OPEN = np.iinfo(np.int64).max // DAY_NS  # a day number past any data: no roll
ROLL_TABLE = ("date", "time", "from", "to", "from_price", "to_price", "gap", "from_time", "to_time", "series_from",
              "series_to")
"""The columns of the roll table (:func:`roll_row`), as the load report and ``rolls.csv`` give them."""
_PRICE_COLUMNS = ("price", "bid", "ask")


@dataclass
class Held:
    """One contract the source holds: its days of ticks (UTC day numbers, sorted) and what a
    reader of its kind keeps to find it (a store's day files; files and their per-day prices)."""

    contract: Contract
    days: np.ndarray
    day_files: dict[int, Path] = field(default_factory=dict)  # a store's
    files: list[Path] = field(default_factory=list)  # files': those holding it, in name order
    spans: list[tuple[int, int]] = field(default_factory=list)  # files': the first and last tick time of each
    by_symbol: bool = False  # files': its rows are picked by the symbol column
    stats: dict[str, np.ndarray] | None = None  # files': per day volume, first/last time and price
    frame: pd.DataFrame | None = None  # a DataFrame's: the contract's canonical ticks


@dataclass
class Segment:
    """A contract's turn in the series: ticks in ``[start, end)`` (UTC ns; None: open) and how its
    prices move: by ``shift`` (``add``: the sum of the later gaps, whole ticks) or ``factor``
    (``ratio``)."""

    held: Held
    start: int | None
    end: int | None
    shift: float = 0.0
    factor: float = 1.0


@dataclass
class Roll:
    """A roll: at ``time`` (UTC ns: the open of the session of ``day``, the roll date) from ``old``
    to ``new``; the trades ``(time, price)`` of each that price it; the gap (new minus old price)
    and the ratio (new over old price)."""

    time: int
    old: Held
    new: Held
    old_trade: tuple[int, float]
    new_trade: tuple[int, float]
    day: int

    @property
    def gap(self) -> float:
        """``new - old`` price: two traded prices, so whole ticks (rounded to 1e-10 against float noise)."""
        return round(self.new_trade[1] - self.old_trade[1], 10)

    @property
    def ratio(self) -> float:
        return self.new_trade[1] / self.old_trade[1]


@dataclass
class Plan:
    segments: list[Segment]
    rolls: list[Roll]
    tick: float
    notes: list[str]


class _Contracts:
    """The contracts of a root in a source, found once (:meth:`held`), with the price grids and notes
    found on the way."""

    def __init__(self) -> None:
        self.grids: list[float] = []
        self.notes: list[str] = []
        self._held: list[Held] | None = None

    def held(self) -> list[Held]:
        if self._held is None:
            self._held = self._find()
        return self._held

    def _find(self) -> list[Held]:
        raise NotImplementedError


class _StoreContracts(_Contracts):
    """The contracts of a root in a tick store (:class:`data.store.dataset.TickStore`)."""

    def __init__(self, store: Any, root: str, rule: ContractRule) -> None:
        super().__init__()
        self.store, self.root, self.rule = store, root, rule

    def _find(self) -> list[Held]:
        by_symbol: dict[str, dict[int, Path]] = {}
        for day in self.store.day_files():
            by_symbol.setdefault(day.symbol, {})[day_number(dt.date.fromisoformat(day.date))] = day.path
        held, others = [], []
        for symbol, files in sorted(by_symbol.items()):
            utc = np.array(sorted(files), dtype=np.int64)
            contract = parse_contract(symbol, self.root, self.rule, day_date(utc[0])) if len(utc) else None
            if contract is None:
                others.append(symbol)
            else:
                held.append(Held(contract, self._sessions(utc, files), day_files=files))
        if not held:
            raise OrderFlowError(f"the store holds no contract of {self.root} (symbols like {self.root}H4, "
                                 f"{self.root}H24 or {self.root}M2024; it holds {', '.join(others) or 'none'})",
                                 source=self.store.root)
        if others:
            self.notes.append(f"symbols that are no contract of {self.root} left out: {', '.join(others)}")
        return held

    def _sessions(self, utc: np.ndarray, files: dict[int, Any]) -> np.ndarray:
        """The session days of a contract's UTC day files: each file's day, and the next one when a
        session opens in the evening (a file reaches into two), cut to those of its first and last
        trade (the first row group of its first file, the last of its last)."""
        if self.rule.open == UTC_OPEN:
            return utc
        days = np.unique(self.rule.session_day(np.concatenate([utc * DAY_NS, (utc + 1) * DAY_NS - 1])))
        first = self.rule.session_day(self._trades(files[int(utc[0])], 0)[0][:1])[0]
        last = self.rule.session_day(self._trades(files[int(utc[-1])], -1)[0][-1:])[0]
        return days[(days >= first) & (days <= last)]

    def volumes(self, held: Held) -> np.ndarray:
        """The contract's volume per session day (``held.days``), from the sizes and times of its day files."""
        out = np.zeros(len(held.days))
        for _, path in sorted(held.day_files.items()):
            table = self.store.read_columns(path, ["timestamp", "size"])
            times = table.column("timestamp").combine_chunks().view(pa.int64()).to_numpy()
            at = np.searchsorted(held.days, self.rule.session_day(times))
            out += np.bincount(at, weights=table.column("size").to_numpy(), minlength=len(out))
        return out

    def trade_before(self, held: Held, day: int) -> tuple[int, float] | None:
        """The last trade of the contract before the session of day ``day`` opens."""
        t = self.rule.session_start(day)
        utc = np.array(sorted(held.day_files), dtype=np.int64)
        k = int(np.searchsorted(utc, (t - 1) // DAY_NS, side="right")) - 1  # the last day file starting before t
        while k >= 0:
            whole = (utc[k] + 1) * DAY_NS <= t  # the whole day before t: its last row group holds its last trade
            times, price = self._trades(held.day_files[int(utc[k])], -1 if whole else None)
            i = int(np.searchsorted(times, t, side="left")) - 1
            if i >= 0:
                return int(times[i]), float(price[i])
            k -= 1
        return None

    def trade_from(self, held: Held, day: int) -> tuple[int, float] | None:
        """The first trade of the contract from the open of the session of day ``day`` on."""
        t = self.rule.session_start(day)
        utc = np.array(sorted(held.day_files), dtype=np.int64)
        k = int(np.searchsorted(utc, t // DAY_NS, side="left"))  # the first day file ending after t
        while k < len(utc):
            whole = utc[k] * DAY_NS >= t  # the whole day from t on: its first row group holds its first trade
            times, price = self._trades(held.day_files[int(utc[k])], 0 if whole else None)
            i = int(np.searchsorted(times, t, side="left"))
            if i < len(times):
                return int(times[i]), float(price[i])
            k += 1
        return None

    def _trades(self, path: Any, row_group: int | None) -> tuple[np.ndarray, np.ndarray]:
        """The times and prices of a day file (sorted by time), whole or of one row group (its first or
        last, where the first or last trade is); the tick grid from its prices."""
        table = self.store.read_columns(path, ["timestamp", "price"], row_group=row_group)
        price = table.column("price").to_numpy()
        self.grids.append(price_grid(price))
        return table.column("timestamp").combine_chunks().view(pa.int64()).to_numpy(), price

    def part(self, held: Held, options: LoadOptions, batch_rows: int, name: str) -> TickSource:
        return TickSource("store", store=self.store, name=name, options=replace(options, symbol=held.contract.code),
                          batch_rows=batch_rows)

    def fingerprint(self) -> list[Any]:
        """Every day file of the root's contracts: path, size and modification time (the series
        depends on all of them: the turns, the gaps, the volumes)."""
        return [[str(Path(p).relative_to(self.store.root)), *file_stamp(p)[1:]]
                for h in self.held() for _, p in sorted(h.day_files.items())]


@dataclass
class _Summary:
    """What the roll rules need of one contract's ticks in one file (or DataFrame), kept instead of
    the ticks: the file, its first and last tick time, per day volume and first/last time and
    price (:func:`_day_stats`), and the finest price step."""

    name: str  # the symbol, or the file's name
    by_symbol: bool
    path: Any
    span: tuple[int, int]
    stats: dict[str, np.ndarray]
    grid: float
    frame: pd.DataFrame | None = None  # a DataFrame's: the contract's ticks (in memory anyway)


def _summary(name: str, by_symbol: bool, path: Any, ticks: pd.DataFrame, rule: ContractRule,
             keep: bool = False) -> _Summary:
    ts = ticks["timestamp"].array.asi8
    price = ticks["price"].to_numpy(np.float64)
    return _Summary(name, by_symbol, path, (int(ts[0]), int(ts[-1])),
                    _day_stats(ts, price, ticks["size"].to_numpy(np.float64), rule), price_grid(price),
                    ticks if keep else None)


class _FileContracts(_Contracts):
    """The contracts of a root in files: by each file's symbol column, else by its name; or in a
    DataFrame (``frame``) by its symbol column. Each file is read and summarised in turn
    (:class:`_Summary`: memory holds one file's ticks at a time), and read again for the series."""

    def __init__(self, files: list[Path], root: str, rule: ContractRule, options: LoadOptions,
                 frame: pd.DataFrame | None = None) -> None:
        super().__init__()
        self.files, self.root, self.rule, self.options, self.frame = files, root, rule, options, frame

    def _summaries(self) -> Iterator[_Summary | str]:
        """Each contract's summary of each file, in turn; the name of a file holding none."""
        reading = replace(self.options, symbol=None, start=None, end=None)
        if self.frame is not None:
            for name, ticks, _ in frame_symbols(self.frame, reading):
                if name is not None and len(ticks) and self._parse(name, ticks) is not None:
                    yield _summary(name, True, "<DataFrame>", ticks, self.rule, keep=True)
            return
        with progress_bar(len(self.files), desc="finding contracts", unit="files", progress=self.options.progress) as bar:
            for path in self.files:
                yield from self._file_summaries(path, reading)
                bar.update(1)

    def _file_summaries(self, path: Any, reading: LoadOptions) -> list[_Summary | str]:
        """One file's contracts summarised (its ticks dropped on return), or its name when it holds none."""
        parts = read_symbols(path, reading)
        named = [(name, ticks) for name, ticks, _ in parts if name is not None and len(ticks)
                 and self._parse(name, ticks) is not None]
        if named:
            return [_summary(name, True, path, ticks, self.rule) for name, ticks in named]
        if len(parts) == 1 and len(parts[0][1]) and self._parse(path.name, parts[0][1], whole=False):
            return [_summary(path.name, False, path, parts[0][1], self.rule)]
        return [path.name]

    def _find(self) -> list[Held]:
        found: dict[tuple[str, bool], list[_Summary]] = {}
        skipped: list[str] = []
        for item in self._summaries():
            if isinstance(item, str):
                skipped.append(item)
            else:
                found.setdefault((item.name, item.by_symbol), []).append(item)
                self.grids.append(item.grid)
        if skipped:
            self.notes.append(f"files holding no contract of {self.root} left out: {', '.join(skipped[:5])}"
                              + (f" and {len(skipped) - 5} more" if len(skipped) > 5 else ""))
        held: dict[Contract, Held] = {}
        for (name, by_symbol), pieces in found.items():
            first = min(p.span[0] for p in pieces)
            contract = parse_contract(name, self.root, self.rule, day_date(first // DAY_NS), whole=by_symbol)
            key = replace(contract, code=contract.name)
            h = held.setdefault(key, Held(contract, np.zeros(0, np.int64), by_symbol=by_symbol))
            if h.contract.code != contract.code or h.by_symbol != by_symbol:
                raise OrderFlowError(f"the files name the contract {contract.name} in two ways ({h.contract.code} "
                                     f"and {contract.code}): name it one way", source=pieces[0].path)
            for piece in pieces:
                h.files.append(piece.path)
                h.spans.append(piece.span)
                h.stats = _merged(h.stats, piece.stats)
                if piece.frame is not None:
                    h.frame = piece.frame
        if not held:
            if self.frame is not None:
                raise OrderFlowError(f"the DataFrame holds no contract of {self.root}: its symbol column names none "
                                     f"(e.g. {self.root}H4, {self.root}H24, {self.root}M2024)")
            raise OrderFlowError(f"the files hold no contract of {self.root}: no symbol column or file name reads as "
                                 f"one (e.g. {self.root}H4, {self.root}H24, {self.root}M2024, {self.root}M23.scid)",
                                 source=self.files[0].parent if len(self.files) > 1 else self.files[0])
        for h in held.values():
            order = np.argsort([str(p) for p in h.files], kind="stable")
            h.files, h.spans = [h.files[i] for i in order], [h.spans[i] for i in order]
            h.days = h.stats["day"]
        return list(held.values())

    def _parse(self, name: str, ticks: pd.DataFrame, whole: bool = True) -> Contract | None:
        first = int(ticks["timestamp"].array.asi8[0]) // DAY_NS
        return parse_contract(name, self.root, self.rule, day_date(first), whole=whole)

    def volumes(self, held: Held) -> np.ndarray:
        return held.stats["volume"]

    def trade_before(self, held: Held, day: int) -> tuple[int, float] | None:
        k = int(np.searchsorted(held.days, day, side="left")) - 1
        return (int(held.stats["last_time"][k]), float(held.stats["last_price"][k])) if k >= 0 else None

    def trade_from(self, held: Held, day: int) -> tuple[int, float] | None:
        k = int(np.searchsorted(held.days, day, side="left"))
        if k >= len(held.days):
            return None
        return int(held.stats["first_time"][k]), float(held.stats["first_price"][k])

    def part(self, held: Held, options: LoadOptions, batch_rows: int, name: str) -> TickSource | None:
        if held.frame is not None:
            return TickSource("frame", frame=held.frame, name=name, options=options, batch_rows=batch_rows)
        lo = options.start.value if options.start is not None else None
        hi = options.end.value if options.end is not None else None
        files = [p for p, (first, last) in zip(held.files, held.spans)
                 if (lo is None or last >= lo) and (hi is None or first < hi)]
        if not files:
            return None
        symbol = held.contract.code if held.by_symbol else None
        return TickSource("files", files=files, name=name, options=replace(options, symbol=symbol),
                          batch_rows=batch_rows)

    def fingerprint(self) -> list[Any]:
        if self.frame is not None:
            hashed = pd.util.hash_pandas_object(self.frame, index=False).to_numpy()
            return [hashlib.sha256(hashed.tobytes() + str(list(self.frame.columns)).encode()).hexdigest()]
        return [file_stamp(p) for p in self.files]


def _day_stats(ts: np.ndarray, price: np.ndarray, size: np.ndarray, rule: ContractRule) -> dict[str, np.ndarray]:
    """Per session day (``rule``'s, :meth:`ContractRule.session_day`) of sorted ticks: the day
    number, volume, first and last time and price."""
    days = rule.session_day(ts)
    firsts = np.flatnonzero(np.r_[True, days[1:] != days[:-1]])
    lasts = np.r_[firsts[1:] - 1, len(ts) - 1]
    return {"day": days[firsts], "volume": np.add.reduceat(size, firsts), "first_time": ts[firsts],
            "first_price": price[firsts], "last_time": ts[lasts], "last_price": price[lasts]}


def _merged(a: dict[str, np.ndarray] | None, b: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Two files' :func:`_day_stats` of one contract as one: volumes added, the earliest first
    and the latest last trade of each day."""
    if a is None:
        return b
    both = {k: np.concatenate((a[k], b[k])) for k in a}
    days = np.unique(both["day"])
    at = np.searchsorted(days, both["day"])
    out = {"day": days, "volume": np.bincount(at, weights=both["volume"], minlength=len(days))}
    order = np.lexsort((both["first_time"], at))  # per day, the earliest first trade first
    firsts = order[np.r_[True, at[order][1:] != at[order][:-1]]]
    order = np.lexsort((-both["last_time"], at))  # per day, the latest last trade first
    lasts = order[np.r_[True, at[order][1:] != at[order][:-1]]]
    out.update(first_time=both["first_time"][firsts], first_price=both["first_price"][firsts],
               last_time=both["last_time"][lasts], last_price=both["last_price"][lasts])
    return out


def make_plan(reader: Any, rule: ContractRule, roll: RollRule, adjust: str) -> Plan:
    """The series' turns, rolls, gaps and price moves of the contracts ``reader`` finds (see the module docstring)."""
    held = sorted(reader.held(), key=lambda h: h.contract)
    ends = (days_schedule([h.contract for h in held], rule, roll.days) if roll.kind == "days"
            else volume_schedule([_traded(h.days, reader.volumes(h)) for h in held]))
    ends = [*ends, _OPEN]
    kept = list(range(len(held)))
    while True:  # pass over contracts with no tick in their turn; their turn goes to the next one
        turns = _turns(kept, ends)
        empty = [i for i, (lo, hi) in zip(kept, turns) if not _any_between(held[i].days, lo, hi)]
        if not empty:
            break
        kept = [i for i in kept if i not in empty]
        if not kept:
            break
    notes = list(reader.notes)
    passed = [held[i].contract.code for i in range(len(held)) if i not in kept]
    if passed and kept:
        notes.append(f"contracts with no tick in their turn passed over: {', '.join(passed)}")
    rolls = []
    for a, b, (_, day) in zip(kept, kept[1:], _turns(kept, ends)):
        old, new = held[a], held[b]
        between = _between(old.contract, new.contract, rule)
        if between:
            notes.append(f"{old.contract.code} rolls to {new.contract.code}: the source holds no tick of "
                         f"{', '.join(between)} in its turn")
        old_trade = reader.trade_before(old, day)
        new_trade = reader.trade_before(new, day) or reader.trade_from(new, day)
        rolls.append(Roll(rule.session_start(day), old, new, old_trade, new_trade, day))
    tick = min(reader.grids) if reader.grids else 1.0
    segments = []
    for k, (i, (lo, hi)) in enumerate(zip(kept, _turns(kept, ends))):
        later = rolls[k:]
        segments.append(Segment(held[i], None if k == 0 else rule.session_start(lo),
                                None if hi == _OPEN else rule.session_start(hi),
                                shift=float(round(sum(r.gap for r in later), 10)) if adjust == "add" else 0.0,
                                factor=float(np.prod([r.ratio for r in later])) if adjust == "ratio" else 1.0))
    return Plan(segments, rolls, tick, notes)


def _traded(days: np.ndarray, volumes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The days a contract traded on, and their volumes."""
    some = volumes > 0
    return days[some], volumes[some]


def _between(old: Contract, new: Contract, rule: ContractRule, most: int = 4) -> list[str]:
    """The names of the root's contracts that expire between ``old`` and ``new`` (at most ``most``)."""
    months = [MONTH_CODES.index(m) + 1 for m in rule.months]
    out = []
    year, month = old.year, old.month
    while len(out) < most:
        later = [m for m in months if m > month]
        year, month = (year, later[0]) if later else (year + 1, months[0])
        if (year, month) >= (new.year, new.month):
            break
        out.append(f"{old.root}{MONTH_CODES[month - 1]}{year % 100 if len(old.code) > len(old.root) + 2 else year % 10}")
    return out


def _turns(kept: list[int], ends: list[int]) -> list[tuple[int, int]]:
    """Each kept contract's turn in day numbers ``[start, end)``: from the previous kept contract's
    roll (the first from the beginning) to its own (the last to the end)."""
    out = []
    for k, i in enumerate(kept):
        lo = ends[kept[k - 1]] if k else -_OPEN
        hi = ends[i] if k < len(kept) - 1 else _OPEN
        out.append((lo, max(lo, hi)))
    return out


def _any_between(days: np.ndarray, lo: int, hi: int) -> bool:
    return bool(np.searchsorted(days, hi, side="left") > np.searchsorted(days, lo, side="left"))


class ContinuousReader:
    """The reader of a :class:`TickSource` of kind ``continuous`` (``batches``, ``array_batches``,
    ``fingerprint``, as a store's reader): the parts of each contract's turn, in order, their prices moved."""

    def __init__(self, contracts: Any, root: str, rule: ContractRule, roll: RollRule, adjust: str, name: str) -> None:
        self.contracts, self.root, self.rule, self.roll, self.adjust, self.name = contracts, root, rule, roll, adjust, name
        self._plan: Plan | None = None

    @property
    def reads_ahead(self) -> bool:
        """Whether the parts decode on threads of their own (a store's do)."""
        return isinstance(self.contracts, _StoreContracts)

    @property
    def plan(self) -> Plan:
        if self._plan is None:
            self._plan = make_plan(self.contracts, self.rule, self.roll, self.adjust)
        return self._plan

    def fingerprint(self, scan: TickSource) -> dict[str, Any]:
        """What the series depends on, without reading ticks: the files or day files of the root."""
        return {"root": self.root, "rule": str(self.rule), "data": self.contracts.fingerprint()}

    def batches(self, scan: TickSource) -> Iterator[pd.DataFrame]:
        for segment, part in self._parts(scan):
            for frame in part.batches():
                yield _moved_frame(frame, segment, self.plan.tick)

    def array_batches(self, scan: TickSource) -> Iterator[dict[str, np.ndarray]]:
        for segment, part in self._parts(scan):
            for arrays in part.array_batches():
                yield _moved_arrays(arrays, segment, self.plan.tick)

    def _parts(self, scan: TickSource) -> Iterator[tuple[Segment, TickSource]]:
        """Each contract's part of the window, read in order; ``scan.report`` filled as they are read."""
        plan = self.plan
        start = scan.start.value if scan.start is not None else None
        end = scan.end.value if scan.end is not None else None
        base = replace(scan.options, continuous=None, roll=None, adjust="none", expiry=None)
        contracts: list[dict[str, Any]] = []
        parts: list[dict[str, Any]] = []
        report: dict[str, Any] = {
            "source": self.name, "format": "continuous", "symbol": f"{self.root} continuous", "continuous": self.root,
            "roll": str(self.roll), "adjust": self.adjust, "expiry": str(self.rule), "tick": plan.tick,
            "rolls": [roll_row(r, plan, self.adjust) for r in plan.rolls
                      if (start is None or r.time > start) and (end is None or r.time < end)],
            "contracts": contracts, "parts": parts, "rows_read": 0, "rows_kept": 0, "rejected": {},
            "unknown_side": 0, "notes": list(plan.notes)}
        if plan.segments and self.adjust != "none":
            last = plan.segments[-1].held.contract.code
            how = "shifted by the later gaps" if self.adjust == "add" else "multiplied by the later ratios"
            report["notes"].append(f"prices of the contracts before {last} {how} ({self.adjust}); {last} as traded")
        scan.report = report
        for segment in plan.segments:
            lo = _bound(max, segment.start, start)
            hi = _bound(min, segment.end, end)
            if lo is not None and hi is not None and lo >= hi:
                continue
            window = replace(base, start=None if lo is None else pd.Timestamp(lo, tz="UTC"),
                             end=None if hi is None else pd.Timestamp(hi, tz="UTC"))
            part = self.contracts.part(segment.held, window, scan.batch_rows, f"{self.name} {segment.held.contract.code}")
            entry = {"contract": segment.held.contract.code, "from": _iso(lo), "to": _iso(hi), "rows": 0}
            if self.adjust == "add":
                entry["shift"] = segment.shift
            elif self.adjust == "ratio":
                entry["factor"] = segment.factor
            contracts.append(entry)
            if part is None:
                continue
            yield segment, part
            sub = part.report
            parts.append(sub)
            kept = int(sub.get("rows_in_window", sub.get("rows_kept", 0)))  # a DataFrame's part: those in its turn
            entry["rows"] = kept
            report["rows_read"] += int(sub.get("rows_read", 0))
            report["rows_kept"] += kept
            report["unknown_side"] += int(sub.get("unknown_side", 0))
            for reason, count in (sub.get("rejected") or {}).items():
                report["rejected"][reason] = report["rejected"].get(reason, 0) + count


def roll_row(roll: Roll, plan: Plan, adjust: str) -> dict[str, Any]:
    """A row of the roll table: ``date``, ``time`` (UTC), ``from``, ``to``, ``from_price`` (the
    old contract's last trade before the roll, at ``from_time``), ``to_price`` (the new
    contract's price there, at ``to_time``), ``gap = to_price - from_price`` (whole ticks),
    and ``series_from``/``series_to``: those two prices in the series (equal with ``add``: no jump)."""
    segments = {id(s.held): s for s in plan.segments}
    old, new = segments[id(roll.old)], segments[id(roll.new)]
    return {"date": day_date(roll.day).isoformat(), "time": _iso(roll.time),
            "from": roll.old.contract.code, "to": roll.new.contract.code,
            "from_price": roll.old_trade[1], "to_price": roll.new_trade[1],
            "gap": roll.gap,
            "from_time": _iso(roll.old_trade[0]), "to_time": _iso(roll.new_trade[0]),
            "series_from": float(_moved(np.array([roll.old_trade[1]]), old, plan.tick)[0]),
            "series_to": float(_moved(np.array([roll.new_trade[1]]), new, plan.tick)[0])}


def _bound(pick: Any, a: int | None, b: int | None) -> int | None:
    """``pick(a, b)`` of the bounds that are not None (None: neither bounds)."""
    given = [x for x in (a, b) if x is not None]
    return pick(given) if given else None


def _iso(ns: int | None) -> str | None:
    return None if ns is None else pd.Timestamp(int(ns), tz="UTC").isoformat()


def _moved(values: np.ndarray, segment: Segment, tick: float) -> np.ndarray:
    """Prices of ``segment``'s contract in the series: shifted by whole ticks (``add``), or
    multiplied and rounded to the tick grid (``ratio``); as they are otherwise."""
    if segment.shift:
        return values + segment.shift
    if segment.factor != 1.0:
        inverse = 1.0 / tick
        if abs(inverse - round(inverse)) < 1e-9 * inverse:  # 0.25 -> 4: exact decimal prices
            return np.rint(values * segment.factor * round(inverse)) / round(inverse)
        return np.rint(values * segment.factor / tick) * tick
    return values


def _moved_arrays(arrays: dict[str, np.ndarray], segment: Segment, tick: float) -> dict[str, np.ndarray]:
    if not segment.shift and segment.factor == 1.0:
        return arrays
    out = dict(arrays)
    for name in _PRICE_COLUMNS:
        if name in out:
            out[name] = _moved(np.asarray(out[name], dtype=np.float64), segment, tick)
    return out


def _moved_frame(frame: pd.DataFrame, segment: Segment, tick: float) -> pd.DataFrame:
    if not segment.shift and segment.factor == 1.0:
        return frame
    moved = {name: _moved(frame[name].to_numpy(np.float64), segment, tick) for name in _PRICE_COLUMNS if name in frame}
    out = frame.assign(**moved)
    out.attrs = dict(frame.attrs)
    return out


def continuous_source(source: Any, options: LoadOptions, batch_rows: int) -> TickSource:
    """The :class:`TickSource` of kind ``continuous`` over a store or files (``scan_ticks`` with
    ``continuous=ROOT``)."""
    root = options.continuous.strip().upper()
    rule = contract_rule(root, options.expiry)
    roll = parse_roll(options.roll, rule)
    store = source_store(source)
    if isinstance(source, pd.DataFrame):
        contracts: Any = _FileContracts([], root, rule, options, frame=source)
        name = "<DataFrame>"
    elif store is not None:
        contracts = _StoreContracts(store, root, rule)
        name = source_name(source)
    else:
        notes: list[str] = []
        files = source_files(source, notes)
        contracts = _FileContracts(files, root, rule, options)
        contracts.notes.extend(notes)
        name = source_name(source, files)
    reader = ContinuousReader(contracts, root, rule, roll, options.adjust, name)
    return TickSource("continuous", store=reader, name=name, options=options, batch_rows=batch_rows)


register_continuous(continuous_source)
