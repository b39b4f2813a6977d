"""The gateway's lifecycle: check, recover, start, serve until a signal, drain, stop.

:func:`serve` is what ``deid serve`` calls. Before anything listens it loads the secret and
compiles every listener's policy (a bad one stops the start, with the policy checker's
messages), takes the work folder's lock (one gateway per queue), and recovers what a killed
predecessor left: half-written spool files (never acknowledged) are removed, spooled files the
queue does not know are queued, files of finished rows are removed, and the outbox's
temporaries are cleaned. Rows still ``received`` or ``deidentified`` are simply picked up.

On SIGTERM (or SIGINT) the listeners stop accepting, the worker de-identifies what was
received and the forwarders send what is ready, both until ``drain_timeout`` (a destination
that is down is not waited for); the audits get
their summary lines and the process exits 0. Whatever is left waits in the queue for the next
start.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import signal
import threading
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Final

from deidengine.dicom.keys import load_secret
from deidengine.errors import DeidError, EngineCode
from deidengine.run.audit import AuditHeader, new_run_id
from deidengine.run.manifest import remove_stale_temporaries
from deidengine.run.pipeline import FileProcessor, RunSettings
from deidengine.serve.audit import GatewayAudit
from deidengine.serve.config import GatewayConfig
from deidengine.serve.queue import InstanceQueue, QueuedInstance, State
from deidengine.serve.scp import StorageReceiver
from deidengine.serve.scu import Forwarder, StorageForwarder
from deidengine.serve.spool import Spool
from deidengine.serve.stow import StowForwarder
from deidengine.serve.worker import DeidentifyWorker, outbox_path

__all__ = ["GatewayBusyError", "Recovery", "recover", "serve"]

log = logging.getLogger("deid.serve")
#: The forwarder of each kind of destination.
FORWARDERS: Final[dict[str, type[Forwarder]]] = {
    "dimse": StorageForwarder,
    "stow-rs": StowForwarder,
}
#: The queue's problem log is trimmed to this age at each start.
ERROR_RETENTION_SECONDS: Final = 7 * 86400.0


class GatewayBusyError(DeidError):
    """Another gateway holds this work folder."""

    code = EngineCode.GATEWAY_BUSY


@dataclass(frozen=True)
class Recovery:
    """What the start-up scan found."""

    requeued: int = 0  # spooled, acknowledged, but not in the queue (killed between the two)
    removed_temporaries: int = 0  # half-written, never acknowledged
    removed_finished: int = 0  # their rows were done (killed before the file was removed)


@contextlib.contextmanager
def _work_lock(work: Path) -> Iterator[None]:
    work.mkdir(parents=True, exist_ok=True)
    with open(work / "gateway.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise GatewayBusyError(f"another gateway is using {work}") from None
        yield


def recover(config: GatewayConfig, spool: Spool, queue: InstanceQueue) -> Recovery:
    """Reconcile the spool and the outbox with the queue after an unclean stop."""
    requeued = temporaries = finished = 0
    for listener in config.listener:
        temporaries += spool.remove_temporaries(listener.name)
        remove_stale_temporaries(outbox_path(config.gateway.work, listener.name))
        names = set(spool.names(listener.name))
        pending = queue.spooled_names(listener.name)
        known = queue.known_names(listener.name, names - pending)
        for name in sorted(names - pending - known):
            queue.add(listener.name, name)
            requeued += 1
        done = {
            str(name)
            for (name,) in queue.query(
                "SELECT spool_name FROM instances WHERE listener = ? AND state IN (?, ?, ?)",
                (listener.name, State.DEIDENTIFIED.value, State.FORWARDED.value, "skipped"),
            )
        }
        for name in known & done:
            spool.discard(listener.name, name)
            finished += 1
    return Recovery(requeued, temporaries, finished)


def _processors(config: GatewayConfig, key: bytes) -> dict[str, FileProcessor]:
    """Compile every listener's policy now: a bad one stops the start (PolicyError)."""
    return {
        listener.name: FileProcessor(
            RunSettings(
                policy_spec=listener.policy,
                secret_key=key,
                output_root=str(outbox_path(config.gateway.work, listener.name)),
                quarantine_root=str(config.gateway.quarantine / listener.name),
                ocr_backend=config.gateway.ocr_backend,
            )
        )
        for listener in config.listener
    }


def serve(config: GatewayConfig, *, stop: threading.Event | None = None) -> Recovery:
    """Run the gateway until SIGTERM/SIGINT (or ``stop`` is set); drain; return.

    Raises:
        SecretError: the project secret cannot be loaded.
        PolicyError: a listener's policy does not compile into a runnable plan.
        GatewayBusyError: another gateway uses the same work folder.
        OSError: a listener's port cannot be bound.
    """
    settings = config.gateway
    secret = load_secret(settings.secret_file)
    processors = _processors(config, secret.key)
    stop = stop or threading.Event()
    with _work_lock(settings.work):
        queue = InstanceQueue(settings.queue_path)
        spool = Spool(settings.spool_dir)
        recovery = recover(config, spool, queue)
        queue.prune_errors(ERROR_RETENTION_SECONDS)
        if recovery.requeued or recovery.removed_temporaries:
            log.info(
                "recovered: %d spooled instance(s) queued, %d half-written file(s) removed",
                recovery.requeued,
                recovery.removed_temporaries,
            )
        run_id = new_run_id()
        audits = {
            listener.name: GatewayAudit(
                settings.work / "audit" / listener.name / f"{run_id}.jsonl",
                AuditHeader(
                    run_id=run_id,
                    policy=processors[listener.name].plan.names,
                    policy_digest=processors[listener.name].plan.digest,
                    executor="serve",
                ),
                workers=1,
            )
            for listener in config.listener
        }
        with contextlib.ExitStack() as stack:
            for audit in audits.values():
                stack.enter_context(audit)
            counts: Counter[str] = Counter()
            forwarders: dict[str, Forwarder] = {}

            def forwarded(row: QueuedInstance) -> None:
                counts[row.listener] += 1
                audits[row.listener].record_forwarded(
                    row.input_ref,
                    str(row.output),
                    config.listener_named(row.listener).destination.label,
                )

            worker = DeidentifyWorker(
                InstanceQueue(settings.queue_path),
                spool,
                processors,
                audits,
                on_deidentified=lambda name: forwarders[name].wake.set(),
                processes=settings.deidentify_processes,
            )
            for listener in config.listener:
                forwarders[listener.name] = FORWARDERS[listener.destination.kind](
                    listener,
                    settings,
                    InstanceQueue(settings.queue_path),
                    outbox_path(settings.work, listener.name),
                    on_forwarded=forwarded,
                    on_emptied=worker.tidy,
                )
            worker.start()
            for forwarder in forwarders.values():
                forwarder.start()
            receivers = [
                StorageReceiver(listener, spool, queue, on_received=worker.wake.set)
                for listener in config.listener
            ]
            previous = _install_signals(stop)
            try:
                for receiver in receivers:
                    receiver.start()
                    log.info(
                        "listener %s: %s listening on %s:%d, forwarding to %s",
                        receiver.listener.name,
                        receiver.listener.ae_title,
                        receiver.listener.bind,
                        receiver.listener.port,
                        receiver.listener.destination.describe(),
                    )
                while not stop.wait(0.2):
                    pass
                log.info("stopping: draining for up to %.0f s", settings.drain_timeout)
            finally:
                for receiver in receivers:
                    receiver.stop()
                deadline = time.monotonic() + settings.drain_timeout
                worker.stop(deadline)
                worker.join(max(0.0, deadline - time.monotonic()) + 5)
                for forwarder in forwarders.values():
                    forwarder.stop(deadline)
                for forwarder in forwarders.values():
                    forwarder.join(max(0.0, deadline - time.monotonic()) + 5)
                _restore_signals(previous)
                waiting = queue.count(State.RECEIVED) + queue.count(State.DEIDENTIFIED)
                for name, audit in audits.items():
                    audit.summarize(
                        {
                            "received": sum(
                                r.received for r in receivers if r.listener.name == name
                            ),
                            "forwarded": counts[name],
                            "waiting": waiting,  # all listeners: what the next start resumes
                        }
                    )
                log.info("stopped; %d instance(s) wait in the queue for the next start", waiting)
                queue.close()
    return recovery


_Handler = signal.Handlers | int | None | object


def _install_signals(stop: threading.Event) -> dict[int, _Handler]:
    if threading.current_thread() is not threading.main_thread():
        return {}

    def handle(number: int, frame: FrameType | None) -> None:
        stop.set()

    previous: dict[int, _Handler] = {}
    for number in (signal.SIGTERM, signal.SIGINT):
        previous[number] = signal.signal(number, handle)
    return previous


def _restore_signals(previous: dict[int, _Handler]) -> None:
    for number, handler in previous.items():
        signal.signal(number, handler)  # type: ignore[arg-type]


def configure_logging(level: str) -> None:
    """Log lines to stderr: time, level, message (keyed references only)."""
    logging.basicConfig(
        level=getattr(logging, level.upper()),
        format="%(asctime)s %(levelname)s deid-serve: %(message)s",
    )
    # pynetdicom logs every PDU at INFO and can dump datasets at DEBUG: only its warnings.
    logging.getLogger("pynetdicom").setLevel(logging.WARNING)
    # pydicom's warnings and log lines quote element values (an invalid date, a name): none
    # may reach the gateway's log, whichever thread reads a dataset.
    logging.getLogger("pydicom").setLevel(logging.CRITICAL + 1)
    warnings.simplefilter("ignore")
