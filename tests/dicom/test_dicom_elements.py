"""Reading elements without converting them agrees with pydicom's conversion, on real files."""

from __future__ import annotations

import warnings
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_charset_files, get_testdata_file
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset

from deidengine.dicom.elements import (
    character_set,
    element_text,
    known_vr,
    raw_text,
    walk_tree,
)
from deidengine.dicom.identifiers import collect_identifying_values
from tests.pydicom_files import bundled_charset_files, bundled_test_files


def _readable() -> list[str]:
    found = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in bundled_test_files() + bundled_charset_files():
            try:
                dataset = pydicom.dcmread(path)
                list(walk_tree(dataset))
            except Exception:
                continue
            found.append(path)
    return found


READABLE = _readable()


def _unpadded(text: str) -> str:
    return "\\".join(part.rstrip(" \x00") for part in text.split("\\"))


def _raw_elements(dataset: Dataset) -> list[tuple[Dataset, int, RawDataElement]]:
    """Every element still raw at any depth, with the dataset holding it."""
    return [
        (holder, tag, element)
        for _, holder, tag, _, element in walk_tree(dataset)
        if isinstance(element, RawDataElement)
    ]


def test_the_corpus_is_large() -> None:
    assert len(READABLE) >= 85


@pytest.mark.parametrize("path", READABLE, ids=lambda p: Path(p).name)
def test_raw_reads_agree_with_conversion(path: str) -> None:
    """For every raw element of the file: the VR known without converting is the VR pydicom
    converts it to, and the text read from the bytes is the converted value's text."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = pydicom.dcmread(path)
        checked = 0
        for holder, tag, raw in _raw_elements(dataset):
            vr = known_vr(raw)
            text = None if vr is None else raw_text(raw, vr, character_set(holder))
            converted = holder[tag]
            if vr is not None:
                assert vr == converted.VR, f"{tag:08X}"
            if text is not None and converted.VR not in ("OB", "OW", "UN", "OD", "OF", "OL", "OV"):
                assert _unpadded(text) == _unpadded(element_text(converted.value)), f"{tag:08X}"
                checked += 1
        if Path(path).name == "CT_small.dcm":
            assert checked >= 30


@pytest.mark.parametrize(
    ("name", "read_raw"),
    [
        ("chrGreek.dcm", True),
        ("chrRuss.dcm", True),
        ("chrX1.dcm", True),
        ("chrJapMulti.dcm", False),
    ],
)
def test_a_name_is_read_raw_in_a_single_codec_only(name: str, read_raw: bool) -> None:
    (path,) = get_charset_files(name)
    dataset = pydicom.dcmread(path)
    raw = dataset.get_item(0x00100010)
    assert isinstance(raw, RawDataElement)
    text = raw_text(raw, "PN", character_set(dataset))
    if read_raw:
        assert text is not None and _unpadded(text) == str(dataset.PatientName)
    else:
        assert text is None  # a codec switch (ISO 2022): pydicom converts it


def test_known_vr_asks_pydicom_when_the_file_does_not_say() -> None:
    implicit = pydicom.dcmread(get_testdata_file("rtplan.dcm"))  # implicit VR little endian
    raw = implicit.get_item(0x00100010)
    assert isinstance(raw, RawDataElement) and raw.VR is None
    assert known_vr(raw) == "PN"  # the dictionary's VR
    private = RawDataElement(pydicom.tag.Tag(0x00091001), None, 2, b"ab", 0, True, True)
    assert known_vr(private) is None  # a private element: only conversion can say
    unknown = RawDataElement(pydicom.tag.Tag(0x00280106), None, 2, b"\x00\x00", 0, True, True)
    assert known_vr(unknown) is None  # "US or SS": the Pixel Representation decides


@pytest.mark.parametrize("path", READABLE, ids=lambda p: Path(p).name)
def test_the_deny_list_is_the_same_read_raw_or_converted(path: str) -> None:
    """The identifier walk reads plain text raw; converting every element first (the old way)
    must give the very same deny-list."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = collect_identifying_values(pydicom.dcmread(path))
        converted = pydicom.dcmread(path)
        for _ in converted.iterall():
            pass
        assert collect_identifying_values(converted) == raw
