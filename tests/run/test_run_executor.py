"""The executor registry and the local executor, in-process and with a process pool."""

from __future__ import annotations

import functools
import gc
import multiprocessing
import os
import subprocess
import sys
import threading
import time
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
import run_fakes
from run_fakes import (
    failing_in_pool_worker,
    failing_worker,
    fake_inputs,
    fake_worker,
    frozen_heap_worker,
    mark_worker,
    reference,
    settings_for,
    text_state_worker,
)

from deidengine.run import executor as executor_module
from deidengine.run.executor import (
    CRASH_DETAIL,
    EXECUTORS,
    FORK_UNSAFE_MODULES,
    IN_FLIGHT_PER_WORKER,
    WORKER_COLLECTION_THRESHOLD,
    ExecutorOptions,
    LocalExecutor,
    WorkerStartError,
    executor_names,
    fork_is_safe,
    make_executor,
    register_executor,
)
from deidengine.run.outcome import Reason, Status


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
    paths = fake_inputs(tmp_path, ["a", "bad1", "done1", "b"])
    outcomes = list(LocalExecutor(1).execute(paths, settings_for(tmp_path), fake_worker))
    assert [o.input_ref for o in outcomes] == [reference(p) for p in paths]
    assert [o.status for o in outcomes] == [
        Status.WRITTEN,
        Status.QUARANTINED,
        Status.SKIPPED,
        Status.WRITTEN,
    ]


def test_a_raising_processor_fails_closed_without_its_message(tmp_path: Path) -> None:
    (raising,) = fake_inputs(tmp_path, ["raise Smith^John"])
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
    paths = fake_inputs(tmp_path, names)
    outcomes = list(LocalExecutor(2).execute(paths, settings_for(tmp_path), fake_worker))
    by_ref = {o.input_ref: o for o in outcomes}
    assert len(outcomes) == len(paths) == len(by_ref)
    assert set(by_ref) == {reference(p) for p in paths}
    assert by_ref[reference(paths[-1])].reason is Reason.INTERNAL_ERROR
    assert sum(o.status is Status.WRITTEN for o in outcomes) == 20


def test_pool_keeps_a_bounded_number_in_flight(tmp_path: Path) -> None:
    paths = fake_inputs(tmp_path, [f"f{index:03}" for index in range(60)])
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
    paths = fake_inputs(tmp_path, names)
    outcomes = list(LocalExecutor(2).execute(paths, settings_for(tmp_path), fake_worker))
    by_ref = {o.input_ref: o for o in outcomes}
    assert len(outcomes) == len(paths)
    assert set(by_ref) == {reference(p) for p in paths}
    crashed = by_ref.pop(reference(tmp_path / "in" / "crash"))
    assert crashed.reason is Reason.INTERNAL_ERROR and crashed.detail == CRASH_DETAIL
    # The files lost with the dying pool were retried alone and written.
    assert {o.status for o in by_ref.values()} == {Status.WRITTEN}


def test_a_worker_failing_only_in_pool_processes_stops_the_run(tmp_path: Path) -> None:
    paths = fake_inputs(tmp_path, ["a", "b"])
    outcomes = LocalExecutor(2).execute(paths, settings_for(tmp_path), failing_in_pool_worker)
    with pytest.raises(WorkerStartError, match="OSError") as caught:
        list(outcomes)
    assert "Smith" not in str(caught.value)


def test_fork_is_refused_while_another_thread_runs() -> None:
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert not fork_is_safe()
    finally:
        release.set()
        other.join()


def test_fork_is_refused_once_a_native_thread_pool_is_loaded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in FORK_UNSAFE_MODULES:
        with monkeypatch.context() as patch:
            patch.setitem(sys.modules, name, types.ModuleType(name))
            assert not fork_is_safe()


_FORK_PROBE = """
import sys
from pathlib import Path
import run_fakes
from deidengine.run.executor import LocalExecutor, fork_is_safe
assert fork_is_safe()
run_fakes.PARENT_MARK = "set in the parent"
paths = [Path(p) for p in sys.argv[1:]]
settings = run_fakes.settings_for(paths[0].parent)
outcomes = LocalExecutor(2).execute(paths, settings, run_fakes.mark_worker)
print(sorted({outcome.detail for outcome in outcomes}), len(paths))
"""


def test_pool_workers_forked_from_a_fresh_process_inherit_its_state(tmp_path: Path) -> None:
    """In a process with no other thread (a fresh one: this test process may run leftovers of
    other tests), the workers are forked, so they see what the runner prepared."""
    paths = fake_inputs(tmp_path, [f"f{index}" for index in range(6)])
    here = Path(__file__).resolve().parent
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(here.parents[1]), str(here)])}
    command = [sys.executable, "-c", _FORK_PROBE, *map(str, paths)]
    done = subprocess.run(command, env=environment, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "['set in the parent'] 6"


def test_pool_workers_from_the_fork_server_start_afresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(executor_module, "fork_is_safe", lambda: False)
    monkeypatch.setattr(run_fakes, "PARENT_MARK", "set in the parent")
    paths = fake_inputs(tmp_path, [f"f{index}" for index in range(6)])
    outcomes = list(LocalExecutor(2).execute(paths, settings_for(tmp_path), mark_worker))
    assert {o.input_ref for o in outcomes} == {reference(p) for p in paths}
    assert {o.detail for o in outcomes} == {"unset"}


@pytest.mark.parametrize("forking", [False, True], ids=["fork-server", "fork"])
def test_pool_workers_freeze_the_heap_they_start_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forking: bool
) -> None:
    """A fork-server worker starts as a fresh interpreter: what it holds once its processor is
    built is frozen by the initializer, so full collections skip it for the rest of the run;
    and a worker, forked or not, collects its first generation only every
    WORKER_COLLECTION_THRESHOLD objects."""
    if not forking:
        monkeypatch.setattr(executor_module, "fork_is_safe", lambda: False)
    paths = fake_inputs(tmp_path, [f"f{index}" for index in range(4)])
    outcomes = list(LocalExecutor(2).execute(paths, settings_for(tmp_path), frozen_heap_worker))
    assert [o.detail for o in outcomes] == [f"frozen {WORKER_COLLECTION_THRESHOLD}"] * 4
    assert gc.get_threshold()[0] != WORKER_COLLECTION_THRESHOLD  # the leader's is its own


def test_a_pool_never_iterated_is_shut_down(tmp_path: Path) -> None:
    paths = fake_inputs(tmp_path, ["a", "b"])
    before = set(multiprocessing.active_children())
    outcomes = LocalExecutor(2).execute(paths, settings_for(tmp_path), fake_worker)
    started = set(multiprocessing.active_children()) - before
    assert started  # execute() starts the pool's processes
    del outcomes  # as when the caller fails before its loop
    gc.collect()
    # The pool's own thread reaps the processes too, and is_alive() can briefly answer True
    # while it does: ask until the answer settles (a bound for a stuck test, not a timing).
    deadline = time.monotonic() + 60
    while any(process.is_alive() for process in started) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not any(process.is_alive() for process in started)


_TEXT_STATE_PROBE = """
import sys
from pathlib import Path
import run_fakes
from deidengine.run.executor import LocalExecutor
paths = [Path(p) for p in sys.argv[1:]]
settings = run_fakes.settings_for(paths[0].parent)
outcomes = LocalExecutor(2).execute(paths, settings, run_fakes.text_state_worker)
print(sorted({outcome.detail for outcome in outcomes}))
"""


@pytest.mark.parametrize(
    ("preload_ner", "expected"),
    [("", "['lists=yes ner=no']"), ("1", "['lists=yes ner=yes']")],
)
def test_forked_workers_start_with_the_text_stage_loaded(
    tmp_path: Path, preload_ner: str, expected: str
) -> None:
    """The run loads the word lists before it forks (spaCy's pipeline only when asked), so no
    worker loads them again."""
    paths = fake_inputs(tmp_path, [f"f{index}" for index in range(4)])
    here = Path(__file__).resolve().parent
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(here.parents[1]), str(here)]),
        "DEID_PRELOAD_NER": preload_ner,
    }
    command = [sys.executable, "-c", _TEXT_STATE_PROBE, *map(str, paths)]
    done = subprocess.run(command, env=environment, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == expected


def test_fork_server_workers_start_with_the_word_lists_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(executor_module, "fork_is_safe", lambda: False)
    paths = fake_inputs(tmp_path, [f"f{index}" for index in range(4)])
    outcomes = list(LocalExecutor(2).execute(paths, settings_for(tmp_path), text_state_worker))
    assert [o.detail for o in outcomes] == ["lists=yes ner=no"] * 4


def test_one_worker_loads_nothing_ahead(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process, the lists load at the first file that needs them, as before."""
    from deidengine.text import ner, vocabulary

    # Fresh caches: earlier tests in this process may have loaded both.
    monkeypatch.setattr(vocabulary, "_word_lists", functools.cache(vocabulary._word_lists))
    monkeypatch.setattr(ner, "pipeline", functools.cache(ner.pipeline))
    paths = fake_inputs(tmp_path, ["a"])
    outcomes = list(LocalExecutor(1).execute(paths, settings_for(tmp_path), text_state_worker))
    assert [o.detail for o in outcomes] == ["lists=no ner=no"]
