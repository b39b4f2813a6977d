"""The pipeline's pixel stage: OpenCV on the calling thread; a text-free frame left as it was."""

from __future__ import annotations

import warnings

import cv2
import pydicom
from pydicom.data import get_testdata_file

from deidengine.dicom.conditions import ConditionSnapshot
from deidengine.dicom.identifiers import collect_identifying_values
from deidengine.policy import load_plan
from deidengine.run.pixel_stage import run_pixel_stage


def test_pixel_stage_runs_opencv_on_one_thread_and_keeps_text_free_pixels() -> None:
    path = get_testdata_file("CT_small.dcm")
    assert path is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = pydicom.dcmread(path)
    before = bytes(dataset.PixelData)
    plan = load_plan("hipaa-safe-harbor")
    identifying = collect_identifying_values(dataset)
    snapshot = ConditionSnapshot.of(dataset, plan.condition_tags)
    threads = cv2.getNumThreads()
    cv2.setNumThreads(2)
    try:
        rule = run_pixel_stage(dataset, plan, identifying, snapshot, "default")
        assert cv2.getNumThreads() == 1
    finally:
        cv2.setNumThreads(threads)
    # The catch-all `pixels -> ocr-redact identifying` selected the CT; nothing was found.
    assert rule is not None and rule.action.text == "identifying"
    assert bytes(dataset.PixelData) == before
