"""The VR of an element whose header does not say it, chosen as pydicom chooses.

Implicit VR files carry no VR; pydicom looks it up when it converts a raw element
(``pydicom.hooks.raw_element_vr``), and an explicit ``UN`` is replaced by the dictionary's VR
(``config.replace_un_with_known_vr``). The reader applies the same rules here so that its rows
and pydicom's elements agree:

- a public tag: the data dictionary's VR (repeating groups included);
- a private creator (gggg,0010-00FF in an odd group): ``LO``;
- a private element with a creator the private dictionary knows: that dictionary's VR;
- any other private element: ``UN``; an unknown group length (gggg,0000): ``UL``; else ``UN``;
- an explicit ``UN`` with a public tag the dictionary knows, when its value is shorter than
  64 KiB: the dictionary's VR.

**Ambiguous VRs** (``'US or SS'``, ``'OB or OW'``, ``'US or OW'``, ``'US or SS or OW'``) are
reported in the row as the dictionary spells them; they arise only where the header names no
VR (implicit VR) or names ``UN``. Their resolution depends on other elements of the data set,
possibly later in the file, so the reader does not resolve them (that would take a second
pass); :func:`deidengine.core.values.resolved_vr` does on request, with pydicom's rule
(``pydicom.filewriter.correct_ambiguous_vr_element``):

- Pixel Data: ``OB`` for an undefined length, ``OW`` in implicit VR, else by Bits Allocated;
- the ``'US or SS'`` tags (smallest and largest pixel values, pixel padding, ...): ``US`` when
  Pixel Representation is 0 in the data set, or in the nearest enclosing one pydicom hands it
  down from (through defined-length sequences), ``SS`` when it is anything else; with none,
  ``US`` unless the data set holds Pixel Data;
- the waveform ``'OB or OW'`` tags: ``OW`` in implicit VR, else by Waveform Bits Allocated;
- LUT Data (``'US or OW'``): ``US`` when the LUT Descriptor's first value is 1, else ``OW``;
- Overlay Data: ``OW``.

The differential test holds the resolved VR to pydicom's, element by element.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

from pydicom.datadict import dictionary_VR, private_dictionary_VR

__all__ = [
    "AMBIGUOUS",
    "explicit_un_vr",
    "implicit_vr",
    "is_private",
    "is_private_creator",
    "is_sequence_tag",
    "private_vr",
    "public_vr",
]

AMBIGUOUS: Final = frozenset({"US or SS", "OB or OW", "US or OW", "US or SS or OW"})
#: An explicit UN longer than this keeps UN: its value may not fit the dictionary VR's 2-byte
#: length field, so pydicom does not replace it.
UN_REPLACEMENT_LIMIT: Final = 0xFFFF


@lru_cache(maxsize=8192)
def public_vr(tag: int) -> str | None:
    """The data dictionary's VR for ``tag`` (repeating groups included), None when unknown."""
    try:
        return str(dictionary_VR(tag))
    except KeyError:
        return None


@lru_cache(maxsize=4096)
def _private_vr(tag: int, creator: str) -> str:
    try:
        return str(private_dictionary_VR(tag, creator))
    except KeyError:
        return "UN"


def is_private(tag: int) -> bool:
    """Odd groups are private (PS3.5 7.8)."""
    return bool((tag >> 16) & 1)


def is_private_creator(tag: int) -> bool:
    """(gggg,0010-00FF) in an odd group reserves a block of private elements."""
    return is_private(tag) and 0x10 <= (tag & 0xFFFF) <= 0xFF


def private_vr(tag: int, creator: str | None) -> str:
    """A private element's VR: ``LO`` for a creator, the private dictionary's, else ``UN``."""
    if is_private_creator(tag):
        return "LO"
    if creator and tag & 0xFF00:
        return _private_vr(tag, creator)
    return "UN"


@lru_cache(maxsize=16384)  # the reader asks per element of an implicit VR file
def implicit_vr(tag: int, creator: str | None) -> str:
    """The VR pydicom gives an element read in implicit VR."""
    public = public_vr(tag)
    if public is not None:
        return public
    if is_private(tag):
        return private_vr(tag, creator)
    if tag & 0xFFFF == 0:
        return "UL"
    return "UN"


def explicit_un_vr(tag: int, creator: str | None, length: int) -> str:
    """The VR pydicom gives an element written with an explicit ``UN``."""
    if is_private(tag):
        return private_vr(tag, creator)
    if length < UN_REPLACEMENT_LIMIT:
        return public_vr(tag) or "UN"
    return "UN"


def is_sequence_tag(tag: int) -> bool:
    """Whether the dictionary gives ``tag`` the VR SQ."""
    return public_vr(tag) == "SQ"
