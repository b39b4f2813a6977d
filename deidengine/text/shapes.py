"""Identifier shapes: tokens that look like numbers assigned to a person or an order.

An identifier here is a token of letters and digits (``ORD-5520931``, ``AB12345``, ``X7Y9Z2``)
or a run of four or more digits, unless it is one of the shapes clinical text uses for
quantities and names of things: a measurement or dose with its unit (``5 MM``, ``120 KVP``,
``2.5mg``), a size (``512x512``), an MR weighting or sequence (``T2``, ``T1W``, ``3D``,
``ep2d``, ``b1000``), a vertebral level or range (``C1-C2``, ``L4-L5``), an ordinal (``2nd``),
a time or a decimal number. Dates, phone numbers and labelled IDs have patterns of their own
(:mod:`deidengine.dicom.scrub`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

#: A token: letters and digits, joined by ``-``, ``/``, ``#``, ``.`` or ``:`` inside it (an
#: underscore separates: protocol names join their parts with it).
_TOKEN: Final = re.compile(r"[^\W_]+(?:[\-/#.:][^\W_]+)*")

_UNITS: Final = (
    r"(?:mm|cm|m|km|um|µm|nm|in|ft|ml|cc|l|dl|mg|g|kg|mcg|ug|µg|mmol|mol|meq|iu|u|units?|"
    r"kvp|kv|mas|ma|mgy|gy|cgy|msv|sv|mbq|bq|mci|ci|s|sec|secs|ms|min|mins|h|hr|hrs|hours?|"
    r"days?|wks?|weeks?|mos?|months?|yrs?|years?|yo|y|t|hz|khz|mhz|db|hu|mmhg|bpm|%|x|"
    r"slices?|images?|views?|phases?|frames?|mm2|mm3|cm2|cm3|ml/min|mgy\*cm|mgy-cm)"
)
#: Shapes that are not identifiers, matched against a whole token (case-insensitive).
_SAFE_TOKEN: Final = re.compile(
    r"(?:"
    rf"\d+(?:[.,]\d+)?{_UNITS}"  # 5mm, 2.5mg, 120kVp, 1.5T
    r"|\d+(?:[.,]\d+)?x\d+(?:[.,]\d+)?(?:x\d+(?:[.,]\d+)?)?(?:mm|cm)?"  # 512x512, 3x4x5cm
    r"|[tT][12][wW]?(?:i|wi|rho|\*)?|pd[wW]?|[234]d|[234]ch"  # T2, T1W, T1WI, 3D, 4CH
    r"|[cCtTlLsS]\d{1,2}(?:-[cCtTlLsS]?\d{1,2})?"  # C1, C1-C2, L4-L5, L5-S1, T12
    r"|\d{1,3}(?:st|nd|rd|th)"  # 2nd
    r"|\d+(?:\.\d+)?:1"  # a compression ratio, 2097:1
    r"|[a-z]{1,5}\d{1,3}[a-z]{0,5}"  # ep2d, p2, b800, tra2, se3, mp2rage (short codes)
    r"|b-?\d{2,4}"  # b-values
    r"|\d[a-z]{1,6}"  # 3scan, 2dir
    r"|[a-z]{0,3}\d{1,3}(?:[.:]\d{1,3})*"  # series/image numbers, versions: 3, 1.2, se3:4
    r")",
    re.IGNORECASE,
)
_UNIT_AFTER: Final = re.compile(rf"\s*{_UNITS}\b", re.IGNORECASE)
_DIGIT_RUN: Final = re.compile(r"\d{4,}")
_DECIMAL: Final = re.compile(r"\d+[.,]\d+")
_TIME: Final = re.compile(r"\d{1,2}:\d{2}(?::\d{2})?")
#: A label before a number makes the number an identifier whatever its length.
_LABEL_BEFORE: Final = re.compile(
    r"(?:order|ord|req|requisition|acc|accession|mrn|mr#|id|case|encounter|enc|visit|"
    r"account|acct|ticket|ref|reference|exam|study)\s*(?:no\.?|number|#|:)?\s*$",
    re.IGNORECASE,
)


#: A number and a word joined by a hyphen: a count, not a code.
_NUMBER_WORD: Final = re.compile(r"\d{1,2}-[^\W\d_]{3,}(?:-(?:\d{1,2}|[^\W\d_]+))*")
#: Standards and formats named with a number: the number is part of the name.
_STANDARD_BEFORE: Final = re.compile(
    r"\b(?:jpeg|iso|iec|iso_ir|iso-ir|ieee|hl7|dicom|ihe|rfc|nema|ansi|en)[\s_\-]?$", re.IGNORECASE
)


def _has_letters_and_digits(token: str) -> bool:
    return any(c.isdigit() for c in token) and any(c.isalpha() for c in token)


def _is_identifier(token: str, before: str, after: str) -> bool:
    digits = sum(c.isdigit() for c in token)
    if digits == 0:
        return False
    if _STANDARD_BEFORE.search(before[-8:]) and token.isdigit():
        return False
    labelled = bool(_LABEL_BEFORE.search(before[-24:]))
    if labelled and digits >= 3:
        return True
    if _SAFE_TOKEN.fullmatch(token) or _TIME.fullmatch(token) or _DECIMAL.fullmatch(token):
        return False
    if token.isdigit() or _DECIMAL.fullmatch(token.replace(",", "")):
        # A bare number: an identifier from four digits on, unless a unit follows it.
        return len(token) >= 4 and not _UNIT_AFTER.match(after)
    if _has_letters_and_digits(token):
        if _NUMBER_WORD.fullmatch(token):
            return False  # "12-lead", "3-vessel", "1-phenylpropan-2-amine": no code
        return digits >= 3 or (digits >= 2 and len(token) >= 6) or bool(_DIGIT_RUN.search(token))
    # Digits with separators only (a number such as 12/45 or 1-2-3): a run of four counts.
    return bool(_DIGIT_RUN.search(token)) and not _UNIT_AFTER.match(after)


def identifier_spans(text: str) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of every token of ``text`` shaped like an identifier."""
    for match in _TOKEN.finditer(text):
        token = match[0].rstrip(".:")
        end = match.start() + len(token)
        if _is_identifier(token, text[: match.start()], text[end:]):
            yield match.start(), end
