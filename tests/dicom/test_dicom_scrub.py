"""Finding and masking identifying text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydicom.dataset import Dataset

from deidengine.dicom.identifiers import IdentifyingValues, collect_identifying_values
from deidengine.dicom.scrub import (
    ALL_CATEGORIES,
    ScrubCategory,
    ScrubResult,
    find_identifying_text,
    scrub_text,
)


def jane_doe() -> IdentifyingValues:
    ds = Dataset()
    ds.PatientName = "DOE^JANE"
    ds.PatientID = "PAT12345"
    ds.PatientBirthDate = "19620315"
    ds.PatientTelephoneNumbers = "555-123-4567"
    ds.PatientAddress = "42 Elm Road, Hanover"
    ds.InstitutionName = "St Elsewhere Hospital"
    return collect_identifying_values(ds)


IDENTIFYING = jane_doe()
NOTHING = IdentifyingValues()


def test_the_brief_sentence() -> None:
    text = "Jane Doe seen on 03/15/1962, call 555-123-4567, jdoe@example.org, MRN 12345678"
    result = scrub_text(text, IDENTIFYING)
    assert result.text == ("*** seen on ***, call ***, MRN ***")
    assert result.removed >= 6
    # The patterns alone find everything but the names.
    assert scrub_text(text, NOTHING).text == ("Jane Doe seen on ***, call ***, MRN ***")


@pytest.mark.parametrize(
    "text",
    [
        "CHEST PA AND LATERAL",
        "CT ABDOMEN W/WO CONTRAST",
        "MR BRAIN 3D T1 1.5 mm",
        "MS LESIONS, FLAIR",
        "Series 2 of 4 at 12:30:45, then 10:30",
        "window 400-1500, ID 2",
        "you may 1500 mg",
        "kVp 120 mAs 250 pitch 0.984375",
        "1.2.840.10008.5.1.4.1.1.2",
        "",
    ],
)
def test_ordinary_text_survives(text: str) -> None:
    assert scrub_text(text, IDENTIFYING) == ScrubResult(text, 0)


@pytest.mark.parametrize(
    ("text", "expected", "category"),
    [
        ("SSN 123-45-6789.", "SSN ***.", ScrubCategory.SSN),
        ("host 10.0.0.1 down", "host *** down", ScrubCategory.IP),
        (
            "host fe80::1ff:fe23:4567:890a down",
            "host *** down",
            ScrubCategory.IP,
        ),
        (
            "see https://pacs.example.org/x?id=1.",
            "see ***.",
            ScrubCategory.URL,
        ),
        ("see www.example.org", "see ***", ScrubCategory.URL),
        ("mail a.b@c.org", "mail ***", ScrubCategory.EMAIL),
        ("call (603) 555-0100", "call ***", ScrubCategory.PHONE),
        ("call +1 603 555 0100", "call ***", ScrubCategory.PHONE),
        ("tel +44 20 7946 0958", "tel ***", ScrubCategory.PHONE),
        ("ext 555-0100", "ext ***", ScrubCategory.PHONE),
        ("Tel: 555 0100", "Tel: ***", ScrubCategory.PHONE),
        ("MRN: A12345", "MRN: ***", ScrubCategory.MRN),
        ("Acc# 88-1234", "Acc# ***", ScrubCategory.MRN),
        ("ref 9876543", "ref ***", ScrubCategory.MRN),
        ("on 2019-11-05", "on ***", ScrubCategory.DATES),
        ("on 5.11.2019", "on ***", ScrubCategory.DATES),
        ("on 20191105", "on ***", ScrubCategory.DATES),
        ("on Nov 5th, 2019", "on ***", ScrubCategory.DATES),
        ("on 5 November 2019", "on ***", ScrubCategory.DATES),
        ("in March 2019", "in ***", ScrubCategory.DATES),
        ("read by Dr. Smith", "read by Dr. ***", ScrubCategory.NAMES),
        ("lives at 12 Baker Street", "lives at ***", ScrubCategory.ADDRESS),
    ],
)
def test_patterns(text: str, expected: str, category: ScrubCategory) -> None:
    assert scrub_text(text, NOTHING, frozenset({category})).text == expected


def test_date_check_rejects_impossible_dates() -> None:
    assert scrub_text("ratio 13/13/2019", NOTHING).text == "ratio 13/13/2019"


@pytest.mark.parametrize(
    "text",
    [
        "Doe, Jane",
        "JANE DOE",
        "pat-12345",
        "15 Mar 1962",
        "(555) 123 4567",
        "Hanover",
        "ST ELSEWHERE HOSPITAL",
    ],
)
def test_file_values_in_other_forms(text: str) -> None:
    result = scrub_text(text, IDENTIFYING)
    assert set(result.text) <= {"*", " ", ","}


def test_categories_select(text: str = "Jane Doe, jdoe@example.org, 555-123-4567") -> None:
    only_email = scrub_text(text, IDENTIFYING, frozenset({ScrubCategory.EMAIL}))
    assert only_email.text == "Jane Doe, ***, 555-123-4567"
    only_names = scrub_text(text, IDENTIFYING, frozenset({ScrubCategory.NAMES}))
    assert only_names.text == "***, jdoe@example.org, 555-123-4567"


def test_find_identifying_text_spans() -> None:
    text = "Jane Doe, jdoe@example.org"
    spans = find_identifying_text(text, IDENTIFYING)
    assert (0, 4, ScrubCategory.NAMES) in spans
    assert (5, 8, ScrubCategory.NAMES) in spans
    assert (10, 26, ScrubCategory.EMAIL) in spans
    assert spans == sorted(spans)
    assert find_identifying_text("CHEST PA AND LATERAL", IDENTIFYING) == []


def test_whitespace_and_length_are_kept() -> None:
    text = "Patient:\nJane\tDoe\r\n"
    result = scrub_text(text, IDENTIFYING)
    assert result.text == "Patient:\n***\t***\r\n"


def test_repr_shows_no_text() -> None:
    assert repr(scrub_text("Jane Doe", NOTHING)) == "ScrubResult(<8 characters>, removed=0)"


FRAGMENTS = st.sampled_from(
    [
        "Jane",
        "Doe",
        "DOE^JANE",
        "03/15/1962",
        "1962-03-15",
        "March 15, 1962",
        "555-123-4567",
        "(555) 123 4567",
        "PAT12345",
        "jdoe@example.org",
        "10.0.0.1",
        "::1",
        "123-45-6789",
        "MRN",
        "ID:",
        "http://x.org",
        "CHEST",
        "PA",
        "AND",
        "LATERAL",
        "0.5",
        "12:30",
        "-",
        ".",
        "/",
        ",",
        " ",
        "\n",
        "1",
        "12",
        "123456",
        "Dr.",
        "Smith",
        "St",
        "Road",
        "42",
        "Hanover",
    ]
)
TEXTS = st.one_of(st.text(max_size=60), st.lists(FRAGMENTS, max_size=20).map("".join))


@settings(max_examples=300)
@given(TEXTS, st.sets(st.sampled_from(list(ScrubCategory))))
def test_scrub_never_raises_and_leaves_nothing(text: str, categories: set[ScrubCategory]) -> None:
    chosen = frozenset(categories) or ALL_CATEGORIES
    before = find_identifying_text(text, IDENTIFYING, chosen)
    result = scrub_text(text, IDENTIFYING, chosen)
    # Each masked span becomes three characters at most two longer than one character.
    assert len(result.text) <= len(text) + 2 * len(before)
    after = find_identifying_text(result.text, IDENTIFYING, chosen)
    assert after == []
    assert (result.removed == 0) == (before == [])
    if not before:
        assert result.text == text


def test_one_span_in_two_categories_is_reported_for_each() -> None:
    spans = find_identifying_text("ID:03/15/1962", NOTHING)
    assert (3, 13, ScrubCategory.DATES) in spans
    assert (3, 13, ScrubCategory.MRN) in spans
    assert scrub_text("ID:03/15/1962", NOTHING).text == "ID:***"
