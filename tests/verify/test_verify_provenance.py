"""Provenance attributes: the engine's own outputs are coherent; each broken claim is named."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pydicom.dataset import Dataset

from deidengine.policy import load_plan
from deidengine.verify.conformance import Finding, FindingCode, Severity
from deidengine.verify.provenance_check import check_provenance
from tests.verify.conftest import EngineRun


def _codes(findings: tuple[Finding, ...]) -> list[tuple[str, str]]:
    return [(f.location, f.code) for f in findings]


def _claim(output: Dataset, *codes: str) -> None:
    for value in codes:
        item = Dataset()
        item.CodeValue = value
        item.CodingSchemeDesignator = "DCM"
        item.CodeMeaning = "claimed"
        output.DeidentificationMethodCodeSequence.append(item)


@pytest.mark.parametrize("policy", ["annex-e/basic", "hipaa-safe-harbor", "research-longitudinal"])
def test_engine_outputs_are_coherent(policy: str, engine_run: Callable[[str], EngineRun]) -> None:
    run = engine_run(policy)
    plan = load_plan(policy)
    for label in run.outputs:
        assert check_provenance(run.read(label), plan) == (), label


def test_identity_and_method(engine_run: Callable[[str], EngineRun]) -> None:
    output = engine_run("annex-e/basic").read("jane-ct")
    output.PatientIdentityRemoved = "NO"
    del output.DeidentificationMethod
    assert _codes(check_provenance(output, load_plan("annex-e/basic"))) == [
        ("(0012,0062)", FindingCode.IDENTITY_NOT_REMOVED.value),
        ("(0012,0063)", FindingCode.METHOD_MISSING.value),
    ]


def test_method_codes_must_be_cid_7050_and_match_the_plan(
    engine_run: Callable[[str], EngineRun],
) -> None:
    plan = load_plan("annex-e/basic")
    output = engine_run("annex-e/basic").read("jane-ct")
    output.DeidentificationMethodCodeSequence[0].CodeValue = "999999"  # was 113100
    _claim(output, "113110")  # Retain UIDs: not in this plan
    assert _codes(check_provenance(output, plan)) == [
        ("(0012,0064)[0].(0008,0100)", FindingCode.CODE_NOT_CID_7050.value),
        ("(0012,0064)", FindingCode.CODE_MISSING.value),
        ("(0012,0064)", FindingCode.CODE_UNEXPECTED.value),
    ]
    missing = check_provenance(output, plan)[1]
    assert "113100" in missing.message


def test_pixel_codes_need_cleaned_pixels(engine_run: Callable[[str], EngineRun]) -> None:
    plan = load_plan("hipaa-safe-harbor")
    output = engine_run("hipaa-safe-harbor").read("jane-ct")
    assert output.BurnedInAnnotation == "NO" and "113101" in plan.codes
    del output.BurnedInAnnotation  # 113101 is claimed, so the pixels must say they are clean
    assert _codes(check_provenance(output, plan)) == [
        ("(0012,0064)", FindingCode.CODE_UNEXPECTED.value),
        ("(0028,0301)", FindingCode.BURNED_IN_MISSING.value),
    ]


def test_longitudinal_temporal_information(engine_run: Callable[[str], EngineRun]) -> None:
    plan = load_plan("annex-e/basic")
    output = engine_run("annex-e/basic").read("jane-ct")
    assert output.LongitudinalTemporalInformationModified == "REMOVED"
    output.ContextGroupVersion = "20240101"  # dates a terminology, not the patient
    assert check_provenance(output, plan) == ()
    output.StudyDate = "20190314"
    assert _codes(check_provenance(output, plan)) == [
        ("(0008,0020)", FindingCode.TEMPORAL_INCONSISTENT.value)
    ]
    output.LongitudinalTemporalInformationModified = "SHIFTED"
    assert _codes(check_provenance(output, plan)) == [
        ("(0028,0303)", FindingCode.TEMPORAL_INVALID.value)
    ]


def test_kept_private_blocks_want_their_characteristics(
    engine_run: Callable[[str], EngineRun],
) -> None:
    output = engine_run("annex-e/basic").read("jane-ct")
    output.private_block(0x0031, "ACME PRIVATE 1.0", create=True).add_new(0x10, "DS", "1.5")
    findings = check_provenance(output, load_plan("annex-e/basic"))
    assert _codes(findings) == [("(0008,0300)", FindingCode.PRIVATE_CHARACTERISTICS_MISSING.value)]
    assert findings[0].severity is Severity.WARNING
