"""Pool tasks of several files: taken once files are seen to be short, never more files in
flight than before, and a file that kills its process inside a task is still the only one lost."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from run_fakes import FakeProcessor, fake_inputs, fake_worker, reference, settings_for

from deidengine.dicom.keys import ProjectSecret
from deidengine.run import executor as executor_module
from deidengine.run.executor import (
    CRASH_DETAIL,
    FILES_PER_TASK,
    IN_FLIGHT_PER_WORKER,
    SHORT_FILE_SECONDS,
    LocalExecutor,
)
from deidengine.run.outcome import Reason, Status
from deidengine.run.worker_protocol import raised_detail


def test_files_travel_alone_until_they_are_seen_to_be_short() -> None:
    sizing = executor_module._TaskSizing()
    assert sizing.files == 1
    sizing.observe(2, 2 * SHORT_FILE_SECONDS / 4)
    assert sizing.files == FILES_PER_TASK == 4
    for _ in range(3):  # slow files move the average past the bound
        sizing.observe(1, 10 * SHORT_FILE_SECONDS)
    assert sizing.files == 1


def test_a_task_ends_each_of_its_files_as_a_task_of_one_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The worker's side, in this process: a raising file does not cost the task's others.
    paths = fake_inputs(tmp_path, ["raise1", "a", "bad1"])
    monkeypatch.setattr(executor_module, "_worker_processor", FakeProcessor(settings_for(tmp_path)))
    monkeypatch.setattr(executor_module, "_worker_secret", ProjectSecret(bytes(range(32))))
    outcomes, seconds = executor_module._process_in_worker(tuple(str(p) for p in paths))
    assert seconds >= 0
    assert [(o.input_ref, o.status, o.reason) for o in outcomes] == [
        (reference(paths[0]), Status.QUARANTINED, Reason.INTERNAL_ERROR),
        (reference(paths[1]), Status.WRITTEN, None),
        (reference(paths[2]), Status.QUARANTINED, Reason.NOT_DICOM),
    ]
    assert outcomes[0].detail == raised_detail(ValueError())  # the type only, never the path


def test_a_crash_inside_a_task_of_several_costs_only_its_own_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tasks: list[tuple[str, ...]] = []
    submit = ProcessPoolExecutor.submit

    def recording(
        pool: ProcessPoolExecutor, function: Callable[..., Any], /, *args: Any
    ) -> Future[Any]:
        if function is executor_module._process_in_worker:
            tasks.append(args[0])
        return submit(pool, function, *args)

    monkeypatch.setattr(ProcessPoolExecutor, "submit", recording)
    workers = 2
    first = IN_FLIGHT_PER_WORKER * workers  # sent one by one, before any file has ended
    names = [f"a{index:02}" for index in range(first)] + ["b", "crash"]
    names += [f"z{index:02}" for index in range(10)]
    paths = fake_inputs(tmp_path, names)
    outcomes = list(LocalExecutor(workers).execute(paths, settings_for(tmp_path), fake_worker))

    assert [len(task) for task in tasks[:first]] == [1] * first
    together = tuple(str(path) for path in paths[first : first + FILES_PER_TASK])
    assert str(paths[first + 1]).endswith("crash")
    assert tasks[first] == together  # the next files in one task, which the crash kills
    later = tasks[first + 1 :]
    assert all((path,) in later for path in together)  # then each retried alone
    assert max(len(task) for task in later) == FILES_PER_TASK  # and full tasks again after

    by_ref = {o.input_ref: o for o in outcomes}
    assert len(outcomes) == len(by_ref) == len(paths)
    crashed = by_ref.pop(reference(paths[first + 1]))
    assert (crashed.reason, crashed.detail) == (Reason.INTERNAL_ERROR, CRASH_DETAIL)
    assert {o.status for o in by_ref.values()} == {Status.WRITTEN}
