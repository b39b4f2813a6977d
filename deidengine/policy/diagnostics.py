"""Diagnostics: stable error codes, source spans and the one exception every stage raises."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from deidengine.errors import DeidError, EngineCode


@dataclass(frozen=True, slots=True)
class Span:
    """A region of a policy file; lines and columns count from 1."""

    file: str
    line: int
    column: int
    end_line: int | None = None
    end_column: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class ErrorCode(enum.Enum):
    """Stable diagnostic codes; docs/policy-language.md says what to do about each."""

    SYNTAX = "E100"
    DUPLICATE_HEADER = "E101"
    HEADER_NOT_FIRST = "E102"
    EMPTY_POLICY = "E103"
    MISSING_HEADER = "E104"
    UNKNOWN_KEYWORD = "E201"
    UNKNOWN_TAG = "E202"
    TAG_KEYWORD_MISMATCH = "E203"
    BAD_REPEATING_GROUP = "E204"
    BAD_PRIVATE_SELECTOR = "E205"
    NOT_A_SEQUENCE = "E206"
    UNKNOWN_VR = "E207"
    CONFLICT = "E301"
    UNREACHABLE = "E302"
    WEAKENS_PROFILE = "W301"  # a warning: a keep beats what a profile beneath it does
    ACTION_INVALID_FOR_VR = "E401"
    PIXEL_ACTION_MISPLACED = "E402"
    BAD_ARGUMENT = "E403"
    UNKNOWN_METHOD_CODE = "E404"
    UNKNOWN_POLICY = "E501"
    CYCLIC_USE = "E502"
    NOT_RUNNABLE = "E503"
    UNREADABLE_POLICY = "E504"
    NOT_UTF8 = "E505"


#: The spec names no policy text that could be read: a usage error (exit 2), not a policy's.
UNREADABLE_CODES = frozenset(
    {ErrorCode.UNKNOWN_POLICY, ErrorCode.UNREADABLE_POLICY, ErrorCode.NOT_UTF8}
)


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem in a policy: where, which code, a one-line lower-case message, a hint."""

    code: ErrorCode
    message: str
    span: Span | None
    help: str | None = None
    severity: Severity = Severity.ERROR

    def render(self) -> str:
        where = f"{self.span}: " if self.span else ""
        text = f"{where}{self.severity.value}[{self.code.value}]: {self.message}"
        if self.help:
            text += f"\n  help: {self.help}"
        return text


class PolicyError(DeidError):
    """Raised when a policy cannot be compiled; carries every diagnostic found."""

    code = EngineCode.INVALID_POLICY

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics: tuple[Diagnostic, ...] = tuple(diagnostics)
        super().__init__("\n".join(d.render() for d in self.diagnostics))


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.severity is Severity.ERROR for d in diagnostics)
