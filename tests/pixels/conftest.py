"""Fixtures for the pixel-stage tests: OCR backends (real engines) and a call counter."""

from __future__ import annotations

import pytest
from pixel_fakes import CountingBackend

from deidengine.pixels.ocr import OcrBackend, get_backend


@pytest.fixture(scope="session")
def default_backend() -> OcrBackend:
    return get_backend("default")


@pytest.fixture(scope="session")
def tesseract() -> OcrBackend:
    return get_backend("tesseract")


@pytest.fixture
def counting(default_backend: OcrBackend) -> CountingBackend:
    return CountingBackend(default_backend)
