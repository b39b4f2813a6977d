"""encode_file writes what pydicom's dcmwrite writes, byte for byte; elements stay raw."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset

from deidengine.dicom.apply import EngineContext, apply_plan
from deidengine.dicom.elements import (
    ascii_value_bytes,
    copy_as_read,
    walk_tree,
)
from deidengine.dicom.encode import _meta_bytes, encode_file
from deidengine.dicom.identifiers import collect_identifying_values
from deidengine.dicom.keys import ProjectSecret
from deidengine.policy import load_plan
from deidengine.run.pipeline import _new_file_meta
from deidengine.text.header import clean_header_text
from tests.pydicom_files import bundled_test_files


def _reference(dataset: Dataset) -> bytes | None:
    out = io.BytesIO()
    try:
        pydicom.dcmwrite(out, dataset, enforce_file_format=True)
    except Exception:
        return None
    return out.getvalue()


def _writable() -> list[str]:
    found = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in bundled_test_files():
            try:
                if _reference(pydicom.dcmread(path)) is not None:
                    found.append(path)
            except Exception:
                continue
    return found


WRITABLE = _writable()


def test_the_corpus_is_large() -> None:
    assert len(WRITABLE) >= 60


@pytest.mark.parametrize("path", WRITABLE, ids=lambda p: Path(p).name)
def test_as_read_the_bytes_are_dcmwrites(path: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = _reference(pydicom.dcmread(path))
        assert encode_file(pydicom.dcmread(path)) == expected


@pytest.mark.parametrize("path", WRITABLE, ids=lambda p: Path(p).name)
def test_with_its_meta_converted_the_bytes_are_dcmwrites(path: str) -> None:
    # Converted meta elements take the writer's own File Meta encoding when they can.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        converted = []
        for _ in range(2):
            dataset = pydicom.dcmread(path)
            for element in dataset.file_meta:
                assert not isinstance(element, RawDataElement)
            converted.append(dataset)
        assert encode_file(converted[0]) == _reference(converted[1])


@pytest.mark.parametrize(
    ("instance", "version_name"),
    [("1.2.3.44", "DEID_1"), ("1.2.3.4", "ODD"), ("1.2.840.5", "X")],
)
def test_the_pipelines_meta_is_encoded_by_the_writer_itself(
    instance: str, version_name: str
) -> None:
    path = get_testdata_file("CT_small.dcm")
    assert isinstance(path, str)
    dataset = pydicom.dcmread(path)
    dataset.SOPInstanceUID = instance  # the meta follows the dataset's UID, as dcmwrite's does
    dataset.file_meta = _new_file_meta(dataset, str(dataset.file_meta.TransferSyntaxUID))
    dataset.file_meta.MediaStorageSOPInstanceUID = "1.2.999"
    dataset.file_meta.ImplementationVersionName = version_name
    meta = _meta_bytes(dataset.file_meta, dataset)
    assert meta is not None
    assert encode_file(dataset) == _reference(dataset)
    assert instance.encode() in meta and b"1.2.999" not in meta


def test_meta_the_writer_cannot_encode_goes_to_pydicom() -> None:
    path = get_testdata_file("CT_small.dcm")
    assert isinstance(path, str)
    dataset = pydicom.dcmread(path)
    dataset.file_meta = _new_file_meta(dataset, str(dataset.file_meta.TransferSyntaxUID))
    dataset.file_meta.PrivateInformationCreatorUID = "1.2.3"
    assert _meta_bytes(dataset.file_meta, dataset) is None
    assert encode_file(dataset) == _reference(dataset)


HEADER_FILES = ("CT_small.dcm", "MR_small.dcm", "test-SR.dcm", "rtplan.dcm", "JPEG2000.dcm")


@pytest.mark.parametrize("policy", ["annex-e/basic", "hipaa-safe-harbor"])
@pytest.mark.parametrize("name", HEADER_FILES)
def test_after_the_header_stage_the_bytes_are_dcmwrites(name: str, policy: str) -> None:
    path = get_testdata_file(name)
    assert isinstance(path, str)
    plan = load_plan(policy, runnable=True)
    context = EngineContext(
        plan=plan, secret=ProjectSecret(b"k" * 32), text_cleaner=clean_header_text
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = pydicom.dcmread(path)
        pixels_before = pydicom.dcmread(path).get_item(0x7FE00010)
        apply_plan(dataset, context, collect_identifying_values(dataset))
        syntax = str(dataset.file_meta.TransferSyntaxUID)
        dataset.file_meta = _new_file_meta(dataset, syntax)
        written = encode_file(dataset)
        # Untouched pixels are the input's bytes, never decoded or re-encoded.
        if pixels_before is not None:
            assert isinstance(dataset.get_item(0x7FE00010), RawDataElement)
            assert pydicom.dcmread(io.BytesIO(written)).PixelData == pixels_before.value
        assert written == _reference(dataset)  # (dcmwrite converts the pixel element)


def test_a_replaced_ascii_value_stays_raw_and_reads_back() -> None:
    path = get_testdata_file("CT_small.dcm")
    assert isinstance(path, str)
    plan = load_plan("annex-e/basic", runnable=True)
    dataset = pydicom.dcmread(path)
    apply_plan(
        dataset,
        EngineContext(plan=plan, secret=ProjectSecret(b"k" * 32), text_cleaner=clean_header_text),
        collect_identifying_values(dataset),
    )
    sop = dataset.get_item(0x00080018)
    assert isinstance(sop, RawDataElement)
    assert sop.value.startswith(b"2.25.") and len(sop.value) % 2 == 0
    assert str(dataset.SOPInstanceUID) == sop.value.rstrip(b"\x00").decode()


@pytest.mark.parametrize(
    ("vr", "value", "expected"),
    [
        ("UI", "1.2.3", b"1.2.3\x00"),
        ("DA", "20200101", b"20200101"),
        ("LO", "ANON", b"ANON"),
        ("PN", "A^B", b"A^B "),
        ("SH", ["A", "BC"], b"A\\BC"),
        ("LO", None, b""),
        ("LO", "Zoë", None),  # not ASCII: pydicom encodes it in the character set
        ("DS", "1.5", None),  # numbers are pydicom's to format
        ("US", 3, None),
    ],
)
def test_ascii_value_bytes(vr: str, value: object, expected: bytes | None) -> None:
    assert ascii_value_bytes(vr, value) == expected


def _recursive(dataset: Dataset, path: tuple[tuple[int, int], ...] = ()) -> list[object]:
    found: list[object] = []
    for tag in sorted(dataset._dict):
        element = dataset[tag]
        found.append((path, int(tag)))
        if element.VR == "SQ":
            for index, item in enumerate(element.value):
                found.extend(_recursive(item, (*path, (int(tag), index))))
    return found


@pytest.mark.parametrize("name", HEADER_FILES)
def test_walk_tree_visits_what_a_recursive_walk_visits(name: str) -> None:
    path = get_testdata_file(name)
    assert isinstance(path, str)
    walked = [(where, tag) for where, _, tag, _, _ in walk_tree(pydicom.dcmread(path))]
    assert walked == _recursive(pydicom.dcmread(path))


def test_copy_as_read_is_untouched_by_edits_of_the_original() -> None:
    path = get_testdata_file("test-SR.dcm")
    assert isinstance(path, str)
    dataset = pydicom.dcmread(path)
    collect_identifying_values(dataset)  # parses every sequence, as the pipeline does
    copy = copy_as_read(dataset)
    plan = load_plan("annex-e/basic", runnable=True)
    apply_plan(
        dataset,
        EngineContext(plan=plan, secret=ProjectSecret(b"k" * 32), text_cleaner=clean_header_text),
        collect_identifying_values(copy),
    )
    fresh = pydicom.dcmread(path)
    assert copy == fresh
    assert dataset != fresh
