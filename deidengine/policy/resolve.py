"""Find policy files and compose them into ordered layers (``use`` and comma lists).

A policy spec is a shipped name (``annex-e/basic``), a path, or a comma-separated list of
either, composed in order. ``use`` statements are expanded depth first, each before the file
that says it; a policy reached twice is included once, at its first place.
"""

from __future__ import annotations

import codecs
import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

from deidengine.errors import DeidError, EngineCode
from deidengine.policy import ast
from deidengine.policy.diagnostics import Diagnostic, ErrorCode, Span

POLICY_PACKAGE = "deidengine._policies"
SUFFIX = ".policy"


def shipped_policy_root() -> Traversable:
    """The shipped ``policies/`` folder: inside the installed package, else the source tree."""
    try:
        root = resources.files(POLICY_PACKAGE)
        if root.joinpath("annex-e").is_dir():
            return root
    except ModuleNotFoundError:
        pass
    return Path(__file__).resolve().parents[2] / "policies"


def shipped_policy_names() -> tuple[str, ...]:
    """Every shipped policy's name, such as ``annex-e/basic`` or ``hipaa-safe-harbor``."""
    names: list[str] = []

    def walk(folder: Traversable, prefix: str) -> None:
        for entry in folder.iterdir():
            if entry.is_dir() and not entry.name.startswith(("_", ".")):
                walk(entry, f"{prefix}{entry.name}/")
            elif entry.name.endswith(SUFFIX):
                names.append(prefix + entry.name[: -len(SUFFIX)])

    walk(shipped_policy_root(), "")
    return tuple(sorted(names))


@dataclass(frozen=True, slots=True)
class ShippedPolicy:
    """A shipped policy's name and the one-line description its ``policy`` line gives."""

    name: str
    description: str
    is_option: bool


def policy_list_json(listed: Iterable[ShippedPolicy]) -> list[dict[str, object]]:
    """The document of ``deid policy list --format json`` (docs/schemas/policy-list)."""
    from deidengine.schemas.policy import PolicyList, ShippedPolicyEntry

    document: list[dict[str, object]] = PolicyList(
        tuple(
            ShippedPolicyEntry(name=p.name, description=p.description, option=p.is_option)
            for p in listed
        )
    ).model_dump(mode="json")
    return document


def shipped_policies() -> tuple[ShippedPolicy, ...]:
    """Every shipped policy with its description (each file's ``policy``/``option`` line)."""
    listed: list[ShippedPolicy] = []
    for name in shipped_policy_names():
        parsed, _ = parse_source(_read_shipped(name))
        declaration = parsed.declaration
        listed.append(
            ShippedPolicy(
                name,
                (declaration.title or "") if declaration else "",
                declaration.is_option if declaration else False,
            )
        )
    return tuple(listed)


@dataclass(frozen=True, slots=True)
class PolicySource:
    """Where a policy's text came from: its identity (for de-duplication) and display path."""

    identity: str
    display: str
    text: str
    shipped: bool


@dataclass(frozen=True, slots=True)
class Layer:
    """One policy file in composition order; later layers beat earlier ones."""

    index: int
    source: PolicySource
    file: ast.PolicyFile


@dataclass(frozen=True, slots=True)
class Composition:
    """A spec composed into layers, with every diagnostic found on the way."""

    spec: str
    layers: tuple[Layer, ...]
    diagnostics: tuple[Diagnostic, ...]


class _UnknownPolicy(Exception):
    pass


#: Byte-order marks of encodings a policy is not written in (UTF-32 first: its little-endian
#: mark begins with UTF-16's). UTF-8's own mark is accepted and dropped.
FOREIGN_BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)
SAVE_AS_UTF8 = "a policy is a UTF-8 text file: save it as UTF-8"


class PolicyDecodeError(DeidError, ValueError):
    """A policy file's bytes are not UTF-8 text; where (line and column count from 1) and why."""

    code = EngineCode.UNDECODABLE_POLICY

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


def _position(data: bytes, offset: int) -> tuple[int, int]:
    """The line and character column of byte ``offset``, both from 1."""
    start = data.rfind(b"\n", 0, offset) + 1
    column = len(data[start:offset].decode("utf-8", "replace")) + 1
    return data.count(b"\n", 0, offset) + 1, column


def decode_policy_text(data: bytes) -> str:
    """A policy file's text: UTF-8, a leading byte-order mark dropped.

    Raises:
        PolicyDecodeError: another encoding's byte-order mark, bytes that are not UTF-8, or a
            NUL character (a binary file, or UTF-16 without its mark).
    """
    for mark, encoding in FOREIGN_BYTE_ORDER_MARKS:
        if data.startswith(mark):
            raise PolicyDecodeError(f"the file is {encoding} text, not UTF-8", 1, 1)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line, column = _position(data, error.start)
        byte = data[error.start]
        raise PolicyDecodeError(
            f"not UTF-8 text: byte 0x{byte:02X} cannot be decoded", line, column
        ) from None
    nul = data.find(b"\0")
    if nul >= 0:
        line, column = _position(data, nul)
        raise PolicyDecodeError("a NUL byte: this is not a text file", line, column)
    return text.removeprefix("\ufeff")


class _Undecodable(Exception):
    def __init__(self, display: str, error: PolicyDecodeError) -> None:
        super().__init__(display)
        self.display = display
        self.error = error

    def diagnostic(self) -> Diagnostic:
        span = Span(self.display, self.error.line, self.error.column)
        return Diagnostic(ErrorCode.NOT_UTF8, self.error.message, span, SAVE_AS_UTF8)


def _read_shipped(name: str) -> PolicySource:
    entry = shipped_policy_root()
    for part in f"{name}{SUFFIX}".split("/"):
        entry = entry.joinpath(part)
    if not entry.is_file():
        raise _UnknownPolicy(name)
    return PolicySource(
        f"shipped:{name}", f"policies/{name}{SUFFIX}", entry.read_text("utf-8"), shipped=True
    )


def _read_path(path: Path, display: str) -> PolicySource:
    if not path.is_file():
        raise _UnknownPolicy(display)
    try:
        text = decode_policy_text(path.read_bytes())
    except PolicyDecodeError as error:
        raise _Undecodable(display, error) from None
    return PolicySource(f"file:{path.resolve()}", display, text, shipped=False)


def _display_path(path: Path) -> str:
    """A path as a user would write it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def locate_policy(ref: str, relative_to: Path | None = None, is_path: bool = False) -> PolicySource:
    """Read one policy: a path (absolute, or relative to ``relative_to``) or a shipped name."""
    looks_like_path = is_path or ref.endswith(SUFFIX) or ref.startswith((".", "/"))
    if looks_like_path:
        candidate = Path(ref)
        if not candidate.is_absolute() and relative_to is not None:
            candidate = relative_to / candidate
        return _read_path(candidate, ref if relative_to is None else _display_path(candidate))
    try:
        return _read_shipped(ref)
    except _UnknownPolicy:
        local = Path(ref)
        if local.is_file():
            return _read_path(local, ref)
        raise


def _unknown_policy(ref: str, span: Span | None) -> Diagnostic:
    close = difflib.get_close_matches(ref, shipped_policy_names(), n=1)
    hint = (
        f"did you mean '{close[0]}'?"
        if close
        else ("give a shipped name (see `deid policy list`) or a path to a .policy file")
    )
    return Diagnostic(ErrorCode.UNKNOWN_POLICY, f"unknown policy '{ref}'", span, hint)


def _unreadable(ref: str, error: OSError, span: Span | None) -> Diagnostic:
    return Diagnostic(
        ErrorCode.UNREADABLE_POLICY, f"cannot read policy '{ref}': {error.strerror}", span
    )


SourceParser = Callable[[PolicySource], tuple[ast.PolicyFile, tuple[Diagnostic, ...]]]
"""Turns a policy's text into its AST and syntax diagnostics (``compose`` only reads ``use``)."""


def parse_source(source: PolicySource) -> tuple[ast.PolicyFile, tuple[Diagnostic, ...]]:
    """The default :data:`SourceParser`: the lark parser of :mod:`deidengine.policy.parse`."""
    # Imported here: lark is needed only when a policy is actually parsed, not when the plan
    # cache answers (deidengine.policy.cache walks the same composition without parsing).
    from deidengine.policy.parse import parse_policy_text

    return parse_policy_text(source.text, source.display)


def compose(spec: str, *, parse: SourceParser = parse_source) -> Composition:
    """Compose a policy spec into layers, expanding ``use`` depth first.

    ``parse`` turns each source read into its AST; the plan cache passes one that answers from
    a cache entry, so that it finds exactly the files this function would read.
    """
    layers: list[Layer] = []
    diagnostics: list[Diagnostic] = []
    included: set[str] = set()

    def include(source: PolicySource, stack: tuple[str, ...]) -> None:
        if source.identity in included:
            return
        parsed, syntax = parse(source)
        diagnostics.extend(syntax)
        base = None if source.shipped else Path(source.identity.removeprefix("file:")).parent
        for use in parsed.uses:
            try:
                if source.shipped and not use.is_path:
                    used = _read_shipped(use.ref)
                else:
                    used = locate_policy(use.ref, base, use.is_path)
            except _UnknownPolicy:
                diagnostics.append(_unknown_policy(use.ref, use.span))
                continue
            except _Undecodable as undecodable:
                diagnostics.append(undecodable.diagnostic())
                continue
            except OSError as error:
                diagnostics.append(_unreadable(use.ref, error, use.span))
                continue
            if used.identity in stack or used.identity == source.identity:
                diagnostics.append(
                    Diagnostic(
                        ErrorCode.CYCLIC_USE,
                        f"'use {use.ref}' makes a cycle",
                        use.span,
                        "a policy cannot use itself, directly or through others",
                    )
                )
                continue
            include(used, (*stack, source.identity))
        if source.identity not in included:
            included.add(source.identity)
            layers.append(Layer(len(layers), source, parsed))

    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        try:
            source = locate_policy(part)
        except _UnknownPolicy:
            diagnostics.append(_unknown_policy(part, None))
            continue
        except _Undecodable as undecodable:
            diagnostics.append(undecodable.diagnostic())
            continue
        except OSError as error:
            diagnostics.append(_unreadable(part, error, None))
            continue
        include(source, ())
    return Composition(spec, tuple(layers), tuple(diagnostics))
