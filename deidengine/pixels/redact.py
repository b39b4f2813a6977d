"""Redacting burned-in text, policy boxes, overlays and everything outside ultrasound regions.

:func:`redact_pixels` detects text (:func:`deidengine.pixels.detect.detect_text`), fills the
selected boxes (plus a margin) in every affected frame, fills the policy's static boxes in every
frame, re-encodes without adding loss (:func:`deidengine.pixels.codec.write_frames`) and then
reads the result again: identifying text still readable raises :class:`PixelCleanError`, and
the caller quarantines the file. When there is nothing to fill the dataset is not touched at
all (no decode/encode round trip, Pixel Data bytes identical).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset
from pydicom.pixels.processing import apply_color_lut
from pydicom.pixels.utils import pack_bits

from deidengine.dicom.identifiers import IdentifyingValues
from deidengine.errors import DeidError, EngineCode
from deidengine.pixels.codec import (
    Frame,
    FrameSource,
    WriteOutcome,
    is_lossy_source,
    read_frames,
    to_grey8,
    write_frames,
)
from deidengine.pixels.detect import TextFinding, detect_text, resolve_backend
from deidengine.pixels.gate import Box, glyph_mask, pad_box
from deidengine.pixels.masks import IDENTIFYING_TEXT, POLICY_BOX, TEXT, MaskMark, text_rectangles
from deidengine.pixels.match import matches_value
from deidengine.pixels.ocr import OcrBackend, OcrUnavailableError, get_backend

__all__ = [
    "PixelCleanError",
    "PixelOutcome",
    "RedactMode",
    "keep_ultrasound_regions",
    "redact_pixels",
]

RedactMode = Literal["identifying", "all"]
Grey8 = npt.NDArray[np.uint8]


class PixelCleanError(DeidError):
    """Identifying text is still readable after redaction. The message carries no text."""

    code = EngineCode.PIXELS_NOT_CLEAN


@dataclass(frozen=True)
class PixelOutcome:
    """What the pixel stage did to one dataset, for the provenance record."""

    changed: bool
    frames_redacted: int
    boxes: int
    transfer_syntax_in: str
    transfer_syntax_out: str
    lossy_source: bool
    verified: bool
    notes: tuple[str, ...] = ()
    #: Every rectangle filled in the pixels, with its reason and OCR confidence (no text).
    marks: tuple[MaskMark, ...] = ()


# --- fill values ------------------------------------------------------------------------------


def _fill_minimum(frame: Frame, ds: Dataset) -> Frame:
    return np.asarray(frame.min())


def _fill_maximum(frame: Frame, ds: Dataset) -> Frame:
    # MONOCHROME1 shows its maximum as black: the box must look like the background.
    return np.asarray(frame.max())


def _fill_black(frame: Frame, ds: Dataset) -> Frame:
    return np.zeros(frame.shape[-1], dtype=frame.dtype)


def _fill_darkest_palette_entry(frame: Frame, ds: Dataset) -> Frame:
    values = np.unique(frame)
    colours = np.asarray(apply_color_lut(values, ds), dtype=np.float64).reshape(len(values), -1)
    luminance = colours @ np.array([0.299, 0.587, 0.114])
    return np.asarray(values[int(np.argmin(luminance))])


#: Fill value per decoded photometric interpretation: what displays as background black.
_FILL: Final[dict[str, Callable[[Frame, Dataset], Frame]]] = {
    "MONOCHROME2": _fill_minimum,
    "MONOCHROME1": _fill_maximum,
    "RGB": _fill_black,
    "PALETTE COLOR": _fill_darkest_palette_entry,
}


def _filled(frame: Frame, boxes: Sequence[Box], ds: Dataset, photometric: str) -> Frame:
    edited = frame.copy()
    value = _FILL.get(photometric, _fill_minimum)(frame, ds)
    for x, y, w, h in boxes:
        edited[y : y + h, x : x + w] = value
    return edited


# --- planning ---------------------------------------------------------------------------------


def _has_characters(text: str) -> bool:
    """True when OCR read at least one ASCII letter or digit (not just icon marks or noise)."""
    return any(character.isascii() and character.isalnum() for character in text)


def _selected(findings: Sequence[TextFinding], mode: RedactMode) -> list[TextFinding]:
    # "all" means all TEXT: a box is filled only where characters were read in it.
    return [f for f in findings if f.identifying or (mode == "all" and _has_characters(f.text))]


def _frame_marks(
    findings: Sequence[TextFinding],
    static: Sequence[Box],
    source: FrameSource,
    glyphs_of: Callable[[int], Grey8],
) -> dict[int, list[MaskMark]]:
    width, height = source.columns, source.rows
    plan: dict[int, list[MaskMark]] = {}
    for finding in findings:
        if finding.overlay is None:
            # Only the glyph strokes of the read text, each item apart, with a margin.
            reason = IDENTIFYING_TEXT if finding.identifying else TEXT
            plan.setdefault(finding.frame, []).extend(
                MaskMark(finding.frame, rectangle, reason, finding.confidence)
                for rectangle in text_rectangles(finding.box, glyphs_of(finding.frame))
            )
    clipped = [pad_box(box, 0, width, height) for box in static]
    clipped = [b for b in clipped if b[2] > 0 and b[3] > 0]
    if clipped:
        for index in range(len(source)):
            plan.setdefault(index, []).extend(MaskMark(index, b, POLICY_BOX, None) for b in clipped)
    return plan


def _redact_overlays(
    ds: Dataset, findings: Sequence[TextFinding], mode: RedactMode, margin: int
) -> tuple[int, list[str]]:
    groups = sorted({f.overlay for f in findings if f.overlay is not None})
    notes: list[str] = []
    boxes = 0
    for group in groups:
        if mode == "all":
            for element in [e for e in ds if e.tag.group == group]:
                del ds[element.tag]
            notes.append(f"overlay group {group:04X} removed")
            continue
        plane = np.asarray(ds.overlay_array(group)).copy()
        rows, columns = plane.shape[-2:]
        for finding in findings:
            if finding.overlay == group:
                x, y, w, h = pad_box(finding.box, margin, columns, rows)
                plane[..., y : y + h, x : x + w] = 0
                boxes += 1
        ds[group, 0x3000].value = pack_bits(plane.astype(np.uint8))
        notes.append(f"overlay group {group:04X} text boxes cleared")
    return boxes, notes


# --- public -----------------------------------------------------------------------------------


def _unchanged_outcome(ds: Dataset, verified: bool, notes: tuple[str, ...]) -> PixelOutcome:
    syntax = str(ds.file_meta.TransferSyntaxUID) if "PixelData" in ds else ""
    return PixelOutcome(
        changed=False,
        frames_redacted=0,
        boxes=0,
        transfer_syntax_in=syntax,
        transfer_syntax_out=syntax,
        lossy_source=is_lossy_source(ds) if "PixelData" in ds else False,
        verified=verified,
        notes=notes,
    )


#: Redaction rounds before giving up: a second round catches text that became legible only
#: once neighbouring text was removed (OCR merges adjacent lines into one unreadable string).
MAX_ROUNDS: Final = 2


@dataclass(frozen=True)
class _Applied:
    frames: frozenset[int]
    boxes: int
    written: WriteOutcome | None
    notes: tuple[str, ...]
    marks: tuple[MaskMark, ...] = ()


def _apply(
    ds: Dataset,
    findings: Sequence[TextFinding],
    static: Sequence[Box],
    mode: RedactMode,
    margin: int,
) -> _Applied:
    """Fill the findings' boxes (and ``static`` boxes) in ``ds``; nothing when none apply."""
    source = read_frames(ds) if "PixelData" in ds else None
    plan: dict[int, list[MaskMark]] = {}
    if source is not None:
        frame_source = source

        @cache
        def glyphs_of(index: int) -> Grey8:
            frame = frame_source.frame(index)
            return glyph_mask(to_grey8(frame, ds, frame_source.photometric))

        plan = _frame_marks(findings, static, source, glyphs_of)
    written: WriteOutcome | None = None
    if source is not None and plan:
        edited = {
            index: _filled(source.frame(index), [m.box for m in marks], ds, source.photometric)
            for index, marks in sorted(plan.items())
        }
        written = write_frames(ds, edited)
    overlay_findings = [f for f in findings if f.overlay is not None]
    overlay_boxes, notes = _redact_overlays(ds, overlay_findings, mode, margin)
    return _Applied(
        frames=frozenset(plan),
        boxes=sum(len(b) for b in plan.values()) + overlay_boxes,
        written=written,
        notes=(*(written.notes if written else ()), *notes),
        marks=tuple(mark for marks in plan.values() for mark in marks),
    )


def redact_pixels(
    ds: Dataset,
    *,
    identifying_values: IdentifyingValues,
    mode: RedactMode = "identifying",
    boxes: Sequence[tuple[int, int, int, int]] = (),
    backend: str | OcrBackend = "default",
    margin: int = 3,
) -> PixelOutcome:
    """Fill burned-in text (all of it, or only identifying text) and the policy's ``boxes``.

    ``boxes`` (x, y, w, h) apply to every frame. Text in the pixels is filled stroke by stroke
    with a margin proportional to its glyph height (:mod:`deidengine.pixels.masks`);
    ``margin`` is the fixed margin of text boxes in overlay planes. The redacted frames are
    read again; text that still identifies gets one more round, and if it is still readable
    after that, or the other OCR engine still reads one of the file's identifying values,
    :class:`PixelCleanError` is raised: ``ds`` is then already modified and must be
    quarantined, not written.
    """
    if mode not in ("identifying", "all"):
        raise ValueError("mode must be 'identifying' or 'all'")
    engine = resolve_backend(backend)
    syntax_in = str(ds.file_meta.TransferSyntaxUID) if "PixelData" in ds else ""
    lossy_in = is_lossy_source(ds) if "PixelData" in ds else False
    frames: tuple[int, ...] | None = None if "PixelData" in ds else ()
    findings = _selected(
        detect_text(ds, identifying_values, backend=engine, frames=frames).findings, mode
    )
    if not findings and not boxes:
        return _unchanged_outcome(ds, verified=True, notes=())
    redacted: set[int] = set()
    total_boxes = 0
    notes: list[str] = []
    marks: list[MaskMark] = []
    for round_number in range(1, MAX_ROUNDS + 1):
        applied = _apply(ds, findings, boxes if round_number == 1 else (), mode, margin)
        redacted |= applied.frames
        total_boxes += applied.boxes
        marks.extend(applied.marks)
        notes.extend(applied.notes)
        after = detect_text(ds, identifying_values, backend=engine, frames=sorted(redacted))
        if not after.identifying:
            break
        if round_number == MAX_ROUNDS:
            raise PixelCleanError(
                f"identifying text still readable after {MAX_ROUNDS} redaction rounds in "
                f"{len(after.identifying)} box(es)"
            )
        notes.append("identifying text readable after redaction: redacted again")
        findings = _selected(after.findings, mode)
    notes.append(_second_reading(ds, identifying_values, engine, sorted(redacted)))
    syntax_out = str(ds.file_meta.TransferSyntaxUID) if "PixelData" in ds else ""
    return PixelOutcome(
        changed=True,
        frames_redacted=len(redacted),
        boxes=total_boxes,
        transfer_syntax_in=syntax_in,
        transfer_syntax_out=syntax_out,
        lossy_source=lossy_in,
        verified=True,
        notes=tuple(dict.fromkeys(notes)),
        marks=tuple(marks),
    )


#: The engine that checks another engine's redaction: a different model misses different text.
SECOND_READER: Final = {"rapidocr": "tesseract", "tesseract": "rapidocr"}


def _second_reader(engine: OcrBackend) -> OcrBackend | None:
    name = getattr(engine, "name", "")
    for first, second in SECOND_READER.items():
        if first in name:
            try:
                return get_backend(second)
            except OcrUnavailableError:
                return None
    return None


def _second_reading(
    ds: Dataset, identifying: IdentifyingValues, engine: OcrBackend, frames: Sequence[int]
) -> str:
    """Read the redacted frames with the other engine; any of the file's own identifying values
    it can still read quarantines the file.

    The second engine is held to the file's values (names, IDs, dates, leniently matched), not
    to the generic patterns the first engine's own re-reading applies: its misreadings of kept
    device text (``44CG43`` read as ``440643``) would otherwise look like ID numbers.
    """
    reader = _second_reader(engine)
    if reader is None:
        return "second-engine check not made: no second OCR engine installed"
    after = detect_text(ds, identifying, backend=reader, frames=frames)
    leaks = [f for f in after.findings if f.identifying and matches_value(f.text, identifying)]
    if leaks:
        raise PixelCleanError(
            f"identifying text readable by {reader.name} after redaction in {len(leaks)} box(es)"
        )
    return f"redaction checked by a second engine ({reader.name})"


def _region_boxes(ds: Dataset) -> list[Box]:
    boxes: list[Box] = []
    for region in ds.get("SequenceOfUltrasoundRegions", []):
        x0, y0 = int(region.RegionLocationMinX0), int(region.RegionLocationMinY0)
        x1, y1 = int(region.RegionLocationMaxX1), int(region.RegionLocationMaxY1)
        boxes.append((x0, y0, x1 - x0 + 1, y1 - y0 + 1))
    return boxes


def _outside_mask(rows: int, columns: int, keep: Sequence[Box]) -> npt.NDArray[np.bool_]:
    mask = np.ones((rows, columns), dtype=bool)
    for x, y, w, h in keep:
        mask[max(0, y) : max(0, y + h), max(0, x) : max(0, x + w)] = False
    return mask


def keep_ultrasound_regions(ds: Dataset) -> PixelOutcome:
    """Blank every pixel outside the Sequence of Ultrasound Regions (0018,6011) boxes.

    Without regions (or when the regions cover the whole frame) nothing is touched.
    """
    keep = _region_boxes(ds)
    if "PixelData" not in ds or not keep:
        return _unchanged_outcome(ds, verified=False, notes=("no ultrasound regions",))
    source = read_frames(ds)
    outside = _outside_mask(source.rows, source.columns, keep)
    if not outside.any():
        return _unchanged_outcome(ds, verified=True, notes=())
    edited: Mapping[int, Frame] = {
        index: _blank(source.frame(index), outside, ds, source.photometric)
        for index in range(len(source))
    }
    written = write_frames(ds, edited)
    return PixelOutcome(
        changed=True,
        frames_redacted=len(edited),
        boxes=len(keep),
        transfer_syntax_in=written.transfer_syntax_in,
        transfer_syntax_out=written.transfer_syntax_out,
        lossy_source=written.lossy_source,
        verified=True,
        notes=(*written.notes, "blanked outside ultrasound regions"),
    )


def _blank(frame: Frame, outside: npt.NDArray[np.bool_], ds: Dataset, photometric: str) -> Frame:
    edited = frame.copy()
    edited[outside] = _FILL.get(photometric, _fill_minimum)(frame, ds)
    return edited
