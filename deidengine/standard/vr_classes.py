"""The standard's classes of Value Representations, tags and profile codes, declared once.

Every stage that asks "is this a date?", "is this Pixel Data?" or "is this a compound action
code?" imports its answer from here, so two stages cannot disagree on it (PS3.5 §6.2 for the
VRs, PS3.15 Table E.1-1 for the codes). Where two questions sound alike but differ, they get
two names: :data:`DATE_VRS` is the dates proper, :data:`DATE_TIME_VRS` adds times; and
:data:`CHARACTER_SET_VRS` (free text in the character set), :data:`UNSTRUCTURED_TEXT_VRS` (the
same without person names) and :data:`TEXT_VRS` (every value a text dummy replaces) are three
sets, never one name with two meanings.
"""

from __future__ import annotations

from typing import Final

PIXEL_DATA_TAGS: Final = frozenset({0x7FE00010, 0x7FE00008, 0x7FE00009})
"""Pixel Data, Float Pixel Data and Double Float Pixel Data: the three homes of an image."""

DATE_VRS: Final = frozenset({"DA", "DT"})
"""VRs that carry a calendar date (DT with its time of day)."""

DATE_TIME_VRS: Final = DATE_VRS | {"TM"}
"""VRs a date shift or a dummy date applies to: the dates and the times of day."""

CHARACTER_SET_VRS: Final = frozenset({"LO", "LT", "PN", "SH", "ST", "UC", "UT"})
"""VRs whose value is text in the dataset's Specific Character Set (PS3.5 §6.1.2.3): the free
text the text stage and the verifier's leak scan read, and the values decoded with the
character set."""

UNSTRUCTURED_TEXT_VRS: Final = CHARACTER_SET_VRS - {"PN"}
"""Character-set text without components of its own (a Person Name has component groups): what
``scrub`` reads as prose beside PN, and what ``truncate-zip`` may shorten."""

TEXT_VRS: Final = CHARACTER_SET_VRS | {"AE", "CS", "UR"}
"""String VRs whose value is text a person or device wrote (a text dummy replaces it)."""

KEYED_TEXT_VRS: Final = TEXT_VRS - {"UR"}
"""Text VRs a pseudonym, lookup or keyed hash may replace: a URI is never keyed."""

CODED_VRS: Final = frozenset(
    {"CS", "AS", "AT", "DS", "FD", "FL", "IS", "SL", "SS", "SV", "UL", "US", "UV"}
)
"""Coded strings, ages, tags and numbers: enumerated terms and measurements, not what a person
wrote. ``C`` keeps them and a dummy scope leaves them: masking or a dummy would break them."""

COMPOUND_CODES: Final = frozenset({"Z/D", "X/Z", "X/D", "X/Z/D", "X/Z/U*"})
"""PS3.15 Table E.1-1's compound action codes: the engine picks the member the IOD allows."""
