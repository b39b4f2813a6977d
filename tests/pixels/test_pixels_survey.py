"""``deid detect`` on the bundled samples: finds the burned-in name, hides text and paths."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from deidengine.cli import main
from deidengine.pixels.survey import survey_burned_in_text

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "in"


def test_survey_finds_only_the_screenshot() -> None:
    results = list(survey_burned_in_text(SAMPLES))
    assert len(results) == 5
    flagged = [r for r in results if r.identifying]
    assert [r.path.name for r in flagged] == ["QUIRINUS_screenshot.dcm"]
    assert flagged[0].report is not None and len(flagged[0].report.identifying) >= 2


def test_detect_cli_exit_code_and_privacy() -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["detect", str(SAMPLES), "--format", "json"])
    assert result.exit_code == 1
    assert "QUIRINUS" not in result.output and "HELOISE" not in result.output
    document = json.loads(result.output[: result.output.rindex("]") + 1])
    assert sum(1 for f in document if any(x["identifying"] for x in f.get("findings", []))) == 1
    shown = runner.invoke(
        main,
        [
            "detect",
            str(SAMPLES / "patients" / "QUIRINUS_screenshot.dcm"),
            "--format",
            "csv",
            "--show-text",
        ],
    )
    assert shown.exit_code == 1
    assert "HELOISE" in shown.output.upper()
    clean = runner.invoke(main, ["detect", str(SAMPLES / "patients" / "VANTERPOOL_omar-ct.dcm")])
    assert clean.exit_code == 0
