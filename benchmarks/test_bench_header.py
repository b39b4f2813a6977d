"""Header de-identification per file through ``FileProcessor.process`` (the whole per-file
pipeline: read, deny-list, header plan, leak scan, provenance, atomic write), pixel stage off.

The processor (the compiled plan) is built once per benchmark, as a worker builds it once; each
round writes its output afresh into an emptied output folder. The same group holds the floor:
pydicom's read and write of each file, measured in the same run, the baseline the per-file
times are read against (``benchmarks/compare_peers.py`` compares whole runs the same way).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pydicom
import pytest

from benchmarks.corpus import BENCH_SECRET, HEADER_POLICIES
from deidengine.policy.ast import ActionKind
from deidengine.run.outcome import Status
from deidengine.run.pipeline import FileProcessor, RunSettings

ROUNDS = 30


@pytest.mark.benchmark(group="header-per-file")
@pytest.mark.parametrize("policy", sorted(HEADER_POLICIES))
@pytest.mark.parametrize("label", ["ct", "mr", "sr", "private-heavy"])
def test_bench_header_per_file(
    benchmark: Any, tmp_path: Path, inputs: dict[str, Path], policy: str, label: str
) -> None:
    out = tmp_path / "out"
    settings = RunSettings(HEADER_POLICIES[policy], BENCH_SECRET, str(out), str(tmp_path / "q"))
    processor = FileProcessor(settings)
    # No pixel rule fires: the policy has none, or the header-only overlay's keep comes first.
    assert not processor.plan.pixels or processor.plan.pixels[0].action.kind is ActionKind.KEEP
    path = str(inputs[label])

    def fresh_output() -> tuple[tuple[str], dict[str, object]]:
        shutil.rmtree(out, ignore_errors=True)
        return (path,), {}

    outcome = benchmark.pedantic(
        processor.process, setup=fresh_output, rounds=ROUNDS, iterations=1, warmup_rounds=1
    )
    assert outcome.status is Status.WRITTEN, outcome
    benchmark.extra_info["input_bytes"] = Path(path).stat().st_size


@pytest.mark.benchmark(group="header-per-file")
@pytest.mark.parametrize("label", ["ct", "mr", "sr", "private-heavy"])
def test_bench_floor_per_file(
    benchmark: Any, tmp_path: Path, inputs: dict[str, Path], label: str
) -> None:
    """The floor: ``dcmread`` then ``save_as`` of the same file, nothing parsed or changed."""
    out = tmp_path / "floor.dcm"
    path = inputs[label]

    def round_trip() -> None:
        pydicom.dcmread(path).save_as(out, enforce_file_format=True)

    benchmark.pedantic(round_trip, rounds=ROUNDS, iterations=1, warmup_rounds=1)
    assert out.read_bytes()[128:132] == b"DICM"
    assert pydicom.dcmread(out).SOPInstanceUID == pydicom.dcmread(path).SOPInstanceUID
