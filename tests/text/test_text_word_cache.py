"""The word lists' disk cache: the same lists as computed, read only when current and private."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from deidengine.text import names, stage, vocabulary, word_cache
from deidengine.text.word_cache import WordLists, entry_path, fingerprint, word_lists
from tests.text.eval_set import generate

COUNT = vocabulary.COMMON_WORD_COUNT


@pytest.fixture(scope="module")
def computed() -> WordLists:
    return vocabulary.computed_word_lists()


def _environ(directory: Path) -> dict[str, str]:
    return {"DEID_CACHE_DIR": str(directory)}


def _never() -> WordLists:
    raise AssertionError("computed although a current entry was on disk")


def test_a_written_entry_reads_back_as_the_computed_lists(
    tmp_path: Path, computed: WordLists
) -> None:
    first = word_lists(lambda: computed, COUNT, _environ(tmp_path))
    entry = entry_path(tmp_path, fingerprint(COUNT))
    assert entry.is_file()
    assert entry.stat().st_mode & 0o777 == 0o600
    assert first == computed
    assert word_lists(_never, COUNT, _environ(tmp_path)) == computed
    assert [p.name for p in tmp_path.iterdir()] == [entry.name]  # no temporary left


def test_an_entry_of_another_key_is_recomputed(tmp_path: Path) -> None:
    entry = entry_path(tmp_path, fingerprint(COUNT))
    stale = {"key": "another", "common": ["x"], "concept_words": [], "code_meanings": []}
    entry.write_text(json.dumps(stale), encoding="utf-8")
    entry.chmod(0o600)
    fresh = WordLists(frozenset({"a"}), frozenset({"b"}), frozenset({"c"}))
    assert word_lists(lambda: fresh, COUNT, _environ(tmp_path)) == fresh
    assert json.loads(entry.read_text(encoding="utf-8"))["key"] == fingerprint(COUNT)


@pytest.mark.parametrize(
    "text",
    [
        "{",  # truncated
        '{"key": "KEY", "common": [1], "concept_words": [], "code_meanings": []}',  # not words
        '{"key": "KEY", "common": []}',  # a list missing
    ],
)
def test_a_corrupt_entry_is_recomputed(tmp_path: Path, text: str) -> None:
    entry = entry_path(tmp_path, fingerprint(COUNT))
    entry.write_text(text.replace("KEY", fingerprint(COUNT)), encoding="utf-8")
    entry.chmod(0o600)
    fresh = WordLists(frozenset({"a"}), frozenset(), frozenset())
    assert word_lists(lambda: fresh, COUNT, _environ(tmp_path)) == fresh


def test_an_entry_others_can_write_is_never_read(tmp_path: Path, computed: WordLists) -> None:
    word_lists(lambda: computed, COUNT, _environ(tmp_path))
    entry = entry_path(tmp_path, fingerprint(COUNT))
    entry.chmod(0o620)
    fresh = WordLists(frozenset({"a"}), frozenset(), frozenset())
    assert word_lists(lambda: fresh, COUNT, _environ(tmp_path)) == fresh


def test_a_directory_others_can_write_is_neither_read_nor_written(tmp_path: Path) -> None:
    tmp_path.chmod(0o777)
    fresh = WordLists(frozenset({"a"}), frozenset(), frozenset())
    assert word_lists(lambda: fresh, COUNT, _environ(tmp_path)) == fresh
    assert list(tmp_path.iterdir()) == []


def test_an_empty_cache_setting_keeps_nothing_on_disk(tmp_path: Path) -> None:
    fresh = WordLists(frozenset({"a"}), frozenset(), frozenset())
    assert word_lists(lambda: fresh, COUNT, {"DEID_CACHE_DIR": ""}) == fresh


def _forget_loaded_lists() -> None:
    """Clear every in-memory cache of the modules that hold or use the lists (spaCy's
    pipeline stays: it does not depend on them)."""
    for module in (vocabulary, names, stage, word_cache):
        for value in list(vars(module).values()):
            clear = getattr(value, "cache_clear", None)
            if callable(clear):
                clear()


def _findings(texts: list[str]) -> list[object]:
    return [
        stage.find_identifiers(text, strictness=strictness)
        for text in texts
        for strictness in stage.Strictness
    ]


def test_the_text_stage_finds_the_same_spans_with_cached_lists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, computed: WordLists
) -> None:
    texts = [value.text for value in generate("held-out", 150)]
    monkeypatch.setenv("DEID_CACHE_DIR", "")
    _forget_loaded_lists()
    uncached = _findings(texts)
    monkeypatch.setenv("DEID_CACHE_DIR", str(tmp_path))
    word_lists(lambda: computed, COUNT)  # fill the disk cache
    _forget_loaded_lists()
    monkeypatch.setattr(vocabulary, "computed_word_lists", _never)
    cached = _findings(texts)
    _forget_loaded_lists()
    assert cached == uncached
    assert any(finding.spans for finding in uncached)  # type: ignore[attr-defined]


def test_a_warm_process_does_not_import_wordfreq(tmp_path: Path, computed: WordLists) -> None:
    word_lists(lambda: computed, COUNT, _environ(tmp_path))
    probe = (
        "import sys\n"
        "from deidengine.text import vocabulary\n"
        "vocabulary.warm()\n"
        "print('wordfreq' in sys.modules, 'pydicom.sr._concepts_dict' in sys.modules)\n"
    )
    environment = {**os.environ, "DEID_CACHE_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", probe], env=environment, capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "False"]


def test_warming_never_raises_and_leaves_the_failure_to_the_first_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from deidengine.text import warmup

    def broken() -> None:
        raise ImportError("wordfreq is missing")

    monkeypatch.setattr(vocabulary, "warm", broken)
    warmup.warm_text_stage({})  # returns: a run's workers meet the failure where they did
