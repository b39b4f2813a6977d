"""Benchmark and test inputs built from pydicom's bundled test files (no network, no PHI).

:func:`write_corpus` writes ``count`` copies of a few real files, each copy a distinct patient
(name, ID, birth date) with its own study, series and instance UIDs, so no tool can profit from
one file having been seen before; :func:`private_heavy` and :func:`multiframe` build the two
synthetic files the benchmarks need. Importable as ``benchmarks.corpus`` (tests, pytest) and
as ``corpus`` (scripts run from this directory).
"""

from __future__ import annotations

import datetime
import hashlib
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import numpy as np
import pydicom
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import ExplicitVRLittleEndian

__all__ = [
    "BENCH_SECRET",
    "HEADER_ONLY",
    "HEADER_POLICIES",
    "IMAGE_TEMPLATES",
    "TEMPLATES",
    "multiframe",
    "person_name",
    "private_heavy",
    "template_path",
    "uid_for",
    "write_corpus",
]

TEMPLATES: Final = ("CT_small.dcm", "MR_small.dcm", "test-SR.dcm", "rtplan.dcm")
"""CT (with a GE private block), MR, a Comprehensive SR, an RT Plan (implicit VR)."""

HEADER_ONLY: Final = Path(__file__).resolve().parent / "policies" / "header-only.policy"
"""An overlay keeping Pixel Data as it is: composed last, the pixel stage does not run."""

HEADER_POLICIES: Final = {
    "annex-e/basic": "annex-e/basic",
    "hipaa-safe-harbor": f"hipaa-safe-harbor,{HEADER_ONLY}",
}
"""The policies of the header benchmarks, composed so that no pixel rule fires."""

BENCH_SECRET: Final = bytes.fromhex("b7" * 32)

_ROOT: Final = "2.25."


def template_path(name: str) -> Path:
    found = get_testdata_file(name)
    if not isinstance(found, str):
        raise FileNotFoundError(f"pydicom's test file {name} is not installed")
    return Path(found)


def uid_for(*parts: object) -> str:
    """A deterministic, valid UID (2.25 + a hash) for a corpus element."""
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()[:15]
    return _ROOT + str(int.from_bytes(digest, "big"))


_SYLLABLES: Final = ("KA", "LO", "MER", "VAN", "TIS", "DOR", "BEL", "RUN", "SEK", "HAL", "OS", "PR")


def _word(number: int, length: int) -> str:
    syllables = []
    for _ in range(length):
        number, digit = divmod(number, len(_SYLLABLES))
        syllables.append(_SYLLABLES[digit])
    return "".join(syllables)


def person_name(index: int) -> str:
    """A made-up, pronounceable ``FAMILY^GIVEN`` distinct for every index below 12**4."""
    family = (index * 7919 + 5003) % len(_SYLLABLES) ** 4  # a bijection: 7919 is prime
    return f"{_word(family, 4)}^{_word(index * 31 + 17, 3)}"


def _personalise(dataset: Dataset, index: int) -> None:
    birth = datetime.date(1930, 1, 1) + datetime.timedelta(days=(index * 7919) % 25000)
    dataset.PatientName = person_name(index)
    dataset.PatientID = f"MRN{1000000 + index}"
    dataset.PatientBirthDate = birth.strftime("%Y%m%d")
    dataset.StudyInstanceUID = uid_for("study", index)
    dataset.SeriesInstanceUID = uid_for("series", index)
    dataset.SOPInstanceUID = uid_for("instance", index)
    dataset.AccessionNumber = f"ACC{index:08d}"
    meta = getattr(dataset, "file_meta", None)
    if meta is not None:
        meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID


IMAGE_TEMPLATES: Final = ("CT_small.dcm", "MR_small.dcm")
"""The image corpus: the CT and the MR, their pixels tiled to a clinical matrix size."""


def write_corpus(
    root: Path,
    count: int,
    templates: Sequence[str] = TEMPLATES,
    *,
    per_directory: int = 100,
    matrix: int | None = None,
) -> list[Path]:
    """Write ``count`` files under ``root`` (``NNNN/IMxxxxxx``, cycling through ``templates``).

    Each file is a distinct patient with distinct UIDs; the templates' other values (dates,
    devices, private blocks, SR content) are kept. With ``matrix``, each image's pixels are
    tiled to ``matrix`` x ``matrix`` (512: a CT slice's 512 KiB of Pixel Data), so the files
    weigh what an archive's images weigh. Returns the paths, in order.
    """
    sources = [template_path(name).read_bytes() for name in templates]
    paths: list[Path] = []
    for index in range(count):
        dataset = pydicom.dcmread(io.BytesIO(sources[index % len(sources)]))
        _personalise(dataset, index)
        if matrix is not None:
            _tile_pixels(dataset, matrix)
        folder = root / f"{index // per_directory:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"IM{index:06d}"
        dataset.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def _tile_pixels(dataset: Dataset, matrix: int) -> None:
    """Repeat the image's pixels to ``matrix`` rows and columns (whole tiles, then cropped)."""
    pixels = dataset.pixel_array
    rows, columns = pixels.shape[-2:]
    tiled = np.tile(pixels, (-(-matrix // rows), -(-matrix // columns)))[:matrix, :matrix]
    dataset.Rows, dataset.Columns = matrix, matrix
    dataset.PixelData = np.ascontiguousarray(tiled, dtype=pixels.dtype).tobytes()


def private_heavy(path: Path, *, blocks: int = 8, elements: int = 120) -> Path:
    """CT_small with ``blocks`` extra vendor blocks of ``elements`` private elements each
    (text, numbers, bytes and a private sequence), on top of its own GE block."""
    dataset = pydicom.dcmread(template_path("CT_small.dcm"))
    _personalise(dataset, 4242)
    for block_index in range(blocks):
        group = 0x0009 + 2 * block_index
        block = dataset.private_block(group, f"VENDOR {block_index} PRIVATE", create=True)
        for offset in range(min(elements, 0xF0)):
            kind = offset % 4
            if kind == 0:
                block.add_new(offset, "LO", f"VENDOR VALUE {block_index}-{offset}")
            elif kind == 1:
                block.add_new(offset, "DS", f"{offset}.5")
            elif kind == 2:
                block.add_new(offset, "OB", bytes(range(offset % 200)))
            else:
                item = Dataset()
                item.PatientName = "NESTED^PERSON"
                item.ImageComments = f"nested {offset}"
                block.add_new(offset, "SQ", DicomSequence([item]))
    dataset.save_as(path, enforce_file_format=True)
    return path


def multiframe(path: Path, *, frames: int = 64, rows: int = 512, columns: int = 512) -> Path:
    """An uncompressed 16-bit multi-frame MR-like image of ``frames`` x ``rows`` x ``columns``
    (64 frames of 512 x 512: 32 MiB of pixel data)."""
    dataset = pydicom.dcmread(template_path("MR_small.dcm"))
    _personalise(dataset, 777)
    dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset.Rows, dataset.Columns = rows, columns
    dataset.NumberOfFrames = frames
    dataset.SamplesPerPixel = 1
    dataset.BitsAllocated, dataset.BitsStored, dataset.HighBit = 16, 12, 11
    dataset.PixelRepresentation = 0
    generator = np.random.default_rng(7)
    pixels = generator.integers(0, 4096, size=(frames, rows, columns), dtype=np.uint16)
    dataset.PixelData = pixels.tobytes()
    dataset["PixelData"].VR = "OW"
    dataset.save_as(path, enforce_file_format=True)
    return path
