"""Throwaway recipients (RSA key + self-signed certificate) and a real DICOM file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file

from tests.provenance.recipients import Recipient, make_recipient


@pytest.fixture(scope="session")
def broker() -> Recipient:
    return make_recipient("honest broker")


@pytest.fixture(scope="session")
def stranger() -> Recipient:
    return make_recipient("someone else")


@pytest.fixture()
def ct_small(tmp_path: Path) -> Path:
    """A private copy of pydicom's CT_small.dcm (PatientName CompressedSamples^CT1, ID 1CT1)."""
    path = tmp_path / "in" / "ct_small.dcm"
    path.parent.mkdir(parents=True)
    shutil.copyfile(str(get_testdata_file("CT_small.dcm")), path)
    return path
