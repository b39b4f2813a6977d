"""End to end: identifiers that only free text states leave no output, clinical words stay.

Real pydicom files get, each in its element, a value like those a realistic corpus leaks
through Clean actions: a relative in Additional Patient History, a physician in the Study
Description, an orderer in a Requested Procedure Description, an order number in a Code
Meaning, a physician in an SR TEXT item. No header attribute names any of them, so only the
free-text stage can find them.
"""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from click.testing import CliRunner
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from deidengine.cli import main
from tests.pydicom_files import bundled_test_files

CLINICAL = "CT HEAD WO CONTRAST"
HISTORY = "Hx per wife Solveig Abernathy, call 555-201-9988 re headache"
STUDY = f"{CLINICAL} - FOR DR VASQUEZ-TRELAWNEY"
REQUESTED = f"{CLINICAL} ordered by Kowalczyk, Dagny"
MEANING = f"{CLINICAL} (order ORD-7719024)"
SR_TEXT = f"Discussed with Dr Pemberton-Oyelaran: {CLINICAL} shows no bleed"
IDENTIFIERS = (
    "Solveig", "Abernathy", "555-201-9988", "VASQUEZ", "TRELAWNEY", "Kowalczyk", "Dagny",
    "7719024", "Pemberton", "Oyelaran",
)  # fmt: skip
SPECS = ("hipaa-safe-harbor", "annex-e/basic,annex-e/clean-descriptors")


def _image(folder: Path) -> None:
    ds = pydicom.dcmread(bundled_test_files("CT_small.dcm")[0])
    ds.AdditionalPatientHistory = HISTORY
    ds.StudyDescription = STUDY
    request = Dataset()
    request.RequestedProcedureDescription = REQUESTED
    request.RequestedProcedureID = "RP1"
    ds.RequestAttributesSequence = Sequence([request])
    code = Dataset()
    code.CodeValue = "RAD01234"  # shaped like an identifier, but a code
    code.CodingSchemeDesignator = "99LOCAL"
    code.CodeMeaning = MEANING
    ds.ProcedureCodeSequence = Sequence([code])
    ds.save_as(folder / "ct.dcm", enforce_file_format=True)


def _report(folder: Path) -> None:
    ds = pydicom.dcmread(bundled_test_files("reportsi.dcm")[0])
    for item in ds.ContentSequence:
        for child in item.get("ContentSequence", []):
            if child.get("ValueType") == "TEXT":
                child.TextValue = SR_TEXT
    ds.save_as(folder / "sr.dcm", enforce_file_format=True)


@pytest.fixture(scope="module", params=SPECS)
def outputs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Dataset]:
    root = tmp_path_factory.mktemp("free-text")
    source = root / "in"
    source.mkdir()
    _image(source)
    _report(source)
    key = root / "project.key"
    assert CliRunner().invoke(main, ["keygen", "--out", str(key)]).exit_code == 0
    spec = request.param
    if "hipaa" not in spec:
        spec += ",annex-e/clean-structured-content"
    result = CliRunner().invoke(
        main,
        [
            "run",
            "--policy",
            spec,
            "--workers",
            "1",
            "--secret-file",
            str(key),
            str(source),
            str(root / "out"),
        ],
    )
    assert result.exit_code == 0, result.output
    written = {p.name: pydicom.dcmread(p) for p in (root / "out").rglob("*.dcm")}
    assert len(written) == 2, sorted(written)
    by_modality = {str(ds.Modality): ds for ds in written.values()}
    return {"ct": by_modality["CT"], "sr": by_modality["SR"]}


def _every_text(ds: Dataset) -> str:
    parts: list[str] = []
    for element in ds.iterall():
        if element.VR in ("LO", "LT", "PN", "SH", "ST", "UC", "UT"):
            parts.append(str(element.value))
    return "\n".join(parts)


def test_no_identifier_from_free_text_is_left(outputs: dict[str, Dataset]) -> None:
    for ds in outputs.values():
        text = _every_text(ds).lower()
        left = [i for i in IDENTIFIERS if i.lower() in text]
        assert left == []


def test_the_clinical_words_are_kept(outputs: dict[str, Dataset]) -> None:
    ct = outputs["ct"]
    assert ct.StudyDescription == f"{CLINICAL} - FOR DR ***"
    assert ct.RequestAttributesSequence[0].RequestedProcedureDescription == (
        f"{CLINICAL} ordered by ***"
    )
    assert ct.ProcedureCodeSequence[0].CodeMeaning == f"{CLINICAL} (order ***)"
    assert ct.AdditionalPatientHistory == "Hx per wife ***, call *** re headache"
    texts = [
        child.TextValue
        for item in outputs["sr"].ContentSequence
        for child in item.get("ContentSequence", [])
        if child.get("ValueType") == "TEXT"
    ]
    assert texts == [f"Discussed with Dr ***: {CLINICAL} shows no bleed"]


def test_coded_values_are_not_cleaned_as_text(outputs: dict[str, Dataset]) -> None:
    # A code item's value is a coded term: only the file's own identifying values would go.
    code = outputs["ct"].ProcedureCodeSequence[0]
    assert (code.CodeValue, code.CodingSchemeDesignator) == ("RAD01234", "99LOCAL")
