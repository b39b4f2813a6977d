"""The free-text stage as the header stage's cleaner (deidengine.text.header).

The header stage (dicom/, a layer below text/) receives the cleaner in its EngineContext: what
it asks for each value (every category or a scrub rule's, strict or not, a coded term or free
text) must reach the stage unchanged, and the stage's answer must come back unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from deidengine.dicom.apply import EngineContext, apply_plan
from deidengine.dicom.free_text import CleanedText
from deidengine.dicom.identifiers import IdentifyingValues, collect_identifying_values
from deidengine.dicom.keys import ProjectSecret
from deidengine.dicom.scrub import ScrubCategory
from deidengine.policy import load_plan
from deidengine.text import Category, Source, Strictness, Verdict, clean_value
from deidengine.text.header import clean_header_text
from deidengine.text.stage import categories_of

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
NOTE = "follow-up for ZOUAVE, call 555-867-5309"


@pytest.fixture(scope="module")
def identifying() -> IdentifyingValues:
    dataset = Dataset()
    dataset.PatientName = "ZOUAVE^QUILLA"
    return collect_identifying_values(dataset)


@pytest.mark.parametrize(
    ("scrub", "categories"),
    [
        (None, frozenset(Category)),
        (frozenset({ScrubCategory.PHONE}), frozenset({Category.PHONE})),
        (frozenset({ScrubCategory.NAMES}), frozenset({Category.NAME, Category.INSTITUTION})),
    ],
    ids=["every-category", "phone", "names"],
)
@pytest.mark.parametrize("strict", [False, True])
def test_the_cleaner_is_the_stage_with_the_rules_settings(
    scrub: frozenset[ScrubCategory] | None,
    categories: frozenset[Category],
    strict: bool,
    identifying: IdentifyingValues,
) -> None:
    if scrub is not None:
        assert categories_of(scrub) == categories
    strictness = Strictness.STRICT if strict else Strictness.DEFAULT
    expected = clean_value(NOTE, identifying, strictness, categories)
    got = clean_header_text(NOTE, identifying, scrub=scrub, strict=strict, coded=False)
    assert got == CleanedText(expected.text, expected.reason.value)


def test_only_the_files_own_values_are_masked_in_a_coded_term(
    identifying: IdentifyingValues,
) -> None:
    value = "ZOUAVE 555-867-5309"
    got = clean_header_text(value, identifying, scrub=None, strict=False, coded=True)
    expected = clean_value(
        value, identifying, Strictness.DEFAULT, frozenset(Category), frozenset({Source.HEADER})
    )
    assert got == CleanedText(expected.text, expected.reason.value)
    assert got.text == "*** 555-867-5309"  # the name, not the phone-shaped code


def test_strict_removes_what_it_cannot_read_and_says_why() -> None:
    got = clean_header_text("患者メモ", IdentifyingValues(), scrub=None, strict=True, coded=False)
    assert got == CleanedText(None, Verdict.UNANALYSABLE_SCRIPT.value)
    assert repr(got) == "CleanedText(removed, unanalysable-script)"


@dataclass
class Recording:
    """The real cleaner, recording what the header stage asked of it (settings, not values)."""

    asked: list[tuple[frozenset[ScrubCategory] | None, bool, bool]] = field(default_factory=list)

    def __call__(
        self,
        text: str,
        identifying: IdentifyingValues,
        *,
        scrub: frozenset[ScrubCategory] | None,
        strict: bool,
        coded: bool,
    ) -> CleanedText:
        self.asked.append((scrub, strict, coded))
        return clean_header_text(text, identifying, scrub=scrub, strict=strict, coded=coded)


def test_the_header_stage_asks_the_cleaner_it_is_given(tmp_path: Path) -> None:
    policy = tmp_path / "asks.policy"
    policy.write_text(
        "policy asks\n"
        "(0008,1030) StudyDescription -> C\n"
        "(0008,103E) SeriesDescription -> scrub strict phone\n"
        "(0008,1032) ProcedureCodeSequence -> C\n",
        encoding="utf-8",
    )
    plan = load_plan(str(policy))
    dataset = Dataset()
    dataset.SOPClassUID = CT_IMAGE
    dataset.PatientName = "ZOUAVE^QUILLA"
    dataset.StudyDescription = NOTE
    dataset.SeriesDescription = NOTE
    code = Dataset()
    code.CodeValue = "ZOUAVE"
    dataset.ProcedureCodeSequence = Sequence([code])
    cleaner = Recording()
    context = EngineContext(plan=plan, secret=ProjectSecret(b"k" * 32), text_cleaner=cleaner)
    identifying = collect_identifying_values(dataset)
    apply_plan(dataset, context, identifying)
    assert cleaner.asked == [
        (None, False, False),  # C on Study Description: every category
        (frozenset({ScrubCategory.PHONE}), True, False),
        (None, False, True),  # a code value in a cleaned sequence: a coded term
    ]
    assert dataset.StudyDescription == "follow-up for ***, call ***"
    assert dataset.SeriesDescription == "follow-up for ZOUAVE, call ***"
    assert dataset.ProcedureCodeSequence[0].CodeValue == "***"
