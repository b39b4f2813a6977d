"""The engine's one way to read a DICOM file into a pydicom :class:`~pydicom.dataset.Dataset`.

Every place that reads an input or an output file for the engine (the run's pipeline and its
tree-level commands, the strict re-reading of a failed input, re-identification, the IOD
validator's inflated copy, the public API and the gateway's forwarder) calls
:func:`read_dataset`, so that one function decides how a file is read and which limits hold
before its data is in memory. What each caller does with a failure (quarantine with a reason,
a failed row, a skipped file) stays the caller's: this function raises pydicom's and the
operating system's own exceptions, and :class:`~deidengine.dicom.limits.LimitExceeded` for a
limit, unchanged.

A file read whole (up to :data:`WHOLE_READ_LIMIT`) is parsed once by the lean reader
(:mod:`deidengine.core.reader`) and its element table turned into the pydicom dataset
(:func:`deidengine.core.dataset_view.dataset_of`) that ``pydicom.dcmread`` would give; a file the
lean reader refuses is read by pydicom as before (see :func:`_from_table`).

Three checks look at a file's head without parsing its data set, and stay beside what they
check: the inflation limit (:mod:`deidengine.dicom.limits`, which must run before pydicom
inflates anything), the strict diagnosis's transfer syntax check on the first element
(:func:`deidengine.run.diagnose.syntax_mismatch`) and the IOD validator's "is it deflated"
(:mod:`deidengine.verify.iod`). They read the File Meta Information only.
"""

from __future__ import annotations

import io
import os
from typing import Final

import pydicom
from pydicom.dataset import Dataset

from deidengine.core.dataset_view import dataset_of
from deidengine.core.errors import CoreError
from deidengine.core.reader import DEFAULT_MAX_INFLATED, read
from deidengine.core.table import ElementTable
from deidengine.dicom.limits import HEAD_BYTES, InputLimits, check_inflated_size, may_be_deflated

__all__ = ["WHOLE_READ_LIMIT", "FileReading", "dataset_from_bytes", "read_dataset", "read_file"]

WHOLE_READ_LIMIT: Final = 4 << 20
"""Files up to this size are read whole before they are parsed (pydicom parses from memory
about a quarter faster than through a file object); larger ones (multi-frame images) are parsed
from the file, so no second copy of their pixels is held."""
PREFIX_AT: Final = slice(128, 132)


class FileReading:
    """One file as read: the lean reader's element table when there is one (a file read whole
    that the lean reader accepts), and pydicom's dataset of the same file.

    Where there is a table the dataset is built from it (:func:`dataset_of`) only when first
    asked for, so that a stage working on the table never pays for pydicom's objects; a
    failure to build it is raised there. Where there is no table, pydicom read the file and
    the dataset is there from the start."""

    __slots__ = ("_dataset", "_name", "plainly_admitted", "table")

    def __init__(self, dataset: Dataset | None, table: ElementTable | None, name: str) -> None:
        if dataset is None and table is None:
            raise ValueError("a reading holds a dataset, a table or both")
        self.table = table
        self._dataset = dataset
        self._name = name
        #: Set by admission (:func:`deidengine.run.admission.admit_reading`) when the table
        #: alone showed that every admission check passes: later questions those checks
        #: already answered (is it a media directory?) need not look again.
        self.plainly_admitted = False

    @property
    def dataset(self) -> Dataset:
        """pydicom's dataset of the file (``filename`` is the path read)."""
        if self._dataset is None:
            assert self.table is not None  # by construction
            dataset = dataset_of(self.table)
            dataset.filename = self._name
            self._dataset = dataset
        return self._dataset


def read_dataset(
    path: str | os.PathLike[str],
    *,
    limits: InputLimits | None = None,
    force: bool = False,
    stop_before_pixels: bool = False,
    defer_size: int | None = None,
) -> Dataset:
    """The dataset in the file at ``path``, read with pydicom.

    Args:
        path: the file.
        limits: when given, a deflated data set is first inflated in bounded chunks and
            refused beyond ``limits.max_inflated_bytes`` (:func:`check_inflated_size`), before
            pydicom inflates it whole. The pixel limit needs the parsed description: the
            caller checks it (:func:`~deidengine.dicom.limits.check_declared_pixels`).
        force: read a file without a preamble and ``DICM`` prefix (a bare data set).
        stop_before_pixels: stop at Pixel Data (a header-only reading).
        defer_size: leave values longer than this in the file, read when first used.

    The dataset's ``filename`` is ``path`` as a string, however the file was read.

    Raises:
        LimitExceeded: the file is beyond ``limits``.
        pydicom.errors.InvalidDicomError: no ``DICM`` prefix and ``force`` is false.
        OSError, EOFError: the file cannot be opened, or ends inside an element.
        Exception: whatever else pydicom raises on a malformed file.
    """
    return read_file(
        path,
        limits=limits,
        force=force,
        stop_before_pixels=stop_before_pixels,
        defer_size=defer_size,
    ).dataset


def read_file(
    path: str | os.PathLike[str],
    *,
    limits: InputLimits | None = None,
    force: bool = False,
    stop_before_pixels: bool = False,
    defer_size: int | None = None,
) -> FileReading:
    """The file at ``path`` as its element table, with pydicom's dataset built from it when
    first asked for; or, where the lean reader does not read it (too large to read whole, a
    partial or deferred reading, a file it refuses), pydicom's dataset alone. Same arguments
    as :func:`read_dataset`; the same exceptions, except that a dataset built from a table
    raises only when first asked for."""
    name = os.fspath(path)
    if stop_before_pixels or defer_size is not None or os.path.getsize(name) > WHOLE_READ_LIMIT:
        if limits is not None:
            check_inflated_size(name, limits.max_inflated_bytes)
        read_by_pydicom = pydicom.dcmread(
            name, force=force, stop_before_pixels=stop_before_pixels, defer_size=defer_size
        )
        return FileReading(read_by_pydicom, None, name)
    with open(name, "rb") as handle:
        data = handle.read()
    # A file read whole shows at once whether it may be deflated: only such a file is opened
    # again for the bounded inflation (before anything inflates it whole).
    if limits is not None and may_be_deflated(data[:HEAD_BYTES]):
        check_inflated_size(name, limits.max_inflated_bytes)
    max_inflated = limits.max_inflated_bytes if limits is not None else DEFAULT_MAX_INFLATED
    table = _table(data, force=force, max_inflated=max_inflated)
    if table is not None:
        return FileReading(None, table, name)
    dataset = dataset_from_bytes(data, force=force)
    dataset.filename = name
    return FileReading(dataset, None, name)


def _table(data: bytes, *, force: bool, max_inflated: int) -> ElementTable | None:
    """``data``'s element table, whose dataset (:func:`dataset_of`: one walk over the headers, the
    sequences built rather than parsed again when first read) stands for the file, or None where
    pydicom must read it: a file without the ``DICM`` prefix and not ``force`` (pydicom's
    refusal says so), or one the lean reader refuses. The reader is stricter than pydicom (a
    value cut short, an undefined length without its delimiter, an encoding against the meta's
    transfer syntax): pydicom then reads, or fails on, such a file exactly as before, so a
    damaged input meets the same admission and diagnosis. For every file the reader accepts the
    dataset is the one ``pydicom.dcmread`` gives, or fails as it fails
    (tests/core/test_core_dataset_view.py, on every bundled file and 11,000 mutants)."""
    if not force and data[PREFIX_AT] != b"DICM":
        return None
    try:
        return read(data, max_inflated=max_inflated)
    except CoreError:
        return None


def dataset_from_bytes(
    data: bytes, *, force: bool = False, defer_size: int | None = None
) -> Dataset:
    """The dataset in ``data``, a whole DICOM file held in memory (an output's buffer before it
    is written, or a file read whole by :func:`read_dataset`).

    Raises:
        pydicom.errors.InvalidDicomError: no ``DICM`` prefix and ``force`` is false.
        EOFError: ``data`` ends inside an element.
        Exception: whatever else pydicom raises on malformed data.
    """
    return pydicom.dcmread(io.BytesIO(data), force=force, defer_size=defer_size)
