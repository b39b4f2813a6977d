"""The spool: received instances, durable before the sender hears they were stored.

Each instance is written to a temporary file in its listener's folder, flushed to the disk
(``fsync``), renamed to its final name and the folder flushed in turn; only then does the
Storage SCP answer success. A name is random (``<32 hex>.dcm``): it says nothing about the
patient. A write that fails (a full disk, a lost permission) leaves no file behind and raises
:class:`SpoolError`, which the SCP answers with *out of resources* (0xA700) so the sender keeps
the instance and retries.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from deidengine.errors import DeidError, EngineCode

__all__ = ["SUFFIX", "TEMPORARY_PREFIX", "Spool", "SpoolError"]

SUFFIX: Final = ".dcm"
TEMPORARY_PREFIX: Final = ".incoming-"


class SpoolError(DeidError):
    """An instance could not be made durable; ``errno_name`` says why (no path, no value)."""

    code = EngineCode.SPOOL_FAILED

    def __init__(self, errno_name: str) -> None:
        super().__init__(f"the instance could not be spooled ({errno_name})")
        self.errno_name = errno_name


def _sync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class Spool:
    """The spool folder: one sub-folder per listener."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def folder(self, listener: str) -> Path:
        return self.root / listener

    def path(self, listener: str, name: str) -> Path:
        return self.folder(listener) / name

    def store(self, listener: str, data: bytes) -> str:
        """Write ``data`` durably; returns the new file's name within the listener's folder.

        Raises:
            SpoolError: nothing was kept.
        """
        folder = self.folder(listener)
        token = secrets.token_hex(16)
        temporary = folder / f"{TEMPORARY_PREFIX}{token}"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                view = memoryview(data)
                while view:
                    written = os.write(descriptor, view)
                    view = view[written:]
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
            name = token + SUFFIX
            os.rename(temporary, folder / name)
            _sync_directory(folder)
        except OSError as error:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise SpoolError(_errno_name(error)) from None
        return name

    def discard(self, listener: str, name: str) -> None:
        """Remove a spooled file (done with, or never acknowledged)."""
        with contextlib.suppress(FileNotFoundError):
            self.path(listener, name).unlink()

    def names(self, listener: str) -> Iterator[str]:
        """The spooled files of a listener, by name."""
        folder = self.folder(listener)
        if folder.is_dir():
            for entry in os.scandir(folder):
                if entry.name.endswith(SUFFIX) and not entry.name.startswith("."):
                    yield entry.name

    def remove_temporaries(self, listener: str) -> int:
        """Delete the half-written files a killed gateway left (never acknowledged)."""
        folder = self.folder(listener)
        removed = 0
        if folder.is_dir():
            for entry in os.scandir(folder):
                if entry.name.startswith(TEMPORARY_PREFIX):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(entry.path)
                        removed += 1
        return removed


def _errno_name(error: OSError) -> str:
    import errno

    return errno.errorcode.get(error.errno or 0, type(error).__name__)
