"""``contains_in_within``: a part of a deny-list searched through the whole list's guard gives
``contains_in``'s answer, on the texts the guard rules values in and out of."""

from __future__ import annotations

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
