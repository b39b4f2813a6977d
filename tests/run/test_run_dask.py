"""The ``dask`` executor: a Dask run and a local run of one tree write the same bytes."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from run_fakes import FakeProcessor, fake_inputs, fake_worker, reference, settings_for

from benchmarks.corpus import write_corpus
from deidengine.cli import main
from deidengine.run import dask_executor
from deidengine.run.dask_executor import DaskExecutor
from deidengine.run.executor import (
    IN_FLIGHT_PER_WORKER,
    ExecutorOptions,
    WorkerStartError,
    make_executor,
)
from deidengine.run.outcome import Reason, Status
from deidengine.run.pipeline import RunSettings
from deidengine.run.runner import RunSummary, run_tree

distributed = pytest.importorskip("distributed")

KEY_HEX = "3c" * 32


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """A local cluster of two in-process workers; its scheduler address."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
    ) as cluster:
        yield str(cluster.scheduler_address)


def _settings(root: Path, out: str) -> RunSettings:
    key = bytes.fromhex(KEY_HEX)
    return RunSettings("annex-e/basic", key, str(root / out), str(root / f"{out}.quarantine"))


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _outcomes(summary: RunSummary) -> set[tuple[object, ...]]:
    lines = [json.loads(line) for line in summary.audit_path.read_text("utf-8").splitlines()]
    return {
        (line["input"], line["status"], line["output"], line["reason"], json.dumps(line["actions"]))
        for line in lines
        if line["record"] == "file"
    }


def test_registered_with_its_scheduler() -> None:
    assert make_executor("dask", ExecutorOptions(workers=3, scheduler="tcp://h:1")) == (
        DaskExecutor(workers=3, scheduler="tcp://h:1")
    )
    with pytest.raises(ValueError, match="takes no scheduler"):
        make_executor("local", ExecutorOptions(scheduler="tcp://h:1"))


def test_a_dask_run_writes_what_a_local_run_writes(tmp_path: Path, scheduler: str) -> None:
    source = tmp_path / "in"
    write_corpus(source, 16)
    (source / "0000" / "notes.txt").write_text("not dicom")
    local = run_tree(_settings(tmp_path, "local"), source, workers=1)
    on_dask = run_tree(
        _settings(tmp_path, "dask"), source, executor="dask", scheduler=scheduler, workers=2
    )
    assert (local.written, local.quarantined) == (on_dask.written, on_dask.quarantined) == (16, 1)
    assert _tree(tmp_path / "dask") == _tree(tmp_path / "local")
    assert _tree(tmp_path / "dask.quarantine") == _tree(tmp_path / "local.quarantine")
    assert _outcomes(on_dask) == _outcomes(local)
    # The manifest works the same: a second Dask run skips everything.
    again = run_tree(
        _settings(tmp_path, "dask"), source, executor="dask", scheduler=scheduler, workers=2
    )
    assert again.written == 0 and again.skipped == 16


def test_failures_and_bounded_submission(tmp_path: Path, scheduler: str) -> None:
    names = [f"file{index:02d}" for index in range(30)] + ["raise Smith^John"]
    paths = fake_inputs(tmp_path, names)
    pulled = 0
    ahead: list[int] = []

    def lazily() -> Iterator[Path]:
        nonlocal pulled
        for path in paths:
            pulled += 1
            yield path

    executor = DaskExecutor(workers=1, scheduler=scheduler)
    outcomes = []
    for outcome in executor.execute(lazily(), settings_for(tmp_path), fake_worker):
        outcomes.append(outcome)
        ahead.append(pulled - len(outcomes))
    assert sorted(o.input_ref for o in outcomes) == sorted(reference(p) for p in paths)
    assert max(ahead) <= IN_FLIGHT_PER_WORKER * 2  # two worker threads in the cluster
    (raised,) = [o for o in outcomes if o.status is Status.QUARANTINED]
    assert raised.reason is Reason.INTERNAL_ERROR
    assert raised.detail == "the per-file function raised ValueError"  # never the message


def worker_only_failure(settings: RunSettings) -> FakeProcessor:
    """Builds in the run's main thread, fails on a Dask worker's thread."""
    if threading.current_thread() is not threading.main_thread():
        raise OSError("the model at /home/Smith^John is missing")
    return FakeProcessor(settings)


def test_a_processor_failing_on_the_workers_stops_the_run(tmp_path: Path, scheduler: str) -> None:
    (path,) = fake_inputs(tmp_path, ["a"])
    executor = DaskExecutor(scheduler=scheduler)
    with pytest.raises(WorkerStartError, match=r"could not prepare the processor \(OSError\)"):
        list(executor.execute([path], settings_for(tmp_path), worker_only_failure))


def test_an_unreachable_scheduler(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dask_executor, "CONNECT_TIMEOUT", "0.5s")
    executor = DaskExecutor(scheduler="tcp://127.0.0.1:9")
    with pytest.raises(WorkerStartError, match="cannot reach the Dask scheduler"):
        list(executor.execute([tmp_path], settings_for(tmp_path), fake_worker))


def test_a_cluster_without_workers_stops_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dask_executor, "WORKERS_TIMEOUT", 0.5)
    with distributed.LocalCluster(n_workers=0, processes=False, dashboard_address=":0") as empty:
        executor = DaskExecutor(scheduler=str(empty.scheduler_address))
        with pytest.raises(WorkerStartError, match="no Dask worker"):
            list(executor.execute([tmp_path], settings_for(tmp_path), fake_worker))


def _secret(tmp_path: Path) -> Path:
    key = tmp_path / "project.key"
    key.write_text(KEY_HEX + "\n", encoding="ascii")
    return key


def test_cli_executor_options(tmp_path: Path, scheduler: str) -> None:
    source = tmp_path / "in"
    write_corpus(source, 3)
    key = _secret(tmp_path)
    common = ["run", "--policy", "annex-e/basic", "--secret-file", str(key)]
    result = CliRunner().invoke(
        main, [*common, "--scheduler", scheduler, str(source), str(tmp_path / "x")]
    )
    assert result.exit_code == 2 and "takes no scheduler" in result.output
    result = CliRunner().invoke(
        main, [*common, "--executor", "nowhere", str(source), str(tmp_path / "x")]
    )
    assert result.exit_code == 2 and "unknown executor" in result.output
    assert not (tmp_path / "x").exists()
    arguments = ["--executor", "dask", "--scheduler", scheduler, str(source), str(tmp_path / "o")]
    result = CliRunner().invoke(main, [*common, *arguments])
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "o").rglob("*.dcm"))) == 3


@pytest.mark.slow
def test_cli_starts_a_local_cluster_of_worker_processes(tmp_path: Path) -> None:
    source = tmp_path / "in"
    write_corpus(source, 4)
    key = _secret(tmp_path)
    arguments = ["run", "--policy", "annex-e/basic", "--secret-file", str(key), "--workers", "2"]
    result = CliRunner().invoke(
        main, [*arguments, "--executor", "dask", str(source), str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    local = run_tree(_settings(tmp_path, "local"), source, workers=1)
    assert local.written == 4
    assert _tree(tmp_path / "out") == _tree(tmp_path / "local")
