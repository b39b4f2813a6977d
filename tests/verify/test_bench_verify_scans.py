"""Benchmarks: the verifier's leak scan and conformance check against pydicom's own walk.

Run with ``pytest tests/verify/test_bench_verify_scans.py --benchmark-enable``; with the
project's default ``--benchmark-disable`` each runs once as a plain test. Nothing asserts a
time: the three benchmarks of a file share a group, so the ratio of each step to the baseline
(pydicom reading every value of the same output, :meth:`~pydicom.dataset.Dataset.iterall`) is
read from one run. Each round gets the engine's output freshly read back from its bytes, as
the pipeline verifies it: the lean reader's element table for the checks, pydicom's dataset
for the baseline (pydicom keeps what a walk converts, so a reused dataset would flatter
whichever step ran second). Every round's findings are checked against the expected ones.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from deidengine.core.reader import read
from deidengine.dicom.identifiers import IdentifyingValues, collect_identifying_values
from deidengine.policy.plan import Plan
from deidengine.run.outcome import Status
from deidengine.run.pipeline import FileProcessor, RunSettings
from deidengine.verify.conformance import check_conformance
from deidengine.verify.leaks import LeakFinding, find_leaks, patient_borne_values
from deidengine.verify.table_view import TableView, Verifiable

FILES = ("CT_small.dcm", "rtplan.dcm", "test-SR.dcm")
SECRET = bytes.fromhex("3c" * 32)
POLICY = "annex-e/basic"
PATIENT_NAME = 0x00100010


class Case:
    """One file de-identified by the real pipeline: its input and its output's bytes."""

    def __init__(self, name: str, root: Path) -> None:
        source = get_testdata_file(name)
        assert isinstance(source, str)
        processor = FileProcessor(RunSettings(POLICY, SECRET, str(root / "out"), str(root / "q")))
        outcome = processor.process(source)
        assert outcome.status is Status.WRITTEN, (outcome.reason, outcome.detail)
        assert outcome.output is not None
        self.plan: Plan = processor.plan
        self.data = (root / "out" / outcome.output).read_bytes()
        self.original = pydicom.dcmread(source)
        self.original_table = TableView.of(read(Path(source).read_bytes()))
        self.identifying: IdentifyingValues = collect_identifying_values(self.original)
        # As the pipeline scans an element no rule selected: for the patient's own values only
        # (a kept Manufacturer may equal the input's). Here every element is taken as such, so
        # each is still decoded and searched.
        self.untouched = frozenset((path, tag) for path, _, _, tag, _ in self.table().walk())
        self.patient_values = patient_borne_values(self.identifying)

    def read_back(self) -> Dataset:
        return pydicom.dcmread(io.BytesIO(self.data))

    def table(self) -> TableView:
        """The output as the verifier reads it: the lean reader's table of its bytes."""
        return TableView.of(read(self.data))


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Case]:
    root = tmp_path_factory.mktemp("bench-verify")
    return {name: Case(name, root / name) for name in FILES}


def _pydicom_walk(output: Dataset, case: Case) -> int:
    return sum(1 for element in output.iterall() if element.value is not None)


def _leaks(output: Verifiable, case: Case) -> tuple[LeakFinding, ...]:
    return find_leaks(
        output, case.identifying, untouched=case.untouched, untouched_values=case.patient_values
    )


def _conformance(output: Verifiable, case: Case) -> tuple[object, ...]:
    return check_conformance(output, case.plan, secret=None, original=case.original_table)


STEPS = {"pydicom-walk": _pydicom_walk, "find-leaks": _leaks, "conformance": _conformance}


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("step", STEPS)
def test_bench_verify_scans(benchmark: Any, cases: dict[str, Case], name: str, step: str) -> None:
    case = cases[name]
    benchmark.group = f"verify-scans {name}"
    run = STEPS[step]
    read_back = case.read_back if step == "pydicom-walk" else case.table
    result = benchmark.pedantic(
        run, setup=lambda: ((read_back(), case), {}), rounds=20, warmup_rounds=1
    )
    # A clean output of the real pipeline: nothing leaks, nothing departs from the plan.
    expected: object = () if step != "pydicom-walk" else _pydicom_walk(case.read_back(), case)
    assert result == expected


def test_a_planted_value_is_found_in_a_read_back_output(cases: dict[str, Case]) -> None:
    """The benchmarked scan finds what it must: the input's name put back in a sequence item."""
    case = cases["rtplan.dcm"]
    output = case.read_back()
    name = str(case.original.PatientName)
    output.ReferencedStudySequence = [Dataset()]
    output.ReferencedStudySequence[0].PatientName = name
    assert _leaks(output, case) == (LeakFinding("(0008,1110)[0].(0010,0010)"),)
