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
from pydicom.valuerep import TEXT_VR_DELIMS
from pydicom.values import convert_string

from deidengine.core.errors import Code, ReadError
from deidengine.core.table import TOP, ElementTable, Kind

__all__ = [
    "NUMBER_FORMATS",
    "encodings",
    "fragments",
    "numbers",
    "raw",
    "strings",
    "tags",
    "text",
]

#: Text VRs decoded with the Specific Character Set (PS3.5 6.1.2.3); the rest are ISO 646.
CHARACTER_SET_VRS: Final = frozenset({"SH", "LO", "ST", "LT", "UC", "UT", "PN"})
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


def numbers(table: ElementTable, index: int) -> tuple[int | float, ...]:
    """The values of a binary number element (US, SS, UL, SL, FL, FD, SV, UV)."""
    row = table.rows[index]
    fmt = NUMBER_FORMATS[row.vr]
    size = struct.calcsize("=" + fmt)
    if row.length % size:
        raise ReadError(
            Code.INVALID_LENGTH, f"{row.vr} value is not a whole number of values", row.offset
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
