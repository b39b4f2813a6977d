"""The quarantine's reason records and ``deid quarantine list --format json``.

The record beside each quarantined input (``<QUARANTINE>/<reference>.json``) is written by
the pipeline as a plain dict (pydantic is not imported by ``deid run``: start-up time) and read
back by :func:`deidengine.run.quarantine.list_quarantine`; the tests hold both to
:class:`QuarantineRecord`.
"""

from __future__ import annotations

from pydantic import ConfigDict, Field, RootModel

from deidengine.run.outcome import Reason
from deidengine.schemas._base import Document

__all__ = ["QuarantineList", "QuarantineListEntry", "QuarantineRecord"]

_REFERENCE = "^[0-9a-f]{12}$"


class QuarantineRecord(Document):
    """Why one input was quarantined; beside the copy ``<reference>.input``."""

    input: str = Field(pattern=_REFERENCE, description="The input's keyed reference.")
    reason: Reason = Field(description="The reason code.")
    detail: str = Field(description="The reason's fixed wording, plus element tags.")
    policy_digest: str = Field(description="The digest of the plan of the run that wrote it.")
    sealed_input_path: str | None = Field(
        default=None,
        description="The input's absolute path, AES-256-GCM sealed under a key derived from "
        "the project secret, URL-safe base64; absent from records of older engines.",
    )


class QuarantineListEntry(Document):
    """One quarantined input, its path opened for the holder of the project secret."""

    input: str = Field(description="The input's keyed reference.")
    reason: str = Field(description="The record's reason code (empty when it has none).")
    detail: str = Field(description="The record's detail.")
    input_path: str | None = Field(
        description="The input's path (PHI); null: sealed under another secret, or an older "
        "record without one."
    )
    resolved: bool = Field(description="Whether input_path could be opened.")
    # ``copy`` would shadow BaseModel.copy: the key is an alias.
    copy_path: str | None = Field(
        alias="copy", description="The quarantined copy of the input, when there is one."
    )


class QuarantineList(RootModel[tuple[QuarantineListEntry, ...]]):
    """``deid quarantine list --format json``: every record, sorted by reference."""

    model_config = ConfigDict(frozen=True)
