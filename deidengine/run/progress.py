"""Progress of a run: counts only, never a file name (input names often carry names and MRNs).

The runner reports a :class:`RunCounts` after every input to a :class:`ProgressSink`. The CLI
picks the sinks with :func:`run_progress`: on a terminal, a rich progress line on stderr
(:func:`terminal_progress`); anywhere else (cron, CI, ``nohup``), a :class:`LogProgress` line
every few seconds, so a long unattended run shows it is alive and how far it is; ``--log-file``
adds such lines to a file, ``-v`` adds one line per input (its keyed reference, status and
reason), ``-q`` shows nothing. While discovery walks the tree the total is unknown; the runner
counts the inputs in the background and hands the total to sinks that take one
(:class:`TotalAware`), which then show ``done of total`` and an estimate of the time left.

rich is imported only when there is a terminal to draw on, and the line is redrawn from the
latest counts at most every :data:`REFRESH_SECONDS`, not once per input: the runner's thread
shares the machine with the workers and must stay cheap per file.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final, Protocol, TextIO, runtime_checkable

from deidengine.run.outcome import Outcome

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

__all__ = [
    "LOG_EVERY_SECONDS",
    "REFRESH_SECONDS",
    "LogProgress",
    "OutcomeListener",
    "ProgressSink",
    "RichProgress",
    "RunCounts",
    "TeeProgress",
    "TotalAware",
    "run_progress",
    "terminal_progress",
]

LOG_EVERY_SECONDS: Final = 30.0
"""How often an unattended run logs its progress, by default."""

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


@runtime_checkable
class TotalAware(Protocol):
    """A sink that takes the number of inputs once discovery has counted them."""

    def set_total(self, total: int) -> None: ...


@runtime_checkable
class OutcomeListener(Protocol):
    """A sink that hears of each input as it ends (for ``-v``: reference, status, reason)."""

    def file_ended(self, outcome: Outcome) -> None: ...


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{seconds:02d}s"
    return f"{seconds}s"


def _pace(done: int, total: int | None, elapsed: float) -> tuple[str, str]:
    """(files per second, time left) as text; empty until they can be told."""
    if elapsed <= 0 or done == 0:
        return "", ""
    rate = done / elapsed
    left = f"about {_duration((total - done) / rate)} left" if total is not None else ""
    return f"{rate:.1f} files/s", left


class RichProgress:
    """A one-line rich display: spinner, counts (of the total once known), files per second,
    time left, elapsed time."""

    def __init__(self, console: Console, *, verbose: bool = False) -> None:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self._verbose = verbose

        self._progress: Progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TextColumn("{task.completed}{task.fields[of_total]} files"),
            TextColumn("[green]{task.fields[written]} written"),
            TextColumn("[red]{task.fields[quarantined]} quarantined"),
            TextColumn("[yellow]{task.fields[skipped]} skipped"),
            TextColumn("{task.fields[rate]}"),
            TextColumn("{task.fields[left]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._task: TaskID | None = None
        self._shown_at = 0.0  # time.monotonic() of the last counts handed to rich
        self._latest: RunCounts | None = None  # counts not yet handed to rich
        self._total: int | None = None
        self._shown = RunCounts()

    def start(self) -> None:
        self._progress.start()
        self._task = self._progress.add_task(
            "de-identifying",
            total=None,
            written=0,
            quarantined=0,
            skipped=0,
            rate="",
            left="",
            of_total="",
        )

    def file_ended(self, outcome: Outcome) -> None:
        """With ``verbose``: a line per input above the progress line (keyed reference only)."""
        if self._verbose:
            reason = f" {outcome.reason.value}" if outcome.reason is not None else ""
            self._progress.console.print(
                f"{outcome.input_ref} {outcome.status.value}{reason}", markup=False
            )

    def set_total(self, total: int) -> None:
        """Show ``done of total`` and the time left from now on."""
        self._total = total
        self._show(self._latest or self._shown, time.monotonic())

    def update(self, counts: RunCounts) -> None:
        now = time.monotonic()
        if now - self._shown_at < REFRESH_SECONDS:
            self._latest = counts  # shown at the next update that is due, or at stop()
            return
        self._show(counts, now)

    def _show(self, counts: RunCounts, now: float) -> None:
        self._shown_at, self._latest, self._shown = now, None, counts
        if self._task is None:
            return
        task = self._progress.tasks[0]
        rate, left = _pace(counts.done, self._total, task.elapsed or 0.0)
        self._progress.update(
            self._task,
            completed=counts.done,
            written=counts.written,
            quarantined=counts.quarantined,
            skipped=counts.skipped,
            rate=rate,
            left=left,
            of_total=f" of {self._total}" if self._total is not None else "",
        )

    def stop(self) -> None:
        if self._latest is not None:
            self._show(self._latest, time.monotonic())  # the final counts, not a stale line
        self._progress.stop()


def terminal_progress(
    stream: TextIO | None = None, *, verbose: bool = False
) -> ProgressSink | None:
    """A :class:`RichProgress` on ``stream`` (stderr) when it is a terminal, else ``None``."""
    target = stream if stream is not None else sys.stderr
    if not target.isatty():
        return None
    from rich.console import Console

    return RichProgress(Console(file=target), verbose=verbose)


class LogProgress:
    """Progress as log lines, for runs nobody watches: one line every ``every`` seconds
    (done of total, counts by status, rate, time left), one when the run ends and, with
    ``verbose``, one per input (its keyed reference, status and reason). Never a path.

    The periodic line comes from a timer thread, so a run stuck on one slow file still shows
    it is alive; :meth:`update` only keeps the latest counts.
    """

    def __init__(
        self, stream: TextIO, *, every: float = LOG_EVERY_SECONDS, verbose: bool = False
    ) -> None:
        self._stream = stream
        self._every = every
        self._verbose = verbose
        self._counts = RunCounts()
        self._total: int | None = None
        self._started = 0.0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._timer: threading.Thread | None = None

    def start(self) -> None:
        self._started = time.monotonic()
        self._timer = threading.Thread(target=self._tick, name="deid-progress-log", daemon=True)
        self._timer.start()

    def update(self, counts: RunCounts) -> None:
        self._counts = counts

    def set_total(self, total: int) -> None:
        self._total = total

    def file_ended(self, outcome: Outcome) -> None:
        if not self._verbose:
            return
        reason = f" {outcome.reason.value}" if outcome.reason is not None else ""
        self._line(f"{outcome.input_ref} {outcome.status.value}{reason}")

    def stop(self) -> None:
        self._stopping.set()
        if self._timer is not None:
            self._timer.join()
            self._timer = None
        self._line(self.describe(final=True))

    def describe(self, *, final: bool = False) -> str:
        """The progress line's text (counts, rate and time left; no name)."""
        counts, total = self._counts, self._total
        done = f"{counts.done} of {total} files" if total is not None else f"{counts.done} files"
        if total and not final:
            done += f" ({100 * counts.done // total}%)"
        text = (
            f"{'ended: ' if final else ''}{done}: {counts.written} written, "
            f"{counts.quarantined} quarantined, {counts.skipped} skipped"
        )
        rate, left = _pace(counts.done, total, time.monotonic() - self._started)
        for part in (rate, "" if final else left):
            if part:
                text += f"; {part}"
        if total is None and not final:
            text += "; still counting the inputs"
        return text

    def _tick(self) -> None:
        while not self._stopping.wait(self._every):
            self._line(self.describe())

    def _line(self, text: str) -> None:
        stamp = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        with self._lock:
            try:
                self._stream.write(f"{stamp} deid run: {text}\n")
                self._stream.flush()
            except (OSError, ValueError):
                pass  # a full disk or a closed stream: progress is never worth stopping a run


class TeeProgress:
    """Several sinks as one (a terminal line and a log file, say)."""

    def __init__(self, sinks: Sequence[ProgressSink]) -> None:
        self._sinks = tuple(sinks)

    def start(self) -> None:
        for sink in self._sinks:
            sink.start()

    def update(self, counts: RunCounts) -> None:
        for sink in self._sinks:
            sink.update(counts)

    def set_total(self, total: int) -> None:
        for sink in self._sinks:
            if isinstance(sink, TotalAware):
                sink.set_total(total)

    def file_ended(self, outcome: Outcome) -> None:
        for sink in self._sinks:
            if isinstance(sink, OutcomeListener):
                sink.file_ended(outcome)

    def stop(self) -> None:
        for sink in self._sinks:
            sink.stop()


def run_progress(
    *,
    quiet: bool = False,
    verbose: bool = False,
    log: TextIO | None = None,
    every: float = LOG_EVERY_SECONDS,
    stream: TextIO | None = None,
) -> ProgressSink | None:
    """The progress a ``deid run`` shows: a rich line when ``stream`` (stderr) is a terminal,
    else log lines every ``every`` seconds on it; nothing there when ``quiet``; and log lines
    on ``log`` (a ``--log-file``) when given. ``verbose`` adds a line per input to the logs."""
    target = stream if stream is not None else sys.stderr
    sinks: list[ProgressSink] = []
    if not quiet:
        terminal = terminal_progress(target, verbose=verbose)
        sinks.append(terminal or LogProgress(target, every=every, verbose=verbose))
    if log is not None:
        sinks.append(LogProgress(log, every=every, verbose=verbose))
    if not sinks:
        return None
    return sinks[0] if len(sinks) == 1 else TeeProgress(sinks)
