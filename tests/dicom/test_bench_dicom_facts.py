"""Benchmarks: the one walk of the input against the separate walks it replaced, same group.

Run with ``pytest tests/dicom/test_bench_dicom_facts.py --benchmark-enable``; with the project's
default ``--benchmark-disable`` each runs once as a plain test. Nothing asserts a time: the two
benchmarks of a file share a group, so their ratio is read from one run. Each round gets a
freshly read dataset (pydicom keeps what a walk converts), its sequences already parsed as the
admission check leaves them.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from deidengine.dicom.conditions import ConditionSnapshot
from deidengine.dicom.elements import copy_as_read, walk_tree
from deidengine.dicom.facts import input_facts
from deidengine.dicom.identifiers import collect_identifying_values
from deidengine.provenance.stamp import private_block_inventory

FILES = ("CT_small.dcm", "rtplan.dcm", "test-SR.dcm")
PATIENT_NAME, MODALITY = 0x00100010, 0x00080060


def _as_admitted(name: str) -> tuple[tuple[Dataset], dict[str, Any]]:
    path = get_testdata_file(name)
    assert isinstance(path, str)
    dataset = dcmread(path)
    for _ in walk_tree(dataset):  # the admission check's walk parses every sequence
        pass
    return (dataset,), {}


def _separate(dataset: Dataset) -> tuple[object, ...]:
    identifying = collect_identifying_values(dataset)
    original = copy_as_read(dataset)
    snapshot = ConditionSnapshot.of(dataset, [PATIENT_NAME, MODALITY])
    return identifying, original, snapshot, private_block_inventory(dataset)


def _one_walk(dataset: Dataset) -> tuple[object, ...]:
    facts = input_facts(dataset, [PATIENT_NAME, MODALITY])
    return facts.identifying, facts.original, facts.snapshot, facts.private_blocks


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("walks", [_separate, _one_walk], ids=["separate", "one-walk"])
def test_bench_input_walks(benchmark: Any, name: str, walks: Any) -> None:
    benchmark.group = f"input-facts {name}"
    identifying, original, snapshot, blocks = benchmark.pedantic(
        walks, setup=lambda: _as_admitted(name), rounds=20
    )
    expected = _separate(_as_admitted(name)[0][0])
    assert (identifying, snapshot, blocks) == (expected[0], expected[2], expected[3])
    assert original == expected[1]
