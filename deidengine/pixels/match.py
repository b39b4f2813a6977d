"""Deciding whether OCR text identifies the patient, leniently.

OCR output is noisy (``^`` read as ``~`` or dropped, ``O``/``0`` swapped, spaces lost, ``M``
read as ``H``), so on top of the scrubber's exact patterns and the file's own values
(:func:`deidengine.dicom.scrub.find_identifying_text`) the text is compared in a compact form:
ASCII letters and digits only, lower case, look-alike characters folded together, and each
identifying value of 5 or more characters may match with one edit.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

from deidengine.dicom.identifiers import IdentifyingValues
from deidengine.dicom.scrub import ALL_CATEGORIES, find_identifying_text
from deidengine.text import Category, find_identifiers

__all__ = ["compact", "is_identifying_text", "matches_value"]

#: Characters OCR confuses, folded to one representative on both sides of a comparison.
_LOOKALIKES: Final = str.maketrans({"o": "0", "q": "0", "i": "1", "l": "1", "s": "5", "z": "2"})
_NOT_ALNUM: Final = re.compile(r"[^a-z0-9]+")
_NON_ASCII: Final = re.compile(r"[^\x20-\x7e]+")

#: Patterns the scrubber does not treat as identifying on their own in free text, but which on
#: a burned-in overlay mark patient annotations: times of day and field labels.
_OVERLAY_PATTERNS: Final = (
    re.compile(r"(?<!\d)\d{1,2}\s*[:.]\s*\d{2}(?:\s*[:.]\s*\d{2})?(?!\d)"),
    re.compile(r"\b(?:ID|MRN|DOB|D\.O\.B|Name|Patient|Pat|Birth|Acc)\b", re.IGNORECASE),
    re.compile(r"\d{6,}"),
)

#: What the free-text stage looks for in recognised text, beyond the scrubber's patterns.
OCR_TEXT_CATEGORIES: Final = frozenset({Category.NAME, Category.INSTITUTION})
MINIMUM_VALUE_LENGTH: Final = 3
FUZZY_VALUE_LENGTH: Final = 5


def compact(text: str) -> str:
    """Lower-case ASCII letters and digits of ``text``, look-alikes folded."""
    return _NOT_ALNUM.sub("", text.lower()).translate(_LOOKALIKES)


def _within_one_edit(needle: str, haystack: str) -> bool:
    """True when ``needle`` occurs in ``haystack`` with at most one edit (Sellers' algorithm)."""
    if needle in haystack:
        return True
    previous = [0] * (len(haystack) + 1)
    for index, character in enumerate(needle, start=1):
        current = [index] + [0] * len(haystack)
        for column, other in enumerate(haystack, start=1):
            current[column] = min(
                previous[column - 1] + (character != other),
                previous[column] + 1,
                current[column - 1] + 1,
            )
        previous = current
    return min(previous) <= 1


@lru_cache(maxsize=64)
def _needles(values: frozenset[str]) -> tuple[str, ...]:
    needles = {compact(value) for value in values}
    return tuple(sorted(n for n in needles if len(n) >= MINIMUM_VALUE_LENGTH))


def matches_value(text: str, identifying: IdentifyingValues) -> bool:
    haystack = compact(text)
    if not haystack:
        return False
    for needle in _needles(identifying.values):
        if needle in haystack:
            return True
        if len(needle) >= FUZZY_VALUE_LENGTH and _within_one_edit(needle, haystack):
            return True
    return False


def is_identifying_text(text: str, identifying: IdentifyingValues) -> bool:
    """True when recognised ``text`` states an identifying value or looks like one.

    Identifying: the file's own values (names and their parts, IDs, dates in written forms,
    phones, addresses), leniently; the scrubber's patterns (dates, phone numbers, MRN-like
    digit runs, labelled IDs, e-mail, ...); times of day and labels such as ``ID``, ``MRN``,
    ``DOB`` and ``Name``; names and institutions the free-text stage finds by cue or shape.
    """
    # The OCR model's dictionary includes CJK glyphs it emits for icons; they carry nothing.
    text = _NON_ASCII.sub(" ", text)
    if not text.strip():
        return False
    if find_identifying_text(text, identifying, ALL_CATEGORIES):
        return True
    # Names no header states ("DR OKAFOR", "Smith, Ann"): the free-text stage's recognisers.
    if find_identifiers(text, categories=OCR_TEXT_CATEGORIES).spans:
        return True
    if any(pattern.search(text) for pattern in _OVERLAY_PATTERNS):
        return True
    return matches_value(text, identifying)
