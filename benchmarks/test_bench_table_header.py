"""The header stage and its encoding, per file: on a pydicom Dataset against on the element table.

Both sides start from the same reading of the file (:func:`read_file`: the dataset and the
table it was built from) and the same input facts; the Dataset side runs ``apply_plan`` and
``encode_file``, the table side ``apply_plan_to_table`` and ``core.writer.encode``. Each round
of the Dataset side gets a fresh reading (the stage edits it in place); the table is immutable,
so the table side reuses one. The free-text stage runs on both. The two outputs are asserted
equal once, so the comparison is of the same work. Read the table side's times against the
Dataset side's in the same run; nothing asserts a time.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

from benchmarks.corpus import BENCH_SECRET, HEADER_POLICIES
from deidengine.core.writer import encode
from deidengine.dicom.apply import EngineContext, apply_plan
from deidengine.dicom.encode import encode_file
from deidengine.dicom.facts import input_facts
from deidengine.dicom.keys import ProjectSecret
from deidengine.dicom.reading import FileReading, read_file
from deidengine.dicom.table_apply import apply_plan_to_table
from deidengine.policy import load_plan
from deidengine.text.header import clean_header_text

ROUNDS = 30
POLICY = "hipaa-safe-harbor"  # composed with the header-only overlay


def _context() -> EngineContext:
    return EngineContext(
        plan=load_plan(HEADER_POLICIES[POLICY], runnable=True),
        secret=ProjectSecret(BENCH_SECRET),
        text_cleaner=clean_header_text,
    )


def _read(path: Path) -> FileReading:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_file(path)


@pytest.mark.benchmark(group="header-stage")
@pytest.mark.parametrize("backend", ["dataset", "table"])
@pytest.mark.parametrize("label", ["ct", "mr", "sr", "private-heavy"])
def test_bench_header_stage(
    benchmark: Any, inputs: dict[str, Path], label: str, backend: str
) -> None:
    context = _context()
    path = inputs[label]
    reading = _read(path)
    table = reading.table
    assert table is not None
    facts = input_facts(reading.dataset, context.plan.condition_tags, table)
    lean = apply_plan_to_table(table, context, facts.identifying, facts.snapshot)
    apply_plan(reading.dataset, context, facts.identifying, facts.snapshot)
    assert encode(table, lean.edits) == encode_file(reading.dataset)

    if backend == "table":

        def run() -> bytes:
            header = apply_plan_to_table(table, context, facts.identifying, facts.snapshot)
            return encode(table, header.edits)

        benchmark.pedantic(run, rounds=ROUNDS, iterations=1, warmup_rounds=1)
        return

    def fresh() -> tuple[tuple[FileReading], dict[str, object]]:
        return (_read(path),), {}

    def run_on_dataset(fresh_reading: FileReading) -> bytes:
        dataset = fresh_reading.dataset
        apply_plan(dataset, context, facts.identifying, facts.snapshot)
        return encode_file(dataset)

    benchmark.pedantic(run_on_dataset, setup=fresh, rounds=ROUNDS, iterations=1, warmup_rounds=1)
