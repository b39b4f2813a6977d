"""Describing elements without their meaning: a value read as text, and where an element is.

Shared by the header stage, the leak scan and the verifier, so that what one writes and what
the others read agree to the character.
"""

from __future__ import annotations

from pydicom.multival import MultiValue

#: An element's place: the (sequence tag, item index) steps from the dataset's root.
ElementPath = tuple[tuple[int, int], ...]


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
