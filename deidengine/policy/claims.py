"""What a composition's outputs may claim: which profiles it leaves intact (warning W301).

A composition builds on profiles and Options (the layers that declare CID 7050 ``code`` lines:
``annex-e/basic``, ``hipaa-safe-harbor``, the Annex E Options). A later layer may change what
they do, and usually does so for a reason the stamp can carry (``hipaa-safe-harbor`` gives
Patient's Name a keyed pseudonym instead of an empty value; ``annex-e/retain-uids`` keeps UIDs
and says so with 113110). One change cannot be carried: a ``keep`` that beats a profile's
removal, replacement or cleaning. Then the profile no longer ran as its code says, so

- the profile is *weakened*: its name leaves De-identification Method (0012,0063), and a code
  leaves the Code Sequence (0012,0064) unless a layer that is neither weakened nor weakening
  also declares it;
- Patient Identity Removed (0012,0062) is ``YES`` only while every row of the Basic Profile
  (PS3.15 Table E.1-1) is handled by the composition: removed, emptied, replaced, cleaned, or
  kept by a shipped Option (whose code says what it retains);
- ``deid policy check`` warns (W301) at the ``keep`` rule, naming the profiles and rows.

Shipped layers are exempt as keepers: the Annex E Options are the standard's own ways to keep
what Basic removes, each claimed with its code. A site's ``keep`` is not.

The facts are computed once, at compile time, into :class:`~deidengine.policy.plan.Claims`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from deidengine.policy import ast
from deidengine.policy.diagnostics import Diagnostic, ErrorCode, Severity, Span
from deidengine.policy.plan import (
    Claims,
    Plan,
    PlannedRule,
    RuleTuple,
    SelectorKind,
    Target,
    Weakening,
)
from deidengine.standard.dictionary import tag_for_keyword

__all__ = ["BASIC_PROFILE", "LayerFacts", "plan_claims", "weakening_diagnostic"]

BASIC_PROFILE = "annex-e/basic"
#: Rows named in a warning; the count says how many more.
ROWS_SHOWN = 8


@dataclass(frozen=True, slots=True)
class LayerFacts:
    """What the claims need to know of one layer of the composition."""

    name: str
    shipped: bool
    codes: tuple[str, ...]


def _element(target: Target) -> str:
    return target.keyword or target.text


def _row_order(element: str) -> tuple[int, int, str]:
    """The patient's own attributes (group 0010) first, then by tag: they are what a reader
    of the warning needs to see before the list is cut short."""
    tag = tag_for_keyword(element) or 0
    return (0 if tag >> 16 == 0x0010 else 1, tag, element)


def _written(rule: PlannedRule) -> str:
    """The rule as a reader finds it: ``(0010,0010) PatientName when ... -> keep``."""
    target = rule.target
    selector = target.text
    if target.keyword and target.keyword not in selector:
        selector += f" {target.keyword}"
    when = f" when {rule.condition_text}" if rule.condition_text else ""
    return f"{selector}{when} -> {rule.action.label}"


def _undeclared_keep(rule: PlannedRule, layers: tuple[LayerFacts, ...]) -> bool:
    return rule.action.kind is ast.ActionKind.KEEP and not layers[rule.layer].shipped


def _deeper_keeps(plan: Plan, target: Target, layers: tuple[LayerFacts, ...]) -> RuleTuple:
    """Undeclared keeps of paths that end in ``target``'s tag (``Seq[*].PatientID -> keep``):
    the probe, made at the top level, does not see them, and inside their sequences they
    beat a tag rule of the same or an earlier layer."""
    if target.kind is not SelectorKind.TAG or target.tag is None:
        return ()
    return tuple(r for r in plan.by_path_tag.get(target.tag, ()) if _undeclared_keep(r, layers))


def _handled(plan: Plan, target: Target, layers: tuple[LayerFacts, ...]) -> bool:
    """The element is removed, replaced or cleaned whatever the conditions say: no undeclared
    ``keep`` can win, and an unconditional rule stands behind the conditional ones."""
    if _deeper_keeps(plan, target, layers):
        return False
    for rule in plan.probe(target):
        if _undeclared_keep(rule, layers):
            return False
        if rule.condition is None:
            return True
    return False  # when no condition holds, nothing selects it: kept unchanged


def plan_claims(
    plan: Plan,
    layers: tuple[LayerFacts, ...],
    spans: Mapping[int, Span],
    basic_rules: Callable[[], RuleTuple],
) -> Claims:
    """The claims of ``plan``, whose rule ``layer`` indexes ``layers``; ``spans`` maps a rule's
    ``order`` to where it is written; ``basic_rules`` gives the Basic Profile's rules when the
    composition does not include it."""
    beaten: dict[int, tuple[PlannedRule, dict[int, None], dict[str, list[str]]]] = {}
    for rule in plan.rules:
        if not layers[rule.layer].codes or rule.action.kind is ast.ActionKind.KEEP:
            continue
        winners: list[PlannedRule] = []
        for candidate in plan.probe(rule.target):
            if candidate == rule:
                break
            if candidate.layer > rule.layer and _undeclared_keep(candidate, layers):
                winners.append(candidate)
        winners += [k for k in _deeper_keeps(plan, rule.target, layers) if k.layer > rule.layer]
        for winner in winners:
            _, profiles, rows = beaten.setdefault(winner.order, (winner, {}, {}))
            profiles[rule.layer] = None
            labels = rows.setdefault(_element(rule.target), [])
            if rule.action.label not in labels:
                labels.append(rule.action.label)
    weakened = {layer for _, profiles, _ in beaten.values() for layer in profiles}
    weakenings = tuple(
        Weakening(
            rule=_written(keep),
            source=keep.source,
            span=spans.get(order),
            profiles=tuple(layers[index].name for index in sorted(profiles)),
            rows=tuple(
                f"{element} ({', '.join(labels)})"
                for element, labels in sorted(rows.items(), key=lambda row: _row_order(row[0]))
            ),
        )
        for order, (keep, profiles, rows) in sorted(beaten.items())
    )
    intact = [facts for index, facts in enumerate(layers) if index not in weakened]
    # A layer that weakens another cannot vouch for a code by declaring it again: its own
    # `code 113100` beside `PatientName -> keep` is the false claim this module exists to stop.
    weakeners = {keep.layer for keep, _, _ in beaten.values()}
    vouching = [facts for index, facts in enumerate(layers) if index not in weakened | weakeners]
    codes = tuple(code for code in plan.codes if any(code in facts.codes for facts in vouching))
    basic = next(
        (i for i, facts in enumerate(layers) if facts.shipped and facts.name == BASIC_PROFILE),
        None,
    )
    basic_rows = (
        tuple(rule for rule in plan.rules if rule.layer == basic)
        if basic is not None
        else basic_rules()
    )
    identity_removed = all(
        _handled(plan, rule.target, layers)
        for rule in basic_rows
        if rule.action.kind is not ast.ActionKind.KEEP
    )
    return Claims(
        names=tuple(facts.name for facts in intact),
        codes=codes,
        identity_removed=identity_removed,
        weakenings=weakenings,
    )


def weakening_diagnostic(weakening: Weakening, plan: Plan) -> Diagnostic:
    """The W301 warning of one weakening, in the checker's style."""
    shown = ", ".join(weakening.rows[:ROWS_SHOWN])
    more = len(weakening.rows) - ROWS_SHOWN
    if more > 0:
        shown += f" and {more} more"
    profiles = " and ".join(weakening.profiles)
    codes = [code for code in plan.codes if code not in plan.claimed_codes]
    claim = f"outputs will not name {profiles}" + (
        f" nor claim {', '.join(codes)}" if codes else ""
    )
    if not plan.identity_removed:
        claim += ", and say Patient Identity Removed NO"
    return Diagnostic(
        ErrorCode.WEAKENS_PROFILE,
        f"'{weakening.rule}' weakens {profiles}: it keeps {shown}",
        weakening.span,
        f"{claim}; keep only what may be kept, or drop the rule",
        Severity.WARNING,
    )
