"""Stopping a run on SIGTERM or SIGINT: workers ended, no temporary left, a resumable manifest.

Without this, SIGTERM ended the leader at once (Python's default for it) and left the pool's
processes waiting for work that never came; Ctrl-C raised ``KeyboardInterrupt`` in every
process of the terminal's group, workers included, each printing its own traceback.

How a stop goes instead:

- the pool's workers ignore SIGINT and take SIGTERM's default action (:func:`ignore_interrupts`,
  their initializer calls it): a Ctrl-C reaches the whole foreground group, and only the leader
  decides what it means; a SIGTERM from the leader ends a worker at once. A forked worker starts
  with the leader's handlers, which would raise :class:`RunInterrupted` in the worker (a
  traceback on the terminal), so the leader forks with both signals blocked
  (:func:`signals_blocked`) and the worker unblocks them only once its own dispositions are set;
  a signal that arrives in between waits, in the leader, until the fork is done;
- in the leader, :func:`stop_on_signals` turns the first SIGTERM or SIGINT into
  :class:`RunInterrupted` (later ones are ignored while the run stops: a stop must not be cut
  short half-way);
- the executor, unwound by that exception, terminates its workers at once
  (:func:`terminate_processes`) rather than waiting for the files they hold, and the runner
  removes the ``.deid-*.tmp`` files they may have left, records the files that ended, and
  returns a summary whose exit code is 128 + the signal's number (130 for SIGINT, 143 for
  SIGTERM), as a shell reports a process its signal ended.

Re-running the same command finishes the run: the manifest skips what ended.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

__all__ = [
    "STOP_SIGNALS",
    "RunInterrupted",
    "ignore_interrupts",
    "signals_blocked",
    "stop_on_signals",
    "terminate_processes",
]

STOP_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM)
"""The signals that stop a run cleanly."""

TERMINATE_GRACE_SECONDS: Final = 5.0
"""How long a terminated worker may take to end before it is killed."""


class RunInterrupted(BaseException):
    """A stop signal arrived. A ``BaseException``, like ``KeyboardInterrupt``: the per-file
    function's ``except Exception`` (which fails a file closed) must not swallow it."""

    def __init__(self, signal_number: int) -> None:
        self.signal_number = signal_number
        self.signal_name = signal.Signals(signal_number).name
        super().__init__(self.signal_name)

    @property
    def exit_code(self) -> int:
        """128 + the signal's number: what a shell reports for a process the signal ended."""
        return 128 + self.signal_number


@contextmanager
def stop_on_signals(signals: Iterable[int] = STOP_SIGNALS) -> Iterator[None]:
    """Within the block, the first of ``signals`` raises :class:`RunInterrupted` in the main
    thread; later ones are ignored until the block ends. The previous handlers come back then.

    Python delivers signals to the main thread only: from any other thread (a host
    application's worker) this changes nothing, and the host's own handling stays in charge.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    wanted = tuple(signals)
    stopping = False

    def interrupt(number: int, frame: FrameType | None) -> None:
        nonlocal stopping
        if stopping:
            return  # already stopping: let the clean-up finish
        stopping = True
        raise RunInterrupted(number)

    previous = {number: signal.signal(number, interrupt) for number in wanted}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def ignore_interrupts() -> None:
    """For a pool's worker process: SIGINT (a terminal's Ctrl-C, sent to the whole group) is
    the leader's to handle; SIGTERM takes its default action, so the leader can end a worker
    (not the leader's handler, which a forked worker inherits). Then both are unblocked (see
    :func:`signals_blocked`)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


@contextmanager
def signals_blocked(signals: Iterable[int] = STOP_SIGNALS) -> Iterator[None]:
    """Within the block, ``signals`` are held pending in this thread (not lost: they arrive
    when the block ends). Processes forked inside start with them blocked, so none reaches a
    worker before :func:`ignore_interrupts` has set its own dispositions."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def terminate_processes(processes: Iterable[BaseProcess]) -> None:
    """Send SIGTERM to each live process, wait for it, and kill what is still alive after
    :data:`TERMINATE_GRACE_SECONDS`."""
    alive = [process for process in processes if process.is_alive()]
    for process in alive:
        process.terminate()
    for process in alive:
        process.join(TERMINATE_GRACE_SECONDS)
        if process.is_alive():
            process.kill()
            process.join()
