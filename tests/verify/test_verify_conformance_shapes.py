"""The conformance walk's decisions are taken again for an output laid out as one met before
(the same plan and facts, equal walks, the same private creators), and only then."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from deidengine.policy import load_plan
from deidengine.policy.plan import Plan
from deidengine.verify import conformance
from deidengine.verify.conformance import Finding, FindingCode, check_conformance
from deidengine.verify.table_view import TableView, table_of_dataset

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
ACME = "ACME PRIVATE 1.0"


def _output(name: str, creator: str = ACME, extra: bool = False) -> TableView:
    dataset = Dataset()
    dataset.SOPClassUID = CT_IMAGE
    dataset.SOPInstanceUID = "2.25.1234"
    dataset.PatientName = name
    dataset.StudyDescription = "knee"
    reference = Dataset()
    reference.ReferencedSOPClassUID = CT_IMAGE
    reference.ReferencedSOPInstanceUID = "1.2.3.4" if name else "2.25.99"
    content = Dataset()
    content.RelationshipType = "CONTAINS"
    content.ValueType = "IMAGE"
    content.ReferencedSOPSequence = Sequence([reference])
    dataset.ContentSequence = Sequence([Dataset(), content])
    block = dataset.private_block(0x0031, creator, create=True)
    block.add_new(0x10, "LO", "scanner mode 3")
    if extra:
        dataset.Manufacturer = "ACME"
    return TableView.of(table_of_dataset(dataset))


def _keeping_acme(tmp_path: Path) -> Plan:
    policy = tmp_path / "keep-acme.policy"
    policy.write_text(
        'policy keep-acme "basic, ACME mode kept"\nuse annex-e/basic\n'
        f'private "{ACME}" (0031,xx10) -> keep\n',
        encoding="utf-8",
    )
    return load_plan(str(policy))


def _cold(output: TableView, plan: Plan) -> tuple[Finding, ...]:
    conformance._SHAPES.clear()
    return check_conformance(output, plan)


def test_an_output_laid_out_alike_takes_the_decisions_without_a_walk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = _keeping_acme(tmp_path)
    first, second = _output(""), _output("DOE^JANE")
    expected = _cold(second, plan)
    assert [(f.location, f.code) for f in expected] == [
        ("(0008,1030)", FindingCode.SHOULD_BE_REMOVED.value),
        ("(0010,0010)", FindingCode.SHOULD_BE_EMPTY.value),
        ("(0040,A730)[1].(0008,1199)[0].(0008,1155)", FindingCode.UID_NOT_REMAPPED.value),
    ]
    assert [f.code for f in check_conformance(first, plan)] == [FindingCode.SHOULD_BE_REMOVED.value]

    def no_walk(*arguments: object, **keywords: object) -> None:
        raise AssertionError("walked")

    monkeypatch.setattr(conformance, "_walk", no_walk)
    assert check_conformance(second, plan) == expected
    with pytest.raises(AssertionError, match="walked"):
        check_conformance(_output("", extra=True), plan)  # laid out otherwise


def test_another_private_creator_is_decided_anew(tmp_path: Path) -> None:
    plan = _keeping_acme(tmp_path)
    kept, other = _output("DOE^JANE"), _output("DOE^JANE", creator="OTHER 2.0")
    assert other.visits() == kept.visits()  # the walks alone do not tell them apart
    conformance._SHAPES.clear()
    assert FindingCode.PRIVATE_NOT_ALLOWED.value not in [
        f.code for f in check_conformance(kept, plan)
    ]
    found = check_conformance(other, plan)
    assert ("(0031,1010)", FindingCode.PRIVATE_NOT_ALLOWED.value) in [
        (f.location, f.code) for f in found
    ]
    assert found == _cold(other, plan)


def test_another_plan_is_decided_anew(tmp_path: Path) -> None:
    output = _output("DOE^JANE")
    keeping, basic = _keeping_acme(tmp_path), load_plan("annex-e/basic")
    conformance._SHAPES.clear()
    check_conformance(output, keeping)
    assert ("(0031,1010)", FindingCode.PRIVATE_NOT_ALLOWED.value) in [
        (f.location, f.code) for f in check_conformance(output, basic)
    ]
