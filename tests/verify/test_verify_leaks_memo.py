"""The leak scan's memo of what the text stage finds in kept free text: the same kinds as the
text stage's own answer, for the text and the scope it was asked about only."""

from __future__ import annotations

from deidengine.text import Category, Strictness, find_identifiers
from deidengine.verify.leaks import (
    _FREE_TEXT_KINDS,
    UNTOUCHED_SOURCES,
    VERIFIED_CATEGORIES,
    _free_text_kinds,
)

#: A lone name from the lexicon (the verification setting finds it, no cue needed), a name
#: behind a cue, a device's description.
TEXTS = ("John", "Dr. Quirinus Abernathy", "CT HEAD W/O CONTRAST", "Hôpital Saint-Jean")


def _direct(text: str, untouched: bool) -> tuple[str, ...]:
    findings = find_identifiers(
        text,
        strictness=Strictness.VERIFY,
        categories=VERIFIED_CATEGORIES,
        sources=UNTOUCHED_SOURCES if untouched else None,
    )
    return tuple(sorted({span.category.value for span in findings.spans}))


def test_remembered_kinds_are_the_text_stage_s() -> None:
    _FREE_TEXT_KINDS.clear()
    for _ in range(2):  # asked, then remembered
        for text in TEXTS:
            for untouched in (False, True):
                assert _free_text_kinds(text, untouched) == _direct(text, untouched)
    assert _free_text_kinds("Dr. Quirinus Abernathy", True) == (Category.NAME.value,)
    # A lone lexicon name counts where a rule kept the text, not where none selected it.
    assert _free_text_kinds("John", False) == (Category.NAME.value,)
    assert _free_text_kinds("John", True) == ()
