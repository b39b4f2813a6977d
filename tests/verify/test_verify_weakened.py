"""A policy that keeps Patient's Name on top of Safe Harbor: the output claims only what ran,
and the verifier holds an output to those same claims (issue #14, item 8)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pydicom
import pytest

from deidengine.policy import load_plan
from deidengine.verify.conformance import FindingCode
from deidengine.verify.provenance_check import check_provenance
from tests.conftest import CORPUS
from tests.phi_corpus import JANE
from tests.verify.conftest import SECRET, EngineRun, run_engine

KEEPS_NAME = str(CORPUS / "warn" / "keeps-name-under-safe-harbor.policy")


@pytest.fixture(scope="module")
def weakened(tmp_path_factory: pytest.TempPathFactory, corpus: dict[str, Path]) -> EngineRun:
    return run_engine(KEEPS_NAME, {"jane-ct": corpus["jane-ct"]}, tmp_path_factory.mktemp("w"))


def test_the_stamp_claims_only_the_intact_layers(weakened: EngineRun) -> None:
    output = weakened.read("jane-ct")
    assert str(output.PatientName) == JANE.name  # what the policy asked for
    assert output.PatientIdentityRemoved == "NO"
    assert [item.CodeValue for item in output.DeidentificationMethodCodeSequence] == [
        "113105",
        "113104",
        "113103",
    ]
    method = list(output.DeidentificationMethod)
    assert "policy hipaa-safe-harbor" not in method
    assert "policy annex-e/basic" not in method
    assert method[1:5] == [
        "policy annex-e/clean-descriptors",
        "policy annex-e/clean-structured-content",
        "policy annex-e/clean-graphics",
        "policy keeps-name-under-safe-harbor",
    ]


def test_the_verifier_agrees_with_the_stamp(weakened: EngineRun) -> None:
    assert check_provenance(weakened.read("jane-ct"), load_plan(KEEPS_NAME)) == ()


@pytest.mark.parametrize(
    ("forge", "code"),
    [
        (lambda ds: setattr(ds, "PatientIdentityRemoved", "YES"), FindingCode.IDENTITY_OVERCLAIMED),
        (
            lambda ds: setattr(
                ds, "DeidentificationMethod", [*ds.DeidentificationMethod, "policy annex-e/basic"]
            ),
            FindingCode.METHOD_OVERCLAIMED,
        ),
        (
            lambda ds: setattr(ds.DeidentificationMethodCodeSequence[0], "CodeValue", "113100"),
            FindingCode.CODE_UNEXPECTED,
        ),
    ],
    ids=["identity-yes", "names-basic", "claims-113100"],
)
def test_an_output_that_claims_the_weakened_profile_fails(
    weakened: EngineRun, forge: Callable[[pydicom.Dataset], None], code: FindingCode
) -> None:
    output = weakened.read("jane-ct")
    forge(output)
    found = check_provenance(output, load_plan(KEEPS_NAME))
    assert code.value in {f.code for f in found}


def test_the_same_file_under_safe_harbor_claims_everything(
    engine_run: Callable[[str], EngineRun],
) -> None:
    output = engine_run("hipaa-safe-harbor").read("jane-ct")
    assert output.PatientIdentityRemoved == "YES"
    assert "policy hipaa-safe-harbor" in list(output.DeidentificationMethod)
    assert output.DeidentificationMethodCodeSequence[0].CodeValue == "113100"


def test_the_audit_records_the_weakening(tmp_path: Path, corpus: dict[str, Path]) -> None:
    import json

    from deidengine.run.pipeline import RunSettings
    from deidengine.run.runner import run_tree

    out = tmp_path / "out"
    settings = RunSettings(KEEPS_NAME, SECRET.key, str(out), str(tmp_path / "quarantine"))
    audit = tmp_path / "audit.jsonl"
    run_tree(settings, corpus["jane-ct"], workers=1, audit_path=audit)
    header = json.loads(audit.read_text("utf-8").splitlines()[0])
    assert header["weakenings"] == [
        {
            "rule": "(0010,0010) PatientName -> keep",
            "source": header["weakenings"][0]["source"],
            "profiles": ["annex-e/basic", "hipaa-safe-harbor"],
            "elements": ["PatientName (Z, pseudonym)"],
        }
    ]
    assert header["weakenings"][0]["source"].endswith("keeps-name-under-safe-harbor.policy:3")


def test_run_says_what_the_outputs_will_not_claim(tmp_path: Path, corpus: dict[str, Path]) -> None:
    from click.testing import CliRunner

    from deidengine.cli import main

    secret = tmp_path / "secret"
    secret.write_text(SECRET.key.hex() + "\n", encoding="ascii")
    secret.chmod(0o600)
    arguments = ["run", "--policy", KEEPS_NAME, "--secret-file", str(secret), "--workers", "1"]
    result = CliRunner().invoke(main, [*arguments, str(corpus["jane-ct"]), str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert (
        f"{KEEPS_NAME}:3:1: warning[W301]: '(0010,0010) PatientName -> keep' weakens "
        "annex-e/basic and hipaa-safe-harbor: it keeps PatientName (Z, pseudonym)"
    ) in result.output
