"""The run's audit, one JSON object per line, and the run summary its last line carries.

The audit writer (:mod:`deidengine.run.audit`) builds its lines as plain dicts: importing
pydantic would add about 0.3 s to every ``deid run``'s start-up. The tests hold every line a
real run writes to these models, which forbid unknown keys and require every key written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, RootModel

from deidengine.run.outcome import Reason, Status
from deidengine.schemas._base import Document

__all__ = [
    "AuditFileRecord",
    "AuditHeaderRecord",
    "AuditRecord",
    "AuditSummaryRecord",
    "AuditUnlistedDirectoryRecord",
    "GatewayAuditRecord",
    "GatewayForwardedRecord",
    "GatewaySummaryRecord",
    "RunSummaryDocument",
    "WeakeningDocument",
]

_REFERENCE = "^[0-9a-f]{12}$"
_RUN_ID = r"^[0-9]{8}T[0-9]{6}\.[0-9]{3}Z-[0-9a-f]{6}$"
_TIME_DESCRIPTION = "When the line was written: ISO 8601, UTC, to the millisecond."


def _reference(what: str) -> Any:  # a FieldInfo, typed Any as Field itself is
    return Field(pattern=_REFERENCE, description=f"{what}: a 12-hex-digit keyed reference.")


class WeakeningDocument(Document):
    """A keep rule that beats what a profile beneath it does (W301): the outputs no longer
    claim that profile."""

    rule: str = Field(description='The rule as written: "vr PN -> keep".')
    source: str = Field(description="file:line of the rule.")
    profiles: tuple[str, ...] = Field(description="The profiles it weakens, in order.")
    elements: tuple[str, ...] = Field(
        description='The elements, with what the profile does: "PatientName (Z)".'
    )


class AuditHeaderRecord(Document):
    """The audit's first line: the run's configuration (no paths, no values)."""

    record: Literal["header"]
    format: Literal[1] = Field(description="The audit line format version.")
    run_id: str = Field(pattern=_RUN_ID, description="Sorts by start time.")
    engine_version: str = Field(description="The deidengine version.")
    policy: tuple[str, ...] = Field(description="The composed policies, in order.")
    policy_digest: str = Field(description="The plan's digest (SHA-256 hex).")
    executor: str = Field(
        description="The executor: local or dask (deid run), serve (the gateway)."
    )
    workers: int = Field(ge=1, description="Worker count.")
    lookups: tuple[str, ...] = Field(description="Lookup table names (never their paths).")
    record_mappings: bool = Field(description="Whether re-identification mappings were kept.")
    weakenings: tuple[WeakeningDocument, ...] = Field(
        description="Keep rules that weaken a profile the policy builds on."
    )
    time: str = Field(description=_TIME_DESCRIPTION)


class AuditFileRecord(Document):
    """What happened to one input; each line stands alone."""

    record: Literal["file"]
    input: str = _reference("The input")
    status: Status = Field(description="What became of the input.")
    output: str | None = Field(
        description="The output, relative to the output root (named from de-identified UIDs)."
    )
    reason: Reason | None = Field(description="Why it was quarantined or skipped.")
    detail: str | None = Field(description="The reason's fixed wording, plus element tags.")
    actions: Mapping[str, int] = Field(description="Action label -> elements it was applied to.")
    policy: tuple[str, ...] = Field(description="The composed policies, in order.")
    policy_digest: str = Field(description="The plan's digest (SHA-256 hex).")
    engine_version: str = Field(description="The deidengine version.")
    time: str = Field(description=_TIME_DESCRIPTION)


class AuditUnlistedDirectoryRecord(Document):
    """A directory discovery could not list: its files were not processed."""

    record: Literal["unlisted-directory"]
    input: str = _reference("The directory")
    detail: str = Field(description="Fixed wording, with the error's name.")
    time: str = Field(description=_TIME_DESCRIPTION)


class RunSummaryDocument(Document):
    """What a run did, in counts (``RunSummary.to_json``)."""

    run_id: str = Field(pattern=_RUN_ID, description="Sorts by start time.")
    total: int = Field(ge=0, description="Inputs found.")
    written: int = Field(ge=0, description="Inputs written de-identified.")
    quarantined: Mapping[str, int] = Field(
        description="Quarantined inputs by reason code (docs: the Reason codes)."
    )
    skipped: Mapping[str, int] = Field(description="Skipped inputs by reason code.")
    unlisted_directories: int = Field(ge=0, description="Directories that could not be listed.")
    elapsed_seconds: float = Field(ge=0, description="Wall time of the run.")
    stopped: str | None = Field(
        description="Why the run ended early: a signal's name (SIGINT, SIGTERM) or disk-full; "
        "null for a run that went through every input."
    )
    exit_code: int = Field(description="deid run's exit code.")


class AuditSummaryRecord(RunSummaryDocument):
    """The audit's last line; an audit without one is that of an interrupted run."""

    record: Literal["summary"]
    time: str = Field(description=_TIME_DESCRIPTION)


class AuditRecord(
    RootModel[
        Annotated[
            AuditHeaderRecord | AuditFileRecord | AuditUnlistedDirectoryRecord | AuditSummaryRecord,
            Field(discriminator="record"),
        ]
    ]
):
    """One line of the audit (``<OUT>.audit/<run-id>.jsonl``), told apart by ``record``."""

    model_config = ConfigDict(frozen=True)


# ----------------------------------------------------------------------------- deid serve
class GatewayForwardedRecord(Document):
    """An instance the destination answered success for (``deid serve`` only)."""

    record: Literal["forwarded"]
    input: str | None = Field(
        pattern=_REFERENCE, description="The received instance's keyed reference, when known."
    )
    output: str = Field(description="The output's name (built from de-identified UIDs).")
    destination: str = Field(description="The listener's destination, as configured.")
    time: str = Field(description=_TIME_DESCRIPTION)


class GatewaySummaryRecord(Document):
    """The last line of a gateway audit, written when the gateway stops."""

    record: Literal["summary"]
    received: int = Field(ge=0, description="Instances this listener received.")
    forwarded: int = Field(ge=0, description="Instances forwarded for this listener.")
    waiting: int = Field(
        ge=0, description="Instances of every listener still queued: what the next start resumes."
    )
    time: str = Field(description=_TIME_DESCRIPTION)


class GatewayAuditRecord(
    RootModel[
        Annotated[
            AuditHeaderRecord | AuditFileRecord | GatewayForwardedRecord | GatewaySummaryRecord,
            Field(discriminator="record"),
        ]
    ]
):
    """One line of a ``deid serve`` audit (``<work>/audit/<listener>/<run-id>.jsonl``): the
    run's header and file lines, a ``forwarded`` line per instance stored at the destination,
    and the gateway's own summary."""

    model_config = ConfigDict(frozen=True)
