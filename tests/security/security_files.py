"""Hostile inputs for the security tests, built from pydicom's real files.

Every file carries the same planted identity (:data:`MARKERS`), so a test can search every
byte a run wrote for it.
"""

from __future__ import annotations

from pathlib import Path

import pydicom
from pydicom.dataset import Dataset

from tests.phi_corpus import JANE, inject
from tests.pydicom_files import DATA

#: Values planted in the seed files; none may appear in anything a run writes.
MARKERS = ("QUIRINUS", "HELOISE", "MRN48213977", "555-867-5309")
STUDY = "1.2.826.0.1.3680043.9.7.1"


def real_file(name: str = "CT_small.dcm") -> Dataset:
    """A pydicom test file with :data:`JANE`'s identity planted everywhere."""
    # From the installed package only: get_testdata_file would try to download what is absent.
    dataset = pydicom.dcmread(DATA / "test_files" / name)
    return inject(dataset, JANE, STUDY, "20190314")


def write(dataset: Dataset, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    dataset.save_as(path, enforce_file_format=True)
    return path


def files_under(root: Path) -> dict[str, bytes]:
    """Every regular file below ``root`` (relative path → bytes); links are not followed."""
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


def holds_marker(data: bytes) -> str | None:
    """The first planted marker found in ``data`` (case-insensitive), or None."""
    upper = data.upper()
    for marker in MARKERS:
        if marker.encode("ascii") in upper:
            return marker
    return None
