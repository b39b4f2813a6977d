"""Forward: a Storage SCU per listener, sending its outbox to the destination in queue order.

One association is kept open while there is work and reused for every instance whose SOP
class it was negotiated for; it is released after ``idle_release_seconds`` without work, or
re-negotiated when a new SOP class or transfer syntax comes. Each (SOP class, transfer syntax)
is proposed in a context of its own, and each SOP class in a compressed syntax also in both
native little endian ones: an instance is sent as it is when the destination accepts its
syntax, converted between the uncompressed ones by pynetdicom, and decompressed (same UIDs)
when the destination takes only native ones.

Nothing is dropped. While the destination is down (no association, an abort, no answer) the
forwarder waits, doubling the pause up to ``retry_max_seconds``, and tries again; an instance
the destination answers with a failure status is tried again after the longest pause. A row
becomes ``forwarded`` only on a success or warning status, and its outbox file is removed only
after that is committed: a kill in between sends it again, with the same UIDs (outputs are a
function of the input, the secret and the policy), which a destination stores as the same
instance.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE, build_context
from pynetdicom.association import Association

from deidengine.dicom.reading import read_dataset
from deidengine.errors import DeidError, EngineCode
from deidengine.serve.config import DestinationConfig, GatewaySettings, ListenerConfig, TlsConfig
from deidengine.serve.queue import ErrorKind, InstanceQueue, QueuedInstance, State

__all__ = [
    "DestinationUnavailable",
    "Forwarder",
    "StorageForwarder",
    "client_ssl_context",
    "is_stored",
]

#: Success, and the warnings PS3.4 B.2.3 defines for C-STORE (the instance was stored).
STORED_STATUSES: Final = frozenset({0x0000, 0xB000, 0xB006, 0xB007})
#: pynetdicom proposes at most 128 presentation contexts, up to two per (SOP class, syntax).
MAX_CONTEXTS: Final = 64
NATIVE: Final = (str(ExplicitVRLittleEndian), str(ImplicitVRLittleEndian))
BATCH: Final = 32

log = logging.getLogger("deid.serve")


class DestinationUnavailable(DeidError):
    """No association, or it broke: everything waits and is tried again."""

    code = EngineCode.DESTINATION_UNAVAILABLE


def _pause_reactor(assoc: Association) -> None:
    """Hold the association's reactor thread until ``send_c_store`` has its response.

    ``send_c_store`` pauses the reactor itself, but it takes a reactor that has just passed its
    checkpoint (and not yet marked itself running) for a paused one; when the destination
    answers fast, that reactor takes the C-STORE response off the queue as an unexpected
    request, and the sender waits for the DIMSE timeout. Clearing the checkpoint first and
    waiting until the reactor thread is blocked on it closes the window: ``send_c_store`` sets
    the checkpoint again once it has the response.
    """
    checkpoint = assoc._reactor_checkpoint
    checkpoint.clear()
    waiters = getattr(getattr(checkpoint, "_cond", None), "_waiters", None)
    end = time.monotonic() + 1.0
    while time.monotonic() < end and assoc.is_alive():
        if waiters is not None and len(waiters) > 0:
            return
        if waiters is None and assoc._is_paused:
            time.sleep(0.005)  # no way to see the waiter: give a running reactor its turn
            if assoc._is_paused:
                return
        time.sleep(0.0001)


def is_stored(status: int) -> bool:
    return status in STORED_STATUSES


def client_ssl_context(tls: TlsConfig) -> ssl.SSLContext:
    """TLS toward a destination: its certificate checked; ours presented when configured."""
    context = ssl.create_default_context(
        ssl.Purpose.SERVER_AUTH,
        cafile=str(tls.ca_certificates) if tls.ca_certificates else None,
    )
    if tls.certificate is not None and tls.private_key is not None:
        context.load_cert_chain(tls.certificate, tls.private_key)
    return context


class Forwarder(threading.Thread):
    """Sends one listener's de-identified instances to its destination, in queue order; the
    kinds of destination differ in :meth:`_deliver` (and :meth:`_release`) only."""

    def __init__(
        self,
        listener: ListenerConfig,
        settings: GatewaySettings,
        queue: InstanceQueue,
        outbox: Path,
        on_forwarded: Callable[[QueuedInstance], None] = lambda row: None,
        on_emptied: Callable[[Path], None] = lambda folder: None,
    ) -> None:
        super().__init__(name=f"forward-{listener.name}", daemon=True)
        self.listener = listener
        self.label = listener.destination.label
        self.settings = settings
        self.queue = queue
        self.outbox = outbox
        self.on_forwarded = on_forwarded
        self.on_emptied = on_emptied
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.deadline = float("inf")
        self._pause = 0.0

    def stop(self, deadline: float) -> None:
        """Forward what is ready (until ``deadline``, a monotonic time), then end."""
        self.deadline = deadline
        self.stopping.set()
        self.wake.set()

    def run(self) -> None:
        try:
            self._loop()
        finally:
            self._release()
            self.queue.close()

    def _loop(self) -> None:
        idle_since = time.monotonic()
        while time.monotonic() < self.deadline:
            rows = self.queue.due(State.DEIDENTIFIED, listener=self.listener.name, limit=BATCH)
            if not rows:
                if self.stopping.is_set():
                    return
                if time.monotonic() - idle_since > self.settings.idle_release_seconds:
                    self._release()
                self.wake.wait(0.5)
                self.wake.clear()
                continue
            try:
                self._forward(rows)
                self._pause = 0.0
            except DestinationUnavailable as error:
                self._release()
                if self.stopping.is_set():
                    return  # draining toward a destination that is down: the queue keeps it
                self._pause = min(max(2 * self._pause, 0.5), self.settings.retry_max_seconds)
                self.queue.note_error(self.listener.name, ErrorKind.FORWARD, str(error))
                log.warning(
                    "listener %s: destination %s unavailable (%s); retrying in %.1f s",
                    self.listener.name,
                    self.label,
                    error,
                    self._pause,
                )
                self.wake.wait(min(self._pause, max(0.0, self.deadline - time.monotonic())))
                self.wake.clear()
            idle_since = time.monotonic()

    def _forward(self, rows: list[QueuedInstance]) -> None:
        ready: list[tuple[QueuedInstance, Dataset, Path]] = []
        for row in rows:
            path = self.outbox / str(row.output)
            try:
                dataset: Dataset = read_dataset(path)
            except Exception:
                self.queue.settle(
                    row.id,
                    State.QUARANTINED,
                    input_ref=row.input_ref or "",
                    output=row.output,
                    reason="outbox-unreadable",
                )
                self.queue.note_error(self.listener.name, ErrorKind.FORWARD, "outbox-unreadable")
                continue
            ready.append((row, dataset, path))
        if ready:
            self._deliver(ready)

    def _deliver(self, ready: list[tuple[QueuedInstance, Dataset, Path]]) -> None:
        """Send ``ready`` (rows, their datasets and outbox paths) in order, calling
        :meth:`_stored` or :meth:`_refused` for each; raise :class:`DestinationUnavailable`
        when the destination cannot be reached."""
        raise NotImplementedError

    def _release(self) -> None:
        """Let go of the connection, if the kind keeps one."""

    def _stored(self, row: QueuedInstance, path: Path) -> None:
        """The destination has it: commit, then remove the outbox file."""
        self.queue.mark_forwarded(row.id)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        self.on_forwarded(row)
        # The worker removes the folder once empty: it is the one writing into such folders.
        self.on_emptied(path.parent)

    def _refused(self, row: QueuedInstance, code: str) -> None:
        """The destination is up but did not store it: kept, tried again after the longest
        pause (an operator may fix the destination meanwhile)."""
        self.queue.defer(row.id, code, self.settings.retry_max_seconds)
        self.queue.note_error(self.listener.name, ErrorKind.FORWARD, code)
        log.warning(
            "listener %s: destination %s did not store instance %s (%s); it is kept and "
            "tried again",
            self.listener.name,
            self.label,
            row.input_ref,
            code,
        )


class StorageForwarder(Forwarder):
    """To a Storage SCP: C-STORE over an association kept open while there is work."""

    _assoc: Association | None = None
    _negotiated: frozenset[tuple[str, str]] = frozenset()

    @property
    def destination(self) -> DestinationConfig:
        destination = self.listener.destination
        assert isinstance(destination, DestinationConfig)  # the registry's choice
        return destination

    def _deliver(self, ready: list[tuple[QueuedInstance, Dataset, Path]]) -> None:
        self._associate(
            {
                (str(d.file_meta.MediaStorageSOPClassUID), str(d.file_meta.TransferSyntaxUID))
                for _, d, _ in ready
            }
        )
        for row, dataset, path in ready:
            if time.monotonic() >= self.deadline:
                return
            self._send(row, dataset, path)

    def _send(self, row: QueuedInstance, dataset: Dataset, path: Path) -> None:
        assoc = self._assoc
        if assoc is None or not assoc.is_established:
            raise DestinationUnavailable("association-lost")
        try:
            _pause_reactor(assoc)
            status = assoc.send_c_store(dataset)
        except ValueError:
            # No accepted context in the instance's syntax: native little endian, if taken.
            try:
                # The same instance, only decoded: pydicom would give it a new UID.
                dataset.decompress(generate_instance_uid=False)
                _pause_reactor(assoc)
                status = assoc.send_c_store(dataset)
            except Exception:
                self._refused(row, "no-accepted-context")
                return
        except (RuntimeError, OSError) as error:
            raise DestinationUnavailable(type(error).__name__.lower()) from None
        code = int(status.get("Status", -1)) if status else -1
        if code == -1:
            raise DestinationUnavailable("no-response")
        if not is_stored(code):
            self._refused(row, f"status-{code:04X}")
            return
        self._stored(row, path)

    def _associate(self, wanted: set[tuple[str, str]]) -> None:
        """Reuse the open association when it was negotiated for these (SOP class, transfer
        syntax) pairs, else open one."""
        if self._assoc is not None and self._assoc.is_established and wanted <= self._negotiated:
            return
        self._release()
        ae = AE(ae_title=self.destination.calling_ae_title or self.listener.ae_title)
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 30
        ae.connection_timeout = 10
        contexts = []
        with_native: set[str] = set()
        proposed = sorted(wanted)[:MAX_CONTEXTS]
        for sop_class, syntax in proposed:
            # Its own syntax alone, so the destination cannot prefer another when it takes
            # this one; the native pair beside it, for a destination that takes no other.
            contexts.append(build_context(sop_class, [syntax]))
            if syntax not in NATIVE and sop_class not in with_native:
                with_native.add(sop_class)
                contexts.append(build_context(sop_class, list(NATIVE)))
        tls = self.destination.tls
        tls_args = (
            (client_ssl_context(tls), tls.server_name or self.destination.host)
            if tls is not None
            else None
        )
        log.debug(
            "listener %s: associating with %s (%d contexts)",
            self.listener.name,
            self.destination.ae_title,
            len(contexts),
        )
        assoc = ae.associate(
            self.destination.host,
            self.destination.port,
            contexts=contexts,
            ae_title=self.destination.ae_title,
            tls_args=tls_args,
        )
        if not assoc.is_established:
            raise DestinationUnavailable("rejected" if assoc.is_rejected else "no-association")
        self._assoc = assoc
        connection = assoc.dul.socket.socket if assoc.dul.socket is not None else None
        if connection is not None:
            # A C-STORE goes as several writes: without this each one waits out the
            # destination's delayed acknowledgement (about 40 ms on Linux).
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # Rejected ones count as negotiated too: their instances are deferred, not the
        # reason for a new association per batch.
        self._negotiated = frozenset(proposed)

    def _release(self) -> None:
        if self._assoc is not None:
            log.debug("listener %s: releasing the association", self.listener.name)
            with contextlib.suppress(Exception):
                if self._assoc.is_established:
                    self._assoc.release()
            self._assoc = None
            self._negotiated = frozenset()
