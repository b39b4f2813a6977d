"""IOD validity with dciodvfy: only the errors the engine added count, and no value is echoed."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from deidengine.verify import iod
from deidengine.verify.conformance import FindingCode, Severity
from deidengine.verify.iod import IodReport, iod_errors, new_iod_errors, normalise_message
from tests.verify.conftest import EngineRun


def test_normalise_message_drops_values_and_creators() -> None:
    line = (
        "</PatientName(0010,0010)[1]> - Value invalid for this VR [PN] = <QUIRINUS^HELOISE> "
        "- Length invalid for this VR = <100> - expected <= 64"
    )
    assert normalise_message(line) == (
        "</PatientName(0010,0010)[1]> - Value invalid for this VR [PN] "
        "- Length invalid for this VR - expected <= 64"
    )
    assert normalise_message('</(0029,1010,"DOE JANE")> - Unrecognized tag') == (
        '</(0029,1010,"…")> - Unrecognized tag'
    )
    spelled = "</Modality(0008,0060)[1]> - Value invalid for this VR [CS] = <quirinus> - "
    assert normalise_message(spelled + "Character invalid for this VR = 'q' (0x71)") == (
        "</Modality(0008,0060)[1]> - Value invalid for this VR [CS] - Character invalid for this VR"
    )
    kept = "</ImageType(0008,0008)> - Missing attribute for Type 1 Required - Module=<CTImage>"
    assert normalise_message(kept) == kept


@pytest.mark.parametrize("policy", ["annex-e/basic", "hipaa-safe-harbor"])
@pytest.mark.parametrize("label", ["jane-ct", "jane-mr"])  # CT_small and MR_small
def test_engine_outputs_add_no_iod_error(
    policy: str, label: str, engine_run: Callable[[str], EngineRun]
) -> None:
    run = engine_run(policy)
    assert new_iod_errors(run.outputs[label], run.inputs[label]) == ()


@pytest.mark.filterwarnings("ignore:The PN component length")
def test_a_broken_output_is_flagged(tmp_path: Path, engine_run: Callable[[str], EngineRun]) -> None:
    run = engine_run("annex-e/basic")
    broken = run.read("jane-ct")
    del broken.SOPClassUID
    broken.PatientName = "QUIRINUS^" + "X" * 80  # too long for PN: dciodvfy prints the value
    path = tmp_path / "broken.dcm"
    broken.save_as(path)
    findings = new_iod_errors(path, run.inputs["jane-ct"], file="broken.dcm")
    assert findings, "deleting SOP Class UID must break the IOD"
    assert {f.code for f in findings} == {FindingCode.IOD_NEW_ERROR.value}
    assert {f.severity for f in findings} == {Severity.ERROR}
    located = {f.location: f.message for f in findings}
    assert "/MediaStorageSOPClassUID(0002,0002)" in located
    assert "missing SOPClassUID" in located["/MediaStorageSOPClassUID(0002,0002)"]
    assert "QUIRINUS" not in repr(findings)
    # Without the input to compare with, the same errors are reported, at warning level.
    alone = iod_errors(path, file="broken.dcm")
    assert {f.location for f in alone} >= set(located)
    assert {f.severity for f in alone} == {Severity.WARNING}


def test_the_input_is_validated_once(
    monkeypatch: pytest.MonkeyPatch, engine_run: Callable[[str], EngineRun]
) -> None:
    run = engine_run("annex-e/basic")
    iod._input_report.cache_clear()
    calls: list[str] = []
    real_run = subprocess.run

    def counting(command: list[str], **options: Any) -> Any:
        calls.append(command[-1])
        return real_run(command, **options)

    monkeypatch.setattr(subprocess, "run", counting)
    source = run.inputs["jane-ct"]
    for _ in range(3):
        assert new_iod_errors(run.outputs["jane-ct"], source) == ()
    assert calls.count(str(source.resolve())) == 1
    assert len(calls) == 4


def test_missing_validator_is_a_warning(
    monkeypatch: pytest.MonkeyPatch, engine_run: Callable[[str], EngineRun]
) -> None:
    run = engine_run("annex-e/basic")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert iod.validate(run.outputs["jane-ct"]) == IodReport(available=False)
    findings = new_iod_errors(run.outputs["jane-ct"], run.inputs["jane-ct"], file="a.dcm")
    assert [(f.code, f.severity) for f in findings] == [
        (FindingCode.VALIDATOR_MISSING.value, Severity.WARNING)
    ]
