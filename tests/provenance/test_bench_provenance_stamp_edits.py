"""Benchmarks: stamping and encoding a file from its element table against the Dataset path.

Run with ``pytest tests/provenance/test_bench_provenance_stamp_edits.py --benchmark-enable``;
with the project's default ``--benchmark-disable`` each runs once as a plain test. Nothing
asserts a time: the two ways share a group per corpus, so their ratio is read from one run.
One round stamps and encodes every file of the corpus: the Dataset path finds the kept private
blocks on the dataset, stamps it, replaces its File Meta Information and encodes it
(:func:`~deidengine.dicom.encode.encode_file`); the table path finds the blocks from the table,
adds the stamp and the meta policy as edits and encodes the table
(:func:`~deidengine.core.writer.encode`). Both start from the same inventory of the input.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from deidengine.core.dataset_view import dataset_of
from deidengine.core.reader import read
from deidengine.core.table import TOP, ElementTable
from deidengine.core.writer import Edits, encode
from deidengine.dicom.encode import encode_file
from deidengine.dicom.facts import table_facts
from deidengine.dicom.private_blocks import PrivateInventory
from deidengine.provenance.stamp import WhatRan, kept_private_blocks, stamp_provenance
from deidengine.provenance.stamp_edits import kept_private_blocks_of_table, provenance_edits
from deidengine.run.pipeline import _new_file_meta
from tests.bench_corpora import CORPORA
from tests.provenance.test_provenance_stamp_edits import _known_safe, _meta_edits, _ran

#: (table, the dataset built from it, the input's private blocks) for each file.
File = tuple[ElementTable, Any, PrivateInventory]


def _as_read(corpus: list[bytes]) -> tuple[tuple[list[File]], dict[str, Any]]:
    files: list[File] = []
    for data in corpus:
        table = read(data)
        files.append((table, dataset_of(table), table_facts(table).private_blocks))
    return (files,), {}


def _dataset_path(file: File) -> bytes:
    _table, dataset, before = file
    ran: WhatRan = _ran("full", kept_private_blocks(before, dataset, _known_safe))
    stamp_provenance(dataset, ran)
    dataset.file_meta = _new_file_meta(dataset, str(dataset.file_meta.TransferSyntaxUID))
    dataset.preamble = None
    return encode_file(dataset)


def _table_path(file: File) -> bytes:
    table, _dataset, before = file
    ran = _ran("full", kept_private_blocks_of_table(before, table, Edits(), _known_safe))
    meta, ours = _meta_edits(table)
    edits = provenance_edits(table, ran, Edits(remove=meta, add={TOP: ours}))
    return encode(table, edits, preamble=bytes(128))


PATHS: dict[str, Callable[[File], bytes]] = {"dataset": _dataset_path, "table": _table_path}


@pytest.mark.parametrize("corpus", CORPORA)
@pytest.mark.parametrize("path", PATHS)
def test_bench_stamp_and_encode(
    benchmark: Any, bench_corpora: dict[str, list[bytes]], corpus: str, path: str
) -> None:
    benchmark.group = f"stamp and encode {corpus} ({len(bench_corpora[corpus])} files)"
    written = benchmark.pedantic(
        lambda files: [PATHS[path](file) for file in files],
        setup=lambda: _as_read(bench_corpora[corpus]),
        rounds=20,
    )
    # The same bytes either way (these corpora hold no element the blocks' walk would convert
    # into another VR; tests/provenance/test_provenance_stamp_edits.py says when it would).
    assert written == [_table_path(file) for file in _as_read(bench_corpora[corpus])[0][0]]
