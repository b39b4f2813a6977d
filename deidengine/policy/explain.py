"""Explain a plan: the winning rule for every selector the policy names, and why."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from deidengine.errors import DeidError, EngineCode
from deidengine.policy import ast
from deidengine.policy.plan import Plan, PlannedRule, SelectorKind, Target, format_tag
from deidengine.standard.dictionary import (
    attribute_info,
    closest_keywords,
    is_unknown_public,
    tag_for_keyword,
)

if TYPE_CHECKING:  # pydantic is imported when a document is made, not with the plan
    from deidengine.schemas.policy import ExplainedRule


class UnknownElementError(DeidError, ValueError):
    """``--tag`` names no element: neither a tag's eight hex digits nor a PS3.6 keyword."""

    code = EngineCode.UNKNOWN_ELEMENT

    def __init__(self, text: str) -> None:
        close = closest_keywords(text, 1)
        self.suggestion = close[0] if close else None
        hint = f"; did you mean '{self.suggestion}'?" if self.suggestion else ""
        super().__init__(f"unknown keyword '{text}'{hint}")


#: What happens to an element no rule selects (the engine's default), for explain's output.
DEFAULT_TREATMENT = (
    "elements no rule selects are kept, except public elements the data dictionary does not "
    "define, which are removed (a rule naming the tag keeps one)"
)


@dataclass(frozen=True, slots=True)
class ConditionalRule:
    when: str
    action: str
    source: str
    section: str | None = None


@dataclass(frozen=True, slots=True)
class Explanation:
    """What one selector gets: the unconditional winner, the conditions tried before it."""

    selector: str
    tag: str
    keyword: str | None
    action: str
    source: str
    policy: str
    section: str | None
    note: str | None
    conditions: tuple[ConditionalRule, ...]
    overrides: tuple[str, ...]  # sources of rules this one beats
    #: How the winning rule cleans text: "strict" or "default" (a clean or scrub rule), or None.
    text_cleaning: str | None = None

    def to_json(self) -> dict[str, object]:
        """A rule of ``deid policy explain --format json``; absent keys for what is not said."""
        return self.document().model_dump(mode="json", exclude_defaults=True)

    def document(self) -> ExplainedRule:
        """This explanation as its pydantic model (:mod:`deidengine.schemas.policy`)."""
        from deidengine.schemas.policy import ConditionalRuleDocument, ExplainedRule

        return ExplainedRule(
            tag=self.tag,
            keyword=self.keyword,
            action=self.action,
            source=self.source,
            selector=self.selector,
            policy=self.policy,
            section=self.section or None,
            note=self.note or None,
            conditions=tuple(
                ConditionalRuleDocument(
                    when=c.when, action=c.action, source=c.source, section=c.section or None
                )
                for c in self.conditions
            ),
            overrides=self.overrides,
            text_cleaning=self.text_cleaning or None,  # type: ignore[arg-type]  # pinned by a test
        )


def _representative(plan: Plan, target: Target) -> tuple[PlannedRule, ...]:
    """The candidates an element selected by ``target`` would see."""
    return plan.probe(target)


def _explain(plan: Plan, target: Target, own: PlannedRule) -> Explanation:
    candidates = _representative(plan, target) or (own,)
    conditions: list[ConditionalRule] = []
    winner: PlannedRule | None = None
    for rule in candidates:
        if rule.condition is None:
            winner = rule
            break
        conditions.append(
            ConditionalRule(rule.condition_text or "", rule.action.label, rule.source, rule.section)
        )
    beaten = tuple(
        r.source
        for r in candidates
        if winner is not None and r.precedence > winner.precedence and r.condition is None
    )
    shown = winner or own
    keyword = target.keyword
    if keyword is None and target.kind == SelectorKind.TAG and target.tag is not None:
        info = attribute_info(target.tag)
        keyword = info.keyword if info else None
    return Explanation(
        selector=target.text,
        tag=target.tag_text,
        keyword=keyword,
        action=shown.action.label if winner else "keep",
        source=shown.source if winner else "(no unconditional rule: kept)",
        policy=shown.policy,
        section=shown.section,
        note=shown.comment,
        conditions=tuple(conditions),
        overrides=beaten,
        text_cleaning=text_cleaning(shown.action) if winner else None,
    )


def text_cleaning(action: ast.Action) -> str | None:
    """ "strict" or "default" for a rule that runs the text stage, else None."""
    if action.kind not in ast.TEXT_CLEANING_ACTIONS:
        return None
    return "strict" if action.strict else "default"


#: What ``explain`` says a text-cleaning rule does, by setting.
TEXT_CLEANING_NOTES = {
    "default": "text values: identifiers masked by the text stage, the rest kept",
    "strict": "text values: identifiers masked; a value the text stage cannot vouch for is removed",
}


def _sort_key(target: Target) -> tuple[int, int, str]:
    order = {
        SelectorKind.TAG: 0,
        SelectorKind.MASK: 1,
        SelectorKind.PATH: 2,
        SelectorKind.PRIVATE_CREATOR: 3,
        SelectorKind.PRIVATE: 4,
        SelectorKind.VR: 5,
        SelectorKind.ANY: 6,
        SelectorKind.PIXELS: 7,
    }
    return (order[target.kind], target.tag or 0, target.text)


def parse_tag_filter(text: str) -> int | None:
    """``(0010,0010)``, ``0010,0010``, ``00100010`` or a keyword → tag."""
    digits = re.sub(r"[(),\s]", "", text)
    if re.fullmatch(r"[0-9A-Fa-f]{8}", digits):
        return int(digits, 16)
    return tag_for_keyword(text)


def explain_plan(plan: Plan, tag: str | None = None) -> tuple[Explanation, ...]:
    """One explanation per distinct selector (or, with ``tag``, for that one element).

    Raises:
        UnknownElementError: ``tag`` is neither a tag nor a known keyword (a misspelt keyword
            must not read as "no rule selects it: kept unchanged").
    """
    if tag is not None:
        number = parse_tag_filter(tag)
        if number is None:
            raise UnknownElementError(tag)
        info = attribute_info(number)
        probe = Target(
            SelectorKind.TAG,
            format_tag(number),
            tag=number,
            keyword=info.keyword if info else None,
            vrs=frozenset(info.vr.split(" or ")) if info and info.vr else frozenset(),
        )
        candidates = _representative(plan, probe)
        if not candidates:
            return ()
        return (_explain(plan, probe, candidates[0]),)
    firsts: dict[tuple[object, ...], PlannedRule] = {}
    for rule in plan.rules:
        firsts.setdefault(rule.target.key, rule)
    targets = sorted((r.target for r in firsts.values()), key=_sort_key)
    return tuple(_explain(plan, t, firsts[t.key]) for t in targets)


def unselected_treatment(tag: str) -> str:
    """What the engine does to the element ``tag`` names when no rule selects it."""
    number = parse_tag_filter(tag)
    if number is not None and is_unknown_public(number):
        return (
            "it is not in the data dictionary, so it is removed by default "
            "(a rule naming its tag keeps it)"
        )
    return "it is kept unchanged"


def explain_json(plan: Plan, tag: str | None = None) -> dict[str, object]:
    """The JSON document of ``deid policy explain --format json`` (docs/schemas/policy-explain)."""
    from deidengine.schemas.policy import MethodCode, PolicyExplanation
    from deidengine.standard import cid7050

    return PolicyExplanation(
        policy=plan.names,
        digest=plan.digest,
        rules=tuple(e.document() for e in explain_plan(plan, tag)),
        default=unselected_treatment(tag) if tag is not None else DEFAULT_TREATMENT,
        codes=plan.codes,
        methods=tuple(
            MethodCode(value=c, scheme="DCM", meaning=cid7050.cid_7050(c).meaning)
            for c in plan.codes
        ),
    ).model_dump(mode="json", exclude_defaults=True)


def compile_json(plan: Plan) -> dict[str, object]:
    """The JSON document of ``deid policy compile`` (docs/schemas/policy-compile): every rule,
    in precedence order."""
    from deidengine.schemas.policy import CompiledPlan, CompiledRule

    return CompiledPlan(
        policy=plan.names,
        runnable=plan.runnable,
        digest=plan.digest,
        codes=plan.codes,
        rules=tuple(
            CompiledRule(
                selector=rule.target.text,
                kind=rule.target.kind.name.lower(),  # type: ignore[arg-type]  # a test pins it
                action=rule.action.label,
                when=rule.condition_text,
                layer=rule.layer,
                source=rule.source,
                text_cleaning=text_cleaning(rule.action),  # type: ignore[arg-type]  # pinned by a test
            )
            for rule in sorted(plan.rules, key=lambda r: r.precedence)
        ),
    ).model_dump(mode="json", exclude_defaults=True)
