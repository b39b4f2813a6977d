"""TableView.of's one pass (data sets, items and the top level's and File Meta Information's
walks together, where every data set's tags ascend in the file) lays a table out exactly as the
grouping and the walk of data sets do one after the other, on every bundled file and on a file
written out of order (where it leaves the layout to them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from deidengine.core.reader import read
from deidengine.core.table import ElementTable
from deidengine.verify.table_view import META, TOP, TableView, _grouped, _laid_out
from tests.verify.test_verify_table_view import READABLE
from tests.verify.test_verify_table_view_order import _file


def _two_passes(table: ElementTable) -> TableView:
    return TableView(table, *_grouped(table))


def _same(table: ElementTable) -> None:
    one, two = TableView.of(table), _two_passes(table)
    assert one.datasets == two.datasets
    assert {d: list(e) for d, e in one.datasets.items()} == {
        d: list(e) for d, e in two.datasets.items()
    }  # the same tag order too
    assert one.items == two.items
    for dataset in (TOP, META):
        assert list(one.walk(dataset)) == list(two.walk(dataset))
    assert [one.vr(i) for i in range(len(table))] == [two.vr(i) for i in range(len(table))]


@pytest.mark.parametrize("name", READABLE, ids=lambda name: Path(name).name)
def test_one_pass_lays_out_every_bundled_file_as_two_do(name: str) -> None:
    _same(read(Path(name).read_bytes()))


def test_bundled_files_are_mostly_laid_out_in_one_pass() -> None:
    tables = [read(Path(name).read_bytes()) for name in READABLE]
    assert sum(_laid_out(table) is not None for table in tables) > len(tables) // 2


def test_a_file_out_of_tag_order_is_left_to_the_two_passes() -> None:
    table = read(_file())
    assert _laid_out(table) is None
    _same(table)
