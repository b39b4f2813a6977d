"""Progress of a run: counts only, never a file name (input names often carry names and MRNs).

The runner reports a :class:`RunCounts` after every input to a :class:`ProgressSink`. The CLI
uses :func:`terminal_progress`: a rich progress line on stderr when stderr is a terminal,
nothing otherwise (logs and pipes get the summary only). The total is unknown while discovery
is still walking the tree, so the line shows counts, rate and elapsed time rather than a bar.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Protocol, TextIO

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

__all__ = ["ProgressSink", "RichProgress", "RunCounts", "terminal_progress"]


@dataclass(frozen=True)
class RunCounts:
    """How many inputs have ended so far, by status."""

    written: int = 0
    quarantined: int = 0
    skipped: int = 0

    @property
    def done(self) -> int:
        return self.written + self.quarantined + self.skipped


class ProgressSink(Protocol):
    """Receives the running counts; must not slow the run (called once per input)."""

    def start(self) -> None: ...

    def update(self, counts: RunCounts) -> None: ...

    def stop(self) -> None: ...


class RichProgress:
    """A one-line rich display: spinner, counts, files per second, elapsed time."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TextColumn("{task.completed} files"),
            TextColumn("[green]{task.fields[written]} written"),
            TextColumn("[red]{task.fields[quarantined]} quarantined"),
            TextColumn("[yellow]{task.fields[skipped]} skipped"),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._task: TaskID | None = None

    def start(self) -> None:
        self._progress.start()
        self._task = self._progress.add_task(
            "de-identifying", total=None, written=0, quarantined=0, skipped=0, rate=""
        )

    def update(self, counts: RunCounts) -> None:
        if self._task is None:
            return
        task = self._progress.tasks[0]
        elapsed = task.elapsed or 0.0
        rate = f"{counts.done / elapsed:.0f}/s" if elapsed > 0 else ""
        self._progress.update(
            self._task,
            completed=counts.done,
            written=counts.written,
            quarantined=counts.quarantined,
            skipped=counts.skipped,
            rate=rate,
        )

    def stop(self) -> None:
        self._progress.stop()


def terminal_progress(stream: TextIO | None = None) -> ProgressSink | None:
    """A :class:`RichProgress` on ``stream`` (stderr) when it is a terminal, else ``None``."""
    target = stream if stream is not None else sys.stderr
    if not target.isatty():
        return None
    return RichProgress(Console(file=target))
