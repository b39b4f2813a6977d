"""read_written: an encoded output read back, or the precise reason it is not the file to write."""

from __future__ import annotations

import struct

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import UID

from deidengine.dicom.encode import encode_file
from deidengine.verify.table_view import META, TOP, TableView, table_of_dataset
from deidengine.verify.written import (
    OpaquePayloadError,
    UnreadableOutputError,
    read_written,
    set_aside_envelopes,
)
from tests.pydicom_files import bundled_test_files

EXPLICIT_LE = "1.2.840.10008.1.2.1"


def _encoded(name: str = "MR_small.dcm") -> tuple[bytes, str]:
    (path,) = bundled_test_files(name)
    dataset = pydicom.dcmread(path)
    dataset.preamble = None
    return encode_file(dataset), str(dataset.file_meta.TransferSyntaxUID)


def _detail(data: bytes, syntax: str) -> str:
    with pytest.raises(UnreadableOutputError) as raised:
        read_written(data, syntax)
    return raised.value.detail


@pytest.mark.parametrize(
    "name", ["MR_small.dcm", "image_dfl.dcm", "SC_rgb_rle.dcm", "examples_overlay.dcm"]
)
def test_encoded_bytes_read_back_with_their_values(name: str) -> None:
    # The read-back is the lean reader's table (no pydicom Dataset): its values, decoded on
    # demand, are pydicom's for the same bytes.
    data, syntax = _encoded(name)
    (path,) = bundled_test_files(name)
    expected = pydicom.dcmread(path)
    output = read_written(data, syntax)
    sop_instance = output.get(TOP, 0x00080018)
    assert sop_instance is not None
    assert output.value(sop_instance) == expected.SOPInstanceUID
    pixels = output.get(TOP, 0x7FE00010)
    assert pixels is not None
    assert output.table.value(pixels) == expected.PixelData
    assert output.get(META, 0x00020010) is not None


def test_a_preamble_that_holds_data_is_refused() -> None:
    data, syntax = _encoded()
    assert _detail(b"II*\x00" + data[4:], syntax) == "the preamble is not zeroed"


def test_bytes_without_the_prefix_are_refused() -> None:
    data, syntax = _encoded()
    assert _detail(data[132:], syntax) == "no DICM prefix after a 128-byte preamble"


def test_another_transfer_syntax_than_meant_is_refused() -> None:
    data, _ = _encoded()
    detail = _detail(data, "1.2.840.10008.1.2")
    assert detail == "the File Meta Information names another transfer syntax"


def test_a_meta_that_names_another_instance_is_refused() -> None:
    (path,) = bundled_test_files("MR_small.dcm")
    dataset = pydicom.dcmread(path)
    dataset.preamble = None
    meta_uid = str(dataset.file_meta.MediaStorageSOPInstanceUID)
    data = encode_file(dataset)
    other = meta_uid[:-1] + ("1" if meta_uid[-1] != "1" else "2")
    data = data.replace(meta_uid.encode(), other.encode(), 1)  # the meta comes first
    assert _detail(data, EXPLICIT_LE) == (
        "the File Meta Information's MediaStorageSOPInstanceUID differs from (0008,0018)"
    )


def test_a_length_that_runs_past_the_end_names_the_lean_readers_code() -> None:
    data, syntax = _encoded()
    assert _detail(data[:-7], syntax).startswith("the lean reader: [truncated] ")


def test_a_sequence_without_its_delimiter_is_refused() -> None:
    dataset = Dataset()
    dataset.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    dataset.SOPInstanceUID = "2.25.1"
    item = Dataset()
    item.CodeValue = "1"
    dataset.add_new(0x00081032, "SQ", Sequence([item]))
    dataset.file_meta = pydicom.dataset.FileMetaDataset()
    dataset.file_meta.TransferSyntaxUID = UID(EXPLICIT_LE)
    dataset.file_meta.MediaStorageSOPClassUID = dataset.SOPClassUID
    dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    dataset[0x00081032].is_undefined_length = True
    data = encode_file(dataset)
    delimiter = struct.pack("<HHL", 0xFFFE, 0xE0DD, 0)
    assert data.endswith(delimiter)
    detail = _detail(data[: -len(delimiter)], EXPLICIT_LE)
    assert detail.startswith("the lean reader: [undefined-length-without-delimiter] ")


def _with_envelopes(*items: Dataset) -> TableView:
    dataset = Dataset()
    dataset.EncryptedAttributesSequence = Sequence(list(items))
    after = Dataset()
    after.PatientName = "AFTER^THE^ENVELOPES"
    dataset.OriginalAttributesSequence = Sequence([after])  # (0400,0561): rows renumbered
    return TableView.of(table_of_dataset(dataset))


def _envelope(**extra: str) -> Dataset:
    item = Dataset()
    item.EncryptedContentTransferSyntaxUID = EXPLICIT_LE
    item.add_new(0x04000520, "OB", b"\x30\x80ciphertext")
    for keyword, value in extra.items():
        setattr(item, keyword, value)
    return item


def _texts(view: TableView) -> list[tuple[object, int, str]]:
    return [(path, tag, view.text(index)) for path, _, index, tag, vr in view.walk() if vr != "SQ"]


def test_the_envelopes_the_engine_added_are_set_aside() -> None:
    brought = Dataset()
    brought.PatientID = "kept by the policy, checked as any element"
    dataset = _with_envelopes(brought, _envelope())
    kept = set_aside_envelopes(dataset, 1)
    after = (((0x04000561, 0),), 0x00100010, "AFTER^THE^ENVELOPES")
    assert _texts(kept) == [
        (((0x04000500, 0),), 0x00100020, "kept by the policy, checked as any element"),
        after,
    ]
    only = set_aside_envelopes(_with_envelopes(_envelope()), 1)
    assert only.get(TOP, 0x04000500) is None
    assert _texts(only) == [after]
    assert set_aside_envelopes(dataset, 0) is dataset


def test_clear_text_beside_an_envelope_is_found() -> None:
    dataset = _with_envelopes(_envelope(), _envelope(PatientName="QUIRINUS^HELOISE"))
    with pytest.raises(OpaquePayloadError) as raised:
        set_aside_envelopes(dataset, 2)
    assert raised.value.location == "(0400,0500)[1].(0010,0010)"


def test_missing_envelopes_are_refused() -> None:
    with pytest.raises(UnreadableOutputError):
        set_aside_envelopes(TableView.of(table_of_dataset(Dataset())), 1)
    with pytest.raises(UnreadableOutputError):
        set_aside_envelopes(_with_envelopes(_envelope()), 2)
