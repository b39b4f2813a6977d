"""Frames in and out of a dataset's Pixel Data, per transfer syntax.

Reading decodes one frame at a time (a 1,000-frame cine never sits in memory twice); colour
frames come out as RGB whatever the stored photometric interpretation (pydicom's ``as_rgb``).

Writing puts edited frames back under one rule: **never add loss**.

- A syntax with a lossless encoder (native, deflated, RLE, JPEG-LS lossless, JPEG 2000 lossless,
  JPEG 2000 holding reversible 5/3 data) is re-encoded in the same syntax. Encapsulated frames
  that were not edited keep their original bytes; native frames are patched in place.
- A lossy source (JPEG baseline/extended, JPEG-LS near-lossless, irreversible JPEG 2000, or any
  dataset already marked Lossy Image Compression "01") and a lossless syntax without an encoder
  (JPEG lossless process 14, HTJ2K) are written in a lossless fallback syntax (:data:`FALLBACK`).
  The dataset keeps Lossy Image Compression "01" and its method, and the caller receives a
  :class:`WriteOutcome` saying what happened, so provenance records it.

The helper :func:`to_grey8` turns any decoded frame into an 8-bit grey image for detection.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import cv2
import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate, generate_frames
from pydicom.pixels.decoders.base import get_decoder
from pydicom.pixels.encoders.base import Encoder, get_encoder
from pydicom.pixels.processing import apply_color_lut
from pydicom.pixels.utils import as_pixel_options, get_nr_frames, pack_bits
from pydicom.uid import (
    HTJ2K,
    JPEG2000,
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    HTJ2KLossless,
    HTJ2KLosslessRPCL,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)

from deidengine.errors import DeidError, EngineCode

__all__ = [
    "FALLBACK",
    "Frame",
    "FrameSource",
    "PixelCodecError",
    "SyntaxRule",
    "WriteOutcome",
    "colour_channels",
    "detection_views",
    "is_lossy_source",
    "read_frames",
    "syntax_rule",
    "to_grey8",
    "write_frames",
]

Frame = npt.NDArray[np.generic]
Grey8 = npt.NDArray[np.uint8]


class PixelCodecError(DeidError):
    """Pixel data that cannot be decoded or re-encoded without loss. Messages carry no values."""

    code = EngineCode.UNDECODABLE_PIXEL_DATA


@dataclass(frozen=True)
class SyntaxRule:
    """How the engine treats one transfer syntax.

    ``lossy``: the syntax may carry lossy data (for JPEG 2000 the codestream decides).
    ``native``: Pixel Data is not encapsulated. ``big_endian``: native bytes are big endian.
    ``reencode_as``: the syntax that edited lossless content of this syntax is written in
    (itself where pydicom has a lossless encoder for it), or ``""`` for the fallback.
    ``method``: the Lossy Image Compression Method (0028,2114) code for a lossy source.
    """

    lossy: bool
    native: bool
    reencode_as: str
    big_endian: bool = False
    method: str = ""


def _native(uid: str, big_endian: bool = False) -> SyntaxRule:
    return SyntaxRule(lossy=False, native=True, reencode_as=uid, big_endian=big_endian)


def _lossless(uid: str) -> SyntaxRule:
    return SyntaxRule(lossy=False, native=False, reencode_as=uid)


def _lossy(method: str, reencode_as: str = "") -> SyntaxRule:
    return SyntaxRule(lossy=True, native=False, reencode_as=reencode_as, method=method)


#: Every transfer syntax the pixel stage accepts; anything else is refused, not guessed.
_RULES: Final[dict[str, SyntaxRule]] = {
    ImplicitVRLittleEndian: _native(ImplicitVRLittleEndian),
    ExplicitVRLittleEndian: _native(ExplicitVRLittleEndian),
    DeflatedExplicitVRLittleEndian: _native(DeflatedExplicitVRLittleEndian),
    ExplicitVRBigEndian: _native(ExplicitVRBigEndian, big_endian=True),
    RLELossless: _lossless(RLELossless),
    JPEGBaseline8Bit: _lossy("ISO_10918_1"),
    JPEGExtended12Bit: _lossy("ISO_10918_1"),
    # Lossless, but pydicom has no encoder for process 14 or HTJ2K: the fallback is used.
    JPEGLossless: _lossless(""),
    JPEGLosslessSV1: _lossless(""),
    HTJ2KLossless: _lossless(""),
    HTJ2KLosslessRPCL: _lossless(""),
    JPEGLSLossless: _lossless(JPEGLSLossless),
    JPEGLSNearLossless: _lossy("ISO_14495_1"),
    JPEG2000Lossless: _lossless(JPEG2000Lossless),
    # Reversible (5/3) codestreams are lossless content, but pydicom encodes this syntax only
    # with a lossy target; the lossless-only JPEG 2000 syntax holds them without loss.
    JPEG2000: _lossy("ISO_15444_1", reencode_as=JPEG2000Lossless),
    HTJ2K: _lossy("ISO_15444_15"),
}

#: Lossless syntaxes for data that cannot go back into its own syntax, in order of preference:
#: RLE keeps files small where the fast encoder exists; native always works.
FALLBACK: Final = (RLELossless, ExplicitVRLittleEndian)

#: Encoder plugins chosen over pydicom's defaults: its pure-Python RLE is ~8x slower.
_PREFERRED_PLUGIN: Final[dict[str, str]] = {RLELossless: "pylibjpeg"}

#: Photometric interpretations that pydicom decodes to RGB (``as_rgb=True``).
_DECODED_PHOTOMETRIC: Final[dict[str, str]] = {
    "YBR_FULL": "RGB",
    "YBR_FULL_422": "RGB",
    "YBR_ICT": "RGB",
    "YBR_RCT": "RGB",
    "YBR_PARTIAL_420": "RGB",
}

#: Photometric interpretation to declare when RGB is encoded with a colour transform.
_ENCODED_PHOTOMETRIC: Final[dict[tuple[str, str], str]] = {
    (JPEG2000Lossless, "YBR_RCT"): "YBR_RCT",
    (JPEG2000, "YBR_RCT"): "YBR_RCT",
}

_NATIVE_DTYPES: Final[dict[tuple[int, int], str]] = {
    (8, 0): "u1",
    (8, 1): "i1",
    (16, 0): "u2",
    (16, 1): "i2",
    (32, 0): "u4",
    (32, 1): "i4",
}


def syntax_rule(transfer_syntax: str) -> SyntaxRule:
    """The rule for ``transfer_syntax``; :class:`PixelCodecError` when it is not supported."""
    try:
        return _RULES[transfer_syntax]
    except KeyError:
        raise PixelCodecError(f"unsupported transfer syntax {transfer_syntax}") from None


def _transfer_syntax(ds: Dataset) -> UID:
    file_meta = getattr(ds, "file_meta", None)
    uid = getattr(file_meta, "TransferSyntaxUID", None) if file_meta is not None else None
    if uid is None:
        raise PixelCodecError("dataset has no Transfer Syntax UID")
    return UID(str(uid))


def _j2k_reversible(codestream: bytes) -> bool:
    """True when the codestream uses the reversible 5/3 wavelet (read from its COD marker)."""
    # The COD marker (FF52) sits in the main header; its SPcod "transformation" byte is
    # 1 for the reversible 5/3 filter. A JP2 wrapper puts the codestream further in.
    position = codestream.find(b"\xff\x52")
    if position < 0 or position + 14 > len(codestream):
        return False
    (length,) = struct.unpack(">H", codestream[position + 2 : position + 4])
    if length < 12:
        return False
    return codestream[position + 13] == 1


def is_lossy_source(ds: Dataset) -> bool:
    """True when the pixel data is, or once was, lossy compressed."""
    if str(ds.get("LossyImageCompression", "")).strip() == "01":
        return True
    uid = _transfer_syntax(ds)
    rule = syntax_rule(uid)
    if not rule.lossy:
        return False
    if uid == JPEG2000:
        first = next(generate_frames(ds.PixelData, number_of_frames=get_nr_frames(ds)), b"")
        return not _j2k_reversible(first)
    return True


@dataclass(frozen=True)
class FrameSource:
    """Lazily decoded frames of one dataset; ``len`` is the number of frames.

    ``photometric`` is the interpretation of the decoded arrays (YBR data arrives as RGB).
    """

    # The dataset holds the header: it stays out of the repr.
    dataset: Dataset = field(repr=False)
    transfer_syntax: UID
    number_of_frames: int
    rows: int
    columns: int
    samples_per_pixel: int
    photometric: str
    stored_photometric: str

    def __len__(self) -> int:
        return self.number_of_frames

    def frame(self, index: int) -> Frame:
        """Decode frame ``index`` (0-based)."""
        if not 0 <= index < self.number_of_frames:
            raise IndexError("frame index out of range")
        try:
            array, _ = get_decoder(self.transfer_syntax).as_array(self.dataset, index=index)
        except Exception as exc:  # pydicom/plugin errors vary; the message may quote values
            raise PixelCodecError(f"cannot decode frame {index} ({type(exc).__name__})") from None
        if not array.dtype.isnative:
            # Big endian data decodes to big endian dtypes; OpenCV and arithmetic want native.
            array = array.astype(array.dtype.newbyteorder("="))
        return array

    def __iter__(self) -> Iterator[Frame]:
        for index in range(self.number_of_frames):
            yield self.frame(index)


def read_frames(ds: Dataset) -> FrameSource:
    """A :class:`FrameSource` over ``ds``'s Pixel Data (nothing is decoded yet)."""
    if "PixelData" not in ds:
        raise PixelCodecError("dataset has no Pixel Data")
    uid = _transfer_syntax(ds)
    syntax_rule(uid)
    stored = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip()
    return FrameSource(
        dataset=ds,
        transfer_syntax=uid,
        number_of_frames=get_nr_frames(ds, warn=False),
        rows=int(ds.Rows),
        columns=int(ds.Columns),
        samples_per_pixel=int(ds.get("SamplesPerPixel", 1)),
        photometric=_DECODED_PHOTOMETRIC.get(stored, stored),
        stored_photometric=stored,
    )


@dataclass(frozen=True)
class WriteOutcome:
    """What :func:`write_frames` did, for the caller's provenance record."""

    transfer_syntax_in: str
    transfer_syntax_out: str
    lossy_source: bool
    frames_reencoded: int
    frames_kept: int
    photometric_in: str
    photometric_out: str
    notes: tuple[str, ...]

    @property
    def syntax_changed(self) -> bool:
        """True when the output is in a different transfer syntax from the input."""
        return self.transfer_syntax_in != self.transfer_syntax_out


def _fallback_syntax(ds: Dataset) -> UID:
    for uid in FALLBACK:
        if syntax_rule(uid).native or get_encoder(uid).is_available:
            return UID(uid)
    return ExplicitVRLittleEndian  # pragma: no cover - the loop always ends on native


def _output_syntax(ds: Dataset, source: FrameSource, lossy_source: bool) -> UID:
    rule = syntax_rule(source.transfer_syntax)
    if rule.native:
        return source.transfer_syntax
    if lossy_source or not rule.reencode_as:
        return _fallback_syntax(ds)
    target = UID(rule.reencode_as)
    if not get_encoder(target).is_available:
        return _fallback_syntax(ds)
    return target


def _native_dtype(ds: Dataset, big_endian: bool) -> np.dtype[np.generic]:
    key = (int(ds.BitsAllocated), int(ds.get("PixelRepresentation", 0)))
    try:
        code = _NATIVE_DTYPES[key]
    except KeyError:
        raise PixelCodecError(f"cannot write {key[0]}-bit native pixel data") from None
    return np.dtype((">" if big_endian else "<") + code)


def _frame_for(source: FrameSource, edited: Mapping[int, Frame], index: int) -> Frame:
    frame = edited.get(index)
    return source.frame(index) if frame is None else frame


def _write_native(
    ds: Dataset, source: FrameSource, edited: Mapping[int, Frame], rewrite_all: bool, uid: str
) -> int:
    """Write native Pixel Data in ``uid``; returns the number of frames written from arrays."""
    rule = syntax_rule(uid)
    bits = int(ds.BitsAllocated)
    if bits == 1:
        # 1-bit frames are not byte aligned: the whole plane is packed again.
        frames = [_frame_for(source, edited, i) for i in range(len(source))]
        ds.PixelData = pack_bits(np.stack(frames).astype(np.uint8))
        return len(frames)
    dtype = _native_dtype(ds, rule.big_endian)
    # Big endian 8-bit data stored as OW is byte-swapped in 16-bit words; rewriting it all
    # as OB is simpler than patching in that layout.
    if not rewrite_all and not rule.big_endian:
        frame_bytes = source.rows * source.columns * source.samples_per_pixel * dtype.itemsize
        buffer = bytearray(ds.PixelData)
        for index, frame in edited.items():
            start = index * frame_bytes
            buffer[start : start + frame_bytes] = np.ascontiguousarray(frame, dtype=dtype).tobytes()
        ds.PixelData = bytes(buffer)
        return len(edited)
    parts = [
        np.ascontiguousarray(_frame_for(source, edited, i), dtype=dtype).tobytes()
        for i in range(len(source))
    ]
    data = b"".join(parts)
    ds.PixelData = data + b"\x00" * (len(data) % 2)
    element = ds["PixelData"]
    element.VR = "OB" if bits <= 8 else "OW"
    element.is_undefined_length = False
    return len(parts)


def _encode(encoder: Encoder, frame: Frame, plugin: str, options: dict[str, Any]) -> bytes | None:
    # The preferred plugin may not cover every case; any available plugin will do, since
    # every encoder used here is lossless.
    for candidate in dict.fromkeys((plugin, "")):
        try:
            return encoder.encode(frame, encoding_plugin=candidate, **options)
        except Exception:  # plugin errors vary and their messages may quote values
            continue
    return None


def _encode_frames(
    ds: Dataset,
    source: FrameSource,
    edited: Mapping[int, Frame],
    uid: UID,
    photometric: str,
    keep_unedited: bool,
) -> list[bytes] | None:
    """The encapsulated frames in ``uid``, or ``None`` when pydicom cannot encode them.

    Does not change ``ds``: the caller falls back to native data when this returns ``None``.
    """
    originals: list[bytes] = (
        list(generate_frames(ds.PixelData, number_of_frames=len(source))) if keep_unedited else []
    )
    encoder = get_encoder(uid)
    plugin = _PREFERRED_PLUGIN.get(uid, "")
    if plugin not in encoder.available_plugins:
        plugin = ""
    options = as_pixel_options(
        ds, number_of_frames=1, photometric_interpretation=photometric, planar_configuration=0
    )
    encoded: list[bytes] = []
    for index in range(len(source)):
        if keep_unedited and index not in edited:
            encoded.append(originals[index])
            continue
        frame = _encode(encoder, _frame_for(source, edited, index), plugin, options)
        if frame is None:
            return None
        encoded.append(frame)
    return encoded


def _record_lossy(ds: Dataset, source_uid: UID) -> tuple[str, ...]:
    ds.LossyImageCompression = "01"
    method = syntax_rule(source_uid).method
    if method and "LossyImageCompressionMethod" not in ds:
        ds.LossyImageCompressionMethod = method
        return (f"LossyImageCompressionMethod set to {method}",)
    return ()


def write_frames(ds: Dataset, frames: Mapping[int, Frame]) -> WriteOutcome:
    """Put the edited ``frames`` (index -> array as decoded by :func:`read_frames`) into ``ds``.

    Frames not in the mapping keep their content (and, where the syntax and photometric
    interpretation do not change, their exact bytes). Updates Transfer Syntax UID, Photometric
    Interpretation, Planar Configuration and the lossy-compression attributes as needed; never
    changes a UID. See the module documentation for the syntax rules.
    """
    source = read_frames(ds)
    for index in frames:
        if not 0 <= index < len(source):
            raise PixelCodecError("edited frame index out of range")
    uid_in = source.transfer_syntax
    lossy = is_lossy_source(ds)
    uid_out = _output_syntax(ds, source, lossy)
    photometric_out = _ENCODED_PHOTOMETRIC.get(
        (uid_out, source.stored_photometric), source.photometric
    )
    # Every frame is rewritten when the representation of the kept frames would change.
    rewrite_all = uid_out != uid_in or photometric_out != source.stored_photometric
    notes: list[str] = []
    # Decode the kept frames before any header change: decoding reads the original attributes.
    edited: Mapping[int, Frame] = frames
    if rewrite_all:
        edited = {i: _frame_for(source, frames, i) for i in range(len(source))}
    encoded: list[bytes] | None = None
    if not syntax_rule(uid_out).native:
        encoded = _encode_frames(
            ds, source, edited, uid_out, photometric_out, keep_unedited=not rewrite_all
        )
        if encoded is None:
            # pydicom cannot encode this data in that syntax (e.g. 32-bit RLE): go native.
            notes.append(f"no lossless encoder for {UID(uid_out).name} with this data")
            uid_out, photometric_out = ExplicitVRLittleEndian, source.photometric
            if not rewrite_all:
                edited = {i: _frame_for(source, frames, i) for i in range(len(source))}
                rewrite_all = True
    ds.PhotometricInterpretation = photometric_out
    if source.samples_per_pixel > 1:
        ds.PlanarConfiguration = 0
    if photometric_out != source.stored_photometric:
        notes.append(f"PhotometricInterpretation {source.stored_photometric} -> {photometric_out}")
    for keyword in ("ExtendedOffsetTable", "ExtendedOffsetTableLengths"):
        if keyword in ds:
            del ds[keyword]
    if encoded is not None:
        ds.PixelData = encapsulate(encoded)
        element = ds["PixelData"]
        element.VR = "OB"
        element.is_undefined_length = True
        written = len(edited)
    else:
        written = _write_native(ds, source, edited, rewrite_all, uid_out)
    ds.file_meta.TransferSyntaxUID = uid_out
    if uid_out != uid_in:
        notes.append(f"transfer syntax {uid_in.name} -> {UID(uid_out).name} (lossless)")
    if lossy:
        notes.extend(_record_lossy(ds, uid_in))
        notes.append("lossy source: kept Lossy Image Compression 01, not recompressed lossily")
    # pydicom caches the decoded array by pixel ids; the data changed under it.
    ds._pixel_array = None
    ds._pixel_id = {}
    return WriteOutcome(
        transfer_syntax_in=str(uid_in),
        transfer_syntax_out=str(uid_out),
        lossy_source=lossy,
        frames_reencoded=written,
        frames_kept=len(source) - written,
        photometric_in=source.stored_photometric,
        photometric_out=photometric_out,
        notes=tuple(notes),
    )


# --- detection view ---------------------------------------------------------------------------


#: Pixels the window's percentiles are estimated from: a regular sample of this size gives
#: the same window as the whole frame, ~20x faster on 512x512 (the cost of a text-free frame).
WINDOW_SAMPLE: Final = 1 << 14


def _window(array: npt.NDArray[np.generic]) -> Grey8:
    if array.dtype == np.uint8:
        return np.asarray(array, dtype=np.uint8)
    data = array.astype(np.float32)
    # Percentiles rather than min/max: burned-in text sits at or near the maximum and must
    # stay bright, while a few outliers must not crush the anatomy into one grey level.
    step = max(1, int((data.size / WINDOW_SAMPLE) ** 0.5))
    sample = data[::step, ::step] if data.ndim >= 2 else data
    low, high = np.percentile(sample, (0.5, 99.5))
    if high <= low:
        top = float(data.max())
        low, high = float(data.min()), max(top, float(data.min()) + 1.0)
    # In place on the float copy: the same float32 arithmetic without two more frame-sized
    # temporaries (the grey view is paid on every frame, text or not).
    np.subtract(data, float(low), out=data)
    np.multiply(data, 255.0 / (float(high) - float(low)), out=data)
    np.clip(data, 0, 255, out=data)
    windowed: Grey8 = data.astype(np.uint8)
    return windowed


def _grey_monochrome2(frame: Frame, ds: Dataset) -> Grey8:
    return _window(frame)


def _grey_monochrome1(frame: Frame, ds: Dataset) -> Grey8:
    # MONOCHROME1 displays its minimum as white; invert so text reads as it is seen.
    return np.asarray(255 - _window(frame), dtype=np.uint8)


def _luminance(rgb: npt.NDArray[np.generic]) -> Grey8:
    if rgb.dtype != np.uint8:
        rgb = _window(rgb)
    grey: Grey8 = np.asarray(
        cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY), dtype=np.uint8
    )
    return grey


def _grey_rgb(frame: Frame, ds: Dataset) -> Grey8:
    return _luminance(frame)


def _grey_palette(frame: Frame, ds: Dataset) -> Grey8:
    return _luminance(_palette_rgb8(frame, ds))


_GREY_VIEW: Final = {
    "MONOCHROME1": _grey_monochrome1,
    "MONOCHROME2": _grey_monochrome2,
    "PALETTE COLOR": _grey_palette,
    "RGB": _grey_rgb,
}


#: A pixel whose channels differ by more than this is coloured (not a grey level).
CHROMA_LEVEL: Final = 32


def _channels_rgb(frame: Frame, ds: Dataset) -> list[Grey8]:
    rgb = np.asarray(frame if frame.dtype == np.uint8 else _window(frame), dtype=np.uint8)
    red, green, blue = cv2.split(np.ascontiguousarray(rgb))
    brightest = np.asarray(cv2.max(cv2.max(red, green), blue), dtype=np.uint8)
    darkest = np.asarray(cv2.min(cv2.min(red, green), blue), dtype=np.uint8)
    if int(cv2.subtract(brightest, darkest).max()) <= CHROMA_LEVEL:
        return []  # grey stored as RGB: luminance already shows everything
    # Each pixel's brightest channel: a saturated overlay is bright in at least one channel
    # whatever its hue, so one view covers red, green, blue, yellow, cyan and magenta text.
    return [np.ascontiguousarray(brightest)]


def _palette_rgb8(frame: Frame, ds: Dataset) -> Grey8:
    """The palette's colours as 8-bit RGB: its entries are absolute, so no windowing."""
    rgb = np.asarray(apply_color_lut(frame, ds))
    if rgb.dtype == np.uint16:
        return np.asarray(rgb >> 8, dtype=np.uint8)
    return np.asarray(rgb, dtype=np.uint8)


def _channels_palette(frame: Frame, ds: Dataset) -> list[Grey8]:
    return _channels_rgb(_palette_rgb8(frame, ds), ds)


#: Colour views beside luminance: a yellow or green overlay on grey anatomy can vanish in
#: luminance (its grey level matches the background) but is bright in one of its channels.
_CHANNEL_VIEWS: Final = {
    "RGB": _channels_rgb,
    "PALETTE COLOR": _channels_palette,
}


def colour_channels(frame: Frame, ds: Dataset, photometric: str) -> list[Grey8]:
    """Views of ``frame`` that show coloured text luminance may hide: the per-pixel maximum of
    its channels, for frames with coloured pixels; ``[]`` for grey (or grey-as-RGB) frames."""
    view = _CHANNEL_VIEWS.get(photometric)
    if view is None or (frame.ndim != 3 and photometric == "RGB"):
        return []
    return view(frame, ds)


def _palette_views(frame: Frame, ds: Dataset) -> tuple[Grey8, list[Grey8]]:
    """:func:`to_grey8` and :func:`colour_channels` of a palette frame, looked up once.

    An 8-bit index frame is mapped through 256-entry tables (the palette's luminance, its
    brightest and darkest channel per entry): the same values as mapping every pixel to RGB
    first, without building the frame-sized RGB image twice.
    """
    if frame.ndim != 2:
        raise PixelCodecError("unexpected multi-sample frame")
    if frame.dtype != np.uint8:
        rgb = _palette_rgb8(frame, ds)
        return _luminance(rgb), _channels_rgb(rgb, ds)
    index = np.asarray(frame, dtype=np.uint8)
    entries = np.ascontiguousarray(
        _palette_rgb8(np.arange(256, dtype=np.uint8), ds).reshape(256, 1, 3)
    )
    grey = np.asarray(cv2.LUT(index, _luminance(entries).reshape(256)), dtype=np.uint8)
    brightest = np.asarray(cv2.LUT(index, entries.max(axis=2).reshape(256)), dtype=np.uint8)
    darkest = np.asarray(cv2.LUT(index, entries.min(axis=2).reshape(256)), dtype=np.uint8)
    if int(cv2.subtract(brightest, darkest).max()) <= CHROMA_LEVEL:
        return grey, []
    return grey, [brightest]


def detection_views(frame: Frame, ds: Dataset, photometric: str) -> tuple[Grey8, list[Grey8]]:
    """``(to_grey8(frame, ds, photometric), colour_channels(frame, ds, photometric))``,
    computed together: what the detector looks at in one frame. The same arrays, cheaper for
    palette frames."""
    if photometric == "PALETTE COLOR":
        return _palette_views(frame, ds)
    return to_grey8(frame, ds, photometric), colour_channels(frame, ds, photometric)


def to_grey8(frame: Frame, ds: Dataset, photometric: str | None = None) -> Grey8:
    """``frame`` (as decoded by :func:`read_frames`) as an 8-bit grey image for detection.

    ``photometric`` is the interpretation of the decoded frame (``FrameSource.photometric``);
    by default the dataset's own, mapped as the decoder maps it.
    """
    if photometric is None:
        stored = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip()
        photometric = _DECODED_PHOTOMETRIC.get(stored, stored)
    view = _GREY_VIEW.get(photometric)
    if view is None:
        raise PixelCodecError(f"no grey view for photometric interpretation {photometric}")
    if frame.ndim == 3 and photometric not in ("RGB",):
        raise PixelCodecError("unexpected multi-sample frame")
    return view(frame, ds)
