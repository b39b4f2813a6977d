"""The text stage's computed word lists, kept on disk between runs.

Three of :mod:`deidengine.text.vocabulary`'s lists cost most of a process's start-up in the
text stage: the common English words (importing wordfreq and reading its list), and the words
and whole meanings of every code meaning pydicom and the standard's tables ship (importing
pydicom's 5 MB concept dictionary). Computed, they take about 0.4 s; read back from one JSON
file, about 0.03 s, and wordfreq is not imported at all (unless a name rule asks a word's
frequency).

The cache can never change what the stage finds: an entry holds exactly the lists the
computation returns, and it is used only when its key matches the fingerprint of everything
that decides them (:func:`fingerprint`: this format, the engine version, the number of common
words, wordfreq's version and the size and time of its English lists, pydicom's concept
dictionary, the standard's tables, the vocabulary module itself). Any other answer (no entry,
another key, a corrupt file, a foreign directory) computes the lists again, silently.

Where: the directory the plan cache uses (:func:`deidengine.policy.cache.cache_directory`:
``$DEID_CACHE_DIR``, set but empty for no disk cache). An entry is written atomically (a
temporary file, then a rename: a concurrent run reads the old entry or the new one, never half
of one), mode 0600, and read only from a directory and a file owned by this user and writable by
no one else: the lists decide which words are vouched for, so a list someone else could edit
could let a name through.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from importlib import util as import_util
from pathlib import Path
from typing import Final

from deidengine import __version__
from deidengine.policy.cache import cache_directory

__all__ = ["CACHE_FORMAT", "WordLists", "entry_path", "fingerprint", "word_lists"]

CACHE_FORMAT: Final = 1
"""The entry layout; bumping it retires every existing entry."""

_ENTRY_NAME: Final = "vocabulary-{digest}.json"


@dataclass(frozen=True, slots=True)
class WordLists:
    """The computed lists (see :mod:`deidengine.text.vocabulary` for what each holds)."""

    common_words: frozenset[str]
    concept_words: frozenset[str]
    code_meanings: frozenset[str]


def _stamp(path: Path) -> str:
    try:
        info = path.stat()
    except OSError:
        return f"{path.name}:missing"
    return f"{path.name}:{info.st_size}:{info.st_mtime_ns}"


def _package_root(name: str) -> Path | None:
    # find_spec of a top-level package locates it without importing it.
    spec = import_util.find_spec(name)
    places = list(spec.submodule_search_locations or ()) if spec is not None else []
    return Path(places[0]) if places else None


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "missing"


@cache
def fingerprint(common_word_count: int) -> str:
    """A digest of everything that decides the lists (see the module doc)."""
    engine = Path(__file__).resolve().parents[1]
    parts = [str(CACHE_FORMAT), __version__, str(common_word_count)]
    parts.append(_stamp(engine / "text" / "vocabulary.py"))
    parts.extend(_stamp(path) for path in sorted((engine / "standard" / "data").glob("*.json")))
    parts.append(f"wordfreq {_version('wordfreq')}")
    wordfreq = _package_root("wordfreq")
    if wordfreq is not None:
        parts.extend(_stamp(path) for path in sorted((wordfreq / "data").glob("*_en.msgpack.gz")))
    parts.append(f"pydicom {_version('pydicom')}")
    pydicom = _package_root("pydicom")
    parts.append(_stamp(pydicom / "sr" / "_concepts_dict.py") if pydicom else "pydicom:missing")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def entry_path(directory: Path, key: str) -> Path:
    """The entry file for ``key`` in ``directory`` (one file per fingerprint)."""
    return directory / _ENTRY_NAME.format(digest=key[:32])


def _private_to_me(info: os.stat_result) -> bool:
    return info.st_uid == os.geteuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _read(directory: Path, key: str) -> WordLists | None:
    try:
        if not _private_to_me(directory.stat()):
            return None
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        descriptor = os.open(entry_path(directory, key), flags)
    except OSError:
        return None
    try:
        with os.fdopen(descriptor, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode) or not _private_to_me(info):
                return None
            entry = json.loads(handle.read())
        if entry["key"] != key:
            return None
        lists = {name: entry[name] for name in ("common", "concept_words", "code_meanings")}
        if not all(
            isinstance(words, list) and all(isinstance(word, str) for word in words)
            for words in lists.values()
        ):
            return None
        return WordLists(
            frozenset(lists["common"]),
            frozenset(lists["concept_words"]),
            frozenset(lists["code_meanings"]),
        )
    except Exception:  # a corrupt or truncated entry is a miss, whatever parsing raised
        return None


def _write(directory: Path, key: str, lists: WordLists) -> None:
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private_to_me(directory.stat()):
            return  # someone else's directory: never leave a list where others can swap it
        descriptor, temporary = tempfile.mkstemp(prefix=".vocabulary-", dir=directory)  # 0600
    except OSError:
        return
    try:
        entry = {
            "key": key,
            "common": sorted(lists.common_words),
            "concept_words": sorted(lists.concept_words),
            "code_meanings": sorted(lists.code_meanings),
        }
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(entry, handle, ensure_ascii=False, separators=(",", ":"))
        os.replace(temporary, entry_path(directory, key))
    except Exception:  # a full disk: the next run computes the lists again
        with contextlib.suppress(OSError):
            os.unlink(temporary)


def word_lists(
    compute: Callable[[], WordLists],
    common_word_count: int,
    environ: Mapping[str, str] = os.environ,
) -> WordLists:
    """The lists from the disk cache when its entry is current, else ``compute()`` (kept)."""
    directory = cache_directory(environ)
    if directory is None:
        return compute()
    key = fingerprint(common_word_count)
    found = _read(directory, key)
    if found is not None:
        return found
    lists = compute()
    _write(directory, key, lists)
    return lists
