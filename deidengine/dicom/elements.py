"""Describing elements without their meaning: a value read as text, and where an element is.

Shared by the header stage, the leak scan and the verifier, so that what one writes and what
the others read agree to the character.

pydicom reads an element as a :class:`~pydicom.dataelem.RawDataElement` (its bytes) and
converts it on first access; converting costs more than reading the file, and a converted
element is encoded again on write, while a raw one is copied. So every walk of the pipeline
asks :func:`known_vr` first and converts only the elements whose value it needs: an element
that is kept or removed stays raw from read to write. :func:`raw_text` reads a raw text
element's value without converting it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from functools import lru_cache

from pydicom.charset import decode_bytes
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence

from deidengine.standard.vr_classes import CHARACTER_SET_VRS

#: An element's place: the (sequence tag, item index) steps from the dataset's root.
ElementPath = tuple[tuple[int, int], ...]

#: An element as a dataset holds it: converted, or still the bytes read from the file.
AnyElement = DataElement | RawDataElement

#: VRs whose raw bytes are ASCII text whatever the character set.
ASCII_TEXT_VRS = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "TM", "UI", "UR"})
#: VRs whose bytes :func:`element_text` reads as Latin-1, converted or not.
BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})
#: Control characters after which a text value returns to its initial code element (PS3.5
#: 6.1.2.5.3): CR, LF, TAB and FF.
TEXT_DELIMITERS = frozenset({0x0D, 0x0A, 0x09, 0x0C})


def element_text(value: object) -> str:
    """A value as one string: multiple values joined by ``\\``, bytes read as Latin-1."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, MultiValue | list | tuple):
        return "\\".join(str(v) for v in value)
    return str(value)


def element_location(path: ElementPath, tag: int) -> str:
    """``(0040,0275)[0].(0010,0010)``: tags and item indices, never a value."""
    steps = "".join(f"({t >> 16:04X},{t & 0xFFFF:04X})[{i}]." for t, i in path)
    return f"{steps}({tag >> 16:04X},{tag & 0xFFFF:04X})"


@lru_cache(maxsize=8192)
def _dictionary_vr(tag: int) -> str | None:
    try:
        vr = dictionary_VR(tag)
    except KeyError:
        return None
    return None if " or " in vr else vr


def known_vr(element: AnyElement) -> str | None:
    """The element's VR if it is known without converting the element, else ``None``.

    A converted element knows its VR; a raw one states it in an explicit VR file (except
    ``UN``, which pydicom replaces by the dictionary's VR or reads as a sequence); in an
    implicit VR file a standard element's VR is the dictionary's, unless the dictionary gives
    a choice (``US or SS``) that only the dataset settles.
    """
    if not isinstance(element, RawDataElement):
        return str(element.VR)
    return known_raw_vr(int(element.tag), element.VR)


def known_raw_vr(tag: int, raw_vr: str | None) -> str | None:
    """:func:`known_vr` of a raw element at ``tag`` whose header states ``raw_vr`` (``None``:
    implicit VR)."""
    if raw_vr is None:
        return None if (tag >> 16) & 1 else _dictionary_vr(tag)
    # UN, or a raw VR that is still a choice ("OB or OW", from a file that says it is explicit
    # VR but is not): only conversion settles it.
    return None if raw_vr == "UN" or " or " in raw_vr else str(raw_vr)


def element_vr(
    dataset: Dataset, tag: int, element: AnyElement | None = None
) -> tuple[str, AnyElement]:
    """The VR of ``dataset``'s element at ``tag`` and the element (``element``, when the caller
    holds it already), converting it only when its VR cannot be known otherwise (see
    :func:`known_vr`)."""
    if element is None:
        element = dataset._dict[tag]  # type: ignore[index]  # a BaseTag hashes as its int
    vr = known_vr(element)
    if vr is None:
        element = dataset[tag]
        vr = str(element.VR)
    return vr, element


def sequence_items(dataset: Dataset, tag: int, element: AnyElement) -> list[Dataset]:
    """The items of the sequence element ``element`` at ``tag``, converting it if raw."""
    if isinstance(element, RawDataElement):
        element = dataset[tag]
    items = element.value
    return [item for item in items if isinstance(item, Dataset)] if items else []


def character_set(dataset: Dataset) -> list[str]:
    """The Python codecs of ``dataset``'s text (its own Specific Character Set, else the
    enclosing dataset's)."""
    encodings = dataset._character_set
    return [encodings] if isinstance(encodings, str) else list(encodings)


def raw_text(element: AnyElement, vr: str, encodings: list[str] | None) -> str | None:
    """A raw element's value as :func:`element_text` gives it after conversion: text with each
    value's trailing padding dropped (and a Person Name's empty trailing component groups, as
    pydicom drops them), bytes as Latin-1. ``None`` when the element is converted, deferred or
    neither, or when its character set switches codecs (ISO 2022): convert it then."""
    if not isinstance(element, RawDataElement) or element.value is None:
        return None
    if vr in BINARY_VRS:
        return element.value.decode("latin-1")
    if vr in ASCII_TEXT_VRS:
        text = element.value.decode("latin-1")
    elif vr in CHARACTER_SET_VRS and encodings is not None and len(encodings) == 1:
        text = decode_bytes(element.value, encodings, set(TEXT_DELIMITERS))
    else:
        return None
    parts = [part.rstrip(" \x00") for part in text.split("\\")]
    if vr == "PN":
        parts = [part.rstrip("=") for part in parts]
    return "\\".join(parts)


#: Text VRs whose ASCII values are stored as their ASCII bytes, padded to even length with a
#: space (UI with a NUL), in every character set: what pydicom's writer does with them.
RAW_ASCII_VRS = frozenset(
    {"AE", "AS", "CS", "DA", "DT", "TM", "UI", "LO", "LT", "PN", "SH", "ST", "UC", "UT"}
)


def ascii_value_bytes(vr: str, value: object) -> bytes | None:
    """The encoded value of an element of ``vr`` holding ``value`` (text, a list of texts or
    ``None``), or ``None`` when it is not plain ASCII text of such a VR (let pydicom encode it)."""
    if vr not in RAW_ASCII_VRS:
        return None
    if value is None:
        return b""
    if isinstance(value, MultiValue | list | tuple):
        if not all(isinstance(part, str) for part in value):
            return None
        value = "\\".join(value)
    if not isinstance(value, str) or not value.isascii():
        return None
    encoded = value.encode("ascii")
    if len(encoded) % 2:
        encoded += b"\x00" if vr == "UI" else b" "
    return encoded


def value_text(
    dataset: Dataset, tag: int, element: AnyElement, vr: str, encodings: list[str] | None
) -> str:
    """The element's value as text, converting it only when :func:`raw_text` cannot read it."""
    text = raw_text(element, vr, encodings)
    if text is None:
        text = element_text(dataset[tag].value)
    return text


def walk_elements(dataset: Dataset) -> list[tuple[int, AnyElement]]:
    """``(tag, element)`` of the top-level elements in tag order, none converted.

    Tags as plain ints, sorted as such (tags are unique, so no element is ever compared):
    pydicom's tag class compares in Python, which costs more than the walk itself.
    """
    elements = dataset._dict
    return sorted(zip(map(int, elements), elements.values(), strict=True))


def walk_tree(
    dataset: Dataset, path: ElementPath = (), vrs: frozenset[str] | None = None
) -> Iterator[tuple[ElementPath, Dataset, int, str, AnyElement]]:
    """``(path, dataset, tag, vr, element)`` of every element at every depth, depth first;
    with ``vrs``, of the elements of those VRs only (every sequence is still walked).

    Only sequences, and elements whose VR is unknown until converted, are converted: a caller
    that needs another element's value reads it with :func:`value_text`. Iterative: deep trees
    (SR content) would otherwise pass every element up through one generator per level.
    """
    stack: list[tuple[ElementPath, Dataset, list[tuple[int, AnyElement]], int]] = [
        (path, dataset, walk_elements(dataset), 0)
    ]
    while stack:
        where, current, elements, index = stack.pop()
        while index < len(elements):
            tag, element = elements[index]
            index += 1
            vr = known_vr(element)
            if vr is None:
                vr, element = element_vr(current, tag, element)
            if vrs is None or vr in vrs:
                yield where, current, tag, vr, element
            if vr == "SQ":
                items = sequence_items(current, tag, element)
                stack.append((where, current, elements, index))
                for number in range(len(items) - 1, -1, -1):
                    item = items[number]
                    stack.append(((*where, (tag, number)), item, walk_elements(item), 0))
                break


def walk_private(dataset: Dataset) -> Iterator[tuple[Dataset, int, str, AnyElement]]:
    """``(dataset, tag, vr, element)`` of every private element (odd group) at every depth, in no
    particular order. Only sequences, and elements whose VR is unknown until converted, are
    converted; a standard element costs one look at its VR (a private block inventory asks
    only for these, and a file holds far more standard elements than private ones)."""
    stack = [dataset]
    while stack:
        current = stack.pop()
        for tag, element in current._dict.items():
            vr = known_vr(element) if not (tag >> 16) & 1 else None
            if vr is None:
                vr, element = element_vr(current, tag, element)
            if (tag >> 16) & 1:
                yield current, tag, vr, element
            if vr == "SQ":
                stack.extend(sequence_items(current, tag, element))


def copy_as_read(dataset: Dataset, copied: Mapping[int, Dataset] | None = None) -> Dataset:
    """A copy of ``dataset`` that later edits of ``dataset`` leave as it is.

    Raw elements are immutable and shared; only elements already converted (sequences pydicom
    parses while reading, items of undefined length) are copied, so the copy costs a fraction of
    reading the file again, and converts nothing. ``copied`` holds copies already made of
    sequence items, by ``id()`` of the item: a walk that copies items on its way up reuses them.
    """
    duplicate = Dataset.__new__(type(dataset))
    duplicate.__dict__.update(dataset.__dict__)
    duplicate.__dict__["_dict"] = {
        tag: element if isinstance(element, RawDataElement) else _copy_converted(element, copied)
        for tag, element in dataset._dict.items()
    }
    duplicate.__dict__["_private_blocks"] = {}
    return duplicate


def _copy_converted(element: DataElement, copied: Mapping[int, Dataset] | None) -> DataElement:
    if element.VR == "SQ" and element.value is not None:
        items = [
            copied[id(item)] if copied is not None and id(item) in copied else copy_as_read(item)
            for item in element.value
        ]
        return DataElement(
            element.tag, "SQ", Sequence(items), is_undefined_length=element.is_undefined_length
        )
    return copy.copy(element)
