"""Parameter sweeps: the grid, rows equal to single runs, local processes and a real Dask cluster,
resume, and a worker that dies mid-sweep."""
from __future__ import annotations

import math
import pickle
from decimal import Decimal

import pandas as pd
import pytest

from data import OrderFlowError
from research import RunConfig, engine
from research.executors import ProcessExecutor, SerialExecutor
from research.sweep import (
    EXACT_FLOATS,
    Axis,
    Task,
    grid_points,
    load_bars,
    parse_axis,
    parse_grid,
    point_config,
    set_label,
    sweep,
)
from tests.conftest import need_sample
from tests.sweep_helpers import DieOnce

START, END = pd.Timestamp("2024-04-15 00:00", tz="UTC"), pd.Timestamp("2024-04-16 12:00", tz="UTC")


@pytest.fixture(scope="module")
def base() -> RunConfig:
    """A day and a half of the bundled sample in 5-minute bars (about 430 bars): a run takes ~0.1 s."""
    return RunConfig(data=need_sample(), strategy=DieOnce, bars="5min", start=START, end=END)


def missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def assert_same_metrics(row: pd.Series, metrics: dict) -> None:
    for key, value in metrics.items():
        got = row[key]
        if missing(value) or missing(got):
            assert missing(value) and missing(got), (key, got, value)
        else:
            assert got == value, (key, got, value)


# -- the grid --------------------------------------------------------------------------------------------------


def test_parse_axis_values_and_inclusive_ranges() -> None:
    assert parse_axis("slope_period=5:20:5", "cvd_trend") == Axis("slope_period", (5, 10, 15, 20))
    assert parse_axis("slope_period=3,7", "cvd_trend") == Axis("slope_period", (3, 7))
    # decimal steps: 0.1 + 0.1 + 0.1 is not 0.3 in floats, but the range ends on it
    assert parse_axis("min_slope=0.1:0.3:0.1", "cvd_trend").values == (0.1, 0.2, 0.3)
    assert parse_axis("min_slope=0:1:0.4", "cvd_trend").values == (0.0, 0.4, 0.8)  # 1 is off the grid
    assert parse_axis("flat_on_disagree=true,false", "cvd_trend").values == (True, False)
    assert parse_axis("bars=1min,5min", "cvd_trend") == Axis("bars", ("1min", "5min"))
    assert float(Decimal("0.3")) == 0.3


@pytest.mark.parametrize("spec, message", [
    ("slope_period", "NAME=V1,V2"), ("slope_period=", "NAME=V1,V2"), ("slope_period=5:1:1", "STOP >= START"),
    ("slope_period=1:5:0", "STEP must be > 0"), ("slope_period=1:5", "START:STOP:STEP"),
    ("slope_period=1.5,2", "whole number"), ("slope_perod=1,2", "did you mean 'slope_period'"),
    ("slope_period=2,2", "given twice"), ("bars=1min,7x", "bar"), ("slope_period=1,,2", "empty value"),
])
def test_parse_axis_rejects_bad_specs(spec: str, message: str) -> None:
    with pytest.raises(OrderFlowError, match=message):
        parse_axis(spec, "cvd_trend")


def test_grid_is_the_product_last_axis_fastest() -> None:
    axes = parse_grid(["slope_period=5,10", "bars=1min,5min"], "cvd_trend")
    points = grid_points(axes)
    assert points == [{"slope_period": 5, "bars": "1min"}, {"slope_period": 5, "bars": "5min"},
                      {"slope_period": 10, "bars": "1min"}, {"slope_period": 10, "bars": "5min"}]
    assert set_label(points[1]) == "slope_period=5,bars=5min"
    config = point_config(RunConfig(params={"window": 7}), points[1])
    assert (config.params, config.bars) == ({"window": 7, "slope_period": 5}, "5min")
    with pytest.raises(OrderFlowError, match="given twice"):
        parse_grid(["slope_period=5", "slope_period=10"], "cvd_trend")


# -- every row is a single run --------------------------------------------------------------------------------


def test_each_row_equals_a_single_run_exactly(base: RunConfig, tmp_path) -> None:
    axes = [Axis("period", (4, 9)), Axis("bars", ("5min", "15min"))]
    result = sweep(base, axes, out=tmp_path, executor=SerialExecutor(), stats=False)
    assert list(result.table.index) == [0, 1, 2, 3]
    for n, point in enumerate(grid_points(axes)):
        single = engine.run(point_config(base, point))
        row = result.table.loc[n]
        assert row["label"] == set_label(point)
        assert_same_metrics(row, single.metrics)  # read back from sweep.csv: floats round-trip exactly
        daily = result.returns[set_label(point)]
        pd.testing.assert_series_equal(daily.loc[single.daily.index], single.daily, check_names=False, check_freq=False)
    stored = pd.read_parquet(tmp_path / "returns.parquet")
    pd.testing.assert_frame_equal(stored, result.returns, check_freq=False)
    assert result.best == max(range(4), key=lambda n: (result.table.at[n, "sharpe"] or -1e9, -n))


def test_local_processes_give_the_serial_table(base: RunConfig, tmp_path) -> None:
    axes = [Axis("period", (3, 5, 8))]
    serial = sweep(base, axes, executor=SerialExecutor(), stats=False)
    parallel = sweep(base, axes, out=tmp_path, executor=ProcessExecutor(2), stats=False)
    pd.testing.assert_frame_equal(parallel.returns, serial.returns)
    for n in serial.table.index:
        assert_same_metrics(parallel.table.loc[n], serial.table.loc[n].to_dict())


def test_tasks_do_not_carry_the_bars(base: RunConfig) -> None:
    """The bars go once per worker (shared); a task holds only its configuration."""
    loaded = load_bars(base, ["5min"])["5min"]
    task = Task(0, "period=3", point_config(base, {"period": 3}), "5min")
    assert len(pickle.dumps(task)) < len(pickle.dumps(loaded.bars)) / 20


# -- resume ------------------------------------------------------------------------------------------------------


def test_resume_runs_only_the_missing_sets(base: RunConfig, tmp_path) -> None:
    axes = [Axis("period", (3, 5, 8))]
    full = sweep(base, axes, out=tmp_path, executor=SerialExecutor(), stats=False)
    lines = (tmp_path / "sweep.csv").read_text().splitlines(keepends=True)
    (tmp_path / "sweep.csv").write_text("".join(lines[:-1]))  # as if interrupted before the last set
    resumed = sweep(base, axes, out=tmp_path, executor=SerialExecutor(), resume=True, stats=False)
    assert resumed.ran == 1
    pd.testing.assert_frame_equal(resumed.returns, full.returns)
    pd.testing.assert_frame_equal(resumed.table, full.table)
    again = sweep(base, axes, out=tmp_path, executor=SerialExecutor(), resume=True, stats=False)
    assert again.ran == 0
    with pytest.raises(OrderFlowError, match="different sweep"):
        sweep(base, [Axis("period", (3, 5))], out=tmp_path, executor=SerialExecutor(), resume=True)


def test_bad_rank_by_and_splits_fail_before_running(base: RunConfig) -> None:
    with pytest.raises(OrderFlowError, match="unknown --rank-by 'sharp'"):
        sweep(base, [Axis("period", (3,))], rank_by="sharp")
    with pytest.raises(OrderFlowError, match="even number"):
        sweep(base, [Axis("period", (3,))], splits=3)


# -- a worker that dies ------------------------------------------------------------------------------------------


def dying_sweep(base: RunConfig, tmp_path, executor):
    marker = tmp_path / "died"
    config = base.with_params(die_at=5, marker=str(marker))
    axes = [Axis("period", (3, 5, 8, 13))]
    result = sweep(config, axes, out=tmp_path / "out", executor=executor, stats=False)
    assert marker.read_text() == "died"  # the worker running period=5 did die
    reference = sweep(config, axes, executor=SerialExecutor(), stats=False)  # marker present: nobody dies
    pd.testing.assert_frame_equal(result.returns, reference.returns)
    for n in reference.table.index:
        assert_same_metrics(result.table.loc[n], reference.table.loc[n].to_dict())
    return result


def test_process_pool_survives_a_dead_worker(base: RunConfig, tmp_path) -> None:
    result = dying_sweep(base, tmp_path, ProcessExecutor(2))
    assert len(result.table) == 4


# -- a real Dask cluster -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None,
                                  silence_logs=40) as cluster, distributed.Client(cluster) as client:
        yield client


def test_dask_cluster_gives_the_serial_table_and_survives_a_dead_worker(base: RunConfig, tmp_path, dask_client) -> None:
    from research.executors import DaskExecutor

    pids = set(dask_client.run(lambda: __import__("os").getpid()).values())
    result = dying_sweep(base, tmp_path, DaskExecutor(dask_client))
    assert len(result.table) == 4
    after = set(dask_client.run(lambda: __import__("os").getpid()).values())
    assert pids - after, "a worker process was replaced"
    # the bars went to the workers as a plugin, which is removed after the sweep
    assert all(not any(k.startswith("orderflow-shared") for k in plugins)
               for plugins in dask_client.run(lambda dask_worker: list(dask_worker.plugins)).values())


def test_sweep_and_walk_forward_from_the_command_line(tmp_path) -> None:
    import run_backtest

    need_sample()
    out = tmp_path / "cli"
    argv = ["--bars", "15min", "--start", "2024-04-15", "--end", "2024-04-16", "--out", str(out), "--no-plot"]
    assert run_backtest.main([*argv, "--sweep", "slope_period=5,10", "--jobs", "1", "--pbo-splits", "2"]) == 0
    table = pd.read_csv(out / "sweep.csv", **EXACT_FLOATS)
    assert list(table["param:slope_period"]) == [5, 10]
    config, _ = run_backtest.make_config(run_backtest.build_parser().parse_args([*argv, "--param", "slope_period=10"]))
    assert table.loc[1, "final_value"] == engine.run(config).metrics["final_value"]
    assert (out / "heatmap.png").stat().st_size > 0
    assert run_backtest.main([*argv, "--sweep", "slope_period=5,10", "--rank-by", "sharp"]) == 2
    assert run_backtest.main([*argv, "--sweep", "slope_period=5:1:1"]) == 2
    assert run_backtest.main([*argv, "--walk-forward", "train=2D"]) == 2
    assert run_backtest.main([*argv, "--jobs", "0", "--sweep", "slope_period=5"]) == 2
