"""Receive: one pynetdicom Storage SCP per listener.

It answers C-ECHO, and C-STORE for every storage SOP class pynetdicom knows, in the transfer
syntaxes the engine reads (the pipeline's own list); a presentation context in any other
syntax is refused at negotiation. A sender whose calling AE title or address is not on the
listener's allowlist is rejected (A-ASSOCIATE-RJ, *calling AE title not recognised*) and the
rejection logged with the title and address only.

A C-STORE is answered success only once the instance is in the spool (fsynced) and in the
queue; when it cannot be kept the answer is 0xA700 (*out of resources*): the sender still has
it and retries. The dataset is spooled as received, never decoded here, so a malformed one is
acknowledged, kept, and quarantined by the worker with the run's reason.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
from collections.abc import Callable
from typing import Any, Final

from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE, AllStoragePresentationContexts, evt
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]
from pynetdicom.transport import ThreadedAssociationServer

from deidengine.run.admission import KNOWN_TRANSFER_SYNTAXES
from deidengine.serve.config import ListenerConfig, TlsConfig
from deidengine.serve.queue import ErrorKind, InstanceQueue
from deidengine.serve.spool import Spool, SpoolError

__all__ = [
    "OUT_OF_RESOURCES",
    "SUCCESS",
    "TRANSFER_SYNTAXES",
    "StorageReceiver",
    "server_ssl_context",
]

SUCCESS: Final = 0x0000
OUT_OF_RESOURCES: Final = 0xA700
#: Native little endian first: what most senders propose and every engine stage handles.
TRANSFER_SYNTAXES: Final = [
    str(ExplicitVRLittleEndian),
    str(ImplicitVRLittleEndian),
    *sorted(KNOWN_TRANSFER_SYNTAXES - {ExplicitVRLittleEndian, ImplicitVRLittleEndian}),
]
#: A-ASSOCIATE-RJ: rejected-permanent, service-user, calling AE title not recognised.
_REJECT_CALLING: Final = (0x01, 0x01, 0x03)

log = logging.getLogger("deid.serve")


def server_ssl_context(tls: TlsConfig) -> ssl.SSLContext:
    """TLS for a listener: its certificate; client certificates required when CAs are set."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    assert tls.certificate is not None and tls.private_key is not None  # the model checks
    context.load_cert_chain(tls.certificate, tls.private_key)
    if tls.ca_certificates is not None:
        context.load_verify_locations(tls.ca_certificates)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


class StorageReceiver:
    """One listener's Storage SCP: allowlist, spool, queue."""

    def __init__(
        self,
        listener: ListenerConfig,
        spool: Spool,
        queue: InstanceQueue,
        on_received: Callable[[], None] = lambda: None,
    ) -> None:
        self.listener = listener
        self.spool = spool
        self.queue = queue
        self.on_received = on_received
        self.server: ThreadedAssociationServer | None = None
        self._lock = threading.Lock()
        self.received = 0

    def start(self) -> None:
        """Listen (non-blocking); raises OSError when the port cannot be bound."""
        ae = AE(ae_title=self.listener.ae_title)
        ae.maximum_associations = 16
        ae.maximum_pdu_size = 0  # no limit on what we receive: fewer, larger PDUs
        ae.add_supported_context(Verification)
        for storage in AllStoragePresentationContexts:
            ae.add_supported_context(str(storage.abstract_syntax), TRANSFER_SYNTAXES)
        ae.require_called_aet = True
        handlers: list[Any] = [
            (evt.EVT_REQUESTED, self._on_requested),
            (evt.EVT_C_ECHO, self._on_echo),
            (evt.EVT_C_STORE, self._on_store),
        ]
        context = server_ssl_context(self.listener.tls) if self.listener.tls else None
        server = ae.start_server(
            (self.listener.bind, self.listener.port),
            block=False,
            evt_handlers=handlers,
            ssl_context=context,
        )
        assert server is not None  # non-blocking: the server is returned
        # Accepted sockets inherit it (Linux): each C-STORE response leaves at once instead of
        # waiting out the sender's delayed acknowledgement (Nagle's algorithm).
        if server.socket is not None:
            server.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server = server

    def stop(self) -> None:
        """Stop listening; associations in progress are ended (their un-acknowledged
        instances stay with their senders)."""
        if self.server is not None:
            self.server.shutdown()
            self.server = None

    def _on_requested(self, event: evt.Event) -> None:
        assoc = event.assoc
        primitive = assoc.requestor.primitive
        calling = str(primitive.calling_ae_title if primitive else "").strip()
        address = str(assoc.requestor.address)
        if not self.listener.allows(calling, address):
            log.warning(
                "listener %s: association from AE title %r at %s rejected: not on the allowlist",
                self.listener.name,
                calling,
                address,
            )
            self.queue.note_error(self.listener.name, ErrorKind.ASSOCIATION, "not-allowed")
            assoc.acse.send_reject(*_REJECT_CALLING)
            assoc.kill()  # as pynetdicom's own rejections: the DUL sends the A-ASSOCIATE-RJ first

    def _on_echo(self, event: evt.Event) -> int:
        return SUCCESS

    def _on_store(self, event: evt.Event) -> int:
        try:
            data = event.encoded_dataset(include_meta=True)
        except Exception:
            self.queue.note_error(self.listener.name, ErrorKind.SPOOL, "undecodable-request")
            return OUT_OF_RESOURCES
        try:
            name = self.spool.store(self.listener.name, data)
        except SpoolError as error:
            log.error(
                "listener %s: an instance could not be spooled (%s); the sender was told to "
                "retry (0xA700)",
                self.listener.name,
                error.errno_name,
            )
            self._note(ErrorKind.SPOOL, error.errno_name.lower())
            return OUT_OF_RESOURCES
        try:
            row = self.queue.add(self.listener.name, name)
        except Exception as error:  # the queue could not take it: do not acknowledge
            self.spool.discard(self.listener.name, name)
            log.error(
                "listener %s: the queue refused an instance (%s); the sender was told to "
                "retry (0xA700)",
                self.listener.name,
                type(error).__name__,
            )
            return OUT_OF_RESOURCES
        with self._lock:
            self.received += 1
        log.debug("listener %s: instance q%d spooled", self.listener.name, row)
        self.on_received()
        return SUCCESS

    def _note(self, kind: ErrorKind, code: str) -> None:
        # The database may be on the full disk too; the log line says it.
        with contextlib.suppress(Exception):
            self.queue.note_error(self.listener.name, kind, code)
