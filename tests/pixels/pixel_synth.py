"""Synthetic burned-in text on real pydicom test pixels, for the pixel-stage tests.

Text is drawn the way devices keep it legible: bright (in display terms) on the image, with
OpenCV Hershey fonts and PIL's DejaVu fonts. Datasets are built in memory; nothing is written
to disk unless a test asks.
"""

from __future__ import annotations

import copy
import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pydicom
from PIL import Image, ImageDraw, ImageFont
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.filewriter import dcmwrite
from pydicom.pixels.processing import apply_color_lut, convert_color_space
from pydicom.uid import (
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    JPEGBaseline8Bit,
)

NAME = "DOE^JANE"
MRN = "MRN 48213977"
DOB = "1962-03-15"
LINES = (NAME, MRN, DOB)

_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)


def load(name: str) -> Dataset:
    """A pydicom test file, read fresh."""
    path = get_testdata_file(name)
    assert path is not None, name
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(path)


def roundtrip(ds: Dataset) -> Dataset:
    """``ds`` written and read back (as a file would be)."""
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    buffer.seek(0)
    return pydicom.dcmread(buffer)


def with_identity(ds: Dataset) -> Dataset:
    """``ds`` with the header values the drawn text states."""
    ds.PatientName = NAME
    ds.PatientID = "48213977"
    ds.PatientBirthDate = "19620315"
    return ds


@dataclass(frozen=True)
class Placement:
    """Where and how one line is drawn."""

    text: str
    x: int
    y: int
    scale: float = 0.6
    font: str = "hershey"


def default_placements(width: int, height: int) -> list[Placement]:
    """The three identifiers in the top-left and bottom-right corners."""
    scale = 0.5 if width < 400 else 0.7
    step = int(26 * scale / 0.5)
    return [
        Placement(NAME, 8, 8 + step, scale),
        Placement(MRN, 8, 8 + 2 * step, scale),
        Placement(DOB, max(8, width - int(170 * scale / 0.5)), height - 12, scale, "pil"),
    ]


def draw_lines(image: npt.NDArray[np.uint8], placements: Sequence[Placement], value: int) -> None:
    """Draw ``placements`` in place into a 2-D uint8 mask-like image with ``value``."""
    for p in placements:
        if p.font == "pil":
            pil = Image.fromarray(image)
            font = ImageFont.truetype(_FONTS[0], size=max(10, int(28 * p.scale)))
            ImageDraw.Draw(pil).text((p.x, p.y - int(28 * p.scale)), p.text, fill=value, font=font)
            image[...] = np.asarray(pil)
        else:
            cv2.putText(
                image,
                p.text,
                (p.x, p.y),
                cv2.FONT_HERSHEY_SIMPLEX,
                p.scale,
                value,
                1,
                cv2.LINE_AA,
            )


def text_mask(rows: int, columns: int, placements: Sequence[Placement]) -> npt.NDArray[np.bool_]:
    """Where the text of ``placements`` is."""
    mask = np.zeros((rows, columns), np.uint8)
    draw_lines(mask, placements, 255)
    return mask > 64


def burn(frame: npt.NDArray[np.generic], mask: npt.NDArray[np.bool_], value: int) -> None:
    """Set the text pixels of ``frame`` (in place) to ``value``."""
    frame[mask] = value


def ct_512(signed_offset: int = 0) -> Dataset:
    """CT_small's anatomy resized to 512x512, 16-bit signed, Explicit VR Little Endian."""
    ds = load("CT_small.dcm")
    arr = ds.pixel_array.astype(np.float32)
    big = cv2.resize(arr, (512, 512), interpolation=cv2.INTER_CUBIC)
    big = np.clip(big + signed_offset, -2000, 3000).astype(np.int16)
    ds.Rows, ds.Columns = 512, 512
    ds.BitsStored, ds.HighBit = 16, 15
    ds.PixelRepresentation = 1
    ds.PixelData = big.tobytes()
    ds["PixelData"].VR = "OW"
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return with_identity(ds)


def ct_512_with_text() -> tuple[Dataset, npt.NDArray[np.bool_]]:
    """:func:`ct_512` with the identifiers burned in at the image maximum."""
    ds = ct_512()
    arr = ds.pixel_array.copy()
    mask = text_mask(512, 512, default_placements(512, 512))
    burn(arr, mask, int(arr.max()))
    ds.PixelData = arr.tobytes()
    return ds, mask


def as_big_endian(ds: Dataset) -> Dataset:
    """A little endian native dataset as Explicit VR Big Endian."""
    arr = ds.pixel_array
    out = copy.deepcopy(ds)
    out.file_meta.TransferSyntaxUID = ExplicitVRBigEndian
    out.PixelData = arr.astype(arr.dtype.newbyteorder(">")).tobytes()
    out["PixelData"].VR = "OW"
    buffer = io.BytesIO()
    # save_as refuses to switch endianness; dcmwrite does it when told the encoding.
    dcmwrite(buffer, out, implicit_vr=False, little_endian=False, enforce_file_format=True)
    buffer.seek(0)
    return pydicom.dcmread(buffer)


def as_monochrome1(ds: Dataset) -> Dataset:
    """Same display, stored as MONOCHROME1 (values inverted)."""
    arr = ds.pixel_array.astype(np.int32)
    inverted = (int(arr.max()) + int(arr.min()) - arr).astype(np.int16)
    out = copy.deepcopy(ds)
    out.PhotometricInterpretation = "MONOCHROME1"
    out.PixelData = inverted.tobytes()
    return out


#: Free spots of examples_rgb_color.dcm (an ultrasound with its own burned-in text).
US_PLACEMENTS = (
    Placement(NAME, 8, 180, 0.5),
    Placement(MRN, 8, 202, 0.5),
    Placement(DOB, 190, 205, 0.5, "pil"),
)


def rgb_with_text() -> tuple[Dataset, npt.NDArray[np.bool_]]:
    """examples_rgb_color.dcm with white identifiers burned in beside its own text."""
    ds = with_identity(load("examples_rgb_color.dcm"))
    arr = ds.pixel_array.copy()
    rows, columns = arr.shape[:2]
    mask = text_mask(rows, columns, US_PLACEMENTS)
    arr[mask] = 255
    ds.PixelData = arr.tobytes()
    ds.PlanarConfiguration = 0
    return ds, mask


def ybr_full_422_with_text() -> tuple[Dataset, npt.NDArray[np.bool_]]:
    """A native YBR_FULL_422 dataset (built from the RGB example) with identifiers."""
    ds, mask = rgb_with_text()
    ybr = convert_color_space(ds.pixel_array, "RGB", "YBR_FULL").astype(np.uint16)
    y = ybr[..., 0]
    cb = (ybr[:, 0::2, 1] + ybr[:, 1::2, 1] + 1) // 2
    cr = (ybr[:, 0::2, 2] + ybr[:, 1::2, 2] + 1) // 2
    packed = np.stack([y[:, 0::2], y[:, 1::2], cb, cr], axis=-1).astype(np.uint8)
    ds.PhotometricInterpretation = "YBR_FULL_422"
    ds.PixelData = packed.tobytes()
    return ds, mask


def palette_with_text() -> tuple[Dataset, npt.NDArray[np.bool_]]:
    """examples_palette.dcm with identifiers in its brightest palette colour."""
    ds = with_identity(load("examples_palette.dcm"))
    arr = ds.pixel_array.copy()
    values = np.arange(256, dtype=np.uint8)
    colours = np.asarray(apply_color_lut(values, ds), dtype=np.float64).reshape(256, -1)
    brightest = int(np.argmax(colours @ np.array([0.299, 0.587, 0.114])))
    rows, columns = arr.shape
    placements = [Placement(NAME, 300, 120, 0.7), Placement(MRN, 300, 150, 0.7)]
    mask = text_mask(rows, columns, placements)
    arr[mask] = brightest
    ds.PixelData = arr.tobytes()
    return ds, mask


def jpeg_baseline_frames(frames: Sequence[npt.NDArray[np.generic]], ds: Dataset) -> Dataset:
    """``ds`` re-encoded as JPEG Baseline (Pillow, 4:4:4, quality 95), YBR_FULL."""
    encoded: list[bytes] = []
    for frame in frames:
        buffer = io.BytesIO()
        Image.fromarray(np.asarray(frame, dtype=np.uint8)).save(
            buffer, format="JPEG", quality=95, subsampling=0
        )
        encoded.append(buffer.getvalue())
    ds.PixelData = encapsulate(encoded)
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    ds.PhotometricInterpretation = "YBR_FULL"
    ds.PlanarConfiguration = 0
    ds.LossyImageCompression = "01"
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    return roundtrip(ds)


def cine(frames: int = 100) -> tuple[Dataset, npt.NDArray[np.bool_]]:
    """A ``frames``-frame 16-bit cine of the CT anatomy drifting in brightness, static text."""
    ds, mask = ct_512_with_text()
    base = ds.pixel_array.astype(np.int32)
    stack = np.empty((frames, 512, 512), np.int16)
    for index in range(frames):
        frame = base.copy()
        # Anatomy changes from frame to frame; the burned-in text does not.
        frame[~mask] += (index % 7) * 3
        stack[index] = frame
    ds.NumberOfFrames = frames
    ds.PixelData = stack.tobytes()
    return ds, mask


def fonts_available() -> bool:
    """True when the DejaVu fonts PIL draws with are installed."""
    return all(Path(font).exists() for font in _FONTS)
