"""The conformance walk's decisions are taken again for an output laid out as one met before
(the same plan and facts, equal walks, the same private creators), and only then."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian

from deidengine.dicom.keys import ProjectSecret
from deidengine.dicom.uids import remap_uid
from deidengine.policy import load_plan
from deidengine.policy.plan import Plan
from deidengine.verify import conformance, table_view
from deidengine.verify.conformance import Finding, FindingCode, check_conformance
from deidengine.verify.table_view import TableView, table_of_dataset

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
ACME = "ACME PRIVATE 1.0"
SECRET = ProjectSecret(bytes.fromhex("9f" * 32))


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


def _report(name: str, uid: str, references: int) -> Dataset:
    """An SR-like data set: ``references`` content items, each referring to an image."""
    dataset = Dataset()
    dataset.file_meta = FileMetaDataset()
    dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset.SOPClassUID = "1.2.840.10008.5.1.4.1.1.88.33"
    dataset.SOPInstanceUID = uid
    dataset.PatientName = name
    items = []
    for number in range(references):
        reference = Dataset()
        reference.ReferencedSOPClassUID = CT_IMAGE
        reference.ReferencedSOPInstanceUID = f"{uid}.{number}"
        item = Dataset()
        item.RelationshipType = "CONTAINS"
        item.ValueType = "IMAGE"
        item.ReferencedSOPSequence = Sequence([reference])
        items.append(item)
    dataset.ContentSequence = Sequence(items)
    return dataset


def test_an_input_laid_out_whole_is_checked_as_a_lazy_one(monkeypatch: pytest.MonkeyPatch) -> None:
    plan = load_plan("annex-e/basic")
    table_view._LAYOUTS.clear()
    table_view._SEEN.clear()
    found = []
    for number in range(3):
        uid = f"1.2.826.0.1.{number}"
        original = table_of_dataset(_report("DOE^JANE", uid, 12))
        output = _report("", remap_uid(SECRET, uid), 12)
        # The first two references remapped, the others left as the input had them.
        for position, item in enumerate(output.ContentSequence):
            before = f"{uid}.{position}"
            after = remap_uid(SECRET, before) if position < 2 else before
            item.ReferencedSOPSequence[0].ReferencedSOPInstanceUID = after
        view = TableView.of(table_of_dataset(output))
        found.append(check_conformance(view, plan, secret=SECRET, original=original))
        with monkeypatch.context() as lazy_only:
            lazy_only.setattr(conformance, "NESTED_LOOKUPS", 1 << 30)
            assert found[-1] == check_conformance(view, plan, secret=SECRET, original=original)
    assert all(
        [(f.location, f.code) for f in findings]
        == [
            (f"(0040,A730)[{n}].(0008,1199)[0].(0008,1155)", FindingCode.UID_NOT_REMAPPED.value)
            for n in range(2, 12)
        ]
        for findings in found
    )
