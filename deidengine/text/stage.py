"""The text stage: every recogniser over one value, combined; masking and strictness.

:func:`find_identifiers` runs, over one text value,

- the file's own identifying values (the deny-list, :class:`IdentifyingValues`);
- the scrubber's patterns (dates, phones, e-mail, SSN, URL, IP, labelled IDs, street
  addresses: :mod:`deidengine.dicom.scrub`);
- names by cue and by shape (:mod:`deidengine.text.names`), institutions and places
  (:mod:`deidengine.text.institutions`), identifier shapes (:mod:`deidengine.text.shapes`);
- spaCy's ``PERSON`` entities, on mixed-case text with a word no vocabulary vouches for
  (:mod:`deidengine.text.ner`);

and returns each span once, with every source that found it. Everything but the deny-list
depends on the text alone and is cached per process (descriptions repeat across a series).

:func:`clean_value` masks each span with :data:`MASK` (spans with only spaces or punctuation
between them become one mask), or, under a strict setting, removes the whole value when the
stage cannot vouch for it: letters of a script it cannot analyse (anything but Latin: ISO 2022
Japanese, GB18030, Cyrillic, Greek, ...), escape or control characters, or more than
:data:`SUSPECT_LIMIT` words that neither vocabulary vouches for and no recogniser explains.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from deidengine.dicom.identifiers import IdentifyingValues, ValueKind
from deidengine.dicom.scrub import MASK as SCRUB_MASK
from deidengine.dicom.scrub import ScrubCategory, find_identifying_text, masked
from deidengine.text import institutions, names, ner, shapes
from deidengine.text.spans import Category, Source, TextFindings, TextSpan, Verdict
from deidengine.text.vocabulary import (
    EPONYM_HEADS,
    clinical_words,
    code_meanings,
    concept_words,
    plain_words,
)
from deidengine.text.vocabulary import names as name_lexicon

__all__ = [
    "MASK",
    "SUSPECT_LIMIT",
    "CleanedValue",
    "Strictness",
    "clean_value",
    "find_identifiers",
]

#: What replaces each identifier: fixed, so the output tells nothing of the removed length.
MASK: Final = SCRUB_MASK
#: A strict rule removes a value with more unexplained words than this.
SUSPECT_LIMIT: Final = 3
#: Distinct values remembered per process, and the longest value remembered (the cache holds
#: at most CACHE_SIZE x CACHE_MAX_CHARACTERS characters of text).
CACHE_SIZE: Final = 1 << 16
CACHE_MAX_CHARACTERS: Final = 1024


class Strictness(enum.Enum):
    """How the stage treats what it cannot vouch for."""

    DEFAULT = "default"  # mask what is found, keep the rest
    STRICT = "strict"  # ... and remove values it cannot analyse or that hold too many suspects
    VERIFY = "verify"  # the leak scan: also single lexicon names no cue supports


_CATEGORY_OF_SCRUB: Final = {
    ScrubCategory.NAMES: Category.NAME,
    ScrubCategory.IDS: Category.ID,
    ScrubCategory.MRN: Category.ID,
    ScrubCategory.DATES: Category.DATE,
    ScrubCategory.PHONE: Category.PHONE,
    ScrubCategory.EMAIL: Category.EMAIL,
    ScrubCategory.SSN: Category.SSN,
    ScrubCategory.URL: Category.URL,
    ScrubCategory.IP: Category.IP,
    ScrubCategory.ADDRESS: Category.ADDRESS,
}
_CATEGORY_OF_KIND: Final = {
    ValueKind.NAMES: Category.NAME,
    ValueKind.IDS: Category.ID,
    ValueKind.DATES: Category.DATE,
    ValueKind.PHONES: Category.PHONE,
    ValueKind.ADDRESSES: Category.ADDRESS,
}
#: The policy's scrub words select these categories (institutions go with names).
CATEGORIES_OF_SCRUB: Final = {
    scrub: frozenset({category} | ({Category.INSTITUTION} if category is Category.NAME else set()))
    for scrub, category in _CATEGORY_OF_SCRUB.items()
}
ALL: Final = frozenset(Category)
_NOTHING: Final = IdentifyingValues()
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def categories_of(scrub: Iterable[ScrubCategory]) -> frozenset[Category]:
    """The text categories a ``scrub`` rule's words select."""
    found: set[Category] = set()
    for category in scrub:
        found |= CATEGORIES_OF_SCRUB[category]
    return frozenset(found)


def _script_verdict(text: str) -> Verdict:
    if _CONTROL.search(text.replace("\x00", " ")) or "\x1b" in text:
        return Verdict.UNANALYSABLE_SCRIPT
    for character in text:
        if ord(character) > 0x24F and character.isalpha():
            return Verdict.UNANALYSABLE_SCRIPT
        latin = "LATIN" in unicodedata.name(character, "")
        if ord(character) > 0x7F and character.isalpha() and not latin:
            return Verdict.UNANALYSABLE_SCRIPT
    return Verdict.ANALYSED


def _wants_ner(text: str) -> bool:
    """NER only helps on mixed-case text with a capitalised word no vocabulary vouches for."""
    if not names.is_mixed_case(text):
        return False
    clinical = clinical_words()
    plain = plain_words()
    for match in re.finditer(r"\b[A-Z][a-z'\u2019\-]+", text):
        lower = match[0].lower()
        if lower not in clinical and lower not in plain:
            return True
    return False


def _all_concept_words(span_text: str) -> bool:
    words = re.findall(r"[^\W\d_]+", span_text.lower())
    return bool(words) and all(word in concept_words() for word in words)


def _lexicon_spans(text: str) -> Iterable[tuple[int, int]]:
    """Verification only: a capitalised word of mixed-case text that is in the name lexicon and
    that no vocabulary vouches for ("Lindqvist" left alone in a sentence).

    Upper-case text is left to the cues: there a model name such as ``MRT50H1`` or a vendor
    code holds letters the lexicon knows as a name somewhere in the world.
    """
    if not names.is_mixed_case(text):
        return
    lexicon = name_lexicon()
    for start, end in names.unvouched_words(text):
        word = text[start:end]
        joined = text[start - 1 : start].isalnum() or text[end : end + 1].isalnum()
        if (
            word.istitle()
            and word.lower() in lexicon
            and not joined
            and "_" not in text[start - 1 : end + 1]
        ):
            yield start, end


_NEXT_WORD: Final = re.compile(r"(?:['\u2019]s)?\s+([^\W\d_]+)")


def _before_eponym_head(text: str, end: int) -> bool:
    """Whether a name ending at ``end`` names a disease, sign or structure ("Baker cyst")."""
    following = _NEXT_WORD.match(text, end)
    return following is not None and following[1].lower() in EPONYM_HEADS


#: Sources that read a name from its context (a cue, the file's own values): their spans stand
#: even when every word is also a plain word ("DR YOUNG"). A span found otherwise (NER, a
#: pattern, a shape) needs a word that can be a name ("MR Signal Intensity" has none).
CONTEXT_SOURCES: Final = frozenset({Source.CUE, Source.HEADER})

Found = dict[tuple[int, int, Category], set[Source]]


def _add(found: Found, start: int, end: int, category: Category, source: Source) -> None:
    if end > start:
        found.setdefault((start, end, category), set()).add(source)


def _text_findings(text: str, strictness: Strictness, with_ner: bool = True) -> TextFindings:
    """Everything but the deny-list: it depends on the text alone, so short values (the ones
    that repeat: descriptions, code meanings) are cached; a long report is read each time.

    ``with_ner=False`` leaves the named-entity model out, for callers that would discard its
    spans: loading it costs a worker about a second.
    """
    if len(text) > CACHE_MAX_CHARACTERS:
        return _read(text, strictness, with_ner)
    return _cached_read(text, strictness, with_ner)


def _read(text: str, strictness: Strictness, with_ner: bool = True) -> TextFindings:
    verdict = _script_verdict(text)
    if verdict is Verdict.ANALYSED and text.strip().lower() in code_meanings():
        return TextFindings((), 0, verdict)  # a coded concept's own name: "Achilles Tendon"
    found: Found = {}
    for start, end, scrub in find_identifying_text(text, _NOTHING):
        _add(found, start, end, _CATEGORY_OF_SCRUB[scrub], Source.PATTERN)
    patterned = [(start, end) for start, end, _ in found]
    for start, end in shapes.identifier_spans(text):
        # A date or a phone number is shaped like an identifier too: its pattern names it.
        if not any(a <= start and end <= b for a, b in patterned):
            _add(found, start, end, Category.ID, Source.ID_SHAPE)
    for start, end, source in names.name_spans(text):
        _add(found, start, end, Category.NAME, source)
    for start, end, category in institutions.institution_spans(text):
        _add(found, start, end, category, Source.INSTITUTION)
    if with_ner and _wants_ner(text):
        for start, end in ner.person_spans(text):
            trimmed = names.trim_to_name(text, start, end)
            # A name no cue supports whose every word names coded concepts ("Achilles
            # Tendon", "Frank leads") is an eponym or a term, not a person in the record.
            if trimmed is not None and not _all_concept_words(text[trimmed[0] : trimmed[1]]):
                _add(found, *trimmed, Category.NAME, Source.NER)
    if strictness is Strictness.VERIFY:
        for start, end in _lexicon_spans(text):
            _add(found, start, end, Category.NAME, Source.LEXICON)
    for key, sources in list(found.items()):
        start, end, category = key
        if category is not Category.NAME:
            continue
        if _before_eponym_head(text, end):
            # The last word names a disease or sign ("... King, Colles fracture"): it goes
            # from the span, and the span with it when nothing else is left.
            del found[key]
            shorter = names.without_last_word(text, start, end)
            if shorter is not None:
                _add(found, *shorter, category, next(iter(sources)))
                found[(*shorter, category)] |= sources
        elif not sources & CONTEXT_SOURCES and not names.holds_name_word(text[start:end]):
            del found[key]
    spans = tuple(
        TextSpan(start, end, category, frozenset(sources))
        for (start, end, category), sources in sorted(found.items(), key=lambda i: i[0][:2])
    )
    covered = [(s.start, s.end) for s in spans]
    suspects = sum(
        1
        for start, end in names.unvouched_words(text)
        if not any(a <= start and end <= b for a, b in covered)
    )
    if verdict is Verdict.ANALYSED and suspects > SUSPECT_LIMIT:
        verdict = Verdict.TOO_MANY_SUSPECTS
    return TextFindings(spans, suspects, verdict)


_cached_read = lru_cache(maxsize=CACHE_SIZE)(_read)


def find_identifiers(
    text: str,
    identifying: IdentifyingValues = _NOTHING,
    strictness: Strictness = Strictness.DEFAULT,
    categories: frozenset[Category] = ALL,
    sources: frozenset[Source] | None = None,
) -> TextFindings:
    """Every identifier span of ``text`` in ``categories``, with the sources that found it;
    with ``sources``, only spans one of them found, each with those of its sources only.

    A source left out of ``sources`` may not run at all (the named-entity model does not);
    ``suspects`` then counts the words the other sources leave unexplained.
    """
    cached = _text_findings(text, strictness, sources is None or Source.NER in sources)
    found: Found = {}
    for span in cached.spans:
        if span.category not in categories:
            continue
        if sources is None:
            found[(span.start, span.end, span.category)] = set(span.sources)
        elif span.sources & sources:
            found[(span.start, span.end, span.category)] = set(span.sources & sources)
    if identifying and (sources is None or Source.HEADER in sources):
        kinds = [k for k, c in _CATEGORY_OF_KIND.items() if c in categories]
        for start, end, kind in identifying.find_in(text, kinds):
            _add(found, start, end, _CATEGORY_OF_KIND[kind], Source.HEADER)
    spans = tuple(
        TextSpan(start, end, category, frozenset(sources))
        for (start, end, category), sources in sorted(found.items(), key=lambda i: i[0][:2])
    )
    return TextFindings(spans, cached.suspects, cached.verdict)


def mask(text: str, spans: Iterable[TextSpan]) -> str:
    """``text`` with every span replaced by :data:`MASK` (neighbouring spans as one)."""
    return masked(text, [(span.start, span.end) for span in spans])


@dataclass(frozen=True, slots=True)
class CleanedValue:
    """What cleaning left of one value: the text, or ``None`` when the whole value must go."""

    text: str | None
    masked: int
    reason: Verdict

    def __repr__(self) -> str:
        shown = "removed" if self.text is None else f"<{len(self.text)} characters>"
        return f"CleanedValue({shown}, masked={self.masked}, {self.reason.value})"


#: Masking repeats until nothing is found, in case a mask exposed another match; bounded.
MAX_ROUNDS: Final = 4


def clean_value(
    text: str,
    identifying: IdentifyingValues = _NOTHING,
    strictness: Strictness = Strictness.DEFAULT,
    categories: frozenset[Category] = ALL,
    sources: frozenset[Source] | None = None,
) -> CleanedValue:
    """Mask every identifier in ``text`` (found by ``sources``, all when None); under
    :attr:`Strictness.STRICT` remove the value (``text`` None) when the stage cannot vouch for
    it. Never raises."""
    findings = find_identifiers(text, identifying, strictness, categories, sources)
    if strictness is Strictness.STRICT and findings.verdict is not Verdict.ANALYSED:
        return CleanedValue(None, len(findings.spans), findings.verdict)
    masked = 0
    rounds = 0
    while findings.spans and rounds < MAX_ROUNDS:
        masked += len(findings.spans)
        text = mask(text, findings.spans)
        findings = find_identifiers(text, identifying, Strictness.DEFAULT, categories, sources)
        rounds += 1
    if findings.spans:
        return CleanedValue(None, masked, findings.verdict)
    return CleanedValue(text, masked, Verdict.ANALYSED)
