"""The 128-byte preamble of a Part 10 file: it must hold nothing.

PS3.10 7.1 lets an application put its own data in the preamble (a TIFF header, say), and
such data can carry a name. No DICOM reader looks at it, so a de-identified file whose
preamble is not all zeros carries bytes no element check can see: the engine always writes
zeros, and the verifier reports anything else.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Final

from deidengine.verify.conformance import Finding, FindingCode, finding

__all__ = ["PREAMBLE_LENGTH", "preamble_findings", "preamble_is_empty"]

PREAMBLE_LENGTH: Final = 128
MAGIC: Final = b"DICM"


def preamble_is_empty(path: Path) -> bool:
    """False when ``path`` is a Part 10 file (``DICM`` after 128 bytes) whose preamble holds
    a non-zero byte; a file without a preamble has nothing there to hold."""
    with open(path, "rb") as handle:
        head = handle.read(PREAMBLE_LENGTH + len(MAGIC))
    if head[PREAMBLE_LENGTH:] != MAGIC:
        return True
    return not any(head[:PREAMBLE_LENGTH])


def preamble_findings(path: Path, file: str) -> Iterator[Finding]:
    """A ``V206`` finding when the preamble of ``path`` is not all zeros (never its bytes)."""
    try:
        empty = preamble_is_empty(path)
    except OSError:
        return  # an unreadable file is reported as not DICOM by the caller
    if not empty:
        yield finding(
            FindingCode.PREAMBLE_NOT_EMPTY,
            file,
            "preamble",
            "the 128-byte preamble holds data (it may carry identifying text); "
            "de-identified files have a zeroed preamble",
        )
