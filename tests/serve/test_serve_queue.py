"""The spool, the queue, the start-up recovery, outcome states and the status report."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from deidengine.run.outcome import Outcome, Reason, Status
from deidengine.serve.app import recover
from deidengine.serve.queue import ErrorKind, InstanceQueue, State
from deidengine.serve.spool import TEMPORARY_PREFIX, Spool, SpoolError
from deidengine.serve.status import gateway_status, render_status
from deidengine.serve.worker import outcome_state
from tests.serve.serve_peers import minimal_config


def test_spool_store_is_complete_private_and_leaves_no_temporary(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    name = spool.store("main", b"DICM" * 1000)
    path = spool.path("main", name)
    assert path.read_bytes() == b"DICM" * 1000
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert name.endswith(".dcm") and len(name) == 36
    assert os.listdir(spool.folder("main")) == [name]
    assert list(spool.names("main")) == [name]


def test_spool_failure_keeps_nothing_and_names_the_cause(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    spool = Spool(tmp_path / "file")
    with pytest.raises(SpoolError) as caught:
        spool.store("main", b"data")
    assert caught.value.errno_name in {"ENOTDIR", "EEXIST"}
    assert str(tmp_path) not in str(caught.value)


def test_queue_rows_move_through_their_states(tmp_path: Path) -> None:
    queue = InstanceQueue(tmp_path / "queue.sqlite")
    first, second = queue.add("main", "a.dcm"), queue.add("main", "b.dcm")
    assert [row.spool_name for row in queue.due(State.RECEIVED)] == ["a.dcm", "b.dcm"]
    queue.defer(first, "write-failed", 3600)  # not due again for an hour
    assert [row.id for row in queue.due(State.RECEIVED)] == [second]
    queue.settle(second, State.DEIDENTIFIED, input_ref="ref2", output="s/e/i.dcm")
    (ready,) = queue.due(State.DEIDENTIFIED, listener="main")
    assert (ready.input_ref, ready.output) == ("ref2", "s/e/i.dcm")
    assert queue.due(State.DEIDENTIFIED, listener="other") == []
    queue.mark_forwarded(second)
    assert (queue.count(State.FORWARDED), queue.count(State.RECEIVED)) == (1, 1)
    assert queue.spooled_names("main") == {"a.dcm"}
    queue.close()


def test_recovery_requeues_unknown_spooled_files_and_removes_the_rest(tmp_path: Path) -> None:
    config = minimal_config(tmp_path)
    spool = Spool(config.gateway.spool_dir)
    queue = InstanceQueue(config.gateway.queue_path)
    pending = spool.store("main", b"pending")
    queue.add("main", pending)
    done = spool.store("main", b"done")
    queue.settle(queue.add("main", done), State.FORWARDED, input_ref="r")
    orphan = spool.store("main", b"acknowledged, then killed before the queue knew")
    (spool.folder("main") / f"{TEMPORARY_PREFIX}half").write_bytes(b"half-written")
    recovery = recover(config, spool, queue)
    assert (recovery.requeued, recovery.removed_temporaries, recovery.removed_finished) == (1, 1, 1)
    assert set(spool.names("main")) == {pending, orphan}
    assert queue.spooled_names("main") == {pending, orphan}
    assert recover(config, spool, queue).requeued == 0  # idempotent


@pytest.mark.parametrize(
    ("outcome", "state"),
    [
        (Outcome("r", Status.WRITTEN, output="o"), State.DEIDENTIFIED),
        (Outcome.skipped("r", Reason.ALREADY_DONE, output="o"), State.DEIDENTIFIED),
        (Outcome.skipped("r", Reason.DIRECTORY_RECORD), State.SKIPPED),
        (Outcome("r", Status.QUARANTINED, reason=Reason.LEAK_DETECTED), State.QUARANTINED),
        (Outcome("r", Status.QUARANTINED, reason=Reason.WRITE_FAILED), None),  # tried again
    ],
)
def test_outcome_states(outcome: Outcome, state: State | None) -> None:
    assert outcome_state(outcome) is state


def test_status_counts_rates_and_errors(tmp_path: Path) -> None:
    config = minimal_config(tmp_path)
    assert gateway_status(config).depth == {"main": {s.value: 0 for s in State}}  # no queue yet
    queue = InstanceQueue(config.gateway.queue_path)
    for name in ("a", "b", "c"):
        queue.add("main", name)
    queue.settle(1, State.QUARANTINED, input_ref="r1", reason="truncated")
    queue.settle(2, State.DEIDENTIFIED, input_ref="r2", output="o")
    queue.mark_forwarded(2)
    queue.note_error("main", ErrorKind.DEIDENTIFY, "truncated")
    queue.note_error("main", ErrorKind.FORWARD, "no-association")
    queue.note_error("main", ErrorKind.FORWARD, "no-association")
    status = gateway_status(config)
    assert status.depth["main"] == {
        "received": 1,
        "deidentified": 0,
        "forwarded": 1,
        "quarantined": 1,
        "skipped": 0,
    }
    assert status.rates["main"]["received_1m"] == pytest.approx(3 / 60, abs=1e-3)
    assert status.rates["main"]["forwarded_1m"] == pytest.approx(1 / 60, abs=1e-3)
    assert status.oldest_waiting["main"] is not None
    codes = {(e.kind, e.code): e.count for e in status.errors}
    assert codes == {("deidentify", "truncated"): 1, ("forward", "no-association"): 2}
    text = render_status(status)
    assert "main: forward no-association: 2 time(s)" in text
    assert text.splitlines()[1].split()[:6] == ["main", "1", "0", "1", "1", "0"]
