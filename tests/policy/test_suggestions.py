"""Every misspelling gets a hint that names the intended word."""

from __future__ import annotations

from pathlib import Path

import pytest

from deidengine.policy import check_policy

CASES = [
    ("PatientNmae -> Z", "did you mean 'PatientName'?"),
    ("PatientName when Modalty == CT -> Z", "did you mean 'Modality'?"),
    ("PatientName -> emtpy", "did you mean 'empty'?"),
    ("vr DX -> X", "did you mean DA, DS or DT?"),
    ("AdditionalPatientHistory -> scrub phnoe", "did you mean 'phone'?"),
    ("pixels -> ocr-redact al", "did you mean 'all'?"),
    ("use annex-e/retain-uid", "did you mean 'annex-e/retain-uids'?"),
    ("polcy x", "did you mean 'policy'?"),
]


@pytest.mark.parametrize(("line", "hint"), CASES)
def test_misspelling_hint(tmp_path: Path, line: str, hint: str) -> None:
    path = tmp_path / "typo.policy"
    path.write_text(f"policy typo\n{line}\n", encoding="utf-8")
    diagnostics = check_policy(str(path))
    assert [(d.span.line if d.span else None, d.help) for d in diagnostics] == [(2, hint)]
