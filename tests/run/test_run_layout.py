"""Layout checks: every overlapping or missing root is refused with one line, before any write."""

from __future__ import annotations

from pathlib import Path

import pytest

from deidengine.run.layout import (
    RunConfigurationError,
    check_roots,
    check_side_paths,
    default_audit_directory,
    default_quarantine,
)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "in"
    path.mkdir()
    return path


def _refusal(*args: Path) -> str:
    with pytest.raises(RunConfigurationError) as caught:
        check_roots(*args)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_defaults_are_siblings_of_the_output(tmp_path: Path) -> None:
    assert default_quarantine(tmp_path / "out") == tmp_path / "out.quarantine"
    assert default_audit_directory(tmp_path / "out") == tmp_path / "out.audit"
    assert default_quarantine(tmp_path / "out/") == tmp_path / "out.quarantine"


def test_a_good_layout_passes(source: Path, tmp_path: Path) -> None:
    check_roots(source, tmp_path / "out", tmp_path / "out.quarantine")
    single = source / "one.dcm"
    single.write_bytes(b"x")
    check_roots(single, tmp_path / "out", tmp_path / "out.quarantine")


def test_missing_input(tmp_path: Path) -> None:
    assert "does not exist" in _refusal(tmp_path / "nope", tmp_path / "out", tmp_path / "q")


def test_output_is_input(source: Path, tmp_path: Path) -> None:
    assert "is the input" in _refusal(source, source, tmp_path / "q")
    assert "is the input" in _refusal(source, tmp_path / "in" / ".." / "in", tmp_path / "q")


def test_output_inside_input(source: Path, tmp_path: Path) -> None:
    assert "inside the input" in _refusal(source, source / "out", tmp_path / "q")


def test_output_inside_input_through_a_symlink(source: Path, tmp_path: Path) -> None:
    (source / "sub").mkdir()
    (tmp_path / "link").symlink_to(source / "sub", target_is_directory=True)
    assert "inside the input" in _refusal(source, tmp_path / "link" / "out", tmp_path / "q")


def test_input_inside_output(tmp_path: Path) -> None:
    nested = tmp_path / "out" / "in"
    nested.mkdir(parents=True)
    assert "inside the output" in _refusal(nested, tmp_path / "out", tmp_path / "q")


def test_quarantine_inside_output(source: Path, tmp_path: Path) -> None:
    message = _refusal(source, tmp_path / "out", tmp_path / "out" / "quarantine")
    assert "quarantine" in message and "output" in message


def test_quarantine_inside_input(source: Path, tmp_path: Path) -> None:
    message = _refusal(source, tmp_path / "out", source / "quarantine")
    assert "quarantine" in message and "input" in message


def test_output_that_is_a_file(source: Path, tmp_path: Path) -> None:
    (tmp_path / "out").write_text("x")
    assert "not a directory" in _refusal(source, tmp_path / "out", tmp_path / "q")


def test_side_paths(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    check_side_paths(source, out, audit=tmp_path / "a.jsonl", mappings=tmp_path / "maps")
    with pytest.raises(RunConfigurationError, match="never be shared"):
        check_side_paths(source, out, mappings=out / "maps")
    with pytest.raises(RunConfigurationError, match="overlaps the input"):
        check_side_paths(source, out, mappings=source / "maps")
    with pytest.raises(RunConfigurationError, match="inside the input or the output"):
        check_side_paths(source, out, audit=source / "audit.jsonl")
    (tmp_path / "old.jsonl").write_text("{}\n")
    with pytest.raises(RunConfigurationError, match="never overwritten"):
        check_side_paths(source, out, audit=tmp_path / "old.jsonl")
