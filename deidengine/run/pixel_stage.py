"""The pixel step of the pipeline: run the policy's ``pixels`` rule for one file.

The first ``pixels`` rule whose condition holds decides: ``keep`` (or no rule) leaves the
PixelData bytes untouched, ``reject`` quarantines the file, ``ocr-redact`` and ``redact box``
call the pixel stage (:mod:`deidengine.pixels.redact`), which re-reads what it redacted and
raises when identifying text is still readable.

Before any of that, :func:`unexamined_pixel_signal` says when no pixel rule reaches a file
whose header suggests burned-in text (:mod:`deidengine.dicom.burned_in`): its pixels would be
written unread under a Patient Identity Removed YES, so the run quarantines it instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydicom.dataset import Dataset

from deidengine.dicom.apply import RejectedError
from deidengine.dicom.burned_in import burned_in_text_signal
from deidengine.dicom.conditions import ConditionSnapshot, first_applicable
from deidengine.dicom.identifiers import IdentifyingValues
from deidengine.policy import ast
from deidengine.policy.plan import Plan, PlannedRule
from deidengine.standard.dictionary import PIXEL_DATA

if TYPE_CHECKING:
    from deidengine.pixels.redact import PixelOutcome


def _opencv_on_one_thread() -> None:
    """Run OpenCV's work in the calling thread, as onnxruntime's already is.

    A run parallelises across files, one worker per core; OpenCV's own pool on top of that
    takes the other workers' cores, and on a 512x512 frame its threads' hand-offs cost more
    than they save (measured: the same wall time per frame, ~10-20% more CPU time per file).
    """
    import cv2

    if cv2.getNumThreads() != 1:
        cv2.setNumThreads(1)


def unexamined_pixel_signal(
    plan: Plan, snapshot: ConditionSnapshot, has_pixel_data: bool
) -> str | None:
    """Why this file may not be written with its pixels unread, or None.

    A file with pixel data that no pixel rule of ``plan`` reaches (none, or none whose
    condition holds) keeps its pixels unread; when its header suggests burned-in text
    (:func:`~deidengine.dicom.burned_in.burned_in_text_signal`) nothing proves them clean, so
    it fails closed. Any rule that applies is the policy's decision and is followed: a
    cleaning rule reads the pixels, ``reject`` refuses the file, and ``keep`` records that the
    policy's author accepts such pixels as they are. ``snapshot`` must hold
    :data:`~deidengine.dicom.burned_in.BURNED_IN_SIGNAL_TAGS`.
    """
    if not has_pixel_data or first_applicable(plan.pixels, snapshot) is not None:
        return None
    return burned_in_text_signal(snapshot)


def run_pixel_stage(
    dataset: Dataset,
    plan: Plan,
    identifying: IdentifyingValues,
    snapshot: ConditionSnapshot,
    backend: str,
    outcomes: list[PixelOutcome] | None = None,
) -> PlannedRule | None:
    """Apply the selected pixel rule in place; the rule when it cleaned pixels, else None.

    Call it with the header already de-identified but the identifying values and the
    condition ``snapshot`` taken from the input: OCR output is matched against those values,
    and conditions read what the input said, not what the header stage left. What the
    redaction did (its masks, for the review sheet) is appended to ``outcomes`` when given.
    """
    rule = first_applicable(plan.pixels, snapshot)
    if rule is None or rule.action.kind is ast.ActionKind.KEEP:
        return None
    if rule.action.kind is ast.ActionKind.REJECT:
        raise RejectedError(f"rejected by the pixel rule at {rule.source}")
    if PIXEL_DATA not in dataset:
        return None
    _opencv_on_one_thread()
    from deidengine.pixels.redact import RedactMode, keep_ultrasound_regions, redact_pixels

    if rule.action.kind is ast.ActionKind.KEEP_ULTRASOUND_REGIONS:
        # Everything outside the regions goes; the rest still gets the identifying-text check.
        keep_ultrasound_regions(dataset)

    boxes: tuple[tuple[int, int, int, int], ...] = ()
    # A fixed box is filled and the rest of the image still gets the identifying-text check.
    mode: RedactMode = "all" if rule.action.text == "all" else "identifying"
    if rule.action.kind is ast.ActionKind.REDACT_BOX:
        x, y, w, h = rule.action.numbers
        boxes = ((x, y, w, h),)
    done = redact_pixels(
        dataset, identifying_values=identifying, mode=mode, boxes=boxes, backend=backend
    )
    if outcomes is not None:
        outcomes.append(done)
    return rule
