"""DICOMDIR files are skipped as ``dicomdir``; ``deid run FILE OUT.dcm`` writes that one file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pydicom
from click.testing import CliRunner
from pydicom.data import get_testdata_file
from pydicom_files import DATA

from deidengine.cli import main
from deidengine.run.manifest import remove_stale_temporaries

KEY_HEX = "4d" * 32
DICOMDIRS = sorted(
    path for path in (DATA / "test_files" / "dicomdirtests").rglob("DICOMDIR*") if path.is_file()
)


def _run(tmp_path: Path, source: Path, output: Path) -> tuple[int, str]:
    key = tmp_path / "project.key"
    key.write_text(KEY_HEX + "\n", encoding="ascii")
    key.chmod(0o600)  # an exposed secret file draws a warning (tests/security)
    arguments = ["run", "--policy", "annex-e/basic", "--secret-file", str(key), "--workers", "1"]
    result = CliRunner().invoke(main, [*arguments, str(source), str(output)])
    return result.exit_code, result.stdout  # the summary (stderr: progress lines)


def _ct() -> Path:
    found = get_testdata_file("CT_small.dcm")
    assert isinstance(found, str)
    return Path(found)


def test_every_dicomdir_is_skipped_and_leaves_the_exit_code_alone(tmp_path: Path) -> None:
    assert len(DICOMDIRS) >= 8  # every variant pydicom ships: implicit, big endian, empty...
    source = tmp_path / "in"
    source.mkdir()
    for number, path in enumerate(DICOMDIRS):
        shutil.copy(path, source / f"DICOMDIR{number}")
    shutil.copy(_ct(), source / "IM0001")
    code, output = _run(tmp_path, source, tmp_path / "out")
    assert code == 0, output
    assert f"skipped  dicomdir      {len(DICOMDIRS)}" in output
    assert "quarantined" not in output
    assert not (tmp_path / "out.quarantine").exists()
    assert len(list((tmp_path / "out").rglob("*.dcm"))) == 1


def test_one_file_in_one_file_out(tmp_path: Path) -> None:
    target = tmp_path / "deidentified.dcm"
    code, output = _run(tmp_path, _ct(), target)
    assert code == 0, output
    assert target.is_file()
    written = pydicom.dcmread(target)
    assert written.PatientName != pydicom.dcmread(_ct()).PatientName
    assert written.file_meta.MediaStorageSOPInstanceUID == written.SOPInstanceUID
    beside = sorted(path.name for path in tmp_path.iterdir())
    assert beside == [
        "deidentified.dcm",
        "deidentified.dcm.audit",
        "deidentified.dcm.manifest.sqlite",
        "deidentified.dcm.manifest.sqlite.lock",
        "project.key",
    ]
    # Run again: the file is found done, not written twice, not refused as "not a directory".
    code, output = _run(tmp_path, _ct(), target)
    assert code == 0 and "already-done" in output, output
    # A name without .dcm, or a directory input, keeps the tree layout.
    code, output = _run(tmp_path, _ct(), tmp_path / "tree")
    assert code == 0 and len(list((tmp_path / "tree").rglob("*.dcm"))) == 1


def test_a_one_file_run_sweeps_only_its_own_temporaries(tmp_path: Path) -> None:
    mine = tmp_path / ".deid-scan.dcm.k2j3h4.tmp"
    theirs = tmp_path / ".deid-other.dcm.x1y2z3.tmp"
    for path in (mine, theirs):
        path.write_bytes(b"partial")
    assert remove_stale_temporaries(tmp_path / "scan.dcm") == 1
    assert not mine.exists() and theirs.exists()
