"""Registry UIDs and keyed UID remapping."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, JPEGBaseline8Bit

from deidengine.dicom.keys import ProjectSecret
from deidengine.dicom.uids import is_registry_uid, remap_uid

VALID_UID = re.compile(r"(0|[1-9]\d*)(\.(0|[1-9]\d*))*")
SECRET = ProjectSecret(bytes(range(32)))


def assert_valid_uid(uid: str) -> None:
    assert len(uid) <= 64
    assert VALID_UID.fullmatch(uid), uid


def test_remap_is_stable_and_distinct(secret: ProjectSecret) -> None:
    uid = "1.2.826.0.1.3680043.8.498.1"
    remapped = remap_uid(secret, uid)
    assert remapped == remap_uid(secret, uid)
    assert remapped != remap_uid(secret, "1.2.826.0.1.3680043.8.498.2")
    assert remapped.startswith("2.25.")
    assert_valid_uid(remapped)


def test_remap_depends_on_the_secret(secret: ProjectSecret, other_secret: ProjectSecret) -> None:
    assert remap_uid(secret, "1.2.3.4") != remap_uid(other_secret, "1.2.3.4")


def test_padding_is_ignored(secret: ProjectSecret) -> None:
    assert remap_uid(secret, "1.2.3.4\x00") == remap_uid(secret, "1.2.3.4")
    assert remap_uid(secret, "1.2.3.4 ") == remap_uid(secret, "1.2.3.4")


def test_empty_stays_empty(secret: ProjectSecret) -> None:
    assert remap_uid(secret, "") == ""
    assert remap_uid(secret, "\x00") == ""


def test_registry_uids_are_unchanged(secret: ProjectSecret) -> None:
    for uid in (
        CTImageStorage,
        ExplicitVRLittleEndian,
        JPEGBaseline8Bit,
        "1.2.840.10008.1.2.4.50",
        "1.2.840.10008.1.4.1.1",  # Talairach Brain Atlas Frame of Reference
        "1.2.840.10008.2.16.4",  # DCM coding scheme
        "2.16.840.1.113883.6.96",  # SNOMED CT
        "2.16.840.1.113883.6.1",  # LOINC
    ):
        assert is_registry_uid(uid)
        assert remap_uid(secret, uid) == uid
    assert remap_uid(secret, "1.2.840.10008.1.2.1\x00") == "1.2.840.10008.1.2.1"


def test_instance_uids_are_not_registry_uids() -> None:
    assert not is_registry_uid("1.2.826.0.1.3680043.8.498.1")
    assert not is_registry_uid("2.16.840.1.113883.6.96.1")
    assert not is_registry_uid("1.2.840.100081")


def test_multi_valued_keeps_multiplicity(secret: ProjectSecret) -> None:
    remapped = remap_uid(secret, "1.2.3\\1.2.840.10008.1.2\\1.2.4")
    first, registry, last = remapped.split("\\")
    assert first == remap_uid(secret, "1.2.3")
    assert registry == "1.2.840.10008.1.2"
    assert last == remap_uid(secret, "1.2.4")


@given(st.text(max_size=80).filter(lambda text: "\\" not in text))
def test_any_input_gives_a_valid_uid(text: str) -> None:
    remapped = remap_uid(SECRET, text)
    if remapped:
        assert_valid_uid(remapped)


def test_malformed_value_under_the_registry_root_is_remapped(secret: ProjectSecret) -> None:
    assert not is_registry_uid("1.2.840.10008.5.1.4.1.1.2 CT")
    assert_valid_uid(remap_uid(secret, "1.2.840.10008.5.1.4.1.1.2 CT"))
    assert_valid_uid(remap_uid(secret, "1.2.840.10008.01"))
