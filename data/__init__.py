"""Tick data in, order-flow bars and Backtrader feeds out.

    from data import load_ticks, make_bars, OrderFlowFeed
    ticks = load_ticks("my_ticks.csv")
    bars = make_bars(ticks, "1min")
    feed = OrderFlowFeed.from_ticks(ticks, bars="1min")

The package's parts (the public names below are importable from ``data`` itself), from the
bottom up; a module imports only modules of its own floor and those below it
(tests/test_architecture.py checks it):

- shared pieces: :mod:`data.schema` (the column names), :mod:`data.errors` (the one error
  type), :mod:`data.options` (the load and bar options as objects), :mod:`data.ticks` (ticks
  as arrays), :mod:`data.bars.spec` (bar specs and which ticks make each bar),
  :mod:`data.sides` (aggressor side codes and the classifiers that infer them);
- :mod:`data.reading`: files, vendor formats, quotes, many files as one source;
- :mod:`data.bars`: the bars and their measures (delta, depth, footprints), streamed or in memory, and
  ``resample_bars`` (coarser timeframes made from bars, every line by its rule);
- :mod:`data.store`: the partitioned tick store and the bar cache;
- the entry points: :mod:`data.api` (``load_ticks`` and ``make_bars``, which take ticks in
  memory or a source and dispatch once), :mod:`data.feed` (the Backtrader feed),
  :mod:`data.timeframes` (coarser feeds beside it: ``resampledata``, ``replaydata``) and
  :mod:`data.live` (the recorder, the replay server and the live feed, ``LiveOrderFlowFeed``).

The bundled synthetic sample ``data/sample/`` is made by ``python -m tools.make_sample``.
"""
from data.api import load_ticks, make_bars
from data.bars.footprint import absorption, add_footprint_lines, footprint, footprint_stats
from data.bars.imbalance import IMBALANCE_PRESETS, ImbalanceRule, custom, imbalance_rule
from data.bars.metrics import order_flow_metrics
from data.bars.orders import aggressor_orders, large_orders
from data.bars.resample import developing_bars, resample_bars, resample_footprint
from data.bars.spec import BarSpec, parse_bar_spec
from data.bars.stream import BarStream, retain_freed_memory, stream_bars
from data.errors import OrderFlowError
from data.options import BarOptions, LoadOptions
from data.reading import continuous as _continuous  # noqa: F401  (registers continuous contracts with scan_ticks)
from data.reading import formats as _formats  # noqa: F401  (registers the vendor formats with load_ticks)
from data.reading import readers as _readers  # noqa: F401  (registers the book and store readers of data/reading/readers)
from data.reading.quotes import carried_quotes, holds_book, join_quotes, lagged, load_quotes
from data.reading.sources import TickSource, scan_ticks
from data.sides.classify import CLASSIFIERS, bulk_volume_classification, classify
from data.store import dataset as _store  # noqa: F401  (registers the tick store as a source of scan_ticks)
from data.store.cache import cached_bars

_TIMEFRAME_NAMES = ("resampledata", "replaydata", "ResampledFeed", "DevelopingFeed")


def __getattr__(name: str):
    # The feed pulls in Backtrader; import it on first use so that the metrics
    # function and the serverless handler start without it.
    if name == "OrderFlowFeed":
        from data.feed import OrderFlowFeed

        return OrderFlowFeed
    if name == "LiveOrderFlowFeed":
        from data.live.feed import LiveOrderFlowFeed

        return LiveOrderFlowFeed
    if name in _TIMEFRAME_NAMES:
        import data.timeframes

        return getattr(data.timeframes, name)
    raise AttributeError(f"module 'data' has no attribute {name!r}")


__all__ = [
    "OrderFlowError",
    "LoadOptions",
    "BarOptions",
    "BarSpec",
    "parse_bar_spec",
    "load_ticks",
    "load_quotes",
    "join_quotes",
    "carried_quotes",
    "holds_book",
    "lagged",
    "make_bars",
    "order_flow_metrics",
    "OrderFlowFeed",
    "LiveOrderFlowFeed",
    "classify",
    "CLASSIFIERS",
    "bulk_volume_classification",
    "footprint",
    "footprint_stats",
    "add_footprint_lines",
    "absorption",
    "IMBALANCE_PRESETS",
    "ImbalanceRule",
    "custom",
    "imbalance_rule",
    "aggressor_orders",
    "large_orders",
    "scan_ticks",
    "TickSource",
    "BarStream",
    "stream_bars",
    "cached_bars",
    "retain_freed_memory",
    "resample_bars",
    "resample_footprint",
    "developing_bars",
    *_TIMEFRAME_NAMES,
]
