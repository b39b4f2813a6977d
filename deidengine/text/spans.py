"""The values the text stage produces: spans, where each came from, and a verdict."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Category(enum.Enum):
    """What kind of identifier a span is; the words findings and audits use."""

    NAME = "name"
    ID = "id"
    DATE = "date"
    PHONE = "phone"
    EMAIL = "email"
    SSN = "ssn"
    URL = "url"
    IP = "ip"
    ADDRESS = "address"
    INSTITUTION = "institution"


class Source(enum.Enum):
    """Which recogniser found a span."""

    HEADER = "header"  # the file's own identifying values (the deny-list)
    PATTERN = "pattern"  # the scrubber's patterns: dates, phones, e-mail, labelled IDs, ...
    CUE = "cue"  # a name next to a context cue (Dr, per, wife, ordered by, ...)
    NAME_SHAPE = "name-shape"  # LAST^FIRST, "Last, First", a given name then a family name
    LEXICON = "lexicon"  # an unknown word in the name lexicon (verification only)
    ID_SHAPE = "id-shape"  # letters with digits, long digit runs, order numbers
    NER = "ner"  # spaCy's named-entity recogniser
    INSTITUTION = "institution"  # "... Hospital", "works at ..."


@dataclass(frozen=True, slots=True)
class TextSpan:
    """``text[start:end]`` is an identifier of ``category``; ``sources`` found it."""

    start: int
    end: int
    category: Category
    sources: frozenset[Source]


class Verdict(enum.Enum):
    """Whether the stage can vouch for what it leaves of a value."""

    ANALYSED = "analysed"
    UNANALYSABLE_SCRIPT = "unanalysable-script"  # letters of a script the stage cannot read
    TOO_MANY_SUSPECTS = "too-many-suspects"  # more unknown words than a strict rule accepts


@dataclass(frozen=True, slots=True)
class TextFindings:
    """The identifier spans of one value, the unvouched words left, and the verdict."""

    spans: tuple[TextSpan, ...]
    suspects: int
    verdict: Verdict

    def __repr__(self) -> str:
        # Positions and kinds only: a finding must never carry the text it was found in.
        kinds = ",".join(sorted({span.category.value for span in self.spans}))
        return f"TextFindings({len(self.spans)} spans [{kinds}], {self.verdict.value})"
