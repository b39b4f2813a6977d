"""Encode a dataset as a DICOM file: the bytes pydicom's ``dcmwrite`` writes, written faster.

pydicom's writer spends most of its time on per-element bookkeeping (a buffer, property look-ups
and checks for every element), the same for an element read from the file and never touched as
for a new one. After the header stage most elements are still raw (:mod:`.elements`): their
header is a fixed layout and their value is the bytes read, so :func:`write_file` writes those
itself and hands every other element to pydicom's own element writer. Anything unusual (a
deflated transfer syntax, a dataset whose encoding or character set differs from how it was
read, an undefined length, a value too long for its explicit-VR length field) goes to pydicom
whole. The output is byte-identical to ``dcmwrite(..., enforce_file_format=True)``; a test holds
the two to that over pydicom's own test files.
"""

from __future__ import annotations

import copy
import io
import struct
from functools import lru_cache
from typing import BinaryIO, Final

from pydicom.charset import convert_encodings, default_encoding
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO, DicomFileLike, DicomIO
from pydicom.filewriter import dcmwrite, write_data_element, write_dataset, write_file_meta_info
from pydicom.tag import BaseTag
from pydicom.uid import UID, DeflatedExplicitVRLittleEndian
from pydicom.valuerep import EXPLICIT_VR_LENGTH_32

from deidengine.dicom.elements import walk_elements
from deidengine.standard.dictionary import PIXEL_DATA

__all__ = ["encode_file", "write_file"]

PREAMBLE: Final = b"\x00" * 128
#: Explicit VRs whose length field has 4 bytes (after 2 reserved ones), PS3.5 Table 7.1-1.
LONG_LENGTH_VRS: Final = frozenset(str(vr) for vr in EXPLICIT_VR_LENGTH_32)
UNDEFINED_LENGTH: Final = 0xFFFFFFFF
MEDIA_STORAGE_UIDS: Final = (
    ("MediaStorageSOPClassUID", "SOPClassUID"),
    ("MediaStorageSOPInstanceUID", "SOPInstanceUID"),
)
#: File Meta elements :func:`_meta_bytes` encodes itself: tag → (VR, padding byte). Any other
#: element, or a value that is not one plain string, sends the meta to pydicom's writer.
META_TEXT: Final = {
    0x00020002: (b"UI", b"\x00"),
    0x00020003: (b"UI", b"\x00"),
    0x00020010: (b"UI", b"\x00"),
    0x00020012: (b"UI", b"\x00"),
    0x00020013: (b"SH", b" "),
    0x00020016: (b"AE", b" "),
}
META_GROUP_LENGTH: Final = 0x00020000
META_VERSION: Final = 0x00020001
META_REQUIRED: Final = frozenset({0x00020002, 0x00020003, 0x00020010, 0x00020012, 0x00020013})
FILE_META_VERSION: Final = b"\x00\x01"
_SHORT_LE: Final = struct.Struct("<HH2sH")
_LONG_LE: Final = struct.Struct("<HH2sHL")
_UNSET: Final = object()
ITEM: Final = 0xFFFEE000
ITEM_DELIMITER: Final = 0xFFFEE00D
SEQUENCE_DELIMITER: Final = 0xFFFEE0DD


class _Layout:
    """The struct formats of one transfer syntax's element headers."""

    __slots__ = ("encoding", "implicit", "little", "long_header", "short_header", "tag_length")

    def __init__(self, implicit: bool, little: bool) -> None:
        order = "<" if little else ">"
        self.implicit = implicit
        self.little = little
        self.encoding = (implicit, little)
        self.tag_length = struct.Struct(order + "HHL")  # tag, then a 4-byte length (or item)
        self.short_header = struct.Struct(order + "HH2sH")  # tag, VR, 2-byte length
        self.long_header = struct.Struct(order + "HH2sHL")  # tag, VR, reserved, 4-byte length


def _raw_header(layout: _Layout, tag: int, vr: str | None, length: int) -> bytes | None:
    """The header of a raw element, or ``None`` when pydicom must write the element."""
    if layout.implicit:
        return layout.tag_length.pack(tag >> 16, tag & 0xFFFF, length)
    if vr is None or len(vr) != 2:
        return None
    if vr in LONG_LENGTH_VRS:
        return layout.long_header.pack(tag >> 16, tag & 0xFFFF, vr.encode(), 0, length)
    if length > 0xFFFF:
        return None  # pydicom rewrites the VR as UN, with a warning
    return layout.short_header.pack(tag >> 16, tag & 0xFFFF, vr.encode(), length)


def _reads_as_written(dataset: Dataset, layout: _Layout) -> bool:
    """Raw values can be copied: the dataset is written in the encoding and character set it
    was read in (otherwise pydicom converts and re-encodes every element)."""
    # A dataset built in memory was read in no encoding, (None, None): pydicom decides it.
    if dataset.original_encoding != layout.encoding:
        return False
    return bool(dataset.original_character_set == dataset._character_set)


def _python_encodings(encodings: object) -> list[str]:
    """``convert_encodings`` of a Specific Character Set value, once per distinct value."""
    if isinstance(encodings, str):
        return list(_converted_encodings((encodings,), single=True))
    values: tuple[str, ...] = tuple(encodings or ())  # type: ignore[arg-type]
    return list(_converted_encodings(values, single=False))


@lru_cache(maxsize=64)
def _converted_encodings(encodings: tuple[str, ...], single: bool) -> tuple[str, ...]:
    value: str | list[str] = encodings[0] if single else list(encodings)
    return tuple(convert_encodings(value or [default_encoding]))


def _write_sequence(out: DicomIO, element: DataElement, layout: _Layout, encodings: object) -> None:
    """A sequence element, laid out as pydicom's writer lays it out."""
    encodings = _python_encodings(encodings)
    body = DicomBytesIO()
    body.is_implicit_VR, body.is_little_endian = layout.implicit, layout.little
    for item in element.value or ():
        start = body.tell()
        body.write(layout.tag_length.pack(ITEM >> 16, ITEM & 0xFFFF, UNDEFINED_LENGTH))
        _write_dataset(body, item, layout, encodings)
        if getattr(item, "is_undefined_length_sequence_item", False):
            body.write(layout.tag_length.pack(ITEM_DELIMITER >> 16, ITEM_DELIMITER & 0xFFFF, 0))
        else:
            end = body.tell()
            body.seek(start + 4)
            body.write(struct.pack("<L" if layout.little else ">L", end - start - 8))
            body.seek(end)
    value = body.getvalue()
    undefined = element.is_undefined_length
    tag = int(element.tag)
    length = UNDEFINED_LENGTH if undefined else len(value)
    if layout.implicit:
        out.write(layout.tag_length.pack(tag >> 16, tag & 0xFFFF, length))
    else:
        out.write(layout.long_header.pack(tag >> 16, tag & 0xFFFF, b"SQ", 0, length))
    out.write(value)
    if undefined:
        out.write(layout.tag_length.pack(SEQUENCE_DELIMITER >> 16, SEQUENCE_DELIMITER & 0xFFFF, 0))


def _write_dataset(out: DicomIO, dataset: Dataset, layout: _Layout, parent: object) -> None:
    if not _reads_as_written(dataset, layout):
        write_dataset(out, dataset, parent_encoding=parent)  # type: ignore[arg-type]
        return
    # The character set matters only to elements pydicom encodes: looked up when one comes.
    encodings: object = _UNSET
    for tag, element in walk_elements(dataset):
        if tag & 0xFFFF == 0 and tag >> 16 > 6:
            continue  # pydicom drops retired group lengths
        if isinstance(element, RawDataElement):
            if (element.is_implicit_VR, element.is_little_endian) != layout.encoding:
                # Read in another encoding than the dataset claims (an "explicit VR" file
                # that is implicit): converted, it is encoded anew for this one.
                element = dataset[tag]
            else:
                value = element.value
                if value is not None and element.length != UNDEFINED_LENGTH:
                    header = _raw_header(layout, tag, element.VR, len(value))
                    if header is not None:
                        out.write(header)
                        out.write(value)
                        continue
                element = dataset.get_item(tag)  # pydicom's writer, raw (a deferred value read)
        if encodings is _UNSET:
            encodings = dataset.get("SpecificCharacterSet", parent)
        if element.VR == "SQ" and not isinstance(element, RawDataElement):
            _write_sequence(out, element, layout, encodings)
        else:
            write_data_element(out, element, encodings)  # type: ignore[arg-type]


def _meta_bytes(meta: Dataset, dataset: Dataset) -> bytes | None:
    """The File Meta Information group as ``write_file_meta_info`` writes it, Media Storage
    UIDs taken from ``dataset`` as ``dcmwrite`` takes them; ``None`` when the group holds
    anything but the plain text elements of :data:`META_TEXT` and the version (pydicom then
    writes it, filling in what is missing). Each output's meta is the pipeline's own five
    elements: pydicom's writer would copy and re-validate them, costing more than the rest
    of the group's bytes."""
    texts: dict[int, str] = {}
    version = FILE_META_VERSION
    for meta_tag, element in meta._dict.items():
        if isinstance(element, RawDataElement):
            return None
        value = element.value
        tag = int(meta_tag)
        if tag == META_VERSION and isinstance(value, bytes) and value:
            version = value
        elif tag in META_TEXT and type(value) in (str, UID) and value and value.isascii():
            texts[tag] = str(value)
        elif tag != META_GROUP_LENGTH:
            return None
    for storage_tag, keyword in ((0x00020002, "SOPClassUID"), (0x00020003, "SOPInstanceUID")):
        own = dataset.get(keyword, None)
        if own and (type(own) not in (str, UID) or not own.isascii()):
            return None
        if own and own != texts.get(storage_tag):
            texts[storage_tag] = str(own)
    if not META_REQUIRED.issubset(texts):
        return None
    body = [_LONG_LE.pack(0x0002, 0x0001, b"OB", 0, len(version) + len(version) % 2)]
    body.append(version + b"\x00" * (len(version) % 2))
    for tag in sorted(texts):
        vr, padding = META_TEXT[tag]
        value = texts[tag].encode("ascii")
        if len(value) % 2:
            value += padding
        body.append(_SHORT_LE.pack(0x0002, tag & 0xFFFF, vr, len(value)))
        body.append(value)
    encoded = b"".join(body)
    return _SHORT_LE.pack(0x0002, 0x0000, b"UL", 4) + struct.pack("<L", len(encoded)) + encoded


def write_file(dataset: Dataset, stream: BinaryIO) -> None:
    """Write ``dataset`` with its File Meta Information to ``stream`` as a DICOM file (Part 10:
    preamble, ``DICM``, meta, dataset), byte for byte what ``dcmwrite`` with
    ``enforce_file_format`` writes. ``dataset.file_meta`` must be complete (the pipeline builds
    it whole). Values go to ``stream`` as they are: a large Pixel Data is not copied."""
    meta = dataset.file_meta
    syntax = UID(str(meta.get("TransferSyntaxUID", "")))
    if syntax == DeflatedExplicitVRLittleEndian or not syntax.is_transfer_syntax:
        dcmwrite(stream, dataset, enforce_file_format=True)
        return
    implicit, little = syntax.is_implicit_VR, syntax.is_little_endian
    pixels = dataset._dict.get(BaseTag(PIXEL_DATA))
    if not syntax.is_private and pixels is not None and not isinstance(pixels, RawDataElement):
        pixels.is_undefined_length = syntax.is_compressed  # as dcmwrite sets it
    out = DicomFileLike(stream)
    out.is_implicit_VR, out.is_little_endian = False, True
    out.write(getattr(dataset, "preamble", None) or PREAMBLE)
    out.write(b"DICM")
    encoded_meta = _meta_bytes(meta, dataset)
    if encoded_meta is not None:
        out.write(encoded_meta)
    else:
        # dcmwrite writes a copy: the group length it adds is not the caller's, nor the Media
        # Storage UIDs it takes from the dataset when they differ.
        meta = copy.deepcopy(meta)
        for meta_keyword, keyword in MEDIA_STORAGE_UIDS:
            value = dataset.get(keyword, None)
            if meta.get(meta_keyword, None) is None or (value and value != meta.get(meta_keyword)):
                setattr(meta, meta_keyword, value)
        write_file_meta_info(out, meta, enforce_standard=True)
    out.is_implicit_VR, out.is_little_endian = implicit, little
    _write_dataset(out, dataset, _Layout(implicit, little), default_encoding)


def encode_file(dataset: Dataset) -> bytes:
    """:func:`write_file`'s bytes, in memory."""
    stream = io.BytesIO()
    write_file(dataset, stream)
    return stream.getvalue()
