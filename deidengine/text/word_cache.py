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

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Final

from deidengine import __version__
from deidengine.policy.cache import (
    cache_directory,
    file_stamp,
    package_root,
    read_private_file,
    write_private_file,
)

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
    parts.append(file_stamp(engine / "text" / "vocabulary.py"))
    parts.extend(file_stamp(path) for path in sorted((engine / "standard" / "data").glob("*.json")))
    parts.append(f"wordfreq {_version('wordfreq')}")
    wordfreq = package_root("wordfreq")
    if wordfreq is not None:
        lists = sorted((wordfreq / "data").glob("*_en.msgpack.gz"))
        parts.extend(file_stamp(path) for path in lists)
    parts.append(f"pydicom {_version('pydicom')}")
    pydicom = package_root("pydicom")
    parts.append(file_stamp(pydicom / "sr" / "_concepts_dict.py") if pydicom else "pydicom:missing")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def entry_path(directory: Path, key: str) -> Path:
    """The entry file for ``key`` in ``directory`` (one file per fingerprint)."""
    return directory / _ENTRY_NAME.format(digest=key[:32])


def _read(directory: Path, key: str) -> WordLists | None:
    data = read_private_file(entry_path(directory, key))
    if data is None:
        return None
    try:
        entry = json.loads(data)
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
    entry = {
        "key": key,
        "common": sorted(lists.common_words),
        "concept_words": sorted(lists.concept_words),
        "code_meanings": sorted(lists.code_meanings),
    }
    data = json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    write_private_file(entry_path(directory, key), data)


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
