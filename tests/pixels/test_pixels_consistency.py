"""Pixel Data coherent with its description: subsampled YBR accepted, incoherent data refused."""

from __future__ import annotations

import copy
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset

from deidengine.pixels.consistency import (
    PixelDataFault,
    check_pixel_data,
    expected_native_length,
)
from deidengine.run.outcome import Reason, Status
from deidengine.run.pipeline import FileProcessor, RunSettings
from tests.policy_specs import pixels_kept
from tests.pydicom_files import bundled_test_files

SECRET = b"consistency-test-secret-32-bytes"


def _load(name: str) -> Dataset:
    (path,) = bundled_test_files(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(path)


def test_ybr_full_422_native_length_counts_two_samples_per_pixel() -> None:
    ds = _load("SC_ybr_full_422_uncompressed.dcm")
    assert ds.PhotometricInterpretation == "YBR_FULL_422"
    # PS3.5 8.2.1: Y Y Cb Cr for every two pixels, 8 bits each.
    assert expected_native_length(ds) == ds.Rows * ds.Columns * 2 == len(ds.PixelData)
    assert check_pixel_data(ds, encapsulated=False) is None


def test_every_coherent_bundled_image_passes() -> None:
    refused = set()
    for path in bundled_test_files("*.dcm"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds = pydicom.dcmread(path)
        except Exception:
            continue
        syntax = getattr(ds.get("file_meta"), "TransferSyntaxUID", None)
        encapsulated = bool(syntax) and syntax.is_encapsulated
        if "PixelData" in ds and check_pixel_data(ds, encapsulated=encapsulated):
            refused.add(Path(path).name)
    # Exactly the damaged ones: a cut file, a fractional frame count, no photometric value.
    assert refused == {
        "MR_truncated.dcm",
        "badVR.dcm",
        "meta_missing_tsyntax.dcm",
        "nested_priv_SQ.dcm",
    }


def _ct() -> Dataset:
    return _load("CT_small.dcm")


def _frames(ds: Dataset, value: str) -> Dataset:
    ds.NumberOfFrames = value
    return ds


def _photometric(ds: Dataset, value: str) -> Dataset:
    ds.PhotometricInterpretation = value
    return ds


def _short(ds: Dataset) -> Dataset:
    ds.PixelData = ds.PixelData[:-1024]
    return ds


def _samples(ds: Dataset) -> Dataset:
    ds.SamplesPerPixel = 3
    return ds


def _bits(ds: Dataset) -> Dataset:
    ds.BitsAllocated = 12
    return ds


@pytest.mark.parametrize(
    ("damage", "fault", "detail"),
    [
        (lambda ds: _frames(ds, "3"), PixelDataFault.INCONSISTENT, "shorter"),
        (lambda ds: _frames(ds, "0"), PixelDataFault.INCONSISTENT, "Number of Frames"),
        (lambda ds: _frames(ds, "2147483648"), PixelDataFault.INCONSISTENT, "Number of Frames"),
        (_short, PixelDataFault.INCONSISTENT, "shorter"),
        (_samples, PixelDataFault.INCONSISTENT, "Samples per Pixel"),
        (_bits, PixelDataFault.INCONSISTENT, "Bits Allocated"),
        (lambda ds: _photometric(ds, "MONOCHROME3"), PixelDataFault.UNKNOWN_PHOTOMETRIC, "PS3.3"),
    ],
    ids=["frames-3", "frames-0", "frames-2^31", "short", "samples", "bits", "photometric"],
)
def test_incoherent_pixel_data_is_named(damage: object, fault: PixelDataFault, detail: str) -> None:
    ds = damage(copy.deepcopy(_ct()))  # type: ignore[operator]
    problem = check_pixel_data(ds, encapsulated=False)
    assert problem is not None
    assert problem.fault is fault
    assert detail in problem.detail


def test_more_frames_in_the_data_than_declared_is_refused() -> None:
    ds = _ct()
    ds.PixelData = ds.PixelData * 2
    problem = check_pixel_data(ds, encapsulated=False)
    assert problem is not None and "more frames" in problem.detail


def test_encapsulated_with_fewer_fragments_than_frames_is_refused() -> None:
    ds = _load("JPEG2000.dcm")
    assert check_pixel_data(ds, encapsulated=True) is None
    ds.NumberOfFrames = 4
    problem = check_pixel_data(ds, encapsulated=True)
    assert problem is not None and "fragments" in problem.detail


def _run_one(tmp_path: Path, ds: Dataset, policy: str = "annex-e/basic") -> object:
    path = tmp_path / "in.dcm"
    ds.save_as(path, enforce_file_format=True)
    settings = RunSettings(policy, SECRET, str(tmp_path / "out"), str(tmp_path / "q"))
    return FileProcessor(settings).process(str(path))


@pytest.mark.parametrize("policy", [pixels_kept("annex-e/basic"), "hipaa-safe-harbor"])
def test_uncompressed_ybr_full_422_is_written_not_called_truncated(
    tmp_path: Path, policy: str
) -> None:
    source = _load("SC_ybr_full_422_uncompressed.dcm")
    outcome = _run_one(tmp_path, copy.deepcopy(source), policy)
    assert outcome.status is Status.WRITTEN, outcome.reason  # type: ignore[attr-defined]
    out = pydicom.dcmread(tmp_path / "out" / outcome.output)  # type: ignore[attr-defined]
    # No text to remove: the pixels, and their photometric interpretation, are untouched.
    assert out.PhotometricInterpretation == "YBR_FULL_422"
    assert out.PixelData == source.PixelData
    assert check_pixel_data(out, encapsulated=False) is None
    assert np.array_equal(out.pixel_array, source.pixel_array)


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda ds: _frames(ds, "3"), Reason.INCONSISTENT_PIXEL_DATA),
        (lambda ds: _photometric(ds, "MONOCHROME3"), Reason.UNKNOWN_PHOTOMETRIC_INTERPRETATION),
        (_samples, Reason.INCONSISTENT_PIXEL_DATA),
    ],
    ids=["frames", "photometric", "samples"],
)
def test_a_run_quarantines_incoherent_pixel_data_with_its_reason(
    tmp_path: Path, damage: object, reason: Reason
) -> None:
    outcome = _run_one(tmp_path, damage(_ct()), "hipaa-safe-harbor")  # type: ignore[operator]
    assert (outcome.status, outcome.reason) == (Status.QUARANTINED, reason)  # type: ignore[attr-defined]
    assert not (tmp_path / "out").exists()
    record = next((tmp_path / "q").glob("*.json")).read_text("utf-8")
    assert reason.value in record and "Traceback" not in record


def test_a_bad_vr_frame_count_file_is_quarantined_as_inconsistent(tmp_path: Path) -> None:
    (path,) = bundled_test_files("badVR.dcm")
    settings = RunSettings("annex-e/basic", SECRET, str(tmp_path / "out"), str(tmp_path / "q"))
    outcome = FileProcessor(settings).process(path)
    assert (outcome.status, outcome.reason) == (Status.QUARANTINED, Reason.INCONSISTENT_PIXEL_DATA)
