"""Text stage speed: clean every value of the held-out set, uncached and cached.

Run with ``pytest benchmarks/test_bench_text.py --benchmark-enable``; times are reported, not
asserted. ``python -m benchmarks.text_eval`` prints the per-value medians and the scores.
"""

from __future__ import annotations

from typing import Any

import pytest

from deidengine.text import clean_value, ner, stage, vocabulary
from tests.text.eval_set import generate

VALUES = [(v.text, v.identifying()) for v in generate("held-out", 300)]


@pytest.fixture(scope="module", autouse=True)
def loaded() -> None:
    vocabulary.warm()
    ner.pipeline()


def _clean_all() -> int:
    return sum(clean_value(text, identifying).masked for text, identifying in VALUES)


def test_bench_text_stage_first_read(benchmark: Any) -> None:
    masked = benchmark.pedantic(
        _clean_all, setup=stage._cached_read.cache_clear, rounds=3, iterations=1
    )
    assert masked > 0


def test_bench_text_stage_cached(benchmark: Any) -> None:
    _clean_all()
    assert benchmark(_clean_all) > 0
