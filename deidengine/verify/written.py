"""The bytes to be written, read back for the verifier: what reaches the disk is what is checked.

The engine's in-memory dataset is not the output; the output is the bytes its encoder makes of
it. An encoder that drops, reorders or re-encodes an element would leave the in-memory checks
proving a file that is never written. So the pipeline encodes once, and :func:`read_written`
parses those bytes once, independently of the engine's objects, with the lean reader
(:func:`deidengine.core.reader.read`). It is strict where pydicom is lenient (a value cut
short, an undefined length without its delimiter, an unknown VR): a structure it cannot lay
out exactly is not a file the engine writes. Its element table is what the checks (leak scan,
conformance, provenance, the output's name) read: no pydicom ``Dataset`` is built, and a value
is decoded (by pydicom's converters, :class:`~deidengine.verify.table_view.TableView`) only
when a check reads it; no check reads Pixel Data.

It then holds the Part 10 framing to what the engine writes: a zeroed preamble, the transfer
syntax it meant, a SOP Class and Instance UID that the File Meta Information repeats.

The Encrypted Attributes Sequence items the honest-broker mode adds hold ciphertext of the
original values: an opaque payload the leak scan cannot read and must not judge.
:func:`set_aside_envelopes` gives the verifier's reading without them (a table without their
rows), after proving that each holds nothing but its transfer syntax and its CMS envelope.
"""

from __future__ import annotations

from typing import Final

from deidengine.core.errors import ReadError
from deidengine.core.reader import read
from deidengine.errors import DeidError, EngineCode
from deidengine.verify.table_view import META, TOP, TableView, without_rows

__all__ = [
    "ENVELOPE_TAGS",
    "OpaquePayloadError",
    "UnreadableOutputError",
    "read_written",
    "set_aside_envelopes",
]

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
    ("SOPClassUID", 0x00080016, "MediaStorageSOPClassUID", 0x00020002, "(0008,0016)"),
    ("SOPInstanceUID", 0x00080018, "MediaStorageSOPInstanceUID", 0x00020003, "(0008,0018)"),
)
TRANSFER_SYNTAX_UID: Final = 0x00020010


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


def _text(view: TableView, dataset: int, tag: int) -> str:
    index = view.get(dataset, tag)
    value = view.value(index) if index is not None else ""
    return str(value or "").strip(" \x00")


def _framing_defect(output: TableView, transfer_syntax: str) -> str | None:
    """What in the Part 10 framing differs from what the engine writes, or ``None``."""
    if any(output.table.facts.preamble or b""):
        return "the preamble is not zeroed"
    if _text(output, META, TRANSFER_SYNTAX_UID) != transfer_syntax:
        return "the File Meta Information names another transfer syntax"
    for keyword, tag, meta_keyword, meta_tag, where in SOP_IDENTITY:
        own = _text(output, TOP, tag)
        if not own:
            return f"no {keyword} {where}"
        if _text(output, META, meta_tag) != own:
            return f"the File Meta Information's {meta_keyword} differs from {where}"
    return None


def read_written(data: bytes, transfer_syntax: str) -> TableView:
    """``data`` (a Part 10 file, as the engine encoded it) read back for the checks: its
    element table, laid out once for them (:class:`TableView`; ``.table`` is the table).

    Raises :class:`UnreadableOutputError` when the lean reader cannot lay the bytes out
    exactly, pydicom's converters cannot read the values the framing check reads, or the
    framing is not the engine's (see the module).
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
        view = TableView.of(table)
        defect = _framing_defect(view, transfer_syntax)
    except Exception as error:  # any failure means the same: these bytes are not our file
        raise UnreadableOutputError(f"pydicom: {type(error).__name__}") from error
    if defect is not None:
        raise UnreadableOutputError(defect)
    return view


def set_aside_envelopes(output: TableView, count: int) -> TableView:
    """``output`` (the verifier's own reading of the bytes) without the last ``count`` items
    of its Encrypted Attributes Sequence (the ones the engine added), and without the
    sequence when no item is left, so that the checks judge everything else. Items the input
    brought stay, and are checked as any element is.

    Raises :class:`OpaquePayloadError` when an item set aside holds anything but the envelope
    (:data:`ENVELOPE_TAGS`), or :class:`UnreadableOutputError` when the items are not there.
    """
    if count == 0:
        return output
    view = output
    sequence = view.get(TOP, ENCRYPTED_ATTRIBUTES_SEQUENCE)
    items = view.sequence_items(sequence) if sequence is not None else []
    if sequence is None or len(items) < count:
        raise UnreadableOutputError("the Encrypted Attributes Sequence (0400,0500) is short")
    kept, envelopes = items[: len(items) - count], items[len(items) - count :]
    for number, item in enumerate(envelopes, start=len(kept)):
        for tag in view.elements(item):
            if tag not in ENVELOPE_TAGS:
                raise OpaquePayloadError(
                    f"(0400,0500)[{number}].({tag >> 16:04X},{tag & 0xFFFF:04X})"
                )
    rows = output.table.rows
    start = envelopes[0] if kept else sequence
    depth = rows[sequence].depth
    end = start + 1
    while end < len(rows) and rows[end].depth > depth:
        end += 1
    return TableView.of(without_rows(output.table, start, end))
