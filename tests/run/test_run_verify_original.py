"""The verifier compares each output with its input's element table: the lean reader's, or for
an input only pydicom reads (over 4 MiB), pydicom's reading written out
(verify/table_view.table_of_dataset)."""

from __future__ import annotations

import io
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset

import deidengine.run.lean_path as lean_path
import deidengine.run.pipeline as pipeline
from benchmarks.corpus import multiframe
from deidengine.core.table import ElementTable
from deidengine.core.writer import Edits
from deidengine.core.writer import encode as write_table
from deidengine.dicom.reading import read_file
from deidengine.run.outcome import Reason, Status
from deidengine.run.pipeline import FileProcessor, RunSettings
from tests.pydicom_files import bundled_test_files

SECRET = bytes.fromhex("61" * 32)
#: Under 2.25, so right by form; not the keyed remap of the input's Study Instance UID.
FOREIGN_UID = "2.25.123456789"


@pytest.mark.parametrize("lean", [True, False])
def test_a_foreign_uid_is_told_from_the_keyed_remap_of_the_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lean: bool
) -> None:
    if lean:
        (source,) = bundled_test_files("CT_small.dcm")
    else:  # 4.5 MiB of frames: read by pydicom alone
        source = str(multiframe(tmp_path / "frames.dcm", frames=9))
    assert (read_file(source).table is not None) is lean
    settings = RunSettings("annex-e/basic", SECRET, str(tmp_path / "out"), str(tmp_path / "q"))
    processor = FileProcessor(settings)
    clean = processor.process(source)
    assert clean.status is Status.WRITTEN, clean
    real = pipeline._encode

    def encode(dataset: Dataset) -> bytes:
        dataset.StudyInstanceUID = FOREIGN_UID
        return real(dataset)

    monkeypatch.setattr(pipeline, "_encode", encode)

    def encode_table(table: ElementTable, edits: Edits, *, preamble: bytes) -> bytes:
        # The lean path's encoder (an input with a table takes it): the same fault.
        return encode(pydicom.dcmread(io.BytesIO(write_table(table, edits, preamble=preamble))))

    monkeypatch.setattr(lean_path, "encode", encode_table)
    outcome = FileProcessor(settings).process(source)
    # Only a comparison with the input tells (V105): by form the UID would pass.
    assert outcome.reason is Reason.NONCONFORMANT
    assert outcome.detail is not None and "V105 at (0020,000D)" in outcome.detail
