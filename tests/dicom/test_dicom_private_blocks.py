"""Private blocks are tallied by (group, creator), a creator naming its own item's members only."""

from __future__ import annotations

from pydicom.dataset import Dataset

from deidengine.dicom.elements import element_vr
from deidengine.dicom.private_blocks import PrivateBlockTally


def _item(*elements: tuple[int, str, object]) -> Dataset:
    item = Dataset()
    for tag, vr, value in elements:
        item.add_new(tag, vr, value)
    return item


def _tally(tally: PrivateBlockTally, item: Dataset) -> None:
    private = []
    for tag in item._dict:
        vr, element = element_vr(item, int(tag))
        private.append((int(tag), vr, element))
    tally.add_item(item, private)


def test_blocks_merge_by_creator_across_items_and_block_numbers() -> None:
    first = _item((0x00090010, "LO", "ACME 1.0"), (0x00091001, "LO", "a"), (0x00091002, "LO", "b"))
    # The same creator in another item under another block number: the same block.
    second = _item(
        (0x00090011, "LO", "ACME 1.0 "), (0x00091101, "LO", "c"), (0x00091105, "LO", "d")
    )
    tally = PrivateBlockTally()
    _tally(tally, first)
    _tally(tally, second)
    assert tally.result() == {(0x0009, "ACME 1.0"): frozenset({0x01, 0x02, 0x05})}


def test_a_member_without_its_creator_in_its_own_item_is_not_counted() -> None:
    creator_only = _item((0x00190010, "LO", "VENDOR"))
    orphan = _item((0x00191001, "LO", "x"))
    tally = PrivateBlockTally()
    _tally(tally, creator_only)
    _tally(tally, orphan)
    assert tally.result() == {}


def test_creator_elements_and_groups_that_are_not_private_blocks_are_ignored() -> None:
    # Group 0x0001 is odd but not a private group (PS3.5 7.8.1); an empty creator names nothing.
    item = _item(
        (0x00010010, "LO", "NOT PRIVATE"),
        (0x00011001, "LO", "x"),
        (0x00290010, "LO", ""),
        (0x00291001, "LO", "y"),
        (0x00290011, "LO", "REAL"),
        (0x00291120, "LO", "z"),
    )
    tally = PrivateBlockTally()
    _tally(tally, item)
    assert tally.result() == {(0x0029, "REAL"): frozenset({0x20})}
