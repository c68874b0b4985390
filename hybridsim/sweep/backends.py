"""Run backends: where the runs of a sweep happen.

Three interchangeable backends run :func:`~hybridsim.sweep.worker.run_point` over tasks and
yield outcomes as runs finish (in completion order; the store sorts them):

:class:`SerialBackend`  in this process, one run after the other (debuggable, no start-up);
:class:`PoolBackend`    a local process pool (default; workers = usable cores);
:class:`DaskBackend`    a Dask cluster: a running scheduler (``--cluster tcp://HOST:PORT``) or a
                        ``distributed.LocalCluster`` started for the sweep (``--dask-local N``).

They were called executors (``SerialExecutor``, ...; :mod:`hybridsim.sweep.executors` keeps the
old names for one release): in the code, "execute" is what a device does with one solve job
(:mod:`hybridsim.execution`), while a backend runs whole simulations. Messages to users of
``hybridsim sweep`` still say "executor" ("choose one executor", "with any executor"), as the
reference docs do.

Each run sees BLAS limited to one thread, in every backend: with one run per core more threads
only contend, and a fixed thread count keeps floating-point results identical whichever backend
ran them. Only a bounded window of tasks is in flight, so memory stays flat for large sweeps and
Ctrl-C has little to cancel. Dask is an optional dependency, imported only here, only when used.

A backend that can run nothing more raises :class:`BackendLost` from :meth:`RunBackend.run`
(a Dask scheduler that died or cannot be reached, a cluster without workers for a minute); the
sweep then ends with one error line, keeping every saved row. Dask's own log messages and
tracebacks are kept off the terminal: its loggers in this process are silenced while a Dask
backend is open, and the workers of a local cluster start with Ctrl-C blocked (the sweep process
alone decides what stops, and closes them).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import queue
import signal
import threading
import time
import uuid
import warnings
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol

from hybridsim.errors import HybridSimError
from hybridsim.sweep.worker import RunOutcome, RunTask, run_point

__all__ = [
    "RunBackend",
    "SerialBackend",
    "PoolBackend",
    "DaskBackend",
    "BackendLost",
    "make_backend",
    "usable_cores",
]

_DIED = "the worker process died while running this point (killed, or out of memory)"


class BackendLost(HybridSimError):
    """The backend can run nothing more: e.g. its Dask scheduler died or has no workers.

    Raised by :meth:`RunBackend.run`; rows already recorded stay valid, and running the sweep
    again (with any backend) resumes.
    """


class RunBackend(Protocol):
    """Where a sweep's runs happen: runs tasks and yields their outcomes as they finish.

    A context manager: entering starts it (a pool's processes, a Dask client), leaving stops
    it. :func:`~hybridsim.sweep.runner.run_sweep` enters it before the store is created, so a
    backend that cannot start leaves nothing written.
    """

    name: str

    def __enter__(self) -> RunBackend: ...

    def __exit__(self, *exc: object) -> None: ...

    def run(self, tasks: Iterable[RunTask]) -> Iterator[RunOutcome]:
        """Outcomes of ``tasks`` in completion order."""

    def cancel(self) -> None:
        """Stop now: drop queued tasks and abandon running ones (after Ctrl-C)."""

    @property
    def description(self) -> str:
        """Short text for the progress bar and messages."""


def usable_cores() -> int:
    """CPU cores this process may run on (affinity and cgroup-limited sets respected)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _failed(task: RunTask, message: str) -> RunOutcome:
    from hybridsim.results import package_versions

    return RunOutcome(task.point, task.seed, "failed", message, {}, 0.0, package_versions(), "")


# -- serial ---------------------------------------------------------------------------------------


class SerialBackend:
    """Run every task in this process, one after another."""

    name = "serial"

    def __enter__(self) -> SerialBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    @property
    def description(self) -> str:
        return "serial"

    def run(self, tasks: Iterable[RunTask]) -> Iterator[RunOutcome]:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1):
            for task in tasks:
                yield run_point(task)

    def cancel(self) -> None:
        pass  # the run in progress was interrupted in this process; nothing else is running


# -- local process pool -----------------------------------------------------------------------


def _watch_parent(ppid: int) -> None:
    # A worker whose parent died (e.g. SIGKILL) is re-parented; exit rather than linger, possibly
    # mid-run, holding memory and a core.
    while True:
        time.sleep(0.5)
        if os.getppid() != ppid:
            os._exit(1)


def _init_worker() -> None:
    # Ctrl-C in a terminal reaches the whole process group; the parent alone decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)  # for the life of this worker process
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()


class PoolBackend:
    """A local pool of worker processes.

    Parameters
    ----------
    workers : int, optional
        Number of processes (default: :func:`usable_cores`).

    Notes
    -----
    Uses Python's default start method (``fork`` on Linux before Python 3.14), started before the
    caller creates any thread. If a worker process dies (killed, out of memory), the pool is
    restarted and the runs it held are re-run one at a time; a run that kills its worker again
    is recorded as failed, and the others are unaffected.
    """

    name = "pool"

    def __init__(self, workers: int | None = None):
        if workers is not None and workers < 1:
            raise HybridSimError(f"--workers: must be at least 1, got {workers}")
        self.workers = workers or usable_cores()
        self._pool: ProcessPoolExecutor | None = None
        self._pending: dict[Future, RunTask] = {}

    @property
    def description(self) -> str:
        return f"{self.workers} local worker{'s' if self.workers != 1 else ''}"

    def _start(self) -> None:
        self._pool = ProcessPoolExecutor(
            self.workers, mp_context=multiprocessing.get_context(), initializer=_init_worker
        )
        # Launch the workers now, while this process has no other threads to fork with.
        self._pool.submit(int).result()

    def __enter__(self) -> PoolBackend:
        self._start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def run(self, tasks: Iterable[RunTask]) -> Iterator[RunOutcome]:
        if self._pool is None:
            self._start()
        source = iter(tasks)
        suspects: deque[RunTask] = deque()
        window = 2 * self.workers  # enough to keep every worker busy between completions
        pending = self._pending
        while True:
            if suspects:
                # Runs that were in flight when a worker died: re-run them one at a time, so a
                # second death points at the run that causes it and spares the others.
                task = suspects.popleft()
                fut = self._submit(task)
                pending[fut] = task
                wait([fut])
                del pending[fut]
                try:
                    outcome = fut.result()
                except BrokenProcessPool:
                    self._restart()
                    outcome = _failed(task, _DIED)
                yield outcome
                continue
            while len(pending) < window:
                fresh = next(source, None)
                if fresh is None:
                    break
                pending[self._submit(fresh)] = fresh
            if not pending:
                return
            done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            broken = False
            for fut in done:
                task = pending.pop(fut)
                try:
                    outcome = fut.result()
                except BrokenProcessPool:
                    broken = True
                    suspects.append(task)
                    continue
                yield outcome
            if broken:
                for fut, task in list(pending.items()):
                    if fut.done() and not fut.cancelled() and fut.exception() is None:
                        yield fut.result()  # finished before the pool broke
                    else:
                        suspects.append(task)
                pending.clear()
                self._restart()

    def _submit(self, task: RunTask) -> Future[RunOutcome]:
        assert self._pool is not None  # started by __enter__ or run, replaced by _restart
        return self._pool.submit(run_point, task)

    def _restart(self) -> None:
        """Replace a broken pool (a worker died) with a fresh one."""
        old = self._pool
        if old is not None:
            old.shutdown(wait=True, cancel_futures=True)
        self._start()

    def cancel(self) -> None:
        pool = self._pool
        if pool is None:
            return
        for fut in self._pending:
            fut.cancel()
        self._pending.clear()
        # Abandon runs in progress: workers ignore SIGINT, so stop them here. (_processes is
        # private but stable since Python 3.2; without it we wait for the runs to end.)
        procs = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join(timeout=5)
        pool.shutdown(wait=True)
        self._pool = None


# -- Dask -----------------------------------------------------------------------------------------


def _dask_run_point(task: RunTask) -> RunOutcome:
    """:func:`run_point` as a Dask task: the worker is not ours, so limit BLAS per run."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return run_point(task)


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise HybridSimError(
            "running on Dask needs the dask extra: pip install 'hybridsim[dask]'"
        ) from None
    return distributed


#: Loggers Dask writes to (through ``logging.lastResort`` on stderr if they have no handler).
_DASK_LOGGERS = ("distributed", "tornado", "asyncio")


@contextlib.contextmanager
def _quiet_dask_logs() -> Iterator[None]:
    """Keep Dask's log records and warnings off the terminal while a Dask backend is open.

    The sweep reports what matters itself (a lost scheduler in one error line, a run that kept
    killing workers in its row); Dask's records (reconnection attempts, workers closing, task
    cancellations) would bury the progress bar and the final line.
    """
    names = set(_DASK_LOGGERS)
    # Loggers below them with handlers of their own (distributed.client has one).
    names.update(
        name
        for name, logger in logging.Logger.manager.loggerDict.items()
        if name.split(".")[0] in _DASK_LOGGERS
        and isinstance(logger, logging.Logger)
        and logger.handlers
    )
    saved = []
    for name in sorted(names):
        logger = logging.getLogger(name)
        saved.append((logger, logger.handlers[:], logger.propagate))
        logger.handlers = [logging.NullHandler()]
        logger.propagate = False
    try:
        with warnings.catch_warnings():
            # e.g. "Port 8787 is already in use ... Hosting the HTTP server on port N instead"
            warnings.filterwarnings("ignore", category=UserWarning, module=r"distributed(\.|$)")
            yield
    finally:
        for logger, handlers, propagate in saved:
            logger.handlers = handlers
            logger.propagate = propagate


@contextlib.contextmanager
def _sigint_blocked() -> Iterator[None]:
    """Block SIGINT in this thread, so threads and processes started meanwhile inherit it.

    A local cluster's loop thread is started here and starts every worker process (also those
    restarted later), so none of them receives the terminal's Ctrl-C (which reaches the whole
    process group): no worker tracebacks, and the sweep process closes them. A Ctrl-C pressed
    meanwhile is delivered to this thread when the block ends.
    """
    if not hasattr(signal, "pthread_sigmask") or (
        threading.current_thread() is not threading.main_thread()
    ):
        yield  # pragma: no cover - not POSIX, or not the main thread (no Ctrl-C to route)
        return
    from multiprocessing import resource_tracker

    # Starting multiprocessing's resource tracker *unblocks* SIGINT in the thread that starts
    # it (the cluster's loop thread, at its first queue): start it now, so it is running.
    resource_tracker.ensure_running()
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


class DaskBackend:
    """Run tasks on a Dask cluster.

    Parameters
    ----------
    address : str, optional
        Address of a running scheduler, e.g. ``"tcp://10.0.0.5:8786"``.
    local_workers : int, optional
        Start a ``distributed.LocalCluster`` with this many single-threaded worker processes
        instead (closed when the sweep ends).
    timeout : float
        Seconds to wait for the scheduler to answer.
    no_workers_timeout : float
        Seconds the cluster may have no worker at all before the sweep gives up
        (:class:`BackendLost`); workers may come and go meanwhile.

    Notes
    -----
    Workers need the same hybridsim installed (tasks carry scenario data, not files); each row
    of the results records the versions of the worker that ran it. Give workers one thread each
    (``dask worker ... --nthreads 1``): runs are pure Python and hold the GIL.

    Dask reschedules the runs of a worker that dies on the other workers; a run that kills
    workers again and again is recorded as failed (``KilledWorker``). If the scheduler dies or
    becomes unreachable, :meth:`run` raises :class:`BackendLost`.

    A local cluster's workers are new processes (``spawn``) that import the caller's main
    module: a script that starts one needs ``if __name__ == "__main__":``.
    """

    name = "dask"
    poll_s = 1.0  # how often a quiet cluster is checked for its scheduler and workers

    def __init__(
        self,
        address: str | None = None,
        local_workers: int | None = None,
        *,
        timeout: float = 10.0,
        no_workers_timeout: float = 60.0,
    ):
        if (address is None) == (local_workers is None):
            raise HybridSimError("give a Dask scheduler address or a number of local workers")
        if local_workers is not None and local_workers < 1:
            raise HybridSimError(f"--dask-local: must be at least 1, got {local_workers}")
        self.address = address
        self.local_workers = local_workers
        self.timeout = timeout
        self.no_workers_timeout = no_workers_timeout
        self._cluster: Any = None
        self._client: Any = None
        self._logs: contextlib.ExitStack | None = None
        self._pending: dict[Any, RunTask] = {}

    @property
    def description(self) -> str:
        if self.address is not None:
            return f"Dask at {self.address}"
        return f"Dask LocalCluster of {self.local_workers}"

    def __enter__(self) -> DaskBackend:
        distributed = _import_distributed()
        self._logs = contextlib.ExitStack()
        self._logs.enter_context(_quiet_dask_logs())
        try:
            if self.local_workers is not None:
                self._start_local(distributed)
            else:
                self._connect(distributed)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _start_local(self, distributed: Any) -> None:
        try:
            with _sigint_blocked():
                self._cluster = distributed.LocalCluster(
                    n_workers=self.local_workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.CRITICAL,
                )
                self._client = distributed.Client(self._cluster)
        except Exception as exc:  # noqa: BLE001 - Dask raises many types; one line says it
            raise HybridSimError(
                f"--dask-local {self.local_workers}: cannot start a Dask LocalCluster: "
                f"{type(exc).__name__}: {_one_line(exc)} (in a Python script, call "
                'hybridsim.run_sweep under if __name__ == "__main__": its workers import the '
                "script)"
            ) from None

    def _connect(self, distributed: Any) -> None:
        try:
            self._client = distributed.Client(self.address, timeout=self.timeout)
        except (OSError, TimeoutError, ValueError) as exc:
            raise HybridSimError(
                f"--cluster {self.address}: cannot reach the Dask scheduler: {_one_line(exc)}"
            ) from None

    def __exit__(self, *exc: object) -> None:
        try:
            if self._client is not None:
                if self._pending:
                    with contextlib.suppress(Exception):
                        self._client.cancel(list(self._pending))
                    self._pending.clear()
                with contextlib.suppress(Exception):  # a dead scheduler: nothing to close
                    self._client.close(timeout=self.timeout)
                self._client = None
            if self._cluster is not None:
                with contextlib.suppress(Exception):
                    self._cluster.close()
                self._cluster = None
        finally:
            if self._logs is not None:
                self._logs.close()
                self._logs = None

    def _lost(self, why: str) -> BackendLost:
        where = self.address if self.address is not None else "of the local cluster"
        return BackendLost(f"Dask scheduler {where}: {why}")

    def _threads(self) -> int:
        """Worker threads the scheduler has now (raises BackendLost if it cannot say)."""
        client = self._client
        if client.status not in ("running", "newly-created"):
            raise self._lost("lost the connection to it")
        try:
            return sum(client.nthreads().values())
        except Exception as exc:  # noqa: BLE001 - OSError, CommClosedError, TimeoutError, ...
            raise self._lost(f"lost the connection to it: {_one_line(exc)}") from None

    def _outcome(self, fut: Any, task: RunTask) -> RunOutcome:
        status = fut.status
        if status == "finished":
            try:
                return fut.result()
            except Exception as exc:  # noqa: BLE001 - the result could not be fetched
                raise self._lost(f"lost the connection to it: {_one_line(exc)}") from None
        try:
            error = fut.exception(timeout=self.timeout)
        except BaseException as err:  # noqa: BLE001 - a cancelled future raises its reason
            error = err
        reason = getattr(error, "reason", "")
        if status == "cancelled" and (
            reason == "scheduler-connection-lost" or self._client.status != "running"
        ):
            raise self._lost("lost the connection to it (did it stop?)")
        if status == "cancelled":
            return _failed(task, "cancelled by the Dask scheduler")
        # run_point catches every error of a run; what lands here is Dask's own (e.g. a worker
        # that kept dying: KilledWorker, or a worker without hybridsim).
        return _failed(task, f"{type(error).__name__}: {_one_line(error)}")

    def run(self, tasks: Iterable[RunTask]) -> Iterator[RunOutcome]:
        client = self._client
        source = iter(tasks)
        pending = self._pending
        finished: queue.SimpleQueue[Any] = queue.SimpleQueue()
        nonce = uuid.uuid4().hex[:12]  # keys unique to this sweep process on a shared scheduler

        def refill() -> None:
            window = max(16, 4 * self._threads())  # re-read: workers may join or leave
            while len(pending) < window:
                task = next(source, None)
                if task is None:
                    return
                key = f"hybridsim-run-{nonce}-p{task.point}-s{task.seed}"
                fut = client.submit(_dask_run_point, task, key=key, pure=False)
                pending[fut] = task
                fut.add_done_callback(finished.put)  # called in a Dask thread

        refill()
        idle_since: float | None = None
        while pending:
            try:
                fut = finished.get(timeout=self.poll_s)
            except queue.Empty:
                # Nothing finished for a while: is anyone still there to run it?
                if self._threads() > 0:
                    idle_since = None
                elif idle_since is None:
                    idle_since = time.monotonic()
                elif time.monotonic() - idle_since > self.no_workers_timeout:
                    raise self._lost(
                        f"has had no workers for {self.no_workers_timeout:g} s"
                    ) from None
                continue
            if fut not in pending:
                continue  # not ours any more (cancelled)
            if fut.status in ("lost", "pending"):
                # Its result was on a worker that died before it was fetched: Dask runs it
                # again, and the callback fires again when it is done.
                fut.add_done_callback(finished.put)
                continue
            task = pending.pop(fut)
            outcome = self._outcome(fut, task)
            fut.release()
            yield outcome
            refill()

    def cancel(self) -> None:
        if self._client is not None and self._pending:
            with contextlib.suppress(Exception):  # the scheduler may be gone
                self._client.cancel(list(self._pending))
            self._pending.clear()


def make_backend(
    *,
    serial: bool = False,
    workers: int | None = None,
    cluster: str | None = None,
    dask_local: int | None = None,
) -> RunBackend:
    """The backend for the given choice (at most one of them; default: a local pool).

    Raises
    ------
    HybridSimError
        If more than one backend is asked for.
    """
    chosen = [
        name
        for name, value in (
            ("--serial", serial or None),
            ("--workers", workers),
            ("--cluster", cluster),
            ("--dask-local", dask_local),
        )
        if value is not None
    ]
    if len(chosen) > 1:
        raise HybridSimError(f"choose one executor: {' and '.join(chosen)} given together")
    if serial:
        return SerialBackend()
    if cluster is not None:
        return DaskBackend(address=cluster)
    if dask_local is not None:
        return DaskBackend(local_workers=dask_local)
    return PoolBackend(workers)
