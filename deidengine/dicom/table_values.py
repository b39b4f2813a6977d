"""A table row's value as the text pydicom's converted element gives, for the walks over a table.

The engine's walks over a pydicom :class:`~pydicom.dataset.Dataset` read an element's value
as strings: ``str()`` of each value pydicom converted it to (:func:`converted_texts`), nothing
for bytes or an empty number. The same walks over the lean reader's
:class:`~deidengine.core.table.ElementTable` (:func:`deidengine.dicom.facts.table_facts`) read
the same strings here, decoding only the row asked for (:mod:`deidengine.core.values` does the
decoding, with pydicom's character sets); tests/dicom/test_dicom_table_facts.py holds the
results to the Dataset walks' on real files, generated corpora and mutants.

The choice per VR is a registry (:data:`TEXTS_BY_VR`): what pydicom converts a value of that
VR to decides how it reads as text.
"""

from __future__ import annotations

from collections.abc import Callable, MutableSequence
from typing import Final

from pydicom.values import convert_DS_string, convert_IS_string, convert_text

from deidengine.core import values
from deidengine.core.table import TOP, ElementTable, Kind

__all__ = [
    "BINARY_VRS",
    "TEXTS_BY_VR",
    "converted_texts",
    "hidden_rows",
    "latin1_texts",
    "tag_text",
]

#: VRs pydicom converts to bytes: their converted value has no text.
BINARY_VRS: Final = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})
#: VRs whose empty value pydicom converts to ``None`` (no value), not to an empty string.
NONE_WHEN_EMPTY_VRS: Final = frozenset({"DS", "IS", "AT", *values.NUMBER_FORMATS})

RowTexts = Callable[[ElementTable, int], tuple[str, ...]]
#: Where the File Meta Information's elements are keyed: a data set of its own beside the top.
_META: Final = -2


def tag_text(tag: int) -> str:
    """A tag as ``str()`` of pydicom's tag gives it: ``(0010,0010)``."""
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def _no_text(table: ElementTable, index: int) -> tuple[str, ...]:
    return ()


def _numbers(table: ElementTable, index: int) -> tuple[str, ...]:
    return tuple(str(number) for number in values.numbers(table, index))


def _tags(table: ElementTable, index: int) -> tuple[str, ...]:
    return tuple(tag_text(tag) for tag in values.tags(table, index))


def _strings(table: ElementTable, index: int) -> tuple[str, ...]:
    # A value of nothing but padding is one empty string to pydicom, not no value.
    return values.strings(table, index) or ("",)


def _decimal_strings(table: ElementTable, index: int) -> tuple[str, ...]:
    """pydicom's own DS or IS conversion (its classes keep each value's original string); a
    value that is not a number is converted as SH instead, as pydicom retries it."""
    row = table.rows[index]
    value = table.value(index)
    converter = convert_DS_string if row.vr == "DS" else convert_IS_string
    try:
        converted: object = converter(value, row.little)
    except ValueError:
        converted = convert_text(value, values.encodings(table, index), "SH")
    if isinstance(converted, MutableSequence):
        return tuple(str(item) for item in converted)
    return (str(converted),)


def _person_names(table: ElementTable, index: int) -> tuple[str, ...]:
    # str() of a PersonName drops its empty trailing component groups.
    return tuple(part.rstrip("=") for part in _strings(table, index))


#: How each VR's converted value reads as text (any VR not listed: :func:`_strings`).
TEXTS_BY_VR: Final[dict[str, RowTexts]] = {
    **dict.fromkeys(BINARY_VRS, _no_text),
    "SQ": _no_text,
    **dict.fromkeys(values.NUMBER_FORMATS, _numbers),
    "AT": _tags,
    "DS": _decimal_strings,
    "IS": _decimal_strings,
    "PN": _person_names,
}


def converted_texts(table: ElementTable, index: int, vr: str | None = None) -> tuple[str, ...]:
    """``str()`` of each value pydicom converts row ``index`` to, as ``_strings`` of
    :mod:`deidengine.dicom.identifiers` reads a converted element: nothing for bytes or no
    value, one string for a single value, one per value of a multi-valued element.

    ``vr``: the row's VR when the caller has resolved it (an ambiguous VR is resolved here
    otherwise)."""
    if vr is None:
        vr = values.resolved_vr(table, index)
    if table.rows[index].length == 0 and not table.rows[index].undefined_length:
        return () if vr in NONE_WHEN_EMPTY_VRS or vr in BINARY_VRS else ("",)
    return TEXTS_BY_VR.get(vr, _strings)(table, index)


def latin1_texts(table: ElementTable, index: int) -> tuple[str, ...]:
    """A binary value read as ISO 8859-1 text, split at backslashes, each part without its
    trailing padding: how the Dataset walks read a raw binary element they do not convert
    (:func:`deidengine.dicom.elements.raw_text`)."""
    text = table.value(index).decode("latin-1")
    return tuple(part.rstrip(" \x00") for part in text.split("\\"))


def hidden_rows(table: ElementTable) -> set[int]:
    """The rows no dataset built from ``table`` holds: an element whose tag its data set
    states again later (pydicom keeps the last), and every row nested in one. Empty, after
    one cheap look, for a file whose data sets list their tags in ascending order."""
    if table.ordered():
        return set()
    rows = table.rows
    meta_end = table.facts.meta_end
    last: dict[tuple[int, int], int] = {}
    for index, row in enumerate(rows):
        if row.kind is Kind.ELEMENT:
            meta = row.header < meta_end and row.parent == TOP
            last[(_META if meta else row.parent, row.tag)] = index
    hidden: set[int] = set()
    for index, row in enumerate(rows):
        if row.parent != TOP and row.parent in hidden:
            hidden.add(index)
        elif row.kind is Kind.ELEMENT:
            meta = row.header < meta_end and row.parent == TOP
            if last[(_META if meta else row.parent, row.tag)] != index:
                hidden.add(index)
    return hidden
