"""Value representation facts from PS3.5 Table 6.2-1 needed to build valid replacement values.

Only what the value-level modules need: maximum lengths of the string VRs and the character
repertoire of CS. pydicom's validators remain the authority in tests.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = [
    "CODE_STRING_CHARACTERS",
    "MAXIMUM_LENGTH",
    "PERSON_NAME_COMPONENT_GROUP_LENGTH",
    "maximum_length",
]

#: Maximum length in characters of one value of each string VR (PS3.5 Table 6.2-1). VRs whose
#: limit is the 32-bit length field (UC, UR, UT) are absent: they have no practical limit.
MAXIMUM_LENGTH: Final[dict[str, int]] = {
    "AE": 16,
    "AS": 4,
    "CS": 16,
    "DA": 8,
    "DS": 16,
    "DT": 26,
    "IS": 12,
    "LO": 64,
    "LT": 10240,
    "PN": 64,
    "SH": 16,
    "ST": 1024,
    "TM": 14,
    "UI": 64,
}

#: PN limits each component group (alphabetic, ideographic, phonetic) to 64 characters.
PERSON_NAME_COMPONENT_GROUP_LENGTH: Final = 64

#: Code String repertoire: upper-case letters, digits, space and underscore.
CODE_STRING_CHARACTERS: Final = re.compile(r"[A-Z0-9 _]*")


def maximum_length(vr: str) -> int | None:
    """Return the maximum length of one value of ``vr``, or ``None`` when it is unbounded."""
    return MAXIMUM_LENGTH.get(vr)
