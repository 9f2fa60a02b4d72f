"""A Backtrader feed carrying the order-flow lines, backed by numpy arrays."""
from __future__ import annotations

import zoneinfo
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd

from data.api import make_bars
from data.bars.spec import BarSpec, parse_bar_spec
from data.errors import OrderFlowError
from data.options import BarOptions
from data.schema import BAR_COLUMNS, CORE_BAR_COLUMNS, ORDER_FLOW_LINES
from data.ticks import DAY_NS, timestamps_ns

EPOCH_ORDINAL = 719_163  # datetime.date(1970, 1, 1).toordinal(), Backtrader's day count


def date2num_ns(ts_ns: np.ndarray) -> np.ndarray:
    """UTC epoch nanoseconds -> Backtrader's float day numbers, as ``bt.date2num`` computes them."""
    days, rest = np.divmod(np.asarray(ts_ns, dtype=np.int64), DAY_NS)
    return (days + EPOCH_ORDINAL).astype(np.float64) + rest / DAY_NS


def line_columns(bars: pd.DataFrame) -> list[np.ndarray]:
    """A bars frame as the values of the feed's lines (:meth:`OrderFlowFeed.line_targets`): Backtrader's
    day numbers of the bar times (UTC), every column of ``BAR_COLUMNS`` (NaN for the groups the bars
    leave out) and a zero open interest."""
    index = bars.index if bars.index.tz is not None else bars.index.tz_localize("UTC")
    nan = np.full(len(bars), np.nan)  # optional line groups the bars leave out
    return ([date2num_ns(timestamps_ns(index))] + [bars[name].to_numpy(np.float64) if name in bars else nan
                                                   for name in BAR_COLUMNS] + [np.zeros(len(bars))])


class _Zone(zoneinfo.ZoneInfo):
    """A zoneinfo zone with the ``localize`` Backtrader calls (pytz's spelling)."""

    def localize(self, dt):  # noqa: D102 - Backtrader's protocol
        return dt.replace(tzinfo=self)


class OrderFlowFeed(bt.feed.DataBase):
    """Order-flow bars (or raw ticks, one per bar) as a Backtrader data feed.

    Lines: Backtrader's ``open high low close volume openinterest`` plus every
    name in ``data.schema.ORDER_FLOW_LINES``: the core ``buy_volume sell_volume
    unknown_volume delta delta_high delta_low trades vwap bid_size ask_size
    imbalance inferred_volume``, the book measures (``ofi``, ``tw_imbalance``
    ...) and the footprint numbers (``poc``, ``buy_stack`` ...), see
    ``make_bars``. Bars made without an optional group show NaN in its lines.

    Build it with :meth:`from_ticks` or :meth:`from_bars`; ``dataname`` is a bars
    DataFrame indexed by UTC time. Times are kept in UTC; pass ``tz`` (a zone
    name such as ``"America/Chicago"``) to see local times in strategies and plots.
    Backtrader stores times as float day numbers, which resolve about 10
    microseconds; ticks closer together than that keep their order but not
    their exact stamps. Preloading copies whole columns into the line buffers;
    loading bar by bar reads Python lists made once (no per-cell ``iloc`` as in
    ``PandasData``).
    """

    lines = ORDER_FLOW_LINES
    params = (("bar_spec", None),)

    @classmethod
    def from_ticks(cls, ticks: Any, bars: "str | BarSpec | None" = None, *,
                   quotes: pd.DataFrame | None = None, options: BarOptions | None = None,
                   **kwargs: Any) -> "OrderFlowFeed":
        """A feed of order-flow bars made by :func:`data.make_bars` from ``ticks`` (a DataFrame
        of ticks or a tick source), ``quotes`` (a quote stream from :func:`data.load_quotes`,
        whose every update makes the book lines; None: the quotes carried on the ticks) and
        the bar options: ``options`` (:class:`data.options.BarOptions`) and those of its
        fields among the keywords (``footprint_params={"imbalance": "ninjatrader"}``, a
        platform's imbalance rule for the footprint lines; ``tick_size`` ...).

        ``bars=None`` (or ``"tick"``) gives one tick per bar with timeframe Ticks;
        a time spec sets Backtrader's timeframe and compression from it (``"5min"``
        -> Minutes x 5, ``"1h"`` -> Minutes x 60); ``"500t"`` and ``"1000v"`` bars
        are of timeframe Ticks. Extra keyword arguments go to the feed
        (``name``, ``tz``, ``fromdate``, ``todate`` ...). Bars already made go to
        :meth:`from_bars`.
        """
        if isinstance(bars, pd.DataFrame):
            raise OrderFlowError(
                "bars= takes a bar spec ('1min', '500t', '1000v' or None for one bar per tick), not a "
                "DataFrame; for bars you already have, use OrderFlowFeed.from_bars(bars)"
            )
        spec = parse_bar_spec(bars)
        options = BarOptions.of(options, **BarOptions.take(kwargs))
        return cls.from_bars(make_bars(ticks, spec, quotes=quotes, options=options), spec, **kwargs)

    @classmethod
    def from_bars(cls, bars: pd.DataFrame, spec: "str | BarSpec | None" = None, **kwargs: Any) -> "OrderFlowFeed":
        """A feed over a bars DataFrame (from ``make_bars``); ``spec`` defaults to ``bars.attrs["bar_spec"]``."""
        if not isinstance(bars, pd.DataFrame):
            raise OrderFlowError(f"from_bars needs a DataFrame of bars (from data.make_bars), not {type(bars).__name__}")
        spec = parse_bar_spec(spec if spec is not None else bars.attrs.get("bar_spec"))
        missing = [c for c in CORE_BAR_COLUMNS if c not in bars.columns]
        if missing:
            raise OrderFlowError(f"bars lack column(s) {', '.join(missing)} (build them with data.make_bars)")
        kwargs.setdefault("timeframe", spec.timeframe)
        kwargs.setdefault("compression", spec.compression)
        return cls(dataname=bars, bar_spec=spec.text, **kwargs)

    @property
    def rolls(self) -> np.ndarray:
        """The times of the rolls of a continuous contract (:mod:`data.reading.continuous`) as
        Backtrader day numbers, from the bars' load report (empty for any other data): a bar
        stamped after a roll's time is of the new contract. ``CumulativeVolumeDelta(reset="roll")``
        starts again there."""
        report = getattr(self.p.dataname, "attrs", {}).get("load_report") or {}
        stamps = pd.DatetimeIndex([pd.Timestamp(r["time"]) for r in report.get("rolls") or ()], tz="UTC")
        return date2num_ns(stamps.as_unit("ns").asi8)

    def _gettz(self):
        tz = self.p.tz
        return _Zone(tz) if isinstance(tz, str) else super()._gettz()

    def start(self) -> None:
        super().start()
        bars: pd.DataFrame = self.p.dataname
        columns = line_columns(bars)
        self._datetimes = columns[0]
        self._arrays = list(zip(self.line_targets(), columns))
        self._pairs: list | None = None  # the columns as lists, made on the first bar-by-bar load
        self._n = len(bars)
        self._i = 0

    def line_targets(self) -> list:
        """The feed's lines in the order of :func:`line_columns`: datetime, every bar column, openinterest."""
        return [self.lines.datetime] + [getattr(self.lines, name) for name in BAR_COLUMNS] + [self.lines.openinterest]

    def _load(self) -> bool:
        i = self._i
        if i >= self._n:
            return False
        self._copy_row(i)
        return True

    def _copy_row(self, i: int) -> None:
        """Write bar ``i`` into the lines' current position and move on to bar ``i + 1``. The values
        go straight into the lines' arrays at their current index (what ``line[0] = value`` does, without
        a call per line); a line that an indicator has bound to others is set through Backtrader."""
        if self._pairs is None:  # made at the first load, once the strategies have made their bindings
            self._pairs = [(line, values.tolist()) for line, values in self._arrays if line.bindings]
            self._plain = [(line, values.tolist()) for line, values in self._arrays if not line.bindings]
        # each line at its own index: with bounded buffers (exactbars=1) each line keeps as many bars as
        # its readers need, so the lines' indexes differ
        for line, values in self._plain:
            line.array[line.idx] = values[i]
        for line, values in self._pairs:
            line[0] = values[i]
        self._i = i + 1

    # Backtrader copies every line of the current bar into ``tick_<line>``
    # attributes at every step, for the broker's fills; only the price and volume
    # lines are ever read, so only those are copied (the order-flow lines would
    # double the cost of a step).
    _TICK_LINES = ("close", "low", "high", "open", "volume", "openinterest")

    def _tick_nullify(self) -> None:
        for name in self._TICK_LINES:
            setattr(self, "tick_" + name, None)
        self.tick_last = None

    def _tick_fill(self, force: bool = False) -> None:
        attrs = self.__dict__
        if force or attrs.get("tick_close") is None:  # the lines' current values, read from their arrays
            lines = self.lines
            for name in self._TICK_LINES:
                line = getattr(lines, name)
                attrs["tick_" + name] = line.array[line.idx]
            attrs["tick_last"] = attrs["tick_close"]

    def preload(self) -> None:
        """Copy whole columns into the line buffers at once.

        Equivalent to Backtrader's bar-by-bar preload (``fromdate``/``todate``
        applied the same way: ``fromdate <= t <= todate``); used when no filter
        or input-zone conversion needs to see each bar, else it falls back to it.
        """
        plain = not (self._filters or self._ffilters or self._tzinput or self._barstack or self._barstash)
        if not plain or self._i or len(self._arrays) != self.lines.fullsize():
            return super().preload()
        lo = int(np.searchsorted(self._datetimes, self.fromdate, side="left"))
        hi = int(np.searchsorted(self._datetimes, self.todate, side="right"))
        for line, values in self._arrays:
            line.array.frombytes(np.ascontiguousarray(values[lo:hi], dtype=np.float64).tobytes())
        self._i = self._n
        self.home()
