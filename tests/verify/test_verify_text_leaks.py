"""The leak scan reads kept free text with the text stage: a name left behind is a leak."""

from __future__ import annotations

from pydicom.dataset import Dataset

from deidengine.dicom.identifiers import IdentifyingValues
from deidengine.verify.leaks import LeakFinding, find_leaks

STUDY_DESCRIPTION = 0x00081030
MANUFACTURER = 0x00080070


def output(description: str, manufacturer: str = "Manufacturer name here") -> Dataset:
    ds = Dataset()
    ds.StudyDescription = description
    ds.Manufacturer = manufacturer
    ds.Modality = "CT"
    return ds


UNTOUCHED = frozenset({((), MANUFACTURER)})


def test_a_name_left_in_cleaned_text_is_a_leak_of_kind_name() -> None:
    # No header value names her: only the text stage can see it.
    found = find_leaks(
        output("MR KNEE LT - PER WIFE INGEBORG THORVALDSEN"),
        IdentifyingValues(),
        untouched=UNTOUCHED,
    )
    assert found == (LeakFinding("(0008,1030)", "name"),)
    assert found[0].described == "(0008,1030) (name)"
    assert "THORVALDSEN" not in repr(found)


def test_the_verification_is_more_sensitive_than_cleaning() -> None:
    # A lone capitalised lexicon name with no cue: only the verification setting reads it
    # from the lexicon alone.
    from deidengine.text import Source, Strictness, find_identifiers

    text = "Findings reviewed, Lindgren concurs"
    assert find_leaks(output(text), IdentifyingValues(), untouched=UNTOUCHED)

    def sources(strictness: Strictness) -> frozenset[Source]:
        spans = find_identifiers(text, strictness=strictness).spans
        return frozenset().union(*(s.sources for s in spans))

    assert Source.LEXICON in sources(Strictness.VERIFY)
    assert Source.LEXICON not in sources(Strictness.DEFAULT)


def test_clinical_text_and_device_facts_are_not_leaks() -> None:
    assert find_leaks(output("CT HEAD WO CONTRAST"), IdentifyingValues(), untouched=UNTOUCHED) == ()
    assert (
        find_leaks(
            output("CT HEAD", "Kuratorium OFFIS e.V."), IdentifyingValues(), untouched=UNTOUCHED
        )
        == ()
    )


def test_masks_are_not_leaks() -> None:
    assert (
        find_leaks(output("CT HEAD - FOR DR ***"), IdentifyingValues(), untouched=UNTOUCHED) == ()
    )
