"""``deid verify`` of a tree with nothing in it: nothing checked proves nothing."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from deidengine.cli import main
from deidengine.run.verify_tree import verify_tree
from deidengine.verify.conformance import FindingCode


def test_an_empty_folder_fails_with_no_files(tmp_path: Path) -> None:
    report = verify_tree("annex-e/basic", tmp_path, ocr=False, iod=False)
    assert report.files_checked == 0
    assert [(f.code, f.message) for f in report.errors] == [
        (FindingCode.NO_FILES.value, "no files to verify")
    ]
    assert report.exit_code == 1


def test_the_command_says_no_files_and_exits_1(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    arguments = ["verify", "--policy", "annex-e/basic", "--no-ocr", "--no-iod"]
    table = CliRunner().invoke(main, [*arguments, str(tmp_path / "empty")])
    assert table.exit_code == 1, table.output
    assert "V503 no-files" in table.output
    assert "FAILED: no files checked, 1 errors, 1 warnings" in table.output
    as_json = CliRunner().invoke(main, [*arguments, "--format", "json", str(tmp_path / "empty")])
    assert as_json.exit_code == 1
    codes = [f["code"] for f in json.loads(as_json.output)["findings"]]
    assert "V503 no-files" in codes
