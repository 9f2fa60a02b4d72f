"""Does the order-flow edge survive execution? The strongest short-horizon signal of each real book,
traded with bar fills, market orders after a latency, and passive limit orders in the queue.

    python -m tools.fills_study [--shared ../shared] [--out study.md]

For each book of :func:`tools.real_books.real_books` (LOBSTER AMZN and GOOG, the ES MBO file, the
Binance BTCUSDT and ETHUSDT captures) at its shortest horizon ``L`` (10 s; 1 s on the captures):

- **the signal**: the measure of :data:`tools.real_books.BOOK_MEASURES` whose correlation with the
  next interval's mid change has the largest t-statistic (:func:`tools.real_books.relation_table`),
  traded in the direction of that correlation. At each bar's close ``t`` where the measure is
  beyond its median absolute value (over the day: an in-sample threshold, which flatters the
  signal), one unit is bought (or sold) and closed at ``t + L``. Nothing else is optimised.
- **bar fills**: entry and exit at the first trade after ``t`` and after ``t + L`` (the next
  bar's open, what ``--fills bar`` does).
- **market, latency 0 / 1 ms / 10 ms**: entry and exit are market orders sent at ``t`` and
  ``t + L``, filled by :func:`execution.simulate` against the book.
- **passive, queue model Q**: the entry is a limit order at our side's best price at ``t``
  (the bid for a buy), cancelled at ``t + L`` when it has not filled; what filled is closed
  by a market order at ``t + L``. ``fifo`` where the source has order ids.

Per mode: trades (round trips that filled), fill ratio (units filled / units sent, the entry
legs), gross P&L per trade in ticks (the mid just before the exit fill minus the mid just
before the entry fill: the move the signal caught), net P&L per trade in ticks (at the fill prices; no commissions or
fees), the spread paid per trade in ticks (gross minus net: what crossing, latency and queue
cost) and, for passive entries, the adverse selection: the mid move from just before the entry
fill to ``L`` after it, in ticks in our favour (negative: the fills came just before the price moved against us).
The P&L of a unit in ticks counts a tick of the book's own grid.
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import pandas as pd

from execution import replay, simulate
from tools import emit, unrooted
from tools import real_books as rb

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
BOOKS = {
    "LOBSTER AMZN": "realdata/lobster/LOBSTER_SampleFile_AMZN_2012-06-21_1.zip",
    "LOBSTER GOOG": "realdata/lobster/LOBSTER_SampleFile_GOOG_2012-06-21_1.zip",
    "CME ESH4 MBO": "realdata/databento/esh4-glbx-mdp3-20231225.mbo.dbn.zst",
    "Binance BTCUSDT perp": "realdata/binance_stream/usdm_btcusdt_20240808.gz",
    "Binance ETHUSDT perp": "realdata/binance_stream/usdm_ethusdt_20240808.gz",
}
LATENCIES = ("0ms", "1ms", "10ms")


def signal(book: rb.Book, spec: str) -> tuple[str, float, pd.DataFrame]:
    """The measure with the largest |t| of its next-interval correlation, that correlation, and the
    trades it makes: ``time`` (bar close, UTC), ``side`` (+1/-1)."""
    relation = rb.relation_table(book, spec)
    relation = relation.drop(index="OFI (quotes at trades)", errors="ignore")
    t_next = relation["t next"].astype(np.float64).abs()
    name = str(t_next.idxmax())
    corr = float(relation.loc[name, "corr next"])
    bars = rb.book_bars(book, spec)
    x = rb.measure_frame(bars)[name].to_numpy(np.float64)
    strong = np.isfinite(x) & (np.abs(x) > np.nanmedian(np.abs(x))) & (x != 0)
    side = (np.sign(x) * np.sign(corr))[strong].astype(np.int64)
    return name, corr, pd.DataFrame({"time": bars.index[strong], "side": side})


def _orders(times: pd.Series, side: np.ndarray, kind: str, price: np.ndarray | None = None,
            cancel: pd.Series | None = None, size: np.ndarray | None = None) -> pd.DataFrame:
    frame = pd.DataFrame({"id": np.arange(len(times)), "time": pd.DatetimeIndex(times), "side": side, "type": kind,
                          "price": np.nan if price is None else price,
                          "size": 1.0 if size is None else size})
    if cancel is not None:
        frame["cancel_time"] = pd.DatetimeIndex(cancel)
    return frame


def _average(fills: pd.DataFrame, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per order id 0..n-1: units filled, average fill price, first fill time (ns; -1 when none)."""
    size = np.zeros(n)
    price = np.full(n, np.nan)
    first = np.full(n, -1, np.int64)
    if len(fills):
        ids = fills["id"].to_numpy(np.int64)
        qty = fills["size"].to_numpy(np.float64)
        size = np.bincount(ids, qty, n)
        value = np.bincount(ids, qty * fills["price"].to_numpy(np.float64), n)
        with np.errstate(invalid="ignore", divide="ignore"):
            price = np.where(size > 0, value / size, np.nan)
        t = pd.DatetimeIndex(fills["time"]).as_unit("ns").asi8
        order = np.lexsort((t, ids))
        head = np.r_[True, ids[order][1:] != ids[order][:-1]]
        first[ids[order][head]] = t[order][head]
    return size, price, first


def _row(mode: str, sent: int, side: np.ndarray, qty: np.ndarray, entry: np.ndarray, exit_: np.ndarray,
         entry_t: np.ndarray, exit_t: np.ndarray, quotes: pd.DataFrame, tick: float, length: int,
         passive: bool) -> dict:
    done = (qty > 0) & np.isfinite(entry) & np.isfinite(exit_) & (entry_t >= 0) & (exit_t >= 0)
    s, q = side[done], qty[done]
    # the mids in force just before each fill's event (the fill's own event may already move the mid)
    mid_in, mid_out = rb.mid_at(quotes, entry_t[done] - 1), rb.mid_at(quotes, exit_t[done] - 1)
    gross = s * (mid_out - mid_in) / tick
    net = s * (exit_[done] - entry[done]) / tick
    adverse = s * (rb.mid_at(quotes, entry_t[done] + length) - mid_in) / tick if passive else np.array([])

    def mean(v: np.ndarray) -> float:
        v = v[np.isfinite(v)]
        return float(v.mean()) if len(v) else math.nan

    return {"mode": mode, "trades": int(done.sum()), "fill ratio": float(q.sum()) / sent if sent else math.nan,
            "gross / trade": mean(gross), "net / trade": mean(net), "spread paid / trade": mean(gross - net),
            "adverse selection": mean(adverse) if passive else math.nan}


def study_book(book: rb.Book, path: Path) -> tuple[str, pd.DataFrame]:
    """The heading line and the table of one book."""
    spec = book.specs[0]
    length = int(pd.Timedelta(spec).value)
    name, corr, trades = signal(book, spec)
    rp = replay(path)
    tick = book.tick_size
    side = trades["side"].to_numpy(np.int64)
    t0 = pd.DatetimeIndex(trades["time"]).tz_convert("UTC")
    t1 = t0 + pd.Timedelta(length, "ns")
    n = len(trades)
    rows = []
    # bar fills: the first trade after t and after t + L
    price = rp.trades.price
    trade_t = rp.time[rp.trades.seq]
    i0 = np.searchsorted(trade_t, t0.asi8, side="right")
    i1 = np.searchsorted(trade_t, t1.asi8, side="right")
    ok = i1 < len(trade_t)
    entry = np.where(ok, price[np.minimum(i0, len(price) - 1)], np.nan)
    exit_ = np.where(ok, price[np.minimum(i1, len(price) - 1)], np.nan)
    rows.append(_row("bar fills", n, side, np.ones(n), entry, exit_, np.where(ok, trade_t[np.minimum(i0, len(price) - 1)], -1),
                     np.where(ok, trade_t[np.minimum(i1, len(price) - 1)], -1), book.quotes, tick, length, False))
    for latency in LATENCIES:
        e = _average(simulate(_orders(t0, side, "market"), rp, latency=latency), n)
        x = _average(simulate(_orders(t1, -side, "market"), rp, latency=latency), n)
        rows.append(_row(f"market, latency {latency}", n, side, np.minimum(e[0], x[0]), e[1], x[1], e[2], x[2],
                         book.quotes, tick, length, False))
    touch = np.where(side > 0, rb_best(rp, t0.asi8, 1), rb_best(rp, t0.asi8, -1))
    queues = (["fifo"] if rp.queue is not None else []) + ["risk_averse", "prob:2"]
    for queue in queues:
        limit = _orders(t0, side, "limit", price=touch, cancel=pd.Series(t1))
        valid = np.isfinite(touch)
        e = _average(simulate(limit[valid].reset_index(drop=True).assign(id=np.flatnonzero(valid)), rp, queue=queue), n)
        filled = e[0] > 0
        x = (np.zeros(n), np.full(n, np.nan), np.full(n, -1, np.int64))
        if filled.any():
            out = _orders(pd.Series(t1[filled]), -side[filled], "market", size=e[0][filled])
            out["id"] = np.flatnonzero(filled)
            x = _average(simulate(out, rp), n)
        rows.append(_row(f"passive, {queue}", int(valid.sum()), side, np.minimum(e[0], x[0]), e[1], x[1], e[2], x[2],
                         book.quotes, tick, length, True))
    head = (f"#### {book.name}: {name} at {spec}, corr next {corr:+.3f}; {n:,} signals, tick {tick:g}")
    return head, pd.DataFrame(rows)


def rb_best(rp, times_ns: np.ndarray, side: int) -> np.ndarray:
    """Our side's best price in force at each time (the bid for +1, the ask for -1); NaN before the book."""
    state = np.searchsorted(rp.time, times_ns, side="right") - 1
    prices = rp.book.bid if side > 0 else rp.book.ask
    return np.where(state >= 0, prices[np.maximum(state, 0)], np.nan)


def markdown(table: pd.DataFrame) -> str:
    cols = list(table.columns)
    lines = ["| " + " | ".join(cols) + " |", "|---|" + "---:|" * (len(cols) - 1)]
    for _, r in table.iterrows():
        cells = [str(r["mode"]), f"{r['trades']:,}"] + [
            "-" if not np.isfinite(v) else (f"{100 * v:.0f} %" if c == "fill ratio" else f"{v:+.2f}")
            for c, v in ((c, float(r[c])) for c in cols[2:])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def report(shared: Path = SHARED) -> str:
    books, skipped = rb.real_books(shared)
    parts = []
    for book in books:
        if book.name not in BOOKS:
            continue
        head, table = study_book(book, Path(shared) / BOOKS[book.name])
        parts.append(head + "\n\n" + markdown(table))
    parts += [f"(skipped: {unrooted(note, shared)})" for note in skipped if note.split(":")[0] in BOOKS]
    return "\n\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=SHARED, help="the shared/ folder (default ../shared)")
    parser.add_argument("--out", type=Path, default=None, help="also write the markdown here")
    args = parser.parse_args(argv)
    text = report(args.shared)
    return emit(text, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
