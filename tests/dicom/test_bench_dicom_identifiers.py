"""Benchmarks of the per-file work: collecting the deny-list and scrubbing text.

Run with ``pytest tests/dicom/test_bench_dicom_identifiers.py --benchmark-enable``; with the
project's default ``--benchmark-disable`` each runs once as a plain test. Nothing asserts a
time: compare runs with ``--benchmark-compare``.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from deidengine.dicom.identifiers import IdentifyingValues, collect_identifying_values
from deidengine.dicom.scrub import scrub_text

REPORT = (
    "CT CHEST WITH CONTRAST. Comparison: CT of 03/15/2019. Patient Jane Doe (MRN 12345678) "
    "seen by Dr. Smith; call 555-123-4567 with questions. No acute findings. Lungs are clear. "
) * 10


def ct_small() -> Dataset:
    path = get_testdata_file("CT_small.dcm")
    assert path is not None
    ds = dcmread(path)
    ds.PatientName = "DOE^JANE^Q"
    return ds


@pytest.mark.benchmark(group="dicom-identifiers")
def test_bench_collect_ct_small(benchmark: Any) -> None:
    ds = ct_small()
    identifying = benchmark(collect_identifying_values, ds)
    assert isinstance(identifying, IdentifyingValues)
    assert "doe" in identifying.names


@pytest.mark.benchmark(group="dicom-identifiers")
def test_bench_collect_and_scrub_report(benchmark: Any) -> None:
    ds = ct_small()

    def collect_and_scrub() -> str:
        return scrub_text(REPORT, collect_identifying_values(ds)).text

    scrubbed = benchmark(collect_and_scrub)
    assert "Jane" not in scrubbed
    assert "No acute findings" in scrubbed
