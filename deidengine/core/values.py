"""Decode a row's value on request: bytes, text through pydicom's character sets, numbers.

The reader decodes nothing; a rule or a check that needs a value asks for it here, and pays
for that value alone. The results are those pydicom's converters give for the same bytes
(the differential test holds them to it): text VRs with the Specific Character Set in effect
for the row's data set (its own, else the enclosing data set's, inherited up to the top, else
ISO 8859-1 as pydicom's default), split at backslashes where the VR is multi-valued, trailing
spaces and NULs removed; binary numbers unpacked with :mod:`struct` in the file's byte order.
"""

from __future__ import annotations

import struct
from functools import lru_cache
from typing import Final

from pydicom.charset import convert_encodings, decode_bytes, default_encoding
from pydicom.filewriter import (  # pydicom's own lists: the resolution must match its choice
    _AMBIGUOUS_OB_OW_TAGS,
    _AMBIGUOUS_US_SS_TAGS,
    _OVERLAY_DATA_TAGS,
)
from pydicom.valuerep import TEXT_VR_DELIMS
from pydicom.values import convert_string

from deidengine.core.dictionary import AMBIGUOUS
from deidengine.core.errors import Code, ReadError
from deidengine.core.table import TOP, ElementTable, Kind
from deidengine.standard.dictionary import PIXEL_DATA
from deidengine.standard.vr_classes import CHARACTER_SET_VRS

__all__ = [
    "NUMBER_FORMATS",
    "encodings",
    "fragments",
    "numbers",
    "raw",
    "resolved_vr",
    "strings",
    "tags",
    "text",
    "unresolvable_by_pydicom",
]

#: Text VRs holding one value, in which a backslash is an ordinary character.
SINGLE_VALUED_VRS: Final = frozenset({"ST", "LT", "UT", "UR"})
#: struct format of one value of each binary number VR.
NUMBER_FORMATS: Final = {
    "US": "H",
    "SS": "h",
    "UL": "L",
    "SL": "l",
    "FL": "f",
    "FD": "d",
    "SV": "q",
    "UV": "Q",
}
SPECIFIC_CHARACTER_SET: Final = 0x00080005
BITS_ALLOCATED: Final = 0x00280100
PIXEL_REPRESENTATION: Final = 0x00280103
WAVEFORM_BITS_ALLOCATED: Final = 0x54001004
LUT_DESCRIPTOR: Final = 0x00283002
LUT_DATA: Final = 0x00283006
#: The tags pydicom resolves by Pixel Representation, and by Waveform Bits Allocated.
US_OR_SS_TAGS: Final = frozenset(_AMBIGUOUS_US_SS_TAGS)
WAVEFORM_TAGS: Final = frozenset(_AMBIGUOUS_OB_OW_TAGS)
OVERLAY_DATA_TAGS: Final = frozenset(_OVERLAY_DATA_TAGS)


def raw(table: ElementTable, index: int) -> bytes:
    """The value's bytes as stored."""
    return table.value(index)


def encodings(table: ElementTable, index: int) -> list[str]:
    """The Python codecs of the Specific Character Set in effect for row ``index``."""
    rows = table.rows
    if table.is_meta(index):
        return [default_encoding]  # the File Meta Information is always ISO 646
    dataset = rows[index].parent if rows[index].kind is Kind.ELEMENT else index
    while True:
        own = table.charsets.get(dataset)
        if own is not None:
            return list(_codecs(table.value(own), rows[own].little))
        if dataset == TOP:
            return [default_encoding]
        # An item's data set inherits from the data set holding its sequence.
        dataset = rows[rows[dataset].parent].parent


@lru_cache(maxsize=256)
def _codecs(charset: bytes, little: bool) -> tuple[str, ...]:
    """Python codecs for a Specific Character Set value, as pydicom converts it."""
    return tuple(convert_encodings(convert_string(charset, little)))


def _decode(value: bytes, table: ElementTable, index: int) -> str:
    """Decode a character-set VR's value; plain ASCII (no ISO 2022 escape) decodes the same in
    every character set DICOM names, so it skips the look-up."""
    if value.isascii() and b"\x1b" not in value:
        return value.decode("ascii")
    return decode_bytes(value, encodings(table, index), TEXT_VR_DELIMS)


def text(table: ElementTable, index: int) -> str:
    """The whole value as text (backslashes kept), trailing spaces and NULs removed."""
    vr = table.rows[index].vr
    value = table.value(index)
    if vr in CHARACTER_SET_VRS:
        decoded = _decode(value, table, index)
    else:
        decoded = value.decode(default_encoding)
    return decoded.rstrip() if vr == "UR" else decoded.rstrip("\0 ")


def strings(table: ElementTable, index: int) -> tuple[str, ...]:
    """The values of a text element, one string per value, as pydicom splits them; a value
    of nothing but padding has no values, as an empty one."""
    split = _split(table, index)
    return () if split == ("",) else split


def _split(table: ElementTable, index: int) -> tuple[str, ...]:
    row = table.rows[index]
    if row.length == 0:
        return ()
    vr = row.vr
    if vr in SINGLE_VALUED_VRS:
        return (text(table, index),)
    value = table.value(index)
    if vr == "PN":
        value = value.rstrip(b"\0 ")
    if vr in CHARACTER_SET_VRS:
        decoded = _decode(value, table, index)
        return tuple(part.rstrip("\0 ") for part in decoded.split("\\"))
    if vr == "AE":  # leading and trailing spaces are not significant (PS3.5 Table 6.2-1)
        return tuple(part.strip() for part in value.decode(default_encoding).split("\\"))
    parts = value.decode(default_encoding).rstrip("\0 ").split("\\")
    if vr == "UI":  # pydicom's UID strips all white space from each value
        return tuple(part.strip() for part in parts)
    return tuple(parts)


def _own(table: ElementTable, dataset: int, tag: int) -> int | None:
    """The row of ``tag`` in ``dataset`` (the last, as a Dataset keeps it), if any."""
    found = None
    for index in table.children(dataset):
        if table.rows[index].tag == tag:
            found = index
    return found


def _first_number(table: ElementTable, dataset: int, tag: int, fmt: str) -> int | None:
    index = _own(table, dataset, tag)
    if index is None or table.rows[index].length < struct.calcsize("=" + fmt):
        return None
    row = table.rows[index]
    return int(struct.unpack_from(("<" if row.little else ">") + fmt, table.data, row.offset)[0])


def _pixel_representation(table: ElementTable, dataset: int) -> int | None:
    """The Pixel Representation pydicom resolves 'US or SS' by: the data set's own, else the
    nearest enclosing data set's (pydicom hands it down into the items of the defined-length
    sequences it parses), else 0 unless the data set holds Pixel Data; None when it does
    (pydicom then asks the data set for the missing attribute, and fails)."""
    rows = table.rows
    holder = dataset
    while True:
        own = _first_number(table, holder, PIXEL_REPRESENTATION, "H")
        if own is not None:
            return own
        if holder == TOP:
            break
        sequence = rows[holder].parent
        if rows[sequence].undefined_length:
            break  # pydicom read it in place and handed nothing down
        holder = rows[sequence].parent
    return 0 if _own(table, dataset, PIXEL_DATA) is None else None


def unresolvable_by_pydicom(table: ElementTable, index: int) -> bool:
    """Whether the row is a 'US or SS' element (read in implicit VR) that pydicom cannot hand
    out: no Pixel Representation in its data set or above, and Pixel Data beside it."""
    row = table.rows[index]
    return (
        row.vr == "US or SS"
        and row.tag in US_OR_SS_TAGS
        and _pixel_representation(table, row.parent) is None
    )


def resolved_vr(table: ElementTable, index: int) -> str:
    """The row's VR with an ambiguous one resolved as pydicom resolves it when it hands the
    element out (see :mod:`deidengine.core.dictionary`); raises ``ReadError`` (code
    ``invalid-vr``) where pydicom cannot resolve it either (no Bits Allocated)."""
    row = table.rows[index]
    if row.vr not in AMBIGUOUS:
        return row.vr
    dataset = row.parent
    implicit = not (table.rows[dataset].explicit if dataset != TOP else table.facts.explicit)
    tag = row.tag
    if tag in US_OR_SS_TAGS:
        return "US" if _pixel_representation(table, dataset) == 0 else "SS"  # None: as writers do
    bits_tag = {PIXEL_DATA: BITS_ALLOCATED}.get(tag, WAVEFORM_BITS_ALLOCATED)
    if tag == PIXEL_DATA or tag in WAVEFORM_TAGS:
        if tag == PIXEL_DATA and row.undefined_length:
            return "OB"
        bits = None if implicit else _first_number(table, dataset, bits_tag, "H")
        if not implicit and bits is None:
            raise ReadError(Code.INVALID_VR, "an OB or OW VR needs its Bits Allocated", row.header)
        return "OB" if bits is not None and bits <= 8 else "OW"
    if tag == LUT_DATA:
        return "US" if _first_number(table, dataset, LUT_DESCRIPTOR, "H") == 1 else "OW"
    if tag in OVERLAY_DATA_TAGS:
        return "OW"
    return row.vr


def numbers(table: ElementTable, index: int) -> tuple[int | float, ...]:
    """The values of a binary number element (US, SS, UL, SL, FL, FD, SV, UV; an ambiguous
    'US or SS' resolved first)."""
    row = table.rows[index]
    vr = resolved_vr(table, index)
    if vr not in NUMBER_FORMATS:
        raise ReadError(Code.INVALID_VR, f"{vr} does not hold binary numbers", row.header)
    fmt = NUMBER_FORMATS[vr]
    size = struct.calcsize("=" + fmt)
    if row.length % size:
        raise ReadError(
            Code.INVALID_LENGTH, f"{vr} value is not a whole number of values", row.offset
        )
    order = "<" if row.little else ">"
    return struct.unpack_from(f"{order}{row.length // size}{fmt}", table.data, row.offset)


def tags(table: ElementTable, index: int) -> tuple[int, ...]:
    """The values of an AT element, each a tag as one integer (group << 16 | element)."""
    row = table.rows[index]
    if row.length % 4:
        raise ReadError(Code.INVALID_LENGTH, "AT value is not a whole number of tags", row.offset)
    order = "<" if row.little else ">"
    pairs = struct.unpack_from(f"{order}{row.length // 2}H", table.data, row.offset)
    return tuple(pairs[i] << 16 | pairs[i + 1] for i in range(0, len(pairs), 2))


def fragments(table: ElementTable, index: int) -> tuple[bytes, ...]:
    """The encapsulated fragments of a Pixel Data row, the Basic Offset Table first."""
    return tuple(table.value(child) for child in table.children(index))
