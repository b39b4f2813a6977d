"""PS3.6 data dictionary facts: pydicom 3.0.2's dictionary plus the generated supplement.

pydicom 3.0.2 follows PS3.6 2024c; Table E.1-1 2026d names 26 tags it lacks (and one,
EthnicGroup, that PS3.6 has since retired). Those come from ``data/dictionary_supplement.json``,
which wins wherever it and pydicom disagree.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import cache
from typing import Final

from pydicom import datadict
from pydicom._dicom_dict import DicomDictionary, RepeatersDictionary

from deidengine.standard._data import load

__all__ = [
    "NOT_PRIVATE_ODD_GROUPS",
    "PIXEL_DATA",
    "AttributeInfo",
    "all_keywords",
    "attribute_info",
    "closest_keywords",
    "is_private_group",
    "is_unknown_public",
    "tag_for_keyword",
    "vr_of",
]

#: (7FE0,0010) Pixel Data: the one tag that reader, writer, admission and the pixel stage each
#: treat apart (its VR is OB or OW by the transfer syntax and Bits Allocated).
PIXEL_DATA: Final = 0x7FE00010

#: Odd groups that are not private (PS3.5 7.1).
NOT_PRIVATE_ODD_GROUPS: Final = frozenset({0x0001, 0x0003, 0x0005, 0x0007, 0xFFFF})


@dataclass(frozen=True)
class AttributeInfo:
    """One data dictionary entry.

    ``tag`` is the tag asked for (for a repeating group, the concrete group, e.g. 0x60023000).
    """

    tag: int
    keyword: str
    vr: str
    vm: str
    name: str
    retired: bool


@cache
def _supplement() -> dict[int, AttributeInfo]:
    """Supplement entries by exact tag (repeating-group keys are kept as masks elsewhere)."""
    out: dict[int, AttributeInfo] = {}
    for key, e in load("dictionary_supplement.json")["tags"].items():
        if "x" in key.lower():
            continue
        tag = int(key, 16)
        out[tag] = AttributeInfo(tag, e["keyword"], e["vr"], e["vm"], e["name"], e["retired"])
    return out


@cache
def _supplement_repeaters() -> dict[str, AttributeInfo]:
    out: dict[str, AttributeInfo] = {}
    for key, e in load("dictionary_supplement.json")["tags"].items():
        if "x" in key.lower():
            base = int(key.lower().replace("x", "0"), 16)
            out[key.lower()] = AttributeInfo(
                base, e["keyword"], e["vr"], e["vm"], e["name"], e["retired"]
            )
    return out


def _mask_matches(mask_key: str, tag: int) -> bool:
    text = f"{tag:08x}"
    return all(m == "x" or m == t for m, t in zip(mask_key.lower(), text, strict=True))


@cache
def _keyword_index() -> dict[str, int]:
    """keyword -> tag; repeating groups map to their lowest group (``OverlayData`` ->
    0x60003000). Supplement entries win over pydicom's."""
    index: dict[str, int] = {}
    for mask, entry in RepeatersDictionary.items():
        keyword = entry[4]
        if keyword:
            index[keyword] = int(mask.lower().replace("x", "0"), 16)
    for keyword, tag in datadict.keyword_dict.items():
        if keyword:
            index[keyword] = tag
    for key, info in _supplement_repeaters().items():
        index[info.keyword] = int(key.replace("x", "0"), 16)
    for tag, info in _supplement().items():
        stale = datadict.keyword_for_tag(tag)
        if stale and stale != info.keyword and index.get(stale) == tag:
            del index[stale]
        index[info.keyword] = tag
    return index


def tag_for_keyword(keyword: str) -> int | None:
    """The tag of a PS3.6 keyword, or None. A repeating-group keyword (``OverlayData``) gives
    the tag in its first group (0x60003000)."""
    return _keyword_index().get(keyword)


@cache
def attribute_info(tag: int) -> AttributeInfo | None:
    """The dictionary entry of ``tag``, or None (private tags, unknown tags).

    Repeating-group tags such as 0x60023000 are found through their mask (``60xx3000``).
    """
    supplement = _supplement().get(tag)
    if supplement is not None:
        return supplement
    for key, info in _supplement_repeaters().items():
        if _mask_matches(key, tag):
            return AttributeInfo(tag, info.keyword, info.vr, info.vm, info.name, info.retired)
    if is_private_group(tag >> 16):
        return None
    entry = DicomDictionary.get(tag)
    if entry is None:
        mask = datadict.mask_match(tag)
        if mask is None:
            return None
        entry = RepeatersDictionary[mask]
    vr, vm, name, retired, keyword = entry
    return AttributeInfo(tag, keyword, vr, vm, name, retired == "Retired")


def vr_of(tag: int) -> str | None:
    """The VR of ``tag`` as PS3.6 writes it (e.g. ``"OB or OW"``), or None if unknown."""
    info = attribute_info(tag)
    return info.vr if info is not None else None


@cache
def all_keywords() -> tuple[str, ...]:
    """Every known keyword, sorted."""
    return tuple(sorted(_keyword_index()))


def closest_keywords(word: str, n: int = 3) -> list[str]:
    """Up to ``n`` known keywords closest to ``word`` (difflib ratio, best first), for
    "did you mean" messages."""
    return difflib.get_close_matches(word, all_keywords(), n=n, cutoff=0.6)


def is_private_group(group: int) -> bool:
    """True for a private group: odd, and not 0001, 0003, 0005, 0007 or FFFF (PS3.5 7.1)."""
    return group % 2 == 1 and group not in NOT_PRIVATE_ODD_GROUPS


#: Groups outside the default removal of unknown elements: the File Meta Information (0002) is
#: rebuilt by the writer, never carried over (PS3.15 E.1).
_REBUILT_GROUPS = frozenset({0x0002})


@cache
def is_unknown_public(tag: int) -> bool:
    """True for a standard (not private) data element that the data dictionary does not
    define: an invented public tag, or one retired before the dictionary's memory.

    Nothing says what such an element holds (it may be a name or a telephone number), so the
    engine removes it unless a rule selects it. Group lengths (gggg,0000) and the rebuilt File
    Meta Information group are not data and are left to their own handling.
    """
    group, number = tag >> 16, tag & 0xFFFF
    if number == 0x0000 or group in _REBUILT_GROUPS or is_private_group(group):
        return False
    return attribute_info(tag) is None
