"""The bytes to be written, read back for the verifier: what reaches the disk is what is checked.

The engine's in-memory dataset is not the output; the output is the bytes its encoder makes of
it. An encoder that drops, reorders or re-encodes an element would leave the in-memory checks
proving a file that is never written. So the pipeline encodes once, and :func:`read_written`
parses those bytes once, independently of the engine's objects, with the lean reader
(:func:`deidengine.core.reader.read`). It is strict where pydicom is lenient (a value cut
short, an undefined length without its delimiter, an unknown VR): a structure it cannot lay
out exactly is not a file the engine writes. Its element table then becomes the pydicom
:class:`~pydicom.dataset.Dataset` the checks (leak scan, conformance, provenance) read
(:func:`deidengine.core.dataset_view.dataset_of`), the one ``pydicom.dcmread`` would give for
the same bytes (tests/core/test_core_dataset_view.py holds it so), without parsing them again.
Values over :data:`DEFERRED_VALUE_BYTES` (Pixel Data, large blobs) stay in the buffer until a
check reads them: no check reads Pixel Data, so it is not copied again.

It then holds the Part 10 framing to what the engine writes: a zeroed preamble, the transfer
syntax it meant, a SOP Class and Instance UID that the File Meta Information repeats.

The Encrypted Attributes Sequence items the honest-broker mode adds hold ciphertext of the
original values: an opaque payload the leak scan cannot read and must not judge.
:func:`set_aside_envelopes` takes them out of the verifier's reading (it owns that dataset),
after proving that each holds nothing but its transfer syntax and its CMS envelope.
"""

from __future__ import annotations

from typing import Final

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from deidengine.core.dataset_view import dataset_of
from deidengine.core.errors import ReadError
from deidengine.core.reader import read
from deidengine.errors import DeidError, EngineCode

__all__ = [
    "DEFERRED_VALUE_BYTES",
    "ENVELOPE_TAGS",
    "OpaquePayloadError",
    "UnreadableOutputError",
    "read_written",
    "set_aside_envelopes",
]

#: Values longer than this are read from the buffer when a check asks, not while parsing.
DEFERRED_VALUE_BYTES: Final = 1 << 16
PREAMBLE_LENGTH: Final = 128
#: The lean reader's inflation bound for the engine's own deflated output (1 TiB: none in fact).
UNBOUNDED_INFLATION: Final = 1 << 40
ENCRYPTED_ATTRIBUTES_SEQUENCE: Final = 0x04000500
ENCRYPTED_CONTENT_TRANSFER_SYNTAX_UID: Final = 0x04000510
ENCRYPTED_CONTENT: Final = 0x04000520
#: What an envelope item holds: its content's transfer syntax and the content (CMS, DER).
ENVELOPE_TAGS: Final = frozenset({ENCRYPTED_CONTENT_TRANSFER_SYNTAX_UID, ENCRYPTED_CONTENT})
#: The SOP identity each output carries, and where its File Meta Information repeats it.
SOP_IDENTITY: Final = (
    ("SOPClassUID", "MediaStorageSOPClassUID", "(0008,0016)"),
    ("SOPInstanceUID", "MediaStorageSOPInstanceUID", "(0008,0018)"),
)


class UnreadableOutputError(DeidError):
    """The encoded bytes do not read back as the file the engine meant to write.

    ``detail`` names the defect (a reader's code and byte offset, an element tag), never a
    value.
    """

    code = EngineCode.UNREADABLE_OUTPUT

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class OpaquePayloadError(DeidError):
    """An Encrypted Attributes Sequence item the engine added holds more than its envelope;
    ``location`` is the element path of what it holds besides."""

    code = EngineCode.LEAK_DETECTED

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


def _text(dataset: Dataset, keyword: str) -> str:
    return str(dataset.get(keyword, "") or "").strip(" \x00")


def _framing_defect(output: Dataset, transfer_syntax: str) -> str | None:
    """What in the Part 10 framing differs from what the engine writes, or ``None``."""
    if any(output.preamble or b""):
        return "the preamble is not zeroed"
    meta = output.file_meta
    if _text(meta, "TransferSyntaxUID") != transfer_syntax:
        return "the File Meta Information names another transfer syntax"
    for keyword, meta_keyword, tag in SOP_IDENTITY:
        own = _text(output, keyword)
        if not own:
            return f"no {keyword} {tag}"
        if _text(meta, meta_keyword) != own:
            return f"the File Meta Information's {meta_keyword} differs from {tag}"
    return None


def read_written(data: bytes, transfer_syntax: str) -> Dataset:
    """``data`` (a Part 10 file, as the engine encoded it) read back for the checks.

    Raises :class:`UnreadableOutputError` when the lean reader cannot lay the bytes out
    exactly, pydicom cannot read the dataset built from them, or the framing is not the
    engine's (see the module).
    """
    if data[PREAMBLE_LENGTH : PREAMBLE_LENGTH + 4] != b"DICM":
        raise UnreadableOutputError("no DICM prefix after a 128-byte preamble")
    try:
        # No bound on inflation: the engine deflated these bytes from a dataset it held in
        # memory. Nesting is held to the reader's default depth (a bound on recursion).
        table = read(data, max_inflated=UNBOUNDED_INFLATION)
    except (ReadError, RecursionError) as error:
        raise UnreadableOutputError(f"the lean reader: {error}") from error
    try:
        output = dataset_of(table, defer_size=DEFERRED_VALUE_BYTES)
        defect = _framing_defect(output, transfer_syntax)
    except Exception as error:  # any failure means the same: these bytes are not our file
        raise UnreadableOutputError(f"pydicom: {type(error).__name__}") from error
    if defect is not None:
        raise UnreadableOutputError(defect)
    return output


def set_aside_envelopes(output: Dataset, count: int) -> None:
    """Take the last ``count`` items of ``output``'s Encrypted Attributes Sequence (the ones
    the engine added) out of ``output``, the verifier's own reading of the bytes, so that the
    checks judge everything else. Items the input brought stay, and are checked as any
    element is.

    Raises :class:`OpaquePayloadError` when an item set aside holds anything but the envelope
    (:data:`ENVELOPE_TAGS`), or :class:`UnreadableOutputError` when the items are not there.
    """
    if count == 0:
        return
    element = output.get(ENCRYPTED_ATTRIBUTES_SEQUENCE)
    items = list(element.value) if element is not None and element.value else []
    if len(items) < count:
        raise UnreadableOutputError("the Encrypted Attributes Sequence (0400,0500) is short")
    kept, envelopes = items[: len(items) - count], items[len(items) - count :]
    for index, item in enumerate(envelopes, start=len(kept)):
        for tag in sorted(int(element.tag) for element in item):
            if tag not in ENVELOPE_TAGS:
                raise OpaquePayloadError(
                    f"(0400,0500)[{index}].({tag >> 16:04X},{tag & 0xFFFF:04X})"
                )
    if kept:
        output[ENCRYPTED_ATTRIBUTES_SEQUENCE].value = Sequence(kept)
    else:
        del output[ENCRYPTED_ATTRIBUTES_SEQUENCE]
