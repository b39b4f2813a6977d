"""The deny-list collector's per-run caches change no answer: a value collected again (from
the cache) adds what it added the first time, to the same sets in the same order, and only
values that read the same in any file are cached by their bytes."""

from __future__ import annotations

from pathlib import Path

from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from deidengine.core.dictionary import AMBIGUOUS
from deidengine.core.reader import read
from deidengine.dicom import identifiers
from deidengine.dicom.facts import table_facts
from deidengine.dicom.identifiers import IdentifyingValues
from deidengine.dicom.table_values import BINARY_VRS, TEXTS_BY_VR

FIELDS = ("names", "ids", "dates", "phones", "addresses", "institutions")


def _clear_caches() -> None:
    identifiers._PLAIN_TEXTS.clear()
    identifiers._forms.cache_clear()
    identifiers._name_forms.cache_clear()
    identifiers._forms_of_date.cache_clear()


def _in_order(found: IdentifyingValues) -> dict[str, list[str]]:
    """Each kind's values in the frozenset's iteration order (its layout)."""
    return {name: list(getattr(found, name)) for name in FIELDS}


CODECS = {"ISO_IR 100": "latin-1", "ISO_IR 192": "utf-8"}


def _file(tmp_path: Path, name: str, charset: str, patient_name: bytes) -> bytes:
    """CT_small in ``charset``, its Patient's Name stored as ``patient_name`` (bytes)."""
    path = get_testdata_file("CT_small.dcm")
    assert path is not None
    dataset: Dataset = dcmread(path)
    dataset.SpecificCharacterSet = charset
    dataset.PatientName = patient_name.decode(CODECS[charset])
    dataset.InstitutionName = "Hôpital Général, Lyon"
    dataset.PatientAddress = "1 Rue de la Paix; 75002 Paris"
    written = tmp_path / name
    dataset.save_as(written, enforce_file_format=True)
    data = written.read_bytes()
    assert patient_name in data
    return data


def test_plain_text_vrs_read_by_their_bytes_alone() -> None:
    for vr in identifiers._PLAIN_TEXT_VRS:
        assert vr not in AMBIGUOUS
        assert vr not in BINARY_VRS
        # Read as text by the default reading, or as a person name: not numbers, tags or
        # decimal strings (whose reading depends on the byte order or the character set).
        assert vr == "PN" or vr not in TEXTS_BY_VR, vr


def test_collected_again_from_the_caches_in_the_same_order(tmp_path: Path) -> None:
    files = [
        read(_file(tmp_path, "a.dcm", "ISO_IR 100", b"DOE^JANE^Q")),
        read(_file(tmp_path, "b.dcm", "ISO_IR 100", b"Buc^J\xe9r\xf4me")),
        read(_file(tmp_path, "c.dcm", "ISO_IR 192", b"Buc^J\xc3\xa9r\xc3\xb4me")),
    ]
    _clear_caches()
    cold = [_in_order(table_facts(table).identifying) for table in files]
    hot = [_in_order(table_facts(table).identifying) for table in files]
    assert hot == cold
    assert identifiers._PLAIN_TEXTS  # the second pass read from the caches
    assert "jérôme" in cold[1]["names"]
    assert "jérôme" in cold[2]["names"]
    assert "doe jane q" in cold[0]["names"]


def test_non_ascii_bytes_are_read_in_their_own_file_character_set(tmp_path: Path) -> None:
    # The same non-ASCII bytes mean different names under ISO_IR 100 and ISO_IR 192: they are
    # never cached by their bytes, so each file's reading stands.
    same = b"Buc^J\xc3\xa9r\xc3\xb4me"
    latin1 = read(_file(tmp_path, "latin1.dcm", "ISO_IR 100", same))
    utf8 = read(_file(tmp_path, "utf8.dcm", "ISO_IR 192", same))
    _clear_caches()
    first = table_facts(latin1).identifying.names
    second = table_facts(utf8).identifying.names
    assert "jã rã me" in first  # the second byte of each pair reads as a separator
    assert "jérôme" in second
    assert "jérôme" not in first
