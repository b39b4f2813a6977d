"""Policy conformance on the real engine's outputs, and on outputs changed the ways tools fail."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from deidengine.policy import load_plan
from deidengine.standard.iod import resolve_compound_action
from deidengine.verify.conformance import (
    Finding,
    FindingCode,
    Severity,
    check_conformance,
)
from tests.phi_corpus import JANE
from tests.verify.conftest import SECRET, EngineRun

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"


def _codes(findings: tuple[Finding, ...]) -> list[tuple[str, str]]:
    return [(f.location, f.code) for f in findings]


@pytest.mark.parametrize("policy", ["annex-e/basic", "hipaa-safe-harbor", "research-longitudinal"])
def test_engine_outputs_conform(policy: str, engine_run: Callable[[str], EngineRun]) -> None:
    run = engine_run(policy)
    plan = load_plan(policy)
    for label in run.outputs:
        output = run.read(label)
        assert check_conformance(output, plan) == (), label
        exact = check_conformance(output, plan, secret=SECRET, original=run.read_input(label))
        assert exact == (), label


def test_planted_patient_name_under_basic_is_flagged_without_its_value(
    engine_run: Callable[[str], EngineRun],
) -> None:
    output = engine_run("annex-e/basic").read("jane-ct")
    output.PatientName = JANE.name
    findings = check_conformance(output, load_plan("annex-e/basic"), file="a.dcm")
    assert findings == (
        Finding(
            "a.dcm",
            "(0010,0010)",
            FindingCode.SHOULD_BE_EMPTY.value,
            findings[0].message,
            Severity.ERROR,
        ),
    )
    assert "Z at" in findings[0].message and "basic.policy" in findings[0].message
    assert JANE.family not in repr(findings) and JANE.given not in repr(findings)


def test_removed_element_and_compound_resolution(engine_run: Callable[[str], EngineRun]) -> None:
    output = engine_run("annex-e/basic").read("jane-ct")
    output.OtherPatientIDs = JANE.patient_id  # X
    output.AcquisitionDate = "20190314"  # X/Z: resolved by the CT Image IOD's Type
    findings = _codes(check_conformance(output, load_plan("annex-e/basic")))
    resolved = resolve_compound_action("X/Z", CT_IMAGE, (0x00080022,))
    expected = {"X": FindingCode.SHOULD_BE_REMOVED, "Z": FindingCode.SHOULD_BE_EMPTY}[resolved]
    assert findings == [
        ("(0008,0022)", expected.value),
        ("(0010,1000)", FindingCode.SHOULD_BE_REMOVED.value),
    ]


def test_nested_element_is_located_by_its_path(
    tmp_path: Path, engine_run: Callable[[str], EngineRun]
) -> None:
    policy = tmp_path / "keep-requests.policy"
    policy.write_text(
        'policy keep-requests "basic, with request attributes kept"\n'
        "use annex-e/basic\n"
        "(0040,0275) RequestAttributesSequence -> keep\n",
        encoding="utf-8",
    )
    output = engine_run("annex-e/basic").read("jane-ct")
    first, second = Dataset(), Dataset()
    first.Modality = "CT"  # no rule selects it: kept
    second.PatientName = JANE.name  # Z at any depth
    output.RequestAttributesSequence = Sequence([first, second])
    findings = _codes(check_conformance(output, load_plan(str(policy))))
    assert findings == [("(0040,0275)[1].(0010,0010)", FindingCode.SHOULD_BE_EMPTY.value)]


def test_private_elements_need_a_keeping_rule(
    tmp_path: Path, engine_run: Callable[[str], EngineRun]
) -> None:
    output = engine_run("annex-e/basic").read("jane-ct")
    block = output.private_block(0x0031, "ACME PRIVATE 1.0", create=True)
    block.add_new(0x10, "LO", "scanner mode 3")
    output.add_new(0x00330010, "LO", "EMPTY BLOCK")  # a creator without elements
    basic = load_plan("annex-e/basic")
    assert _codes(check_conformance(output, basic)) == [
        ("(0031,1010)", FindingCode.PRIVATE_NOT_ALLOWED.value),
        ("(0033,0010)", FindingCode.PRIVATE_NOT_ALLOWED.value),
    ]
    keeping = tmp_path / "keep-acme.policy"
    keeping.write_text(
        'policy keep-acme "basic, ACME mode kept"\nuse annex-e/basic\n'
        'private "ACME PRIVATE 1.0" (0031,xx10) -> keep\n',
        encoding="utf-8",
    )
    assert _codes(check_conformance(output, load_plan(str(keeping)))) == [
        ("(0033,0010)", FindingCode.PRIVATE_NOT_ALLOWED.value)
    ]
    # retain-safe-private: C removes whatever the safe list does not name.
    safe = load_plan("annex-e/basic,annex-e/retain-safe-private")
    assert ("(0031,1010)", FindingCode.PRIVATE_NOT_ALLOWED.value) in _codes(
        check_conformance(output, safe)
    )


def test_uids_exactly_with_the_original_and_by_form_without(
    engine_run: Callable[[str], EngineRun],
) -> None:
    run = engine_run("annex-e/basic")
    plan = load_plan("annex-e/basic")
    original = run.read_input("jane-ct")
    kept = run.read("jane-ct")
    kept.FrameOfReferenceUID = original.FrameOfReferenceUID
    assert _codes(check_conformance(kept, plan)) == [
        ("(0020,0052)", FindingCode.UID_NOT_REMAPPED.value)
    ]
    assert _codes(check_conformance(kept, plan, secret=SECRET, original=original)) == [
        ("(0020,0052)", FindingCode.UID_NOT_REMAPPED.value)
    ]
    # A 2.25 UID passes the form check but not the exact one: it is not the keyed remap.
    other = run.read("jane-ct")
    other.FrameOfReferenceUID = "2.25.12345"
    assert check_conformance(other, plan) == ()
    assert _codes(check_conformance(other, plan, secret=SECRET, original=original)) == [
        ("(0020,0052)", FindingCode.UID_REMAP_MISMATCH.value)
    ]
    # Registry UIDs are never remapped; the Retain UIDs option keeps the originals.
    uid_codes = {FindingCode.UID_NOT_REMAPPED.value, FindingCode.UID_REMAP_MISMATCH.value}
    retained = check_conformance(original, load_plan("annex-e/basic,annex-e/retain-uids"))
    assert [f for f in retained if f.code in uid_codes] == []


def test_keep_year_dates(engine_run: Callable[[str], EngineRun]) -> None:
    output = engine_run("hipaa-safe-harbor").read("jane-ct")
    assert output.StudyDate.endswith("0101")
    output.StudyDate = "20190314"
    findings = check_conformance(output, load_plan("hipaa-safe-harbor"))
    assert _codes(findings) == [("(0008,0020)", FindingCode.DATE_NOT_YEAR_ONLY.value)]
    assert "20190314" not in repr(findings)


def test_shifted_dates_are_recomputed_only_with_the_original(
    engine_run: Callable[[str], EngineRun],
) -> None:
    run = engine_run("research-longitudinal")
    plan = load_plan("research-longitudinal")
    output = run.read("jane-ct")
    output.StudyDate = run.read_input("jane-ct").StudyDate  # not shifted
    assert check_conformance(output, plan) == ()  # nothing to compare with
    exact = check_conformance(output, plan, secret=SECRET, original=run.read_input("jane-ct"))
    assert _codes(exact) == [("(0008,0020)", FindingCode.DATE_SHIFT_MISMATCH.value)]
    # Another patient's offset is wrong too: the shift is per patient.
    omar = check_conformance(
        run.read("jane-ct"), plan, secret=SECRET, original=run.read_input("omar-ct")
    )
    assert FindingCode.DATE_SHIFT_MISMATCH.value in {f.code for f in omar}
