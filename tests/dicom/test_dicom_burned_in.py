"""The header's signals of burned-in text (dicom/burned_in.py), over pydicom's own files."""

from __future__ import annotations

import warnings

import pydicom
import pytest

from deidengine.dicom.burned_in import BURNED_IN_SIGNAL_TAGS, burned_in_text_signal
from deidengine.dicom.conditions import ConditionSnapshot
from tests.pydicom_files import bundled_test_files


def _signal(name: str) -> str | None:
    (path,) = bundled_test_files(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = pydicom.dcmread(path)
    return burned_in_text_signal(ConditionSnapshot.of(dataset, BURNED_IN_SIGNAL_TAGS))


@pytest.mark.parametrize(
    ("name", "signal"),
    [
        # The benchmark corpora's files: image series and documents without pixels.
        ("CT_small.dcm", None),
        ("MR_small.dcm", None),
        ("test-SR.dcm", None),
        ("rtplan.dcm", None),
        ("examples_rgb_color.dcm", "Modality US"),
        ("SC_rgb_rle.dcm", "Modality OT"),
        # Modality NM, but stored as a Secondary Capture.
        ("JPEG2000.dcm", "a Secondary Capture SOP Class"),
        # No Modality at all: the SOP Class still says what it is.
        ("SC_jpeg_no_color_transform.dcm", "a Secondary Capture SOP Class"),
    ],
)
def test_signal_of_real_files(name: str, signal: str | None) -> None:
    assert _signal(name) == signal


def _snapshot(values: dict[int, tuple[str, ...]]) -> ConditionSnapshot:
    return ConditionSnapshot.of_values(values)


@pytest.mark.parametrize(
    ("values", "signal"),
    [
        ({0x00280301: ("YES",), 0x00080060: ("CT",)}, "Burned In Annotation YES"),
        ({0x00280301: ("yes ",)}, "Burned In Annotation YES"),
        ({0x00280301: ("NO",), 0x00080060: ("MR",)}, None),
        # An input's own NO does not outweigh a modality whose frames carry text by design.
        ({0x00280301: ("NO",), 0x00080060: ("US",)}, "Modality US"),
        ({0x00080060: ("XC",)}, "Modality XC"),
        ({0x00080060: ("es",)}, "Modality ES"),
        ({0x00080016: ("1.2.840.10008.5.1.4.1.1.7.4",)}, "a Secondary Capture SOP Class"),
        ({0x00080016: ("1.2.840.10008.5.1.4.1.1.2",)}, None),
        (
            {0x00080060: ("CT",), 0x00080064: ("WSD",)},
            "a Conversion Type (a captured or converted image)",
        ),
        ({0x00080060: ("CT",), 0x00080064: ()}, None),
        ({}, None),
    ],
)
def test_signal_of_header_values(values: dict[int, tuple[str, ...]], signal: str | None) -> None:
    assert burned_in_text_signal(_snapshot(values)) == signal


def test_signal_names_coded_values_only() -> None:
    # What the quarantine record shows: never a value beyond a coded Modality.
    identifying = {0x00080060: ("SMITH^JOHN",), 0x00080064: ("SMITH^JOHN",)}
    signal = burned_in_text_signal(_snapshot(identifying))
    assert signal == "a Conversion Type (a captured or converted image)"
