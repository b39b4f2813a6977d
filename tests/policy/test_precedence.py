"""Precedence: later layer, then specificity, then conditional first; private stays private."""

from __future__ import annotations

from pathlib import Path

from deidengine.policy import load_plan
from deidengine.policy.plan import Plan


def _plan(tmp_path: Path, *files: tuple[str, str]) -> Plan:
    for name, text in files:
        (tmp_path / name).write_text(text, encoding="utf-8")
    return load_plan(",".join(str(tmp_path / name) for name, _ in files))


def _first(
    plan: Plan, tag: int | None, vr: str | None, private: tuple[str, int, int] | None = None
) -> str:
    return plan.candidates(tag, vr, private)[0].action.label


def test_later_layer_beats_earlier_even_when_broader(tmp_path: Path) -> None:
    plan = _plan(
        tmp_path,
        ("a.policy", "policy a\n(0008,0020) StudyDate -> Z\n"),
        ("b.policy", "option b\nvr DA -> keep-year\n"),
    )
    assert _first(plan, 0x00080020, "DA") == "keep-year"


def test_explicit_tag_beats_pattern_in_one_layer(tmp_path: Path) -> None:
    plan = _plan(tmp_path, ("a.policy", "policy a\nvr DA -> keep-year\nStudyDate -> X\n* -> K\n"))
    assert _first(plan, 0x00080020, "DA") == "X"
    assert _first(plan, 0x00080021, "DA") == "keep-year"
    assert _first(plan, 0x00080060, "CS") == "K"


def test_conditional_rule_is_tried_first(tmp_path: Path) -> None:
    plan = _plan(
        tmp_path,
        (
            "a.policy",
            "policy a\nPatientBirthDate -> keep-year\nPatientBirthDate when age > 89 -> Z\n",
        ),
    )
    rules = plan.candidates(0x00100030, "DA")
    assert [r.action.label for r in rules] == ["Z", "keep-year"]
    assert rules[0].condition_text == "age > 89"


def test_use_is_included_once_and_before_the_user(tmp_path: Path) -> None:
    plan = _plan(
        tmp_path,
        ("base.policy", "policy base\nPatientName -> X\n"),
        ("site.policy", 'policy site\nuse "base.policy"\nPatientName -> Z\n'),
        ("again.policy", 'option again\nuse "base.policy"\n'),
    )
    assert plan.names == ("base", "site", "again")
    assert _first(plan, 0x00100010, "PN") == "Z"


def test_broad_rules_never_select_private_elements(tmp_path: Path) -> None:
    plan = _plan(
        tmp_path,
        (
            "a.policy",
            'policy a\nprivate -> X\nvr DA -> K\n* -> K\nprivate "ACME 1.0" (0029,xx10) -> K\n',
        ),
    )
    assert _first(plan, 0x00291010, "DA", ("ACME 1.0", 0x0029, 0x10)) == "K"
    assert _first(plan, 0x00291011, "DA", ("ACME 1.0", 0x0029, 0x11)) == "X"
    assert _first(plan, 0x00291011, "DA", None) == "X"


def test_repeating_group_bounds(tmp_path: Path) -> None:
    plan = _plan(tmp_path, ("a.policy", "policy a\n(60xx,3000) -> X\n(50xx,xxxx) -> X\n"))
    assert plan.candidates(0x60003000, "OW")
    assert plan.candidates(0x601E3000, "OW")
    assert not plan.candidates(0x60203000, "OW")
    assert not plan.candidates(0x60013000, "OW")
    assert plan.candidates(0x50020010, "US")


def test_paths_are_anchored_and_respect_item_index(tmp_path: Path) -> None:
    plan = _plan(
        tmp_path,
        (
            "a.policy",
            "policy a\n(0040,0275)[*].(0032,1060) -> X\n"
            "RequestAttributesSequence[1].ScheduledProcedureStepID -> Z\n",
        ),
    )
    assert plan.candidates(0x00321060, "LO", None, ((0x00400275, 3),))[0].action.label == "X"
    assert not plan.candidates(0x00321060, "LO", None, ())
    assert plan.candidates(0x00400009, "SH", None, ((0x00400275, 1),))[0].action.label == "Z"
    assert not plan.candidates(0x00400009, "SH", None, ((0x00400275, 0),))


def test_option_alone_is_not_runnable(tmp_path: Path) -> None:
    import pytest

    from deidengine.policy import PolicyError

    with pytest.raises(PolicyError) as caught:
        load_plan("annex-e/retain-uids", runnable=True)
    assert caught.value.diagnostics[0].code.value == "E503"
    assert load_plan("annex-e/basic,annex-e/retain-uids", runnable=True).runnable
