"""De-identify: the engine's pipeline over the queue's ``received`` rows.

Each spooled instance goes through :meth:`FileProcessor.process` exactly as ``deid run`` sends
a file, with the listener's policy and the project secret, so the same instance gives the
same output (UIDs, pseudonyms, date offsets) whichever way it came. The output lands in the
listener's outbox (``<work>/outbox/<listener>/<study>/<series>/<instance>.dcm``) for the
forwarder; a file that fails closed goes to the quarantine with the run's reason.

With ``deidentify_processes`` set, the pipeline runs in that many worker processes (each
compiles the plans once), so receiving and forwarding keep the gateway's own interpreter; a
batch of rows is processed at once and recorded in queue order. A worker process that dies
leaves its rows ``received``: they are tried again in a new pool, and quarantined
(``internal-error``) after :data:`MAX_ATTEMPTS`.

A failure to write the output (a full disk) is not the input's fault: the row stays
``received`` and is tried again after a pause, its spooled file kept. Every other outcome is
committed first and the spooled file removed after, so a kill in between leaves a file the
start-up scan removes, never a row without its input.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Final

from deidengine.run.outcome import REASON_TEXT, Outcome, Reason, Status
from deidengine.run.pipeline import FileProcessor, RunSettings
from deidengine.serve.audit import GatewayAudit
from deidengine.serve.queue import ErrorKind, InstanceQueue, QueuedInstance, State
from deidengine.serve.spool import Spool

__all__ = ["TRANSIENT_REASONS", "DeidentifyWorker", "outcome_state"]

#: Outcomes that say nothing about the input: it is kept and tried again.
TRANSIENT_REASONS: Final = frozenset({Reason.WRITE_FAILED})
RETRY_SECONDS: Final = 2.0
#: Attempts after which an input that keeps killing its worker process fails closed.
MAX_ATTEMPTS: Final = 3
BATCH: Final = 32

#: In a worker process: the listeners' processors, built once by :func:`_start_process`.
_PROCESSORS: dict[str, FileProcessor] = {}


def _start_process(settings: Mapping[str, RunSettings]) -> None:
    _PROCESSORS.update({name: FileProcessor(each) for name, each in settings.items()})


def _process_in_pool(listener: str, path: str) -> Outcome:
    return _PROCESSORS[listener].process(path)


log = logging.getLogger("deid.serve")


def outcome_state(outcome: Outcome) -> State | None:
    """The queue state an outcome leads to; None when it is to be tried again."""
    if outcome.status is Status.WRITTEN or outcome.reason is Reason.ALREADY_DONE:
        return State.DEIDENTIFIED
    if outcome.status is Status.SKIPPED:
        return State.SKIPPED
    if outcome.reason in TRANSIENT_REASONS:
        return None
    return State.QUARANTINED


class DeidentifyWorker(threading.Thread):
    """Takes ``received`` rows oldest first, processes them, records the outcome."""

    def __init__(
        self,
        queue: InstanceQueue,
        spool: Spool,
        processors: Mapping[str, FileProcessor],
        audits: Mapping[str, GatewayAudit],
        on_deidentified: Callable[[str], None],
        processes: int = 0,
    ) -> None:
        super().__init__(name="deid-worker", daemon=True)
        self.queue = queue
        self.spool = spool
        self.processors = processors
        self.audits = audits
        self.on_deidentified = on_deidentified
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.deadline = float("inf")
        self.processes = processes
        self._pool: ProcessPoolExecutor | None = None
        self._emptied: set[Path] = set()
        self._emptied_lock = threading.Lock()

    def tidy(self, folder: Path) -> None:
        """A forwarder removed an instance from ``folder``: remove it (and its study folder)
        once empty, between batches, when no write into the outbox is under way. A gateway
        that runs for months then keeps no folder per study it ever forwarded."""
        with self._emptied_lock:
            self._emptied.add(folder)

    def _tidy(self) -> None:
        with self._emptied_lock:
            folders, self._emptied = self._emptied, set()
        roots = {Path(p.settings.output_root) for p in self.processors.values()}
        for folder in folders:
            while folder not in roots and any(root in folder.parents for root in roots):
                try:
                    folder.rmdir()
                except OSError:
                    break  # not empty (or gone): its instances are still on their way
                folder = folder.parent

    def _new_pool(self) -> ProcessPoolExecutor:
        settings = {name: processor.settings for name, processor in self.processors.items()}
        return ProcessPoolExecutor(
            self.processes,
            # Not fork: the gateway's threads (sockets, SQLite) must not be copied mid-use.
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_process,
            initargs=(settings,),
        )

    def stop(self, deadline: float) -> None:
        """Finish what was received (until ``deadline``, a monotonic time), then end."""
        self.deadline = deadline
        self.stopping.set()
        self.wake.set()

    def run(self) -> None:
        try:
            self._loop()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
            self.queue.close()

    def _loop(self) -> None:
        while time.monotonic() < self.deadline:
            self._tidy()
            rows = self.queue.due(State.RECEIVED, limit=BATCH)
            if not rows:
                if self.stopping.is_set():
                    return
                self.wake.wait(0.5)
                self.wake.clear()
                continue
            if self.processes > 0:
                self._process_in_pool(rows)
                continue
            for row in rows:
                if time.monotonic() >= self.deadline:
                    return
                path = self.spool.path(row.listener, row.spool_name)
                self.record(row, self.processors[row.listener].process(str(path)))

    def _process_in_pool(self, rows: list[QueuedInstance]) -> None:
        if self._pool is None:
            self._pool = self._new_pool()
        futures: list[Future[Outcome]] = [
            self._pool.submit(
                _process_in_pool, row.listener, str(self.spool.path(row.listener, row.spool_name))
            )
            for row in rows
        ]
        for row, future in zip(rows, futures, strict=True):
            try:
                outcome = future.result()
            except BrokenProcessPool:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
                self._worker_died(row)
                return
            self.record(row, outcome)

    def _worker_died(self, row: QueuedInstance) -> None:
        """The process handling ``row`` (or one beside it) died: retry, then fail closed."""
        self.queue.note_error(row.listener, ErrorKind.DEIDENTIFY, "worker-died")
        if row.attempts + 1 >= MAX_ATTEMPTS:
            path = self.spool.path(row.listener, row.spool_name)
            reference = self.processors[row.listener].input_reference(str(path))
            detail = f"{REASON_TEXT[Reason.INTERNAL_ERROR]} (the worker process died)"
            # Quarantined where it is: the spooled file stays as the input's copy.
            self.record(
                row,
                Outcome(reference, Status.QUARANTINED, reason=Reason.INTERNAL_ERROR, detail=detail),
            )
        else:
            self.queue.defer(row.id, "worker-died", RETRY_SECONDS)

    def record(self, row: QueuedInstance, outcome: Outcome) -> None:
        """Audit and commit the engine's outcome for ``row``."""
        processor = self.processors[row.listener]
        self.audits[row.listener].record(outcome)
        state = outcome_state(outcome)
        reason = outcome.reason.value if outcome.reason is not None else None
        if state is None:
            self.queue.defer(row.id, reason or "transient", RETRY_SECONDS)
            self.queue.note_error(row.listener, ErrorKind.DEIDENTIFY, reason or "transient")
            log.warning(
                "listener %s: instance %s deferred (%s); it is kept and tried again",
                row.listener,
                outcome.input_ref,
                reason,
            )
            return
        self.queue.settle(
            row.id,
            state,
            input_ref=outcome.input_ref,
            output=outcome.output,
            reason=reason,
            detail=outcome.detail,
        )
        if state is State.QUARANTINED:
            self.queue.note_error(row.listener, ErrorKind.DEIDENTIFY, reason or "quarantined")
            log.warning(
                "listener %s: instance %s quarantined (%s)", row.listener, outcome.input_ref, reason
            )
            if not (processor.quarantine_root / f"{outcome.input_ref}.input").is_file():
                return  # the quarantine could not take a copy: the spooled file is the copy
        self.spool.discard(row.listener, row.spool_name)
        if state is State.DEIDENTIFIED:
            self.on_deidentified(row.listener)


def outbox_path(work: Path, listener: str) -> Path:
    """Where a listener's de-identified instances wait for the forwarder."""
    return work / "outbox" / listener
