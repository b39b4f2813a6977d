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
from collections.abc import Mapping
from typing import Final

from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID, AllTransferSyntaxes

from deidengine.core.dataset_view import dataset_of
from deidengine.core.table import TOP, ElementTable, Kind
from deidengine.core.values import text
from deidengine.dicom.limits import (
    DEFAULT_LIMITS,
    InputLimits,
    LimitExceeded,
    PixelDescriptionError,
    check_declared_pixels,
)
from deidengine.dicom.reading import FileReading, read_file
from deidengine.errors import DeidError
from deidengine.pixels.consistency import MAX_FRAMES, PixelDataFault, check_pixel_data
from deidengine.run.diagnose import (
    check_encoding,
    check_table_encoding,
    diagnose_input,
    encoding_mismatch,
    may_have_encoding_defect,
)
from deidengine.run.outcome import Reason
from deidengine.standard.dictionary import PIXEL_DATA
from deidengine.standard.vr_classes import PIXEL_DATA_TAGS

__all__ = [
    "DICOMDIR_CLASS",
    "KNOWN_TRANSFER_SYNTAXES",
    "PIXEL_DATA_FAULTS",
    "InputRefused",
    "admit",
    "admit_file",
    "admit_reading",
    "admitted_dataset",
    "described",
    "is_media_directory",
    "is_media_directory_reading",
    "plainly_admitted",
]

DICOMDIR_CLASS: Final = "1.2.840.10008.1.3.10"
GROUP_LENGTH: Final = 0x00020000
MEDIA_STORAGE_CLASS: Final = 0x00020002
TRANSFER_SYNTAX_UID: Final = 0x00020010
SOP_CLASS: Final = 0x00080016
SOP_INSTANCE: Final = 0x00080018
DIRECTORY_RECORDS: Final = 0x00041220
#: Top-level elements outside group 0028 that admission reads: SOP Class and Instance UIDs,
#: the Directory Record Sequence, and the pixel data elements.
DESCRIBED: Final = frozenset({SOP_CLASS, SOP_INSTANCE, DIRECTORY_RECORDS, *PIXEL_DATA_TAGS})
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
    return admitted_dataset(admit_file(path, limits), path)


def admitted_dataset(reading: FileReading, path: str) -> Dataset:
    """pydicom's dataset of an admitted ``reading`` of ``path``, built now from its table
    when it has one; pydicom failing to build it is refused as a failure to read the file is.

    Raises:
        InputRefused: the file's precise defect, else ``unreadable``.
    """
    try:
        return reading.dataset
    except Exception as error:
        raise _unreadable(path) from error


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
            bare = reading.dataset if reading.table is None else described(reading.table, path)
            if "SOPClassUID" not in bare or "SOPInstanceUID" not in bare:
                raise InputRefused(Reason.NOT_DICOM) from None
    except InputRefused:
        raise
    except LimitExceeded as error:
        raise InputRefused(Reason.TOO_LARGE, str(error)) from error
    except (EOFError, OSError) as error:
        raise InputRefused(Reason.TRUNCATED) from error
    except Exception as error:
        raise _unreadable(path) from error
    return admit_reading(path, reading, size, limits)


def admit_reading(
    path: str, reading: FileReading, size: int, limits: InputLimits = DEFAULT_LIMITS
) -> FileReading:
    """Steps 2 to 8 of the module's list on a file read (``size``: its length in bytes):
    on its element table when it has one, else on its dataset, with the same outcome either
    way (tests/run/test_run_admission_table.py holds them equal).

    Raises:
        InputRefused: the first defect found, with its quarantine reason.
    """
    if reading.table is not None and plainly_admitted(reading.table, size, limits):
        reading.plainly_admitted = True
        return reading  # every check below would pass: no dataset is built to ask them
    try:
        # Read from the table, only what the checks below read: the full dataset is built
        # only if a later stage asks for it.
        dataset = reading.dataset if reading.table is None else described(reading.table, path)
    except Exception as error:
        raise _unreadable(path) from error
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
        # before any stage converts a value
        malformed = (
            check_encoding(dataset)
            if reading.table is None
            else check_table_encoding(reading.table, _read_before_encoding(dataset))
        )
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


def _read_before_encoding(dataset: Dataset) -> frozenset[int]:
    """The top-level elements the checks before the encoding check have converted (the media
    directory check reads SOP Class UID, the pixel limit the pixel description): pydicom
    keeps them converted, so the encoding check on the dataset does not see their bytes."""
    return frozenset(
        int(tag)
        for tag, element in dataset._dict.items()
        if not isinstance(element, RawDataElement)
    )


def described(table: ElementTable, path: str) -> Dataset:
    """The part of ``table``'s dataset the admission checks read, as pydicom's dataset of the
    whole file holds it: the File Meta Information, a Command Set, SOP identity, the media
    directory's records (the element, not its items), the Image Pixel description (group
    0028), Pixel Data, and the data set's first and last elements (the encoding check reads
    the first, the truncation check the last, and where the data set starts sets the
    positions pydicom records). Every check but the element-by-element
    encoding check (:func:`~deidengine.run.diagnose.check_table_encoding`) then runs on it
    unchanged, at the cost of a few elements instead of the whole file's."""
    rows = table.rows
    meta_end = table.facts.meta_end
    kept: set[int] = set()
    first = first_value = last = None
    for index, row in enumerate(rows):
        if row.depth or row.kind is not Kind.ELEMENT:
            continue
        tag = row.tag
        if row.header < meta_end or not tag >> 16 or tag >> 16 == 0x0028 or tag in DESCRIBED:
            kept.add(index)
        if row.header >= meta_end and tag >> 16:
            first = index if first is None else first
            if first_value is None and row.vr != "SQ":
                first_value = index
            last = index
    kept.update(index for index in (first, first_value, last) if index is not None)
    chosen = tuple(rows[index] for index in sorted(kept))
    dataset = dataset_of(ElementTable(table.data, chosen, table.facts, {}))
    dataset.filename = path
    return dataset


#: Native transfer syntaxes (uncompressed Pixel Data), by whether they are explicit VR.
NATIVE_SYNTAXES: Final = {
    "1.2.840.10008.1.2": False,
    "1.2.840.10008.1.2.1": True,
    "1.2.840.10008.1.2.2": True,
}
MEDIA_DIRECTORY_UID: Final = DICOMDIR_CLASS.encode("ascii")
#: Image Pixel attributes the pixel checks read as one unsigned short each.
ROWS, COLUMNS, SAMPLES, BITS_ALLOCATED, BITS_STORED = (
    0x00280010,
    0x00280011,
    0x00280002,
    0x00280100,
    0x00280101,
)
NUMBER_OF_FRAMES: Final = 0x00280008
PHOTOMETRIC: Final = 0x00280004
#: Photometric Interpretations whose Pixel Data length is rows x columns x samples x frames x
#: bytes per sample (PS3.3 C.7.6.3.1.2): no subsampling, no bit packing below a byte.
PLAIN_PHOTOMETRICS: Final = {b"MONOCHROME1": 1, b"MONOCHROME2": 1, b"RGB": 3}
WHOLE_BYTE_BITS: Final = frozenset({8, 16, 32, 64})


def plainly_admitted(table: ElementTable, size: int, limits: InputLimits = DEFAULT_LIMITS) -> bool:
    """Whether :func:`admit_reading` admits a file read as ``table`` (``size``: the file's
    length) on every check, shown from the table alone: True only where each check of the
    module's list plainly passes, so that nothing (no dataset, no conversion) is needed to say
    so. False means "ask the checks", never "refused": a file that is in any way unusual (a
    Command Set, a data set listing its tags out of order or twice, no meta, deflate, an
    encapsulated or uncommon pixel description, bytes after the last element, an element in
    another encoding than the syntax's) takes the checks, which name its defect, if any, in
    their order.

    Each condition implies its check's pass: a known Transfer Syntax UID stated once, exactly;
    no media directory class or records; both SOP Class and Instance UIDs; every top-level
    element in the encoding the syntax says; no trailing bytes (the last element ends the
    file); no element row with an encoding defect, none set aside (a superset of the encoding
    check's rows); and for native Pixel Data, a pixel description of single unsigned shorts, a
    plain Number of Frames and a Pixel Data length that fits it within one frame."""
    facts = table.facts
    syntax = facts.transfer_syntax
    if (
        syntax is None
        or syntax not in KNOWN_TRANSFER_SYNTAXES
        or facts.deflated
        or facts.preamble is None
        or not facts.meta_explicit
        or facts.trailing
        or len(table.data) != size
    ):
        return False
    if not table.ordered():
        return False  # a tag may repeat: the checks say what pydicom's dataset holds
    rows = table.rows
    data = table.data
    meta_end = facts.meta_end
    stated = 0
    explicit = NATIVE_SYNTAXES.get(syntax, True)  # every other known syntax is explicit VR LE
    element = Kind.ELEMENT
    for index in table.grouped().get(TOP, ()):
        tag, _, encoded_vr, header, offset, length, _, _, _, _, kind, row_explicit, _ = rows[index]
        if kind is not element:
            return False
        if header < meta_end:
            stated += tag == TRANSFER_SYNTAX_UID
            if not _plain_meta_row(tag, encoded_vr, data[offset : offset + length], syntax):
                return False
            continue
        if not tag >> 16 or row_explicit != explicit or tag == DIRECTORY_RECORDS:
            return False
        if tag == SOP_CLASS and MEDIA_DIRECTORY_UID in data[offset : offset + length]:
            return False
    top = table.top_level()  # no tag repeats in an ordered table
    if stated != 1 or SOP_CLASS not in top or SOP_INSTANCE not in top:
        return False
    pixels = any(tag in top for tag in PIXEL_DATA_TAGS)
    if pixels and (syntax not in NATIVE_SYNTAXES or not _plain_pixels(table, top, limits)):
        return False
    return not may_have_encoding_defect(table)


def _plain_meta_row(tag: int, vr: str, value: bytes, syntax: str) -> bool:
    """A File Meta Information element that leaves admission nothing to ask: the Transfer
    Syntax UID exactly as read (NUL-padded at most), a group length of one UL, and no media
    directory class."""
    if tag == TRANSFER_SYNTAX_UID:
        return value in (syntax.encode("ascii"), syntax.encode("ascii") + b"\0")
    if tag == GROUP_LENGTH:
        return len(value) == 4 and vr == "UL"
    return tag != MEDIA_STORAGE_CLASS or MEDIA_DIRECTORY_UID not in value


def _plain_pixels(table: ElementTable, top: Mapping[int, int], limits: InputLimits) -> bool:
    """Native Pixel Data (7FE0,0010 only) whose description the pixel limit and the pixel
    check both plainly accept (see :func:`plainly_admitted`)."""
    if PIXEL_DATA not in top or len([t for t in PIXEL_DATA_TAGS if t in top]) != 1:
        return False
    rows, data = table.rows, table.data

    def short(tag: int) -> int | None:
        index = top.get(tag)
        if index is None:
            return None
        row = rows[index]
        if row.vr != "US" or row.encoded_vr not in ("", "US") or row.length != 2:
            return 0
        return int.from_bytes(data[row.offset : row.offset + 2], "little" if row.little else "big")

    photometric_row = top.get(PHOTOMETRIC)
    if photometric_row is None:
        return False
    found = rows[photometric_row]
    photometric = data[found.offset : found.offset + found.length].rstrip(b" ")
    if found.vr != "CS":
        return False
    samples_needed = PLAIN_PHOTOMETRICS.get(photometric)
    height, width, samples = short(ROWS), short(COLUMNS), short(SAMPLES)
    bits, stored = short(BITS_ALLOCATED), short(BITS_STORED)
    if (
        samples_needed is None
        or not height
        or not width
        or samples != samples_needed
        or bits not in WHOLE_BYTE_BITS
        or (stored is not None and not 0 < stored <= bits)
    ):
        return False
    frames = 1
    if NUMBER_OF_FRAMES in top:
        frames_row = rows[top[NUMBER_OF_FRAMES]]
        text = data[frames_row.offset : frames_row.offset + frames_row.length].strip(b" ")
        if frames_row.vr != "IS" or not text.isdigit() or not 1 <= int(text) <= MAX_FRAMES:
            return False
        frames = int(text)
    expected = height * width * samples * frames * (bits // 8)
    if expected > limits.max_pixel_bytes:
        return False
    pixels = rows[top[PIXEL_DATA]]
    return (
        pixels.vr in ("OB", "OW", "OB or OW")
        and not pixels.undefined_length
        and expected <= pixels.length < expected + expected // frames
    )


def is_media_directory_reading(reading: FileReading) -> bool:
    """:func:`is_media_directory` of a file read, from its table when it has one (the media
    class in the meta, the SOP Class UID and the Directory Record Sequence at the top level,
    the last of a repeated tag counting, as in pydicom's dataset). A reading admitted
    plainly (:func:`plainly_admitted`) is none: that admission saw no Directory Record
    Sequence and no media directory class in the meta or the data set."""
    if reading.plainly_admitted:
        return False
    table = reading.table
    if table is None:
        return is_media_directory(reading.dataset)
    classes: dict[int, str] = {}
    rows = table.rows
    for index in table.grouped().get(TOP, ()):  # the top level's rows: no deeper one counts
        row = rows[index]
        in_meta = table.is_meta(index)
        if row.tag == DIRECTORY_RECORDS and not in_meta:
            return True
        if (row.tag == MEDIA_STORAGE_CLASS) == in_meta and row.tag in (
            MEDIA_STORAGE_CLASS,
            SOP_CLASS,
        ):
            classes[row.tag] = text(table, index) if row.length else ""
    return DICOMDIR_CLASS in classes.values()


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
