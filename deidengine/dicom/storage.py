"""Write a dataset atomically: a temporary file in the target's folder, fsync, then a link.

Linking (not renaming) means an existing file is never replaced: two inputs that map to one
output, or a resumed run, find the file there and decide what that means. The fsync before the
link means a file under its final name is whole even after a power cut: a resumed run trusts
what its manifest says is done.

Writing is two steps: :func:`prepare_target` makes the folders and opens the temporary file,
:func:`store_prepared` lets a writer fill it, syncs and links. The bytes are
:func:`~deidengine.dicom.encode.write_file`'s (what pydicom's ``dcmwrite`` writes, faster for
elements still raw).
"""

from __future__ import annotations

import contextlib
import enum
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from pydicom.dataset import Dataset

from deidengine.dicom.encode import write_file

__all__ = ["PreparedTarget", "StoreResult", "prepare_target", "store_atomically", "store_prepared"]


class StoreResult(enum.Enum):
    WRITTEN = "written"
    ALREADY_THERE = "already-there"  # an equal file exists (``same`` said so)
    CONFLICT = "conflict"  # a different file exists; it was left alone


def _identical(mine: Path, theirs: Path) -> bool:
    return mine.read_bytes() == theirs.read_bytes()


@dataclass(slots=True)
class PreparedTarget:
    """An open, empty temporary file beside ``target``; :meth:`discard` it if not stored."""

    target: Path
    temporary: Path
    descriptor: int
    discarded: bool = False

    def discard(self) -> None:
        """Close and delete the temporary file; once (a closed descriptor's number may be
        reused by another file at once)."""
        if self.discarded:
            return
        self.discarded = True
        with contextlib.suppress(OSError):
            os.close(self.descriptor)
        with contextlib.suppress(OSError):
            os.unlink(self.temporary)


def prepare_target(target: Path, prefix: str = ".deid-") -> PreparedTarget:
    """Make ``target``'s folders and open a temporary file beside it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=target.parent)
    return PreparedTarget(target, Path(temporary), descriptor)


def store_prepared(
    prepared: PreparedTarget,
    write: Callable[[BinaryIO], object],
    *,
    same: Callable[[Path, Path], bool] = _identical,
) -> StoreResult:
    """Let ``write`` fill the prepared temporary file, sync it, and link it as the target.

    The temporary file is gone afterwards, whatever happened.
    """
    try:
        with os.fdopen(prepared.descriptor, "wb", closefd=False) as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        try:
            os.link(prepared.temporary, prepared.target)
        except FileExistsError:
            return (
                StoreResult.ALREADY_THERE
                if same(prepared.temporary, prepared.target)
                else StoreResult.CONFLICT
            )
        return StoreResult.WRITTEN
    finally:
        prepared.discard()


def store_atomically(
    dataset: Dataset,
    target: Path,
    *,
    same: Callable[[Path, Path], bool] = _identical,
    prefix: str = ".deid-",
) -> StoreResult:
    """Write ``dataset`` to ``target`` as a DICOM file, never leaving a partial file there."""
    return store_prepared(
        prepare_target(target, prefix), lambda stream: write_file(dataset, stream), same=same
    )
