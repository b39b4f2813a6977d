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
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pydicom.dataset import Dataset

from deidengine.dicom.conditions import ConditionSnapshot
from deidengine.dicom.elements import (
    AnyElement,
    copy_as_read,
    element_vr,
    sequence_items,
    walk_private,
)
from deidengine.dicom.identifiers import IdentifyingValues, IdentifyingValuesCollector
from deidengine.dicom.private_blocks import PrivateBlockTally, PrivateInventory

__all__ = ["InputFacts", "input_facts"]


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


def input_facts(dataset: Dataset, condition_tags: Iterable[int] | None = None) -> InputFacts:
    """The :class:`InputFacts` of ``dataset``, on one walk of its elements (see the module).

    ``condition_tags`` are the tags the plan's conditions read (every top-level element when
    ``None``). Call it before any stage changes ``dataset``.
    """
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
