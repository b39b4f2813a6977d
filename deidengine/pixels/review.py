"""The review sheet: one self-contained HTML page for a person to look at every redaction.

Regulators and data-release boards expect a human to see what was blacked out. The sheet has
one row per redacted frame: a thumbnail of the OUTPUT frame (never the input's pixels) with the
filled rectangles outlined, the OCR confidence and the reason code of each mask, and a keyed
reference for the file (never a path, a name or recognised text). Images are inline ``data:``
URIs, the page loads nothing from the network, and every file is written with mode 0600.

A run writes one fragment per written file from its worker (:func:`write_fragment`, a small
JSON file in ``DIR/parts``); the leader then joins them into ``DIR/review.html``
(:func:`assemble_sheet`). ``deid detect --review`` builds rows directly (:func:`rows_for`) from
a preview of the redaction it would make.
"""

from __future__ import annotations

import base64
import html
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset

from deidengine.pixels.codec import Frame, read_frames, to_grey8
from deidengine.pixels.gate import Box
from deidengine.pixels.masks import MaskMark

__all__ = [
    "SHEET_NAME",
    "MaskMark",
    "ReviewRow",
    "assemble_sheet",
    "preview_rows",
    "rows_for",
    "write_fragment",
    "write_sheet",
]

SHEET_NAME: Final = "review.html"
PARTS: Final = "parts"
#: Longest side of a thumbnail: enough to judge a mask, too small to reread fine print.
THUMBNAIL_SIDE: Final = 320
OUTLINE: Final = (0, 0, 255)  # BGR red


@dataclass(frozen=True)
class ReviewRow:
    """One redacted frame on the sheet. ``thumbnail`` is a ``data:image/png`` URI."""

    reference: str
    frame: int
    thumbnail: str
    boxes: tuple[Box, ...]
    reasons: tuple[str, ...]
    confidences: tuple[float | None, ...]


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` with mode 0600 from the start (atomic rename)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, path)


def _private_dir(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)


def _thumbnail(grey_or_rgb: npt.NDArray[np.uint8], boxes: Sequence[Box]) -> str:
    code = cv2.COLOR_GRAY2BGR if grey_or_rgb.ndim == 2 else cv2.COLOR_RGB2BGR
    image = np.asarray(cv2.cvtColor(np.ascontiguousarray(grey_or_rgb), code), dtype=np.uint8)
    height, width = image.shape[:2]
    scale = min(1.0, THUMBNAIL_SIDE / max(height, width))
    small = cv2.resize(image, (max(1, round(width * scale)), max(1, round(height * scale))))
    small = cv2.resize(small, None, fx=1.0, fy=1.0)
    for x, y, w, h in boxes:
        x0, y0 = int(x * scale), int(y * scale)
        x1, y1 = int((x + w) * scale), int((y + h) * scale)
        cv2.rectangle(small, (x0, y0), (max(x0, x1 - 1), max(y0, y1 - 1)), OUTLINE, 1)
    ok, png = cv2.imencode(".png", small)
    if not ok:  # pragma: no cover - PNG encoding of a uint8 image does not fail
        raise ValueError("thumbnail encoding failed")
    return "data:image/png;base64," + base64.b64encode(png.tobytes()).decode("ascii")


def _display(frame: Frame, ds: Dataset, photometric: str) -> npt.NDArray[np.uint8]:
    if photometric == "RGB" and frame.ndim == 3:
        rgb = frame if frame.dtype == np.uint8 else to_grey8(frame, ds, photometric)
        return np.asarray(rgb, dtype=np.uint8)
    return to_grey8(frame, ds, photometric)


def _grouped(marks: Iterable[MaskMark]) -> dict[int, list[MaskMark]]:
    frames: dict[int, list[MaskMark]] = {}
    for mark in marks:
        frames.setdefault(mark.frame, []).append(mark)
    return dict(sorted(frames.items()))


def rows_for(reference: str, output: Dataset, marks: Sequence[MaskMark]) -> list[ReviewRow]:
    """One row per frame of the OUTPUT dataset ``output`` that ``marks`` redacted."""
    return _rows(reference, output, marks, fill=False)


def preview_rows(reference: str, dataset: Dataset, marks: Sequence[MaskMark]) -> list[ReviewRow]:
    """Rows for a survey (``deid detect``): each frame as it WOULD be written, its marks filled
    black in the thumbnail, so the sheet never shows the text it reports."""
    return _rows(reference, dataset, marks, fill=True)


def _rows(
    reference: str, dataset: Dataset, marks: Sequence[MaskMark], *, fill: bool
) -> list[ReviewRow]:
    """One row per frame ``marks`` touch; with ``fill``, the marks are blacked out first."""
    if not marks or "PixelData" not in dataset:
        return []
    source = read_frames(dataset)
    rows: list[ReviewRow] = []
    for index, frame_marks in _grouped(marks).items():
        boxes = tuple(m.box for m in frame_marks)
        picture = _display(source.frame(index), dataset, source.photometric)
        if fill:
            picture = picture.copy()
            for x, y, w, h in boxes:
                picture[y : y + h, x : x + w] = 0
        rows.append(
            ReviewRow(
                reference=reference,
                frame=index,
                thumbnail=_thumbnail(picture, boxes),
                boxes=boxes,
                reasons=tuple(m.reason for m in frame_marks),
                confidences=tuple(m.confidence for m in frame_marks),
            )
        )
    return rows


def write_fragment(directory: Path, reference: str, rows: Sequence[ReviewRow]) -> None:
    """Store one file's rows in ``directory/parts`` (for :func:`assemble_sheet`)."""
    if not rows:
        return
    parts = directory / PARTS
    _private_dir(directory)
    _private_dir(parts)
    _write_private(parts / f"{reference}.json", json.dumps([asdict(r) for r in rows]))


def _read_fragments(directory: Path) -> list[ReviewRow]:
    rows: list[ReviewRow] = []
    for part in sorted((directory / PARTS).glob("*.json")):
        for data in json.loads(part.read_text(encoding="utf-8")):
            rows.append(
                ReviewRow(
                    reference=str(data["reference"]),
                    frame=int(data["frame"]),
                    thumbnail=str(data["thumbnail"]),
                    boxes=tuple(tuple(int(v) for v in b) for b in data["boxes"]),  # type: ignore[misc]
                    reasons=tuple(str(r) for r in data["reasons"]),
                    confidences=tuple(None if c is None else float(c) for c in data["confidences"]),
                )
            )
    return rows


_STYLE: Final = (
    "body{font-family:sans-serif;margin:1em}table{border-collapse:collapse}"
    "td,th{border:1px solid #999;padding:4px;vertical-align:top}img{display:block}"
)


def _confidence(value: float | None) -> str:
    return "policy box" if value is None else f"{value:.2f}"


def _row_html(row: ReviewRow) -> str:
    masks = "<br>".join(
        f"{html.escape(reason)} ({_confidence(confidence)}) at {x},{y} {w}&times;{h}"
        for reason, confidence, (x, y, w, h) in zip(
            row.reasons, row.confidences, row.boxes, strict=True
        )
    )
    return (
        f'<tr class="redacted-frame"><td>{html.escape(row.reference)}</td>'
        f"<td>{row.frame}</td>"
        f'<td><img alt="output frame {row.frame}" src="{row.thumbnail}"></td>'
        f"<td>{masks}</td></tr>"
    )


def render_sheet(rows: Sequence[ReviewRow], title: str) -> str:
    """The HTML page for ``rows``: no script, no external resource."""
    body = "\n".join(_row_html(row) for row in rows)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "img-src data:; style-src 'unsafe-inline'\">"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        f'<p id="summary">{len(rows)} redacted frame(s). Thumbnails show the output; red '
        "outlines mark the filled rectangles. Files are named by keyed reference.</p>"
        "<table><thead><tr><th>file (keyed reference)</th><th>frame</th>"
        "<th>output</th><th>masks: reason (OCR confidence)</th></tr></thead>"
        f"<tbody>\n{body}\n</tbody></table></body></html>\n"
    )


def write_sheet(directory: Path, rows: Sequence[ReviewRow], title: str) -> Path:
    """Write ``rows`` as ``directory/review.html`` (mode 0600) and return its path."""
    _private_dir(directory)
    path = directory / SHEET_NAME
    _write_private(path, render_sheet(rows, title))
    return path


def assemble_sheet(directory: Path, title: str = "Redaction review") -> Path:
    """Join the fragments a run's workers wrote into ``directory/review.html``."""
    return write_sheet(directory, _read_fragments(directory), title)
