"""Item 5 of #14: quarantined copies hold the original PHI: 0600 files in a 0700 folder, and
the run summary says where they are."""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from deidengine.run.outcome import Reason, Status
from deidengine.run.pipeline import FileProcessor, RunSettings
from deidengine.run.report import print_summary
from deidengine.run.runner import run_tree
from tests.security.security_files import real_file, write

SECRET = bytes.fromhex("c7" * 32)


@pytest.fixture()
def open_umask() -> Iterator[None]:
    """The common umask, under which plain writes give 0644 files and 0755 folders."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _inputs(folder: Path) -> list[Path]:
    broken = folder / "notes.txt"
    folder.mkdir(parents=True, exist_ok=True)
    broken.write_text("QUIRINUS HELOISE, not DICOM")
    rejected = real_file()
    rejected.Modality = "XC"  # hipaa-safe-harbor refuses photographs
    return [broken, write(rejected, folder / "photo.dcm")]


@pytest.mark.usefixtures("open_umask")
def test_quarantine_files_are_0600_in_a_0700_folder(tmp_path: Path) -> None:
    quarantine = tmp_path / "out.quarantine"
    quarantine.mkdir(mode=0o755)  # left by an earlier run, or made by hand
    processor = FileProcessor(
        RunSettings("hipaa-safe-harbor", SECRET, str(tmp_path / "out"), str(quarantine))
    )
    outcomes = [processor.process(str(path)) for path in _inputs(tmp_path / "in")]
    assert [(o.status, o.reason) for o in outcomes] == [
        (Status.QUARANTINED, Reason.NOT_DICOM),
        (Status.QUARANTINED, Reason.REJECTED_BY_POLICY),
    ]
    assert _mode(quarantine) == 0o700
    held = sorted(quarantine.iterdir())
    assert len(held) == 4  # a copy and a JSON reason per input
    assert {path.suffix for path in held} == {".input", ".json"}
    assert {_mode(path) for path in held} == {0o600}


@pytest.mark.usefixtures("open_umask")
def test_a_copy_left_by_an_earlier_run_is_made_private(tmp_path: Path) -> None:
    quarantine = tmp_path / "q"
    processor = FileProcessor(
        RunSettings("annex-e/basic", SECRET, str(tmp_path / "o"), str(quarantine))
    )
    source = _inputs(tmp_path / "in")[0]
    reference = processor.input_reference(str(source))
    quarantine.mkdir()
    (quarantine / f"{reference}.input").write_bytes(b"old")
    os.chmod(quarantine / f"{reference}.input", 0o644)
    processor.process(str(source))
    assert _mode(quarantine / f"{reference}.input") == 0o600
    assert (quarantine / f"{reference}.input").read_bytes() == source.read_bytes()


def test_the_summary_says_where_the_quarantine_is(tmp_path: Path) -> None:
    quarantine = tmp_path / "out.quarantine"
    summary = run_tree(
        RunSettings("annex-e/basic", SECRET, str(tmp_path / "out"), str(quarantine)),
        _inputs(tmp_path / "in")[0].parent,
        workers=1,
    )
    assert summary.quarantine_path == quarantine
    stream = io.StringIO()
    print_summary(summary, stream)
    assert f"quarantine: {quarantine}" in stream.getvalue()


@pytest.mark.usefixtures("open_umask")
def test_a_shared_folder_given_as_quarantine_keeps_its_mode(tmp_path: Path) -> None:
    """``--quarantine`` naming a folder that holds other things (a home, a shared folder): its
    mode is not the engine's to change; the copies in it are still 0600."""
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    (shared / "notes.txt").write_text("someone else's")
    processor = FileProcessor(
        RunSettings("annex-e/basic", SECRET, str(tmp_path / "o"), str(shared))
    )
    processor.process(str(_inputs(tmp_path / "in")[0]))
    assert _mode(shared) == 0o755
    assert {_mode(p) for p in shared.iterdir() if p.name != "notes.txt"} == {0o600}
