"""Frames in and out, per transfer syntax, on pydicom's own test files."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
from pixel_synth import (
    as_big_endian,
    as_monochrome1,
    ct_512,
    load,
    palette_with_text,
    roundtrip,
    ybr_full_422_with_text,
)
from pydicom.encaps import generate_frames
from pydicom.pixels.encoders.base import get_encoder
from pydicom.pixels.utils import as_pixel_options
from pydicom.uid import (
    UID,
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLSLossless,
    RLELossless,
)

from deidengine.pixels.codec import (
    FALLBACK,
    PixelCodecError,
    _j2k_reversible,
    read_frames,
    syntax_rule,
    to_grey8,
    write_frames,
)

#: (file, expected output syntax or None for "same as input", lossy source)
CASES = [
    ("CT_small.dcm", None, False),
    ("MR_small_implicit.dcm", None, False),
    ("MR_small_bigendian.dcm", None, False),
    ("ExplVR_BigEnd.dcm", None, False),
    ("SC_rgb_small_odd_big_endian.dcm", None, False),
    ("image_dfl.dcm", None, False),
    ("liver_1frame.dcm", None, False),
    ("MR_small_RLE.dcm", None, False),
    ("SC_rgb_rle.dcm", None, False),
    ("SC_rgb_rle_16bit_2frame.dcm", None, False),
    ("SC_rgb_rle_32bit_2frame.dcm", ExplicitVRLittleEndian, False),
    ("rtdose_rle.dcm", ExplicitVRLittleEndian, False),
    ("MR_small_jpeg_ls_lossless.dcm", None, False),
    ("MR_small_jp2klossless.dcm", None, False),
    ("J2K_pixelrep_mismatch.dcm", None, False),
    ("examples_jpeg2k.dcm", None, False),
    ("GDCMJ2K_TextGBR.dcm", None, False),
    ("SC_rgb_jpeg_gdcm.dcm", RLELossless, False),
    ("JPEG2000.dcm", RLELossless, True),
    ("693_J2KI.dcm", RLELossless, True),
    ("SC_rgb_gdcm_KY.dcm", RLELossless, True),
    ("JPGExtended.dcm", RLELossless, True),
    ("SC_rgb_jpeg_dcmtk.dcm", RLELossless, True),
    ("SC_rgb_dcmtk_+eb+cy+s2.dcm", RLELossless, True),
    ("SC_rgb_jls_lossy_line.dcm", RLELossless, True),
    ("JPEGLSNearLossless_16.dcm", RLELossless, True),
    ("examples_ybr_color.dcm", RLELossless, True),
    ("examples_palette.dcm", None, False),
    ("SC_ybr_full_422_uncompressed.dcm", None, True),
]


def _edit(frame: np.ndarray) -> np.ndarray:
    edited = frame.copy()
    edited[: min(4, frame.shape[0]), : min(4, frame.shape[1])] = 0
    return edited


@pytest.mark.parametrize(("name", "expected", "lossy"), CASES)
def test_every_syntax_reencodes_losslessly(name: str, expected: str | None, lossy: bool) -> None:
    ds = load(name)
    uid_in = ds.file_meta.TransferSyntaxUID
    source = read_frames(ds)
    originals = [source.frame(i) for i in range(len(source))]
    edited = {0: _edit(originals[0])}
    outcome = write_frames(ds, edited)
    out = roundtrip(ds)
    assert out.file_meta.TransferSyntaxUID == (expected or uid_in)
    assert outcome.transfer_syntax_out == (expected or uid_in)
    assert outcome.lossy_source is lossy
    if outcome.syntax_changed:
        assert outcome.transfer_syntax_out in FALLBACK
        assert not syntax_rule(outcome.transfer_syntax_out).lossy
        assert any("transfer syntax" in note for note in outcome.notes)
    back = read_frames(out)
    assert np.array_equal(back.frame(0), edited[0])
    for index in range(1, len(back)):
        assert np.array_equal(back.frame(index), originals[index])
    if lossy:
        assert out.LossyImageCompression == "01"
        assert "LossyImageCompressionMethod" in out


def test_sop_instance_uid_is_not_changed() -> None:
    ds = load("MR_small_RLE.dcm")
    before = ds.SOPInstanceUID
    write_frames(ds, {0: _edit(read_frames(ds).frame(0))})
    assert ds.SOPInstanceUID == before


def test_unedited_encapsulated_frames_keep_their_bytes() -> None:
    ds = load("SC_rgb_rle_2frame.dcm")
    before = list(generate_frames(ds.PixelData, number_of_frames=2))
    write_frames(ds, {0: _edit(read_frames(ds).frame(0))})
    after = list(generate_frames(ds.PixelData, number_of_frames=2))
    assert after[1] == before[1]
    assert after[0] != before[0]


def test_unedited_native_frames_keep_their_bytes() -> None:
    ds = load("rtdose.dcm")
    before = bytes(ds.PixelData)
    frame_bytes = len(before) // 15
    write_frames(ds, {3: _edit(read_frames(ds).frame(3))})
    after = bytes(ds.PixelData)
    assert after[: 3 * frame_bytes] == before[: 3 * frame_bytes]
    assert after[4 * frame_bytes :] == before[4 * frame_bytes :]


def test_ybr_full_422_native_is_written_as_rgb() -> None:
    ds, _ = ybr_full_422_with_text()
    ds = roundtrip(ds)
    source = read_frames(ds)
    assert source.photometric == "RGB"
    frame = _edit(source.frame(0))
    outcome = write_frames(ds, {0: frame})
    out = roundtrip(ds)
    assert out.PhotometricInterpretation == "RGB"
    assert outcome.photometric_in == "YBR_FULL_422"
    assert outcome.photometric_out == "RGB"
    assert len(out.PixelData) == out.Rows * out.Columns * 3
    assert np.array_equal(read_frames(out).frame(0), frame)


def test_j2k_lossless_rgb_keeps_ybr_rct() -> None:
    ds = load("examples_jpeg2k.dcm")
    write_frames(ds, {0: _edit(read_frames(ds).frame(0))})
    assert ds.PhotometricInterpretation == "YBR_RCT"


def test_reversible_wavelet_is_recognised() -> None:
    ds = ct_512()
    arr = ds.pixel_array
    lossless = get_encoder(JPEG2000Lossless).encode(arr, **as_pixel_options(ds))
    assert _j2k_reversible(lossless)
    lossy = next(generate_frames(load("JPEG2000.dcm").PixelData, number_of_frames=1))
    assert not _j2k_reversible(lossy)


@pytest.mark.parametrize("uid", [RLELossless, JPEGLSLossless, JPEG2000Lossless])
def test_compressed_copies_of_16bit_signed_round_trip(uid: UID) -> None:
    ds = ct_512()
    arr = ds.pixel_array
    ds.compress(uid, arr, generate_instance_uid=False)
    ds = roundtrip(ds)
    edited = _edit(read_frames(ds).frame(0))
    outcome = write_frames(ds, {0: edited})
    assert outcome.transfer_syntax_out == uid
    assert np.array_equal(read_frames(roundtrip(ds)).frame(0), edited)


def test_big_endian_16bit_signed() -> None:
    ds = as_big_endian(ct_512())
    source = read_frames(ds)
    assert source.frame(0).dtype == np.int16
    edited = _edit(source.frame(0))
    write_frames(ds, {0: edited})
    out = roundtrip(ds)
    assert out.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.2"
    assert np.array_equal(read_frames(out).frame(0), edited)


def test_grey_view_of_every_photometric_interpretation() -> None:
    mono2 = ct_512()
    mono1 = as_monochrome1(mono2)
    palette, _ = palette_with_text()
    ybr, _ = ybr_full_422_with_text()
    views = {}
    for label, ds in {"m2": mono2, "m1": mono1, "pal": palette, "ybr": roundtrip(ybr)}.items():
        source = read_frames(ds)
        grey = to_grey8(source.frame(0), ds, source.photometric)
        assert grey.dtype == np.uint8
        assert grey.shape == (source.rows, source.columns)
        views[label] = grey
    # MONOCHROME1 displays inverted values the same way MONOCHROME2 displays the originals.
    assert np.abs(views["m1"].astype(int) - views["m2"].astype(int)).mean() < 3


def test_unsupported_syntax_is_refused() -> None:
    ds = copy.deepcopy(load("CT_small.dcm"))
    ds.file_meta.TransferSyntaxUID = UID("1.2.3.4")
    with pytest.raises(PixelCodecError) as info:
        read_frames(ds)
    assert "1.2.3.4" in str(info.value)


def test_undecodable_data_raises_codec_error_without_values() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = load("MR_truncated.dcm")
        with pytest.raises(PixelCodecError):
            read_frames(ds).frame(0)
