"""Read a DICOM file's bytes once into an :class:`~deidengine.core.table.ElementTable`.

One walk over the element headers, no pydicom ``Dataset`` built, no value decoded (a private
creator's text excepted: the rows of its block need it). The walk follows pydicom's reading
rules (``dcmread(..., force=True)``) wherever those rules are deterministic, so that pydicom can
serve as the oracle of a differential test:

- **Preamble and meta.** ``DICM`` at offset 128 means a 128-byte preamble; without it the
  stream starts at byte 0 (pydicom's ``force=True``). The File Meta Information is the run of
  group 0002 elements that follows, explicit VR little endian unless its first element's VR is
  not two upper-case letters (pydicom then reads the meta as implicit VR). A run of group 0000
  (Command Set) elements after it is read in implicit VR little endian, as pydicom reads it.
- **Transfer syntax.** Implicit VR LE, explicit VR LE, explicit VR BE, deflated explicit VR LE
  (inflated with zlib, at most ``max_inflated`` bytes), and every other transfer syntax pydicom
  knows as explicit VR LE (the encapsulated ones). Without a Transfer Syntax UID the encoding is
  guessed from the first element as pydicom guesses it.
- **Elements.** Explicit VR headers with 2- or 4-byte lengths; an element whose VR bytes are
  not letters is read as implicit VR (writers switch to implicit inside sequences; pydicom
  accepts it). Implicit VRs, explicit ``UN`` and private VRs come from
  :mod:`deidengine.core.dictionary`.
- **Sequences.** Defined and undefined length sequences and items, nested to ``max_depth``; an
  item inside an explicit VR data set is read as implicit VR when its first VR is not letters
  (PS3.5 6.2.2, as pydicom does). An undefined-length ``UN`` and an undefined-length element of
  unknown VR whose value starts with an Item are sequences.
- **Encapsulated Pixel Data** (any other undefined-length value): its fragments become
  :attr:`~deidengine.core.table.Kind.FRAGMENT` rows, the first one the Basic Offset Table. When
  the value is not a clean run of items, pydicom scans for the Sequence Delimitation Item; the
  reader does the same and gives the value no fragment rows.

Where pydicom is lenient in ways that lose or invent data, the reader is strict and raises one
:class:`~deidengine.core.errors.ReadError` with a stable code: a value or header cut short by the
end of the stream or of its item (``truncated`` / ``invalid-length``), an undefined length with
no delimiter, an unknown VR, a delimiter or non-item where an item must stand, a meta Transfer
Syntax UID pydicom does not know, or a data set whose encoding contradicts the meta's transfer
syntax. The differential test (tests/core/test_differential.py) names each of these as a rule.
Fewer than 8 bytes after the last element are ignored, as pydicom ignores them, and counted in
:attr:`~deidengine.core.table.FileFacts.trailing`.
"""

from __future__ import annotations

import struct
import zlib
from typing import Final

from pydicom._uid_dict import UID_dictionary
from pydicom.valuerep import EXPLICIT_VR_LENGTH_32, VR

from deidengine.core.dictionary import explicit_un_vr, implicit_vr, is_sequence_tag, public_vr
from deidengine.core.errors import Code, ReadError, TooLargeError, TruncatedError
from deidengine.core.table import (
    ITEM_DELIMITER_TAG,
    ITEM_TAG,
    SEQUENCE_DELIMITER_TAG,
    TOP,
    UNDEFINED_LENGTH,
    ElementTable,
    FileFacts,
    Kind,
    Row,
)

__all__ = ["DEFAULT_MAX_DEPTH", "DEFAULT_MAX_INFLATED", "read"]

IMPLICIT_VR_LITTLE_ENDIAN: Final = "1.2.840.10008.1.2"
EXPLICIT_VR_LITTLE_ENDIAN: Final = "1.2.840.10008.1.2.1"
EXPLICIT_VR_BIG_ENDIAN: Final = "1.2.840.10008.1.2.2"
DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN: Final = "1.2.840.10008.1.2.1.99"
TRANSFER_SYNTAX_UID: Final = 0x00020010
SPECIFIC_CHARACTER_SET: Final = 0x00080005
#: 1 GiB of inflated data set: far above any header-only file, a bound against deflate bombs.
DEFAULT_MAX_INFLATED: Final = 1 << 30
#: Sequences nest a handful of levels in real files; the bound keeps hostile input from
#: exhausting the interpreter's stack.
DEFAULT_MAX_DEPTH: Final = 64
PREAMBLE_LENGTH: Final = 128
PREFIX: Final = b"DICM"

#: The two-letter VRs, by their header bytes.
VR_NAMES: Final = {vr.value.encode("ascii"): vr.value for vr in VR if len(vr.value) == 2}
LONG_VRS: Final = frozenset(str(vr).encode("ascii") for vr in EXPLICIT_VR_LENGTH_32)
#: :data:`VR_NAMES` split by header form: an element's VR is looked up once, in the short
#: form's map first (most elements), instead of in the names and then in :data:`LONG_VRS`.
_SHORT_VR_NAMES: Final = {raw: name for raw, name in VR_NAMES.items() if raw not in LONG_VRS}
_LONG_VR_NAMES: Final = {raw: name for raw, name in VR_NAMES.items() if raw in LONG_VRS}
CONVERTIBLE_VRS: Final = frozenset(vr.value for vr in VR)
KNOWN_TRANSFER_SYNTAXES: Final = frozenset(
    uid for uid, entry in UID_dictionary.items() if entry[1] == "Transfer Syntax"
)

_HHL = {True: struct.Struct("<HHL"), False: struct.Struct(">HHL")}
_HH2SH = {True: struct.Struct("<HH2sH"), False: struct.Struct(">HH2sH")}
_L = {True: struct.Struct("<L"), False: struct.Struct(">L")}
#: The three header readers of each byte order, looked up once per data set read.
_UNPACKERS = {
    little: (_HHL[little].unpack_from, _HH2SH[little].unpack_from, _L[little].unpack_from)
    for little in (True, False)
}
_TAG_BYTES = {
    little: {
        tag: struct.pack("<HH" if little else ">HH", tag >> 16, tag & 0xFFFF)
        for tag in (ITEM_TAG, SEQUENCE_DELIMITER_TAG)
    }
    for little in (True, False)
}
_new_row = tuple.__new__
ELEMENT, ITEM, FRAGMENT = Kind.ELEMENT, Kind.ITEM, Kind.FRAGMENT


def _is_letters(vr: bytes) -> bool:
    """pydicom's test for an explicit VR: two upper-case ASCII letters."""
    return len(vr) == 2 and 0x40 < vr[0] < 0x5B and 0x40 < vr[1] < 0x5B


def _creator_text(raw: bytes) -> str:
    """A private creator's value as pydicom compares it with the private dictionary.

    Creators are ASCII in practice and the private dictionary's keys are ASCII; decoding as
    ISO 8859-1 keeps every byte without a character-set look-up per block."""
    return raw.decode("latin-1").rstrip("\0 ")


class _Walk:
    """The state of one read: the bytes, the rows so far, the limits."""

    def __init__(self, data: bytes, max_depth: int) -> None:
        self.data = data
        self.size = len(data)
        self.rows: list[Row] = []
        self.charsets: dict[int, int] = {}
        #: Whether every data set read lists its tags in strictly ascending order.
        self.ordered = True
        self.max_depth = max_depth
        self.trailing = 0

    def fail(
        self,
        code: Code,
        message: str,
        offset: int,
        *,
        end: int | None = None,
        bound: int | None = None,
    ) -> ReadError:
        if code is Code.TRUNCATED:
            return TruncatedError(message, offset, end=end, bound=bound)
        return ReadError(code, message, offset, end=end, bound=bound)

    def _short(self, bound: int, what: str, offset: int, end: int) -> ReadError:
        """``what`` at ``offset`` should end at ``end``, past its container's ``bound``."""
        if bound >= self.size:
            return self.fail(
                Code.TRUNCATED, f"stream ends inside {what}", offset, end=end, bound=bound
            )
        return self.fail(
            Code.INVALID_LENGTH, f"{what} crosses its container's end", offset, end=end, bound=bound
        )

    def _undelimited(self, bound: int, what: str, offset: int) -> ReadError:
        """An undefined length at ``offset`` finds no delimiter before ``bound``."""
        if bound >= self.size:
            return self.fail(
                Code.UNDEFINED_LENGTH_WITHOUT_DELIMITER, f"{what} without its delimiter", offset
            )
        return self.fail(
            Code.INVALID_LENGTH,
            f"{what} runs past its container's end",
            offset,
            end=None,
            bound=bound,
        )

    def dataset(
        self,
        pos: int,
        end: int,
        explicit: bool,
        little: bool,
        depth: int,
        parent: int,
        *,
        delimited: bool = False,
        group_only: int | None = None,
    ) -> int:
        """Read the elements of one data set from ``pos``; return where it ends.

        ``end`` bounds the data set: the end of the stream at the top level or for an
        undefined-length item (``delimited``, which ends at its Item Delimitation Item), the
        item's end for a defined-length item. ``group_only`` stops before the first element
        of another group (the File Meta Information, a Command Set)."""
        data = self.data
        rows = self.rows
        append = rows.append
        hhl, hh2sh, ul = _UNPACKERS[little]
        creators: dict[int, str] = {}
        short_names = _SHORT_VR_NAMES
        previous = -1
        while True:
            remaining = end - pos
            if remaining < 8:
                if delimited:
                    raise self._undelimited(end, "an undefined-length item", pos)
                if remaining > 0:
                    if parent != TOP:  # delimited: raised above
                        raise self._short(end, "an element header", pos, pos + 8)
                    self.trailing = remaining
                return end
            if explicit:
                group, element, vr_bytes, length = hh2sh(data, pos)
            else:
                group, element, length = hhl(data, pos)
            tag = group << 16 | element
            if group_only is not None and group != group_only:
                return pos
            if group == 0xFFFE:  # the delimiters' group: one test for most elements
                if tag == ITEM_DELIMITER_TAG:
                    if delimited:
                        return pos + 8
                    raise self.fail(
                        Code.UNEXPECTED_DELIMITER, "Item Delimitation Item outside an item", pos
                    )
                if tag in (ITEM_TAG, SEQUENCE_DELIMITER_TAG):
                    raise self.fail(
                        Code.UNEXPECTED_DELIMITER,
                        "item or delimiter where an element must stand",
                        pos,
                    )
            if tag <= previous:
                self.ordered = False
            previous = tag
            header = pos
            element_explicit = explicit
            if explicit:
                encoded = short_names.get(vr_bytes)
                if encoded is not None:
                    pos += 8
                else:
                    encoded = _LONG_VR_NAMES.get(vr_bytes, "")
                    if encoded:
                        if remaining < 12:
                            raise self._short(end, "an element header", pos, pos + 12)
                        length = ul(data, pos + 8)[0]
                        pos += 12
                    else:
                        if b"AA" <= vr_bytes <= b"ZZ":
                            raise self.fail(
                                Code.INVALID_VR, "unknown value representation", pos + 4
                            )
                        element_explicit = False  # pydicom reads on as implicit VR
                        length = ul(data, pos + 4)[0]
                        pos += 8
            else:
                encoded = ""
                pos += 8
            creator = (
                creators.get(group << 8 | element >> 8) if group & 1 and element >= 0x1000 else None
            )
            if length != UNDEFINED_LENGTH:  # most elements: read on at once
                if pos + length > end:
                    raise self._short(end, "a value", header, pos + length)
                if not encoded:
                    vr = implicit_vr(tag, creator)
                elif encoded == "UN":
                    vr = explicit_un_vr(tag, creator, length)
                else:
                    vr = encoded
                append(
                    _new_row(
                        Row,
                        (
                            tag,
                            vr,
                            encoded,
                            header,
                            pos,
                            length,
                            False,
                            depth,
                            parent,
                            creator,
                            ELEMENT,
                            element_explicit,
                            little,
                        ),
                    )
                )
                if vr == "SQ":
                    self.sequence(pos, pos + length, element_explicit, little, depth, len(rows) - 1)
                elif group & 1 and 0x10 <= element <= 0xFF:
                    creators[group << 8 | element] = _creator_text(data[pos : pos + length])
                elif tag == SPECIFIC_CHARACTER_SET:
                    self.charsets[parent] = len(rows) - 1
                pos += length
                continue
            # Undefined length: a sequence, or a value that runs to a Sequence Delimitation Item.
            if encoded:
                vr = "SQ" if encoded == "UN" else encoded
            elif is_sequence_tag(tag) or (
                # pydicom looks ahead for an Item when the dictionary does not know the tag
                public_vr(tag) is None and data[pos : pos + 4] == _TAG_BYTES[little][ITEM_TAG]
            ):
                vr = "SQ"
            else:
                vr = implicit_vr(tag, creator)
            index = len(rows)
            row = (tag, vr, encoded, header, pos, 0, True, depth, parent, creator)
            append(_new_row(Row, (*row, ELEMENT, element_explicit, little)))
            if vr == "SQ":
                content_end, pos = self.sequence(
                    pos, None, element_explicit, little, depth, index, bound=end
                )
            else:
                content_end, pos = self.encapsulated(pos, end, little, depth, index)
            rows[index] = rows[index]._replace(length=content_end - rows[index].offset)

    def sequence(
        self,
        pos: int,
        end: int | None,
        explicit: bool,
        little: bool,
        depth: int,
        index: int,
        *,
        bound: int | None = None,
    ) -> tuple[int, int]:
        """Read the items of the sequence at row ``index``; ``end`` is None for an undefined
        length (then ``bound`` limits the search for its delimiter). Returns where the content
        ends and where reading continues."""
        if depth >= self.max_depth:
            raise self.fail(Code.TOO_DEEP, "sequences nest too deep", pos)
        data = self.data
        size = self.size
        rows = self.rows
        hhl = _HHL[little].unpack_from
        limit = end if end is not None else bound if bound is not None else size
        while end is None or pos < end:
            if limit - pos < 8:
                if end is None:
                    raise self._undelimited(limit, "an undefined-length sequence", pos)
                raise self._short(limit, "an item header", pos, pos + 8)
            group, element, length = hhl(data, pos)
            tag = group << 16 | element
            if tag == SEQUENCE_DELIMITER_TAG:
                if end is None:
                    return pos, pos + 8
                raise self.fail(
                    Code.UNEXPECTED_DELIMITER,
                    "Sequence Delimitation Item in a defined-length sequence",
                    pos,
                )
            if tag != ITEM_TAG:
                raise self.fail(Code.INVALID_ITEM, "a sequence holds something not an item", pos)
            header = pos
            pos += 8
            # PS3.5 6.2.2: an item may be implicit VR inside an explicit VR data set
            # (_is_letters of its first element's VR, inlined: the reader asks every item).
            item_explicit = (
                explicit
                and pos + 6 <= size
                and 0x40 < data[pos + 4] < 0x5B
                and 0x40 < data[pos + 5] < 0x5B
            )
            item = len(rows)
            undefined = length == UNDEFINED_LENGTH
            if undefined:
                row = (ITEM_TAG, "", "", header, pos, 0, True, depth + 1, index, None, ITEM)
                rows.append(_new_row(Row, (*row, item_explicit, little)))
                after = self.dataset(
                    pos, limit, item_explicit, little, depth + 1, item, delimited=True
                )
                rows[item] = rows[item]._replace(length=after - 8 - pos)
            else:
                if pos + length > limit:
                    raise self._short(limit, "an item", header, pos + length)
                # A defined-length item's data set ends at its end, or the read fails: its
                # row takes its length at once.
                row = (ITEM_TAG, "", "", header, pos, length, False, depth + 1, index, None, ITEM)
                rows.append(_new_row(Row, (*row, item_explicit, little)))
                after = self.dataset(pos, pos + length, item_explicit, little, depth + 1, item)
            pos = after
        return pos, pos

    def encapsulated(
        self, pos: int, end: int, little: bool, depth: int, index: int
    ) -> tuple[int, int]:
        """Read an undefined-length value that is not a sequence: its fragments when it is a
        clean run of items, else (as pydicom does) everything up to the first Sequence
        Delimitation Item's tag. Returns where the value ends and where reading continues."""
        data = self.data
        hhl = _HHL[little].unpack_from
        item_bytes = _TAG_BYTES[little][ITEM_TAG]
        delimiter = _TAG_BYTES[little][SEQUENCE_DELIMITER_TAG]
        fragments: list[Row] = []
        at = pos
        while True:
            if end - at < 4:
                break
            tag_bytes = data[at : at + 4]
            if tag_bytes == delimiter:
                self.rows.extend(fragments)
                return at, min(at + 8, end)
            if tag_bytes != item_bytes or end - at < 8:
                break
            length = hhl(data, at)[2]
            if at + 8 + length > end:
                break
            row = (ITEM_TAG, "", "", at, at + 8, length, False, depth + 1, index, None, FRAGMENT)
            fragments.append(_new_row(Row, (*row, False, little)))
            at += 8 + length
        found = data.find(delimiter, pos, end)
        if found < 0:
            raise self._undelimited(end, "an undefined-length value", pos)
        return found, min(found + 8, end)


def _transfer_syntax(walk: _Walk, rows: list[Row]) -> str | None:
    for row in rows:
        if row.tag == TRANSFER_SYNTAX_UID:
            raw = walk.data[row.offset : row.offset + row.length]
            return raw.decode("latin-1").rstrip("\0 ").strip()  # as pydicom's UID reads it
    return None


def _guess_encoding(data: bytes, pos: int) -> tuple[bool, bool]:
    """pydicom's guess for a data set without a Transfer Syntax UID: explicit VR when the
    first element's VR is one it converts, big endian when its group then reads as >= 1024."""
    if len(data) - pos < 6:
        return False, True
    group = struct.unpack_from("<H", data, pos)[0]
    vr = data[pos + 4 : pos + 6].decode("latin-1")
    if vr in CONVERTIBLE_VRS:
        return True, group < 1024
    return _is_letters(data[pos + 4 : pos + 6]), True


def _inflate(data: bytes, pos: int, limit: int) -> bytes:
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        inflated = inflater.decompress(data[pos:], limit + 1)
    except zlib.error as error:
        raise ReadError(Code.INFLATE_FAILED, f"deflated data set: {error}", pos) from None
    if len(inflated) > limit:
        raise TooLargeError(f"inflated data set exceeds {limit} bytes", pos)
    if not inflater.eof:
        raise ReadError(Code.INFLATE_FAILED, "deflated data set ends before its stream", pos)
    return inflated


def read(
    data: bytes,
    *,
    max_inflated: int = DEFAULT_MAX_INFLATED,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> ElementTable:
    """Lay out ``data`` (a whole DICOM file, or a bare data set) as an element table.

    Raises a :class:`~deidengine.core.errors.ReadError` (one clean exception, a stable
    ``code``) when the bytes are not a stream the table can describe exactly."""
    data = bytes(data)
    if not data:
        raise ReadError(Code.EMPTY, "no bytes", 0)
    preamble: bytes | None = None
    pos = 0
    if data[PREAMBLE_LENGTH : PREAMBLE_LENGTH + 4] == PREFIX:
        preamble = data[:PREAMBLE_LENGTH]
        pos = PREAMBLE_LENGTH + 4
    walk = _Walk(data, max_depth)
    meta_explicit = True
    if len(data) - pos >= 6 and struct.unpack_from("<H", data, pos)[0] == 2:
        meta_explicit = _is_letters(data[pos + 4 : pos + 6])
        pos = walk.dataset(pos, len(data), meta_explicit, True, 0, TOP, group_only=2)
    meta_end = pos if walk.rows else 0
    if len(data) - pos >= 8 and struct.unpack_from("<H", data, pos)[0] == 0:
        # pydicom reads a Command Set (group 0000) here, always implicit VR little endian.
        pos = walk.dataset(pos, len(data), False, True, 0, TOP, group_only=0)
    walk.trailing = 0
    meta_rows = [row for row in walk.rows if row.tag >> 16 == 2]
    syntax = _transfer_syntax(walk, meta_rows)
    deflated = False
    if syntax is None:
        explicit, little = _guess_encoding(data, pos)
    elif syntax == IMPLICIT_VR_LITTLE_ENDIAN:
        explicit, little = False, True
    elif syntax == EXPLICIT_VR_BIG_ENDIAN:
        explicit, little = True, False
    elif syntax == DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN:
        explicit, little, deflated = True, True, True
    elif syntax in KNOWN_TRANSFER_SYNTAXES:
        explicit, little = True, True
    else:
        raise ReadError(
            Code.UNKNOWN_TRANSFER_SYNTAX, "the meta's Transfer Syntax UID is not one known", pos
        )
    if deflated:
        data = data[:pos] + _inflate(data, pos, max_inflated)
        walk.data, walk.size = data, len(data)
    if syntax is not None and len(data) - pos >= 6:
        found = _is_letters(data[pos + 4 : pos + 6])
        if found != explicit:
            raise ReadError(
                Code.TRANSFER_SYNTAX_MISMATCH,
                "the data set's encoding contradicts the meta's transfer syntax",
                pos,
            )
    walk.dataset(pos, len(data), explicit, little, 0, TOP)
    encoding = (explicit, little, deflated, meta_explicit, walk.trailing)
    facts = FileFacts(preamble, meta_end, syntax, *encoding)
    return ElementTable(
        data=data,
        rows=tuple(walk.rows),
        facts=facts,
        charsets=walk.charsets,
        _ordered=walk.ordered,
    )
