"""A full disk stops ``deid run`` cleanly, on a real (small tmpfs) filesystem.

Before, the run ended in a traceback from the manifest's database (and another from the audit,
and another from the manifest's exit), exit code 1 as if files had been quarantined.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydicom.data import get_testdata_file

from benchmarks.corpus import write_corpus
from deidengine.cli import main
from deidengine.dicom.keys import ProjectSecret
from deidengine.run.diskfull import DISK_FULL_MESSAGE, EXIT_DISK_FULL
from deidengine.run.outcome import Reason, Status
from deidengine.run.pipeline import FileProcessor, RunSettings
from deidengine.run.runner import run_tree

KEY_HEX = "a7" * 32
SECRET = ProjectSecret(bytes.fromhex(KEY_HEX))
REPO = Path(__file__).resolve().parents[2]
FILES = 80
PROGRESS = re.compile(r"^\S+Z deid run: ")  # the progress log lines of a run off a terminal


def _mount(place: Path, size: str) -> None:
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(place)], check=True)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs: a real filesystem that fills up (mounting needs root and a kernel that
    lets this process mount; elsewhere the test is skipped, saying so)."""
    place = tmp_path / "small"
    place.mkdir()
    try:
        _mount(place, "1m")
    except (OSError, subprocess.CalledProcessError) as error:
        pytest.skip(f"cannot mount a small tmpfs to fill ({error}); run as root to test")
    try:
        yield place
    finally:
        subprocess.run(["umount", "-l", str(place)], check=False)


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_a_full_disk_stops_the_run_with_one_message_and_the_rerun_finishes(
    tmp_path: Path, small_disk: Path
) -> None:
    source = tmp_path / "in"
    write_corpus(source, FILES)
    reference = tmp_path / "reference"
    settings = RunSettings(
        "annex-e/basic", SECRET.key, str(reference), str(tmp_path / "reference.quarantine")
    )
    assert run_tree(settings, source, workers=1).written == FILES
    key = tmp_path / "project.key"
    key.write_text(KEY_HEX + "\n", encoding="ascii")
    key.chmod(0o600)  # a readable secret draws a warning (tests/security), not under test here
    out = small_disk / "out"
    command = [
        sys.executable,
        "-m",
        "deidengine.cli",
        "run",
        "--policy",
        "annex-e/basic",
        "--secret-file",
        str(key),
        "--workers",
        "2",
        str(source),
        str(out),
    ]
    environment = {**os.environ, "PYTHONPATH": str(REPO)}

    full = subprocess.run(command, env=environment, capture_output=True, timeout=120)
    assert full.returncode == EXIT_DISK_FULL, full.stderr.decode()
    messages = [line for line in full.stderr.decode().splitlines() if not PROGRESS.match(line)]
    assert messages == [f"deid run: {DISK_FULL_MESSAGE}"]
    done = len(list(out.rglob("*.dcm")))
    assert 0 < done < FILES
    assert sorted(small_disk.rglob(".deid-*.tmp")) == []
    # Nothing went to quarantine for want of space, and no half-written record is left.
    quarantine = small_disk / "out.quarantine"
    assert not quarantine.exists() or list(quarantine.iterdir()) == []
    for audit in (small_disk / "out.audit").glob("*.jsonl"):
        for line in audit.read_text("utf-8").splitlines():
            json.loads(line)  # every line whole

    subprocess.run(["mount", "-o", "remount,size=16m", str(small_disk)], check=True)
    finished = subprocess.run(command, env=environment, capture_output=True, timeout=120)
    assert finished.returncode == 0, finished.stderr.decode()
    assert _files(out) == _files(reference)
    assert sorted(small_disk.rglob(".deid-*.tmp")) == []


def test_a_worker_on_a_full_disk_writes_nothing_and_says_disk_full(
    tmp_path: Path, small_disk: Path
) -> None:
    filler = small_disk / "filler"
    filler.write_bytes(b"\1" * ((1 << 20) - (8 << 10)))  # leaves 8 KiB: less than one output
    settings = RunSettings(
        "annex-e/basic", SECRET.key, str(small_disk / "out"), str(small_disk / "out.quarantine")
    )
    source = get_testdata_file("CT_small.dcm")
    assert isinstance(source, str)
    outcome = FileProcessor(settings).process(source)
    assert (outcome.status, outcome.reason) == (Status.QUARANTINED, Reason.DISK_FULL)
    assert sorted(path.name for path in small_disk.rglob("*") if path.is_file()) == ["filler"]


def test_a_disk_too_full_to_open_the_manifest_gives_the_same_one_message(
    tmp_path: Path, small_disk: Path
) -> None:
    (small_disk / "filler").write_bytes(b"\1" * ((1 << 20) - (4 << 10)))
    key = tmp_path / "project.key"
    key.write_text(KEY_HEX + "\n", encoding="ascii")
    key.chmod(0o600)  # a readable secret draws a warning (tests/security), not under test here
    source = get_testdata_file("CT_small.dcm")
    assert isinstance(source, str)
    arguments = ["run", "--policy", "annex-e/basic", "--secret-file", str(key), "--workers", "1"]
    result = CliRunner().invoke(main, [*arguments, source, str(small_disk / "out")])
    assert result.exit_code == EXIT_DISK_FULL
    assert result.stderr.splitlines() == [f"deid run: {DISK_FULL_MESSAGE}"]
    assert sorted(small_disk.rglob(".deid-*.tmp")) == []
