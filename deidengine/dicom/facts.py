"""What the engine needs to know about an input before it changes anything, in one walk.

The header stage edits the dataset in place, and several later steps need the input as it
was: the deny-list (free text is cleaned against the values the file itself states, so it must
be complete before the first text is cleaned), the copy the verifier compares the output
with, the private blocks the provenance stamp reports as removed, and the values rule
conditions read. :func:`input_facts` gathers all of them on one depth-first walk of the input
and returns one immutable :class:`InputFacts`.

On each item of the walk, in this order (the order the separate walks ran in, so that every
element is converted, or left raw, exactly as before):

1. its own elements' identifying values are collected; sequences are noted, not entered;
2. its sequences' items are walked (1-4 for each);
3. it is copied as read: raw elements are shared, converted sequences hold their items' copies
   from step 3 of those items;
4. its private elements are tallied by block (creators converted for their text, elements of
   unknown VR converted as the inventory's walk converts them).

The condition snapshot reads a few top-level values and is taken after the walk.

:func:`table_facts` gives the same deny-list, snapshot and private inventory from the lean
reader's :class:`~deidengine.core.table.ElementTable` of the input, without a Dataset: one
loop over the rows (which stand in file order, so no recursion), decoding only the values the
deny-list and the conditions read. It shares every rule with the Dataset walk
(:meth:`~deidengine.dicom.identifiers.IdentifyingValuesCollector.add_values`,
:meth:`~deidengine.dicom.private_blocks.PrivateBlockTally.add_elements`,
:meth:`~deidengine.dicom.conditions.ConditionSnapshot.of_values`); only reading a value differs
(:mod:`deidengine.dicom.table_values`). tests/dicom/test_dicom_table_facts.py holds the two
equal on real files, generated corpora and mutants.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice
from operator import itemgetter
from typing import Final

from pydicom.dataset import Dataset

from deidengine.core.table import ElementTable, Kind, Row
from deidengine.dicom.conditions import ConditionSnapshot
from deidengine.dicom.elements import (
    AnyElement,
    copy_as_read,
    element_vr,
    sequence_items,
    walk_private,
)
from deidengine.dicom.identifiers import (
    COLLECTED_TAGS,
    COLLECTED_VRS,
    IdentifyingValues,
    IdentifyingValuesCollector,
    collects,
)
from deidengine.dicom.private_blocks import PrivateBlockTally, PrivateInventory, creator_reader
from deidengine.dicom.table_values import hidden_rows

__all__ = ["InputFacts", "TableFacts", "input_facts", "table_facts"]

_ELEMENT: Final = Kind.ELEMENT
_TAG_VR: Final = itemgetter(Row._fields.index("tag"), Row._fields.index("vr"))
_KIND: Final = Row._fields.index("kind")
#: A private element's tag: its group number is odd.
_PRIVATE_GROUP_BIT: Final = 0x10000


@dataclass(frozen=True, slots=True)
class InputFacts:
    """The input as the engine found it, before any stage changed it."""

    #: The deny-list: identifying values stated anywhere in the input (and its file meta).
    identifying: IdentifyingValues
    #: A copy that later edits of the input leave as it is (what the verifier compares with).
    original: Dataset
    #: What rule conditions read (the header and pixel stages share it).
    snapshot: ConditionSnapshot
    #: Which element offsets each private block of the input holds, over every depth.
    private_blocks: PrivateInventory


@dataclass(frozen=True, slots=True)
class TableFacts:
    """What :class:`InputFacts` holds of an input read as an element table (no copy: the
    table is immutable, it is the input as read)."""

    identifying: IdentifyingValues
    snapshot: ConditionSnapshot
    private_blocks: PrivateInventory


def input_facts(
    dataset: Dataset,
    condition_tags: Iterable[int] | None = None,
    table: ElementTable | None = None,
    *,
    found: TableFacts | None = None,
) -> InputFacts:
    """The :class:`InputFacts` of ``dataset``, on one walk of its elements (see the module).

    ``condition_tags`` are the tags the plan's conditions read (every top-level element when
    ``None``). ``table``: the lean reader's table ``dataset`` was built from, when there is
    one; the deny-list, snapshot and private blocks are then read from it
    (:func:`table_facts`) and only the copy is taken of ``dataset``. ``found``: those facts,
    when the caller has already read them from the table (they are not read again). Call it
    before any stage changes ``dataset``.
    """
    if found is None and table is not None:
        found = table_facts(table, condition_tags)
    if found is not None:
        return InputFacts(
            identifying=found.identifying,
            original=copy_as_read(dataset),
            snapshot=found.snapshot,
            private_blocks=found.private_blocks,
        )
    collector = IdentifyingValuesCollector()
    file_meta = getattr(dataset, "file_meta", None)
    if isinstance(file_meta, Dataset):
        collector.walk(file_meta)  # identifying values only: the meta is rewritten, not copied
    tally = PrivateBlockTally()
    original = _visit(dataset, collector, tally)
    return InputFacts(
        identifying=collector.result(),
        original=original,
        snapshot=ConditionSnapshot.of(dataset, condition_tags),
        private_blocks=tally.result(),
    )


def _visit(
    item: Dataset, collector: IdentifyingValuesCollector, tally: PrivateBlockTally
) -> Dataset:
    """Steps 1-4 of the module's walk on ``item``; its copy as read."""
    sequences = collector.visit(item)
    copies: dict[int, Dataset] = {}
    for _tag, items in sequences:
        for child in items:
            copies[id(child)] = _visit(child, collector, tally)
    original = copy_as_read(item, copies)
    # Step 1 entered every standard sequence (converting first any element whose VR it could
    # not tell) and every private one it could tell; the inventory looks at private elements.
    entered = {tag for tag, _items in sequences}
    private: list[tuple[int, str, AnyElement]] = []
    for tag, element in list(item._dict.items()):
        if not (tag >> 16) & 1:
            continue
        vr, element = element_vr(item, tag, element)
        private.append((tag, vr, element))
        if vr == "SQ" and tag not in entered:
            # A private sequence the deny-list had no reason to enter: its blocks count.
            for child in sequence_items(item, tag, element):
                _tally_only(child, tally)
    tally.add_item(item, private)
    return original


def _tally_only(item: Dataset, tally: PrivateBlockTally) -> None:
    """The private blocks of a subtree no other step walks."""
    private: dict[int, tuple[Dataset, list[tuple[int, str, AnyElement]]]] = {}
    for current, tag, vr, element in walk_private(item):
        private.setdefault(id(current), (current, []))[1].append((tag, vr, element))
    for current, elements in private.values():
        tally.add_item(current, elements)


def table_facts(table: ElementTable, condition_tags: Iterable[int] | None = None) -> TableFacts:
    """The deny-list, condition snapshot and private blocks of the input read as ``table``:
    equal to :func:`input_facts` of the dataset built from it, on one loop over its rows.

    A data set holds one element per tag, the last the file states (pydicom's rule); a file
    that repeats a tag in a data set is rare, so the loop notes it and only then drops the
    rows a later one hides (with everything nested in them).
    """
    rows = table.rows
    meta_end = table.facts.meta_end
    collected: list[int] = []  # rows whose values the deny-list reads
    private: list[int] = []  # private rows outside the File Meta Information
    # The File Meta Information's rows come first: the deny-list reads them, nothing else does.
    first = 0
    while first < len(rows) and rows[first].header < meta_end:
        row = rows[first]
        if row.kind is _ELEMENT and collects(row.tag, row.vr):
            collected.append(first)
        first += 1
    # The loop runs over every row of the file, so it is kept to what most rows need: their
    # tag and VR (``collects`` spelled out), and the kind of the few rows that pass (an item
    # or fragment row has the item tag and no VR, so it never does).
    for index, (tag, vr) in enumerate(islice(map(_TAG_VR, rows), first, None), first):
        if tag & _PRIVATE_GROUP_BIT:
            if rows[index][_KIND] is _ELEMENT:
                private.append(index)
        elif (vr in COLLECTED_VRS or tag in COLLECTED_TAGS) and rows[index][_KIND] is _ELEMENT:
            collected.append(index)
    # Tags ascend within each data set of a well-formed file (the reader notes whether they
    # do); a data set that repeats a tag (or lists tags out of order) sends the loop's
    # results through hidden_rows.
    if not table.ordered():
        hidden = hidden_rows(table)
        collected = [index for index in collected if index not in hidden]
        private = [index for index in private if index not in hidden]
    collector = IdentifyingValuesCollector()
    for index in collected:
        collector.add_row(table, index)
    by_item: dict[int, dict[int, int]] = {}
    for index in private:
        row = rows[index]
        by_item.setdefault(row.parent, {})[row.tag] = index
    tally = PrivateBlockTally()
    for item in by_item.values():
        tally.add_elements(item, creator_reader(table, item))
    return TableFacts(
        identifying=collector.result(),
        # top-level tag -> row, the last one winning
        snapshot=ConditionSnapshot.of_table(table, condition_tags, table.top_level()),
        private_blocks=tally.result(),
    )
