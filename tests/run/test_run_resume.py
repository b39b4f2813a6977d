"""Resumable runs: the manifest, kill -9 in the middle of ``deid run``, and the re-run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from run_fakes import deid_run_process, fake_inputs, fake_worker, secret_file, settings_for

from benchmarks.corpus import write_corpus
from deidengine.dicom.keys import ProjectSecret
from deidengine.run.layout import RunConfigurationError
from deidengine.run.manifest import RunManifest, configuration_digest, default_manifest
from deidengine.run.outcome import Outcome, Reason, Status, input_reference
from deidengine.run.pipeline import RunSettings
from deidengine.run.runner import RunSummary, run_tree

KEY_HEX = "5e" * 32
SECRET = ProjectSecret(bytes.fromhex(KEY_HEX))
REPO = Path(__file__).resolve().parents[2]


def _settings(root: Path, out: str = "out") -> RunSettings:
    return RunSettings(
        "annex-e/basic", SECRET.key, str(root / out), str(root / f"{out}.quarantine")
    )


def _tree(root: Path) -> dict[str, bytes]:
    """Relative path → bytes of every file under ``root``."""
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _temporaries(root: Path) -> list[Path]:
    return sorted(root.rglob(".deid-*.tmp"))


def _file_lines(summary_or_audit: RunSummary | Path) -> list[dict[str, object]]:
    path = (
        summary_or_audit.audit_path
        if isinstance(summary_or_audit, RunSummary)
        else summary_or_audit
    )
    lines = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    return [line for line in lines if line["record"] == "file"]


def test_kill_minus_nine_then_resume_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    source = tmp_path / "in"
    write_corpus(source, 60)
    reference = run_tree(_settings(tmp_path, "reference"), source, workers=1)
    assert reference.written == 60

    out = tmp_path / "out"
    command, environment = deid_run_process(secret_file(tmp_path, KEY_HEX), source, out)
    run = subprocess.Popen(
        command,
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: kill the run and its workers at once
    )
    try:
        deadline = time.monotonic() + 60
        while len(list(out.rglob("*.dcm"))) < 3 and time.monotonic() < deadline:
            assert run.poll() is None, "the run ended before it could be interrupted"
            time.sleep(0.005)
        assert run.poll() is None, "the run ended before it could be interrupted"
        os.killpg(run.pid, signal.SIGKILL)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
        run.wait(timeout=30)
    time.sleep(0.2)  # let the killed workers' descriptors close
    before = len(list(out.rglob("*.dcm")))
    assert 3 <= before < 60
    planted = next(out.rglob("*.dcm")).parent / ".deid-planted.tmp"
    planted.write_bytes(b"half a file")  # what a worker killed mid-write leaves behind

    resumed = subprocess.run(command, cwd=tmp_path, env=environment, capture_output=True)
    assert resumed.returncode == 0, resumed.stderr.decode()

    assert _tree(out) == _tree(tmp_path / "reference")
    assert _temporaries(out) == [] and _temporaries(tmp_path) == []
    audits = sorted((tmp_path / "out.audit").glob("*.jsonl"))
    assert len(audits) == 2  # the killed run's (no summary line) and the resumed run's
    lines = _file_lines(audits[-1])
    assert len(lines) == 60
    written = [line for line in lines if line["status"] == "written"]
    skipped = [line for line in lines if line["reason"] == "already-done"]
    assert len(written) + len(skipped) == 60
    assert len(written) == 60 - before  # nothing written twice
    # Skipped from the manifest (no work, no actions): all but the few in flight at the kill.
    from_manifest = [line for line in skipped if not line["actions"]]
    assert len(from_manifest) >= max(1, before - 8)


def test_a_rerun_skips_what_the_manifest_records(tmp_path: Path) -> None:
    source = tmp_path / "in"
    write_corpus(source, 6)
    (source / "notes.txt").write_text("not dicom")
    first = run_tree(_settings(tmp_path), source, workers=1)
    assert (first.written, first.quarantined) == (6, 1)
    manifest = default_manifest(tmp_path / "out")
    assert manifest == tmp_path / "out.manifest.sqlite" and manifest.is_file()
    second = run_tree(_settings(tmp_path), source, workers=1)
    assert second.written == 0
    assert dict(second.skipped_by_reason) == {"already-done": 6}
    assert dict(second.quarantined_by_reason) == {"not-dicom": 1}  # failures are retried
    assert all(not line["actions"] for line in _file_lines(second) if line["status"] == "skipped")

    # A changed input, or a deleted output, is processed again.
    changed, other = sorted(source.rglob("IM*"))[:2]
    os.utime(changed, ns=(time.time_ns(), time.time_ns()))
    outputs = {line["input"]: line["output"] for line in _file_lines(first)}
    (tmp_path / "out" / str(outputs[input_reference(SECRET, other)])).unlink()
    third = run_tree(_settings(tmp_path), source, workers=1)
    assert third.written == 1  # the deleted output, written again
    assert third.skipped == 5 and dict(third.skipped_by_reason) == {"already-done": 5}
    actions = [line["actions"] for line in _file_lines(third) if line["status"] == "skipped"]
    assert sum(1 for action in actions if action) == 1  # the changed input was processed

    # Without resume every input is processed (and found already written).
    fourth = run_tree(_settings(tmp_path), source, workers=1, resume=False)
    assert all(line["actions"] for line in _file_lines(fourth) if line["reason"] != "not-dicom")


def test_the_manifest_holds_no_phi(tmp_path: Path) -> None:
    source = tmp_path / "in" / "SMITH^JOHN MRN998877"
    write_corpus(source, 4)
    run_tree(_settings(tmp_path), tmp_path / "in", workers=1)
    blob = default_manifest(tmp_path / "out").read_bytes()
    for needle in (b"SMITH", b"MRN998877", str(tmp_path).encode(), b"IM00000"):
        assert needle not in blob


def _manifest(tmp_path: Path, **extra: object) -> RunManifest:
    settings = settings_for(tmp_path)
    arguments: dict[str, object] = {
        "secret": SECRET,
        "output_root": tmp_path / "out",
        "policy_digest": "p" * 64,
        "configuration": configuration_digest("p" * 64, settings),
        "run_id": "run-1",
    }
    arguments.update(extra)
    return RunManifest(tmp_path / "out.manifest.sqlite", **arguments)  # type: ignore[arg-type]


def _written(manifest: RunManifest, path: Path, tmp_path: Path) -> None:
    assert manifest.done(path) is None
    output = tmp_path / "out" / f"{path.name}.dcm"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(b"x")
    ref = input_reference(SECRET, path)
    manifest.record(Outcome(ref, Status.WRITTEN, output=output.name))


def test_configuration_and_mappings_decide_what_is_done(tmp_path: Path) -> None:
    path = tmp_path / "in" / "a"
    path.parent.mkdir()
    path.write_bytes(b"a")
    with _manifest(tmp_path) as manifest:
        _written(manifest, path, tmp_path)
    with _manifest(tmp_path, run_id="run-2") as manifest:
        skipped = manifest.done(path)
        assert skipped is not None and skipped.reason is Reason.ALREADY_DONE
        assert skipped.output == "a.dcm"
    with _manifest(tmp_path, run_id="run-3", configuration="other") as manifest:
        assert manifest.done(path) is None  # another policy or lookup table: redo
    other_secret = ProjectSecret(bytes(32))
    with _manifest(tmp_path, run_id="run-4", secret=other_secret) as manifest:
        assert manifest.done(path) is None  # another secret: another project
    # A run recording mappings needs the mappings of what it skips to be on disk already.
    maps = tmp_path / "maps"
    with _manifest(tmp_path, run_id="run-5", mappings_dir=maps) as manifest:
        assert manifest.done(path) is None
        manifest.record(Outcome(input_reference(SECRET, path), Status.WRITTEN, output="a.dcm"))
        # killed before its mappings were written: no mappings_written()
    with _manifest(tmp_path, run_id="run-6", mappings_dir=maps) as manifest:
        assert manifest.done(path) is None
        manifest.record(Outcome(input_reference(SECRET, path), Status.WRITTEN, output="a.dcm"))
        manifest.mappings_written()
    with _manifest(tmp_path, run_id="run-7", mappings_dir=maps) as manifest:
        assert manifest.done(path) is not None


def test_one_run_at_a_time_and_stale_temporaries_are_swept(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "study").mkdir(parents=True)
    stale = out / "study" / ".deid-abc.tmp"
    crashed = tmp_path / "in" / "crash"
    crashed.parent.mkdir()
    crashed.write_bytes(b"x")
    with _manifest(tmp_path) as first:
        with pytest.raises(RunConfigurationError, match="another run"), _manifest(tmp_path):
            pass
        stale.write_bytes(b"partial")
        assert first.done(crashed) is None
        # A worker died mid-write: its file's outcome is an internal error, its temporary stays.
        ref = input_reference(SECRET, crashed)
        first.record(Outcome(ref, Status.QUARANTINED, reason=Reason.INTERNAL_ERROR))
    with _manifest(tmp_path, run_id="run-2") as second:
        assert second.stale_temporaries_removed == 1
    assert not stale.exists()
    stale.write_bytes(b"partial")
    with _manifest(tmp_path, run_id="run-3") as third:  # the previous run ended cleanly
        assert third.stale_temporaries_removed == 0


def test_fake_runs_record_and_resume_through_the_runner(tmp_path: Path) -> None:
    source = tmp_path / "in"
    fake_inputs(tmp_path, ["a", "b", "done c", "bad d"])
    first = run_tree(settings_for(tmp_path), source, workers=2, worker_factory=fake_worker)
    assert first.total == 4
    # The fake's outputs do not exist on disk: nothing can be skipped, all is processed again.
    second = run_tree(settings_for(tmp_path), source, workers=1, worker_factory=fake_worker)
    assert second.total == 4 and second.written == 2
