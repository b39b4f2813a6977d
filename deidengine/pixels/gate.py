"""A cheap OpenCV gate that proposes boxes where burned-in text may be.

The gate is a locator, not a decider: it finds ~92-97% of text lines in a few milliseconds per
512x512 frame, and also fires on many text-free frames (rulers, calipers, bright anatomy). Its
job is to spare OCR the frames where it finds nothing, and to give a crop list to OCR backends
that read crops. Parameters follow shared/notes/ocr-findings.md section 6 ("OpenCV gate"),
where they were tuned on a synthetic set and checked on real ultrasound.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

__all__ = ["Box", "GateParams", "candidate_boxes", "glyph_mask", "pad_box"]

#: (x, y, w, h) in pixels.
Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class GateParams:
    """Tuning of :func:`candidate_boxes` (defaults from the measured findings)."""

    tophat_size: int = 9
    min_threshold: int = 40
    max_glyph_height: int = 48
    max_glyph_width: int = 96
    min_glyph_area: int = 2
    close_width: int = 11
    split_fraction: float = 0.12
    min_box_height: int = 5
    min_aspect: float = 0.8
    min_density: float = 0.15
    max_density: float = 0.9
    stroke_density: float = 0.3
    pad: int = 4


DEFAULT_GATE: Final = GateParams()

Grey8 = npt.NDArray[np.uint8]


def pad_box(box: Box, pad: int, width: int, height: int) -> Box:
    """``box`` grown by ``pad`` on every side, clipped to a ``width`` x ``height`` image."""
    x, y, w, h = box
    x0, y0 = max(0, x - pad), max(0, y - pad)
    x1, y1 = min(width, x + w + pad), min(height, y + h + pad)
    return x0, y0, max(0, x1 - x0), max(0, y1 - y0)


#: Frames up to this many pixels count their histogram with OpenCV (float32 bins are exact
#: below 2**24); larger ones with numpy.
_CALCHIST_LIMIT: Final = 1 << 24


def _median(grey: Grey8) -> float:
    """``np.median(grey)``, exactly, from a 256-bin histogram: no sort of the whole frame."""
    if grey.size < _CALCHIST_LIMIT:
        # ~6x cheaper than np.bincount over a 512x512 frame; the counts are the same integers.
        histogram = cv2.calcHist([np.ascontiguousarray(grey)], [0], None, [256], [0, 256])
        counts = histogram.ravel().astype(np.int64).cumsum()
    else:
        counts = np.bincount(grey.ravel(), minlength=256).cumsum()
    size = int(grey.size)
    low = int(np.searchsorted(counts, (size - 1) // 2 + 1))
    high = int(np.searchsorted(counts, size // 2 + 1))
    return (low + high) / 2


def _dark_on_light(grey: Grey8) -> bool:
    """``_median(grey) > 127``, mostly from one count of the pixels above 127."""
    above = cv2.countNonZero(cv2.threshold(grey, 127, 255, cv2.THRESH_BINARY)[1])
    half = grey.size / 2
    if above > half:
        return True  # both middle values are above 127
    if above < half:
        return False  # both middle values are 127 or below
    return _median(grey) > 127  # the middle falls between the two halves: count exactly


def _glyph_mask(grey: Grey8, params: GateParams) -> Grey8:
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (params.tophat_size, params.tophat_size))
    # Dark-on-light screens (reports, screenshots) are read inverted so text is always bright:
    # the top-hat of the inverted image is exactly the black-hat of the image itself.
    operation = cv2.MORPH_BLACKHAT if _dark_on_light(grey) else cv2.MORPH_TOPHAT
    tophat = cv2.morphologyEx(grey, operation, kernel)
    if cv2.minMaxLoc(tophat)[1] <= params.min_threshold:
        # Nothing can pass a level of at least min_threshold: no need for Otsu's level.
        return np.zeros_like(grey)
    otsu, _ = cv2.threshold(tophat, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    level = max(float(otsu), float(params.min_threshold))
    _, mask = cv2.threshold(tophat, level, 255, cv2.THRESH_BINARY)
    return np.asarray(mask, dtype=np.uint8)


#: Label images are 16-bit while a mask has fewer stroke pixels than this (so fewer components
#: than 16 bits can number): OpenCV labels a 512x512 frame ~3x faster than with 32-bit labels.
_LABELS_16_BIT: Final = 1 << 16


def _components(mask: Grey8) -> tuple[int, npt.NDArray[np.integer], npt.NDArray[np.int32]]:
    """``cv2.connectedComponentsWithStats`` (8-connected): the count, labels and stats."""
    small = cv2.countNonZero(mask) < _LABELS_16_BIT - 1
    count, labels, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(
        mask, 8, cv2.CV_16U if small else cv2.CV_32S, cv2.CCL_DEFAULT
    )
    return int(count), np.asarray(labels), np.asarray(stats, dtype=np.int32)


def _keep_glyphs(mask: Grey8, params: GateParams) -> Grey8:
    if not cv2.countNonZero(mask):
        return np.zeros_like(mask)
    _, labels, stats = _components(mask)
    w, h, area = (
        stats[:, cv2.CC_STAT_WIDTH],
        stats[:, cv2.CC_STAT_HEIGHT],
        stats[:, cv2.CC_STAT_AREA],
    )
    keep = (h <= params.max_glyph_height) & (w <= params.max_glyph_width)
    keep &= area >= params.min_glyph_area
    keep[0] = False
    dropped = np.flatnonzero(~keep[1:]) + 1
    glyphs = mask.copy()  # the thresholded mask is 0 or 255 already
    if dropped.size == 0:
        return glyphs
    if int((w[dropped].astype(np.int64) * h[dropped]).sum()) < mask.size:
        # A few components go (anatomy edges, specks): clear each inside its own bounding box
        # rather than map the whole label image.
        for label in dropped.tolist():
            x, y, bw, bh = (int(v) for v in stats[label, :4])
            region = glyphs[y : y + bh, x : x + bw]
            region[labels[y : y + bh, x : x + bw] == label] = 0
        return glyphs
    # A lookup table indexed by label: one pass over the frame instead of two (mask, select).
    return np.asarray(
        np.take(np.where(keep, 255, 0).astype(np.uint8), np.asarray(labels, dtype=np.intp)),
        dtype=np.uint8,
    )


def _split_lines(glyphs: Grey8, box: Box, params: GateParams) -> list[Box]:
    """Split a box over stacked text lines where the row profile nearly vanishes."""
    x, y, w, h = box
    profile = (glyphs[y : y + h, x : x + w] > 0).sum(axis=1)
    peak = int(profile.max()) if profile.size else 0
    if peak == 0:
        return []
    busy = profile > params.split_fraction * peak
    boxes: list[Box] = []
    start: int | None = None
    for row, on in enumerate([*busy.tolist(), False]):
        if on and start is None:
            start = row
        elif not on and start is not None:
            boxes.append(_tighten(glyphs, (x, y + start, w, row - start)))
            start = None
    return [b for b in boxes if b[2] > 0 and b[3] > 0]


def _tighten(glyphs: Grey8, box: Box) -> Box:
    x, y, w, h = box
    columns = np.flatnonzero((glyphs[y : y + h, x : x + w] > 0).any(axis=0))
    if columns.size == 0:
        return x, y, 0, 0
    return x + int(columns[0]), y, int(columns[-1] - columns[0] + 1), h


def _plausible(glyphs: Grey8, box: Box, params: GateParams) -> bool:
    x, y, w, h = box
    if not params.min_box_height <= h <= params.max_glyph_height or w < params.min_aspect * h:
        return False
    density = float((glyphs[y : y + h, x : x + w] > 0).mean())
    if not params.min_density <= density <= params.max_density:
        return False
    # A wide, sparse box with one component is a ruler or an ROI edge, not a word.
    if w > 4 * h and density < params.stroke_density:
        count, _ = cv2.connectedComponents(glyphs[y : y + h, x : x + w])
        if count - 1 <= 1:
            return False
    return True


#: Rows without a stroke that separate two stroke windows; closer bands share one window
#: (fewer OpenCV calls). Any gap of one blank row or more separates components exactly.
BAND_GAP: Final = 16

#: (x, y, w, h) of a part of the frame.
Window = tuple[int, int, int, int]


def _stroke_windows(mask: Grey8, params: GateParams) -> list[Window]:
    """Rectangles (x, y, w, h) that hold every stroke pixel of ``mask``: bands of rows with
    strokes, each as wide as its strokes plus the closing kernel on the left and right.

    No 8-connected component crosses a blank row, and the closing is horizontal, so the
    components, the closing and the lines found in each window are exactly those of the whole
    frame (the margin lets the closing see the zeros beyond the strokes as the whole frame
    does). On most frames (no text, a few strokes) the windows are a small part of the frame,
    and labelling costs by area (~0.8 ms per 512x512 frame even when it is empty).
    """
    rows = np.flatnonzero(mask.max(axis=1))
    if rows.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(rows) > BAND_GAP)
    starts = rows[np.concatenate(([0], breaks + 1))].tolist()
    stops = (rows[np.concatenate((breaks, [rows.size - 1]))] + 1).tolist()
    width = mask.shape[1]
    margin = params.close_width
    windows: list[Window] = []
    for top, bottom in zip(starts, stops, strict=True):
        x, _, w, _ = cv2.boundingRect(mask[top:bottom])
        x0, x1 = max(0, x - margin), min(width, x + w + margin)
        windows.append((x0, top, x1 - x0, bottom - top))
    return windows


def _glyphs_in_windows(grey: Grey8, params: GateParams) -> list[tuple[Grey8, Window]]:
    """The kept glyph strokes of ``grey`` in each stroke window, with the window; ``[]`` when
    no pixel passes the threshold (most text-free CT and MR slices stop here)."""
    mask = _glyph_mask(grey, params)
    found: list[tuple[Grey8, Window]] = []
    for window in _stroke_windows(mask, params):
        x, y, w, h = window
        found.append(
            (_keep_glyphs(np.ascontiguousarray(mask[y : y + h, x : x + w]), params), window)
        )
    return found


def glyph_mask(grey: Grey8, params: GateParams = DEFAULT_GATE) -> Grey8:
    """255 where ``grey`` has glyph-like strokes (small bright-on-local-background components)."""
    if grey.ndim != 2 or grey.size == 0:
        raise ValueError("glyph_mask needs a 2-D 8-bit image")
    glyphs = np.zeros(grey.shape, dtype=np.uint8)
    for strokes, (x, y, w, h) in _glyphs_in_windows(grey, params):
        glyphs[y : y + h, x : x + w] = strokes
    return glyphs


def candidate_boxes(grey: Grey8, params: GateParams = DEFAULT_GATE) -> list[Box]:
    """Padded boxes of likely text in an 8-bit grey image, top to bottom, left to right."""
    if grey.ndim != 2 or grey.size == 0:
        raise ValueError("candidate_boxes needs a 2-D 8-bit image")
    height, width = grey.shape
    boxes: list[Box] = []
    for glyphs, (left, top, _, _) in _glyphs_in_windows(grey, params):
        for x, y, w, h in _lines(glyphs, params):
            boxes.append(pad_box((x + left, y + top, w, h), params.pad, width, height))
    return sorted(boxes, key=lambda b: (b[1], b[0]))


def _lines(glyphs: Grey8, params: GateParams) -> list[Box]:
    """The plausible text lines among ``glyphs`` (unpadded, in its coordinates)."""
    if not glyphs.any():
        return []
    closed = np.asarray(
        cv2.morphologyEx(
            glyphs,
            cv2.MORPH_CLOSE,
            cv2.getStructuringElement(cv2.MORPH_RECT, (params.close_width, 1)),
        ),
        dtype=np.uint8,
    )
    count, _, stats = _components(closed)
    # A line split out of a component lies inside it: a component lower or narrower than the
    # smallest plausible line cannot give one (a ruler tick, a speck), so it is not split.
    shortest = params.min_box_height
    narrowest = params.min_aspect * params.min_box_height
    lines: list[Box] = []
    for label in range(1, count):
        x, y, w, h = (int(v) for v in stats[label, :4])
        if h < shortest or w < narrowest:
            continue
        lines.extend(
            line
            for line in _split_lines(glyphs, (x, y, w, h), params)
            if _plausible(glyphs, line, params)
        )
    return lines
