"""Item 4 of #14: symbolic links that leave IN are not followed unless asked, and are reported
as skipped (``link-outside-input``): no outside file reaches the quarantine or the output."""

from __future__ import annotations

import json
import os
from pathlib import Path

from click.testing import CliRunner

from deidengine.cli import main
from deidengine.run.discover import discover_inputs
from deidengine.run.pipeline import RunSettings
from deidengine.run.runner import run_tree
from tests.security.security_files import files_under, holds_marker, real_file, write

SECRET = bytes.fromhex("d8" * 32)


def _tree(tmp_path: Path) -> Path:
    """IN with one real file, a link inside IN to it, and links out to a DICOM file of another
    tree and to a private text file; the outside files carry the planted identity."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    write(real_file("MR_small.dcm"), outside / "other-patient.dcm")
    (outside / "passwd").write_text("root:x:0:0:QUIRINUS HELOISE:/root:/bin/sh\n")
    inputs = tmp_path / "in"
    write(real_file(), inputs / "ct.dcm")
    os.symlink(inputs / "ct.dcm", inputs / "inside-link.dcm")
    os.symlink(outside / "other-patient.dcm", inputs / "outside.dcm")
    (inputs / "deeper").mkdir()
    os.symlink("../../elsewhere/passwd", inputs / "deeper" / "passwd")
    return inputs


def test_discovery_reports_links_leaving_the_tree(tmp_path: Path) -> None:
    inputs = _tree(tmp_path)
    skipped: list[Path] = []
    found = list(discover_inputs(inputs, follow_links=False, on_skip=skipped.append))
    assert [p.name for p in found] == ["ct.dcm", "inside-link.dcm"]
    assert sorted(p.name for p in skipped) == ["outside.dcm", "passwd"]
    assert len(list(discover_inputs(inputs, follow_links=True))) == 4


def test_a_run_skips_links_leaving_in(tmp_path: Path) -> None:
    inputs = _tree(tmp_path)
    out, quarantine = tmp_path / "out", tmp_path / "out.quarantine"
    summary = run_tree(
        RunSettings("annex-e/basic", SECRET, str(out), str(quarantine)), inputs, workers=1
    )
    assert summary.written == 1  # ct.dcm; its in-tree link names the same instance
    assert dict(summary.skipped_by_reason) == {"already-done": 1, "link-outside-input": 2}
    assert summary.quarantined == 0 and summary.exit_code == 0
    assert not quarantine.exists()
    for name, data in files_under(out).items():
        assert holds_marker(data) is None, name
    audit = summary.audit_path.read_text()
    records = [json.loads(line) for line in audit.splitlines()]
    reasons = [r.get("reason") for r in records if r["record"] == "file"]
    assert reasons.count("link-outside-input") == 2 and "elsewhere" not in audit


def test_follow_links_reads_them(tmp_path: Path) -> None:
    inputs = _tree(tmp_path)
    summary = run_tree(
        RunSettings("annex-e/basic", SECRET, str(tmp_path / "o"), str(tmp_path / "q")),
        inputs,
        workers=1,
        follow_links=True,
    )
    assert summary.written == 2  # and the outside DICOM file
    assert dict(summary.quarantined_by_reason) == {"not-dicom": 1}


def test_the_cli_reports_the_skipped_links(tmp_path: Path) -> None:
    inputs = _tree(tmp_path)
    secret = tmp_path / "secret"
    secret.write_text("d8" * 32)
    secret.chmod(0o600)
    base = ["run", "--policy", "annex-e/basic", "--secret-file", str(secret), "--workers", "1"]
    result = CliRunner().invoke(main, [*base, str(inputs), str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "link-outside-input" in result.output
    followed = CliRunner().invoke(
        main, [*base, "--follow-links", str(inputs), str(tmp_path / "out2")]
    )
    assert followed.exit_code == 1  # the linked text file is quarantined
    assert "link-outside-input" not in followed.output
