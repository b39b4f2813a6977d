"""``deid quarantine list``: the secret's holder resolves a quarantine reference to its input.

Before, a quarantine named inputs by keyed reference only, and nothing recorded what the
reference stood for: the operator could not find the file to fix without re-hashing every
path by hand. ``deid detect`` named files by its own index and digest, not the run's reference.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from deidengine.cli import main
from deidengine.dicom.keys import ProjectSecret
from deidengine.run.quarantine import SEALED_FIELD, list_quarantine, open_input_path

KEY_HEX, OTHER_HEX = "5a" * 32, "a5" * 32
NAME = "SMITH^JOHN MRN998877.txt"


def _key(tmp_path: Path, hex_key: str) -> Path:
    key = tmp_path / f"{hex_key[:2]}.key"
    key.write_text(hex_key + "\n", encoding="ascii")
    key.chmod(0o600)  # an exposed secret file draws a warning (tests/security)
    return key


def _quarantined_run(tmp_path: Path) -> tuple[Path, Path]:
    source = tmp_path / "in"
    source.mkdir()
    (source / NAME).write_bytes(b"not a DICOM file")
    key = _key(tmp_path, KEY_HEX)
    result = CliRunner().invoke(
        main,
        [
            "run",
            "--policy",
            "annex-e/basic",
            "--secret-file",
            str(key),
            "--workers",
            "1",
            str(source),
            str(tmp_path / "out"),
        ],
    )
    assert result.exit_code == 1, result.output
    return source / NAME, key


def test_the_secret_holder_resolves_a_reference_to_its_input(tmp_path: Path) -> None:
    original, key = _quarantined_run(tmp_path)
    quarantine = tmp_path / "out.quarantine"
    (record,) = quarantine.glob("*.json")
    text = record.read_text("utf-8")
    assert "SMITH" not in text and str(tmp_path) not in text  # sealed, never plain
    reference = record.stem

    listed = CliRunner().invoke(
        main, ["quarantine", "list", str(quarantine), "--secret-file", str(key), "--format", "json"]
    )
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.output) == [
        {
            "input": reference,
            "reason": "not-dicom",
            "detail": "not a DICOM file (no DICM preamble and no parsable dataset)",
            "input_path": str(original),
            "resolved": True,
            "copy": str(quarantine / f"{reference}.input"),
        }
    ]
    shown = CliRunner().invoke(
        main, ["quarantine", "list", str(quarantine)], env={"DEID_SECRET": KEY_HEX}
    )
    assert shown.exit_code == 0, shown.output
    assert shown.output.splitlines()[0].split() == [reference, "not-dicom", *str(original).split()]

    # Another project's secret opens nothing.
    other = CliRunner().invoke(
        main,
        ["quarantine", "list", str(quarantine), "--secret-file", str(_key(tmp_path, OTHER_HEX))],
    )
    assert other.exit_code == 0
    assert "(sealed under another project secret)" in other.output and "SMITH" not in other.output
    # A sealed path moved to another reference does not open either.
    sealed = json.loads(text)[SEALED_FIELD]
    secret = ProjectSecret(bytes.fromhex(KEY_HEX))
    assert open_input_path(secret, reference, sealed) == str(original)
    assert open_input_path(secret, "0" * 12, sealed) is None
    # No secret at all: refused, exit 2.
    refused = CliRunner().invoke(
        main, ["quarantine", "list", str(quarantine)], env={"DEID_SECRET": None}
    )
    assert refused.exit_code == 2
    assert [entry.reference for entry in list_quarantine(quarantine, secret)] == [reference]


def test_detect_names_files_by_the_runs_reference(tmp_path: Path) -> None:
    original, key = _quarantined_run(tmp_path)
    (record,) = (tmp_path / "out.quarantine").glob("*.json")
    surveyed = CliRunner().invoke(
        main, ["detect", str(original.parent), "--format", "json", "--secret-file", str(key)]
    )
    document = json.loads(surveyed.output)
    assert [row["input"] for row in document] == [record.stem]
    table = CliRunner().invoke(
        main, ["detect", str(original.parent), "--format", "csv", "--secret-file", str(key)]
    )
    assert table.output.splitlines()[1].startswith(f"{record.stem},")
