"""The documents of ``deid policy list``, ``check``, ``explain`` and ``compile``."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, RootModel

from deidengine.policy.diagnostics import Diagnostic, ErrorCode, Severity
from deidengine.schemas._base import Document

__all__ = [
    "SELECTOR_KINDS",
    "CompiledPlan",
    "CompiledRule",
    "ConditionalRuleDocument",
    "DiagnosticDocument",
    "ExplainedRule",
    "MethodCode",
    "PolicyCheckReport",
    "PolicyExplanation",
    "PolicyList",
    "SelectorKindName",
    "ShippedPolicyEntry",
    "TextCleaning",
]

#: ``SelectorKind`` names as ``compile`` writes them (lower case); a test keeps them in step.
SelectorKindName = Literal[
    "any", "private", "vr", "mask", "private_creator", "tag", "path", "pixels"
]
SELECTOR_KINDS: tuple[str, ...] = SelectorKindName.__args__  # type: ignore[attr-defined]
#: How a clean or scrub rule cleans text (``explain.text_cleaning``); a test keeps them in step.
TextCleaning = Literal["default", "strict"]
_TEXT_CLEANING = Field(
    default=None,
    description="How the rule's text stage cleans free text: default (identifiers masked, the "
    "rest kept) or strict (a value it cannot vouch for is removed); absent for other actions.",
)


# ----------------------------------------------------------------------------- policy list
class ShippedPolicyEntry(Document):
    """One shipped policy."""

    name: str = Field(description="The shipped name, as --policy takes it: annex-e/basic.")
    description: str = Field(description="The one-line description of its policy line.")
    option: bool = Field(
        description="True for an option layered over a profile, false for a profile."
    )


class PolicyList(RootModel[tuple[ShippedPolicyEntry, ...]]):
    """``deid policy list --format json``: every shipped policy, sorted by name."""

    model_config = ConfigDict(frozen=True)


# ----------------------------------------------------------------------------- policy check
class DiagnosticDocument(Document):
    """One problem in a policy: where, which stable code, a message and a hint."""

    code: ErrorCode = Field(description="The stable code; docs/policy-language.md explains it.")
    severity: Severity = Field(description="An error fails the check; a warning does not.")
    message: str = Field(description="One lower-case line.")
    file: str | None = Field(description="The policy file, when the problem has a place.")
    line: int | None = Field(ge=1, description="The line, counted from 1.")
    column: int | None = Field(ge=1, description="The column, counted from 1.")
    help: str | None = Field(description="What to do about it, when there is a hint.")

    @classmethod
    def of(cls, diagnostic: Diagnostic) -> DiagnosticDocument:
        """The document of one :class:`~deidengine.policy.diagnostics.Diagnostic`."""
        span = diagnostic.span
        return cls(
            code=diagnostic.code,
            severity=diagnostic.severity,
            message=diagnostic.message,
            file=span.file if span else None,
            line=span.line if span else None,
            column=span.column if span else None,
            help=diagnostic.help,
        )


class PolicyCheckReport(RootModel[dict[str, tuple[DiagnosticDocument, ...]]]):
    """``deid policy check --format json``: each spec checked, with its diagnostics (an empty
    list: the spec is clean)."""

    model_config = ConfigDict(frozen=True)


# ----------------------------------------------------------------------------- policy explain
class ConditionalRuleDocument(Document):
    """A conditional rule tried before the winner: it wins where its condition holds."""

    when: str = Field(description="The condition as written.")
    action: str = Field(description="The action's label.")
    source: str = Field(description="file:line of the rule.")
    section: str | None = Field(default=None, description="The standard's section it cites.")


class ExplainedRule(Document):
    """What one selector gets: the unconditional winner and the conditions tried before it."""

    tag: str = Field(description="The selected tag (or mask, or selector kind) as text.")
    keyword: str | None = Field(description="The PS3.6 keyword, when the selector has one.")
    action: str = Field(description="The winning action's label; keep when no rule wins.")
    source: str = Field(description="file:line of the winning rule.")
    selector: str = Field(description="The selector as the policy writes it.")
    policy: str = Field(description="The policy the winning rule comes from.")
    section: str | None = Field(default=None, description="The standard's section it cites.")
    note: str | None = Field(default=None, description="The rule's comment.")
    conditions: tuple[ConditionalRuleDocument, ...] = Field(
        default=(), description="Conditional rules tried first, in precedence order."
    )
    overrides: tuple[str, ...] = Field(
        default=(), description="Sources (file:line) of the unconditional rules it beats."
    )
    text_cleaning: TextCleaning | None = _TEXT_CLEANING


class MethodCode(Document):
    """A CID 7050 de-identification method code the plan claims."""

    value: str = Field(description="The code value: 113100.")
    scheme: Literal["DCM"] = Field(description="The coding scheme designator.")
    meaning: str = Field(description="The code meaning, as CID 7050 gives it.")


class PolicyExplanation(Document):
    """``deid policy explain --format json``: the winning rule of every selector."""

    policy: tuple[str, ...] = Field(description="The composed policies, in order.")
    digest: str = Field(description="The plan's digest (SHA-256 hex).")
    rules: tuple[ExplainedRule, ...] = Field(description="One per distinct selector.")
    default: str = Field(
        description="What happens to elements no rule selects (with --tag: to that element)."
    )
    codes: tuple[str, ...] = Field(description="The CID 7050 codes the outputs claim.")
    methods: tuple[MethodCode, ...] = Field(description="The same codes, with their meaning.")


# ----------------------------------------------------------------------------- policy compile
class CompiledRule(Document):
    """One rule of a compiled plan."""

    selector: str = Field(description="The selector as the policy writes it.")
    kind: SelectorKindName = Field(description="What the selector selects.")
    action: str = Field(description="The action's label.")
    when: str | None = Field(description="The condition as written; null: unconditional.")
    layer: int = Field(ge=0, description="The composition layer (later layers win).")
    source: str = Field(description="file:line of the rule.")
    text_cleaning: TextCleaning | None = _TEXT_CLEANING


class CompiledPlan(Document):
    """``deid policy compile``: the plan's rules in precedence order (the first that applies
    to an element wins)."""

    policy: tuple[str, ...] = Field(description="The composed policies, in order.")
    runnable: bool = Field(description="Whether the plan can drive deid run on its own.")
    digest: str = Field(description="The plan's digest (SHA-256 hex).")
    codes: tuple[str, ...] = Field(description="The CID 7050 codes the outputs claim.")
    rules: tuple[CompiledRule, ...] = Field(description="Every rule, in precedence order.")
