"""The provenance stamp as element table edits: what :func:`~.stamp.stamp_provenance` writes
into a Dataset, written instead by :func:`deidengine.core.writer.encode` from the input's table.

The stamp's content is decided once (:func:`~deidengine.provenance.stamp.provenance_stamp`,
from :class:`~deidengine.provenance.stamp.WhatRan`); this module only encodes it:

- each stamped element becomes a top-level addition (an addition replaces the element of the
  same tag the table holds, and anything the header stage did to it: the stamp comes last);
- a sequence the stamp leaves out because it would have no item is removed;
- Contributing Equipment Sequence becomes a new element holding the items the data set still
  has (item rows of the table, with the header stage's edits inside them) and the stamp's own,
  as pydicom writes the sequence :func:`~.stamp.stamp_provenance` builds;
- text is encoded in the top-level data set's character set, as pydicom encodes it; numbers
  in the table's byte order (the writer writes the table's encoding).

:func:`kept_private_blocks_of_table` is :func:`~.stamp.kept_private_blocks` for the same
table: the private blocks the written file still holds, from the table and the header stage's
edits (:func:`deidengine.dicom.private_blocks.table_inventory`).

tests/provenance/test_provenance_stamp_edits.py holds ``encode(table, edits)`` to the bytes of
the Dataset path (stamp, then :func:`deidengine.dicom.encode.encode_file`) on real files and
the corpora.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from functools import lru_cache

from pydicom.charset import encode_string

from deidengine.core import values
from deidengine.core.table import TOP, ElementTable, Kind
from deidengine.core.writer import Edits, NewItem, Value
from deidengine.dicom.private_blocks import PrivateInventory, table_inventory
from deidengine.provenance.stamp import (
    KeptPrivateBlock,
    KnownSafe,
    StampElement,
    WhatRan,
    kept_blocks,
    provenance_stamp,
)
from deidengine.provenance.vocabulary import Tag
from deidengine.standard.vr_classes import CHARACTER_SET_VRS, PIXEL_DATA_TAGS

__all__ = ["kept_private_blocks_of_table", "provenance_edits", "stamp_value"]

EQUIPMENT = int(Tag.ContributingEquipmentSequence)


def stamp_value(element: StampElement, encodings: list[str], little: bool) -> Value:
    """``element`` as the writer's :class:`~deidengine.core.writer.Value`: text in
    ``encodings`` (the data set's character set; ISO 8859-1 for VRs outside it, as pydicom
    writes them), unsigned shorts in the byte order ``little``, a sequence by its items."""
    if element.vr == "SQ":
        items: tuple[NewItem, ...] = tuple(
            tuple((child.tag, stamp_value(child, encodings, little)) for child in item)
            for item in element.items
        )
        return Value("SQ", b"", items)
    if element.vr == "US":
        numbers = tuple(int(number) for number in element.value if isinstance(number, int))
        order = "<" if little else ">"
        return Value("US", struct.pack(f"{order}{len(numbers)}H", *numbers))
    value = element.value
    text = value if isinstance(value, str) else "\\".join(str(part) for part in value)
    if element.vr in CHARACTER_SET_VRS:
        return Value(element.vr, encode_string(text, encodings))
    return Value(element.vr, text.encode("latin-1"))


def _top_encodings(table: ElementTable) -> list[str]:
    own = table.charsets.get(TOP)
    if own is None:
        return ["iso8859"]
    return values.encodings(table, own)


@lru_cache(maxsize=256)
def _stamped(
    ran: WhatRan, is_image: bool, encodings: tuple[str, ...], little: bool
) -> tuple[frozenset[int], tuple[tuple[int, Value], ...], tuple[NewItem, ...]]:
    """The stamp of ``ran`` as writer values: the tags it removes, its elements, the new
    item of Contributing Equipment Sequence. A run stamps the same few ``ran`` (a policy, a
    date treatment, the kept blocks) on file after file; the values are immutable."""
    stamp = provenance_stamp(ran, is_image=is_image)
    written = list(encodings)
    elements = tuple(
        (element.tag, stamp_value(element, written, little)) for element in stamp.elements
    )
    equipment = StampElement(EQUIPMENT, "SQ", (stamp.equipment_item,))
    return stamp.removed, elements, stamp_value(equipment, written, little).items


def provenance_edits(table: ElementTable, ran: WhatRan, edits: Edits | None = None) -> Edits:
    """``edits`` (the header stage's, or none) with the provenance stamp of ``ran`` added:
    ``encode(table, provenance_edits(table, ran, edits))`` writes what stamping the dataset
    the edits describe writes (see the module)."""
    edits = edits or Edits()
    top = table.top_level()  # the last of a repeated tag, as pydicom keeps
    added = dict(edits.add.get(TOP, ()))
    is_image = any(
        (tag in top and top[tag] not in edits.remove) or tag in added for tag in PIXEL_DATA_TAGS
    )
    removed, stamped, new_item = _stamped(
        ran, is_image, tuple(_top_encodings(table)), table.facts.little
    )
    remove = set(edits.remove)
    for tag in removed:
        if tag in top:
            remove.add(top[tag])
    additions = [(tag, value) for tag, value in edits.add.get(TOP, ()) if tag not in removed]
    additions.extend(stamped)
    additions.append(
        (EQUIPMENT, Value("SQ", b"", (*_equipment_items(table, edits, top), *new_item)))
    )
    add = {**edits.add, TOP: tuple(additions)}
    return Edits(replace=edits.replace, remove=frozenset(remove), add=add)


def _equipment_items(
    table: ElementTable, edits: Edits, top: Mapping[int, int]
) -> tuple[NewItem, ...]:
    """The items Contributing Equipment Sequence holds after the header stage: the table's
    (less those removed), or those of a sequence the stage put in its place."""
    for tag, value in edits.add.get(TOP, ()):
        if tag == EQUIPMENT:
            return value.items
    index = top.get(EQUIPMENT)
    if index is None or index in edits.remove:
        return ()
    if index in edits.replace:
        return edits.replace[index].items
    return tuple(
        item
        for item in table.children(index)
        if table.rows[item].kind is Kind.ITEM and item not in edits.remove
    )


def kept_private_blocks_of_table(
    before: PrivateInventory, table: ElementTable, edits: Edits, known_safe: KnownSafe
) -> tuple[KeptPrivateBlock, ...]:
    """:func:`~deidengine.provenance.stamp.kept_private_blocks` of the file ``table`` with
    ``edits`` writes (``before``: the input's inventory, as
    :func:`~deidengine.dicom.facts.table_facts` gives it)."""
    if not before:
        return ()  # the rule kept_blocks applies, decided before any walk
    return kept_blocks(before, table_inventory(table, edits), known_safe)
