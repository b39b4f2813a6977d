"""The Dataset built from the lean reader's table against ``dcmread(force=True)``'s.

For every file the lean reader accepts (pydicom's bundled test and character set files, the
PHI corpus, and the engine's own outputs under annex-e/basic), the two datasets must hold the
same thing at every depth: the same raw elements before anything is converted, the same VRs
and converted values after, the same sequence and item framing, File Meta Information,
encoding flags and preamble; and ``dcmwrite`` must write the same bytes from both.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import pydicom
import pytest
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset, FileDataset
from pydicom.filewriter import dcmwrite
from pydicom.tag import BaseTag

from deidengine.core.dataset_view import dataset_of
from deidengine.core.errors import CoreError
from deidengine.core.reader import read
from deidengine.run.pipeline import FileProcessor
from tests.core.mutants import SEEDS, mutants, seed_from
from tests.phi_corpus import write_corpus as write_phi_corpus
from tests.policy_specs import pixels_kept
from tests.pydicom_files import DATA, bundled_charset_files, bundled_test_files
from tests.run.run_fakes import settings_for

MUTANTS = 11_000  # as many as the reader's own differential test reads
FILES = bundled_test_files() + bundled_charset_files("*")
#: The bundled files the lean reader refuses (each with a clean ReadError; the reader's own
#: differential test names why), so there is no table to build a dataset from.
REFUSED = {
    "MR_truncated.dcm",
    "rtplan_truncated.dcm",
    "no_meta.dcm",
    "zipMR.gz",
    "README.txt",
    "FileInfo.txt",
    "crayons.icc",
    "rtplan.dump",
    "rtstruct.dump",
    "test1.json",
    "test_PN.json",
    "SC_rgb_jpeg.dcm",
}
#: What a Dataset carries beside its elements that pydicom's reader sets.
DATASET_STATE = (
    "_read_implicit",
    "_read_little",
    "_read_charset",
    "_parent_encoding",
    "is_undefined_length_sequence_item",
    "seq_item_tell",
    "file_tell",
    "_pixel_rep",
)
FILE_STATE = ("preamble", "_is_implicit_VR", "_is_little_endian", "filename", "fileobj_type")


@pytest.fixture(autouse=True)
def _quiet() -> None:
    warnings.simplefilter("ignore")


def _same_value(mine: Any, theirs: Any) -> bool:
    if isinstance(theirs, float) and math.isnan(theirs):
        return isinstance(mine, float) and math.isnan(mine)
    return type(mine) is type(theirs) and bool(mine == theirs)


def _raw_state(dataset: Dataset) -> dict[int, Any]:
    """Each element as stored before any access: a raw element's fields, or a sequence."""
    state: dict[int, Any] = {}
    for tag, element in dataset._dict.items():
        if isinstance(element, RawDataElement):
            state[int(tag)] = tuple(element)
        else:
            state[int(tag)] = (element.VR, element.file_tell, element.is_undefined_length)
    return state


def _access(dataset: Dataset, tag: int) -> DataElement | str:
    """``dataset[tag]``, or pydicom's error converting it."""
    try:
        return dataset[tag]
    except Exception as error:
        return f"{type(error).__name__}: {error}"


def _compare(mine: Dataset, theirs: Dataset, where: str) -> None:
    assert type(mine) is type(theirs), where
    mine_raw, theirs_raw = _raw_state(mine), _raw_state(theirs)
    assert list(mine_raw) == list(theirs_raw), where  # the same tags, in the same order
    for tag, stored in theirs_raw.items():
        built = mine._dict[BaseTag(tag)]
        raw = isinstance(theirs._dict[BaseTag(tag)], RawDataElement)
        if isinstance(built, DataElement) and built.VR == "SQ" and raw:
            # pydicom parses a defined-length sequence on first access: compared below
            assert stored[1] in ("SQ", "UN", None), (where, f"{tag:08X}")
            continue
        assert mine_raw[tag] == stored, (where, f"{tag:08X}")
    for tag in theirs_raw:
        place = f"{where}({tag:08X})"
        element, expected = _access(mine, tag), _access(theirs, tag)
        if isinstance(expected, str) or isinstance(element, str):
            assert element == expected, place  # pydicom fails to convert it in both
            continue
        assert isinstance(element, DataElement), place
        assert (element.VR, element.file_tell, element.is_undefined_length) == (
            expected.VR,
            expected.file_tell,
            expected.is_undefined_length,
        ), place
        assert element.private_creator == expected.private_creator, place
        if expected.VR != "SQ":
            assert _same_value(element.value, expected.value), place
            continue
        undefined = getattr(element.value, "is_undefined_length", None)
        assert undefined == getattr(expected.value, "is_undefined_length", None), place
        assert len(element.value) == len(expected.value), place
        for number, (item, expected_item) in enumerate(
            zip(element.value, expected.value, strict=True)
        ):
            _compare(item, expected_item, f"{place}[{number}]")
    assert _raw_state(mine) == _raw_state(theirs), where  # what access converted agrees too
    # compared last: pydicom sets the pixel representation while its walk converts sequences
    for name in DATASET_STATE:
        assert getattr(mine, name, None) == getattr(theirs, name, None), (where, name)


def _written(dataset: FileDataset) -> bytes | str:
    """``dcmwrite``'s bytes, or its error where the file lacks what a Part 10 file needs."""
    out = io.BytesIO()
    try:
        dcmwrite(out, dataset, enforce_file_format=True)
    except Exception as error:  # both sides must fail alike
        return f"{type(error).__name__}: {error}"
    return out.getvalue()


def check(data: bytes, defer_size: int | None = None) -> None:
    """``data``'s Dataset from the table is ``dcmread``'s, in every respect listed above."""
    table = read(data)
    try:
        theirs = pydicom.dcmread(io.BytesIO(data), force=True, defer_size=defer_size)
    except Exception as error:  # then building the dataset fails alike
        with pytest.raises(type(error)) as raised:
            dataset_of(table, defer_size=defer_size)
        assert str(raised.value) == str(error)
        return
    mine = dataset_of(table, defer_size=defer_size)
    assert type(mine) is type(theirs)
    for name in FILE_STATE:
        assert getattr(mine, name) == getattr(theirs, name), name
    _compare(mine.file_meta, theirs.file_meta, "meta")
    _compare(mine, theirs, "")
    assert _written(mine) == _written(theirs)


@pytest.mark.parametrize("path", FILES, ids=lambda path: Path(path).name)
def test_bundled_file_builds_the_dataset_dcmread_reads(path: str) -> None:
    data = Path(path).read_bytes()
    if Path(path).name in REFUSED:
        with pytest.raises(CoreError):
            read(data)
        return
    check(data)
    # Values left in the buffer (as the verifier leaves Pixel Data) are read from it alike;
    # the sizes straddle pydicom's two thresholds for an encapsulated value.
    for defer_size in (16, 1024):
        check(data, defer_size)


def test_phi_corpus_builds_the_dataset_dcmread_reads(tmp_path: Path) -> None:
    files = write_phi_corpus(tmp_path)
    assert len(files) >= 4
    for path in files.values():
        check(Path(path).read_bytes())


def test_engine_outputs_build_the_dataset_dcmread_reads(tmp_path: Path) -> None:
    # Pixels kept unread: pydicom's US, SC and OT images are otherwise quarantined.
    settings = replace(settings_for(tmp_path), policy_spec=pixels_kept("annex-e/basic"))
    processor = FileProcessor(settings)
    inputs = [path for path in bundled_test_files("*.dcm") if Path(path).name not in REFUSED]
    for path in inputs:
        processor.process(path)
    outputs = sorted(Path(settings.output_root).rglob("*.dcm"))
    assert len(outputs) >= 40
    for path in outputs:
        check(path.read_bytes())


@pytest.mark.parametrize(
    "name", ["JPEG2000.dcm", "MR_small_RLE.dcm", "JPEG2000-embedded-sequence-delimiter.dcm"]
)
def test_encapsulated_pixel_data_is_deferred_at_pydicom_threshold(name: str) -> None:
    data = Path(bundled_test_files(name)[0]).read_bytes()
    table = read(data)
    (length,) = [row.length for row in table.rows if row.tag == 0x7FE00010 and row.depth == 0]
    for defer_size in (length, length + 3, length + 4, length + 5):
        check(data, defer_size)
    deferred = dataset_of(table, defer_size=length + 4)._dict[BaseTag(0x7FE00010)]
    kept = dataset_of(table, defer_size=length + 5)._dict[BaseTag(0x7FE00010)]
    assert isinstance(deferred, RawDataElement) and deferred.value is None
    assert isinstance(kept, RawDataElement) and kept.value is not None and len(kept.value) == length


@pytest.mark.slow
def test_mutants_the_reader_accepts_build_the_dataset_dcmread_reads() -> None:
    """The reader's 11,000 seeded mutants: each one it accepts builds dcmread's dataset (or
    fails to build exactly as dcmread fails); each one it refuses raises CoreError."""
    seeds = [seed_from(name, (DATA / name).read_bytes()) for name in SEEDS]
    accepted = 0
    for name, data in mutants(seeds, MUTANTS):
        try:
            read(data)
        except CoreError:
            continue
        accepted += 1
        try:
            check(data)
        except AssertionError as failure:
            raise AssertionError(name) from failure
    assert accepted >= 3_000  # a quarter of the mutants still read: structure, not luck
