"""The header stage over the lean reader's element table: decisions become writer edits.

:func:`apply_plan_to_table` is :func:`deidengine.dicom.apply.apply_plan` for a file read into a
:class:`~deidengine.core.table.ElementTable`, with no pydicom Dataset built: every element row,
at every depth, gets what :func:`~deidengine.dicom.decision.decide` answers, and the action runs
through the same :data:`~deidengine.dicom.apply.ACTIONS` and
:data:`~deidengine.dicom.apply.CLEANERS` (the walk does the few that need no element handle
itself, a value kept by default, a dummy, a UID remapped, a value emptied or removed, a sequence
dummied or kept by default, with the functions those actions use for the value: see
``_Builder.walk``). Those actions are written once, against
:class:`~deidengine.dicom.apply.ElementHandle`; this module is the handle's second backend
(:class:`TableElement`): where the Dataset backend edits pydicom objects in place, a table
handle records a :class:`~deidengine.core.writer.Edits` entry (a row's new value, a row
removed). :func:`deidengine.core.writer.encode` then writes the table with those edits as
``dcmwrite`` writes the edited Dataset, so the output bytes and the
:class:`~deidengine.dicom.apply.HeaderOutcome` are the Dataset path's (tests/dicom hold the two
to that, over pydicom's files, the benchmark corpora, the PHI corpus and the charset files).

Why a second backend rather than one path: the pipeline's other Dataset consumers (the pixel
stage, the honest broker's envelope, the public API's Dataset in and out) still need a Dataset,
and turning every Dataset into bytes and back costs what this stage is meant to save.

A replaced value is encoded as pydicom encodes it (:func:`encoded_value`: plain ASCII text
directly, everything else through pydicom's own element writer with the character set in effect
for the row); padding is the writer's job.

**What the table stage supports, and what falls back.** It raises :class:`LeanUnsupported`
(the caller then runs the Dataset path, which handles everything) where the Dataset path would
convert an element in a way the table cannot reproduce byte for byte:

- a data set holding one tag twice (pydicom keeps the last; the walk order would differ);
- an explicit VR element read as UN whose VR pydicom replaces (pydicom writes it converted);
- an item encoded otherwise than its file (implicit VR items inside an explicit VR file);
- an ambiguous VR the table cannot resolve;
- an action that reads a value of a VR whose text pydicom gives other than its bytes
  (``AT`` and other non-text VRs read as text, ``scrub`` of a non-text VR).

Everything else in a plan is supported: every action and cleaner, conditions (from the
snapshot the caller takes), compound codes, the scopes, SR content items dropped by E.3.4,
orphaned overlay planes and instance reference indexes, private creators and kept blocks.
The pixel stage, the honest broker's envelope and review sheets are the caller's to route.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice
from operator import itemgetter
from typing import Final

from pydicom.charset import default_encoding
from pydicom.dataelem import DataElement
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element
from pydicom.sequence import Sequence

from deidengine.core import values
from deidengine.core.errors import CoreError
from deidengine.core.table import TOP, ElementTable, Kind, Row
from deidengine.core.writer import Edits, Value
from deidengine.dicom.apply import (
    COMMON_INSTANCE_REFERENCES,
    CONCEPT_NAME_CODE_SEQUENCE,
    CONTENT_SEQUENCE,
    REFERENCED_SOP_INSTANCE_UID,
    SOP_CLASS_UID,
    SR_OPTION_COLUMNS,
    ElementHandle,
    EngineContext,
    HeaderOutcome,
    _FileState,
    _sr_item_dropped,
    act,
    count_decision,
    creators_to_remove,
    dummy_keeps_items,
    dummy_replacement,
    header_outcome,
    patient_key_of,
    remapped_uids,
)
from deidengine.dicom.conditions import ConditionSnapshot
from deidengine.dicom.decision import REPLACING_ACTIONS, FileFacts, Scope, decide
from deidengine.dicom.decision import TOP as TOP_SCOPE
from deidengine.dicom.elements import ASCII_TEXT_VRS, BINARY_VRS, RAW_ASCII_VRS
from deidengine.dicom.identifiers import IdentifyingValues
from deidengine.policy.ast import ActionKind
from deidengine.standard.dictionary import NOT_PRIVATE_ODD_GROUPS
from deidengine.standard.sr import sr_concept_actions
from deidengine.standard.vr_classes import CHARACTER_SET_VRS, DATE_TIME_VRS, PIXEL_DATA_TAGS

__all__ = ["LeanUnsupported", "TableElement", "TableHeader", "apply_plan_to_table", "encoded_value"]

CODING_SCHEME_DESIGNATOR = 0x00080102
CODE_VALUE = 0x00080100
#: VRs whose values the text stage reads from a table: character-set text, and the ASCII text
#: VRs a person or device writes.
TEXT_VALUE_VRS = CHARACTER_SET_VRS | {"AE", "UR"}
#: Binary numbers: their text is the numbers' (``str`` of each), as pydicom's values give it.
NUMBER_VRS = frozenset(values.NUMBER_FORMATS)


ELEMENT, FRAGMENT = Kind.ELEMENT, Kind.FRAGMENT
KEEP, DUMMY, REMOVE = ActionKind.KEEP, ActionKind.DUMMY, ActionKind.REMOVE
REMAP_UID, EMPTY = ActionKind.REMAP_UID, ActionKind.EMPTY
_new_value = tuple.__new__


class LeanUnsupported(Exception):
    """The table stage cannot reproduce the Dataset path for this file: run that path.

    A routing signal between the stage and its caller, never an outcome: it never leaves the
    pipeline (so it has no code among the engine's errors)."""


@dataclass(frozen=True, slots=True)
class TableHeader:
    """The header stage's result on a table: the writer's edits and what the stage did."""

    edits: Edits
    outcome: HeaderOutcome


#: The containers a multi-valued text comes in (one tuple, not a union made per call).
_MULTIPLE = (list, tuple)


def plain_ascii(vr: str, value: object) -> bytes | None:
    """``value``'s bytes when it is plain ASCII text of a VR pydicom writes such text as it is
    in every character set (``None``: ask :func:`encoded_value`)."""
    if value is None:
        return b""
    if vr in RAW_ASCII_VRS:
        if isinstance(value, str):
            text = value
        elif isinstance(value, _MULTIPLE):
            text = "\\".join(value)
        else:
            return None
        if text.isascii():
            return text.encode("ascii")
    return None


def encoded_value(tag: int, vr: str, value: object, encodings: list[str], little: bool) -> bytes:
    """``value``'s bytes in an element of ``vr`` as pydicom's writer encodes them (unpadded
    where pydicom does not pad: the writer pads)."""
    plain = plain_ascii(vr, value)
    if plain is not None:
        return plain
    buffer = DicomBytesIO()
    buffer.is_little_endian = little
    buffer.is_implicit_VR = True  # a fixed 8-byte header to cut off
    write_data_element(buffer, DataElement(tag, vr, value), encodings or [default_encoding])
    return buffer.getvalue()[8:]


#: The top-level tags of the Overlay Plane groups (60xx, xx even, from 6000 to 601E).
OVERLAY_FIRST: Final = 0x60000000
OVERLAY_END: Final = 0x601F0000
#: A sequence's new value without items (a dummied sequence the IOD does not need).
EMPTY_SEQUENCE: Final = Value("SQ", b"")
#: The walk's own edits of a value (see _Builder.walk): none of them a value written. The
#: element goes through act (a dummy that is not plain ASCII text: :func:`_plain_dummy`), is
#: removed, or keeps its value (an empty UID remapped).
NOT_PLAIN: Final = Value("", b"", ())
REMOVED: Final = Value("", b"", ())
UNCHANGED: Final = Value("", b"", ())
#: D's value of a tag's element, encoded (:func:`_plain_dummy`), by (tag, VR): a dummied
#: content tree asks for the same few many times over. Bounded by the tags and VRs there are.
_DUMMIES: dict[tuple[int, str], Value] = {}


def _plain_dummy(tag: int, vr: str) -> Value:
    """D's value of an element of ``vr`` at ``tag`` (:func:`dummy_replacement`) as the writer's
    edit, when it is plain ASCII text (the same bytes in every character set); else
    :data:`NOT_PLAIN` (the element goes through :func:`act`, which encodes it for its row)."""
    if len(_DUMMIES) >= DUMMY_LIMIT:
        _DUMMIES.clear()
    plain = plain_ascii(vr, dummy_replacement(tag, vr))
    return NOT_PLAIN if plain is None else Value(vr, plain)


DUMMY_LIMIT: Final = 1 << 14


class _Builder:
    """One file's walk: the table, its rows grouped by data set, and the edits so far."""

    def __init__(self, table: ElementTable, state: _FileState) -> None:
        self.table = table
        self.rows = table.rows
        self.state = state
        self.replace: dict[int, Value] = {}
        self.remove: set[int] = set()
        #: Items the Dataset path walks (so pydicom re-encodes them): an empty addition marks
        #: them for the writer, which then walks their sequence as pydicom does.
        self.walked: set[int] = set()
        self.children = table.grouped()
        self.meta_end = table.facts.meta_end
        self.ordered = table.ordered()

    # ------------------------------------------------------------------ values
    def text(self, index: int, vr: str) -> str:
        """:func:`deidengine.dicom.elements.element_text` of the value pydicom would give."""
        if vr in BINARY_VRS:
            return self.table.value(index).decode("latin-1")
        if vr in ASCII_TEXT_VRS:
            text = self.table.value(index).decode("latin-1")
            if "\\" not in text:  # one value (a UID, mostly): no split and join
                return text.rstrip(" \x00")
            return "\\".join(part.rstrip(" \x00") for part in text.split("\\"))
        if vr in CHARACTER_SET_VRS:
            return "\\".join(self.strings(index, vr))
        if vr in NUMBER_VRS:
            return "\\".join(str(number) for number in self._numbers(index))
        raise LeanUnsupported(f"{vr} read as text")

    def strings(self, index: int, vr: str) -> list[str]:
        try:
            parts = list(values.strings(self.table, index))
        except (CoreError, UnicodeError, LookupError) as error:
            raise LeanUnsupported("a value pydicom decodes otherwise") from error
        if vr == "PN":  # pydicom's Person Name drops empty trailing component groups
            parts = [part.rstrip("=") for part in parts]
        return parts

    def _numbers(self, index: int) -> tuple[int | float, ...]:
        try:
            return values.numbers(self.table, index)
        except CoreError as error:
            raise LeanUnsupported("numbers pydicom reads otherwise") from error

    def encode(self, index: int, vr: str, value: object) -> Value:
        # Plain text first: the common case, and never a Sequence (whose test is an ABC's).
        plain = plain_ascii(vr, value)
        if plain is not None:  # no character set to look up
            # The named tuple made without its Python-level constructor (most edits are these).
            return _new_value(Value, (vr, plain, ()))
        if isinstance(value, Sequence):
            if len(value):
                raise LeanUnsupported("a sequence replaced by items")
            return Value("SQ", b"")
        try:
            encodings = values.encodings(self.table, index)
        except (CoreError, LookupError) as error:
            raise LeanUnsupported("a character set pydicom reads otherwise") from error
        row = self.rows[index]
        return Value(vr, encoded_value(row.tag, vr, value, encodings, row.little))

    # ------------------------------------------------------------------ walking
    def walk(
        self,
        parent: int,
        path: tuple[tuple[int, int], ...],
        tag_path: tuple[int, ...],
        scope: Scope,
    ) -> None:
        table, rows, state = self.table, self.rows, self.state
        facts = state.facts
        replace, remove = self.replace, self.remove
        counts, default_kept, explicitly_kept = (
            state.counts,
            state.default_kept,
            state.explicitly_kept,
        )
        dummies = _DUMMIES
        creators: list[int] = []
        # A data set that states a tag twice lists its tags out of order: only then are the
        # tags tracked (the reader says whether any data set does).
        seen: set[int] | None = None if self.ordered else set()
        top = parent == TOP
        # A walk decides the data set's elements, the File Meta Information's left out.
        meta_end = self.meta_end if top else -1
        for index in self.children.get(parent, ()):
            tag, vr, encoded_vr, header, _, _, _, _, _, creator, kind, _, _ = rows[index]
            if kind is not ELEMENT or header < meta_end:
                continue
            if seen is not None:
                if tag in seen:
                    raise LeanUnsupported("a data set holds a tag twice")
                seen.add(tag)
            if top and tag in PIXEL_DATA_TAGS:
                continue
            group, number = tag >> 16, tag & 0xFFFF
            # is_private_group, inlined: the walk asks it of every element.
            private = group & 1 == 1 and group not in NOT_PRIVATE_ODD_GROUPS
            if number == 0x0000:
                remove.add(index)  # group lengths go stale once anything changes
                continue
            if private and 0x0010 <= number <= 0x00FF:
                creators.append(index)
                continue
            if (encoded_vr and encoded_vr != vr) or " or " in vr:
                vr = self._vr(index)
            own_path = (*tag_path, tag)
            key = None
            if private and number >= 0x1000 and creator:
                key = (creator.strip(" \x00"), group, number & 0xFF)
            decision = decide(facts, tag, vr, path, own_path, scope, private, key)
            rule = decision.rule
            if vr == "SQ":
                if decision.cleaning is None and (
                    decision.kind is DUMMY or (decision.kind is KEEP and rule is None)
                ):
                    # D on a sequence, or a sequence kept by default: done here as _dummy and
                    # _keep do it (dummy_keeps_items), with act's bookkeeping as below.
                    count_decision(counts, decision)
                    if decision.kind is KEEP:
                        default_kept.add((path, tag))
                        self.descend_items(index, tag, path, own_path, decision.items)
                    elif dummy_keeps_items(state.sop_class, path, own_path):
                        self.descend_items(index, tag, path, own_path, decision.items)
                    else:
                        replace[index] = EMPTY_SEQUENCE
                    if decision.chosen in REPLACING_ACTIONS:
                        explicitly_kept.add((path, tag))
                    continue
            elif decision.cleaning is None:
                # The actions on a value that need no element handle (a value's default keep;
                # D's dummy, the same for every element of a tag; a UID's remap; emptying;
                # removal): done here, with act's bookkeeping and the actions' effects as they
                # are in apply.py. Anything else (a text cleaned, a sequence walked, a date)
                # goes through act.
                action = decision.kind
                if action is KEEP:
                    # _keep reads whether a date holds a value; a rule's keep records more.
                    if rule is None and vr not in DATE_TIME_VRS:
                        # count_decision's count, inline on the commonest element: no rule,
                        # so no compound code to count.
                        counts[decision.label] += 1
                        default_kept.add((path, tag))
                        if encoded_vr == "UN" and vr != "UN":
                            replace[index] = Value(vr, table.value(index))
                        continue
                else:
                    if action is DUMMY:
                        edit = dummies.get((tag, vr))
                        if edit is None:
                            edit = dummies[(tag, vr)] = _plain_dummy(tag, vr)
                    elif action is REMAP_UID and vr == "UI":
                        new = remapped_uids(self.text(index, vr), state)
                        edit = UNCHANGED if new is None else self.encode(index, vr, new)
                    elif action is EMPTY:
                        edit = self.encode(index, vr, None)
                    elif action is REMOVE:
                        edit = REMOVED
                    else:
                        edit = NOT_PLAIN
                    if edit is not NOT_PLAIN:
                        count_decision(counts, decision)
                        if edit is REMOVED:
                            remove.add(index)
                        elif edit is not UNCHANGED:
                            replace[index] = edit
                        elif encoded_vr == "UN":
                            replace[index] = Value(vr, table.value(index))
                        if decision.chosen in REPLACING_ACTIONS:
                            explicitly_kept.add((path, tag))
                        continue
            act(TableElement(tag, vr, path, own_path, private, rule, decision, self, index), state)
            # pydicom converts an element read as UN to look at its VR, and writes it
            # converted: with its own VR (a value pydicom re-encodes to the same bytes).
            if encoded_vr == "UN" and vr != "UN" and index not in replace and index not in remove:
                replace[index] = Value(vr, table.value(index))
        if not creators:
            return  # most data sets hold no private block
        by_tag = {rows[i].tag: i for i in creators}

        def tags_left() -> Iterable[int]:
            siblings = self.children.get(parent, ())
            return (
                rows[i].tag
                for i in siblings
                if rows[i].kind is Kind.ELEMENT and i not in self.remove
            )

        for tag in creators_to_remove(list(by_tag), state, tags_left):
            self.remove.add(by_tag[tag])

    def _vr(self, index: int) -> str:
        row = self.rows[index]
        if (
            row.encoded_vr
            and row.encoded_vr != row.vr
            and (row.encoded_vr != "UN" or row.vr == "SQ")
        ):
            raise LeanUnsupported("an element pydicom converts from its VR as read")
        if " or " not in row.vr:
            return row.vr
        try:
            return values.resolved_vr(self.table, index)
        except CoreError as error:
            raise LeanUnsupported("an ambiguous VR") from error

    def descend(self, item: TableElement) -> None:
        self.descend_items(item.index, item.tag, item.path, item.tag_path, item.decision.items)

    def descend_items(
        self,
        index: int,
        tag: int,
        path: tuple[tuple[int, int], ...],
        tag_path: tuple[int, ...],
        scope: Scope | None,
    ) -> None:
        """Walk the items of the sequence at row ``index`` in ``scope`` (None: not at all)."""
        if scope is None:
            return
        state = self.state
        # A sequence's rows are its items (the reader files nothing else under a sequence).
        for number, child in enumerate(self.children.get(index, ())):
            if tag == CONTENT_SEQUENCE and scope.clean and self._drop_sr_item(child):
                state.counts["sr-content-item-removed"] += 1
                self.remove.add(child)
                continue
            self.walked.add(child)
            self.walk(child, (*path, (tag, number)), tag_path, scope)

    def _own(self, dataset: int, tag: int) -> int | None:
        found = None
        for index in self.children.get(dataset, ()):
            if self.rows[index].tag == tag and self.rows[index].kind is Kind.ELEMENT:
                found = index
        return found

    def _drop_sr_item(self, item: int) -> bool:
        names = self._own(item, CONCEPT_NAME_CODE_SEQUENCE)
        if names is None:
            return False
        codes = [i for i in self.children.get(names, ()) if self.rows[i].kind is Kind.ITEM]
        if not codes:
            return False
        key = tuple(
            "" if (found := self._own(codes[0], tag)) is None else self._plain_text(found)
            for tag in (CODING_SCHEME_DESIGNATOR, CODE_VALUE)
        )
        return _sr_item_dropped((key[0], key[1]), self.state)

    def _plain_text(self, index: int) -> str:
        return self.text(index, self._vr(index))

    # ------------------------------------------------------------------ after the walk
    def dead(self) -> list[bool]:
        """Per row: gone from the output (removed, or inside a removed or replaced row)."""
        rows, remove, replace = self.rows, self.remove, self.replace
        dead = [False] * len(rows)
        for index, row in enumerate(rows):
            parent = row.parent
            dead[index] = index in remove or (parent != TOP and (dead[parent] or parent in replace))
        return dead

    def drop_orphaned_overlay_planes(self) -> None:
        """Drop them. The top level's tags in the overlay groups are one slice of its sorted
        tags (nothing encloses a top-level row: it is gone only when removed itself)."""
        top, remove = self.table.top_level(), self.remove
        tags = sorted(top)
        overlay = tags[bisect_left(tags, OVERLAY_FIRST) : bisect_left(tags, OVERLAY_END)]
        if not overlay:
            return  # most files hold none
        left = {tag for tag in overlay if top[tag] not in remove}
        for group in sorted({tag >> 16 for tag in left if not (tag >> 16) & 1}):
            if (group << 16) | 0x3000 in left:
                continue
            remove.update(top[tag] for tag in left if tag >> 16 == group)
            self.state.counts["overlay-plane-removed"] += 1

    def drop_orphaned_instance_references(self) -> None:
        """Drop them: the walk over every row that looks for a reference runs only for a file
        that holds one of the index's sequences."""
        top, remove = self.table.top_level(), self.remove
        present = [top[tag] for tag in COMMON_INSTANCE_REFERENCES if tag in top]
        present = [index for index in present if index not in remove]
        if not present or self._references_elsewhere(self.dead()):
            return
        remove.update(present)
        self.state.counts["instance-reference-index-removed"] += 1

    def _references_elsewhere(self, dead: list[bool]) -> bool:
        rows = self.rows
        indexed: set[int] = set()  # rows inside a Common Instance Reference sequence
        for index, row in enumerate(rows):
            if dead[index] or row.kind is not Kind.ELEMENT:
                continue
            inside = row.parent != TOP and rows[row.parent].parent in indexed
            if row.tag in COMMON_INSTANCE_REFERENCES or inside:
                indexed.add(index)
                continue
            if row.tag == REFERENCED_SOP_INSTANCE_UID and not self.table.is_meta(index):
                return True
        return False

    def edits(self) -> Edits:
        add: dict[int, tuple[()]] = {item: () for item in self.walked if item not in self.remove}
        return Edits(replace=dict(self.replace), remove=frozenset(self.remove), add=add)

    def top_text(self, tag: int) -> str:
        index = self.table.top_level().get(tag)
        return "" if index is None else self._plain_text(index).strip()


@dataclass(slots=True)
class TableElement(ElementHandle):
    """An element row as the actions see it: reads decode the row's bytes, writes record an
    edit."""

    builder: _Builder
    index: int

    def text(self) -> str:
        if self.index in self.builder.replace:
            raise LeanUnsupported("a value read after it was replaced")
        return self.builder.text(self.index, self.vr)

    def text_values(self) -> tuple[list[str], bool] | None:
        if self.vr not in TEXT_VALUE_VRS:
            raise LeanUnsupported(f"{self.vr} cleaned as text")
        if self.vr in CHARACTER_SET_VRS:
            parts = self.builder.strings(self.index, self.vr)
        else:  # AE, UR: ASCII, split as pydicom splits them
            parts = list(values.strings(self.builder.table, self.index))
        if not parts:
            return None
        return parts, len(parts) > 1

    def set_text_values(self, values: list[str], multiple: bool) -> None:
        self.replace(values if multiple or len(values) != 1 else values[0])

    def replace(self, value: object) -> None:
        self.builder.replace[self.index] = self.builder.encode(self.index, self.vr, value)

    def remove(self) -> None:
        self.builder.replace.pop(self.index, None)
        self.builder.remove.add(self.index)

    def holds_value(self) -> bool:
        return bool(self.builder.table.value(self.index).strip(b" \x00"))

    def descend(self, state: _FileState) -> None:
        self.builder.descend(self)


_EXPLICIT = itemgetter(Row._fields.index("explicit"))


def _mixed_encoding(table: ElementTable) -> bool:
    """Whether a row of the data set (fragments aside: they have no encoding of their own) is
    encoded otherwise than the file. One look at the column of encodings answers for most
    files; an implicit VR file's fragments, or a mixed file, take the row-by-row test."""
    rows = table.rows
    meta_end = table.facts.meta_end
    explicit = table.facts.explicit
    first = 0
    while first < len(rows) and rows[first].header < meta_end:
        first += 1  # the File Meta Information's rows stand first
    if set(map(_EXPLICIT, islice(rows, first, None))) <= {explicit}:
        return False
    return any(
        row.explicit != explicit and row.kind is not FRAGMENT and row.header >= meta_end
        for row in rows
    )


def apply_plan_to_table(
    table: ElementTable,
    context: EngineContext,
    identifying: IdentifyingValues,
    snapshot: ConditionSnapshot,
) -> TableHeader:
    """:func:`~deidengine.dicom.apply.apply_plan` for ``table``: the edits that de-identify its
    header by ``context.plan``, and the same :class:`HeaderOutcome`.

    ``snapshot`` holds the input's values that conditions read (the caller takes it once).
    Raises what ``apply_plan`` raises (:class:`~deidengine.dicom.apply.LookupMissError`,
    :class:`~deidengine.dicom.apply.RejectedError`, :class:`~deidengine.dicom.apply.ActionError`)
    and :class:`LeanUnsupported` for a file only the Dataset path can treat (see the module).
    """
    if _mixed_encoding(table):
        raise LeanUnsupported("an item encoded otherwise than its file")
    columns = tuple(SR_OPTION_COLUMNS[c] for c in context.plan.codes if c in SR_OPTION_COLUMNS)
    state = _FileState(
        context=context,
        facts=FileFacts.of(context.plan, snapshot, None),
        identifying=identifying,
        sop_class=None,
        patient_key="",
        counts=Counter(),
        sr_actions=sr_concept_actions(),
        sr_columns=columns,
    )
    builder = _Builder(table, state)
    sop_class = builder.top_text(SOP_CLASS_UID) or None
    state.sop_class = sop_class
    state.facts = FileFacts.of(context.plan, snapshot, sop_class)
    state.patient_key = patient_key_of(builder.top_text)
    builder.walk(TOP, (), (), TOP_SCOPE)
    builder.drop_orphaned_overlay_planes()
    builder.drop_orphaned_instance_references()
    return TableHeader(builder.edits(), header_outcome(state))
