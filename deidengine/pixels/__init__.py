"""The pixel stage: decode/encode per transfer syntax, burned-in text detection, OCR, redaction.

Modules: :mod:`~deidengine.pixels.codec` (frames in and out), :mod:`~deidengine.pixels.gate`
(cheap OpenCV text candidates), :mod:`~deidengine.pixels.ocr` (OCR backends by name),
:mod:`~deidengine.pixels.match` (is OCR text identifying?), :mod:`~deidengine.pixels.detect`
and :mod:`~deidengine.pixels.redact`, plus :mod:`~deidengine.pixels.consistency` (is Pixel Data
coherent with its description?), which the reader runs on every file.

The names below are loaded on first use (PEP 562): the run's reader imports
:mod:`~deidengine.pixels.consistency` for every file, and must not pull in OpenCV for it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deidengine.pixels.codec import (
        FrameSource,
        WriteOutcome,
        read_frames,
        to_grey8,
        write_frames,
    )
    from deidengine.pixels.detect import DetectionReport, TextFinding, detect_text
    from deidengine.pixels.ocr import BACKENDS, OcrBackend, TextBox, get_backend
    from deidengine.pixels.redact import (
        PixelCleanError,
        PixelOutcome,
        keep_ultrasound_regions,
        redact_pixels,
    )

_HOME = {
    "FrameSource": "codec",
    "WriteOutcome": "codec",
    "read_frames": "codec",
    "to_grey8": "codec",
    "write_frames": "codec",
    "DetectionReport": "detect",
    "TextFinding": "detect",
    "detect_text": "detect",
    "BACKENDS": "ocr",
    "OcrBackend": "ocr",
    "TextBox": "ocr",
    "get_backend": "ocr",
    "PixelCleanError": "redact",
    "PixelOutcome": "redact",
    "keep_ultrasound_regions": "redact",
    "redact_pixels": "redact",
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = [
    "BACKENDS",
    "DetectionReport",
    "FrameSource",
    "OcrBackend",
    "PixelCleanError",
    "PixelOutcome",
    "TextBox",
    "TextFinding",
    "WriteOutcome",
    "detect_text",
    "get_backend",
    "keep_ultrasound_regions",
    "read_frames",
    "redact_pixels",
    "to_grey8",
    "write_frames",
]
