"""The lean core reader's full walk against pydicom's read and full parse, in the same run.

Both sides take the file's bytes already in memory and end with every element's value decoded:
the lean side reads the element table (:func:`deidengine.core.reader.read`) and decodes each
row's value by its VR (:mod:`deidengine.core.values`); pydicom reads the bytes
(``dcmread``) and converts every element, every item, recursively. Each lean benchmark also
times both on the same file, rounds interleaved, and records the ratios of the fastest and of
the median rounds in ``extra_info`` (printed with ``-s``). Nothing asserts a time.

Run: ``python -m pytest benchmarks/test_bench_core.py --benchmark-enable -s``.
"""

from __future__ import annotations

import io
import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.filewriter import dcmwrite

from benchmarks.corpus import template_path
from deidengine.core import values
from deidengine.core.reader import read
from deidengine.core.table import Kind
from deidengine.core.writer import encode

ROUNDS = 40
LABELS = ("ct", "mr", "sr", "sr-reportsi", "private-heavy")
TEXT_VRS = frozenset(
    {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI"}
    | {"UR", "UT"}
)


def lean_walk(data: bytes) -> int:
    """Read the table and decode every element's value; return how many were decoded."""
    table = read(data)
    decoded = 0
    for index, row in enumerate(table.rows):
        if row.kind is not Kind.ELEMENT or row.vr == "SQ":
            continue
        if row.vr in TEXT_VRS:
            values.strings(table, index)
        elif row.vr in values.NUMBER_FORMATS:
            values.numbers(table, index)
        elif row.vr == "AT":
            values.tags(table, index)
        else:
            table.value(index)
        decoded += 1
    return decoded


def _pydicom_convert(dataset: Dataset) -> int:
    decoded = 0
    for element in dataset:  # iterating converts each raw element
        if element.VR == "SQ":
            for item in element.value:
                decoded += _pydicom_convert(item)
        else:
            decoded += 1
    return decoded


def pydicom_walk(data: bytes) -> int:
    """``dcmread`` the bytes and convert every element; return how many were converted."""
    dataset = pydicom.dcmread(io.BytesIO(data), force=True)
    return _pydicom_convert(dataset.file_meta) + _pydicom_convert(dataset)


@pytest.fixture(scope="module")
def files(inputs: dict[str, Path]) -> dict[str, bytes]:
    found = {label: path.read_bytes() for label, path in inputs.items()}
    found["sr-reportsi"] = template_path("reportsi.dcm").read_bytes()
    return found


def lean_round_trip(data: bytes) -> int:
    """Read the table and encode it back, as a header stage with nothing to change would."""
    return len(encode(read(data)))


def pydicom_round_trip(data: bytes) -> int:
    """The floor: ``dcmread`` then ``dcmwrite`` with the engine's file-format policy."""
    out = io.BytesIO()
    dcmwrite(out, pydicom.dcmread(io.BytesIO(data), force=True), enforce_file_format=True)
    return len(out.getvalue())


def _interleaved(
    data: bytes,
    rounds: int,
    lean_side: Callable[[bytes], int] = lean_walk,
    baseline_side: Callable[[bytes], int] = pydicom_walk,
) -> tuple[list[float], list[float]]:
    """Per-round seconds of the lean and the pydicom side, alternating, so that a busy spell
    on a shared machine slows both alike."""
    lean: list[float] = []
    baseline: list[float] = []
    for _ in range(rounds):
        for walk, times in ((lean_side, lean), (baseline_side, baseline)):
            start = time.perf_counter()
            walk(data)
            times.append(time.perf_counter() - start)
    return lean, baseline


@pytest.mark.benchmark(group="core-read")
@pytest.mark.parametrize("label", LABELS)
def test_bench_lean_walk(benchmark: Any, files: dict[str, bytes], label: str) -> None:
    data = files[label]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Both walks decode the same elements (the meta included).
        assert lean_walk(data) == pydicom_walk(data)
        decoded = benchmark.pedantic(
            lean_walk, args=(data,), rounds=ROUNDS, iterations=1, warmup_rounds=2
        )
        # The baseline, timed in this test so the ratio compares like with like.
        lean, baseline = _interleaved(data, ROUNDS)
    assert decoded > 0
    fastest = min(baseline) / min(lean)
    typical = statistics.median(baseline) / statistics.median(lean)
    benchmark.extra_info.update(
        {
            "input_bytes": len(data),
            "elements": decoded,
            "lean_min_ms": round(min(lean) * 1000, 4),
            "pydicom_min_ms": round(min(baseline) * 1000, 4),
            "speedup_fastest": round(fastest, 2),
            "speedup_median": round(typical, 2),
        }
    )
    print(
        f"\ncore-read {label}: lean {min(lean) * 1000:.3f} ms, pydicom "
        f"{min(baseline) * 1000:.3f} ms (fastest rounds): {fastest:.1f}x, medians {typical:.1f}x "
        f"({decoded} elements, {len(data)} bytes)"
    )


@pytest.mark.benchmark(group="core-read")
@pytest.mark.parametrize("label", LABELS)
def test_bench_pydicom_walk(benchmark: Any, files: dict[str, bytes], label: str) -> None:
    """The baseline on its own, for pytest-benchmark's table beside the lean rows."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        decoded = benchmark.pedantic(
            pydicom_walk, args=(files[label],), rounds=ROUNDS, iterations=1, warmup_rounds=2
        )
    assert decoded > 0


@pytest.mark.benchmark(group="core-round-trip")
@pytest.mark.parametrize("label", LABELS)
def test_bench_lean_round_trip(benchmark: Any, files: dict[str, bytes], label: str) -> None:
    """Read and write back unchanged, against the floor (pydicom's read and write), which
    decodes no value either; the outputs are the same bytes."""
    data = files[label]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert encode(read(data)) == _floor_bytes(data)
        benchmark.pedantic(
            lean_round_trip, args=(data,), rounds=ROUNDS, iterations=1, warmup_rounds=2
        )
        lean, baseline = _interleaved(data, ROUNDS, lean_round_trip, pydicom_round_trip)
    fastest = min(baseline) / min(lean)
    typical = statistics.median(baseline) / statistics.median(lean)
    benchmark.extra_info.update(
        {
            "lean_min_ms": round(min(lean) * 1000, 4),
            "floor_min_ms": round(min(baseline) * 1000, 4),
            "speedup_fastest": round(fastest, 2),
            "speedup_median": round(typical, 2),
        }
    )
    print(
        f"\ncore-round-trip {label}: lean {min(lean) * 1000:.3f} ms, floor "
        f"{min(baseline) * 1000:.3f} ms (fastest rounds): {fastest:.1f}x, medians {typical:.1f}x"
    )


def _floor_bytes(data: bytes) -> bytes:
    out = io.BytesIO()
    dcmwrite(out, pydicom.dcmread(io.BytesIO(data), force=True), enforce_file_format=True)
    return out.getvalue()
