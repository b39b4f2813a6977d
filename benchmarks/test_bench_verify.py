"""The verifier's cost per file: the checks on the output's element table, against pydicom's
read and write of the same output (the floor) and, where git holds it, against the
Dataset-based verifier of the revision before (e5c1532, loaded by
:func:`benchmarks.verify_differential.load_old`).

Each benchmark of a group times the same work the pipeline's verifier does for one written
file: read the encoded bytes back, scan for leaks, check conformance (with the input and the
secret) and provenance, name the output. Run with ``--benchmark-enable`` and read the ratios
within a group; nothing asserts a time. Every round's verdict is checked: a clean output.
"""

from __future__ import annotations

import io
import subprocess
from pathlib import Path
from typing import Any

import pydicom
import pytest

import deidengine.run.pipeline as pipeline
from benchmarks.corpus import BENCH_SECRET, HEADER_POLICIES
from deidengine.dicom.keys import ProjectSecret
from deidengine.run.outcome import Status
from deidengine.run.pipeline import FileProcessor, RunSettings, output_name
from deidengine.verify.conformance import check_conformance
from deidengine.verify.leaks import find_leaks
from deidengine.verify.provenance_check import check_provenance
from deidengine.verify.written import read_written, set_aside_envelopes

OLD_REVISION = "e5c1532"
ROUNDS = 30
LABELS = ("ct", "mr", "sr", "private-heavy")


class Verified:
    """One output of the real pipeline and what its verifier was given."""

    def __init__(self, path: Path, root: Path) -> None:
        settings = RunSettings(
            HEADER_POLICIES["annex-e/basic"], BENCH_SECRET, str(root / "out"), str(root / "q")
        )
        processor = FileProcessor(settings)
        seen: dict[str, Any] = {}
        real_leaks, real_conformance = pipeline.find_leaks, pipeline.check_conformance

        def leaks(*args: Any) -> Any:
            seen["leaks"] = args[1:]
            return real_leaks(*args)

        def conformance(*args: Any, **kwargs: Any) -> Any:
            seen["conformance"] = kwargs
            return real_conformance(*args, **kwargs)

        pipeline.find_leaks, pipeline.check_conformance = leaks, conformance
        try:
            outcome = processor.process(str(path))
        finally:
            pipeline.find_leaks, pipeline.check_conformance = real_leaks, real_conformance
        assert outcome.status is Status.WRITTEN, outcome
        assert outcome.output is not None
        self.plan = processor.plan
        self.secret: ProjectSecret = processor.secret
        self.data = (root / "out" / outcome.output).read_bytes()
        self.syntax = str(pydicom.dcmread(io.BytesIO(self.data)).file_meta.TransferSyntaxUID)
        self.leak_arguments = seen["leaks"]
        self.original_table = seen["conformance"]["original"]
        self.snapshot = seen["conformance"]["snapshot"]
        self.original = pydicom.dcmread(path)
        self.name = outcome.output


def _verify_table(case: Verified) -> tuple[object, ...]:
    """This tree's verifier, as the pipeline runs it."""
    output = set_aside_envelopes(read_written(case.data, case.syntax), 0)
    return (
        find_leaks(output, *case.leak_arguments),
        check_conformance(
            output,
            case.plan,
            secret=case.secret,
            original=case.original_table,
            snapshot=case.snapshot,
        ),
        check_provenance(output, case.plan),
        output_name(output),
    )


def _floor(case: Verified) -> tuple[object, ...]:
    """pydicom's read and write of the output: the floor the engine is measured against."""
    dataset = pydicom.dcmread(io.BytesIO(case.data))
    dataset.save_as(io.BytesIO(), enforce_file_format=True)
    return ((), (), (), case.name)


def _old_verifier() -> Any:
    """The old verifier's modules, or ``None`` where they cannot be had: no git history (a
    shallow clone), or modules of this tree they import have moved on since."""
    try:
        from benchmarks.verify_differential import load_old

        return load_old(OLD_REVISION)
    except (subprocess.CalledProcessError, OSError, ImportError, AttributeError, SyntaxError):
        return None


@pytest.fixture(scope="module")
def verified(
    inputs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Verified]:
    root = tmp_path_factory.mktemp("bench-verify")
    return {label: Verified(inputs[label], root / label) for label in LABELS}


@pytest.fixture(scope="module")
def old() -> Any:
    return _old_verifier()


def _verify_dataset(old: Any, case: Verified) -> tuple[object, ...]:
    """The revision before's verifier: the read-back built as a pydicom Dataset."""
    output = old["written"].read_written(case.data, case.syntax)
    old["written"].set_aside_envelopes(output, 0)
    return (
        old["leaks"].find_leaks(output, *case.leak_arguments),
        old["conformance"].check_conformance(
            output, case.plan, secret=case.secret, original=case.original
        ),
        old["provenance_check"].check_provenance(output, case.plan),
        old["pipeline"].output_name(output),
    )


@pytest.mark.parametrize("label", LABELS)
@pytest.mark.parametrize("step", ["floor", "verify-table", f"verify-dataset-{OLD_REVISION}"])
def test_bench_verify_per_file(
    benchmark: Any, verified: dict[str, Verified], old: Any, label: str, step: str
) -> None:
    case = verified[label]
    benchmark.group = f"verify-per-file {label}"
    if step == "floor":
        run: Any = _floor
    elif step == "verify-table":
        run = _verify_table
    else:
        if old is None:
            pytest.skip(f"the verifier of {OLD_REVISION} cannot be loaded here")
        run = lambda case: _verify_dataset(old, case)  # noqa: E731
    result = benchmark.pedantic(run, args=(case,), rounds=ROUNDS, iterations=1, warmup_rounds=1)
    assert result == ((), (), (), case.name)
