"""The reader's own contract: the table's shape, its limits, its errors, its value accessors."""

from __future__ import annotations

import struct
import warnings
from pathlib import Path

import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.encaps import generate_fragments

from deidengine.core import values
from deidengine.core.errors import Code, CoreError, ReadError, TooLargeError, TruncatedError
from deidengine.core.reader import read
from deidengine.core.table import TOP, ElementTable, Kind
from tests.core.mutants import SEEDS, mutants, seed_from
from tests.pydicom_files import DATA, bundled_charset_files, bundled_test_files


def _table(name: str) -> ElementTable:
    return read((DATA / name).read_bytes())


def _index(table: ElementTable, tag: int) -> int:
    return next(i for i, row in enumerate(table.rows) if row.tag == tag)


def test_file_facts() -> None:
    ct = _table("test_files/CT_small.dcm")
    assert ct.facts.preamble == (DATA / "test_files/CT_small.dcm").read_bytes()[:128]
    assert ct.facts.transfer_syntax == "1.2.840.10008.1.2.1"
    assert (ct.facts.explicit, ct.facts.little, ct.facts.deflated) == (True, True, False)
    bare = _table("test_files/ExplVR_BigEndNoMeta.dcm")
    assert bare.facts.preamble is None and bare.facts.meta_end == 0
    assert (bare.facts.transfer_syntax, bare.facts.explicit, bare.facts.little) == (
        None,
        True,
        False,
    )
    deflated = _table("test_files/image_dfl.dcm")
    assert deflated.facts.deflated
    assert deflated.rows[-1].offset + deflated.rows[-1].length <= len(deflated.data)


def test_rows_nest_by_depth_and_parent() -> None:
    table = _table("charset_files/chrSQEncoding.dcm")
    sequence = _index(table, 0x00321064)
    (item,) = table.children(sequence)
    assert table.rows[item].kind is Kind.ITEM and table.rows[item].depth == 1
    inside = [table.rows[i].tag for i in table.children(item)]
    assert inside == [0x00080005, 0x00080100, 0x00100010]
    assert all(table.dataset_of(i) == item for i in table.children(item))
    assert sequence in set(table.children(TOP))


def test_each_data_set_decodes_text_with_its_own_character_set() -> None:
    table = _table("charset_files/chrSQEncoding.dcm")
    top_name = _index(table, 0x00321032)
    assert values.encodings(table, top_name) == ["UTF8"]
    assert values.strings(table, top_name) == ("Doctor^Who^^MD",)
    item_name = _index(table, 0x00100010)
    assert values.encodings(table, item_name) == ["shift_jis", "iso2022_jp"]
    assert values.strings(table, item_name) == ("ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう",)
    # The meta is ISO 646 whatever the data set's character set.
    assert values.encodings(table, _index(table, 0x00020013)) == ["iso8859"]


def test_numbers_and_tags() -> None:
    table = _table("test_files/CT_small.dcm")
    assert values.numbers(table, _index(table, 0x00280010)) == (128,)
    big = _table("test_files/MR_small_bigendian.dcm")
    assert values.numbers(big, _index(big, 0x00280011)) == (64,)
    dose = _table("test_files/rtdose.dcm")
    # Frame Increment Pointer (AT) points at Grid Frame Offset Vector.
    assert values.tags(dose, _index(dose, 0x00280009)) == (0x3004000C,)


def test_encapsulated_pixel_data_fragments_are_rows() -> None:
    path = DATA / "test_files/SC_rgb_rle_2frame.dcm"
    table = read(path.read_bytes())
    pixels = _index(table, 0x7FE00010)
    assert table.rows[pixels].undefined_length
    fragments = values.fragments(table, pixels)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = list(generate_fragments(pydicom.dcmread(path).PixelData))
    assert list(fragments) == expected
    assert all(table.rows[i].kind is Kind.FRAGMENT for i in table.children(pixels))


def test_inflating_stops_at_the_callers_limit() -> None:
    data = (DATA / "test_files/image_dfl.dcm").read_bytes()
    with pytest.raises(TooLargeError) as refused:
        read(data, max_inflated=1000)
    assert refused.value.code is Code.TOO_LARGE
    with pytest.raises(ReadError) as broken:
        read(data[:-200])
    assert broken.value.code is Code.INFLATE_FAILED


def test_nesting_stops_at_the_callers_depth() -> None:
    data = (DATA / "test_files/reportsi.dcm").read_bytes()
    with pytest.raises(ReadError) as refused:
        read(data, max_depth=2)
    assert refused.value.code is Code.TOO_DEEP
    assert read(data, max_depth=8).rows


def test_errors_share_one_root_and_name_no_value() -> None:
    data = (DATA / "test_files/CT_small.dcm").read_bytes()
    with pytest.raises(TruncatedError) as cut:
        read(data[:1000])
    assert isinstance(cut.value, CoreError) and cut.value.code is Code.TRUNCATED
    assert cut.value.end is not None and cut.value.end > 1000
    # A patient's name next to the cut is never quoted.
    assert "CompressedSamples" not in str(cut.value)
    with pytest.raises(ReadError) as empty:
        read(b"")
    assert empty.value.code is Code.EMPTY


def test_a_wrong_number_length_is_a_clean_error() -> None:
    table = _table("test_files/CT_small.dcm")
    rows = _index(table, 0x00280010)
    data = bytearray(table.data)
    # Rows (US) given a length of 3 and one more byte: not a whole number of values.
    struct.pack_into("<H", data, table.rows[rows].header + 6, 3)
    damaged = read(
        bytes(data[: table.rows[rows].offset + 3]) + bytes(data[table.rows[rows].offset + 2 :])
    )
    with pytest.raises(ReadError) as refused:
        values.numbers(damaged, _index(damaged, 0x00280010))
    assert refused.value.code is Code.INVALID_LENGTH


@pytest.mark.parametrize("name", ["test_files/CT_small.dcm", "test_files/test-SR.dcm"])
def test_rows_cover_the_data_set(name: str) -> None:
    """Every top-level element's header and value tile the bytes after the meta, in order."""
    table = _table(name)
    at = table.facts.meta_end
    for index in table.children(TOP):
        row = table.rows[index]
        if table.is_meta(index):
            continue
        assert row.header == at
        at = row.offset + row.length + (8 if row.undefined_length else 0)
    assert at == len(table.data)
    assert Path(DATA / name).stat().st_size == len(table.data)


_META = (DATA / "test_files/CT_small.dcm").read_bytes()[
    : _table("test_files/CT_small.dcm").facts.meta_end
]


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    prefix=st.sampled_from([b"", _META, bytes(128) + b"DICM"]),
    body=st.binary(max_size=600),
)
def test_arbitrary_bytes_give_a_table_or_one_clean_error(prefix: bytes, body: bytes) -> None:
    """Whatever follows a real meta (or nothing), the reader returns a table whose rows lie
    inside the bytes, or raises its own error: never an IndexError, struct.error or the like."""
    try:
        table = read(prefix + body)
    except CoreError as error:
        assert error.code in set(Code)
        return
    for row in table.rows:
        assert 0 <= row.header <= row.offset <= row.offset + row.length <= len(table.data)


def _noted_and_derived(table: ElementTable) -> tuple[bool, bool]:
    """Whether the tags are in order as the reader noted it, and as the rows alone say; and
    the top level's map of tags holds the data set's last row of each tag, the meta apart."""
    expected_top = {
        row.tag: index
        for index, row in enumerate(table.rows)
        if row.parent == TOP and not table.is_meta(index)
    }
    assert table.top_level() == expected_top
    return table.ordered(), ElementTable(table.data, table.rows, table.facts, {}).ordered()


def test_tag_order_noted_while_reading_as_the_rows_give_it() -> None:
    """On every bundled file the reader accepts (encapsulated pixels, undefined lengths,
    nested and private sequences, big endian, deflate, a meta followed by a command set)."""
    read_count = 0
    for path in bundled_test_files() + bundled_charset_files("*"):
        try:
            table = read(Path(path).read_bytes())
        except CoreError:
            continue
        noted, derived = _noted_and_derived(table)
        assert noted == derived, path
        read_count += 1
    assert read_count > 80


def test_tag_order_noted_on_mutants_as_the_rows_give_it() -> None:
    """Every mutant the reader accepts (repeated tags, items out of place, ...)."""
    seeds = [seed_from(name, (DATA / name).read_bytes()) for name in SEEDS]
    read_count = unordered = 0
    for _name, data in mutants(seeds, 1500):
        try:
            table = read(data)
        except CoreError:
            continue
        noted, derived = _noted_and_derived(table)
        assert noted == derived
        read_count += 1
        unordered += not noted
    assert read_count > 300
    assert unordered > 0
