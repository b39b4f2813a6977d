"""A run of one input never starts a pool, whatever ``--workers`` asks: a file, or a folder
holding one file and nothing else, is processed in the run's own process."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from run_fakes import fake_inputs, reference, settings_for

from deidengine.run.outcome import Outcome, Status
from deidengine.run.pipeline import RunSettings
from deidengine.run.runner import run_tree


@dataclass(frozen=True)
class _PidProcessor:
    """Writes every input, naming in ``detail`` the process that processed it."""

    settings: RunSettings

    def process(self, path: str) -> Outcome:
        name = Path(path).name
        return Outcome(
            reference(path), Status.WRITTEN, output=f"{name}.dcm", detail=str(os.getpid())
        )


def _pid_worker(settings: RunSettings) -> _PidProcessor:
    return _PidProcessor(settings)


def _run(tmp_path: Path, names: list[str]) -> tuple[set[str], int]:
    """The processes that processed the inputs, and the worker count the audit records."""
    fake_inputs(tmp_path, names)
    summary = run_tree(
        settings_for(tmp_path), tmp_path / "in", workers=2, worker_factory=_pid_worker
    )
    lines = [json.loads(line) for line in summary.audit_path.read_text().splitlines()]
    pids = {line["detail"] for line in lines if line["record"] == "file"}
    return pids, lines[0]["workers"]


def test_a_folder_of_one_file_runs_in_this_process(tmp_path: Path) -> None:
    assert _run(tmp_path, ["only"]) == ({str(os.getpid())}, 1)


@pytest.mark.parametrize("names", [["a", "b"], ["sub/a"]])
def test_anything_more_goes_to_the_pool(tmp_path: Path, names: list[str]) -> None:
    pids, workers = _run(tmp_path, names)
    assert str(os.getpid()) not in pids and workers == 2
