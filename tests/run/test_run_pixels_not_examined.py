"""A file whose header suggests burned-in text, and that no pixel rule reaches, is quarantined
(run/pixel_stage.py ``unexamined_pixel_signal``): its pixels would go out unread under a
Patient Identity Removed YES. A pixel rule that reaches it, any rule, is followed instead."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest

from deidengine.dicom.keys import ProjectSecret
from deidengine.run.outcome import REASON_TEXT, Reason, Status
from deidengine.run.pipeline import FileProcessor, RunSettings, read_input_file
from deidengine.run.verify_tree import verify_tree
from tests.pydicom_files import bundled_test_files

SECRET = bytes(range(32))
SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "in"
US = "examples_rgb_color.dcm"  # Modality US, RGB, no identifying text in its pixels


def _processor(root: Path, spec: str) -> FileProcessor:
    return FileProcessor(RunSettings(spec, SECRET, str(root / "out"), str(root / "quarantine")))


def _read(path: str | Path) -> pydicom.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(path)


def _one(name: str) -> str:
    (path,) = bundled_test_files(name)
    return path


def test_basic_profile_quarantines_an_ultrasound_image(tmp_path: Path) -> None:
    outcome = _processor(tmp_path, "annex-e/basic").process(_one(US))
    assert outcome.status is Status.QUARANTINED
    assert outcome.reason is Reason.PIXELS_NOT_EXAMINED
    assert outcome.detail == f"{REASON_TEXT[Reason.PIXELS_NOT_EXAMINED]} (Modality US)"
    assert not (tmp_path / "out").exists()


def test_a_reviewed_keep_rule_writes_it_with_its_pixels_as_they_were(tmp_path: Path) -> None:
    overlay = tmp_path / "reviewed.policy"
    overlay.write_text(
        'option site/us-reviewed "Ultrasound reviewed: no burned-in text"\n\n'
        'pixels when Modality == "US" -> keep\n',
        encoding="utf-8",
    )
    processor = _processor(tmp_path, f"annex-e/basic,{overlay}")
    outcome = processor.process(_one(US))
    assert outcome.status is Status.WRITTEN and outcome.output is not None
    written = _read(processor.output_root / outcome.output)
    assert written.PixelData == _read(_one(US)).PixelData
    # The rule's condition reads the input: an image it does not reach is still quarantined.
    other = processor.process(_one("SC_rgb_rle.dcm"))
    assert (other.status, other.reason) == (Status.QUARANTINED, Reason.PIXELS_NOT_EXAMINED)
    assert other.detail is not None and other.detail.endswith("(Modality OT)")


def test_the_clean_pixel_data_option_examines_and_writes_it(tmp_path: Path) -> None:
    processor = _processor(tmp_path, "annex-e/basic,annex-e/clean-pixel-data")
    outcome = processor.process(_one(US))
    assert outcome.status is Status.WRITTEN


@pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small.dcm"])
def test_image_series_are_written_with_identical_pixels(tmp_path: Path, name: str) -> None:
    processor = _processor(tmp_path, "annex-e/basic")
    outcome = processor.process(_one(name))
    assert outcome.status is Status.WRITTEN and outcome.output is not None
    assert _read(processor.output_root / outcome.output).PixelData == _read(_one(name)).PixelData


def test_a_file_too_large_for_the_table_is_quarantined_too(tmp_path: Path) -> None:
    # Over the lean reader's 4 MiB: no element table, the Dataset path asks the same question.
    dataset = _read(_one("CT_small.dcm"))
    dataset.Modality = "OT"
    dataset.Rows = dataset.Columns = 1500
    dataset.PixelData = np.zeros((1500, 1500), dtype=np.int16).tobytes()
    big = tmp_path / "big.dcm"
    dataset.save_as(big, enforce_file_format=True)
    assert read_input_file(str(big)).table is None
    outcome = _processor(tmp_path, "annex-e/basic").process(str(big))
    assert (outcome.status, outcome.reason) == (Status.QUARANTINED, Reason.PIXELS_NOT_EXAMINED)
    assert outcome.detail is not None and outcome.detail.endswith("(Modality OT)")


def test_what_the_basic_profile_writes_of_the_samples_passes_verify(tmp_path: Path) -> None:
    processor = _processor(tmp_path, "annex-e/basic")
    inputs = sorted(p for p in SAMPLES.rglob("*") if p.is_file() and p.suffix != ".md")
    outcomes = [processor.process(str(path)) for path in inputs]
    statuses = sorted((o.status.value, o.reason.value if o.reason else "") for o in outcomes)
    # The screenshot that carries the patient's name states Burned In Annotation YES.
    assert statuses == [("quarantined", "pixels-not-examined")] + [("written", "")] * 4
    report = verify_tree(
        "annex-e/basic",
        processor.output_root,
        original_root=SAMPLES,
        secret=ProjectSecret(SECRET),
    )
    assert (report.files_checked, report.errors) == (4, ())
