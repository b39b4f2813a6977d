"""What every executor shares: the worker's contract, the in-flight bound and failure outcomes.

:mod:`deidengine.run.executor` (the registry and the local pool) and
:mod:`deidengine.run.dask_executor` (the cluster) both run a worker's per-file function over a
stream of inputs and both turn a failure they catch into the same ``internal-error`` outcome.
What they share lives here, so neither imports the other: the registry reaches the Dask
executor lazily by its kind (``"dask"``), and the Dask executor never reaches back.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol, runtime_checkable

from deidengine.dicom.keys import ProjectSecret
from deidengine.dicom.storage import BackgroundMover
from deidengine.errors import DeidError, EngineCode
from deidengine.run.outcome import Outcome, Reason, Status, input_reference

if TYPE_CHECKING:
    from deidengine.run.pipeline import RunSettings

__all__ = [
    "CRASH_DETAIL",
    "IN_FLIGHT_PER_WORKER",
    "FileProcessing",
    "WorkerFactory",
    "WorkerNotReadyError",
    "WorkerStartError",
    "WriteDeferring",
    "failure_outcome",
    "raised_detail",
]

IN_FLIGHT_PER_WORKER: Final = 8
"""Files submitted ahead per worker: enough to keep every process busy with a task queued behind
the one it runs (the local pool's tasks carry up to half of them), few enough to stay flat."""

CRASH_DETAIL: Final = (
    "the worker process died processing this file alone (a crash in native code, or out of "
    "memory); the input was not copied to quarantine"
)
"""The detail of an input whose worker died while it ran alone (it is the culprit)."""


class WorkerStartError(DeidError, RuntimeError):
    """The workers cannot run: the per-file processor cannot be built."""

    code = EngineCode.WORKER_START_FAILED


class WorkerNotReadyError(DeidError):
    """Raised in a worker process whose processor could not be built (its message names the
    error's type only); the executor that sees it stops the run with :class:`WorkerStartError`."""

    code = EngineCode.WORKER_NOT_READY


class FileProcessing(Protocol):
    """What a worker holds: the per-file function, which returns an Outcome and never raises."""

    def process(self, path: str) -> Outcome: ...


@runtime_checkable
class WriteDeferring(Protocol):
    """A processor that can leave its durable write to a
    :class:`~deidengine.dicom.storage.BackgroundMover` (the pipeline's
    :meth:`~deidengine.run.pipeline.FileProcessor.start`): ``start`` returns a callable that
    waits for it and returns the file's Outcome; neither raises."""

    def start(self, path: str, mover: BackgroundMover) -> Callable[[], Outcome]: ...


WorkerFactory = Callable[["RunSettings"], FileProcessing]
"""Builds a worker's processor from the settings; must be a picklable module-level callable."""


def failure_outcome(secret: ProjectSecret, path: Path, detail: str) -> Outcome:
    """The outcome of an input whose processing raised or whose worker died: quarantined as
    ``internal-error``, named by keyed reference only."""
    return Outcome(
        input_ref=input_reference(secret, path),
        status=Status.QUARANTINED,
        reason=Reason.INTERNAL_ERROR,
        detail=detail,
    )


def raised_detail(error: BaseException) -> str:
    """The detail recorded when the per-file function raised ``error``."""
    # The type name only: an exception's message can quote a path or a value.
    return f"the per-file function raised {type(error).__name__}"
