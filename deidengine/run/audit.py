"""The run's audit: one JSON-lines file per run, recording what happened to every input.

Lines, in order:

- one ``{"record": "header", ...}``: run id, engine version, policy names and digest, the
  executor and worker count, the lookup table names, whether mappings were recorded, and the
  ``weakenings``: each keep rule that weakens a profile the policy builds on (its rule, source,
  the profiles and the elements), for which the outputs no longer claim those profiles;
- one ``{"record": "file", ...}`` per input: ``input`` (the keyed reference, never the path),
  ``status``, ``output`` (relative, derived from de-identified UIDs), ``reason``, ``detail``,
  ``actions`` (action label → count), ``policy``, ``policy_digest``, ``engine_version``,
  ``time``; each line stands alone, so a ``grep`` for one reference gives the whole story;
- one ``{"record": "unlisted-directory", ...}`` per directory discovery could not list;
- one ``{"record": "summary", ...}``: the counts and the exit code. A file with no summary line
  is the audit of a run that was interrupted.

The audit holds no values and no paths: only keyed references, fixed reason codes, element tags,
action counts and output names built from de-identified UIDs. By default it is written to
``<OUT>.audit/<run-id>.jsonl``, beside the output and never overwritten, so the audit of every
run of a project (including resumed ones) is kept.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Final

from deidengine import __version__
from deidengine.policy.plan import Weakening
from deidengine.run.diskfull import is_disk_full
from deidengine.run.outcome import Outcome

__all__ = ["AUDIT_FORMAT", "AuditHeader", "AuditWriter", "new_run_id"]

AUDIT_FORMAT: Final = 1
"""The audit line format version, written in the header."""

FLUSH_EVERY: Final = 256
"""File lines buffered between flushes: an interrupted run loses at most this many."""


def new_run_id(now: datetime | None = None) -> str:
    """A run id that sorts by start time: ``20250101T120000.123Z-1a2b3c``.

    To the millisecond: a short run and the next one (a resumed run, say) often start within
    the same second, and their audits must still list in the order they ran.
    """
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{moment:%Y%m%dT%H%M%S}.{moment.microsecond // 1000:03d}Z-{secrets.token_hex(3)}"


def _timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class AuditHeader:
    """What the header line and every file line say about the run (no paths, no values)."""

    run_id: str
    policy: tuple[str, ...]
    policy_digest: str
    executor: str
    lookups: tuple[str, ...] = ()  # table names only, never the CSV paths
    record_mappings: bool = False
    #: Keep rules that weaken a profile the policy builds on (W301): the outputs do not claim it.
    weakenings: tuple[Weakening, ...] = ()


class AuditWriter:
    """Writes one run's audit file; a context manager. The file is created, never overwritten."""

    def __init__(self, path: Path, header: AuditHeader, *, workers: int) -> None:
        self.path = path
        self._header = header
        self._workers = workers
        self._stream: IO[str] | None = None
        self._unflushed = 0
        self._whole = 0  # bytes of the audit known to be on disk, whole lines only

    def __enter__(self) -> AuditWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # "x": an existing audit is never replaced (the layout check refuses it earlier).
        self._stream = open(self.path, "x", encoding="utf-8")
        self._write(
            {
                "record": "header",
                "format": AUDIT_FORMAT,
                "run_id": self._header.run_id,
                "engine_version": __version__,
                "policy": list(self._header.policy),
                "policy_digest": self._header.policy_digest,
                "executor": self._header.executor,
                "workers": self._workers,
                "lookups": list(self._header.lookups),
                "record_mappings": self._header.record_mappings,
                "weakenings": [
                    {
                        "rule": weakening.rule,
                        "source": weakening.source,
                        "profiles": list(weakening.profiles),
                        "elements": list(weakening.rows),
                    }
                    for weakening in self._header.weakenings
                ],
                "time": _timestamp(),
            }
        )
        self._flush()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._stream is None:
            return
        try:
            self._flush()
            self._stream.close()
        except OSError as failure:
            if not is_disk_full(failure):
                raise
            # A full disk: keep the lines written whole, drop a half-written last one, so
            # every line of an audit parses (this run's summary line is then missing, as it
            # is from any run that did not finish).
            with contextlib.suppress(OSError):
                self._stream.close()
            with contextlib.suppress(OSError):
                os.truncate(self.path, self._whole)
        finally:
            self._stream = None

    def record(self, outcome: Outcome) -> None:
        """Append the line of one input's outcome."""
        self._write(
            {
                "record": "file",
                "input": outcome.input_ref,
                "status": outcome.status.value,
                "output": outcome.output,
                "reason": outcome.reason.value if outcome.reason is not None else None,
                "detail": outcome.detail,
                "actions": dict(sorted(outcome.actions.items())),
                "policy": list(self._header.policy),
                "policy_digest": self._header.policy_digest,
                "engine_version": __version__,
                "time": _timestamp(),
            }
        )
        self._unflushed += 1
        if self._unflushed >= FLUSH_EVERY:
            self._flush()

    def record_unlisted_directory(self, reference: str, error_name: str) -> None:
        """Append the line of a directory that could not be listed (keyed reference only)."""
        self._write(
            {
                "record": "unlisted-directory",
                "input": reference,
                "detail": f"the directory could not be listed ({error_name}); "
                "its files were not processed",
                "time": _timestamp(),
            }
        )

    def summarize(self, counts: Mapping[str, object]) -> None:
        """Append the summary line; the audit of a finished run ends with it."""
        self._write({"record": "summary", **counts, "time": _timestamp()})
        self._flush()

    def _write(self, line: Mapping[str, object]) -> None:
        if self._stream is None:
            raise RuntimeError("the audit is not open")
        self._stream.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")

    def _flush(self) -> None:
        if self._stream is not None:
            self._stream.flush()
            os.fsync(self._stream.fileno())
            self._unflushed = 0
            self._whole = self._stream.tell()
