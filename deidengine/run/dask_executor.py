"""The ``dask`` executor: the same per-file function, run on a Dask distributed cluster.

``deid run --executor dask --scheduler tcp://HOST:PORT`` connects to a running scheduler;
without ``--scheduler`` a :class:`distributed.LocalCluster` of ``--workers`` single-threaded
processes is started for the run and closed after it. Dask is an optional extra
(``pip install "deidengine[dask]"``); it is imported only when this executor runs.

What travels where:

- the :class:`~deidengine.run.pipeline.RunSettings` (which hold the project secret) are
  scattered to the workers once, not sent with every task; on a cluster beyond this machine use
  a ``tls://`` scheduler address so neither the secret nor the input paths cross the network in
  clear text;
- each task is one input path (the workers must see the input, output and quarantine paths at
  the same place: a shared file system) and returns its
  :class:`~deidengine.run.outcome.Outcome`, which holds no identifying value.

Each worker builds the file processor (compiles the policy) once, on its first task, and keeps
it for the next ones (:func:`process_on_worker`). At most ``IN_FLIGHT_PER_WORKER`` files per
worker thread are submitted ahead of the results, so the client's and the scheduler's memory stay
flat whatever the size of the tree, and discovery stays lazy.

Failures map as in the local executor: a per-file function that raises gives an
``internal-error`` outcome naming the exception type only; a file whose worker died (Dask
retries it on other workers, then gives up with ``KilledWorker``) gives the crash outcome; a
processor that cannot be built on a worker stops the run with
:class:`~deidengine.run.worker_protocol.WorkerStartError`, as does the loss of the scheduler.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from concurrent.futures import CancelledError
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from deidengine.dicom.keys import ProjectSecret
from deidengine.run.outcome import Outcome
from deidengine.run.worker_protocol import (
    CRASH_DETAIL,
    IN_FLIGHT_PER_WORKER,
    FileProcessing,
    WorkerFactory,
    WorkerNotReadyError,
    WorkerStartError,
    failure_outcome,
    raised_detail,
)

if TYPE_CHECKING:
    from deidengine.run.pipeline import RunSettings

__all__ = [
    "CONNECT_TIMEOUT",
    "PROCESSORS_PER_WORKER",
    "WORKERS_TIMEOUT",
    "DaskExecutor",
    "process_on_worker",
]

CONNECT_TIMEOUT: Final = "20s"
"""How long to wait for the scheduler (or the local cluster) to answer."""

WORKERS_TIMEOUT: Final = 120.0
"""Seconds to wait for a first worker to join the cluster (and take the settings) before the
run stops with an error rather than waiting for ever."""

PROCESSORS_PER_WORKER: Final = 4
"""Processors (compiled plans) a long-lived worker keeps, for the most recent runs' settings."""

# On a worker: one processor per (settings, factory), built by the first task that needs it; a
# failure to build is kept as the exception's type name and reported by every later task.
_processors: OrderedDict[tuple[RunSettings, WorkerFactory], FileProcessing | str] = OrderedDict()
_processors_lock = threading.Lock()


def _processor_for(settings: RunSettings, worker_factory: WorkerFactory) -> FileProcessing:
    key = (settings, worker_factory)
    with _processors_lock:  # one build per worker process, even with several threads
        found = _processors.get(key)
        if found is None:
            try:
                found = worker_factory(settings)
            except Exception as error:
                found = type(error).__name__  # the type only: a message may quote a value
            _processors[key] = found
            while len(_processors) > PROCESSORS_PER_WORKER:
                _processors.popitem(last=False)
        else:
            _processors.move_to_end(key)
    if isinstance(found, str):
        raise WorkerNotReadyError(found)
    return found


def process_on_worker(path: str, settings: RunSettings, worker_factory: WorkerFactory) -> Outcome:
    """The task run on a Dask worker: one input through the worker's (cached) processor."""
    return _processor_for(settings, worker_factory).process(path)


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as error:
        raise WorkerStartError(
            'the dask executor needs Dask: pip install "deidengine[dask]"'
        ) from error
    return distributed


@dataclass(frozen=True)
class DaskExecutor:
    """Runs the per-file function on a Dask cluster: ``scheduler``'s, or a local one."""

    workers: int = 1
    scheduler: str | None = None

    def execute(
        self, paths: Iterable[Path], settings: RunSettings, worker_factory: WorkerFactory
    ) -> Iterator[Outcome]:
        """Build the processor here first (to fail before any input), then stream the inputs.

        Raises:
            WorkerStartError: Dask is not installed, the worker factory raised (here, or later
                on a worker), or the scheduler cannot be reached or is lost.
        """
        distributed = _import_distributed()
        try:
            worker_factory(settings)
        except Exception as error:
            raise WorkerStartError(
                f"the per-file processor could not be prepared ({type(error).__name__})"
            ) from error
        return self._run(distributed, paths, settings, worker_factory)

    def _connect(self, distributed: Any) -> tuple[Any, Any]:
        """A client, and the local cluster it runs on when no scheduler was given."""
        cluster = None
        try:
            if self.scheduler is None:
                cluster = distributed.LocalCluster(
                    n_workers=self.workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=":0",  # a free port: never collides with a running dashboard
                    silence_logs=logging.ERROR,
                )
                return distributed.Client(cluster, timeout=CONNECT_TIMEOUT), cluster
            return distributed.Client(self.scheduler, timeout=CONNECT_TIMEOUT), None
        except Exception as error:
            if cluster is not None:
                cluster.close()
            where = self.scheduler or "a local cluster"
            raise WorkerStartError(
                f"cannot reach the Dask scheduler at {where} ({type(error).__name__})"
            ) from error

    def _run(
        self,
        distributed: Any,
        paths: Iterable[Path],
        settings: RunSettings,
        worker_factory: WorkerFactory,
    ) -> Iterator[Outcome]:
        secret = ProjectSecret(settings.secret_key)
        client, cluster = self._connect(distributed)
        try:
            try:
                client.wait_for_workers(1, timeout=WORKERS_TIMEOUT)
                # Once, to the workers: tasks then carry a reference, not the secret.
                shared = client.scatter(
                    settings, broadcast=True, hash=False, timeout=WORKERS_TIMEOUT
                )
            except Exception as error:
                raise WorkerStartError(
                    f"no Dask worker took the run's settings within {WORKERS_TIMEOUT:.0f} s "
                    f"({type(error).__name__})"
                ) from error
            threads = sum(
                int(worker.get("nthreads", 1))
                for worker in client.scheduler_info()["workers"].values()
            )
            limit = IN_FLIGHT_PER_WORKER * max(threads, self.workers, 1)
            pending = iter(paths)
            in_flight: dict[Any, Path] = {}
            completed = distributed.as_completed()

            def submit_more() -> None:
                while len(in_flight) < limit:
                    path = next(pending, None)
                    if path is None:
                        return
                    future = client.submit(
                        process_on_worker, str(path), shared, worker_factory, pure=False
                    )
                    in_flight[future] = path
                    completed.add(future)

            submit_more()
            while in_flight:
                future = next(completed)
                path = in_flight.pop(future)
                outcome = self._outcome(distributed, future, path, secret)
                future.release()
                yield outcome
                submit_more()
        finally:
            client.close()
            if cluster is not None:
                cluster.close()

    @staticmethod
    def _outcome(distributed: Any, future: Any, path: Path, secret: ProjectSecret) -> Outcome:
        if future.status == "finished":
            result: Outcome = future.result()
            return result
        try:
            error = future.exception()
        except CancelledError:
            error = None
        if error is None or future.status == "cancelled":
            raise WorkerStartError("the Dask cluster cancelled the run's tasks (scheduler lost?)")
        if isinstance(error, WorkerNotReadyError):
            raise WorkerStartError(f"a Dask worker could not prepare the processor ({error})")
        if isinstance(error, distributed.KilledWorker):
            return failure_outcome(secret, path, CRASH_DETAIL)
        return failure_outcome(secret, path, raised_detail(error))
