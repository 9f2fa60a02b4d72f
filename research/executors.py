"""Where a sweep's backtests run: in this process, in local worker processes, or on a Dask cluster.

All three take the same call, ``executor.run(fn, tasks, shared)``, and yield ``fn(task)``
for each task as it finishes (in completion order). ``shared`` is a dict of read-only
objects (a sweep's bars, by key) that every task needs: it is sent **once per worker**,
never once per task, and a task reads it with :func:`shared`:

- :class:`SerialExecutor` keeps it in this process;
- :class:`ProcessExecutor` passes it to each worker process once, through the pool's
  initializer (``concurrent.futures.ProcessPoolExecutor``). The pool has ``jobs`` processes,
  never more than there are tasks, and says so on stderr (one ``warning:`` line) when that
  is more than the cores this process may use. A worker process that dies
  breaks the pool (``BrokenProcessPool``): the pool is made again and the tasks not yet
  finished are submitted again, each at most ``retries`` more times;
- :class:`DaskExecutor` registers it on the cluster as a worker plugin, which the
  scheduler installs on every worker, including workers that join or restart later. A
  task on a worker that dies is run again on another by the scheduler (up to its
  ``distributed.scheduler.allowed-failures``); ``retries`` re-runs a task that raised.
  It first makes sure that a Dask scheduler answers at the address (within
  :data:`CONNECT_TIMEOUT`) and that it has a worker (waiting up to :data:`WORKER_TIMEOUT`),
  else it raises OrderFlowError saying which.

A task that raises stops the run with that exception (a bad parameter value is not
retried); the tasks still queued are cancelled.
"""
from __future__ import annotations

import asyncio
import multiprocessing as mp
import sys
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Iterable, Iterator, Protocol

from data import OrderFlowError
from data.bars.stream import usable_cores

try:  # the Dask worker plugin needs distributed's base class; Dask is an optional extra
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError:  # pragma: no cover - without the [dask] extra
    WorkerPlugin = object  # type: ignore[assignment,misc]

CONNECT_TIMEOUT = 10.0
"""Seconds to reach a Dask scheduler (and as long again for it to answer once connected)."""
WORKER_TIMEOUT = 30.0
"""Seconds to wait for a first worker at a Dask scheduler that has none."""

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
    elsewhere they are spawned. Each holds one copy of ``shared``. ``jobs`` (default: the
    cores this process may use) is the most processes; a run starts no more than it has
    tasks (:meth:`pool_size`) and warns once, on stderr, when that is more than the cores.
    ``retries``: how many times a task is submitted again after a worker process died
    while it was unfinished.
    """

    def __init__(self, jobs: int | None = None, retries: int = 3) -> None:
        self.workers = max(1, int(jobs or usable_cores()))
        self.retries = retries
        self._context = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
        self._warned = False

    def pool_size(self, tasks: int) -> int:
        """The worker processes for ``tasks`` tasks: ``jobs``, but never more than the tasks."""
        return max(1, min(self.workers, tasks))

    def run(self, fn: Callable[[Any], Any], tasks: list[Any], shared: dict[str, Any]) -> Iterator[Any]:
        pending = dict(enumerate(tasks))
        failures = dict.fromkeys(pending, 0)
        cores = usable_cores()
        if self.pool_size(len(tasks)) > cores and not self._warned:
            self._warned = True
            print(f"warning: {self.pool_size(len(tasks))} worker processes on {cores} cores (--jobs {self.workers}): "
                  f"they share the cores and each holds the bars; --jobs {cores} is as fast", file=sys.stderr)
        while pending:
            pool = ProcessPoolExecutor(max_workers=self.pool_size(len(pending)), mp_context=self._context,
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

    An address is checked before a client connects: something must accept the connection
    within ``connect_timeout`` seconds (default :data:`CONNECT_TIMEOUT`) and answer as a Dask
    scheduler within as long again; a listener that accepts and stays silent, or an HTTP
    server (a dashboard), would otherwise hold the client forever. A scheduler without
    workers gets ``worker_timeout`` seconds (default :data:`WORKER_TIMEOUT`, said in a
    ``note:`` line on stderr) for one to join. Each failure is an OrderFlowError.

    The client it makes for an address is its own: not made the process's default Dask client
    (``set_as_default=False``), so that ``dask.compute`` elsewhere in the process is not sent to the
    cluster; it is closed by :meth:`close`. A client passed in is used as it is and left open.
    """

    def __init__(self, scheduler: Any, retries: int = 1, *, connect_timeout: float | None = None,
                 worker_timeout: float | None = None) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise OrderFlowError("--scheduler needs Dask: pip install 'orderflow-bt[dask]' "
                                 "(or pip install 'dask[distributed]')") from None
        connect_timeout = CONNECT_TIMEOUT if connect_timeout is None else connect_timeout
        worker_timeout = WORKER_TIMEOUT if worker_timeout is None else worker_timeout
        if isinstance(scheduler, Client):
            self.client, self._own = scheduler, False
            address = scheduler.scheduler.address if scheduler.scheduler is not None else str(scheduler)
        else:
            address = str(scheduler)
            check_scheduler(address, connect_timeout)
            try:
                # not the process's default client: an executor changes no Dask setting of the process
                self.client, self._own = Client(address, timeout=connect_timeout, set_as_default=False), True
            except (OSError, ValueError) as exc:
                raise OrderFlowError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
        try:
            wait_for_a_worker(self.client, address, worker_timeout)
        except OrderFlowError:
            self.close()
            raise
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
            for future in as_completed(futures, loop=self.client.loop):  # this client's loop, default or not
                yield future.result()
        finally:
            self.client.cancel(futures)
            self.client.unregister_worker_plugin(name)

    def close(self) -> None:
        if self._own:
            self.client.close()


def check_scheduler(address: str, timeout: float) -> None:
    """Raise OrderFlowError unless a Dask scheduler answers at ``address``: connected within ``timeout``
    seconds, its handshake and its identity within as long again (Dask's own connect waits for the
    handshake without a limit)."""
    from distributed.comm import connect
    from distributed.core import send_recv
    from distributed.security import Security

    options = Security().get_connection_args("client")  # what a Client uses (TLS from the Dask config)

    async def identity() -> dict[str, Any]:
        comm = await asyncio.wait_for(connect(address, timeout=timeout, **options), 2 * timeout)
        try:
            return await asyncio.wait_for(send_recv(comm, op="identity"), timeout)
        finally:
            comm.abort()

    try:  # in a thread of its own: the caller may be in a running event loop (a notebook)
        with ThreadPoolExecutor(1) as thread:
            info = thread.submit(asyncio.run, identity()).result()
    except TimeoutError:  # also asyncio's: the connection was made (else connect raised in time), no answer came
        raise OrderFlowError(f"no answer from {address} within {timeout:g} s: something accepts connections there "
                             "but does not answer as a Dask scheduler (its address is tcp://HOST:8786 by default, "
                             "not the dashboard's)") from None
    except ValueError as exc:  # not an address: distributed names the problem
        raise OrderFlowError(f"bad --scheduler {address!r}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - refused, reset, garbled: all say that no scheduler is there
        raise OrderFlowError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    kind = info.get("type") if isinstance(info, dict) else None
    if kind != "Scheduler":
        raise OrderFlowError(f"{address} is a Dask {kind or 'server'}, not a scheduler")


def wait_for_a_worker(client: Any, address: str, timeout: float) -> None:
    """Return once the client's scheduler has a worker; if it has none, say so on stderr and wait up to
    ``timeout`` seconds for one, then raise OrderFlowError."""
    if client.scheduler_info().get("workers"):
        return
    print(f"note: the Dask scheduler at {address} has no workers; waiting up to {timeout:g} s for one",
          file=sys.stderr)
    try:
        client.wait_for_workers(1, timeout=timeout)
    except TimeoutError:
        raise OrderFlowError(f"no workers at the Dask scheduler {address}: none joined within {timeout:g} s "
                             f"(start one with: dask worker {address})") from None


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
    jobs = usable_cores() if jobs is None else int(jobs)
    if jobs < 1:
        raise OrderFlowError(f"bad --jobs {jobs}: a number of worker processes >= 1")
    return SerialExecutor() if jobs == 1 else ProcessExecutor(jobs)
