"""A counting wrapper around a real OCR backend, importable by name from the pixel tests.

(A module of its own: every test folder has a ``conftest``, so ``from conftest import`` would
resolve to whichever folder's conftest was imported first.)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from deidengine.pixels.gate import Box
from deidengine.pixels.ocr import OcrBackend, TextBox


class CountingBackend:
    """Wraps a real backend and counts its calls (the multi-frame cost contract)."""

    def __init__(self, inner: OcrBackend) -> None:
        self.inner = inner
        self.name = f"counting:{inner.name}"
        self.calls = 0

    def read(self, image: npt.NDArray[np.uint8], boxes: Sequence[Box]) -> list[TextBox]:
        self.calls += 1
        return self.inner.read(image, boxes)
