"""Memory: a large multi-frame file through the pipeline, frame decoding, and a long run.

Peaks are measured with :mod:`tracemalloc` (Python allocations, which is where DICOM values
and Pixel Data live) and recorded in the benchmark's ``extra_info``. The bounds asserted are
ratios to the data, never times: the whole file is held once for reading and once for writing
(pydicom keeps Pixel Data in memory), frames are decoded one at a time, and a worker's caches
stop growing however many patients it sees.
"""

from __future__ import annotations

import shutil
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pydicom
import pytest

from benchmarks.corpus import BENCH_SECRET, multiframe, write_corpus
from deidengine.dicom import identifiers
from deidengine.pixels import read_frames, to_grey8
from deidengine.run.outcome import Status
from deidengine.run.pipeline import FileProcessor, RunSettings

MIB = 2**20
T = TypeVar("T")


def _peak(function: Callable[[], T]) -> tuple[T, int]:
    """``function()`` and the peak of Python allocations above what was held before it."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        result = function()
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    return result, peak


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """64 frames of 512 x 512 x 16 bits: 32 MiB of Pixel Data."""
    return multiframe(tmp_path_factory.mktemp("large") / "multiframe.dcm")


@pytest.mark.benchmark(group="memory")
def test_bench_large_multiframe_header_only(benchmark: Any, tmp_path: Path, large: Path) -> None:
    out = tmp_path / "out"
    processor = FileProcessor(RunSettings("annex-e/basic", BENCH_SECRET, str(out), str(tmp_path)))

    def process() -> Status:
        shutil.rmtree(out, ignore_errors=True)
        return processor.process(str(large)).status

    process()  # warm: the plan's caches, the deny-list patterns
    status, peak = _peak(process)
    assert status is Status.WRITTEN
    size = large.stat().st_size
    benchmark.extra_info.update(file_mib=round(size / MIB, 1), peak_mib=round(peak / MIB, 1))
    assert peak < 3 * size  # read once, encoded once: no further copy of the Pixel Data
    assert benchmark.pedantic(process, rounds=5, iterations=1) is Status.WRITTEN


@pytest.mark.benchmark(group="memory")
def test_bench_decode_frames_one_at_a_time(benchmark: Any, large: Path) -> None:
    """The pixel stage's public reader (deidengine.pixels.read_frames, to_grey8)."""
    dataset = pydicom.dcmread(large)
    frame_bytes = int(dataset.Rows) * int(dataset.Columns) * 2

    def decode_all() -> int:
        source = read_frames(dataset)
        return sum(int(to_grey8(frame, dataset, source.photometric).size > 0) for frame in source)

    frames, peak = _peak(decode_all)
    assert frames == 64
    benchmark.extra_info.update(
        frame_mib=round(frame_bytes / MIB, 2), peak_mib=round(peak / MIB, 1)
    )
    assert peak < 16 * frame_bytes  # a few frames' worth, never all 64 at once
    assert benchmark.pedantic(decode_all, rounds=3, iterations=1) == 64


def test_a_worker_stays_flat_over_many_patients(tmp_path: Path) -> None:
    """Every file a new patient: the per-worker caches are bounded, so memory stops growing."""
    files = write_corpus(tmp_path / "in", 60)
    out = tmp_path / "out"
    processor = FileProcessor(RunSettings("annex-e/basic", BENCH_SECRET, str(out), str(tmp_path)))
    for path in files[:20]:
        assert processor.process(str(path)).status is Status.WRITTEN
    tracemalloc.start()
    try:
        after_warm_up = tracemalloc.get_traced_memory()[0]
        for path in files[20:]:
            assert processor.process(str(path)).status is Status.WRITTEN
        grown = tracemalloc.get_traced_memory()[0] - after_warm_up
    finally:
        tracemalloc.stop()
    # 40 new patients add their cached deny-list guards and patterns (about 10 KiB each, found
    # by measurement), and those caches are bounded (PATTERN_CACHE_SIZE entries each).
    assert grown < 4 * MIB
    for cache in (identifiers._compiled, identifiers._guard):
        assert cache.cache_info().maxsize == identifiers.PATTERN_CACHE_SIZE
