"""Policy conformance: does an output hold only what its plan lets it hold?

The checker walks the OUTPUT's element table (the bytes to be written, as the lean reader laid
them out: :class:`~deidengine.verify.table_view.TableView`) and, for every element it finds, asks
:func:`~deidengine.dicom.decision.decide` (the engine's own answer: the plan's rule, else the
default cascade; compound codes resolved by the attribute's Type in the file's IOD, ``C`` by the
VR) what happens there; conditions read the original's table when it is given, else the
output's. Values are decoded only where a check reads them. It then checks what can be checked
from the result:

- nothing the plan removes (``X``) is present, nothing it empties (``Z``) holds a value;
- every private element was kept by a rule (``private -> X`` leaves none; ``C`` removes);
- every UID was remapped: with the original and the secret exactly (``remap_uid`` of the
  original in the same place), without them by form (``2.25.`` or a registry UID);
- every date agrees with its action: ``keep-year`` leaves ``YYYY0101`` / ``YYYY`` / no time,
  ``shift-date`` (and ``C`` on a date) moves the original by the patient's keyed offset;
- every pseudonym and keyed hash is the keyed value of the original (with the original and
  the secret: ``deid verify`` lists what it could not recompute without them).

The checker is independent of how the output was made, so it verifies other tools' outputs
too. A :class:`Finding` names the file, the element path and a stable code, never a value.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Final, NamedTuple

from deidengine.core.table import ElementTable
from deidengine.dicom.apply import DEFAULT_SHIFT
from deidengine.dicom.conditions import ConditionSnapshot
from deidengine.dicom.dates import UnparseableDateError, keep_year, patient_date_offset, shift_date
from deidengine.dicom.decision import TOP as TOP_SCOPE
from deidengine.dicom.decision import FileFacts, Scope, decide
from deidengine.dicom.elements import ElementPath, element_location, element_text
from deidengine.dicom.keys import ProjectSecret
from deidengine.dicom.pseudonyms import keyed_hash, pseudonym
from deidengine.dicom.uids import UUID_DERIVED_ROOT, is_registry_uid, remap_uid
from deidengine.dicom.vr import maximum_length
from deidengine.policy.ast import ActionKind
from deidengine.policy.plan import Plan, PlannedRule
from deidengine.standard.dictionary import (
    NOT_PRIVATE_ODD_GROUPS,
    is_private_group,
    is_unknown_public,
)
from deidengine.standard.vr_classes import DATE_TIME_VRS, DATE_VRS, PIXEL_DATA_TAGS
from deidengine.verify.table_view import (
    MEMO_TABLE_ROWS,
    META,
    TOP,
    TableView,
    Verifiable,
    Visit,
    condition_snapshot,
    is_empty_value,
    make_room,
    patient_key,
    view_of,
)

# The engine's own element paths (``(0040,0275)[0].(0010,0010)``), so a leak finding and a
# conformance finding at one element read alike.

__all__ = [
    "PROVENANCE_TAGS",
    "Decision",
    "Finding",
    "FindingCode",
    "Severity",
    "check_conformance",
    "finding",
    "plan_decisions",
]


class Severity(enum.Enum):
    """An error fails verification; a warning is reported and does not."""

    ERROR = "error"
    WARNING = "warning"


class FindingCode(enum.Enum):
    """Every finding the verifier reports: ``V<stage><n> <slug>``, stable across releases."""

    # conformance
    SHOULD_BE_REMOVED = "V101 element-should-be-removed"
    SHOULD_BE_EMPTY = "V102 element-should-be-empty"
    PRIVATE_NOT_ALLOWED = "V103 private-element-not-allowed"
    UID_NOT_REMAPPED = "V104 uid-not-remapped"
    UID_REMAP_MISMATCH = "V105 uid-remap-mismatch"
    DATE_NOT_YEAR_ONLY = "V106 date-not-year-only"
    DATE_SHIFT_MISMATCH = "V107 date-shift-mismatch"
    KEYED_VALUE_MISMATCH = "V108 keyed-value-mismatch"
    KEYED_VALUES_UNCHECKED = "V109 keyed-values-unchecked"
    # leaks
    IDENTIFYING_VALUE = "V201 identifying-value-present"
    IDENTIFYING_PIXEL_TEXT = "V202 identifying-text-in-pixels"
    OCR_UNAVAILABLE = "V203 ocr-unavailable"
    OCR_FAILED = "V204 ocr-failed"
    IDENTIFYING_PATH = "V205 identifying-value-in-path"
    PREAMBLE_NOT_EMPTY = "V206 preamble-not-empty"
    # provenance
    IDENTITY_NOT_REMOVED = "V301 patient-identity-removed-missing"
    METHOD_MISSING = "V302 deidentification-method-missing"
    CODE_NOT_CID_7050 = "V303 method-code-not-cid-7050"
    CODE_MISSING = "V304 method-code-missing"
    CODE_UNEXPECTED = "V305 method-code-unexpected"
    TEMPORAL_INVALID = "V306 longitudinal-temporal-invalid"
    TEMPORAL_INCONSISTENT = "V307 longitudinal-temporal-inconsistent"
    BURNED_IN_MISSING = "V308 burned-in-annotation-missing"
    PRIVATE_CHARACTERISTICS_MISSING = "V309 private-characteristics-missing"
    IDENTITY_OVERCLAIMED = "V310 patient-identity-removed-overclaimed"
    METHOD_OVERCLAIMED = "V311 deidentification-method-overclaimed"
    # IOD validity
    IOD_NEW_ERROR = "V401 iod-new-error"
    IOD_ERROR = "V402 iod-error"
    VALIDATOR_MISSING = "V403 validator-missing"
    VALIDATOR_FAILED = "V404 validator-failed"
    # the tree
    NOT_DICOM = "V501 not-dicom"
    ORIGINAL_NOT_FOUND = "V502 original-not-found"
    NO_FILES = "V503 no-files"


#: Codes that do not fail verification; every other code is an error.
WARNING_CODES: Final = frozenset(
    {
        FindingCode.OCR_UNAVAILABLE,
        FindingCode.KEYED_VALUES_UNCHECKED,  # says what could not be checked; proves nothing
        FindingCode.PRIVATE_CHARACTERISTICS_MISSING,  # warn-level until the engine writes it
        FindingCode.IOD_ERROR,  # no input to compare with: the error may be the input's own
        FindingCode.VALIDATOR_MISSING,
        FindingCode.VALIDATOR_FAILED,
    }
)


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem in one output file. ``message`` names tags and codes, never a value."""

    file: str
    location: str
    code: str
    message: str
    severity: Severity = Severity.ERROR


def finding(code: FindingCode, file: str, location: str, message: str) -> Finding:
    """A finding with the severity its code carries."""
    severity = Severity.WARNING if code in WARNING_CODES else Severity.ERROR
    return Finding(file, location, code.value, message, severity)


# ---------------------------------------------------------------------------- decisions
#: Written after the header stage (provenance, and Burned In Annotation by the pixel stage):
#: the plan does not govern them, :mod:`deidengine.verify.provenance_check` does.
PROVENANCE_TAGS: Final = frozenset(
    {0x00120062, 0x00120063, 0x00120064, 0x00280301, 0x00280302, 0x00280303, 0x00080300}
)
#: File meta UIDs that name the writing software (Implementation Class UID) or the vendor of
#: private meta information, not the patient or the study: every tool writes its own, so they
#: are outside the plan's reach and no remap is expected.
WRITER_META_TAGS: Final = frozenset({0x00020012, 0x00020100})
#: What the verifier does not hold to the plan at the top level: the pixels (the pixel stage's
#: job), the provenance the stamp writes and the writer's own meta.
UNVERIFIED_TOP_LEVEL_TAGS: Final = PIXEL_DATA_TAGS | PROVENANCE_TAGS | WRITER_META_TAGS
#: What keep-year leaves, per VR (for messages).
YEAR_ONLY_FORMS: Final = MappingProxyType({"DA": "YYYY0101", "DT": "YYYY", "TM": "empty"})


class Decision(NamedTuple):
    """What the plan makes of one element found in the output.

    ``kind`` is resolved for this file: never ``compound`` or ``clean``
    (:attr:`deidengine.dicom.decision.Decision.verified_kind`). ``defaulted`` is true when no
    rule selects the element and no enclosing scope acts on it
    (:attr:`deidengine.dicom.decision.Decision.defaulted`). ``creator`` marks a private creator
    element (gggg,0010-00FF). ``row`` is the element's row in ``view``'s table. A named
    tuple: one is made per element of every verified file.
    """

    path: ElementPath
    tag: int
    row: int
    rule: PlannedRule | None
    kind: ActionKind
    defaulted: bool
    creator: bool
    vr: str
    view: TableView
    #: The checks that can find something here (:func:`_checks_for` of the decision), as
    #: the walk found them; ``None``: found by :func:`check_conformance` when it reads it.
    checks: tuple[Check, ...] | None = None

    @property
    def location(self) -> str:
        return element_location(self.path, self.tag)

    @property
    def value(self) -> object:
        """The element's value, as pydicom converts it."""
        return self.view.value(self.row)

    def text(self) -> str:
        """The value as text (:meth:`~deidengine.verify.table_view.TableView.text`), unpadded."""
        return self.view.text(self.row).strip(" \x00")

    @property
    def explicitly_kept(self) -> bool:
        """A rule says ``K``: the element may hold what the input held."""
        return self.rule is not None and self.rule.action.kind is ActionKind.KEEP


def _private_key(
    view: TableView,
    dataset: int,
    tag: int,
    creators: dict[int, str | None],
    read: list[tuple[int, int, str | None]] | None = None,
) -> tuple[str, int, int] | None:
    """The element's (creator, group, element byte), read from its data set's creator
    element, as the header stage keys private rules; ``creators`` keeps each creator read,
    and ``read`` gets ``(data set, creator tag, creator)`` of each."""
    group, element = tag >> 16, tag & 0xFFFF
    if element < 0x1000:
        return None
    creator_tag = (group << 16) | (element >> 8)
    if creator_tag in creators:
        creator = creators[creator_tag]
    else:
        creator = creators[creator_tag] = _creator(view, dataset, creator_tag)
        if read is not None:
            read.append((dataset, creator_tag, creator))
    return None if creator is None else (creator, group, element & 0xFF)


def _creator(view: TableView, dataset: int, creator_tag: int) -> str | None:
    """The private creator at ``creator_tag`` of ``dataset``, unpadded; ``None`` when absent
    or empty."""
    index = view.get(dataset, creator_tag)
    value = view.value(index) if index is not None else None
    return None if value in (None, "") else element_text(value).strip(" \x00")


#: One element's answer, as the walk keeps it: (rule, verified kind, defaulted, the scope its
#: items are walked in, the checks that can find something there).
_Answer = tuple[PlannedRule | None, ActionKind, bool, Scope | None, tuple["Check", ...]]
#: The answers of a plan for one file's facts: by the tag chain and scope of the data sets
#: they are in, by (tag, VR, private key).
_Answers = dict[tuple[tuple[int, ...], Scope], dict[tuple[object, ...], _Answer]]
#: What the walk holds of a data set it decides in (see :func:`_walk`).
_DataSetContext = tuple[
    tuple[int, ...],
    Scope,
    dict[tuple[object, ...], _Answer],
    Mapping[int, object],
    frozenset[int],
    dict[int, str | None],
]
#: Per plan (by id, the plan held so that no other can take its id): per (SOP Class, the
#: condition values its rules read), the answers found so far. Each level is cleared when
#: full: a worker sees a few plans, and files of the same facts mostly one after another (a
#: series; a plan whose conditions read dates has new facts with every study).
_ANSWERS: dict[int, tuple[Plan, dict[tuple[object, ...], _Answers]]] = {}
PLANS_LIMIT: Final = 8
FACTS_LIMIT: Final = 32
ANSWERS_LIMIT: Final = 1 << 12


def _facts_key(facts: FileFacts) -> tuple[object, ...]:
    """What the answers read of a file besides its elements and the plan (see
    :func:`_answers_for`): its SOP Class and the condition values."""
    snapshot = facts.snapshot
    conditions = (
        tuple(snapshot.values.get(tag) for tag in sorted(facts.plan.condition_tags)),
        tuple(sorted(snapshot.derived.items())),
    )
    return (facts.sop_class, conditions)


def _answers_for(facts: FileFacts) -> _Answers:
    """The answers already found for files with these facts.

    :func:`~deidengine.dicom.decision.decide` reads, besides the element's tag, VR, privateness,
    private key, scope and tag chain, only the plan, the file's SOP Class (a compound code's
    resolution) and the condition values (which rule applies); the element's item numbers only
    for a tag a path rule names (the walk does not keep those answers). So one answer stands
    for every element alike, in this file and in every file of the same facts: an SR content
    tree asks the same few questions hundreds of times, a series the same ones file after file.
    """
    plan = facts.plan
    held = _ANSWERS.get(id(plan))
    if held is None or held[0] is not plan:
        if len(_ANSWERS) >= PLANS_LIMIT:
            _ANSWERS.clear()
        held = _ANSWERS[id(plan)] = (plan, {})
    by_facts = held[1]
    key = _facts_key(facts)
    answers = by_facts.get(key)
    if answers is None:
        if len(by_facts) >= FACTS_LIMIT:
            by_facts.clear()
        answers = by_facts[key] = {}
    elif len(answers) >= ANSWERS_LIMIT:
        answers.clear()
    return answers


def _walk(
    view: TableView,
    root: int,
    facts: FileFacts,
    decisions: list[Decision],
    answers: _Answers,
    creators_at: dict[ElementPath, set[int]] | None = None,
    read: list[tuple[int, int, str | None]] | None = None,
) -> None:
    """Append the decision of every element of ``root`` (the top level or the File Meta
    Information) and of the items it descends into to ``decisions``, depth first: one loop
    over the view's walk (:meth:`TableView.walk`, the list the leak scan reads too), the
    elements of an item no decision descends into passed over.

    With ``creators_at`` only the decisions some check reads are appended (those of elements
    every check passes at once are not made), and the paths of the data sets holding a private
    creator are put in ``creators_at`` with those data sets (its check reads their other
    elements); ``read`` gets each private creator the walk read (:func:`_private_key`)."""
    every = creators_at is None
    by_path_tag = facts.plan.by_path_tag
    items = view.items
    top_here = answers.get(((), TOP_SCOPE))
    if top_here is None:
        top_here = answers[((), TOP_SCOPE)] = {}
    # Per data set walked: its tag chain, scope, the answers of its elements (shared by the
    # data sets reached by the same sequence tags in the same scope), the tags a path rule
    # names there, the tags not held to the plan there, the private creators read in it.
    contexts: dict[int, _DataSetContext] = {
        root: ((), TOP_SCOPE, top_here, {}, UNVERIFIED_TOP_LEVEL_TAGS, {})
    }
    current: int | None = None
    context: _DataSetContext | None = None
    tag_path: tuple[int, ...] = ()
    scope = TOP_SCOPE
    here = top_here
    by_path: Mapping[int, object] = {}
    skipped: frozenset[int] = UNVERIFIED_TOP_LEVEL_TAGS
    creators: dict[int, str | None] = {}
    for path, dataset, index, tag, vr in view.walk(root):
        if dataset != current:
            current = dataset
            context = contexts.get(dataset)
            if context is not None:
                tag_path, scope, here, by_path, skipped, creators = context
        if context is None:
            continue  # an item of a sequence no decision descends into
        number = tag & 0xFFFF
        if number == 0x0000 or tag in skipped:
            continue
        group = tag >> 16
        # is_private_group, inlined: the walk asks it of every element.
        private = group & 1 == 1 and group not in NOT_PRIVATE_ODD_GROUPS
        if private and 0x0010 <= number <= 0x00FF:
            decisions.append(
                Decision(
                    path,
                    tag,
                    index,
                    None,
                    ActionKind.KEEP,
                    False,
                    True,
                    vr,
                    view,
                    _checks_for(ActionKind.KEEP, vr == "UI", True),
                )
            )
            if creators_at is not None:
                creators_at.setdefault(path, set()).add(dataset)
            continue
        key = _private_key(view, dataset, tag, creators, read) if private else None
        asked = (tag, vr, key)
        answer = None if tag in by_path else here.get(asked)
        if answer is None:
            decided = decide(facts, tag, vr, path, (*tag_path, tag), scope, private, key)
            kind = decided.verified_kind
            answer = (
                decided.rule,
                kind,
                decided.defaulted,
                decided.items,
                _checks_for(kind, vr == "UI", private),
            )
            if tag not in by_path:
                if len(here) >= ANSWERS_LIMIT:
                    here.clear()
                here[asked] = answer
        rule, kind, defaulted, inner, checks = answer
        if every or checks:
            decisions.append(
                Decision(path, tag, index, rule, kind, defaulted, False, vr, view, checks)
            )
        if inner is not None:
            inner_items = items.get(index)
            if inner_items:
                own_path = (*tag_path, tag)
                inner_here = answers.get((own_path, inner))
                if inner_here is None:
                    inner_here = answers[(own_path, inner)] = {}
                for item in inner_items:
                    contexts[item] = (
                        own_path,
                        inner,
                        inner_here,
                        by_path_tag,
                        WRITER_META_TAGS,
                        {},
                    )


def _facts(
    output: TableView,
    plan: Plan,
    conditions_from: TableView | None,
    snapshot: ConditionSnapshot | None,
) -> FileFacts:
    """What the answers read besides the element (see :func:`plan_decisions`)."""
    source = conditions_from if conditions_from is not None else output
    sop_class = _value_at(source, SOP_CLASS_UID) or _value_at(output, SOP_CLASS_UID)
    if snapshot is None:
        snapshot = condition_snapshot(source, plan.condition_tags)
    return FileFacts.of(plan, snapshot, str(sop_class).strip() if sop_class else None)


def plan_decisions(
    output: Verifiable,
    plan: Plan,
    conditions_from: Verifiable | None = None,
    snapshot: ConditionSnapshot | None = None,
) -> list[Decision]:
    """The plan's decision for every element of ``output`` (file meta first), depth first.

    Rule conditions are evaluated on ``snapshot`` when given (the pipeline's, taken from the
    input before any stage ran), else on ``conditions_from`` (the original, when known: that
    is what the engine evaluated them on), else on the output itself.
    """
    output = view_of(output)
    source = view_of(conditions_from, lazy=True) if conditions_from is not None else None
    return _walked(output, plan, source, snapshot, None)


def _walked(
    output: TableView,
    plan: Plan,
    conditions_from: TableView | None,
    snapshot: ConditionSnapshot | None,
    creators_at: dict[ElementPath, set[int]] | None,
    facts: FileFacts | None = None,
    read: list[tuple[int, int, str | None]] | None = None,
) -> list[Decision]:
    """The File Meta Information's decisions, then the data set's (see :func:`_walk`)."""
    if facts is None:
        facts = _facts(output, plan, conditions_from, snapshot)
    answers = _answers_for(facts)
    decisions: list[Decision] = []
    _walk(output, META, facts, decisions, answers, creators_at, read)
    _walk(output, TOP, facts, decisions, answers, creators_at, read)
    return decisions


#: A decision without its view (:class:`Decision`'s other fields, in order).
_Decided = tuple[
    ElementPath,
    int,
    int,
    PlannedRule | None,
    ActionKind,
    bool,
    bool,
    str,
    "tuple[Check, ...] | None",
]


@dataclass(frozen=True, slots=True)
class _Shape:
    """What :func:`_checked_decisions` found for one output: its decisions and siblings, and
    everything they were found from besides the plan and the facts: the walks of the File
    Meta Information and of the data set (paths, rows, tags, VRs) and the private creators
    the walk read."""

    plan: Plan
    visits: tuple[list[Visit], list[Visit]]
    creators: tuple[tuple[int, int, str | None], ...]
    decided: tuple[_Decided, ...]
    siblings: Mapping[ElementPath, frozenset[int]]

    def fits(self, plan: Plan, output: TableView, visits: tuple[list[Visit], list[Visit]]) -> bool:
        """Whether ``output``'s decisions are these: the same plan, the same walks (compared
        in C) and the same private creators where the walk read them."""
        return (
            self.plan is plan
            and self.visits == visits
            and all(
                _creator(output, dataset, tag) == creator for dataset, tag, creator in self.creators
            )
        )


#: The last shapes met, by the facts (:func:`_facts_key`), the plan and the lengths of the
#: walks: the files of a series (and an SR template's reports) are laid out alike file after
#: file, and their decisions are then one list compare away. Cleared when full.
_SHAPES: dict[tuple[object, ...], _Shape] = {}
SHAPES_LIMIT: Final = 64


def _visits_held(shape: _Shape) -> int:
    """The visits a remembered shape holds (bounded as the layouts' rows are)."""
    return len(shape.visits[0]) + len(shape.visits[1])


def _checked_decisions(
    output: TableView,
    plan: Plan,
    conditions_from: TableView | None,
    snapshot: ConditionSnapshot | None,
) -> tuple[list[Decision], Mapping[ElementPath, frozenset[int]]]:
    """:func:`plan_decisions`, only those some check reads (the others would pass every check
    at once), in the same order; and the element tags of each data set that holds a private
    creator, by path (what :func:`_siblings` finds there from every decision)."""
    facts = _facts(output, plan, conditions_from, snapshot)
    visits = (output.visits(META), output.visits(TOP))
    key = (id(plan), _facts_key(facts), len(visits[0]), len(visits[1]))
    shape = _SHAPES.get(key)
    if shape is not None and shape.fits(plan, output, visits):
        return [Decision(*decided[:8], output, decided[8]) for decided in shape.decided], (
            shape.siblings
        )
    creators_at: dict[ElementPath, set[int]] = {}
    read: list[tuple[int, int, str | None]] = []
    decisions = _walked(output, plan, conditions_from, snapshot, creators_at, facts, read)
    siblings: dict[ElementPath, frozenset[int]] = {}
    for path, held in creators_at.items():
        # An item is the one data set at its path; the top level's path is the File Meta
        # Information's too.
        datasets = (META, TOP) if not path else held
        skipped = UNVERIFIED_TOP_LEVEL_TAGS if not path else WRITER_META_TAGS
        siblings[path] = frozenset(
            tag
            for dataset in datasets
            for tag in output.elements(dataset)
            if tag & 0xFFFF != 0x0000
            and tag not in skipped
            and not (is_private_group(tag >> 16) and 0x0010 <= tag & 0xFFFF <= 0x00FF)
        )
    walked = len(visits[0]) + len(visits[1])
    if walked > MEMO_TABLE_ROWS:
        return decisions, siblings  # not remembered (bounded memory, as the layouts)
    make_room(_SHAPES, walked, _visits_held, SHAPES_LIMIT)
    _SHAPES[key] = _Shape(
        plan,
        visits,
        tuple(read),
        tuple((*decision[:8], decision.checks) for decision in decisions),
        MappingProxyType(siblings),
    )
    return decisions, siblings


SOP_CLASS_UID: Final = 0x00080016


def _value_at(view: TableView, tag: int) -> object:
    """The top-level element's value, ``None`` when there is none."""
    index = view.get(TOP, tag)
    return None if index is None else view.value(index)


# ---------------------------------------------------------------------------- checks
def _original_text(context: _Context, path: ElementPath, tag: int) -> str | None:
    """The unpadded text of the element at the same place in the original (same sequence
    items, same tag), or ``None`` when there is none."""
    original = context.original
    if original is None:
        return None
    dataset = META if tag >> 16 == 0x0002 and not path else _original_item(context, path)
    if dataset is None:
        return None
    index = original.get(dataset, tag)
    if index is None:
        return None
    return original.text(index).strip(" \x00")


#: Not looked up yet (``None`` is an answer: no such data set).
_UNKNOWN: Final = -3


def _original_item(context: _Context, path: ElementPath) -> int | None:
    """The original's data set at ``path``, as :meth:`TableView.item_at` finds it, from its
    parent's (found once per path: the items of an SR's content tree share their ancestors)."""
    items = context.items
    found = items.get(path, _UNKNOWN)
    if found != _UNKNOWN:
        return found
    found = TOP
    if path:
        original = context.original
        parent = _original_item(context, path[:-1])
        found = None
        if parent is not None and original is not None:
            tag, number = path[-1]
            index = original.get(parent, tag)
            inner = original.sequence_items(index) if index is not None else []
            found = inner[number] if number < len(inner) else None
    items[path] = found
    return found


@dataclass(frozen=True, slots=True)
class _Context:
    file: str
    secret: ProjectSecret | None
    original: TableView | None
    siblings: Mapping[ElementPath, frozenset[int]]
    #: The original's data sets by path, as :meth:`TableView.item_at` finds them (a cache).
    items: dict[ElementPath, int | None] = field(default_factory=dict)
    #: The patient key, once read (a cache: only a shifted date's check reads it).
    _patient: list[str | None] = field(default_factory=list)

    @property
    def patient(self) -> str | None:
        """The original's patient identity for keyed date offsets (:func:`patient_key`)."""
        if not self._patient:
            self._patient.append(patient_key(self.original) if self.original is not None else None)
        return self._patient[0]


Check = Callable[[Decision, "_Context"], Iterator[Finding]]


def _removed(decision: Decision, context: _Context) -> Iterator[Finding]:
    # A private element's removal is reported by _private, with its own code.
    if decision.kind is ActionKind.REMOVE and not is_private_group(decision.tag >> 16):
        label = decision.rule.action.label if decision.rule else "C"
        if decision.rule is None and is_unknown_public(decision.tag):
            reason = "not in the data dictionary, and no rule keeps it"
        else:
            source = decision.rule.source if decision.rule else "an enclosing clean"
            reason = f"{label} at {source}"
        yield finding(
            FindingCode.SHOULD_BE_REMOVED,
            context.file,
            decision.location,
            f"present, but the plan removes it ({reason})",
        )


def _emptied(decision: Decision, context: _Context) -> Iterator[Finding]:
    # No bytes at all (how the engine writes Z) is empty without converting the element.
    if decision.kind is not ActionKind.EMPTY:
        return
    view = decision.view
    if decision.vr == "SQ":
        empty = not view.items.get(decision.row)  # Z on a sequence leaves no item at all
    else:
        empty = view.table.rows[decision.row].length == 0 or is_empty_value(decision.value)
    if not empty:
        source = decision.rule.source if decision.rule else "?"
        yield finding(
            FindingCode.SHOULD_BE_EMPTY,
            context.file,
            decision.location,
            f"holds a value, but the plan empties it (Z at {source})",
        )


def _private(decision: Decision, context: _Context) -> Iterator[Finding]:
    if not is_private_group(decision.tag >> 16):
        return
    if decision.creator:
        block = decision.tag & 0xFF
        tags = context.siblings.get(decision.path, frozenset())
        if not any(t >> 16 == decision.tag >> 16 and (t >> 8) & 0xFF == block for t in tags):
            yield finding(
                FindingCode.PRIVATE_NOT_ALLOWED,
                context.file,
                decision.location,
                "a private creator whose block holds no element",
            )
        return
    if decision.rule is None:
        yield finding(
            FindingCode.PRIVATE_NOT_ALLOWED,
            context.file,
            decision.location,
            "a private element no rule of the plan keeps",
        )
    elif decision.kind is ActionKind.REMOVE:
        yield finding(
            FindingCode.PRIVATE_NOT_ALLOWED,
            context.file,
            decision.location,
            f"a private element the plan removes ({decision.rule.action.label} at "
            f"{decision.rule.source})",
        )


def _uid(decision: Decision, context: _Context) -> Iterator[Finding]:
    problem = _uid_problem(decision, context)
    if problem is not None:
        yield finding(problem[0], context.file, decision.location, problem[1])


#: What a UID check found: its code and message.
_Problem = tuple[FindingCode, str]
UID_KEPT: Final = "the original UID is still here"
UID_MISMATCH: Final = "not the keyed replacement of the original UID (another secret or tool?)"
UID_FORM: Final = "a UID neither under 2.25 nor a registry UID, and the plan does not keep it"


def _uid_problem(decision: Decision, context: _Context) -> _Problem | None:
    """What :func:`_uid` finds, as a value: the check the walk hands most decisions (every UID
    of an SR's content tree), so :func:`check_conformance` calls it without a generator."""
    if decision.vr != "UI" or not (decision.kind is ActionKind.REMAP_UID or decision.defaulted):
        return None
    value = decision.view.text(decision.row).strip(" \x00")  # decision.text()
    if not value:
        return None
    # The File Meta Information is rebuilt, not carried over (PS3.15 E.1): its Media Storage
    # SOP Instance UID follows the dataset's, and the transfer syntax may change with the
    # pixels. So group 0002 is checked by form only.
    secret = context.secret
    if context.original is not None and secret is not None and decision.tag >> 16 != 0x0002:
        before = _original_text(context, decision.path, decision.tag)
        if before is not None:
            if value == remap_uid(secret, before):
                return None
            if value == before:
                return FindingCode.UID_NOT_REMAPPED, UID_KEPT
            return FindingCode.UID_REMAP_MISMATCH, UID_MISMATCH
    for part in value.split("\\"):
        bare = part.strip(" \x00")
        if bare and not bare.startswith(UUID_DERIVED_ROOT) and not is_registry_uid(bare):
            return FindingCode.UID_NOT_REMAPPED, UID_FORM
    return None


def _keep_year(decision: Decision, context: _Context) -> Iterator[Finding]:
    vr = decision.vr
    if decision.kind is not ActionKind.KEEP_YEAR or vr not in DATE_TIME_VRS:
        return
    value = decision.text()
    if not value:
        return
    try:
        year_only = keep_year(value, vr) == value
    except UnparseableDateError:
        year_only = False
    if not year_only:
        yield finding(
            FindingCode.DATE_NOT_YEAR_ONLY,
            context.file,
            decision.location,
            f"keep-year leaves only the year ({vr}: {YEAR_ONLY_FORMS[vr]})",
        )


def _shifted(decision: Decision, context: _Context) -> Iterator[Finding]:
    vr = decision.vr
    if (
        decision.kind is not ActionKind.SHIFT_DATE
        or vr not in DATE_VRS
        or context.original is None
        or context.secret is None
        or context.patient is None
    ):
        return  # without the original and the secret a shift cannot be recomputed
    before = _original_text(context, decision.path, decision.tag)
    if before is None:
        return
    numbers = decision.rule.action.numbers if decision.rule else ()
    low, high = numbers if len(numbers) == 2 else DEFAULT_SHIFT
    offset = patient_date_offset(context.secret, context.patient, low, high)
    try:
        # The engine strips padding itself; compare what it would have written.
        expected = shift_date(before, vr, offset).strip(" \x00") if before else ""
    except UnparseableDateError:
        expected = ""  # the engine empties a date it cannot parse
    if decision.text() != expected:
        yield finding(
            FindingCode.DATE_SHIFT_MISMATCH,
            context.file,
            decision.location,
            f"not the original moved by the patient's keyed offset ({low}..{high} days)",
        )


def _expected_keyed(decision: Decision, secret: ProjectSecret, before: str) -> str:
    """What the engine writes for ``before`` under a pseudonym or hash rule (apply.py's
    ``_pseudonym`` and ``_hash``, from the same functions)."""
    action = decision.rule.action if decision.rule else None
    if decision.kind is ActionKind.PSEUDONYM:
        template = (action.text if action else None) or "{hmac:10}"
        return pseudonym(secret, before, template, decision.vr)
    length = action.numbers[0] if action and action.numbers else 16
    text = keyed_hash(secret, before, length)
    limit = maximum_length(decision.vr)
    return text if limit is None else text[:limit]


def _keyed(decision: Decision, context: _Context) -> Iterator[Finding]:
    """A pseudonym or keyed hash is recomputed from the original with the secret: a value put
    there by hand, by another tool or with another secret differs."""
    if (
        decision.kind not in (ActionKind.PSEUDONYM, ActionKind.HASH)
        or context.original is None
        or context.secret is None
    ):
        return
    before = _original_text(context, decision.path, decision.tag)
    value = decision.text()
    if not before:
        expected = ""  # the engine leaves an empty value as it is
    else:
        try:
            expected = _expected_keyed(decision, context.secret, before)
        except ValueError:
            return  # a template the VR cannot hold: the engine would not have written it
    if value != expected:
        label = decision.rule.action.label if decision.rule else decision.kind.value
        yield finding(
            FindingCode.KEYED_VALUE_MISMATCH,
            context.file,
            decision.location,
            f"not the keyed {label} of the original value (another value, tool or secret?)",
        )


#: Every check, in report order.
CHECKS: Final = (_removed, _emptied, _private, _uid, _keep_year, _shifted, _keyed)
#: The checks that can find something, by what a decision is: a check not listed for its
#: kind returns at once (each check's first test says the same), so it is not called.
KIND_CHECKS: Final[Mapping[ActionKind, frozenset[Check]]] = MappingProxyType(
    {
        ActionKind.REMOVE: frozenset({_removed}),
        ActionKind.EMPTY: frozenset({_emptied}),
        ActionKind.KEEP_YEAR: frozenset({_keep_year}),
        ActionKind.SHIFT_DATE: frozenset({_shifted}),
        ActionKind.PSEUDONYM: frozenset({_keyed}),
        ActionKind.HASH: frozenset({_keyed}),
    }
)


#: The checks of a UID no other check reads (see :func:`_uid_problem`).
UID_CHECKS: Final[tuple[Check, ...]] = (_uid,)


@lru_cache(maxsize=256)
def _checks_for(kind: ActionKind, uid: bool, private: bool) -> tuple[Check, ...]:
    wanted = set(KIND_CHECKS.get(kind, ()))
    if uid:
        wanted.add(_uid)
    if private:
        wanted.add(_private)
    return tuple(check for check in CHECKS if check in wanted)


def _siblings(decisions: list[Decision]) -> Mapping[ElementPath, frozenset[int]]:
    """Element tags present per dataset (by path), to tell empty private blocks."""
    found: dict[ElementPath, set[int]] = {}
    for decision in decisions:
        if not decision.creator:
            found.setdefault(decision.path, set()).add(decision.tag)
    return {path: frozenset(tags) for path, tags in found.items()}


#: The nested decisions from which the input is laid out whole for the checks (where inputs
#: of its shape are met: :meth:`TableView.remembered`), not looked in item by item.
NESTED_LOOKUPS: Final = 16


def _nested(decisions: list[Decision]) -> int:
    """How many decisions are in an item (their checks look in the input's item there)."""
    return sum(1 for decision in decisions if decision.path)


def check_conformance(
    output: Verifiable,
    plan: Plan,
    *,
    secret: ProjectSecret | None = None,
    original: Verifiable | None = None,
    file: str = "",
    decisions: list[Decision] | None = None,
    snapshot: ConditionSnapshot | None = None,
) -> tuple[Finding, ...]:
    """Every way ``output`` (the output file's element table) departs from ``plan``; empty
    when it conforms.

    With ``original`` (the element table of the input the output was made from) and
    ``secret``, UIDs and shifted dates are recomputed exactly; without them UIDs are checked
    by form and shifts are skipped. ``snapshot`` is the input's condition snapshot when the
    caller holds it (else it is taken from ``original``, else from ``output``). ``file`` is
    put in every finding. ``decisions`` may pass :func:`plan_decisions` already computed for
    this output (the tree verifier shares one walk between checks).
    """
    output_view = view_of(output)
    # The input is looked up at a few places only: laid out where looked.
    original_view = view_of(original, lazy=True) if original is not None else None
    if decisions is None:
        decisions, siblings = _checked_decisions(output_view, plan, original_view, snapshot)
    else:
        siblings = _siblings(decisions)
    if isinstance(original, ElementTable) and _nested(decisions) >= NESTED_LOOKUPS:
        # The checks look in the input's items at as many places: laid out whole where the
        # inputs are alike, each item's rows are not searched again at each place.
        original_view = TableView.remembered(original) or original_view
    context = _Context(
        file=file,
        secret=secret,
        original=original_view,
        siblings=siblings,
    )
    found: list[Finding] = []
    for decision in decisions:
        checks = decision.checks
        if checks is None:
            checks = _checks_for(
                decision.kind, decision.vr == "UI", is_private_group(decision.tag >> 16)
            )
        if checks == UID_CHECKS:  # most decisions: _uid's answer without its generator
            problem = _uid_problem(decision, context)
            if problem is not None:
                found.append(finding(problem[0], file, decision.location, problem[1]))
            continue
        for check in checks:
            found.extend(check(decision, context))
    return tuple(found)
