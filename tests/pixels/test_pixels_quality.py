"""Quality targets on a small fixed subset of the burned-in benchmark (benchmarks/burned_in.py):
nothing readable after redaction, >= 99% of the pixels outside the text untouched, no false
redaction on text-free frames, and no whole-frame OCR for a frame whose candidates hold no
characters."""

from __future__ import annotations

import copy
import random
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pytest
from pydicom.dataset import Dataset

from benchmarks.burned_in import Case, _case, build_cases, negative_cases, score_case
from deidengine.dicom.identifiers import collect_identifying_values
from deidengine.pixels.codec import read_frames, to_grey8
from deidengine.pixels.detect import detect_text
from deidengine.pixels.gate import Box, candidate_boxes
from deidengine.pixels.ocr import OcrBackend, TextBox, reads_characters

#: Small images keep this under a minute: every kind of base once, 128 and 256 pixels.
CASES = build_cases(8, seed=7, sides=(128,)) + build_cases(8, seed=8, sides=(256,))[:4]


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
def test_nothing_readable_and_nothing_else_changed(case: Case) -> None:
    score = score_case(case)
    assert score.lines >= 1
    assert score.changed
    assert not score.quarantined
    assert score.readable == 0
    assert score.outside_unchanged >= 0.99


NEGATIVES = negative_cases(8, seed=11, sides=(256,))


@pytest.mark.slow
@pytest.mark.parametrize("case", NEGATIVES, ids=[c.label for c in NEGATIVES])
def test_text_free_frames_are_not_redacted_under_all(case: Case) -> None:
    score = score_case(case, readers=(), mode="all")
    assert not score.changed
    assert score.outside_unchanged == 1.0


def test_a_text_free_frame_with_candidates_costs_no_whole_frame_ocr(
    default_backend: OcrBackend,
) -> None:
    rng = random.Random(5)
    case = next(
        c
        for c in (_case("mr", 512, rng, False) for _ in range(4))
        if candidate_boxes(_grey(c.dataset))
    )
    grey = _grey(case.dataset)
    assert not reads_characters(default_backend, grey, candidate_boxes(grey))
    report = detect_text(case.dataset, collect_identifying_values(case.dataset), backend="default")
    assert report.frames_with_candidates == 1
    assert report.ocr_calls == 0
    assert report.findings == ()


def test_a_frame_with_text_reads_as_characters(default_backend: OcrBackend) -> None:
    (case,) = build_cases(1, seed=3, sides=(512,))
    grey = _grey(case.dataset)
    assert reads_characters(default_backend, grey, candidate_boxes(grey))


def _grey(ds: Dataset) -> npt.NDArray[np.uint8]:
    source = read_frames(ds)
    return to_grey8(source.frame(0), ds, source.photometric)


class _CountingChecks:
    """A real RapidOCR backend that counts its recogniser-only checks."""

    def __init__(self, inner: OcrBackend) -> None:
        self.inner = inner
        self.name = "counting-checks"
        self.checks = 0

    def read(self, image: npt.NDArray[np.uint8], boxes: Sequence[Box]) -> list[TextBox]:
        return self.inner.read(image, boxes)

    def crop_characters(self, crop: npt.NDArray[np.uint8]) -> int:
        self.checks += 1
        return int(self.inner.crop_characters(crop))  # type: ignore[attr-defined]


def test_a_series_pays_the_text_free_check_once_per_layout(
    default_backend: OcrBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    from deidengine.pixels import detect, ocr

    # The MR anatomy box is settled by shape without the recogniser
    # (tests/pixels/test_pixels_strokes.py); here the recogniser's verdicts are what is
    # remembered, so the shape stage is switched off and the box goes to the recogniser.
    monkeypatch.setattr(ocr, "text_free_by_shape", lambda crop: False)
    detect._TEXT_FREE_LAYOUT.clear()
    rng = random.Random(5)
    first = next(
        c.dataset
        for c in (_case("mr", 512, rng, False) for _ in range(4))
        if candidate_boxes(_grey(c.dataset))
    )
    same_series = copy.deepcopy(first)
    same_series.SOPInstanceUID = first.SOPInstanceUID + ".2"
    other_series = copy.deepcopy(first)
    other_series.SeriesInstanceUID = first.SeriesInstanceUID + ".2"
    backend = _CountingChecks(default_backend)
    values = collect_identifying_values(first)
    detect_text(first, values, backend=backend)
    assert backend.checks >= 1
    checked = backend.checks
    assert detect_text(same_series, values, backend=backend).findings == ()
    assert backend.checks == checked  # same series, same pixels: remembered
    detect_text(other_series, values, backend=backend)
    assert backend.checks == 2 * checked  # another series is checked afresh
