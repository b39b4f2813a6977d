"""The one reader: every file the engine reads goes through dicom.reading.read_dataset."""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

import pydicom
import pytest
from pydicom.errors import InvalidDicomError

import deidengine
from deidengine.dicom import reading
from deidengine.dicom.limits import InputLimits, LimitExceeded
from deidengine.dicom.reading import dataset_from_bytes, read_dataset
from tests.pydicom_files import DATA, bundled_charset_files, bundled_test_files

PACKAGE = Path(deidengine.__file__).parent
READERS = frozenset({"dcmread", "read_file", "read_partial"})
"""pydicom's functions that parse a whole data set from a file."""


def direct_reads(path: Path) -> list[str]:
    """Where the module at ``path`` calls or imports one of pydicom's whole-file readers."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (isinstance(node, ast.Attribute) and node.attr in READERS) or (
            isinstance(node, ast.ImportFrom)
            and (node.module or "").startswith("pydicom")
            and any(alias.name in READERS for alias in node.names)
        ):
            found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    return found


def test_no_module_reads_a_file_but_the_reader() -> None:
    reads = [
        place
        for path in sorted(PACKAGE.rglob("*.py"))
        if path != Path(reading.__file__)
        for place in direct_reads(path)
    ]
    assert reads == []
    assert direct_reads(Path(reading.__file__)) != []  # the check sees a real call


def _same_reading(path: str) -> None:
    try:
        expected = pydicom.dcmread(path)
    except Exception as error:
        with pytest.raises(type(error)):
            read_dataset(path)
        return
    dataset = read_dataset(Path(path))
    assert dataset == expected, path
    assert dataset.file_meta == expected.file_meta, path
    assert dataset.filename == path


def test_the_reading_is_pydicoms_for_every_bundled_file() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns of files it would download
        files = bundled_test_files("*.dcm") + bundled_charset_files()
        assert len(files) >= 90
        for path in files:
            _same_reading(path)


def test_a_large_file_is_read_from_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reading, "WHOLE_READ_LIMIT", 0)
    path = str(DATA / "test_files" / "MR_small.dcm")
    dataset = read_dataset(path)
    assert dataset == pydicom.dcmread(path)
    assert dataset.filename == path


def test_header_only_and_deferred_readings() -> None:
    path = str(DATA / "test_files" / "MR_small.dcm")
    header = read_dataset(path, stop_before_pixels=True)
    assert (
        "PixelData" not in header and header.SOPInstanceUID == pydicom.dcmread(path).SOPInstanceUID
    )
    deferred = read_dataset(path, defer_size=1024)
    assert deferred.PixelData == pydicom.dcmread(path).PixelData


def test_a_bare_data_set_needs_force() -> None:
    path = str(DATA / "test_files" / "no_meta.dcm")
    with pytest.raises(InvalidDicomError):
        read_dataset(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a private tag pydicom cannot name
        assert read_dataset(path, force=True) == pydicom.dcmread(path, force=True)


def test_the_inflation_limit_holds_before_pydicom_inflates() -> None:
    path = str(DATA / "test_files" / "image_dfl.dcm")
    with pytest.raises(LimitExceeded, match=r"inflates beyond 0 MiB \(--max-inflated-mib\)"):
        read_dataset(path, limits=InputLimits(max_inflated_bytes=1))
    assert read_dataset(path, limits=InputLimits()) == pydicom.dcmread(path)


def test_a_buffer_reads_as_its_file() -> None:
    path = DATA / "test_files" / "CT_small.dcm"
    assert dataset_from_bytes(path.read_bytes()) == pydicom.dcmread(path)
    with pytest.raises(InvalidDicomError):
        dataset_from_bytes(b"not a DICOM file")
