"""Compile a checked policy into an immutable :class:`~deidengine.policy.plan.Plan`."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import TYPE_CHECKING

from deidengine.policy import ast
from deidengine.policy.diagnostics import Diagnostic, ErrorCode, PolicyError, has_errors
from deidengine.policy.plan import Plan, PlannedRule
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
    return Plan.build(tuple(names), runnable, tuple(codes), policy_digest(checked), rules)


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


def check_policy(spec: str) -> tuple[Diagnostic, ...]:
    """Every diagnostic for a spec; empty when it is clean."""
    from deidengine.policy.check import check_composition

    return check_composition(compose(spec)).diagnostics
