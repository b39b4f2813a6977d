"""Keyed values are recomputed from the original with the secret (V108); without the secret or
the original, the report says which checks it could not make (V109). Issue #14 item 10."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pydicom

from deidengine.run.verify_tree import verify_tree
from deidengine.verify.conformance import FindingCode, Severity
from tests.verify.conftest import SECRET, EngineRun, run_engine


def _findings(run: EngineRun, **options: object) -> set[tuple[str, str, str]]:
    report = verify_tree(run.policy, run.output_root, ocr=False, iod=False, **options)  # type: ignore[arg-type]
    return {(f.file, f.location, f.code) for f in report.findings}


def test_a_foreign_name_in_a_pseudonymised_field_fails(
    tmp_path: Path, engine_run: Callable[[str], EngineRun]
) -> None:
    run = engine_run("hipaa-safe-harbor").copy(tmp_path / "out")
    forged = run.read("jane-ct")
    forged.PatientName = "DOE^JOHN"  # not the input's name: the leak scan cannot see it
    forged.save_as(run.outputs["jane-ct"])
    found = _findings(run, original_root=run.input_root, secret=SECRET)
    assert found == {
        (run.relative("jane-ct"), "(0010,0010)", FindingCode.KEYED_VALUE_MISMATCH.value)
    }


def test_a_pseudonym_of_another_secret_fails(
    tmp_path: Path, engine_run: Callable[[str], EngineRun]
) -> None:
    run = engine_run("hipaa-safe-harbor").copy(tmp_path / "out")
    forged = run.read("omar-ct")
    forged.PatientID = "SUBJ-AAAAAAAA"  # the template's form, not the keyed value
    forged.save_as(run.outputs["omar-ct"])
    found = _findings(run, original_root=run.input_root, secret=SECRET)
    assert (run.relative("omar-ct"), "(0010,0020)", FindingCode.KEYED_VALUE_MISMATCH.value) in found
    assert all(
        code != FindingCode.KEYED_VALUE_MISMATCH.value or file == run.relative("omar-ct")
        for file, _, code in found
    )


def test_a_keyed_hash_is_recomputed(tmp_path: Path, corpus: dict[str, Path]) -> None:
    policy = tmp_path / "hashed.policy"
    policy.write_text(
        "policy hashed\nuse annex-e/basic\n(0008,0050) AccessionNumber -> hash 12\n", "utf-8"
    )
    run = run_engine(str(policy), {"jane-ct": corpus["jane-ct"]}, tmp_path / "run")
    written = run.read("jane-ct")
    assert len(written.AccessionNumber) == 12
    assert _findings(run, original_root=run.input_root, secret=SECRET) == set()
    written.AccessionNumber = "0123456789AB"
    written.save_as(run.outputs["jane-ct"])
    assert _findings(run, original_root=run.input_root, secret=SECRET) == {
        (run.relative("jane-ct"), "(0008,0050)", FindingCode.KEYED_VALUE_MISMATCH.value)
    }


def test_without_the_secret_the_report_lists_what_it_could_not_check(
    engine_run: Callable[[str], EngineRun],
) -> None:
    run = engine_run("research-longitudinal")
    report = verify_tree(
        run.policy,
        run.output_root,
        original_root=run.input_root,
        mapping_dir=run.mappings,
        ocr=False,
        iod=False,
    )
    assert report.exit_code == 0
    (warning,) = report.findings
    assert warning.code == FindingCode.KEYED_VALUES_UNCHECKED.value
    assert warning.severity is Severity.WARNING
    assert warning.message == (
        "without the project secret, these keyed values were not recomputed: UID remaps, "
        "date shifts, pseudonyms; UIDs were checked by form only"
    )


def test_without_the_original_the_report_says_so(engine_run: Callable[[str], EngineRun]) -> None:
    run = engine_run("annex-e/basic")
    report = verify_tree(run.policy, run.output_root, ocr=False, iod=False)
    assert report.exit_code == 0
    assert [f.message for f in report.findings] == [
        "without the original (--original) and the project secret, the leak scan against the "
        "input was not made; these keyed values were not recomputed: UID remaps; UIDs were "
        "checked by form only"
    ]


def test_with_both_nothing_is_listed(engine_run: Callable[[str], EngineRun]) -> None:
    run = engine_run("hipaa-safe-harbor")
    report = verify_tree(
        run.policy,
        run.output_root,
        original_root=run.input_root,
        secret=SECRET,
        ocr=False,
        iod=False,
    )
    assert report.findings == ()
    assert pydicom.dcmread(run.outputs["jane-ct"]).PatientName != "DOE^JOHN"
