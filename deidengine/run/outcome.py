"""What happened to one input file: the value every executor returns and the run records.

An :class:`Outcome` carries no identifying value: inputs are named by keyed references,
reasons are codes with fixed wording, and output paths derive from de-identified UIDs.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from deidengine.dicom.keys import ProjectSecret, keyed_reference


class Status(enum.Enum):
    WRITTEN = "written"
    QUARANTINED = "quarantined"
    SKIPPED = "skipped"


class Reason(enum.Enum):
    """Why a file was quarantined or skipped; the wording is fixed and holds no PHI."""

    NOT_DICOM = "not-dicom"
    TRUNCATED = "truncated"
    UNREADABLE = "unreadable"
    UNKNOWN_TRANSFER_SYNTAX = "unknown-transfer-syntax"
    LOOKUP_MISS = "lookup-miss"
    REJECTED_BY_POLICY = "rejected-by-policy"
    LEAK_DETECTED = "leak-detected"
    NONCONFORMANT = "nonconformant"
    PIXELS_NOT_CLEAN = "pixels-not-clean"
    PIXEL_STAGE_FAILED = "pixel-stage-failed"
    DUPLICATE_OUTPUT = "duplicate-output"
    ACTION_FAILED = "action-failed"
    WRITE_FAILED = "write-failed"
    INTERNAL_ERROR = "internal-error"
    DIRECTORY_RECORD = "dicomdir"  # skipped: media directories are rebuilt, not de-identified
    ALREADY_DONE = "already-done"  # skipped: an identical output exists (a resumed run)
    DISK_FULL = "disk-full"  # not an input's fault: the run stops, the input is redone later
    # Side doors and malformed input (issue #14): each names the precise defect.
    INVALID_UID = "invalid-uid"
    TOO_LARGE = "too-large"
    INVALID_VR = "invalid-vr"
    INVALID_LENGTH = "invalid-length"
    INVALID_VALUE = "invalid-value"
    INCONSISTENT_PIXEL_DATA = "inconsistent-pixel-data"
    TRANSFER_SYNTAX_MISMATCH = "transfer-syntax-mismatch"
    LINK_OUTSIDE_INPUT = "link-outside-input"  # skipped: a symbolic link leaving the input
    UNKNOWN_PHOTOMETRIC_INTERPRETATION = "unknown-photometric-interpretation"
    UNDECODABLE_PIXEL_DATA = "undecodable-pixel-data"
    # The verifier reads the bytes to be written (issue #16): none are written unless they are
    # a file it can read back.
    ENCODING_FAILED = "encoding-failed"
    UNREADABLE_OUTPUT = "unreadable-output"
    # No pixel rule reaches an image whose header suggests burned-in text (run/pixel_stage.py).
    PIXELS_NOT_EXAMINED = "pixels-not-examined"


REASON_TEXT: dict[Reason, str] = {
    Reason.NOT_DICOM: "not a DICOM file (no DICM preamble and no parsable dataset)",
    Reason.TRUNCATED: "the file ends before its data does",
    Reason.UNREADABLE: "the dataset could not be parsed",
    Reason.UNKNOWN_TRANSFER_SYNTAX: "the transfer syntax is not one this engine can read",
    Reason.LOOKUP_MISS: "a lookup table has no entry for a value this file needs",
    Reason.REJECTED_BY_POLICY: "a policy rule rejects this kind of file",
    Reason.LEAK_DETECTED: "an identifying value of the input is still present in the output",
    Reason.NONCONFORMANT: "the output departs from its policy or its provenance is incoherent",
    Reason.PIXELS_NOT_CLEAN: "burned-in text is still readable after redaction",
    Reason.PIXEL_STAGE_FAILED: "the pixel data could not be decoded, redacted or encoded",
    Reason.DUPLICATE_OUTPUT: "another input already produced this SOP Instance",
    Reason.ACTION_FAILED: "an action could not be applied to an element",
    Reason.WRITE_FAILED: "the output could not be written",
    Reason.INTERNAL_ERROR: "an unexpected error in the engine",
    Reason.DIRECTORY_RECORD: "a DICOMDIR media directory (rebuild it from the output)",
    Reason.ALREADY_DONE: "an identical output already exists",
    Reason.DISK_FULL: "no space left on the device; nothing was written for this input",
    Reason.INVALID_UID: "a UID that names the output is not a valid UID (PS3.5 9.1)",
    Reason.TOO_LARGE: "the inflated data or the declared pixel data exceeds the run's limit",
    Reason.INVALID_VR: "an element's VR is not a DICOM VR, or not one its tag can have",
    Reason.INVALID_LENGTH: "an element's length does not fit its value or its VR",
    Reason.INVALID_VALUE: "an element's value cannot be read as its VR says",
    Reason.INCONSISTENT_PIXEL_DATA: "the pixel description and the pixel data disagree",
    Reason.TRANSFER_SYNTAX_MISMATCH: "the data set is not encoded as its transfer syntax says",
    Reason.LINK_OUTSIDE_INPUT: "a symbolic link leading out of the input (see --follow-links)",
    Reason.UNKNOWN_PHOTOMETRIC_INTERPRETATION: (
        "the Photometric Interpretation is absent or not one PS3.3 defines"
    ),
    Reason.UNDECODABLE_PIXEL_DATA: "the pixel data could not be decoded or re-encoded",
    Reason.ENCODING_FAILED: "the output could not be encoded as a DICOM file",
    Reason.UNREADABLE_OUTPUT: "the encoded output does not read back as the file to be written",
    Reason.PIXELS_NOT_EXAMINED: (
        "the pixels may carry burned-in text and no pixel rule of the policy reaches them: "
        "add the Clean Pixel Data Option (annex-e/clean-pixel-data), an ocr-redact rule, or "
        "a reviewed pixels ... -> keep"
    ),
}


@dataclass(frozen=True, slots=True)
class Outcome:
    """One input's result. ``input_ref`` is a keyed reference, never the path or a value."""

    input_ref: str
    status: Status
    output: str | None = None  # relative to the output root
    reason: Reason | None = None
    detail: str | None = None  # fixed wording plus element tags, never values
    actions: Mapping[str, int] = field(default_factory=dict)
    # Re-identification keys, filled only when the run asked for mapping files.
    uid_map: Mapping[str, str] = field(default_factory=dict)
    id_map: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def skipped(cls, input_ref: str, reason: Reason, **fields: Any) -> Outcome:
        """A skipped input, its detail the reason's fixed wording."""
        return cls(input_ref, Status.SKIPPED, reason=reason, detail=REASON_TEXT[reason], **fields)


def input_reference(secret: ProjectSecret, path: str | os.PathLike[str]) -> str:
    """The keyed reference naming an input in outcomes, audits and quarantine: stable for one
    secret and absolute path, meaningless without the secret."""
    return keyed_reference(secret, os.path.abspath(os.fspath(path)))
