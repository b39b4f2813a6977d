"""Finding and masking identifying text (the ``scrub`` verb; ``C`` on free text).

Two sources of evidence:

- the file's own identifying values (:class:`~deidengine.dicom.identifiers.IdentifyingValues`):
  names, IDs, dates, phone numbers and addresses the header states, found whatever separators
  the text uses;
- patterns that identify without knowing the patient: e-mail addresses, URLs, IPv4/IPv6
  addresses, SSNs, phone numbers (US and international forms; a seven-digit local number only
  after a label such as ``Tel``), dates (numeric and month-name forms; a time of day is not a
  date), MRN-like numbers (six or more digits, or a value of three or more characters with a
  digit labelled ``MRN:``, ``ID:``, ``Acc#``...), honorific-led names (``Dr. Smith``), and
  street addresses (``12 Main Street``).

Replacement: each identifying span becomes the fixed mask ``***`` (:data:`MASK`); spans that
overlap or that only spaces and punctuation (``,^.-``) separate become one mask. Until the
free-text stage (:mod:`deidengine.text`) the mask was length-preserving (every character
became ``*``); it was changed because the length of a masked name or number is itself a hint
(a short family name, an ID's format), and a fixed mask reveals neither the length nor how many
words were removed. The price is that text can grow by up to two characters per span: callers
fit the result to the VR's maximum length. A mask can neither be mistaken for data nor form a
new match (``*`` is not a word character).

Labels are not masked, only what they label: ``MRN 12345678`` becomes ``MRN ********``.
Words that are not identifying are left exactly as they were ("CHEST PA AND LATERAL").
"""

from __future__ import annotations

import enum
import ipaddress
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final

from deidengine.dicom.identifiers import IdentifyingValues, ValueKind

__all__ = [
    "ALL_CATEGORIES",
    "MASK",
    "ScrubCategory",
    "ScrubResult",
    "find_identifying_text",
    "masked",
    "scrub_text",
]

MASK: Final = "***"


class ScrubCategory(enum.Enum):
    """What the scrubber looks for; the values are the policy language's words."""

    NAMES = "names"
    IDS = "ids"
    DATES = "dates"
    PHONE = "phone"
    EMAIL = "email"
    SSN = "ssn"
    MRN = "mrn"
    URL = "url"
    IP = "ip"
    ADDRESS = "address"


ALL_CATEGORIES: Final = frozenset(ScrubCategory)


@dataclass(frozen=True)
class ScrubResult:
    """The scrubbed text and how many identifying spans were masked."""

    text: str
    removed: int

    def __repr__(self) -> str:
        # The text may be the input unchanged (nothing found), which may still identify.
        return f"ScrubResult(<{len(self.text)} characters>, removed={self.removed})"


Span = tuple[int, int, ScrubCategory]

_KIND_OF_CATEGORY: Final = {
    ScrubCategory.NAMES: ValueKind.NAMES,
    ScrubCategory.IDS: ValueKind.IDS,
    ScrubCategory.DATES: ValueKind.DATES,
    ScrubCategory.PHONE: ValueKind.PHONES,
    ScrubCategory.ADDRESS: ValueKind.ADDRESSES,
}
_CATEGORY_OF_KIND: Final = {kind: category for category, kind in _KIND_OF_CATEGORY.items()}

_MONTH_NAMES: Final = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_ORDINAL: Final = r"(?:st|nd|rd|th)?"

# The lookbehind starts a match only at the beginning of a local part, keeping the scan linear.
_EMAIL: Final = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
)
_URL: Final = re.compile(
    r"\b(?:(?:https?|ftp|file)://|www\.)[^\s<>\"'\\]+[^\s<>\"'\\.,;:!?)\]]", re.IGNORECASE
)
_IPV4: Final = re.compile(
    r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
    r"(?!\.?\d)"
)
# Candidates only; ipaddress decides. Times such as 12:30:45 are not valid IPv6 addresses.
_IPV6_CANDIDATE: Final = re.compile(
    r"(?<![\w:.])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])"
)
_SSN: Final = re.compile(r"(?<![\d-])\d{3}([- ])\d{2}\1\d{4}(?![\d-])")
_PHONE_US: Final = re.compile(
    r"(?<![\w+])(?:\+?1[\s.\-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.\-])\d{3}[\s.\-]\d{4}(?!\d)"
)
# Possessive groups: a long digit run has one reading, not one per way of splitting it.
_PHONE_INTERNATIONAL: Final = re.compile(r"\+\d{1,3}+(?:[\s.\-]?\(?\d{1,5}+\)?){1,6}+(?!\d)")
# A seven-digit local number only after a telephone label: unlabelled, "400-1500" is a range.
_PHONE_LOCAL: Final = re.compile(
    r"\b(?:tel|telephone|phone|ph|call|ext|extension|fax|pager|beeper|cell|mobile)\.?:?\s*"
    r"(?P<value>\d{3}[\-.\s]\d{4})(?![\d\-]|[./]\d)",
    re.IGNORECASE,
)
_MRN_LABELLED: Final = re.compile(
    r"\b(?:MRN|MR\s?#|MR\s?No\.?|medical\s+record(?:\s+(?:number|no\.?|#))?|patient\s+id"
    r"|acc(?:ession)?(?:\s*(?:no\.?|number|#))?|ID)"
    # The value holds a digit and at least three characters: "ID 2" is a count, not an ID.
    r"\s*(?:[:#=]\s*|\s)(?P<value>(?=[A-Za-z0-9\-/]{3})[A-Za-z0-9][A-Za-z0-9\-/]*\d[A-Za-z0-9\-/]*)",
    re.IGNORECASE,
)
_MRN_DIGITS: Final = re.compile(r"(?<![\d.,])(?<!\d[.,])\d{6,}(?!\d|[.,]\d)")
_DATE_NUMERIC: Final = re.compile(
    r"(?<![\d.,/\-])(?:(?P<iy>\d{4})(?P<s1>[-/.])(?P<im>\d{1,2})(?P=s1)(?P<id>\d{1,2})"
    r"|(?P<a>\d{1,2})(?P<s2>[-/.])(?P<b>\d{1,2})(?P=s2)(?P<y>\d{4}|\d{2}))"
    r"(?![\d/\-]|[.,]\d)"
)
_DATE_COMPACT: Final = re.compile(
    r"(?<![\d.])(?:1[89]|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?![\d.])"
)
_DATE_MONTH_NAME: Final = re.compile(
    rf"\b(?:{_MONTH_NAMES}\.?[\s\-]+\d{{1,2}}{_ORDINAL},?[\s\-]+(?:\d{{4}}|'\d{{2}})"
    rf"|\d{{1,2}}{_ORDINAL}[\s\-]+(?:of\s+)?{_MONTH_NAMES}\.?,?[\s\-]+(?:\d{{4}}|\d{{2}})"
    rf"|{_MONTH_NAMES}\.?,?\s+(?:1[89]|20)\d\d)(?!\d)",
    re.IGNORECASE,
)
# Case-sensitive on purpose: "Dr. Smith" is a name, "MS LESIONS" is not.
_HONORIFIC_NAME: Final = re.compile(
    r"\b(?:Dr|DR|Mr|MR|Mrs|MRS|Ms|Miss|Prof|PROF)\.?\s+"
    r"(?P<value>[A-Z][a-z]+(?:[\s\-][A-Z][a-z]+)?|[A-Z]\.\s?[A-Z][a-z]+)"
)
_STREET_ADDRESS: Final = re.compile(
    r"\b\d{1,6}\s+(?:[A-Z][A-Za-z]*\.?\s+){1,4}"
    r"(?i:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl"
    r"|terrace|parkway|pkwy|highway|hwy|square|sq)\b\.?"
)


def _is_calendar_date(match: re.Match[str]) -> bool:
    if match["iy"]:
        return 1 <= int(match["im"]) <= 12 and 1 <= int(match["id"]) <= 31
    first, second = int(match["a"]), int(match["b"])
    month_day = 1 <= first <= 12 and 1 <= second <= 31
    day_month = 1 <= second <= 12 and 1 <= first <= 31
    return month_day or day_month


def _is_ipv6(match: re.Match[str]) -> bool:
    text = match[0]
    if not any(character in "0123456789abcdefABCDEF" for character in text):
        return False
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _is_international_phone(match: re.Match[str]) -> bool:
    digits = sum(character.isdigit() for character in match[0])
    return 8 <= digits <= 15


_Check = Callable[[re.Match[str]], bool] | None
# (pattern, the group holding the identifying part (0 = all), a check on the match)
_PATTERNS: Final[dict[ScrubCategory, tuple[tuple[re.Pattern[str], int | str, _Check], ...]]] = {
    ScrubCategory.NAMES: ((_HONORIFIC_NAME, "value", None),),
    ScrubCategory.EMAIL: ((_EMAIL, 0, None),),
    ScrubCategory.URL: ((_URL, 0, None),),
    ScrubCategory.IP: ((_IPV4, 0, None), (_IPV6_CANDIDATE, 0, _is_ipv6)),
    ScrubCategory.SSN: ((_SSN, 0, None),),
    ScrubCategory.PHONE: (
        (_PHONE_US, 0, None),
        (_PHONE_INTERNATIONAL, 0, _is_international_phone),
        (_PHONE_LOCAL, "value", None),
    ),
    ScrubCategory.MRN: ((_MRN_LABELLED, "value", None), (_MRN_DIGITS, 0, None)),
    ScrubCategory.DATES: (
        (_DATE_NUMERIC, 0, _is_calendar_date),
        (_DATE_COMPACT, 0, None),
        (_DATE_MONTH_NAME, 0, None),
    ),
    ScrubCategory.ADDRESS: ((_STREET_ADDRESS, 0, None),),
}


def _pattern_spans(text: str, categories: frozenset[ScrubCategory]) -> Iterator[Span]:
    for category in categories:
        for pattern, group, check in _PATTERNS.get(category, ()):
            for match in pattern.finditer(text):
                if check is None or check(match):
                    yield match.start(group), match.end(group), category


def find_identifying_text(
    text: str,
    identifying: IdentifyingValues,
    categories: frozenset[ScrubCategory] = ALL_CATEGORIES,
) -> list[Span]:
    """The spans ``(start, end, category)`` of identifying text, sorted by position.

    Spans found by different means may overlap (a date of birth is both a file value and a
    date pattern); each is reported once per category.
    """
    spans: set[Span] = set(_pattern_spans(text, categories))
    kinds = [
        _KIND_OF_CATEGORY[category] for category in categories if category in _KIND_OF_CATEGORY
    ]
    for start, end, kind in identifying.find_in(text, kinds):
        spans.add((start, end, _CATEGORY_OF_KIND[kind]))
    return sorted(
        (span for span in spans if span[1] > span[0]),
        key=lambda span: (span[0], span[1], span[2].value),
    )


#: What may separate two spans that become one mask.
MASK_JOINERS: Final = " ,^.-"


def masked(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with each span replaced by :data:`MASK`, neighbouring spans as one."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and (
            start <= merged[-1][1] or not text[merged[-1][1] : start].strip(MASK_JOINERS)
        ):
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    pieces: list[str] = []
    position = 0
    for start, end in merged:
        pieces.extend((text[position:start], MASK))
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def scrub_text(
    text: str,
    identifying: IdentifyingValues,
    categories: frozenset[ScrubCategory] = ALL_CATEGORIES,
) -> ScrubResult:
    """Mask every identifying span of ``text`` (see the module documentation).

    The result contains no span that :func:`find_identifying_text` would report: masking is
    repeated until none is left, in case removing one match exposed another (say, a number no
    longer preceded by a decimal point). ``removed`` counts the spans masked. Never raises.
    """
    removed = 0
    spans = find_identifying_text(text, identifying, categories)
    while spans:
        replaced = masked(text, [(start, end) for start, end, _ in spans])
        if replaced == text:
            break  # the patterns cannot match "***": a guard against looping
        removed += len(spans)
        text = replaced
        spans = find_identifying_text(text, identifying, categories)
    return ScrubResult(text, removed)
