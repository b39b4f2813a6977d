"""Executors: how the per-file function is run over a stream of inputs.

An executor takes the lazily discovered input paths, the picklable
:class:`~deidengine.run.pipeline.RunSettings` and a worker factory (by default
:func:`~deidengine.run.pipeline.prepare_worker`, which loads the plan once per process), and
yields one :class:`~deidengine.run.outcome.Outcome` per input as each completes, in completion
order. Executors are registered by name in :data:`EXECUTORS`; the CLI and
:func:`~deidengine.run.runner.run_tree` pick one with ``executor="local"``.

``local``: a :class:`concurrent.futures.ProcessPoolExecutor` whose initializer builds the file
processor once per process. With ``workers=1`` it runs in this process without a pool, which is
what tests and debuggers want. Otherwise the pool is created, and its processes started, inside
:meth:`LocalExecutor.execute`, before the caller opens its manifest or starts a progress display,
and they are *forked from this process* when that is safe (:func:`fork_is_safe`): on Linux,
with no other Python thread alive and no native library loaded whose thread pool does not
survive a fork (OpenCV, ONNX Runtime). Then a worker starts in about a millisecond holding
everything this process has already done: the engine imported, the plan compiled (the plan
cache keeps it in memory, so the worker's own processor is built from it at once), the text
stage's word lists and the standard's tables loaded (:func:`~deidengine.run.warmup.warm_engine`,
called just before the fork: otherwise every worker loads them again at its first file). This keeps
the fork's one hazard away: a lock held by another thread at the moment of the fork stays held
in the child forever, and here there is no other thread. Nor does a forked worker hold the
manifest's lock, opened only later.

Where a fork is not safe (another thread is running, a native pool is loaded, a pool must be
replaced after a crash while the manifest's lock is open, or on macOS), the processes come from
a fork server: a fresh single-threaded process that has imported the engine and loaded the
word lists and the standard's tables once (:data:`PRELOADED`) and whose children load the
compiled plan from the plan cache on disk; where there is no fork server (Windows) they are
spawned (and load the lists at their first file with text, from the lists' own disk cache).
At most ``8 * workers`` files are in flight, so memory stays flat whatever the number of
inputs.

A pool task carries one file or, once files are seen to end within :data:`SHORT_FILE_SECONDS`,
four (:data:`FILES_PER_TASK`): each task costs this process a submission, wake-ups of the
pool's threads, a result to decode and a wait (about 0.1-0.2 ms, measured, and more on a busy
machine), which for files of a few milliseconds is a share of the machine the workers could
use. Four rather than two (measured, 300 files, 2 workers, alternating runs: the leader's CPU
time 8-12% lower on both benchmark corpora, its voluntary context switches 40% fewer, the wall
time no worse). Slower files go one by one, so the run's last tasks
never leave a worker idle for long. Outcomes are the same either way, and a task that dies with
its process has each of its files retried alone, as any file lost with a pool is.

A processor that can leave its durable write to a
:class:`~deidengine.dicom.storage.BackgroundMover` (:class:`WriteDeferring`: the pipeline's
``FileProcessor.start``) has it made on a thread while the next file is processed, when the one
worker is this process: one file ahead, each outcome yielded once its file is in place, the
thread stopped when the loop ends. The run's own process has a core to itself then and the
write's waits for the disk (its sync above all) would idle it. Pool workers, as many as the
cores, write in line: a paired ``benchmarks/startup.py`` run with and without a mover in each
worker found no gain on the mixed corpus and a loss on image series (more user CPU, the
threads' switches), as there is no idle core to hide the write's CPU in.
Other processors (tests' fakes, the Dask executor's) process each file whole.

The per-file function never raises; an executor still guards against one that does, or against
a worker process that dies (a crash in a native decoder), by turning the failure into an
``internal-error`` outcome that names the input by keyed reference only: exception messages
are never recorded, since they can quote file names or values.
"""

from __future__ import annotations

import gc
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol

from deidengine.dicom.keys import ProjectSecret
from deidengine.dicom.storage import BackgroundMover
from deidengine.run.outcome import Outcome
from deidengine.run.signals import ignore_interrupts, signals_blocked, terminate_processes
from deidengine.run.warmup import warm_engine
from deidengine.run.worker_protocol import (
    CRASH_DETAIL,
    IN_FLIGHT_PER_WORKER,
    FileProcessing,
    WorkerFactory,
    WorkerNotReadyError,
    WorkerStartError,
    WriteDeferring,
    failure_outcome,
    raised_detail,
)

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor
    from multiprocessing.context import BaseContext
    from multiprocessing.process import BaseProcess

    from deidengine.run.pipeline import RunSettings

# multiprocessing and concurrent.futures are imported where a pool is made (30 ms a run with one
# worker, the default for a single input, never needs).

__all__ = [
    "CRASH_DETAIL",
    "EXECUTORS",
    "FILES_PER_TASK",
    "FORK_UNSAFE_MODULES",
    "IN_FLIGHT_PER_WORKER",
    "PRELOADED",
    "SHORT_FILE_SECONDS",
    "WORKER_COLLECTION_THRESHOLD",
    "Executor",
    "ExecutorOptions",
    "FileProcessing",
    "LocalExecutor",
    "WorkerFactory",
    "WorkerNotReadyError",
    "WorkerStartError",
    "build_file_processor",
    "executor_names",
    "fork_is_safe",
    "make_executor",
    "register_executor",
]

PRELOADED: Final = (
    "deidengine.run.pipeline",
    "deidengine.run.executor",
    "deidengine.run.preloaded",
)
"""Modules the fork server imports once, for every worker it forks (the last one loads the text
stage's word lists and the standard's tables, as :func:`~deidengine.run.warmup.warm_engine`
does before a fork)."""

FORK_UNSAFE_MODULES: Final = ("cv2", "onnxruntime")
"""Native libraries (the pixel stage's) whose thread pools do not survive a fork: once one is
loaded here, for instance because this process ran the pixel stage itself, workers come from
the fork server instead. (numpy's OpenBLAS pool is fork-safe: it stops and restarts its threads
around a fork.)"""


SHORT_FILE_SECONDS: Final = 0.1
"""Files that take a worker less than this (a moving average of wall time) travel
:data:`FILES_PER_TASK` to a pool task. Wall time on a shared machine is often several times
the CPU time (the mixed corpus: 5 to 8 ms of CPU, a median of 20 ms of wall measured on a
loaded 2-core machine), so the bound is set by what it guards against (a worker left idle at
the end of a run of slow, OCR'd files) rather than close to the files that gain."""

WORKER_COLLECTION_THRESHOLD: Final = 10_000
"""A worker's first-generation collection threshold (see :func:`_initialize_worker`)."""

FILES_PER_TASK: Final = max(1, IN_FLIGHT_PER_WORKER // 2)
"""The most files in one task: with ``IN_FLIGHT_PER_WORKER`` files in flight per worker, each
worker still has a task queued behind the one it runs, so it never waits for the next."""


def build_file_processor(settings: RunSettings) -> FileProcessing:
    """The default worker factory: :func:`deidengine.run.pipeline.prepare_worker`."""
    from deidengine.run.pipeline import prepare_worker

    processor: FileProcessing = prepare_worker(settings)
    return processor


@dataclass(frozen=True)
class ExecutorOptions:
    """How many workers an executor may use, and where a cluster executor finds its cluster.

    ``scheduler`` is the address of a running Dask scheduler (``tcp://host:8786``); only the
    ``dask`` executor takes one, and without it that executor starts a local cluster of
    ``workers`` processes.
    """

    workers: int = 1
    scheduler: str | None = None

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError("an executor needs at least one worker")


class Executor(Protocol):
    """Runs the per-file function over ``paths``; yields one Outcome per path as each ends."""

    def execute(
        self, paths: Iterable[Path], settings: RunSettings, worker_factory: WorkerFactory
    ) -> Iterator[Outcome]: ...


ExecutorFactory = Callable[[ExecutorOptions], Executor]

EXECUTORS: dict[str, ExecutorFactory] = {}
"""The executors by name; a module adds one with :func:`register_executor`."""


def register_executor(name: str) -> Callable[[ExecutorFactory], ExecutorFactory]:
    """Register an executor factory under ``name`` (a decorator); names are unique."""

    def register(factory: ExecutorFactory) -> ExecutorFactory:
        if name in EXECUTORS:
            raise ValueError(f"an executor named {name!r} is already registered")
        EXECUTORS[name] = factory
        return factory

    return register


def executor_names() -> tuple[str, ...]:
    """The registered executor names, sorted."""
    return tuple(sorted(EXECUTORS))


def make_executor(name: str, options: ExecutorOptions) -> Executor:
    """The executor registered as ``name``, built with ``options``.

    Raises:
        KeyError: no executor has that name (the message lists the known ones).
    """
    try:
        factory = EXECUTORS[name]
    except KeyError:
        raise KeyError(f"unknown executor {name!r}; known: {', '.join(executor_names())}") from None
    return factory(options)


# Each worker process holds its processor here, built once by the pool's initializer; a failure
# is kept (its type name only) and reported by every task, so the parent can stop the run.
_worker_processor: FileProcessing | None = None
_worker_failure: str = "the initializer did not run"
_worker_secret: ProjectSecret | None = None


def _initialize_worker(settings: RunSettings, worker_factory: WorkerFactory) -> None:
    global _worker_processor, _worker_failure, _worker_secret
    ignore_interrupts()  # a Ctrl-C is the leader's to handle (see run/signals.py)
    _worker_secret = ProjectSecret(settings.secret_key)
    try:
        _worker_processor = worker_factory(settings)
    except Exception as error:
        _worker_failure = type(error).__name__
    # What the process holds now (the engine, pydicom, numpy, the plan) lives as long as the
    # process: left out of the collector, a full collection no longer walks it every few
    # hundred files (measured: 0.35 ms per file of full collections down to 0.03 here).
    gc.freeze()
    # A file's objects are freed by their reference counts when it ends, so collections find
    # little; at the default threshold (700) they still ran about every other small file
    # (0.04-0.08 ms a file, 2-3% of its CPU, measured), at this one almost never. Cycles a
    # file leaves are still collected, after at most this many objects more.
    gc.set_threshold(WORKER_COLLECTION_THRESHOLD, *gc.get_threshold()[1:])


# What a pool task returns: each file's outcome, in the task's order, and the seconds the task
# took in the worker (the executor's measure of how long a file takes).
_TaskResult = tuple[tuple[Outcome, ...], float]


def _process_in_worker(paths: tuple[str, ...]) -> _TaskResult:
    if _worker_processor is None or _worker_secret is None:
        raise WorkerNotReadyError(_worker_failure)
    started = time.perf_counter()
    processor, secret = _worker_processor, _worker_secret
    outcomes = tuple(_process_one(processor, secret, path) for path in paths)
    return outcomes, time.perf_counter() - started


def _process_one(processor: FileProcessing, secret: ProjectSecret, path: str) -> Outcome:
    try:
        return processor.process(path)
    except Exception as error:
        # Here rather than in the leader: the task's other files still end as they would.
        return failure_outcome(secret, Path(path), raised_detail(error))


def _start_one(
    processor: WriteDeferring, mover: BackgroundMover, secret: ProjectSecret, path: str
) -> Callable[[], Outcome]:
    try:
        return processor.start(path, mover)
    except Exception as error:
        outcome = failure_outcome(secret, Path(path), raised_detail(error))
        return lambda: outcome


def _finish_one(end: Callable[[], Outcome], secret: ProjectSecret, path: str) -> Outcome:
    try:
        return end()
    except Exception as error:
        return failure_outcome(secret, Path(path), raised_detail(error))


class _TaskSizing:
    """How many files the next task carries: one until results show that files end within
    :data:`SHORT_FILE_SECONDS`, then :data:`FILES_PER_TASK`."""

    def __init__(self) -> None:
        self._per_file: float | None = None  # seconds, a moving average

    def observe(self, files: int, seconds: float) -> None:
        each = seconds / files
        self._per_file = each if self._per_file is None else 0.75 * self._per_file + 0.25 * each

    @property
    def files(self) -> int:
        if self._per_file is None or self._per_file >= SHORT_FILE_SECONDS:
            return 1
        return FILES_PER_TASK


@dataclass(frozen=True)
class LocalExecutor:
    """Processes on this machine: in this process for one worker, else a process pool."""

    workers: int = 1

    def execute(
        self, paths: Iterable[Path], settings: RunSettings, worker_factory: WorkerFactory
    ) -> Iterator[Outcome]:
        """Build the processor now, then yield one Outcome per path as each completes.

        The processor is built before this returns (in this process, once, even for a pool),
        so a settings problem raises here, before any input is read; a pool's processes are
        started here too, before the caller starts any thread. Outcomes come in input order
        when ``workers == 1``, in completion order otherwise.

        Raises:
            WorkerStartError: the worker factory raised, here or (later) in a pool process.
        """
        secret = ProjectSecret(settings.secret_key)
        forking = self.workers > 1 and fork_is_safe()
        if self.workers > 1 and not forking:
            _server_context()  # the fork server imports the engine while we build below
        try:
            processor = worker_factory(settings)
        except Exception as error:
            # The type only: a message could quote a lookup table's contents.
            raise WorkerStartError(
                f"the per-file processor could not be prepared ({type(error).__name__})"
            ) from error
        if self.workers == 1:
            return self._in_process(paths, processor, secret)
        import multiprocessing

        del processor  # built only to fail early: each pool process builds its own
        # Asked again: building the processor may have loaded a native pool or started a thread.
        forking = forking and fork_is_safe()
        if forking:
            warm_engine()  # loaded once here, shared by every forked worker
        context = multiprocessing.get_context("fork") if forking else _server_context()
        pool = self._new_pool(context, settings, worker_factory)
        # With fork, the first submission forks every process: do it now, while this thread
        # is still the only one (the caller may start a progress display before iterating).
        with signals_blocked():  # until each worker has its own handlers (run/signals.py)
            pool.submit(_ready)
        outcomes = self._in_pool(paths, pool, settings, worker_factory, secret)
        # A caller that never iterates (it failed before its loop) must not leave the pool
        # running; once iterated, the loop shuts it down itself (shutting down twice is fine).
        weakref.finalize(outcomes, pool.shutdown, wait=False, cancel_futures=True)
        return outcomes

    @staticmethod
    def _in_process(
        paths: Iterable[Path], processor: FileProcessing, secret: ProjectSecret
    ) -> Iterator[Outcome]:
        if isinstance(processor, WriteDeferring):
            yield from _deferring_in_process(paths, processor, secret)
            return
        for path in paths:
            try:
                outcome = processor.process(str(path))
            except Exception as error:
                outcome = failure_outcome(secret, path, raised_detail(error))
            yield outcome

    def _in_pool(
        self,
        paths: Iterable[Path],
        pool: ProcessPoolExecutor,
        settings: RunSettings,
        worker_factory: WorkerFactory,
        secret: ProjectSecret,
    ) -> Iterator[Outcome]:
        """The pool loop: keep at most ``limit`` files in flight; survive dying processes.

        When a process dies (a native decoder crashing, the kernel's OOM killer), the pool is
        lost with every file in flight, and which one killed it is unknown. Those files become
        suspects: each is retried alone in a fresh pool, so an innocent one is processed
        normally and the culprit, dying alone, is the only file reported as a crash. A fresh
        pool always comes from the fork server: by now the caller holds the manifest's lock
        (and may run threads), which a forked process would inherit.
        """
        limit = IN_FLIGHT_PER_WORKER * self.workers  # files
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool

        pending = iter(paths)
        sizing = _TaskSizing()
        in_flight: dict[Future[_TaskResult], tuple[Path, ...]] = {}
        suspects: deque[Path] = deque()  # lost with a dying pool; each is retried alone
        alone: Future[_TaskResult] | None = None  # the suspect now running by itself
        exhausted = False
        try:
            while True:
                broken = False
                try:
                    if suspects:
                        if not in_flight:
                            alone = pool.submit(_process_in_worker, (str(suspects[0]),))
                            in_flight[alone] = (suspects.popleft(),)
                    else:
                        # A task waits for room for all its files: filling a single free
                        # place with a single file would keep every task at one.
                        while not exhausted and _files_in(in_flight) + sizing.files <= limit:
                            wanted = sizing.files
                            task = tuple(islice(pending, wanted))
                            exhausted = len(task) < wanted
                            if not task:
                                break
                            suspects.extend(task)  # until the pool has accepted them
                            in_flight[pool.submit(_process_in_worker, _names(task))] = task
                            for _ in task:
                                suspects.pop()
                except BrokenProcessPool:
                    broken = True
                if not in_flight and not broken:
                    return
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    task = in_flight.pop(future)
                    error = future.exception()
                    if error is None:
                        outcomes, seconds = future.result()
                        sizing.observe(len(task), seconds)
                        yield from outcomes
                    elif isinstance(error, WorkerNotReadyError):
                        raise WorkerStartError(
                            f"a worker process could not prepare the processor ({error})"
                        )
                    elif not isinstance(error, BrokenProcessPool):
                        for path in task:
                            yield failure_outcome(secret, path, raised_detail(error))
                    elif future is alone:
                        broken = True
                        yield failure_outcome(secret, task[0], CRASH_DETAIL)
                    else:
                        broken = True
                        suspects.extend(task)
                if broken:
                    suspects.extend(path for task in in_flight.values() for path in task)
                    in_flight.clear()
                    alone = None
                    pool.shutdown(wait=True, cancel_futures=True)
                    pool = self._new_pool(_server_context(), settings, worker_factory)
        except BaseException:
            # Stopped early (a signal, a full disk, the caller closing this generator): end
            # the workers now, not after the files they hold; the runner sweeps their
            # temporaries, and the manifest has those files redone by the next run.
            terminate_processes(_pool_processes(pool))
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _new_pool(
        self, context: BaseContext, settings: RunSettings, worker_factory: WorkerFactory
    ) -> ProcessPoolExecutor:
        from concurrent.futures import ProcessPoolExecutor

        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=context,
            initializer=_initialize_worker,
            initargs=(settings, worker_factory),
        )


def _deferring_in_process(
    paths: Iterable[Path], processor: WriteDeferring, secret: ProjectSecret
) -> Iterator[Outcome]:
    """One worker in this process, each file's write made while the next file is
    processed; each Outcome is yielded once its file is in place. The mover's thread ends
    with the loop, whichever way it ends (a stop cancels the one write not yet begun)."""
    mover = BackgroundMover()
    try:
        previous: tuple[Callable[[], Outcome], str] | None = None
        for path in paths:
            name = str(path)
            end = _start_one(processor, mover, secret, name)
            if previous is not None:
                yield _finish_one(previous[0], secret, previous[1])
            previous = (end, name)
        if previous is not None:
            yield _finish_one(previous[0], secret, previous[1])
    finally:
        mover.close()


def _files_in(in_flight: dict[Future[_TaskResult], tuple[Path, ...]]) -> int:
    """How many files the tasks in flight carry."""
    return sum(map(len, in_flight.values()))


def _names(task: tuple[Path, ...]) -> tuple[str, ...]:
    return tuple(str(path) for path in task)


def _pool_processes(pool: ProcessPoolExecutor) -> list[BaseProcess]:
    # The pool's own processes (Python 3.14 adds terminate_workers() for this; until then
    # the executor's table of them is the only list that holds these and nothing else).
    processes = getattr(pool, "_processes", None) or {}
    return list(processes.values())


def fork_is_safe() -> bool:
    """True when pool processes may be forked from this process (see the module doc): on
    Linux, with this thread the only Python thread and no :data:`FORK_UNSAFE_MODULES` loaded.

    (macOS offers fork too, but its system libraries are not fork-safe; Python itself stopped
    forking there by default.)
    """
    import multiprocessing

    if not sys.platform.startswith("linux"):
        return False
    if "fork" not in multiprocessing.get_all_start_methods():
        return False
    if threading.active_count() != 1:
        return False
    return not any(name in sys.modules for name in FORK_UNSAFE_MODULES)


def _ready() -> None:
    """The task that starts a pool's processes (it runs after each one's initializer)."""


def _server_context() -> BaseContext:
    """The fork server's context (started now, preloading the engine), else spawn's."""
    import multiprocessing
    from multiprocessing import forkserver

    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    # Only heeded before the server starts; a server already running serves as it is.
    context.set_forkserver_preload(list(PRELOADED))
    forkserver.ensure_running()
    return context


def _no_scheduler(name: str, options: ExecutorOptions) -> None:
    if options.scheduler is not None:
        raise ValueError(f"the {name} executor takes no scheduler address")


@register_executor("local")
def _local(options: ExecutorOptions) -> Executor:
    _no_scheduler("local", options)
    return LocalExecutor(workers=options.workers)


@register_executor("dask")
def _dask(options: ExecutorOptions) -> Executor:
    # Imported here: Dask is an optional extra, needed only when this executor runs.
    from deidengine.run.dask_executor import DaskExecutor

    return DaskExecutor(workers=options.workers, scheduler=options.scheduler)
