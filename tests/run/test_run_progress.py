"""Progress: a rich line on a terminal, log lines elsewhere; counts only, never a name."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from run_fakes import fake_inputs, fake_worker, settings_for

from benchmarks.corpus import write_corpus
from deidengine.run.outcome import Outcome, Reason, Status
from deidengine.run.progress import (
    LogProgress,
    RichProgress,
    RunCounts,
    run_progress,
    terminal_progress,
)
from deidengine.run.runner import run_tree


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_nothing_without_a_terminal() -> None:
    assert terminal_progress(io.StringIO()) is None
    assert isinstance(terminal_progress(_Terminal()), RichProgress)


def test_the_line_shows_counts() -> None:
    stream = io.StringIO()
    progress = RichProgress(Console(file=stream, force_terminal=True, width=120))
    progress.start()
    progress.update(RunCounts(written=3, quarantined=1, skipped=2))
    progress.stop()
    text = stream.getvalue()
    assert "6 files" in text and "3 written" in text and "1 quarantined" in text
    assert RunCounts(written=3, quarantined=1, skipped=2).done == 6


# --------------------------------------------------------------------------- unattended runs
# Before, a run whose stderr was not a terminal (cron, CI, nohup) showed nothing until its
# summary, had no -q/-v/--log-file, and the terminal line had no total and no time left.

KEY_HEX = "6b" * 32
REPO = Path(__file__).resolve().parents[2]
LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ deid run: (.*)$")


def _command(tmp_path: Path, *options: str) -> list[str]:
    key = tmp_path / "project.key"
    key.write_text(KEY_HEX + "\n", encoding="ascii")
    key.chmod(0o600)  # an exposed secret file draws a warning (tests/security)
    return [
        sys.executable,
        "-m",
        "deidengine.cli",
        "run",
        "--policy",
        "annex-e/basic",
        "--secret-file",
        str(key),
        "--workers",
        "1",
        *options,
        str(tmp_path / "SMITH^JOHN"),
        str(tmp_path / "out"),
    ]


def _corpus(tmp_path: Path, files: int) -> None:
    write_corpus(tmp_path / "SMITH^JOHN", files)


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(command, env=environment, capture_output=True, text=True, timeout=120)


def test_an_unattended_run_logs_progress_at_a_steady_interval(tmp_path: Path) -> None:
    _corpus(tmp_path, 30)
    result = _run(_command(tmp_path, "--progress-every", "0.05"))
    assert result.returncode == 0, result.stderr
    texts = []
    for line in result.stderr.splitlines():
        match = LINE.match(line)
        assert match is not None, line
        texts.append(match.group(1))
    assert texts[-1].startswith("ended: 30 of 30 files: 30 written, 0 quarantined, 0 skipped; ")
    periodic = texts[:-1]
    assert periodic, "no progress line while the run went on"
    for text in periodic:
        assert re.fullmatch(
            r"\d+ (of 30 files \(\d+%\)|files): \d+ written, 0 quarantined, 0 skipped"
            r"(; [\d.]+ files/s)?(; about \w+ left|; still counting the inputs)?",
            text,
        ), text
    assert any("of 30 files" in text and "left" in text for text in periodic)
    assert "SMITH" not in result.stderr and str(tmp_path) not in result.stderr
    assert "written" in result.stdout  # the summary table still follows


def test_quiet_verbose_and_a_log_file(tmp_path: Path) -> None:
    _corpus(tmp_path, 4)
    (tmp_path / "SMITH^JOHN" / "notes.txt").write_text("SMITH^JOHN 1970", encoding="utf-8")
    log = tmp_path / "run.log"
    result = _run(_command(tmp_path, "-q", "-v", "--log-file", str(log)))
    assert result.returncode == 1  # the text file is quarantined
    assert (result.stdout, result.stderr) == ("", "")
    texts = [LINE.match(line).group(1) for line in log.read_text("utf-8").splitlines()]  # type: ignore[union-attr]
    per_file = texts[:-1]
    assert len(per_file) == 5
    assert all(re.fullmatch(r"[0-9a-f]{12} (written|quarantined not-dicom)", t) for t in per_file)
    assert texts[-1].startswith("ended: 5 of 5 files: 4 written, 1 quarantined, 0 skipped")
    assert "SMITH" not in log.read_text("utf-8")
    inside = _run(_command(tmp_path, "--log-file", str(tmp_path / "out" / "run.log")))
    assert inside.returncode == 2 and "inside the output" in inside.stderr


def test_the_terminal_line_shows_the_total_and_the_time_left() -> None:
    stream = io.StringIO()
    progress = RichProgress(Console(file=stream, force_terminal=True, width=160))
    progress.start()
    time.sleep(0.05)
    progress.set_total(10)
    progress.update(RunCounts(written=4))
    progress.stop()
    text = stream.getvalue()
    assert "4 of 10 files" in text and "left" in text and "files/s" in text


def test_verbose_on_a_terminal_prints_references_only() -> None:
    stream = io.StringIO()
    progress = RichProgress(Console(file=stream, force_terminal=True, width=160), verbose=True)
    progress.start()
    progress.file_ended(Outcome("0123456789ab", Status.QUARANTINED, reason=Reason.NOT_DICOM))
    progress.stop()
    assert "0123456789ab quarantined not-dicom" in stream.getvalue()


def test_a_log_line_before_the_count_and_after() -> None:
    stream = io.StringIO()
    progress = LogProgress(stream, every=3600)
    progress.start()
    progress.update(RunCounts(written=2, skipped=1))
    assert progress.describe().startswith("3 files: 2 written, 0 quarantined, 1 skipped")
    assert progress.describe().endswith("still counting the inputs")
    progress.set_total(6)
    assert progress.describe().startswith("3 of 6 files (50%): ")
    progress.stop()
    assert stream.getvalue().count("\n") == 1  # only the final line: the interval never came


class _Counting:
    def __init__(self) -> None:
        self.totals: list[int] = []

    def start(self) -> None: ...

    def update(self, counts: RunCounts) -> None: ...

    def stop(self) -> None: ...

    def set_total(self, total: int) -> None:
        self.totals.append(total)


def test_the_runner_counts_the_inputs_for_the_progress(tmp_path: Path) -> None:
    fake_inputs(tmp_path, ["a", "b", "c", "sub/d", "bad e"])
    sink = _Counting()
    run_tree(
        settings_for(tmp_path),
        tmp_path / "in",
        workers=1,
        worker_factory=fake_worker,
        progress=sink,
    )
    assert sink.totals == [5]
    assert run_progress(quiet=True) is None
    assert isinstance(run_progress(stream=io.StringIO()), LogProgress)
