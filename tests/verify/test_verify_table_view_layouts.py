"""A table laid out as one met before takes that layout (the same rows' tags, VRs, parents and
kinds, the same File Meta Information, its ambiguous VRs resolved alike), and only then."""

from __future__ import annotations

import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ImplicitVRLittleEndian

from deidengine.core.table import ElementTable
from deidengine.verify import table_view
from deidengine.verify.table_view import META, TOP, TableView, table_of_dataset

SMALLEST_IMAGE_PIXEL_VALUE = 0x00280106  # US or SS, by Pixel Representation


def _table(name: str, pixel_representation: int = 0, extra: bool = False) -> ElementTable:
    dataset = Dataset()
    dataset.file_meta = FileMetaDataset()
    dataset.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian  # VRs from the dictionary
    dataset.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    dataset.SOPInstanceUID = "2.25.1234"
    dataset.PatientName = name
    item = Dataset()
    item.CodeValue = "T-15001"
    item.CodeMeaning = name
    dataset.AnatomicRegionSequence = Sequence([item, Dataset()])
    dataset.PixelRepresentation = pixel_representation
    dataset.SmallestImagePixelValue = 1
    if extra:
        dataset.StudyDescription = "knee"
    return table_of_dataset(dataset)


def _laid(view: TableView) -> tuple[object, ...]:
    return (view.datasets, view.items, view.visits(META), view.visits(TOP))


def _fresh(table: ElementTable) -> tuple[object, ...]:
    table_view._LAYOUTS.clear()
    return _laid(TableView.of(table))


def test_a_table_laid_out_alike_takes_the_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = _table("DOE^JANE"), _table("ROE^RICHARD^X")
    expected = _fresh(second)
    TableView.of(first)

    def no_layout(table: ElementTable) -> None:
        raise AssertionError("laid out")

    monkeypatch.setattr(table_view, "_laid_out", no_layout)
    view = TableView.of(second)
    assert _laid(view) == expected
    assert view.text(view.get(TOP, 0x00100010) or 0) == "ROE^RICHARD^X"
    with pytest.raises(AssertionError, match="laid out"):
        TableView.of(_table("DOE^JANE", extra=True))


def test_an_ambiguous_vr_resolved_otherwise_is_laid_out_anew() -> None:
    unsigned, signed = _table("DOE^JANE", 0), _table("DOE^JANE", 1)
    table_view._LAYOUTS.clear()
    first = TableView.of(unsigned)
    view = TableView.of(signed)
    vrs = {vr for *_, tag, vr in view.visits(TOP) if tag == SMALLEST_IMAGE_PIXEL_VALUE}
    assert vrs == {"SS"}
    assert {vr for *_, tag, vr in first.visits(TOP) if tag == SMALLEST_IMAGE_PIXEL_VALUE} == {"US"}
    assert _laid(view) == _fresh(signed)


def test_views_sharing_a_layout_keep_their_own_walks() -> None:
    table_view._LAYOUTS.clear()
    first = TableView.of(_table("DOE^JANE"))
    second = TableView.of(_table("ROE^RICHARD"))
    assert first.datasets is second.datasets  # shared, never changed by a laid-out view
    assert first._walks is not second._walks and first._vrs is not second._vrs


def test_an_input_is_laid_out_whole_from_the_second_of_its_shape() -> None:
    table_view._LAYOUTS.clear()
    table_view._SEEN.clear()
    first, second, third = (_table(name) for name in ("DOE^JANE", "ROE^RICHARD", "POE^EDGAR"))
    assert TableView.remembered(first) is None  # met once: its shape noted only
    for table in (second, third):
        whole = TableView.remembered(table)
        assert whole is not None and not whole.lazy
        lazy = TableView.lazy_of(table)
        assert _laid(whole) == _fresh(table)
        for tag in (0x00100010, 0x00082218, 0x00080018, 0x00100020):
            assert whole.get(TOP, tag) == lazy.get(TOP, tag)
        sequence = whole.get(TOP, 0x00082218)
        assert sequence is not None
        items = whole.sequence_items(sequence)
        assert items == lazy.sequence_items(sequence) and len(items) == 2
        assert [whole.get(item, 0x00080104) for item in items] == [
            lazy.get(item, 0x00080104) for item in items
        ]
        assert whole.item_at(((0x00082218, 0),)) == lazy.item_at(((0x00082218, 0),))
        table_view._SEEN.clear()  # the third is taken from the layout the second left


def _of_rows(count: int) -> ElementTable:
    """A table of ``count`` private elements (and the SOP identity), a shape for each count."""
    dataset = Dataset()
    dataset.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    dataset.SOPInstanceUID = "2.25.1234"
    block = dataset.private_block(0x0031, "ACME PRIVATE 1.0", create=True)
    for element in range(count):
        block.add_new(element, "LO", "x")
    return table_of_dataset(dataset)


def test_the_remembered_layouts_hold_a_bounded_number_of_rows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(table_view, "MEMO_ROWS", 40)
    monkeypatch.setattr(table_view, "MEMO_TABLE_ROWS", 30)
    tables = [_of_rows(count) for count in range(1, 40, 3)]
    expected = [_fresh(table) for table in tables]
    table_view._LAYOUTS.clear()
    for _ in range(2):
        for table, laid in zip(tables, expected, strict=True):
            assert _laid(TableView.of(table)) == laid
            shapes = [len(layout.shape) for layout in table_view._LAYOUTS.values()]
            assert sum(shapes) <= 40
            assert (len(table.rows) in shapes) == (len(table.rows) <= 30)
