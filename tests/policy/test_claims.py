"""What a composition's outputs may claim: profiles weakened by a later ``keep`` lose their
name and code, Patient Identity Removed needs every Basic Profile row handled, and ``*``
selects only what no other rule does (docs/policy-language.md, "Precedence")."""

from __future__ import annotations

from pathlib import Path

import pytest

from deidengine.policy import check_policy, load_plan
from deidengine.policy.plan import Plan
from tests.conftest import CORPUS

WARN = sorted((CORPUS / "warn").glob("*.policy"))
SAFE_HARBOR_LAYERS = (
    "annex-e/basic",
    "annex-e/clean-descriptors",
    "annex-e/clean-structured-content",
    "annex-e/clean-graphics",
    "hipaa-safe-harbor",
)


def _plan(tmp_path: Path, text: str) -> Plan:
    path = tmp_path / "site.policy"
    path.write_text(text, encoding="utf-8")
    return load_plan(str(path))


@pytest.mark.parametrize("path", WARN, ids=[p.stem for p in WARN])
def test_warning_corpus_reports_expected(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(path.parent)
    found = [
        f"{d.code.value} {d.span.file}:{d.span.line}:{d.span.column} {d.message}"
        if d.span
        else f"{d.code.value} - {d.message}"
        for d in check_policy(path.name)
    ]
    assert found == path.with_suffix(".expected").read_text("utf-8").splitlines()
    assert all(d.severity.value == "warning" for d in check_policy(path.name))


def test_warning_corpus_is_not_empty() -> None:
    assert len(WARN) >= 4


def test_the_warning_renders_with_its_help(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CORPUS / "warn")
    (warning,) = check_policy("keeps-name-under-safe-harbor.policy")
    assert warning.render() == (
        "keeps-name-under-safe-harbor.policy:3:1: warning[W301]: "
        "'(0010,0010) PatientName -> keep' weakens annex-e/basic and hipaa-safe-harbor: "
        "it keeps PatientName (Z, pseudonym)\n"
        "  help: outputs will not name annex-e/basic and hipaa-safe-harbor nor claim "
        "113100, 113101, and say Patient Identity Removed NO; keep only what may be kept, "
        "or drop the rule"
    )


def test_keeping_the_name_under_safe_harbor_drops_the_claims(tmp_path: Path) -> None:
    plan = _plan(tmp_path, "policy site\nuse hipaa-safe-harbor\nPatientName -> keep\n")
    assert plan.names == (*SAFE_HARBOR_LAYERS, "site")
    assert plan.claimed_names == (
        "annex-e/clean-descriptors",
        "annex-e/clean-structured-content",
        "annex-e/clean-graphics",
        "site",
    )
    assert "113100" in plan.codes
    assert plan.claimed_codes == ("113105", "113104", "113103")
    assert plan.identity_removed is False
    (weakening,) = plan.weakenings
    assert weakening.profiles == ("annex-e/basic", "hipaa-safe-harbor")
    assert weakening.rows == ("PatientName (Z, pseudonym)",)
    assert weakening.source.endswith("site.policy:3")


def test_a_vr_keep_weakens_basic(tmp_path: Path) -> None:
    plan = _plan(tmp_path, "policy site\nuse annex-e/basic\nvr PN -> keep\n")
    assert plan.claimed_names == ("site",)
    assert plan.claimed_codes == ()
    assert plan.identity_removed is False
    assert plan.weakenings[0].rows[0] == "PatientName (Z)"


def test_star_keeps_only_what_no_rule_selects(tmp_path: Path) -> None:
    plan = _plan(tmp_path, "policy site\nuse annex-e/basic\n* -> keep\n")
    assert plan.candidates(0x00100010, "PN")[0].action.label == "Z"
    assert plan.candidates(0x00100010, "PN")[-1].target.text == "*"
    assert plan.candidates(0x00180050, "DS")[0].target.text == "*"  # Slice Thickness: no row
    assert plan.weakenings == ()
    assert plan.claimed_names == ("annex-e/basic", "site")
    assert plan.claimed_codes == ("113100",)
    assert plan.identity_removed is True


def test_star_in_one_layer_is_still_last(tmp_path: Path) -> None:
    plan = _plan(tmp_path, "policy site\nuse annex-e/basic\n* -> keep\nvr DS -> Z\n")
    assert [r.action.label for r in plan.candidates(0x00180050, "DS")] == ["Z", "keep"]


@pytest.mark.parametrize(
    ("spec", "names", "codes"),
    [
        ("annex-e/basic", ("annex-e/basic",), ("113100",)),
        (
            "hipaa-safe-harbor",
            SAFE_HARBOR_LAYERS,
            ("113100", "113105", "113104", "113103", "113101"),
        ),
        (
            "annex-e/basic,annex-e/retain-uids,annex-e/retain-device-identity",
            ("annex-e/basic", "annex-e/retain-uids", "annex-e/retain-device-identity"),
            ("113100", "113110", "113109"),
        ),
    ],
)
def test_shipped_compositions_claim_everything(
    spec: str, names: tuple[str, ...], codes: tuple[str, ...]
) -> None:
    """The Annex E Options keep what Basic removes, and say so with their codes: not a
    weakening."""
    plan = load_plan(spec)
    assert (plan.claimed_names, plan.claimed_codes) == (names, codes)
    assert plan.names == names
    assert plan.identity_removed is True
    assert plan.weakenings == ()


def test_a_policy_without_basic_does_not_claim_identity_removed(tmp_path: Path) -> None:
    plan = _plan(tmp_path, "policy site\nPatientName -> Z\nPatientID -> Z\n")
    assert plan.identity_removed is False
    assert plan.weakenings == ()  # nothing it builds on was weakened
    assert plan.claimed_names == ("site",)


def test_a_keep_of_an_element_no_profile_touches_is_no_weakening(tmp_path: Path) -> None:
    plan = _plan(tmp_path, "policy site\nuse annex-e/basic\nSliceThickness -> keep\n")
    assert plan.weakenings == ()
    assert plan.identity_removed is True


def test_claims_survive_the_plan_cache(tmp_path: Path) -> None:
    from deidengine.policy import cache

    plan = _plan(tmp_path, "policy site\nuse annex-e/basic\nvr PN -> keep\n")
    cache.clear_memory()
    again = load_plan(str(tmp_path / "site.policy"))
    assert again is not plan
    assert again.claims == plan.claims


def test_a_weakening_layer_cannot_claim_the_code_again(tmp_path: Path) -> None:
    plan = _plan(tmp_path, "policy site\nuse annex-e/basic\ncode 113100\nPatientName -> keep\n")
    assert plan.claimed_names == ("site",)
    assert plan.claimed_codes == ()
    assert plan.identity_removed is False


def test_a_keep_inside_a_sequence_weakens_the_tag_rule(tmp_path: Path) -> None:
    plan = _plan(
        tmp_path,
        "policy site\nuse annex-e/basic\nRequestAttributesSequence[*].ScheduledProcedureStepID"
        " -> keep\n",
    )
    (weakening,) = plan.weakenings
    assert weakening.profiles == ("annex-e/basic",)
    assert weakening.rows == ("ScheduledProcedureStepID (X)",)
    assert plan.identity_removed is False
