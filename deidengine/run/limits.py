"""The input limits, as the run's options and callers have always imported them.

They live in :mod:`deidengine.dicom.limits`, beside the one reader
(:func:`deidengine.dicom.reading.read_dataset`) that applies them, so that every layer that
reads a file may use them; this module keeps the run's names for them.
"""

from __future__ import annotations

from deidengine.dicom.limits import (
    DEFAULT_LIMITS,
    DEFLATED_EXPLICIT_VR,
    MIB,
    InputLimits,
    LimitExceeded,
    PixelDescriptionError,
    check_declared_pixels,
    check_inflated_size,
    declared_pixel_bytes,
)

__all__ = [
    "DEFAULT_LIMITS",
    "DEFLATED_EXPLICIT_VR",
    "MIB",
    "InputLimits",
    "LimitExceeded",
    "PixelDescriptionError",
    "check_declared_pixels",
    "check_inflated_size",
    "declared_pixel_bytes",
]
