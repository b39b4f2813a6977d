"""Forward over DICOMweb: STOW-RS to a listener's ``kind = "stow-rs"`` destination.

The second kind of destination: each de-identified instance is POSTed to ``<url>/studies``
with dicomweb-client (``pip install 'deidengine[dicomweb]'``), one request per instance, so
every answer belongs to one row. The rules are the DIMSE forwarder's (:mod:`.scu`): a row is
``forwarded`` only once the service answered success, a service that cannot be reached (no
connection, a timeout, a 5xx, 408 or 429) is waited for with doubling pauses, and an instance
it refuses (another 4xx, or a failed SOP in the response) is kept and tried again after the
longest pause.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Final

from pydicom.dataset import Dataset

from deidengine.serve.config import StowDestinationConfig
from deidengine.serve.queue import QueuedInstance
from deidengine.serve.scu import DestinationUnavailable, Forwarder

__all__ = ["StowForwarder"]

#: HTTP statuses that mean "not now" rather than "not this instance".
UNAVAILABLE_STATUSES: Final = frozenset({408, 429})
FAILED_SOP_SEQUENCE: Final = 0x00081198


class StowForwarder(Forwarder):
    """To a STOW-RS service."""

    _client: Any = None

    @property
    def destination(self) -> StowDestinationConfig:
        destination = self.listener.destination
        assert isinstance(destination, StowDestinationConfig)  # the registry's choice
        return destination

    def _connect(self) -> Any:
        if self._client is None:
            import requests
            from dicomweb_client.api import DICOMwebClient

            session = requests.Session()
            if self.destination.ca_certificates is not None:
                session.verify = str(self.destination.ca_certificates)
            self._client = DICOMwebClient(
                url=self.destination.url,
                session=session,
                timeout=self.destination.timeout_seconds,
            )
        return self._client

    def _deliver(self, ready: list[tuple[QueuedInstance, Dataset, Path]]) -> None:
        import requests

        client = self._connect()
        for row, dataset, path in ready:
            if time.monotonic() >= self.deadline:
                return
            try:
                response = client.store_instances(datasets=[dataset])
            except requests.HTTPError as error:
                status = error.response.status_code if error.response is not None else 0
                if status >= 500 or status in UNAVAILABLE_STATUSES:
                    raise DestinationUnavailable(f"http-{status}") from None
                self._refused(row, f"http-{status}")
                continue
            except requests.RequestException as error:
                raise DestinationUnavailable(type(error).__name__.lower()) from None
            failed = response.get(FAILED_SOP_SEQUENCE) if response is not None else None
            if failed is not None and failed.value:
                self._refused(row, "stow-failed-sop")
                continue
            self._stored(row, path)

    def _release(self) -> None:
        if self._client is not None:
            self._client = None
