"""Where a run may write, and with which permissions.

Two guarantees, each a small function the pipeline calls:

- :func:`is_inside`: an output name (built from UIDs) lands inside the output root, never
  beside or above it, even through a symbolic link already in the tree. The UIDs are checked
  for form before (:func:`deidengine.dicom.uids.is_valid_uid`); this is the second line.
- :func:`write_private_bytes` and :func:`copy_private` with :func:`private_directory`: the
  quarantine holds the original PHI, so its folder is 0700 and every file in it 0600, whatever
  the umask (outputs and mappings are 0600 already).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path, PurePath
from typing import Final

__all__ = [
    "PRIVATE_DIRECTORY_MODE",
    "PRIVATE_FILE_MODE",
    "copy_private",
    "is_inside",
    "private_directory",
    "write_private_bytes",
]

PRIVATE_DIRECTORY_MODE: Final = 0o700
PRIVATE_FILE_MODE: Final = 0o600


def is_inside(root: Path, name: str) -> bool:
    """Whether ``root / name`` stays inside ``root``: ``name`` is relative, has no ``..`` and
    no empty part, and the folders of it that already exist resolve inside ``root``."""
    relative = PurePath(name)
    if relative.is_absolute() or not relative.parts or ".." in relative.parts:
        return False
    base = root.resolve()
    target = (root / relative).resolve()
    return base in target.parents


def private_directory(path: Path) -> None:
    """Create ``path`` (and its parents) if need be, and make ``path`` itself 0700."""
    path.mkdir(parents=True, exist_ok=True)
    # mkdir's mode is filtered by the umask, and an existing folder keeps its own: set it.
    os.chmod(path, PRIVATE_DIRECTORY_MODE)


def _open_private(target: Path) -> int:
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    # A file left by an earlier run keeps its mode through O_TRUNC: set it on the descriptor.
    os.fchmod(descriptor, PRIVATE_FILE_MODE)
    return descriptor


def write_private_bytes(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` with mode 0600 (replacing what was there)."""
    with os.fdopen(_open_private(target), "wb") as stream:
        stream.write(data)


def copy_private(source: str | os.PathLike[str], target: Path) -> None:
    """Copy ``source``'s bytes to ``target`` with mode 0600 (not the source's mode)."""
    with open(source, "rb") as reading, os.fdopen(_open_private(target), "wb") as writing:
        shutil.copyfileobj(reading, writing)
