"""What happens to one element of a header, and why: the one answer both readers of a plan use.

The header stage (:mod:`deidengine.dicom.apply`) acts on the answer; the verifier's conformance
check (:mod:`deidengine.verify.conformance`) holds an output to it. Both call :func:`decide` for
every element they walk, and walk a sequence's items in the :class:`Scope` the answer gives, so
the two cannot disagree on what the plan means.

The answer for one element, in order (PS3.15 E.1.1, E.3):

1. **The plan's rule** (:attr:`Reason.RULE`): the first rule, in precedence order, whose
   condition holds for the input. A compound code (``X/Z``, ``X/Z/D``, ...) resolves to one of its
   members by the attribute's Type in the file's IOD (PS3.15 Table E.1-1a, through
   :func:`~deidengine.standard.iod.resolve_compound_action`); ``C`` (clean) resolves by the VR
   (:data:`CLEANING_BY_VR`), and a private element is removed (E.3.10).
2. **Remap scope** (:attr:`Reason.REMAP_SCOPE`): in the items of a sequence a ``U`` (remap-uid)
   acts on, every UID no rule names is remapped, private or not.
3. **An unlisted UID** (:attr:`Reason.UNLISTED_UID`): when the plan remaps SOP Instance UIDs
   (:func:`remaps_unlisted_uids`), a UID no rule names (a newer attribute, a vendor's extension
   in a standard group) is an instance identifier too and is remapped, private or not, and even
   where the data dictionary does not define it.
4. **An unknown public element** (:attr:`Reason.UNKNOWN_PUBLIC`): a standard element the data
   dictionary does not define is removed: nothing vouches for what it holds.
5. **Dummy scope** (:attr:`Reason.DUMMY_SCOPE`): in the items of a sequence ``D`` keeps (the IOD
   requires it), a standard element gets a dummy value by its VR (:data:`DUMMY_SCOPE_KINDS`).
6. **Clean scope** (:attr:`Reason.CLEAN_SCOPE`): in the items of a sequence ``C`` or ``scrub``
   cleans, a standard element is cleaned by its VR.
7. **Kept by default** (:attr:`Reason.DEFAULT_KEEP`): what nothing selects is kept as read.

Private elements are never changed by a scope (5, 6): only rules (and the UID remaps, 2, 3)
reach them. Private creators (gggg,0010-00FF) are not decided here: a creator stays while its
block holds an element. Group lengths and (at the top level) the pixels are each reader's own
business too.

Where the two readers differ, the difference is in this module, named:

- ``C`` on a time (TM) is :attr:`Cleaning.TIME`: the engine leaves the value (a whole-day shift
  keeps the time of day) but records that dates were modified; the verifier sees a keep.
- ``C`` on a coded string or a number is :attr:`Cleaning.CODED`: the engine leaves the value and,
  unlike ``K``, does not record it as kept (kept by a rule, or by default); the verifier sees a
  keep. Only a *chosen* replacing action (:attr:`Decision.chosen` in :data:`REPLACING_ACTIONS`)
  marks a value as the policy's output: a ``C`` that remaps a UID or shifts a date does not.
- An unlisted UID (3) outside a dummy or clean scope, or in a private element, is
  :attr:`Decision.defaulted` for the verifier: no rule names it, so the verifier holds it to the
  default for UIDs (its UID check requires it remapped) and reads it as untouched, rather than
  taking the plan's remap as a replacement by construction. Inside a dummy or clean scope a
  standard element's UID is remapped by that scope too, and is not defaulted.
- Strictness (:attr:`Scope.strict`) matters to the engine's text stage only.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, NamedTuple

from deidengine.dicom.conditions import ConditionSnapshot, first_applicable
from deidengine.policy import ast
from deidengine.policy.ast import ActionKind
from deidengine.policy.plan import Plan, PlannedRule, PrivateKey
from deidengine.standard.dictionary import is_unknown_public
from deidengine.standard.iod import resolve_compound_action
from deidengine.standard.vr_classes import CODED_VRS, DATE_TIME_VRS, TEXT_VRS

__all__ = [
    "CLEANED_KINDS",
    "CLEANING_BY_VR",
    "DEFAULT_LABELS",
    "DUMMY_SCOPE_KINDS",
    "REPLACING_ACTIONS",
    "TOP",
    "UNSELECTED",
    "Cleaning",
    "Decision",
    "FileFacts",
    "Reason",
    "Scope",
    "decide",
    "remaps_unlisted_uids",
]

SOP_INSTANCE_UID = 0x00080018


class Reason(enum.Enum):
    """Why an element gets its action: the step of the answer that decided it."""

    RULE = "rule"
    REMAP_SCOPE = "remap-scope"
    UNLISTED_UID = "unlisted-uid"
    UNKNOWN_PUBLIC = "unknown-public"
    DUMMY_SCOPE = "dummy-scope"
    CLEAN_SCOPE = "clean-scope"
    DEFAULT_KEEP = "default-keep"


class Cleaning(enum.Enum):
    """How ``C`` (clean: keep the meaning, drop what identifies) treats one element."""

    ITEMS = "items"  # SQ: its items are walked in clean scope
    TEXT = "text"  # free text: the text stage removes what identifies
    DATE = "date"  # DA, DT: moved by the patient's keyed offset
    TIME = "time"  # TM: a whole-day shift keeps the time of day; dates count as modified
    UID = "uid"  # UI: remapped
    CODED = "coded"  # coded strings and numbers: masking breaks them; kept
    BYTES = "bytes"  # overlays, curves, unknown bytes: they cannot be cleaned, so removed
    PRIVATE = "private"  # PS3.15 E.3.10: a private element not known to be safe is removed


#: ``C`` by VR; a VR not listed holds bytes (:attr:`Cleaning.BYTES`).
CLEANING_BY_VR: Final[Mapping[str, Cleaning]] = MappingProxyType(
    {
        "SQ": Cleaning.ITEMS,
        "DA": Cleaning.DATE,
        "DT": Cleaning.DATE,
        "TM": Cleaning.TIME,
        "UI": Cleaning.UID,
        **{vr: Cleaning.TEXT for vr in TEXT_VRS - CODED_VRS},
        **{vr: Cleaning.CODED for vr in CODED_VRS},
    }
)

#: What each way of cleaning amounts to, as an action the verifier can check.
CLEANED_KINDS: Final[Mapping[Cleaning, ActionKind]] = MappingProxyType(
    {
        Cleaning.ITEMS: ActionKind.SCRUB,
        Cleaning.TEXT: ActionKind.SCRUB,
        Cleaning.DATE: ActionKind.SHIFT_DATE,
        Cleaning.TIME: ActionKind.KEEP,
        Cleaning.UID: ActionKind.REMAP_UID,
        Cleaning.CODED: ActionKind.KEEP,
        Cleaning.BYTES: ActionKind.REMOVE,
        Cleaning.PRIVATE: ActionKind.REMOVE,
    }
)

#: Inside a D sequence, what a standard element without a rule of its own gets, by VR; a VR
#: not listed (bytes) is removed. Coded strings and numbers stay, so the structure stays valid.
DUMMY_SCOPE_KINDS: Final[Mapping[str, ActionKind]] = MappingProxyType(
    {
        **{vr: ActionKind.DUMMY for vr in TEXT_VRS - CODED_VRS},
        **{vr: ActionKind.DUMMY for vr in DATE_TIME_VRS},
        "UI": ActionKind.REMAP_UID,
        "SQ": ActionKind.DUMMY,
        **{vr: ActionKind.KEEP for vr in CODED_VRS},
    }
)

#: Actions that replace a value by construction (keyed, dummy, year-only, ...): what is left
#: is the policy's output, even when it happens to equal the input.
REPLACING_ACTIONS: Final = frozenset(
    {
        ActionKind.DUMMY,
        ActionKind.REMAP_UID,
        ActionKind.SHIFT_DATE,
        ActionKind.KEEP_YEAR,
        ActionKind.PSEUDONYM,
        ActionKind.LOOKUP,
        ActionKind.SET,
        ActionKind.HASH,
        ActionKind.CAP_AGE,
        ActionKind.TRUNCATE_ZIP,
    }
)


#: How an action chosen without a rule is counted.
DEFAULT_LABELS: Final = MappingProxyType({kind: f"default-{kind.value}" for kind in ActionKind})


class Scope(NamedTuple):
    """What the sequences enclosing an element do to what no rule selects in their items.

    A named tuple: the answers are cached by scope, and a tuple hashes in C.
    """

    #: Standard elements are cleaned (an enclosing ``C`` or ``scrub``).
    clean: bool = False
    #: UIDs are remapped (an enclosing ``U``).
    remap: bool = False
    #: Standard elements get dummy values (an enclosing ``D`` the IOD requires items of).
    dummy: bool = False
    #: Text is cleaned strictly (an enclosing strict ``clean`` or ``scrub`` rule).
    strict: bool = False


#: The scope of a dataset's top level (and of its file meta).
TOP: Final = Scope()


def _keep_items(scope: Scope, strict: bool) -> Scope:
    # Keep passes on what cleans and what dummies; the remap ends with its sequence.
    return Scope(clean=scope.clean, dummy=scope.dummy, strict=scope.strict)


def _clean_items(scope: Scope, strict: bool) -> Scope:
    # A cleaned sequence starts a clean scope (a remap ends with its sequence).
    return Scope(clean=True, dummy=scope.dummy, strict=strict)


def _dummy_items(scope: Scope, strict: bool) -> Scope:
    # D on a sequence the IOD requires keeps its items with dummy values (else the engine
    # empties it, and there is nothing to walk). Cleaning and remapping end there.
    return Scope(dummy=True, strict=scope.strict)


def _remap_items(scope: Scope, strict: bool) -> Scope:
    return Scope(clean=scope.clean, remap=True, dummy=scope.dummy, strict=scope.strict)


#: The actions after which a sequence's items are walked, and the scope they are walked in
#: (from the enclosing scope and the element's strictness). Other actions leave no items to
#: walk (removed, emptied) or replace the sequence whole.
ITEM_SCOPES: Final[Mapping[ActionKind, Callable[[Scope, bool], Scope]]] = MappingProxyType(
    {
        ActionKind.KEEP: _keep_items,
        ActionKind.SCRUB: _clean_items,
        ActionKind.DUMMY: _dummy_items,
        ActionKind.REMAP_UID: _remap_items,
    }
)


@dataclass(frozen=True, slots=True)
class FileFacts:
    """What the answer reads besides the element: the plan, the input's condition values and
    the file's IOD (its SOP Class)."""

    plan: Plan
    snapshot: ConditionSnapshot
    sop_class: str | None
    #: :func:`remaps_unlisted_uids` of the plan.
    remap_unlisted_uids: bool
    #: The plan's whole answers, shared by every file of the plan (see :func:`decide`), when no
    #: rule of the plan has a condition; None when one has (the answers then depend on each
    #: file's values).
    answers: dict[tuple[object, ...], Decision] | None = field(default=None, compare=False)
    #: The tags a path rule of the plan names (their answers depend on the path too).
    path_tags: frozenset[int] = field(default=frozenset(), compare=False)

    @classmethod
    def of(cls, plan: Plan, snapshot: ConditionSnapshot, sop_class: str | None) -> FileFacts:
        remap, answers, path_tags = _plan_traits(plan)
        return cls(plan, snapshot, sop_class, remap, answers, path_tags)


#: Per plan (by id, the plan kept so that no other plan can take its id while the entry
#: lives): :func:`remaps_unlisted_uids`, and the memo of its answers when it has no
#: conditional rule. Cleared when full (a long-lived process may see many plans).
_PLANS: dict[int, tuple[Plan, bool, dict[tuple[object, ...], Decision] | None, frozenset[int]]] = {}
PLAN_LIMIT: Final = 64


def _plan_traits(
    plan: Plan,
) -> tuple[bool, dict[tuple[object, ...], Decision] | None, frozenset[int]]:
    found = _PLANS.get(id(plan))
    if found is None or found[0] is not plan:
        if len(_PLANS) >= PLAN_LIMIT:
            _PLANS.clear()
        unconditional = all(rule.condition is None for rule in plan.rules)
        answers: dict[tuple[object, ...], Decision] | None = {} if unconditional else None
        path_tags = frozenset(plan.by_path_tag)
        found = _PLANS[id(plan)] = (plan, remaps_unlisted_uids(plan), answers, path_tags)
    return found[1], found[2], found[3]


@dataclass(frozen=True, slots=True)
class Decision:
    """What happens to one element, and why."""

    #: The action, resolved for this file: never ``compound`` or ``clean``.
    kind: ActionKind
    reason: Reason
    #: What the rule or the answer's step chose, before resolution (``compound``, ``clean``
    #: or :attr:`kind`): the audit counts it, and only a chosen replacing action
    #: (:data:`REPLACING_ACTIONS`) marks the value as the policy's output.
    chosen: ActionKind
    rule: PlannedRule | None = None
    #: A compound code's resolution: the Table E.1-1a letter the IOD picked.
    code: str | None = None
    #: How ``C`` treats the element, when ``C`` (a rule, a compound or a clean scope) chose.
    cleaning: Cleaning | None = None
    #: The text stage cleans the value strictly (a strict rule, or a strict enclosing scope).
    strict: bool = False
    #: A sequence's items are walked in this scope (``None``: they are not walked).
    items: Scope | None = None
    #: No rule and no scope chose the action: the verifier holds the element to the plan's
    #: default (a UID must be remapped; a value is read as untouched by the leak scan).
    defaulted: bool = False
    #: How the audit counts the action: the rule's code or verb, else ``default-<chosen>``.
    label: str = ""
    #: How the audit counts a compound code's resolution (the rule's code, an arrow, the
    #: letter: ``X/Z→Z``), made with the answer; None for any other answer.
    compound_label: str | None = None

    @property
    def verified_kind(self) -> ActionKind:
        """The action the verifier holds the element to: a defaulted element is kept."""
        return ActionKind.KEEP if self.defaulted else self.kind


def remaps_unlisted_uids(plan: Plan) -> bool:
    """Whether a UID no rule names is remapped: when the plan remaps SOP Instance UIDs (by
    ``U`` or by ``C``, which remaps a UID). Registry UIDs pass through a remap unchanged."""
    first = plan.candidates(SOP_INSTANCE_UID, "UI")
    return bool(first) and first[0].action.kind in (ActionKind.REMAP_UID, ActionKind.CLEAN)


def _items(kind: ActionKind, vr: str, scope: Scope, strict: bool) -> Scope | None:
    if vr != "SQ":
        return None
    inner = ITEM_SCOPES.get(kind)
    return None if inner is None else inner(scope, strict)


#: The answers, made once per (rule, VR, privateness, scope[, IOD and place for a compound]):
#: a file's elements ask the same few questions many times over. Keyed by the rule's id: an
#: entry holds its rule, so no other rule can take that id while the entry lives. Cleared
#: when full (a long-lived process may see many plans).
_RULED: dict[tuple[object, ...], Decision] = {}
_SCOPED: dict[tuple[str, str, bool, Scope], Decision] = {}
CACHE_LIMIT: Final = 1 << 16


def _ruled(
    rule: PlannedRule,
    vr: str,
    private: bool,
    tag_path: tuple[int, ...],
    scope: Scope,
    sop: str | None,
) -> Decision:
    """Step 1's answer, made once per (rule, VR, privateness, scope[, SOP Class and place for
    a compound])."""
    action = rule.action
    chosen = action.kind
    if chosen is ActionKind.COMPOUND:
        ruled: tuple[object, ...] = (id(rule), vr, private, scope, sop, tag_path)
    else:
        ruled = (id(rule), vr, private, scope)
    found = _RULED.get(ruled)
    if found is not None and found.rule is rule:
        return found
    kind = chosen
    code = None
    if kind is ActionKind.COMPOUND:
        code = resolve_compound_action(action.code or "X", sop, tag_path)
        kind = ast.CODE_ACTIONS[code]
    cleaning = None
    if kind is ActionKind.CLEAN:
        cleaning = Cleaning.PRIVATE if private else CLEANING_BY_VR.get(vr, Cleaning.BYTES)
        kind = CLEANED_KINDS[cleaning]
    # A strict rule cleans its own text strictly, and a sequence's items when it cleans one.
    strict = scope.strict or (chosen in ast.TEXT_CLEANING_ACTIONS and action.strict)
    items = _items(kind, vr, scope, strict)
    if len(_RULED) >= CACHE_LIMIT:
        _RULED.clear()
    compound_label = None if code is None else f"{action.code}→{code}"
    found = _RULED[ruled] = Decision(
        kind,
        Reason.RULE,
        chosen,
        rule,
        code,
        cleaning,
        strict,
        items,
        False,
        action.label,
        compound_label,
    )
    return found


#: What each step after the rule chooses, by VR: (the action, how ``C`` cleans when it is C).
UNSELECTED: Final[Mapping[Reason, Callable[[str], tuple[ActionKind, Cleaning | None]]]] = (
    MappingProxyType(
        {
            Reason.REMAP_SCOPE: lambda vr: (ActionKind.REMAP_UID, None),
            Reason.UNLISTED_UID: lambda vr: (ActionKind.REMAP_UID, None),
            Reason.UNKNOWN_PUBLIC: lambda vr: (ActionKind.REMOVE, None),
            Reason.DUMMY_SCOPE: lambda vr: (DUMMY_SCOPE_KINDS.get(vr, ActionKind.REMOVE), None),
            Reason.CLEAN_SCOPE: lambda vr: (
                ActionKind.CLEAN,
                CLEANING_BY_VR.get(vr, Cleaning.BYTES),
            ),
            Reason.DEFAULT_KEEP: lambda vr: (ActionKind.KEEP, None),
        }
    )
)


def _unselected(reason: Reason, vr: str, private: bool, scope: Scope) -> Decision:
    """The answer for an element no rule selects, once its step (``reason``) is found."""
    chosen, cleaning = UNSELECTED[reason](vr)
    kind = chosen if cleaning is None else CLEANED_KINDS[cleaning]
    if reason is Reason.UNLISTED_UID:
        # The verifier's view (see the module's notes): outside the scopes that would remap a
        # standard element's UID anyway, an unlisted UID is held to the default.
        defaulted = private or not (scope.dummy or scope.clean)
    else:
        defaulted = reason is Reason.DEFAULT_KEEP
    return Decision(
        kind,
        reason,
        chosen,
        None,
        None,
        cleaning,
        scope.strict,
        _items(kind, vr, scope, scope.strict),
        defaulted,
        DEFAULT_LABELS[chosen],
    )


def decide(
    facts: FileFacts,
    tag: int,
    vr: str,
    path: tuple[tuple[int, int], ...],
    tag_path: tuple[int, ...],
    scope: Scope,
    private: bool,
    private_key: PrivateKey | None = None,
) -> Decision:
    """What happens to the element ``tag`` (of ``vr``) at ``path``, and why.

    ``tag_path`` is the element's own tag chain from the root (the sequences' tags, then
    ``tag``): the IOD's Type of the attribute there resolves a compound code. ``scope`` is the
    scope its dataset is walked in (:data:`TOP` at the top level; a sequence's items in its
    decision's :attr:`Decision.items`). ``private`` says the tag's group is private
    (:func:`~deidengine.standard.dictionary.is_private_group`); ``private_key`` is then the
    element's (creator, group, element byte), ``None`` when it has no creator. Not for private
    creators.

    When no rule of the plan has a condition, the answer depends on nothing of the file but
    its SOP Class: it is made once per (tag chain, VR, scope, privateness, private key, SOP
    Class) for every file of the plan (``path`` joins the key for a tag a path rule names).
    """
    answers = facts.answers
    key: tuple[object, ...] = ()
    if answers is not None:
        key = (tag_path, vr, scope, private, private_key, facts.sop_class)
        if tag in facts.path_tags:
            key = (*key, path)
        found = answers.get(key)
        if found is not None:
            return found
    rules = facts.plan.candidates(tag, vr, private_key, path)
    rule = first_applicable(rules, facts.snapshot) if rules else None
    if rule is not None:
        found = _ruled(rule, vr, private, tag_path, scope, facts.sop_class)
    else:
        found = _unselected_step(facts, tag, vr, private, scope)
    if answers is not None:
        if len(answers) >= CACHE_LIMIT:
            answers.clear()
        answers[key] = found
    return found


def _unselected_step(facts: FileFacts, tag: int, vr: str, private: bool, scope: Scope) -> Decision:
    """Steps 2 to 7: the answer for an element no rule selects."""
    if vr == "UI" and scope.remap:
        reason = Reason.REMAP_SCOPE
    elif vr == "UI" and facts.remap_unlisted_uids:
        reason = Reason.UNLISTED_UID
    elif private:
        reason = Reason.DEFAULT_KEEP  # scopes reach standard elements only
    elif is_unknown_public(tag):
        reason = Reason.UNKNOWN_PUBLIC
    elif scope.dummy:
        reason = Reason.DUMMY_SCOPE
    elif scope.clean:
        reason = Reason.CLEAN_SCOPE
    else:
        reason = Reason.DEFAULT_KEEP
    # _value_: a plain attribute, hashed in C (an Enum member's own hash is Python code).
    key = (reason._value_, vr, private, scope)
    found = _SCOPED.get(key)
    if found is None:  # bounded: a few reasons, VRs and scopes
        found = _SCOPED[key] = _unselected(reason, vr, private, scope)
    return found
