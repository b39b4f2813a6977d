"""Write a file atomically and durably: a temporary file in the target's folder, synced, then
linked under its final name.

The order, and why each step is there:

1. The folder is made if missing.
2. A temporary file is created beside the target (``O_EXCL``, mode 0600; its name holds the
   target's name, so a run sweeps only its own leftovers: see
   :func:`deidengine.run.manifest.remove_stale_temporaries`), and the bytes are written to it.
3. Its data are made durable (``fdatasync``: the data and the size that reads them back, which
   is all a new file needs; ``fsync`` where there is no ``fdatasync``).
4. It is linked under the final name. Linking (not renaming) never replaces an existing file:
   two inputs that map to one output, or a resumed run, find the file there and decide what
   that means (``same``).
5. The temporary name is removed.

What a crash leaves:

- A process killed anywhere: at most a temporary file (swept by the next run); the final name
  exists only once its bytes were all written (the link comes after the write).
- A power cut or kernel crash: the final name, if the link survived, holds the whole file, since
  its data were durable before the link was made (step 3 before 4). Without that step a link
  can survive a crash while the data it names do not: ext4 and others allocate a file's blocks
  only at write-back, so the file comes back empty under its final name, which the next run
  would take for a different file (a conflict). The link itself is not synced: one lost in a
  crash only means the output is missing, and the run manifest, which records an output as
  written only after this function has returned, checks that the output is still in place
  before it skips its input (:meth:`deidengine.run.manifest.RunManifest.done`). So the manifest
  never claims a file whose bytes can be lost, and never needs a folder sync.

Why not cheaper: the data sync is most of this function's cost (measured on ext4: about 0.1 ms
per file for everything else, 0.3 ms to several ms for the sync, depending on what else the disk
is writing; the rest is the kernel's: a remembered folder instead of ``mkdir``, an unnamed
``O_TMPFILE`` instead of a named temporary, saved nothing measurable). Deferring the sync, to
sync a whole batch with one ``syncfs`` before the manifest records the batch, keeps the manifest
honest but loses step 3's guarantee (an empty file under a final name after a power cut);
keeping both needs the batch's temporaries synced *before* their links, so the per-file
function would have to hand its output back unlinked, which it does not. Nor is the sync
overlapped with verification by writing the temporary first: only verified bytes may reach the
disk (a crash would leave unverified ones in the output tree).

The bytes are :func:`~deidengine.dicom.encode.write_file`'s (what pydicom's ``dcmwrite``
writes, faster for elements still raw), streamed to the file, or given whole
(:func:`store_bytes_atomically`: the pipeline writes exactly the bytes it verified).
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


def _make_durable(descriptor: int) -> None:
    """The file's data and the size that reads them back, on disk: ``fdatasync`` (which skips
    times and other metadata a new file's content does not need), ``fsync`` where it is
    missing."""
    sync = getattr(os, "fdatasync", None) or os.fsync
    sync(descriptor)


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
            _make_durable(stream.fileno())  # before the link: see the module doc
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
