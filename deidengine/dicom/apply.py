"""Apply a compiled plan to one dataset's header: the header stage of the pipeline.

Every element, at every sequence depth, gets what :func:`~deidengine.dicom.decision.decide`
answers (the plan's rule, else the default cascade), and sequences are descended in the scope
the answer gives, so the policy still applies inside their items. Actions dispatch through
:data:`ACTIONS`; what ``C`` (clean) decided dispatches through :data:`CLEANERS` by how it cleans.

The dataset is edited in place: the caller reads it from a file it never writes back to.
Conditions read a snapshot of the input taken before the first action.

The actions are written once, against :class:`ElementHandle`; this module's :class:`_Element`
is its Dataset backend, :class:`deidengine.dicom.table_apply.TableElement` its element table
backend (:func:`~deidengine.dicom.table_apply.apply_plan_to_table`, which records writer edits
instead of editing objects). What both walks share is here: :func:`act` (count, dispatch, mark
a replaced value), :func:`count_decision` (act's count, which the table walk also makes for the
actions it does itself), :func:`creators_to_remove`, :func:`header_outcome`,
:func:`patient_key_of`, and what those actions make of a value (:func:`dummy_replacement`,
:func:`dummy_keeps_items`, :func:`remapped_uids`).
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence

from deidengine.dicom.action_errors import ActionError as ActionError
from deidengine.dicom.action_errors import LookupMissError as LookupMissError
from deidengine.dicom.action_errors import RejectedError as RejectedError
from deidengine.dicom.conditions import ConditionSnapshot
from deidengine.dicom.dates import UnparseableDateError, cap_age, keep_year, shift_date
from deidengine.dicom.dates import patient_date_offset as keyed_date_offset
from deidengine.dicom.decision import (
    REPLACING_ACTIONS as REPLACING_ACTIONS,  # the verifier's tree check reads it from here
)
from deidengine.dicom.decision import (
    TOP,
    Cleaning,
    Decision,
    FileFacts,
    Scope,
    decide,
)
from deidengine.dicom.dummies import NoDummyValueError, dummy_value
from deidengine.dicom.elements import (
    AnyElement,
    ascii_value_bytes,
    element_location,
    element_text,
    element_vr,
    known_vr,
    raw_text,
    sequence_items,
    walk_elements,
)
from deidengine.dicom.free_text import TextCleaner
from deidengine.dicom.identifiers import IdentifyingValues
from deidengine.dicom.keys import ProjectSecret
from deidengine.dicom.pseudonyms import keyed_hash, pseudonym, zip3_prefix
from deidengine.dicom.scrub import ScrubCategory
from deidengine.dicom.uids import remap_uid
from deidengine.dicom.vr import maximum_length
from deidengine.policy import ast
from deidengine.policy.plan import Plan, PlannedRule
from deidengine.standard.dictionary import attribute_info, is_private_group
from deidengine.standard.iod import attribute_type
from deidengine.standard.sr import sr_concept_actions
from deidengine.standard.vr_classes import DATE_TIME_VRS, PIXEL_DATA_TAGS

PIXEL_GROUP = 0x7FE0
PATIENT_ID = 0x00100020
ISSUER_OF_PATIENT_ID = 0x00100021
PATIENT_NAME = 0x00100010
STUDY_INSTANCE_UID = 0x0020000D
SOP_CLASS_UID = 0x00080016
CONTENT_SEQUENCE = 0x0040A730
CONCEPT_NAME_CODE_SEQUENCE = 0x0040A043
MANDATORY_TYPES = frozenset({"1", "1C"})
#: A code item's value and scheme are coded terms, not text ("121322", "T-D0050", "99LOCAL"):
#: cleaned, they lose only the file's own identifying values, never a shape or a guess.
CODE_VALUE_TAGS = frozenset({0x00080100, 0x00080102, 0x00080103, 0x00080119, 0x00080120})
#: Types whose attribute must be present (if empty): a value the text stage removes is emptied.
REQUIRED_TYPES = frozenset({"1", "1C", "2", "2C"})
DEFAULT_SHIFT = (-365, -1)

#: Option codes (CID 7050) → the Table E.3.4-1 column their presence selects.
SR_OPTION_COLUMNS = {
    "113110": "rtn_uids",
    "113109": "rtn_device_identity",
    "113112": "rtn_institution_identity",
    "113108": "rtn_patient_characteristics",
    "113106": "rtn_long_full_dates",
    "113107": "rtn_long_modified_dates",
    "113105": "clean_descriptors",
}


class TemporalTreatment(enum.Enum):
    """What happened to dates: the value of Longitudinal Temporal Information Modified."""

    UNMODIFIED = "UNMODIFIED"
    MODIFIED = "MODIFIED"
    REMOVED = "REMOVED"


@dataclass(frozen=True, slots=True)
class EngineContext:
    """Run-level, immutable inputs of the header stage."""

    plan: Plan
    secret: ProjectSecret
    #: The free-text stage (a layer above this one): ``clean`` and ``scrub`` call it per value.
    text_cleaner: TextCleaner
    lookups: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    restricted_zip3: frozenset[str] = frozenset()
    record_mappings: bool = False


@dataclass(frozen=True, slots=True)
class HeaderOutcome:
    """What the header stage did: counts by action, date treatment, explicit keeps."""

    actions: Mapping[str, int]
    temporal: TemporalTreatment
    uid_map: Mapping[str, str]
    id_map: Mapping[str, str]
    explicitly_kept: frozenset[tuple[tuple[tuple[int, int], ...], int]]
    default_kept: frozenset[tuple[tuple[tuple[int, int], ...], int]]
    kept_private_blocks: frozenset[tuple[int, int]]


@dataclass(slots=True)
class ElementHandle:
    """One element being decided, as the actions see it: where it is, what selects it, and
    the few operations an action needs on its value.

    Two backends implement it: :class:`_Element` (a pydicom Dataset, edited in place) and
    :class:`deidengine.dicom.table_apply.TableElement` (an element table's row, the action
    recorded as a :class:`~deidengine.core.writer.Edits` entry). The actions below are written
    once against this class, so the two cannot drift apart.
    """

    tag: int
    vr: str
    path: tuple[tuple[int, int], ...]
    tag_path: tuple[int, ...]
    private: bool
    rule: PlannedRule | None
    decision: Decision

    def text(self) -> str:
        """The value as one string (:func:`element_text`: values joined by ``\\``)."""
        raise NotImplementedError

    def text_values(self) -> tuple[list[str], bool] | None:
        """The values the text stage reads (each as text) and whether the element holds
        several (a list) rather than one; ``None`` when it holds nothing."""
        raise NotImplementedError

    def set_text_values(self, values: list[str], multiple: bool) -> None:
        """Give the element the cleaned ``values`` (one value when not ``multiple``)."""
        raise NotImplementedError

    def replace(self, value: object) -> None:
        """Give the element a new value (``None``: empty; an empty ``Sequence``: no items)."""
        raise NotImplementedError

    def remove(self) -> None:
        """Take the element out of its data set."""
        raise NotImplementedError

    def holds_value(self) -> bool:
        """Whether the value is not empty."""
        raise NotImplementedError

    def descend(self, state: _FileState) -> None:
        """Walk the sequence's items in the scope its decision gives."""
        raise NotImplementedError


@dataclass(slots=True)
class _Element(ElementHandle):
    """One element of a pydicom Dataset being decided.

    ``raw`` stays as read (bytes) until a handler needs the value: :attr:`element` converts
    it then. Kept and removed elements are never converted, so the writer copies their bytes.
    """

    dataset: Dataset
    raw: AnyElement

    @property
    def element(self) -> DataElement:
        """The element, converted (once) from its raw form."""
        if isinstance(self.raw, RawDataElement):
            self.raw = self.dataset[self.tag]
        return self.raw

    def text(self) -> str:
        """The value as :func:`element_text` gives it, read from the raw bytes when it can be."""
        text = raw_text(self.raw, self.vr, None)
        return element_text(self.element.value) if text is None else text

    def replace(self, value: object) -> None:
        """Give the element a new value; the old one is never converted.

        An ASCII text value of an element read raw is stored raw too (its bytes as the writer
        would encode them), so neither pydicom's value checks nor its encoder run for it.
        """
        old = self.raw
        encoded = ascii_value_bytes(self.vr, value)
        if encoded is not None and isinstance(old, RawDataElement):
            self.raw = self.dataset._dict[old.tag] = RawDataElement(
                old.tag,
                self.vr,
                len(encoded),
                encoded,
                old.value_tell,
                old.is_implicit_VR,
                old.is_little_endian,
                True,
            )
            return
        element = DataElement(self.tag, self.vr, value)
        if self.private:
            self.dataset[self.tag] = element  # pydicom records the element's creator
        else:
            self.dataset._dict[element.tag] = element  # what __setitem__ does, minus its checks
        self.raw = element

    def holds_value(self) -> bool:
        """Whether the value is not empty, read without converting it."""
        raw = self.raw
        if isinstance(raw, RawDataElement):
            if raw.value is None:
                return raw.length != 0  # a deferred read
            return bool(raw.value.strip(b" \x00"))
        return raw.value not in (None, "")

    def remove(self) -> None:
        if self.private or self.tag >> 16 == PIXEL_GROUP:
            del self.dataset[self.tag]  # pydicom's bookkeeping: private blocks, decoded pixels
        else:
            del self.dataset._dict[self.tag]  # type: ignore[arg-type]  # a BaseTag is its int

    def text_values(self) -> tuple[list[str], bool] | None:
        value = self.element.value
        if value is None or value == "":
            return None
        if isinstance(value, MultiValue | list):
            return [str(one) for one in value], True
        return [str(value)], False

    def set_text_values(self, values: list[str], multiple: bool) -> None:
        self.element.value = values if multiple or len(values) != 1 else values[0]

    def descend(self, state: _FileState) -> None:
        _descend(self, state)


@dataclass(slots=True)
class _FileState:
    context: EngineContext
    facts: FileFacts
    identifying: IdentifyingValues
    sop_class: str | None
    patient_key: str
    counts: Counter[str] = field(default_factory=Counter)
    uid_map: dict[str, str] = field(default_factory=dict)
    id_map: dict[str, str] = field(default_factory=dict)
    dates_modified: bool = False
    dates_kept: bool = False
    explicitly_kept: set[tuple[tuple[tuple[int, int], ...], int]] = field(default_factory=set)
    default_kept: set[tuple[tuple[tuple[int, int], ...], int]] = field(default_factory=set)
    kept_private_blocks: set[tuple[int, int]] = field(default_factory=set)
    sr_actions: Mapping[tuple[str, str], Mapping[str, str]] = field(default_factory=dict)
    sr_columns: tuple[str, ...] = ()


def _fit(text: str, vr: str) -> str:
    limit = maximum_length(vr)
    return text if limit is None else text[:limit]


# ---------------------------------------------------------------------------- actions
Handler = Callable[["ElementHandle", _FileState], None]


def _remove(item: ElementHandle, state: _FileState) -> None:
    item.remove()


def _empty(item: ElementHandle, state: _FileState) -> None:
    item.replace(Sequence() if item.vr == "SQ" else None)


def _dummy(item: ElementHandle, state: _FileState) -> None:
    if item.vr == "SQ":
        if dummy_keeps_items(state.sop_class, item.path, item.tag_path):
            # The IOD needs items here (e.g. Verifying Observer Sequence of a verified SR):
            # they stay, and everything in them without a rule of its own gets a dummy value
            # (coded strings and numbers stay, so the structure stays valid).
            item.descend(state)
        else:
            # Otherwise a dummy sequence is an empty one: no item can carry identifying content.
            item.replace(Sequence())
        return
    item.replace(dummy_replacement(item.tag, item.vr))


def dummy_keeps_items(
    sop_class: str | None, path: tuple[tuple[int, int], ...], tag_path: tuple[int, ...]
) -> bool:
    """Whether ``D`` keeps the items of the sequence at ``tag_path`` (at ``path``, in a file
    of ``sop_class``), their values dummied, rather than emptying it: the IOD requires it
    (Type 1 or 1C), or it stands inside an item, where the IOD tables often say nothing (SR
    content trees nest freely) and a sequence is kept like its parent rather than left empty
    and invalid."""
    required = attribute_type(sop_class, tag_path)
    return required in MANDATORY_TYPES or (required is None and bool(path))


def dummy_replacement(tag: int, vr: str) -> object:
    """What ``D`` gives an element of ``vr`` at ``tag`` that is not a sequence: the VR's dummy
    with the least multiplicity the attribute's VM allows, or ``None`` (emptied) where the VR
    has none. The same for every element of the tag: the table stage keeps its encoding."""
    info = attribute_info(tag)
    try:
        return dummy_value(vr, info.vm if info else "1")
    except NoDummyValueError:
        return None


def _keep(item: ElementHandle, state: _FileState) -> None:
    if item.rule is None:
        state.default_kept.add((item.path, item.tag))
    else:
        state.explicitly_kept.add((item.path, item.tag))
        if item.private:
            state.kept_private_blocks.add((item.tag >> 16, (item.tag & 0xFF00) >> 8))
    if item.vr in DATE_TIME_VRS and item.holds_value():
        state.dates_kept = True
    if item.vr == "SQ":
        item.descend(state)


def _remap_uid(item: ElementHandle, state: _FileState) -> None:
    if item.vr == "SQ":
        item.descend(state)
        return
    if item.vr != "UI":
        raise ActionError(f"remap-uid on VR {item.vr} at {element_location(item.path, item.tag)}")
    new = remapped_uids(item.text(), state)
    if new is not None:
        item.replace(new)


def remapped_uids(old: str, state: _FileState) -> str | None:
    """What ``U`` makes of the text of a UI value (each UID remapped, the mapping recorded
    when the run records them), or ``None`` for an empty value, which stays as it is."""
    if not old:
        return None
    # remap_uid remaps a multi-valued text value by value: one call, no generator per UID.
    new = remap_uid(state.context.secret, old)
    if state.context.record_mappings:
        for before, after in zip(old.split("\\"), new.split("\\"), strict=True):
            if before != after:
                state.uid_map[before.strip(" \x00")] = after
    return new


def _date_offset(state: _FileState, numbers: tuple[int, ...]) -> int:
    low, high = numbers if numbers else DEFAULT_SHIFT
    return keyed_date_offset(state.context.secret, state.patient_key, low, high)


def _shift_date(item: ElementHandle, state: _FileState) -> None:
    value = item.text()
    state.dates_modified = True
    if not value:
        return
    numbers = item.rule.action.numbers if item.rule else ()
    try:
        item.replace(shift_date(value, item.vr, _date_offset(state, numbers)))
    except UnparseableDateError:
        item.replace(None)
        state.counts["unparseable-date-emptied"] += 1


def _keep_year(item: ElementHandle, state: _FileState) -> None:
    value = item.text()
    state.dates_modified = True
    if not value:
        return
    try:
        item.replace(keep_year(value, item.vr) or None)
    except UnparseableDateError:
        item.replace(None)
        state.counts["unparseable-date-emptied"] += 1


def _pseudonym(item: ElementHandle, state: _FileState) -> None:
    value = item.text()
    if not value:
        return
    template = (item.rule.action.text if item.rule else None) or "{hmac:10}"
    new = pseudonym(state.context.secret, value, template, item.vr)
    if state.context.record_mappings and item.tag == PATIENT_ID:
        state.id_map[value.strip(" \x00")] = new
    item.replace(new)


def _lookup(item: ElementHandle, state: _FileState) -> None:
    value = item.text().strip(" \x00")
    table_name = item.rule.action.text if item.rule and item.rule.action.text else ""
    table = state.context.lookups.get(table_name)
    if table is None:
        raise LookupMissError(f"lookup table '{table_name}' was not given to the run")
    if not value:
        return
    if value not in table:
        where = element_location(item.path, item.tag)
        raise LookupMissError(f"lookup table '{table_name}' has no entry for {where}")
    if state.context.record_mappings and item.tag == PATIENT_ID:
        state.id_map[value] = table[value]
    item.replace(_fit(table[value], item.vr))


def _set(item: ElementHandle, state: _FileState) -> None:
    item.replace(item.rule.action.text if item.rule else None)


def _hash(item: ElementHandle, state: _FileState) -> None:
    value = item.text()
    if not value:
        return
    numbers = item.rule.action.numbers if item.rule else ()
    length = numbers[0] if numbers else 16
    item.replace(_fit(keyed_hash(state.context.secret, value, length), item.vr))


def _cap_age(item: ElementHandle, state: _FileState) -> None:
    value = item.text()
    if value and item.rule is not None:
        try:
            item.replace(cap_age(value, item.rule.action.numbers[0]))
        except ValueError:
            item.replace(None)


def _truncate_zip(item: ElementHandle, state: _FileState) -> None:
    """The value becomes the three-digit ZIP prefix found in it (``000`` when restricted)."""
    prefix = zip3_prefix(item.text(), state.context.restricted_zip3)
    item.replace(prefix or None)


def _scrub(item: ElementHandle, state: _FileState) -> None:
    if item.vr == "SQ":
        item.descend(state)
        return
    words = item.rule.action.words if item.rule else ()
    categories = frozenset(ScrubCategory(w) for w in words) or frozenset(ScrubCategory)
    _scrub_value(item, state, categories)


def _remove_or_empty(item: ElementHandle, state: _FileState) -> None:
    """Take a value away: emptied where the IOD requires the attribute, else removed."""
    if attribute_type(state.sop_class, item.tag_path) in REQUIRED_TYPES:
        item.replace(None)
    else:
        _remove(item, state)


def _scrub_value(
    item: ElementHandle, state: _FileState, categories: frozenset[ScrubCategory] | None
) -> None:
    """Run the free-text stage (the context's ``text_cleaner``) over each value; a strict rule
    removes the values the stage cannot vouch for, and the element when none is left."""
    read = item.text_values()
    if read is None:
        return
    values, multiple = read
    clean = state.context.text_cleaner
    strict = item.decision.strict
    coded = item.tag in CODE_VALUE_TAGS
    kept: list[str] = []
    for one in values:
        result = clean(one, state.identifying, scrub=categories, strict=strict, coded=coded)
        if result.text is None:
            # The audit's reason: which check failed, never the value.
            state.counts[f"text-removed:{result.reason}"] += 1
            continue
        kept.append(_fit(result.text, item.vr))
    if not kept:
        _remove_or_empty(item, state)
    else:
        item.set_text_values(kept, multiple)


def _reject(item: ElementHandle, state: _FileState) -> None:
    raise RejectedError(f"rejected by the rule at {item.rule.source if item.rule else '?'}")


# C: keep meaning, drop what identifies; how depends on the VR (decision.CLEANING_BY_VR).
def _clean_items(item: ElementHandle, state: _FileState) -> None:
    item.descend(state)  # in the clean scope the decision gives


def _clean_text(item: ElementHandle, state: _FileState) -> None:
    _scrub_value(item, state, None)  # every category


def _clean_time(item: ElementHandle, state: _FileState) -> None:
    # A whole-day shift keeps the time of day: the value stays, the dates count as modified.
    state.dates_modified = True


def _clean_keep(item: ElementHandle, state: _FileState) -> None:
    # Coded strings are enumerated terms (Value Type, Modality, ...): masking breaks them.
    # Unlike K, nothing is recorded as kept: C kept them because they cannot identify.
    return None


CLEANERS: dict[Cleaning, Handler] = {
    Cleaning.ITEMS: _clean_items,
    Cleaning.TEXT: _clean_text,
    Cleaning.DATE: _shift_date,
    Cleaning.TIME: _clean_time,
    Cleaning.UID: _remap_uid,
    Cleaning.CODED: _clean_keep,
    # Overlays, curves and other bytes cannot be cleaned here: fail closed and remove them.
    Cleaning.BYTES: _remove,
    Cleaning.PRIVATE: _remove,
}

#: By the resolved kind: compound and clean never reach here (decision.decide resolves them).
ACTIONS: dict[ast.ActionKind, Handler] = {
    ast.ActionKind.REMOVE: _remove,
    ast.ActionKind.EMPTY: _empty,
    ast.ActionKind.DUMMY: _dummy,
    ast.ActionKind.KEEP: _keep,
    ast.ActionKind.REMAP_UID: _remap_uid,
    ast.ActionKind.SHIFT_DATE: _shift_date,
    ast.ActionKind.KEEP_YEAR: _keep_year,
    ast.ActionKind.PSEUDONYM: _pseudonym,
    ast.ActionKind.LOOKUP: _lookup,
    ast.ActionKind.SET: _set,
    ast.ActionKind.HASH: _hash,
    ast.ActionKind.CAP_AGE: _cap_age,
    ast.ActionKind.TRUNCATE_ZIP: _truncate_zip,
    ast.ActionKind.SCRUB: _scrub,
    ast.ActionKind.REJECT: _reject,
}


# ---------------------------------------------------------------------------- walking
def private_key_of(dataset: Dataset, tag: int) -> tuple[str, int, int] | None:
    group, element = tag >> 16, tag & 0xFFFF
    if element < 0x1000:
        return None
    creator = dataset.get((group << 16) | (element >> 8))
    if creator is None or creator.value in (None, ""):
        return None
    return (element_text(creator.value).strip(" \x00"), group, element & 0xFF)


class _PrivateKeys:
    """:func:`private_key_of` for the elements of one dataset, reading each creator once.

    Creator elements are set aside by the walk and deleted only after it, so what a creator
    says cannot change while the dataset's elements are decided.
    """

    __slots__ = ("_creators", "_dataset")

    def __init__(self, dataset: Dataset) -> None:
        self._dataset = dataset
        self._creators: dict[int, str | None] = {}

    def __call__(self, tag: int) -> tuple[str, int, int] | None:
        group, element = tag >> 16, tag & 0xFFFF
        if element < 0x1000:
            return None
        creator_tag = (group << 16) | (element >> 8)
        if creator_tag in self._creators:
            name = self._creators[creator_tag]
        else:
            creator = self._dataset.get(creator_tag)
            value = None if creator is None else creator.value
            name = None if value in (None, "") else element_text(value).strip(" \x00")
            self._creators[creator_tag] = name
        return None if name is None else (name, group, element & 0xFF)


def _walk(
    dataset: Dataset,
    state: _FileState,
    path: tuple[tuple[int, int], ...],
    tag_path: tuple[int, ...],
    scope: Scope,
) -> None:
    facts = state.facts
    creators: list[int] = []
    private_key = _PrivateKeys(dataset)
    # A snapshot of the items (the walk deletes); raw elements in it stay valid until the walk
    # reaches them, and a creator converted by a look-up is set aside unused.
    for base_tag, raw in list(dataset._dict.items()):
        tag = int(base_tag)
        if not path and tag in PIXEL_DATA_TAGS:
            continue
        group, number = tag >> 16, tag & 0xFFFF
        private = is_private_group(group)
        if number == 0x0000:
            del dataset[base_tag]  # group lengths go stale once anything in the group changes
            continue
        if private and 0x0010 <= number <= 0x00FF:
            creators.append(tag)
            continue
        vr = known_vr(raw)
        element = raw
        if vr is None:
            vr, element = element_vr(dataset, tag, raw)
        own_path = (*tag_path, tag)
        key = private_key(tag) if private else None
        decision = decide(facts, tag, vr, path, own_path, scope, private, key)
        rule = decision.rule
        act(_Element(tag, vr, path, own_path, private, rule, decision, dataset, element), state)
    # A creator goes unless its block was kept and still holds an element. (A creator's own
    # tag, (gggg,00xx) with xx >= 10, never falls in a block, so deleting creators does not
    # change which blocks hold elements: they are listed once.)
    # Tags: iterating a Dataset itself gives its elements.
    for creator in creators_to_remove(creators, state, lambda: map(int, dataset.keys())):
        del dataset[creator]


def act(item: ElementHandle, state: _FileState) -> None:
    """Count ``item``'s decision and run its action (either backend's element)."""
    decision = item.decision
    count_decision(state.counts, decision)
    cleaning = decision.cleaning
    (ACTIONS[decision.kind] if cleaning is None else CLEANERS[cleaning])(item, state)
    if decision.chosen in REPLACING_ACTIONS:
        # The value was replaced by construction (keyed, dummy, year-only, ...): what is
        # left is the policy's output, even when it happens to equal the input.
        state.explicitly_kept.add((item.path, item.tag))


def count_decision(counts: Counter[str], decision: Decision) -> None:
    """The audit's count of one element's decision: its label, and a compound code's
    resolution (the rule's code, an arrow and the letter the IOD picked). Counted before the
    action runs, so a sequence's count comes before its items' (the audit keeps that order)."""
    counts[decision.label] += 1
    compound = decision.compound_label  # made once with the answer, not per element
    if compound is not None:
        counts[compound] += 1


def creators_to_remove(
    creators: list[int], state: _FileState, tags_left: Callable[[], Iterable[int]]
) -> list[int]:
    """The private creators (by tag) of one data set that go: all but those of a kept block
    that still holds an element (``tags_left``: the data set's tags after its walk)."""
    blocks_in_use: set[tuple[int, int]] | None = None
    gone = []
    for creator in creators:
        block = (creator >> 16, creator & 0xFF)
        if block in state.kept_private_blocks:
            if blocks_in_use is None:
                blocks_in_use = {(tag >> 16, (tag & 0xFF00) >> 8) for tag in tags_left()}
            if block in blocks_in_use:
                continue
        gone.append(creator)
    return gone


def _descend(item: _Element, state: _FileState) -> None:
    """Walk a sequence's items in the scope its decision gives."""
    scope = item.decision.items
    sequence = item.element.value
    if scope is None or not isinstance(sequence, Sequence):
        return
    survivors = []
    for index, child in enumerate(sequence):
        if item.tag == CONTENT_SEQUENCE and scope.clean and _drop_sr_item(child, state):
            state.counts["sr-content-item-removed"] += 1
            continue
        _walk(child, state, (*item.path, (item.tag, index)), item.tag_path, scope)
        survivors.append(child)
    if len(survivors) != len(sequence):
        item.element.value = Sequence(survivors)


def _sr_item_dropped(key: tuple[str, str], state: _FileState) -> bool:
    """E.3.4: whether a content item with the concept name ``key`` (scheme, value) goes."""
    actions = state.sr_actions.get(key)
    if actions is None:
        return False
    chosen = actions.get("basic_profile", "")
    for column in state.sr_columns:
        if actions.get(column):
            chosen = actions[column]
    return chosen == "X"


def _drop_sr_item(item: Dataset, state: _FileState) -> bool:
    """E.3.4: a content item whose concept name the table marks X goes, value and all."""
    names = item.get(CONCEPT_NAME_CODE_SEQUENCE)
    if names is None or not names.value:
        return False
    code = names.value[0]
    key = (str(code.get("CodingSchemeDesignator", "")), str(code.get("CodeValue", "")))
    return _sr_item_dropped(key, state)


def _drop_orphaned_overlay_planes(dataset: Dataset, state: _FileState) -> None:
    """An Overlay Plane whose Overlay Data (60xx,3000) the policy removed goes whole: its rows,
    columns and origin alone would leave a Type 1 attribute missing (an invalid object)."""
    groups = {int(tag) >> 16 for tag in dataset.keys()}  # noqa: SIM118 - tags, not elements
    for group in sorted(g for g in groups if 0x6000 <= g <= 0x601E and not g & 1):
        if (group << 16) | 0x3000 in dataset:
            continue
        for tag in [t for t in dataset.keys() if int(t) >> 16 == group]:  # noqa: SIM118
            del dataset[tag]
        state.counts["overlay-plane-removed"] += 1


#: The Common Instance Reference Module's sequences (PS3.3 C.12.2): they list where the
#: instances referenced elsewhere in the object live.
COMMON_INSTANCE_REFERENCES = (0x00081115, 0x00081200)
REFERENCED_SOP_INSTANCE_UID = 0x00081155


def _references_elsewhere(dataset: Dataset) -> bool:
    for tag, raw in walk_elements(dataset):
        if tag in COMMON_INSTANCE_REFERENCES:
            continue
        if tag == REFERENCED_SOP_INSTANCE_UID:
            return True
        if known_vr(raw) not in (None, "SQ"):
            continue  # only a sequence can hold a reference: the rest stays unconverted
        vr, element = element_vr(dataset, tag, raw)
        if vr == "SQ" and any(
            _references_elsewhere(item) for item in sequence_items(dataset, tag, element)
        ):
            return True
    return False


def _drop_orphaned_instance_references(dataset: Dataset, state: _FileState) -> None:
    """When the policy removed every reference to other instances, the Common Instance
    Reference sequences that index them go too (they are required only while references exist,
    and alone they would make the object invalid)."""
    present = [tag for tag in COMMON_INSTANCE_REFERENCES if tag in dataset]
    if present and not _references_elsewhere(dataset):
        for tag in present:
            del dataset[tag]
        state.counts["instance-reference-index-removed"] += 1


def _top_level_text(dataset: Dataset, tag: int) -> str:
    return element_text(dataset[tag].value).strip() if tag in dataset else ""


def patient_key(dataset: Dataset) -> str:
    """The input's patient identity for keyed date offsets: ID and issuer, else the name."""
    return patient_key_of(lambda tag: _top_level_text(dataset, tag))


def patient_key_of(top_level_text: Callable[[int], str]) -> str:
    """:func:`patient_key` from the text of a top-level element (``""`` when absent)."""
    patient_id = top_level_text(PATIENT_ID)
    if patient_id:
        return f"id:{patient_id}|{top_level_text(ISSUER_OF_PATIENT_ID)}"
    name = top_level_text(PATIENT_NAME)
    if name:
        return f"name:{name}"
    return f"study:{top_level_text(STUDY_INSTANCE_UID)}"


def apply_plan(
    dataset: Dataset,
    context: EngineContext,
    identifying: IdentifyingValues,
    snapshot: ConditionSnapshot | None = None,
) -> HeaderOutcome:
    """De-identify ``dataset``'s header in place by ``context.plan``.

    ``snapshot`` holds the input's values that conditions read; the pipeline takes it once, so
    the pixel rule later sees the same input. Without it one is taken here.

    Raises :class:`LookupMissError` or :class:`RejectedError` (the file must be quarantined)
    and :class:`ActionError` when an action cannot be applied.
    """
    sop_class = _top_level_text(dataset, SOP_CLASS_UID) or None
    columns = tuple(SR_OPTION_COLUMNS[c] for c in context.plan.codes if c in SR_OPTION_COLUMNS)
    if snapshot is None:
        snapshot = ConditionSnapshot.of(dataset, context.plan.condition_tags)
    state = _FileState(
        context=context,
        facts=FileFacts.of(context.plan, snapshot, sop_class),
        identifying=identifying,
        sop_class=sop_class,
        patient_key=patient_key(dataset),
        sr_actions=sr_concept_actions(),
        sr_columns=columns,
    )
    _walk(dataset, state, (), (), TOP)
    _drop_orphaned_overlay_planes(dataset, state)
    _drop_orphaned_instance_references(dataset, state)
    return header_outcome(state)


def header_outcome(state: _FileState) -> HeaderOutcome:
    """What the header stage did to one file, once its walk is over (either backend's)."""
    if state.dates_modified:
        temporal = TemporalTreatment.MODIFIED
    elif state.dates_kept:
        temporal = TemporalTreatment.UNMODIFIED
    else:
        temporal = TemporalTreatment.REMOVED
    return HeaderOutcome(
        actions=dict(state.counts),
        temporal=temporal,
        uid_map=dict(state.uid_map),
        id_map=dict(state.id_map),
        explicitly_kept=frozenset(state.explicitly_kept),
        default_kept=frozenset(state.default_kept),
        kept_private_blocks=frozenset(state.kept_private_blocks),
    )
