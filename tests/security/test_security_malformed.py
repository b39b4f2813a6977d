"""Item 12 of #14, one defect at a time: each malformed input gets its precise reason.

Every file is a real CT (:func:`~tests.security.security_files.real_file`) with one defect
made in its bytes, the way damage is found in the wild: a VR byte flipped, a meta that names
the wrong transfer syntax, a pixel description that cannot be true.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest

from deidengine.run.diagnose import diagnose_input
from deidengine.run.outcome import Reason, Status
from deidengine.run.pipeline import FileProcessor, RunSettings
from tests.security.hostile_sizes import huge_description, part10_meta
from tests.security.mutants import Seed, load_seed
from tests.security.security_files import holds_marker, real_file

SECRET = bytes.fromhex("1e" * 32)


@pytest.fixture(scope="module")
def seed() -> Seed:
    stream = io.BytesIO()
    real_file().save_as(stream, enforce_file_format=True)
    return load_seed(stream.getvalue())


def _element(seed: Seed, tag: int) -> tuple[int, int, bytes]:
    for start, value, vr in seed.elements:
        if struct.unpack("<HH", seed.data[start : start + 4]) == (tag >> 16, tag & 0xFFFF):
            return start, value, vr
    raise AssertionError(f"{tag:08X} not in the seed")


def _with_vr(seed: Seed, tag: int, vr: bytes) -> bytes:
    start, _value, _vr = _element(seed, tag)
    data = bytearray(seed.data)
    data[start + 4 : start + 6] = vr
    return bytes(data)


def _under_syntax(seed: Seed, syntax: str) -> bytes:
    return part10_meta(seed.dataset, syntax) + seed.data[seed.body :]


def _process(tmp_path: Path, data: bytes) -> tuple[Status, Reason | None, str]:
    path = tmp_path / "in.dcm"
    path.write_bytes(data)
    outcome = FileProcessor(
        RunSettings("hipaa-safe-harbor", SECRET, str(tmp_path / "out"), str(tmp_path / "q"))
    ).process(str(path))
    assert holds_marker((outcome.detail or "").encode()) is None
    return outcome.status, outcome.reason, outcome.detail or ""


@pytest.mark.parametrize(
    ("vr", "said"),
    [(b"XX", "written as XX, PS3.6 gives PN"), (b"US", "written as US, PS3.6 gives PN")],
)
def test_a_name_with_another_vr_is_invalid_vr(
    tmp_path: Path, seed: Seed, vr: bytes, said: str
) -> None:
    """A name stated as US would be cleaned as a number (kept): refused on reading."""
    status, reason, detail = _process(tmp_path, _with_vr(seed, 0x00100010, vr))
    assert (status, reason) == (Status.QUARANTINED, Reason.INVALID_VR)
    assert f"(0010,0010) {said}" in detail


def test_a_vr_of_the_same_kind_is_accepted(tmp_path: Path, seed: Seed) -> None:
    """Writers differ within a kind (FD for DS): nothing the policy does changes."""
    status, reason, _ = _process(tmp_path, _with_vr(seed, 0x00280030, b"FD"))
    assert (status, reason) == (Status.WRITTEN, None)


@pytest.mark.parametrize(
    ("syntax", "detail"),
    [
        ("1.2.840.10008.1.2.1.99", "the data set is not deflated"),
        ("1.2.840.10008.1.2", "explicit VR data under 1.2.840.10008.1.2"),
        ("1.2.840.10008.1.2.2", "the first element's group reads right only in the other"),
    ],
)
def test_a_meta_naming_the_wrong_syntax_is_a_mismatch(
    tmp_path: Path, seed: Seed, syntax: str, detail: str
) -> None:
    status, reason, said = _process(tmp_path, _under_syntax(seed, syntax))
    assert (status, reason) == (Status.QUARANTINED, Reason.TRANSFER_SYNTAX_MISMATCH)
    assert detail in said


def test_a_code_string_holding_control_bytes_is_invalid_value(tmp_path: Path, seed: Seed) -> None:
    """What a length that ran on leaves in a kept Code String: bytes of the next elements."""
    _start, value, _vr = _element(seed, 0x00280004)  # Photometric Interpretation, kept
    data = bytearray(seed.data)
    (length,) = struct.unpack("<H", data[value - 2 : value])
    data[value : value + length] = b"MONO\x00\x10\x00LO\x10\x00"[:length].ljust(length, b" ")
    status, reason, detail = _process(tmp_path, bytes(data))
    assert (status, reason) == (Status.QUARANTINED, Reason.INVALID_VALUE)
    assert "(0028,0004): a CS that is not ASCII text" in detail


def test_a_code_string_too_long_is_invalid_length(tmp_path: Path) -> None:
    dataset = real_file()
    dataset.add_new(0x00280004, "CS", "MONOCHROME2 QUIRINUS HELOISE")
    stream = io.BytesIO()
    dataset.save_as(stream, enforce_file_format=True)
    status, reason, detail = _process(tmp_path, stream.getvalue())
    assert (status, reason) == (Status.QUARANTINED, Reason.INVALID_LENGTH)
    assert "(0028,0004): a CS longer than 16" in detail


@pytest.mark.parametrize("frames", ["1.5", "2147483648"])
def test_an_impossible_frame_count_is_inconsistent_pixel_data(tmp_path: Path, frames: str) -> None:
    path = huge_description(tmp_path / "f.dcm", rows=16, columns=16, frames=frames)
    status, reason, detail = _process(tmp_path, path.read_bytes())
    assert (status, reason) == (Status.QUARANTINED, Reason.INCONSISTENT_PIXEL_DATA)
    assert detail.endswith("(NumberOfFrames is not a positive integer)")


def test_a_well_formed_file_has_no_diagnosis(tmp_path: Path, seed: Seed) -> None:
    """So a failure on it would be the engine's own, reported as internal-error."""
    path = tmp_path / "clean.dcm"
    path.write_bytes(seed.data)
    assert diagnose_input(str(path)) is None
