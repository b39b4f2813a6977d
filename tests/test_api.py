"""The Python API (deidengine.api): same engine as ``deid run``, inputs never changed."""

from __future__ import annotations

import copy
from pathlib import Path

import pydicom
import pytest
from click.testing import CliRunner
from pydicom.data import get_testdata_file

import deidengine
from deidengine import QuarantinedError, Session, load_policy, load_secret, verify_output
from deidengine.cli import main
from deidengine.dicom.keys import InvalidSecretError
from deidengine.run.outcome import Reason, Status

KEY = bytes(range(32))


def _ct() -> pydicom.Dataset:
    return pydicom.dcmread(get_testdata_file("CT_small.dcm"))


def test_exports_are_the_api_and_cost_nothing_until_used() -> None:
    assert deidengine.load_policy is load_policy
    with pytest.raises(AttributeError):
        _ = deidengine.no_such_thing  # type: ignore[attr-defined]


def test_load_secret_from_bytes_file_and_refusals(tmp_path: Path) -> None:
    assert load_secret(KEY).key == KEY
    path = tmp_path / "project.secret"
    path.write_text(KEY.hex() + "\n", encoding="ascii")
    assert load_secret(path).key == KEY
    with pytest.raises(InvalidSecretError):
        load_secret(b"short")


def test_deidentify_never_changes_its_input_and_stamps_provenance() -> None:
    original = _ct()
    before = copy.deepcopy(original)
    result = deidengine.deidentify(original, load_policy("annex-e/basic"), load_secret(KEY))
    assert original == before
    assert original.PatientName == before.PatientName
    assert result.dataset.PatientName == ""  # Z in Table E.1-1
    assert result.dataset.PatientID == ""
    assert result.provenance.patient_identity_removed == "YES"
    assert result.provenance.method_codes == ("113100",)
    assert result.uid_map[original.SOPInstanceUID] == result.dataset.SOPInstanceUID
    assert result.actions  # counts by action label
    assert "CompressedSamples" not in repr(result)


def test_api_agrees_with_deid_run(tmp_path: Path) -> None:
    """Same policy and secret: the API gives the UIDs and values ``deid run`` writes."""
    source = tmp_path / "in"
    source.mkdir()
    (source / "ct.dcm").write_bytes(Path(get_testdata_file("CT_small.dcm")).read_bytes())
    secret = tmp_path / "project.secret"
    secret.write_text(KEY.hex() + "\n", encoding="ascii")
    secret.chmod(0o600)
    out = tmp_path / "out"
    ran = CliRunner().invoke(
        main,
        [
            "run",
            "--policy",
            "hipaa-safe-harbor",
            "--secret-file",
            str(secret),
            str(source),
            str(out),
        ],
    )
    assert ran.exit_code == 0, ran.output
    by_run = pydicom.dcmread(next(out.rglob("*.dcm")))
    session = Session(load_policy("hipaa-safe-harbor"), load_secret(secret))
    by_api = session.deidentify(_ct()).dataset
    for keyword in ("SOPInstanceUID", "StudyInstanceUID", "PatientID", "StudyDate", "PatientName"):
        assert by_api.get(keyword) == by_run.get(keyword), keyword
    again = session.deidentify(_ct()).dataset
    assert again.StudyInstanceUID == by_api.StudyInstanceUID
    assert session.uid_map  # gathered across calls


def test_a_file_that_cannot_be_proven_clean_raises_with_the_reason(tmp_path: Path) -> None:
    policy = tmp_path / "reject.policy"
    policy.write_text(
        'policy reject "refuses CT"\nuse annex-e/basic\npixels when Modality == "CT" -> reject\n',
        encoding="utf-8",
    )
    with pytest.raises(QuarantinedError) as raised:
        Session(load_policy(str(policy)), load_secret(KEY)).deidentify(_ct())
    assert raised.value.reason is Reason.REJECTED_BY_POLICY
    assert "CompressedSamples" not in str(raised.value)


def test_deidentify_file_writes_one_file_or_quarantines(tmp_path: Path) -> None:
    session = Session(load_policy("annex-e/basic"), load_secret(KEY))
    out = tmp_path / "one.dcm"
    outcome = session.deidentify_file(get_testdata_file("CT_small.dcm"), out)
    assert outcome.status is Status.WRITTEN
    assert pydicom.dcmread(out).PatientIdentityRemoved == "YES"
    junk = tmp_path / "junk.dcm"
    junk.write_bytes(b"not dicom at all" * 10)
    outcome = session.deidentify_file(junk, tmp_path / "two.dcm")
    assert outcome.status is Status.QUARANTINED
    assert outcome.reason is Reason.NOT_DICOM
    assert not (tmp_path / "two.dcm").exists()


def test_verify_output_finds_a_restored_name() -> None:
    plan, secret = load_policy("annex-e/basic"), load_secret(KEY)
    original = _ct()
    result = deidengine.deidentify(original, plan, secret)
    assert verify_output(result.dataset, plan, original=original, secret=secret, ocr=False) == []
    leaked = copy.deepcopy(result.dataset)
    leaked.PatientName = original.PatientName
    findings = verify_output(leaked, plan, original=original, secret=secret, ocr=False)
    assert any(f.location == "(0010,0010)" for f in findings)
    assert all("CompressedSamples" not in f.message for f in findings)
