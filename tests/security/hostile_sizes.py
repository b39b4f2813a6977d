"""Inputs that declare or inflate to far more than they hold: a deflate bomb, huge pixel
descriptions. Built by streaming, so making them costs little memory."""

from __future__ import annotations

import zlib
from pathlib import Path

from pydicom.dataset import FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset, write_file_meta_info
from pydicom.uid import UID

from tests.security.security_files import real_file

DEFLATED = "1.2.840.10008.1.2.1.99"
CHUNK = 16 << 20


def part10_meta(dataset: object, syntax: str) -> bytes:
    """A preamble, ``DICM`` and File Meta Information naming ``syntax``, for ``dataset``."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = dataset.SOPClassUID  # type: ignore[attr-defined]
    meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID  # type: ignore[attr-defined]
    meta.TransferSyntaxUID = UID(syntax)
    meta.ImplementationClassUID = UID("1.2.826.0.1.3680043.9.7.99")
    buffer = DicomBytesIO()
    buffer.is_little_endian, buffer.is_implicit_VR = True, False
    write_file_meta_info(buffer, meta, enforce_standard=True)
    return b"\x00" * 128 + b"DICM" + buffer.getvalue()


def deflate_bomb(path: Path, inflated: int) -> Path:
    """A Deflated Explicit VR Little Endian CT whose data set inflates to about ``inflated``
    bytes, nearly all of them a Pixel Data of zeros (the file is about a thousandth of it)."""
    dataset = real_file()
    del dataset.PixelData
    pixels = inflated - inflated % (512 * 512 * 2)
    dataset.Rows, dataset.Columns, dataset.BitsAllocated = 512, 512, 16
    dataset.BitsStored, dataset.HighBit, dataset.SamplesPerPixel = 16, 15, 1
    dataset.NumberOfFrames = pixels // (512 * 512 * 2)
    header = DicomBytesIO()
    header.is_little_endian, header.is_implicit_VR = True, False
    write_dataset(header, dataset)
    element = b"\xe0\x7f\x10\x00OW\x00\x00" + pixels.to_bytes(4, "little")
    deflater = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    zeros = bytes(CHUNK)
    with open(path, "wb") as out:
        out.write(part10_meta(dataset, DEFLATED))
        out.write(deflater.compress(header.getvalue() + element))
        remaining = pixels
        while remaining:
            step = min(remaining, CHUNK)
            out.write(deflater.compress(zeros[:step]))
            remaining -= step
        out.write(deflater.flush())
    return path


def huge_description(
    path: Path,
    *,
    rows: int = 65535,
    columns: int = 65535,
    frames: str = "1000",
    syntax: str = "1.2.840.10008.1.2.1",
    modality: str = "CT",
) -> Path:
    """A CT whose pixel description declares ``rows x columns x frames`` over 64 bytes of
    pixel data (encapsulated in one fragment when ``syntax`` is compressed)."""
    dataset = real_file()
    dataset.Rows, dataset.Columns, dataset.NumberOfFrames = rows, columns, frames
    dataset.Modality = modality
    dataset.file_meta.TransferSyntaxUID = UID(syntax)
    if UID(syntax).is_compressed:
        from pydicom.encaps import encapsulate

        dataset.PixelData = encapsulate([b"\xff\xd8" + b"\x00" * 60 + b"\xff\xd9"])
        dataset["PixelData"].VR = "OB"
        dataset.PhotometricInterpretation = "YBR_FULL_422"
        dataset.SamplesPerPixel, dataset.BitsAllocated = 3, 8
        dataset.BitsStored, dataset.HighBit, dataset.PlanarConfiguration = 8, 7, 0
    else:
        dataset.PixelData = b"\x00" * 64
    path.parent.mkdir(parents=True, exist_ok=True)
    dataset.save_as(path, enforce_file_format=True)
    return path
