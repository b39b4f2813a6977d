"""The input facts read from the element table equal the Dataset walk's, file by file.

:func:`~deidengine.dicom.facts.table_facts` must give the deny-list, the condition snapshot
(every top-level element, and a plan's few tags) and the private block inventory that
:func:`~deidengine.dicom.facts.input_facts` gives on the same bytes read by ``dcmread``, on
pydicom's bundled test and character set files, the benchmark corpora (mixed, image series, a
private-heavy file), the PHI corpus, the shipped samples, and mutants of the reader's seeds;
where the Dataset walk fails on a mutant, the table walk fails too.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from benchmarks.corpus import IMAGE_TEMPLATES, private_heavy, write_corpus
from deidengine.core.errors import CoreError
from deidengine.core.reader import read
from deidengine.core.table import ElementTable, Kind
from deidengine.core.values import resolved_vr
from deidengine.dicom.facts import InputFacts, TableFacts, input_facts, table_facts
from deidengine.run.admission import admit_file
from tests.core.mutants import SEEDS, mutants, seed_from
from tests.phi_corpus import write_corpus as write_phi_corpus
from tests.pydicom_files import DATA, bundled_charset_files, bundled_test_files

PATIENT_NAME, MODALITY, PATIENT_AGE, BIRTH_DATE = 0x00100010, 0x00080060, 0x00101010, 0x00100030
STUDY_DATE, PIXEL_SPACING, ABSENT = 0x00080020, 0x00280030, 0x00991234
#: A plan's condition tags: names, codes, ages and dates (the derived age), a DS, an absent tag.
PLAN_TAGS = frozenset({PATIENT_NAME, MODALITY, PATIENT_AGE, BIRTH_DATE, STUDY_DATE, ABSENT})
SAMPLES = sorted((Path(__file__).parents[2] / "samples").rglob("*.dcm"))
#: As many mutants as the reader's own differential test reads.
MUTANTS = 11_000


@pytest.fixture(autouse=True)
def _quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _dataset_facts(data: bytes, tags: frozenset[int] | None) -> InputFacts:
    return input_facts(pydicom.dcmread(io.BytesIO(data), force=True), tags)


def _assert_same(mine: TableFacts, theirs: InputFacts, name: str) -> None:
    assert mine.identifying == theirs.identifying, name
    assert mine.identifying.institutions == theirs.identifying.institutions, name
    assert mine.private_blocks == theirs.private_blocks, name
    assert mine.snapshot == theirs.snapshot, name


def check(data: bytes, name: str) -> bool:
    """The table walk agrees with the Dataset walk on ``data``; False when the lean reader
    refuses the bytes (there is no table)."""
    try:
        table = read(data)
    except CoreError:
        return False
    for tags in (None, PLAN_TAGS):
        try:
            theirs = _dataset_facts(data, tags)
        except Exception:
            # The Dataset walk converts every element whose VR it cannot tell, and so fails
            # on an ambiguous VR pydicom cannot resolve; the table walk reads no such value.
            if not _unresolvable(table):
                with pytest.raises(Exception):  # noqa: B017 - pydicom's own exceptions
                    table_facts(table, tags)
            continue
        _assert_same(table_facts(table, tags), theirs, name)
    return True


def _unresolvable(table: ElementTable) -> bool:
    """Whether some element's ambiguous VR cannot be resolved (nor can pydicom resolve it)."""
    for index, row in enumerate(table.rows):
        if row.kind is Kind.ELEMENT:
            try:
                resolved_vr(table, index)
            except CoreError:
                return True
    return False


def _files() -> list[str]:
    return bundled_test_files() + bundled_charset_files("*")


@pytest.mark.parametrize("path", _files(), ids=lambda path: Path(path).name)
def test_bundled_file_facts_from_the_table_are_the_datasets(path: str) -> None:
    check(Path(path).read_bytes(), Path(path).name)


def test_enough_bundled_files_have_a_table() -> None:
    assert sum(check(Path(path).read_bytes(), path) for path in _files()) >= 85


def test_corpora_and_samples_facts_from_the_table_are_the_datasets(tmp_path: Path) -> None:
    files = write_corpus(tmp_path / "mixed", 8)
    files += write_corpus(tmp_path / "images", 2, IMAGE_TEMPLATES, matrix=128)
    files += list(write_phi_corpus(tmp_path / "phi").values())
    files.append(private_heavy(tmp_path / "private_heavy.dcm", blocks=3, elements=40))
    assert len(SAMPLES) >= 5
    for path in [*files, *SAMPLES]:
        assert check(Path(path).read_bytes(), Path(path).name), path


def test_mutants_facts_from_the_table_are_the_datasets() -> None:
    seeds = [seed_from(name, (DATA / name).read_bytes()) for name in SEEDS]
    accepted = sum(check(data, name) for name, data in mutants(seeds, MUTANTS))
    assert accepted >= 3_000  # about a quarter of the mutants still read


def test_as_admitted_by_the_pipeline(tmp_path: Path) -> None:
    """The dataset the pipeline walks is the one admission built from the same table."""
    files = list(write_phi_corpus(tmp_path).values())
    for path in [*files, *bundled_test_files("*.dcm")[:40]]:
        try:
            reading = admit_file(str(path))
        except Exception:
            continue
        if reading.table is None:
            continue
        mine = table_facts(reading.table, PLAN_TAGS)
        _assert_same(mine, input_facts(reading.dataset, PLAN_TAGS), str(path))


def test_input_facts_with_the_table_reads_the_table_and_copies_the_dataset() -> None:
    path = get_testdata_file("CT_small.dcm")
    assert isinstance(path, str)
    reading = admit_file(path)
    assert reading.table is not None
    facts = input_facts(reading.dataset, PLAN_TAGS, reading.table)
    _assert_same(table_facts(reading.table, PLAN_TAGS), facts, path)
    assert facts.original == pydicom.dcmread(path)
    assert facts.original is not reading.dataset


def test_ct_small_exact_facts_from_the_table() -> None:
    path = get_testdata_file("CT_small.dcm")
    assert isinstance(path, str)
    facts = table_facts(read(Path(path).read_bytes()), [PATIENT_NAME, MODALITY, PIXEL_SPACING])
    assert sorted(facts.identifying.names) == [
        "compressedsamples",
        "compressedsamples ct1",
        "ct1",
        "jfk imaging center",
    ]
    assert facts.snapshot.values == {
        PATIENT_NAME: ("CompressedSamples^CT1",),
        MODALITY: ("CT",),
        PIXEL_SPACING: ("0.661468", "0.661468"),
    }
    assert facts.private_blocks[(0x0011, "GEMS_PATI_01")] == frozenset({0x10})
    assert len(facts.private_blocks[(0x0019, "GEMS_ACQU_01")]) == 56


def _repeat_patient_name(data: bytes, value: bytes) -> bytes:
    """``data`` (explicit VR little endian) with a second Patient's Name after Modality."""
    table = read(data)
    (modality,) = [row for row in table.rows if row.tag == MODALITY and row.depth == 0]
    at = modality.offset + modality.length
    element = b"\x10\x00\x10\x00PN" + len(value).to_bytes(2, "little") + value
    return data[:at] + element + data[at:]


def test_a_repeated_tag_counts_once_the_last_as_pydicom_keeps_it() -> None:
    path = get_testdata_file("CT_small.dcm")
    assert isinstance(path, str)
    data = _repeat_patient_name(Path(path).read_bytes(), b"ZZTOP^BILLY ")
    facts = table_facts(read(data), [PATIENT_NAME])
    assert facts.snapshot.values[PATIENT_NAME] == ("CompressedSamples^CT1",)
    assert "zztop" not in facts.identifying.names
    assert check(data, "repeated")
