"""A write left to a background mover (FileProcessor.start, the executors' loops) ends exactly
as FileProcessor.process ends it: written, already done, a duplicate output quarantined, a full
disk, a failed write; and the mover's thread ends with the loop that made it."""

from __future__ import annotations

import errno
import os
import shutil
import threading
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file

from deidengine.dicom.storage import BackgroundMover
from deidengine.run.executor import LocalExecutor, build_file_processor
from deidengine.run.outcome import Outcome, Reason, Status
from deidengine.run.pipeline import FileProcessor, RunSettings

KEY = bytes(range(32))


def _settings(root: Path) -> RunSettings:
    return RunSettings("annex-e/basic", KEY, str(root / "out"), str(root / "out.quarantine"))


def _inputs(tmp_path: Path) -> list[Path]:
    """CT, CT again (already done), a CT differing in one pixel byte (its output's name is
    taken: a duplicate output), MR."""
    folder = tmp_path / "in"
    folder.mkdir()
    paths = []
    for name in ("CT_small.dcm", "MR_small.dcm"):
        found = get_testdata_file(name)
        assert isinstance(found, str)
        paths.append(Path(shutil.copy(found, folder / name)))
    changed = dcmread(paths[0])
    pixels = bytearray(changed.PixelData)
    pixels[0] ^= 0xFF
    changed.PixelData = bytes(pixels)
    changed.save_as(folder / "changed.dcm")
    return [paths[0], paths[0], folder / "changed.dcm", paths[1]]


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _mover_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "deid-mover"]


def test_started_files_end_as_processed_files_do(tmp_path: Path) -> None:
    paths = _inputs(tmp_path)
    direct = FileProcessor(_settings(tmp_path / "direct"))
    expected = [direct.process(str(path)) for path in paths]
    assert [(o.status, o.reason) for o in expected] == [
        (Status.WRITTEN, None),
        (Status.SKIPPED, Reason.ALREADY_DONE),
        (Status.QUARANTINED, Reason.DUPLICATE_OUTPUT),
        (Status.WRITTEN, None),
    ]
    deferred = FileProcessor(_settings(tmp_path / "deferred"))
    mover = BackgroundMover()
    try:
        ends = [deferred.start(str(path), mover) for path in paths]
        outcomes = [end() for end in ends]
    finally:
        mover.close()
    assert outcomes == expected
    assert _tree(tmp_path / "deferred") == _tree(tmp_path / "direct")


@pytest.mark.parametrize(
    ("number", "reason"), [(errno.ENOSPC, Reason.DISK_FULL), (errno.EIO, Reason.WRITE_FAILED)]
)
def test_a_sync_that_fails_ends_as_it_does_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, number: int, reason: Reason
) -> None:
    def failing(descriptor: int) -> None:
        raise OSError(number, os.strerror(number))

    monkeypatch.setattr(os, "fdatasync", failing)
    (path, *_) = _inputs(tmp_path)
    expected = FileProcessor(_settings(tmp_path / "direct")).process(str(path))
    assert (expected.status, expected.reason) == (Status.QUARANTINED, reason)
    mover = BackgroundMover()
    try:
        outcome = FileProcessor(_settings(tmp_path / "deferred")).start(str(path), mover)()
    finally:
        mover.close()
    assert outcome == expected
    assert (
        not (tmp_path / "deferred" / "out").exists() or _tree(tmp_path / "deferred" / "out") == {}
    )
    assert _tree(tmp_path / "deferred") == _tree(tmp_path / "direct")


def _in_one_process(tmp_path: Path, paths: list[Path]) -> list[Outcome]:
    settings = _settings(tmp_path / "executor")
    return list(LocalExecutor(1).execute(paths, settings, build_file_processor))


def test_one_worker_yields_in_input_order_and_stops_its_mover(tmp_path: Path) -> None:
    paths = _inputs(tmp_path)
    direct = FileProcessor(_settings(tmp_path / "direct"))
    expected = [direct.process(str(path)) for path in paths]
    assert _in_one_process(tmp_path, paths) == expected
    assert _mover_threads() == []


def test_one_worker_stopped_early_leaves_no_temporary_and_no_thread(tmp_path: Path) -> None:
    paths = _inputs(tmp_path)
    settings = _settings(tmp_path / "executor")
    outcomes = LocalExecutor(1).execute(paths, settings, build_file_processor)
    assert next(iter(outcomes)).status is Status.WRITTEN
    outcomes.close()  # type: ignore[attr-defined]  # a generator: what the runner does on a stop
    assert _mover_threads() == []
    assert list((tmp_path / "executor").rglob("*.tmp")) == []


def test_an_honest_broker_rerun_is_already_done_as_in_process(tmp_path: Path) -> None:
    # Each run's envelope is random: the mover finds the bytes differ, and the worker's own
    # thread compares the data sets (their warnings silenced there) as process() does.
    from tests.provenance.recipients import make_recipient

    certificate = tmp_path / "broker.pem"
    certificate.write_bytes(make_recipient("honest broker").cert_pem)
    (path, *_) = _inputs(tmp_path)
    settings = RunSettings(
        "annex-e/basic",
        KEY,
        str(tmp_path / "out"),
        str(tmp_path / "out.quarantine"),
        encrypt_to=str(certificate),
    )
    processor = FileProcessor(settings)
    mover = BackgroundMover()
    try:
        first = processor.start(str(path), mover)()
        again = processor.start(str(path), mover)()
    finally:
        mover.close()
    assert first.status is Status.WRITTEN
    assert (again.status, again.reason, again.output) == (
        Status.SKIPPED,
        Reason.ALREADY_DONE,
        first.output,
    )
    assert not (tmp_path / "out.quarantine").exists()
