"""The pixel stage: decode/encode per transfer syntax, burned-in text detection, OCR, redaction.

Modules: :mod:`~deidengine.pixels.codec` (frames in and out), :mod:`~deidengine.pixels.gate`
(cheap OpenCV text candidates), :mod:`~deidengine.pixels.ocr` (OCR backends by name),
:mod:`~deidengine.pixels.match` (is OCR text identifying?), :mod:`~deidengine.pixels.detect`
and :mod:`~deidengine.pixels.redact`.
"""

from deidengine.pixels.codec import FrameSource, WriteOutcome, read_frames, to_grey8, write_frames
from deidengine.pixels.detect import DetectionReport, TextFinding, detect_text
from deidengine.pixels.ocr import BACKENDS, OcrBackend, TextBox, get_backend
from deidengine.pixels.redact import (
    PixelCleanError,
    PixelOutcome,
    keep_ultrasound_regions,
    redact_pixels,
)

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
