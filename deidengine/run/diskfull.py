"""A full disk stops a run: one message, no partial file, and a re-run finishes the job.

A full disk is not a property of an input: quarantining every remaining file as
``write-failed`` would be wrong (nothing is wrong with them) and futile (the quarantine copy
needs space too). So the per-file function reports it with its own reason, ``disk-full``,
without writing anything; the runner stops at the first such outcome, or at the first write
of its own (manifest, audit, mappings) the disk refuses, ends the workers, removes their
temporaries and returns a summary with exit code :data:`EXIT_DISK_FULL`. The manifest still
holds every input that ended, so running the same command once space is freed finishes the
run. Nothing here is specific to one filesystem: ``ENOSPC`` (no space) and ``EDQUOT`` (a quota
reached) from the kernel, ``SQLITE_FULL`` from the manifest's database.
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from deidengine.errors import DeidError, EngineCode

__all__ = [
    "DISK_FULL_MESSAGE",
    "EXIT_DISK_FULL",
    "DiskFullError",
    "is_disk_full",
    "tolerate_disk_full",
]

EXIT_DISK_FULL: Final = 3
"""The exit code of a run a full disk stopped (0, 1 and 2 keep their meanings)."""

DISK_FULL_MESSAGE: Final = (
    "a disk this run writes to is full (the output, its quarantine, manifest, audit, mappings "
    "or the temporary folder); free space there and run the same command again to finish: "
    "the files already done are kept and not redone"
)

_FULL_ERRNOS: Final = frozenset({errno.ENOSPC, errno.EDQUOT})
_SQLITE_FULL: Final = 13  # SQLITE_FULL, "database or disk is full"


class DiskFullError(DeidError):
    """A full disk stopped the run before its first file (opening the manifest or audit)."""

    code = EngineCode.DISK_FULL

    def __init__(self) -> None:
        super().__init__(DISK_FULL_MESSAGE)


def is_disk_full(error: BaseException) -> bool:
    """Whether ``error``, or an error it was raised from or during, is a full disk or quota."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DiskFullError):
            return True
        if isinstance(current, OSError) and current.errno in _FULL_ERRNOS:
            return True
        if isinstance(current, sqlite3.Error) and (
            getattr(current, "sqlite_errorcode", None) == _SQLITE_FULL
        ):
            return True
        current = current.__cause__ or current.__context__
    return False


@contextmanager
def tolerate_disk_full() -> Iterator[None]:
    """Run the block; a full disk ends it silently (the caller already knows the disk is full:
    a clean-up write that fails for the same cause must not hide the stop behind a traceback)."""
    try:
        yield
    except Exception as error:
        if not is_disk_full(error):
            raise
