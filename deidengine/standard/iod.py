"""Attribute Types per IOD, and the resolution of Table E.1-1's compound action codes.

Data: ``data/iod_types.json``, generated from the stored ``iod_attribute_types.json``
(PS3.3/PS3.4). It keeps every Table E.1-1 tag at the top level of each IOD, the nested
paths of the compound-code attributes, and the all-IOD fallbacks for unknown SOP Classes.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from deidengine.standard._data import load
from deidengine.standard.vr_classes import COMPOUND_CODES

__all__ = [
    "COMPOUND_CODES",
    "TYPE_ORDER",
    "attribute_type",
    "ciod_for_sop_class",
    "resolve_compound_action",
    "tag_key",
]

#: Attribute Types, strictest first (PS3.5 7.4).
TYPE_ORDER: tuple[str, ...] = ("1", "1C", "2", "2C", "3")


_SIMPLE_CODES = frozenset({"D", "Z", "X", "U"})

#: For each Type, the options in order of preference: first the one the Type asks for
#: (D keeps a Type 1 attribute valid, Z a Type 2, X a Type 3), then the next options that
#: still keep the object valid, and last the one that leaves the least information.
_PREFERENCE: dict[str, tuple[str, ...]] = {
    "1": ("D", "U", "Z", "X"),
    "2": ("Z", "D", "X"),
    "3": ("X", "Z", "D"),
}


def _data() -> Any:
    return load("iod_types.json")


def tag_key(tag: int) -> str:
    """The 8-character key of a tag; repeating groups 5000-501E/6000-601E (even) take the
    PS3.3 form, e.g. 0x60023000 -> ``60xx3000``."""
    group = tag >> 16
    text = f"{tag:08X}"
    if group % 2 == 0 and (0x6000 <= group <= 0x601E or 0x5000 <= group <= 0x501E):
        return text[:2] + "xx" + text[4:]
    return text


def ciod_for_sop_class(sop_class_uid: str | None) -> str | None:
    """The IOD key (e.g. ``ct-image``) of a SOP Class UID, or None if unknown."""
    if sop_class_uid is None:
        return None
    ciod: str | None = _data()["sop_classes"].get(sop_class_uid.strip().rstrip("\0"))
    return ciod


def _strictest(value: str) -> str:
    """``"1C/U 3/M"`` -> ``"1C"``; a plain ``"2"`` -> ``"2"``."""
    types = [pair.split("/")[0] for pair in value.split()]
    return min(types, key=TYPE_ORDER.index)


# The header stage asks per element (every D sequence, every X/Z/D code): an SR content tree
# asks the same few (SOP Class, tag path) questions hundreds of times. The answer depends on
# the arguments and the stored tables only.
@lru_cache(maxsize=1 << 14)
def attribute_type(sop_class_uid: str | None, tag_path: tuple[int, ...]) -> str | None:
    """The strictest Type (``"1"``, ``"1C"``, ``"2"``, ``"2C"`` or ``"3"``) of an attribute.

    ``tag_path`` is the attribute's tag, preceded by the tags of the Sequences that hold it
    (items are not part of the path). A single tag is looked up among the IOD's top-level
    attributes; a longer path under the IOD's nested ``SEQ/.../TAG`` keys, which the data holds
    only for compound-code attributes (a non-compound nested path gives None).

    For a SOP Class the data does not know (or None), the strictest Type over all IODs is used
    (top-level or any depth). None means the attribute is not in the IOD.

    Strictest ranks 1 < 1C < 2 < 2C < 3 regardless of conditions and Module usage: whether a
    1C/2C condition holds, or a User-optional Module is present, is not evaluated.
    """
    if not tag_path:
        raise ValueError("empty tag path")
    data = _data()
    key = "/".join(tag_key(t) for t in tag_path)
    ciod = ciod_for_sop_class(sop_class_uid)
    if ciod is not None and ciod in data["ciods"]:
        table = data["ciods"][ciod]["types" if len(tag_path) == 1 else "nested"]
        value = table.get(key)
    elif len(tag_path) == 1:
        value = data["fallback_top_level"].get(key)
    else:
        value = data["fallback_any_depth"].get(tag_key(tag_path[-1]))
    return None if value is None else _strictest(value)


def resolve_compound_action(code: str, sop_class_uid: str | None, tag_path: tuple[int, ...]) -> str:
    """Resolve a Table E.1-1a code to one of ``"D"``, ``"Z"``, ``"X"``, ``"U"`` for one file.

    Simple codes D, Z, X, U are returned unchanged. For a compound code the attribute's Type
    (see :func:`attribute_type`) picks the option (PS3.15 Table E.1-1a):

    * Type 1/1C -> D (``U`` under ``X/Z/U*``, where the Sequence is Type 1/1C);
    * Type 2/2C -> Z;
    * Type 3, or not in the IOD -> X.

    The compound's own letters bound the choice. When the preferred option is not among them,
    the allowed option that still keeps the object valid is taken, else the one that keeps the
    least information: ``X/Z`` on Type 1 -> Z (D is not allowed; Z is the closest to valid),
    ``X/D`` on Type 2 -> D (an empty value is not allowed; D keeps the object valid),
    ``Z/D`` on Type 3 -> Z (removal is not allowed; empty keeps the least).

    Raises ValueError for K, C or any other code.
    """
    if code in _SIMPLE_CODES:
        return code
    if code not in COMPOUND_CODES:
        raise ValueError(f"not a D/Z/X/U or compound action code: {code!r}")
    allowed = {letter.rstrip("*") for letter in code.split("/")}
    kind = attribute_type(sop_class_uid, tag_path)
    preference = _PREFERENCE["3" if kind is None else kind[0]]
    for option in preference:
        if option in allowed:
            return option
    raise AssertionError(f"no option for {code!r}")  # pragma: no cover
