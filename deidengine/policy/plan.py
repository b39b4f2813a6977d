"""The compiled execution plan: an immutable index from elements to the rules that may apply.

Per element the engine asks :meth:`Plan.candidates` for the rules in precedence order and takes
the first whose condition holds. Candidate lists are dictionary look-ups over the element's
tag, VR and private block, never a scan of every rule.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType

from deidengine.policy import ast
from deidengine.policy.diagnostics import Span
from deidengine.standard.dictionary import is_private_group


class SelectorKind(enum.IntEnum):
    """Selector kinds; a larger value is more specific (precedence rule 2)."""

    ANY = 0
    PRIVATE = 1
    VR = 2
    MASK = 3
    PRIVATE_CREATOR = 4
    TAG = 5
    PATH = 6
    PIXELS = 7


@dataclass(frozen=True, slots=True)
class PathItem:
    """One sequence step of a path: the sequence's tag and which item (``None``: any)."""

    tag: int
    item: int | None = None

    def matches(self, tag: int, item: int) -> bool:
        return self.tag == tag and (self.item is None or self.item == item)


def format_tag(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def format_mask(mask: int, value: int) -> str:
    digits = f"{value:08X}"
    bits = f"{mask:08X}"
    shown = "".join("x" if b == "0" else d for b, d in zip(bits, digits, strict=True))
    return f"({shown[:4]},{shown[4:]})"


def repeating_group_matches(tag: int, mask: int, value: int) -> bool:
    """A repeating-group mask, bounded to the even groups xx00-xx1E (PS3.5 7.6)."""
    if tag & mask != value:
        return False
    group = tag >> 16
    if mask & 0x00FF0000:
        return True
    return not group & 1 and (group & 0xFF) <= 0x1E


@dataclass(frozen=True, slots=True)
class Target:
    """What a rule selects, resolved: tags are numbers and keywords are known."""

    kind: SelectorKind
    text: str
    tag: int | None = None
    mask: int | None = None
    keyword: str | None = None
    vrs: frozenset[str] = frozenset()
    creator: str | None = None
    group: int | None = None
    offset: int | None = None
    path: tuple[PathItem, ...] = ()

    @property
    def key(self) -> tuple[object, ...]:
        """Identity for conflicts and ``explain``: two rules with one key select the same."""
        return (
            self.kind,
            self.tag,
            self.mask,
            tuple(sorted(self.vrs)) if self.kind == SelectorKind.VR else (),
            self.creator,
            self.group,
            self.offset,
            self.path,
        )

    @property
    def tag_text(self) -> str:
        """The tag column of ``explain``: ``(0010,0010)``, ``(60xx,3000)``, ``private``, …."""
        if self.kind in (SelectorKind.TAG,) and self.tag is not None:
            return format_tag(self.tag)
        if self.kind == SelectorKind.MASK and self.tag is not None and self.mask is not None:
            return format_mask(self.mask, self.tag)
        if self.kind == SelectorKind.PRIVATE:
            return "(gggg,eeee)"  # as Table E.1-1 prints its private row
        if self.kind == SelectorKind.PRIVATE_CREATOR and self.group is not None:
            return f"({self.group:04X},xx{self.offset or 0:02X})"
        return self.text


@dataclass(frozen=True, slots=True)
class PlannedRule:
    """A checked rule with its place in the composition."""

    target: Target
    action: ast.Action
    layer: int
    order: int
    source: str
    policy: str
    condition: ast.Condition | None = None
    condition_text: str | None = None
    section: str | None = None
    comment: str | None = None

    @property
    def precedence(self) -> tuple[int, int, int, int, int]:
        """Sort key: ``*`` last in every layer (it selects only what no other rule selects),
        then later layer, then more specific, then conditional first, then file order."""
        return (
            int(self.target.kind is SelectorKind.ANY),
            -self.layer,
            -int(self.target.kind),
            0 if self.condition else 1,
            self.order,
        )


@dataclass(frozen=True, slots=True)
class Weakening:
    """A ``keep`` rule that beats what profiles beneath it do to some elements (W301)."""

    rule: str  # as written: "vr PN -> keep"
    source: str  # "site.policy:3"
    span: Span | None
    profiles: tuple[str, ...]  # the layers whose rules it beats, in composition order
    rows: tuple[str, ...]  # the elements, with what the profile does: "PatientName (Z)"


@dataclass(frozen=True, slots=True)
class Claims:
    """What the outputs of a plan may claim, decided once when it is compiled.

    ``names`` and ``codes`` are those of the layers no ``keep`` of a later layer weakens;
    ``identity_removed`` holds when every Basic Profile row is handled (removed, emptied,
    replaced, cleaned, or kept only by a shipped Option that says so with its code). The stamp
    and the verifier's provenance check both read this value, so they cannot disagree.
    """

    names: tuple[str, ...]
    codes: tuple[str, ...]
    identity_removed: bool
    weakenings: tuple[Weakening, ...] = ()


RuleTuple = tuple[PlannedRule, ...]
#: What the derived ``age`` reads: Patient's Age, Birth Date, and Study/Content/Acquisition/
#: Instance Creation Date.
AGE_SOURCE_TAGS = frozenset(
    {0x00101010, 0x00100030, 0x00080020, 0x00080023, 0x00080022, 0x00080012}
)
PrivateKey = tuple[str, int, int]  # (creator, group, element offset within the block)


def _freeze(mapping: Mapping[object, RuleTuple]) -> Mapping[object, RuleTuple]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True, eq=False)
class Plan:
    """A compiled, composed policy: what every element gets, and which CID 7050 codes ran."""

    names: tuple[str, ...]
    runnable: bool
    codes: tuple[str, ...]
    digest: str
    rules: RuleTuple
    by_tag: Mapping[int, RuleTuple]
    masks: tuple[tuple[int, int, RuleTuple], ...]
    by_vr: Mapping[str, RuleTuple]
    by_private_creator: Mapping[PrivateKey, RuleTuple]
    private_all: RuleTuple
    any_element: RuleTuple
    by_path_tag: Mapping[int, RuleTuple]
    pixels: RuleTuple
    #: What outputs may claim; ``None`` (a plan built by hand): everything the plan names.
    claims: Claims | None = None
    _cache: dict[tuple[object, ...], RuleTuple] = field(default_factory=dict, repr=False)

    @classmethod
    def build(
        cls,
        names: tuple[str, ...],
        runnable: bool,
        codes: tuple[str, ...],
        digest: str,
        rules: RuleTuple,
        claims: Claims | None = None,
    ) -> Plan:
        """Index the rules by what they select, each list in precedence order."""
        by_tag: dict[int, list[PlannedRule]] = {}
        masks: dict[tuple[int, int], list[PlannedRule]] = {}
        by_vr: dict[str, list[PlannedRule]] = {}
        by_creator: dict[PrivateKey, list[PlannedRule]] = {}
        by_path: dict[int, list[PlannedRule]] = {}
        private_all: list[PlannedRule] = []
        any_element: list[PlannedRule] = []
        pixels: list[PlannedRule] = []
        for rule in sorted(rules, key=lambda r: r.precedence):
            target = rule.target
            match target.kind:
                case SelectorKind.TAG:
                    by_tag.setdefault(target.tag or 0, []).append(rule)
                case SelectorKind.MASK:
                    masks.setdefault((target.mask or 0, target.tag or 0), []).append(rule)
                case SelectorKind.VR:
                    for vr in target.vrs:
                        by_vr.setdefault(vr, []).append(rule)
                case SelectorKind.PRIVATE_CREATOR:
                    key = (target.creator or "", target.group or 0, target.offset or 0)
                    by_creator.setdefault(key, []).append(rule)
                case SelectorKind.PRIVATE:
                    private_all.append(rule)
                case SelectorKind.ANY:
                    any_element.append(rule)
                case SelectorKind.PATH:
                    by_path.setdefault(target.tag or 0, []).append(rule)
                case SelectorKind.PIXELS:
                    pixels.append(rule)
        return cls(
            names=names,
            runnable=runnable,
            codes=codes,
            digest=digest,
            rules=rules,
            by_tag=MappingProxyType({k: tuple(v) for k, v in by_tag.items()}),
            masks=tuple((m, v, tuple(r)) for (m, v), r in masks.items()),
            by_vr=MappingProxyType({k: tuple(v) for k, v in by_vr.items()}),
            by_private_creator=MappingProxyType({k: tuple(v) for k, v in by_creator.items()}),
            private_all=tuple(private_all),
            any_element=tuple(any_element),
            by_path_tag=MappingProxyType({k: tuple(v) for k, v in by_path.items()}),
            pixels=tuple(pixels),
            claims=claims,
        )

    def __reduce__(self) -> tuple[object, ...]:
        """Pickle as the rules alone and rebuild the indexes on loading.

        The indexes are read-only views (``MappingProxyType``), which cannot be pickled, and
        are cheap to rebuild; the plan cache and process pools ship plans this way.
        """
        return (
            Plan.build,
            (self.names, self.runnable, self.codes, self.digest, self.rules, self.claims),
        )

    @property
    def claimed_names(self) -> tuple[str, ...]:
        """The policies an output may name in De-identification Method (0012,0063)."""
        return self.claims.names if self.claims is not None else self.names

    @property
    def claimed_codes(self) -> tuple[str, ...]:
        """The CID 7050 codes an output may claim (pixel Options only where pixels ran)."""
        return self.claims.codes if self.claims is not None else self.codes

    @property
    def identity_removed(self) -> bool:
        """Whether outputs may say Patient Identity Removed (0012,0062) YES."""
        return self.claims.identity_removed if self.claims is not None else True

    @property
    def weakenings(self) -> tuple[Weakening, ...]:
        return self.claims.weakenings if self.claims is not None else ()

    def probe(self, target: Target) -> RuleTuple:
        """The candidates an element selected by ``target`` would see (a representative
        element for the broad selectors)."""
        first_vr = min(target.vrs) if target.vrs else None
        match target.kind:
            case SelectorKind.TAG | SelectorKind.MASK:
                return self.candidates(target.tag, first_vr)
            case SelectorKind.PATH:
                path = tuple((step.tag, step.item or 0) for step in target.path)
                return self.candidates(target.tag, first_vr, None, path)
            case SelectorKind.PRIVATE_CREATOR:
                group, offset = target.group or 0, target.offset or 0
                tag = (group << 16) | 0x1000 | offset
                return self.candidates(tag, None, (target.creator or "", group, offset))
            case SelectorKind.PRIVATE:
                return self.candidates(0x00091000, None, ("", 0x0009, 0))
            case SelectorKind.VR:
                return self.candidates(None, first_vr)
            case SelectorKind.ANY:
                return self.candidates(None, None)
            case SelectorKind.PIXELS:
                return self.pixels
        raise AssertionError(target.kind)

    @cached_property
    def condition_tags(self) -> frozenset[int]:
        """Every tag a ``when`` condition reads, plus those the derived ``age`` reads: all a
        condition snapshot needs to take from the input."""
        tags: set[int] = set()
        uses_age = False
        pending = [rule.condition for rule in self.rules if rule.condition is not None]
        while pending:
            condition = pending.pop()
            match condition:
                case (
                    ast.Compare(operand=operand)
                    | ast.Membership(operand=operand)
                    | (ast.Presence(operand=operand))
                ):
                    if operand.tag is not None:
                        tags.add(operand.tag)
                    uses_age = uses_age or operand.derived == "age"
                case ast.Not(operand=inner):
                    pending.append(inner)
                case ast.And(operands=parts) | ast.Or(operands=parts):
                    pending.extend(parts)
        if uses_age:
            tags |= AGE_SOURCE_TAGS
        return frozenset(tags)

    def candidates(
        self,
        tag: int | None,
        vr: str | None,
        private_key: PrivateKey | None = None,
        path: tuple[tuple[int, int], ...] = (),
    ) -> RuleTuple:
        """Every rule that selects this element, best first; the caller takes the first whose
        condition holds. ``path`` is the (sequence tag, item index) chain from the root.

        ``vr`` and ``*`` rules select standard elements only: a private element is reached
        only by ``private`` selectors or its absolute tag, so no broad rule keeps one by accident.
        """
        # The answer depends on the path only for tags a path rule names; privateness is a
        # function of the tag. So the cache key is (tag, vr, private key[, path]).
        use_path = bool(path) and tag in self.by_path_tag
        cache_key = (tag, vr, private_key, path) if use_path else (tag, vr, private_key)
        cached = self._cache.get(cache_key)
        if cached is not None:
            return cached
        is_private = tag is not None and is_private_group(tag >> 16)
        found: list[PlannedRule] = []
        if tag is not None:
            found.extend(self.by_tag.get(tag, ()))
            if use_path:
                found.extend(r for r in self.by_path_tag[tag] if _path_matches(r.target.path, path))
            if not is_private:
                for mask, value, rules in self.masks:
                    if repeating_group_matches(tag, mask, value):
                        found.extend(rules)
        if is_private or (tag is None and private_key is not None):
            if private_key is not None:
                found.extend(self.by_private_creator.get(private_key, ()))
            found.extend(self.private_all)
        else:
            if vr is not None:
                for one in vr.split(" or "):
                    found.extend(self.by_vr.get(one, ()))
            found.extend(self.any_element)
        ordered = tuple(sorted(set(found), key=lambda r: r.precedence))
        self._cache[cache_key] = ordered
        return ordered


def _path_matches(steps: tuple[PathItem, ...], path: tuple[tuple[int, int], ...]) -> bool:
    if len(steps) != len(path):
        return False
    return all(step.matches(tag, item) for step, (tag, item) in zip(steps, path, strict=True))
