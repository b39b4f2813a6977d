"""The writer against ``dcmwrite``: the same bytes for the same content, every bundled file."""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from pathlib import Path

import pydicom
import pytest
from pydicom.filewriter import dcmwrite

from deidengine.core.errors import Code, CoreError, EncodingError
from deidengine.core.reader import read
from deidengine.core.writer import Edits, Value, encode
from tests.core.differential import dcmwrite_bytes
from tests.core.mutants import SEEDS, mutants, seed_from
from tests.pydicom_files import DATA, bundled_charset_files, bundled_test_files

FILES = bundled_test_files("*.dcm") + bundled_charset_files() + bundled_test_files("*.gz")


#: Files the reader refuses (each by a rule of tests/core/differential.py) and so never writes.
UNREAD = {
    "MR_truncated.dcm": Code.TRUNCATED,
    "rtplan_truncated.dcm": Code.TRUNCATED,
    "no_meta.dcm": Code.TRUNCATED,
    "zipMR.gz": Code.TRUNCATED,
    "SC_rgb_jpeg.dcm": Code.TRANSFER_SYNTAX_MISMATCH,
}


#: Files ``dcmwrite(..., enforce_file_format=True)`` refuses: no SOP Class UID for the meta,
#: or an explicit VR little endian data set without a Transfer Syntax UID.
UNWRITABLE = {
    "ExplVR_LitEndNoMeta.dcm",
    "empty_charset_LEI.dcm",
    "meta_missing_tsyntax.dcm",
    "nested_priv_SQ.dcm",
}


@pytest.mark.parametrize("path", FILES, ids=lambda path: Path(path).name)
def test_unchanged_table_encodes_as_dcmwrite_writes(path: str) -> None:
    data = Path(path).read_bytes()
    name = Path(path).name
    if name in UNREAD:
        with pytest.raises(CoreError) as refused:
            read(data)
        assert refused.value.code is UNREAD[name]
        return
    table = read(data)
    if name in UNWRITABLE:
        with pytest.raises(AttributeError):
            dcmwrite_bytes(data)
        with pytest.raises(EncodingError):
            encode(table)
        return
    assert encode(table) == dcmwrite_bytes(data)


def _first(table_path: str, tag: int) -> int:
    table = read((DATA / table_path).read_bytes())
    return next(i for i, row in enumerate(table.rows) if row.tag == tag)


def _edited_with_pydicom(path: str, change: Callable[[pydicom.Dataset], None]) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = pydicom.dcmread(DATA / path, force=True)
        change(dataset)
        out = io.BytesIO()
        dcmwrite(out, dataset, enforce_file_format=True)
    return out.getvalue()


def test_replaced_removed_and_added_values_encode_as_pydicom_edits_them() -> None:
    path = "test_files/CT_small.dcm"
    table = read((DATA / path).read_bytes())
    name = _first(path, 0x00100010)
    birth = _first(path, 0x00100030)
    edits = Edits(
        replace={name: Value("PN", b"ANON^PATIENT")},
        remove=frozenset({birth}),
        add={-1: ((0x00120062, Value("CS", b"YES")),)},
    )

    def change(dataset: pydicom.Dataset) -> None:
        dataset.PatientName = "ANON^PATIENT"
        del dataset.PatientBirthDate
        dataset.PatientIdentityRemoved = "YES"

    assert encode(table, edits) == _edited_with_pydicom(path, change)


def test_an_edit_inside_a_defined_length_sequence_rewrites_that_sequence() -> None:
    path = "test_files/rtplan.dcm"
    table = read((DATA / path).read_bytes())
    # The first Referenced SOP Instance UID, inside a defined-length sequence's item.
    index = _first(path, 0x00081155)
    assert table.rows[index].depth == 1
    edits = Edits(replace={index: Value("UI", b"1.2.3.4")})

    def change(dataset: pydicom.Dataset) -> None:
        sequence = dataset[table.rows[table.rows[table.rows[index].parent].parent].tag]
        sequence.value[0].ReferencedSOPInstanceUID = "1.2.3.4"

    assert encode(table, edits) == _edited_with_pydicom(path, change)


def test_preamble_is_the_callers_choice() -> None:
    table = read((DATA / "test_files/CT_small.dcm").read_bytes())
    assert encode(table).startswith(table.facts.preamble or b"")
    zeroed = encode(table, preamble=bytes(128))
    assert zeroed[:132] == bytes(128) + b"DICM"
    assert zeroed[132:] == encode(table)[132:]
    with pytest.raises(EncodingError):
        encode(table, preamble=b"short")


def test_a_value_too_long_for_its_length_field_is_refused() -> None:
    path = "test_files/CT_small.dcm"
    table = read((DATA / path).read_bytes())
    edits = Edits(replace={_first(path, 0x00100010): Value("PN", b"A" * 0x10000)})
    with pytest.raises(EncodingError) as refused:
        encode(table, edits)
    assert refused.value.code is Code.UNENCODABLE


def test_the_writer_output_reads_back_with_the_edit() -> None:
    path = "test_files/CT_small.dcm"
    table = read((DATA / path).read_bytes())
    index = _first(path, 0x00100020)
    out = read(encode(table, Edits(replace={index: Value("LO", b"X1")})))
    patient_id = next(i for i, row in enumerate(out.rows) if row.tag == 0x00100020)
    assert out.value(patient_id) == b"X1"
    assert len(out.rows) == len(table.rows)


@pytest.mark.slow
def test_mutants_the_reader_accepts_encode_as_dcmwrite_writes_them() -> None:
    """Over the differential test's 11,000 mutants: whatever the reader accepts, the writer
    writes as ``dcmwrite`` does, or both refuse it."""
    seeds = [seed_from(name, (DATA / name).read_bytes()) for name in SEEDS]
    written = refused = 0
    differ = []
    for name, data in mutants(seeds, 11_000):
        try:
            table = read(data)
        except CoreError:
            continue
        try:
            expected: bytes | None = dcmwrite_bytes(data)
        except Exception:
            expected = None
        try:
            mine: bytes | None = encode(table)
        except EncodingError:
            mine = None
        if mine != expected:
            differ.append(name)
        elif mine is None:
            refused += 1
        else:
            written += 1
    assert differ == []
    assert written > 1000 and refused > 100


def test_removing_an_item_encodes_as_pydicom_deletes_it() -> None:
    path = "test_files/reportsi.dcm"
    table = read((DATA / path).read_bytes())
    content = _first(path, 0x0040A730)  # Content Sequence, undefined length, several items
    items = list(table.children(content))
    assert len(items) > 2
    edits = Edits(remove=frozenset({items[1]}))

    def change(dataset: pydicom.Dataset) -> None:
        del dataset.ContentSequence[1]

    assert encode(table, edits) == _edited_with_pydicom(path, change)


@pytest.mark.parametrize("name", ["test_files/CT_small.dcm", "test_files/test-SR.dcm"])
def test_reserved_bytes_of_a_long_header_are_written_as_zeros(name: str) -> None:
    """An element written as read is one slice of the input only where its header would be
    written the same: the two bytes a 4-byte length's explicit VR header reserves are zeros
    in the output (as ``dcmwrite`` writes them), whatever the input held there."""
    data = bytearray((DATA / name).read_bytes())
    table = read(bytes(data))
    long_headers = [
        row
        for row in table.rows
        if row.explicit and row.offset - row.header == 12 and row.length and row.tag >> 16 > 2
    ]
    assert long_headers
    for row in long_headers:
        data[row.header + 6 : row.header + 8] = b"\x01\x02"
    # (A sequence copied whole, as pydicom copies one it never parsed, keeps its items' bytes.)
    assert encode(read(bytes(data))) == dcmwrite_bytes(bytes(data))
