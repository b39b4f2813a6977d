"""Leak scan: no identifying value of the input may remain anywhere in the output.

Every element at every depth of the output's element table (the bytes to be written, as the
lean reader laid them out) is read as text (private and UN bytes included, as Latin-1) and
searched for the input's identifying values. Elements the policy explicitly keeps are
allowed to hold what they held. Findings name element paths, never the values.

Free text is also read by the text stage (:mod:`deidengine.text`) with its verification
setting, more sensitive than cleaning's (a lone name from the lexicon counts, no cue needed):
every kept LO, LT, PN, SH, ST, UC and UT value the policy did not keep or replace by rule is
searched for names, so a name the engine left behind quarantines the file (in elements no rule
selected, only names a cue or a name shape supports). Such a finding names the element and
the kind (``name``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Final

from deidengine.dicom.elements import ElementPath, element_location
from deidengine.dicom.identifiers import IdentifyingValues, ValueKind, contains_in_within
from deidengine.standard.vr_classes import CHARACTER_SET_VRS, PIXEL_DATA_TAGS
from deidengine.text import Category, Source, Strictness, find_identifiers
from deidengine.verify.table_view import META, TOP, TableView, Verifiable, view_of

# Coded strings (CS) hold enumerated terms, where short name parts match by accident.
UNSCANNED_VRS = frozenset({"FD", "FL", "SL", "SS", "SV", "UL", "US", "UV", "AT", "CS"})
# In elements no rule touched, station names, AE titles and institution names of the input
# often equal device facts (an institution called like its scanner's maker), so only the
# patient-borne values count there: see patient_borne_values.


#: What the verification looks for in free text: names (a name left behind is the leak the
#: header's deny-list cannot see); the other categories a rule may have chosen not to scrub.
VERIFIED_CATEGORIES = frozenset({Category.NAME})
#: In elements no rule selected (device facts: manufacturer, model, software) only a name a
#: cue or a name shape supports counts; a model's or vendor's name reads as a person's to NER.
UNTOUCHED_SOURCES = frozenset({Source.CUE, Source.NAME_SHAPE})
#: The kind of a finding of the input's own values.
INPUT_VALUE = "value"


@dataclass(frozen=True, slots=True)
class LeakFinding:
    """An identifying value found at ``location`` (a tag path; the value is not kept).

    ``kind`` is ``value`` for one of the input's own values, else the text stage's category.
    """

    location: str
    kind: str = INPUT_VALUE

    @property
    def described(self) -> str:
        """The location, with the kind when it is not the input's own value."""
        return self.location if self.kind == INPUT_VALUE else f"{self.location} ({self.kind})"


#: What the scan never reads: the unscanned VRs and sequences (their items are walked).
SKIPPED_VRS = UNSCANNED_VRS | {"SQ"}


def _texts(
    view: TableView,
    dataset: int,
    allowed: frozenset[tuple[ElementPath, int]],
    untouched: frozenset[tuple[ElementPath, int]],
) -> list[tuple[ElementPath, int, str, bool, str]]:
    """``(path, tag, text, untouched, vr)`` of every element of ``dataset`` to scan, at every
    depth.

    The cheap tests come first (VR, Pixel Data, no bytes at all) so that the elements skipped,
    most of a file, are never decoded; an element with no bytes reads as empty text and empty
    text is never scanned. A list, not a generator: every caller reads all of it.
    """
    found: list[tuple[ElementPath, int, str, bool, str]] = []
    rows = view.table.rows
    for path, _, index, tag, vr in view.walk(dataset):
        if vr in SKIPPED_VRS or tag in PIXEL_DATA_TAGS or rows[index].length == 0:
            continue
        where = (path, tag)
        if where in allowed:
            continue
        text = view.text(index, charset_raw=True)
        if text:
            found.append((path, tag, text, where in untouched, vr))
    return found


#: Joins the texts of a file for one search. Matching is character-class based (no value
#: holds it, it is neither a letter, a digit nor a separator), so a value found in one
#: element is found in the joined text too; a match across the joint is only a candidate,
#: and the elements are then searched one by one.
JOINT = "\x00"


#: Unicode categories of characters that are neither letters, digits nor combining marks:
#: punctuation, symbols, separators, controls.
_NEUTRAL_CATEGORIES: Final = frozenset("PSZC")


@lru_cache(maxsize=4096)
def _is_neutral(character: str) -> bool:
    """The deny-list pattern reads ``character`` only as "not a letter, not a digit": it is
    punctuation, a symbol, a space or a control without case partners (``Ⓐ`` has one; the
    combining ypogegrammeni, a mark, matches a Greek iota case-insensitively and is kept too)."""
    return (
        unicodedata.category(character)[0] in _NEUTRAL_CATEGORIES
        and character.lower() == character == character.upper()
        and not character.isalnum()
    )


def _guardable(text: str) -> str:
    """``text`` with each non-ASCII neutral character (``§``, ``°``, an en dash) replaced by
    :data:`JOINT`.

    The deny-list pattern reads such a character only as a separator or a word boundary,
    exactly as it reads ``JOINT``, so a value is found in the result wherever it is found in
    ``text``. The result is ASCII more often, and an ASCII text is searched for the few values
    its tokens allow, with patterns cached per run
    (:meth:`~deidengine.dicom.identifiers.IdentifyingValues.contains_in`); a single ``§`` in an
    SR's text otherwise compiled the whole deny-list of every file, a new patient's each time.
    """
    if text.isascii():
        return text
    return "".join(JOINT if not c.isascii() and _is_neutral(c) else c for c in text)


#: Whether a text holds a value of a deny-list (``IdentifyingValues.contains_in``, or the same
#: answer found otherwise: :func:`_searches`).
Search = Callable[[str], bool]


def _searches(
    identifying: IdentifyingValues, untouched_values: IdentifyingValues
) -> tuple[Search, Search]:
    """How :func:`_scan` searches for ``identifying`` and for ``untouched_values``.

    The patient-borne values (:func:`patient_borne_values`) are among the input's: then
    their search finds its candidates with the guard the first search built
    (:func:`~deidengine.dicom.identifiers.contains_in_within`, the same answer), instead of
    building a guard of every value of a new patient a second time."""
    own = partial(contains_in_within, identifying, within=identifying)
    if untouched_values is identifying:
        return own, own
    if not untouched_values.values <= identifying.values:
        return own, partial(contains_in_within, untouched_values, within=untouched_values)
    return own, partial(contains_in_within, untouched_values, within=identifying)


def _scan(
    texts: list[tuple[ElementPath, int, str, bool, str]],
    identifying: Search,
    untouched_values: Search,
) -> Iterator[LeakFinding]:
    # The joined texts only tell whether any element can hold a value (a match across
    # the joint or a replaced character is a candidate only); each element is then
    # searched as it is.
    touched = [_guardable(text) for _, _, text, untouched, _ in texts if not untouched]
    narrow = [_guardable(text) for _, _, text, untouched, _ in texts if untouched]
    if not identifying(JOINT.join(touched)) and not untouched_values(JOINT.join(narrow)):
        return
    for path, tag, text, untouched, _ in texts:
        search = untouched_values if untouched else identifying
        if search(text):
            yield LeakFinding(element_location(path, tag))


#: The kinds :func:`_free_text_kinds` found in a short text, by (text, untouched): kept free
#: text (a description, a code meaning, a device's name) repeats file after file, and what the
#: text stage finds in it depends on the text alone (its own cache holds the same). Bounded;
#: cleared when full.
_FREE_TEXT_KINDS: dict[tuple[str, bool], tuple[str, ...]] = {}
FREE_TEXT_MEMO_LIMIT: Final = 4096
FREE_TEXT_MEMO_CHARACTERS: Final = 256


def _free_text_kinds(text: str, untouched: bool) -> tuple[str, ...]:
    """The categories of the names the text stage finds in ``text``, with its verification
    setting (in an element no rule selected, only names a cue or a name shape supports)."""
    key = (text, untouched)
    kinds = _FREE_TEXT_KINDS.get(key)
    if kinds is not None:
        return kinds
    findings = find_identifiers(
        text,
        strictness=Strictness.VERIFY,
        categories=VERIFIED_CATEGORIES,
        sources=UNTOUCHED_SOURCES if untouched else None,
    )
    kinds = tuple(sorted({span.category.value for span in findings.spans}))
    if len(text) <= FREE_TEXT_MEMO_CHARACTERS:
        if len(_FREE_TEXT_KINDS) >= FREE_TEXT_MEMO_LIMIT:
            _FREE_TEXT_KINDS.clear()
        _FREE_TEXT_KINDS[key] = kinds
    return kinds


def _scan_free_text(texts: list[tuple[ElementPath, int, str, bool, str]]) -> Iterator[LeakFinding]:
    """Names the text stage finds, with its verification setting, in kept free text."""
    for path, tag, text, untouched, vr in texts:
        if vr not in CHARACTER_SET_VRS:
            continue
        for kind in _free_text_kinds(text, untouched):
            yield LeakFinding(element_location(path, tag), kind)


def find_leaks(
    output: Verifiable,
    identifying: IdentifyingValues,
    allowed: frozenset[tuple[ElementPath, int]] = frozenset(),
    untouched: frozenset[tuple[ElementPath, int]] = frozenset(),
    untouched_values: IdentifyingValues | None = None,
) -> tuple[LeakFinding, ...]:
    """Every element of ``output`` (an output file's element table, its File Meta Information
    included) that still holds an identifying value.

    ``allowed`` elements (the policy kept or replaced them by rule) are not scanned;
    ``untouched`` ones (no rule selected them) are scanned for ``untouched_values`` only.
    Free text is searched for names in the data set, not in the File Meta Information.
    """
    view = view_of(output)
    texts = _texts(view, TOP, allowed, untouched)
    found = list(_scan_free_text(texts))
    if not identifying:
        return tuple(found)
    narrow = identifying if untouched_values is None else untouched_values
    searches = _searches(identifying, narrow)
    found.extend(_scan(texts, *searches))
    found.extend(_scan(_texts(view, META, frozenset(), frozenset()), *searches))
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
