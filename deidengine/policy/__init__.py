"""The policy language: parse → AST → check → compile → :class:`Plan`.

>>> from deidengine.policy import load_plan
>>> plan = load_plan("annex-e/basic,annex-e/retain-uids")
>>> plan.codes
('113100', '113110')

The parser (lark), the checker and ``explain`` are loaded on first use of one of their names:
a run whose plan comes from the plan cache (:mod:`deidengine.policy.cache`) needs none of them.
"""

import importlib
from typing import TYPE_CHECKING

from deidengine.policy.ast import Action, ActionKind, PolicyFile, Rule
from deidengine.policy.compile import check_policy, compile_plan, load_plan
from deidengine.policy.diagnostics import Diagnostic, ErrorCode, PolicyError, Severity, Span
from deidengine.policy.plan import Plan, PlannedRule, SelectorKind, Target
from deidengine.policy.resolve import Composition, compose, shipped_policy_names

if TYPE_CHECKING:
    from deidengine.policy.check import CheckedPolicy, check_composition
    from deidengine.policy.explain import Explanation, explain_json, explain_plan
    from deidengine.policy.parse import parse_policy_text

# Name → the module that defines it, imported when the name is first asked for.
_LAZY = {
    "CheckedPolicy": "deidengine.policy.check",
    "check_composition": "deidengine.policy.check",
    "Explanation": "deidengine.policy.explain",
    "explain_json": "deidengine.policy.explain",
    "explain_plan": "deidengine.policy.explain",
    "parse_policy_text": "deidengine.policy.parse",
}

__all__ = [
    "Action",
    "ActionKind",
    "CheckedPolicy",
    "Composition",
    "Diagnostic",
    "ErrorCode",
    "Explanation",
    "Plan",
    "PlannedRule",
    "PolicyError",
    "PolicyFile",
    "Rule",
    "SelectorKind",
    "Severity",
    "Span",
    "Target",
    "check_composition",
    "check_policy",
    "compile_plan",
    "compose",
    "explain_json",
    "explain_plan",
    "load_plan",
    "parse_policy_text",
    "shipped_policy_names",
]


def __getattr__(name: str) -> object:
    """Import the module behind one of the :data:`_LAZY` names when it is first asked for."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # asked once
    return value
