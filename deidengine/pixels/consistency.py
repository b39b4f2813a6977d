"""Is a dataset's Image Pixel description coherent with its Pixel Data? Checked before any stage.

A file whose Pixel Data does not match its own description (Rows, Columns, Samples per Pixel,
Bits Allocated, Number of Frames, Photometric Interpretation) cannot be decoded, redacted or
written faithfully, so it is refused with a precise reason instead of failing later in a codec.

Native Pixel Data length follows PS3.5 section 8.1.1 and 8.2.1: ``Rows x Columns x Samples x
Bits Allocated x Frames`` bits, padded to even length, except the subsampled YBR
interpretations (PS3.3 C.7.6.3.1.2), where two horizontally adjacent pixels share one Cb and one
Cr sample: YBR_FULL_422 / YBR_PARTIAL_422 hold 2 samples per pixel, not 3. pydicom's
``get_expected_length`` implements exactly these rules and is used here.

Problems are values (:class:`PixelDataProblem`) with fixed wording: never a value of the file.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.encaps import parse_fragments
from pydicom.pixels.utils import get_expected_length

from deidengine.standard.dictionary import PIXEL_DATA

__all__ = [
    "PHOTOMETRIC_SAMPLES",
    "PixelDataFault",
    "PixelDataProblem",
    "check_pixel_data",
    "expected_native_length",
]


#: Photometric Interpretations of PS3.3 C.7.6.3.1.2 (current and retired) and the Samples per
#: Pixel each requires. Anything else is refused: the engine does not guess at a colour model.
PHOTOMETRIC_SAMPLES: Final[dict[str, int]] = {
    "MONOCHROME1": 1,
    "MONOCHROME2": 1,
    "PALETTE COLOR": 1,
    "RGB": 3,
    "YBR_FULL": 3,
    "YBR_FULL_422": 3,
    "YBR_PARTIAL_422": 3,
    "YBR_PARTIAL_420": 3,
    "YBR_ICT": 3,
    "YBR_RCT": 3,
    "XYB": 3,
    "HSV": 3,
    "ARGB": 4,
    "CMYK": 4,
}

#: Bits Allocated values PS3.5 allows for Pixel Data (1 for bit-packed segmentations).
_BITS_ALLOCATED: Final = frozenset({1, 8, 16, 32, 64})

#: Number of Frames is an IS of at most 12 characters, but no real image has more frames than
#: this; a larger value is a corrupt header, not an image to allocate memory for.
MAX_FRAMES: Final = 1 << 20


class PixelDataFault(enum.Enum):
    """Kinds of incoherent Pixel Data (each maps to one quarantine reason)."""

    INCONSISTENT = "inconsistent-pixel-data"
    UNKNOWN_PHOTOMETRIC = "unknown-photometric-interpretation"


@dataclass(frozen=True)
class PixelDataProblem:
    """What is wrong, in fixed words and attribute keywords only."""

    fault: PixelDataFault
    detail: str


def _inconsistent(detail: str) -> PixelDataProblem:
    return PixelDataProblem(PixelDataFault.INCONSISTENT, detail)


def _integer(dataset: Dataset, keyword: str, default: int | None = None) -> int | None:
    """The attribute as an int, ``default`` when absent, None when unreadable or fractional."""
    if keyword not in dataset:
        return default
    try:
        value = dataset[keyword].value
    except Exception:  # a raw value that does not parse for its VR
        return None
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() else None


def expected_native_length(dataset: Dataset) -> int:
    """Bytes of native Pixel Data the header describes, before the even-length pad byte."""
    return int(get_expected_length(dataset, unit="bytes"))


def _pixel_length(dataset: Dataset) -> int:
    element = dataset.get_item(PIXEL_DATA)
    if isinstance(element, RawDataElement | DataElement):
        return len(element.value or b"")
    return 0


def _fragments(dataset: Dataset) -> int | None:
    """Number of fragments of encapsulated Pixel Data, None when the items do not parse."""
    element = dataset.get_item(PIXEL_DATA)
    value = element.value if element is not None else None
    if not value:
        return None
    try:
        count, _ = parse_fragments(value)
    except Exception:  # malformed item tags or lengths
        return None
    return int(count)


def check_pixel_data(dataset: Dataset, *, encapsulated: bool) -> PixelDataProblem | None:
    """The first incoherence between ``dataset``'s Image Pixel attributes and its Pixel Data.

    ``encapsulated`` says whether the transfer syntax encapsulates Pixel Data. Returns None for
    a coherent dataset and for one without Pixel Data.
    """
    if dataset.get_item(PIXEL_DATA) is None:
        return None
    photometric = str(dataset.get("PhotometricInterpretation", "") or "").strip().upper()
    samples_needed = PHOTOMETRIC_SAMPLES.get(photometric)
    if samples_needed is None:
        return PixelDataProblem(
            PixelDataFault.UNKNOWN_PHOTOMETRIC,
            "Photometric Interpretation absent or not defined by PS3.3",
        )
    rows, columns = _integer(dataset, "Rows"), _integer(dataset, "Columns")
    if not rows or not columns or rows < 0 or columns < 0:
        return _inconsistent("Rows or Columns absent, zero or not an integer")
    samples = _integer(dataset, "SamplesPerPixel")
    if samples != samples_needed:
        return _inconsistent(f"Samples per Pixel does not fit {photometric}")
    bits = _integer(dataset, "BitsAllocated")
    if bits not in _BITS_ALLOCATED:
        return _inconsistent("Bits Allocated is not 1, 8, 16, 32 or 64")
    stored = _integer(dataset, "BitsStored", bits)
    if stored is None or not 0 < stored <= bits:
        return _inconsistent("Bits Stored is not between 1 and Bits Allocated")
    frames = _integer(dataset, "NumberOfFrames", 1)
    if frames is None or not 1 <= frames <= MAX_FRAMES:
        return _inconsistent("Number of Frames is not a whole number from 1 up")
    if encapsulated:
        fragments = _fragments(dataset)
        if fragments is None:
            return _inconsistent("encapsulated Pixel Data items do not parse")
        if fragments < frames:
            return _inconsistent("fewer Pixel Data fragments than Number of Frames")
        return None
    expected = expected_native_length(dataset)
    length = _pixel_length(dataset)
    if length < expected:
        return _inconsistent("Pixel Data is shorter than Rows x Columns x samples x frames")
    # One pad byte to even length is the rule; a whole frame more means Number of Frames lies.
    frame_bytes = expected // frames
    if frame_bytes and length - expected >= frame_bytes:
        return _inconsistent("Pixel Data holds more frames than Number of Frames")
    return None
