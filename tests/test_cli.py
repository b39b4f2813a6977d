"""The ``deid`` command line: thin verbs with the documented exit codes and JSON shapes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from deidengine.cli import main


def test_policy_check_ok_and_failure(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["policy", "check", "annex-e/basic", "hipaa-safe-harbor"])
    assert result.exit_code == 0, result.output
    bad = tmp_path / "bad.policy"
    bad.write_text("policy bad\nPatientNam -> Z\n", encoding="utf-8")
    result = runner.invoke(main, ["policy", "check", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:2:1: error[E201]: unknown keyword 'PatientNam'" in result.output
    assert "help: did you mean 'PatientName'?" in result.output


def test_policy_explain_json_shape() -> None:
    result = CliRunner().invoke(
        main, ["policy", "explain", "annex-e/basic,annex-e/retain-uids", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["codes"] == ["113100", "113110"]
    by_tag = {r["tag"]: r for r in document["rules"]}
    assert by_tag["(0010,0010)"] == {
        "tag": "(0010,0010)",
        "keyword": "PatientName",
        "action": "Z",
        "source": by_tag["(0010,0010)"]["source"],
        "selector": "(0010,0010)",
        "policy": "annex-e/basic",
        "note": "Patient's Name",
    }
    assert by_tag["(0010,0010)"]["source"].startswith("policies/annex-e/basic.policy:")
    assert by_tag["(0020,000D)"]["action"] == "K"
    assert by_tag["(0020,000D)"]["overrides"][0].startswith("policies/annex-e/basic.policy:")


def test_policy_explain_one_tag_text() -> None:
    result = CliRunner().invoke(
        main, ["policy", "explain", "hipaa-safe-harbor", "--tag", "PatientBirthDate"]
    )
    assert result.exit_code == 0, result.output
    assert "keep-year" in result.output
    assert "when age > 89 -> empty" in result.output
    assert "(C) Dates" in result.output


def test_policy_compile_writes_plan(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    result = CliRunner().invoke(
        main, ["policy", "compile", "research-longitudinal", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    plan = json.loads(out.read_text("utf-8"))
    assert plan["runnable"] is True
    assert plan["codes"] == ["113100", "113107", "113105"]
    assert plan["rules"][0]["layer"] == max(r["layer"] for r in plan["rules"])


def test_unknown_policy_is_one_clear_error() -> None:
    result = CliRunner().invoke(main, ["policy", "explain", "annex-e/basik"])
    assert result.exit_code == 1
    assert "error[E501]: unknown policy 'annex-e/basik'" in result.output
    assert "did you mean 'annex-e/basic'?" in result.output


def test_the_deid_program_is_console_main_and_skips_the_final_collection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import gc
    import tomllib

    from deidengine import cli
    from deidengine.cli import console_main

    # console_main marks the process as the program; restored after the test, so later
    # in-process runs of the CLI here do not freeze the test runner's heap.
    monkeypatch.setattr(cli, "_AS_PROGRAM", False)
    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert pyproject["project"]["scripts"]["deid"] == "deidengine.cli:console_main"
    monkeypatch.setattr("sys.argv", ["deid", "--version"])
    gc.unfreeze()
    try:
        with pytest.raises(SystemExit) as exit_info:
            console_main()
        assert exit_info.value.code == 0
        assert gc.get_freeze_count() > 0
        assert cli._AS_PROGRAM
    finally:
        gc.unfreeze()


def test_policy_list_gives_each_shipped_policy_its_description() -> None:
    runner = CliRunner()
    listed = json.loads(runner.invoke(main, ["policy", "list", "--format", "json"]).output)
    by_name = {row["name"]: row for row in listed}
    assert by_name["annex-e/basic"] == {
        "name": "annex-e/basic",
        "description": "Basic Application Level Confidentiality Profile (PS3.15 Table E.1-1)",
        "option": False,
    }
    assert by_name["annex-e/retain-uids"]["option"] is True
    assert by_name["annex-e/retain-uids"]["description"] == "Retain UIDs Option"
    assert all(row["description"] for row in listed)
    text = runner.invoke(main, ["policy", "list"]).output.splitlines()
    assert len(text) == len(listed)
    assert any(
        line.startswith("hipaa-safe-harbor ")
        and line.endswith(by_name["hipaa-safe-harbor"]["description"])
        for line in text
    )
