"""The provenance stamp as element table edits writes the bytes the Dataset path writes.

For each file: the Dataset path stamps the dataset built from the table
(:func:`~deidengine.provenance.stamp.stamp_provenance`), replaces its File Meta Information
and preamble as the pipeline does and encodes it (:func:`deidengine.dicom.encode.encode_file`);
the table path gives the same header changes as edits, the stamp as edits
(:func:`~deidengine.provenance.stamp_edits.provenance_edits`) and the same meta policy, and
encodes the table (:func:`deidengine.core.writer.encode`). The bytes must be equal, and the
kept private blocks found on both sides too. Files: pydicom's bundled test and character set
files, the benchmark corpora, the PHI corpus, and outputs stamped once already (so
Contributing Equipment Sequence has an item to keep).
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset

from benchmarks.corpus import IMAGE_TEMPLATES, private_heavy, write_corpus
from deidengine.core.dataset_view import dataset_of
from deidengine.core.errors import CoreError
from deidengine.core.reader import read
from deidengine.core.table import TOP, ElementTable, Kind
from deidengine.core.writer import Edits, Value, encode
from deidengine.dicom.encode import encode_file
from deidengine.dicom.facts import input_facts, table_facts
from deidengine.dicom.private_blocks import table_inventory
from deidengine.provenance.stamp import (
    KnownSafe,
    PixelOutcome,
    WhatRan,
    kept_private_blocks,
    stamp_provenance,
)
from deidengine.provenance.stamp_edits import kept_private_blocks_of_table, provenance_edits
from deidengine.provenance.vocabulary import LongitudinalTemporalInformationModified, Tag
from deidengine.run.pipeline import (
    ENCODING_SYNTAX,
    IMPLEMENTATION_CLASS_UID,
    IMPLEMENTATION_VERSION_NAME,
    _new_file_meta,
)
from tests.phi_corpus import write_corpus as write_phi_corpus
from tests.pydicom_files import bundled_charset_files, bundled_test_files

DIGEST = "0123456789abcdef" * 4
EQUIPMENT = int(Tag.ContributingEquipmentSequence)
#: Two runs: every Option and a kept date-time; and no code, no pixels, identity not removed.
RUNS: dict[str, dict[str, object]] = {
    "full": {
        "plan_codes": ("113100", "113101", "113102", "113107"),
        "pixels": PixelOutcome(pixels_cleaned=True, recognizable_visual_features_cleaned=True),
        "contribution_datetime": datetime(2026, 12, 4, 15, 0, tzinfo=UTC),
    },
    "bare": {"plan_codes": (), "identity_removed": False},
}


@pytest.fixture(autouse=True)
def _quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _known_safe(group: int, creator: str, offset: int) -> bool:
    """Even offsets are safe: blocks come out SAFE, MIXED and UNSAFE."""
    return offset % 2 == 0


def _ran(run: str, blocks: object) -> WhatRan:
    return WhatRan.from_run(
        policy_names=("annex-e/basic", "policy ü"),
        policy_digest=DIGEST,
        temporal=LongitudinalTemporalInformationModified.MODIFIED,
        kept_private_blocks=blocks,  # type: ignore[arg-type]
        **RUNS[run],  # type: ignore[arg-type]
    )


def _header_rows(table: ElementTable) -> list[int]:
    """The rows the header change removes: every third private element at the top level,
    each top-level private sequence, and the last item of Contributing Equipment Sequence."""
    removed: list[int] = []
    private = [
        index
        for index in table.children(TOP)
        if (table.rows[index].tag >> 16) & 1 and table.rows[index].tag & 0xFFFF >= 0x1000
    ]
    removed += private[::3]
    removed += [index for index in private if table.rows[index].vr == "SQ"]
    for index in table.children(TOP):
        if table.rows[index].tag == EQUIPMENT:
            items = [i for i in table.children(index) if table.rows[i].kind is Kind.ITEM]
            removed += items[-1:] if len(items) > 1 else []
    return sorted(set(removed))


def _remove_from_dataset(dataset: Dataset, table: ElementTable, rows: list[int]) -> None:
    for index in rows:
        row = table.rows[index]
        if row.kind is Kind.ITEM:
            sequence = dataset[table.rows[row.parent].tag].value
            del sequence[list(table.children(row.parent)).index(index)]
        elif row.tag in dataset:
            del dataset[row.tag]


def _meta_edits(table: ElementTable) -> tuple[frozenset[int], tuple[tuple[int, Value], ...]]:
    """The pipeline's File Meta Information policy (``_new_file_meta``) as edits: the meta is
    replaced, the writer derives the Media Storage UIDs and the transfer syntax."""
    meta = frozenset(index for index in table.children(TOP) if table.is_meta(index))
    ours = (
        (0x00020012, Value("UI", IMPLEMENTATION_CLASS_UID.encode("ascii"))),
        (0x00020013, Value("SH", IMPLEMENTATION_VERSION_NAME.encode("ascii"))),
    )
    return meta, ours


def _dataset_path(data: bytes, rows: list[int], run: str, known_safe: KnownSafe) -> bytes:
    table = read(data)
    # The walks that find the blocks convert the private creators they read (so pydicom
    # would write them with their dictionary VR): they read datasets of their own here, and
    # the dataset written is dcmread's, every element as read until the stamp touches it
    # (the writer's oracle: tests/core holds encode(table) to dcmwrite of it).
    before = input_facts(dataset_of(table)).private_blocks
    after = dataset_of(table)
    _remove_from_dataset(after, table, rows)
    ran = _ran(run, kept_private_blocks(before, after, known_safe))
    dataset = pydicom.dcmread(io.BytesIO(data), force=True)
    _remove_from_dataset(dataset, table, rows)
    stamp_provenance(dataset, ran)
    implicit, little = dataset.original_encoding
    syntax = (
        str(dataset.file_meta.get("TransferSyntaxUID", ""))
        or ENCODING_SYNTAX[(bool(implicit), little is not False)]
    )
    dataset.file_meta = _new_file_meta(dataset, syntax)
    dataset.preamble = None
    return encode_file(dataset)


def _table_path(data: bytes, rows: list[int], run: str, known_safe: KnownSafe) -> bytes:
    table = read(data)
    before = table_facts(table).private_blocks
    header = Edits(remove=frozenset(rows))
    ran = _ran(run, kept_private_blocks_of_table(before, table, header, known_safe))
    meta, ours = _meta_edits(table)
    edits = Edits(remove=frozenset(rows) | meta, add={TOP: ours})
    return encode(table, provenance_edits(table, ran, edits), preamble=bytes(128))


def check(data: bytes, name: str) -> bool:
    """Both paths write the same bytes for both runs, with and without the header change;
    False when the file is not one both paths can write (no table, no SOP identity, or
    content ``dcmwrite`` or the writer refuses, as tests/core names it)."""
    try:
        table = read(data)
        probe = pydicom.dcmread(io.BytesIO(data), force=True)
    except (CoreError, Exception):
        return False
    if "SOPClassUID" not in probe or "SOPInstanceUID" not in probe:
        return False
    try:
        encode(table)
    except CoreError:
        return False
    for rows in ([], _header_rows(table)):
        for run in RUNS:
            try:
                expected = _dataset_path(data, rows, run, _known_safe)
            except Exception:
                with pytest.raises(Exception):  # noqa: B017 - both paths refuse alike
                    _table_path(data, rows, run, _known_safe)
                continue
            assert _table_path(data, rows, run, _known_safe) == expected, (name, run, rows)
    return True


@pytest.mark.parametrize(
    "path",
    bundled_test_files("*.dcm") + bundled_charset_files(),
    ids=lambda path: Path(path).name,
)
def test_bundled_file_stamped_as_edits_writes_the_dataset_paths_bytes(path: str) -> None:
    check(Path(path).read_bytes(), Path(path).name)


def test_enough_bundled_files_are_compared() -> None:
    files = bundled_test_files("*.dcm") + bundled_charset_files()
    assert sum(check(Path(path).read_bytes(), path) for path in files) >= 80


def _stamped(data: bytes) -> bytes:
    """``data`` through the Dataset path once: an output with our equipment item."""
    return _dataset_path(data, [], "full", _known_safe)


def test_corpora_stamped_as_edits_write_the_dataset_paths_bytes(tmp_path: Path) -> None:
    files = write_corpus(tmp_path / "mixed", 4)
    files += write_corpus(tmp_path / "images", 2, IMAGE_TEMPLATES, matrix=64)
    files += list(write_phi_corpus(tmp_path / "phi").values())
    files.append(private_heavy(tmp_path / "private_heavy.dcm", blocks=3, elements=40))
    for path in files:
        data = Path(path).read_bytes()
        assert check(data, Path(path).name), path
        # Stamped twice: the first stamp's equipment item stays, the second's follows it.
        twice = _stamped(_stamped(data))
        table = read(twice)
        (equipment,) = [i for i in table.children(TOP) if table.rows[i].tag == EQUIPMENT]
        assert len(list(table.children(equipment))) == 2
        assert check(twice, f"{Path(path).name} stamped twice"), path


def test_output_inventory_of_an_unedited_table_is_the_inputs() -> None:
    for path in bundled_test_files("*.dcm"):
        try:
            table = read(Path(path).read_bytes())
        except CoreError:
            continue
        assert table_inventory(table) == table_facts(table).private_blocks, path


def test_kept_private_blocks_from_the_table_match_the_datasets() -> None:
    (path,) = bundled_test_files("CT_small.dcm")
    table = read(Path(path).read_bytes())
    rows = _header_rows(table)
    dataset = dataset_of(table)
    before = input_facts(dataset).private_blocks
    _remove_from_dataset(dataset, table, rows)
    expected = kept_private_blocks(before, dataset, _known_safe)
    found = kept_private_blocks_of_table(
        table_facts(table).private_blocks, table, Edits(remove=frozenset(rows)), _known_safe
    )
    assert found == expected
    statuses = {block.status.value for block in found}
    assert statuses == {"SAFE", "MIXED", "UNSAFE"} or len(found) == len(expected) > 0
    assert any(block.removed for block in found)
