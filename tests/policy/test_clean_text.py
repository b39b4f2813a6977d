"""``clean strict``, ``scrub strict`` and ``clean-text strict``: parsed, compiled, explained."""

from __future__ import annotations

from deidengine.policy import ast, explain_json, load_plan
from deidengine.policy.parse import parse_policy_text


def test_strict_parses_on_clean_c_and_scrub() -> None:
    text = "\n".join(
        [
            "policy p",
            "clean-text strict",
            "StudyDescription -> clean strict",
            "SeriesDescription -> C strict",
            "AdditionalPatientHistory -> scrub strict names dates",
            "ImageComments -> scrub names",
        ]
    )
    parsed, diagnostics = parse_policy_text(text, "p.policy")
    assert diagnostics == ()
    assert parsed.clean_text_strict is True
    assert [(r.action.kind, r.action.strict, r.action.words) for r in parsed.rules] == [
        (ast.ActionKind.CLEAN, True, ()),
        (ast.ActionKind.CLEAN, True, ()),
        (ast.ActionKind.SCRUB, True, ("names", "dates")),
        (ast.ActionKind.SCRUB, False, ("names",)),
    ]


def _text_cleaning(spec: str) -> dict[str, str]:
    rules = explain_json(load_plan(spec))["rules"]
    assert isinstance(rules, list)
    return {r["keyword"]: r.get("text_cleaning", "") for r in rules if r.get("keyword")}


def test_hipaa_cleans_text_strictly_and_annex_e_by_default() -> None:
    hipaa = _text_cleaning("hipaa-safe-harbor")
    annex_e = _text_cleaning(
        "annex-e/basic,annex-e/clean-descriptors,annex-e/clean-structured-content"
    )
    for keyword in ("StudyDescription", "AdditionalPatientHistory", "ContentSequence"):
        assert hipaa[keyword] == "strict"
        assert annex_e[keyword] == "default"
    # Rules that do not clean text say nothing about it.
    assert hipaa["PatientName"] == ""


def test_the_composition_setting_reaches_the_layers_below() -> None:
    plan = load_plan("hipaa-safe-harbor")
    cleaning = [r for r in plan.rules if r.action.kind in ast.TEXT_CLEANING_ACTIONS]
    assert cleaning and all(r.action.strict for r in cleaning)
    assert not any(
        r.action.strict for r in load_plan("annex-e/basic,annex-e/clean-descriptors").rules
    )


def test_compile_and_explain_print_how_rules_clean_text() -> None:
    import json

    from click.testing import CliRunner

    from deidengine.cli import main

    compiled = CliRunner().invoke(main, ["policy", "compile", "hipaa-safe-harbor"])
    assert compiled.exit_code == 0, compiled.output
    rules = json.loads(compiled.output)["rules"]
    study = [r for r in rules if r["selector"].startswith("(0008,1030)")]
    assert study and study[0]["text_cleaning"] == "strict"
    assert "text_cleaning" not in next(r for r in rules if r["action"] == "X")
    explained = CliRunner().invoke(
        main, ["policy", "explain", "hipaa-safe-harbor", "--tag", "StudyDescription"]
    )
    assert "a value the text stage cannot vouch for is removed" in explained.output
