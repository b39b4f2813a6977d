"""The cheap stage of the gate boxes' character check (:mod:`deidengine.pixels.strokes`): it
may only ever say "text-free", and must never say it of a crop the recogniser reads as text.

Real text on real pydicom pixels (the burned-in benchmark's generator: CT, MR, RGB, YBR,
palette, JPEG 2000 lossy, JPEG baseline, cine; Hershey and DejaVu faces; white, yellow, green
and inverted), the same frames zoomed and blurred (where smoothness alone would not be
safe), and the MR anatomy box the gate proposes on text-free slices, read by the real
RapidOCR recogniser.
"""

from __future__ import annotations

import random

import numpy as np
import numpy.typing as npt
import pytest

from benchmarks.burned_in import _case, build_cases
from benchmarks.gate_check import blurred_crops, crops
from deidengine.pixels.codec import read_frames, to_grey8
from deidengine.pixels.gate import Box, candidate_boxes
from deidengine.pixels.ocr import MIN_CHARACTERS, RapidOcrBackend, reads_characters
from deidengine.pixels.strokes import (
    ONE_LOBE,
    SMOOTH_EDGES,
    edge_steepness,
    lobe_depth,
    text_free_by_shape,
)

Grey8 = npt.NDArray[np.uint8]

#: Every kind of base once at 128 px, four at 256 px: ~10 s with the recogniser.
CASES = build_cases(8, seed=7, sides=(128,)) + build_cases(8, seed=8, sides=(256,))[:4]


@pytest.fixture(scope="module")
def rapid() -> RapidOcrBackend:
    return RapidOcrBackend()


def _read_as_text(rapid: RapidOcrBackend, items: list[Grey8]) -> list[Grey8]:
    return [c for c in items if rapid.crop_characters(c) >= MIN_CHARACTERS]


def _mr_anatomy() -> tuple[Grey8, Box]:
    case = _case("mr", 512, random.Random(5), False)
    source = read_frames(case.dataset)
    grey = to_grey8(source.frame(0), case.dataset, source.photometric)
    boxes = candidate_boxes(grey)
    assert len(boxes) == 1
    return grey, boxes[0]


def test_no_text_crop_is_text_free_by_shape(rapid: RapidOcrBackend) -> None:
    text = _read_as_text(rapid, list(crops(CASES)))
    assert len(text) >= 40  # the set is not empty by accident
    assert [i for i, c in enumerate(text) if text_free_by_shape(c)] == []
    # Each of the two properties alone already keeps every one of them.
    assert min(edge_steepness(c) for c in text) >= SMOOTH_EDGES
    assert min(lobe_depth(c) for c in text) >= ONE_LOBE


def test_blurred_text_is_smooth_but_never_one_lobe(rapid: RapidOcrBackend) -> None:
    text = _read_as_text(rapid, list(blurred_crops(CASES[:8])))
    smooth = [c for c in text if edge_steepness(c) < SMOOTH_EDGES]
    # Smoothness alone would lose these: the lobes are what keep them.
    assert smooth
    assert min(lobe_depth(c) for c in smooth) >= ONE_LOBE
    assert not any(text_free_by_shape(c) for c in text)


def test_the_mr_anatomy_box_is_text_free_by_shape(rapid: RapidOcrBackend) -> None:
    grey, (x, y, w, h) = _mr_anatomy()
    crop = grey[y : y + h, x : x + w]
    assert edge_steepness(crop) < SMOOTH_EDGES
    assert lobe_depth(crop) < ONE_LOBE
    assert text_free_by_shape(crop)
    # The answer the recogniser gives, now without asking it.
    assert rapid.crop_characters(crop) < MIN_CHARACTERS
    assert not reads_characters(rapid, grey, [(x, y, w, h)])


class _Refusing:
    """A backend whose recogniser must not be called."""

    name = "refusing"

    def read(self, image: Grey8, boxes: object) -> list[object]:
        raise AssertionError("whole-frame OCR")

    def crop_characters(self, crop: Grey8) -> int:
        raise AssertionError("the recogniser was asked about a crop settled by shape")


def test_a_settled_crop_costs_no_recogniser_call() -> None:
    grey, box = _mr_anatomy()
    assert not reads_characters(_Refusing(), grey, [box])  # type: ignore[arg-type]


def test_flat_ramp_and_two_bar_crops() -> None:
    flat = np.full((20, 30), 90, np.uint8)
    assert edge_steepness(flat) == 0.0
    assert lobe_depth(flat) == 0.0
    assert text_free_by_shape(flat)
    assert edge_steepness(np.arange(30, dtype=np.uint8)[None, :]) == 0.0
    empty = np.zeros((0, 5), np.uint8)
    assert edge_steepness(empty) == 0.0
    assert lobe_depth(empty) == 0.0
    ramp = np.tile(np.arange(0, 200, 10, dtype=np.uint8), (20, 1))
    assert edge_steepness(ramp) == pytest.approx(10 / 190 * 20)
    assert lobe_depth(ramp) == 0.0
    assert text_free_by_shape(ramp)
    # Two bright bars on dark ("11"): two parts in both polarities, sharp edges.
    bars = np.zeros((20, 20), np.uint8)
    bars[3:17, 5:8] = 200
    bars[3:17, 12:15] = 200
    assert lobe_depth(bars) == 1.0
    assert edge_steepness(bars) == 20.0
    assert not text_free_by_shape(bars)
