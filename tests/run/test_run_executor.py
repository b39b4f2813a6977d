"""The executor registry and the local executor, in-process and with a process pool."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from run_fakes import (
    failing_in_pool_worker,
    failing_worker,
    fake_worker,
    reference,
    settings_for,
)

from deidengine.run.executor import (
    CRASH_DETAIL,
    EXECUTORS,
    IN_FLIGHT_PER_WORKER,
    ExecutorOptions,
    LocalExecutor,
    WorkerStartError,
    executor_names,
    make_executor,
    register_executor,
)
from deidengine.run.outcome import Reason, Status


def _inputs(tmp_path: Path, names: list[str]) -> list[Path]:
    paths = []
    for name in names:
        path = tmp_path / "in" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
        paths.append(path)
    return paths


def test_registry() -> None:
    assert "local" in executor_names()
    assert make_executor("local", ExecutorOptions(workers=3)) == LocalExecutor(workers=3)
    with pytest.raises(KeyError, match=r"known: .*local"):
        make_executor("nowhere", ExecutorOptions())
    with pytest.raises(ValueError, match="already registered"):
        register_executor("local")(EXECUTORS["local"])
    with pytest.raises(ValueError):
        ExecutorOptions(workers=0)


def test_in_process_keeps_input_order(tmp_path: Path) -> None:
    paths = _inputs(tmp_path, ["a", "bad1", "done1", "b"])
    outcomes = list(LocalExecutor(1).execute(paths, settings_for(tmp_path), fake_worker))
    assert [o.input_ref for o in outcomes] == [reference(p) for p in paths]
    assert [o.status for o in outcomes] == [
        Status.WRITTEN,
        Status.QUARANTINED,
        Status.SKIPPED,
        Status.WRITTEN,
    ]


def test_a_raising_processor_fails_closed_without_its_message(tmp_path: Path) -> None:
    (raising,) = _inputs(tmp_path, ["raise Smith^John"])
    (outcome,) = LocalExecutor(1).execute([raising], settings_for(tmp_path), fake_worker)
    assert outcome.status is Status.QUARANTINED
    assert outcome.reason is Reason.INTERNAL_ERROR
    assert outcome.input_ref == reference(raising)
    assert "Smith" not in (outcome.detail or "") and "ValueError" in (outcome.detail or "")


def test_a_worker_that_cannot_be_built_fails_before_any_input(tmp_path: Path) -> None:
    consumed: list[Path] = []

    def inputs() -> Iterator[Path]:
        consumed.append(tmp_path)
        yield tmp_path

    for workers in (1, 2):
        with pytest.raises(WorkerStartError) as caught:
            LocalExecutor(workers).execute(inputs(), settings_for(tmp_path), failing_worker)
        assert "Smith" not in str(caught.value)
    assert consumed == []


def test_pool_processes_every_input_once(tmp_path: Path) -> None:
    names = [f"f{index:02}" for index in range(20)] + ["bad", "done", "raise"]
    paths = _inputs(tmp_path, names)
    outcomes = list(LocalExecutor(2).execute(paths, settings_for(tmp_path), fake_worker))
    by_ref = {o.input_ref: o for o in outcomes}
    assert len(outcomes) == len(paths) == len(by_ref)
    assert set(by_ref) == {reference(p) for p in paths}
    assert by_ref[reference(paths[-1])].reason is Reason.INTERNAL_ERROR
    assert sum(o.status is Status.WRITTEN for o in outcomes) == 20


def test_pool_keeps_a_bounded_number_in_flight(tmp_path: Path) -> None:
    paths = _inputs(tmp_path, [f"f{index:03}" for index in range(60)])
    taken = 0

    def inputs() -> Iterator[Path]:
        nonlocal taken
        for path in paths:
            taken += 1
            yield path

    workers = 2
    seen = 0
    for _ in LocalExecutor(workers).execute(inputs(), settings_for(tmp_path), fake_worker):
        seen += 1
        assert taken - seen <= IN_FLIGHT_PER_WORKER * workers
    assert seen == len(paths)


def test_a_crashing_worker_costs_only_its_own_file(tmp_path: Path) -> None:
    names = [f"a{index:02}" for index in range(6)] + ["crash"] + [f"z{i}" for i in range(12)]
    paths = _inputs(tmp_path, names)
    outcomes = list(LocalExecutor(2).execute(paths, settings_for(tmp_path), fake_worker))
    by_ref = {o.input_ref: o for o in outcomes}
    assert len(outcomes) == len(paths)
    assert set(by_ref) == {reference(p) for p in paths}
    crashed = by_ref.pop(reference(tmp_path / "in" / "crash"))
    assert crashed.reason is Reason.INTERNAL_ERROR and crashed.detail == CRASH_DETAIL
    # The files lost with the dying pool were retried alone and written.
    assert {o.status for o in by_ref.values()} == {Status.WRITTEN}


def test_a_worker_failing_only_in_pool_processes_stops_the_run(tmp_path: Path) -> None:
    paths = _inputs(tmp_path, ["a", "b"])
    outcomes = LocalExecutor(2).execute(paths, settings_for(tmp_path), failing_in_pool_worker)
    with pytest.raises(WorkerStartError, match="OSError") as caught:
        list(outcomes)
    assert "Smith" not in str(caught.value)
