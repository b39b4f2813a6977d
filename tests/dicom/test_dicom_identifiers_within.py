"""``contains_in_within``: a part of a deny-list searched through the whole list's guard gives
``contains_in``'s answer, on the texts the guard rules values in and out of."""

from __future__ import annotations

import random
import re

import pytest
from pydicom.dataset import Dataset

from deidengine.dicom.identifiers import (
    IdentifyingValues,
    collect_identifying_values,
    contains_in_within,
)
from deidengine.verify.leaks import patient_borne_values


def _identifying() -> IdentifyingValues:
    dataset = Dataset()
    dataset.PatientName = "QUIRINUS^HELOISE"
    dataset.PatientID = "MRN4471902"
    dataset.PatientBirthDate = "19730513"
    dataset.InstitutionName = "Saint Aldric Infirmary"
    dataset.StationName = "CTSCAN07"
    dataset.PatientTelephoneNumbers = "555-123-4567"
    return collect_identifying_values(dataset)


TEXTS = (
    "",
    "routine follow-up",
    "seen by Dr quirinus on the ward",
    "Heloise, born 13 May 1973",
    "born 05/13/1973, id MRN4471902",
    "ref MRN-4471902",
    "MRN44719020 is another number",
    "scanned at Saint Aldric Infirmary on CTSCAN07",
    "call 555 123 4567",
    "Kontrolle § Quirinus °",  # not ASCII: every value is searched
    "QUIRİNUS",  # a dotted capital I: no ASCII equivalent for the guard
    "1973",
)


@pytest.mark.parametrize("text", TEXTS)
def test_a_part_searched_within_the_whole_answers_as_contains_in(text: str) -> None:
    whole = _identifying()
    for part in (patient_borne_values(whole), whole, IdentifyingValues(ids=whole.ids)):
        assert part.values <= whole.values
        assert contains_in_within(part, text, whole) == part.contains_in(text)


def test_the_answers_differ_where_the_part_lacks_a_value() -> None:
    whole = _identifying()
    part = patient_borne_values(whole)  # no IDs, stations or institutions
    assert whole.contains_in("ref MRN-4471902")
    assert not contains_in_within(part, "ref MRN-4471902", whole)
    assert contains_in_within(part, "Heloise, born 13 May 1973", whole)
    assert not contains_in_within(IdentifyingValues(), "Heloise", whole)


def _texts_near(values: frozenset[str], count: int, seed: int) -> list[str]:
    """Texts made of the values' own tokens, joined and cut in ways that match and ways that
    nearly match (a token missing, digits run on, a letter glued on, another case)."""
    rng = random.Random(seed)
    pool = sorted(values)
    pieces = ["", " ", "-", "/", ".", ",", "  ", "x", "7", "0", "th", "§", "\u0130", "\u0131"]
    texts = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(1, 3)):
            tokens = re.findall(r"\d+|[^\W\d_]+", rng.choice(pool))
            if len(tokens) > 1 and rng.random() < 0.4:
                tokens.pop(rng.randrange(len(tokens)))
            parts.append("".join(token + rng.choice(pieces) for token in tokens))
        text = rng.choice(pieces).join(parts)
        texts.append(text.upper() if rng.random() < 0.3 else text)
    return texts


def test_the_answer_is_contains_in_on_texts_made_of_the_values() -> None:
    whole = _identifying()
    parts = (whole, patient_borne_values(whole), IdentifyingValues(dates=whole.dates))
    found = 0
    for text in _texts_near(whole.values, 1500, seed=16):
        for part in parts:
            expected = part.contains_in(text)
            found += expected
            assert contains_in_within(part, text, whole) == expected, text
    assert found > 200  # the texts exercise both answers
