"""``run`` then ``verify`` passes, every time: one definition of a clean output (issue #14 item 9).

Every pydicom test file (each in its own tree: several share a SOP Instance UID) and a
generated multi-patient corpus go through the real per-file pipeline under every shipped
policy (the profiles, and each Annex E Option on the Basic Profile); every file written is
then verified against its original with the project secret. The engine refuses to write what
the verifier would reject; so any error the verifier finds here is a disagreement.

The broad test leaves out the verifier's OCR (the run's own pixel stage has read the pixels)
and runs dciodvfy on the generated corpus only, to stay bounded; the two disagreements found
(keep-year's ``YYYY0101`` and dciodvfy on Deflated files) have fast tests of their own.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from deidengine.policy import load_plan, shipped_policy_names
from deidengine.run.outcome import Status
from deidengine.run.pipeline import FileProcessor, RunSettings
from deidengine.run.verify_tree import verify_tree
from deidengine.verify.iod import VALIDATOR
from tests.phi_corpus import JANE, OMAR, FakePatient, inject
from tests.policy_specs import pixels_kept
from tests.pydicom_files import bundled_charset_files, bundled_test_files
from tests.verify.conftest import SECRET


def _shipped_specs() -> list[str]:
    names = shipped_policy_names()
    profiles = [name for name in names if load_plan(name).runnable]
    options = [name for name in names if not load_plan(name).runnable]
    # Pixels kept as they are where the profile has no pixel rule for every file: pydicom's US,
    # SC and OT images are otherwise quarantined unread (pixels-not-examined), and this test is
    # about what is written.
    specs = profiles + [f"annex-e/basic,{option}" for option in options]
    return [pixels_kept(spec) for spec in specs]


SPECS = _shipped_specs()
PATIENTS = (
    JANE,
    OMAR,
    FakePatient(
        "ABERNATHY-KLOOS",
        "PERPETUA",
        "MRN30057712",
        "19330101",
        "555-740-1188",
        "9 Quarry Hill",
        "03601",
    ),
)
#: One of each kind the engine treats differently: CT, MR, RT Plan, a Deflated file, SR, a
#: waveform, an RLE colour image.
SOURCES = (
    "CT_small.dcm",
    "MR_small.dcm",
    "rtplan.dcm",
    "image_dfl.dcm",
    "test-SR.dcm",
    "waveform_ecg.dcm",
    "SC_rgb_rle.dcm",
)


@pytest.fixture(scope="module")
def single_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Each bundled file alone in a folder of its own (its tree for ``verify --original``)."""
    root = tmp_path_factory.mktemp("pydicom-files")
    folders = []
    for source in bundled_test_files("*.dcm") + bundled_charset_files():
        folder = root / Path(source).stem
        folder.mkdir()
        shutil.copy(source, folder / Path(source).name)
        folders.append(folder)
    return folders


@pytest.fixture(scope="module")
def patients_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three patients, seven kinds of object each; the third was born and studied on 1 January
    (keep-year leaves such dates as they were)."""
    root = tmp_path_factory.mktemp("patients") / "in"
    for p_index, patient in enumerate(PATIENTS):
        study = f"1.2.826.0.1.3680043.9.6.{p_index}"
        for s_index, source in enumerate(SOURCES):
            path = get_testdata_file(source)
            assert path is not None, source
            dataset = pydicom.dcmread(path)
            date = "20190101" if p_index == 2 else f"2019{p_index + 1:02d}1{s_index}"
            inject(dataset, patient, study, date)
            dataset.SOPInstanceUID = f"{study}.{s_index}.1"
            dataset.SeriesInstanceUID = f"{study}.{s_index}"
            dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
            target = root / patient.family / f"{s_index}.dcm"
            target.parent.mkdir(parents=True, exist_ok=True)
            dataset.save_as(target, enforce_file_format=True)
    return root


def _processor(spec: str, out: Path, plan_from: FileProcessor | None = None) -> FileProcessor:
    settings = RunSettings(spec, SECRET.key, str(out), str(out.parent / "quarantine"))
    return FileProcessor(settings, plan=plan_from.plan if plan_from else None)


def _errors(spec: str, out: Path, original: Path, *, iod: bool) -> list[str]:
    report = verify_tree(spec, out, original_root=original, secret=SECRET, ocr=False, iod=iod)
    return [f"{f.file} {f.location} {f.code}" for f in report.errors]


@pytest.mark.slow
@pytest.mark.parametrize("spec", SPECS)
def test_every_written_file_verifies(
    spec: str, single_files: list[Path], patients_tree: Path, tmp_path: Path
) -> None:
    disagreements: list[str] = []
    written = 0
    processor: FileProcessor | None = None
    for folder in single_files:
        out = tmp_path / "single" / folder.name
        processor = _processor(spec, out, processor)
        outcome = processor.process(str(next(folder.iterdir())))
        if outcome.status is Status.WRITTEN:
            written += 1
            disagreements += _errors(spec, out, folder, iod=False)
    assert written >= 75  # most of pydicom's files are written under every policy
    out = tmp_path / "patients"
    processor = _processor(spec, out, processor)
    inputs = sorted(p for p in patients_tree.rglob("*.dcm"))
    outcomes = [processor.process(str(path)) for path in inputs]
    assert sum(o.status is Status.WRITTEN for o in outcomes) >= 3 * 6
    iod = shutil.which(VALIDATOR) is not None
    disagreements += _errors(spec, out, patients_tree, iod=iod)
    assert disagreements == []


def _run_one(spec: str, source: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    outcome = _processor(spec, out).process(str(source))
    assert outcome.status is Status.WRITTEN, outcome
    return out


def test_keep_year_of_a_first_of_january_is_no_leak(tmp_path: Path) -> None:
    """keep-year leaves 20190101 as it was: the policy's output, not a leak (was V201)."""
    folder = tmp_path / "in"
    folder.mkdir()
    dataset = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    inject(dataset, JANE, "1.2.826.0.1.3680043.9.6.9", "20190101")
    dataset.save_as(folder / "ct.dcm", enforce_file_format=True)
    out = _run_one("hipaa-safe-harbor", folder / "ct.dcm", tmp_path)
    written = pydicom.dcmread(next(out.rglob("*.dcm")))
    assert written.StudyDate == "20190101"
    assert _errors("hipaa-safe-harbor", out, folder, iod=False) == []


def test_a_deflated_file_gets_no_false_iod_error(tmp_path: Path) -> None:
    """dciodvfy reads Deflated bytes as garbage that differs between input and output; the
    verifier validates the inflated object (was V401)."""
    if shutil.which(VALIDATOR) is None:
        pytest.skip(f"{VALIDATOR} is not installed")
    folder = tmp_path / "in"
    folder.mkdir()
    source = Path(str(get_testdata_file("image_dfl.dcm")))
    shutil.copy(source, folder / source.name)
    spec = pixels_kept("annex-e/basic")  # an OT image: kept unread by a reviewed rule
    out = _run_one(spec, folder / source.name, tmp_path)
    assert _errors(spec, out, folder, iod=True) == []
