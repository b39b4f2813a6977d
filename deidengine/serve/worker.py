"""De-identify: the engine's pipeline over the queue's ``received`` rows.

Each spooled instance goes through :meth:`FileProcessor.process` exactly as ``deid run`` sends
a file, with the listener's policy and the project secret, so the same instance gives the
same output (UIDs, pseudonyms, date offsets) whichever way it came. The output lands in the
listener's outbox (``<work>/outbox/<listener>/<study>/<series>/<instance>.dcm``) for the
forwarder; a file that fails closed goes to the quarantine with the run's reason.

A failure to write the output (a full disk) is not the input's fault: the row stays
``received`` and is tried again after a pause, its spooled file kept. Every other outcome is
committed first and the spooled file removed after, so a kill in between leaves a file the
start-up scan removes, never a row without its input.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final

from deidengine.run.outcome import Outcome, Reason, Status
from deidengine.run.pipeline import FileProcessor
from deidengine.serve.audit import GatewayAudit
from deidengine.serve.queue import ErrorKind, InstanceQueue, QueuedInstance, State
from deidengine.serve.spool import Spool

__all__ = ["TRANSIENT_REASONS", "DeidentifyWorker", "outcome_state"]

#: Outcomes that say nothing about the input: it is kept and tried again.
TRANSIENT_REASONS: Final = frozenset({Reason.WRITE_FAILED})
RETRY_SECONDS: Final = 2.0

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

    def stop(self, deadline: float) -> None:
        """Finish what was received (until ``deadline``, a monotonic time), then end."""
        self.deadline = deadline
        self.stopping.set()
        self.wake.set()

    def run(self) -> None:
        try:
            self._loop()
        finally:
            self.queue.close()

    def _loop(self) -> None:
        while time.monotonic() < self.deadline:
            rows = self.queue.due(State.RECEIVED, limit=32)
            if not rows:
                if self.stopping.is_set():
                    return
                self.wake.wait(0.5)
                self.wake.clear()
                continue
            for row in rows:
                if time.monotonic() >= self.deadline:
                    return
                self.process(row)

    def process(self, row: QueuedInstance) -> None:
        processor = self.processors[row.listener]
        path = self.spool.path(row.listener, row.spool_name)
        outcome = processor.process(str(path))
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
