"""The leak scan's prefilter: non-ASCII punctuation and symbols read as separators.

A text holding one ``§`` used to take the slow path (the whole deny-list compiled for the
file); :func:`deidengine.verify.leaks._guardable` replaces such characters so the text is
searched through the cached ASCII path. These tests pin that the findings stay the same: a
value beside such characters, a value spelled with non-ASCII letters, and a value matched
only through a case-insensitive partner of a non-letter are all still found.
"""

from __future__ import annotations

import pytest
from pydicom.dataset import Dataset

from deidengine.dicom.identifiers import collect_identifying_values
from deidengine.verify.leaks import JOINT, LeakFinding, _guardable, find_leaks

STUDY_DESCRIPTION = "(0008,1030)"


def _leaks(name: str, description: str) -> tuple[LeakFinding, ...]:
    original = Dataset()
    original.PatientName = name
    output = Dataset()
    output.SpecificCharacterSet = "ISO_IR 192"
    output.StudyDescription = description
    return find_leaks(output, collect_identifying_values(original))


@pytest.mark.parametrize(
    ("name", "description"),
    [
        ("QUIRINUS^HELOISE", "Follow-up §QUIRINUS° scan"),
        ("QUIRINUS^HELOISE", "QUIRINUS\u2013HELOISE \u00a7 2"),
        ("MÜLLER^HELOISE", "§ seen by müller °"),
        # U+0345, a combining mark, matches a Greek iota case-insensitively: it must be kept.
        ("\u039a\u039b\u0395\u0399\u03a9^ANNA", "§ \u039a\u039b\u0395\u0345\u03a9"),
    ],
)
def test_a_value_beside_non_ascii_symbols_is_found(name: str, description: str) -> None:
    assert _leaks(name, description) == (LeakFinding(STUDY_DESCRIPTION),)


@pytest.mark.parametrize(
    "description", ["§ routine °", "Kontrolle § 12", "\u039a\u039b\u0395\u0399 § \u03a9"]
)
def test_a_text_without_the_value_has_no_finding(description: str) -> None:
    assert _leaks("QUIRINUS^HELOISE", description) == ()


def test_only_neutral_characters_are_replaced() -> None:
    assert _guardable("a§b°c\u00a0d") == f"a{JOINT}b{JOINT}c{JOINT}d"
    kept = "Müµß\u0345Ⓐé"
    assert _guardable(kept) == kept
    assert _guardable("plain ASCII") == "plain ASCII"
