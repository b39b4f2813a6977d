"""Progress of a run: counts only, never a file name (input names often carry names and MRNs).

The runner reports a :class:`RunCounts` after every input to a :class:`ProgressSink`. The CLI
uses :func:`terminal_progress`: a rich progress line on stderr when stderr is a terminal,
nothing otherwise (logs and pipes get the summary only). The total is unknown while discovery
is still walking the tree, so the line shows counts, rate and elapsed time rather than a bar.

rich is imported only when there is a terminal to draw on, and the line is redrawn from the
latest counts at most every :data:`REFRESH_SECONDS`, not once per input: the runner's thread
shares the machine with the workers and must stay cheap per file.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol, TextIO

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

__all__ = ["REFRESH_SECONDS", "ProgressSink", "RichProgress", "RunCounts", "terminal_progress"]

REFRESH_SECONDS: Final = 0.1
"""How often the progress line takes new counts (rich redraws it ten times a second anyway)."""


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
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self._progress: Progress = Progress(
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
        self._shown_at = 0.0  # time.monotonic() of the last counts handed to rich
        self._latest: RunCounts | None = None  # counts not yet handed to rich

    def start(self) -> None:
        self._progress.start()
        self._task = self._progress.add_task(
            "de-identifying", total=None, written=0, quarantined=0, skipped=0, rate=""
        )

    def update(self, counts: RunCounts) -> None:
        now = time.monotonic()
        if now - self._shown_at < REFRESH_SECONDS:
            self._latest = counts  # shown at the next update that is due, or at stop()
            return
        self._show(counts, now)

    def _show(self, counts: RunCounts, now: float) -> None:
        self._shown_at, self._latest = now, None
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
        if self._latest is not None:
            self._show(self._latest, time.monotonic())  # the final counts, not a stale line
        self._progress.stop()


def terminal_progress(stream: TextIO | None = None) -> ProgressSink | None:
    """A :class:`RichProgress` on ``stream`` (stderr) when it is a terminal, else ``None``."""
    target = stream if stream is not None else sys.stderr
    if not target.isatty():
        return None
    from rich.console import Console

    return RichProgress(Console(file=target))
