"""Shared inputs of the benchmark suites: real files, a private-heavy file, a header-only policy.

Run the suites with ``python -m pytest benchmarks --benchmark-enable``; with the project's
default ``--benchmark-disable`` every benchmark runs its function once, as a plain test.
Nothing asserts a time.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchmarks.corpus import private_heavy, template_path


@pytest.fixture(scope="session")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The per-file benchmark inputs by label."""
    folder = tmp_path_factory.mktemp("bench-inputs")
    made: dict[str, Path] = {}
    for label, name in (("ct", "CT_small.dcm"), ("mr", "MR_small.dcm"), ("sr", "test-SR.dcm")):
        made[label] = folder / name
        shutil.copyfile(template_path(name), made[label])
    made["private-heavy"] = private_heavy(folder / "private_heavy.dcm")
    return made
