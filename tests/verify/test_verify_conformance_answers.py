"""Conformance reads each element's answer once per kind of element, and builds a decision only
where a check reads it: the findings stay those of every element's own decision.

:func:`check_conformance` on its own walks the output keeping the answers of elements alike
(same tag chain, VR, scope and private key, for files of the same facts) and makes decisions
only for the elements a check can fault; given :func:`plan_decisions` (every element decided
on its own, as the tree verifier passes them) it must find exactly the same.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path

import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from deidengine.dicom.conditions import ConditionSnapshot
from deidengine.dicom.decision import FileFacts
from deidengine.policy import load_plan
from deidengine.verify.conformance import (
    _ANSWERS,
    FACTS_LIMIT,
    PLANS_LIMIT,
    FindingCode,
    _answers_for,
    check_conformance,
    plan_decisions,
)
from deidengine.verify.table_view import TableView, table_of_dataset
from tests.phi_corpus import JANE
from tests.verify.conftest import SECRET, EngineRun

POLICIES = ("annex-e/basic", "hipaa-safe-harbor", "research-longitudinal")
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"


def _item(*elements: tuple[int, str, object]) -> Dataset:
    item = Dataset()
    for tag, vr, value in elements:
        item.add_new(tag, vr, value)
    return item


def _faulty(output: Dataset) -> Dataset:
    """``output`` changed where each check looks: a name put back, a UID and a date restored
    in nested items, private blocks with and without elements at the top and in items, and the
    same item structure repeated (answers shared between items)."""
    output.PatientName = str(JANE.name)
    output.StudyDate = "20190314"
    block = output.private_block(0x0031, "ACME PRIVATE 1.0", create=True)
    block.add_new(0x10, "LO", "scanner mode 3")
    output.add_new(0x00330010, "LO", "EMPTY BLOCK")
    items = []
    for number in range(4):
        item = _item(
            (0x00081150, "UI", "1.2.840.10008.5.1.4.1.1.2"),
            (0x00081155, "UI", f"1.2.826.0.1.3680043.9.7.100.{number}"),
            (0x00080020, "DA", "20190314"),
            (0x00100010, "PN", str(JANE.name) if number == 2 else ""),
        )
        if number % 2:
            item.add_new(0x00410010, "LO", "ITEM CREATOR")
            if number == 3:
                item.add_new(0x00411001, "LO", "in the block")
        items.append(item)
    output.AnatomicRegionSequence = Sequence(items)  # kept: its items are walked
    return output


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("label", ["jane-ct", "jane-mr"])
def test_findings_equal_those_of_every_decision(
    policy: str, label: str, engine_run: Callable[[str], EngineRun]
) -> None:
    run = engine_run(policy)
    plan = load_plan(policy)
    original = table_of_dataset(run.read_input(label))
    for output in (run.read(label), _faulty(run.read(label))):
        view = TableView.of(table_of_dataset(output))
        for secret, known in ((None, None), (SECRET, original)):
            every = plan_decisions(view, plan, known)
            shortcut = check_conformance(view, plan, secret=secret, original=known)
            assert shortcut == check_conformance(
                view, plan, secret=secret, original=known, decisions=every
            )
    faulty = check_conformance(_faulty(run.read(label)), plan, secret=SECRET, original=original)
    located = {(f.location, f.code) for f in faulty}
    assert ("(0033,0010)", FindingCode.PRIVATE_NOT_ALLOWED.value) in located
    assert ("(0008,2218)[1].(0041,0010)", FindingCode.PRIVATE_NOT_ALLOWED.value) in located
    assert ("(0008,2218)[3].(0041,1001)", FindingCode.PRIVATE_NOT_ALLOWED.value) in located
    # The creator of a block that holds an element is not faulted for being empty.
    assert ("(0008,2218)[3].(0041,0010)", FindingCode.PRIVATE_NOT_ALLOWED.value) not in located


def test_answers_follow_the_condition_values(
    tmp_path: Path, engine_run: Callable[[str], EngineRun]
) -> None:
    """An answer found for one file's condition values is not reused for another's."""
    policy = tmp_path / "mr-manufacturer.policy"
    policy.write_text(
        'policy mr-manufacturer "basic, no manufacturer on MR"\nuse annex-e/basic\n'
        '(0008,0070) Manufacturer when Modality == "MR" -> X\n',
        encoding="utf-8",
    )
    plan = load_plan(str(policy))
    output = engine_run("annex-e/basic").read("jane-ct")
    output.Manufacturer = "ACME"
    view = TableView.of(table_of_dataset(output))
    removed = ("(0008,0070)", FindingCode.SHOULD_BE_REMOVED.value)
    found = []
    for modality in ("CT", "MR", "CT", "MR"):
        snapshot = ConditionSnapshot.of_values({0x00080060: (modality,)})
        findings = check_conformance(view, plan, snapshot=snapshot)
        found.append(removed in {(f.location, f.code) for f in findings})
    assert found == [False, True, False, True]


def test_the_answers_kept_are_bounded() -> None:
    """Files of ever new facts (a plan whose conditions read dates: every study) never grow
    the answers kept past their bounds."""
    plan = load_plan("hipaa-safe-harbor")
    for day in range(3 * FACTS_LIMIT):
        date = datetime.date(2020, 1, 1) + datetime.timedelta(days=day)
        snapshot = ConditionSnapshot.of_values({0x00080020: (date.strftime("%Y%m%d"),)})
        _answers_for(FileFacts.of(plan, snapshot, CT_IMAGE))
    held = _ANSWERS[id(plan)]
    assert held[0] is plan
    assert 0 < len(held[1]) <= FACTS_LIMIT
    assert len(_ANSWERS) <= PLANS_LIMIT
