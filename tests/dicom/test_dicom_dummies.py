"""Dummy values are valid for their VR, written and read back by pydicom."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import pytest
from pydicom import config, dcmread
from pydicom._dicom_dict import DicomDictionary
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian
from pydicom.valuerep import VR, validate_value

from deidengine.dicom.dummies import (
    DUMMY_TEXT,
    NoDummyValueError,
    dummy_value,
    minimum_multiplicity,
)
from deidengine.dicom.vr import CODE_STRING_CHARACTERS, MAXIMUM_LENGTH
from deidengine.standard.dictionary import PIXEL_DATA

AMBIGUOUS_VRS = {VR.US_SS_OW, VR.US_SS, VR.US_OW, VR.OB_OW}
SPECIFIC_CHARACTER_SET = 0x00080005
CONCRETE_VRS = [vr.value for vr in VR if vr not in AMBIGUOUS_VRS and vr is not VR.SQ]


def round_trip(dataset: Dataset) -> Dataset:
    dataset.file_meta = FileMetaDataset()
    dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    buffer = BytesIO()
    with config.strict_reading():
        dataset.save_as(buffer, enforce_file_format=False)
        buffer.seek(0)
        return dcmread(buffer, force=True)


def test_expected_values() -> None:
    assert dummy_value("PN") == "ANONYMOUS"
    assert dummy_value("LO") == "ANONYMOUS"
    assert dummy_value("CS") == "ANONYMOUS"
    assert dummy_value("DA") == "19000101"
    assert dummy_value("TM") == "000000"
    assert dummy_value("DT") == "19000101000000"
    assert dummy_value("AS") == "000Y"
    assert dummy_value("UI") == "2.25.0"
    assert dummy_value("IS") == "0"
    assert dummy_value("DS") == "0"
    assert dummy_value("US") == 0
    assert dummy_value("FD") == 0.0
    assert dummy_value("OB") == b"\x00\x00"
    assert dummy_value("UR") == "urn:uuid:00000000-0000-0000-0000-000000000000"


def test_same_every_time_and_lists_are_fresh() -> None:
    first, second = dummy_value("DS", "3"), dummy_value("DS", "3")
    assert first == second == ["0", "0", "0"]
    assert first is not second


@pytest.mark.parametrize(
    ("vm", "count"), [("1", 1), ("3", 3), ("1-n", 1), ("2-2n", 2), ("6", 6), ("0", 1), ("", 1)]
)
def test_minimum_multiplicity(vm: str, count: int) -> None:
    assert minimum_multiplicity(vm) == count


def test_bytes_vrs_are_one_value_whatever_the_vm() -> None:
    assert dummy_value("OB", "1-n") == b"\x00\x00"


def test_sq_has_no_dummy() -> None:
    with pytest.raises(NoDummyValueError):
        dummy_value("SQ")
    with pytest.raises(NoDummyValueError):
        dummy_value("XX")


def test_dummy_text_is_valid_in_every_text_vr() -> None:
    assert CODE_STRING_CHARACTERS.fullmatch(DUMMY_TEXT)
    assert len(DUMMY_TEXT) <= min(MAXIMUM_LENGTH[vr] for vr in ("AE", "CS", "SH", "LO"))


@pytest.mark.parametrize("vr", CONCRETE_VRS)
def test_valid_for_every_vr_and_survives_a_round_trip(vr: str) -> None:
    value = dummy_value(vr)
    validate_value(vr, value, config.RAISE)
    dataset = Dataset()
    block = dataset.private_block(0x0009, "DEIDENGINE TEST", create=True)
    block.add_new(0x10, vr, value)
    read = round_trip(dataset)
    element = read[0x0009, 0x1010]
    read_vr = element.VR
    assert read_vr == vr
    assert element.value == value


def test_valid_for_every_attribute_of_the_dictionary() -> None:
    dataset = Dataset()
    for tag, (vr, vm, *_rest) in DicomDictionary.items():
        if vr == "SQ" or " or " in vr or tag >> 16 in (0x0000, 0x0002, 0xFFFE):
            continue
        if tag in (SPECIFIC_CHARACTER_SET, PIXEL_DATA):
            # A dummy character set would be read as an encoding name; no policy dummies it.
            continue
        value: Any = dummy_value(vr, vm)
        values = value if isinstance(value, list) else [value]
        for single in values:
            validate_value(vr, single, config.RAISE)
        dataset.add_new(tag, vr, value)
    read = round_trip(dataset)
    assert len(read) == len(dataset)
    for element in dataset:
        assert read[element.tag].value == element.value
