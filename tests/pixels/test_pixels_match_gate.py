"""The lenient identifying-text match and the OpenCV gate (no OCR)."""

from __future__ import annotations

import numpy as np
import pytest
from pixel_synth import ct_512, ct_512_with_text, default_placements, text_mask

from deidengine.dicom.identifiers import collect_identifying_values
from deidengine.pixels.codec import read_frames, to_grey8
from deidengine.pixels.detect import TextFinding
from deidengine.pixels.gate import candidate_boxes
from deidengine.pixels.match import compact, is_identifying_text
from deidengine.pixels.ocr import TextBox


@pytest.fixture(scope="module")
def identifying():  # type: ignore[no-untyped-def]
    return collect_identifying_values(ct_512())


@pytest.mark.parametrize(
    "text",
    [
        "DOE^JANE",
        "D0E~JANE",
        "DOEJANE",
        "Doe, Jane",
        "J4NE D0E",
        "MRN 48213977",
        "HRN48213977",
        "4821397",  # one digit dropped: within one edit of the ID
        "1962-03-15",
        "15-MAR-1962",
        "DOB 03/15/1962",
        "Name:",
        "ID: A77",
        "12:41:07",
    ],
)
def test_noisy_ocr_of_identifiers_is_identifying(text: str, identifying) -> None:  # type: ignore[no-untyped-def]
    assert is_identifying_text(text, identifying)


@pytest.mark.parametrize(
    "text", ["W:400 L:40", "kV 120 mA 250", "Se:3 Im:42", "R", "CHEST PA", "刻"]
)
def test_ordinary_annotations_are_not_identifying(text: str, identifying) -> None:  # type: ignore[no-untyped-def]
    assert not is_identifying_text(text, identifying)


def test_compact_folds_lookalikes() -> None:
    assert compact("D0E^JANE") == compact("doe jane")


def test_text_never_in_reprs_or_default_json() -> None:
    finding = TextFinding(0, 1, 2, 3, 4, 0.9, True, "DOE^JANE")
    box = TextBox(1, 2, 3, 4, "DOE^JANE", 0.9)
    assert "DOE" not in repr(finding) and "DOE" not in str(finding)
    assert "DOE" not in repr(box)
    assert "text" not in finding.to_json()
    assert finding.to_json(show_text=True)["text"] == "DOE^JANE"


def test_gate_finds_every_drawn_line() -> None:
    ds, _mask = ct_512_with_text()
    source = read_frames(ds)
    grey = to_grey8(source.frame(0), ds, source.photometric)
    boxes = candidate_boxes(grey)
    for placement in default_placements(512, 512):
        line = text_mask(512, 512, [placement])
        ys, xs = np.nonzero(line)
        covered = np.zeros_like(line)
        for x, y, w, h in boxes:
            covered[y : y + h, x : x + w] = True
        assert covered[ys, xs].mean() > 0.95


def test_gate_is_quiet_on_a_smooth_frame() -> None:
    ramp = np.tile(np.linspace(0, 255, 512, dtype=np.float32), (512, 1)).astype(np.uint8)
    assert candidate_boxes(ramp) == []
    assert candidate_boxes(np.zeros((64, 64), np.uint8)) == []


def test_histogram_median_equals_numpy_median() -> None:
    # The gate decides dark-on-light by the median; the histogram shortcut must be exact,
    # including even sizes where the median falls between two grey levels.
    from deidengine.pixels.gate import _median

    rng = np.random.default_rng(7)
    for _ in range(300):
        shape = (int(rng.integers(1, 30)), int(rng.integers(1, 30)))
        image = rng.integers(0, int(rng.integers(1, 256)), size=shape).astype(np.uint8)
        assert _median(image) == float(np.median(image))
    assert _median(np.array([[127, 128]], np.uint8)) == 127.5
