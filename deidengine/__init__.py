"""deidengine: a rules-based de-identification policy engine for DICOM.

The policy language (``deidengine.policy``) compiles PS3.15 Annex E and HIPAA Safe Harbor
profiles into an immutable :class:`~deidengine.policy.plan.Plan`; the engine applies a plan to
DICOM files, the pixel stage redacts burned-in text, and the verifier proves each output clean.

The Python API (:mod:`deidengine.api`, documented in docs/api.md) is exported here::

    from deidengine import Session, load_policy, load_secret
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

__version__ = "0.1.0"
ENGINE_NAME = "deidengine"

if TYPE_CHECKING:
    from deidengine.api import (
        Provenance,
        QuarantinedError,
        Result,
        Session,
        TextFinding,
        deidentify,
        deidentify_file,
        detect_text,
        load_policy,
        load_secret,
        verify_output,
    )

__all__ = [
    "ENGINE_NAME",
    "Provenance",
    "QuarantinedError",
    "Result",
    "Session",
    "TextFinding",
    "__version__",
    "deidentify",
    "deidentify_file",
    "detect_text",
    "load_policy",
    "load_secret",
    "verify_output",
]

#: The public API, imported on first use: ``import deidengine`` alone (as the ``deid`` program
#: does for its version) must not pay for pydicom and the engine.
_API = frozenset(__all__) - {"ENGINE_NAME", "__version__"}


def __getattr__(name: str) -> object:
    if name in _API:
        return getattr(import_module("deidengine.api"), name)
    raise AttributeError(f"module 'deidengine' has no attribute {name!r}")
