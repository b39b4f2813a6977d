"""TableView's memo of converted values (kept across files): a value read from it is the one
pydicom converts from the same bytes, character sets and validation mode, and never one made
under other character sets or another mode."""

from __future__ import annotations

import io

import pytest
from pydicom import config
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

from deidengine.core.reader import read
from deidengine.verify.table_view import _CONVERTED, TOP, TableView

INSTITUTION_NAME = 0x00080080
SOP_CLASS_UID = 0x00080016
#: "Hôpital" in ISO 8859-1: the same bytes read as another text under ISO 8859-5 (Cyrillic).
LATIN_BYTES = "Hôpital".encode("latin-1")


def _view(charset: str, institution: bytes, sop_class: str = "1.2.3") -> TableView:
    dataset = Dataset()
    dataset.SpecificCharacterSet = charset
    dataset.SOPClassUID = sop_class
    dataset.SOPInstanceUID = "1.2.3.4"
    dataset.add_new(INSTITUTION_NAME, "LO", institution)
    dataset.file_meta = FileMetaDataset()
    dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    stream = io.BytesIO()
    dataset.save_as(stream, enforce_file_format=True)
    return TableView.of(read(stream.getvalue()))


def _value(view: TableView, tag: int) -> object:
    index = view.get(TOP, tag)
    assert index is not None
    return view.value(index)


def test_the_same_bytes_under_other_character_sets_read_as_pydicom_reads_them() -> None:
    _CONVERTED.clear()
    latin = _value(_view("ISO_IR 100", LATIN_BYTES), INSTITUTION_NAME)
    cyrillic = _value(_view("ISO_IR 144", LATIN_BYTES), INSTITUTION_NAME)
    assert latin == "Hôpital"
    assert cyrillic == LATIN_BYTES.decode("iso8859_5")
    assert _value(_view("ISO_IR 100", LATIN_BYTES), INSTITUTION_NAME) == "Hôpital"  # a hit


def test_a_value_remembered_in_one_validation_mode_is_converted_anew_in_another() -> None:
    _CONVERTED.clear()
    invalid = "1.2.x3"  # not a UID: pydicom warns when reading it, or raises when told to
    with pytest.warns(UserWarning):
        assert _value(_view("ISO_IR 100", b"A", invalid), SOP_CLASS_UID) == invalid
    saved = config.settings.reading_validation_mode
    config.settings.reading_validation_mode = config.RAISE
    try:
        with pytest.raises(ValueError):
            _value(_view("ISO_IR 100", b"A", invalid), SOP_CLASS_UID)
    finally:
        config.settings.reading_validation_mode = saved
