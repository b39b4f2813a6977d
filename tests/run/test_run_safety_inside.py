"""is_inside walks the output name's existing parts and gives the same answer as resolving
the whole target, whatever links, files and missing folders the tree holds."""

from __future__ import annotations

import itertools
import os
from pathlib import Path, PurePath

import pytest

from deidengine.run.safety import is_inside


def _resolved_answer(root: Path, name: str) -> bool:
    """The definition: the target, resolved, lies below the resolved root."""
    relative = PurePath(name)
    if relative.is_absolute() or not relative.parts or ".." in relative.parts:
        return False
    return root.resolve() in (root / relative).resolve().parents


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """An output tree with every kind of part an output name can meet."""
    outside = tmp_path / "outside"
    (outside / "d").mkdir(parents=True)
    (outside / "f").write_bytes(b"x")
    root = tmp_path / "real-out"
    (root / "dir" / "sub").mkdir(parents=True)
    (root / "dir" / "file").write_bytes(b"x")
    (root / "file").write_bytes(b"x")
    (root / "in-link").symlink_to(root / "dir")
    (root / "out-link").symlink_to(outside / "d")
    (root / "dir" / "out-file-link").symlink_to(outside / "f")
    (root / "dir" / "in-file-link").symlink_to(root / "file")
    (root / "dangling").symlink_to(tmp_path / "nowhere")
    (root / "up-link").symlink_to("..")
    (tmp_path / "out").symlink_to(root)  # a root reached through a link
    return tmp_path


PARTS = [
    "dir", "sub", "file", "new", "in-link", "out-link", "out-file-link", "in-file-link",
    "dangling", "up-link", "x.dcm",
]  # fmt: skip


def test_the_walk_answers_as_the_resolution_does(tree: Path) -> None:
    names = [
        "/".join(parts)
        for length in (1, 2, 3)
        for parts in itertools.product(PARTS, repeat=length)
        if length < 3 or parts[0] in ("dir", "in-link", "new", "file")
    ]
    roots = [tree / "real-out", tree / "out", tree / "missing-out"]
    differing = [
        (str(root.name), name)
        for root in roots
        for name in names
        if is_inside(root, name) != _resolved_answer(root, name)
    ]
    assert differing == []
    # The tree holds both answers, so the comparison decides something.
    answers = {is_inside(tree / "real-out", name) for name in names}
    assert answers == {True, False}


@pytest.mark.parametrize("name", ["../x", "/etc/x", "", "a/../../x"])
def test_names_that_leave_by_their_form_are_refused(tree: Path, name: str) -> None:
    assert not is_inside(tree / "real-out", name)


def test_a_relative_root_is_judged_from_the_working_folder(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tree)
    assert is_inside(Path("out"), "dir/sub/x.dcm")
    assert not is_inside(Path("out"), "out-link/x.dcm")
    assert os.path.islink(tree / "out")
