"""Item 1 of #14: no UID can lead a write out of OUT.

Under a policy that keeps UIDs, the output name is built from what the input held. Hostile
values (``../..``, absolute paths, malformed UIDs) are quarantined as ``invalid-uid``, and a
whole run over them creates or changes nothing outside OUT, its quarantine, audit and manifest.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydicom.uid import UID

from deidengine.dicom.uids import is_valid_uid
from deidengine.run.outcome import Reason, Status
from deidengine.run.pipeline import FileProcessor, RunSettings
from deidengine.run.runner import run_tree
from tests.security.security_files import real_file, write

SECRET = bytes.fromhex("a5" * 32)
RETAIN_UIDS = "annex-e/basic,annex-e/retain-uids"
FIELDS = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")


def _hostile_values(victim: Path) -> list[str]:
    return [
        "../../escape",
        "..",
        "1.2.3/../../../escape",
        str(victim / "absolute"),
        "1.02.3",  # a leading zero: a safe path, but not a UID
        "1..2",
        "1.2.",
        "9" * 65,
        "1.2.3\\4.5.6",
    ]


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("1.2.840.10008.1.2", True),
        ("0", True),
        ("2.25.0", True),
        ("1.2.3\x00", True),  # NUL padding
        ("1" + ".1" * 31 + "1", True),  # 64 characters
        ("1" + ".1" * 32, False),  # 65 characters
        ("", False),
        ("1.02", False),
        ("1..2", False),
        (".1", False),
        ("1.", False),
        ("../x", False),
        ("/etc/passwd", False),
        ("1.2\\3.4", False),
        ("1.2 .3", False),
        ("\u0661.\u0662", False),  # Arabic-Indic digits: digits to str.isdigit, not to UIDs
    ],
)
def test_uid_validity_follows_ps3_5_9_1(text: str, valid: bool) -> None:
    assert is_valid_uid(text) is valid


@pytest.mark.parametrize("field", FIELDS)
def test_hostile_uids_are_quarantined_as_invalid_uid(tmp_path: Path, field: str) -> None:
    processor = FileProcessor(
        RunSettings(RETAIN_UIDS, SECRET, str(tmp_path / "out"), str(tmp_path / "out.quarantine"))
    )
    for number, value in enumerate(_hostile_values(tmp_path / "victim")):
        dataset = real_file()
        setattr(dataset, field, value)
        if field == "SOPInstanceUID":
            dataset.file_meta.MediaStorageSOPInstanceUID = UID(value)
        path = write(dataset, tmp_path / "in" / f"{number}.dcm")
        outcome = processor.process(str(path))
        assert (outcome.status, outcome.reason) == (Status.QUARANTINED, Reason.INVALID_UID), value
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "victim").exists()
    assert not (tmp_path / "escape").exists() and not Path("/escape").exists()


def test_a_remapping_policy_writes_the_same_inputs_under_valid_names(tmp_path: Path) -> None:
    processor = FileProcessor(
        RunSettings("annex-e/basic", SECRET, str(tmp_path / "out"), str(tmp_path / "q"))
    )
    # A multi-valued UID is remapped value by value: still no name (tested above).
    single = [v for v in _hostile_values(tmp_path / "victim") if "\\" not in v]
    for number, value in enumerate(single):
        dataset = real_file()
        dataset.StudyInstanceUID = value
        outcome = processor.process(str(write(dataset, tmp_path / "in" / f"{number}.dcm")))
        assert outcome.status is Status.WRITTEN, (value, outcome)
        assert outcome.output is not None
        assert all(is_valid_uid(part) for part in outcome.output.removesuffix(".dcm").split("/"))


def _tree_state(root: Path, ignore: tuple[Path, ...]) -> dict[str, tuple[int, int, int]]:
    """Every path below ``root`` outside ``ignore``: (mode, size, mtime in ns)."""
    state = {}
    for directory, folders, files in os.walk(root):
        for name in folders + files:
            path = Path(directory) / name
            if any(path == place or place in path.parents for place in ignore):
                continue
            info = path.lstat()
            # A folder's own times change when OUT is created in it; its entries are compared.
            changed = (info.st_size, info.st_mtime_ns) if not path.is_dir() else (0, 0)
            state[str(path)] = (info.st_mode, *changed)
    return state


def test_a_run_writes_nothing_outside_its_own_places(tmp_path: Path) -> None:
    """The whole run, hostile UIDs in every field: only OUT and its side places change."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("untouched")
    inputs = tmp_path / "work" / "in"
    for field in FIELDS:
        for number, value in enumerate(_hostile_values(victim)):
            dataset = real_file()
            setattr(dataset, field, value)
            write(dataset, inputs / f"{field}-{number}.dcm")
    write(real_file(), inputs / "clean.dcm")
    output = tmp_path / "work" / "out"
    own = (
        output,
        output.with_name("out.quarantine"),
        output.with_name("out.audit"),
        *output.parent.glob("out.manifest.sqlite*"),
    )
    before = _tree_state(tmp_path, own)
    summary = run_tree(
        RunSettings(RETAIN_UIDS, SECRET, str(output), str(own[1])), inputs, workers=1
    )
    assert summary.written == 1
    assert dict(summary.quarantined_by_reason) == {"invalid-uid": 3 * len(_hostile_values(victim))}
    own = (*own, *output.parent.glob("out.manifest.sqlite*"))
    assert _tree_state(tmp_path, own) == before
    written = [p for p in output.rglob("*") if p.is_file()]
    assert len(written) == 1 and written[0].resolve().is_relative_to(output.resolve())
