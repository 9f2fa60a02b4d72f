"""Where a sweep's backtests run: in this process, in local worker processes, or on a Dask cluster.

All three take the same call, ``executor.run(fn, tasks, shared)``, and yield ``fn(task)``
for each task as it finishes (in completion order). ``shared`` is a dict of read-only
objects (a sweep's bars, by key) that every task needs: it is sent **once per worker**,
never once per task, and a task reads it with :func:`shared`:

- :class:`SerialExecutor` keeps it in this process;
- :class:`ProcessExecutor` passes it to each worker process once, through the pool's
  initializer (``concurrent.futures.ProcessPoolExecutor``). A worker process that dies
  breaks the pool (``BrokenProcessPool``): the pool is made again and the tasks not yet
  finished are submitted again, each at most ``retries`` more times;
- :class:`DaskExecutor` registers it on the cluster as a worker plugin, which the
  scheduler installs on every worker, including workers that join or restart later. A
  task on a worker that dies is run again on another by the scheduler (up to its
  ``distributed.scheduler.allowed-failures``); ``retries`` re-runs a task that raised.

A task that raises stops the run with that exception (a bad parameter value is not
retried); the tasks still queued are cancelled.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import sys
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Iterable, Iterator, Protocol

from data import OrderFlowError

try:  # the Dask worker plugin needs distributed's base class; Dask is an optional extra
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError:  # pragma: no cover - without the [dask] extra
    WorkerPlugin = object  # type: ignore[assignment,misc]

_SHARED: dict[str, Any] = {}
"""This process's copy of the objects the executor shared (the bars), by key."""


def share(objects: dict[str, Any]) -> None:
    """Keep ``objects`` in this process for :func:`shared` (a worker's initializer)."""
    _SHARED.update(objects)


def unshare(keys: Iterable[str]) -> None:
    """Forget the objects shared under ``keys``."""
    for key in keys:
        _SHARED.pop(key, None)


def shared(key: str) -> Any:
    """The object shared under ``key`` in this process (KeyError if it never arrived)."""
    return _SHARED[key]


class Executor(Protocol):
    """Runs ``fn`` over ``tasks`` with ``shared`` objects sent once per worker; yields results as they finish."""

    workers: int

    def run(self, fn: Callable[[Any], Any], tasks: list[Any], shared: dict[str, Any]) -> Iterator[Any]:
        ...  # pragma: no cover

    def close(self) -> None:
        ...  # pragma: no cover


class SerialExecutor:
    """Every task in this process, one after the other (``--jobs 1``)."""

    workers = 1

    def run(self, fn: Callable[[Any], Any], tasks: list[Any], shared: dict[str, Any]) -> Iterator[Any]:
        share(shared)
        try:
            for task in tasks:
                yield fn(task)
        finally:
            unshare(shared)

    def close(self) -> None:
        pass


class ProcessExecutor:
    """Local worker processes (``--jobs N``): a ``ProcessPoolExecutor`` whose initializer receives ``shared``.

    On Linux the workers are forked from this process (they start in milliseconds with
    the engine already imported, and scripts or notebooks need no ``__main__`` guard);
    elsewhere they are spawned. Each holds one copy of ``shared``. ``retries``: how many
    times a task is submitted again after a worker process died while it was unfinished.
    """

    def __init__(self, jobs: int | None = None, retries: int = 3) -> None:
        self.workers = max(1, int(jobs or os.cpu_count() or 1))
        self.retries = retries
        self._context = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")

    def run(self, fn: Callable[[Any], Any], tasks: list[Any], shared: dict[str, Any]) -> Iterator[Any]:
        pending = dict(enumerate(tasks))
        failures = dict.fromkeys(pending, 0)
        while pending:
            pool = ProcessPoolExecutor(max_workers=min(self.workers, len(pending)), mp_context=self._context,
                                       initializer=share, initargs=(shared,))
            futures: dict[Future, int] = {pool.submit(fn, task): n for n, task in pending.items()}
            try:
                waiting = set(futures)
                while waiting:
                    done, waiting = wait(waiting, return_when=FIRST_COMPLETED)
                    for future in done:
                        n = futures[future]
                        try:
                            result = future.result()
                        except BrokenProcessPool:
                            continue  # resubmitted below with the other unfinished tasks
                        del pending[n]
                        yield result
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
            for n in pending:  # the pool broke: a worker process died
                failures[n] += 1
                if failures[n] > self.retries:
                    raise OrderFlowError(f"task {tasks[n]!r} was running when a worker process died "
                                         f"{failures[n]} times; giving up")

    def close(self) -> None:
        pass


class SharedObjects(WorkerPlugin):
    """A Dask worker plugin that puts ``objects`` into each worker's :func:`shared` store (once per worker)."""

    def __init__(self, objects: dict[str, Any]) -> None:
        self.objects = objects

    def setup(self, worker: Any) -> None:
        share(self.objects)

    def teardown(self, worker: Any) -> None:
        unshare(self.objects)


class DaskExecutor:
    """A Dask distributed cluster (``--scheduler ADDRESS``, or a ``distributed.Client`` of your own).

    ``shared`` travels once to each worker as a worker plugin; each task is submitted
    with ``retries`` (re-runs after an exception) and the scheduler re-runs the tasks
    of a worker that died. Strategy classes from modules outside this project are sent
    by value (cloudpickle), so workers need not have the user's module on their path.
    """

    def __init__(self, scheduler: Any, retries: int = 1) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise OrderFlowError("--scheduler needs Dask: pip install 'orderflow-bt[dask]' "
                                 "(or pip install 'dask[distributed]')") from None
        if isinstance(scheduler, Client):
            self.client, self._own = scheduler, False
        else:
            try:
                self.client, self._own = Client(scheduler, timeout="10s"), True
            except (OSError, TimeoutError, ValueError) as exc:
                raise OrderFlowError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        self.retries = retries
        self.workers = max(1, sum(w.get("nthreads", 1)
                                  for w in self.client.scheduler_info().get("workers", {}).values()))

    def run(self, fn: Callable[[Any], Any], tasks: list[Any], shared: dict[str, Any]) -> Iterator[Any]:
        from distributed import as_completed

        for task in tasks[:1]:
            send_by_value(task)
        name = f"orderflow-shared-{uuid.uuid4().hex}"
        self.client.register_plugin(SharedObjects(shared), name=name)
        futures = [self.client.submit(fn, task, key=f"{name}-task-{n}", pure=False, retries=self.retries)
                   for n, task in enumerate(tasks)]
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            self.client.cancel(futures)
            self.client.unregister_worker_plugin(name)

    def close(self) -> None:
        if self._own:
            self.client.close()


PROJECT_PACKAGES = ("data", "indicators", "strategies", "reports", "research")


def send_by_value(task: Any) -> None:
    """Have cloudpickle send the task's strategy module by value when it is the user's own (not installed on workers)."""
    cls = getattr(getattr(task, "config", None), "strategy", None)
    module = sys.modules.get(getattr(cls, "__module__", ""), None) if isinstance(cls, type) else None
    if module is None or module.__name__.split(".")[0] in PROJECT_PACKAGES or module.__name__ == "__main__":
        return
    import cloudpickle

    cloudpickle.register_pickle_by_value(module)


def make_executor(jobs: int | None = None, scheduler: Any = None) -> Executor:
    """The executor for ``--jobs``/``--scheduler``: Dask when a scheduler is given, else local processes
    (in this process when ``jobs`` is 1)."""
    if scheduler is not None:
        return DaskExecutor(scheduler)
    jobs = int(os.cpu_count() or 1) if jobs is None else int(jobs)
    if jobs < 1:
        raise OrderFlowError(f"bad --jobs {jobs}: a number of worker processes >= 1")
    return SerialExecutor() if jobs == 1 else ProcessExecutor(jobs)
