"""Registry UIDs and keyed UID remapping (Table E.1-1a action ``U``).

Remapped UIDs live under the ``2.25`` root (PS3.5 B.2: a UUID written as one decimal integer),
so they need no organisational root and cannot collide with a registered one. The integer is
the first 128 bits of the keyed digest, so a UID maps to the same replacement in every file and
every run of a project, which keeps study/series/instance references internally consistent.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

# pydicom.uid re-exports this table without declaring it; import it from where it is defined.
from pydicom._uid_dict import UID_dictionary

from deidengine.dicom.keys import ProjectSecret, keyed_digest

__all__ = [
    "CODING_SCHEME_UIDS",
    "DICOM_ROOT",
    "UUID_DERIVED_ROOT",
    "is_registry_uid",
    "is_valid_uid",
    "remap_uid",
]

#: Every UID defined by the standard itself (PS3.6 Annex A) lies under this root: SOP classes,
#: transfer syntaxes, well-known frames of reference (1.2.840.10008.1.4.*), coding schemes,
#: context groups, templates, ...
DICOM_ROOT: Final = "1.2.840.10008."

UUID_DERIVED_ROOT: Final = "2.25."

#: Coding Scheme UIDs of PS3.16 Table 8-1 that lie outside the DICOM root. They appear in
#: Coding Scheme UID (0008,010C) and Coding Scheme Identification Sequence items, name a
#: terminology rather than anything about a patient, and remapping them would break the codes.
#: Exact values only: the HL7 arcs above them also register things that are not coding schemes.
CODING_SCHEME_UIDS: Final = frozenset(
    {
        "1.2.840.10065.1.12",  # ASTM-sigpurpose
        "1.3.6.1.4.1.19376.1.8.2.1",  # PATHLEX
        "2.16.1",  # ISO3166_1
        "2.16.840.1.113883.2.1.3.2.4.21",  # NICIP
        "2.16.840.1.113883.3.26.1.1",  # NCIt
        "2.16.840.1.113883.3.26.2",  # caDSR
        "2.16.840.1.113883.6.1",  # LN (LOINC)
        "2.16.840.1.113883.6.2",  # I9C (ICD-9-CM)
        "2.16.840.1.113883.6.3",  # I10 (ICD-10)
        "2.16.840.1.113883.6.4",  # I10P (ICD-10-PCS)
        "2.16.840.1.113883.6.6",  # CTV3
        "2.16.840.1.113883.6.8",  # UCUM
        "2.16.840.1.113883.6.12",  # C4 (CPT-4)
        "2.16.840.1.113883.6.13",  # CD2
        "2.16.840.1.113883.6.14",  # HPC
        "2.16.840.1.113883.6.42",  # I9 (ICD-9)
        "2.16.840.1.113883.6.43.1",  # ICDO3
        "2.16.840.1.113883.6.50",  # POS
        "2.16.840.1.113883.6.51",  # SNM3
        "2.16.840.1.113883.6.53",  # 99SDM
        "2.16.840.1.113883.6.55",  # UPC
        "2.16.840.1.113883.6.69",  # NDC
        "2.16.840.1.113883.6.76",  # ACR
        "2.16.840.1.113883.6.82",  # C5 (CPT-5)
        "2.16.840.1.113883.6.86",  # UMLS
        "2.16.840.1.113883.6.88",  # RXNORM
        "2.16.840.1.113883.6.90",  # I10C (ICD-10-CM)
        "2.16.840.1.113883.6.96",  # SCT/SRT (SNOMED)
        "2.16.840.1.113883.6.99",  # ISO639_1
        "2.16.840.1.113883.6.100",  # ISO639_2
        "2.16.840.1.113883.6.119",  # FMA
        "2.16.840.1.113883.6.121",  # RFC3066
        "2.16.840.1.113883.6.177",  # MSH (MeSH)
        "2.16.840.1.113883.6.210",  # NEU
        "2.16.840.1.113883.6.256",  # RADLEX
        "2.16.840.1.113883.6.316",  # RFC5646
    }
)

_VALID_UID: Final = re.compile(r"(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))*")

#: Remapped UIDs kept per process: the engine and the verifier remap each UID of a file, and a
#: series' files share their study, series and frame-of-reference UIDs. Bounded, so a worker's
#: memory stays flat.
REMAP_CACHE_SIZE: Final = 4096

# UI values are padded to even length with NUL; some writers pad with a space instead.
_PADDING: Final = "\x00 "


#: PS3.5 9.1: a UID is at most 64 characters.
MAXIMUM_UID_LENGTH: Final = 64


def is_valid_uid(uid: str) -> bool:
    """True when ``uid`` (trailing NUL or space padding aside) is a UID as PS3.5 9.1 spells it:
    digits and dots only, at most 64 characters, no empty component, no leading zero in a
    component of more than one digit.

    Output file names are made of UIDs: only a value that passes this can name a file, since
    anything else (``..``, ``/``, an absolute path) could lead a write out of the output tree.
    """
    bare = uid.rstrip(_PADDING)
    return 0 < len(bare) <= MAXIMUM_UID_LENGTH and _VALID_UID.fullmatch(bare) is not None


def is_registry_uid(uid: str) -> bool:
    """True when ``uid`` is defined by the standard (or is a PS3.16 coding scheme UID).

    Such UIDs identify kinds of things (an SOP class, a transfer syntax, a terminology), never
    a patient or a study, and must survive de-identification unchanged. A malformed value is
    never a registry UID, even under the DICOM root, so it is remapped rather than kept.
    """
    bare = uid.strip(_PADDING)
    if len(bare) > 64 or not _VALID_UID.fullmatch(bare):
        return False
    return bare.startswith(DICOM_ROOT) or bare in UID_dictionary or bare in CODING_SCHEME_UIDS


@lru_cache(maxsize=REMAP_CACHE_SIZE)
def _remap_one(secret: ProjectSecret, uid: str) -> str:
    bare = uid.strip(_PADDING)
    if not bare or is_registry_uid(bare):
        return bare
    # 128 bits as in a UUID: at most 39 digits, so the result is at most 44 characters; str()
    # of an int has no leading zeros, and "0" alone is a valid component.
    number = int.from_bytes(keyed_digest(secret, "uid", bare)[:16], "big")
    return f"{UUID_DERIVED_ROOT}{number}"


def remap_uid(secret: ProjectSecret, uid: str) -> str:
    """Return the keyed replacement of ``uid`` under ``2.25.``; registry UIDs are unchanged.

    Padding (trailing NUL or space) is removed before hashing so a padded and an unpadded copy
    of one UID map alike. An empty value stays empty. A backslash-separated multi-valued string
    is remapped value by value so its multiplicity is kept. Any input, even a malformed UID,
    yields a valid UID.
    """
    if "\\" in uid:
        return "\\".join(_remap_one(secret, part) for part in uid.split("\\"))
    return _remap_one(secret, uid)
