"""The one walk of the input gives what the separate walks gave, on pydicom's real files."""

from __future__ import annotations

import dataclasses
import warnings

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset

from deidengine.dicom.conditions import ConditionSnapshot
from deidengine.dicom.elements import copy_as_read
from deidengine.dicom.facts import InputFacts, input_facts
from deidengine.dicom.identifiers import collect_identifying_values
from deidengine.provenance.stamp import private_block_inventory
from tests.pydicom_files import bundled_charset_files, bundled_test_files

PATIENT_NAME, MODALITY, PATIENT_AGE = 0x00100010, 0x00080060, 0x00101010
#: Small enough to read twice each in well under a second altogether.
SIZE_LIMIT = 1 << 20


def _read(path: str | Dataset | None) -> Dataset:
    assert isinstance(path, str)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(path)


def _readable() -> list[str]:
    found = []
    for path in bundled_test_files() + bundled_charset_files():
        try:
            dataset = _read(path)
            if len(dataset.PixelData if "PixelData" in dataset else b"") > SIZE_LIMIT:
                continue
            collect_identifying_values(dataset)
            private_block_inventory(dataset)
        except Exception:
            continue
        found.append(path)
    return found


READABLE = _readable()


def test_enough_real_files_are_compared() -> None:
    assert len(READABLE) >= 80


@pytest.mark.parametrize("path", READABLE, ids=lambda p: p.rsplit("/", 1)[-1])
def test_one_walk_agrees_with_the_separate_ones(path: str) -> None:
    facts = input_facts(_read(path), [PATIENT_NAME, MODALITY, PATIENT_AGE])
    separate = _read(path)
    identifying = collect_identifying_values(separate)
    original = copy_as_read(separate)
    snapshot = ConditionSnapshot.of(separate, [PATIENT_NAME, MODALITY, PATIENT_AGE])
    assert facts.identifying == identifying
    assert facts.private_blocks == private_block_inventory(separate)
    assert facts.snapshot == snapshot
    assert facts.original == original
    assert facts.original == _read(path)


def test_ct_small_exact_facts() -> None:
    dataset = _read(get_testdata_file("CT_small.dcm"))
    facts = input_facts(dataset, [PATIENT_NAME, MODALITY])
    assert sorted(facts.identifying.names) == [
        "compressedsamples",
        "compressedsamples ct1",
        "ct1",
        "jfk imaging center",
    ]
    assert facts.identifying.institutions == frozenset({"jfk imaging center"})
    assert facts.snapshot.values == {PATIENT_NAME: ("CompressedSamples^CT1",), MODALITY: ("CT",)}
    assert {key: len(offsets) for key, offsets in facts.private_blocks.items()} == {
        (0x0009, "GEMS_IDEN_01"): 9,
        (0x0011, "GEMS_PATI_01"): 1,
        (0x0019, "GEMS_ACQU_01"): 56,
        (0x0021, "GEMS_RELA_01"): 13,
        (0x0023, "GEMS_STDY_01"): 3,
        (0x0025, "GEMS_SERS_01"): 8,
        (0x0027, "GEMS_IMAG_01"): 29,
        (0x0029, "GEMS_IMPS_01"): 10,
        (0x0043, "GEMS_PARM_01"): 41,
    }
    assert facts.private_blocks[(0x0011, "GEMS_PATI_01")] == frozenset({0x10})


def test_private_sequence_blocks_are_found_inside_the_sequence() -> None:
    facts = input_facts(_read(get_testdata_file("priv_SQ.dcm")))
    assert facts.private_blocks == {(0x3F03, "aaabbbccc MEDICAL SYSTEMS"): frozenset({0x01})}


def test_the_copy_is_left_as_read_by_later_edits() -> None:
    dataset = _read(get_testdata_file("rtplan.dcm"))
    facts = input_facts(dataset, [MODALITY])
    beam = dataset.BeamSequence[0]
    name, beam_name = str(dataset.PatientName), beam.BeamName
    raw_tags = [
        tag for tag, element in dataset._dict.items() if isinstance(element, RawDataElement)
    ]
    # Raw elements are shared, not copied: the copy costs no conversion.
    assert raw_tags
    assert all(facts.original._dict[tag] is dataset._dict[tag] for tag in raw_tags)
    dataset.PatientName = "EDITED"
    beam.BeamName = "EDITED"
    dataset.BeamSequence.append(Dataset())
    assert str(facts.original.PatientName) == name
    assert facts.original.BeamSequence[0].BeamName == beam_name
    assert len(facts.original.BeamSequence) == 1


def test_input_facts_is_immutable() -> None:
    facts = input_facts(_read(get_testdata_file("CT_small.dcm")))
    assert isinstance(facts, InputFacts)
    with pytest.raises(dataclasses.FrozenInstanceError):
        facts.identifying = collect_identifying_values(Dataset())  # type: ignore[misc]
