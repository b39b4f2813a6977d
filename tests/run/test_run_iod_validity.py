"""Outputs stay valid objects: dciodvfy finds no error in an output that its input lacked."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file

from deidengine.run.outcome import Status
from deidengine.run.pipeline import FileProcessor, RunSettings
from deidengine.verify.iod import new_iod_errors
from tests.policy_specs import pixels_kept

FILES = [
    "CT_small.dcm",
    "MR_small.dcm",
    "test-SR.dcm",
    "reportsi.dcm",
    "rtplan.dcm",
    "waveform_ecg.dcm",
    "SC_rgb_rle.dcm",
    "JPEG2000.dcm",
    "examples_overlay.dcm",
    "rtstruct.dcm",
    "liver_1frame.dcm",
]
POLICIES = ["annex-e/basic", "hipaa-safe-harbor", "research-longitudinal"]

pytestmark = pytest.mark.skipif(shutil.which("dciodvfy") is None, reason="dicom3tools missing")


@pytest.mark.parametrize("policy", POLICIES)
def test_no_new_iod_errors(tmp_path: Path, policy: str) -> None:
    processor = FileProcessor(
        RunSettings(
            pixels_kept(policy), bytes(range(32)), str(tmp_path / "out"), str(tmp_path / "q")
        )
    )
    for name in FILES:
        path = get_testdata_file(name)
        assert path is not None, name
        outcome = processor.process(path)
        assert outcome.status is Status.WRITTEN, (name, outcome)
        errors = new_iod_errors(str(tmp_path / "out" / str(outcome.output)), path)
        assert [e.message for e in errors] == [], (policy, name)
