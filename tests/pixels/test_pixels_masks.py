"""Masks only text: glyph strokes of read text with a proportional margin, items kept apart."""

from __future__ import annotations

import copy

import cv2
import numpy as np
import numpy.typing as npt
from pixel_synth import ct_512_with_text, roundtrip
from pydicom.dataset import Dataset

from deidengine.dicom.identifiers import collect_identifying_values
from deidengine.pixels.codec import read_frames, to_grey8
from deidengine.pixels.gate import glyph_mask
from deidengine.pixels.masks import MIN_MARGIN, margin_for, text_rectangles
from deidengine.pixels.ocr import OcrBackend
from deidengine.pixels.redact import redact_pixels


def _drawn(height: int = 200, width: int = 600) -> npt.NDArray[np.uint8]:
    image = np.full((height, width), 60, np.uint8)
    cv2.putText(image, "DOE", (20, 100), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 255, 2, cv2.LINE_AA)
    cv2.putText(image, "2019", (420, 100), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 255, 2, cv2.LINE_AA)
    return image


def test_one_line_box_over_two_distant_items_fills_two_rectangles() -> None:
    image = _drawn()
    glyphs = glyph_mask(image)
    # As a line detector may report it: one box from the first word to the last.
    rectangles = text_rectangles((10, 70, 560, 45), glyphs)
    assert len(rectangles) == 2
    left, right = sorted(rectangles)
    assert left[0] + left[2] < 120 and right[0] > 400
    # The anatomy between the two items is outside every rectangle.
    assert all(not (x < 300 < x + w) for x, _, w, _ in rectangles)
    # Every glyph pixel of the box is covered.
    covered = np.zeros_like(glyphs, dtype=bool)
    for x, y, w, h in rectangles:
        covered[y : y + h, x : x + w] = True
    assert not (glyphs[70:115, 10:570].astype(bool) & ~covered[70:115, 10:570]).any()


def test_margin_grows_with_glyph_height() -> None:
    assert margin_for(4) == MIN_MARGIN
    assert margin_for(10) == 3
    assert margin_for(40) == 12
    small, big = np.zeros((300, 300), np.uint8), np.zeros((300, 300), np.uint8)
    small[100:110, 100:140] = 255
    big[100:140, 100:260] = 255
    (s,) = text_rectangles((90, 90, 60, 30), small)
    (b,) = text_rectangles((90, 90, 180, 60), big)
    assert s == (97, 97, 46, 16)
    assert b == (88, 88, 184, 64)


def test_a_box_without_strokes_is_filled_whole_because_characters_were_read() -> None:
    (rectangle,) = text_rectangles((50, 50, 40, 10), np.zeros((200, 200), np.uint8))
    assert rectangle == (47, 47, 46, 16)


def _changed_outside(
    before: npt.NDArray[np.generic], after: npt.NDArray[np.generic], keep: npt.NDArray[np.bool_]
) -> int:
    diff = before != after
    if diff.ndim == 3:
        diff = diff.any(axis=-1)
    return int((diff & keep).sum())


def test_redact_all_changes_no_pixel_outside_the_text_rectangles(
    default_backend: OcrBackend,
) -> None:
    ds, _mask = ct_512_with_text()
    ds = roundtrip(ds)
    before = ds.pixel_array.copy()
    identifying = collect_identifying_values(ds)
    source = read_frames(ds)
    glyphs = glyph_mask(to_grey8(source.frame(0), ds, source.photometric))
    from deidengine.pixels.detect import detect_text

    report = detect_text(copy.deepcopy(ds), identifying, backend=default_backend)
    allowed = np.zeros(before.shape[:2], bool)
    for finding in report.findings:
        for x, y, w, h in text_rectangles(finding.box, glyphs):
            allowed[y : y + h, x : x + w] = True
    outcome = redact_pixels(ds, identifying_values=identifying, mode="all", backend=default_backend)
    assert outcome.changed
    after = roundtrip(ds).pixel_array
    assert _changed_outside(before, after, ~allowed) == 0
    # The rectangles are tight: well under 5% of the frame for three short lines.
    assert allowed.mean() < 0.05


def _text_like_without_text() -> Dataset:
    """A 512x512 US-like RGB frame: colour bars, a ruler with ticks, a Doppler-like blob."""
    from pixel_synth import load

    ds = load("examples_rgb_color.dcm")
    frame = np.zeros((480, 640, 3), np.uint8)
    frame[100:380, 120:520] = 90  # sector
    for index, colour in enumerate(((255, 0, 0), (255, 255, 0), (0, 255, 0), (0, 0, 255))):
        frame[100 + 60 * index : 150 + 60 * index, 20:40] = colour  # colour bar
    for y in range(100, 380, 10):  # ruler ticks
        frame[y : y + 1, 560 : 570 if y % 50 else 580] = 255
    cv2.ellipse(frame, (320, 240), (60, 40), 0, 0, 360, (200, 30, 30), -1)  # Doppler colour
    cv2.line(frame, (250, 200), (390, 280), (255, 255, 0), 1)  # caliper
    cv2.drawMarker(frame, (250, 200), (255, 255, 0), cv2.MARKER_CROSS, 9)
    ds.Rows, ds.Columns = frame.shape[:2]
    ds.PixelData = frame.tobytes()
    ds.PlanarConfiguration = 0
    return roundtrip(ds)


def test_text_free_structure_is_not_redacted_under_all(default_backend: OcrBackend) -> None:
    ds = _text_like_without_text()
    pixel_bytes = ds.PixelData
    outcome = redact_pixels(
        ds, identifying_values=collect_identifying_values(ds), mode="all", backend=default_backend
    )
    assert not outcome.changed
    assert ds.PixelData == pixel_bytes
