"""Build test inputs from pydicom's real files with fake identifiers injected everywhere."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pydicom
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence


@dataclass(frozen=True)
class FakePatient:
    family: str
    given: str
    patient_id: str
    birth_date: str  # DA
    phone: str
    street: str
    zip_code: str

    @property
    def name(self) -> str:
        return f"{self.family}^{self.given}"

    def needles(self) -> tuple[str, ...]:
        """Strings that must not survive anywhere in an output file."""
        return (self.family, self.given, self.patient_id, self.birth_date, self.phone, self.street)


JANE = FakePatient(
    "QUIRINUS", "HELOISE", "MRN48213977", "19620315", "555-867-5309", "77 Juniper Lane", "02139"
)
OMAR = FakePatient(
    "VANTERPOOL", "OSWIN", "MRN77120455", "19480704", "555-201-4410", "12 Wexford Road", "90210"
)


def inject(dataset: Dataset, patient: FakePatient, study_uid: str, study_date: str) -> Dataset:
    """Put ``patient``'s identifiers in the header, nested sequences, private tags, free text."""
    dataset.PatientName = patient.name
    dataset.PatientID = patient.patient_id
    dataset.PatientBirthDate = patient.birth_date
    dataset.PatientAddress = f"{patient.street}, Springfield MA {patient.zip_code}"
    dataset.PatientTelephoneNumbers = patient.phone
    dataset.PatientAge = "063Y"
    dataset.StudyInstanceUID = study_uid
    dataset.StudyDate = study_date
    dataset.SeriesDate = study_date
    dataset.AccessionNumber = "ACC7781203"
    dataset.ReferringPhysicianName = "GRIMSDOTTIR^ASTRID"
    dataset.OperatorsName = "PELLINGHAM^TOBIAS"
    dataset.InstitutionName = "Saint Elsewhere Hospital"
    dataset.StudyDescription = (
        f"CT CHEST for {patient.given} {patient.family} DOB {patient.birth_date}"
    )
    dataset.ImageComments = f"call {patient.phone} re {patient.patient_id}"
    other = Dataset()
    other.PatientID = patient.patient_id
    other.TypeOfPatientID = "TEXT"
    dataset.OtherPatientIDsSequence = Sequence([other])
    request = Dataset()
    request.RequestedProcedureDescription = f"follow-up {patient.family}"
    request.ScheduledProcedureStepID = patient.patient_id
    dataset.RequestAttributesSequence = Sequence([request])
    block = dataset.private_block(0x0029, "ACME PRIVATE 1.0", create=True)
    block.add_new(0x10, "LO", patient.name.replace("^", " "))
    return dataset


def write_corpus(folder: Path) -> dict[str, Path]:
    """Four real files, two patients, two studies; returns file label → path."""
    folder.mkdir(parents=True, exist_ok=True)
    made: dict[str, Path] = {}
    specs = [
        ("jane-ct", "CT_small.dcm", JANE, "1.2.826.0.1.3680043.9.7.1", "20190314"),
        ("jane-mr", "MR_small.dcm", JANE, "1.2.826.0.1.3680043.9.7.1", "20190314"),
        ("jane-ct-later", "CT_small.dcm", JANE, "1.2.826.0.1.3680043.9.7.2", "20200401"),
        ("omar-ct", "CT_small.dcm", OMAR, "1.2.826.0.1.3680043.9.7.3", "20210611"),
    ]
    for index, (label, source, patient, study, date) in enumerate(specs):
        dataset = pydicom.dcmread(get_testdata_file(source))
        inject(dataset, patient, study, date)
        dataset.SOPInstanceUID = f"1.2.826.0.1.3680043.9.7.100.{index}"
        dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
        dataset.SeriesInstanceUID = f"{study}.{1 if 'mr' not in label else 2}"
        path = folder / f"{patient.family}_{label}.dcm"  # a name that carries PHI, as in life
        dataset.save_as(path, enforce_file_format=True)
        made[label] = path
    return made
