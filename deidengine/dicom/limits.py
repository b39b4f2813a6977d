"""Size limits on one input, checked before the engine holds its data in memory.

A Deflated Explicit VR file of 1 MB can inflate to 1 GiB (zlib reaches about 1000:1 on
uniform bytes), and pydicom inflates the whole data set at once before parsing it; a header
can declare 65535 x 65535 pixels in thousands of frames over a few bytes of compressed data,
and a decoder allocates what the header declares. Either drives one worker to many GB. So:

- :func:`check_inflated_size` inflates a deflated data set in bounded chunks, counting, and
  stops at :attr:`InputLimits.max_inflated_bytes` (memory: one chunk), before pydicom does;
- :func:`declared_pixel_bytes` computes what the pixel description declares
  (Rows x Columns x Samples per Pixel x Bits Allocated x Number of Frames), refusing values
  that are not what their VR allows (Number of Frames ``1.5``), and the pipeline quarantines
  a file declaring more than :attr:`InputLimits.max_pixel_bytes`.

Beyond a limit a file is quarantined as ``too-large``; the limits are run options
(``--max-inflated-mib``, ``--max-pixel-mib``), their defaults sized for real studies: 4 GiB of
declared pixels holds a multi-frame series of a few thousand 512 x 512 frames, or a breast
tomosynthesis (whole-slide images need a larger limit); 512 MiB inflated holds any deflated
data set met in practice (the syntax serves structured reports and small images), while
pydicom's reading of a deflated file holds several copies of what it inflates (1 GiB inflated
took 6.4 GB), so this limit is what bounds a worker's memory on such files.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import Final

from pydicom.dataset import Dataset
from pydicom.filereader import _read_file_meta_info, read_preamble

from deidengine.errors import DeidError, EngineCode
from deidengine.standard.vr_classes import PIXEL_DATA_TAGS

__all__ = [
    "DEFAULT_LIMITS",
    "DEFLATED_EXPLICIT_VR",
    "HEAD_BYTES",
    "InputLimits",
    "LimitExceeded",
    "PixelDescriptionError",
    "check_declared_pixels",
    "check_inflated_size",
    "declared_pixel_bytes",
    "may_be_deflated",
]

MIB: Final = 1 << 20
DEFLATED_EXPLICIT_VR: Final = "1.2.840.10008.1.2.1.99"
#: How much of a file is searched for the deflated transfer syntax before its meta is parsed.
HEAD_BYTES: Final = 64 * 1024
#: Inflated per step: the only memory the size check holds.
INFLATE_CHUNK: Final = 4 * MIB
#: PS3.5 6.2: an IS holds -2^31 .. 2^31-1; frames, rows and columns are positive.
IS_MAXIMUM: Final = (1 << 31) - 1
BITS_ALLOCATED: Final = frozenset({1, 8, 16, 32, 64})


@dataclass(frozen=True, slots=True)
class InputLimits:
    """The most one input may inflate to, and the most pixel data it may declare (bytes)."""

    max_inflated_bytes: int = 512 * MIB
    max_pixel_bytes: int = 4096 * MIB

    @classmethod
    def from_mib(cls, inflated: int | None = None, pixels: int | None = None) -> InputLimits:
        """Limits in MiB, each defaulting to :data:`DEFAULT_LIMITS`' own."""
        return cls(
            max_inflated_bytes=DEFAULT_LIMITS.max_inflated_bytes
            if inflated is None
            else inflated * MIB,
            max_pixel_bytes=DEFAULT_LIMITS.max_pixel_bytes if pixels is None else pixels * MIB,
        )


DEFAULT_LIMITS: Final = InputLimits()


class LimitExceeded(DeidError):
    """The input is larger than a limit allows; the message names the limit, never a value."""

    code = EngineCode.TOO_LARGE


class PixelDescriptionError(DeidError):
    """The pixel description is not a valid one (a non-integer frame count, zero rows, ...)."""

    code = EngineCode.INVALID_PIXEL_DESCRIPTION


def _is_deflated(path: str) -> int | None:
    """The offset of the data set when ``path`` is a Part 10 file in Deflated Explicit VR
    Little Endian, else None. The meta is parsed only when its head names that syntax."""
    with open(path, "rb") as handle:
        if not may_be_deflated(handle.read(HEAD_BYTES)):
            return None
        handle.seek(0)
        try:
            read_preamble(handle, False)
            meta = _read_file_meta_info(handle)
        except Exception:
            return None  # the reader reports an unreadable meta itself
        syntax = str(meta.get("TransferSyntaxUID", "")).strip(" \x00")
        return handle.tell() if syntax == DEFLATED_EXPLICIT_VR else None


def may_be_deflated(head: bytes) -> bool:
    """Whether a file whose first :data:`HEAD_BYTES` bytes (or all, when shorter) are
    ``head`` may be in Deflated Explicit VR Little Endian: False is certain, True asks
    :func:`check_inflated_size` to parse its meta."""
    if head[128:132] != b"DICM":
        return False
    # The syntax is in the meta, which is at the head, unless the meta is longer.
    named = DEFLATED_EXPLICIT_VR.encode("ascii") in head
    return named or (len(head) >= HEAD_BYTES and _meta_may_exceed(head))


def _meta_may_exceed(head: bytes) -> bool:
    """Whether the meta's group length (when the meta starts with it) reaches past ``head``;
    without a group length the meta's end is unknown, so it may."""
    if head[132:136] != b"\x02\x00\x00\x00":
        return True
    (length,) = struct.unpack("<L", head[140:144])
    return 144 + int(length) > len(head)


def check_inflated_size(path: str, limit: int) -> None:
    """Raise :class:`LimitExceeded` when ``path`` is a deflated file whose data set inflates
    to more than ``limit`` bytes. Inflates chunk by chunk, so memory stays at one chunk; a
    stream that is not valid deflate is left for the reader to report."""
    offset = _is_deflated(path)
    if offset is None:
        return
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    total = 0
    with open(path, "rb") as handle:
        handle.seek(offset)
        while not inflater.eof:
            pending = handle.read(INFLATE_CHUNK)
            if not pending:
                return
            while pending:
                try:
                    total += len(inflater.decompress(pending, INFLATE_CHUNK))
                except zlib.error:
                    return
                if total > limit:
                    raise LimitExceeded(
                        f"the deflated data set inflates beyond {limit // MIB} MiB "
                        "(--max-inflated-mib)"
                    )
                pending = inflater.unconsumed_tail


def _count(dataset: Dataset, keyword: str, default: int | None = None) -> int:
    """A positive integer attribute of the pixel description, read strictly."""
    if keyword not in dataset:
        if default is None:
            raise PixelDescriptionError(f"{keyword} is missing")
        return default
    value = dataset[keyword].value
    if value is None or value == "":
        if default is None:
            raise PixelDescriptionError(f"{keyword} is empty")
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise PixelDescriptionError(f"{keyword} is not a number") from None
    if not number.is_integer() or not 0 < number <= IS_MAXIMUM:
        raise PixelDescriptionError(f"{keyword} is not a positive integer")
    return int(number)


def declared_pixel_bytes(dataset: Dataset) -> int:
    """The bytes the pixel description declares, 0 without pixel data.

    Raises:
        PixelDescriptionError: a value of the description is missing where pixel data is
            present, not an integer, out of its range, or Bits Allocated is not one of 1, 8,
            16, 32, 64.
    """
    if not any(tag in dataset for tag in PIXEL_DATA_TAGS):
        return 0
    rows = _count(dataset, "Rows")
    columns = _count(dataset, "Columns")
    samples = _count(dataset, "SamplesPerPixel", 1)
    frames = _count(dataset, "NumberOfFrames", 1)
    bits = _count(dataset, "BitsAllocated")
    if bits not in BITS_ALLOCATED:
        raise PixelDescriptionError("BitsAllocated is not 1, 8, 16, 32 or 64")
    return (rows * columns * samples * frames * bits + 7) // 8


def check_declared_pixels(dataset: Dataset, limit: int) -> None:
    """Raise :class:`LimitExceeded` when the pixel description declares more than ``limit``
    bytes (or :class:`PixelDescriptionError` when it is not a valid description)."""
    if declared_pixel_bytes(dataset) > limit:
        raise LimitExceeded(
            f"the pixel description declares more than {limit // MIB} MiB (--max-pixel-mib)"
        )
