"""Keyed pseudonyms, hashes and ZIP truncation."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydicom import config
from pydicom.valuerep import validate_value

from deidengine.dicom.keys import ProjectSecret
from deidengine.dicom.pseudonyms import keyed_hash, pseudonym, truncate_zip, zip3_prefix

SECRET = ProjectSecret(bytes(range(32)))
RESTRICTED = frozenset({"036", "059"})


def test_default_template_is_ten_base32_characters(secret: ProjectSecret) -> None:
    assert re.fullmatch(r"[A-Z2-7]{10}", pseudonym(secret, "PAT001"))


def test_same_value_same_pseudonym_different_values_differ(secret: ProjectSecret) -> None:
    assert pseudonym(secret, "PAT001") == pseudonym(secret, "PAT001")
    assert pseudonym(secret, "PAT001") != pseudonym(secret, "PAT002")
    assert pseudonym(secret, "PAT001 ") == pseudonym(secret, "PAT001")


def test_template_literal_is_kept(secret: ProjectSecret) -> None:
    value = pseudonym(secret, "PAT001", "SUBJ-{hmac:8}")
    assert re.fullmatch(r"SUBJ-[A-Z2-7]{8}", value)
    assert value[5:] == pseudonym(secret, "PAT001", "{hmac:8}")


def test_fits_sh_by_cutting_the_hash_not_the_prefix(secret: ProjectSecret) -> None:
    value = pseudonym(secret, "PAT001", "SUBJECT-{hmac:20}", vr="SH")
    assert len(value) == 16
    assert value.startswith("SUBJECT-")
    validate_value("SH", value, config.RAISE)


def test_cs_is_upper_case_and_fits(secret: ProjectSecret) -> None:
    value = pseudonym(secret, "X", "S_{hmac:30}", vr="CS")
    assert len(value) == 16
    validate_value("CS", value, config.RAISE)
    with pytest.raises(ValueError):
        pseudonym(secret, "X", "subj-{hmac:4}", vr="CS")


def test_pn_fits(secret: ProjectSecret) -> None:
    value = pseudonym(secret, "DOE^JANE", "ANONYMOUS^PATIENT^{hmac:52}", vr="PN")
    assert len(value) == 64
    assert value.startswith("ANONYMOUS^PATIENT^")
    validate_value("PN", value, config.RAISE)


def test_several_placeholders_take_successive_characters(secret: ProjectSecret) -> None:
    whole = pseudonym(secret, "V", "{hmac:8}")
    assert pseudonym(secret, "V", "{hmac:4}-{hmac:4}") == f"{whole[:4]}-{whole[4:]}"


def test_last_placeholder_is_shortened_first(secret: ProjectSecret) -> None:
    value = pseudonym(secret, "V", "{hmac:8}-{hmac:10}", vr="SH")
    assert len(value) == 16
    assert value[8] == "-"


@pytest.mark.parametrize(
    "template",
    ["SUBJ", "{hmac:0}", "{hmac:53}", "{hmac:8", "A\\{hmac:4}", "TAB\t{hmac:4}", "{hash:4}"],
)
def test_bad_templates(secret: ProjectSecret, template: str) -> None:
    with pytest.raises(ValueError):
        pseudonym(secret, "V", template)


def test_no_room_for_the_hash(secret: ProjectSecret) -> None:
    with pytest.raises(ValueError) as error:
        pseudonym(secret, "PATIENT-SECRET", "ABCDEFGHIJKLMNOP{hmac:4}", vr="SH")
    assert "PATIENT-SECRET" not in str(error.value)


@given(
    st.text(max_size=40), st.sampled_from(["AE", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UT"])
)
def test_always_valid_for_the_vr(value: str, vr: str) -> None:
    result = pseudonym(SECRET, value, "P{hmac:40}", vr=vr)
    validate_value(vr, result, config.RAISE)


def test_keyed_hash(secret: ProjectSecret) -> None:
    value = keyed_hash(secret, "PAT001")
    assert re.fullmatch(r"[0-9A-F]{16}", value)
    assert keyed_hash(secret, "PAT001", 8) == value[:8]
    assert keyed_hash(secret, "PAT001", 64) != pseudonym(secret, "PAT001")
    with pytest.raises(ValueError):
        keyed_hash(secret, "PAT001", 0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12345", "12300"),
        ("12345-6789", "12300"),
        ("03601", "00000"),
        ("Springfield, IL 62704", "Springfield, IL 62700"),
        ("Lebanon NH 03766-1234 USA", "Lebanon NH 03700 USA"),
        ("White River Jct 05901", "White River Jct 00000"),
        ("1234 and 123456", "1234 and 123456"),
        ("", ""),
    ],
)
def test_truncate_zip(text: str, expected: str) -> None:
    assert truncate_zip(text, RESTRICTED) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("77 Juniper Lane, Springfield MA 02139", "021"),
        ("PO Box 4, Hanover NH 03601-1234", "000"),  # a restricted prefix
        ("no code here", ""),
    ],
)
def test_zip3_prefix(text: str, expected: str) -> None:
    assert zip3_prefix(text, RESTRICTED) == expected
