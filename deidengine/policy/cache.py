"""The plan cache: compiled plans kept between runs, so a run does not compile its policy again.

Compiling ``annex-e/basic`` (parsing its 650 lines with lark, resolving every name against the
DICOM dictionary) takes longer than the rest of a small run's start-up, and every worker process
used to repeat it. :func:`~deidengine.policy.compile.load_plan` asks this cache first.

An entry holds the plan and, for every policy file its composition read, the file's identity
(shipped name or resolved path), the name it is shown by, a SHA-256 of its text and its ``use``
statements. An entry answers only when:

- its key matches: the cache format, the spec as written, and a fingerprint of everything else
  that decides a plan (:func:`compiler_fingerprint`: the engine version, the grammar, the
  compiler's own modules and the standard tables it reads, the pydicom and lark versions, the
  Python implementation); and
- walking the spec again exactly as :func:`~deidengine.policy.resolve.compose` does (same search
  order, from the current working directory, with the ``use`` statements recorded for texts
  that are unchanged) reads files whose identities, shown names and texts are all as recorded.

So editing any policy file (one reached through ``use``, a shipped one), a relative path that
now names another file, a shipped policy that now shadows a local one, or an upgrade: each
misses, and the policy is compiled again. Only plans are kept, never diagnostics: a policy with
errors is compiled every time, so its diagnostics are always fresh.

Where: ``$DEID_CACHE_DIR`` when set (set but empty: no cache on disk), else
``$XDG_CACHE_HOME/deidengine``, else ``~/.cache/deidengine``; the directory is created mode 0700
and each entry 0600, one file per spec. Entries are pickles, so one is read only from a
directory and a file owned by this user and writable by no one else. Any problem (an unwritable
or foreign directory, a corrupt or stale entry) falls back to compiling, silently. Policies hold
no PHI; neither does the cache.

Within a process, entries are also kept in memory (checked the same way on every use), so the
runner, the per-file processor and workers forked from the runner share one compilation.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import os
import pickle
import stat
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import util as import_util
from pathlib import Path
from typing import Any, Final

from deidengine import __version__
from deidengine.policy import ast
from deidengine.policy.diagnostics import Diagnostic
from deidengine.policy.grammar import grammar_text
from deidengine.policy.plan import Plan
from deidengine.policy.resolve import Composition, PolicySource, compose

__all__ = [
    "CACHE_DIRECTORY_VARIABLE",
    "CACHE_FORMAT",
    "CacheEntry",
    "SourceRecord",
    "cache_directory",
    "cached_plan",
    "clear_memory",
    "compiler_fingerprint",
    "entry_path",
    "file_stamp",
    "package_root",
    "read_private_file",
    "write_private_file",
]

CACHE_DIRECTORY_VARIABLE: Final = "DEID_CACHE_DIR"
"""Overrides where the cache lives; set to an empty string, it keeps no cache on disk."""

CACHE_FORMAT: Final = 1
"""The entry layout; bumping it retires every existing entry."""

_ENTRY_PREFIX: Final = "plan-"
_ENTRY_SUFFIX: Final = ".pickle"

# Distributions whose code decides a plan: lark parses the text, pydicom's dictionary resolves
# keywords and VRs. (package, files whose size and time stand for its version and content)
_DEPENDENCIES: Final = (
    ("lark", ("__init__.py",)),
    ("pydicom", ("_version.py", "_dicom_dict.py")),
)


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One policy file a composition read: enough to tell whether it is still the same."""

    identity: str  # PolicySource.identity: "shipped:NAME" or "file:/resolved/path"
    display: str  # the name diagnostics and rule sources show (part of the plan's digest)
    digest: str  # SHA-256 of the text
    uses: tuple[ast.UseDecl, ...]  # the text's use statements, to walk the composition again


@dataclass(frozen=True, slots=True)
class CacheEntry:
    """A compiled plan and what it was compiled from."""

    key: str
    sources: tuple[SourceRecord, ...]
    plan: Plan


class _EntryPickler(pickle.Pickler):
    """Pickles the policy's dataclasses as constructor calls.

    Their default pickling restores a frozen, slotted dataclass field by field through
    ``dataclasses.fields()``, which is most of the time a cached plan takes to load; calling
    the constructor with the field values builds the same object in two thirds of the time.
    """

    def reducer_override(self, obj: object) -> Any:  # a reduce tuple, or NotImplemented
        kind = type(obj)
        if kind not in _CONSTRUCTOR_FIELDS:
            _CONSTRUCTOR_FIELDS[kind] = _constructor_fields(kind)
        names = _CONSTRUCTOR_FIELDS[kind]
        if names is None:
            return NotImplemented  # everything else pickles as usual
        return (kind, tuple(getattr(obj, name) for name in names))


_CONSTRUCTOR_FIELDS: dict[type, tuple[str, ...] | None] = {}


def _constructor_fields(kind: type) -> tuple[str, ...] | None:
    """The fields to call ``kind`` with, when it is one of the policy package's dataclasses
    whose constructor takes every field (and does nothing else); else ``None``."""
    if not dataclasses.is_dataclass(kind) or not kind.__module__.startswith("deidengine.policy"):
        return None
    if "__reduce__" in vars(kind) or hasattr(kind, "__post_init__"):
        return None
    fields = dataclasses.fields(kind)
    if not all(field.init for field in fields):
        return None
    return tuple(field.name for field in fields)


class _Stale(Exception):
    """A file the walk reads is not one the entry recorded."""


# Entries this process compiled or loaded, by key; checked against the files on every use.
_memory: dict[str, CacheEntry] = {}


def clear_memory() -> None:
    """Forget the entries kept in memory (tests; the disk cache is untouched)."""
    _memory.clear()


def cache_directory(environ: Mapping[str, str] = os.environ) -> Path | None:
    """Where entries are kept on disk, or ``None`` for no disk cache (see the module doc)."""
    configured = environ.get(CACHE_DIRECTORY_VARIABLE)
    if configured is not None:
        return Path(configured) if configured.strip() else None
    base = environ.get("XDG_CACHE_HOME", "")
    if base and os.path.isabs(base):  # the XDG spec: a relative value is ignored
        return Path(base) / "deidengine"
    try:
        return Path.home() / ".cache" / "deidengine"
    except RuntimeError:  # no home directory to find
        return None


def file_stamp(path: Path) -> str:
    """``name:size:mtime`` of ``path`` (``name:missing`` without one): what Python itself trusts
    a cached ``.pyc`` by, here standing for a file's version and content in a fingerprint."""
    try:
        info = path.stat()
    except OSError:
        return f"{path.name}:missing"
    return f"{path.name}:{info.st_size}:{info.st_mtime_ns}"


def package_root(name: str) -> Path | None:
    """The folder of the installed top-level package ``name`` (found, not imported), or None."""
    spec = import_util.find_spec(name)
    places = list(spec.submodule_search_locations or ()) if spec is not None else []
    return Path(places[0]) if places else None


@cache
def compiler_fingerprint() -> str:
    """A digest of everything besides the policy files that decides a plan.

    The engine version, the Python implementation, the grammar's text, and the size and
    modification time of the compiler's modules (``deidengine/policy``), the standard tables
    it reads (``deidengine/standard``) and the lark and pydicom files that carry their versions
    and the data dictionary: the test Python itself uses to trust a cached ``.pyc``. So in a
    source checkout, editing the checker retires every entry, as an upgrade does.
    """
    engine = Path(__file__).resolve().parents[1]
    parts = [str(CACHE_FORMAT), __version__, sys.implementation.cache_tag or "", grammar_text()]
    for folder, pattern in (
        ("policy", "*.py"),
        ("standard", "*.py"),
        ("standard/data", "*.json"),
    ):
        parts.extend(file_stamp(path) for path in sorted((engine / folder).glob(pattern)))
    parts.append(file_stamp(engine / "__init__.py"))
    for package, files in _DEPENDENCIES:
        root = package_root(package)
        parts.append(package)
        parts.extend(file_stamp(root / name) if root else "missing" for name in files)
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


def _text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _key(spec: str) -> str:
    return f"{CACHE_FORMAT}\0{compiler_fingerprint()}\0{spec}"


def entry_path(directory: Path, spec: str) -> Path:
    """The file holding ``spec``'s entry in ``directory`` (one per spec: an upgrade or an edit
    replaces it rather than adding another)."""
    name = hashlib.sha256(spec.encode("utf-8")).hexdigest()[:32]
    return directory / f"{_ENTRY_PREFIX}{name}{_ENTRY_SUFFIX}"


def _records(composition: Composition) -> tuple[SourceRecord, ...]:
    return tuple(
        SourceRecord(
            layer.source.identity,
            layer.source.display,
            _text_digest(layer.source.text),
            layer.file.uses,
        )
        for layer in composition.layers
    )


def _still_valid(entry: CacheEntry, spec: str) -> bool:
    """Walk ``spec`` as compose() does, answering ``use`` from the entry; True when every file
    read is one the entry recorded, in the same order, with no diagnostic on the way."""
    recorded = {(r.identity, r.display, r.digest): r for r in entry.sources}

    def recorded_uses(source: PolicySource) -> tuple[ast.PolicyFile, tuple[Diagnostic, ...]]:
        record = recorded.get((source.identity, source.display, _text_digest(source.text)))
        if record is None:
            raise _Stale
        return ast.PolicyFile(source.display, record.uses), ()

    try:
        composition = compose(spec, parse=recorded_uses)
    except (_Stale, OSError, UnicodeDecodeError):
        return False
    if composition.diagnostics:
        return False
    found = tuple(
        (layer.source.identity, layer.source.display, _text_digest(layer.source.text))
        for layer in composition.layers
    )
    return found == tuple((r.identity, r.display, r.digest) for r in entry.sources)


def _private_to_me(info: os.stat_result) -> bool:
    """Owned by this user and writable by no one else: a file from there is our own."""
    return info.st_uid == os.geteuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def read_private_file(path: Path) -> bytes | None:
    """The bytes of ``path``, when it is a regular file (not a link) and it and its folder are
    owned by this user and writable by no one else; else ``None``. A cache entry is read only
    so: one that others could swap would decide what the engine does."""
    try:
        if not _private_to_me(path.parent.stat()):
            return None
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        descriptor = os.open(path, flags)
    except OSError:
        return None
    with os.fdopen(descriptor, "rb") as handle:
        try:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode) or not _private_to_me(info):
                return None
            return handle.read()
        except OSError:
            return None


def write_private_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (a temporary file, then a rename: a concurrent
    reader sees the old file or this one, never half of one), mode 0600, in a folder made mode
    0700; nothing at all when the folder is someone else's or the disk refuses (silently: a
    cache that cannot be written is computed again next time)."""
    directory = path.parent
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private_to_me(directory.stat()):
            return  # someone else's directory: never leave an entry where others can swap it
        descriptor, temporary = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=".tmp", dir=directory
        )  # mode 0600
    except OSError:
        return
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except OSError:  # a full disk: the next run computes it again
        with contextlib.suppress(OSError):
            os.unlink(temporary)


def _read_entry(directory: Path, spec: str, key: str) -> CacheEntry | None:
    data = read_private_file(entry_path(directory, spec))
    if data is None:
        return None
    try:
        entry = pickle.loads(data)
    except Exception:  # a corrupt or truncated entry is a miss, whatever unpickling raised
        return None
    if not isinstance(entry, CacheEntry) or entry.key != key or not isinstance(entry.plan, Plan):
        return None
    return entry


def _write_entry(directory: Path, spec: str, entry: CacheEntry) -> None:
    buffer = io.BytesIO()
    try:
        _EntryPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(entry)
    except Exception:  # an unpicklable plan: the next run compiles again
        return
    write_private_file(entry_path(directory, spec), buffer.getvalue())


def cached_plan(
    spec: str,
    compile_spec: Callable[[str], tuple[Plan, Composition]],
    *,
    environ: Mapping[str, str] = os.environ,
) -> Plan:
    """The plan of ``spec``: from memory or disk when still valid, else ``compile_spec(spec)``
    (which raises for a policy with errors), then kept for next time."""
    key = _key(spec)
    entry = _memory.get(key)
    if entry is not None and _still_valid(entry, spec):
        return entry.plan
    directory = cache_directory(environ)
    if directory is not None:
        entry = _read_entry(directory, spec, key)
        if entry is not None and _still_valid(entry, spec):
            _memory[key] = entry
            return entry.plan
    plan, composition = compile_spec(spec)
    entry = CacheEntry(key, _records(composition), plan)
    _memory[key] = entry
    if directory is not None:
        _write_entry(directory, spec, entry)
    return plan
