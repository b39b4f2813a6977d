"""Fake per-file processors for the run tests: module-level, so a process pool can pickle them.

A fake decides the outcome from the file name's first word, the way the real processor decides
from the file's content, and names the input by keyed reference exactly as the real one does.
"""

from __future__ import annotations

import gc
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from deidengine.dicom.keys import ProjectSecret, keyed_reference
from deidengine.run.outcome import REASON_TEXT, Outcome, Reason, Status
from deidengine.run.pipeline import RunSettings

SECRET_KEY = bytes(range(32))


def settings_for(tmp: Path, *, record_mappings: bool = False) -> RunSettings:
    """Settings whose output and quarantine lie in ``tmp`` beside an ``in`` directory."""
    return RunSettings(
        policy_spec="annex-e/basic",
        secret_key=SECRET_KEY,
        output_root=str(tmp / "out"),
        quarantine_root=str(tmp / "out.quarantine"),
        record_mappings=record_mappings,
    )


def fake_inputs(tmp: Path, names: list[str]) -> list[Path]:
    """One-byte files named ``names`` in ``tmp / "in"``: a fake decides by the name alone."""
    paths = []
    for name in names:
        path = tmp / "in" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
        paths.append(path)
    return paths


def reference(path: str | Path) -> str:
    return keyed_reference(ProjectSecret(SECRET_KEY), os.path.abspath(path))


@dataclass(frozen=True)
class FakeProcessor:
    """``bad*`` quarantined, ``done*`` already done, ``raise*`` raises (quoting its path),
    ``crash*`` kills its process, anything else written with a UID and an ID mapping."""

    settings: RunSettings

    def process(self, path: str) -> Outcome:
        name = Path(path).name
        ref = reference(path)
        if name.startswith("bad"):
            return Outcome(
                ref,
                Status.QUARANTINED,
                reason=Reason.NOT_DICOM,
                detail=REASON_TEXT[Reason.NOT_DICOM],
            )
        if name.startswith("done"):
            return Outcome(ref, Status.SKIPPED, output=f"{ref}.dcm", reason=Reason.ALREADY_DONE)
        if name.startswith("raise"):
            raise ValueError(f"cannot read {path}")
        if name.startswith("crash"):
            os._exit(3)
        return Outcome(
            ref,
            Status.WRITTEN,
            output=f"{ref}.dcm",
            actions={"X": 3, "U": 1},
            uid_map={f"1.2.826.0.1.{ref}": f"2.25.{int(ref, 16)}", "1.2.826.0.1.study": "2.25.7"},
            id_map={f"MRN-{ref}": f"SUBJ-{ref[:4]}"},
        )


def fake_worker(settings: RunSettings) -> FakeProcessor:
    return FakeProcessor(settings)


def failing_worker(settings: RunSettings) -> FakeProcessor:
    raise FileNotFoundError("/secret/lookup/of/Smith^John.csv")


def failing_in_pool_worker(settings: RunSettings) -> FakeProcessor:
    """Builds in the parent (the early check passes) but fails in every pool process."""
    import multiprocessing

    if multiprocessing.parent_process() is not None:
        raise OSError("the OCR model at /home/Smith^John is missing")
    return FakeProcessor(settings)


#: Set by a test in its own process: a worker forked from it sees the new value, a worker
#: from the fork server (a fresh interpreter) the one written here.
PARENT_MARK = "unset"


@dataclass(frozen=True)
class MarkProcessor:
    """Writes every input, reporting in ``detail`` the :data:`PARENT_MARK` its process sees."""

    settings: RunSettings

    def process(self, path: str) -> Outcome:
        return Outcome(reference(path), Status.WRITTEN, output="x.dcm", detail=PARENT_MARK)


def mark_worker(settings: RunSettings) -> MarkProcessor:
    return MarkProcessor(settings)


@dataclass(frozen=True)
class FrozenHeapProcessor:
    """Writes every input, reporting in ``detail`` whether its process's heap is frozen and
    its first-generation collection threshold."""

    settings: RunSettings

    def process(self, path: str) -> Outcome:
        frozen = "frozen" if gc.get_freeze_count() else "collected"
        detail = f"{frozen} {gc.get_threshold()[0]}"
        return Outcome(reference(path), Status.WRITTEN, output="x.dcm", detail=detail)


def frozen_heap_worker(settings: RunSettings) -> FrozenHeapProcessor:
    return FrozenHeapProcessor(settings)


REPO = Path(__file__).resolve().parents[2]


def secret_file(folder: Path, key_hex: str) -> Path:
    """A project secret file as ``deid keygen`` makes one: hex text, mode 0600 (a file others
    can read draws a loud warning, which tests of other things must not see)."""
    key = folder / f"{key_hex[:2]}.key"
    key.write_text(key_hex + "\n", encoding="ascii")
    key.chmod(0o600)
    return key


def deid_run_arguments(
    key: Path, source: Path, out: Path, *options: str, workers: int
) -> list[str]:
    """``deid run``'s arguments (after the program) under annex-e/basic."""
    return [
        "run", "--policy", "annex-e/basic", "--secret-file", str(key),
        "--workers", str(workers), *options, str(source), str(out),
    ]  # fmt: skip


def deid_run_process(
    key: Path, source: Path, out: Path, *options: str, workers: int = 2
) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of a real ``deid run`` process on this checkout (the
    signal, resume and disk-full tests need a process of its own)."""
    command = [sys.executable, "-m", "deidengine.cli"]
    arguments = deid_run_arguments(key, source, out, *options, workers=workers)
    return [*command, *arguments], {**os.environ, "PYTHONPATH": str(REPO)}


@dataclass(frozen=True)
class TextStateProcessor:
    """Writes every input, reporting in ``detail`` what the text stage had loaded in its
    process when the processor was built: ``lists=yes|no ner=yes|no`` (the word lists,
    spaCy's pipeline)."""

    settings: RunSettings
    state: str

    def process(self, path: str) -> Outcome:
        return Outcome(reference(path), Status.WRITTEN, output="x.dcm", detail=self.state)


def text_state_worker(settings: RunSettings) -> TextStateProcessor:
    from deidengine.text import ner, vocabulary

    def loaded(function: object) -> str:
        info = getattr(function, "cache_info", None)
        return "yes" if info is not None and info().currsize else "no"

    state = f"lists={loaded(vocabulary._word_lists)} ner={loaded(ner.pipeline)}"
    return TextStateProcessor(settings, state)


PROGRAM_PROBE = """
import sys
from deidengine.cli import console_main
sys.argv = ["deid", *sys.argv[1:]]
try:
    console_main()
except SystemExit as end:
    assert end.code == 0, end.code
"""
"""The start of a ``python -c`` script that runs the ``deid`` program (its console entry, with
the script's arguments) in a process of its own; what follows reports on what it left."""


def one_input_run(tmp: Path, key_hex: str) -> tuple[list[str], dict[str, str]]:
    """A one-worker ``deid run`` of pydicom's ``CT_small.dcm`` alone (copied to ``tmp/in``) into
    ``tmp/out``: its command line and environment, as :func:`deid_run_process` gives them."""
    import shutil

    from tests.pydicom_files import bundled_test_files

    source = tmp / "in"
    source.mkdir()
    (found,) = bundled_test_files("CT_small.dcm")
    shutil.copy(found, source / "CT_small.dcm")
    return deid_run_process(secret_file(tmp, key_hex), source, tmp / "out", workers=1)
