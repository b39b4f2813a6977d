"""SIGTERM and SIGINT stop ``deid run --workers 2``: no worker left, no temporary, a resumable run.

Before, SIGTERM ended the leader alone: its two pool processes stayed, holding the run's
output pipes open, and the exit code said nothing of the stop.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from run_fakes import deid_run_process, fake_inputs, secret_file, settings_for

from benchmarks.corpus import write_corpus
from deidengine.dicom.keys import ProjectSecret
from deidengine.run.executor import LocalExecutor
from deidengine.run.outcome import Outcome, Status, input_reference
from deidengine.run.pipeline import RunSettings
from deidengine.run.runner import run_tree
from deidengine.run.signals import RunInterrupted, stop_on_signals

KEY_HEX = "3c" * 32
REPO = Path(__file__).resolve().parents[2]
FILES = 80
PROGRESS = re.compile(r"^\S+Z deid run: ")  # the progress log lines of a run off a terminal


def _group_members(group: int) -> list[int]:
    """The live processes of a process group, from /proc (zombies are not running)."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        state, process_group = fields[0], int(fields[2])
        if process_group == group and state != "Z":
            members.append(int(entry))
    return members


def _wait_for_empty_group(group: int, seconds: float = 10.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while (members := _group_members(group)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return members


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize(
    ("signal_number", "to_group", "exit_code"),
    [(signal.SIGTERM, False, 143), (signal.SIGINT, True, 130)],
    ids=["SIGTERM-to-the-leader", "SIGINT-to-the-group"],
)
def test_a_signal_stops_workers_and_the_rerun_finishes(
    tmp_path: Path, signal_number: int, to_group: bool, exit_code: int
) -> None:
    source, out = tmp_path / "in", tmp_path / "out"
    write_corpus(source, FILES)
    command, environment = deid_run_process(secret_file(tmp_path, KEY_HEX), source, out)
    run = subprocess.Popen(
        command,
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own group: every process it starts is found by it
    )
    try:
        deadline = time.monotonic() + 60
        while len(list(out.rglob("*.dcm"))) < 3 and time.monotonic() < deadline:
            assert run.poll() is None, "the run ended before it could be interrupted"
            time.sleep(0.005)
        assert run.poll() is None, "the run ended before it could be interrupted"
        # A terminal's Ctrl-C reaches the whole group; `kill PID` the leader alone.
        (os.killpg if to_group else os.kill)(run.pid, signal_number)
        try:
            _, stderr = run.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            # The pipes stay open while any worker lives: the leader's exit is not enough.
            pytest.fail(f"the run or its workers still run: {_group_members(run.pid)}")
        left = _wait_for_empty_group(run.pid)
    finally:
        if _group_members(run.pid):
            os.killpg(run.pid, signal.SIGKILL)
        run.wait(timeout=30)
    assert left == [], f"processes of the run survived it: {left}"
    assert run.returncode == exit_code, stderr.decode()
    message = "\n".join(
        line for line in stderr.decode().splitlines() if not PROGRESS.match(line)
    ).strip()
    assert "Traceback" not in message
    assert message.splitlines() == [
        f"deid run: stopped by {signal.Signals(signal_number).name}; the "
        f"{message.split('; the ')[1].split()[0]} files that ended are recorded and no "
        "temporary file is left: run the same command again to finish (what ended is skipped)"
    ]
    assert sorted(tmp_path.rglob(".deid-*.tmp")) == []
    stopped = len(list(out.rglob("*.dcm")))
    assert 3 <= stopped < FILES
    audit = sorted((tmp_path / "out.audit").glob("*.jsonl"))[-1]
    summary = json.loads(audit.read_text("utf-8").splitlines()[-1])
    assert summary["record"] == "summary"
    assert summary["stopped"] == signal.Signals(signal_number).name
    assert summary["exit_code"] == exit_code

    finished = subprocess.run(command, cwd=tmp_path, env=environment, capture_output=True)
    assert finished.returncode == 0, finished.stderr.decode()
    assert len(list(out.rglob("*.dcm"))) == FILES
    assert sorted(tmp_path.rglob(".deid-*.tmp")) == []


def test_only_the_first_signal_interrupts_and_handlers_come_back() -> None:
    before = signal.getsignal(signal.SIGTERM)
    raised = []
    with stop_on_signals():
        try:
            signal.raise_signal(signal.SIGTERM)
        except RunInterrupted as interruption:
            raised.append(interruption)
        signal.raise_signal(signal.SIGTERM)  # while stopping: ignored, not a second stop
    assert [(i.signal_name, i.exit_code) for i in raised] == [("SIGTERM", 143)]
    assert signal.getsignal(signal.SIGTERM) == before


def test_outside_the_main_thread_the_handlers_are_left_alone() -> None:
    before = signal.getsignal(signal.SIGTERM)
    seen = []

    def enter() -> None:
        with stop_on_signals():
            seen.append(signal.getsignal(signal.SIGTERM))

    thread = threading.Thread(target=enter)
    thread.start()
    thread.join()
    assert seen == [before]


@dataclass(frozen=True)
class _StoppedMidWrite:
    """Writes the first file; on the second, leaves a temporary (as a write cut short does)
    and raises what a signal raises in the leader when the run is in-process."""

    settings: RunSettings
    stop: type[BaseException]

    def process(self, path: str) -> Outcome:
        reference = input_reference(ProjectSecret(self.settings.secret_key), path)
        if Path(path).name == "b":
            folder = Path(self.settings.output_root) / "study"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / ".deid-b.dcm.x1.tmp").write_bytes(b"half")
            raise (RunInterrupted(signal.SIGTERM) if self.stop is RunInterrupted else self.stop())
        return Outcome(reference, Status.WRITTEN, output="a.dcm")


@pytest.mark.parametrize("stop", [RunInterrupted, KeyboardInterrupt])
def test_an_in_process_stop_sweeps_the_temporary_it_cut_short(
    tmp_path: Path, stop: type[BaseException]
) -> None:
    fake_inputs(tmp_path, ["a", "b", "c"])

    def factory(settings: RunSettings) -> _StoppedMidWrite:
        return _StoppedMidWrite(settings, stop)

    if stop is KeyboardInterrupt:  # a library caller without stop_on_signals: it propagates
        with pytest.raises(KeyboardInterrupt):
            run_tree(settings_for(tmp_path), tmp_path / "in", workers=1, worker_factory=factory)
    else:
        summary = run_tree(
            settings_for(tmp_path), tmp_path / "in", workers=1, worker_factory=factory
        )
        assert (summary.stopped, summary.exit_code, summary.written) == ("SIGTERM", 143, 1)
    assert sorted(tmp_path.rglob(".deid-*.tmp")) == []


def _signal_state() -> str:
    """This process's SIGINT and SIGTERM dispositions and whether either is blocked."""
    names = {signal.SIG_IGN: "ignored", signal.SIG_DFL: "default"}
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    return " ".join(
        f"{signal.Signals(number).name}="
        f"{names.get(signal.getsignal(number), 'handler')}"  # type: ignore[call-overload]
        f"{'+blocked' if number in blocked else ''}"
        for number in (signal.SIGINT, signal.SIGTERM)
    )


@dataclass(frozen=True)
class _SignalStateProcessor:
    """Writes every input, reporting in ``detail`` the worker's signal state."""

    settings: RunSettings

    def process(self, path: str) -> Outcome:
        reference = input_reference(ProjectSecret(self.settings.secret_key), path)
        return Outcome(reference, Status.WRITTEN, output="x.dcm", detail=_signal_state())


def test_a_forked_worker_has_its_own_signal_dispositions_not_the_leaders(
    tmp_path: Path,
) -> None:
    # The leader's stop handler, inherited by a fork, would raise RunInterrupted in a worker
    # that the leader ends with SIGTERM: a traceback on the terminal (seen 1 run in 20).
    paths = fake_inputs(tmp_path, ["a", "b", "c", "d"])
    with stop_on_signals():
        leader = _signal_state()
        outcomes = list(
            LocalExecutor(2).execute(paths, settings_for(tmp_path), _SignalStateProcessor)
        )
        assert _signal_state() == leader  # the leader's mask is back as it was
    assert leader == "SIGINT=handler SIGTERM=handler"
    assert {outcome.detail for outcome in outcomes} == {"SIGINT=ignored SIGTERM=default"}
