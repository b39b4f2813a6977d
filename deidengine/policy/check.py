"""Check a composition: resolve names against the DICOM dictionary and report every problem.

Produces :class:`CheckedRule` values (the AST rule plus its resolved :class:`Target`) for the
compiler, and diagnostics for everything wrong: unknown or mismatched names, actions that do
not fit the element's VR, conflicting and unreachable rules, bad arguments and codes.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass

from pydicom.valuerep import VR

from deidengine.policy import ast
from deidengine.policy.diagnostics import Diagnostic, ErrorCode, Span
from deidengine.policy.plan import PathItem, SelectorKind, Target, format_mask, format_tag
from deidengine.policy.resolve import Composition, Layer
from deidengine.standard import cid7050
from deidengine.standard.dictionary import (
    attribute_info,
    closest_keywords,
    is_private_group,
    tag_for_keyword,
)
from deidengine.standard.vr_classes import DATE_TIME_VRS, KEYED_TEXT_VRS, UNSTRUCTURED_TEXT_VRS

#: The two-letter VRs of PS3.5 6.2, from pydicom's enumeration (not retyped here).
ALL_VRS = frozenset(vr.value for vr in VR if len(vr.value) == 2)

#: Which element VRs each action may touch; ``None``: any VR.
ACTION_VRS: dict[ast.ActionKind, frozenset[str] | None] = {
    ast.ActionKind.REMOVE: None,
    ast.ActionKind.EMPTY: None,
    ast.ActionKind.DUMMY: None,
    ast.ActionKind.KEEP: None,
    ast.ActionKind.CLEAN: None,
    ast.ActionKind.COMPOUND: None,
    ast.ActionKind.REMAP_UID: frozenset({"UI", "SQ"}),
    ast.ActionKind.SHIFT_DATE: DATE_TIME_VRS,
    ast.ActionKind.KEEP_YEAR: DATE_TIME_VRS,
    ast.ActionKind.PSEUDONYM: KEYED_TEXT_VRS,
    ast.ActionKind.LOOKUP: KEYED_TEXT_VRS,
    ast.ActionKind.HASH: KEYED_TEXT_VRS,
    ast.ActionKind.SET: ALL_VRS - {"SQ"},
    ast.ActionKind.CAP_AGE: frozenset({"AS"}),
    ast.ActionKind.TRUNCATE_ZIP: UNSTRUCTURED_TEXT_VRS,
    ast.ActionKind.SCRUB: UNSTRUCTURED_TEXT_VRS | {"PN", "SQ"},
    ast.ActionKind.OCR_REDACT: frozenset(),
    ast.ActionKind.REDACT_BOX: frozenset(),
    ast.ActionKind.REJECT: None,
    ast.ActionKind.KEEP_ULTRASOUND_REGIONS: frozenset(),
}

SCRUB_CATEGORIES = frozenset(
    {"names", "ids", "dates", "phone", "email", "ssn", "mrn", "url", "ip", "address"}
)
OCR_MODES = frozenset({"identifying", "all"})
PLACEHOLDER = re.compile(r"\{([a-z]+)(?::(\d+))?\}")
REPEATING_GROUPS = ("50", "60", "7F")  # PS3.5 7.6 and the retired curve / variable pixel data
#: Unknown keywords per file that get a "did you mean" hint. The search compares the word with
#: every keyword of the dictionary (about 10 ms); a file of thousands of broken lines would
#: otherwise stall `check` and `run` for minutes. The errors are all reported; the hints stop.
SUGGESTIONS_PER_FILE = 20


@functools.lru_cache(maxsize=512)
def _closest_keyword(word: str) -> str | None:
    close = closest_keywords(word, 1)
    return close[0] if close else None


def _suggest(word: str, known: frozenset[str], otherwise: str) -> str:
    """``did you mean 'X'?`` for the closest known word, else ``otherwise``."""
    close = difflib.get_close_matches(word, sorted(known), n=1, cutoff=0.5)
    return f"did you mean '{close[0]}'?" if close else otherwise


def _suggest_vr(vr: str) -> str:
    """Two-letter codes are too short for spelling distance: offer the VRs sharing a letter
    in the same place."""
    alike = sorted(v for v in ALL_VRS if v[0] == vr[:1] or v[1:] == vr[1:2])
    if not alike:
        return "VRs are the two-letter codes of PS3.5 6.2, e.g. DA, PN, LO"
    return (
        "did you mean "
        + (", ".join(alike[:-1]) + " or " + alike[-1] if len(alike) > 1 else alike[0])
        + "?"
    )


@dataclass(frozen=True, slots=True)
class CheckedRule:
    """A rule whose selector resolved; the compiler's input."""

    rule: ast.Rule
    target: Target
    layer: Layer


@dataclass(frozen=True, slots=True)
class CheckedPolicy:
    composition: Composition
    rules: tuple[CheckedRule, ...]
    diagnostics: tuple[Diagnostic, ...]


def _vrs_of(tag: int) -> frozenset[str]:
    info = attribute_info(tag)
    if info is None or not info.vr:
        return frozenset()
    return frozenset(v.strip() for v in info.vr.split(" or "))


class _Checker:
    def __init__(self) -> None:
        self.diagnostics: list[Diagnostic] = []
        self.suggested: dict[str, int] = {}  # file → keyword hints given
        #: Set while the selector of a ``keep`` rule is resolved: keeping is the one thing a
        #: rule can do to a public tag the dictionary does not define (the engine removes
        #: such elements by default), so only there is such a tag accepted.
        self.keeping = False

    def error(
        self, code: ErrorCode, message: str, span: Span | None, help: str | None = None
    ) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, help))

    # ------------------------------------------------------------------ element names
    def _keyword_tag(self, ref: ast.ElementRef) -> int | None:
        """The keyword's tag, or an unknown-keyword error with the closest keyword."""
        assert ref.keyword is not None
        tag = tag_for_keyword(ref.keyword)
        if tag is None:
            self.error(
                ErrorCode.UNKNOWN_KEYWORD,
                f"unknown keyword '{ref.keyword}'",
                ref.span,
                self._keyword_hint(ref.keyword, ref.span.file),
            )
        return tag

    def _keyword_hint(self, keyword: str, file: str) -> str | None:
        given = self.suggested.get(file, 0)
        if given > SUGGESTIONS_PER_FILE:
            return None
        self.suggested[file] = given + 1
        if given == SUGGESTIONS_PER_FILE:
            return f"no more suggestions for this file: {SUGGESTIONS_PER_FILE} given"
        close = _closest_keyword(keyword)
        return f"did you mean '{close}'?" if close else None

    def resolve_ref(self, ref: ast.ElementRef) -> tuple[int | None, str | None]:
        """Resolve a tag/keyword/mask reference to (tag or mask value, keyword)."""
        if ref.mask is not None:
            return self._resolve_mask(ref)
        keyword_tag = None
        if ref.keyword is not None:
            keyword_tag = self._keyword_tag(ref)
            if keyword_tag is None:
                return None, None
        if ref.tag is None:
            return keyword_tag, ref.keyword
        if keyword_tag is not None and keyword_tag != ref.tag:
            self.error(
                ErrorCode.TAG_KEYWORD_MISMATCH,
                f"keyword '{ref.keyword}' is {format_tag(keyword_tag)}, not {format_tag(ref.tag)}",
                ref.span,
                self._name_hint(ref.tag, ref.keyword),
            )
            return None, None
        if (
            not is_private_group(ref.tag >> 16)
            and attribute_info(ref.tag) is None
            and not self.keeping
        ):
            self.error(
                ErrorCode.UNKNOWN_TAG,
                f"unknown tag {format_tag(ref.tag)}",
                ref.span,
                "not in the DICOM dictionary (PS3.6); check the digits",
            )
            return None, None
        keyword = ref.keyword
        if keyword is None:
            info = attribute_info(ref.tag)
            keyword = info.keyword if info else None
        return ref.tag, keyword

    def _name_hint(self, tag: int, keyword: str | None) -> str:
        info = attribute_info(tag)
        if info is not None and info.keyword:
            return f"{format_tag(tag)} is {info.keyword}"
        return "the tag and the keyword must name the same attribute"

    def _resolve_mask(self, ref: ast.ElementRef) -> tuple[int | None, str | None]:
        assert ref.mask is not None and ref.tag is not None
        shown = format_mask(ref.mask, ref.tag)
        group_digits = shown[1:5]
        if group_digits[:2] not in REPEATING_GROUPS or group_digits[2:] != "xx":
            self.error(
                ErrorCode.BAD_REPEATING_GROUP,
                f"{shown} is not a repeating group",
                ref.span,
                "repeating groups are written (50xx,xxxx) or (60xx,eeee)",
            )
            return None, None
        if "x" in shown[6:] and shown[6:10] != "xxxx":
            self.error(
                ErrorCode.BAD_REPEATING_GROUP,
                f"{shown} mixes digits and wildcards",
                ref.span,
                "write the element fully, or as xxxx",
            )
            return None, None
        if ref.keyword is not None:
            keyword_tag = self._keyword_tag(ref)
            if keyword_tag is None:
                return None, None
            if keyword_tag & ref.mask != ref.tag:
                self.error(
                    ErrorCode.TAG_KEYWORD_MISMATCH,
                    f"keyword '{ref.keyword}' is {format_tag(keyword_tag)}, not in {shown}",
                    ref.span,
                )
                return None, None
        return ref.tag, ref.keyword

    # ------------------------------------------------------------------ selectors
    def target(self, selector: ast.Selector) -> Target | None:
        match selector:
            case ast.ElementSelector(steps=steps):
                return self._element_target(steps)
            case ast.VRSelector(vrs=vrs, span=span):
                unknown = [vr for vr in vrs if vr not in ALL_VRS]
                for vr in unknown:
                    self.error(
                        ErrorCode.UNKNOWN_VR,
                        f"unknown VR '{vr}'",
                        span,
                        _suggest_vr(vr),
                    )
                if unknown:
                    return None
                return Target(SelectorKind.VR, "vr " + ", ".join(vrs), vrs=frozenset(vrs))
            case ast.PrivateSelector(creator=None, span=span):
                return Target(SelectorKind.PRIVATE, "private")
            case ast.PrivateSelector(creator=creator, group=group, offset=offset, span=span):
                assert group is not None and offset is not None and creator is not None
                if not is_private_group(group):
                    self.error(
                        ErrorCode.BAD_PRIVATE_SELECTOR,
                        f"group {group:04X} is not a private group",
                        span,
                        "private groups are odd, other than 0001, 0003, 0005, 0007",
                    )
                    return None
                if not creator.strip():
                    self.error(ErrorCode.BAD_PRIVATE_SELECTOR, "empty private creator", span)
                    return None
                text = f'private "{creator}" ({group:04X},xx{offset:02X})'
                return Target(
                    SelectorKind.PRIVATE_CREATOR, text, creator=creator, group=group, offset=offset
                )
            case ast.PixelSelector():
                return Target(SelectorKind.PIXELS, "pixels")
            case ast.AnySelector():
                return Target(SelectorKind.ANY, "*")
        raise AssertionError(selector)

    def _element_target(self, steps: tuple[ast.PathStep, ...]) -> Target | None:
        resolved: list[tuple[int, str | None, ast.PathStep]] = []
        for step in steps:
            tag, keyword = self.resolve_ref(step.element)
            if tag is None:
                return None
            resolved.append((tag, keyword, step))
        last_tag, last_keyword, last_step = resolved[-1]
        if last_step.item is not None:
            self.error(
                ErrorCode.SYNTAX,
                "an item index needs a step after it",
                last_step.element.span,
                "write (0040,0275)[*].(0032,1060)",
            )
            return None
        vrs = _vrs_of(last_tag)
        if len(resolved) == 1:
            if last_step.element.mask is not None:
                mask = last_step.element.mask
                text = format_mask(mask, last_tag) + (f" {last_keyword}" if last_keyword else "")
                return Target(
                    SelectorKind.MASK, text, tag=last_tag, mask=mask, keyword=last_keyword, vrs=vrs
                )
            return Target(
                SelectorKind.TAG, format_tag(last_tag), tag=last_tag, keyword=last_keyword, vrs=vrs
            )
        items: list[PathItem] = []
        for tag, _keyword, step in resolved[:-1]:
            if step.element.mask is not None:
                self.error(
                    ErrorCode.NOT_A_SEQUENCE,
                    "a repeating group cannot hold items",
                    step.element.span,
                )
                return None
            if not is_private_group(tag >> 16) and "SQ" not in _vrs_of(tag):
                self.error(
                    ErrorCode.NOT_A_SEQUENCE,
                    f"{step.element.text} is not a sequence, so nothing is inside it",
                    step.element.span,
                    "only SQ elements have items",
                )
                return None
            index = None if step.item in (None, ast.ANY_ITEM) else step.item
            items.append(PathItem(tag, index))
        if last_step.element.mask is not None:
            self.error(
                ErrorCode.NOT_A_SEQUENCE,
                "a path must end in a tag or keyword",
                last_step.element.span,
            )
            return None
        text = ".".join(
            (
                format_tag(t)
                + ("" if s.item is None else "[*]" if s.item == ast.ANY_ITEM else f"[{s.item}]")
            )
            for t, _k, s in resolved
        )
        return Target(
            SelectorKind.PATH, text, tag=last_tag, keyword=last_keyword, vrs=vrs, path=tuple(items)
        )

    # ------------------------------------------------------------------ conditions
    def condition(self, condition: ast.Condition) -> ast.Condition | None:
        """Resolve operands to tags; ``None`` when an operand is unknown (already reported)."""
        match condition:
            case ast.Compare(operand=operand):
                resolved = self.operand(operand)
                return dataclasses.replace(condition, operand=resolved) if resolved else None
            case ast.Membership(operand=operand):
                resolved = self.operand(operand)
                return dataclasses.replace(condition, operand=resolved) if resolved else None
            case ast.Presence(operand=operand):
                resolved = self.operand(operand)
                return dataclasses.replace(condition, operand=resolved) if resolved else None
            case ast.Not(operand=inner):
                checked = self.condition(inner)
                return ast.Not(checked) if checked else None
            case ast.And(operands=parts) | ast.Or(operands=parts):
                checked_parts = [self.condition(p) for p in parts]
                if any(p is None for p in checked_parts):
                    return None
                return type(condition)(tuple(p for p in checked_parts if p is not None))
        raise AssertionError(condition)

    def operand(self, operand: ast.Operand) -> ast.Operand | None:
        if operand.derived is not None:
            return operand
        ref = ast.ElementRef(operand.text, operand.span, tag=operand.tag, keyword=operand.keyword)
        tag, keyword = self.resolve_ref(ref)
        if tag is None:
            return None
        return dataclasses.replace(operand, tag=tag, keyword=keyword)

    # ------------------------------------------------------------------ actions
    def action(self, rule: ast.Rule, target: Target) -> bool:
        action = rule.action
        is_pixels = target.kind == SelectorKind.PIXELS
        if action.kind in ast.PIXEL_ACTIONS and not is_pixels:
            self.error(
                ErrorCode.PIXEL_ACTION_MISPLACED,
                f"'{action.label}' acts on pixels, not on {target.text}",
                action.span,
                "use it with the 'pixels' selector",
            )
            return False
        pixel_verbs = ast.PIXEL_ACTIONS | {ast.ActionKind.KEEP, ast.ActionKind.REJECT}
        if is_pixels and action.kind not in pixel_verbs:
            self.error(
                ErrorCode.PIXEL_ACTION_MISPLACED,
                f"'{action.label}' is not a pixel action",
                action.span,
                "pixels take ocr-redact, redact box, keep-ultrasound-regions, keep or reject",
            )
            return False
        allowed = ACTION_VRS[action.kind]
        if allowed is not None and not is_pixels:
            if (
                target.kind
                in (SelectorKind.ANY, SelectorKind.PRIVATE, SelectorKind.PRIVATE_CREATOR)
                or not target.vrs
            ):
                if target.kind != SelectorKind.PRIVATE_CREATOR:
                    self.error(
                        ErrorCode.ACTION_INVALID_FOR_VR,
                        f"'{action.label}' needs a known VR but {target.text} can have any",
                        action.span,
                        "select by tag, keyword or 'vr …' instead",
                    )
                    return False
            elif not target.vrs <= allowed:
                bad = ", ".join(sorted(target.vrs - allowed))
                self.error(
                    ErrorCode.ACTION_INVALID_FOR_VR,
                    f"'{action.label}' is not valid for VR {bad} of {target.text}",
                    action.span,
                    f"'{action.label}' applies to VR " + ", ".join(sorted(allowed)),
                )
                return False
        return self.arguments(action)

    def arguments(self, action: ast.Action) -> bool:
        ok = True

        def bad(message: str, hint: str | None = None) -> None:
            nonlocal ok
            ok = False
            self.error(ErrorCode.BAD_ARGUMENT, message, action.span, hint)

        if action.strict and action.kind not in ast.TEXT_CLEANING_ACTIONS:
            bad(f"'{action.label}' takes no 'strict'", "'strict' applies to clean, C and scrub")
        match action.kind:
            case ast.ActionKind.SHIFT_DATE if action.numbers:
                low, high = action.numbers
                if low > high:
                    bad(f"shift range {low}..{high} is empty", "write the smaller number first")
                elif max(abs(low), abs(high)) > 36525:
                    bad("shift range exceeds 100 years")
                elif low == high == 0:
                    bad("shift range 0..0 keeps every date", "use keep, or a non-zero range")
            case ast.ActionKind.CAP_AGE if not 1 <= action.numbers[0] <= 150:
                bad(f"age cap {action.numbers[0]} is out of range", "HIPAA Safe Harbor uses 89")
            case ast.ActionKind.HASH if action.numbers and not 4 <= action.numbers[0] <= 64:
                bad(f"hash length {action.numbers[0]} is out of range", "use 4 to 64 characters")
            case ast.ActionKind.SCRUB:
                for word in action.words:
                    if word not in SCRUB_CATEGORIES:
                        bad(
                            f"unknown scrub category '{word}'",
                            _suggest(
                                word,
                                SCRUB_CATEGORIES,
                                "categories: " + " ".join(sorted(SCRUB_CATEGORIES)),
                            ),
                        )
            case ast.ActionKind.OCR_REDACT if action.text and action.text not in OCR_MODES:
                bad(
                    f"unknown ocr-redact mode '{action.text}'",
                    _suggest(action.text, OCR_MODES, "modes: identifying, all"),
                )
            case ast.ActionKind.REDACT_BOX if action.numbers[2] <= 0 or action.numbers[3] <= 0:
                bad("a redaction box needs a positive width and height")
            case ast.ActionKind.PSEUDONYM if action.text is not None:
                names = PLACEHOLDER.findall(action.text)
                if not any(name == "hmac" for name, _n in names):
                    bad(
                        "a pseudonym template needs {hmac:N}",
                        "without it every patient gets the same value",
                    )
                for name, _n in names:
                    if name != "hmac":
                        bad(f"unknown placeholder '{{{name}}}'", "the template knows {hmac:N}")
        return ok


def _contradictory(condition: ast.Condition) -> bool:
    """True for a conjunction that demands two different values of one operand."""
    if not isinstance(condition, ast.And):
        return False
    wanted: dict[object, set[object]] = {}
    for part in condition.operands:
        if isinstance(part, ast.Compare) and part.comparator is ast.Comparator.EQ:
            allowed: set[object] = {part.value}
        elif isinstance(part, ast.Membership):
            allowed = set(part.values)
        else:
            continue
        key = part.operand.tag if part.operand.tag is not None else part.operand.derived
        previous = wanted.get(key)
        wanted[key] = allowed if previous is None else previous & allowed
        if not wanted[key]:
            return True
    return False


def _is_method_code(code: str) -> bool:
    try:
        cid7050.cid_7050(code)
    except KeyError:
        return False
    return True


def _iter_rules(layers: tuple[Layer, ...]) -> Iterator[tuple[Layer, ast.Rule]]:
    for layer in layers:
        for rule in layer.file.rules:
            yield layer, rule


def _check_presence(layer: Layer, checker: _Checker, broken: frozenset[str]) -> None:
    """A file with nothing in it, or rules with no declaration, is a mistake (a wrong path, a
    file saved empty): it would run as if it were a policy. Not said of a file whose lines
    did not parse: their own errors say what is wrong."""
    if layer.source.display in broken:
        return
    statements = layer.file.statements
    if not statements:
        checker.error(
            ErrorCode.EMPTY_POLICY,
            "the policy is empty: no declaration and no rules",
            Span(layer.source.display, 1, 1),
            "start it with `policy NAME` (or `option NAME`) and its rules",
        )
    elif layer.file.declaration is None:
        checker.error(
            ErrorCode.MISSING_HEADER,
            "no `policy` or `option` declaration",
            statements[0].span,
            "add `policy NAME` (or `option NAME`) as the first line",
        )


def _check_headers(layer: Layer, checker: _Checker) -> None:
    seen_decl: ast.PolicyDecl | None = None
    for index, statement in enumerate(layer.file.statements):
        if isinstance(statement, ast.PolicyDecl):
            if seen_decl is not None:
                checker.error(
                    ErrorCode.DUPLICATE_HEADER,
                    "a second policy or option declaration",
                    statement.span,
                    f"the first is at {seen_decl.span}",
                )
            elif index != 0:
                checker.error(
                    ErrorCode.HEADER_NOT_FIRST,
                    "the declaration must come first",
                    statement.span,
                    "move the policy/option line to the top",
                )
            seen_decl = statement
        elif isinstance(statement, ast.CodeDecl):
            for code in statement.codes:
                if not _is_method_code(code):
                    checker.error(
                        ErrorCode.UNKNOWN_METHOD_CODE,
                        f"'{code}' is not a CID 7050 de-identification method code",
                        statement.span,
                        "codes run from 113100 to 113112",
                    )


def check_composition(composition: Composition) -> CheckedPolicy:
    """Resolve and validate every rule of every layer; report all problems at once."""
    checker = _Checker()
    checked: list[CheckedRule] = []
    broken = frozenset(d.span.file for d in composition.diagnostics if d.span is not None)
    for layer in composition.layers:
        _check_presence(layer, checker, broken)
        _check_headers(layer, checker)
    first_seen: dict[tuple[object, ...], tuple[ast.Rule, str]] = {}
    for layer, rule in _iter_rules(composition.layers):
        checker.keeping = rule.action.kind is ast.ActionKind.KEEP
        target = checker.target(rule.selector)
        checker.keeping = False
        if target is None:
            continue
        condition = rule.condition
        if condition is not None:
            condition = checker.condition(condition)
            if condition is None:
                continue
            if _contradictory(condition):
                checker.error(
                    ErrorCode.UNREACHABLE,
                    "this condition can never hold",
                    rule.span,
                    "it asks one attribute for two different values",
                )
                continue
        if not checker.action(rule, target):
            continue
        key = (layer.index, target.key, rule.condition_text)
        previous = first_seen.get(key)
        if previous is not None:
            earlier, earlier_label = previous
            if earlier_label != rule.action.label or earlier.action != dataclasses.replace(
                rule.action, span=earlier.action.span
            ):
                checker.error(
                    ErrorCode.CONFLICT,
                    f"conflicting rules for {target.text}: '{earlier_label}' and "
                    f"'{rule.action.label}'",
                    rule.span,
                    f"the other rule is at {earlier.span}; keep one",
                )
            else:
                checker.error(
                    ErrorCode.UNREACHABLE,
                    f"this rule repeats the one at {earlier.span} and never applies",
                    rule.span,
                    "delete one of them",
                )
            continue
        first_seen[key] = (rule, rule.action.label)
        resolved_rule = (
            rule if condition is rule.condition else dataclasses.replace(rule, condition=condition)
        )
        checked.append(CheckedRule(resolved_rule, target, layer))
    diagnostics = sorted(
        (*composition.diagnostics, *checker.diagnostics),
        key=lambda d: (d.span.file, d.span.line, d.span.column) if d.span else ("", 0, 0),
    )
    return CheckedPolicy(composition, tuple(checked), tuple(diagnostics))
