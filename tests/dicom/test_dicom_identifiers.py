"""The deny-list collected from an input dataset."""

from __future__ import annotations

import datetime

import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence

from deidengine.dicom.identifiers import (
    ADDRESS_KEYWORDS,
    ID_KEYWORDS,
    NAME_KEYWORDS,
    PHONE_KEYWORDS,
    IdentifyingValues,
    ValueKind,
    collect_identifying_values,
    date_forms,
    normalise,
)


def ct_small() -> Dataset:
    path = get_testdata_file("CT_small.dcm")
    assert path is not None
    ds = dcmread(path)
    ds.PatientName = "DOE^JANE^Q"
    ds.PatientID = "PAT12345"
    ds.PatientBirthDate = "19620315"
    ds.PatientAddress = "123 Main St, Springfield, IL 62704"
    ds.PatientTelephoneNumbers = ["555-123-4567", "+44 20 7946 0958"]
    ds.ReferringPhysicianName = "SMITH^JOHN^^DR^JR"
    ds.StudyID = "1"
    ds.OtherPatientIDs = ["ALT-0042", "ALT-0043"]
    item = Dataset()
    item.PatientID = "MRN998877"
    item.IssuerOfPatientID = "GENERAL HOSPITAL MRN"
    ds.OtherPatientIDsSequence = Sequence([item])
    return ds


@pytest.fixture(scope="module")
def identifying() -> IdentifyingValues:
    return collect_identifying_values(ct_small())


def test_keyword_lists_name_real_attributes() -> None:
    from pydicom.datadict import keyword_dict

    for keyword in ID_KEYWORDS | PHONE_KEYWORDS | ADDRESS_KEYWORDS | NAME_KEYWORDS:
        assert keyword in keyword_dict, keyword


def test_names_whole_and_by_component(identifying: IdentifyingValues) -> None:
    assert {"doe jane q", "doe", "jane", "smith john dr jr", "smith", "john"} <= identifying.names
    assert "q" not in identifying.names  # an initial alone is not collected
    assert "dr" not in identifying.names and "jr" not in identifying.names


def test_institution_name_is_a_name(identifying: IdentifyingValues) -> None:
    assert "jfk imaging center" in identifying.names


def test_ids_including_nested_sequences(identifying: IdentifyingValues) -> None:
    assert {"pat12345", "alt 0042", "alt 0043", "mrn998877", "general hospital mrn"} <= (
        identifying.ids
    )
    assert "1" not in identifying.ids  # too short to look for


def test_dates_in_written_forms(identifying: IdentifyingValues) -> None:
    assert {
        "19620315",
        "1962 03 15",
        "03 15 1962",
        "15 03 1962",
        "march 15 1962",
        "15 mar 1962",
    } <= (identifying.dates)


def test_phones(identifying: IdentifyingValues) -> None:
    assert {"5551234567", "555 123 4567", "44 20 7946 0958", "442079460958"} <= identifying.phones


def test_addresses_whole_and_by_part(identifying: IdentifyingValues) -> None:
    assert {"123 main st springfield il 62704", "123 main st", "springfield", "il 62704"} <= (
        identifying.addresses
    )


def test_values_is_the_union(identifying: IdentifyingValues) -> None:
    assert identifying.values == (
        identifying.names
        | identifying.ids
        | identifying.dates
        | identifying.phones
        | identifying.addresses
    )
    assert identifying.of_kind(ValueKind.PHONES) == identifying.phones


def test_repr_shows_no_value(identifying: IdentifyingValues) -> None:
    text = repr(identifying)
    assert text.startswith("IdentifyingValues(names=")
    for value in ("doe", "jane", "pat12345", "1962", "555"):
        assert value not in text.lower()


@pytest.mark.parametrize(
    "text",
    [
        "Seen by Jane today",
        "DOE, JANE Q",
        "doe^jane",
        "call (555) 123-4567",
        "call 555.123.4567",
        "born March 15, 1962",
        "born 1962-03-15",
        "born 15.03.1962",
        "born 3/15/1962",
        "born 19620315",
        "ID PAT12345",
        "pat-12345,",
        "Springfield",
        "tel +44 20 7946 0958",
    ],
)
def test_contains_in(identifying: IdentifyingValues, text: str) -> None:
    assert identifying.contains_in(text)


@pytest.mark.parametrize(
    "text",
    [
        "CHEST PA AND LATERAL",
        "Janet Doerr",  # not the same words
        "slice 0.19620315 mm",  # a decimal is not a date
        "1196203155",  # a longer number is not a date
        "Q",
        "",
    ],
)
def test_does_not_contain(identifying: IdentifyingValues, text: str) -> None:
    assert not identifying.contains_in(text)


def test_private_elements_are_not_collected_but_private_sequences_are_walked() -> None:
    ds = Dataset()
    ds.PatientName = "ROE^RICHARD"
    block = ds.private_block(0x0029, "VENDOR", create=True)
    block.add_new(0x10, "LO", "VENDORSECRETSTRING")
    nested = Dataset()
    nested.PatientName = "HIDDEN^PERSON"
    block.add_new(0x11, "SQ", Sequence([nested]))
    identifying = collect_identifying_values(ds)
    assert "vendorsecretstring" not in identifying.values
    assert "vendor" not in identifying.values
    assert "hidden" in identifying.names


def test_file_meta_is_walked() -> None:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.SourceApplicationEntityTitle = "RADSTATION7"
    assert "radstation7" in collect_identifying_values(ds).ids


def test_placeholders_and_fillers_are_skipped() -> None:
    ds = Dataset()
    ds.PatientName = "ANONYMOUS"
    ds.PatientID = "000000"
    ds.AccessionNumber = "123"
    identifying = collect_identifying_values(ds)
    assert identifying.values == frozenset()
    assert not identifying
    assert not identifying.contains_in("ANONYMOUS 000000 123")


def test_two_letter_family_names_are_kept() -> None:
    ds = Dataset()
    ds.PatientName = "LI^XU"
    assert {"li xu", "li", "xu"} <= collect_identifying_values(ds).names


def test_ideographic_and_phonetic_groups() -> None:
    ds = Dataset()
    ds.SpecificCharacterSet = ["", "ISO 2022 IR 87"]
    ds.PatientName = "Yamada^Tarou=山田^太郎=やまだ^たろう"
    names = collect_identifying_values(ds).names
    assert {"yamada", "tarou", "山田", "太郎", "やまだ", "たろう"} <= names


def test_multi_word_name_components() -> None:
    ds = Dataset()
    ds.PatientName = "DE LA CRUZ^MARIA JOSE"
    names = collect_identifying_values(ds).names
    assert {"de la cruz", "cruz", "maria jose", "maria", "jose"} <= names
    assert "de" not in names  # a two-letter word inside a component is not a name


@pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small.dcm", "rtplan.dcm", "JPEG2000.dcm"])
def test_real_test_files(name: str) -> None:
    path = get_testdata_file(name)
    assert path is not None
    identifying = collect_identifying_values(dcmread(path))
    assert identifying.values
    assert identifying.pattern is not None


def test_rtplan_person_name_components() -> None:
    path = get_testdata_file("rtplan.dcm")
    assert path is not None
    names = collect_identifying_values(dcmread(path)).names
    assert {"last", "first", "mid"} <= names
    assert "pre" not in names


def test_date_forms() -> None:
    forms = date_forms(datetime.date(2004, 8, 6))
    assert {
        "20040806",
        "2004 08 06",
        "08 06 2004",
        "8 6 2004",
        "6 8 04",
        "august 6th 2004",
    } <= forms
    assert {"6 aug 2004", "aug 6 2004", "06 aug 04"} <= forms


def test_normalise() -> None:
    assert normalise("  DOE^Jane  Q. ") == "doe jane q"
    assert normalise("555-123-4567") == "555 123 4567"
