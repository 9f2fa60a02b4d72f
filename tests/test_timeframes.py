"""Several timeframes in Backtrader (data.timeframes): closed coarser bars and developing bars beside
the base feed, in runonce and next modes, with no look-ahead; the engine's --timeframes and the
two-timeframe example strategy."""
from __future__ import annotations

import contextlib
import io

import backtrader as bt
import numpy as np
import pandas as pd
import pytest

import run_backtest as rb
from data import OrderFlowError, OrderFlowFeed, footprint, make_bars, resample_bars
from data.feed import date2num_ns
from data.ticks import timestamps_ns
from data.timeframes import CoarserBars, delivery_times, replaydata, resampledata
from indicators import CumulativeVolumeDelta
from research import RunConfig, run
from strategies import STRATEGIES, TrendImbalance, describe_strategies
from tests.benchmarks.common import TICK, synthetic_ticks

LINES = ("open", "high", "low", "close", "volume", "delta", "delta_high", "delta_low", "vwap", "trades", "ofi",
         "bid_size", "poc", "vah", "val", "buy_imbalances", "sell_stack", "large_buy_volume")
START = pd.Timestamp("2024-01-02T14:30Z")  # where synthetic_ticks start


@pytest.fixture(scope="module")
def ticks() -> pd.DataFrame:
    """About 70 minutes of ticks from 14:30 UTC; nothing trades in the minute before each quarter hour
    (the 14:44, 14:59 ... minutes), so those base bars are missing and a 15-minute bar is complete
    before its own time."""
    frame = synthetic_ticks(20_000, trades_per_second=5)
    return frame[frame["timestamp"].dt.minute % 15 != 14].reset_index(drop=True)


@pytest.fixture(scope="module")
def base(ticks) -> tuple[pd.DataFrame, pd.DataFrame]:
    return make_bars(ticks, "1min", tick_size=TICK), footprint(ticks, "1min", TICK)


class Recorder(bt.Strategy):
    """Per step: the base bar's time and the coarser feed's time, length and lines, and a CVD of it."""

    def __init__(self) -> None:
        self.coarse = self.datas[1]
        self.cvd = CumulativeVolumeDelta(self.coarse)
        self.rows: list[tuple] = []

    def prenext(self) -> None:
        self.next()

    def next(self) -> None:
        c = self.coarse
        seen = len(c) > 0
        self.rows.append((self.data.datetime[0], len(self.data), len(c), c.datetime[0] if seen else None,
                          tuple(getattr(c, name)[0] for name in LINES) if seen else None,
                          self.cvd.cvd[0] if seen else None))


def record(bars: pd.DataFrame, add, runonce: bool, exactbars: int = 0) -> list[tuple]:
    cerebro = bt.Cerebro(runonce=runonce, stdstats=False, exactbars=exactbars)
    feed = OrderFlowFeed.from_bars(bars, "1min")
    cerebro.adddata(feed)
    add(cerebro, feed)
    cerebro.addstrategy(Recorder)
    return cerebro.run()[0].rows


def same(a: list[tuple], b: list[tuple]) -> bool:
    """Equal rows, NaN equal to NaN."""
    return len(a) == len(b) and all(repr(x) == repr(y) for x, y in zip(a, b))


def test_delivery_times() -> None:
    """A bar goes with the first base bar at or after its time, one bar per base bar, none after the last."""
    base = np.array([10, 20, 40, 50])
    assert list(delivery_times(np.array([10, 15, 20, 30, 35, 50, 60]), base)) == [10, 20, 40, 50, -1, -1, -1]


@pytest.mark.parametrize("spec", ["15min", "session"])
def test_coarser_bars_of_base_bars_that_come_a_few_at_a_time_are_the_backtests(base, spec) -> None:
    """Base bars (and their footprint rows) handed over 1, 2, 3 ... at a time: every coarser bar is
    ``resample_bars`` of all of them (every line, the footprint lines too), each delivered with the base
    bar ``delivery_times`` gives, and only the open coarser bar's base bars (and one before) are kept."""
    bars, table = base
    if spec == "session":  # the same bars again the next day (and the next): UTC-day sessions that close
        days = [pd.Timedelta(days=d) for d in range(3)]
        bars = pd.concat([bars.set_axis(bars.index + d) for d in days]).rename_axis("timestamp")
        bars.attrs = dict(base[0].attrs)
        table = pd.concat([table.set_axis(table.index.set_levels(table.index.levels[0] + d, level=0)) for d in days])
        table.attrs = dict(base[1].attrs)
    closed = resample_bars(bars, spec, footprint=table)
    when = delivery_times(timestamps_ns(closed.index), timestamps_ns(bars.index))
    coarser = CoarserBars(spec)
    delivered, most_held, position, size = [], 0, 0, 1
    stamps = table.index.get_level_values("timestamp")
    while position < len(bars):
        chunk = bars.iloc[position:position + size]
        rows = table[(stamps > (bars.index[position - 1] if position else stamps[0] - pd.Timedelta(1))) &
                     (stamps <= chunk.index[-1])]
        coarser.add(chunk, rows)
        position += len(chunk)
        most_held = max(most_held, coarser.held)
        for k in range(position):  # the bars a strategy at base bar k would be handed
            bar = coarser.take(k)
            if bar is not None:
                delivered.append((int(bars.index[k].value), bar))
        size = size % 4 + 1
    seen = when >= 0
    got = pd.concat([bar for _, bar in delivered])
    pd.testing.assert_frame_equal(got, closed[seen], check_exact=True)
    assert got["poc"].notna().all() and got["buy_imbalances"].notna().all()  # the footprint rows came along
    assert [w for w, _ in delivered] == when[seen].tolist()
    if spec == "15min":  # 14:45 has no base bar: the 14:45 bar goes with the 14:46 one
        assert pd.Timestamp("2024-01-02T14:46Z").value in [w for w, _ in delivered]
        assert most_held <= 15 + 1 + 4  # one coarser bar's base bars, the one before, a chunk
    else:  # each day's session bar goes with the next day's first bar; the last day's is never seen
        assert len(got) == 2 and [w for w, _ in delivered] == [int(bars.index[k].value) for k in (len(bars) // 3,
                                                                                             2 * len(bars) // 3)]
    assert coarser.held < len(bars) / 2 and sum(len(t) for t in coarser._tables) < len(table) / 2  # let go


def test_closed_bars_keep_every_line_arrive_on_time_and_agree_in_both_modes(base) -> None:
    bars, table = base
    closed = resample_bars(bars, "15min", footprint=table)

    def add(cerebro, feed):
        resampledata(cerebro, feed, "15min", footprint=table)

    fast, slow = record(bars, add, True), record(bars, add, False)
    assert same(fast, slow)
    assert len(fast) == len(bars)  # the strategy steps with the base bars only
    stamps = date2num_ns(timestamps_ns(closed.index))
    for when, _, n, coarse_time, values, cvd in fast:
        if n == 0:
            assert when < stamps[0]
            continue
        k = n - 1
        assert coarse_time == stamps[k] <= when  # never before its time
        assert k + 1 == len(stamps) or when < stamps[k + 1]  # and the next one not yet
        np.testing.assert_array_equal(values, closed[list(LINES)].iloc[k].to_numpy())
        assert cvd == closed["delta"].iloc[: k + 1].sum()
    # 14:45 has no base bar (nothing traded 14:44-14:45): the 14:45 bar arrives with the 14:46 bar
    arrival = {row[3]: row[0] for row in reversed(fast) if row[3] is not None}
    quarter = date2num_ns(np.array([pd.Timestamp("2024-01-02T14:45Z").value]))[0]
    assert arrival[quarter] == date2num_ns(np.array([pd.Timestamp("2024-01-02T14:46Z").value]))[0]


def test_developing_bar_sees_only_ticks_up_to_now(ticks) -> None:
    """At the base bar of 14:37 the developing 15-minute bar (14:30, 14:45] is exactly the bar the
    ticks up to 14:37 make; its CVD is the ticks' CVD up to 14:37; changing every tick after 14:37
    changes nothing the strategy saw up to then; and each bar's last state is the closed bar.

    Large trades here are those of 20 or more (the default percentile judges the first 10,000
    trades by their own sizes: a base bar of the first block already depends on later trades)."""
    large = {"large": 20.0}
    bars, table = make_bars(ticks, "1min", tick_size=TICK, footprint_params=large), footprint(ticks, "1min", TICK)

    def add(cerebro, feed):
        replaydata(cerebro, feed, "15min", footprint=table)

    fast, slow = record(bars, add, True), record(bars, add, False)
    assert same(fast, slow) and len(fast) == len(bars)
    now = pd.Timestamp("2024-01-02T14:37Z")
    row = next(r for r in fast if r[0] == date2num_ns(np.array([now.value]))[0])
    upto = ticks[ticks["timestamp"] <= now]
    direct = make_bars(upto, "15min", tick_size=TICK, footprint_params=large).iloc[-1]
    assert row[2] == 1  # the first 15-minute bar, still forming
    for name, value in zip(LINES, row[4]):
        if name == "vwap":
            assert value == pytest.approx(direct[name], rel=1e-12)
        else:
            assert value == direct[name], name
    flow = np.where(upto["side"] == 1, upto["size"], np.where(upto["side"] == -1, -upto["size"], 0.0))
    assert row[5] == flow.sum()

    later = ticks.copy()
    after = later["timestamp"] > now
    later.loc[after, "size"] *= 3
    later.loc[after, "price"] += 2.0
    changed_bars = make_bars(later, "1min", tick_size=TICK, footprint_params=large)
    changed_table = footprint(later, "1min", TICK)
    changed = record(changed_bars, lambda c, f: replaydata(c, f, "15min", footprint=changed_table), False)
    cut = next(i for i, r in enumerate(fast) if r[0] > row[0])
    assert same(changed[:cut], fast[:cut]) and not same(changed[cut:], fast[cut:])

    closed = resample_bars(bars, "15min", footprint=table)
    finals = [fast[i][4] for i in range(len(fast)) if i + 1 == len(fast) or fast[i + 1][2] != fast[i][2]]
    np.testing.assert_array_equal(np.array(finals), closed[list(LINES)].to_numpy())


def test_a_developing_bar_is_written_in_one_step_per_base_bar(base, monkeypatch) -> None:
    """The developing feed copies each base bar's state into its lines' arrays at once, without a
    call of Backtrader's per-line ``line[0] = value`` for each of its dozens of lines (about half of
    what loading it cost), with the same values."""
    bars, table = base
    want = record(bars, lambda c, f: replaydata(c, f, "15min", footprint=table), False)
    calls = []
    original = bt.linebuffer.LineBuffer.__setitem__

    def counted(self, ago, value):
        calls.append(self)
        return original(self, ago, value)

    monkeypatch.setattr(bt.linebuffer.LineBuffer, "__setitem__", counted)
    cerebro = bt.Cerebro(stdstats=False)
    feed = OrderFlowFeed.from_bars(bars, "1min")
    cerebro.adddata(feed)
    developing = replaydata(cerebro, feed, "15min", footprint=table)
    cerebro.addstrategy(bt.Strategy)
    cerebro.run()
    own = {id(line) for line in developing.line_targets()}
    assert sum(id(line) in own for line in calls) == 0 and len(own) > 40
    monkeypatch.undo()
    assert same(record(bars, lambda c, f: replaydata(c, f, "15min", footprint=table), False), want)


def test_coarser_feeds_refuse_bounded_buffers(base) -> None:
    """cerebro.run(exactbars=1) bounds the line buffers, and Backtrader steps a coarser bar that came too
    early back into a buffer that has dropped the bar before (the strategy would see the next coarser bar
    early): one clear error; exactbars -1 and -2, which keep the feeds whole, see what the default run sees."""
    bars, table = base
    for add in (lambda c, f: replaydata(c, f, "15min", footprint=table),
                lambda c, f: resampledata(c, f, "15min", footprint=table)):
        with pytest.raises(OrderFlowError, match="needs whole line buffers.*exactbars 0"):
            record(bars, add, False, exactbars=1)
        assert same(record(bars, add, False, exactbars=-2), record(bars, add, False))


def test_a_strategy_without_its_feed_says_how_to_add_it(base) -> None:
    bars, _ = base
    cerebro = bt.Cerebro()
    cerebro.adddata(OrderFlowFeed.from_bars(bars, "1min"))
    cerebro.addstrategy(TrendImbalance)
    with pytest.raises(OrderFlowError, match="--timeframes 15min"):
        cerebro.run()


class Audited(TrendImbalance):
    """TrendImbalance recording, per base bar, the stacked-imbalance signal, the trend and the decision."""

    def __init__(self) -> None:
        super().__init__()
        self.audit: list[tuple] = []

    def entry_signal(self) -> int:
        decision = super().entry_signal()
        self.audit.append((self.data.datetime[0], super(TrendImbalance, self).entry_signal(), self.trend[0], decision))
        return decision


def test_trend_imbalance_takes_stacks_only_with_the_coarser_cvd_trend(ticks, base) -> None:
    bars, _ = base
    closed = resample_bars(bars, "15min")
    result = run(RunConfig(data=ticks, strategy=Audited, bars="1min", params={"min_stack": 2, "trend_period": 1}))
    audit = result.strategy.audit
    stamps = date2num_ns(timestamps_ns(closed.index))
    assert any(d and t * d > 0 for _, d, t, _ in audit) and any(d and t * d < 0 for _, d, t, _ in audit)
    for when, stack, trend, decision in audit:
        assert decision == (stack if stack and stack * trend > 0 else 0)
        k = np.searchsorted(stamps, when, side="right") - 1  # the last closed 15-minute bar
        if k >= 1:
            assert trend == closed["delta"].iloc[k]  # cvd[0] - cvd[-1] of closed bars
    assert len(result.trades) > 0
    assert "trend_imbalance:" in describe_strategies() and STRATEGIES["trend_imbalance"] is TrendImbalance


def test_the_engine_adds_the_timeframes_with_footprints(ticks) -> None:
    config = RunConfig(data=ticks, strategy="cvd_trend", bars="1min", timeframes=("15min", "1h"))
    assert config.all_timeframes == ("15min", "1h")
    assert RunConfig(strategy="trend_imbalance", timeframes=("1h", "15min")).all_timeframes == ("1h", "15min")
    held = run(RunConfig(data=ticks, strategy="trend_imbalance", bars="1min", keep_ticks=True, timeframes=("1h",)))
    names = [d._name for d in held.cerebro.datas[1:]]
    assert names == ["1h", "15min"]
    quarter = held.cerebro.datasbyname["15min"]
    assert np.isfinite(np.asarray(quarter.poc.array)).all()
    in_memory = run(RunConfig(data=ticks, strategy="trend_imbalance", bars="1min"))  # ticks read, not kept
    assert np.array_equal(np.asarray(in_memory.cerebro.datasbyname["15min"].poc.array), np.asarray(quarter.poc.array))
    developing = run(RunConfig(data=ticks, strategy="trend_imbalance", bars="1min", developing=True))
    assert type(developing.cerebro.datasbyname["15min"]).__name__ == "DevelopingFeed"
    assert len(developing.equity) == len(held.equity)


FOOTPRINT_LINES = ("poc", "vah", "val", "buy_imbalances", "sell_imbalances", "buy_stack", "sell_stack_low")


def coarse_lines(result, name: str = "15min") -> dict[str, np.ndarray]:
    feed = result.cerebro.datasbyname[name]
    return {line: np.asarray(getattr(feed, line).array) for line in FOOTPRINT_LINES}


@pytest.mark.parametrize("developing", [False, True])
def test_streamed_and_cached_bars_give_the_coarser_feeds_their_footprint_lines(ticks, tmp_path, developing) -> None:
    """--bars 1min --timeframes 15min on a folder (the bars streamed), then again from the bar cache:
    the 15-minute feed's footprint lines are those of the run holding the ticks."""
    folder = tmp_path / "ticks"
    folder.mkdir()
    half = len(ticks) // 2
    ticks.iloc[:half].to_parquet(folder / "a.parquet", index=False)
    ticks.iloc[half:].to_parquet(folder / "b.parquet", index=False)
    common = dict(strategy="cvd_trend", bars="1min", timeframes=("15min",), developing=developing)
    cache = dict(cache=True, cache_dir=str(tmp_path / "cache"))
    held = coarse_lines(run(RunConfig(data=ticks, keep_ticks=True, **common)))
    assert all(np.isfinite(held[line]).any() for line in FOOTPRINT_LINES)
    assert np.isfinite(held["poc"]).all()
    streamed = run(RunConfig(data=str(folder), **cache, **common))
    cached = run(RunConfig(data=str(folder), **cache, **common))
    assert streamed.cache["hit"] is False and cached.cache["hit"] is True
    for result in (streamed, cached):
        got = coarse_lines(result)
        for line in FOOTPRINT_LINES:
            np.testing.assert_array_equal(got[line], held[line], err_msg=line)


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = rb.main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(("argv", "message"), [
    (["--bars", "2min", "--timeframes", "5min"], "error: bad --timeframes '5min': 5min bars cannot be made from 2min"),
    (["--timeframes", ","], "error: bad --timeframes ','"),
    (["--strategy", "trend_imbalance", "--param", "trend_bars=90s"], "error: 90s bars cannot be made from 1min"),
])
def test_bad_timeframes_are_one_error_line(tmp_path, argv, message) -> None:
    code, _, err = run_cli([*argv, "--out", str(tmp_path), "--no-plot", "--quiet"])
    assert code == 2 and err.startswith(message) and err.count("\n") == 1


def test_the_command_line_runs_two_timeframes(tmp_path) -> None:
    code, out, err = run_cli(["--strategy", "trend_imbalance", "--timeframes", "1h,session", "--developing",
                              "--out", str(tmp_path), "--no-plot", "--quiet"])
    assert code == 0, err
    assert "trend_bars=15min" in out and (tmp_path / "metrics.json").exists()
    code, out, _ = run_cli(["--list-strategies"])
    assert "trend_imbalance: Trade stacked imbalances on the base bars in the direction of the CVD trend" in out
