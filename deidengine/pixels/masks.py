"""Where to fill: the pixels of recognised text, and only those, with a margin.

An OCR line box is a promise that characters were read there, not that every pixel in it is
text: a line box can span two annotations with anatomy between them, and its edges carry the
detector's unclip margin. So each box is narrowed to the glyph strokes inside it (the gate's
top-hat glyph mask, :func:`deidengine.pixels.gate.glyph_mask`), split where the strokes stop
for more than :data:`SPLIT_GAP` glyph heights (distant items are never joined into one
rectangle), and each part grows by a margin proportional to its glyph height
(:data:`MARGIN_FRACTION`) to cover anti-aliased fringes the threshold missed. Where the mask
finds no stroke at all in a box (low-contrast text the threshold misses), the OCR box itself is
filled: characters were read there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from deidengine.pixels.gate import Box, pad_box

__all__ = [
    "MARGIN_FRACTION",
    "MIN_MARGIN",
    "SPLIT_GAP",
    "MaskMark",
    "margin_for",
    "text_rectangles",
]

Grey8 = npt.NDArray[np.uint8]

#: Margin around glyph strokes, as a share of the glyph height (anti-aliasing, thin serifs).
MARGIN_FRACTION: Final = 0.3
#: The smallest margin, in pixels.
MIN_MARGIN: Final = 2
#: A run of empty columns longer than this many glyph heights separates two items.
SPLIT_GAP: Final = 1.5


@dataclass(frozen=True)
class MaskMark:
    """One filled rectangle: where, why (a reason code), and how sure OCR was (None for a
    policy box: no OCR involved). Never the text itself."""

    frame: int
    box: Box
    reason: str
    confidence: float | None


#: Reason codes of :class:`MaskMark`.
IDENTIFYING_TEXT: Final = "identifying-text"
TEXT: Final = "text"
POLICY_BOX: Final = "policy-box"


def _runs(columns: npt.NDArray[np.intp], gap: int) -> list[tuple[int, int]]:
    """Runs of glyph columns (first, last), split where consecutive columns are > gap apart."""
    runs: list[tuple[int, int]] = []
    start = previous = int(columns[0])
    for column in columns[1:].tolist():
        if column - previous > gap:
            runs.append((start, previous))
            start = column
        previous = column
    runs.append((start, previous))
    return runs


def margin_for(glyph_height: int) -> int:
    """The fill margin for text of ``glyph_height`` pixels."""
    return max(MIN_MARGIN, math.ceil(MARGIN_FRACTION * glyph_height))


def text_rectangles(box: Box, glyphs: Grey8) -> list[Box]:
    """The rectangles to fill for recognised text in ``box`` of a frame whose glyph mask is
    ``glyphs`` (same shape as the frame), margins included and clipped to the frame."""
    height, width = glyphs.shape
    x, y, w, h = pad_box(box, 0, width, height)
    if w == 0 or h == 0:
        return []
    inside = glyphs[y : y + h, x : x + w] > 0
    rows = np.flatnonzero(inside.any(axis=1))
    if rows.size == 0:
        return [pad_box((x, y, w, h), margin_for(h), width, height)]
    glyph_height = int(rows[-1] - rows[0] + 1)
    columns = np.flatnonzero(inside.any(axis=0))
    rectangles: list[Box] = []
    for first, last in _runs(columns, max(2, int(SPLIT_GAP * glyph_height))):
        part = inside[:, first : last + 1]
        part_rows = np.flatnonzero(part.any(axis=1))
        top, bottom = int(part_rows[0]), int(part_rows[-1])
        tight = (x + first, y + top, last - first + 1, bottom - top + 1)
        rectangles.append(pad_box(tight, margin_for(bottom - top + 1), width, height))
    return rectangles
