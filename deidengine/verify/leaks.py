"""Leak scan: no identifying value of the input may remain anywhere in the output.

Every element at every depth is read as text (private and UN bytes included, as Latin-1) and
searched for the input's identifying values. Elements the policy explicitly keeps are
allowed to hold what they held. Findings name element paths, never the values.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pydicom.datadict import tag_for_keyword
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from deidengine.dicom.elements import ElementPath, element_location, element_text
from deidengine.dicom.identifiers import NAME_KEYWORDS, IdentifyingValues, ValueKind, normalise

SKIPPED_TAGS = frozenset({0x7FE00010, 0x7FE00008, 0x7FE00009})
# Coded strings (CS) hold enumerated terms, where short name parts match by accident.
UNSCANNED_VRS = frozenset({"FD", "FL", "SL", "SS", "SV", "UL", "US", "UV", "AT", "CS"})
# In elements no rule touched, station names, AE titles and institution names of the input
# often equal device facts (an institution called like its scanner's maker), so only the
# patient-borne values count there: see patient_borne_values.
# The deny-list's own list of non-PN names (institutions and organisations).
INSTITUTION_TAGS = frozenset(int(tag_for_keyword(keyword) or 0) for keyword in NAME_KEYWORDS)


@dataclass(frozen=True, slots=True)
class LeakFinding:
    """An identifying value found at ``location`` (a tag path; the value is not kept)."""

    location: str


def _scan(
    dataset: Dataset,
    identifying: IdentifyingValues,
    allowed: frozenset[tuple[ElementPath, int]],
    untouched: frozenset[tuple[ElementPath, int]],
    untouched_values: IdentifyingValues,
    path: ElementPath,
) -> Iterator[LeakFinding]:
    for raw in dataset.elements():  # as iterating the dataset, without the look-ups
        element = dataset[raw.tag] if isinstance(raw, RawDataElement) else raw
        tag = int(element.tag)
        if tag in SKIPPED_TAGS or element.VR in UNSCANNED_VRS:
            continue
        if element.VR == "SQ":
            if isinstance(element.value, Sequence):
                for index, item in enumerate(element.value):
                    yield from _scan(
                        item,
                        identifying,
                        allowed,
                        untouched,
                        untouched_values,
                        (*path, (tag, index)),
                    )
            continue
        if (path, tag) in allowed:
            continue
        text = element_text(element.value)
        if (path, tag) in untouched:
            if untouched_values.contains_in(text):
                yield LeakFinding(element_location(path, tag))
        elif identifying.contains_in(text):
            yield LeakFinding(element_location(path, tag))


def find_leaks(
    dataset: Dataset,
    identifying: IdentifyingValues,
    allowed: frozenset[tuple[ElementPath, int]] = frozenset(),
    untouched: frozenset[tuple[ElementPath, int]] = frozenset(),
    untouched_values: IdentifyingValues | None = None,
) -> tuple[LeakFinding, ...]:
    """Every element of ``dataset`` (and its file meta) that still holds an identifying value.

    ``allowed`` elements (the policy kept or replaced them by rule) are not scanned;
    ``untouched`` ones (no rule selected them) are scanned for ``untouched_values`` only.
    """
    if not identifying:
        return ()
    narrow = identifying if untouched_values is None else untouched_values
    found = list(_scan(dataset, identifying, allowed, untouched, narrow, ()))
    meta = getattr(dataset, "file_meta", None)
    if meta is not None:
        found.extend(_scan(meta, identifying, frozenset(), frozenset(), narrow, ()))
    return tuple(found)


def _institution_values(dataset: Dataset) -> Iterator[object]:
    """The values of the institution elements at any depth (what ``iterall`` would find).

    Only sequences and the institution elements themselves are converted from their raw form;
    the element keyword, a dictionary look-up per element, is not needed: the tags say it.
    """
    for raw in dataset.elements():
        tag = int(raw.tag)
        # A raw element of another stated VR can be neither (UN may turn out to be a sequence).
        if isinstance(raw, RawDataElement):
            if tag not in INSTITUTION_TAGS and raw.VR not in (None, "SQ", "UN"):
                continue
            element = dataset[tag]
        else:
            element = raw
        if tag in INSTITUTION_TAGS:
            yield element.value
        if element.VR == "SQ":
            for item in element.value:
                yield from _institution_values(item)


def patient_borne_values(identifying: IdentifyingValues, dataset: Dataset) -> IdentifyingValues:
    """The values that identify the patient: no station, AE title or institution name.

    Call it on the INPUT (before the header stage), like the deny-list itself.
    """
    institutions = frozenset(
        normalise(str(value or "")) for value in _institution_values(dataset)
    ) - {""}
    return IdentifyingValues(
        names=identifying.of_kind(ValueKind.NAMES) - institutions,
        dates=identifying.of_kind(ValueKind.DATES),
        phones=identifying.of_kind(ValueKind.PHONES),
        addresses=identifying.of_kind(ValueKind.ADDRESSES),
    )
