"""The policy language: parse → AST → check → compile → :class:`Plan`.

>>> from deidengine.policy import load_plan
>>> plan = load_plan("annex-e/basic,annex-e/retain-uids")
>>> plan.codes
('113100', '113110')
"""

from deidengine.policy.ast import Action, ActionKind, PolicyFile, Rule
from deidengine.policy.check import CheckedPolicy, check_composition
from deidengine.policy.compile import check_policy, compile_plan, load_plan
from deidengine.policy.diagnostics import Diagnostic, ErrorCode, PolicyError, Severity, Span
from deidengine.policy.explain import Explanation, explain_json, explain_plan
from deidengine.policy.parse import parse_policy_text
from deidengine.policy.plan import Plan, PlannedRule, SelectorKind, Target
from deidengine.policy.resolve import Composition, compose, shipped_policy_names

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
