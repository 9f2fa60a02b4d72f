"""The public entry points that take ticks in memory or a tick source, and dispatch once.

:func:`load_ticks` reads one file or DataFrame with the loader (:mod:`data.reading.loader`),
and a folder, glob, list of files, tick store or :func:`data.scan_ticks` source, or any
source read with a time window or a symbol, through the sources (:mod:`data.reading.sources`).
:func:`make_bars` makes the bars of a DataFrame of ticks in memory (:mod:`data.bars.make`)
and streams any other source batch by batch (:mod:`data.bars.stream`): the same bars.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from data.bars import make
from data.bars.spec import BarSpec
from data.bars.stream import bars_from_source
from data.options import BarOptions, LoadOptions
from data.reading import loader
from data.reading.sources import TickSource, is_many, scan_ticks

__all__ = ["load_ticks", "make_bars"]


def load_ticks(
    source: "str | Path | pd.DataFrame | Sequence[str | Path] | TickSource",
    *,
    options: LoadOptions | None = None,
    **keywords: Any,
) -> pd.DataFrame:
    """Load ticks into the canonical tick schema: ``timestamp, price, size, side`` plus whichever
    of ``bid, ask, bid_size, ask_size`` the input has, sorted by time (stable), with the load
    report in ``attrs["load_report"]``.

    ``source``: a file (CSV, Parquet, JSON, feather and the vendor formats, detected from the
    content, then the extension: see :func:`data.reading.loader.load_ticks`) or a DataFrame;
    or many files as one source: a folder, a glob, a list of files, a tick store
    (:mod:`data.store.dataset`) or a :func:`data.scan_ticks` source, read in time order (see
    :mod:`data.reading.sources`: overlaps, duplicate trade ids, ``allow_overlap``). The report
    of such a source lists the files read with rows and rejected rows per file (a store:
    files and row groups read out of the total).

    ``options``: :class:`data.options.LoadOptions`, or its fields as keywords: ``columns``
    (``{"Last": "price"}``), ``format``, ``tz`` (the zone of zone-less times), ``on_bad_rows``
    (``"raise"`` or ``"drop"``: reject and count), ``start``/``end`` (keep times in
    ``[start, end)``), ``symbol`` (one instrument), ``allow_overlap``, ``progress`` (a bar on
    stderr; None: when a terminal); ``continuous`` (a futures root, ``"ES"``: its contracts as one
    series across the rolls) with ``roll``, ``adjust`` and ``expiry`` (:mod:`data.reading.continuous`).
    A time window, a symbol or a continuous contract reads even one file as a source.
    Raises :class:`data.OrderFlowError` for bad input, naming the file, column and first bad row.
    """
    options = LoadOptions.of(options, **keywords)
    if is_many(source) or options.selects:
        return scan_ticks(source, options=options).load()
    return loader.load_ticks(source, options=options)


def make_bars(
    ticks: "pd.DataFrame | str | Path | Sequence[str | Path] | TickSource",
    spec: "BarSpec | str | None" = "1min",
    *,
    quotes: pd.DataFrame | None = None,
    options: BarOptions | None = None,
    **keywords: Any,
) -> pd.DataFrame:
    """Order-flow bars of ``spec`` (``"1min"``, ``"500t"``, ``"1000v"``, None for one bar per
    tick) indexed by bar time (UTC): OHLCV, the core order-flow lines (delta, delta high/low,
    VWAP, imbalance ...), the depth lines and the footprint lines; the columns and their
    formulas are those of :func:`data.bars.make.make_bars`.

    ``ticks``: a DataFrame of canonical ticks (:func:`load_ticks`), aggregated in memory; or a
    tick source (a :func:`data.scan_ticks` source, a file, a folder, a glob, a list of files
    or a tick store), whose bars are built batch by batch in bounded memory
    (:mod:`data.bars.stream`), equal to the bars of all the ticks at once.

    ``options``: :class:`data.options.BarOptions` (every setting beside the spec that changes a
    bar), or its fields as keywords: ``make_bars(ticks, "1min", tick_size=0.25, depth=False)``.
    ``quotes``: a quote stream (:func:`data.load_quotes`) whose every update makes the book lines.
    """
    options = BarOptions.of(options, **keywords)
    if isinstance(ticks, pd.DataFrame):
        return make.make_bars(ticks, spec, quotes=quotes, options=options)
    return bars_from_source(ticks, spec, quotes=quotes, options=options)
