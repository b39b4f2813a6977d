"""The root of the engine's exceptions, and the stable codes of those outside the core.

Every exception the engine raises on purpose is a :class:`DeidError` and carries a ``code``:
an enum member whose ``value`` is a stable, lower-case, hyphenated string. Callers key on
``error.code`` (or on the class), never on message text, so messages may improve without
breaking them; the same words name a cause in the exception, the quarantine reason and the
audit (``too-large``, ``lookup-miss``, ``rejected-by-policy``, ...).

The families keep their own enums where they already had one: the lean reader and writer's
:class:`deidengine.core.errors.Code` (set per error), a refused input's
:class:`deidengine.run.outcome.Reason`. The rest take theirs from :class:`EngineCode`, one
per class. The policy's diagnostics and the verifier's findings are not exceptions; their
codes (``policy.diagnostics.ErrorCode``, ``verify.conformance.FindingCode``) are reported
values, and a :class:`PolicyError` carries its diagnostics with theirs.

The exceptions keep their former bases too (``ValueError``, ``RuntimeError``), so an existing
``except`` still catches what it caught. Control flow inside one module (a private exception
that never leaves it) and :class:`~deidengine.run.signals.RunInterrupted`, a
``BaseException`` like ``KeyboardInterrupt``, are not errors and stay outside.
"""

from __future__ import annotations

import enum

__all__ = ["DeidError", "EngineCode"]


class EngineCode(enum.Enum):
    """The stable codes of the engine's exceptions outside the core; the value is the code."""

    # policy
    INVALID_POLICY = "invalid-policy"
    UNDECODABLE_POLICY = "undecodable-policy"
    UNKNOWN_ELEMENT = "unknown-element"
    # dicom: actions, secrets, values, limits
    ACTION_FAILED = "action-failed"
    LOOKUP_MISS = "lookup-miss"
    REJECTED_BY_POLICY = "rejected-by-policy"
    UNUSABLE_SECRET = "unusable-secret"
    MISSING_SECRET = "missing-secret"
    INVALID_SECRET = "invalid-secret"
    INSECURE_SECRET = "insecure-secret"
    NO_DUMMY_VALUE = "no-dummy-value"
    UNPARSEABLE_DATE = "unparseable-date"
    UNPARSEABLE_AGE = "unparseable-age"
    TOO_LARGE = "too-large"
    INVALID_PIXEL_DESCRIPTION = "invalid-pixel-description"
    # pixels
    UNDECODABLE_PIXEL_DATA = "undecodable-pixel-data"
    PIXELS_NOT_CLEAN = "pixels-not-clean"
    OCR_UNAVAILABLE = "ocr-unavailable"
    # provenance
    ORIGINAL_ATTRIBUTES = "original-attributes"
    REIDENTIFICATION_FAILED = "reidentification-failed"
    # verify
    UNREADABLE_OUTPUT = "unreadable-output"
    LEAK_DETECTED = "leak-detected"
    # run
    INVALID_RUN_CONFIGURATION = "invalid-run-configuration"
    INVALID_VERIFY_CONFIGURATION = "invalid-verify-configuration"
    QUARANTINE_UNREADABLE = "quarantine-unreadable"
    DISK_FULL = "disk-full"
    WORKER_START_FAILED = "worker-start-failed"
    WORKER_NOT_READY = "worker-not-ready"
    # front ends
    QUARANTINED = "quarantined"
    INVALID_GATEWAY_CONFIGURATION = "invalid-gateway-configuration"
    SPOOL_FAILED = "spool-failed"
    GATEWAY_BUSY = "gateway-busy"
    DESTINATION_UNAVAILABLE = "destination-unavailable"


class DeidError(Exception):
    """The root of every exception the engine raises on purpose; ``code`` says which cause."""

    code: enum.Enum
