"""Benchmarks: the one walk of the input against the separate walks it replaced, same group.

The table walk (:func:`~deidengine.dicom.facts.table_facts`) is measured against the Dataset
walk on the benchmark corpora, each group one corpus, in the same run.

Run with ``pytest tests/dicom/test_bench_dicom_facts.py --benchmark-enable``; with the project's
default ``--benchmark-disable`` each runs once as a plain test. Nothing asserts a time: the two
benchmarks of a file share a group, so their ratio is read from one run. Each round gets a
freshly read dataset (pydicom keeps what a walk converts), its sequences already parsed as the
admission check leaves them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from deidengine.core.dataset_view import dataset_of
from deidengine.core.reader import read
from deidengine.core.table import ElementTable
from deidengine.dicom.conditions import ConditionSnapshot
from deidengine.dicom.elements import copy_as_read, walk_tree
from deidengine.dicom.facts import InputFacts, TableFacts, input_facts, table_facts
from deidengine.dicom.identifiers import collect_identifying_values
from deidengine.dicom.reading import FileReading
from deidengine.provenance.stamp import private_block_inventory
from tests.bench_corpora import CORPORA

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


# ------------------------------------------------------------------ the table walk (issue #16)


def _as_read(corpus: list[bytes]) -> tuple[tuple[list[FileReading]], dict[str, Any]]:
    """Each file as the pipeline holds it: its table and the fresh dataset built from it."""
    readings: list[FileReading] = []
    for data in corpus:
        table = read(data)
        readings.append(FileReading(dataset_of(table), table, ""))
    return (readings,), {}


Facts = InputFacts | TableFacts
TAGS = (PATIENT_NAME, MODALITY)
#: How each file's facts are found: before (one walk of the Dataset, with the copy), after
#: (the table; no copy once the verifier reads tables), and after as the pipeline runs it
#: while the verifier still needs the Dataset's copy.
WALKS: dict[str, Callable[[FileReading], Facts]] = {
    "dataset": lambda reading: input_facts(reading.dataset, TAGS),
    "table": lambda reading: table_facts(_table(reading), TAGS),
    "table-and-copy": lambda reading: input_facts(reading.dataset, TAGS, reading.table),
}


def _table(reading: FileReading) -> ElementTable:
    assert reading.table is not None
    return reading.table


def _walk(walk: str, readings: list[FileReading]) -> list[tuple[object, ...]]:
    found: list[tuple[object, ...]] = []
    for reading in readings:
        facts = WALKS[walk](reading)
        found.append((facts.identifying, facts.snapshot, facts.private_blocks))
    return found


@pytest.mark.parametrize("corpus", CORPORA)
@pytest.mark.parametrize("walk", WALKS)
def test_bench_facts_from_the_table(
    benchmark: Any, bench_corpora: dict[str, list[bytes]], corpus: str, walk: str
) -> None:
    """One round: every file of the corpus (divide by its count for a file's time)."""
    benchmark.group = f"facts {corpus} ({len(bench_corpora[corpus])} files)"
    found = benchmark.pedantic(
        lambda readings: _walk(walk, readings),
        setup=lambda: _as_read(bench_corpora[corpus]),
        rounds=20,
    )
    assert found == _walk("dataset", _as_read(bench_corpora[corpus])[0][0])
