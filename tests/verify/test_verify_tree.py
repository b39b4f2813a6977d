"""``deid verify`` end to end: the engine's own trees pass; planted PHI fails, unprinted."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pydicom
import pytest
from click.testing import CliRunner, Result

from deidengine.cli import main
from deidengine.policy import PolicyError
from deidengine.run.verify_tree import VerifyConfigurationError, verify_tree
from deidengine.verify.conformance import FindingCode
from tests.phi_corpus import JANE
from tests.verify.conftest import SECRET, EngineRun, run_engine


def _verify(*arguments: str) -> Result:
    return CliRunner().invoke(main, ["verify", *arguments])


def _json(result: Result) -> dict[str, object]:
    document: dict[str, object] = json.loads(result.output)
    return document


def _findings(result: Result) -> list[dict[str, str]]:
    findings = _json(result)["findings"]
    assert isinstance(findings, list)
    return findings


@pytest.mark.parametrize("policy", ["annex-e/basic", "hipaa-safe-harbor"])
def test_the_engines_own_output_passes(
    policy: str, engine_run: Callable[[str], EngineRun], secret_file: Path
) -> None:
    run = engine_run(policy)
    common = ["--policy", policy, "--no-ocr", "--format", "json", str(run.output_root)]
    exact = _verify(*common, "--original", str(run.input_root), "--secret-file", str(secret_file))
    assert exact.exit_code == 0, exact.output
    assert _json(exact) == {"files_checked": 4, "errors": 0, "warnings": 0, "findings": []}
    by_form = _verify(*common)  # no original: UIDs by form, no leak scan
    assert by_form.exit_code == 0, by_form.output
    mapped = _verify(*common, "--original", str(run.input_root), "--mappings", str(run.mappings))
    assert mapped.exit_code == 0, mapped.output


def test_a_name_planted_in_a_private_element_fails_without_being_printed(
    tmp_path: Path, engine_run: Callable[[str], EngineRun], secret_file: Path
) -> None:
    run = engine_run("annex-e/basic").copy(tmp_path / "out")
    output = run.read("jane-mr")
    block = output.private_block(0x0031, "SNEAKY TOOL 1.0", create=True)
    block.add_new(0x10, "LO", f"reviewed for {JANE.family}")
    output.save_as(run.outputs["jane-mr"])
    arguments = [
        "--policy",
        "annex-e/basic",
        "--no-ocr",
        "--original",
        str(run.input_root),
        "--secret-file",
        str(secret_file),
        str(run.output_root),
    ]
    result = _verify(*arguments, "--format", "json")
    assert result.exit_code == 1, result.output
    found = {(f["file"], f["location"], f["code"]) for f in _findings(result)}
    planted = run.relative("jane-mr")
    assert found == {
        (planted, "(0031,1010)", FindingCode.PRIVATE_NOT_ALLOWED.value),
        (planted, "(0031,1010)", FindingCode.IDENTIFYING_VALUE.value),
        (planted, "(0008,0300)", FindingCode.PRIVATE_CHARACTERISTICS_MISSING.value),
    }
    table = _verify(*arguments)
    assert table.exit_code == 1
    assert "V201" in table.output and "(0031,1010)" in table.output
    for text in (result.output, table.output):
        assert JANE.family.lower() not in text.lower()
        assert "SNEAKY" not in text  # the creator string is data too


def test_an_output_path_that_names_the_patient_is_withheld(
    tmp_path: Path, engine_run: Callable[[str], EngineRun], secret_file: Path
) -> None:
    run = engine_run("annex-e/basic").copy(tmp_path / "out")
    named = run.output_root / f"{JANE.family}_{JANE.given}.dcm"
    shutil.move(run.outputs["jane-ct"], named)
    report = verify_tree(
        "annex-e/basic",
        run.output_root,
        original_root=run.input_root,
        secret=SECRET,
        ocr=False,
        iod=False,
    )
    assert report.exit_code == 1
    # Files are numbered in discovery order (sorted names): the 2.25 directories come first.
    assert [(f.file, f.code) for f in report.findings] == [
        ("#4 (path withheld)", FindingCode.IDENTIFYING_PATH.value)
    ]
    assert JANE.family not in json.dumps(report.to_json())


def test_unmatched_and_unreadable_outputs(
    tmp_path: Path, engine_run: Callable[[str], EngineRun]
) -> None:
    run = engine_run("annex-e/basic").copy(tmp_path / "out")
    (run.output_root / "notes.txt").write_text("not an image\n", encoding="utf-8")
    originals = tmp_path / "some-inputs"
    originals.mkdir()
    shutil.copy(run.inputs["jane-ct"], originals / "one.dcm")
    report = verify_tree(
        "annex-e/basic",
        run.output_root,
        original_root=originals,
        secret=SECRET,
        ocr=False,
        iod=False,
    )
    codes = [(f.file, f.code) for f in report.findings]
    assert ("notes.txt", FindingCode.NOT_DICOM.value) in codes
    unmatched = {file for file, code in codes if code == FindingCode.ORIGINAL_NOT_FOUND.value}
    assert unmatched == {run.relative(k) for k in ("jane-mr", "jane-ct-later", "omar-ct")}
    assert report.files_checked == 5 and report.exit_code == 1


def test_a_broken_output_fails_the_iod_comparison(
    tmp_path: Path, engine_run: Callable[[str], EngineRun], secret_file: Path
) -> None:
    run = engine_run("annex-e/basic").copy(tmp_path / "out")
    output = run.read("jane-ct")
    del output.SOPClassUID
    output.save_as(run.outputs["jane-ct"])
    result = _verify(
        "--policy",
        "annex-e/basic",
        "--no-ocr",
        "--format",
        "json",
        "--original",
        str(run.input_root),
        "--secret-file",
        str(secret_file),
        str(run.output_root),
    )
    assert result.exit_code == 1
    iod_errors = {
        f["location"]
        for f in _findings(result)
        if f["code"] == FindingCode.IOD_NEW_ERROR.value and f["file"] == run.relative("jane-ct")
    }
    assert "/MediaStorageSOPClassUID(0002,0002)" in iod_errors


def test_usage_errors_exit_2(
    tmp_path: Path, engine_run: Callable[[str], EngineRun], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DEID_SECRET", raising=False)
    run = engine_run("annex-e/basic")
    out = str(run.output_root)
    no_key = _verify("--policy", "annex-e/basic", "--original", str(run.input_root), out)
    assert no_key.exit_code == 2
    assert "--secret-file" in no_key.output
    assert _verify("--policy", "no-such-policy", out).exit_code == 2
    assert _verify("--policy", "annex-e/basic", str(tmp_path / "missing")).exit_code == 2
    bad_secret = tmp_path / "bad.secret"
    bad_secret.write_text("not hex\n", encoding="ascii")
    bad_key = _verify("--policy", "annex-e/basic", "--secret-file", str(bad_secret), out)
    assert bad_key.exit_code == 2
    with pytest.raises(PolicyError):
        verify_tree("no-such-policy", out)
    with pytest.raises(VerifyConfigurationError):
        verify_tree("annex-e/basic", out, original_root=run.input_root)


def test_ocr_finds_burned_in_identifiers_the_policy_left(tmp_path: Path) -> None:
    """Basic keeps pixels as they are; Safe Harbor redacts them. Only the first fails."""
    from tests.pixels.pixel_synth import ct_512_with_text

    source, _ = ct_512_with_text()
    source.SOPInstanceUID = "1.2.826.0.1.3680043.9.7.555"
    source.file_meta.MediaStorageSOPInstanceUID = source.SOPInstanceUID
    inputs = tmp_path / "in"
    inputs.mkdir()
    source.save_as(inputs / "burned.dcm", enforce_file_format=True)
    name = str(source.PatientName)
    for policy, expected in (("annex-e/basic", 1), ("hipaa-safe-harbor", 0)):
        run = run_engine(policy, {"burned": inputs / "burned.dcm"}, tmp_path / policy)
        report = verify_tree(
            policy, run.output_root, original_root=inputs, secret=SECRET, iod=False
        )
        assert report.exit_code == expected, report.findings
        pixel_findings = [
            f for f in report.findings if f.code == FindingCode.IDENTIFYING_PIXEL_TEXT.value
        ]
        assert bool(pixel_findings) == bool(expected)
        assert all(f.location.startswith("(7FE0,0010) frame 0 box ") for f in pixel_findings)
        text = json.dumps(report.to_json())
        assert name.split("^")[0] not in text and "48213977" not in text
    assert pydicom.dcmread(inputs / "burned.dcm").PatientName == name  # input untouched


@pytest.mark.filterwarnings("ignore:Invalid value for VR CS")
def test_validator_text_that_quotes_a_value_is_withheld(
    tmp_path: Path,
    engine_run: Callable[[str], EngineRun],
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    """If dciodvfy ever echoes a value in a form the patterns miss, the message is withheld."""
    from deidengine.verify import iod

    # Input reports are cached; none made with the patched normaliser may outlive this test.
    iod._input_report.cache_clear()
    request.addfinalizer(iod._input_report.cache_clear)
    monkeypatch.setattr(iod, "normalise_message", lambda text: text)  # a format not known
    run = engine_run("annex-e/basic").copy(tmp_path / "out")
    output = run.read("omar-ct")
    output.Modality = "vanterpool"  # lower case is invalid for CS: dciodvfy quotes it
    output.save_as(run.outputs["omar-ct"])
    report = verify_tree(
        "annex-e/basic", run.output_root, original_root=run.input_root, secret=SECRET, ocr=False
    )
    assert report.exit_code == 1
    assert "vanterpool" not in json.dumps(report.to_json()).lower()
    withheld = [f for f in report.findings if "withheld" in f.message]
    assert withheld and {f.file for f in withheld} == {run.relative("omar-ct")}
