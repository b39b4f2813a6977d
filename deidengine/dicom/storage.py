"""Write a dataset atomically: a temporary file in the target's folder, fsync, then a link.

Linking (not renaming) means an existing file is never replaced: two inputs that map to one
output, or a resumed run, find the file there and decide what that means. The fsync before the
link means a file under its final name is whole even after a power cut: a resumed run trusts
what its manifest says is done. The bytes are :func:`~deidengine.dicom.encode.write_file`'s
(what pydicom's ``dcmwrite`` writes, faster for elements still raw), streamed to the file, or
given whole (:func:`store_bytes_atomically`: the pipeline writes exactly the bytes it verified).
"""

from __future__ import annotations

import enum
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from pydicom.dataset import Dataset

from deidengine.dicom.encode import write_file


class StoreResult(enum.Enum):
    WRITTEN = "written"
    ALREADY_THERE = "already-there"  # an equal file exists (``same`` said so)
    CONFLICT = "conflict"  # a different file exists; it was left alone


def _identical(mine: Path, theirs: Path) -> bool:
    return mine.read_bytes() == theirs.read_bytes()


def _store(
    write: Callable[[BinaryIO], None],
    target: Path,
    same: Callable[[Path, Path], bool],
    prefix: str,
) -> StoreResult:
    target.parent.mkdir(parents=True, exist_ok=True)
    # The target's name in the temporary's: a run that writes one file into a shared folder
    # sweeps only its own leftovers there (deidengine.run.manifest.remove_stale_temporaries).
    handle, temporary = tempfile.mkstemp(
        prefix=f"{prefix}{target.name}.", suffix=".tmp", dir=target.parent
    )
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        try:
            os.link(temporary, target)
        except FileExistsError:
            return (
                StoreResult.ALREADY_THERE
                if same(Path(temporary), target)
                else (StoreResult.CONFLICT)
            )
        return StoreResult.WRITTEN
    finally:
        os.unlink(temporary)


def store_atomically(
    dataset: Dataset,
    target: Path,
    *,
    same: Callable[[Path, Path], bool] = _identical,
    prefix: str = ".deid-",
) -> StoreResult:
    """Write ``dataset`` to ``target`` as a DICOM file, never leaving a partial file there."""
    return _store(lambda stream: write_file(dataset, stream), target, same, prefix)


def store_bytes_atomically(
    data: bytes,
    target: Path,
    *,
    same: Callable[[bytes, Path], bool],
    prefix: str = ".deid-",
) -> StoreResult:
    """Write ``data`` (a whole file, already encoded) to ``target`` as :func:`store_atomically`
    does; ``same(data, target)`` says whether an existing file counts as this one."""

    def write(stream: BinaryIO) -> None:
        stream.write(data)

    return _store(write, target, lambda _, theirs: same(data, theirs), prefix)
