"""The pipeline's lean path against its Dataset path: the same outcome and the same bytes.

Each case processes the same input twice with one :class:`FileProcessor` configuration: once
as it runs (the lean path where the file allows it), once with the lean path turned off (every
file through the Dataset path), and compares the outcomes and the written files byte for byte.
The cases also pin which files take the lean path, so a silent fallback cannot pass for
equality.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file

import deidengine.run.pipeline as pipeline
from benchmarks.corpus import write_corpus as write_benchmark_corpus
from deidengine.dicom.facts import input_facts
from deidengine.run.outcome import Outcome, Reason, Status
from deidengine.run.pipeline import FileProcessor, RunSettings, _Quarantine, read_input_file
from tests.core.mutants import SEEDS, mutants, seed_from
from tests.phi_corpus import write_corpus as write_phi_corpus
from tests.pydicom_files import DATA, bundled_charset_files, bundled_test_files

HEADER_ONLY = "hipaa-safe-harbor,benchmarks/policies/header-only.policy"
BASIC = "annex-e/basic"
SECRET = bytes(range(32))


def _processor(root: Path, spec: str, **settings: object) -> FileProcessor:
    return FileProcessor(
        RunSettings(spec, SECRET, str(root / "out"), str(root / "quarantine"), **settings)  # type: ignore[arg-type]
    )


def _run(processor: FileProcessor, path: str) -> tuple[Outcome, bytes | None]:
    outcome = processor.process(path)
    if outcome.status is not Status.WRITTEN or outcome.output is None:
        return outcome, None
    return outcome, (processor.output_root / outcome.output).read_bytes()


def _took_lean_path(processor: FileProcessor, path: str) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            reading = read_input_file(path)
        except Exception:  # refused at admission: neither path runs
            return False
        facts = input_facts(reading.dataset, processor.plan.condition_tags)
        try:
            return processor._lean_output(reading, facts) is not None
        except _Quarantine:
            return True  # the lean path ran, and found the file must be quarantined


def compare(tmp: Path, spec: str, paths: list[str], **settings: object) -> int:
    """Process ``paths`` both ways; the number that took the lean path."""
    lean = _processor(tmp / "lean", spec, record_mappings=True, **settings)
    classic = _processor(tmp / "classic", spec, record_mappings=True, **settings)
    classic._lean_output = lambda reading, facts: None  # type: ignore[method-assign]
    took = 0
    for path in paths:
        took += _took_lean_path(lean, path)
        assert _run(lean, path) == _run(classic, path), (spec, Path(path).name)
    return took


@pytest.mark.parametrize("spec", [BASIC, HEADER_ONLY])
def test_the_benchmark_templates_are_written_alike(tmp_path: Path, spec: str) -> None:
    names = ("CT_small.dcm", "MR_small.dcm", "test-SR.dcm", "rtplan.dcm")
    paths = [str(get_testdata_file(name)) for name in names]
    assert compare(tmp_path, spec, paths) == len(paths)


def test_the_phi_corpus_is_written_alike(tmp_path: Path) -> None:
    paths = [str(path) for path in write_phi_corpus(tmp_path / "in").values()]
    for spec in (BASIC, HEADER_ONLY, "research-longitudinal"):
        assert compare(tmp_path / spec.replace("/", "_"), spec, paths) == len(paths)


def test_charset_files_are_written_alike(tmp_path: Path) -> None:
    paths = bundled_charset_files()
    # The two chrSQEncoding files have no SOP identity: admission refuses them (not-dicom).
    assert compare(tmp_path, BASIC, paths) == len(paths) - 2


def test_a_file_the_table_stage_declines_takes_the_dataset_path(tmp_path: Path) -> None:
    path = str(get_testdata_file("UN_sequence.dcm"))
    assert compare(tmp_path, BASIC, [path]) == 0


def test_a_removed_sop_instance_uid_is_quarantined_alike(tmp_path: Path) -> None:
    policy = tmp_path / "no-uid.policy"
    policy.write_text("policy no-uid\nuse annex-e/basic\n(0008,0018) SOPInstanceUID -> X\n")
    path = str(get_testdata_file("CT_small.dcm"))
    assert compare(tmp_path, str(policy), [path]) == 1
    outcome = _processor(tmp_path / "again", str(policy)).process(path)
    assert outcome.reason is Reason.ACTION_FAILED


def test_the_honest_broker_takes_the_dataset_path(tmp_path: Path) -> None:
    (tmp_path / "certificate.pem").write_bytes(b"not read beyond the bytes")
    processor = _processor(tmp_path, BASIC, encrypt_to=str(tmp_path / "certificate.pem"))
    assert not _took_lean_path(processor, str(get_testdata_file("CT_small.dcm")))


def test_a_review_sheet_run_without_redaction_takes_the_lean_path(tmp_path: Path) -> None:
    # Review rows are made for redacted pixels only: none here, on either path.
    path = str(get_testdata_file("CT_small.dcm"))
    assert compare(tmp_path, HEADER_ONLY, [path], review_dir=str(tmp_path / "reviews")) == 1
    assert not (tmp_path / "reviews").exists()


def test_files_without_pixels_take_the_lean_path_under_a_redacting_policy(
    tmp_path: Path,
) -> None:
    # Safe Harbor redacts burned-in text: the CT goes to the pixel stage (the Dataset path),
    # the SR and the RT Plan have no pixels to redact.
    processor = _processor(tmp_path / "ct", "hipaa-safe-harbor")
    assert not _took_lean_path(processor, str(get_testdata_file("CT_small.dcm")))
    paths = [str(get_testdata_file(name)) for name in ("test-SR.dcm", "rtplan.dcm")]
    assert compare(tmp_path, "hipaa-safe-harbor", paths) == 2


def test_a_firing_pixel_rule_takes_the_dataset_path(tmp_path: Path) -> None:
    policy = tmp_path / "pixels.policy"
    policy.write_text('policy pixels\nuse annex-e/basic\npixels -> reject "no images"\n')
    processor = _processor(tmp_path, str(policy))
    assert not _took_lean_path(processor, str(get_testdata_file("CT_small.dcm")))
    assert processor.process(str(get_testdata_file("CT_small.dcm"))).reason is (
        Reason.REJECTED_BY_POLICY
    )


@pytest.mark.slow
def test_the_benchmark_corpora_are_written_alike(tmp_path: Path) -> None:
    mixed = [str(p) for p in write_benchmark_corpus(tmp_path / "mixed", 16)]
    images = [
        str(p)
        for p in write_benchmark_corpus(
            tmp_path / "images", 3, templates=("CT_small.dcm", "MR_small.dcm"), matrix=512
        )
    ]
    for spec in (BASIC, HEADER_ONLY, f"{BASIC},annex-e/retain-uids"):
        took = compare(tmp_path / spec.replace("/", "_").replace(",", "+"), spec, mixed + images)
        assert took == len(mixed) + len(images)


def test_an_output_stamped_once_is_stamped_again_alike(tmp_path: Path) -> None:
    # The stamp extends the Contributing Equipment Sequence an earlier run left.
    first = _processor(tmp_path / "first", HEADER_ONLY)
    outcome = first.process(str(get_testdata_file("CT_small.dcm")))
    assert outcome.status is Status.WRITTEN and outcome.output is not None
    stamped = str(first.output_root / outcome.output)
    assert compare(tmp_path / "again", HEADER_ONLY, [stamped]) == 1


@pytest.mark.slow
def test_every_bundled_file_is_written_alike(tmp_path: Path) -> None:
    # Written, quarantined (with the same reason and detail) or skipped alike, file by file.
    paths = bundled_test_files("*.dcm") + bundled_charset_files()
    took = compare(tmp_path, BASIC, paths)
    # All but the 13 files admission refuses or skips (not DICOM, truncated, a DICOMDIR, ...)
    # and the 3 the table stage declines (items in implicit VR inside explicit VR files).
    assert (len(paths), took) == (95, 79)


def test_an_unexpected_failure_of_the_table_stage_falls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(get_testdata_file("CT_small.dcm"))
    expected = _run(_processor(tmp_path / "before", BASIC), path)

    def failing(*_args: object) -> None:
        raise KeyError("a value the table reads otherwise")

    monkeypatch.setattr(pipeline, "apply_plan_to_table", failing)
    processor = _processor(tmp_path / "after", BASIC)
    assert not _took_lean_path(processor, path)
    assert _run(processor, path) == expected


@pytest.mark.slow
def test_mutated_files_are_treated_alike(tmp_path: Path) -> None:
    # Truncations, flipped bytes, bad lengths, missing delimiters, a wrong transfer syntax
    # (tests/core/mutants.py): most are refused at admission; those admitted that the table
    # stage accepts take the lean path, and every outcome is the Dataset path's.
    seeds = [seed_from(name, (DATA / name).read_bytes()) for name in SEEDS]
    paths = []
    for number, (_name, data) in enumerate(mutants(seeds, 1000)):
        path = tmp_path / "in" / f"mutant{number}.dcm"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
        paths.append(str(path))
    assert compare(tmp_path, BASIC, paths) == 93
