"""Re-using an OUT with another project secret or policy is refused, naming what differs.

Before, another secret silently wrote a second pseudonymisation of the same patients into the
same tree, and another policy reported its outputs as ``duplicate-output``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner
from pydicom.data import get_testdata_file

from deidengine.cli import main
from deidengine.dicom.keys import ProjectSecret
from deidengine.run.manifest import secret_fingerprint

FIRST_KEY, SECOND_KEY = "11" * 32, "22" * 32


def _tree(root: Path) -> list[Path]:
    return sorted(root.rglob("*"))


def _run(tmp_path: Path, key_hex: str, policy: str, *extra: str) -> tuple[int, str]:
    key = tmp_path / f"{key_hex[:2]}.key"
    key.write_text(key_hex + "\n", encoding="ascii")
    key.chmod(0o600)  # an exposed secret file draws a warning (tests/security)
    arguments = ["run", "--policy", policy, "--secret-file", str(key), "--workers", "1"]
    result = CliRunner().invoke(
        main, [*arguments, *extra, str(tmp_path / "in"), str(tmp_path / "out")]
    )
    return result.exit_code, result.output


def test_another_secret_or_policy_is_refused_unless_forced(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    for name in ("CT_small.dcm", "MR_small.dcm"):
        found = get_testdata_file(name)
        assert isinstance(found, str)
        shutil.copy(found, tmp_path / "in" / name)
    assert _run(tmp_path, FIRST_KEY, "annex-e/basic")[0] == 0
    made = _tree(tmp_path)

    code, output = _run(tmp_path, SECOND_KEY, "annex-e/basic")
    assert code == 2, output
    first = secret_fingerprint(ProjectSecret(bytes.fromhex(FIRST_KEY)))
    second = secret_fingerprint(ProjectSecret(bytes.fromhex(SECOND_KEY)))
    assert f"the project secret differs (the output's secret fingerprint is {first}" in output
    assert f"this run's {second})" in output and "--force-new-run" in output
    assert "policy differs" not in output
    assert FIRST_KEY not in output and SECOND_KEY not in output
    assert len(output.strip().splitlines()) == 1

    code, output = _run(tmp_path, FIRST_KEY, "hipaa-safe-harbor")
    assert code == 2, output
    assert "the policy differs (the output was made with annex-e/basic" in output
    assert "this run's hipaa-safe-harbor has digest" in output
    assert "secret differs" not in output
    assert [p for p in _tree(tmp_path) if p not in made and not p.name.endswith(".key")] == []

    # The same secret and policy again: a resumed run, no question asked.
    assert _run(tmp_path, FIRST_KEY, "annex-e/basic")[0] == 0
    # Forced: the operator means it; the output is now this run's.
    code, output = _run(tmp_path, SECOND_KEY, "annex-e/basic", "--force-new-run")
    assert code == 0, output
    code, output = _run(tmp_path, FIRST_KEY, "annex-e/basic")
    assert code == 2 and f"secret fingerprint is {second}" in output
