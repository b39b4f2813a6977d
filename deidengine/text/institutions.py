"""Institutions, employers and places named in free text.

An institution is a run of capitalised words ending in a word such as ``Hospital``,
``Clinic`` or ``Medical Center`` (``St Mary's Hospital``, ``MERCY GENERAL HOSPITAL``); an
employer or a place is what follows a cue such as ``works at``, ``employed by`` or
``lives in``, up to the first clinical or plain word.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from deidengine.text.spans import Category
from deidengine.text.vocabulary import clinical_words, plain_words

_KIND_WORD: Final = (
    r"(?:hospital|hospitals|clinic|clinics|infirmary|medical\s+cent(?:er|re)|health\s+system|"
    r"health\s+cent(?:er|re)|healthcare|health|imaging\s+cent(?:er|re)|cancer\s+cent(?:er|re)|"
    r"university|college|school|institute|sanatorium|hospice|nursing\s+home|care\s+home|"
    r"inc|llc|ltd|plc|gmbh|corp|corporation|company|co|group|bank|factory|mill|mills)\b\.?"
    r"(?!-)"  # "Co-occurrence" is no company
)
_CAPITALISED_WORD: Final = r"(?:St\.?|Saint|[A-Z][\w'\u2019&\-]*)"
_INSTITUTION: Final = re.compile(
    rf"\b(?:{_CAPITALISED_WORD}\s+){{1,5}}(?i:{_KIND_WORD})"
    rf"(?:\s+(?i:of)\s+{_CAPITALISED_WORD}(?:\s+{_CAPITALISED_WORD})?)?"
)
_CUE: Final = re.compile(
    r"\b(?:works?\s+(?:at|for)|worked\s+(?:at|for)|employed\s+(?:by|at)|employer:?|"
    r"employee\s+of|job\s+at|lives\s+in|living\s+in|resides\s+in|resident\s+of|"
    r"moved\s+from|born\s+in|visiting\s+from|transferred\s+from|outside\s+films\s+from|"
    r"prior\s+(?:study|exam|imaging)\s+(?:at|from))\s+",
    re.IGNORECASE,
)
_CUE_CATEGORY: Final = {
    "live": Category.ADDRESS,
    "resid": Category.ADDRESS,
    "moved": Category.ADDRESS,
    "born": Category.ADDRESS,
    "visit": Category.ADDRESS,
}
_WORD: Final = re.compile(r"[^\W\d_][\w'\u2019&\-]*")


def _category_of(cue: str) -> Category:
    lowered = cue.lower()
    for stem, category in _CUE_CATEGORY.items():
        if lowered.startswith(stem):
            return category
    return Category.INSTITUTION


def _institution_word(word: str) -> bool:
    # "CT", "MRI" and "Emergency" can precede "Department" but not "Hospital": only a word the
    # clinical vocabulary does not hold counts as part of a name of a place.
    lower = word.lower().rstrip(".")
    return lower in ("st", "saint") or lower not in clinical_words()


def institution_spans(text: str) -> Iterator[tuple[int, int, Category]]:
    """``(start, end, category)`` of institutions, employers and places."""
    for match in _INSTITUTION.finditer(text):
        words = match[0].split()
        if any(_institution_word(w) for w in words[:-1]):
            yield match.start(), match.end(), Category.INSTITUTION
    mixed = any(c.islower() for c in text)
    for cue in _CUE.finditer(text):
        end = start = cue.end()
        for word in _WORD.finditer(text, start):
            if text[end : word.start()].strip():
                break
            lower = word[0].lower()
            # In mixed case a capital marks a proper name even when it is a plain word
            # ("Brightwater Logistics"); in upper case only an unknown word can be one.
            if mixed and not word[0][0].isupper():
                break
            if not mixed and lower in plain_words():
                break
            if lower in clinical_words() and lower not in ("st", "saint"):
                break
            end = word.end()
        if end > start:
            yield start, end, _category_of(cue[0])
