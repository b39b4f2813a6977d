"""A tree of real files with injected PHI through ``run_tree``: the issue's acceptance checks."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from deidengine.dicom.keys import ProjectSecret
from deidengine.dicom.uids import remap_uid
from deidengine.policy import load_plan
from deidengine.run.pipeline import RunSettings
from deidengine.run.runner import run_tree
from tests.phi_corpus import JANE, OMAR, FakePatient, inject

SOURCES = [
    "CT_small.dcm",
    "MR_small.dcm",
    "rtplan.dcm",
    "JPEG2000.dcm",
    "SC_rgb_rle.dcm",
    "image_dfl.dcm",
    "MR_small_implicit.dcm",
    "waveform_ecg.dcm",
    "test-SR.dcm",
    "SC_rgb_jpeg_dcmtk.dcm",
    "rtdose.dcm",
    "CT_small.dcm",
]
PATIENTS = [
    JANE,
    OMAR,
    FakePatient(
        "ABERNATHY-KLOOS",
        "PERPETUA",
        "MRN30057712",
        "19330229",
        "555-740-1188",
        "9 Quarry Hill",
        "03601",
    ),
]
SECRET = bytes.fromhex("5a" * 32)
HEADER_ONLY = "policy header-only\nuse hipaa-safe-harbor\npixels -> keep\n"


def _build(folder: Path) -> list[Path]:
    made: list[Path] = []
    for p_index, patient in enumerate(PATIENTS):
        study = f"1.2.826.0.1.3680043.9.8.{p_index}"
        first_ct_uid = None
        for s_index, source in enumerate(SOURCES):
            path = get_testdata_file(source)
            assert path is not None, source
            dataset = pydicom.dcmread(path)
            inject(dataset, patient, study, f"2019{p_index + 1:02d}1{s_index % 9}")
            dataset.SOPInstanceUID = f"{study}.{s_index}.1"
            dataset.SeriesInstanceUID = f"{study}.{s_index}"
            dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
            if first_ct_uid is None:
                first_ct_uid = dataset.SOPInstanceUID
            else:
                reference = Dataset()
                reference.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
                reference.ReferencedSOPInstanceUID = first_ct_uid
                dataset.ReferencedInstanceSequence = Sequence([reference])
            target = folder / patient.family / f"{patient.patient_id}_{s_index}"
            target.parent.mkdir(parents=True, exist_ok=True)
            dataset.save_as(target, enforce_file_format=dataset.preamble is not None)
            made.append(target)
    (folder / "notes.txt").write_text(f"{JANE.family} called", encoding="utf-8")
    (folder / "broken.dcm").write_bytes(made[0].read_bytes()[:3000])
    return made


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[Path], object]:
    root = tmp_path_factory.mktemp("corpus")
    inputs = _build(root / "in")
    policy = root / "header-only.policy"
    policy.write_text(HEADER_ONLY, encoding="utf-8")
    settings = RunSettings(str(policy), SECRET, str(root / "out"), str(root / "quarantine"))
    summary = run_tree(settings, root / "in", workers=2, audit_path=root / "audit.jsonl")
    return root, root / "out", inputs, summary


def test_every_input_accounted_for(result: tuple[Path, Path, list[Path], object]) -> None:
    root, out, inputs, summary = result
    written = sorted(out.rglob("*.dcm"))
    assert len(written) == len(inputs)
    quarantined = sorted((root / "quarantine").glob("*.json"))
    assert len(quarantined) == 2  # the text file and the truncated copy
    assert summary.exit_code == 1  # type: ignore[attr-defined]


def test_no_injected_identifier_anywhere(result: tuple[Path, Path, list[Path], object]) -> None:
    root, out, _inputs, _summary = result
    shared = [p for p in out.rglob("*") if p.is_file()]
    blob = b"".join(p.read_bytes() for p in shared).upper()
    names = "".join(str(p.relative_to(out)) for p in shared).upper()
    for patient in PATIENTS:
        for needle in patient.needles():
            assert needle.upper().encode() not in blob, needle
            assert needle.upper() not in names
    audit = (root / "audit.jsonl").read_text("utf-8").upper()
    assert all(p.family not in audit for p in PATIENTS)


def test_uids_consistent_and_references_resolve(
    result: tuple[Path, Path, list[Path], object],
) -> None:
    _root, out, _inputs, _summary = result
    datasets = [pydicom.dcmread(p) for p in sorted(out.rglob("*.dcm"))]
    by_patient: dict[str, list[Dataset]] = {}
    for dataset in datasets:
        by_patient.setdefault(str(dataset.PatientID), []).append(dataset)
    assert len(by_patient) == len(PATIENTS)
    instances = {str(d.SOPInstanceUID) for d in datasets}
    for group in by_patient.values():
        assert len({str(d.StudyInstanceUID) for d in group}) == 1
        assert len({str(d.PatientName) for d in group}) == 1
        references = {
            str(item.ReferencedSOPInstanceUID)
            for d in group
            for item in d.get("ReferencedInstanceSequence", [])
        }
        assert len(references) == 1 and references <= instances


def test_non_identifying_attributes_are_kept(
    result: tuple[Path, Path, list[Path], object],
) -> None:
    """≥ 98% of the attributes the policy keeps (no rule, or K) survive, value for value."""
    _root, out, inputs, _summary = result
    plan = load_plan("hipaa-safe-harbor")
    outputs = {str(pydicom.dcmread(p).SOPInstanceUID): p for p in out.rglob("*.dcm")}
    secret = ProjectSecret(SECRET)
    kept = total = 0
    for dataset_path in inputs:
        source = pydicom.dcmread(dataset_path)
        output = pydicom.dcmread(outputs[remap_uid(secret, str(source.SOPInstanceUID))])
        for element in source:
            tag = int(element.tag)
            if element.tag.is_private or element.VR in ("SQ", "UI") or tag >> 16 == 0x7FE0:
                continue
            rules = plan.candidates(tag, element.VR)
            if rules and rules[0].action.label not in ("K", "keep"):
                continue
            total += 1
            if tag in output and output[tag].value == element.value:
                kept += 1
    assert total > 300
    assert kept / total >= 0.98, (kept, total)
