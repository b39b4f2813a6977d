"""Compiling the shipped policies (once per run and per worker), and the per-element look-up."""

from __future__ import annotations

from typing import Any

import pytest

from deidengine.policy import load_plan, shipped_policy_names
from deidengine.policy.plan import Plan

RUNNABLE = ("annex-e/basic", "hipaa-safe-harbor", "research-longitudinal")


def _spec(name: str) -> str:
    """A runnable composition for a shipped name: an option goes on top of the basic profile."""
    return name if name in RUNNABLE else f"annex-e/basic,{name}"


@pytest.mark.benchmark(group="policy-compile")
@pytest.mark.parametrize("name", shipped_policy_names())
def test_bench_compile_shipped_policy(benchmark: Any, name: str) -> None:
    plan = benchmark(load_plan, _spec(name), runnable=True)
    assert isinstance(plan, Plan) and plan.rules


@pytest.mark.benchmark(group="policy-candidates")
def test_bench_candidates_cached(benchmark: Any) -> None:
    """What the header stage asks per element: a dictionary look-up once the cache is warm."""
    plan = load_plan("hipaa-safe-harbor", runnable=True)
    elements = [
        (0x00100010, "PN", None),
        (0x00080018, "UI", None),
        (0x00081030, "LO", None),
        (0x00200013, "IS", None),
        (0x00091001, "LO", ("GEMS_IDEN_01", 0x0009, 0x01)),
        (0x60003000, "OW", None),
    ]

    def look_up_all() -> int:
        return sum(len(plan.candidates(tag, vr, key)) for tag, vr, key in elements)

    assert benchmark(look_up_all) > 0
