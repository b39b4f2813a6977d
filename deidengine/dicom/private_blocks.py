"""Private blocks by what they hold: the tally behind the input's and the output's inventories.

Blocks are named by (group, Private Creator value), not by block number: PS3.3 notes that
block numbers may be reassigned but the creator value is preserved. A creator names the
members of its own item only, so the tally takes one item's private elements at a time; the
walk that feeds it is the caller's (:func:`deidengine.dicom.facts.input_facts` on the input,
:func:`deidengine.provenance.stamp.private_block_inventory` on the output).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from pydicom.dataset import Dataset

from deidengine.core.table import TOP, ElementTable, Kind
from deidengine.core.values import resolved_vr
from deidengine.core.writer import Edits, Value
from deidengine.dicom.elements import AnyElement, value_text
from deidengine.dicom.table_values import BINARY_VRS, converted_texts, hidden_rows
from deidengine.standard.dictionary import is_private_group

__all__ = [
    "PrivateBlockTally",
    "PrivateInventory",
    "creator_reader",
    "creator_text",
    "table_inventory",
]

#: (group, Private Creator value) → element offsets (the low 8 bits of the tag) in that block.
PrivateInventory = Mapping[tuple[int, str], frozenset[int]]


def creator_text(table: ElementTable, index: int) -> str:
    """A Private Creator row's value as text, as the Dataset walk reads the converted element
    (:func:`deidengine.dicom.elements.element_text`): its values joined by backslashes, bytes
    as ISO 8859-1."""
    vr = resolved_vr(table, index)
    if vr in BINARY_VRS:
        return table.value(index).decode("latin-1")
    return "\\".join(converted_texts(table, index, vr))


class PrivateBlockTally:
    """Accumulates, item by item, which element offsets each private block holds."""

    def __init__(self) -> None:
        self._found: dict[tuple[int, str], set[int]] = {}

    def add_item(self, item: Dataset, private: Iterable[tuple[int, str, AnyElement]]) -> None:
        """Count ``item``'s private elements ``(tag, vr, element)``; creators are converted
        from their raw form when their text needs it."""
        elements = {tag: (vr, element) for tag, vr, element in private}

        def text_of(tag: int) -> str:
            vr, element = elements[tag]
            return value_text(item, tag, element, vr, None)

        self.add_elements(elements, text_of)

    def add_elements(self, tags: Iterable[int], creator_text: Callable[[int], str]) -> None:
        """Count one item's private elements by tag (each tag once, as a data set holds it);
        ``creator_text(tag)`` reads a Private Creator's value as text. The rules every walk
        shares, over a Dataset (:meth:`add_item`) or an element table
        (:func:`deidengine.dicom.facts.table_facts`)."""
        creators: dict[int, str] = {}  # creator tag (gggg,00bb) -> its text
        members: list[int] = []
        for tag in tags:
            number = tag & 0xFFFF
            if number >= 0x1000:
                members.append(tag)
            elif 0x0010 <= number <= 0x00FF and is_private_group(tag >> 16):
                text = creator_text(tag).strip(" \x00")
                if text:
                    creators[tag] = text
        if not creators:
            return
        blocks: dict[int, set[int]] = {}
        for tag in members:
            # A member (gggg,bbxx) belongs to the block its creator (gggg,00bb) reserved.
            creator = tag & 0xFFFF0000 | (tag >> 8) & 0xFF
            offsets = blocks.get(creator)
            if offsets is None:
                name = creators.get(creator)
                if name is None:
                    continue
                offsets = blocks[creator] = self._found.setdefault((tag >> 16, name), set())
            offsets.add(tag & 0xFF)

    def result(self) -> dict[tuple[int, str], frozenset[int]]:
        return {key: frozenset(offsets) for key, offsets in self._found.items()}


def table_inventory(table: ElementTable, edits: Edits | None = None) -> PrivateInventory:
    """The private blocks of the data set ``table`` holds, merged over every depth; with
    ``edits``, of the data set :func:`deidengine.core.writer.encode` writes from it: rows
    removed (with everything nested in them) and nested in a replaced row are gone, a
    replaced creator names its block by its new text (ISO 8859-1), added private elements
    count. What :func:`deidengine.provenance.stamp.private_block_inventory` gives of the
    dataset those edits describe."""
    edits = edits or Edits()
    rows = table.rows
    meta_end = table.facts.meta_end
    hidden = hidden_rows(table)
    cut: set[int] = set()  # rows whose nested rows are not written
    items: dict[int, dict[int, int | Value]] = {}  # data set -> private tag -> row or value
    for index, row in enumerate(rows):
        if row.header < meta_end:
            continue
        if (row.parent != TOP and row.parent in cut) or index in edits.remove or index in hidden:
            cut.add(index)
            continue
        if index in edits.replace:
            cut.add(index)
        if row.kind is Kind.ELEMENT and (row.tag >> 16) & 1:
            value = edits.replace.get(index)
            items.setdefault(row.parent, {})[row.tag] = index if value is None else value
    for holder, added in edits.add.items():
        for tag, value in added:
            if (tag >> 16) & 1 and holder not in cut:
                items.setdefault(holder, {})[tag] = value
    tally = PrivateBlockTally()
    for item in items.values():
        tally.add_elements(item, creator_reader(table, item))
    return tally.result()


def creator_reader(table: ElementTable, item: Mapping[int, int | Value]) -> Callable[[int], str]:
    """Reads a Private Creator of ``item`` (its private rows, or new values, by tag)."""

    def text(tag: int) -> str:
        entry = item[tag]
        if isinstance(entry, Value):
            return entry.data.decode("latin-1")
        return creator_text(table, entry)

    return text
