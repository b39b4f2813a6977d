"""The document of ``deid serve status --format json``."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import Field

from deidengine.schemas._base import Document
from deidengine.serve.queue import ErrorKind, State

__all__ = ["GatewayErrorSummary", "GatewayStatusDocument"]


class GatewayErrorSummary(Document):
    """The problems of one kind and code of the last day, for one listener."""

    listener: str = Field(description="The listener's name.")
    kind: ErrorKind = Field(description="Where the problem arose.")
    code: str = Field(description="The reason code (a quarantine reason, a network failure).")
    count: int = Field(ge=1, description="How many times it arose.")
    last: str = Field(description="When it last arose: ISO 8601, UTC, to the second.")


class GatewayStatusDocument(Document):
    """``deid serve status --format json``: queue depth, rates and recent problems (no PHI)."""

    depth: Mapping[str, Mapping[State, int]] = Field(
        description="Listener -> queue state -> instances (every state listed, zeros included)."
    )
    rates: Mapping[str, Mapping[str, float]] = Field(
        description="Listener -> received_1m, forwarded_15m, ... -> instances per second."
    )
    oldest_waiting_seconds: Mapping[str, float | None] = Field(
        description="Listener -> seconds the oldest unfinished instance has waited (null: none)."
    )
    errors: tuple[GatewayErrorSummary, ...] = Field(
        description="The last day's problems by listener, kind and code, latest first."
    )
