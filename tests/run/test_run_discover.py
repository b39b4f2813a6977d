"""Discovery: lazy, deterministic, any file name, no directory symlinks, roots excluded."""

from __future__ import annotations

import inspect
import os
from pathlib import Path

import pytest

from deidengine.run.discover import discover_inputs


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_is_a_lazy_generator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for group in ("a", "b", "c"):
        for index in range(3):
            _touch(tmp_path / group / f"{index}")
    listed: list[str] = []
    real_scandir = os.scandir

    def counting_scandir(path: str) -> object:
        listed.append(os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", counting_scandir)
    inputs = discover_inputs(tmp_path)
    assert inspect.isgenerator(inputs)
    assert listed == []  # nothing is read before the first file is asked for
    first = next(inputs)
    assert first == tmp_path / "a" / "0"
    assert listed == [str(tmp_path), str(tmp_path / "a")]  # b and c not yet listed


def test_order_is_sorted_per_directory_and_any_name_is_an_input(tmp_path: Path) -> None:
    names = ["IM0001", "b.dcm", "A space.dcm", "Ünïcødé 名前", "z/nested", "c/deeper/x", "a.txt"]
    for name in reversed(names):
        _touch(tmp_path / name)
    found = [path.relative_to(tmp_path).as_posix() for path in discover_inputs(tmp_path)]
    assert found == [
        "A space.dcm",
        "IM0001",
        "a.txt",
        "b.dcm",
        "c/deeper/x",
        "z/nested",
        "Ünïcødé 名前",
    ]
    assert found == [p.relative_to(tmp_path).as_posix() for p in discover_inputs(tmp_path)]


def test_a_single_file_is_its_own_input(tmp_path: Path) -> None:
    one = _touch(tmp_path / "only one")
    assert list(discover_inputs(one)) == [one]
    assert list(discover_inputs(tmp_path / "missing")) == []


def test_directory_symlinks_are_not_followed_file_symlinks_are(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    outside = _touch(tmp_path / "elsewhere" / "f")
    _touch(tree / "real")
    (tree / "dirlink").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (tree / "loop").symlink_to(tree, target_is_directory=True)
    (tree / "filelink").symlink_to(outside)
    (tree / "dangling").symlink_to(tmp_path / "nothing")
    os.mkfifo(tree / "fifo")
    assert [p.name for p in discover_inputs(tree)] == ["filelink", "real"]


def test_excluded_roots_are_not_entered(tmp_path: Path) -> None:
    _touch(tmp_path / "in" / "a")
    _touch(tmp_path / "in" / "out" / "written.dcm")
    _touch(tmp_path / "in" / "q" / "held")
    found = list(
        discover_inputs(tmp_path / "in", exclude=(tmp_path / "in" / "out", tmp_path / "in" / "q"))
    )
    assert found == [tmp_path / "in" / "a"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root can list any directory")
def test_unlistable_directory_is_reported(tmp_path: Path) -> None:
    _touch(tmp_path / "a" / "x")
    locked = tmp_path / "b"
    _touch(locked / "y")
    locked.chmod(0)
    seen: list[Path] = []
    try:
        found = list(discover_inputs(tmp_path, on_error=lambda d, e: seen.append(d)))
    finally:
        locked.chmod(0o755)
    assert found == [tmp_path / "a" / "x"]
    assert seen == [locked]


def test_unlistable_directory_via_injected_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _touch(tmp_path / "a" / "x")
    _touch(tmp_path / "b" / "y")
    real_scandir = os.scandir

    def refusing(path: str) -> object:
        if os.fspath(path).endswith("b"):
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", refusing)
    seen: list[Path] = []
    found = list(discover_inputs(tmp_path, on_error=lambda d, e: seen.append(d)))
    assert found == [tmp_path / "a" / "x"]
    assert seen == [tmp_path / "b"]
    with pytest.raises(PermissionError):
        list(discover_inputs(tmp_path))
