"""Elements stay raw through the pipeline; the outputs are those of converting everything first.

The lazy path (raw VRs, raw text reads, raw replacements, the raw-copying writer) is held to
the eager one on every pydicom test and character-set file: the same outcome for every input,
and the same outputs, element for element (only the time of the run differs).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset

import deidengine.run.pipeline as pipeline
from benchmarks.corpus import HEADER_ONLY
from deidengine.dicom.limits import DEFAULT_LIMITS, InputLimits
from deidengine.run.pipeline import FileProcessor, RunSettings
from tests.policy_specs import pixels_kept
from tests.pydicom_files import bundled_charset_files, bundled_test_files

SECRET = bytes.fromhex("4d" * 32)
POLICIES = {"basic": pixels_kept("annex-e/basic"), "hipaa": f"hipaa-safe-harbor,{HEADER_ONLY}"}
READ_INPUT = pipeline.read_input
CONTRIBUTION_DATE_TIME = 0x0018A002


def _eager_read(path: str, limits: InputLimits = DEFAULT_LIMITS) -> Dataset:
    dataset = READ_INPUT(path, limits)
    for _ in dataset.iterall():
        pass  # every element converted, as the pipeline did before it kept them raw
    return dataset


def _comparable(dataset: Dataset) -> Dataset:
    """``dataset`` without the time of the run (Contribution DateTime, at any depth)."""
    for element in list(dataset.iterall()):
        if element.VR == "SQ":
            for item in element.value:
                if CONTRIBUTION_DATE_TIME in item:
                    del item[CONTRIBUTION_DATE_TIME]
    return dataset


def _outputs(root: Path) -> dict[str, Dataset]:
    return {
        str(path.relative_to(root)): _comparable(pydicom.dcmread(path))
        for path in sorted(root.rglob("*.dcm"))
    }


@pytest.mark.parametrize("policy", POLICIES.values(), ids=POLICIES.keys())
def test_lazy_and_eager_pipelines_agree(
    tmp_path: Path, policy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def processor(name: str) -> FileProcessor:
        root = tmp_path / name
        return FileProcessor(RunSettings(policy, SECRET, str(root / "out"), str(root / "q")))

    lazy, eager = processor("lazy"), processor("eager")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns of test files it cannot download here
        inputs = bundled_test_files("*.dcm") + bundled_charset_files()
        for path in inputs:
            first = lazy.process(path)
            with monkeypatch.context() as patch:
                patch.setattr(pipeline, "read_input", _eager_read)
                second = eager.process(path)
            assert (first.status, first.reason) == (second.status, second.reason), path
        lazy_out = _outputs(tmp_path / "lazy" / "out")
        eager_out = _outputs(tmp_path / "eager" / "out")
    assert len(inputs) >= 90 and len(lazy_out) >= 50  # some share their UIDs
    assert lazy_out.keys() == eager_out.keys()
    for name, dataset in lazy_out.items():
        assert dataset == eager_out[name], name
