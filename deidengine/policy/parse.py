"""Parse policy text into a :class:`~deidengine.policy.ast.PolicyFile`.

The grammar (``grammar/policy.lark``, located by :mod:`deidengine.policy.grammar`) describes one
statement; the parser feeds it each physical line, so a file with ten broken lines yields ten
syntax diagnostics, not one. This is the only module that imports lark: a run whose plan comes
from the plan cache (:mod:`deidengine.policy.cache`) never loads it.
"""

from __future__ import annotations

import difflib
import functools
import re
from typing import Any

import lark
from lark import Token, Transformer, v_args

from deidengine.policy import ast
from deidengine.policy.diagnostics import Diagnostic, ErrorCode, Span
from deidengine.policy.grammar import grammar_text

# Human names for the grammar's terminals, used in "expected ..." hints.
TERMINAL_NAMES = {
    "TAG": "a tag like (0010,0010)",
    "MASK": "a repeating group like (60xx,3000)",
    "PRIVATE_TAG": "a private tag like (0029,xx10)",
    "KEYWORD": "a keyword",
    "ACTION_CODE": "an action code (X Z D K C U …)",
    "STRING": "a quoted string",
    "ARROW": "'->'",
    "VR": "a VR like DA",
    "INT": "a number",
    "SIGNED_INT": "a number",
    "SIGNED_NUMBER": "a number",
    "WORD": "a word",
    "POLICY_NAME": "a policy name",
    "CODE_VALUE": "a code value",
    "COMPARATOR": "a comparison (== != < <= > >=)",
    "STAR": "'*'",
}


@functools.cache
def _parser() -> lark.Lark:
    return lark.Lark(
        grammar_text(),
        start="line",
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=False,
    )


def _unquote(token: str) -> str:
    body = token[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


def _parse_hex_tag(text: str) -> int:
    group, element = text.strip("()").split(",")
    return (int(group, 16) << 16) | int(element, 16)


def _parse_mask(text: str) -> tuple[int, int]:
    """``(60xx,3000)`` → (mask, value): x digits are wildcards."""
    digits = text.strip("()").replace(",", "")
    mask = int("".join("0" if c in "xX" else "F" for c in digits), 16)
    value = int("".join("0" if c in "xX" else c for c in digits), 16)
    return mask, value


def _trailing_comment(line: str) -> str | None:
    in_string = False
    escaped = False
    for index, char in enumerate(line):
        if escaped:
            escaped = False
        elif char == "\\" and in_string:
            escaped = True
        elif char == '"':
            in_string = not in_string
        elif char == "#" and not in_string:
            return line[index + 1 :].strip() or None
    return None


class _ToAst(Transformer[Token, Any]):
    """Turns one line's lark tree into AST nodes, shifting positions to the file's line."""

    def __init__(self, file: str, line: int, source: str) -> None:
        super().__init__()
        self.file = file
        self.line_number = line
        self.source = source

    def _span(self, item: Any) -> Span:
        if isinstance(item, Token):
            return Span(
                self.file,
                self.line_number,
                item.column or 1,
                self.line_number,
                item.end_column or item.column,
            )
        return Span(
            self.file,
            self.line_number,
            getattr(item, "column", 1) or 1,
            self.line_number,
            getattr(item, "end_column", None),
        )

    # -- statements
    @v_args(meta=True)
    def line(self, meta: Any, children: list[Any]) -> Any:
        return children[0] if children else None

    @v_args(meta=True)
    def policy_decl(self, meta: Any, children: list[Any]) -> ast.PolicyDecl:
        title = _unquote(children[1]) if len(children) > 1 else None
        return ast.PolicyDecl(children[0], title, False, self._span(meta))

    @v_args(meta=True)
    def option_decl(self, meta: Any, children: list[Any]) -> ast.PolicyDecl:
        title = _unquote(children[1]) if len(children) > 1 else None
        return ast.PolicyDecl(children[0], title, True, self._span(meta))

    def policy_ref(self, children: list[Token]) -> str:
        return str(children[0])

    @v_args(meta=True)
    def code_decl(self, meta: Any, children: list[Token]) -> ast.CodeDecl:
        return ast.CodeDecl(tuple(str(c) for c in children), self._span(meta))

    @v_args(meta=True)
    def use_decl(self, meta: Any, children: list[Any]) -> ast.UseDecl:
        ref = children[0]
        if isinstance(ref, Token) and ref.type == "STRING":
            return ast.UseDecl(_unquote(ref), True, self._span(meta))
        return ast.UseDecl(str(ref), False, self._span(meta))

    @v_args(meta=True)
    def section_decl(self, meta: Any, children: list[Token]) -> ast.SectionDecl:
        return ast.SectionDecl(_unquote(children[0]), self._span(meta))

    @v_args(meta=True)
    def clean_text_decl(self, meta: Any, children: list[Token]) -> ast.CleanTextDecl:
        return ast.CleanTextDecl(str(children[0]) == "strict", self._span(meta))

    @v_args(meta=True)
    def rule(self, meta: Any, children: list[Any]) -> ast.Rule:
        selector = children[0]
        condition = None
        condition_text = None
        if len(children) == 3:
            condition, condition_text = children[1]
        action = children[-1]
        return ast.Rule(
            selector=selector,
            action=action,
            span=self._span(meta),
            condition=condition,
            condition_text=condition_text,
            comment=_trailing_comment(self.source),
        )

    # -- selectors
    def element_selector(self, children: list[ast.PathStep]) -> ast.ElementSelector:
        return ast.ElementSelector(tuple(children))

    def step(self, children: list[Any]) -> ast.PathStep:
        item = children[1] if len(children) > 1 else None
        return ast.PathStep(children[0], item)

    def item_index(self, children: list[Token]) -> int:
        token = children[0]
        return ast.ANY_ITEM if token.type == "STAR" else int(token)

    def tag_keyword(self, children: list[Token]) -> ast.ElementRef:
        tag, keyword = children
        text = f"{tag} {keyword}"
        return ast.ElementRef(text, self._span(tag), tag=_parse_hex_tag(tag), keyword=str(keyword))

    def tag_only(self, children: list[Token]) -> ast.ElementRef:
        (tag,) = children
        return ast.ElementRef(str(tag), self._span(tag), tag=_parse_hex_tag(tag))

    def keyword_only(self, children: list[Token]) -> ast.ElementRef:
        (keyword,) = children
        return ast.ElementRef(str(keyword), self._span(keyword), keyword=str(keyword))

    def mask_ref(self, children: list[Token]) -> ast.ElementRef:
        mask_token = children[0]
        mask, value = _parse_mask(mask_token)
        keyword = str(children[1]) if len(children) > 1 else None
        text = str(mask_token) + (f" {keyword}" if keyword else "")
        return ast.ElementRef(text, self._span(mask_token), tag=value, keyword=keyword, mask=mask)

    @v_args(meta=True)
    def vr_selector(self, meta: Any, children: list[Token]) -> ast.VRSelector:
        return ast.VRSelector(tuple(str(c) for c in children), self._span(meta))

    @v_args(meta=True)
    def private_selector(self, meta: Any, children: list[Any]) -> ast.PrivateSelector:
        if not children:
            return ast.PrivateSelector(self._span(meta))
        creator = _unquote(children[0])
        group, offset = children[1]
        return ast.PrivateSelector(self._span(meta), creator, group, offset)

    def private_tag(self, children: list[Token]) -> tuple[int, int]:
        group, element = str(children[0]).strip("()").split(",")
        return int(group, 16), int(element[2:], 16)

    @v_args(meta=True)
    def pixels_selector(self, meta: Any, children: list[Any]) -> ast.PixelSelector:
        return ast.PixelSelector(self._span(meta))

    @v_args(meta=True)
    def any_selector(self, meta: Any, children: list[Any]) -> ast.AnySelector:
        return ast.AnySelector(self._span(meta))

    # -- conditions
    @v_args(meta=True)
    def condition(self, meta: Any, children: list[Any]) -> tuple[ast.Condition, str]:
        start = (meta.column or 1) - 1
        end = (meta.end_column or len(self.source) + 1) - 1
        text = self.source[start:end].strip()
        if text.startswith("when"):
            text = text[4:].strip()
        return children[0], text

    def or_expr(self, children: list[ast.Condition]) -> ast.Or:
        return ast.Or(tuple(children))

    def and_expr(self, children: list[ast.Condition]) -> ast.And:
        return ast.And(tuple(children))

    def negation(self, children: list[ast.Condition]) -> ast.Not:
        return ast.Not(children[0])

    def compare(self, children: list[Any]) -> ast.Compare:
        operand, comparator, value = children
        return ast.Compare(operand, ast.Comparator(str(comparator)), value)

    def membership(self, children: list[Any]) -> ast.Membership:
        return ast.Membership(children[0], tuple(children[1:]))

    def present(self, children: list[Any]) -> ast.Presence:
        return ast.Presence(children[0], True)

    def absent(self, children: list[Any]) -> ast.Presence:
        return ast.Presence(children[0], False)

    def operand(self, children: list[Token]) -> ast.Operand:
        (token,) = children
        span = self._span(token)
        if token.type == "TAG":
            return ast.Operand(str(token), span, tag=_parse_hex_tag(token))
        if token.type == "DERIVED":
            return ast.Operand(str(token), span, derived=str(token))
        return ast.Operand(str(token), span, keyword=str(token))

    def string_value(self, children: list[Token]) -> str:
        return _unquote(children[0])

    def number_value(self, children: list[Token]) -> float:
        return float(children[0])

    def word_value(self, children: list[Token]) -> str:
        return str(children[0])

    # -- actions
    def code_action(self, children: list[Token]) -> ast.Action:
        token = children[0]
        code = str(token)
        kind = ast.CODE_ACTIONS.get(code, ast.ActionKind.COMPOUND)
        return ast.Action(kind, self._span(token), code=code, strict=len(children) > 1)

    def _verb(self, meta: Any, kind: ast.ActionKind, **fields: Any) -> ast.Action:
        return ast.Action(kind, self._span(meta), **fields)

    @v_args(meta=True)
    def shift_date(self, meta: Any, children: list[Token]) -> ast.Action:
        numbers = tuple(int(c) for c in children)
        return self._verb(meta, ast.ActionKind.SHIFT_DATE, numbers=numbers)

    @v_args(meta=True)
    def pseudonym(self, meta: Any, children: list[Token]) -> ast.Action:
        text = _unquote(children[0]) if children else None
        return self._verb(meta, ast.ActionKind.PSEUDONYM, text=text)

    @v_args(meta=True)
    def lookup(self, meta: Any, children: list[Token]) -> ast.Action:
        return self._verb(meta, ast.ActionKind.LOOKUP, text=str(children[0]))

    @v_args(meta=True)
    def set_value(self, meta: Any, children: list[Token]) -> ast.Action:
        return self._verb(meta, ast.ActionKind.SET, text=_unquote(children[0]))

    @v_args(meta=True)
    def hash_value(self, meta: Any, children: list[Token]) -> ast.Action:
        return self._verb(meta, ast.ActionKind.HASH, numbers=tuple(int(c) for c in children))

    @v_args(meta=True)
    def cap_age(self, meta: Any, children: list[Token]) -> ast.Action:
        return self._verb(meta, ast.ActionKind.CAP_AGE, numbers=(int(children[0]),))

    @v_args(meta=True)
    def scrub(self, meta: Any, children: list[Token]) -> ast.Action:
        strict = any(c.type == "STRICT" for c in children)
        words = tuple(str(c) for c in children if c.type != "STRICT")
        return self._verb(meta, ast.ActionKind.SCRUB, words=words, strict=strict)

    @v_args(meta=True)
    def clean(self, meta: Any, children: list[Token]) -> ast.Action:
        return self._verb(meta, ast.ActionKind.CLEAN, strict=bool(children))

    @v_args(meta=True)
    def ocr_redact(self, meta: Any, children: list[Token]) -> ast.Action:
        text = str(children[0]) if children else None
        return self._verb(meta, ast.ActionKind.OCR_REDACT, text=text)

    @v_args(meta=True)
    def redact_box(self, meta: Any, children: list[Token]) -> ast.Action:
        return self._verb(meta, ast.ActionKind.REDACT_BOX, numbers=tuple(int(c) for c in children))

    @v_args(meta=True)
    def reject(self, meta: Any, children: list[Token]) -> ast.Action:
        text = _unquote(children[0]) if children else None
        return self._verb(meta, ast.ActionKind.REJECT, text=text)


#: Verbs without arguments: grammar alias → action kind. Lark finds a transformer method by the
#: alias, so each gets one from this table instead of a hand-written twin.
ARGUMENTLESS_VERBS: dict[str, ast.ActionKind] = {
    "remove": ast.ActionKind.REMOVE,
    "empty": ast.ActionKind.EMPTY,
    "dummy": ast.ActionKind.DUMMY,
    "keep": ast.ActionKind.KEEP,
    "remap_uid": ast.ActionKind.REMAP_UID,
    "keep_year": ast.ActionKind.KEEP_YEAR,
    "truncate_zip": ast.ActionKind.TRUNCATE_ZIP,
    "keep_ultrasound_regions": ast.ActionKind.KEEP_ULTRASOUND_REGIONS,
}


def _argumentless(kind: ast.ActionKind) -> Any:
    @v_args(meta=True)
    def build(self: _ToAst, meta: Any, children: list[Any]) -> ast.Action:
        return self._verb(meta, kind)

    return build


for _alias, _kind in ARGUMENTLESS_VERBS.items():
    setattr(_ToAst, _alias, _argumentless(_kind))


def _expected_hint(expected: set[str], found: str) -> str | None:
    """A readable 'expected …' hint, with a spelling suggestion when one is close."""
    literals: list[str] = []
    for name in expected:
        try:
            pattern = _parser().get_terminal(name).pattern
        except KeyError:  # lark's end-of-input marker has no terminal definition
            continue
        if pattern.type == "str":
            literals.append(pattern.value)
    suggestions = difflib.get_close_matches(found.lower(), literals, n=1, cutoff=0.6)
    if found and suggestions:
        return f"did you mean '{suggestions[0]}'?"
    shown = sorted(set(literals)) + sorted({TERMINAL_NAMES.get(n, "") for n in expected} - {""})
    if not shown:
        return None
    if len(shown) > 8:
        shown = [*shown[:8], "…"]
    return "expected " + ", ".join(shown)


def _syntax_diagnostic(
    error: lark.exceptions.UnexpectedInput, file: str, line: int, source: str
) -> Diagnostic:
    column = getattr(error, "column", 1) or 1
    span = Span(file, line, column)
    if isinstance(error, lark.exceptions.UnexpectedCharacters):
        rest = source[column - 1 :]
        if rest.startswith("("):
            bad = re.match(r"\([^)\s]*\)?", rest)
            shown = bad.group(0) if bad else "("
            return Diagnostic(
                ErrorCode.SYNTAX,
                f"malformed tag '{shown}'",
                span,
                "write a tag as (gggg,eeee), e.g. (0010,0010)",
            )
        match = re.match(r"[^\s,()]+", rest)
        found = match.group(0) if match else rest[:1]
        hint = _expected_hint(set(error.allowed or ()), found)
        return Diagnostic(ErrorCode.SYNTAX, f"unexpected '{found}'", span, hint)
    if isinstance(error, lark.exceptions.UnexpectedToken):
        token = error.token
        if token.type == "$END":
            span = Span(file, line, len(source.rstrip()) + 1)
            hint = _expected_hint(set(error.expected), "")
            return Diagnostic(ErrorCode.SYNTAX, "unexpected end of line", span, hint)
        if str(token) == "(" and re.match(r"\(\s*[0-9A-Fa-fx]", source[column - 1 :]):
            bad = re.match(r"\([^)\s]*\)?", source[column - 1 :])
            shown = bad.group(0) if bad else "("
            return Diagnostic(
                ErrorCode.SYNTAX,
                f"malformed tag '{shown}'",
                span,
                "write a tag as (gggg,eeee), e.g. (0010,0010)",
            )
        hint = _expected_hint(set(error.expected), str(token))
        return Diagnostic(ErrorCode.SYNTAX, f"unexpected '{token}'", span, hint)
    return Diagnostic(ErrorCode.SYNTAX, "unexpected end of line", span)


def parse_policy_text(text: str, path: str) -> tuple[ast.PolicyFile, tuple[Diagnostic, ...]]:
    """Parse a policy's text; returns the file's AST and every syntax diagnostic found.

    Lines with syntax errors are left out of the AST so later stages still see the rest.
    """
    statements: list[ast.Statement] = []
    diagnostics: list[Diagnostic] = []
    section: str | None = None
    parser = _parser()
    for number, source in enumerate(text.splitlines(), start=1):
        if not source.strip() or source.lstrip().startswith("#"):
            continue
        try:
            tree = parser.parse(source)
        except lark.exceptions.UnexpectedInput as error:
            diagnostics.append(_syntax_diagnostic(error, path, number, source))
            continue
        node = _ToAst(path, number, source).transform(tree)
        if node is None:
            continue
        if isinstance(node, ast.SectionDecl):
            section = node.label
        elif isinstance(node, ast.Rule) and section is not None:
            node = ast.Rule(
                selector=node.selector,
                action=node.action,
                span=node.span,
                condition=node.condition,
                condition_text=node.condition_text,
                section=section,
                comment=node.comment,
            )
        statements.append(node)
    return ast.PolicyFile(path, tuple(statements)), tuple(diagnostics)
