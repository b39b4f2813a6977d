"""run.admission: the one place that says, at reading time, why an input is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from deidengine.dicom.limits import InputLimits
from deidengine.run.admission import InputRefused, admit, is_media_directory
from deidengine.run.outcome import Reason
from tests.pydicom_files import DATA

CT = DATA / "test_files" / "CT_small.dcm"


def refusal(path: Path, limits: InputLimits | None = None) -> tuple[Reason, str | None]:
    with pytest.raises(InputRefused) as refused:
        admit(str(path), limits) if limits is not None else admit(str(path))
    return refused.value.reason, refused.value.detail


def test_a_whole_file_is_admitted() -> None:
    dataset = admit(str(CT))
    assert dataset.SOPInstanceUID and not is_media_directory(dataset)


def test_each_reading_defect_has_its_reason(tmp_path: Path) -> None:
    data = CT.read_bytes()
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(data[: len(data) - 100])
    assert refusal(cut) == (Reason.TRUNCATED, None)
    text = tmp_path / "notes.txt"
    text.write_bytes(b"no DICOM here, just a note\n" * 10)
    assert refusal(text)[0] is Reason.NOT_DICOM
    assert refusal(tmp_path / "missing.dcm") == (Reason.TRUNCATED, None)
    small = InputLimits(max_pixel_bytes=1)
    assert refusal(CT, small) == (
        Reason.TOO_LARGE,
        "the pixel description declares more than 0 MiB (--max-pixel-mib)",
    )


def test_a_media_directory_is_admitted_for_the_caller_to_skip() -> None:
    dataset = admit(str(DATA / "test_files" / "dicomdirtests" / "DICOMDIR"))
    assert is_media_directory(dataset)
