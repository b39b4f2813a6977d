"""The document of ``deid verify --format json``."""

from __future__ import annotations

from pydantic import Field

from deidengine.schemas._base import Document
from deidengine.verify.conformance import Finding, FindingCode, Severity

__all__ = ["VerifyFinding", "VerifyReportDocument"]


class VerifyFinding(Document):
    """One problem in one output file; names tags and codes, never a value."""

    file: str = Field(
        description="The output file, relative to the verified tree; empty for the tree as a "
        "whole (no files, no OCR)."
    )
    location: str = Field(
        description="The element path, (0010,0010) style; empty for the whole file."
    )
    code: FindingCode = Field(description="The stable finding code: V<stage><n> <slug>.")
    severity: Severity = Field(description="An error fails verification; a warning does not.")
    message: str = Field(description="One line; holds no identifying value.")

    @classmethod
    def of(cls, finding: Finding) -> VerifyFinding:
        """The document of one :class:`~deidengine.verify.conformance.Finding`."""
        return cls(
            file=finding.file,
            location=finding.location,
            code=FindingCode(finding.code),
            severity=finding.severity,
            message=finding.message,
        )


class VerifyReportDocument(Document):
    """``deid verify --format json``: what verifying a file or a tree found."""

    files_checked: int = Field(ge=0, description="Files read under the verified path.")
    errors: int = Field(ge=0, description="Findings that fail verification (exit 1).")
    warnings: int = Field(ge=0, description="Findings reported that do not fail it.")
    findings: tuple[VerifyFinding, ...] = Field(description="Every finding, in the order found.")
