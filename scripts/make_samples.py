"""Regenerate the bundled sample data in samples/in (fake PHI injected into real files).

Run from the repository root: ``python scripts/make_samples.py``. The names, IDs, dates and
addresses are invented; the pixel data and the rest of each header come from pydicom's own
test files. One secondary capture carries the fake patient's name burned into its pixels.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import cv2
import numpy as np
import pydicom
from pydicom.data import get_testdata_file
from pydicom.uid import ExplicitVRLittleEndian

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.phi_corpus import JANE, inject, write_corpus

ROOT = Path(__file__).resolve().parents[1] / "samples" / "in"


def burned_in_capture(folder: Path) -> Path:
    """A 256x256 secondary capture with the patient's name and MRN drawn into the pixels."""
    source = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    image = source.pixel_array.astype(np.float64)
    image = (255 * (image - image.min()) / max(1.0, float(np.ptp(image)))).astype(np.uint8)
    canvas = np.zeros((256, 256), dtype=np.uint8)
    canvas[64:128, 64:128] = image
    canvas[64:192, 64:192] = cv2.resize(image, (128, 128))
    for row, text in enumerate(
        (f"{JANE.family}, {JANE.given}", f"MRN {JANE.patient_id[3:]}", "2019-03-14")
    ):
        cv2.putText(
            canvas, text, (6, 18 + 18 * row), cv2.FONT_HERSHEY_SIMPLEX, 0.5, 255, 1, cv2.LINE_AA
        )
    source.Rows, source.Columns = canvas.shape
    source.BitsAllocated = source.BitsStored = 8
    source.HighBit = 7
    source.PixelRepresentation = 0
    source.PixelData = canvas.tobytes()
    source.Modality = "OT"
    source.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"  # Secondary Capture Image Storage
    source.BurnedInAnnotation = "YES"
    for keyword in (
        "WindowCenter",
        "WindowWidth",
        "SmallestImagePixelValue",
        "LargestImagePixelValue",
    ):
        if keyword in source:
            delattr(source, keyword)
    inject(source, JANE, "1.2.826.0.1.3680043.9.7.1", "20190314")
    source.SOPInstanceUID = "1.2.826.0.1.3680043.9.7.100.9"
    source.SeriesInstanceUID = "1.2.826.0.1.3680043.9.7.1.9"
    source.file_meta.MediaStorageSOPClassUID = source.SOPClassUID
    source.file_meta.MediaStorageSOPInstanceUID = source.SOPInstanceUID
    source.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    path = folder / f"{JANE.family}_screenshot.dcm"
    source.save_as(path, enforce_file_format=True)
    return path


def main() -> None:
    if ROOT.exists():
        shutil.rmtree(ROOT)
    write_corpus(ROOT / "patients")
    burned_in_capture(ROOT / "patients")


if __name__ == "__main__":
    main()
