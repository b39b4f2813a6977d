"""Names found by context and shape, in upper case as well as mixed case.

Radiology text is often UPPER CASE, where a named-entity model sees no names. Here a word is a
name when it is not safe clinical vocabulary, not a plain English word (one that is no name),
and either

- follows a cue: a title (``DR``, ``Dr.``, ``Mr``, ``Mrs``, ``Ms``, ``Prof``), a relation
  (``wife``, ``husband``, ``mother``, ``son``, ``daughter``, ...), or a phrase that introduces a
  person (``per``, ``by``, ``for``, ``called``, ``discussed with``, ``ordered by``, ...); or
  comes before a post-nominal (``MD``, ``RN``, ``PhD``);
- or is shaped like a name: ``LAST^FIRST``, ``Last, First``, or a given name from the lexicon
  followed by a family name from it, neither a common word.

Names that are also words ("Young", "Rose", "Paris", "Hope") are found after a cue or in a name
shape, and left alone elsewhere. In mixed-case text a name word must start with a capital.
"""

from __future__ import annotations

import enum
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final

from deidengine.text.spans import Source
from deidengine.text.vocabulary import (
    clinical_words,
    common_words,
    concept_words,
    has_medical_ending,
    names,
    plain_words,
    zipf,
)

_WORD: Final = re.compile(r"[^\W\d_]+(?:['\u2019\-][^\W\d_]+)*\.?")

_TITLE: Final = r"(?:dr|drs|doctor|mr|mrs|ms|miss|mx|prof|professor|nurse|rev|sr|sister)"
_RELATION: Final = (
    r"(?:wife|husband|spouse|partner|mother|father|mom|mum|dad|son|daughter|brother|sister|"
    r"sibling|aunt|uncle|cousin|niece|nephew|grandmother|grandfather|grandson|granddaughter|"
    r"grandparent|friend|neighbou?r|guardian|caregiver|carer|relative|fianc[eé]e?|boyfriend|"
    r"girlfriend|roommate|employer|boss|landlord|child|parent|parents|stepfather|stepmother)"
)
#: Phrases that introduce a person: what follows is read as a name unless it is clinical,
#: a function word or a frequent English word.
_PHRASE: Final = (
    r"(?:discussed\s+with|d/w|spoke\s+(?:with|to)|reviewed\s+with|conferred\s+with|"
    r"ordered\s+by|referred\s+by|referring|requested\s+by|seen\s+by|read\s+by|dictated\s+by|"
    r"reported\s+by|performed\s+by|verified\s+by|approved\s+by|signed\s+by|transcribed\s+by|"
    r"attending|physician|radiologist|surgeon|consultant|resident|fellow|technologist|tech|"
    r"provider|pcp|gp|clinician|oncologist|cardiologist|neurologist|urologist|"
    r"accompanied\s+by|brought\s+in\s+by|care\s+of|c/o|attn|cc|named|called)"
)
#: Short words that often precede a name but as often do not: only a word no vocabulary
#: vouches for is read as a name after them.
_WEAK: Final = (
    r"(?:per|by|for|call|calls|contact|contacted|notified|informed|paged|patient|pt|name|signed)"
)


class CueStrength(enum.IntEnum):
    """How sure a cue makes a reading as a name; see :func:`may_be_name`."""

    WEAK = 0
    STRONG = 1
    TITLE = 2


_CUES: Final = {
    CueStrength.TITLE: re.compile(rf"(?<![\w/]){_TITLE}\.?\s*[:,]?\s+(?=\S)", re.IGNORECASE),
    CueStrength.STRONG: re.compile(
        rf"(?<![\w/])(?:{_RELATION}(?:'s)?|{_PHRASE})\s*[:,]?\s+(?=\S)", re.IGNORECASE
    ),
    CueStrength.WEAK: re.compile(rf"(?<![\w/]){_WEAK}\s*[:,]?\s+(?=\S)", re.IGNORECASE),
}
#: After a strong cue, a plain English word this frequent (wordfreq Zipf) is not read as a name
#: ("discussed with family"); a rarer one can be a family name ("Novak", "O'Brien").
FREQUENT_WORD_ZIPF: Final = 4.5
_TITLE_ONLY: Final = re.compile(rf"{_TITLE}\.?", re.IGNORECASE)
_POSTNOMINAL: Final = re.compile(
    r",?\s*\b(?:md|m\.d\.|do|rn|np|pa-c|phd|ph\.d\.|mbbs|mbchb|frcr|frcpc|facr|dds|dmd|rt|"
    r"rt\(r\)|arrt)\b",
    re.IGNORECASE,
)
#: ``LAST^FIRST^MIDDLE^PREFIX^SUFFIX`` (components may be empty).
_CARET_NAME: Final = re.compile(
    r"[^\W\d_]+(?:['\- ][^\W\d_]+)*(?:\^[^\W\d_]*(?:[ '\-][^\W\d_]+)*)+"
)
_INITIAL: Final = re.compile(r"[A-Z]\.?")
MAX_NAME_WORDS: Final = 3


@dataclass(frozen=True, slots=True)
class _Word:
    start: int
    end: int
    text: str

    @property
    def lower(self) -> str:
        return self.text.lower()


def _words(text: str) -> list[_Word]:
    words = []
    for match in _WORD.finditer(text):
        word = match[0].rstrip(".")
        words.append(_Word(match.start(), match.start() + len(word), word))
    return words


def _capitalised(word: str) -> bool:
    return word[:1].isupper()


#: Words that never start or continue a name, even after a title.
FUNCTION_WORDS: Final = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "of",
        "by",
        "per",
        "for",
        "with",
        "without",
        "to",
        "at",
        "in",
        "on",
        "from",
        "as",
        "is",
        "was",
        "were",
        "be",
        "been",
        "has",
        "had",
        "have",
        "this",
        "that",
        "these",
        "those",
        "his",
        "her",
        "their",
        "its",
        "he",
        "she",
        "they",
        "we",
        "i",
        "you",
        "it",
        "not",
        "no",
    ]
)


def may_be_name(word: str, mixed_case: bool, strength: CueStrength = CueStrength.WEAK) -> bool:
    """Whether ``word`` can be part of a name next to a cue of ``strength``.

    Never a clinical or a function word; after a title any other word ("Dr Harlan"); after a
    strong cue a plain English word only if it is not frequent ("ordered by Novak"); after a
    weak cue ("per", "for") only a word that is no plain English word.
    """
    lower = word.lower()
    if mixed_case and not _capitalised(word):
        return False
    if lower in clinical_words() or lower in FUNCTION_WORDS or _TITLE_ONLY.fullmatch(word):
        return False
    if lower not in names() and has_medical_ending(lower):
        return False
    if strength >= CueStrength.TITLE or lower not in plain_words():
        return True
    return strength >= CueStrength.STRONG and zipf(lower) < FREQUENT_WORD_ZIPF


def _is_initial(text: str, word: _Word) -> bool:
    return len(word.text) == 1 and word.text.isupper()


def _name_after(
    text: str, words: list[_Word], index: int, mixed_case: bool, strength: CueStrength
) -> tuple[int, int] | None:
    """The name starting at ``words[index]``, if one does: up to three name words or initials,
    joined by spaces, hyphens, a caret or one comma ("Brennan, Aoife")."""
    start = end = -1
    taken = 0
    comma_used = False
    position = index
    while position < len(words) and taken < MAX_NAME_WORDS:
        word = words[position]
        if end >= 0:
            gap = text[end : word.start]
            if gap.strip(" .^") == "," and not comma_used:
                comma_used = True
            elif gap.strip(" .^") != "":
                break
        particles = _particles_at(words, position, text)
        leading = taken == 0 and strength >= CueStrength.STRONG
        if particles and (start >= 0 or leading):
            # "van der Berg", "De la Cruz": the particles join the name word after them.
            if start < 0:
                start = word.start
            position += particles
            continue
        if _is_initial(text, word):
            pass  # an initial joins a name; alone it is not one
        elif not may_be_name(
            word.text, mixed_case, strength if taken == 0 else max(strength, CueStrength.STRONG)
        ):
            # A word after a name word is read as a strong cue reads it ("JOHN O'BRIEN").
            break
        if start < 0:
            start = word.start
        end = word.end
        taken += 1
        position += 1
    if start < 0:
        return None
    # Initials alone are no name ("DR J" may be anything); after a name word they are part of
    # it ("LEE, JENNIFER A").
    if all(_is_initial(text, word) for word in words[index:position]):
        return None
    return start, words[position - 1].end


#: Particles of family names: inside a name, before a name word.
PARTICLES: Final = frozenset(
    re.findall(
        r"\S+", "van von der den de del della di da das dos du la le ter ten bin ibn al el ap"
    )
)


def _particles_at(words: list[_Word], position: int, text: str) -> int:
    """How many particle words start at ``position`` and are followed, across single spaces,
    by a word that is not a particle (0 when none)."""
    count = 0
    while position + count < len(words) and words[position + count].lower in PARTICLES:
        count += 1
    if count == 0 or position + count >= len(words):
        return 0
    joined = all(
        text[words[i].end : words[i + 1].start] == " " for i in range(position, position + count)
    )
    return count if joined else 0


def _after_cues(text: str, words: list[_Word], mixed_case: bool) -> Iterator[tuple[int, int]]:
    starts = {word.start: index for index, word in enumerate(words)}
    for strength, cues in _CUES.items():
        for cue in cues.finditer(text):
            index = starts.get(cue.end())
            if index is None:
                continue
            found = _name_after(text, words, index, mixed_case, strength)
            if found is not None:
                yield found


def _before_postnominals(
    text: str, words: list[_Word], mixed_case: bool
) -> Iterator[tuple[int, int]]:
    ends = {word.end: index for index, word in enumerate(words)}
    for match in _POSTNOMINAL.finditer(text):
        index = ends.get(match.start())
        if index is None:
            continue
        first = index
        while (
            first >= 0
            and index - first < MAX_NAME_WORDS + 2
            and (
                _is_initial(text, words[first])
                or (first < index and words[first].lower in PARTICLES)
                or may_be_name(words[first].text, mixed_case, CueStrength.TITLE)
            )
            and (
                first == index
                or text[words[first].end : words[first + 1].start].strip(" .,^") == ""
            )
        ):
            first -= 1
        if first < index:
            yield words[first + 1].start, words[index].end


def _caret_names(text: str) -> Iterator[tuple[int, int]]:
    for match in _CARET_NAME.finditer(text):
        before = text[match.start() - 1 : match.start()]
        if text[match.end() : match.end() + 1].isdigit() or before.isdigit() or before == "^":
            continue  # isotope markup in a code meaning: "Ga^68^", "Tc^99m^ tagged"
        parts = [p for p in re.split(r"[\^ ]", match[0]) if p]
        if len(parts) >= 2 and not all(p.lower() in clinical_words() for p in parts):
            yield match.start(), match.end()


def _name_word(word: str, mixed_case: bool) -> bool:
    return word.lower() in names() and may_be_name(word, mixed_case)


#: A pair of lexicon names with no cue is read as a name unless both are frequent English
#: words (wordfreq Zipf): "JOHN SMITH" (5.4, 4.9) and "WILL MAY" stay; "LIAM FOX" does not.
PAIR_MAX_ZIPF: Final = 5.5
PAIR_RARER_ZIPF: Final = 4.5


def _name_pair(first: _Word, second: _Word) -> bool:
    """Two lexicon names, a given and a family one in either order, that do not read as two
    English words or as a coded concept ("CISTERNA MAGNA", "GERMAN BLACK")."""
    lexicon = names()
    one, other = lexicon[first.lower], lexicon[second.lower]
    if not ((one.given and other.family) or (one.family and other.given)):
        return False
    frequencies = (zipf(first.lower), zipf(second.lower))
    if max(frequencies) >= PAIR_MAX_ZIPF or min(frequencies) >= PAIR_RARER_ZIPF:
        return False
    concepts = concept_words()
    return not (first.lower in concepts and second.lower in concepts)


def _shaped_names(text: str, words: list[_Word], mixed_case: bool) -> Iterator[tuple[int, int]]:
    """``Last, First`` and name pairs of lexicon names (see :func:`_name_pair`)."""
    common = common_words()
    for first, second in itertools.pairwise(words):
        gap = text[first.end : second.start]
        if not (_name_word(first.text, mixed_case) and _name_word(second.text, mixed_case)):
            continue
        both_common = first.lower in common and second.lower in common
        # A two-letter capital before a comma is an abbreviation ("GA, Merz 1988": gestational
        # age by Merz's method), not a family name.
        abbreviation = len(first.text) == 2 and first.text.isupper()
        comma_name = gap.strip() == "," and not both_common and not abbreviation
        if comma_name or (gap == " " and _name_pair(first, second)):
            yield first.start, second.end


def _by_cue(text: str, words: list[_Word], mixed: bool) -> list[tuple[int, int]]:
    return [*_after_cues(text, words, mixed), *_before_postnominals(text, words, mixed)]


def _by_shape(text: str, words: list[_Word], mixed: bool) -> list[tuple[int, int]]:
    return [*_caret_names(text), *_shaped_names(text, words, mixed)]


Recogniser = Callable[[str, list[_Word], bool], list[tuple[int, int]]]
#: Recogniser → its spans; every one runs.
RECOGNISERS: Final[dict[Source, Recogniser]] = {Source.CUE: _by_cue, Source.NAME_SHAPE: _by_shape}


def without_last_word(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The span ``text[start:end]`` without its last word and the separator before it."""
    words = [w for w in _words(text) if start <= w.start and w.end <= end]
    if len(words) < 2:
        return None
    return start, words[-2].end


def holds_name_word(span_text: str) -> bool:
    """Whether any word of ``span_text`` can be part of a name (not clinical, not a frequent
    plain word, not a title): a span of plain words only is no name ("Signal Intensity")."""
    return any(
        _is_initial(span_text, word) or may_be_name(word.text, False, CueStrength.STRONG)
        for word in _words(span_text)
    )


_RELATION_WORD: Final = re.compile(rf"{_RELATION}(?:'s)?", re.IGNORECASE)


def trim_to_name(text: str, start: int, end: int) -> tuple[int, int] | None:
    """A span another recogniser (NER) calls a name, without the cue and clinical words at its
    ends ("Mrs Patel" → "Patel", "Daughter Priya" → "Priya"); None when no name word is left."""
    words = [w for w in _words(text) if start <= w.start and w.end <= end]

    def kept(word: _Word) -> bool:
        return not _RELATION_WORD.fullmatch(word.text) and may_be_name(
            word.text, False, CueStrength.STRONG
        )

    while words and not kept(words[0]):
        words.pop(0)
    while words and not kept(words[-1]):
        words.pop()
    return (words[0].start, words[-1].end) if words else None


def is_mixed_case(text: str) -> bool:
    """Whether the text has lower-case letters (else names cannot be told by capitals)."""
    return any(c.islower() for c in text)


def name_spans(text: str) -> Iterator[tuple[int, int, Source]]:
    """``(start, end, source)`` of every name the cues and shapes find."""
    words = _words(text)
    mixed = is_mixed_case(text)
    for source, recogniser in RECOGNISERS.items():
        for start, end in recogniser(text, words, mixed):
            yield start, end, source


def unvouched_words(text: str) -> Iterator[tuple[int, int]]:
    """Words that are neither clinical vocabulary, common English nor a short code: suspects
    a strict rule counts."""
    clinical = clinical_words()
    common = common_words()
    for word in _words(text):
        lower = word.lower
        if len(lower) < 3 or lower in clinical or lower in common:
            continue
        yield word.start, word.end
