"""The pydicom ``Dataset`` an element table stands for, built without parsing the bytes again.

The checks that judge an output (leak scan, conformance, provenance) read a pydicom
:class:`~pydicom.dataset.Dataset`; the lean reader has already laid the same bytes out as an
:class:`~deidengine.core.table.ElementTable`. :func:`dataset_of` turns the table into the
dataset ``pydicom.dcmread(io.BytesIO(data), force=True)`` gives, so the bytes are parsed once.

"The dataset pydicom gives" means the state a reader of it sees, element by element:

- **Elements stay raw.** Every element but a sequence is a pydicom ``RawDataElement`` built
  as pydicom's element generator builds it (the header's VR, or ``None`` for implicit VR; the
  length field; the value bytes; the value's position; the data set's encoding flags), so
  pydicom converts it on first access exactly as it converts its own: VR look-ups (private
  ones through the data set's creators), character sets, ambiguous VRs.
- **Sequences are built, not re-parsed.** pydicom holds a defined-length sequence as raw
  bytes and parses them on first access; here its items come from the table's rows. What
  that first access leaves behind (the element's private creator, the items' pixel
  representation used to resolve ``US or SS``) is done once, top down, as a full walk of
  pydicom's dataset would leave it. An undefined-length sequence is a ``DataElement`` in both.
- **Each data set** carries pydicom's reading state: its encoding (an item may be implicit VR
  inside an explicit file), the character set inherited from its parent, whether it had an
  undefined length, where it stood (``seq_item_tell``, ``file_tell`` and each element's
  ``value_tell`` counted from the buffer pydicom parsed it from).
- **The file** is a :class:`~pydicom.dataset.FileDataset`: preamble, File Meta Information
  (in its own encoding, with the elements pydicom converts while reading it converted), a
  Command Set merged into the data set, the data set's original encoding. A deflated data
  set's positions count from the start of the inflated stream, as pydicom's do.

Encapsulated Pixel Data is one raw value from its first fragment's header to its delimiter,
as pydicom holds it; fragment rows add nothing. Values are bytes slices of the table's buffer:
nothing is decoded until asked. tests/core/test_core_dataset_view.py holds every element's
value, VR and nesting, the file meta and the encoding flags to ``dcmread``'s on every file the
reader accepts, and ``dcmwrite``'s bytes of both to be equal.
"""

from __future__ import annotations

import io
from collections.abc import MutableSequence
from typing import Any, Final, cast

from pydicom.charset import convert_encodings, default_encoding
from pydicom.datadict import _dictionary_vr_fast
from pydicom.dataelem import (
    DataElement,
    RawDataElement,
    convert_raw_data_element,
    empty_value_for_VR,
)
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag
from pydicom.values import convert_string

from deidengine.core.table import TOP, UNDEFINED_LENGTH, ElementTable, Kind, Row

__all__ = ["dataset_of"]

SPECIFIC_CHARACTER_SET: Final = 0x00080005
PIXEL_REPRESENTATION: Final = BaseTag(0x00280103)
COMMAND_GROUP: Final = 0x0000
_new_raw = tuple.__new__
Encoding = str | MutableSequence[str]
Elements = dict[BaseTag, RawDataElement | DataElement]


def _raw_vr(row: Row) -> str | None:
    """The VR pydicom's element generator gives a non-sequence element."""
    if row.explicit and row.encoded_vr:
        return row.encoded_vr
    if not row.undefined_length:
        return None  # implicit VR: pydicom looks it up when it converts the element
    try:  # an undefined-length implicit value: the generator looks its VR up at once
        return _dictionary_vr_fast(row.tag)
    except KeyError:
        return None


class _Layout:
    """The table's rows sorted into data sets in one pass (rows stand in file order).

    A data set is keyed by ``TOP`` (the top level), an item's row index, or one of the two
    pseudo keys for the File Meta Information and the Command Set, which pydicom reads as
    data sets of their own."""

    META = -2
    COMMAND = -3

    def __init__(self, table: ElementTable, base: int) -> None:
        self.table = table
        self.elements: dict[int, Elements] = {TOP: {}, self.META: {}, self.COMMAND: {}}
        #: where a data set's positions count from (pydicom parses a defined-length
        #: sequence from a buffer of its value)
        self.frame: dict[int, int] = {TOP: base, self.META: 0, self.COMMAND: 0}
        #: a data set's sequences (row indexes), and each sequence's items
        self.sequences: dict[int, list[int]] = {}
        self.items: dict[int, list[int]] = {}
        #: for an undefined-length sequence: its holder's Specific Character Set row read
        #: before it (pydicom's element generator passes that encoding to its items)
        self.charset_before: dict[int, int | None] = {}
        self._lay_out()

    def _holder(self, row: Row) -> int:
        if row.parent != TOP:
            return row.parent
        if row.header < self.table.facts.meta_end:
            return self.META
        if row.tag >> 16 == COMMAND_GROUP:
            return self.COMMAND
        return TOP

    def explicit(self, holder: int) -> bool:
        facts = self.table.facts
        if holder == TOP:
            return facts.explicit
        if holder == self.META:
            return facts.meta_explicit
        if holder == self.COMMAND:
            return False
        return self.table.rows[holder].explicit

    def _lay_out(self) -> None:
        table = self.table
        data = table.data
        elements = self.elements
        frame = self.frame
        seen_charset: dict[int, int] = {}
        for index, row in enumerate(table.rows):
            kind = row.kind
            if kind is Kind.FRAGMENT:
                continue  # inside its Pixel Data element's raw value
            holder = self._holder(row)
            if kind is Kind.ITEM:
                sequence = table.rows[holder]
                container = self._holder(sequence)
                frame[index] = frame[container] if sequence.undefined_length else sequence.offset
                elements[index] = {}
                self.items[holder].append(index)
                continue
            tag = BaseTag(row.tag)
            position = row.offset - frame[holder]
            if row.vr == "SQ":
                value = Sequence()
                if row.length or row.undefined_length:
                    # pydicom converts an empty defined-length value to a bare Sequence
                    value.is_undefined_length = row.undefined_length
                element = DataElement(
                    tag, "SQ", value, position, row.undefined_length, already_converted=True
                )
                elements[holder][tag] = element
                self.sequences.setdefault(holder, []).append(index)
                self.items[index] = []
                if row.undefined_length:
                    self.charset_before[index] = seen_charset.get(holder)
                continue
            if row.undefined_length:
                length = UNDEFINED_LENGTH
            else:
                length = row.length
                if row.tag == SPECIFIC_CHARACTER_SET:
                    seen_charset[holder] = index
            vr = _raw_vr(row)
            value_bytes: bytes | None
            if length:
                value_bytes = data[row.offset : row.offset + row.length]
            else:  # pydicom's empty raw value (None for the number strings)
                value_bytes = cast(bytes | None, empty_value_for_VR(vr, raw=True))
            fields = (tag, vr, length, value_bytes, position)
            flags = (not self.explicit(holder), row.little, True, False)
            elements[holder][tag] = _new_raw(RawDataElement, (*fields, *flags))


def _generator_encoding(table: ElementTable, index: int | None, parent: Encoding) -> Encoding:
    """The encoding pydicom's element generator holds after reading row ``index``, a
    Specific Character Set (``None``: none read yet)."""
    if index is None:
        return parent
    value = table.value(index)
    return convert_encodings(convert_string(value or b"", table.rows[index].little))


def _own_encoding(dataset: Dataset, parent: Encoding) -> Encoding:
    """read_dataset's encoding of a data set: its Specific Character Set, or its parent's."""
    raw = dataset._dict.get(BaseTag(SPECIFIC_CHARACTER_SET))
    if raw is None:
        return parent
    if isinstance(raw, DataElement):
        return convert_encodings(raw.value)
    return convert_encodings(convert_raw_data_element(raw).value)


class _Assembly:
    """The pydicom datasets of a laid-out table, built top down."""

    def __init__(self, layout: _Layout) -> None:
        self.layout = layout
        self.table = layout.table

    def dataset(self, holder: int, parent: Encoding) -> Dataset:
        layout = self.layout
        dataset = Dataset(layout.elements[holder], parent_encoding=parent)
        own = _own_encoding(dataset, parent)
        little = self.table.facts.little if holder == TOP else self.table.rows[holder].little
        dataset.set_original_encoding(not layout.explicit(holder), little, own)
        for index in layout.sequences.get(holder, ()):
            row = self.table.rows[index]
            if row.undefined_length:
                start = layout.charset_before[index]
                encoding = _generator_encoding(self.table, start, parent)
            else:  # pydicom's value conversion passes the encoding as a list
                encoding = own or [default_encoding]
                encoding = [encoding] if isinstance(encoding, str) else encoding
            element = layout.elements[holder][BaseTag(row.tag)]
            if not isinstance(element, DataElement) or element.VR != "SQ":
                continue  # a later element of the same tag replaced it, as in pydicom
            value = element.value
            for item in layout.items[index]:
                value.append(self.item(item, encoding, layout.frame[holder]))
        return dataset

    def item(self, index: int, parent: Encoding, container_frame: int) -> Dataset:
        row = self.table.rows[index]
        dataset = self.dataset(index, parent)
        dataset.is_undefined_length_sequence_item = row.undefined_length
        dataset.seq_item_tell = row.header - container_frame
        dataset.file_tell = row.header - container_frame
        return dataset


def _converted(dataset: Dataset, tag: BaseTag) -> Any:
    """The value of ``dataset``'s element ``tag`` as pydicom converts it, without storing the
    conversion (pydicom's own access would; what a reader later sees is the same)."""
    element = dataset._dict[tag]
    if isinstance(element, DataElement):
        return element.value
    encoding = dataset.original_character_set or dataset._character_set
    return convert_raw_data_element(element, encoding=encoding, ds=dataset).value


def _pixel_representation(dataset: Dataset) -> None:
    """pydicom's ``_set_pixel_representation`` for ``dataset`` itself: its own Pixel
    Representation when it has one, else the one it inherited."""
    if PIXEL_REPRESENTATION in dataset._dict:
        value = _converted(dataset, PIXEL_REPRESENTATION)
        if value is not None:
            dataset._pixel_rep = int(b"\x01" in value) if isinstance(value, bytes) else value


def _settle(dataset: Dataset, layout: _Layout, holder: int) -> None:
    """Leave what pydicom's first access to each defined-length sequence leaves, top down:
    the element's private creator, the data set's and the items' pixel representation (used
    to resolve ``US or SS`` below). Values are converted for this, not stored."""
    rows = layout.table.rows
    for index in layout.sequences.get(holder, ()):
        tag = BaseTag(rows[index].tag)
        element = dataset._dict.get(tag)
        if not isinstance(element, DataElement) or element.VR != "SQ":
            continue
        if not rows[index].undefined_length:
            if tag.is_private:
                creator = BaseTag(tag & 0xFFFF0000 | (tag & 0xFFFF) >> 8)
                if creator in dataset._dict and creator != tag:
                    element.private_creator = _converted(dataset, creator)
            _pixel_representation(dataset)
            inherited = getattr(dataset, "_pixel_rep", None)
            for item in element.value:
                raw = item._dict.get(PIXEL_REPRESENTATION)
                value = None if raw is None else raw.value
                if value is not None:
                    item._pixel_rep = int(b"\x01" in value) if isinstance(value, bytes) else value
                elif inherited is not None:
                    item._pixel_rep = inherited
        for item, item_index in zip(element.value, layout.items[index], strict=True):
            _settle(item, layout, item_index)


def _stream_base(table: ElementTable) -> int:
    """Where pydicom's positions in the data set count from: 0, or for a deflated data set
    the start of the inflated stream (pydicom parses it from a buffer of its own)."""
    if not table.facts.deflated:
        return 0
    for row in table.rows:
        if row.depth == 0 and row.kind is Kind.ELEMENT and row.tag >> 16 not in (0, 2):
            return row.header
    return len(table.data)


def _file_meta(layout: _Layout, assembly: _Assembly) -> FileMetaDataset:
    """The File Meta Information as pydicom's reader leaves it, with the elements it converts
    while reading converted."""
    meta = FileMetaDataset(assembly.dataset(_Layout.META, default_encoding))
    meta.set_original_encoding(
        not layout.table.facts.meta_explicit, True, character_encoding=default_encoding
    )
    if meta._dict:
        # pydicom converts the first element to test the meta's encoding, and the group
        # length to compare it with the meta's size
        meta[next(iter(meta._dict))]
        if "FileMetaInformationGroupLength" in meta:
            meta.FileMetaInformationGroupLength  # noqa: B018
    meta.get("TransferSyntaxUID")  # and reads the transfer syntax to parse the data set
    return meta


def dataset_of(table: ElementTable) -> FileDataset:
    """The :class:`~pydicom.dataset.FileDataset` ``pydicom.dcmread(..., force=True)`` reads
    from the bytes ``table`` lays out (see the module for what is held equal)."""
    layout = _Layout(table, _stream_base(table))
    assembly = _Assembly(layout)
    meta = _file_meta(layout, assembly)
    dataset = assembly.dataset(TOP, default_encoding)
    command_set = assembly.dataset(_Layout.COMMAND, default_encoding)
    if command_set:
        dataset.update(command_set)
    facts = table.facts
    # pydicom's buffer: the file, or a deflated data set's inflated stream (a copy, as
    # pydicom's is)
    buffer = DicomBytesIO(table.data[layout.frame[TOP] :]) if facts.deflated else None
    output = FileDataset(
        buffer or io.BytesIO(table.data),
        dataset,
        facts.preamble,
        meta,
        not facts.explicit,
        facts.little,
    )
    output.set_original_encoding(not facts.explicit, facts.little, dataset._character_set)
    _settle(output, layout, TOP)
    return output
