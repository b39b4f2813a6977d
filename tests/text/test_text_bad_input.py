"""Bad input to the text stage: every character set pydicom ships test files for, multi-valued
strings, very long values, control characters and NULs. Nothing crashes; strict removes what
the stage cannot analyse, and the audit counts say why."""

from __future__ import annotations

import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset

from deidengine.dicom.apply import EngineContext, apply_plan
from deidengine.dicom.identifiers import IdentifyingValues, collect_identifying_values
from deidengine.dicom.keys import ProjectSecret
from deidengine.policy import load_plan
from deidengine.standard.vr_classes import CHARACTER_SET_VRS
from deidengine.text import Strictness, Verdict, clean_value
from deidengine.text.header import clean_header_text
from tests.pydicom_files import bundled_charset_files

CHARSET_FILES = bundled_charset_files()


def _texts(ds: Dataset) -> list[str]:
    found: list[str] = []
    for element in ds.iterall():
        if element.VR in CHARACTER_SET_VRS and element.value not in (None, ""):
            values = element.value if element.VM > 1 else [element.value]
            found.extend(str(v) for v in values)
    return found


def test_there_are_charset_files() -> None:
    assert len(CHARSET_FILES) >= 15


@pytest.mark.parametrize("path", CHARSET_FILES, ids=lambda p: p.rsplit("/", 1)[-1])
def test_every_charset_value_is_cleaned_or_removed_without_error(path: str) -> None:
    ds = pydicom.dcmread(path)
    identifying = collect_identifying_values(ds)
    for text in _texts(ds):
        default = clean_value(text, identifying)
        strict = clean_value(text, identifying, Strictness.STRICT)
        latin = all(not c.isalpha() or c.isascii() or "LATIN" in _name(c) for c in text)
        if not latin:
            # A script the stage cannot read: strict removes the value, and says why.
            assert (strict.text, strict.reason) == (None, Verdict.UNANALYSABLE_SCRIPT)
        assert default.text is not None or default.reason is not Verdict.ANALYSED


def _name(character: str) -> str:
    import unicodedata

    return unicodedata.name(character, "")


def _dataset(**values: object) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.9.7.999.1"
    ds.PatientName = "ZOUAVE^QUILLA"
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    return ds


@pytest.fixture(scope="module")
def hipaa() -> EngineContext:
    return EngineContext(
        plan=load_plan("hipaa-safe-harbor"),
        secret=ProjectSecret(b"k" * 32),
        text_cleaner=clean_header_text,
    )


@pytest.fixture(scope="module")
def annex_e() -> EngineContext:
    plan = load_plan("annex-e/basic,annex-e/clean-descriptors")
    return EngineContext(plan=plan, secret=ProjectSecret(b"k" * 32), text_cleaner=clean_header_text)


def test_multi_valued_strings_are_cleaned_value_by_value(hipaa: EngineContext) -> None:
    ds = _dataset(
        AdmittingDiagnosesDescription=["CHEST PAIN", "per wife Xyla Pemberton", "山田太郎"]
    )
    outcome = apply_plan(ds, hipaa, collect_identifying_values(ds))
    # Strict: the value it cannot read goes, with its reason; the others are cleaned.
    assert list(ds.AdmittingDiagnosesDescription) == ["CHEST PAIN", "per wife ***"]
    assert outcome.actions["text-removed:unanalysable-script"] == 1


def test_default_keeps_what_it_cannot_read_and_strict_removes_the_element(
    hipaa: EngineContext, annex_e: EngineContext
) -> None:
    kept = _dataset(AdditionalPatientHistory="山田太郎 headache")
    apply_plan(kept, annex_e, IdentifyingValues())
    assert kept.AdditionalPatientHistory == "山田太郎 headache"
    removed = _dataset(AdditionalPatientHistory="山田太郎 headache")
    outcome = apply_plan(removed, hipaa, IdentifyingValues())
    assert "AdditionalPatientHistory" not in removed  # Type 3: removed
    assert outcome.actions["text-removed:unanalysable-script"] == 1


def test_a_value_with_too_many_unknown_words_is_removed_by_strict_only() -> None:
    text = "ZVORAK PELLIGRUE TANKOVSKY BRAMHILDE QUENTAVO"
    assert clean_value(text, strictness=Strictness.STRICT).reason is Verdict.TOO_MANY_SUSPECTS
    assert clean_value(text).text == text


def test_very_long_values_and_control_characters(hipaa: EngineContext) -> None:
    long = ("CT HEAD WO CONTRAST. Discussed with Dr Quenby Marchetti. " * 200)[:10200]
    ds = _dataset(AdditionalPatientHistory=long, ImageComments="CHEST\x00PA\x07")
    apply_plan(ds, hipaa, IdentifyingValues())
    # A control character makes the value unreadable for strict; the long one is cleaned.
    assert "ImageComments" not in ds
    assert "Marchetti" not in ds.AdditionalPatientHistory
    assert "CT HEAD WO CONTRAST" in ds.AdditionalPatientHistory
    assert len(ds.AdditionalPatientHistory) <= 10240  # LT's maximum length
    assert clean_value("CHEST\x00PA").text is not None  # the default still cleans it
