"""Policy specs the tests share.

Tests that cover the header stage, the verifier or the gateway over pydicom's whole corpus run
a profile with the pixels kept as they are: without a pixel rule that reaches them, images
whose header suggests burned-in text (pydicom's US, SC and OT files) are quarantined
(``pixels-not-examined``), which is not what those tests are about.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from deidengine.policy import load_plan

PIXELS_KEPT: Final = str(
    Path(__file__).resolve().parents[1] / "benchmarks" / "policies" / "header-only.policy"
)
"""An option overlay whose one rule is ``pixels -> keep``."""


def pixels_kept(spec: str) -> str:
    """``spec`` with :data:`PIXELS_KEPT` composed after it, unless a pixel rule of its own
    already reaches every file."""
    if any(rule.condition is None for rule in load_plan(spec).pixels):
        return spec
    return f"{spec},{PIXELS_KEPT}"
