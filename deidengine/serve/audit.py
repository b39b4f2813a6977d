"""The gateway's audit: the run's JSON-lines audit, one file per listener and gateway start.

The lines are those of ``deid run`` (see :mod:`deidengine.run.audit`): a header, one ``file``
line per instance the engine processed, and a summary when the gateway stops; the gateway adds
one ``forwarded`` line per instance the destination stored. Like the run's, it holds keyed
references, reason codes and output names built from de-identified UIDs, never a value or path.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, datetime

from deidengine.run.audit import AuditWriter
from deidengine.run.outcome import Outcome

__all__ = ["GatewayAudit"]


class GatewayAudit(AuditWriter):
    """An :class:`AuditWriter` shared by the worker and the forwarder threads."""

    _lock = threading.Lock()

    def record(self, outcome: Outcome) -> None:
        with self._lock:
            super().record(outcome)

    def record_forwarded(self, input_ref: str | None, output: str, destination: str) -> None:
        """Append the line of an instance the destination answered success for."""
        with self._lock:
            self._write(
                {
                    "record": "forwarded",
                    "input": input_ref,
                    "output": output,
                    "destination": destination,
                    "time": datetime.now(UTC)
                    .isoformat(timespec="milliseconds")
                    .replace("+00:00", "Z"),
                }
            )

    def summarize(self, counts: Mapping[str, object]) -> None:
        with self._lock:
            super().summarize(counts)
