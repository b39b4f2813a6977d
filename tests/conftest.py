"""Shared fixtures: where the standard's tables and the policy corpora live."""

from __future__ import annotations

import os
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
