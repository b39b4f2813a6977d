"""The one answer to "what happens to this element, and why" (deidengine.dicom.decision).

Every step of the cascade, with the exact action, reason and item scope it gives; the compound
codes resolved by the attribute's Type in the file's IOD (PS3.15 Table E.1-1a, the Types read
from the standard's tables); and the engine and the verifier reading the same answer.
"""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path
from typing import NamedTuple

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from deidengine.dicom.apply import EngineContext, apply_plan
from deidengine.dicom.conditions import ConditionSnapshot
from deidengine.dicom.decision import (
    TOP,
    Cleaning,
    Decision,
    FileFacts,
    Reason,
    Scope,
    decide,
    remaps_unlisted_uids,
)
from deidengine.dicom.identifiers import IdentifyingValues
from deidengine.dicom.keys import ProjectSecret
from deidengine.policy import load_plan
from deidengine.policy.ast import ActionKind
from deidengine.policy.plan import Plan
from deidengine.standard.dictionary import is_unknown_public
from deidengine.standard.iod import attribute_type
from deidengine.text.header import clean_header_text
from deidengine.verify.conformance import plan_decisions

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
#: Even-group tags the data dictionary does not define (checked below, not assumed).
UNKNOWN_LO = 0x00089999
UNKNOWN_UI = 0x00101999
FRAME_OF_REFERENCE_UID = 0x00200052  # no rule names it in the test plans
STUDY_COMMENTS = 0x00324000  # LO-like text no rule names
PRIVATE_LO = 0x00291010  # in the ACME block (0029,0010)
PRIVATE_UI = 0x00291011
PRIVATE_UNRULED = 0x00291020  # in the ACME block, no rule names it

RULES = """\
(0010,0010) PatientName -> Z
(0008,1030) StudyDescription -> C
(0008,103E) SeriesDescription -> clean strict
(0040,0275) RequestAttributesSequence -> K
(0008,1115) ReferencedSeriesSequence -> U
(0040,A730) ContentSequence -> C
(0008,0020) StudyDate -> C
(0008,0030) StudyTime -> C
private "ACME" (0029,xx10) -> C
"""


def _plan(folder: Path, name: str, text: str) -> Plan:
    path = folder / f"{name}.policy"
    path.write_text(f"policy {name}\n{text}", encoding="utf-8")
    return load_plan(str(path))


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Plan]:
    folder = tmp_path_factory.mktemp("plans")
    return {
        # No rule for SOP Instance UID: unlisted UIDs are not remapped.
        "plain": _plan(folder, "plain", RULES),
        "remapping": _plan(folder, "remapping", RULES + "(0008,0018) SOPInstanceUID -> U\n"),
    }


def _facts(plan: Plan, sop_class: str | None = CT_IMAGE) -> FileFacts:
    return FileFacts.of(plan, ConditionSnapshot.of(Dataset(), plan.condition_tags), sop_class)


class Case(NamedTuple):
    plan: str
    tag: int
    vr: str
    scope: Scope
    kind: ActionKind
    reason: Reason
    chosen: ActionKind
    cleaning: Cleaning | None = None
    defaulted: bool = False
    items: Scope | None = None
    strict: bool = False


CLEAN = Scope(clean=True)
DUMMY = Scope(dummy=True)
REMAP = Scope(remap=True)
STRICT_CLEAN = Scope(clean=True, strict=True)

K, X, Z, D, U, C = (
    ActionKind.KEEP,
    ActionKind.REMOVE,
    ActionKind.EMPTY,
    ActionKind.DUMMY,
    ActionKind.REMAP_UID,
    ActionKind.CLEAN,
)
SCRUB, SHIFT = ActionKind.SCRUB, ActionKind.SHIFT_DATE

CASES: dict[str, Case] = {
    # 1. the plan's rule, before any scope
    "rule-empties": Case("plain", 0x00100010, "PN", TOP, Z, Reason.RULE, Z),
    "rule-beats-dummy-scope": Case("plain", 0x00100010, "PN", DUMMY, Z, Reason.RULE, Z),
    "rule-clean-text": Case("plain", 0x00081030, "LO", TOP, SCRUB, Reason.RULE, C, Cleaning.TEXT),
    "rule-clean-strict": Case(
        "plain", 0x0008103E, "LO", TOP, SCRUB, Reason.RULE, C, Cleaning.TEXT, strict=True
    ),
    "rule-clean-date": Case("plain", 0x00080020, "DA", TOP, SHIFT, Reason.RULE, C, Cleaning.DATE),
    "rule-clean-time-keeps-it": Case(
        "plain", 0x00080030, "TM", TOP, K, Reason.RULE, C, Cleaning.TIME
    ),
    "rule-clean-private-removes": Case(
        "plain", PRIVATE_LO, "LO", TOP, X, Reason.RULE, C, Cleaning.PRIVATE
    ),
    "rule-clean-sequence": Case(
        "plain", 0x0040A730, "SQ", TOP, SCRUB, Reason.RULE, C, Cleaning.ITEMS, items=CLEAN
    ),
    "rule-clean-sequence-in-strict-scope": Case(
        "plain",
        0x0040A730,
        "SQ",
        STRICT_CLEAN,
        SCRUB,
        Reason.RULE,
        C,
        Cleaning.ITEMS,
        items=STRICT_CLEAN,
        strict=True,
    ),
    "rule-keep-passes-clean-scope-on": Case(
        "plain", 0x00400275, "SQ", CLEAN, K, Reason.RULE, K, items=CLEAN
    ),
    "rule-keep-ends-remap-scope": Case(
        "plain", 0x00400275, "SQ", Scope(remap=True, dummy=True), K, Reason.RULE, K, items=DUMMY
    ),
    "rule-remap-sequence": Case(
        "plain", 0x00081115, "SQ", CLEAN, U, Reason.RULE, U, items=Scope(clean=True, remap=True)
    ),
    # 2. remap scope: every UID no rule names, private too
    "remap-scope": Case("plain", FRAME_OF_REFERENCE_UID, "UI", REMAP, U, Reason.REMAP_SCOPE, U),
    "remap-scope-private": Case("plain", PRIVATE_UI, "UI", REMAP, U, Reason.REMAP_SCOPE, U),
    "remap-scope-unknown-public": Case("plain", UNKNOWN_UI, "UI", REMAP, U, Reason.REMAP_SCOPE, U),
    # 3. unlisted UIDs, when the plan remaps SOP Instance UIDs: the verifier holds them to the
    # default outside a dummy or clean scope, and in private elements
    "unlisted-uid": Case(
        "remapping", FRAME_OF_REFERENCE_UID, "UI", TOP, U, Reason.UNLISTED_UID, U, defaulted=True
    ),
    "unlisted-uid-unknown-public": Case(
        "remapping", UNKNOWN_UI, "UI", TOP, U, Reason.UNLISTED_UID, U, defaulted=True
    ),
    "unlisted-uid-private-in-clean-scope": Case(
        "remapping", PRIVATE_UI, "UI", CLEAN, U, Reason.UNLISTED_UID, U, defaulted=True
    ),
    "unlisted-uid-in-dummy-scope": Case(
        "remapping", FRAME_OF_REFERENCE_UID, "UI", DUMMY, U, Reason.UNLISTED_UID, U
    ),
    "unlisted-uid-in-clean-scope": Case(
        "remapping", FRAME_OF_REFERENCE_UID, "UI", CLEAN, U, Reason.UNLISTED_UID, U
    ),
    # 4. what the data dictionary does not define
    "unknown-public": Case("plain", UNKNOWN_LO, "LO", TOP, X, Reason.UNKNOWN_PUBLIC, X),
    "unknown-public-uid": Case("plain", UNKNOWN_UI, "UI", TOP, X, Reason.UNKNOWN_PUBLIC, X),
    "unknown-public-before-dummy-scope": Case(
        "plain", UNKNOWN_LO, "LO", DUMMY, X, Reason.UNKNOWN_PUBLIC, X
    ),
    # 5. dummy scope, by VR
    "dummy-text": Case("plain", STUDY_COMMENTS, "LT", DUMMY, D, Reason.DUMMY_SCOPE, D),
    "dummy-date": Case("plain", 0x00080021, "DA", DUMMY, D, Reason.DUMMY_SCOPE, D),
    "dummy-time": Case("plain", 0x00080031, "TM", DUMMY, D, Reason.DUMMY_SCOPE, D),
    "dummy-uid": Case("plain", FRAME_OF_REFERENCE_UID, "UI", DUMMY, U, Reason.DUMMY_SCOPE, U),
    "dummy-coded-string": Case("plain", 0x00080060, "CS", DUMMY, K, Reason.DUMMY_SCOPE, K),
    "dummy-number": Case("plain", 0x00280010, "US", DUMMY, K, Reason.DUMMY_SCOPE, K),
    "dummy-bytes": Case("plain", 0x00420011, "OB", DUMMY, X, Reason.DUMMY_SCOPE, X),
    "dummy-sequence": Case("plain", 0x00081032, "SQ", DUMMY, D, Reason.DUMMY_SCOPE, D, items=DUMMY),
    "dummy-before-clean-scope": Case(
        "plain", STUDY_COMMENTS, "LT", Scope(clean=True, dummy=True), D, Reason.DUMMY_SCOPE, D
    ),
    "dummy-scope-skips-private": Case(
        "plain", PRIVATE_UNRULED, "LO", DUMMY, K, Reason.DEFAULT_KEEP, K, defaulted=True
    ),
    # 6. clean scope, by VR
    "clean-text": Case(
        "plain", STUDY_COMMENTS, "LT", CLEAN, SCRUB, Reason.CLEAN_SCOPE, C, Cleaning.TEXT
    ),
    "clean-text-strictly": Case(
        "plain",
        STUDY_COMMENTS,
        "LT",
        STRICT_CLEAN,
        SCRUB,
        Reason.CLEAN_SCOPE,
        C,
        Cleaning.TEXT,
        strict=True,
    ),
    "clean-date": Case(
        "plain", 0x00080021, "DA", CLEAN, SHIFT, Reason.CLEAN_SCOPE, C, Cleaning.DATE
    ),
    "clean-time": Case("plain", 0x00080031, "TM", CLEAN, K, Reason.CLEAN_SCOPE, C, Cleaning.TIME),
    "clean-uid": Case(
        "plain", FRAME_OF_REFERENCE_UID, "UI", CLEAN, U, Reason.CLEAN_SCOPE, C, Cleaning.UID
    ),
    "clean-coded-string": Case(
        "plain", 0x00080060, "CS", CLEAN, K, Reason.CLEAN_SCOPE, C, Cleaning.CODED
    ),
    "clean-bytes": Case("plain", 0x00420011, "OB", CLEAN, X, Reason.CLEAN_SCOPE, C, Cleaning.BYTES),
    "clean-sequence": Case(
        "plain", 0x00081032, "SQ", CLEAN, SCRUB, Reason.CLEAN_SCOPE, C, Cleaning.ITEMS, items=CLEAN
    ),
    "clean-scope-skips-private": Case(
        "plain", PRIVATE_UNRULED, "LO", CLEAN, K, Reason.DEFAULT_KEEP, K, defaulted=True
    ),
    # 7. kept by default
    "default-keep": Case(
        "plain", STUDY_COMMENTS, "LT", TOP, K, Reason.DEFAULT_KEEP, K, defaulted=True
    ),
    "default-keep-uid": Case(
        "plain", FRAME_OF_REFERENCE_UID, "UI", TOP, K, Reason.DEFAULT_KEEP, K, defaulted=True
    ),
    "default-keep-sequence": Case(
        "plain", 0x00081032, "SQ", TOP, K, Reason.DEFAULT_KEEP, K, defaulted=True, items=TOP
    ),
}


def test_the_unknown_tags_are_unknown() -> None:
    assert is_unknown_public(UNKNOWN_LO) and is_unknown_public(UNKNOWN_UI)
    assert not is_unknown_public(STUDY_COMMENTS) and not is_unknown_public(FRAME_OF_REFERENCE_UID)


def test_the_plans_differ_only_in_remapping_unlisted_uids(plans: dict[str, Plan]) -> None:
    assert not remaps_unlisted_uids(plans["plain"])
    assert remaps_unlisted_uids(plans["remapping"])


@pytest.mark.parametrize("name", list(CASES))
def test_each_step_of_the_cascade(name: str, plans: dict[str, Plan]) -> None:
    case = CASES[name]
    private = case.tag >> 16 == 0x0029
    key = ("ACME", 0x0029, case.tag & 0xFF) if private else None
    tag_path = (0x00081032, case.tag) if case.scope != TOP else (case.tag,)
    got = decide(
        _facts(plans[case.plan]), case.tag, case.vr, (), tag_path, case.scope, private, key
    )
    assert (got.kind, got.reason, got.chosen, got.cleaning) == (
        case.kind,
        case.reason,
        case.chosen,
        case.cleaning,
    )
    assert (got.defaulted, got.items, got.strict) == (case.defaulted, case.items, case.strict)
    assert got.kind not in (ActionKind.COMPOUND, ActionKind.CLEAN)
    assert got.verified_kind is (ActionKind.KEEP if case.defaulted else case.kind)
    assert (got.rule is not None) is (case.reason is Reason.RULE)
    if got.rule is None:
        assert got.label == f"default-{case.chosen.value}"
    else:
        assert got.label == got.rule.action.label


def test_a_decision_is_immutable(plans: dict[str, Plan]) -> None:
    got = decide(_facts(plans["plain"]), STUDY_COMMENTS, "LT", (), (STUDY_COMMENTS,), TOP, False)
    with pytest.raises(AttributeError):
        got.kind = ActionKind.REMOVE  # type: ignore[misc]
    assert isinstance(got, Decision)


# ---------------------------------------------------------------------------- compound codes
class Compound(NamedTuple):
    code: str
    tag_path: tuple[int, ...]
    vr: str
    type_: str  # the attribute's strictest Type in the CT Image IOD (PS3.3), checked below
    letter: str  # what PS3.15 Table E.1-1a makes of the code for that Type
    kind: ActionKind


SOP_INSTANCE_UID = 0x00080018  # Type 1 in every IOD
STUDY_DATE = 0x00080020  # Type 2 in the General Study Module
ACQUISITION_DATE = 0x00080022  # Type 3 in the General Image Module
CONTENT_DATE = 0x00080023  # Type 2C in CT, Type 1 in an Enhanced SR
ENHANCED_SR = "1.2.840.10008.5.1.4.1.1.88.22"
PROCEDURE_CODE_INSTITUTION = (0x00080096, 0x00080080)  # a nested 1C

COMPOUNDS = (
    Compound("X/Z/D", (SOP_INSTANCE_UID,), "UI", "1", "D", ActionKind.DUMMY),
    Compound("X/Z/D", (STUDY_DATE,), "DA", "2", "Z", ActionKind.EMPTY),
    Compound("X/Z/D", (ACQUISITION_DATE,), "DA", "3", "X", ActionKind.REMOVE),
    Compound("X/Z/D", (CONTENT_DATE,), "DA", "2C", "Z", ActionKind.EMPTY),
    # The preferred option not among the code's letters: the one that keeps the object valid,
    # else the one that keeps the least.
    Compound("X/Z", (SOP_INSTANCE_UID,), "UI", "1", "Z", ActionKind.EMPTY),
    Compound("X/D", (STUDY_DATE,), "DA", "2", "D", ActionKind.DUMMY),
    Compound("Z/D", (ACQUISITION_DATE,), "DA", "3", "Z", ActionKind.EMPTY),
    Compound("X/Z/U*", (SOP_INSTANCE_UID,), "UI", "1", "U", ActionKind.REMAP_UID),
    Compound("X/Z/U*", (ACQUISITION_DATE,), "DA", "3", "X", ActionKind.REMOVE),
    # Inside a sequence: the Type of the attribute at that path.
    Compound("X/Z/D", PROCEDURE_CODE_INSTITUTION, "LO", "1C", "D", ActionKind.DUMMY),
)


@pytest.fixture(scope="module")
def compound_plans(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, int], Plan]:
    folder = tmp_path_factory.mktemp("compound")
    made: dict[tuple[str, int], Plan] = {}
    for index, case in enumerate(COMPOUNDS):
        tag = case.tag_path[-1]
        rule = f"({tag >> 16:04X},{tag & 0xFFFF:04X}) -> {case.code}\n"
        made[(case.code, tag)] = _plan(folder, f"compound{index}", rule)
    return made


@pytest.mark.parametrize("case", COMPOUNDS, ids=lambda c: f"{c.code}-type{c.type_}")
def test_compound_codes_resolve_by_the_attributes_type_in_the_iod(
    case: Compound, compound_plans: dict[tuple[str, int], Plan]
) -> None:
    assert attribute_type(CT_IMAGE, case.tag_path) == case.type_  # the standard's table
    plan = compound_plans[(case.code, case.tag_path[-1])]
    path = ((case.tag_path[0], 0),) if len(case.tag_path) > 1 else ()
    tag = case.tag_path[-1]
    got = decide(_facts(plan), tag, case.vr, path, case.tag_path, TOP, False)
    assert (got.reason, got.chosen, got.code, got.kind) == (
        Reason.RULE,
        ActionKind.COMPOUND,
        case.letter,
        case.kind,
    )
    assert got.label == case.code


def test_a_compound_resolves_per_file(compound_plans: dict[tuple[str, int], Plan]) -> None:
    """One rule, two IODs: the answer cached for one file is not another file's."""
    plan = compound_plans[("X/Z/D", CONTENT_DATE)]
    args = (CONTENT_DATE, "DA", (), (CONTENT_DATE,), TOP, False)
    assert attribute_type(ENHANCED_SR, (CONTENT_DATE,)) == "1"
    # An unknown SOP Class: the strictest Type over all IODs.
    assert attribute_type(None, (CONTENT_DATE,)) == "1"
    assert decide(_facts(plan, CT_IMAGE), *args).code == "Z"
    assert decide(_facts(plan, ENHANCED_SR), *args).code == "D"
    assert decide(_facts(plan, None), *args).code == "D"
    assert decide(_facts(plan, CT_IMAGE), *args).code == "Z"


VIDEO_ENDOSCOPIC = "1.2.840.10008.5.1.4.1.1.77.1.1.1"


@pytest.mark.parametrize(
    ("sop_class", "type_", "letter", "items"),
    [(CT_IMAGE, "3", "X", None), (VIDEO_ENDOSCOPIC, "1C", "U", Scope(remap=True))],
)
def test_a_compound_on_a_sequence_walks_its_items_only_when_it_keeps_them(
    sop_class: str, type_: str, letter: str, items: Scope | None
) -> None:
    """The Basic Profile's X/Z/U* on Referenced Image Sequence: removed where the IOD does not
    require it; where it does, kept with every UID in its items remapped."""
    plan = load_plan("annex-e/basic")
    referenced_images = 0x00081140
    assert attribute_type(sop_class, (referenced_images,)) == type_
    facts = _facts(plan, sop_class)
    got = decide(facts, referenced_images, "SQ", (), (referenced_images,), TOP, False)
    assert (got.code, got.items) == (letter, items)


# ---------------------------------------------------------------------------- both readers
def _dataset() -> Dataset:
    dataset = Dataset()
    dataset.SOPClassUID = CT_IMAGE
    dataset.SOPInstanceUID = "1.2.826.0.1.3680043.9.7.100.1"
    dataset.FrameOfReferenceUID = "1.2.826.0.1.3680043.9.7.200.1"  # unlisted
    dataset.StudyComments = "kept by default"
    item = Dataset()
    item.StudyComments = "cleaned in the item"
    item.StudyTime = "101010"
    item.Modality = "CT"
    item.FrameOfReferenceUID = "1.2.826.0.1.3680043.9.7.200.2"
    dataset.ContentSequence = Sequence([item])
    dataset.add_new(UNKNOWN_LO, "LO", "unknown public")
    return dataset


def test_the_engine_and_the_verifier_read_the_same_answer(plans: dict[str, Plan]) -> None:
    """The engine's audit labels and the verifier's kinds, element by element, for a file
    whose answers come from the rule, unlisted-UID, unknown-public, clean-scope and default
    steps."""
    plan = plans["remapping"]
    context = EngineContext(
        plan=plan, secret=ProjectSecret(b"k" * 32), text_cleaner=clean_header_text
    )
    dataset = _dataset()
    outcome = apply_plan(dataset, context, IdentifyingValues())
    assert outcome.actions == {
        "default-keep": 1,  # Study Comments
        "U": 1,
        # SOP Class UID (a registry UID: unchanged) and the two Frame of Reference UIDs
        "default-remap-uid": 3,
        "C": 2,  # Content Sequence, and Study Time in its item
        "default-clean": 2,  # the item's Study Comments and Modality
        "default-remove": 1,
    }
    buffer = io.BytesIO()
    dataset.save_as(buffer, implicit_vr=False, little_endian=True)
    output = pydicom.dcmread(io.BytesIO(buffer.getvalue()), force=True)
    seen = {d.location: (d.kind, d.defaulted) for d in plan_decisions(output, plan)}
    assert seen == {
        "(0008,0016)": (ActionKind.KEEP, True),
        "(0008,0018)": (ActionKind.REMAP_UID, False),
        # Unlisted, outside a scope: the engine remapped it; the verifier holds it to the
        # default (its UID check wants it remapped).
        "(0020,0052)": (ActionKind.KEEP, True),
        "(0032,4000)": (ActionKind.KEEP, True),
        "(0040,A730)": (ActionKind.SCRUB, False),
        "(0040,A730)[0].(0008,0030)": (ActionKind.KEEP, False),  # C keeps a time of day
        "(0040,A730)[0].(0008,0060)": (ActionKind.KEEP, False),  # coded: kept
        "(0040,A730)[0].(0020,0052)": (ActionKind.REMAP_UID, False),
        "(0040,A730)[0].(0032,4000)": (ActionKind.SCRUB, False),
    }


# ---------------------------------------------------------------------------- shared answers
REQUESTED_PROCEDURE_DESCRIPTION = 0x00321060
REQUEST_ATTRIBUTES = 0x00400275


def test_a_plan_without_conditions_shares_its_answers_across_files(
    plans: dict[str, Plan], tmp_path: Path
) -> None:
    """One memo per plan, for every file; none for a plan whose answers read a file's values."""
    plain = plans["plain"]
    assert _facts(plain).answers is _facts(plain, None).answers is not None
    assert _facts(plain).answers is not _facts(plans["remapping"]).answers
    conditional = _plan(tmp_path, "conditional", RULES + "StudyComments when Modality == CT -> X\n")
    assert _facts(conditional).answers is None


@pytest.mark.parametrize("name", CASES)
def test_a_shared_answer_is_the_answer_made_for_the_file(name: str, plans: dict[str, Plan]) -> None:
    """Asked twice (the second from the memo), each case answers as the cascade makes it."""
    case = CASES[name]
    facts = _facts(plans[case.plan])
    unshared = dataclasses.replace(facts, answers=None)
    private = bool((case.tag >> 16) & 1)
    key = ("ACME", case.tag >> 16, case.tag & 0xFF) if private else None
    args = (case.tag, case.vr, (), (case.tag,), case.scope, private, key)
    made = decide(unshared, *args)
    assert decide(facts, *args) == made
    assert decide(facts, *args) == made


def test_a_path_rule_keys_the_shared_answer_by_the_path(tmp_path: Path) -> None:
    """A tag a path rule names answers by where it stands: the same tag chain in another item
    is another question."""
    plan = _plan(tmp_path, "paths", RULES + "(0040,0275)[1].(0032,1060) -> X\n")
    facts = _facts(plan)
    chain = (REQUEST_ATTRIBUTES, REQUESTED_PROCEDURE_DESCRIPTION)

    def kind(item: int) -> ActionKind:
        path = ((REQUEST_ATTRIBUTES, item),)
        return decide(facts, chain[-1], "LO", path, chain, TOP, False).kind

    assert [kind(0), kind(1), kind(0), kind(1)] == [K, X, K, X]
