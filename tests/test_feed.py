"""OrderFlowFeed: the lines a strategy sees, in both Backtrader run modes."""
from __future__ import annotations

import datetime as dt

import backtrader as bt
import numpy as np
import pandas as pd
import pytest

from data import OrderFlowError, OrderFlowFeed, make_bars
from data.feed import date2num_ns
from data.schema import BAR_COLUMNS
from tests.test_bars import EXPECTED_1MIN


class Record(bt.Strategy):
    """Records every line of the data at every bar."""

    def __init__(self):
        self.rows = []

    def next(self):
        d = self.data
        row = {"datetime": d.datetime.datetime(0)}
        row.update({name: getattr(d.lines, name)[0] for name in BAR_COLUMNS})
        self.rows.append(row)


def run_feed(feed, runonce: bool, preload: bool = True) -> tuple[pd.DataFrame, bt.Strategy]:
    cerebro = bt.Cerebro(runonce=runonce, preload=preload, stdstats=False)
    cerebro.adddata(feed)
    cerebro.addstrategy(Record)
    strategy = cerebro.run()[0]
    return pd.DataFrame(strategy.rows), strategy


@pytest.mark.parametrize("runonce,preload", [(True, True), (False, True), (False, False)])
def test_bar_feed_lines_equal_the_bars(small_ticks, runonce, preload):
    seen, strategy = run_feed(OrderFlowFeed.from_ticks(small_ticks, bars="1min"), runonce, preload)
    assert seen["datetime"].tolist() == [dt.datetime(2024, 3, 1, 9, m) for m in (31, 32, 33)]
    for name in BAR_COLUMNS:
        np.testing.assert_allclose(seen[name], EXPECTED_1MIN[name], rtol=1e-12, err_msg=name)
    assert strategy.data._timeframe == bt.TimeFrame.Minutes and strategy.data._compression == 1


def test_run_modes_give_identical_tick_feeds(small_ticks):
    frames = [run_feed(OrderFlowFeed.from_ticks(small_ticks), runonce)[0] for runonce in (True, False)]
    pd.testing.assert_frame_equal(*frames)
    assert len(frames[0]) == 10
    # Backtrader keeps times as float day numbers: about 10 microseconds of resolution
    assert abs(frames[0]["datetime"].iloc[6] - dt.datetime(2024, 3, 1, 9, 31, 59, 500000)) < dt.timedelta(microseconds=20)
    np.testing.assert_array_equal(frames[0]["delta"], [2, 3, -5, -1.5, 0, 2, 6, -3, -1, 2.5])


@pytest.mark.parametrize("spec,timeframe,compression", [
    (None, bt.TimeFrame.Ticks, 1), ("500t", bt.TimeFrame.Ticks, 500), ("1000v", bt.TimeFrame.Ticks, 1),
    ("5s", bt.TimeFrame.Seconds, 5), ("15min", bt.TimeFrame.Minutes, 15),
    ("1h", bt.TimeFrame.Minutes, 60), ("1D", bt.TimeFrame.Days, 1),
])
def test_timeframe_and_compression_follow_the_spec(small_ticks, spec, timeframe, compression):
    feed = OrderFlowFeed.from_ticks(small_ticks, bars=spec)
    assert (feed.p.timeframe, feed.p.compression) == (timeframe, compression)


def test_local_time_zone_and_date_filter(small_ticks):
    feed = OrderFlowFeed.from_ticks(small_ticks, bars="1min", tz="America/New_York",
                                    fromdate=dt.datetime(2024, 3, 1, 4, 32))
    seen, _ = run_feed(feed, runonce=True)
    # 09:32 and 09:33 UTC are 04:32 and 04:33 in New York (EST, UTC-5); 04:31 is filtered out
    assert seen["datetime"].tolist() == [dt.datetime(2024, 3, 1, 4, 32), dt.datetime(2024, 3, 1, 4, 33)]
    assert seen["delta"].tolist() == [8.0, -1.5]


def test_date2num_matches_backtrader():
    stamps = pd.to_datetime(["1970-01-01", "2024-03-01 09:31:59.5", "2031-12-31 23:59:59.999999"], utc=True, format="ISO8601")
    expected = [bt.date2num(t.to_pydatetime().replace(tzinfo=None)) for t in stamps]
    np.testing.assert_array_equal(date2num_ns(stamps.as_unit("ns").asi8), expected)


def test_from_bars_needs_every_column(small_ticks):
    bars = make_bars(small_ticks, "1min").drop(columns="delta")
    with pytest.raises(OrderFlowError, match="delta"):
        OrderFlowFeed.from_bars(bars)


def test_from_ticks_given_bars_points_to_from_bars_without_printing_the_frame(small_ticks):
    bars = make_bars(small_ticks, "1min")
    with pytest.raises(OrderFlowError) as err:
        OrderFlowFeed.from_ticks(small_ticks, bars=bars)
    message = str(err.value)
    assert "bars= takes a bar spec" in message and "OrderFlowFeed.from_bars(bars)" in message
    assert "delta" not in message and len(message) < 200  # no repr of the frame
    with pytest.raises(OrderFlowError, match="a bar spec is text.*not list"):
        OrderFlowFeed.from_ticks(small_ticks, bars=["1min"])
    with pytest.raises(OrderFlowError, match="from_bars needs a DataFrame of bars.*not NoneType"):
        OrderFlowFeed.from_bars(None)


def test_bounded_buffers_see_the_bars_and_the_indicators_of_unbounded_ones(small_ticks):
    """cerebro.run(exactbars=1): each line keeps as many bars as its readers need (an SMA of the close
    keeps more of the close than of the other lines), so the lines' positions differ; every line still
    reads the bar's value, and the SMA is that of the unbounded run."""
    class Read(Record):
        def __init__(self):
            super().__init__()
            self.sma = bt.ind.SMA(self.data.close, period=3)
            self.smas = []

        def next(self):
            super().next()
            self.smas.append(self.sma[0])

    runs = []
    for exactbars in (0, 1):
        cerebro = bt.Cerebro(stdstats=False, exactbars=exactbars)
        cerebro.adddata(OrderFlowFeed.from_ticks(small_ticks))
        cerebro.addstrategy(Read)
        strategy = cerebro.run()[0]
        runs.append((pd.DataFrame(strategy.rows), strategy.smas))
    (full, full_sma), (bounded, bounded_sma) = runs
    pd.testing.assert_frame_equal(bounded, full)
    assert bounded_sma == full_sma and len(full_sma) == 8  # 10 one-minute bars, the first two without an SMA(3)


def test_indicator_on_an_order_flow_line_in_both_modes(small_ticks):
    """A Backtrader indicator over an extra line sees the same values in both modes."""
    class Cum(bt.Strategy):
        def __init__(self):
            self.total = bt.ind.SumN(self.data.delta, period=2)
            self.values = []

        def next(self):
            self.values.append(self.total[0])

    results = []
    for runonce in (True, False):
        cerebro = bt.Cerebro(runonce=runonce, stdstats=False)
        cerebro.adddata(OrderFlowFeed.from_ticks(small_ticks))
        cerebro.addstrategy(Cum)
        results.append(cerebro.run()[0].values)
    assert results[0] == results[1] == [5.0, -2.0, -6.5, -1.5, 2.0, 8.0, 3.0, -4.0, 1.5]


def test_bulk_preload_equals_bar_by_bar_loading(small_ticks):
    """The column-at-once preload gives what Backtrader's own bar loop gives (same date filter)."""
    window = dict(fromdate=dt.datetime(2024, 3, 1, 9, 31, 30), todate=dt.datetime(2024, 3, 1, 9, 32, 30))
    bulk = OrderFlowFeed.from_ticks(small_ticks, **window)
    looped = OrderFlowFeed.from_ticks(small_ticks, **window)
    looped.addfilter(lambda data: False)  # a filter makes the feed load bar by bar
    seen_bulk, seen_looped = run_feed(bulk, runonce=True)[0], run_feed(looped, runonce=True)[0]
    pd.testing.assert_frame_equal(seen_bulk, seen_looped)
    assert seen_bulk["close"].tolist() == [100.25, 100.5, 100.25, 100.0]


def test_bars_without_optional_groups_show_nan_there(small_ticks):
    core = make_bars(small_ticks, "1min", depth=False, footprint=False)
    seen, _ = run_feed(OrderFlowFeed.from_bars(core), runonce=True)
    np.testing.assert_array_equal(seen["delta"], EXPECTED_1MIN["delta"])
    assert seen["ofi"].isna().all() and seen["poc"].isna().all()
