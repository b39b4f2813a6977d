"""Shared fixtures for the verifier tests: the real engine's outputs of the PHI corpus.

Each policy's tree is made once per session (pydicom's CT_small and MR_small with fake PHI
injected, :mod:`tests.phi_corpus`); a test that changes an output works on a copy.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset

from deidengine.dicom.keys import ProjectSecret
from deidengine.run.mappings import MappingCollector
from deidengine.run.outcome import Status
from deidengine.run.pipeline import FileProcessor, RunSettings
from tests.phi_corpus import write_corpus

SECRET_HEX = "9f" * 32
SECRET = ProjectSecret(bytes.fromhex(SECRET_HEX))


@dataclass(frozen=True)
class EngineRun:
    """One policy's run over the corpus: where inputs and outputs are, by corpus label."""

    policy: str
    input_root: Path
    output_root: Path
    mappings: Path
    inputs: dict[str, Path]
    outputs: dict[str, Path]  # label -> output path

    def relative(self, label: str) -> str:
        return str(self.outputs[label].relative_to(self.output_root))

    def read(self, label: str) -> Dataset:
        return pydicom.dcmread(self.outputs[label])

    def read_input(self, label: str) -> Dataset:
        return pydicom.dcmread(self.inputs[label])

    def copy(self, target: Path) -> EngineRun:
        """The same run with its output tree copied to ``target`` (safe to change)."""
        shutil.copytree(self.output_root, target)
        outputs = {k: target / v.relative_to(self.output_root) for k, v in self.outputs.items()}
        return EngineRun(self.policy, self.input_root, target, self.mappings, self.inputs, outputs)


def run_engine(policy: str, inputs: dict[str, Path], root: Path) -> EngineRun:
    """De-identify ``inputs`` with the real per-file pipeline, recording UID mappings."""
    settings = RunSettings(
        policy, SECRET.key, str(root / "out"), str(root / "quarantine"), record_mappings=True
    )
    processor = FileProcessor(settings)
    collector = MappingCollector(root / "mappings")
    outputs: dict[str, Path] = {}
    for label, path in inputs.items():
        outcome = processor.process(str(path))
        assert outcome.status is Status.WRITTEN, (label, outcome.reason, outcome.detail)
        assert outcome.output is not None
        collector.add(outcome)
        outputs[label] = root / "out" / outcome.output
    collector.write()
    input_root = next(iter(inputs.values())).parent
    return EngineRun(policy, input_root, root / "out", root / "mappings", inputs, outputs)


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_corpus(tmp_path_factory.mktemp("corpus") / "in")


@pytest.fixture(scope="session")
def engine_run(
    tmp_path_factory: pytest.TempPathFactory, corpus: dict[str, Path]
) -> Callable[[str], EngineRun]:
    """``engine_run(policy)``: the corpus de-identified by ``policy``, made once per session."""
    made: dict[str, EngineRun] = {}

    def get(policy: str) -> EngineRun:
        if policy not in made:
            root = tmp_path_factory.mktemp(policy.replace("/", "-"))
            made[policy] = run_engine(policy, corpus, root)
        return made[policy]

    return get


@pytest.fixture(scope="session")
def secret_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("secret") / "project.secret"
    path.write_text(SECRET_HEX + "\n", encoding="ascii")
    return path
