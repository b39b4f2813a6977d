"""Re-identify files and trees: ``deid reidentify`` is a thin verb over :func:`reidentify_path`.

Restored files hold identity again: they are written with mode 0600, atomically (a temporary
file in the target directory, then a link), never over an existing file unless it is
byte-identical (then the file counts as already done). Results name files and reasons, never
values.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

import pydicom
from pydicom.errors import InvalidDicomError

from deidengine.dicom.reading import read_dataset
from deidengine.dicom.storage import StoreResult, store_atomically
from deidengine.errors import DeidError, EngineCode
from deidengine.provenance.original_attributes import (
    OriginalAttributesError,
    check_key_pair,
    reidentify,
)

__all__ = [
    "ReidentificationError",
    "ReidentifiedFile",
    "ReidentifyStatus",
    "reidentify_path",
]


class ReidentificationError(DeidError):
    """The request cannot run at all (key, certificate or paths); nothing was written."""

    code = EngineCode.REIDENTIFICATION_FAILED


class ReidentifyStatus(enum.Enum):
    RESTORED = "restored"
    ALREADY_DONE = "already-done"
    FAILED = "failed"


@dataclass(frozen=True)
class ReidentifiedFile:
    """One input: its path relative to the input root, what happened, and why it failed."""

    source: str
    status: ReidentifyStatus
    reason: str | None = None


class _Failed(Exception):
    pass


#: What a stored file means for re-identification.
STORE_STATUS = {
    StoreResult.WRITTEN: ReidentifyStatus.RESTORED,
    StoreResult.ALREADY_THERE: ReidentifyStatus.ALREADY_DONE,
}


def _write_atomically(dataset: pydicom.Dataset, target: Path) -> ReidentifyStatus:
    result = store_atomically(dataset, target, prefix=".reid-")
    if result is StoreResult.CONFLICT:
        raise _Failed("the output exists and differs; it is never replaced")
    return STORE_STATUS[result]


def _one(
    source: Path, target: Path, key: bytes, certificate: bytes, password: bytes | None
) -> tuple[ReidentifyStatus, str | None]:
    try:
        dataset = read_dataset(source)
    except InvalidDicomError:
        return ReidentifyStatus.FAILED, "not a DICOM file"
    except Exception as error:
        return ReidentifyStatus.FAILED, f"unreadable ({type(error).__name__})"
    try:
        restored = reidentify(dataset, key, certificate, password=password)
    except OriginalAttributesError as error:
        return ReidentifyStatus.FAILED, str(error)
    except Exception as error:
        return ReidentifyStatus.FAILED, f"cannot restore ({type(error).__name__})"
    try:
        return _write_atomically(restored, target), None
    except _Failed as error:
        return ReidentifyStatus.FAILED, str(error)
    except Exception as error:
        return ReidentifyStatus.FAILED, f"write failed ({type(error).__name__})"


def _inputs(root: Path) -> list[Path]:
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


def reidentify_path(
    source: Path,
    output: Path,
    private_key_pem: bytes,
    certificate_pem: bytes,
    *,
    password: bytes | None = None,
) -> tuple[ReidentifiedFile, ...]:
    """Re-identify ``source`` (a file or a tree) into ``output``.

    A file goes to ``output`` (or into it, when ``output`` is a directory); a tree's files go
    to the same relative paths under ``output``, which must not be inside ``source``. Raises
    :class:`ReidentificationError` before writing anything when the key does not open for the
    certificate or the paths cannot work.
    """
    try:
        check_key_pair(private_key_pem, certificate_pem, password=password)
    except OriginalAttributesError as error:
        raise ReidentificationError(str(error)) from None
    if source.is_file():
        target = output / source.name if output.is_dir() else output
        pairs = [(source, source.name, target)]
    elif source.is_dir():
        resolved, out = source.resolve(), output.resolve()
        if out == resolved or resolved in out.parents:
            raise ReidentificationError("the output must not be inside the input tree")
        pairs = [
            (p, p.relative_to(source).as_posix(), output / p.relative_to(source))
            for p in _inputs(source)
        ]
    else:
        raise ReidentificationError(f"no such file or directory: {source}")
    results = []
    for path, name, target in pairs:
        status, reason = _one(path, target, private_key_pem, certificate_pem, password)
        results.append(ReidentifiedFile(name, status, reason))
    return tuple(results)
