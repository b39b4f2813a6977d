"""The deny-list: identifying values collected from an input dataset before it is changed.

Free text (descriptions, comments, SR text, OCR output) is checked against the values the same
file states in its identifying attributes: the patient's name in a Study Description is found
because PatientName says what it is. :func:`collect_identifying_values` walks the input once,
including nested sequences and the file meta information, and returns an immutable
:class:`IdentifyingValues` whose regular expressions match those values case-insensitively,
at word boundaries, whatever separators the text uses ("DOE^JANE" is found as "Doe, Jane";
the phone "555-123-4567" as "(555) 123 4567"; the date 19620315 as "March 15, 1962").

What is collected (by VR, or by the keyword lists below):

- every PN, as the whole group and as its family, given and middle components (alphabetic,
  ideographic and phonetic groups alike); prefixes and suffixes (DR, JR) are not identifying;
- identifiers: patient IDs and their issuers, accession numbers, study, visit, order and
  procedure step IDs, clinical trial subject IDs, device serial numbers, station names and
  AE titles (:data:`ID_KEYWORDS`);
- every DA and the date of every DT, in the written forms of :func:`date_forms`;
- telephone numbers and telecom information (:data:`PHONE_KEYWORDS`);
- addresses and locations, whole and by comma/line-separated part (:data:`ADDRESS_KEYWORDS`);
- institution and organisation names (:data:`NAME_KEYWORDS`).

Private elements are not collected: their meaning is unknown, and a vendor string such as
"ORIGINAL" or "1.0" on the deny-list would mask ordinary words everywhere. (Standard elements
inside a private sequence are collected.) Private elements are removed or kept by the policy.

Thresholds, so the deny-list does not mask ordinary text:

- a value needs 3 letters or digits, and a value of digits alone needs 4 (a StudyID "1" or
  "001" would mask every such number);
- a name component needs 2 letters: two-letter family names (Li, Ng, Wu) are common and
  identifying, while one-letter initials carry little on their own and match everywhere;
- placeholder values (:data:`NON_IDENTIFYING_VALUES`, e.g. "ANONYMOUS", "UNKNOWN") and fillers
  of one repeated character ("000000", "9999") are skipped.

Values are compared in lower case (``str.lower``) under ``re.IGNORECASE``, which keeps match
positions in the original text; where full case folding differs (``ß`` -> ``ss``) the folded
form is collected as well.
"""

from __future__ import annotations

import datetime
import enum
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any, Final

from pydicom.datadict import tag_for_keyword
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.valuerep import PersonName

from deidengine.core.table import ElementTable
from deidengine.core.values import resolved_vr
from deidengine.dicom.elements import (
    character_set,
    known_vr,
    raw_text,
    sequence_items,
    walk_elements,
)
from deidengine.dicom.table_values import BINARY_VRS, converted_texts, latin1_texts

__all__ = [
    "ADDRESS_KEYWORDS",
    "ID_KEYWORDS",
    "NAME_KEYWORDS",
    "NON_IDENTIFYING_VALUES",
    "PHONE_KEYWORDS",
    "IdentifyingValues",
    "IdentifyingValuesCollector",
    "ValueKind",
    "collect_identifying_values",
    "collects",
    "contains_in_within",
    "date_forms",
    "normalise",
]


class ValueKind(enum.Enum):
    """What an identifying value is; the scrubber selects kinds by its categories."""

    NAMES = "names"
    IDS = "ids"
    DATES = "dates"
    PHONES = "phones"
    ADDRESSES = "addresses"


#: LO/SH/AE/UT identifiers that Annex E removes or replaces (X, Z, D) in the basic profile.
ID_KEYWORDS: Final = frozenset(
    {
        "AccessionNumber",
        "AdmissionID",
        "CarrierID",
        "CassetteID",
        "ClinicalTrialSubjectID",
        "ClinicalTrialSubjectReadingID",
        "ContainerIdentifier",
        "DetectorID",
        "DeviceID",
        "DeviceSerialNumber",
        "FillerOrderNumberImagingServiceRequest",
        "FillerOrderNumberProcedure",
        "GantryID",
        "InsurancePlanIdentification",
        "InterpretationID",
        "IssuerOfAdmissionID",
        "IssuerOfPatientID",
        "IssuerOfServiceEpisodeID",
        "LensSerialNumber",
        "LocalNamespaceEntityID",
        "MedicalRecordLocator",
        "OtherPatientIDs",
        "PatientID",
        "PerformedProcedureStepID",
        "PerformedStationAETitle",
        "PerformedStationName",
        "PlacerOrderNumberImagingServiceRequest",
        "PlacerOrderNumberProcedure",
        "PlateID",
        "ReceivingApplicationEntityTitle",
        "RequestedProcedureID",
        "ResultsID",
        "ScheduledProcedureStepID",
        "ScheduledStationAETitle",
        "ScheduledStationName",
        "SendingApplicationEntityTitle",
        "ServiceEpisodeID",
        "SourceApplicationEntityTitle",
        "SourceSerialNumber",
        "SpecimenIdentifier",
        "StationAETitle",
        "StationName",
        "StudyID",
        "StudyIDIssuer",
        "UniqueDeviceIdentifier",
        "UniversalEntityID",
    }
)

#: Telephone numbers and telecom information (which may also hold e-mail addresses).
PHONE_KEYWORDS: Final = frozenset(
    {
        "OrderCallbackPhoneNumber",
        "OrderCallbackTelecomInformation",
        "PatientTelecomInformation",
        "PatientTelephoneNumbers",
        "PersonTelecomInformation",
        "PersonTelephoneNumbers",
        "ReferringPhysicianTelephoneNumbers",
        "TelephoneNumberTrial",
    }
)

#: Addresses and locations. CountryOfResidence is absent: a country is not a geographic
#: subdivision smaller than a state, and masking country names in text helps nobody.
ADDRESS_KEYWORDS: Final = frozenset(
    {
        "AddressTrial",
        "CurrentPatientLocation",
        "InstitutionAddress",
        "OrderEntererLocation",
        "PatientAddress",
        "PatientInstitutionResidence",
        "PerformedLocation",
        "PersonAddress",
        "ReferringPhysicianAddress",
        "RegionOfResidence",
        "ScheduledPatientInstitutionResidence",
        "ScheduledProcedureStepLocation",
        "ScheduledStudyLocation",
    }
)

#: Names that are not PN. InstitutionalDepartmentName is absent: department names such as
#: "RADIOLOGY" are ordinary words that descriptions need.
NAME_KEYWORDS: Final = frozenset({"InstitutionName", "ResponsibleOrganization"})

_INSTITUTION_TAGS: Final = frozenset(
    int(tag_for_keyword(keyword) or 0) for keyword in NAME_KEYWORDS
)

#: Placeholders that identify nobody; collecting them would mask them in every text.
NON_IDENTIFYING_VALUES: Final = frozenset(
    {
        "anonymised",
        "anonymized",
        "anonymous",
        "de identified",
        "deidentified",
        "none",
        "not applicable",
        "null",
        "patient",
        "redacted",
        "removed",
        "test",
        "unknown",
        "xxx",
        "xxxx",
    }
)

MINIMUM_VALUE_CHARACTERS: Final = 3
MINIMUM_DIGITS: Final = 4
MINIMUM_NAME_COMPONENT_CHARACTERS: Final = 2
MINIMUM_PHONE_DIGITS: Final = 7

_KIND_BY_TAG: Final[dict[int, ValueKind]] = {
    int(tag): kind
    for keywords, kind in (
        (ID_KEYWORDS, ValueKind.IDS),
        (PHONE_KEYWORDS, ValueKind.PHONES),
        (ADDRESS_KEYWORDS, ValueKind.ADDRESSES),
        (NAME_KEYWORDS, ValueKind.NAMES),
    )
    for keyword in keywords
    if (tag := tag_for_keyword(keyword)) is not None
}

_SEPARATORS: Final = re.compile(r"[\W_]+")
_ADDRESS_PARTS: Final = re.compile(r"[,;^\r\n]+")
_NON_DIGITS: Final = re.compile(r"\D+")
_TOKENS: Final = re.compile(r"\d+|[^\W\d_]+")
_DATE_TIME_DATE: Final = re.compile(r"(\d{4})(\d{2})(\d{2})")
_DATE_ACR_NEMA: Final = re.compile(r"(\d{4})\.(\d{2})\.(\d{2})")

# Between two tokens of a value the text may use up to three separator characters; between two
# digit tokens at least one, so "3 15 1962" does not also match the number "3151962".
_SEPARATOR_PATTERN: Final = r"[\W_]{0,3}"
_DIGIT_SEPARATOR_PATTERN: Final = r"[\W_]{1,3}"

_MONTHS: Final = (
    ("january", "jan"),
    ("february", "feb"),
    ("march", "mar"),
    ("april", "apr"),
    ("may", "may"),
    ("june", "jun"),
    ("july", "jul"),
    ("august", "aug"),
    ("september", "sep", "sept"),
    ("october", "oct"),
    ("november", "nov"),
    ("december", "dec"),
)


def normalise(text: str) -> str:
    """Lower case, with every run of non-alphanumerics (``^``, ``,``, ``-``, ...) one space."""
    return _SEPARATORS.sub(" ", text.lower()).strip()


def _ordinal(day: int) -> str:
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


@lru_cache(maxsize=4096)
def date_forms(date: datetime.date) -> frozenset[str]:
    """The normalised written forms of ``date`` looked for in text.

    ``19620315``, ``1962-03-15``, ``03/15/1962``, ``3/15/62``, ``15.03.1962``, ``15/3/1962``,
    ``March 15, 1962``, ``Mar 15th 1962``, ``15 Mar 1962``, ``15-MAR-62`` and the like.
    """
    year, short_year = f"{date.year:04d}", f"{date.year % 100:02d}"
    month, day = f"{date.month:02d}", f"{date.day:02d}"
    months = (month, str(date.month))
    days = (day, str(date.day))
    forms = {f"{year}{month}{day}", f"{month}{day}{year}", f"{day}{month}{year}"}
    forms.add(f"{year} {month} {day}")
    for written_year in (year, short_year):
        for written_month in months:
            for written_day in days:
                forms.add(f"{written_month} {written_day} {written_year}")
                forms.add(f"{written_day} {written_month} {written_year}")
        for month_name in _MONTHS[date.month - 1]:
            for written_day in (*days, _ordinal(date.day)):
                forms.add(f"{month_name} {written_day} {written_year}")
                forms.add(f"{written_day} {month_name} {written_year}")
    return frozenset(forms)


# A trie of values by token. The empty key marks that a value ends at that node (tokens are
# never empty).
_Trie = dict[str, "_Trie"]
_END: Final = ""


def _by_length(tokens: Iterable[str]) -> list[str]:
    # Longest first, so the longest value wins where one value extends another.
    return sorted((token for token in tokens if token), key=lambda token: (-len(token), token))


def _left_boundary(token: str) -> str:
    # A value is a whole word: letters may not continue it on a letter side, nor digits (or a
    # decimal point and digits, as in 0.1234) on a digit side.
    return r"(?<!\d)(?<!\d[.,])" if token[0].isdigit() else r"(?<![^\W\d_])"


def _right_boundary(token: str) -> str:
    return r"(?!\d)(?![.,]\d)" if token[-1].isdigit() else r"(?![^\W\d_])"


def _after(node: _Trie, token: str) -> str:
    """The pattern for what may follow ``token``, which led to ``node``."""
    options = []
    for following in _by_length(node):
        both_digits = token[-1].isdigit() and following[0].isdigit()
        separator = _DIGIT_SEPARATOR_PATTERN if both_digits else _SEPARATOR_PATTERN
        options.append(separator + re.escape(following) + _after(node[following], following))
    if _END in node:
        options.append(_right_boundary(token))
    return options[0] if len(options) == 1 else "(?:" + "|".join(options) + ")"


def _compile(values: Iterable[str]) -> re.Pattern[str] | None:
    """One pattern for all ``values``, shaped as a trie of their tokens.

    Letters and digits are separate tokens, so "PAT12345" is also found as "PAT-12345". The
    trie shares the common beginnings of values (a date's many written forms start with few
    tokens), which keeps the scan fast where a flat alternation would try every value at
    every position.
    """
    trie: _Trie = {}
    for value in values:
        node = trie
        for token in _TOKENS.findall(value):
            node = node.setdefault(token, {})
        if node is not trie:
            node[_END] = {}
    if not trie:
        return None
    # The left boundary depends only on whether a value starts with a digit, so it is tested
    # once per class rather than once per first token.
    groups = []
    for starts_with_digit in (True, False):
        firsts = [token for token in _by_length(trie) if token[0].isdigit() == starts_with_digit]
        if firsts:
            alternatives = "|".join(
                re.escape(token) + _after(trie[token], token) for token in firsts
            )
            groups.append(f"{_left_boundary(firsts[0])}(?:{alternatives})")
    return re.compile("|".join(groups), re.IGNORECASE)


PATTERN_CACHE_SIZE: Final = 512
"""Compiled patterns kept per process. The files of one patient, study or series state the same
names, IDs and dates, so a run compiles each value set once, not once per file; the cache is
bounded, so a worker's memory stays flat however many patients it sees."""


@lru_cache(maxsize=PATTERN_CACHE_SIZE)
def _compiled(values: frozenset[str]) -> re.Pattern[str] | None:
    """:func:`_compile`, memoised by the value set (the pattern depends on the set only)."""
    return _compile(values)


_ASCII_ALPHANUMERICS: Final = "0123456789abcdefghijklmnopqrstuvwxyz"
_ASCII_DIGIT_RUNS: Final = re.compile(r"[0-9]+")


@lru_cache(maxsize=4096)
def _ascii_equivalent(character: str) -> str | None:
    """The ASCII letter or digit ``character`` matches under ``re.IGNORECASE`` ("" when none,
    ``None`` when several): dotless i (U+0131) matches ``i``, long s (U+017F) ``s``, o with
    diaeresis none. Asked of the regular expression engine itself, so it agrees with it."""
    if character.isascii():
        return character.lower() if character.isalnum() else ""
    pattern = re.compile(re.escape(character), re.IGNORECASE)
    found = [ascii for ascii in _ASCII_ALPHANUMERICS if pattern.fullmatch(ascii)]
    return (found[0] if found else "") if len(found) <= 1 else None


_IMPOSSIBLE: Final = 0  # no ASCII text can hold the value
_RUN: Final = 1  # the key is a token of digits: it must be a whole run of digits of the text
_SUBSTRING: Final = 2  # the key is a token of letters: it must occur in the lower-cased text
_UNDECIDED: Final = 3  # a character with several ASCII equivalents: always searched


@lru_cache(maxsize=16384)
def _value_key(value: str) -> tuple[int, str]:
    """The most selective token of ``value`` for :class:`_Guard`, and how to look for it."""
    keys: list[tuple[int, str, bool]] = []
    for token in _TOKENS.findall(value):
        if token.isascii():
            ascii = token.lower()  # ASCII letters and digits are their own equivalents
        else:
            mapped = [_ascii_equivalent(character) for character in token]
            if None in mapped:
                return _UNDECIDED, ""
            ascii = "".join(c for c in mapped if c is not None)
            if len(ascii) != len(token):
                return _IMPOSSIBLE, ""  # a character no ASCII text can match
        digits = ascii.isdigit()
        keys.append((len(ascii) + (3 if digits else 0), ascii, digits))
    if not keys:
        return _IMPOSSIBLE, ""  # no token: the value is not in the pattern at all
    _, key, digits = max(keys)
    return (_RUN if digits else _SUBSTRING), key


@dataclass(frozen=True, slots=True)
class _Guard:
    """Which of a set of values an ASCII text can possibly contain.

    In an ASCII text, every token of a matching value occurs case-insensitively (its letters
    mapped to their ASCII equivalents), and a token of digits occurs as a whole run of digits:
    the pattern allows no digit on either side of it (the left boundary of a first token, a
    separator of at least one non-digit between two digit tokens, a letter or a separator
    otherwise, the right boundary after the last). So a value whose most selective token (one
    per value, :func:`_value_key`) is absent from the text cannot match there.

    Searching the text with the pattern of the remaining candidates gives exactly the matches of
    the whole set's pattern: an alternative that cannot succeed at any position never changes
    which one succeeds first, and the alternatives keep their relative order. The candidates
    are few and recur across files (a device's serial number, a study date), so their patterns
    are compiled once per run; a new patient's values are compiled only if a text may hold them.
    """

    by_run: Mapping[str, frozenset[str]]
    by_substring: tuple[tuple[str, frozenset[str]], ...]
    undecided: frozenset[str]

    def candidates(self, lowered: str, runs: frozenset[str]) -> frozenset[str]:
        """``lowered``: the ASCII text in lower case; ``runs``: its runs of digits."""
        found = [self.by_run[run] for run in runs if run in self.by_run]
        found.extend(values for key, values in self.by_substring if key in lowered)
        if not found:
            return self.undecided
        return self.undecided.union(*found)


@lru_cache(maxsize=PATTERN_CACHE_SIZE)
def _guard(values: frozenset[str]) -> _Guard:
    by_run: dict[str, set[str]] = {}
    by_substring: dict[str, set[str]] = {}
    undecided: set[str] = set()
    for value in values:
        how, key = _value_key(value)
        if how == _RUN:
            by_run.setdefault(key, set()).add(value)
        elif how == _SUBSTRING:
            by_substring.setdefault(key, set()).add(value)
        elif how == _UNDECIDED:
            undecided.add(value)
    return _Guard(
        by_run={key: frozenset(found) for key, found in by_run.items()},
        by_substring=tuple((key, frozenset(by_substring[key])) for key in sorted(by_substring)),
        undecided=frozenset(undecided),
    )


def _ascii_view(text: str) -> tuple[str, frozenset[str]] | None:
    """What a :class:`_Guard` reads of ``text``; ``None`` when the text is not ASCII."""
    if not text.isascii():
        return None
    return text.lower(), frozenset(_ASCII_DIGIT_RUNS.findall(text))


@dataclass(frozen=True, repr=False)
class IdentifyingValues:
    """The normalised identifying values of one input file, by kind.

    Immutable; the regular expressions are compiled on first use and kept. The repr shows
    only counts, never a value.
    """

    names: frozenset[str] = frozenset()
    ids: frozenset[str] = frozenset()
    dates: frozenset[str] = frozenset()
    phones: frozenset[str] = frozenset()
    addresses: frozenset[str] = frozenset()
    #: The institution names (:data:`NAME_KEYWORDS`) among ``names``, each whole value
    #: normalised: the leak scan tells patient-borne values from them.
    institutions: frozenset[str] = frozenset()
    _patterns: dict[ValueKind, re.Pattern[str] | None] = field(
        default_factory=dict, init=False, compare=False, hash=False
    )

    def __repr__(self) -> str:
        counts = ", ".join(f"{kind.value}={len(self.of_kind(kind))}" for kind in ValueKind)
        return f"IdentifyingValues({counts})"

    __str__ = __repr__

    @cached_property
    def values(self) -> frozenset[str]:
        """Every identifying value, whatever its kind."""
        return self.names | self.ids | self.dates | self.phones | self.addresses

    def of_kind(self, kind: ValueKind) -> frozenset[str]:
        """The values of one kind."""
        values: frozenset[str] = getattr(self, kind.value)
        return values

    def pattern_for(self, kind: ValueKind) -> re.Pattern[str] | None:
        """The compiled pattern matching the values of ``kind``, or ``None`` if there are none."""
        if kind not in self._patterns:
            # The dict is private, mutable cache state: filling it does not change the value.
            self._patterns[kind] = _compiled(self.of_kind(kind))
        return self._patterns[kind]

    @cached_property
    def pattern(self) -> re.Pattern[str] | None:
        """The compiled pattern matching every value, or ``None`` if there are none."""
        return _compiled(self.values)

    def contains_in(self, text: str) -> bool:
        """True when ``text`` contains any of the values.

        The same answer as ``pattern.search(text)``, found faster: for an ASCII text only the
        values a :class:`_Guard` cannot rule out are searched, with a pattern cached per run.
        """
        if not text or not self:
            return False  # every value has at least one character
        view = _ascii_view(text)
        values = self.values if view is None else _guard(self.values).candidates(*view)
        if not values:
            return False
        pattern = _compiled(values)
        return pattern is not None and pattern.search(text) is not None

    def find_in(
        self, text: str, kinds: Iterable[ValueKind]
    ) -> Iterator[tuple[int, int, ValueKind]]:
        """The spans ``(start, end, kind)`` of the values of ``kinds`` in ``text``.

        The spans of ``pattern_for(kind).finditer(text)``, kind by kind; for an ASCII text the
        search runs over the values its :class:`_Guard` leaves, which gives the same spans.
        """
        view = _ascii_view(text)
        for kind in kinds:
            values = self.of_kind(kind)
            if values and view is not None:
                values = _guard(values).candidates(*view)
            pattern = _compiled(values) if values else None
            if pattern is not None:
                for match in pattern.finditer(text):
                    yield match.start(), match.end(), kind

    def __bool__(self) -> bool:
        return bool(self.values)


#: VRs that make an element's values identifying whatever its tag.
COLLECTED_VRS: Final = frozenset({"PN", "DA", "DT"})
#: Tags that make a standard element's values identifying whatever its VR (the keyword lists).
COLLECTED_TAGS: Final = frozenset(_KIND_BY_TAG)
#: Binary VRs a walk reads as ISO 8859-1 text when the file states them (an explicit ``UN``
#: is converted first, and pydicom's bytes have no text).
_TEXT_AS_READ_VRS: Final = BINARY_VRS - {"UN"}


def collects(tag: int, vr: str) -> bool:
    """Whether the deny-list takes the values of the element at ``tag`` read as ``vr``: a
    standard element of a person name or date VR, or of an identifying keyword (see the
    module). Private elements never (their items are still walked)."""
    return not (tag >> 16) & 1 and (vr in COLLECTED_VRS or tag in COLLECTED_TAGS)


class IdentifyingValuesCollector:
    """Accumulates values during the single walk of a dataset."""

    def __init__(self) -> None:
        self.values: dict[ValueKind, set[str]] = {kind: set() for kind in ValueKind}
        self.institutions: set[str] = set()
        # The sets of ``values`` the collecting methods add to, held by name: they run for
        # every value, and looking a set up by its kind hashes an Enum (a Python-level call).
        self._names = self.values[ValueKind.NAMES]
        self._dates = self.values[ValueKind.DATES]
        self._phones = self.values[ValueKind.PHONES]
        self._addresses = self.values[ValueKind.ADDRESSES]
        # The character set of the dataset being walked, found once per dataset.
        self._encodings_of: Dataset | None = None
        self._encodings: list[str] = []

    def result(self) -> IdentifyingValues:
        return IdentifyingValues(
            **{kind.value: frozenset(found) for kind, found in self.values.items()},
            institutions=frozenset(self.institutions - {""}),
        )

    def add(self, kind: ValueKind, text: str, minimum: int = MINIMUM_VALUE_CHARACTERS) -> None:
        _add_to(self.values[kind], text, minimum)

    def add_name(self, text: str) -> None:
        # set.update with a tuple adds its values one by one, in order, as add would.
        forms = _name_forms if len(text) <= _CACHED_LENGTH else _name_forms.__wrapped__
        self._names.update(forms(text))

    def add_date(self, text: str) -> None:
        forms = _forms_of_date if len(text) <= _CACHED_LENGTH else _forms_of_date.__wrapped__
        self._dates.update(forms(text))

    def add_phone(self, text: str) -> None:
        phones = self._phones
        _add_to(phones, text, MINIMUM_VALUE_CHARACTERS)
        digits = _NON_DIGITS.sub("", text)
        if len(digits) < MINIMUM_PHONE_DIGITS:
            return
        phones.add(digits)
        if len(digits) == 11 and digits.startswith("1"):
            phones.add(f"1 {digits[1:4]} {digits[4:7]} {digits[7:]}")
            digits = digits[1:]
            phones.add(digits)
        if len(digits) == 10:
            phones.add(f"{digits[:3]} {digits[3:6]} {digits[6:]}")
            phones.add(f"{digits[3:6]} {digits[6:]}")
        elif len(digits) == 7:
            phones.add(f"{digits[:3]} {digits[3:]}")

    def add_address(self, text: str) -> None:
        addresses = self._addresses
        _add_to(addresses, text, MINIMUM_VALUE_CHARACTERS)
        for part in _ADDRESS_PARTS.split(text):
            _add_to(addresses, part, MINIMUM_VALUE_CHARACTERS)

    def add_element(self, vr: str, values: Iterable[str], kind: ValueKind | None) -> None:
        # Which rule applies depends on the element, not on the value: chosen once.
        if vr == "PN":
            for item in values:
                self.add_name(item)
        elif vr in ("DA", "DT"):
            for item in values:
                self.add_date(item.strip())
        elif kind is ValueKind.PHONES:
            for item in values:
                self.add_phone(item)
        elif kind is ValueKind.ADDRESSES:
            for item in values:
                self.add_address(item)
        elif kind is not None:
            found = self.values[kind]
            for item in values:
                _add_to(found, item, MINIMUM_VALUE_CHARACTERS)

    def walk(self, dataset: Dataset) -> None:
        for _tag, items in self.visit(dataset):
            for item in items:
                self.walk(item)

    def visit(self, dataset: Dataset) -> list[tuple[int, list[Dataset]]]:
        """Collect the values of ``dataset``'s own elements; its sequences' items, by tag, are
        left to the caller to visit (:func:`deidengine.dicom.facts.input_facts` does more
        with each item on the same walk)."""
        sequences: list[tuple[int, list[Dataset]]] = []
        for tag, raw in walk_elements(dataset):
            if (tag >> 16) & 1:  # a private group
                # Only a private sequence can hold standard elements worth collecting.
                if raw.VR == "SQ" or (known_vr(raw) is None and _may_be_sequence(raw)):
                    sequences.append((tag, sequence_items(dataset, tag, raw)))
                continue
            vr = known_vr(raw)
            if vr is None:
                # UN, a choice of VRs or no VR in the file: pydicom's conversion knows better
                # (a name stored as UN is still a name).
                raw = dataset[tag]
                vr = str(raw.VR)
            if vr == "SQ":
                sequences.append((tag, sequence_items(dataset, tag, raw)))
            elif collects(tag, vr):
                self.add_values(tag, *self.values_of(dataset, tag, raw, vr))
        return sequences

    def add_values(self, tag: int, vr: str, values: Iterable[str]) -> None:
        """Collect the text ``values`` of the standard element at ``tag`` (one that
        :func:`collects`), read as ``vr``: the rules every walk shares, over a Dataset or
        over an element table (:func:`deidengine.dicom.facts.table_facts`)."""
        values = list(values)
        self.add_element(vr, values, _KIND_BY_TAG.get(tag))
        if tag in _INSTITUTION_TAGS:
            self.institutions.update(normalise(item) for item in values)

    def add_row(self, table: ElementTable, index: int) -> None:
        """Collect row ``index`` of ``table`` (an element that :func:`collects`), its values
        read as the Dataset walk reads the same element (:meth:`values_of`): a binary value
        stated as such as ISO 8859-1 text, any other as pydicom converts it."""
        row = table.rows[index]
        vr = row.vr
        if vr in _PLAIN_TEXT_VRS and row.length <= _CACHED_LENGTH and not row.undefined_length:
            offset = row.offset
            value = table.data[offset : offset + row.length]
            if value.isascii() and b"\x1b" not in value:
                # Plain ASCII text of these VRs reads the same in any file: read once a run.
                key = (vr, value)
                found = _PLAIN_TEXTS.get(key)
                if found is None:
                    if len(_PLAIN_TEXTS) >= _FORMS_CACHE_SIZE:
                        _PLAIN_TEXTS.clear()
                    texts = converted_texts(table, index, vr)
                    found = _PLAIN_TEXTS[key] = tuple(text for text in texts if text)
                self.add_values(row.tag, vr, found)
                return
        if vr in _TEXT_AS_READ_VRS:
            texts = latin1_texts(table, index)
        else:
            vr = resolved_vr(table, index)
            texts = converted_texts(table, index, vr)
        self.add_values(row.tag, vr, [text for text in texts if text])

    def values_of(
        self, dataset: Dataset, tag: int, raw: DataElement | RawDataElement, vr: str | None
    ) -> tuple[str, list[str]]:
        """The element's VR and text values, read from its raw bytes when they are plain text
        in a single-codec character set (the element is then left raw), else converted."""
        if (
            vr is not None
            and isinstance(raw, RawDataElement)
            and raw.value is not None
            and known_vr(raw) == vr
        ):
            if self._encodings_of is not dataset:
                self._encodings_of, self._encodings = dataset, character_set(dataset)
            text = raw_text(raw, vr, self._encodings)
            if text is not None:
                return vr, [part for part in text.split("\\") if part]
        element = dataset[tag]
        return str(element.VR), list(_strings(element.value))


#: An item tag, in either byte order: how a sequence's value starts.
_ITEM_TAGS: Final = (b"\xfe\xff\x00\xe0", b"\xff\xfe\xe0\x00")


def _may_be_sequence(raw: DataElement | RawDataElement) -> bool:
    """Whether an element of unstated VR may hold items: its length is undefined, or its value
    starts with an item tag (converting it tells for sure)."""
    if not isinstance(raw, RawDataElement):
        return raw.VR == "SQ"
    return raw.length == 0xFFFFFFFF or (raw.value or b"")[:4] in _ITEM_TAGS


_FORMS_CACHE_SIZE: Final = 4096
#: The longest value (in bytes, or characters) the caches below keep, which bounds them to a
#: few MiB (identifying values are short: LO holds 64 characters, a PN group 64).
_CACHED_LENGTH: Final = 128
#: VRs whose text values a plain ASCII value (no ISO 2022 escape) gives depend on its bytes
#: alone (:func:`~deidengine.dicom.table_values.converted_texts`): no character set, byte
#: order or other element of the file changes them.
_PLAIN_TEXT_VRS: Final = frozenset(
    {"AE", "AS", "CS", "DA", "DT", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UR", "UT"}
)
#: The non-empty text values of such values, by VR and bytes, as
#: :meth:`IdentifyingValuesCollector.add_row` reads them.
_PLAIN_TEXTS: Final[dict[tuple[str, bytes], tuple[str, ...]]] = {}


@lru_cache(maxsize=4096)
def _forms_of_date(text: str) -> frozenset[str]:
    """The :func:`date_forms` of the date a DA or DT value ``text`` states (none when it
    states none): one look-up for a date text seen before, as the dates of a series are."""
    match = _DATE_TIME_DATE.match(text) or _DATE_ACR_NEMA.fullmatch(text)
    if match is None:
        return frozenset()
    try:
        date = datetime.date(*(int(group) for group in match.groups()))
    except ValueError:
        return frozenset()
    return date_forms(date)


def _add_to(found: set[str], text: str, minimum: int) -> None:
    """Add to ``found`` the normalised forms of ``text`` (lower case, and case-folded where
    that differs) worth collecting: :meth:`IdentifyingValuesCollector.add` into one set."""
    if text:  # no form of no text is worth collecting (an empty name component, often)
        # set.update with a tuple adds its values one by one, in order, as add would.
        found.update(_bounded_forms(text, minimum))


# The values of a series (its device, institution, dates, patient) recur in every file: the
# forms of a text are worked out once per run, and added to a file's sets in the order
# working them out gives.


@lru_cache(maxsize=_FORMS_CACHE_SIZE)
def _forms(text: str, minimum: int) -> tuple[str, ...]:
    """What :func:`_add_to` adds for ``text``, in order."""
    if text.isascii():
        # str.lower and str.casefold agree on ASCII, and lower case stays lower case: one
        # form, normalised without lowering it again.
        value = _SEPARATORS.sub(" ", text.lower()).strip()
        return (value,) if _worth_collecting(value, minimum) else ()
    forms = []
    for variant in {text.lower(), text.casefold()}:
        value = normalise(variant)
        if _worth_collecting(value, minimum):
            forms.append(value)
    return tuple(forms)


def _bounded_forms(text: str, minimum: int) -> tuple[str, ...]:
    """:func:`_forms`, kept in its cache only for a text of a length values have."""
    return (_forms if len(text) <= _CACHED_LENGTH else _forms.__wrapped__)(text, minimum)


@lru_cache(maxsize=_FORMS_CACHE_SIZE)
def _name_forms(text: str) -> tuple[str, ...]:
    """What :meth:`IdentifyingValuesCollector.add_name` adds for the PN value ``text``, in
    order: each component group whole, and its family, given and middle components (and
    their words) by themselves."""
    forms: list[str] = []
    for group in text.split("="):
        if group:
            forms.extend(_bounded_forms(group, MINIMUM_VALUE_CHARACTERS))
        # Family, given and middle; prefix and suffix (DR, JR, III) identify nobody.
        for component in group.split("^")[:3]:
            if not component.isascii():
                forms.extend(_bounded_forms(component, MINIMUM_NAME_COMPONENT_CHARACTERS))
                words = normalise(component).split(" ")
                if len(words) > 1:
                    for word in words:
                        if word:
                            forms.extend(_bounded_forms(word, MINIMUM_VALUE_CHARACTERS))
                continue
            # What the lines above do, for ASCII (most names): the component is normalised
            # once, and its words are normalised already.
            value = _SEPARATORS.sub(" ", component.lower()).strip()
            if _worth_collecting(value, MINIMUM_NAME_COMPONENT_CHARACTERS):
                forms.append(value)
            words = value.split(" ")
            if len(words) > 1:
                for word in words:
                    if _worth_collecting(word, MINIMUM_VALUE_CHARACTERS):
                        forms.append(word)
    return tuple(forms)


def _worth_collecting(value: str, minimum: int) -> bool:
    compact = value.replace(" ", "")
    if len(compact) < minimum or value in NON_IDENTIFYING_VALUES:
        return False
    if compact.isdigit() and len(compact) < MINIMUM_DIGITS:
        return False
    # "000000", "9999", "XXXX" are fillers, not identifiers: more than one character means
    # a character other than the first.
    return bool(compact) and compact.count(compact[0]) != len(compact)


def _strings(value: Any) -> Iterator[str]:
    """The text values of an element value: one, several (MultiValue), or none."""
    if value is None or isinstance(value, bytes):
        return
    if isinstance(value, str | PersonName):
        # PersonName iterates over characters; its str() is the whole original value.
        yield str(value)
        return
    if isinstance(value, Iterable):
        for item in value:
            if item is not None and not isinstance(item, bytes):
                yield str(item)
        return
    yield str(value)


def collect_identifying_values(ds: Dataset) -> IdentifyingValues:
    """Collect the identifying values of ``ds`` (and its file meta) in one walk.

    Run it on the input, before any element is changed: the values it finds are what the
    scrubber and the verifier look for afterwards.
    """
    collector = IdentifyingValuesCollector()
    file_meta = getattr(ds, "file_meta", None)
    if isinstance(file_meta, Dataset):
        collector.walk(file_meta)
    collector.walk(ds)
    return collector.result()


def contains_in_within(values: IdentifyingValues, text: str, within: IdentifyingValues) -> bool:
    """``values.contains_in(text)``, the same answer, for ``values`` whose every value is one of
    ``within``'s (the caller knows it: :func:`deidengine.verify.leaks.find_leaks` checks it once
    per file; ``within`` may be ``values`` itself), found with less work:

    - an ASCII text's candidates are found by ``within``'s guard: a value's candidacy depends on
      the value alone (its most selective token, or its being undecided), so ``within``'s
      candidates that are ``values``'s are exactly the candidates of ``values``'s own guard; a
      scan that searched ``within`` first has built that guard already, and a guard is built
      from every value of a new patient;
    - of those, only the values each of whose tokens the text holds are searched
      (:func:`_holds_every_token`; undecided values always): a value whose one token is absent
      matches nowhere, and a set's pattern matches where one of its values' does, so the
      answer is the same, and a new patient's date (a two-digit year some number of the text
      repeats) is not compiled for the search.
    """
    if not text or not values:
        return False
    view = _ascii_view(text)
    if view is None:
        candidates = values.values
    else:
        candidates = _guard(within.values).candidates(*view) & values.values
        if candidates:
            lowered, runs = view
            candidates = frozenset(
                value for value in candidates if _holds_every_token(value, lowered, runs)
            )
    if not candidates:
        return False
    pattern = _compiled(candidates)
    return pattern is not None and pattern.search(text) is not None


@lru_cache(maxsize=16384)
def _ascii_tokens(value: str) -> tuple[tuple[str, bool], ...] | None:
    """Each token of ``value`` as an ASCII text holds it (its letters mapped to their ASCII
    equivalents, as :func:`_value_key` maps them), and whether it is a token of digits; ``None``
    where a character has several equivalents (an undecided value) or none."""
    tokens = []
    for token in _TOKENS.findall(value):
        if token.isascii():
            ascii = token.lower()
        else:
            mapped = [_ascii_equivalent(character) for character in token]
            if None in mapped:
                return None
            ascii = "".join(c for c in mapped if c is not None)
            if len(ascii) != len(token):
                return None
        tokens.append((ascii, ascii.isdigit()))
    return tuple(tokens)


def _holds_every_token(value: str, lowered: str, runs: frozenset[str]) -> bool:
    """Whether an ASCII text (``lowered``, its digit ``runs``) may hold ``value``: every token
    of it is there, a token of digits as a whole run of digits (the pattern allows no digit
    beside one, :class:`_Guard`), a token of letters within the lower-cased text. True where
    the tokens cannot be told (``_ascii_tokens`` is ``None``): such a value is searched."""
    tokens = _ascii_tokens(value)
    if tokens is None:
        return True
    return all((token in runs) if digits else (token in lowered) for token, digits in tokens)
