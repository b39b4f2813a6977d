"""TableView lays out data sets written out of tag order, with repeated tags, their runs of rows
broken by sequence items, as pydicom reads the same bytes: each data set in tag order, the last
row of a repeated tag standing."""

from __future__ import annotations

import io
import struct

import pydicom
from pydicom.dataset import FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_file_meta_info
from pydicom.uid import UID, ExplicitVRLittleEndian

from deidengine.core.reader import read
from deidengine.dicom.elements import value_text, walk_tree
from deidengine.verify.table_view import META, TOP, TableView


def _element(tag: int, vr: str, value: bytes) -> bytes:
    return struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr.encode(), len(value)) + value


def _sequence(tag: int, *items: bytes) -> bytes:
    body = b"".join(
        struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF)
        + item
        + struct.pack("<HHI", 0xFFFE, 0xE00D, 0)
        for item in items
    )
    header = struct.pack("<HH2sHI", tag >> 16, tag & 0xFFFF, b"SQ", 0, 0xFFFFFFFF)
    return header + body + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)


def _file() -> bytes:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID("1.2.840.10008.5.1.4.1.1.7")
    meta.MediaStorageSOPInstanceUID = UID("1.2.3.4")
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    out = DicomBytesIO()
    out.is_little_endian, out.is_implicit_VR = True, False
    write_file_meta_info(out, meta)
    item = (
        _element(0x00081155, "UI", b"1.2.3.5\x00")
        + _element(0x00081150, "UI", b"1.2.3\x00")
        + _element(0x00081155, "UI", b"1.2.3.6\x00")  # repeated: this one stands
    )
    other = _element(0x00080100, "SH", b"B ") + _element(0x00080100, "SH", b"A ")
    # Each run of the top level's rows is in order; the data set is not, across runs.
    data = (
        _element(0x00080020, "DA", b"20200101")
        + _sequence(0x00081140, item, other)
        + _element(0x00080090, "PN", b"REFERRING")
        + _element(0x00100010, "PN", b"FIRST^NAME")
        + _sequence(0x00101002, other)
        + _element(0x00100010, "PN", b"LAST^NAME ")  # repeated: this one stands
        + _element(0x00100020, "LO", b"ID")
    )
    return b"\x00" * 128 + b"DICM" + out.getvalue() + data


def test_out_of_order_and_repeated_tags_read_as_pydicom_reads_them() -> None:
    data = _file()
    view = TableView.of(read(data))
    dataset = pydicom.dcmread(io.BytesIO(data))
    expected = [
        (path, tag, vr, None if vr == "SQ" else value_text(holder, tag, element, vr, None))
        for path, holder, tag, vr, element in walk_tree(dataset)
    ]
    walked = [
        (path, tag, vr, None if vr == "SQ" else view.text(index))
        for path, _, index, tag, vr in view.walk()
    ]
    assert walked == expected
    assert list(view.elements(TOP)) == [
        0x00080020,
        0x00080090,
        0x00081140,
        0x00100010,
        0x00100020,
        0x00101002,
    ]
    assert list(view.elements(META)) == sorted(view.elements(META))
    name = view.get(TOP, 0x00100010)
    assert name is not None and view.text(name) == "LAST^NAME"
