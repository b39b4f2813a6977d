"""The review sheet, opened in a real headless Chromium: loads, one row per redacted frame,
no input value in the page, mode 0600."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from pixel_synth import cine, ct_512, ct_512_with_text

from deidengine.cli import main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

#: What the inputs say: none of it may appear in the sheet.
INPUT_VALUES = ("DOE", "JANE", "48213977", "19620315", "1962", "patient-", "CT_small")


def _tree(tmp_path: Path) -> Path:
    tree = tmp_path / "in" / "patient-DOE_JANE"
    tree.mkdir(parents=True)
    with_text, _ = ct_512_with_text()
    with_text.save_as(tree / "DOE_JANE_1.dcm", enforce_file_format=True)
    moving, _ = cine(frames=3)
    moving.SOPInstanceUID = moving.SOPInstanceUID + ".3"
    moving.save_as(tree / "DOE_JANE_cine.dcm", enforce_file_format=True)
    clean = ct_512()
    clean.SOPInstanceUID = clean.SOPInstanceUID + ".9"
    clean.save_as(tree / "DOE_JANE_clean.dcm", enforce_file_format=True)
    return tmp_path / "in"


def _dump_dom(page: Path, profile: Path) -> str:
    assert CHROMIUM is not None
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--dump-dom",
        page.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


def _assert_private(path: Path) -> None:
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def _assert_no_input_value(text: str) -> None:
    for value in INPUT_VALUES:
        assert value not in text, value


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed")
def test_run_review_sheet_in_a_browser(tmp_path: Path) -> None:
    key = tmp_path / "project.key"
    assert CliRunner().invoke(main, ["keygen", "--out", str(key)]).exit_code == 0
    review = tmp_path / "review"
    result = CliRunner().invoke(
        main,
        [
            "run",
            "--policy",
            "hipaa-safe-harbor",
            "--secret-file",
            str(key),
            "--workers",
            "1",
            "--review",
            str(review),
            str(_tree(tmp_path)),
            str(tmp_path / "out"),
        ],
    )
    assert result.exit_code == 0, result.output
    page = review / "review.html"
    _assert_private(page)
    for part in (review / "parts").iterdir():
        _assert_private(part)
    source = page.read_text(encoding="utf-8")
    _assert_no_input_value(source)
    assert "http://" not in source and "https://" not in source  # nothing from the network
    dom = _dump_dom(page, tmp_path / "profile")
    # One row per redacted frame: one for the still image, three for the cine, none for clean.
    assert len(re.findall(r'<tr class="redacted-frame"', dom)) == 4
    assert dom.count('src="data:image/png;base64,') == 4
    assert "identifying-text" in dom and "4 redacted frame(s)" in dom
    _assert_no_input_value(dom)


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed")
def test_detect_review_sheet_in_a_browser(tmp_path: Path) -> None:
    review = tmp_path / "review"
    tree = _tree(tmp_path)
    os.remove(next(tree.rglob("*cine.dcm")))
    result = CliRunner().invoke(main, ["detect", str(tree), "--review", str(review)])
    assert result.exit_code == 1
    page = review / "review.html"
    _assert_private(page)
    dom = _dump_dom(page, tmp_path / "profile")
    assert len(re.findall(r'<tr class="redacted-frame"', dom)) == 1
    _assert_no_input_value(dom)
