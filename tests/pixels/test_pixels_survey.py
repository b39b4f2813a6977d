"""``deid detect`` on the bundled samples: finds the burned-in name, hides text and paths."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from deidengine.cli import main
from deidengine.run.detect_tree import (
    EXIT_CLEAN,
    EXIT_TEXT_FOUND,
    EXIT_TEXT_FOUND_AND_UNREADABLE,
    EXIT_UNREADABLE,
    detect_exit_code,
    survey_burned_in_text,
)
from deidengine.run.outcome import Reason

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


def _odd_tree(tmp_path: Path) -> Path:
    from tests.pydicom_files import bundled_test_files

    tree = tmp_path / "in"
    tree.mkdir()
    for name in ("badVR.dcm", "nested_priv_SQ.dcm", "CT_small.dcm"):
        (path,) = bundled_test_files(name)
        shutil.copyfile(path, tree / name)
    (tree / "notes.txt").write_text("not an image", encoding="utf-8")
    return tree


def test_odd_files_get_one_row_each_and_the_survey_goes_on(tmp_path: Path) -> None:
    results = {r.path.name: r for r in survey_burned_in_text(_odd_tree(tmp_path))}
    assert {name: r.reason for name, r in results.items()} == {
        "badVR.dcm": Reason.INCONSISTENT_PIXEL_DATA,
        "nested_priv_SQ.dcm": Reason.NOT_DICOM,
        "notes.txt": Reason.NOT_DICOM,
        "CT_small.dcm": None,
    }
    assert results["CT_small.dcm"].report is not None
    assert detect_exit_code(results.values()) == EXIT_UNREADABLE


def test_detect_cli_exit_codes_tell_text_from_unreadable(tmp_path: Path) -> None:
    tree = _odd_tree(tmp_path)
    runner = CliRunner()
    result = runner.invoke(main, ["detect", str(tree), "--format", "json"])
    assert result.exit_code == EXIT_UNREADABLE, result.output
    assert "Traceback" not in result.output
    document = json.loads(result.output[: result.output.rindex("]") + 1])
    assert sorted(row.get("reason", "") for row in document) == [
        "",
        "inconsistent-pixel-data",
        "not-dicom",
        "not-dicom",
    ]
    shutil.copyfile(SAMPLES / "patients" / "QUIRINUS_screenshot.dcm", tree / "shot.dcm")
    both = runner.invoke(main, ["detect", str(tree), "--format", "csv"])
    assert both.exit_code == EXIT_TEXT_FOUND_AND_UNREADABLE
    assert "inconsistent-pixel-data" in both.output


def test_exit_codes_are_distinct() -> None:
    assert len({EXIT_CLEAN, EXIT_TEXT_FOUND, EXIT_UNREADABLE, EXIT_TEXT_FOUND_AND_UNREADABLE}) == 4
    assert 2 not in {EXIT_UNREADABLE, EXIT_TEXT_FOUND_AND_UNREADABLE}  # 2 is a usage error
