"""The verifier judges the bytes that are written, read back, not the engine's dataset.

Each fault here is planted in the ENCODER, after every in-memory stage: the engine's dataset
stays clean and only the bytes differ from it. A verifier that read the engine's dataset would
pass these files and write them (the earlier design did: each test below fails on it); reading
the encoded bytes back, the pipeline quarantines each with its precise reason and writes
nothing.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import pydicom
import pytest
from pydicom.dataset import Dataset

import deidengine.dicom.encode as encode
import deidengine.dicom.storage as storage
import deidengine.provenance as provenance
import deidengine.run.lean_path as lean_path
import deidengine.run.pipeline as pipeline
import deidengine.verify.written as written
from deidengine.api import QuarantinedError, Session, load_policy, load_secret
from deidengine.core.table import ElementTable
from deidengine.core.writer import Edits
from deidengine.core.writer import encode as encode_table
from deidengine.dicom.elements import copy_as_read
from deidengine.run.outcome import REASON_TEXT, Outcome, Reason, Status
from deidengine.run.pipeline import FileProcessor, RunSettings
from tests.phi_corpus import JANE, write_corpus

SECRET = bytes.fromhex("9f" * 32)
Writer = Callable[[Dataset, BinaryIO], None]


def _processor(
    tmp_path: Path, policy: str = "annex-e/basic", encrypt_to: Path | None = None
) -> FileProcessor:
    out, quarantine = str(tmp_path / "out"), str(tmp_path / "quarantine")
    broker = str(encrypt_to) if encrypt_to is not None else None
    return FileProcessor(RunSettings(policy, SECRET, out, quarantine, encrypt_to=broker))


@pytest.fixture()
def jane_ct(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "in")["jane-ct"]


def _files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def _why_quarantined(tmp_path: Path, outcome: Outcome, reason: Reason) -> str:
    """The detail after ``reason``'s fixed wording, having checked that the file went to the
    quarantine for ``reason`` and that nothing reached the output."""
    assert (outcome.status, outcome.reason) == (Status.QUARANTINED, reason), outcome.detail
    assert _files(tmp_path / "out") == []
    wording = f"{REASON_TEXT[reason]} ("
    assert outcome.detail is not None and outcome.detail.startswith(wording), outcome.detail
    assert outcome.detail.endswith(")")
    return outcome.detail[len(wording) : -1]


def _install_encoder(monkeypatch: pytest.MonkeyPatch, writer: Writer) -> None:
    """``writer`` in place of the engine's encoder, wherever the engine calls it from (the
    lean path's table encoder too: its bytes, read into a dataset, go through ``writer``)."""
    monkeypatch.setattr(encode, "write_file", writer)
    monkeypatch.setattr(storage, "write_file", writer)

    def through_writer(table: ElementTable, edits: Edits, *, preamble: bytes) -> bytes:
        stream = io.BytesIO()
        writer(pydicom.dcmread(io.BytesIO(encode_table(table, edits, preamble=preamble))), stream)
        return stream.getvalue()

    monkeypatch.setattr(lean_path, "encode", through_writer)


def _faulty(change: Callable[[Dataset], None]) -> Writer:
    """An encoder that writes ``change``d copy of the dataset it is given (the engine's own
    dataset is left as it was: only the bytes differ)."""
    real = encode.write_file

    def write(dataset: Dataset, stream: BinaryIO) -> None:
        copy = copy_as_read(dataset)
        copy.file_meta = dataset.file_meta
        change(copy)
        real(copy, stream)

    return write


def _reintroduce_name(dataset: Dataset) -> None:
    dataset.PatientName = JANE.name


def _drop_sop_instance(dataset: Dataset) -> None:
    del dataset.SOPInstanceUID


def test_a_name_the_encoder_reintroduces_is_found_in_the_bytes(
    tmp_path: Path, jane_ct: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_encoder(monkeypatch, _faulty(_reintroduce_name))
    outcome = _processor(tmp_path).process(str(jane_ct))
    # The input's own value, and a name the free-text scan finds.
    where = "at (0010,0010), (0010,0010) (name)"
    assert _why_quarantined(tmp_path, outcome, Reason.LEAK_DETECTED) == where


def test_a_sop_instance_uid_the_encoder_drops_is_missed_in_the_bytes(
    tmp_path: Path, jane_ct: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_encoder(monkeypatch, _faulty(_drop_sop_instance))
    outcome = _processor(tmp_path).process(str(jane_ct))
    detail = _why_quarantined(tmp_path, outcome, Reason.UNREADABLE_OUTPUT)
    assert detail == "no SOPInstanceUID (0008,0018)"


def test_bytes_cut_short_by_the_encoder_do_not_read_back(
    tmp_path: Path, jane_ct: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = encode.write_file

    def truncating(dataset: Dataset, stream: BinaryIO) -> None:
        whole = io.BytesIO()
        real(dataset, whole)
        stream.write(whole.getvalue()[:-100])  # pydicom alone reads this without a word

    _install_encoder(monkeypatch, truncating)
    outcome = _processor(tmp_path).process(str(jane_ct))
    detail = _why_quarantined(tmp_path, outcome, Reason.UNREADABLE_OUTPUT)
    assert detail.startswith("the lean reader: [truncated] stream ends inside ")


def test_an_encoder_that_fails_quarantines_the_file(
    tmp_path: Path, jane_ct: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(dataset: Dataset, stream: BinaryIO) -> None:
        raise ValueError("cannot encode")

    _install_encoder(monkeypatch, failing)
    outcome = _processor(tmp_path).process(str(jane_ct))
    assert _why_quarantined(tmp_path, outcome, Reason.ENCODING_FAILED) == "ValueError"
    assert len(_files(tmp_path / "quarantine")) == 2  # the input's copy and its reason


@pytest.fixture()
def verified(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bytes]]:
    """Every buffer the verifier reads back, in order."""
    seen: list[bytes] = []
    real = written.read_written

    def spy(data: bytes, transfer_syntax: str) -> Dataset:
        seen.append(data)
        return real(data, transfer_syntax)

    monkeypatch.setattr(pipeline, "read_written", spy)
    yield seen


@pytest.fixture()
def encodings(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """One entry per dataset the engine encodes; pydicom's dcmwrite must not run at all."""
    calls: list[int] = []
    real = encode.write_file

    def counting(dataset: Dataset, stream: BinaryIO) -> None:
        calls.append(1)
        real(dataset, stream)

    def forbidden(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a second encoding")

    _install_encoder(monkeypatch, counting)
    monkeypatch.setattr(pydicom, "dcmwrite", forbidden)
    yield calls


def test_the_bytes_on_disk_are_the_bytes_the_verifier_read(
    tmp_path: Path, jane_ct: Path, verified: list[bytes], encodings: list[int]
) -> None:
    outcome = _processor(tmp_path, "research-longitudinal").process(str(jane_ct))
    assert outcome.status is Status.WRITTEN, outcome.detail
    assert outcome.output is not None
    assert len(verified) == len(encodings) == 1
    assert (tmp_path / "out" / outcome.output).read_bytes() == verified[0]


def test_the_honest_broker_envelope_is_in_the_verified_bytes(
    tmp_path: Path, jane_ct: Path, verified: list[bytes], encodings: list[int]
) -> None:
    from tests.provenance.recipients import make_recipient

    certificate = tmp_path / "broker.pem"
    certificate.write_bytes(make_recipient("broker").cert_pem)
    processor = _processor(tmp_path, "hipaa-safe-harbor", encrypt_to=certificate)
    outcome = processor.process(str(jane_ct))
    assert outcome.status is Status.WRITTEN, outcome.detail
    assert outcome.output is not None
    on_disk = (tmp_path / "out" / outcome.output).read_bytes()
    assert on_disk == verified[0] and len(encodings) == 1
    envelopes = pydicom.dcmread(io.BytesIO(on_disk)).EncryptedAttributesSequence
    assert [sorted(int(e.tag) for e in item) for item in envelopes] == [[0x04000510, 0x04000520]]


def test_anything_beside_the_envelope_is_a_leak(
    tmp_path: Path, jane_ct: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The envelope's ciphertext is set aside as opaque; clear text beside it is not."""
    from tests.provenance.recipients import make_recipient

    real = provenance.protect_original_attributes

    def protect_and_spill(before: Dataset, after: Dataset, certificate: bytes) -> None:
        real(before, after, certificate)
        after.EncryptedAttributesSequence[-1].PatientName = JANE.name

    monkeypatch.setattr(pipeline, "protect_original_attributes", protect_and_spill)
    certificate = tmp_path / "broker.pem"
    certificate.write_bytes(make_recipient("broker").cert_pem)
    processor = _processor(tmp_path, "hipaa-safe-harbor", encrypt_to=certificate)
    outcome = processor.process(str(jane_ct))
    detail = _why_quarantined(tmp_path, outcome, Reason.LEAK_DETECTED)
    assert detail == "beside the envelope at (0400,0500)[0].(0010,0010)"


def test_the_api_gets_the_same_guarantee(
    tmp_path: Path, jane_ct: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_encoder(monkeypatch, _faulty(_reintroduce_name))
    session = Session(load_policy("annex-e/basic"), load_secret(SECRET))
    with pytest.raises(QuarantinedError) as raised:
        session.deidentify(pydicom.dcmread(jane_ct))
    assert raised.value.reason is Reason.LEAK_DETECTED
    outcome = session.deidentify_file(jane_ct, tmp_path / "api.dcm")
    assert (outcome.status, outcome.reason) == (Status.QUARANTINED, Reason.LEAK_DETECTED)
    assert not (tmp_path / "api.dcm").exists()
