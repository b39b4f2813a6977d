"""Seeded mutants of real DICOM files: the kinds of damage files meet in the wild.

Each mutator takes the seed's bytes, what is known about its elements, and a seeded
:class:`random.Random`, and returns new bytes: flipped bytes, bad lengths, undefined lengths,
odd VRs, a File Meta Information naming the wrong transfer syntax, truncation, inserted junk,
and header values that contradict the pixels (Number of Frames ``1.5`` or ``2147483648``,
65535 x 65535).
"""

from __future__ import annotations

import io
import random
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import pydicom
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_file_meta_info
from pydicom.uid import UID

#: Long-form explicit VRs: a 2-byte reserved field, then a 4-byte length (PS3.5 7.1.2).
LONG_VRS: Final = frozenset(
    {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
)
SYNTAXES: Final = (
    "1.2.840.10008.1.2",
    "1.2.840.10008.1.2.1",
    "1.2.840.10008.1.2.2",
    "1.2.840.10008.1.2.1.99",
    "1.2.840.10008.1.2.4.50",
    "1.2.840.10008.1.2.4.70",
    "1.2.840.10008.1.2.4.90",
    "1.2.840.10008.1.2.5",
    "1.2.840.10008.1.2.4.201",
)
ODD_VRS: Final = (b"XX", b"SQ", b"UN", b"OB", b"PN", b"US", b"DS", b"\x00\x00", b"  ", b"ox")
LENGTHS: Final = (0, 1, 3, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, 0xFFFFFFFE, 0x10000)
HEADER_VALUES: Final = (
    ("NumberOfFrames", "1.5"),
    ("NumberOfFrames", "2147483648"),
    ("NumberOfFrames", "-3"),
    ("NumberOfFrames", "0"),
    ("NumberOfFrames", "7"),
    ("Rows", 65535),
    ("Columns", 65535),
    ("Rows", 0),
    ("BitsAllocated", 12),
    ("BitsAllocated", 0),
    ("BitsStored", 40),
    ("SamplesPerPixel", 4),
    ("SamplesPerPixel", 0),
    ("PhotometricInterpretation", "YBR_FULL_422"),
    ("PhotometricInterpretation", "PALETTE COLOR"),
    ("PixelRepresentation", 7),
    ("PlanarConfiguration", 5),
    ("HighBit", 31),
)


@dataclass(frozen=True)
class Seed:
    """A seed file: its bytes, where its dataset starts, and its elements' header offsets."""

    data: bytes
    body: int  # offset of the data set (after the meta), 0 without one
    explicit: bool
    #: (offset of the element's tag, offset of its value, VR bytes) for each element read.
    elements: tuple[tuple[int, int, bytes], ...]
    dataset: Dataset


def load_seed(data: bytes) -> Seed:
    """Parse ``data`` once to learn where its elements are (only raw, little-endian ones)."""
    dataset = pydicom.dcmread(io.BytesIO(data), force=True)
    meta_end = 0
    if data[128:132] == b"DICM":
        stream = io.BytesIO(data)
        stream.seek(132)
        pydicom.filereader._read_file_meta_info(stream)
        meta_end = stream.tell()
    syntax = UID(str(dataset.file_meta.get("TransferSyntaxUID", "1.2.840.10008.1.2")))
    explicit = not syntax.is_implicit_VR
    found = []
    if syntax.is_little_endian and syntax != "1.2.840.10008.1.2.1.99":
        for element in dataset._dict.values():
            if isinstance(element, RawDataElement) and element.value_tell:
                value = element.value_tell
                long_form = not explicit or data[value - 8 : value - 6] in LONG_VRS
                start = value - (12 if explicit and long_form else 8)
                vr = data[start + 4 : start + 6] if explicit else b""
                found.append((start, value, vr))
    return Seed(data, meta_end, explicit, tuple(found), dataset)


Mutator = Callable[[Seed, random.Random], bytes]


def flip_bytes(seed: Seed, rng: random.Random) -> bytes:
    data = bytearray(seed.data)
    for _ in range(rng.randint(1, 8)):
        position = rng.randrange(seed.body, len(data))
        data[position] ^= rng.randint(1, 255)
    return bytes(data)


def _element(seed: Seed, rng: random.Random) -> tuple[int, int, bytes] | None:
    return rng.choice(seed.elements) if seed.elements else None


def bad_length(seed: Seed, rng: random.Random) -> bytes:
    chosen = _element(seed, rng)
    if chosen is None:
        return flip_bytes(seed, rng)
    _start, value, vr = chosen
    data = bytearray(seed.data)
    length = rng.choice(LENGTHS)
    if seed.explicit and vr not in LONG_VRS:
        data[value - 2 : value] = struct.pack("<H", length & 0xFFFF)
    else:
        data[value - 4 : value] = struct.pack("<L", length)
    return bytes(data)


def undefined_length(seed: Seed, rng: random.Random) -> bytes:
    chosen = _element(seed, rng)
    if chosen is None:
        return flip_bytes(seed, rng)
    start, value, vr = chosen
    data = bytearray(seed.data)
    if seed.explicit and vr not in LONG_VRS:
        data[start + 4 : start + 6] = rng.choice((b"UN", b"SQ", b"OB"))
        data[start + 6 : value] = b"\x00\x00\xff\xff"  # now a long-form header eating 2 bytes
    else:
        data[value - 4 : value] = b"\xff\xff\xff\xff"
    return bytes(data)


def odd_vr(seed: Seed, rng: random.Random) -> bytes:
    candidates = [e for e in seed.elements if e[2]]
    if not candidates:
        return flip_bytes(seed, rng)
    start, _value, _vr = rng.choice(candidates)
    data = bytearray(seed.data)
    data[start + 4 : start + 6] = rng.choice(ODD_VRS)
    return bytes(data)


def wrong_syntax(seed: Seed, rng: random.Random) -> bytes:
    if not seed.body:
        return flip_bytes(seed, rng)
    meta = seed.dataset.file_meta
    meta.TransferSyntaxUID = UID(rng.choice(SYNTAXES))
    buffer = DicomBytesIO()
    buffer.is_little_endian, buffer.is_implicit_VR = True, False
    write_file_meta_info(buffer, meta, enforce_standard=False)
    return seed.data[:132] + buffer.getvalue() + seed.data[seed.body :]


def truncate(seed: Seed, rng: random.Random) -> bytes:
    return seed.data[: rng.randrange(seed.body or 1, len(seed.data))]


def insert_junk(seed: Seed, rng: random.Random) -> bytes:
    position = rng.randrange(seed.body, len(seed.data))
    junk = bytes(rng.randrange(256) for _ in range(rng.randint(1, 12)))
    return seed.data[:position] + junk + seed.data[position:]


def header_value(seed: Seed, rng: random.Random) -> bytes:
    """A pixel description that contradicts the pixels (written by pydicom, so well formed)."""
    dataset = pydicom.dcmread(io.BytesIO(seed.data), force=True)
    for keyword, value in rng.sample(HEADER_VALUES, rng.randint(1, 3)):
        setattr(dataset, keyword, value)
    stream = io.BytesIO()
    dataset.save_as(stream, enforce_file_format=bool(seed.body))
    return stream.getvalue()


MUTATORS: Final[dict[str, Mutator]] = {
    "flip-bytes": flip_bytes,
    "bad-length": bad_length,
    "undefined-length": undefined_length,
    "odd-vr": odd_vr,
    "wrong-syntax": wrong_syntax,
    "truncate": truncate,
    "insert-junk": insert_junk,
    "header-value": header_value,
}


def mutant(seed: Seed, rng: random.Random) -> tuple[str, bytes]:
    """One mutant of ``seed``: the mutator's name and the bytes (1-2 mutations stacked)."""
    name = rng.choice(list(MUTATORS))
    data = MUTATORS[name](seed, rng)
    if rng.random() < 0.25:
        try:
            second = rng.choice(list(MUTATORS))
            data = MUTATORS[second](load_seed(data), rng)
            name = f"{name}+{second}"
        except Exception:
            pass  # the first mutation left nothing a second could find its way in
    return name, data
