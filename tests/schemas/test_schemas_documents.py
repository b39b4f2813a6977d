"""Every JSON document the program writes, from real runs, holds to its model.

One real ``deid run`` over pydicom's CT and MR files and a file that is not DICOM gives the
audit (every line), the quarantine record, ``quarantine list``, ``verify`` and ``detect``
documents; the policy verbs run on the shipped policies and on a broken policy file.
Validation is strict and closed (no unknown key), and each document must dump back to exactly
the JSON that was written: a key the model does not know, or one it would add, fails.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pydantic import BaseModel

from deidengine.cli import main
from deidengine.policy.plan import Weakening
from deidengine.run.audit import AuditHeader, AuditWriter
from deidengine.run.outcome import REASON_TEXT, Outcome, Reason, Status
from deidengine.schemas.audit import (
    AuditFileRecord,
    AuditHeaderRecord,
    AuditRecord,
    AuditSummaryRecord,
    AuditUnlistedDirectoryRecord,
    GatewayAuditRecord,
    GatewayForwardedRecord,
    GatewaySummaryRecord,
    RunSummaryDocument,
)
from deidengine.schemas.detect import DetectReport
from deidengine.schemas.policy import (
    CompiledPlan,
    PolicyCheckReport,
    PolicyExplanation,
    PolicyList,
)
from deidengine.schemas.quarantine import QuarantineList, QuarantineRecord
from deidengine.schemas.serve import GatewayStatusDocument
from deidengine.schemas.verify import VerifyReportDocument
from deidengine.serve.audit import GatewayAudit
from deidengine.serve.queue import ErrorKind, InstanceQueue, State
from deidengine.serve.status import gateway_status
from deidengine.verify.conformance import FindingCode
from tests.pydicom_files import bundled_test_files
from tests.serve.serve_peers import minimal_config

KEY_HEX = "3c" * 32
SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "in" / "patients"


def _document(model: type[BaseModel], text: str) -> Any:
    """``text`` validated strictly against ``model``; it must dump back to the same JSON."""
    document = model.model_validate_json(text, strict=True)
    assert document.model_dump(mode="json", by_alias=True, exclude_unset=True) == json.loads(text)
    return document


def _invoke(*arguments: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, list(arguments))
    assert result.exit_code == code, result.output
    return result.stdout


@dataclass(frozen=True)
class Run:
    source: Path
    output: Path
    key: Path


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = tmp_path_factory.mktemp("schemas")
    source = root / "in"
    source.mkdir()
    for name in ("CT_small.dcm", "MR_small.dcm"):
        (path,) = bundled_test_files(name)
        shutil.copyfile(path, source / name)
    (source / "notes.txt").write_bytes(b"not a DICOM file")
    key = root / "project.key"
    key.write_text(KEY_HEX + "\n", encoding="ascii")
    output = root / "out"
    arguments = ["run", "--policy", "annex-e/basic", "--secret-file", str(key), "--workers", "1"]
    _invoke(*arguments, "--quiet", str(source), str(output), code=1)
    return Run(source, output, key)


# ----------------------------------------------------------------------------- deid run
def test_every_audit_line_is_an_audit_record(run: Run) -> None:
    (audit,) = (run.output.parent / "out.audit").glob("*.jsonl")
    records = [_document(AuditRecord, line).root for line in audit.read_text("utf-8").splitlines()]
    assert [type(r) for r in records] == [
        AuditHeaderRecord,
        AuditFileRecord,
        AuditFileRecord,
        AuditFileRecord,
        AuditSummaryRecord,
    ]
    files = records[1:4]
    assert sorted(r.status.value for r in files) == ["quarantined", "written", "written"]
    assert {r.reason for r in files} == {None, Reason.NOT_DICOM}
    summary = records[-1]
    assert (summary.total, summary.written, summary.quarantined) == (3, 2, {"not-dicom": 1})
    assert summary.run_id == records[0].run_id
    # The summary line is RunSummary.to_json() plus its record and time.
    counts = json.loads(audit.read_text("utf-8").splitlines()[-1])
    del counts["record"], counts["time"]
    _document(RunSummaryDocument, json.dumps(counts))


def test_the_quarantine_record_and_its_listing(run: Run) -> None:
    quarantine = run.output.parent / "out.quarantine"
    (record_path,) = quarantine.glob("*.json")
    record = _document(QuarantineRecord, record_path.read_text("utf-8"))
    assert record.reason is Reason.NOT_DICOM and record.sealed_input_path
    assert record.input == record_path.stem
    listed = _invoke(
        "quarantine", "list", str(quarantine), "--secret-file", str(run.key), "--format", "json"
    )
    (entry,) = _document(QuarantineList, listed).root
    assert entry.input == record.input and entry.input_path == str(run.source / "notes.txt")
    assert entry.copy_path == str(quarantine / f"{record.input}.input") and entry.resolved


def test_unlisted_directory_and_weakening_lines(tmp_path: Path) -> None:
    """Lines a small clean run does not write, from the real writer."""
    header = AuditHeader(
        "20260101T000000.000Z-abcdef",
        ("annex-e/basic", "site"),
        "0" * 64,
        "local",
        lookups=("ids",),
        record_mappings=True,
        weakenings=(
            Weakening(
                "vr PN -> keep", "site.policy:3", None, ("annex-e/basic",), ("PatientName (Z)",)
            ),
        ),
    )
    with AuditWriter(tmp_path / "audit.jsonl", header, workers=2) as writer:
        writer.record(Outcome("0123456789ab", Status.SKIPPED, reason=Reason.DIRECTORY_RECORD))
        writer.record_unlisted_directory("ba9876543210", "PermissionError")
    lines = (tmp_path / "audit.jsonl").read_text("utf-8").splitlines()
    header_line, file_line, unlisted = (_document(AuditRecord, line).root for line in lines)
    assert header_line.weakenings[0].elements == ("PatientName (Z)",)
    assert file_line.reason is Reason.DIRECTORY_RECORD
    assert isinstance(unlisted, AuditUnlistedDirectoryRecord) and unlisted.input == "ba9876543210"


# ----------------------------------------------------------------------------- verify, detect
def test_verify_json(run: Run) -> None:
    clean = _invoke(
        "verify",
        "--policy",
        "annex-e/basic",
        "--no-ocr",
        "--no-iod",
        "--format",
        "json",
        str(run.output),
    )
    report = _document(VerifyReportDocument, clean)
    assert report.files_checked == 2 and report.errors == 0
    # The untouched inputs fail, with findings of several codes.
    raw = _invoke(
        "verify",
        "--policy",
        "annex-e/basic",
        "--no-ocr",
        "--no-iod",
        "--format",
        "json",
        str(run.source),
        code=1,
    )
    failed = _document(VerifyReportDocument, raw)
    codes = {f.code for f in failed.findings}
    assert {FindingCode.NOT_DICOM, FindingCode.SHOULD_BE_REMOVED} <= codes
    assert failed.errors == sum(f.severity.value == "error" for f in failed.findings)


def test_detect_json_with_every_optional_key(tmp_path: Path, run: Run) -> None:
    source = tmp_path / "in"
    source.mkdir()
    shutil.copyfile(SAMPLES / "QUIRINUS_screenshot.dcm", source / "a.dcm")
    shutil.copyfile(run.source / "notes.txt", source / "b.txt")
    text = _invoke(
        "detect",
        str(source),
        "--format",
        "json",
        "--show-text",
        "--show-paths",
        "--secret-file",
        str(run.key),
        code=4,  # identifying text found, and a file that could not be read
    )
    screenshot, not_dicom = _document(DetectReport, text).root
    assert screenshot.findings and any(f.identifying and f.text for f in screenshot.findings)
    assert screenshot.path == str(source / "a.dcm") and screenshot.input
    assert not_dicom.reason is Reason.NOT_DICOM and not_dicom.findings is None
    assert not_dicom.problem == REASON_TEXT[Reason.NOT_DICOM]
    hidden = json.loads(_invoke("detect", str(source / "a.dcm"), "--format", "json", code=1))
    assert set(hidden[0]) == {
        "file",
        "digest",
        "frames",
        "frames_scanned",
        "frames_with_candidates",
        "ocr_calls",
        "backend",
        "findings",
    }
    assert all("text" not in f for f in hidden[0]["findings"])


# ----------------------------------------------------------------------------- policy
def test_policy_list_and_compile_json() -> None:
    listed = _document(PolicyList, _invoke("policy", "list", "--format", "json")).root
    assert "annex-e/basic" in {p.name for p in listed}
    plan = _document(
        CompiledPlan, _invoke("policy", "compile", "annex-e/basic,annex-e/retain-uids")
    )
    assert plan.codes == ("113100", "113110") and plan.rules
    assert {r.kind for r in plan.rules} >= {"tag", "private"}
    assert {r.text_cleaning for r in plan.rules} == {None}
    hipaa = _document(CompiledPlan, _invoke("policy", "compile", "hipaa-safe-harbor"))
    assert {r.text_cleaning for r in hipaa.rules} == {None, "strict"}


def test_policy_explain_json() -> None:
    whole = _document(
        PolicyExplanation, _invoke("policy", "explain", "hipaa-safe-harbor", "--format", "json")
    )
    assert any(r.conditions for r in whole.rules) and any(r.section for r in whole.rules)
    assert [m.value for m in whole.methods] == list(whole.codes)
    assert {r.text_cleaning for r in whole.rules} == {None, "strict"}
    one = _document(
        PolicyExplanation,
        _invoke("policy", "explain", "annex-e/basic", "--tag", "PatientName", "--format", "json"),
    )
    (rule,) = one.rules
    assert rule.keyword == "PatientName"


def test_policy_check_json(tmp_path: Path) -> None:
    broken = tmp_path / "broken.policy"
    broken.write_text('policy broken "a broken policy"\nNoSuchKeyword -> X\n', encoding="utf-8")
    text = _invoke("policy", "check", "annex-e/basic", str(broken), "--format", "json", code=1)
    report = _document(PolicyCheckReport, text).root
    assert report["annex-e/basic"] == ()
    (diagnostic,) = report[str(broken)]
    assert diagnostic.code.value == "E201" and diagnostic.line == 2 and diagnostic.help


# ----------------------------------------------------------------------------- deid serve
def test_serve_status_json(tmp_path: Path) -> None:
    config = minimal_config(tmp_path)
    queue = InstanceQueue(config.gateway.queue_path)
    for name in ("a", "b"):
        queue.add("main", name)
    queue.settle(1, State.QUARANTINED, input_ref="0123456789ab", reason="truncated")
    queue.note_error("main", ErrorKind.DEIDENTIFY, "truncated")
    queue.close()
    status = _document(GatewayStatusDocument, json.dumps(gateway_status(config).to_json()))
    assert status.depth["main"][State.QUARANTINED] == 1
    (error,) = status.errors
    assert (error.kind, error.code, error.count) == (ErrorKind.DEIDENTIFY, "truncated", 1)


def test_serve_audit_lines(tmp_path: Path) -> None:
    header = AuditHeader("20260101T000000.000Z-abcdef", ("annex-e/basic",), "0" * 64, "serve")
    audit = GatewayAudit(tmp_path / "audit.jsonl", header, workers=1)
    with audit:
        audit.record(Outcome("0123456789ab", Status.WRITTEN, output="1.2/3.dcm"))
        audit.record_forwarded("0123456789ab", "1.2/3.dcm", "PACS@127.0.0.1:104")
        audit.summarize({"received": 1, "forwarded": 1, "waiting": 0})
    lines = (tmp_path / "audit.jsonl").read_text("utf-8").splitlines()
    records = [_document(GatewayAuditRecord, line).root for line in lines]
    assert [type(r) for r in records] == [
        AuditHeaderRecord,
        AuditFileRecord,
        GatewayForwardedRecord,
        GatewaySummaryRecord,
    ]
