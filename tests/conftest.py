"""Shared fixtures: where the standard's tables and the policy corpora live."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "tests" / "policies"


def standard_dir() -> Path:
    """``$DEID_STANDARD_DIR`` or ``../shared/standard`` beside the repository."""
    configured = os.environ.get("DEID_STANDARD_DIR")
    return Path(configured) if configured else REPO.parent / "shared" / "standard"


@pytest.fixture(scope="session")
def standard() -> Path:
    path = standard_dir()
    if not (path / "annex_e_attributes.csv").is_file():
        pytest.skip(f"the standard's tables are not at {path} (set DEID_STANDARD_DIR)")
    return path


@pytest.fixture(scope="session", autouse=True)
def _plan_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The plan cache of the whole session (and of the commands it runs) in a temporary
    directory: the tests neither read nor fill the cache of the user running them."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DEID_CACHE_DIR", str(tmp_path_factory.mktemp("plan-cache")))
        yield


@pytest.fixture(scope="session")
def bench_corpora(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[bytes]]:
    """The per-step benchmarks' corpora (:mod:`tests.bench_corpora`), written once a session."""
    from tests.bench_corpora import write_bench_corpora

    return write_bench_corpora(tmp_path_factory.mktemp("bench-corpora"))
