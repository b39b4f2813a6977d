"""Leak scan: no identifying value of the input may remain anywhere in the output.

Every element at every depth is read as text (private and UN bytes included, as Latin-1) and
searched for the input's identifying values. Elements the policy explicitly keeps are
allowed to hold what they held. Findings name element paths, never the values.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pydicom.dataset import Dataset

from deidengine.dicom.elements import (
    ElementPath,
    character_set,
    element_location,
    value_text,
    walk_tree,
)
from deidengine.dicom.identifiers import IdentifyingValues, ValueKind

SKIPPED_TAGS = frozenset({0x7FE00010, 0x7FE00008, 0x7FE00009})
# Coded strings (CS) hold enumerated terms, where short name parts match by accident.
UNSCANNED_VRS = frozenset({"FD", "FL", "SL", "SS", "SV", "UL", "US", "UV", "AT", "CS"})
# In elements no rule touched, station names, AE titles and institution names of the input
# often equal device facts (an institution called like its scanner's maker), so only the
# patient-borne values count there: see patient_borne_values.


@dataclass(frozen=True, slots=True)
class LeakFinding:
    """An identifying value found at ``location`` (a tag path; the value is not kept)."""

    location: str


def _texts(
    dataset: Dataset,
    allowed: frozenset[tuple[ElementPath, int]],
    untouched: frozenset[tuple[ElementPath, int]],
) -> Iterator[tuple[ElementPath, int, str, bool]]:
    """``(path, tag, text, untouched)`` of every element to scan, at every depth."""
    encodings: dict[int, list[str]] = {}  # by id() of the dataset holding the element
    for path, holder, tag, vr, element in walk_tree(dataset):
        if vr == "SQ" or vr in UNSCANNED_VRS or tag in SKIPPED_TAGS or (path, tag) in allowed:
            continue
        found = encodings.get(id(holder))
        if found is None:
            found = encodings[id(holder)] = character_set(holder)
        text = value_text(holder, tag, element, vr, found)
        if text:
            yield path, tag, text, (path, tag) in untouched


#: Joins the texts of a file for one search. Matching is character-class based (no value
#: holds it, it is neither a letter, a digit nor a separator), so a value found in one
#: element is found in the joined text too; a match across the joint is only a candidate,
#: and the elements are then searched one by one.
JOINT = "\x00"


def _scan(
    texts: list[tuple[ElementPath, int, str, bool]],
    identifying: IdentifyingValues,
    untouched_values: IdentifyingValues,
) -> Iterator[LeakFinding]:
    touched = [text for _, _, text, untouched in texts if not untouched]
    narrow = [text for _, _, text, untouched in texts if untouched]
    if not identifying.contains_in(JOINT.join(touched)) and not untouched_values.contains_in(
        JOINT.join(narrow)
    ):
        return
    for path, tag, text, untouched in texts:
        values = untouched_values if untouched else identifying
        if values.contains_in(text):
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
    texts = list(_texts(dataset, allowed, untouched))
    found = list(_scan(texts, identifying, narrow))
    meta = getattr(dataset, "file_meta", None)
    if meta is not None:
        found.extend(_scan(list(_texts(meta, frozenset(), frozenset())), identifying, narrow))
    return tuple(found)


def patient_borne_values(identifying: IdentifyingValues) -> IdentifyingValues:
    """The values that identify the patient: no station, AE title or institution name.

    ``identifying`` is the deny-list of the INPUT, which records its institution names.
    """
    return IdentifyingValues(
        names=identifying.of_kind(ValueKind.NAMES) - identifying.institutions,
        dates=identifying.of_kind(ValueKind.DATES),
        phones=identifying.of_kind(ValueKind.PHONES),
        addresses=identifying.of_kind(ValueKind.ADDRESSES),
    )
