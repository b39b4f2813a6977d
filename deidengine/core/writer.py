"""Encode an element table, with its edits, as the bytes pydicom's ``dcmwrite`` writes.

An engine acting on the table never mutates it: its actions are :class:`Edits` keyed by row
index (a new value for a row, a row removed, an element added to a data set), and
:func:`encode` writes the table with the edits applied in one pass. Every untouched element is
copied from the bytes it was read from; only what pydicom itself re-encodes is re-encoded, so
for unchanged content the output equals ``dcmwrite(fp, dcmread(fp, force=True),
enforce_file_format=True)`` (the engine's writing policy) byte for byte. tests/core holds it
to that over every pydicom test file ``dcmwrite`` can write.

What ``dcmwrite`` re-encodes, and so does this module:

- **File Meta Information.** Group length recomputed; File Meta Information Version,
  Implementation Class UID and Version Name added when missing (pydicom's own); Media Storage
  SOP Class and Instance UIDs taken from the data set's SOP Class and Instance UIDs when those
  differ; the UIDs it reads (Media Storage, Transfer Syntax, Implementation Class) written back
  stripped and NUL-padded. A missing Transfer Syntax UID is implicit VR little endian or
  explicit VR big endian by the data set's encoding.
- **Data sets it walks** (the top level and the items of undefined-length sequences): elements
  in tag order, the last of a repeated tag kept, group lengths (gggg,0000) of groups above 6
  dropped, Specific Character Set re-encoded; item lengths recomputed.
- **Top level.** SOP Class and Instance UIDs re-encoded; Pixel Data given an undefined length
  exactly when the transfer syntax is compressed.
- A defined-length sequence is copied whole, as pydicom copies a sequence it never parsed;
  an edit inside one makes it a walked sequence (pydicom would have parsed it to edit it).

``preamble`` is a parameter: ``None`` writes the file's own (zeros when it has none), as
``dcmwrite`` does; the engine's policy passes its own 128 bytes.

An item read in another encoding than its file (implicit VR items in an explicit VR file, as
in a UN sequence) is written in the file's encoding with each element's dictionary VR and every
sequence in it walked, as pydicom converts it; values are copied as read (pydicom decodes and
re-encodes them, which gives the same bytes for values padded as the standard pads them).

Not written (an :class:`~deidengine.core.errors.EncodingError`): a lone element read as
implicit VR inside an explicit VR data set, an ambiguous VR to write explicitly, a meta read in
implicit VR; group 0000 or stray group 0002 elements in the data set (``dcmwrite`` refuses
them); a value too long for its VR's length field (pydicom would silently turn it into UN).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, NamedTuple

from pydicom import __version_info__
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, UID
from pydicom.valuerep import EXPLICIT_VR_LENGTH_32, VR

from deidengine.core import values
from deidengine.core.dictionary import implicit_vr
from deidengine.core.errors import EncodingError
from deidengine.core.table import TOP, UNDEFINED_LENGTH, ElementTable, Kind
from deidengine.standard.dictionary import PIXEL_DATA

__all__ = ["Edits", "NewItem", "Value", "encode"]

PREAMBLE_LENGTH: Final = 128
LONG_VRS: Final = frozenset(str(vr) for vr in EXPLICIT_VR_LENGTH_32)
#: Text VRs padded with a space to an even length; every other VR pads with NUL.
SPACE_PADDED: Final = frozenset(
    {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UR", "UT"}
)
DEFLATED: Final = "1.2.840.10008.1.2.1.99"
IMPLICIT_VR_LITTLE_ENDIAN: Final = "1.2.840.10008.1.2"
EXPLICIT_VR_BIG_ENDIAN: Final = "1.2.840.10008.1.2.2"
GROUP_LENGTH: Final = 0x00020000
VERSION: Final = 0x00020001
MEDIA_CLASS: Final = 0x00020002
MEDIA_INSTANCE: Final = 0x00020003
TRANSFER_SYNTAX: Final = 0x00020010
IMPLEMENTATION_CLASS: Final = 0x00020012
IMPLEMENTATION_VERSION: Final = 0x00020013
#: Meta UIDs ``dcmwrite`` reads (and so writes back re-encoded).
META_UIDS: Final = frozenset({MEDIA_CLASS, MEDIA_INSTANCE, TRANSFER_SYNTAX, IMPLEMENTATION_CLASS})
SOP_CLASS: Final = 0x00080016
SOP_INSTANCE: Final = 0x00080018
SPECIFIC_CHARACTER_SET: Final = 0x00080005
#: Elements ``dcmwrite`` reads before writing (so writes as converted): in every data set it
#: walks, and at the top level only.
CONVERTED: Final = frozenset({SPECIFIC_CHARACTER_SET})
TOP_CONVERTED: Final = frozenset({SOP_CLASS, SOP_INSTANCE, PIXEL_DATA})
ITEM: Final = 0xFFFEE000
ITEM_DELIMITER: Final = 0xFFFEE00D
SEQUENCE_DELIMITER: Final = 0xFFFEE0DD
ELEMENT: Final = Kind.ELEMENT
#: Values longer than this are written from a view of the table's bytes, not a copy.
VIEWED_LENGTH: Final = 1 << 12
#: Element headers by byte order (little endian: True): implicit VR, explicit VR with a 4-byte
#: length, explicit VR with a 2-byte length.
_IMPLICIT_HEADER: Final = {True: struct.Struct("<HHL").pack, False: struct.Struct(">HHL").pack}
_LONG_HEADER: Final = {True: struct.Struct("<HH2sHL").pack, False: struct.Struct(">HH2sHL").pack}
_SHORT_HEADER: Final = {True: struct.Struct("<HH2sH").pack, False: struct.Struct(">HH2sH").pack}
#: Each two-letter VR's header bytes, and whether its length takes 4 bytes.
_VR_FORMS: Final = {
    str(vr): (str(vr).encode("ascii"), str(vr) in LONG_VRS) for vr in VR if len(str(vr)) == 2
}


#: A new sequence's item: an item row of the table (written as the writer writes a walked
#: item, edits inside it applied), or new elements ``(tag, value)``.
NewItem = int | tuple[tuple[int, "Value"], ...]


class Value(NamedTuple):
    """A value to write: its VR and its encoded bytes (padding is the writer's job).

    A new sequence (VR ``SQ``) gives its ``items`` instead of bytes: it is written as pydicom
    writes a sequence element it did not read, a defined length with defined-length new
    items (an item row keeps its own length form), each in the data set's encoding."""

    vr: str
    data: bytes
    items: tuple[NewItem, ...] = ()


@dataclass(frozen=True, slots=True)
class Edits:
    """What an engine changes: new values by row, rows removed (an element, a sequence with
    its items, or one item), elements added per data set (``-1`` for the top level, else an
    item's row index)."""

    replace: Mapping[int, Value] = field(default_factory=dict)
    remove: frozenset[int] = frozenset()
    add: Mapping[int, tuple[tuple[int, Value], ...]] = field(default_factory=dict)


def _padded(vr: str, data: bytes) -> bytes:
    if len(data) % 2:
        return data + (b" " if vr in SPACE_PADDED else b"\0")
    return data


def _uid_bytes(text: str) -> bytes:
    return _padded("UI", text.encode("latin-1"))


class _Writer:
    """One encoding of one table."""

    def __init__(self, table: ElementTable, edits: Edits) -> None:
        self.table = table
        self.rows = table.rows
        self.edits = edits
        self.touched = self._touched()
        #: The removed rows by the data set holding them: each data set walked asks once.
        self.removed: dict[int, list[int]] = {}
        rows = self.rows
        for index in edits.remove:
            self.removed.setdefault(rows[index].parent, []).append(index)
        #: Pixel Data's length policy: undefined exactly for a compressed transfer syntax
        #: (None: a syntax pydicom does not know, the length stays as read).
        self.pixel_undefined: bool | None = None
        self.ordered = table.ordered()
        #: The output's pieces, in order, joined once: each structure puts a placeholder for
        #: its header where it starts and fills it once its content's length is known, so no
        #: content is copied into its enclosing item or sequence on the way up.
        self.out: list[bytes | memoryview] = []

    def _touched(self) -> set[int]:
        """Rows with an edit somewhere below them: a sequence among them must be walked."""
        touched: set[int] = set()
        rows = self.rows
        for start in (*self.edits.replace, *self.edits.remove, *self.edits.add):
            # Only a sequence is asked whether it is touched, and an edited row is written
            # from its edit (or not at all): the walk up starts at its parent.
            index = rows[start].parent if start != TOP else TOP
            while index != TOP and index not in touched:
                touched.add(index)
                index = rows[index].parent
        return touched

    def header(self, tag: int, vr: str, length: int, explicit: bool, little: bool) -> bytes:
        group, element = tag >> 16, tag & 0xFFFF
        if not explicit:
            return _IMPLICIT_HEADER[little](group, element, length)
        form = _VR_FORMS.get(vr)
        if form is None:
            if len(vr) != 2:
                raise EncodingError("an element has no single VR to write")
            form = (vr.encode("ascii"), vr in LONG_VRS)
        vr_bytes, long = form
        if long:
            return _LONG_HEADER[little](group, element, vr_bytes, 0, length)
        if length > 0xFFFF:
            raise EncodingError("a value is too long for its VR's 2-byte length field")
        return _SHORT_HEADER[little](group, element, vr_bytes, length)

    def dataset(
        self, parent: int, explicit: bool, little: bool, *, top: bool, convert: bool = False
    ) -> int:
        """Write the elements of a walked data set, in tag order; return how many bytes.
        ``convert``: the data set was read in another encoding (an implicit VR item in an
        explicit VR file), so pydicom writes every element with its dictionary VR and walks
        every sequence in it."""
        table, rows = self.table, self.rows
        meta_end = table.facts.meta_end if top else -1
        added = self.edits.add.get(parent, ())
        if self.ordered and not added:
            # File order is tag order and nothing joins the data set: its rows as they stand.
            return self._ordered_dataset(parent, explicit, little, top, convert, meta_end)
        latest: dict[int, int | Value] = {}
        for index in table.grouped().get(parent, ()):
            row = rows[index]
            if row.kind is not ELEMENT or row.header < meta_end:  # meta_end: is_meta at the top
                continue
            if row.explicit != explicit and not convert:
                raise EncodingError("an element is in another encoding than its data set")
            latest[row.tag] = index
        for index in self.removed.get(parent, ()):
            if latest.get(rows[index].tag) == index:
                del latest[rows[index].tag]
        for tag, value in added:
            if top and tag >> 16 == 2:
                continue  # a File Meta Information element: written in the meta (_meta)
            latest[tag] = value
        size = 0
        for tag in sorted(latest):
            if tag & 0xFFFF == 0 and tag >> 16 > 6:
                continue  # retired group lengths are not written (PS3.5 7.2)
            if top and tag >> 16 in (0, 2):
                raise EncodingError("command or file meta elements stand in the data set")
            entry = latest[tag]
            if isinstance(entry, Value):
                size += self.value(tag, entry, explicit, little)
            else:
                size += self.element(entry, explicit, little, top=top, convert=convert)
        return size

    def _ordered_dataset(
        self, parent: int, explicit: bool, little: bool, top: bool, convert: bool, meta_end: int
    ) -> int:
        """:meth:`dataset` of a data set whose rows stand in tag order, none repeated (the
        table is :meth:`~deidengine.core.table.ElementTable.ordered`), with no element added:
        the same checks and bytes, without sorting."""
        rows, remove = self.rows, self.edits.remove
        size = 0
        for index in self.table.grouped().get(parent, ()):
            row = rows[index]
            if row.kind is not ELEMENT or row.header < meta_end:
                continue
            if row.explicit != explicit and not convert:
                raise EncodingError("an element is in another encoding than its data set")
            if index in remove:
                continue
            tag = row.tag
            if tag & 0xFFFF == 0 and tag >> 16 > 6:
                continue  # retired group lengths are not written (PS3.5 7.2)
            if top and tag >> 16 in (0, 2):
                raise EncodingError("command or file meta elements stand in the data set")
            size += self.element(index, explicit, little, top=top, convert=convert)
        return size

    def _pair(self, header: bytes, value: bytes | memoryview) -> int:
        out = self.out
        out.append(header)
        out.append(value)
        return len(header) + len(value)

    def value(self, tag: int, value: Value, explicit: bool, little: bool) -> int:
        """Write a new element, or a new sequence with its items (see :class:`Value`);
        return how many bytes."""
        if not value.items:
            data = _padded(value.vr, value.data)
            return self._pair(self.header(tag, value.vr, len(data), explicit, little), data)
        out = self.out
        slot = len(out)
        out.append(b"")  # the sequence's header, once its length is known
        body = 0
        for item in value.items:
            if isinstance(item, int):
                body += self.item(item, explicit, little)
                continue
            item_slot = len(out)
            out.append(b"")
            content = 0
            for element_tag, element in sorted(item, key=lambda pair: pair[0]):
                content += self.value(element_tag, element, explicit, little)
            out[item_slot] = self.header(ITEM, "", content, False, little)
            body += len(out[item_slot]) + content
        out[slot] = self.header(tag, "SQ", body, explicit, little)
        return len(out[slot]) + body

    def element(
        self, index: int, explicit: bool, little: bool, *, top: bool, convert: bool = False
    ) -> int:
        """Write element row ``index``; return how many bytes."""
        row = self.rows[index]
        tag = row.tag
        replaced = self.edits.replace.get(index)
        if replaced is not None:
            data = _padded(replaced.vr, replaced.data)
            return self._pair(self.header(tag, replaced.vr, len(data), explicit, little), data)
        if row.vr == "SQ" and (row.undefined_length or index in self.touched or convert):
            return self.sequence(index, explicit, little)
        start, end = row.header, row.offset + row.length
        if (
            row.length
            and not (convert or row.undefined_length)
            and tag not in CONVERTED
            and not (top and tag in TOP_CONVERTED)
            and (
                not explicit
                or row.offset - start == 8
                or self.table.data[start + 6 : start + 8] == b"\0\0"
            )
        ):
            # Written as read: the header the writer would make is the one read (the VR as
            # read, the value's length, zeros where a 4-byte length's header reserves two
            # bytes), so the element is one slice of the input, header and value.
            self.out.append(
                memoryview(self.table.data)[start:end]
                if row.length > VIEWED_LENGTH
                else self.table.data[start:end]
            )
            return end - start
        # A large value (Pixel Data) is not copied out of the table: the output's one join
        # copies it.
        value: bytes | memoryview = (
            memoryview(self.table.data)[row.offset : row.offset + row.length]
            if row.length > VIEWED_LENGTH
            else self.table.value(index)
        )
        # pydicom writes a raw element with the VR it was read with, a converted one with
        # the VR it resolved.
        vr = row.vr if convert or not row.encoded_vr else row.encoded_vr
        undefined = row.undefined_length
        # pydicom holds an empty element as converted from the start.
        if tag in CONVERTED or (top and tag in TOP_CONVERTED) or not (row.length or undefined):
            vr = row.vr if len(row.vr) == 2 else vr
        if tag == SPECIFIC_CHARACTER_SET:
            value = _padded("CS", "\\".join(values.strings(self.table, index)).encode("latin-1"))
        elif top and tag in (SOP_CLASS, SOP_INSTANCE) and row.vr == "UI":
            value = _uid_bytes("\\".join(values.strings(self.table, index)))
        elif top and tag == PIXEL_DATA and self.pixel_undefined is not None:
            undefined = self.pixel_undefined
            if vr == "OB" and len(value) % 2:
                value = _padded("OB", bytes(value))
        if undefined:
            if tag == PIXEL_DATA and bytes(value[:4]) != struct.pack(
                "<HH" if little else ">HH", ITEM >> 16, ITEM & 0xFFFF
            ):
                raise EncodingError("compressed Pixel Data is not encapsulated")
            size = self._pair(self.header(tag, vr, UNDEFINED_LENGTH, explicit, little), value)
            self.out.append(self.header(SEQUENCE_DELIMITER, "", 0, False, little))
            return size + 8
        return self._pair(self.header(tag, vr, len(value), explicit, little), value)

    def sequence(self, index: int, explicit: bool, little: bool) -> int:
        """Write the sequence at row ``index`` with its items, walked; return how many
        bytes."""
        row = self.rows[index]
        out, remove = self.out, self.edits.remove
        slot = len(out)
        out.append(b"")  # the sequence's header, once its length is known
        body = 0
        for item in self.table.children(index):
            if item not in remove:
                body += self.item(item, explicit, little)
        if row.undefined_length:
            out[slot] = self.header(row.tag, "SQ", UNDEFINED_LENGTH, explicit, little)
            out.append(self.header(SEQUENCE_DELIMITER, "", 0, False, little))
            return len(out[slot]) + body + 8
        out[slot] = self.header(row.tag, "SQ", body, explicit, little)
        return len(out[slot]) + body

    def item(self, item: int, explicit: bool, little: bool) -> int:
        """Write item row ``item`` with its data set, walked (edits inside it applied);
        return how many bytes."""
        row = self.rows[item]
        out = self.out
        slot = len(out)
        out.append(b"")  # the item's header, once its length is known
        content = self.dataset(item, explicit, little, top=False, convert=row.explicit != explicit)
        if row.undefined_length:
            out[slot] = self.header(ITEM, "", UNDEFINED_LENGTH, False, little)
            out.append(self.header(ITEM_DELIMITER, "", 0, False, little))
            return 16 + content
        out[slot] = self.header(ITEM, "", content, False, little)
        return 8 + content


def _text(table: ElementTable, writer: _Writer, index: int) -> str:
    replaced = writer.edits.replace.get(index)
    if replaced is not None:
        return replaced.data.decode("latin-1").rstrip("\0 ").strip()
    return "\\".join(values.strings(table, index))


#: The data set's elements the meta's Media Storage SOP Class and Instance UIDs follow.
_MEDIA_SOURCES: Final = {SOP_CLASS: MEDIA_CLASS, SOP_INSTANCE: MEDIA_INSTANCE}


def _meta(table: ElementTable, writer: _Writer, syntax: str) -> bytes:
    """The File Meta Information as ``dcmwrite(..., enforce_file_format=True)`` writes it."""
    if not table.facts.meta_explicit:
        raise EncodingError("the File Meta Information was read in implicit VR")
    rows = table.rows
    meta_end = table.facts.meta_end
    meta: dict[int, tuple[str, bytes]] = {}
    top: dict[int, int] = {}  # the data set's SOP Class and Instance UIDs, by tag
    for index in table.children(TOP):
        row = rows[index]
        if row.header < meta_end:  # is_meta: a top-level row before the meta's end
            if index in writer.edits.remove:
                continue
            replaced = writer.edits.replace.get(index)
            vr = row.encoded_vr or implicit_vr(row.tag, None)
            if row.tag in META_UIDS:
                meta[row.tag] = ("UI", _uid_bytes(_text(table, writer, index)))
            elif replaced is not None:
                meta[row.tag] = (replaced.vr, _padded(replaced.vr, replaced.data))
            elif row.tag == VERSION:
                meta[row.tag] = (vr, _padded("OB", table.value(index)))
            else:
                meta[row.tag] = (vr, table.value(index))
        elif row.tag in _MEDIA_SOURCES and index not in writer.edits.remove:
            top[row.tag] = index
    for tag, value in writer.edits.add.get(TOP, ()):
        if tag >> 16 == 2:
            meta[tag] = (value.vr, _padded(value.vr, value.data))
    meta[TRANSFER_SYNTAX] = ("UI", _uid_bytes(syntax))
    for tag, meta_tag in _MEDIA_SOURCES.items():
        own = _text(table, writer, top[tag]) if tag in top else None
        current = meta.get(meta_tag)
        current_text = current[1].decode("latin-1").rstrip("\0 ") if current else None
        if current is None or (own and own != current_text):
            meta[meta_tag] = ("UI", _uid_bytes(own or ""))
    if not meta.get(VERSION, ("", b""))[1]:
        meta[VERSION] = ("OB", b"\x00\x01")
    if not meta.get(IMPLEMENTATION_CLASS, ("", b""))[1]:
        meta[IMPLEMENTATION_CLASS] = ("UI", _uid_bytes(PYDICOM_IMPLEMENTATION_UID))
    if IMPLEMENTATION_VERSION not in meta:
        name = f"PYDICOM {'.'.join(__version_info__)}"
        meta[IMPLEMENTATION_VERSION] = ("SH", _padded("SH", name.encode("ascii")))
    for required in (MEDIA_CLASS, MEDIA_INSTANCE, TRANSFER_SYNTAX):
        if not meta[required][1]:
            raise EncodingError("a required File Meta Information element is empty")
    body = b"".join(
        writer.header(tag, vr, len(data), True, True) + data
        for tag, (vr, data) in sorted(meta.items())
        if tag != GROUP_LENGTH
    )
    return writer.header(GROUP_LENGTH, "UL", 4, True, True) + struct.pack("<L", len(body)) + body


def encode(
    table: ElementTable, edits: Edits | None = None, *, preamble: bytes | None = None
) -> bytes:
    """The DICOM file (preamble, ``DICM``, meta, data set) for ``table`` with ``edits``.

    ``preamble``: 128 bytes to write, or None for the file's own (zeros when it had none).
    Raises :class:`~deidengine.core.errors.EncodingError` for content ``dcmwrite`` would
    refuse or convert value by value (see the module notes)."""
    writer = _Writer(table, edits or Edits())
    facts = table.facts
    if preamble is None:
        preamble = facts.preamble or bytes(PREAMBLE_LENGTH)
    if len(preamble) != PREAMBLE_LENGTH:
        raise EncodingError("a preamble is 128 bytes")
    syntax = facts.transfer_syntax
    if syntax is None:
        if facts.explicit == facts.little:
            raise EncodingError("no Transfer Syntax UID for an explicit VR little endian data set")
        syntax = IMPLICIT_VR_LITTLE_ENDIAN if facts.little else EXPLICIT_VR_BIG_ENDIAN
    uid = UID(syntax)
    if uid.is_transfer_syntax and not uid.is_private:
        writer.pixel_undefined = uid.is_compressed
    meta = _meta(table, writer, syntax)
    out = writer.out
    out.extend((preamble, b"DICM", meta))
    start = len(out)
    writer.dataset(TOP, facts.explicit, facts.little, top=True)
    if syntax == DEFLATED:
        compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        body = b"".join(out[start:])
        del out[start:]
        out.append(_padded("OB", compressor.compress(body) + compressor.flush()))
    return b"".join(out)
