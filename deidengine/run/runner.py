"""Running a whole input (a file or a tree): discovery → executor → audit, mappings, summary.

Two entry points:

- :func:`run_request` is what ``deid run`` calls: it loads the project secret, checks the
  lookup tables, builds the :class:`~deidengine.run.pipeline.RunSettings` and calls
- :func:`run_tree`, which checks the layout and the policy, then streams every discovered input
  through an executor, writing one audit line per input, and returns a :class:`RunSummary`.

Nothing is created (no output, quarantine, audit or mapping directory) until the secret, the
policy, the lookup files and the layout have all been accepted: a configuration error leaves
the disk as it was.

Exit codes (:attr:`RunSummary.exit_code`): 0 when every input ended well, 1 when any input was
quarantined or a directory could not be listed, 2 (raised as an exception before the run, the
CLI maps it) for usage and configuration errors. "Ended well" means written, or skipped on
purpose: ``already-done`` (a resumed run found the identical output in place: the output is
exactly what this run would have written, so it is a success) and ``dicomdir`` (a media
directory, rebuilt from the output rather than de-identified). An input tree with no file at
all is a run of zero files and exits 0; the summary says so. A run stopped before its last
input exits 3 for a full disk (:mod:`deidengine.run.diskfull`), 130 or 143 for SIGINT or
SIGTERM (:mod:`deidengine.run.signals`); re-running the same command finishes it.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Final

from deidengine.dicom.keys import (
    InsecureSecretError,
    ProjectSecret,
    keyed_reference,
    load_secret,
    secret_file_exposure,
)
from deidengine.dicom.limits import DEFAULT_LIMITS, InputLimits
from deidengine.policy import load_plan
from deidengine.run.audit import AuditHeader, AuditWriter, new_run_id
from deidengine.run.discover import discover_inputs
from deidengine.run.diskfull import (
    DISK_FULL_MESSAGE,
    EXIT_DISK_FULL,
    DiskFullError,
    is_disk_full,
    tolerate_disk_full,
)
from deidengine.run.executor import (
    ExecutorOptions,
    WorkerFactory,
    build_file_processor,
    executor_names,
    make_executor,
)
from deidengine.run.layout import (
    RunConfigurationError,
    check_roots,
    check_side_paths,
    default_audit_directory,
    default_quarantine,
    single_file_output,
)
from deidengine.run.manifest import (
    ProjectCheck,
    RunManifest,
    configuration_digest,
    default_manifest,
    remove_stale_temporaries,
)
from deidengine.run.mappings import MappingCollector, MappingFiles
from deidengine.run.outcome import Outcome, Reason, Status
from deidengine.run.pipeline import RunSettings
from deidengine.run.progress import OutcomeListener, ProgressSink, RunCounts, TotalAware
from deidengine.run.signals import RunInterrupted

__all__ = [
    "EXIT_CONFIGURATION",
    "EXIT_OK",
    "EXIT_QUARANTINED",
    "RunRequest",
    "RunSummary",
    "parse_lookup",
    "run_request",
    "run_tree",
    "stop_message",
]

EXIT_OK: Final = 0
EXIT_QUARANTINED: Final = 1
EXIT_CONFIGURATION: Final = 2
DISK_FULL: Final = "disk-full"


def _frozen_counts(counter: Mapping[str, int]) -> Mapping[str, int]:
    return MappingProxyType(dict(sorted(counter.items())))


@dataclass(frozen=True)
class RunSummary:
    """What a run did, in counts; every input is in exactly one of the three groups."""

    run_id: str
    total: int
    written: int
    quarantined_by_reason: Mapping[str, int]
    skipped_by_reason: Mapping[str, int]
    audit_path: Path
    unlisted_directories: int = 0
    mappings: MappingFiles | None = None
    elapsed_seconds: float = 0.0
    policy: tuple[str, ...] = ()
    #: Why the run ended before its last input: a signal's name (``SIGTERM``, ``SIGINT``) or
    #: ``disk-full``; ``None`` for a run that went through every input.
    stopped: str | None = None
    quarantine_path: Path | None = None  # where quarantined inputs were copied

    @property
    def quarantined(self) -> int:
        return sum(self.quarantined_by_reason.values())

    @property
    def skipped(self) -> int:
        return sum(self.skipped_by_reason.values())

    @property
    def exit_code(self) -> int:
        """0 when no input was quarantined and every directory was listed, else 1; a stopped
        run: 128 + the signal's number (130 SIGINT, 143 SIGTERM), or 3 for a full disk."""
        if self.stopped == DISK_FULL:
            return EXIT_DISK_FULL
        if self.stopped is not None:
            return 128 + signal.Signals[self.stopped].value
        if self.quarantined or self.unlisted_directories:
            return EXIT_QUARANTINED
        return EXIT_OK

    def to_json(self) -> dict[str, object]:
        """The summary as the audit's last line records it (counts only)."""
        return {
            "run_id": self.run_id,
            "total": self.total,
            "written": self.written,
            "quarantined": dict(self.quarantined_by_reason),
            "skipped": dict(self.skipped_by_reason),
            "unlisted_directories": self.unlisted_directories,
            "elapsed_seconds": round(self.elapsed_seconds, 3),
            "stopped": self.stopped,
            "exit_code": self.exit_code,
        }


class _Tally:
    """The running counts of a run, by status and reason."""

    def __init__(self) -> None:
        self.written = 0
        self.quarantined: Counter[str] = Counter()
        self.skipped: Counter[str] = Counter()

    def add(self, outcome: Outcome) -> None:
        reason = outcome.reason.value if outcome.reason is not None else "unspecified"
        if outcome.status is Status.WRITTEN:
            self.written += 1
        elif outcome.status is Status.SKIPPED:
            self.skipped[reason] += 1
        else:
            self.quarantined[reason] += 1

    @property
    def counts(self) -> RunCounts:
        return RunCounts(
            written=self.written,
            quarantined=sum(self.quarantined.values()),
            skipped=sum(self.skipped.values()),
        )


class _Recorder:
    """Takes every outcome of a run: counts, audit line, mappings, manifest row, progress."""

    def __init__(
        self,
        tally: _Tally,
        collector: MappingCollector | None,
        progress: ProgressSink | None,
    ) -> None:
        self.tally = tally
        self.collector = collector
        self.progress = progress
        self.log: AuditWriter | None = None
        self.manifest: RunManifest | None = None
        self.listener = progress if isinstance(progress, OutcomeListener) else None

    def record(self, outcome: Outcome, *, from_manifest: bool = False) -> None:
        self.tally.add(outcome)
        if self.log is not None:
            self.log.record(outcome)
        if self.collector is not None:
            self.collector.add(outcome)
        if self.manifest is not None and not from_manifest:
            self.manifest.record(outcome)
        if self.progress is not None:
            self.progress.update(self.tally.counts)
        if self.listener is not None:
            self.listener.file_ended(outcome)


def _needing_work(paths: Iterable[Path], recorder: _Recorder) -> Iterator[Path]:
    """The inputs the manifest does not record as done; the others are recorded as skipped.

    Pulled lazily by the executor, in the runner's thread, as it has room for more work.
    """
    for path in paths:
        manifest = recorder.manifest
        skipped = manifest.done(path) if manifest is not None else None
        if skipped is None:
            yield path
        else:
            recorder.record(skipped, from_manifest=True)


def run_tree(
    settings: RunSettings,
    input: Path,
    *,
    workers: int | None = None,
    executor: str = "local",
    scheduler: str | None = None,
    audit_path: Path | None = None,
    mappings_dir: Path | None = None,
    manifest_path: Path | None = None,
    resume: bool = True,
    progress: ProgressSink | None = None,
    worker_factory: WorkerFactory = build_file_processor,
    force_new_run: bool = False,
    follow_links: bool = False,
) -> RunSummary:
    """De-identify every file under ``input`` into ``settings.output_root``.

    Args:
        settings: what every worker needs; its output and quarantine roots are the run's.
            ``record_mappings`` must be true exactly when ``mappings_dir`` is given.
        input: a file or a directory (walked lazily, sorted, no directory symlinks followed).
        workers: processes for the executor; default ``os.cpu_count()``. 1 runs in-process,
            as does the local executor for one input whatever was asked (a file, or a folder
            holding one regular file and nothing else: :func:`_one_input`).
        executor: a name registered in :data:`deidengine.run.executor.EXECUTORS`.
        scheduler: the Dask scheduler's address, for ``executor="dask"`` only (without one,
            that executor starts a local cluster of ``workers`` processes).
        audit_path: the audit file; default ``<OUT>.audit/<run-id>.jsonl``. Never overwritten.
        mappings_dir: write ``uids.csv`` and ``patient_ids.csv`` here (merged, mode 0600).
        manifest_path: the run manifest (:mod:`deidengine.run.manifest`); default
            ``<OUT>.manifest.sqlite``. Inputs it records as done are skipped, not redone.
        resume: ``False`` processes every input whatever the manifest says (it is still
            updated).
        progress: receives the running counts (never names).
        worker_factory: builds each worker's processor; tests pass a fake one.
        force_new_run: write into an output the manifest says was made with another project
            secret or policy (refused otherwise: two pseudonymisations of one patient).
        follow_links: read symbolic links to files outside ``input``; without it each is
            recorded as skipped (``link-outside-input``) and never read.

    Raises:
        RunConfigurationError: the layout is refused, the executor is unknown or refuses the
            scheduler, the worker count is below 1, ``record_mappings`` disagrees with
            ``mappings_dir``, another run is writing to the same output, or the output was
            made with another secret or policy (without ``force_new_run``).
        PolicyError: the policy does not compile into a runnable plan.
        WorkerStartError: the per-file processor cannot be built (nothing is created then, when
            it fails in this process; a failure only in pool processes stops the run early).
    """
    started = time.monotonic()
    output, quarantine = Path(settings.output_root), Path(settings.quarantine_root)
    check_roots(input, output, quarantine, output_is_file=settings.output_is_file)
    if settings.record_mappings != (mappings_dir is not None):
        raise RunConfigurationError(
            "record_mappings must be set exactly when a mappings directory is given"
        )
    run_id = new_run_id()
    audit = audit_path or default_audit_directory(output) / f"{run_id}.jsonl"
    check_side_paths(input, output, audit=audit, mappings=mappings_dir)
    manifest_file = manifest_path or default_manifest(output)
    _check_manifest_place(manifest_file, input, output)
    # One input needs no pool (starting one costs more than the file).
    count = workers if workers is not None else (1 if input.is_file() else os.cpu_count() or 1)
    if count < 1:
        raise RunConfigurationError(f"--workers must be at least 1, not {count}")
    if count > 1 and executor == "local" and _one_input(input):
        count = 1  # whatever was asked: a pool's second process would have nothing to do
    if executor not in executor_names():
        raise RunConfigurationError(
            f"unknown executor {executor!r}; known: {', '.join(executor_names())}"
        )
    try:
        chosen = make_executor(executor, ExecutorOptions(workers=count, scheduler=scheduler))
    except ValueError as error:
        raise RunConfigurationError(str(error)) from None
    plan = load_plan(settings.policy_spec, runnable=True)

    secret = ProjectSecret(settings.secret_key)
    header = AuditHeader(
        run_id=run_id,
        policy=plan.names,
        policy_digest=plan.digest,
        executor=executor,
        lookups=tuple(name for name, _ in settings.lookups),
        record_mappings=settings.record_mappings,
        weakenings=plan.weakenings,
    )
    tally = _Tally()
    collector = MappingCollector(mappings_dir) if mappings_dir is not None else None
    recorder = _Recorder(tally, collector, progress)
    unlisted = 0

    def unlistable(directory: Path, error: OSError) -> None:
        nonlocal unlisted
        unlisted += 1
        reference = keyed_reference(secret, os.path.abspath(directory))
        if recorder.log is not None:
            recorder.log.record_unlisted_directory(reference, type(error).__name__)

    def link_outside(path: Path) -> None:
        reference = keyed_reference(secret, os.path.abspath(path))
        # Not a manifest row: a later run with --follow-links must still read the link.
        recorder.record(Outcome.skipped(reference, Reason.LINK_OUTSIDE_INPUT), from_manifest=True)

    inputs = discover_inputs(
        input,
        exclude=(output, quarantine),
        on_error=unlistable,
        follow_links=follow_links,
        on_skip=link_outside,
    )
    # execute() builds the worker now: one that cannot be built fails before anything exists.
    outcomes = chosen.execute(_needing_work(inputs, recorder), settings, worker_factory)
    manifest = RunManifest(
        manifest_file,
        secret=secret,
        output_root=output,
        policy_digest=plan.digest,
        configuration=configuration_digest(plan.digest, settings),
        run_id=run_id,
        mappings_dir=mappings_dir,
        resume=resume,
        project=ProjectCheck((settings.policy_spec,), force_new_run=force_new_run),
    )
    mappings: MappingFiles | None = None
    stopped: str | None = None
    finished = False  # went through every input
    with ExitStack() as opened:
        try:
            opened.enter_context(manifest)
            log = opened.enter_context(AuditWriter(audit, header, workers=count))
        except Exception as error:
            if is_disk_full(error):  # before the first file: one message, nothing to resume
                raise DiskFullError from None
            raise
        recorder.log, recorder.manifest = log, manifest
        if progress is not None:
            progress.start()
        counter = _InputCounter.start(input, (output, quarantine), progress)
        try:
            stopped = _record_all(outcomes, recorder)
            finished = stopped is None
        finally:
            _close(outcomes)  # a stopped run's workers end now (see run/signals.py)
            if not finished:
                # Stopped, or unwound by an error: the workers are gone, what they were
                # writing is swept, and the manifest has those inputs redone by the next run.
                remove_stale_temporaries(output)
            if counter is not None:
                counter.stop(finish=finished)
            if progress is not None:
                progress.stop()
            # Even an interrupted run keeps the mappings of the files it wrote: a resumed run
            # finds them already done and may not report their mappings again.
            if collector is not None:
                try:
                    mappings = collector.write()
                    manifest.mappings_written()
                except Exception as error:
                    if not is_disk_full(error):
                        raise
                    stopped = stopped or DISK_FULL
        summary = RunSummary(
            run_id=run_id,
            total=tally.counts.done,
            written=tally.written,
            quarantined_by_reason=_frozen_counts(tally.quarantined),
            skipped_by_reason=_frozen_counts(tally.skipped),
            audit_path=audit,
            unlisted_directories=unlisted,
            mappings=mappings,
            elapsed_seconds=time.monotonic() - started,
            policy=plan.names,
            stopped=stopped,
            quarantine_path=quarantine,
        )
        with tolerate_disk_full():
            log.summarize(summary.to_json())
    return summary


def _record_all(outcomes: Iterable[Outcome], recorder: _Recorder) -> str | None:
    """Record every outcome; why the run stopped early (a signal's name, ``disk-full``) or None.

    An input the disk could not take is not recorded: it ended nowhere, the next run redoes it.
    """
    try:
        for outcome in outcomes:
            if outcome.reason is Reason.DISK_FULL:
                return DISK_FULL
            recorder.record(outcome)
    except RunInterrupted as interruption:
        return interruption.signal_name
    except Exception as error:
        if not is_disk_full(error):
            raise
        return DISK_FULL
    return None


class _InputCounter:
    """Counts the inputs in a thread of its own while the run goes on, for a progress display
    that shows a total and the time left. Started after the executor: a pool that forks does
    so before this thread exists."""

    def __init__(self, input: Path, exclude: tuple[Path, ...], sink: TotalAware) -> None:
        self._input, self._exclude, self._sink = input, exclude, sink
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._count, name="deid-count", daemon=True)

    @classmethod
    def start(
        cls, input: Path, exclude: tuple[Path, ...], progress: ProgressSink | None
    ) -> _InputCounter | None:
        if not isinstance(progress, TotalAware):
            return None
        counter = cls(input, exclude, progress)
        counter._thread.start()
        return counter

    def _count(self) -> None:
        total = 0
        for _ in discover_inputs(self._input, exclude=self._exclude, on_error=_ignore):
            if self._stopping.is_set():
                return
            total += 1
        self._sink.set_total(total)

    def stop(self, *, finish: bool) -> None:
        """Wait for the count to end (``finish``: a run that went through every input, whose
        own walk of the tree was no shorter), or end it now (a stopped run)."""
        if not finish:
            self._stopping.set()
        self._thread.join()


def _ignore(directory: Path, error: OSError) -> None:
    """The run itself records directories it cannot list; the count just leaves them out."""


def _close(outcomes: Iterator[Outcome]) -> None:
    close = getattr(outcomes, "close", None)
    if close is not None:
        close()


def _one_input(input: Path) -> bool:
    """Whether ``input`` is one file, or a folder whose only entry is a regular file: a run of
    it is one file long, and a local pool for it would cost more than the file (measured:
    30 ms of a 0.35 s run for forking, starting and stopping two processes, one of them idle).
    A folder with anything else in it (a second entry, a folder, a link) is left to the pool
    as before."""
    if input.is_file():
        return True
    try:
        with os.scandir(input) as entries:
            first = next(entries, None)
            if first is None or next(entries, None) is not None:
                return False
            return first.is_file(follow_symlinks=False)
    except OSError:
        return False


def _check_manifest_place(manifest: Path, input: Path, output: Path) -> None:
    place, source, target = manifest.resolve(), input.resolve(), output.resolve()
    for root, what in ((source, "input"), (target, "output")):
        if place == root or root in place.parents:
            raise RunConfigurationError(
                f"the manifest {manifest} is inside the {what}; put it beside the output"
            )
    if manifest.exists() and not manifest.is_file():
        raise RunConfigurationError(f"the manifest {manifest} exists and is not a file")


def stop_message(summary: RunSummary) -> str:
    """One line for a run that stopped early: why, and how to finish it."""
    if summary.stopped == DISK_FULL:
        return DISK_FULL_MESSAGE
    return (
        f"stopped by {summary.stopped}; the {summary.total} files that ended are recorded and "
        "no temporary file is left: run the same command again to finish (what ended is skipped)"
    )


@dataclass(frozen=True)
class RunRequest:
    """A ``deid run`` as the operator asked for it, before the secret is loaded."""

    policy_spec: str
    input: Path
    output: Path
    secret_file: Path | None = None
    quarantine: Path | None = None  # default <OUT>.quarantine
    lookups: tuple[tuple[str, Path], ...] = ()
    mappings_dir: Path | None = None
    audit_path: Path | None = None
    workers: int | None = None
    executor: str = "local"
    scheduler: str | None = None  # a Dask scheduler address, with executor="dask"
    resume: bool = True  # skip the inputs the run manifest records as done
    ocr_backend: str = "default"
    encrypt_to: Path | None = None  # a recipient certificate: honest-broker mode
    force_new_run: bool = False  # write into an output made with another secret or policy
    strict: bool = False  # refuse (not only warn about) a secret file others can read
    follow_links: bool = False  # read symbolic links that lead out of the input
    limits: InputLimits = DEFAULT_LIMITS  # inflated and declared pixel sizes (too-large)
    review_dir: Path | None = None  # the review sheet's folder (deid run --review)


def parse_lookup(text: str) -> tuple[str, Path]:
    """``NAME=CSV`` → ``(NAME, Path(CSV))``.

    Raises:
        RunConfigurationError: no ``=``, or an empty name or path.
    """
    name, separator, path = text.partition("=")
    if not separator or not name.strip() or not path.strip():
        raise RunConfigurationError(f"a lookup is NAME=CSV, not {text!r}")
    return name.strip(), Path(path.strip())


def run_request(
    request: RunRequest,
    *,
    environ: Mapping[str, str] = os.environ,
    progress: ProgressSink | None = None,
    worker_factory: WorkerFactory = build_file_processor,
    warn: Callable[[str], None] | None = None,
) -> RunSummary:
    """Load the secret, check the lookup files, and run :func:`run_tree` for ``request``.

    ``warn`` receives one-line warnings (a secret file others can read); by default they are
    Python warnings (:class:`SecretFileWarning`).

    Raises:
        SecretError: no secret (``MissingSecretError``: its message says how to make one) or a
            malformed one. Checked first: nothing is read or created without it.
        InsecureSecretError: with ``request.strict``, the secret file is readable by others.
        RunConfigurationError: a lookup file is missing or named twice, or the layout is refused.
        PolicyError: the policy does not compile into a runnable plan.
    """
    secret = load_secret(request.secret_file, environ)
    _check_secret_file(request, warn)
    names = [name for name, _ in request.lookups]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise RunConfigurationError(f"lookup table {repeated[0]!r} is given more than once")
    for name, path in request.lookups:
        if not path.is_file():
            raise RunConfigurationError(f"the lookup table {name!r} file {path} does not exist")
    quarantine = request.quarantine or default_quarantine(request.output)
    settings = RunSettings(
        policy_spec=request.policy_spec,
        secret_key=secret.key,
        output_root=str(request.output),
        quarantine_root=str(quarantine),
        lookups=tuple((name, str(path)) for name, path in request.lookups),
        record_mappings=request.mappings_dir is not None,
        ocr_backend=request.ocr_backend,
        encrypt_to=str(request.encrypt_to) if request.encrypt_to else None,
        output_is_file=single_file_output(request.input, request.output),
        limits=request.limits,
        review_dir=str(request.review_dir) if request.review_dir else None,
    )
    return run_tree(
        settings,
        request.input,
        workers=request.workers,
        executor=request.executor,
        scheduler=request.scheduler,
        resume=request.resume,
        audit_path=request.audit_path,
        mappings_dir=request.mappings_dir,
        progress=progress,
        worker_factory=worker_factory,
        force_new_run=request.force_new_run,
        follow_links=request.follow_links,
    )


class SecretFileWarning(UserWarning):
    """The secret file can be read or changed by others (the run went on)."""


def _check_secret_file(request: RunRequest, warn: Callable[[str], None] | None) -> None:
    """Warn about a secret file others can read; refuse it when the run is strict."""
    if request.secret_file is None:
        return
    exposure = secret_file_exposure(request.secret_file)
    if exposure is None:
        return
    if request.strict:
        raise InsecureSecretError(f"{exposure} (refused under --strict)")
    if warn is None:
        warnings.warn(exposure, SecretFileWarning, stacklevel=3)
    else:
        warn(exposure)
