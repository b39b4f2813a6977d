"""TableView: the verifier's reading of an element table, held to pydicom's reading of the same
bytes (the oracle: pydicom's dataset walked by deidengine.dicom.elements, as the verifier
walked it before it read tables)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from deidengine.core.errors import CoreError
from deidengine.core.reader import read
from deidengine.dicom.apply import patient_key as dataset_patient_key
from deidengine.dicom.conditions import ConditionSnapshot
from deidengine.dicom.elements import character_set, value_text, walk_tree
from deidengine.verify.table_view import (
    META,
    TOP,
    TableView,
    condition_snapshot,
    patient_key,
    table_of_dataset,
    view_of,
    without_rows,
)
from tests.pydicom_files import bundled_charset_files, bundled_test_files

#: Files over this size are skipped: the walk is the same, only slower.
MAX_BYTES = 2 << 20


def _readable() -> list[str]:
    found = []
    for name in bundled_test_files("*.dcm") + bundled_charset_files():
        if Path(name).stat().st_size > MAX_BYTES:
            continue
        try:
            read(Path(name).read_bytes())
        except CoreError:
            continue
        found.append(name)
    return found


READABLE = _readable()


def _oracle(dataset: Dataset, codecs: bool) -> list[tuple[object, ...]]:
    """(path, tag, VR, text) of every element as pydicom's walk reads it."""
    found: list[tuple[object, ...]] = []
    for path, holder, tag, vr, element in walk_tree(dataset):
        if vr == "SQ" or (tag >> 16 == 0x7FE0 and not path):
            found.append((path, tag, vr, None))
            continue
        encodings = character_set(holder) if codecs else None
        found.append((path, tag, vr, value_text(holder, tag, element, vr, encodings)))
    return found


def _walked(view: TableView, dataset: int, codecs: bool) -> list[tuple[object, ...]]:
    return [
        (
            path,
            tag,
            vr,
            None
            if vr == "SQ" or (tag >> 16 == 0x7FE0 and not path)
            else view.text(index, charset_raw=codecs),
        )
        for path, _, index, tag, vr in view.walk(dataset)
    ]


def test_the_bundled_files_are_read() -> None:
    assert len(READABLE) > 60


@pytest.mark.parametrize("name", READABLE, ids=lambda name: Path(name).name)
def test_every_element_reads_as_pydicom_reads_it(name: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = pydicom.dcmread(name, force=True)
        view = TableView.of(read(Path(name).read_bytes()))
        for codecs in (False, True):  # conformance converts text; the leak scan decodes it
            assert _walked(view, TOP, codecs) == _oracle(dataset, codecs)
            assert _walked(view, META, codecs) == _oracle(dataset.file_meta, codecs)
        assert patient_key(view) == dataset_patient_key(dataset)
        lazy = TableView.lazy_of(view.table)  # laid out where asked, the same data sets
        assert _walked(lazy, TOP, False) == _walked(view, TOP, False)
        assert {d: lazy.elements(d) for d in view.datasets} == view.datasets
        assert condition_snapshot(view, None) == ConditionSnapshot.of(dataset)


def test_a_built_dataset_reads_through_its_written_table() -> None:
    dataset = Dataset()
    dataset.PatientName = "QUIRINUS^HELOISE"
    dataset.add_new(0x00091010, "LO", "vendor")
    item = Dataset()
    item.SpecificCharacterSet = "ISO_IR 192"
    item.CodeMeaning = "Hôpital"
    dataset.add_new(0x00400275, "SQ", Sequence([item, Dataset()]))
    view = view_of(dataset)
    assert _walked(view, TOP, True) == _oracle(dataset, True)
    assert view.get(META, 0x00020010) is None  # the syntax it was written in is not shown
    assert view.sequence_items(view.get(TOP, 0x00400275) or 0) != []


@pytest.mark.filterwarnings("ignore:Invalid value for VR UI")  # the UID is meant to be bad
def test_a_damaged_transfer_syntax_reads_as_the_meta_states_it() -> None:
    (name,) = bundled_test_files("CT_small.dcm")
    dataset = pydicom.dcmread(name)
    dataset.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.1 x"
    view = view_of(dataset)
    index = view.get(META, 0x00020010)
    assert index is not None
    assert view.text(index) == "1.2.840.10008.1.2.1 x"
    assert _walked(view, TOP, True) == [
        entry for entry in _oracle(dataset, True) if entry[1] >> 16 != 0x7FE0
    ]


def test_rows_taken_out_leave_the_rest_addressed() -> None:
    dataset = Dataset()
    first, second = Dataset(), Dataset()
    first.CodeValue, second.CodeValue = "1", "2"
    dataset.add_new(0x00081032, "SQ", Sequence([first, second]))
    dataset.add_new(0x00400275, "SQ", Sequence([Dataset()]))
    dataset.StudyDescription = "after"
    table = table_of_dataset(dataset)
    view = TableView.of(table)
    sequence = view.get(TOP, 0x00081032)
    assert sequence is not None
    start = view.sequence_items(sequence)[1]
    end = view.get(TOP, 0x00400275)
    assert end is not None
    kept = TableView.of(without_rows(table, start, end))
    assert [(path, tag, vr) for path, _, _, tag, vr in kept.walk()] == [
        ((), 0x00081030, "LO"),
        ((), 0x00081032, "SQ"),
        (((0x00081032, 0),), 0x00080100, "SH"),
        ((), 0x00400275, "SQ"),
    ]
    description = kept.get(TOP, 0x00081030)
    assert description is not None and kept.text(description) == "after"
