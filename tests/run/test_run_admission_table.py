"""run.admission on the element table: the same verdict as on pydicom's dataset, file by file.

Admission reads a file once; where the lean reader accepts it the checks run on its table
(:func:`~deidengine.run.admission.described` and
:func:`~deidengine.run.diagnose.check_table_encoding`) and pydicom's dataset is not built. Each
test here admits the same reading both ways, on the table and on the dataset built from it,
and requires the same outcome: admitted, or refused with the same reason and detail.
"""

from __future__ import annotations

import warnings
from collections import Counter
from pathlib import Path

import pytest

from deidengine.core.table import ElementTable
from deidengine.dicom.reading import FileReading, read_file
from deidengine.run.admission import (
    InputRefused,
    admit_file,
    admit_reading,
    is_media_directory,
    is_media_directory_reading,
    plainly_admitted,
)
from deidengine.run.outcome import Reason
from tests.core.mutants import SEEDS, mutants, seed_from
from tests.phi_corpus import write_corpus as write_phi_corpus
from tests.pydicom_files import DATA, bundled_charset_files, bundled_test_files

Verdict = tuple[str, str | None]
MUTANTS = 6_000


def _verdict(path: Path, reading: FileReading) -> Verdict:
    try:
        admit_reading(str(path), reading, path.stat().st_size)
    except InputRefused as refused:
        return refused.reason.value, refused.detail
    return "admitted", None


def both_ways(path: Path) -> tuple[Verdict, Verdict] | None:
    """(on the table, on the dataset) for the file at ``path``, or None when it has no table
    or pydicom cannot build its dataset (admission then reads no table either way)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            reading = read_file(path)
        except Exception:
            try:
                reading = read_file(path, force=True)
            except Exception:
                return None
        if reading.table is None:
            return None
        try:
            read_by_pydicom = FileReading(reading.dataset, None, str(path))
        except Exception:
            return None
        return _verdict(path, FileReading(None, reading.table, str(path))), _verdict(
            path, read_by_pydicom
        )


@pytest.mark.parametrize(
    "name", bundled_test_files() + bundled_charset_files("*"), ids=lambda p: Path(p).name
)
def test_bundled_file_gets_the_same_verdict_from_its_table(name: str) -> None:
    found = both_ways(Path(name))
    if found is not None:
        on_table, on_dataset = found
        assert on_table == on_dataset


@pytest.mark.parametrize(
    "name", bundled_test_files() + bundled_charset_files("*"), ids=lambda p: Path(p).name
)
def test_a_media_directory_is_told_from_its_table(name: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            reading = read_file(name, force=True)
            dataset = reading.dataset
        except Exception:
            return
    if reading.table is not None:
        on_table = is_media_directory_reading(FileReading(None, reading.table, name))
        assert on_table == is_media_directory(dataset)


def test_the_bundled_media_directories_are_told_from_their_tables() -> None:
    names = sorted(str(path) for path in (DATA / "test_files" / "dicomdirtests").glob("DICOMDIR*"))
    assert len(names) >= 3
    readings = [read_file(name) for name in names]
    assert all(is_media_directory_reading(reading) for reading in readings)
    admitted = [admit_file(name) for name in names]
    assert all(is_media_directory_reading(reading) for reading in admitted)
    assert not any(reading.plainly_admitted for reading in admitted)
    assert sum(reading.table is not None for reading in readings) >= 3


def test_phi_corpus_gets_the_same_verdicts(tmp_path: Path) -> None:
    files = write_phi_corpus(tmp_path)
    for path in files.values():
        found = both_ways(path)
        assert found is not None and found[0] == found[1] == ("admitted", None)


def test_a_table_admission_builds_no_dataset() -> None:
    reading = admit_file(str(DATA / "test_files" / "CT_small.dcm"))
    assert reading.table is not None
    assert reading._dataset is None  # built only when a stage asks for it
    assert reading.dataset.SOPInstanceUID == "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322"


def test_a_kept_value_swallowing_its_neighbours_is_refused_on_the_table(tmp_path: Path) -> None:
    """Modality's length grown to swallow the whole next element: the file
    still reads, and on the table the encoding check names the defect, as on the dataset."""
    data = bytearray((DATA / "test_files" / "CT_small.dcm").read_bytes())
    header = data.index(b"\x08\x00\x60\x00CS")
    length = int.from_bytes(data[header + 6 : header + 8], "little")
    following = header + 8 + length
    swallowed = 8 + int.from_bytes(data[following + 6 : following + 8], "little")
    data[header + 6 : header + 8] = (length + swallowed).to_bytes(2, "little")
    damaged = tmp_path / "damaged.dcm"
    damaged.write_bytes(bytes(data))
    found = both_ways(damaged)
    assert found is not None
    assert found[0] == found[1] == ("invalid-length", "(0008,0060): a CS longer than 16")


def test_mutants_get_the_same_verdict_from_their_table(tmp_path: Path) -> None:
    """6,000 of the reader's seeded mutants (truncated, flipped, bad lengths, undelimited,
    wrong transfer syntax): every one the reader accepts gets the same verdict both ways."""
    seeds = [seed_from(name, (DATA / name).read_bytes()) for name in SEEDS]
    verdicts: Counter[str] = Counter()
    target = tmp_path / "mutant.dcm"
    for name, data in mutants(seeds, MUTANTS):
        target.write_bytes(data)
        found = both_ways(target)
        if found is None:
            continue
        on_table, on_dataset = found
        assert on_table == on_dataset, name
        verdicts[on_table[0]] += 1
    # The comparison covers admissions and the encoding and pixel checks' refusals alike.
    # (3,000 gave 260 admitted, 360 not DICOM, 104 invalid values, 74 truncated, 27
    # inconsistent pixel data, 2 invalid VRs, 1 unknown photometric interpretation)
    least = {
        "admitted": 200,
        Reason.NOT_DICOM.value: 100,
        Reason.INVALID_VALUE.value: 50,
        Reason.TRUNCATED.value: 30,
        Reason.INCONSISTENT_PIXEL_DATA.value: 10,
        Reason.INVALID_VR.value: 1,
    }
    assert all(verdicts[verdict] >= count for verdict, count in least.items()), verdicts


def _checked(path: Path) -> Verdict | None:
    """The verdict of admission's checks on ``path``'s table, the plain admission left out
    (None: no table)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            reading = read_file(path)
        except Exception:
            return None
        if reading.table is None:
            return None
        return _verdict(path, reading)


@pytest.mark.parametrize("name", ("CT_small.dcm", "MR_small.dcm", "test-SR.dcm", "rtplan.dcm"))
def test_the_common_files_are_plainly_admitted(name: str) -> None:
    """The benchmark corpora's files take the plain admission: no dataset is built for them."""
    path = DATA / "test_files" / name
    reading = read_file(path)
    assert reading.table is not None
    assert plainly_admitted(reading.table, path.stat().st_size)
    admitted = admit_file(str(path))
    assert admitted.plainly_admitted and not is_media_directory_reading(admitted)


def test_a_plain_admission_is_what_the_checks_say(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every file (bundled, and 3,000 mutants) the plain admission admits, admission's checks
    on its table admit too: it is a short cut, never a second opinion."""
    from deidengine.run import admission

    seeds = [seed_from(name, (DATA / name).read_bytes()) for name in SEEDS]
    candidates = [Path(name) for name in bundled_test_files()]
    for number, (_, data) in enumerate(mutants(seeds, 3_000)):
        path = tmp_path / f"{number}.dcm"
        path.write_bytes(data)
        candidates.append(path)
    plain = []
    for path in candidates:
        table = _table(path)
        if table is not None and plainly_admitted(table, path.stat().st_size):
            plain.append(path)
    assert len(plain) > 150
    monkeypatch.setattr(admission, "plainly_admitted", lambda *arguments: False)
    for path in plain:
        assert _checked(path) == ("admitted", None), path
        # Nor is it a media directory, which the pipeline then need not ask the table.
        reading = read_file(path)
        assert not reading.plainly_admitted and not is_media_directory_reading(reading), path


def _table(path: Path) -> ElementTable | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return read_file(path).table
        except Exception:
            return None


def test_a_pixel_value_without_its_pixel_representation_is_refused_both_ways(
    tmp_path: Path,
) -> None:
    """In implicit VR, Smallest Image Pixel Value is 'US or SS' by Pixel Representation;
    without one beside Pixel Data pydicom cannot hand it out, and the table must not admit
    what the dataset refuses (found among mutants 6,000 to 20,000: a flipped tag byte)."""
    data = (DATA / "test_files" / "MR_small_implicit.dcm").read_bytes()
    tag = bytes.fromhex("28000301")  # (0028,0103) Pixel Representation, little endian
    assert data.count(tag) == 1
    target = tmp_path / "no-pixel-representation.dcm"
    target.write_bytes(data.replace(tag, bytes.fromhex("28000300")))  # now (0028,0003)
    found = both_ways(target)
    assert found is not None
    on_table, on_dataset = found
    assert on_table == on_dataset == ("invalid-value", "(0028,0106) cannot be read as its VR")
