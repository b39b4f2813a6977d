"""Fixtures for the pixel-stage tests: OCR backends (real engines) and a call counter."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pytest

from deidengine.pixels.gate import Box
from deidengine.pixels.ocr import OcrBackend, TextBox, get_backend


class CountingBackend:
    """Wraps a real backend and counts its calls (the multi-frame cost contract)."""

    def __init__(self, inner: OcrBackend) -> None:
        self.inner = inner
        self.name = f"counting:{inner.name}"
        self.calls = 0

    def read(self, image: npt.NDArray[np.uint8], boxes: Sequence[Box]) -> list[TextBox]:
        self.calls += 1
        return self.inner.read(image, boxes)


@pytest.fixture(scope="session")
def default_backend() -> OcrBackend:
    return get_backend("default")


@pytest.fixture(scope="session")
def tesseract() -> OcrBackend:
    return get_backend("tesseract")


@pytest.fixture
def counting(default_backend: OcrBackend) -> CountingBackend:
    return CountingBackend(default_backend)
