"""The checks the conformance walk hands each decision are those :func:`_checks_for` finds for
it, and a decision without them (one a caller built) is checked the same."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from deidengine.policy import load_plan
from deidengine.standard.dictionary import is_private_group
from deidengine.verify.conformance import _checks_for, check_conformance, plan_decisions
from deidengine.verify.table_view import TableView, table_of_dataset
from tests.verify.conftest import SECRET, EngineRun
from tests.verify.test_verify_conformance_answers import _faulty


@pytest.mark.parametrize("policy", ["annex-e/basic", "research-longitudinal"])
def test_each_decision_carries_its_own_checks(
    policy: str, engine_run: Callable[[str], EngineRun]
) -> None:
    run = engine_run(policy)
    plan = load_plan(policy)
    original = table_of_dataset(run.read_input("jane-ct"))
    view = TableView.of(table_of_dataset(_faulty(run.read("jane-ct"))))
    decisions = plan_decisions(view, plan, original)
    assert decisions
    for decision in decisions:
        assert decision.checks == _checks_for(
            decision.kind, decision.vr == "UI", is_private_group(decision.tag >> 16)
        )
    bare = [decision._replace(checks=None) for decision in decisions]
    found = check_conformance(view, plan, secret=SECRET, original=original, decisions=decisions)
    assert found  # the faults are found
    assert found == check_conformance(view, plan, secret=SECRET, original=original, decisions=bare)
