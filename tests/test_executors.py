"""Executors against real listeners on 127.0.0.1 (a socket that accepts and stays silent, an HTTP server,
a Dask scheduler without workers) and the local pool's size; timeouts kept short through parameters."""
from __future__ import annotations

import contextlib
import http.server
import re
import socket
import threading
import time
from dataclasses import replace
from typing import Iterator

import pandas as pd
import pytest

from data import OrderFlowError
from data.bars.stream import usable_cores
from research import executors
from research.executors import ProcessExecutor

SAFETY = 20.0  # the silent listener hangs up after this long, so that a client without a timeout fails, not hangs


@contextlib.contextmanager
def silent_listener() -> Iterator[str]:
    """A TCP server that accepts every connection and never sends a byte (hangs up after SAFETY seconds)."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.05)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        started = time.monotonic()
        while not stop.is_set() and time.monotonic() - started < SAFETY:
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue
        for conn in accepted:
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        server.close()


class QuietHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"<html>a dashboard</html>")

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def http_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"tcp://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def empty_cluster():
    """A real distributed.Scheduler on 127.0.0.1 with no workers (LocalCluster of 0 workers, in this process)."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=0, processes=False, protocol="tcp", host="127.0.0.1",
                                  dashboard_address=None, silence_logs=40) as cluster:
        assert isinstance(cluster.scheduler, distributed.Scheduler)
        yield cluster


NOT_DASK = "no answer from {} within 0.5 s: something accepts connections there but does not answer as a Dask " \
           "scheduler (its address is tcp://HOST:8786 by default, not the dashboard's)"


@pytest.mark.parametrize("listener", [silent_listener, http_server])
def test_a_listener_that_is_not_a_scheduler_is_refused_in_time(listener) -> None:
    pytest.importorskip("distributed")
    with listener() as address:
        with pytest.raises(OrderFlowError) as info:
            executors.DaskExecutor(address, connect_timeout=0.5, worker_timeout=0.5)
    assert str(info.value) == NOT_DASK.format(address)


def test_nothing_listening_is_refused_in_time() -> None:
    pytest.importorskip("distributed")
    with socket.create_server(("127.0.0.1", 0)) as probe:
        address = f"tcp://127.0.0.1:{probe.getsockname()[1]}"
    with pytest.raises(OrderFlowError, match=rf"^cannot reach the Dask scheduler at {address}: .*after 0.5 s"):
        executors.DaskExecutor(address, connect_timeout=0.5, worker_timeout=0.5)


def test_a_scheduler_without_workers_is_refused_after_a_bounded_wait(empty_cluster, capsys) -> None:
    address = empty_cluster.scheduler_address
    with pytest.raises(OrderFlowError) as info:
        executors.DaskExecutor(address, connect_timeout=5, worker_timeout=0.5)
    assert str(info.value) == (f"no workers at the Dask scheduler {address}: none joined within 0.5 s "
                               f"(start one with: dask worker {address})")
    assert capsys.readouterr().err == f"note: the Dask scheduler at {address} has no workers; waiting up to 0.5 s " \
                                      "for one\n"
    assert not empty_cluster.scheduler.clients.keys() - {"fire-and-forget"}  # the client was closed


def test_a_worker_that_joins_during_the_wait_is_used(empty_cluster) -> None:
    timer = threading.Timer(0.3, empty_cluster.scale, args=(1,))
    timer.start()
    executor = executors.DaskExecutor(empty_cluster.scheduler_address, connect_timeout=5, worker_timeout=60)
    try:
        assert len(executor.client.scheduler_info()["workers"]) == 1
        assert sorted(executor.run(abs, [-3, 2, -1], {})) == [1, 2, 3]
    finally:
        executor.close()
        timer.join()


def test_the_executor_changes_no_dask_default_of_the_process(empty_cluster) -> None:
    """The executor's own client does not become the process's default Dask client or scheduler
    (Dask's Client does by default): a library call changes nothing process-wide. Its runs complete."""
    import dask
    import distributed

    empty_cluster.scale(1)
    scheduler_before = dask.config.get("scheduler", None)
    executor = executors.DaskExecutor(empty_cluster.scheduler_address, connect_timeout=5, worker_timeout=60)
    try:
        with pytest.raises(ValueError, match="No clients found"):
            distributed.default_client()
        assert dask.config.get("scheduler", None) == scheduler_before
        assert sorted(executor.run(abs, [-3, 2, -1], {})) == [1, 2, 3]
    finally:
        executor.close()


def test_a_client_of_ones_own_that_is_not_the_default_runs_the_tasks(empty_cluster) -> None:
    """A ``distributed.Client`` made with ``set_as_default=False`` and handed to the executor runs its tasks
    (results are collected on that client's own event loop, not the default client's)."""
    import distributed

    empty_cluster.scale(1)
    with distributed.Client(empty_cluster.scheduler_address, set_as_default=False, timeout=5) as client:
        executor = executors.DaskExecutor(client, connect_timeout=5, worker_timeout=60)
        assert sorted(executor.run(abs, [-3, 2, -1], {})) == [1, 2, 3]
        executor.close()
        assert client.status == "running"  # the caller's client stays open


def test_the_command_line_gives_one_error_line_for_a_silent_listener(tmp_path, monkeypatch, capsys) -> None:
    import run_backtest
    from tests.conftest import need_sample

    need_sample()
    pytest.importorskip("distributed")
    monkeypatch.setattr(executors, "CONNECT_TIMEOUT", 0.5)
    with silent_listener() as address:
        status = run_backtest.main(["--bars", "15min", "--start", "2024-04-15", "--end", "2024-04-16", "--no-plot",
                                    "--out", str(tmp_path / "out"), "--sweep", "slope_period=5,10",
                                    "--scheduler", address])
    assert status == 2
    captured = capsys.readouterr()
    assert captured.err == f"error: {NOT_DASK.format(address)}\n"
    assert "sweep" not in captured.out  # nothing ran


# -- local processes: as many as there are sets, a warning past the cores -----------------------------------------


def test_the_pool_is_capped_at_the_sets_and_warns_past_the_cores(capsys) -> None:
    cores = usable_cores()
    executor = ProcessExecutor(1000)
    assert executor.pool_size(3) == 3 and executor.pool_size(5000) == 1000
    assert sorted(executor.run(abs, [-1], {})) == [1]  # one process: no warning
    assert capsys.readouterr().err == ""
    tasks = list(range(-cores - 1, 0))
    assert sorted(executor.run(abs, tasks, {})) == list(range(1, cores + 2))
    assert capsys.readouterr().err == (f"warning: {cores + 1} worker processes on {cores} cores (--jobs 1000): they "
                                       f"share the cores and each holds the bars; --jobs {cores} is as fast\n")
    list(executor.run(abs, tasks, {}))  # said once per executor
    assert capsys.readouterr().err == ""


def test_a_sweep_announces_its_sets_and_an_estimate(capsys) -> None:
    from research import RunConfig
    from research.executors import SerialExecutor
    from research.sweep import Axis, sweep
    from tests.conftest import need_sample

    base = RunConfig(data=need_sample(), bars="15min", start=pd.Timestamp("2024-04-15", tz="UTC"),
                     end=pd.Timestamp("2024-04-16", tz="UTC"))
    result = sweep(base, [Axis("slope_period", (5, 10, 20))], executor=SerialExecutor(), stats=False)
    assert len(result.table) == 3
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "sweep: 3 sets on 1 worker"
    assert re.fullmatch(r"sweep: 1 of 3 sets done in \d\d:\d\d; about \d\d:\d\d left", lines[1]), lines
    assert len(lines) == 2
    sweep(replace(base, progress=False), [Axis("slope_period", (5, 10))], executor=SerialExecutor(), stats=False)
    assert capsys.readouterr().err == ""  # --quiet


def test_a_sweep_on_processes_says_how_many_run_at_once(capsys) -> None:
    from research import RunConfig
    from research.sweep import Axis, sweep
    from tests.conftest import need_sample

    base = RunConfig(data=need_sample(), bars="15min", start=pd.Timestamp("2024-04-15", tz="UTC"),
                     end=pd.Timestamp("2024-04-16", tz="UTC"))
    sweep(base, [Axis("slope_period", (5, 10, 20))], executor=ProcessExecutor(2), stats=False)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "sweep: 3 sets on 2 workers"
    assert re.fullmatch(r"sweep: 2 of 3 sets done in \d\d:\d\d; about \d\d:\d\d left", lines[1]), lines
    sweep(base, [Axis("slope_period", (5, 10))], executor=ProcessExecutor(1000), stats=False)
    assert capsys.readouterr().err.splitlines()[0] == "sweep: 2 sets on 2 workers"
