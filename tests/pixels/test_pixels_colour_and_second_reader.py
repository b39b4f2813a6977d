"""Finds all text: colour overlays that vanish in luminance, and a second engine's reading."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from pixel_synth import ct_512_with_text, load, roundtrip, with_identity
from pydicom.dataset import Dataset

from deidengine.dicom.identifiers import collect_identifying_values
from deidengine.pixels.codec import colour_channels, read_frames, to_grey8
from deidengine.pixels.detect import detect_text
from deidengine.pixels.ocr import OcrBackend
from deidengine.pixels.redact import PixelCleanError, _second_reading, redact_pixels


def _green_on_grey() -> Dataset:
    """US-like RGB: a grey sector with a green name and ID whose luminance equals the grey."""
    ds = with_identity(load("examples_rgb_color.dcm"))
    frame = np.zeros((480, 640, 3), np.uint8)
    frame[60:420, 100:540] = 150
    for text, y in (("DOE^JANE", 120), ("MRN 48213977", 160)):
        cv2.putText(frame, text, (120, y), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 255, 0), 2)
    ds.Rows, ds.Columns = frame.shape[:2]
    ds.PixelData = frame.tobytes()
    ds.PlanarConfiguration = 0
    return roundtrip(ds)


def test_green_text_is_invisible_in_luminance_but_not_in_its_channel() -> None:
    ds = _green_on_grey()
    source = read_frames(ds)
    frame = source.frame(0)
    grey = to_grey8(frame, ds, source.photometric)
    assert int(np.ptp(grey[100:125, 118:230])) <= 1  # one grey level at most
    (brightest,) = colour_channels(frame, ds, source.photometric)
    assert brightest[100:125, 118:230].max() == 255  # the green strokes
    assert brightest[100, 300] == 150  # the grey sector
    grey_rgb = np.repeat(grey[..., None], 3, axis=-1)
    assert colour_channels(grey_rgb, ds, "RGB") == []  # grey stored as RGB: luminance suffices
    assert colour_channels(np.zeros((4, 4), np.int16), ds, "MONOCHROME2") == []


@pytest.mark.parametrize("engine", ["default_backend", "tesseract"])
def test_green_overlay_is_found_and_removed(engine: str, request: pytest.FixtureRequest) -> None:
    backend: OcrBackend = request.getfixturevalue(engine)
    ds = _green_on_grey()
    identifying = collect_identifying_values(ds)
    before = detect_text(ds, identifying, backend=backend)
    assert len({f.box for f in before.identifying}) >= 2
    outcome = redact_pixels(ds, identifying_values=identifying, backend=backend)
    assert outcome.changed
    assert any("second engine" in note for note in outcome.notes)
    assert not detect_text(roundtrip(ds), identifying, backend=backend).identifying


def test_the_second_engine_quarantines_what_it_can_still_read(
    default_backend: OcrBackend,
) -> None:
    ds, _ = ct_512_with_text()
    # Unredacted frame: the second engine (tesseract, checking RapidOCR) must refuse it.
    with pytest.raises(PixelCleanError, match="tesseract"):
        _second_reading(ds, collect_identifying_values(ds), default_backend, [0])
