"""``simulate(orders, source, ...)``: orders executed against the replayed trades and book.

The rules are in the package docstring (:mod:`execution`). How they are computed, for all
orders at once (no Python loop per event; the loops below run over batches of orders, or
over price levels a market order walks):

- arrival: ``a`` = the last event at or before the arrival time (the order sees the state
  after it and every event after it); the cancel's event ``c`` likewise;
- stops and "prints through": the first trade from ``a + 1`` past a price, by
  :meth:`execution.search.RangeMin.first_below` over the trade prices; after a print through,
  the next trade at or through the price, the same way, one step per trade the order uses;
- trailing stops: the stop depends on the running best price, so the trades after arrival are
  read in chunks (all live orders x the chunk's trades, a running maximum along each row), each
  chunk twice as long as the last, until each order triggers or reaches its cancel;
- ``risk_averse``: with ``G`` the volume traded at the order's level and ``S`` its displayed
  size, the volume ahead after event ``t`` is ``max(0, M(t) - G(t))`` with
  ``M(t) = min(S(a) + G(a), min over the level's rows u in (a, t] of S(u) + G(u))`` (trades
  lower it one for one; a shrink of the level below it caps it). ``G - M`` never falls, so
  the first fill is found by binary search over the level's rows with range minima of
  ``S + G``, and from there the order fills ``clip(G(t) - M, 0, size)``;
- ``fifo``: the first execution at the level of an order that joined the queue after the
  order's arrival (:class:`execution.replay.Priority`): one ``searchsorted``; from there
  every executed lot at the price fills the order;
- ``prob:N``: the expected queue position is path dependent (each unexplained shrink is
  split by the sizes ahead and behind), so it steps through the level's rows after arrival
  with all orders in lockstep (one numpy step per row, for every order at once) until each
  order's queue is empty; from there it fills as ``risk_averse`` does.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from data.errors import OrderFlowError
from data.options import duration
from data.ticks import DAY_NS

from .replay import INT64_MAX, Replay, Tape, level_key, replay

__all__ = ["simulate", "parse_queue", "parse_latency", "ORDER_TYPES", "FILL_COLUMNS", "QUEUE_MODELS"]

ORDER_TYPES = ("market", "limit", "stop", "stop_limit", "trail", "trail_limit")
ORDER_COLUMNS = ("id", "time", "side", "type", "price", "size")
FILL_COLUMNS = ("id", "time", "price", "size", "liquidity", "ahead")
QUEUE_MODELS = ("fifo", "risk_averse", "prob:N", "through")
MARKET, LIMIT, STOP, STOP_LIMIT, TRAIL, TRAIL_LIMIT = 0, 1, 2, 3, 4, 5
_NEVER = INT64_MAX
_LADDER = 64  # levels of a full-depth book read per step of a market order's walk
_TRAIL_CELLS = 1 << 20  # trades x trailing stops read per step of their scan


def parse_queue(queue: str) -> tuple[str, float]:
    """``"fifo"`` / ``"risk_averse"`` / ``"prob:N"`` / ``"through"`` -> (model, N); N is 0 unless ``prob``."""
    text = str(queue).strip().lower()
    if text in ("fifo", "risk_averse", "through"):
        return text, 0.0
    if text.startswith("prob:"):
        try:
            power = float(text[5:])
        except ValueError:
            power = float("nan")
        if np.isfinite(power) and power > 0:
            return "prob", power
    raise OrderFlowError(f"queue must be one of fifo, risk_averse, prob:N (N > 0, e.g. prob:2), through; not {queue!r}")


@dataclass
class _Orders:
    id: np.ndarray
    time: np.ndarray
    side: np.ndarray
    kind: np.ndarray
    price: np.ndarray
    size: np.ndarray
    cancel: np.ndarray
    limit: np.ndarray  # the limit price of a stop_limit order (NaN for the others)
    arrival: np.ndarray  # when the order arrives, where the orders say it (ns; _NEVER: time + latency)
    trail_amount: np.ndarray  # a trailing stop's distance from the best trade: an amount (NaN: by percent)
    trail_percent: np.ndarray  # ... or a fraction of that price
    limit_offset: np.ndarray  # a trail_limit's limit price minus its stop

    def take(self, rows: np.ndarray, **changed: np.ndarray) -> "_Orders":
        """The orders ``rows``, with the columns ``changed`` (already taken) replaced."""
        return _Orders(**{name: changed[name] if name in changed else getattr(self, name)[rows]
                          for name in self.__dataclass_fields__})

    @classmethod
    def one(cls, id: Any, time: int, side: int, kind: str, price: float, size: float, *, arrival: int = _NEVER,
            limit: float = np.nan, trail_amount: float = np.nan, trail_percent: float = np.nan,
            limit_offset: float = np.nan) -> "_Orders":
        """One order, as :func:`_check_orders` makes it (times in ns), from a caller that built it whole (the
        broker: one order at a time, where a checked DataFrame costs more than the simulation)."""
        def col(value: Any, dtype: Any) -> np.ndarray:
            return np.array([value], dtype)
        return cls(np.array([id]), col(time, np.int64), col(side, np.int64), col(ORDER_TYPES.index(kind), np.int8),
                   col(price, np.float64), col(size, np.float64), col(_NEVER, np.int64), col(limit, np.float64),
                   col(arrival, np.int64), col(trail_amount, np.float64), col(trail_percent, np.float64),
                   col(limit_offset, np.float64))


def _ns(values: pd.Series, column: str) -> tuple[np.ndarray, np.ndarray]:
    """UTC int64 ns and a missing mask; naive times are UTC."""
    try:
        stamps = pd.to_datetime(values, utc=True)
    except (ValueError, TypeError) as exc:
        raise OrderFlowError(f"unreadable time: {exc}", source="orders", column=column) from None
    index = pd.DatetimeIndex(stamps).as_unit("ns")
    return index.asi8.copy(), np.asarray(index.isna())


def _bad(mask: np.ndarray, problem: str, column: str, values: np.ndarray) -> None:
    if mask.any():
        row = int(np.argmax(mask))
        raise OrderFlowError(problem, source="orders", column=column, row=row + 1, value=values[row])


def _check_orders(orders: Any) -> _Orders:
    if isinstance(orders, _Orders):  # made whole by the caller (_Orders.one)
        return orders
    if not isinstance(orders, pd.DataFrame):
        raise OrderFlowError(f"orders must be a DataFrame with columns {list(ORDER_COLUMNS)}, not {type(orders).__name__}")
    missing = [c for c in ORDER_COLUMNS if c not in orders]
    if missing:
        raise OrderFlowError(f"orders need the columns {list(ORDER_COLUMNS)} (and optionally cancel_time); "
                             f"missing {missing}", source="orders")
    ids = orders["id"].to_numpy()
    dup = pd.Series(ids).duplicated().to_numpy()
    _bad(dup, "order ids must be unique", "id", ids)
    time, missing_time = _ns(orders["time"], "time")
    _bad(missing_time, "missing time", "time", orders["time"].to_numpy())
    side = pd.to_numeric(orders["side"], errors="coerce").to_numpy(np.float64)
    _bad(~np.isin(side, (1.0, -1.0)), "side must be +1 (buy) or -1 (sell)", "side", orders["side"].to_numpy())
    kind_text = orders["type"].astype(str).str.strip().str.lower().to_numpy()
    _bad(~np.isin(kind_text, ORDER_TYPES), f"type must be one of {list(ORDER_TYPES)}", "type", kind_text)
    kind = pd.Index(ORDER_TYPES).get_indexer(kind_text).astype(np.int8)
    price = pd.to_numeric(orders["price"], errors="coerce").to_numpy(np.float64)
    trail = (kind == TRAIL) | (kind == TRAIL_LIMIT)
    _bad((kind == MARKET) & ~np.isnan(price), "a market order has no price (NaN)", "price", price)
    _bad((kind != MARKET) & ~trail & ~np.isfinite(price), "a limit or stop order needs a price", "price", price)
    _bad(trail & np.isinf(price), "a trailing stop's price is its first stop, or NaN", "price", price)

    def numbers(column: str) -> np.ndarray:
        if column not in orders:
            return np.full(len(orders), np.nan)
        return pd.to_numeric(orders[column], errors="coerce").to_numpy(np.float64)

    limit = numbers("limit")
    _bad((kind == STOP_LIMIT) & ~np.isfinite(limit), "a stop_limit order needs its limit price in the column 'limit'",
         "limit", limit)
    amount, percent, offset = numbers("trail_amount"), numbers("trail_percent"), numbers("limit_offset")
    by_percent = trail & np.isnan(amount) & ~np.isnan(percent)
    _bad(trail & ~by_percent & ~(amount > 0), "a trail order needs trail_amount > 0 (or a trail_percent)",
         "trail_amount", amount)
    _bad(by_percent & ~((percent > 0) & (percent < 1)), "trail_percent is a fraction of the price (0.01 = 1 %), "
         "above 0 and below 1", "trail_percent", percent)
    _bad((kind == TRAIL_LIMIT) & ~np.isfinite(offset), "a trail_limit order needs its limit price minus its stop "
         "in the column 'limit_offset'", "limit_offset", offset)
    size = pd.to_numeric(orders["size"], errors="coerce").to_numpy(np.float64)
    _bad(~(np.isfinite(size) & (size > 0)), "size must be a number > 0", "size", size)
    cancel = np.full(len(orders), _NEVER, np.int64)
    if "cancel_time" in orders:
        ns, none = _ns(orders["cancel_time"], "cancel_time")
        cancel = np.where(none, _NEVER, ns)
        _bad(~none & (ns < time), "cancel_time is before the order's time", "cancel_time",
             orders["cancel_time"].to_numpy())
    arrival = np.full(len(orders), _NEVER, np.int64)
    if "arrival" in orders:
        ns, none = _ns(orders["arrival"], "arrival")
        arrival = np.where(none, _NEVER, ns)
        _bad(~none & (ns < time), "arrival is before the order's time", "arrival", orders["arrival"].to_numpy())
    return _Orders(ids, time, side.astype(np.int64), kind, price, size, cancel, limit, arrival,
                   np.where(trail & ~by_percent, amount, np.nan), np.where(by_percent, percent, np.nan), offset)


def parse_latency(latency: Any) -> int | str:
    """None -> 0; ``"feed"`` -> ``"feed"``; a duration (``"2ms"``, a Timedelta) -> its nanoseconds (>= 0)."""
    if latency is None:
        return 0
    if isinstance(latency, str) and latency.strip().lower() == "feed":
        return "feed"
    return int(duration(latency, "latency", "'2ms', or 'feed'").value)


def no_order_ids(name: str) -> OrderFlowError:
    """The refusal of queue ``fifo`` on the source ``name``, which has no order ids (a place in the queue
    is known only from them)."""
    return OrderFlowError(f"queue fifo needs order ids (Databento MBO, LOBSTER): {name} has none; use "
                          "risk_averse or prob:N")


def no_receive_times(name: str) -> OrderFlowError:
    """The refusal of latency ``feed`` on the source ``name``, which has no receive times."""
    return OrderFlowError(f"latency feed needs the feed's receive times (a Databento MBO file's ts_recv): {name} "
                          "has none in a usable form; give a constant latency such as '2ms'")


def fill_tick_size(rp: Replay, tick_size: float | None) -> float:
    """The tick a simulation counts ``slippage_ticks`` in: ``tick_size`` (checked), else the one the
    replay inferred from its prices."""
    if tick_size is None:
        return rp.tick_size
    tick = float(tick_size) if np.isfinite(float(tick_size)) and float(tick_size) > 0 else float("nan")
    if not np.isfinite(tick):
        raise OrderFlowError("tick_size must be a number > 0", value=tick_size)
    return tick


def _arrival(times: np.ndarray, latency: Any, rp: Replay) -> np.ndarray:
    """``times`` plus the entry latency (``_NEVER`` stays)."""
    never = times == _NEVER
    shift = parse_latency(latency)
    if shift == "feed":
        if getattr(rp, "receive_delay", None) is None:  # a tape has none
            raise no_receive_times(rp.name)
        state = np.searchsorted(rp.time, np.where(never, 0, times), side="right") - 1
        delay = rp.receive_delay[np.maximum(state, 0)]
        return np.where(never, _NEVER, times + delay)
    return np.where(never, _NEVER, times + np.int64(shift))


class _Fills:
    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, ...]] = []

    def add(self, order, time, price, size, maker: bool, ahead) -> None:
        order = np.asarray(order, np.int64)
        if not len(order):
            return
        n = len(order)
        self.parts.append((order, np.broadcast_to(np.asarray(time, np.int64), n), np.broadcast_to(np.asarray(price, float), n),
                           np.broadcast_to(np.asarray(size, float), n), np.full(n, maker),
                           np.broadcast_to(np.asarray(ahead, float), n)))

    def frame(self, ids: np.ndarray) -> pd.DataFrame:
        if self.parts:
            order, time, price, size, maker, ahead = (np.concatenate(col) for col in zip(*self.parts))
        else:
            order, time, price, size, maker, ahead = (np.zeros(0, t) for t in (np.int64, np.int64, float, float, bool, float))
        rank = np.lexsort((np.arange(len(order)), order, time))
        return pd.DataFrame({
            "id": ids[order[rank]],
            "time": pd.DatetimeIndex(time[rank].view("M8[ns]")).tz_localize("UTC"),
            "price": price[rank], "size": size[rank],
            "liquidity": np.where(maker[rank], "maker", "taker"),
            "ahead": ahead[rank],
        })


class _Sim:
    def __init__(self, rp: Replay, fills: _Fills, slippage: float) -> None:
        self.rp = rp
        self.fills = fills
        self.slippage = slippage
        self._trade_rows = None

    # ------------------------------------------------------------------ taking liquidity

    def take(self, idx, side, size, cap, state, when, end, wait: bool) -> np.ndarray:
        """Orders that take liquidity from the state ``state`` on (fills stamped ``when``); a
        market order's rest waits for the book to show prices it has not taken (``wait``), up
        to event ``end``. Returns what is left of each order."""
        rp = self.rp
        rem = np.asarray(size, np.float64).copy()
        if rp.book is None:  # trades only: the first trade after arrival, plus the slippage
            tr = rp.trades
            i = np.searchsorted(tr.seq, state, side="right")
            ok = i < len(tr.seq)
            ok[ok] &= tr.seq[i[ok]] <= end[ok]
            j = i[ok]
            self.fills.add(idx[ok], rp.time[tr.seq[j]], tr.price[j] + side[ok] * self.slippage, rem[ok], False, np.nan)
            rem[ok] = 0.0
            return rem
        lo = np.full(len(idx), np.inf)
        hi = np.full(len(idx), -np.inf)
        self._walk(idx, side, rem, lo, hi, cap, state, when)
        if not wait:
            return rem
        cur = np.asarray(state, np.int64).copy()
        live = np.flatnonzero(rem > 0)
        while len(live):
            nxt = np.full(len(live), rp.n, np.int64)
            for s in (1, -1):
                sel = np.flatnonzero(side[live] == s)
                if not len(sel):
                    continue
                k = live[sel]
                below = rp.book.best_min(-s, above=False).first_below(cur[k] + 1, lo[k])
                above = rp.book.best_min(-s, above=True).first_below(cur[k] + 1, -hi[k])
                nxt[sel] = np.minimum(below, above)
            ok = nxt <= end[live]
            live, nxt = live[ok], nxt[ok]
            if not len(live):
                break
            cur[live] = nxt
            sub_rem = rem[live]
            sub_lo, sub_hi = lo[live], hi[live]
            self._walk(idx[live], side[live], sub_rem, sub_lo, sub_hi, cap[live], nxt, rp.time[nxt])
            rem[live], lo[live], hi[live] = sub_rem, sub_lo, sub_hi
            live = live[rem[live] > 0]
        return rem

    def _walk(self, idx, side, rem, lo, hi, cap, state, when) -> None:
        """Take the book's levels after ``state`` best first, outside the price range already taken
        (``lo..hi``) and within ``cap`` (NaN: none), until ``rem`` is done (all updated in place)."""
        book = self.rp.book
        when = np.broadcast_to(np.asarray(when, np.int64), len(idx))
        for s in (1, -1):
            sel = np.flatnonzero((side == s) & (rem > 0))
            chunk = 0
            while len(sel):
                got = book.ladder(-s, state[sel], chunk, _LADDER)
                if got is None:
                    break
                px, sz = got
                inside = (px >= lo[sel, None]) & (px <= hi[sel, None])
                c = cap[sel, None]
                within = np.isnan(c) | ((px <= c) if s > 0 else (px >= c))
                avail = np.where((sz > 0) & np.isfinite(px) & ~inside & within, sz, 0.0)
                before = np.cumsum(avail, axis=1) - avail
                take = np.clip(rem[sel, None] - before, 0.0, avail)
                r, col = np.nonzero(take > 0)
                self.fills.add(idx[sel[r]], when[sel[r]], px[r, col], take[r, col], False, np.nan)
                rem[sel] -= take.sum(axis=1)
                taken = take > 0
                lo[sel] = np.minimum(lo[sel], np.where(taken, px, np.inf).min(axis=1))
                hi[sel] = np.maximum(hi[sel], np.where(taken, px, -np.inf).max(axis=1))
                sel = sel[rem[sel] > 1e-12 * np.maximum(rem[sel], 1.0)]
                chunk += 1

    # ------------------------------------------------------------------ stops and limits

    def triggered(self, idx, o: _Orders, a, c) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The stops among ``idx`` that a trade at or through their price triggers after arrival and
        before their cancel: (those orders, the state they then act on, the trigger's time)."""
        tr = self.rp.trades
        if not len(idx) or not len(tr.seq):
            return idx[:0], idx[:0], idx[:0]
        start = np.searchsorted(tr.seq, a[idx], side="right")
        j = np.where(o.side[idx] > 0, tr.first(start, o.price[idx], above=True, strict=False),
                     tr.first(start, o.price[idx], above=False, strict=False))
        ok = j < len(tr.seq)
        ok[ok] &= tr.seq[j[ok]] <= c[idx][ok]
        return (idx[ok], *self._trigger(j[ok]))

    def _trigger(self, j) -> tuple[np.ndarray, np.ndarray]:
        """For stops triggered by trades ``j``: the state they act on and the trigger's time."""
        rp = self.rp
        trigger = rp.trades.seq[j]
        state = trigger if rp.settle is None or rp.book is None else rp.settle[trigger]
        return state, rp.time[trigger]

    def trailed(self, idx, o: _Orders, a, c) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The trailing stops among ``idx`` that trigger after arrival and before their cancel: (those
        orders, the state they then act on, the trigger's time, the stop then).

        In the sell's terms (a buy's prices negated, ``v = -side * price``), the stop before trade ``k``
        is ``max(first stop, f(max(v over the trades since arrival before k)))`` with ``f(m) = m - amount``
        or ``m * (1 + side * percent)``; the order triggers at the first ``k`` with ``v[k] <= stop``. The
        trades are read in chunks of every live order at once (a running maximum per row), each chunk
        twice the last."""
        tr = self.rp.trades
        empty = (idx[:0], idx[:0], idx[:0], np.zeros(0))
        if not len(idx) or not len(tr.seq):
            return empty
        side = o.side[idx].astype(np.float64)
        pos = np.searchsorted(tr.seq, a[idx], side="right")
        end = np.searchsorted(tr.seq, c[idx], side="right")  # trades up to the cancel's event
        first = np.where(np.isnan(o.price[idx]), -np.inf, -side * o.price[idx])
        amount, factor = o.trail_amount[idx], 1.0 + side * o.trail_percent[idx]
        best = np.full(len(idx), -np.inf)
        hit = np.full(len(idx), -1, np.int64)
        stop_at = np.full(len(idx), np.nan)

        def stop(m: np.ndarray, live: np.ndarray) -> np.ndarray:
            a_, f_ = amount[live, None], factor[live, None]
            return np.maximum(first[live, None], np.where(np.isnan(a_), m * f_, m - a_))

        def scan(live: np.ndarray, width: int) -> np.ndarray:
            """The next ``width`` trades of the orders ``live``; returns those that did not trigger."""
            cols = pos[live, None] + np.arange(width)
            valid = cols < end[live, None]
            v = np.where(valid, -side[live, None] * tr.price[np.minimum(cols, len(tr.seq) - 1)], -np.inf)
            run = np.maximum(np.maximum.accumulate(v, axis=1), best[live, None])
            before = stop(np.concatenate([best[live, None], run[:, :-1]], axis=1), live)
            fire = valid & (v <= before)
            got = fire.any(axis=1)
            k = fire.argmax(axis=1)
            done = live[got]
            hit[done] = pos[done] + k[got]
            stop_at[done] = -side[done] * before[got, k[got]]
            best[live] = run[:, -1]
            pos[live] += width
            return live[~got]

        step = 16
        live = np.flatnonzero(pos < end)
        while len(live):  # each step twice as many trades, the orders in blocks of at most _TRAIL_CELLS cells
            width = int(min(step, (end[live] - pos[live]).max()))
            rows = max(1, _TRAIL_CELLS // width)
            live = np.concatenate([scan(live[i:i + rows], width) for i in range(0, len(live), rows)])
            live = live[pos[live] < end[live]]
            step *= 2
        ok = hit >= 0
        return (idx[ok], *self._trigger(hit[ok]), stop_at[ok])

    def limits(self, idx, side, price, size, a, when, c, model: str, power: float) -> None:
        """Limit orders acting from the state after ``a`` (taker fills stamped ``when``): marketable
        ones take the book up to their price, the rest rests. On a trades-only source (queue
        ``through``), an order whose first trade after arrival is at or better than its price is
        marketable and fills there, whole (plus the slippage, capped at its price)."""
        rp = self.rp
        left = np.asarray(size, np.float64).copy()
        if rp.book is None:
            tr = rp.trades
            i = np.searchsorted(tr.seq, a, side="right")
            ok = i < len(tr.seq)
            ok[ok] &= tr.seq[i[ok]] <= c[ok]
            at = tr.price[np.minimum(i, max(len(tr.seq) - 1, 0))] if len(tr.seq) else np.full(len(idx), np.nan)
            mk = np.flatnonzero(ok & np.where(side > 0, at <= price, at >= price))
            paid = np.where(side[mk] > 0, np.minimum(at[mk] + self.slippage, price[mk]),
                            np.maximum(at[mk] - self.slippage, price[mk]))
            self.fills.add(idx[mk], rp.time[tr.seq[i[mk]]], paid, left[mk], False, np.nan)
            left[mk] = 0.0
        else:
            bid, _ = rp.book.best(1, a)
            ask, _ = rp.book.best(-1, a)
            mk = np.flatnonzero(np.where(side > 0, price >= ask, price <= bid))  # NaN (empty side) compares False
            if len(mk):
                left[mk] = self.take(idx[mk], side[mk], left[mk], price[mk], a[mk], when[mk], c[mk], wait=False)
        resting = left > 1e-12 * np.asarray(size, np.float64)
        self.rest(idx[resting], side[resting], price[resting], left[resting], a[resting], c[resting], model, power)

    # ------------------------------------------------------------------ resting in the queue

    def rest(self, idx, side, price, size, a, c, model: str, power: float) -> None:
        """Limit orders resting at ``price`` from the state after ``a`` until event ``c``."""
        rp = self.rp
        tr = rp.trades
        start = np.searchsorted(tr.seq, a, side="right")
        j = np.where(side > 0, tr.first(start, price, above=False, strict=True, hitting=1),
                     tr.first(start, price, above=True, strict=True, hitting=-1))
        through = np.where(j < len(tr.seq), tr.seq[np.minimum(j, max(len(tr.seq) - 1, 0))], _NEVER) \
            if len(tr.seq) else np.full(len(idx), _NEVER)
        end = np.minimum(c, through - 1)
        ahead = np.full(len(idx), np.nan) if rp.book is None else rp.book.size_at_price(side, price, a)
        if model == "through":
            filled = np.zeros(len(idx))
        elif model == "fifo":
            filled = self._fifo(idx, side, price, size, a, end, ahead)
        else:
            filled = self._l2(idx, side, price, size, a, end, ahead, power if model == "prob" else 0.0)
        self._swept(idx, side, price, size - filled, j, c, ahead)

    def _swept(self, idx, side, price, left, j, c, ahead) -> None:
        """From the first trade through the price (trade ``j``): the queue ahead is gone, and that
        trade and every later one at or through the price fill the order, each up to its size."""
        rp = self.rp
        tr = rp.trades
        if not len(tr.seq):
            return
        k = np.minimum(j, len(tr.seq) - 1)
        live = np.flatnonzero((j < len(tr.seq)) & (tr.seq[k] <= c) & (left > 1e-12 * np.maximum(left, 1.0)))
        left = left.copy()
        while len(live):
            take = np.minimum(tr.size[k[live]], left[live])
            self.fills.add(idx[live], rp.time[tr.seq[k[live]]], price[live], take, True, ahead[live])
            left[live] -= take
            nxt = np.where(side[live] > 0, tr.first(k[live] + 1, price[live], above=False, strict=False, hitting=1),
                           tr.first(k[live] + 1, price[live], above=True, strict=False, hitting=-1))
            k[live] = np.minimum(nxt, len(tr.seq) - 1)
            go = (nxt < len(tr.seq)) & (left[live] > 1e-12)
            go[go] &= tr.seq[k[live[go]]] <= c[live[go]]
            live = live[go]

    def _expand(self, idx, i0, i_last, theta, size, cum, vol, seq, price, ahead, scale, offset=None) -> np.ndarray:
        """Fills at rows ``i0..i_last`` of a volume stream (``cum`` its running sum): the order's
        filled volume after row ``i`` is ``clip((cum[i] - theta) - offset, 0, size)``, all in units of
        ``1 / scale`` (None: 1) of a size; ``theta`` a value of ``cum`` less whole units, ``offset`` (0
        when None) what is not, so that ``cum[i] - theta`` is exact wherever ``cum`` is. Returns the
        filled, in sizes."""
        size = size * (scale or 1.0)
        offset = np.zeros(len(idx)) if offset is None else offset
        filled = np.zeros(len(idx))
        ok = (i0 >= 0) & (i0 <= i_last)
        if not ok.any():
            return filled
        k = np.flatnonzero(ok)
        stop = np.searchsorted(cum, theta[k] + (offset[k] + size[k] * (1 - 1e-12)), side="left") + 1  # (+1: rounding)
        last = np.minimum(i_last[k], stop)
        count = last - i0[k] + 1
        rep = np.repeat(np.arange(len(k)), count)
        row = i0[k][rep] + (np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count))
        th, sz, off = theta[k][rep], size[k][rep], offset[k][rep]
        got = np.clip((cum[row] - th) - off, 0.0, sz) - np.clip((cum[row] - vol[row] - th) - off, 0.0, sz)
        keep = got > 1e-12 * sz
        o = k[rep[keep]]
        self.fills.add(idx[o], self.rp.time[seq[row[keep]]], price[o], got[keep] / (scale or 1.0), True, ahead[o])
        filled[k] = np.clip((cum[last] - theta[k]) - offset[k], 0.0, size[k]) / (scale or 1.0)
        return filled

    def _fifo(self, idx, side, price, size, a, end, ahead) -> np.ndarray:
        q = self.rp.queue
        level = q.find(level_key(side, price))
        has = level >= 0
        i0 = np.full(len(idx), -1, np.int64)
        i_last = np.full(len(idx), -2, np.int64)
        theta = np.zeros(len(idx))
        if has.any():
            lv = level[has]
            j = q.reached(lv, a[has])
            j_ok = j < q.offsets[lv + 1]
            i0[has] = np.where(j_ok, j, -1)
            i_last[has] = q.last_by(lv, end[has])
            jj = np.minimum(j, len(q.seq) - 1)
            theta[has] = q.cum[jj] - q.size[jj]
        return self._expand(idx, i0, i_last, theta, size, q.cum, q.size, q.seq, price, ahead, q.scale)

    def _l2(self, idx, side, price, size, a, end, ahead, power: float) -> np.ndarray:
        lv = self.rp.book.levels
        level = lv.find(level_key(side, price))
        n = len(idx)
        first = np.full(n, -1, np.int64)
        theta = np.zeros(n)
        offset = np.zeros(n)
        r_end = np.full(n, -2, np.int64)
        has = np.flatnonzero(level >= 0)
        if len(has):
            li = level[has]
            r0 = lv.rows_after(li, a[has])
            r_last = lv.rows_after(li, end[has]) - 1
            h_a = np.where(np.isnan(ahead[has]), np.inf, lv.units(ahead[has])) + lv.cum_at(li, a[has])
            if power > 0:
                e, th, offset[has] = self._prob(r0, r_last, lv.units(ahead[has]), power)
            else:
                e, th = self._risk_averse(r0, r_last, h_a)
            first[has], theta[has], r_end[has] = e, th, r_last
        if self._trade_rows is None:
            self._trade_rows = np.flatnonzero(lv.traded > 0)
        rows = self._trade_rows
        i0 = np.where(first >= 0, np.searchsorted(rows, first), -1)
        i_last = np.searchsorted(rows, r_end, side="right") - 1
        return self._expand(idx, i0, i_last, theta, size, lv.cum[rows], lv.traded[rows], lv.seq[rows], price, ahead,
                            lv.scale, offset)

    def _risk_averse(self, r0, r_last, h_a) -> tuple[np.ndarray, np.ndarray]:
        """First row where the traded volume passes the queue bound (binary search), and the bound."""
        lv = self.rp.book.levels
        rmq = lv.queue_min
        # whole units: passed by one at least; else a float's rounding
        tol = 0.5 if lv.scale is not None else 1e-12 * max(float(lv.cum[-1]) if len(lv.cum) else 0.0, 1.0)
        lo, hi = r0.copy(), r_last + 1
        live = np.flatnonzero(lo < hi)
        while len(live):
            mid = (lo[live] + hi[live]) // 2
            bound = np.minimum(h_a[live], rmq.min(r0[live], mid))
            passed = lv.cum[mid] - bound > tol
            hi[live] = np.where(passed, mid, hi[live])
            lo[live] = np.where(passed, lo[live], mid + 1)
            live = live[lo[live] < hi[live]]
        fired = lo <= r_last
        theta = np.where(fired, np.minimum(h_a, rmq.min(r0, np.where(fired, lo, r0))), 0.0)
        return np.where(fired, lo, -1), theta

    def _prob(self, r0, r_last, ahead0, power: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Step every order through its level's rows at once until its queue is passed (sizes in the
        levels' units)."""
        lv = self.rp.book.levels
        m = len(r0)
        row = r0.copy()
        ahead = np.where(np.isnan(ahead0), np.inf, ahead0)
        expected = ahead0.astype(np.float64).copy()  # displayed size expected from the last update and trades since
        first = np.full(m, -1, np.int64)
        theta = np.zeros(m)
        offset = np.zeros(m)
        live = np.flatnonzero(row <= r_last)
        while len(live):
            r = row[live]
            x = lv.traded[r]
            trade = x > 0
            a, e = ahead[live], expected[live]
            fire = trade & (a < x)
            first[live[fire]] = r[fire]
            theta[live[fire]] = lv.cum[r[fire]] - x[fire]
            offset[live[fire]] = a[fire]
            passed = trade & ~fire
            a = np.where(passed, a - x, a)
            e = np.where(passed, e - x, e)
            s = lv.units(lv.size[r])
            known = ~trade & ~np.isnan(s)
            shrink = np.where(known & ~np.isnan(e), e - s, 0.0)
            cut = (shrink > 0) & np.isfinite(a) & (a > 0)
            if cut.any():
                behind = np.maximum(e - a, 0.0)
                fa = np.where(cut, a, 0.0) ** power
                fb = np.where(cut, behind, 0.0) ** power
                share = np.where(cut, fa / np.where(fa + fb > 0, fa + fb, 1.0), 0.0)
                a = np.where(cut, np.maximum(a - shrink * share, 0.0), a)
            a = np.where(known, np.minimum(a, s), a)
            e = np.where(known, s, np.where(trade, e, np.nan))
            ahead[live], expected[live] = a, e
            row[live] = r + 1
            live = live[~fire & (r + 1 <= r_last[live])]
        return first, theta, offset


def simulate(
    orders: pd.DataFrame,
    source: Any,
    *,
    queue: str = "risk_averse",
    latency: Any = None,
    slippage_ticks: float = 0,
    tick_size: float | None = None,
) -> pd.DataFrame:
    """Execute ``orders`` against the trades and the book of ``source``; one row per fill.

    ``orders``: ``id`` (unique), ``time`` (when sent; naive times are UTC), ``side`` (+1 buy,
    -1 sell), ``type`` (``market``, ``limit``, ``stop``, ``stop_limit``, ``trail``,
    ``trail_limit``), ``price`` (NaN for a market order; the limit or the stop price; a trailing
    stop's first stop, or NaN to start from the first trade after arrival), ``size`` (> 0),
    optional ``cancel_time`` (NaT: never), ``limit`` (the limit price of a ``stop_limit``),
    ``trail_amount`` / ``trail_percent`` (a trailing stop's distance from the best price, an
    amount or a fraction of it; the amount where both are given), ``limit_offset`` (a
    ``trail_limit``'s limit price minus its stop) and ``arrival`` (when the order reaches the
    exchange, not before ``time``; NaT: ``time`` plus the latency).
    ``source``: anything :func:`execution.replay.replay` takes (a path, a tick DataFrame, a
    :class:`~execution.replay.Replay`), or a :class:`~execution.replay.Tape` (a source read by windows,
    :func:`_simulate_tape`: the same fills). ``queue``: ``"fifo"``, ``"risk_averse"``, ``"prob:N"``
    or ``"through"``.
    ``latency``: None (0), a duration (``"2ms"``, a ``Timedelta``) or ``"feed"``.
    ``slippage_ticks``: added against a market order on a source without quotes, in ticks of
    ``tick_size`` (inferred from the source's prices when None).

    Returns ``id, time, price, size, liquidity, ahead``: ``liquidity`` is ``"taker"`` (took the
    book) or ``"maker"`` (rested and was hit); ``ahead`` is the volume ahead of a resting
    limit order at its arrival (NaN for taker fills, and where the source could not see the
    order's level at arrival). Sorted by time. The rules are in :mod:`execution`'s docstring.
    """
    if isinstance(source, Tape):
        return _simulate_tape(orders, source, queue=queue, latency=latency, slippage_ticks=slippage_ticks,
                              tick_size=tick_size)
    o = _check_orders(orders)
    rp = replay(source)
    model, power = parse_queue(queue)
    try:
        slip = float(slippage_ticks)
    except (TypeError, ValueError):
        slip = float("nan")
    if not np.isfinite(slip) or slip < 0:
        raise OrderFlowError("slippage_ticks must be a number >= 0", value=slippage_ticks)
    tick = fill_tick_size(rp, tick_size)
    resting = (o.kind == LIMIT) | (o.kind == STOP_LIMIT) | (o.kind == TRAIL_LIMIT)
    if resting.any() and rp.book is None and model != "through":
        raise OrderFlowError(f"{rp.name} has trades only (no quotes): a limit order's place in the queue needs the "
                             "book (the displayed size at its price); give a source with quotes, or queue='through' "
                             "(fills only from trades through the price)")
    if resting.any() and model == "fifo" and rp.queue is None:
        raise no_order_ids(rp.name)
    given = o.arrival != _NEVER
    arrive = np.where(given, o.arrival, _arrival(np.where(given, _NEVER, o.time), latency, rp))
    cancel = _arrival(o.cancel, latency, rp)
    a = np.searchsorted(rp.time, arrive, side="right") - 1
    c = np.where(cancel == _NEVER, rp.n - 1, np.searchsorted(rp.time, np.minimum(cancel, _NEVER - 1), side="right") - 1)
    fills = _Fills()
    sim = _Sim(rp, fills, slip * tick)
    nan = np.full(len(o.side), np.nan)
    kind = np.where(cancel < arrive, -1, o.kind)  # an order whose cancel arrives first never acts

    m = np.flatnonzero(kind == MARKET)
    if len(m):
        sim.take(m, o.side[m], o.size[m], nan[m], a[m], arrive[m], c[m], wait=True)

    s, state, when = sim.triggered(np.flatnonzero(kind == STOP), o, a, c)
    if len(s):
        sim.take(s, o.side[s], o.size[s], nan[s], state, when, c[s], wait=True)

    limit = np.flatnonzero(kind == LIMIT)
    if len(limit):
        sim.limits(limit, o.side[limit], o.price[limit], o.size[limit], a[limit], arrive[limit], c[limit], model, power)
    s, state, when = sim.triggered(np.flatnonzero(kind == STOP_LIMIT), o, a, c)
    if len(s):
        sim.limits(s, o.side[s], o.limit[s], o.size[s], state, when, c[s], model, power)

    s, state, when, _ = sim.trailed(np.flatnonzero(kind == TRAIL), o, a, c)
    if len(s):
        sim.take(s, o.side[s], o.size[s], nan[s], state, when, c[s], wait=True)
    s, state, when, stop = sim.trailed(np.flatnonzero(kind == TRAIL_LIMIT), o, a, c)
    if len(s):
        sim.limits(s, o.side[s], stop + o.limit_offset[s], o.size[s], state, when, c[s], model, power)
    return fills.frame(o.id)


def _simulate_tape(orders: pd.DataFrame, tape: Tape, *, queue: str = "risk_averse", latency: Any = None,
                  slippage_ticks: float = 0, tick_size: float | None = None) -> pd.DataFrame:
    """:func:`execution.simulate` on a :class:`Tape`: each order on windows from the UTC day of its
    arrival, doubling until it is finished (module docstring); the same fills as on the whole source.
    A live tape's orders still open at ``known_until`` keep the fills known so far."""
    o = _check_orders(orders)
    parse_queue(queue)
    shift = parse_latency(latency)
    shift = 0 if shift == "feed" else shift  # a tape has no receive times: the first window says so
    size = o.size
    cancel = np.where(o.cancel == INT64_MAX, INT64_MAX, o.cancel + shift)
    # each order's arrival (given, or sent + latency): moved on when it waits, untouched, for the next window
    arrive = np.where(o.arrival != INT64_MAX, o.arrival, o.time + shift)
    tick = tick_size if tick_size is not None else tape.tick_size
    frames: list[pd.DataFrame] = []
    waiting: dict[int, list[np.ndarray]] = {}  # first day of the window -> the orders that start there
    for d, rows in pd.Series(np.arange(len(arrive))).groupby(arrive // DAY_NS).indices.items():
        waiting[int(d)] = [np.asarray(rows)]
    while waiting:  # day by day, forward: every window of a day starts there (the tape reads on)
        d = min(waiting)
        rows, k = np.sort(np.concatenate(waiting.pop(d))), 1
        while len(rows):
            start, end = d * DAY_NS, (d + k) * DAY_NS
            capped = end >= tape.known_until  # the window holds all the tape knows
            rp = tape.window(start, min(end, tape.known_until))
            got = simulate(o.take(rows, arrival=arrive[rows]), rp, queue=queue, latency=latency,
                           slippage_ticks=slippage_ticks, tick_size=tick)
            pos = rows[pd.Index(o.id[rows]).get_indexer(got["id"].to_numpy())]
            filled = np.bincount(np.searchsorted(rows, pos), weights=got["size"].to_numpy(), minlength=len(rows))
            done = (filled >= size[rows] * (1 - 1e-12)) | (cancel[rows] < end) | (end >= tape.end_ns) | capped
            keep = np.isin(pos, rows[done])
            frames.append(got[keep].assign(_pos=pos[keep]))
            rows, unfilled = rows[~done], filled[~done] == 0
            if not len(rows):
                break
            moves = _untouched(rp, rows, o, arrive, unfilled)
            if moves.any():  # on to the next day, as they arrived
                arrive[rows[moves]] = end - 1
                waiting.setdefault(d + k, []).append(rows[moves])
            rows, k = rows[~moves], k * 2
    if not frames:  # no orders
        return _Fills().frame(o.id)
    out = pd.concat(frames, ignore_index=True)
    order = np.lexsort((np.arange(len(out)), out["_pos"].to_numpy(), pd.DatetimeIndex(out["time"]).asi8))
    return out.iloc[order].drop(columns="_pos").reset_index(drop=True)


def _untouched(rp: Replay, rows: np.ndarray, o: Any, arrival: np.ndarray, unfilled: np.ndarray) -> np.ndarray:
    """Which of the unfinished orders ``rows`` (with no fill yet where ``unfilled``) are still as they
    arrived at the window's end: no event after their arrival, or a stop (stop-limit) whose price no
    trade after its arrival reached. Such an order acts the same when it arrives just before the next
    window (the state after the window's last event)."""
    arrive = arrival[rows]
    events_after = np.searchsorted(rp.time, arrive, side="right") < rp.n
    tr = rp.trades
    t_time = rp.time[tr.seq]
    kind = o.kind[rows]
    stop = (kind == STOP) | (kind == STOP_LIMIT)
    # the highest and lowest trade from each trade on: a buy stop is reached if the highest after its arrival
    # is at or above its price, a sell stop if the lowest is at or below
    high = np.append(np.maximum.accumulate(tr.price[::-1])[::-1], -np.inf)
    low = np.append(np.minimum.accumulate(tr.price[::-1])[::-1], np.inf)
    after = np.searchsorted(t_time, arrive, side="right")
    price = o.price[rows]
    reached = np.where(o.side[rows] > 0, high[after] >= price, low[after] <= price)
    return unfilled & (~events_after | (stop & ~reached))
