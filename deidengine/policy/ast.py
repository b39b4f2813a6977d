"""The typed, immutable syntax tree of a policy file, exactly as written.

Nothing here is resolved: keywords are not yet tags, ``use`` names are not yet files. The
checker (:mod:`deidengine.policy.check`) resolves and validates; the compiler turns the result
into a :class:`~deidengine.policy.plan.Plan`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TypeAlias

from deidengine.policy.diagnostics import Span

# ---------------------------------------------------------------------------- selectors


@dataclass(frozen=True, slots=True)
class ElementRef:
    """One element named by tag, keyword, both, or a repeating-group mask like ``(60xx,3000)``."""

    text: str
    span: Span
    tag: int | None = None
    keyword: str | None = None
    mask: int | None = None  # bits that must equal ``tag`` (repeating groups only)


ANY_ITEM = -1


@dataclass(frozen=True, slots=True)
class PathStep:
    element: ElementRef
    item: int | None = None  # None: no index written; ANY_ITEM for ``[*]``


@dataclass(frozen=True, slots=True)
class ElementSelector:
    """A tag, keyword or mask; more than one step is a path into sequences."""

    steps: tuple[PathStep, ...]


@dataclass(frozen=True, slots=True)
class VRSelector:
    vrs: tuple[str, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class PrivateSelector:
    """``private`` alone (every private element) or a creator-relative element."""

    span: Span
    creator: str | None = None
    group: int | None = None
    offset: int | None = None


@dataclass(frozen=True, slots=True)
class PixelSelector:
    span: Span


@dataclass(frozen=True, slots=True)
class AnySelector:
    span: Span


Selector: TypeAlias = ElementSelector | VRSelector | PrivateSelector | PixelSelector | AnySelector

# ---------------------------------------------------------------------------- conditions


class Comparator(enum.Enum):
    EQ = "=="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="


@dataclass(frozen=True, slots=True)
class Operand:
    """A keyword, a tag, or a derived value such as ``age``."""

    text: str
    span: Span
    tag: int | None = None
    keyword: str | None = None
    derived: str | None = None


Value: TypeAlias = str | float


@dataclass(frozen=True, slots=True)
class Compare:
    operand: Operand
    comparator: Comparator
    value: Value


@dataclass(frozen=True, slots=True)
class Membership:
    operand: Operand
    values: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class Presence:
    operand: Operand
    present: bool


@dataclass(frozen=True, slots=True)
class Not:
    operand: Condition


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Condition, ...]


Condition: TypeAlias = Compare | Membership | Presence | Not | And | Or

# ---------------------------------------------------------------------------- actions


class ActionKind(enum.Enum):
    """What an action does; Table E.1-1a codes map onto the first six."""

    REMOVE = "remove"
    EMPTY = "empty"
    DUMMY = "dummy"
    KEEP = "keep"
    CLEAN = "clean"
    REMAP_UID = "remap-uid"
    COMPOUND = "compound"
    SHIFT_DATE = "shift-date"
    KEEP_YEAR = "keep-year"
    PSEUDONYM = "pseudonym"
    LOOKUP = "lookup"
    SET = "set"
    HASH = "hash"
    CAP_AGE = "cap-age"
    TRUNCATE_ZIP = "truncate-zip"
    SCRUB = "scrub"
    OCR_REDACT = "ocr-redact"
    REDACT_BOX = "redact-box"
    REJECT = "reject"
    KEEP_ULTRASOUND_REGIONS = "keep-ultrasound-regions"

    # Members are singletons compared by identity, so identity hashing is consistent with
    # equality; Enum's own hash is a Python call, paid at every look-up keyed by an action
    # (several per element of every file).
    __hash__ = object.__hash__


PIXEL_ACTIONS = frozenset(
    {ActionKind.OCR_REDACT, ActionKind.REDACT_BOX, ActionKind.KEEP_ULTRASOUND_REGIONS}
)

#: Actions that run the text stage on text values (deidengine.text) and take ``strict``.
TEXT_CLEANING_ACTIONS = frozenset({ActionKind.CLEAN, ActionKind.SCRUB})

#: Table E.1-1a's single-letter codes.
CODE_ACTIONS: dict[str, ActionKind] = {
    "X": ActionKind.REMOVE,
    "Z": ActionKind.EMPTY,
    "D": ActionKind.DUMMY,
    "K": ActionKind.KEEP,
    "C": ActionKind.CLEAN,
    "U": ActionKind.REMAP_UID,
}


@dataclass(frozen=True, slots=True)
class Action:
    """An action as written: ``code`` holds the Table E.1-1a code when one was used."""

    kind: ActionKind
    span: Span
    code: str | None = None
    text: str | None = None  # pseudonym template, set value, lookup table name, ocr mode
    numbers: tuple[int, ...] = ()  # shift range, hash length, age cap, redact box
    words: tuple[str, ...] = ()  # scrub categories
    strict: bool = False  # clean/scrub: remove a text value the text stage cannot vouch for

    @property
    def label(self) -> str:
        """The Table E.1-1 code when the rule used one, else the verb."""
        # _value_: the member's plain attribute (``value`` is a Python-level property).
        return self.code if self.code is not None else self.kind._value_


# ---------------------------------------------------------------------------- statements


@dataclass(frozen=True, slots=True)
class PolicyDecl:
    name: str
    title: str | None
    is_option: bool
    span: Span


@dataclass(frozen=True, slots=True)
class CodeDecl:
    codes: tuple[str, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class UseDecl:
    ref: str
    is_path: bool
    span: Span


@dataclass(frozen=True, slots=True)
class SectionDecl:
    label: str
    span: Span


@dataclass(frozen=True, slots=True)
class CleanTextDecl:
    """``clean-text strict|default``: the setting of every clean and scrub rule composed."""

    strict: bool
    span: Span


@dataclass(frozen=True, slots=True)
class Rule:
    selector: Selector
    action: Action
    span: Span
    condition: Condition | None = None
    condition_text: str | None = None
    section: str | None = None
    comment: str | None = None


Statement: TypeAlias = PolicyDecl | CodeDecl | UseDecl | SectionDecl | CleanTextDecl | Rule


@dataclass(frozen=True, slots=True)
class PolicyFile:
    """One parsed policy file: where it came from and its statements in order."""

    path: str  # as shown in diagnostics and ``explain`` sources
    statements: tuple[Statement, ...]

    @property
    def declaration(self) -> PolicyDecl | None:
        return next((s for s in self.statements if isinstance(s, PolicyDecl)), None)

    @property
    def rules(self) -> tuple[Rule, ...]:
        return tuple(s for s in self.statements if isinstance(s, Rule))

    @property
    def uses(self) -> tuple[UseDecl, ...]:
        return tuple(s for s in self.statements if isinstance(s, UseDecl))

    @property
    def clean_text_strict(self) -> bool | None:
        """The file's last ``clean-text`` setting: True for strict, None when it has none."""
        settings = [s for s in self.statements if isinstance(s, CleanTextDecl)]
        return settings[-1].strict if settings else None

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(c for s in self.statements if isinstance(s, CodeDecl) for c in s.codes)
