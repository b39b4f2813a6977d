"""The document of ``deid detect --format json``: burned-in text found in each file."""

from __future__ import annotations

from pydantic import ConfigDict, Field, RootModel

from deidengine.run.outcome import Reason
from deidengine.schemas._base import Document

__all__ = ["DetectReport", "FileDetectionDocument", "TextFindingDocument"]


class TextFindingDocument(Document):
    """One box of text in a frame or an overlay plane; the text itself only on request."""

    frame: int = Field(ge=0, description="The frame, counted from 0 (0 for an overlay).")
    x: int = Field(ge=0, description="The box's left edge, in pixels.")
    y: int = Field(ge=0, description="The box's top edge, in pixels.")
    w: int = Field(ge=0, description="The box's width, in pixels.")
    h: int = Field(ge=0, description="The box's height, in pixels.")
    confidence: float = Field(ge=0, le=1, description="The OCR engine's confidence, 0 to 1.")
    identifying: bool = Field(
        description="Whether the text matches an identifying value or pattern of the header."
    )
    overlay: str | None = Field(
        default=None,
        pattern="^60[0-1][0-9A-F]$",
        description="The overlay group (6000 to 601E) the text is in; absent: the pixel data.",
    )
    text: str | None = Field(
        default=None, description="The recognised text (PHI): only with --show-text."
    )


class FileDetectionDocument(Document):
    """One file surveyed: what was found in it, or why nothing could be looked at."""

    file: int = Field(ge=1, description="The file's position in the walk, from 1.")
    digest: str = Field(
        pattern="^[0-9a-f]{16}$",
        description="The first 16 hex digits of the SHA-256 of the file's bytes.",
    )
    input: str | None = Field(
        default=None,
        description="The keyed reference deid run names this input by (with the project "
        "secret only).",
    )
    path: str | None = Field(default=None, description="The file's path (PHI): with --show-path.")
    problem: str | None = Field(
        default=None, description="Why the file was not surveyed (no report follows then)."
    )
    reason: Reason | None = Field(
        default=None,
        description="The quarantine reason deid run would give a file that cannot be surveyed.",
    )
    frames: int | None = Field(default=None, ge=0, description="Frames in the pixel data.")
    frames_scanned: int | None = Field(default=None, ge=0, description="Frames looked at.")
    frames_with_candidates: int | None = Field(
        default=None, ge=0, description="Frames where the text gate found candidate boxes."
    )
    ocr_calls: int | None = Field(default=None, ge=0, description="OCR engine calls made.")
    backend: str | None = Field(default=None, description="The OCR backend's name.")
    findings: tuple[TextFindingDocument, ...] | None = Field(
        default=None, description="Every box of text found."
    )


class DetectReport(RootModel[tuple[FileDetectionDocument, ...]]):
    """``deid detect --format json``: one entry per file, in walk order."""

    model_config = ConfigDict(frozen=True)
