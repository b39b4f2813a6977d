"""Whether an input may enter the pipeline: read and consistent, or refused with a Reason.

:func:`admit` is the one place that decides, at reading time, what is wrong with an input and
which quarantine reason says so. It reads the file with the engine's one reader
(:func:`deidengine.dicom.reading.read_file`, which applies the inflation limit) and asks, in
this order, the checks that each own one kind of defect:

1. reading: ``too-large`` (:mod:`deidengine.dicom.limits`), ``truncated`` (the file ends
   inside an element, or cannot be opened), ``not-dicom`` (no ``DICM`` and no SOP identity),
   else the strict re-reading's precise defect
   (:func:`~deidengine.run.diagnose.diagnose_input`) or ``unreadable``;
2. ``unknown-transfer-syntax``; a media directory is admitted, for the caller to skip;
3. SOP identity: ``transfer-syntax-mismatch`` when the data was read in the wrong byte order,
   else ``not-dicom``;
4. the encoding the meta declares against the data's
   (:func:`~deidengine.run.diagnose.encoding_mismatch`);
5. the declared pixels against ``--max-pixel-mib``, and a valid pixel description
   (:func:`~deidengine.dicom.limits.check_declared_pixels`);
6. ``truncated``: the last element runs past the end of the file, or bytes follow it;
7. a kept value swallowing its neighbours (:func:`~deidengine.run.diagnose.check_encoding`);
8. Pixel Data against its description (:func:`~deidengine.pixels.consistency.check_pixel_data`).

The checks stay in their modules (limits beside the reader, the strict reading in
``diagnose``, the pixel description in ``pixels``), since each is also used alone; the order
and the reasons are this module's. The order is part of the outcomes: a file with two defects
is quarantined for the first.
"""

from __future__ import annotations

import os
from typing import Final

from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID, AllTransferSyntaxes

from deidengine.dicom.limits import (
    DEFAULT_LIMITS,
    InputLimits,
    LimitExceeded,
    PixelDescriptionError,
    check_declared_pixels,
)
from deidengine.dicom.reading import FileReading, read_file
from deidengine.errors import DeidError
from deidengine.pixels.consistency import PixelDataFault, check_pixel_data
from deidengine.run.diagnose import check_encoding, diagnose_input, encoding_mismatch
from deidengine.run.outcome import Reason

__all__ = [
    "DICOMDIR_CLASS",
    "KNOWN_TRANSFER_SYNTAXES",
    "PIXEL_DATA_FAULTS",
    "InputRefused",
    "admit",
    "admit_file",
    "is_media_directory",
]

DICOMDIR_CLASS: Final = "1.2.840.10008.1.3.10"
#: Incoherent Image Pixel descriptions (checked on reading) → quarantine reason.
PIXEL_DATA_FAULTS: Final = {
    PixelDataFault.INCONSISTENT: Reason.INCONSISTENT_PIXEL_DATA,
    PixelDataFault.UNKNOWN_PHOTOMETRIC: Reason.UNKNOWN_PHOTOMETRIC_INTERPRETATION,
}
KNOWN_TRANSFER_SYNTAXES: Final = frozenset(str(uid) for uid in AllTransferSyntaxes)


class InputRefused(DeidError):
    """The input may not enter the pipeline: the reason (also its ``code``), and a detail
    naming no value."""

    def __init__(self, reason: Reason, detail: str | None = None) -> None:
        super().__init__(reason.value)
        self.code = self.reason = reason
        self.detail = detail


def _truncated(dataset: Dataset, size: int) -> bool:
    """True when the file stops inside its data (pydicom reads such files silently)."""
    last = None
    for element in dataset._dict.values():  # raw, before any value is parsed
        last = element
    if isinstance(last, RawDataElement) and last.length != 0xFFFFFFFF:
        value = last.value or b""
        if len(value) < last.length:
            return True
        end = last.value_tell + last.length
        if end < size:
            with open(str(dataset.filename), "rb") as handle:
                handle.seek(end)
                rest = handle.read()
            return any(rest)
    # A whole file whose Pixel Data is shorter than its description is not truncated but
    # incoherent: check_pixel_data names it (with PS3.5 8.2.1's subsampled YBR lengths).
    return False


def _encapsulated(dataset: Dataset) -> bool:
    """True when the dataset's transfer syntax encapsulates Pixel Data (a bare dataset: no)."""
    meta = getattr(dataset, "file_meta", None)
    syntax = meta.get("TransferSyntaxUID") if meta is not None else None
    return bool(syntax) and UID(str(syntax)).is_encapsulated


def admit(path: str, limits: InputLimits = DEFAULT_LIMITS) -> Dataset:
    """Read one input fully and check it (see the module's list).

    Raises:
        InputRefused: the first defect found, with its quarantine reason.
    """
    return admit_file(path, limits).dataset


def admit_file(path: str, limits: InputLimits = DEFAULT_LIMITS) -> FileReading:
    """:func:`admit`, keeping the lean reader's element table beside the dataset (see
    :func:`~deidengine.dicom.reading.read_file`).

    Raises:
        InputRefused: the first defect found, with its quarantine reason.
    """
    try:
        size = os.path.getsize(path)
        try:
            reading = read_file(path, limits=limits)
        except InvalidDicomError:
            # No preamble: a bare dataset is still DICOM when it parses into SOP identity.
            reading = read_file(path, force=True)
            dataset = reading.dataset
            if "SOPClassUID" not in dataset or "SOPInstanceUID" not in dataset:
                raise InputRefused(Reason.NOT_DICOM) from None
    except InputRefused:
        raise
    except LimitExceeded as error:
        raise InputRefused(Reason.TOO_LARGE, str(error)) from error
    except (EOFError, OSError) as error:
        raise InputRefused(Reason.TRUNCATED) from error
    except Exception as error:
        raise _unreadable(path) from error
    dataset = reading.dataset
    meta = getattr(dataset, "file_meta", None)
    syntax = str(meta.get("TransferSyntaxUID", "")) if meta is not None else ""
    if syntax and syntax not in KNOWN_TRANSFER_SYNTAXES:
        raise InputRefused(Reason.UNKNOWN_TRANSFER_SYNTAX)
    if is_media_directory(dataset):
        return reading  # skipped by the caller; its SOP identity is in the meta only
    if "SOPClassUID" not in dataset and "SOPInstanceUID" not in dataset:
        # A Part 10 file read in the wrong byte order finds no SOP identity: say which.
        diagnosis = diagnose_input(path)
        if diagnosis is not None and diagnosis.reason is Reason.TRANSFER_SYNTAX_MISMATCH:
            raise InputRefused(diagnosis.reason, diagnosis.detail)
        raise InputRefused(Reason.NOT_DICOM, "no SOP Class or SOP Instance UID")
    mismatch = encoding_mismatch(dataset)
    if mismatch is not None:
        raise InputRefused(mismatch.reason, mismatch.detail)
    try:
        check_declared_pixels(dataset, limits.max_pixel_bytes)
        if _truncated(dataset, size):
            raise InputRefused(Reason.TRUNCATED)
        malformed = check_encoding(dataset)  # before any stage converts a value
        if malformed is not None:
            raise InputRefused(malformed.reason, malformed.detail)
        problem = check_pixel_data(dataset, encapsulated=_encapsulated(dataset))
        if problem is not None:
            raise InputRefused(PIXEL_DATA_FAULTS[problem.fault], problem.detail)
    except InputRefused:
        raise
    except LimitExceeded as error:
        raise InputRefused(Reason.TOO_LARGE, str(error)) from error
    except PixelDescriptionError as error:
        raise InputRefused(Reason.INCONSISTENT_PIXEL_DATA, str(error)) from error
    except Exception as error:
        raise _unreadable(path) from error
    return reading


def is_media_directory(dataset: Dataset) -> bool:
    """A DICOMDIR (PS3.10 media directory): its class names it in the dataset or, as written
    by media creators, only in the File Meta Information."""
    meta = getattr(dataset, "file_meta", None)
    media_class = str(meta.get("MediaStorageSOPClassUID", "")) if meta is not None else ""
    return (
        DICOMDIR_CLASS in (media_class, str(dataset.get("SOPClassUID", "")))
        or "DirectoryRecordSequence" in dataset
    )


def _unreadable(path: str) -> InputRefused:
    """The refusal of a file pydicom could not read: its precise defect when the strict
    reading finds one (:mod:`deidengine.run.diagnose`), else ``unreadable``."""
    diagnosis = diagnose_input(path)
    if diagnosis is None:
        return InputRefused(Reason.UNREADABLE)
    return InputRefused(diagnosis.reason, diagnosis.detail)
