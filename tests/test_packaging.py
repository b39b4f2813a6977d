"""An installed ``deid`` finds its grammar and shipped policies without the source tree."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_ships_grammar_and_policies(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(REPO),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
        ],
        check=True,
    )
    wheel = next(tmp_path.glob("deidengine-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "deidengine/_grammar/policy.lark" in names
    assert "deidengine/_policies/annex-e/basic.policy" in names
    assert "deidengine/_policies/hipaa-safe-harbor.policy" in names
    assert "deidengine/_policies/annex-e/retain-safe-private.policy" in names
    assert "deidengine/standard/data/iod_types.json" in names
    shipped = {n for n in names if n.startswith("deidengine/_policies/") and n.endswith(".policy")}
    on_disk = {
        f"deidengine/_policies/{p.relative_to(REPO / 'policies')}"
        for p in (REPO / "policies").rglob("*.policy")
    }
    assert shipped == on_disk
