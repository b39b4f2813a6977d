"""Provenance: the de-identification attributes (the paper's Table 1) are present and coherent.

A recipient decides what an object may be used for from these attributes alone, so a claim
that does not match the object is as bad as no claim:

- Patient Identity Removed (0012,0062) is ``YES`` when the plan handles every Basic Profile
  row, ``NO`` when it weakens that profile (:attr:`Plan.identity_removed`, the value the stamp
  reads); De-identification Method (0012,0063) says what ran and names no weakened profile;
- De-identification Method Code Sequence (0012,0064) holds CID 7050 codes (scheme DCM): every
  code the plan may claim (:attr:`Plan.claimed_codes`), ``113100`` whenever Annex E Basic is
  composed and intact, the pixel options (113101, 113102) only where the pixels were cleaned
  (Burned In Annotation ``NO``), nothing else;
- Longitudinal Temporal Information Modified (0028,0303) is one of its enumerated values, and
  ``REMOVED`` holds only where no date of the patient's is left;
- Burned In Annotation (0028,0301) is stated when 113101 (Clean Pixel Data) is claimed;
- Private Data Element Characteristics Sequence (0008,0300) describes kept private blocks
  (warning level: the engine does not write it yet).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cached_property
from typing import Final

from pydicom.multival import MultiValue

from deidengine.dicom.dummies import dummy_value
from deidengine.dicom.elements import element_location, element_text
from deidengine.policy.plan import Plan
from deidengine.provenance.stamp import PIXEL_OPTION_CODES, method_policy_value
from deidengine.provenance.vocabulary import (
    BurnedInAnnotation,
    LongitudinalTemporalInformationModified,
    PatientIdentityRemoved,
    Tag,
)
from deidengine.standard.cid7050 import cid_7050
from deidengine.standard.dictionary import is_private_group
from deidengine.standard.vr_classes import DATE_VRS
from deidengine.verify.conformance import Finding, FindingCode, finding
from deidengine.verify.table_view import META, TOP, TableView, Verifiable, view_of

__all__ = ["BASIC_PROFILE", "BASIC_PROFILE_CODE", "PIXEL_CODES", "check_provenance"]

PATIENT_IDENTITY_REMOVED: Final = int(Tag.PatientIdentityRemoved)
DEIDENTIFICATION_METHOD: Final = int(Tag.DeidentificationMethod)
METHOD_CODE_SEQUENCE: Final = int(Tag.DeidentificationMethodCodeSequence)
BURNED_IN_ANNOTATION: Final = int(Tag.BurnedInAnnotation)
LONGITUDINAL_TEMPORAL: Final = int(Tag.LongitudinalTemporalInformationModified)
PRIVATE_CHARACTERISTICS: Final = int(Tag.PrivateDataElementCharacteristicsSequence)

BASIC_PROFILE: Final = "annex-e/basic"
BASIC_PROFILE_CODE: Final = "113100"
CLEAN_PIXEL_DATA_CODE: Final = "113101"
#: Clean Pixel Data and Clean Recognizable Visual Features: claimed only when the pixels were
#: cleaned, which the pixel stage records as Burned In Annotation NO.
PIXEL_CODES: Final = frozenset(PIXEL_OPTION_CODES)
TEMPORAL_VALUES: Final = frozenset(v.value for v in LongitudinalTemporalInformationModified)
#: Coding-scheme versions are DT values that date a terminology, not an event of the patient.
NOT_PATIENT_DATES: Final = frozenset({0x00080106, 0x00080107})

CODING_SCHEME_DESIGNATOR: Final = int(Tag.CodingSchemeDesignator)
CODE_VALUE: Final = int(Tag.CodeValue)

Check = Callable[["_Output", Plan, str], Iterator[Finding]]


class _Output:
    """The output's view, with what more than one check reads of it read once."""

    def __init__(self, view: TableView) -> None:
        self.view = view

    @cached_property
    def claimed_codes(self) -> tuple[tuple[int, str, str], ...]:
        """:func:`_claimed_codes` of the view (read by the codes and Burned In checks)."""
        return _claimed_codes(self.view)


def _text(output: TableView, tag: int) -> str:
    return output.top_text(tag)


def _item_text(output: TableView, item: int, tag: int) -> str:
    index = output.get(item, tag)
    value = output.value(index) if index is not None else ""
    return str(value or "").strip()


def _claimed_codes(output: TableView) -> tuple[tuple[int, str, str], ...]:
    """(item index, coding scheme, code value) of every item of (0012,0064)."""
    sequence = output.get(TOP, METHOD_CODE_SEQUENCE)
    if sequence is None:
        return ()
    return tuple(
        (
            index,
            _item_text(output, item, CODING_SCHEME_DESIGNATOR),
            _item_text(output, item, CODE_VALUE),
        )
        for index, item in enumerate(output.sequence_items(sequence))
    )


def _identity_removed(read: _Output, plan: Plan, file: str) -> Iterator[Finding]:
    value = _text(read.view, PATIENT_IDENTITY_REMOVED)
    where = element_location((), PATIENT_IDENTITY_REMOVED)
    if plan.identity_removed and value != PatientIdentityRemoved.YES.value:
        yield finding(
            FindingCode.IDENTITY_NOT_REMOVED,
            file,
            where,
            "Patient Identity Removed is absent or not YES",
        )
    elif not plan.identity_removed and value != PatientIdentityRemoved.NO.value:
        # The plan keeps a Basic Profile identifier (a weakened profile): a YES is a false claim.
        yield finding(
            FindingCode.IDENTITY_OVERCLAIMED,
            file,
            where,
            "Patient Identity Removed must be NO: the policy keeps a Basic Profile identifier",
        )


def _method(read: _Output, plan: Plan, file: str) -> Iterator[Finding]:
    output = read.view
    index = output.get(TOP, DEIDENTIFICATION_METHOD)
    # Converted once: a method of several values is a multi-value, converted anew per read.
    values = output.value(index) if index is not None else None
    if index is None or not element_text(values).strip(" \x00"):  # as _text reads it
        yield finding(
            FindingCode.METHOD_MISSING,
            file,
            element_location((), DEIDENTIFICATION_METHOD),
            "De-identification Method is absent or empty",
        )
        return
    named = {
        str(value).strip()
        for value in (values if isinstance(values, (list, tuple, MultiValue)) else [values])
    }
    for weakened in sorted(set(plan.names) - set(plan.claimed_names)):
        if method_policy_value(weakened) in named:
            yield finding(
                FindingCode.METHOD_OVERCLAIMED,
                file,
                element_location((), DEIDENTIFICATION_METHOD),
                f"names {weakened}, which the policy weakens (W301)",
            )


def _is_cid_7050(scheme: str, value: str) -> bool:
    try:
        return cid_7050(value).scheme == scheme
    except KeyError:
        return False


def _codes(read: _Output, plan: Plan, file: str) -> Iterator[Finding]:
    output = read.view
    claimed: set[str] = set()
    for index, scheme, value in read.claimed_codes:
        if _is_cid_7050(scheme, value):
            claimed.add(value)
            continue
        yield finding(
            FindingCode.CODE_NOT_CID_7050,
            file,
            element_location(((METHOD_CODE_SEQUENCE, index),), int(Tag.CodeValue)),
            "not a CID 7050 De-identification Method code",
        )
    required = set(plan.claimed_codes) - PIXEL_CODES
    if BASIC_PROFILE in plan.claimed_names:
        required.add(BASIC_PROFILE_CODE)
    pixels_cleaned = _text(output, BURNED_IN_ANNOTATION) == BurnedInAnnotation.NO.value
    optional = PIXEL_CODES & set(plan.claimed_codes) if pixels_cleaned else set()
    where = element_location((), METHOD_CODE_SEQUENCE)
    for code in sorted(required - claimed):
        message = f"the plan ran {code}, the object does not say so"
        yield finding(FindingCode.CODE_MISSING, file, where, message)
    for code in sorted(claimed - required - optional):
        reason = (
            "its pixels were not cleaned (Burned In Annotation is not NO)"
            if code in PIXEL_CODES and code in plan.claimed_codes
            else "the policy weakens the profile that declares it (W301)"
            if code in plan.codes
            else "the plan does not have it"
        )
        yield finding(FindingCode.CODE_UNEXPECTED, file, where, f"claims {code}, but {reason}")


def _temporal(read: _Output, plan: Plan, file: str) -> Iterator[Finding]:
    output = read.view
    value = _text(output, LONGITUDINAL_TEMPORAL)
    if value not in TEMPORAL_VALUES:
        yield finding(
            FindingCode.TEMPORAL_INVALID,
            file,
            element_location((), LONGITUDINAL_TEMPORAL),
            "Longitudinal Temporal Information Modified is absent or not "
            + ", ".join(sorted(TEMPORAL_VALUES)),
        )
        return
    if value != LongitudinalTemporalInformationModified.REMOVED.value:
        return
    for path, _, index, tag, vr in output.walk(vrs=DATE_VRS):
        if tag in NOT_PATIENT_DATES:
            continue
        text = output.text(index).strip(" \x00")
        # A D (dummy) value stands in for a removed date: it dates nothing.
        if text and text != str(dummy_value(vr)):
            yield finding(
                FindingCode.TEMPORAL_INCONSISTENT,
                file,
                element_location(path, tag),
                "a date is present, but Longitudinal Temporal Information Modified says REMOVED",
            )


def _burned_in(read: _Output, plan: Plan, file: str) -> Iterator[Finding]:
    claims_clean_pixels = any(v == CLEAN_PIXEL_DATA_CODE for _, _, v in read.claimed_codes)
    if claims_clean_pixels and not _text(read.view, BURNED_IN_ANNOTATION):
        yield finding(
            FindingCode.BURNED_IN_MISSING,
            file,
            element_location((), BURNED_IN_ANNOTATION),
            f"{CLEAN_PIXEL_DATA_CODE} (Clean Pixel Data) is claimed without Burned In Annotation",
        )


def _holds_private_element(output: TableView) -> bool:
    """Whether a private element (not a creator) is anywhere in the data set (the File Meta
    Information is not part of it)."""
    for dataset, elements in output.datasets.items():
        if dataset != META:
            for tag in elements:
                # An odd group first: most tags are even, and this test is one operation.
                if tag & 0x10000 and tag & 0xFFFF >= 0x1000 and is_private_group(tag >> 16):
                    return True
    return False


def _private_characteristics(read: _Output, plan: Plan, file: str) -> Iterator[Finding]:
    output = read.view
    if output.get(TOP, PRIVATE_CHARACTERISTICS) is not None:
        return
    if _holds_private_element(output):
        yield finding(
            FindingCode.PRIVATE_CHARACTERISTICS_MISSING,
            file,
            element_location((), PRIVATE_CHARACTERISTICS),
            "private blocks are kept without Private Data Element Characteristics Sequence",
        )


#: Every provenance check, in report order.
CHECKS: Final[tuple[Check, ...]] = (
    _identity_removed,
    _method,
    _codes,
    _temporal,
    _burned_in,
    _private_characteristics,
)


def check_provenance(output: Verifiable, plan: Plan, *, file: str = "") -> tuple[Finding, ...]:
    """Every missing or incoherent de-identification attribute of ``output`` (the output
    file's element table); empty when the provenance is complete and agrees with ``plan`` and
    with the object itself."""
    read = _Output(view_of(output))
    return tuple(found for check in CHECKS for found in check(read, plan, file))
