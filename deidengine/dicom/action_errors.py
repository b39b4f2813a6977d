"""Why the header stage could not apply a plan to a dataset: the file must be quarantined.

Raised by :func:`deidengine.dicom.apply.apply_plan` (and the pixel stage's ``reject``); the
pipeline turns each into its quarantine reason, whose words are the ``code``'s.
"""

from __future__ import annotations

from deidengine.errors import DeidError, EngineCode

__all__ = ["ActionError", "LookupMissError", "RejectedError"]


class ActionError(DeidError):
    """An action could not be applied; the message names tags and codes, never values."""

    code = EngineCode.ACTION_FAILED


class LookupMissError(ActionError):
    """A ``lookup`` rule's table was not given, or has no entry for the value."""

    code = EngineCode.LOOKUP_MISS


class RejectedError(ActionError):
    """A ``reject`` rule matched: the policy refuses this file."""

    code = EngineCode.REJECTED_BY_POLICY
