"""run_tree with a fake processor: audit lines, summary, exit codes, mappings only on request."""

from __future__ import annotations

import json
import stat
from dataclasses import replace
from pathlib import Path

import pytest
from run_fakes import fake_worker, reference, settings_for

from deidengine.policy import PolicyError
from deidengine.run.layout import RunConfigurationError
from deidengine.run.mappings import write_mapping_file
from deidengine.run.progress import RunCounts
from deidengine.run.runner import RunSummary, run_tree

PHI = ("Smith", "John", "123-45-6789", "MRN998877", "DOE_JANE")


def _tree(tmp_path: Path, names: list[str]) -> Path:
    root = tmp_path / "in"
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"Smith^John")
    return root


def _lines(summary: RunSummary) -> list[dict[str, object]]:
    return [json.loads(line) for line in summary.audit_path.read_text("utf-8").splitlines()]


class Recorder:
    def __init__(self) -> None:
        self.events: list[object] = []

    def start(self) -> None:
        self.events.append("start")

    def update(self, counts: RunCounts) -> None:
        self.events.append(counts)

    def stop(self) -> None:
        self.events.append("stop")


def test_audit_has_a_line_per_input_and_no_phi(tmp_path: Path) -> None:
    names = [
        "DOE_JANE/Smith^John 123-45-6789.dcm",
        "DOE_JANE/bad MRN998877",
        "DOE_JANE/done Smith",
        "raise Smith^John.dcm",
    ]
    source = _tree(tmp_path, names)
    progress = Recorder()
    summary = run_tree(
        settings_for(tmp_path), source, workers=1, worker_factory=fake_worker, progress=progress
    )
    text = summary.audit_path.read_text("utf-8")
    for value in (*PHI, str(tmp_path), "in/"):
        assert value not in text
    lines = _lines(summary)
    assert [line["record"] for line in lines] == [
        "header",
        "file",
        "file",
        "file",
        "file",
        "summary",
    ]
    header, *files, last = lines
    assert header["policy"] == ["annex-e/basic"] and header["workers"] == 1
    assert {line["input"] for line in files} == {reference(source / name) for name in names}
    for line in files:
        assert set(line) == {
            "record",
            "input",
            "status",
            "output",
            "reason",
            "detail",
            "actions",
            "policy",
            "policy_digest",
            "engine_version",
            "time",
        }
        assert line["policy_digest"] == header["policy_digest"]
    assert last["written"] == 1 and last["quarantined"] == {"internal-error": 1, "not-dicom": 1}
    assert last["skipped"] == {"already-done": 1} and last["exit_code"] == 1
    assert summary.total == 4 and summary.exit_code == 1
    assert summary.audit_path.parent == tmp_path / "out.audit"
    assert progress.events[0] == "start" and progress.events[-1] == "stop"
    assert progress.events[-2] == RunCounts(written=1, quarantined=2, skipped=1)


def test_written_and_already_done_exit_zero(tmp_path: Path) -> None:
    source = _tree(tmp_path, ["a", "b", "done c"])
    summary = run_tree(settings_for(tmp_path), source, workers=2, worker_factory=fake_worker)
    assert (summary.written, summary.skipped, summary.quarantined) == (2, 1, 0)
    assert summary.exit_code == 0


def test_empty_input_is_a_run_of_zero_files(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    summary = run_tree(
        settings_for(tmp_path), tmp_path / "in", workers=1, worker_factory=fake_worker
    )
    assert summary.total == 0 and summary.exit_code == 0


def test_audit_path_override_and_no_overwrite(tmp_path: Path) -> None:
    source = _tree(tmp_path, ["a"])
    audit = tmp_path / "logs" / "run.jsonl"
    summary = run_tree(
        settings_for(tmp_path), source, workers=1, audit_path=audit, worker_factory=fake_worker
    )
    assert summary.audit_path == audit and audit.is_file()
    with pytest.raises(RunConfigurationError, match="never overwritten"):
        run_tree(
            settings_for(tmp_path), source, workers=1, audit_path=audit, worker_factory=fake_worker
        )


def test_mappings_only_on_request(tmp_path: Path) -> None:
    source = _tree(tmp_path, ["a", "b", "bad"])
    run_tree(settings_for(tmp_path), source, workers=1, worker_factory=fake_worker)
    assert not list(tmp_path.rglob("*.csv"))

    maps = tmp_path / "maps"
    summary = run_tree(
        settings_for(tmp_path, record_mappings=True),
        source,
        workers=2,
        mappings_dir=maps,
        worker_factory=fake_worker,
    )
    assert summary.mappings is not None
    uids = (maps / "uids.csv").read_text("utf-8").splitlines()
    ids = (maps / "patient_ids.csv").read_text("utf-8").splitlines()
    assert uids[0] == ids[0] == "id_old,id_new"
    assert uids[1:] == sorted(uids[1:]) and len(uids) == 1 + 3  # the shared study once
    assert sorted(ids[1:]) == sorted(
        f"MRN-{reference(source / n)},SUBJ-{reference(source / n)[:4]}" for n in ("a", "b")
    )
    for path in (maps / "uids.csv", maps / "patient_ids.csv"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(maps.stat().st_mode) == 0o700


def test_mappings_merge_with_an_earlier_run(tmp_path: Path) -> None:
    maps = tmp_path / "maps"
    maps.mkdir()
    assert write_mapping_file(maps / "uids.csv", [("1.2.3", "2.25.1")]) == 1
    source = _tree(tmp_path, ["a"])
    run_tree(
        settings_for(tmp_path, record_mappings=True),
        source,
        workers=1,
        mappings_dir=maps,
        worker_factory=fake_worker,
    )
    rows = (maps / "uids.csv").read_text("utf-8").splitlines()
    assert "1.2.3,2.25.1" in rows and len(rows) == 1 + 3


def test_record_mappings_must_match_the_directory(tmp_path: Path) -> None:
    source = _tree(tmp_path, ["a"])
    with pytest.raises(RunConfigurationError):
        run_tree(
            settings_for(tmp_path), source, mappings_dir=tmp_path / "m", worker_factory=fake_worker
        )
    with pytest.raises(RunConfigurationError):
        run_tree(settings_for(tmp_path, record_mappings=True), source, worker_factory=fake_worker)


def test_mappings_inside_output_are_refused(tmp_path: Path) -> None:
    source = _tree(tmp_path, ["a"])
    with pytest.raises(RunConfigurationError, match="never be shared"):
        run_tree(
            settings_for(tmp_path, record_mappings=True),
            source,
            mappings_dir=tmp_path / "out" / "maps",
            worker_factory=fake_worker,
        )


def test_configuration_errors_touch_nothing(tmp_path: Path) -> None:
    source = _tree(tmp_path, ["a"])
    before = sorted(tmp_path.rglob("*"))
    settings = settings_for(tmp_path)
    broken = replace(settings, policy_spec="annex-e/retain-uids")
    with pytest.raises(PolicyError):
        run_tree(broken, source, worker_factory=fake_worker)
    with pytest.raises(RunConfigurationError, match="unknown executor"):
        run_tree(settings, source, executor="nowhere", worker_factory=fake_worker)
    with pytest.raises(RunConfigurationError, match="takes no scheduler"):
        run_tree(settings, source, scheduler="tcp://127.0.0.1:1", worker_factory=fake_worker)
    with pytest.raises(RunConfigurationError, match="at least 1"):
        run_tree(settings, source, workers=0, worker_factory=fake_worker)
    assert sorted(tmp_path.rglob("*")) == before
