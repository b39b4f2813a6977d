"""Whether an image's pixels may carry burned-in identifying text, from its header alone.

A policy without a pixel rule for a file (the Basic Profile alone: PS3.15's Clean Pixel Data
Option not used) leaves its pixels as they are and never reads them. Patient Identity Removed
(0012,0062) YES claims the identity is gone "from the Attributes and the Pixel Data" (PS3.3
C.7.1.1), so such a file can only be written when nothing suggests text in its pixels. This
module says, from the input's header, when something does: the run then quarantines the file
(:data:`deidengine.run.outcome.Reason.PIXELS_NOT_EXAMINED`) unless a pixel rule of the policy
reaches it (``ocr-redact``, ``redact box``, a reviewed ``keep``, ``reject``).

The signals, each a fact of the header an image series of CT or MR does not carry:

- Burned In Annotation (0028,0301) YES: the source says so;
- a Modality whose images commonly carry text or a face (:data:`TEXT_BEARING_MODALITIES`);
- a Secondary Capture SOP Class (:data:`SECONDARY_CAPTURE_CLASSES`): screenshots, scanned
  documents, exported reports;
- a Conversion Type (0008,0064): present only in the SC Equipment Module, on images made by
  capturing or converting something else (a workstation's screen, digitised film or video).
"""

from __future__ import annotations

from typing import Final

from pydicom.tag import Tag

from deidengine.dicom.conditions import ConditionSnapshot

__all__ = [
    "BURNED_IN_SIGNAL_TAGS",
    "SECONDARY_CAPTURE_CLASSES",
    "TEXT_BEARING_MODALITIES",
    "burned_in_text_signal",
]

# Tags by keyword from pydicom's data dictionary, not retyped.
MODALITY, SOP_CLASS_UID, CONVERSION_TYPE, BURNED_IN_ANNOTATION = (
    int(Tag(keyword))
    for keyword in ("Modality", "SOPClassUID", "ConversionType", "BurnedInAnnotation")
)

TEXT_BEARING_MODALITIES: Final = frozenset(
    {
        "US",  # ultrasound: the patient's name, ID and date are drawn on the frame by design
        "SC",  # secondary capture: screenshots of whatever a screen showed
        "OT",  # other: exports and captures no modality claims
        "ES",  # endoscopy video frames: the processor overlays patient and date
        "DOC",  # scanned documents: request forms, consent, reports
        "XC",  # external-camera photographs: may show a face, a wristband, a chart
        "GM",  # general microscopy: slide labels carry names and accession numbers
    }
)
"""Modalities (PS3.3 C.7.3.1.1.1) whose images commonly carry burned-in text or a face."""

SECONDARY_CAPTURE_CLASSES: Final = frozenset(
    {
        "1.2.840.10008.5.1.4.1.1.7",  # Secondary Capture Image Storage
        "1.2.840.10008.5.1.4.1.1.7.1",  # Multi-frame Single Bit SC Image Storage
        "1.2.840.10008.5.1.4.1.1.7.2",  # Multi-frame Grayscale Byte SC Image Storage
        "1.2.840.10008.5.1.4.1.1.7.3",  # Multi-frame Grayscale Word SC Image Storage
        "1.2.840.10008.5.1.4.1.1.7.4",  # Multi-frame True Color SC Image Storage
    }
)
"""The Secondary Capture SOP Classes (PS3.4 B.5): images captured from a screen or converted."""

BURNED_IN_SIGNAL_TAGS: Final = frozenset(
    {MODALITY, SOP_CLASS_UID, CONVERSION_TYPE, BURNED_IN_ANNOTATION}
)
"""The top-level tags :func:`burned_in_text_signal` reads from a condition snapshot."""


def _first(snapshot: ConditionSnapshot, tag: int) -> str | None:
    values = snapshot.values.get(tag)
    return values[0].strip().upper() if values else None


def burned_in_text_signal(snapshot: ConditionSnapshot) -> str | None:
    """What in the input's header says its pixels may carry burned-in text or a face (a short
    phrase naming the attribute and a coded value, never an identifying one), or None.

    ``snapshot`` must hold :data:`BURNED_IN_SIGNAL_TAGS`. The caller asks only about files
    with pixel data.
    """
    if _first(snapshot, BURNED_IN_ANNOTATION) == "YES":
        return "Burned In Annotation YES"
    modality = _first(snapshot, MODALITY)
    if modality in TEXT_BEARING_MODALITIES:
        return f"Modality {modality}"
    values = snapshot.values.get(SOP_CLASS_UID)
    if values and values[0].strip() in SECONDARY_CAPTURE_CLASSES:
        return "a Secondary Capture SOP Class"
    if snapshot.values.get(CONVERSION_TYPE):
        return "a Conversion Type (a captured or converted image)"
    return None
