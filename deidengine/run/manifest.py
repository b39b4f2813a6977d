"""The run manifest: what each input became, so an interrupted run can be finished, not redone.

A run records every input's outcome in an SQLite file beside the output,
``<OUT>.manifest.sqlite``. Re-running the same command after an interruption (Ctrl-C,
``kill -9``, a lost machine) skips every input the manifest records as done under the same
configuration, and processes the rest; the final output tree is the one an uninterrupted run
writes, since every output is a deterministic function of its input.

An input is skipped (reported as ``skipped``/``already-done``, or ``skipped``/``dicomdir``)
when the manifest holds, for its keyed reference:

- the same configuration: policy digest, engine version, OCR backend and lookup table contents
  (:func:`configuration_digest`); the project secret is part of the key itself;
- the same file: size and modification time unchanged since it was processed;
- an outcome that ended it: written (or found already written), with its output file still in
  place, or a DICOMDIR skipped;
- and, when this run records mappings, the mappings of that outcome already merged into this
  run's mapping directory (a run killed before writing its mappings is redone for those files,
  which the pipeline then finds already written, reporting their mappings again).

Quarantined inputs are always retried: the cause may have been transient (a dead worker) or
fixed since.

One output, one project: the manifest records the keyed fingerprint of the secret
(:func:`secret_fingerprint`) and the policy digest of the run that made the output, and a run
with another secret or policy is refused (:class:`ProjectCheck`, unless ``force_new_run``):
two pseudonymisations of one patient must never sit side by side in one tree.

What the manifest holds, and does not: keyed digests of the input paths (HMAC with the project
secret: meaningless without it), the same 12-digit references the audit uses, outcome codes,
output names (built from de-identified UIDs), digests, run ids and times; no path, no name,
no value. Each outcome is committed as it is recorded (a write-ahead log without a sync per
commit: tens of microseconds), so a killed run loses none it recorded. Opening the manifest
takes an exclusive lock (``<manifest>.lock``, released by the kernel when the process dies), so
two runs never write into one output at once (and SQLite keeps its own locks on the database for
the whole run, rather than around every statement); a run that finds its predecessor did not finish
removes the ``.deid-*.tmp`` temporaries that run's workers may have left in the output.
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import json
import os
import sqlite3
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Final

from deidengine import __version__
from deidengine.dicom.keys import ProjectSecret, keyed_digest
from deidengine.run.diskfull import tolerate_disk_full
from deidengine.run.layout import RunConfigurationError
from deidengine.run.outcome import Outcome, Reason, Status, input_reference

if TYPE_CHECKING:
    from deidengine.run.pipeline import RunSettings

__all__ = [
    "MANIFEST_FORMAT",
    "TEMPORARY_PREFIX",
    "TEMPORARY_SUFFIX",
    "ProjectCheck",
    "RunManifest",
    "configuration_digest",
    "default_manifest",
    "remove_stale_temporaries",
    "secret_fingerprint",
]

MANIFEST_FORMAT: Final = 1
TEMPORARY_PREFIX: Final = ".deid-"
TEMPORARY_SUFFIX: Final = ".tmp"
"""The pipeline writes each output as ``.deid-*.tmp`` beside it, then moves it into place."""

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS inputs (
    input_key     TEXT PRIMARY KEY,  -- HMAC of the absolute path (project secret)
    input_ref     TEXT NOT NULL,     -- the audit's 12-digit keyed reference
    input_stamp   TEXT NOT NULL,     -- size and modification time when processed
    configuration TEXT NOT NULL,     -- configuration_digest()
    policy_digest TEXT NOT NULL,
    status        TEXT NOT NULL,
    reason        TEXT,
    output        TEXT,              -- relative to the output root
    run_id        TEXT NOT NULL,
    mappings      TEXT,              -- keyed digest of the mapping directory holding its rows
    time          TEXT NOT NULL
) WITHOUT ROWID;
"""
# WITHOUT ROWID: the rows live in the primary key's b-tree, not in a second one beside it, so
# each outcome's commit writes about half the pages to the write-ahead log (measured: 3.3 page
# writes an outcome instead of 6.2, and fewer checkpoints). A manifest made before keeps its
# table as it is: the statements are the same for both.
# Outcomes after which an input needs no further work (quarantined ones are retried).
_DONE: Final = frozenset({("written", None), ("skipped", "already-done"), ("skipped", "dicomdir")})


def default_manifest(output: Path) -> Path:
    """The manifest beside the output: ``<OUT>.manifest.sqlite``."""
    return output.with_name(output.name + ".manifest.sqlite")


def _file_digest(path: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def configuration_digest(policy_digest: str, settings: RunSettings) -> str:
    """What, besides the input and the secret, decides an output: a SHA-256 hex digest of the
    policy digest, the engine version, the OCR backend and the contents of the lookup tables
    and of the honest broker's recipient certificate."""
    certificate = settings.encrypt_to
    document = {
        "policy_digest": policy_digest,
        "engine_version": __version__,
        "ocr_backend": settings.ocr_backend,
        "lookups": [(name, _file_digest(path)) for name, path in sorted(settings.lookups)],
        "recipient_certificate": _file_digest(certificate) if certificate else None,
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def remove_stale_temporaries(output: Path) -> int:
    """Delete the ``.deid-*.tmp`` files under ``output``; returns how many there were.

    Call it only while no run writes into ``output`` (the manifest lock guarantees that).
    """
    removed = 0
    if not output.is_dir():
        # A one-file run's output: only its own temporaries, beside it (see store_atomically).
        own = f"{TEMPORARY_PREFIX}{output.name}."
        for sibling in output.parent.glob(f"{glob.escape(own)}*{TEMPORARY_SUFFIX}"):
            sibling.unlink(missing_ok=True)
            removed += 1
        return removed
    for directory, _, files in os.walk(output):
        for name in files:
            if name.startswith(TEMPORARY_PREFIX) and name.endswith(TEMPORARY_SUFFIX):
                try:
                    os.unlink(os.path.join(directory, name))
                    removed += 1
                except FileNotFoundError:
                    pass
    return removed


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _stamp(path: Path) -> str | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return f"{info.st_size}:{info.st_mtime_ns}"


def secret_fingerprint(secret: ProjectSecret) -> str:
    """16 hex digits that tell two project secrets apart and reveal nothing of either (a keyed
    digest of a fixed text): safe to show, to log and to store beside the output."""
    return keyed_digest(secret, "secret-fingerprint", "deidengine").hex()[:16]


@dataclass(frozen=True)
class ProjectCheck:
    """What the runner asks of an output it reuses: made with this secret and this policy
    (names for the message), unless ``force_new_run``."""

    policy_names: tuple[str, ...]
    force_new_run: bool = False


@dataclass(frozen=True, slots=True)
class _Expected:
    key: str
    stamp: str


class RunManifest:
    """One run's view of the manifest: which inputs to skip, and the outcomes to record.

    A context manager: entering takes the lock, creates the file if needed and, when the
    previous run did not finish, removes stale temporaries from the output; leaving commits.
    """

    def __init__(
        self,
        path: Path,
        *,
        secret: ProjectSecret,
        output_root: Path,
        policy_digest: str,
        configuration: str,
        run_id: str,
        mappings_dir: Path | None = None,
        resume: bool = True,
        project: ProjectCheck | None = None,
    ) -> None:
        self.path = path
        self._project = project
        self._resume = resume
        self._secret = secret
        self._output_root = output_root
        self._policy_digest = policy_digest
        self._configuration = configuration
        self._run_id = run_id
        self._mappings = (
            keyed_digest(secret, "mappings-directory", str(mappings_dir.resolve())).hex()
            if mappings_dir is not None
            else None
        )
        self._lock: IO[bytes] | None = None
        self._database: sqlite3.Connection | None = None
        self._expected: dict[str, deque[_Expected]] = {}
        self._crashed = False
        self.stale_temporaries_removed = 0

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> RunManifest:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = open(self.path.with_name(self.path.name + ".lock"), "ab")
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise RunConfigurationError(
                f"another run is writing to {self._output_root} (its manifest {self.path} is "
                "locked); wait for it to finish"
            ) from None
        self._lock = lock
        try:
            database = sqlite3.connect(self.path, isolation_level=None)
            # The lock file already keeps every other run out, so SQLite may keep its own locks
            # for the whole run (and the WAL index in memory) instead of taking and releasing
            # them around every statement: ~9 fcntl calls per input before. Set before the
            # first access, as SQLite requires; commits are written to the WAL as before.
            database.execute("PRAGMA locking_mode=EXCLUSIVE")
            database.execute("PRAGMA journal_mode=WAL")
            database.execute("PRAGMA synchronous=NORMAL")
            database.executescript(_SCHEMA)
            self._database = database
            format_row = self._meta("format")
            if format_row is not None and int(format_row) != MANIFEST_FORMAT:
                raise RunConfigurationError(
                    f"the manifest {self.path} has format {format_row}, this engine writes "
                    f"{MANIFEST_FORMAT}; move it away to start over"
                )
            if self._project is not None:
                self._claim_output(self._project)
            unfinished = self._meta("active_run") is not None
            if unfinished:
                self.stale_temporaries_removed = remove_stale_temporaries(self._output_root)
            self._set_meta("format", str(MANIFEST_FORMAT))
            self._set_meta("active_run", self._run_id)
        except BaseException:
            self._close()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        try:
            # A run that ended (even by an exception) left no temporary behind, unless a worker
            # died: then the next run sweeps the output.
            if self._database is not None and not self._crashed:
                # On a full disk the mark stays: the next run sweeps the output, which is right.
                with tolerate_disk_full():
                    self._database.execute("DELETE FROM meta WHERE key = 'active_run'")
        finally:
            self._close()

    def _close(self) -> None:
        if self._database is not None:
            self._database.close()
            self._database = None
        if self._lock is not None:
            self._lock.close()  # releases the lock
            self._lock = None

    @property
    def _db(self) -> sqlite3.Connection:
        if self._database is None:
            raise RuntimeError("the manifest is not open")
        return self._database

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def _claim_output(self, project: ProjectCheck) -> None:
        """Refuse an output made with another secret or policy, unless told to go on; then
        record this run's secret fingerprint and policy digest as the output's."""
        fingerprint = secret_fingerprint(self._secret)
        recorded_fingerprint = self._meta("secret_fingerprint")
        recorded_digest = self._meta("policy_digest")
        if recorded_digest is None:  # a manifest from before these were recorded
            row = self._db.execute(
                "SELECT policy_digest FROM inputs ORDER BY time DESC LIMIT 1"
            ).fetchone()
            recorded_digest = None if row is None else str(row[0])
        differences = []
        if recorded_fingerprint is not None and recorded_fingerprint != fingerprint:
            differences.append(
                f"the project secret differs (the output's secret fingerprint is "
                f"{recorded_fingerprint}, this run's {fingerprint})"
            )
        if recorded_digest is not None and recorded_digest != self._policy_digest:
            made_with = self._meta("policy_names") or "a policy"
            differences.append(
                f"the policy differs (the output was made with {made_with}, digest "
                f"{recorded_digest[:12]}; this run's {', '.join(project.policy_names)} has "
                f"digest {self._policy_digest[:12]})"
            )
        if differences and not project.force_new_run:
            raise RunConfigurationError(
                f"the output {self._output_root} was made by another configuration: "
                f"{'; '.join(differences)}. Writing into it would mix two de-identifications "
                "of the same patients; give a new output, or --force-new-run to write into it "
                "anyway"
            )
        self._set_meta("secret_fingerprint", fingerprint)
        self._set_meta("policy_digest", self._policy_digest)
        self._set_meta("policy_names", ", ".join(project.policy_names))

    # ------------------------------------------------------------------ skipping
    def done(self, path: Path) -> Outcome | None:
        """The outcome to report for ``path`` when it needs no work, else ``None``.

        An input that needs work is remembered, so :meth:`record` can key its outcome.
        """
        absolute = os.path.abspath(path)
        key = keyed_digest(self._secret, "manifest-input", absolute).hex()
        stamp = _stamp(path) or ""
        row = (
            self._db.execute(
                "SELECT input_stamp, configuration, status, reason, output, mappings "
                "FROM inputs WHERE input_key = ?",
                (key,),
            ).fetchone()
            if self._resume
            else None
        )
        if row is not None and self._skippable(stamp, *row):
            status, reason, output = row[2], row[3], row[4]
            ref = input_reference(self._secret, absolute)
            if status == Status.SKIPPED.value and reason == Reason.DIRECTORY_RECORD.value:
                return Outcome.skipped(ref, Reason.DIRECTORY_RECORD)
            return Outcome.skipped(ref, Reason.ALREADY_DONE, output=output)
        ref = input_reference(self._secret, absolute)
        self._expected.setdefault(ref, deque()).append(_Expected(key, stamp))
        return None

    def _skippable(
        self,
        stamp: str,
        recorded_stamp: str,
        configuration: str,
        status: str,
        reason: str | None,
        output: str | None,
        mappings: str | None,
    ) -> bool:
        if not stamp or stamp != recorded_stamp or configuration != self._configuration:
            return False
        if (status, reason if status == "skipped" else None) not in _DONE:
            return False
        if self._mappings is not None and mappings != self._mappings:
            return False
        if reason == Reason.DIRECTORY_RECORD.value:
            return True
        return output is not None and (self._output_root / output).is_file()

    # ------------------------------------------------------------------ recording
    def record(self, outcome: Outcome) -> None:
        """Record the outcome of an input :meth:`done` let through."""
        queue = self._expected.get(outcome.input_ref)
        if not queue:
            return  # not an input of this run's filter (nothing to key it by)
        expected = queue.popleft()
        if not queue:
            del self._expected[outcome.input_ref]
        if outcome.status is Status.QUARANTINED and outcome.reason is Reason.INTERNAL_ERROR:
            # A dead worker may have left a temporary file: the next run sweeps the output.
            self._crashed = True
        self._db.execute(
            "INSERT OR REPLACE INTO inputs (input_key, input_ref, input_stamp, configuration, "
            "policy_digest, status, reason, output, run_id, mappings, time) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)",
            (
                expected.key,
                outcome.input_ref,
                expected.stamp,
                self._configuration,
                self._policy_digest,
                outcome.status.value,
                outcome.reason.value if outcome.reason is not None else None,
                outcome.output,
                self._run_id,
                _now(),
            ),
        )

    def mappings_written(self) -> None:
        """This run's mappings are on disk: its rows need not be redone to report them."""
        if self._mappings is None:
            return
        self._db.execute(
            "UPDATE inputs SET mappings = ? WHERE run_id = ?", (self._mappings, self._run_id)
        )
