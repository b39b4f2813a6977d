"""Keyed pseudonyms, keyed hashes and ZIP code truncation.

A pseudonym is a template such as ``"SUBJ-{hmac:8}"`` whose ``{hmac:N}`` placeholders are
filled with upper-case base32 characters (A-Z, 2-7; 5 bits each) of the value's keyed digest.
Base32 upper-case is valid in every text VR including CS. The digest does not depend on the
template or the VR, so one patient's ID yields the same hash characters wherever it is
pseudonymised, and the same value always gets the same pseudonym.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from deidengine.dicom.keys import ProjectSecret, keyed_digest
from deidengine.dicom.vr import CODE_STRING_CHARACTERS, maximum_length

__all__ = [
    "DEFAULT_HASH_CHARACTERS",
    "DEFAULT_TEMPLATE",
    "MAXIMUM_HASH_CHARACTERS",
    "keyed_hash",
    "pseudonym",
    "truncate_zip",
    "zip3_prefix",
]

DEFAULT_TEMPLATE: Final = "{hmac:10}"
DEFAULT_HASH_CHARACTERS: Final = 10
#: Base32 of a 256-bit digest, without its padding.
MAXIMUM_HASH_CHARACTERS: Final = 52

_PLACEHOLDER: Final = re.compile(r"\{hmac(?::(\d+))?\}")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
_ZIP_CODE: Final = re.compile(r"(?<!\d)(\d{3})\d{2}(?:-\d{4})?(?!\d)")


@dataclass(frozen=True)
class _Template:
    literals: tuple[str, ...]  # one more than placeholders: text before, between, after
    lengths: tuple[int, ...]  # hash characters each placeholder asks for


def _parse_template(template: str, vr: str) -> _Template:
    literals: list[str] = []
    lengths: list[int] = []
    position = 0
    for match in _PLACEHOLDER.finditer(template):
        literals.append(template[position : match.start()])
        lengths.append(int(match[1]) if match[1] else DEFAULT_HASH_CHARACTERS)
        position = match.end()
    literals.append(template[position:])
    if not lengths:
        raise ValueError(f"pseudonym template {template!r} has no {{hmac:N}} placeholder")
    if any(length < 1 for length in lengths) or sum(lengths) > MAXIMUM_HASH_CHARACTERS:
        raise ValueError(
            f"pseudonym template {template!r}: placeholders must ask for 1 to "
            f"{MAXIMUM_HASH_CHARACTERS} characters in all"
        )
    literal = "".join(literals)
    if "{" in literal or "}" in literal:
        raise ValueError(f"pseudonym template {template!r} has a malformed placeholder")
    if "\\" in literal or _CONTROL.search(literal):
        raise ValueError(f"pseudonym template {template!r} has a character no value may hold")
    if vr == "CS" and not CODE_STRING_CHARACTERS.fullmatch(literal):
        raise ValueError(
            f"pseudonym template {template!r} is not valid for CS "
            "(upper-case letters, digits, space, underscore)"
        )
    return _Template(tuple(literals), tuple(lengths))


def _fit(lengths: Sequence[int], room: int) -> list[int]:
    """Shorten placeholders, the last first, until they fit in ``room`` characters."""
    fitted = list(lengths)
    excess = sum(fitted) - room
    for index in reversed(range(len(fitted))):
        if excess <= 0:
            break
        cut = min(excess, fitted[index])
        fitted[index] -= cut
        excess -= cut
    return fitted


def pseudonym(
    secret: ProjectSecret, value: str, template: str = DEFAULT_TEMPLATE, vr: str = "LO"
) -> str:
    """The keyed pseudonym of ``value`` under ``template``, fitted to ``vr``'s maximum length.

    When the template is longer than the VR allows, the hash characters are shortened (the
    last placeholder first); the literal text is never cut. Leading and trailing spaces and
    NUL padding of ``value`` are not significant and are ignored. PN is held to 64 characters
    for the whole value, which keeps every component group within its limit.

    Raises:
        ValueError: the template has no placeholder, is malformed, holds characters invalid
            for ``vr``, or leaves no room for any hash character. The message shows the
            template (policy text), never the value.
    """
    parsed = _parse_template(template, vr)
    limit = maximum_length(vr)
    lengths: Sequence[int] = parsed.lengths
    if limit is not None:
        room = limit - sum(len(literal) for literal in parsed.literals)
        lengths = _fit(parsed.lengths, room)
        if sum(lengths) == 0:
            raise ValueError(
                f"pseudonym template {template!r} leaves no room for the hash within "
                f"the {limit} characters of {vr}"
            )
    digest = keyed_digest(secret, "pseudonym", value.strip(" \x00"))
    characters = base64.b32encode(digest).decode("ascii").rstrip("=")
    pieces = [parsed.literals[0]]
    start = 0
    for length, literal in zip(lengths, parsed.literals[1:], strict=True):
        pieces.append(characters[start : start + length])
        pieces.append(literal)
        start += length
    return "".join(pieces)


def keyed_hash(secret: ProjectSecret, value: str, n: int = 16) -> str:
    """``n`` upper-case hex digits of the keyed digest of ``value`` (1 <= n <= 64).

    Upper case so the result is valid in CS as in every other text VR.
    """
    if not 1 <= n <= 64:
        raise ValueError("a keyed hash has 1 to 64 hex digits")
    return keyed_digest(secret, "hash", value.strip(" \x00")).hex()[:n].upper()


def zip3_prefix(text: str, restricted: frozenset[str]) -> str:
    """The three-digit prefix of the first ZIP code in ``text`` (``000`` when restricted), or
    ``""`` when there is none: what ``truncate-zip`` leaves of an address."""
    match = _ZIP_CODE.search(text)
    if match is None:
        return ""
    return "000" if match[1] in restricted else match[1]


def truncate_zip(text: str, restricted: frozenset[str]) -> str:
    """Truncate every US ZIP code in ``text`` to its first three digits (Safe Harbor (B)).

    ``12345`` and ``12345-6789`` become ``12300``; a ZIP whose three-digit prefix is in
    ``restricted`` (areas of 20,000 people or fewer, from the Census data the caller loads)
    becomes ``00000``. Any standalone run of exactly five digits is taken for a ZIP code: a
    five-digit house number in an address is cut as well, which over-protects but never leaks.
    """

    def truncated(match: re.Match[str]) -> str:
        prefix = match[1]
        return "00000" if prefix in restricted else f"{prefix}00"

    return _ZIP_CODE.sub(truncated, text)
