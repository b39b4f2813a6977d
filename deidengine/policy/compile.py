"""Compile a checked policy into an immutable :class:`~deidengine.policy.plan.Plan`."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import TYPE_CHECKING

from deidengine.policy import ast
from deidengine.policy.claims import BASIC_PROFILE, LayerFacts, plan_claims, weakening_diagnostic
from deidengine.policy.diagnostics import Diagnostic, ErrorCode, PolicyError, has_errors
from deidengine.policy.plan import Plan, PlannedRule, RuleTuple
from deidengine.policy.resolve import Composition, compose

if TYPE_CHECKING:
    from deidengine.policy.check import CheckedPolicy


def policy_digest(checked: CheckedPolicy) -> str:
    """SHA-256 over every layer's display name and text, in composition order."""
    digest = hashlib.sha256()
    for layer in checked.composition.layers:
        digest.update(layer.source.display.encode("utf-8") + b"\0")
        digest.update(layer.source.text.encode("utf-8") + b"\0")
    return digest.hexdigest()


def clean_text_strict(checked: CheckedPolicy) -> bool:
    """Whether the composition says ``clean-text strict``: the last layer with a setting wins."""
    strict = False
    for layer in checked.composition.layers:
        setting = layer.file.clean_text_strict
        if setting is not None:
            strict = setting
    return strict


def _with_setting(action: ast.Action, strict: bool) -> ast.Action:
    """A composition's ``clean-text strict`` makes every clean and scrub rule strict."""
    if strict and not action.strict and action.kind in ast.TEXT_CLEANING_ACTIONS:
        return dataclasses.replace(action, strict=True)
    return action


def compile_plan(checked: CheckedPolicy) -> Plan:
    """Build the plan; raises :class:`PolicyError` when the check found errors."""
    if has_errors(checked.diagnostics):
        raise PolicyError(checked.diagnostics)
    names: list[str] = []
    codes: list[str] = []
    runnable = False
    for layer in checked.composition.layers:
        declaration = layer.file.declaration
        names.append(declaration.name if declaration else layer.source.display)
        runnable = runnable or declaration is None or not declaration.is_option
        for code in layer.file.codes:
            if code not in codes:
                codes.append(code)
    checked_rules = checked.rules
    strict = clean_text_strict(checked)
    rules = tuple(
        PlannedRule(
            target=item.target,
            action=_with_setting(item.rule.action, strict),
            layer=item.layer.index,
            order=order,
            source=f"{item.layer.source.display}:{item.rule.span.line}",
            policy=names[item.layer.index],
            condition=item.rule.condition,
            condition_text=item.rule.condition_text,
            section=item.rule.section,
            comment=item.rule.comment,
        )
        for order, item in enumerate(checked.rules)
    )
    digest = policy_digest(checked)
    plan = Plan.build(tuple(names), runnable, tuple(codes), digest, rules)
    layers = tuple(
        LayerFacts(names[layer.index], layer.source.shipped, layer.file.codes)
        for layer in checked.composition.layers
    )
    spans = {order: item.rule.span for order, item in enumerate(checked_rules)}
    claims = plan_claims(plan, layers, spans, _basic_profile_rules)
    return Plan.build(tuple(names), runnable, tuple(codes), digest, rules, claims)


def _basic_profile_rules() -> RuleTuple:
    """The shipped Basic Profile's rules, for compositions that do not include it."""
    return load_plan(BASIC_PROFILE).rules


def _compile_spec(spec: str) -> tuple[Plan, Composition]:
    # Imported here, as in check_policy: a plan from the plan cache needs no checker.
    from deidengine.policy.check import check_composition

    composition = compose(spec)
    return compile_plan(check_composition(composition)), composition


def load_plan(spec: str, *, runnable: bool = False) -> Plan:
    """Compose, check and compile a policy spec (shipped name, path, or comma list).

    The plan comes from the plan cache (:mod:`deidengine.policy.cache`) when every file the
    spec reads is unchanged since it was compiled; it is the plan compiling would give.
    With ``runnable`` the plan must include a profile, not only option overlays: an option
    alone would keep everything the profile removes.
    """
    # Imported here: the cache module imports this one's dependencies, not the other way round.
    from deidengine.policy.cache import cached_plan

    plan = cached_plan(spec, _compile_spec)
    if runnable and not plan.runnable:
        raise PolicyError(
            [
                Diagnostic(
                    ErrorCode.NOT_RUNNABLE,
                    f"'{spec}' has only option overlays",
                    None,
                    "put a profile first, e.g. annex-e/basic," + spec,
                )
            ]
        )
    return plan


def plan_warnings(plan: Plan) -> tuple[Diagnostic, ...]:
    """The warnings a compiled plan carries (W301, one per keep that weakens a profile)."""
    return tuple(weakening_diagnostic(w, plan) for w in plan.weakenings)


def check_policy(spec: str) -> tuple[Diagnostic, ...]:
    """Every diagnostic for a spec; empty when it is clean. A composition without errors is
    compiled too, for the warnings only the plan can give (W301: a profile weakened)."""
    from deidengine.policy.check import check_composition

    checked = check_composition(compose(spec))
    if has_errors(checked.diagnostics):
        return checked.diagnostics
    plan = compile_plan(checked)
    warnings = plan_warnings(plan)
    return tuple(
        sorted(
            (*checked.diagnostics, *warnings),
            key=lambda d: (d.span.file, d.span.line, d.span.column) if d.span else ("", 0, 0),
        )
    )
