"""The plan cache: a cached plan is the compiled one, and any change to what it was compiled from
(a policy file, one it uses, a shipped one, the compiler) compiles it again."""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

import deidengine.policy.parse as parse_module
from deidengine.policy import PolicyError, load_plan, resolve
from deidengine.policy import cache as plan_cache
from deidengine.policy.plan import Plan

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty cache directory of this test's own, and nothing kept in memory."""
    directory = tmp_path / "cache"
    monkeypatch.setenv(plan_cache.CACHE_DIRECTORY_VARIABLE, str(directory))
    plan_cache.clear_memory()
    yield directory
    plan_cache.clear_memory()


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The display names of the policy texts parsed (with lark), in order."""
    seen: list[str] = []
    real = parse_module.parse_policy_text

    def counting(text: str, path: str):  # type: ignore[no-untyped-def]
        seen.append(path)
        return real(text, path)

    monkeypatch.setattr(parse_module, "parse_policy_text", counting)
    return seen


def _same(first: Plan, second: Plan) -> None:
    assert first.rules == second.rules
    assert (first.names, first.codes, first.digest, first.runnable) == (
        second.names,
        second.codes,
        second.digest,
        second.runnable,
    )
    assert dict(first.by_tag) == dict(second.by_tag) and first.masks == second.masks
    assert first.condition_tags == second.condition_tags


def _from_disk() -> None:
    """Forget the in-memory entries: the next load is a new process's."""
    plan_cache.clear_memory()


def test_a_cached_plan_is_the_compiled_plan_without_parsing(
    cache_dir: Path, parses: list[str]
) -> None:
    spec = "hipaa-safe-harbor,annex-e/retain-uids"
    compiled = load_plan(spec)
    assert len(parses) == 6  # the profile, the four it uses, the option
    _from_disk()
    cached = load_plan(spec)
    assert len(parses) == 6  # nothing parsed again
    _same(cached, compiled)
    assert cached.candidates(0x00100010, "PN") == compiled.candidates(0x00100010, "PN")
    assert load_plan(spec) is cached  # the in-memory entry


def test_the_cache_is_private_to_its_user(cache_dir: Path) -> None:
    load_plan("annex-e/basic")
    (entry,) = cache_dir.iterdir()
    assert stat.S_IMODE(cache_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    assert entry == plan_cache.entry_path(cache_dir, "annex-e/basic")


def _policy_pair(root: Path) -> tuple[Path, Path]:
    main = root / "main.policy"
    used = root / "used.policy"
    main.write_text('policy main\nuse "used.policy"\n(0010,0010) PatientName -> Z\n')
    used.write_text("option used\n(0008,0020) StudyDate -> X\n")
    return main, used


def test_editing_a_used_file_compiles_again(
    cache_dir: Path, parses: list[str], tmp_path: Path
) -> None:
    main, used = _policy_pair(tmp_path)
    first = load_plan(str(main))
    assert first.candidates(0x00080020, "DA")[0].action.label == "X"
    used.write_text("option used\n(0008,0020) StudyDate -> keep-year\n")
    for _ in range(2):  # from memory, then from disk: both see the change
        second = load_plan(str(main))
        assert second.candidates(0x00080020, "DA")[0].action.label == "keep-year"
        assert second.digest != first.digest
        _from_disk()
    # Both files parsed twice: compiled twice, not thrice. (The shipped Basic Profile is parsed
    # once too, the first time: a composition without it is measured against its rows.)
    assert len([p for p in parses if p.startswith(str(tmp_path))]) == 4


def test_editing_a_shipped_policy_compiles_again(
    cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = tmp_path / "policies"
    shutil.copytree(REPO / "policies", shipped)
    monkeypatch.setattr(resolve, "shipped_policy_root", lambda: shipped)
    before = load_plan("hipaa-safe-harbor")  # uses annex-e/basic, which removes Ethnic Group
    assert before.candidates(0x00102160, "SH")[0].action.label == "X"
    basic = shipped / "annex-e" / "basic.policy"
    text = basic.read_text()
    line = next(line for line in text.splitlines() if line.startswith("(0010,2160)"))
    basic.write_text(text.replace(line, line.replace("-> X", "-> Z")))
    _from_disk()
    after = load_plan("hipaa-safe-harbor")
    assert after.candidates(0x00102160, "SH")[0].action.label == "Z"


def test_a_used_file_that_disappears_is_reported_not_served(
    cache_dir: Path, tmp_path: Path
) -> None:
    main, used = _policy_pair(tmp_path)
    load_plan(str(main))
    used.unlink()
    _from_disk()
    with pytest.raises(PolicyError, match="unknown policy"):
        load_plan(str(main))


def test_a_relative_path_is_resolved_from_the_working_directory(
    cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, action in (("one", "Z"), ("two", "keep")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "p.policy").write_text(
            f"policy p\n(0010,0010) PatientName -> {action}\n"
        )
    monkeypatch.chdir(tmp_path / "one")
    assert load_plan("p.policy").candidates(0x00100010, "PN")[0].action.label == "Z"
    monkeypatch.chdir(tmp_path / "two")
    assert load_plan("p.policy").candidates(0x00100010, "PN")[0].action.label == "keep"


def test_a_compiler_change_compiles_again(
    cache_dir: Path, parses: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    load_plan("annex-e/basic")
    monkeypatch.setattr(plan_cache, "compiler_fingerprint", lambda: "another engine")
    _from_disk()
    load_plan("annex-e/basic")
    assert len(parses) == 2


def test_a_policy_with_errors_is_never_cached(cache_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.policy"
    broken.write_text("policy broken\n(0010,0010) NotAKeyword -> Z\n")
    for _ in range(2):
        with pytest.raises(PolicyError) as caught:
            load_plan(str(broken))
        assert [d.code.value for d in caught.value.diagnostics] == ["E201"]  # unknown keyword
    assert not cache_dir.exists() or not any(cache_dir.iterdir())


@pytest.mark.parametrize("damage", ["garbage", "truncated", "another spec"])
def test_a_damaged_entry_falls_back_to_compiling(
    cache_dir: Path, parses: list[str], damage: str
) -> None:
    compiled = load_plan("annex-e/basic")
    entry = plan_cache.entry_path(cache_dir, "annex-e/basic")
    if damage == "garbage":
        entry.write_bytes(b"\x80\x05not a pickle")
    elif damage == "truncated":
        entry.write_bytes(entry.read_bytes()[:1000])
    else:  # a valid entry, for another spec, under this spec's name
        load_plan("annex-e/retain-uids")
        shutil.copyfile(plan_cache.entry_path(cache_dir, "annex-e/retain-uids"), entry)
    _from_disk()
    _same(load_plan("annex-e/basic"), compiled)
    parsed = len(parses)
    _from_disk()
    load_plan("annex-e/basic")  # the entry was rewritten whole
    assert len(parses) == parsed


def test_an_entry_others_can_write_is_not_trusted(cache_dir: Path, parses: list[str]) -> None:
    load_plan("annex-e/basic")
    entry = plan_cache.entry_path(cache_dir, "annex-e/basic")
    entry.chmod(0o666)
    _from_disk()
    load_plan("annex-e/basic")
    assert len(parses) == 2
    cache_dir.chmod(0o777)
    entry.unlink()
    _from_disk()
    load_plan("annex-e/basic")
    assert len(parses) == 3
    assert not entry.exists()  # nothing is written into a directory others can write


def test_an_unwritable_cache_is_no_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parses: list[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv(plan_cache.CACHE_DIRECTORY_VARIABLE, str(blocker / "cache"))
    plan_cache.clear_memory()
    try:
        assert load_plan("annex-e/basic").rules
        _from_disk()
        assert load_plan("annex-e/basic").rules
    finally:
        plan_cache.clear_memory()
    assert len(parses) == 2


def test_where_the_cache_lives(tmp_path: Path) -> None:
    home = Path.home()
    assert plan_cache.cache_directory({}) == home / ".cache" / "deidengine"
    assert plan_cache.cache_directory({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "deidengine"
    relative = {"XDG_CACHE_HOME": "relative/cache"}  # the XDG spec ignores a relative value
    assert plan_cache.cache_directory(relative) == home / ".cache" / "deidengine"
    chosen = {"DEID_CACHE_DIR": str(tmp_path / "c"), "XDG_CACHE_HOME": str(tmp_path)}
    assert plan_cache.cache_directory(chosen) == tmp_path / "c"
    assert plan_cache.cache_directory({"DEID_CACHE_DIR": ""}) is None


def test_no_disk_cache_when_disabled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parses: list[str]
) -> None:
    monkeypatch.setenv(plan_cache.CACHE_DIRECTORY_VARIABLE, "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    plan_cache.clear_memory()
    try:
        load_plan("annex-e/basic")
        _from_disk()
        load_plan("annex-e/basic")
    finally:
        plan_cache.clear_memory()
    assert len(parses) == 2 and not (tmp_path / "deidengine").exists()
    assert os.environ[plan_cache.CACHE_DIRECTORY_VARIABLE] == ""
