"""Detection and redaction end to end, with real OCR engines on real pydicom pixels."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
import pytest
from pixel_fakes import CountingBackend
from pixel_synth import (
    LINES,
    Placement,
    as_big_endian,
    as_monochrome1,
    burn,
    cine,
    ct_512,
    ct_512_with_text,
    jpeg_baseline_frames,
    load,
    palette_with_text,
    rgb_with_text,
    roundtrip,
    text_mask,
    with_identity,
    ybr_full_422_with_text,
)
from pydicom.dataset import Dataset
from pydicom.uid import (
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLSLossless,
    RLELossless,
)

from deidengine.dicom.identifiers import collect_identifying_values
from deidengine.pixels.codec import read_frames
from deidengine.pixels.detect import detect_text
from deidengine.pixels.gate import Box
from deidengine.pixels.match import matches_value
from deidengine.pixels.ocr import OcrBackend, TextBox
from deidengine.pixels.redact import (
    PixelCleanError,
    keep_ultrasound_regions,
    redact_pixels,
)

Builder = Callable[[], tuple[Dataset, npt.NDArray[np.bool_]]]


def _compressed(uid: str) -> Builder:
    def build() -> tuple[Dataset, npt.NDArray[np.bool_]]:
        ds, mask = ct_512_with_text()
        ds.compress(uid, ds.pixel_array, generate_instance_uid=False)
        return roundtrip(ds), mask

    return build


def _big_endian() -> tuple[Dataset, npt.NDArray[np.bool_]]:
    ds, mask = ct_512_with_text()
    return as_big_endian(ds), mask


def _monochrome1() -> tuple[Dataset, npt.NDArray[np.bool_]]:
    ds, mask = ct_512_with_text()
    return roundtrip(as_monochrome1(ds)), mask


def _jpeg_baseline() -> tuple[Dataset, npt.NDArray[np.bool_]]:
    ds, mask = rgb_with_text()
    return jpeg_baseline_frames([ds.pixel_array], ds), mask


def _roundtripped(builder: Builder) -> Builder:
    def build() -> tuple[Dataset, npt.NDArray[np.bool_]]:
        ds, mask = builder()
        return roundtrip(ds), mask

    return build


#: name -> (builder, expected output transfer syntax, lossy source)
VARIANTS: dict[str, tuple[Builder, str, bool]] = {
    "mono2-16bit-signed-native": (_roundtripped(ct_512_with_text), ExplicitVRLittleEndian, False),
    "mono2-big-endian": (_big_endian, ExplicitVRBigEndian, False),
    "mono1": (_monochrome1, ExplicitVRLittleEndian, False),
    "rle": (_compressed(RLELossless), RLELossless, False),
    "jpeg-ls-lossless": (_compressed(JPEGLSLossless), JPEGLSLossless, False),
    "j2k-lossless": (_compressed(JPEG2000Lossless), JPEG2000Lossless, False),
    "rgb": (_roundtripped(rgb_with_text), ExplicitVRLittleEndian, False),
    "ybr-full-422": (_roundtripped(ybr_full_422_with_text), ExplicitVRLittleEndian, False),
    "palette": (_roundtripped(palette_with_text), ExplicitVRLittleEndian, False),
    "jpeg-baseline": (_jpeg_baseline, RLELossless, True),
}


_DRAWN = collect_identifying_values(with_identity(Dataset()))


def _readable_identifiers(ds: Dataset, backend: OcrBackend) -> list[str]:
    """Texts ``backend`` reads in ``ds`` that leniently match a drawn identifier."""
    report = detect_text(ds, collect_identifying_values(ds), backend=backend)
    return [f.text for f in report.findings if matches_value(f.text, _DRAWN)]


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_redaction_removes_drawn_identifiers(
    variant: str, default_backend: OcrBackend, tesseract: OcrBackend
) -> None:
    build, expected_syntax, lossy = VARIANTS[variant]
    ds, _mask = build()
    identifying = collect_identifying_values(ds)
    before = detect_text(ds, identifying, backend=default_backend)
    assert len(before.identifying) >= 2, variant
    outcome = redact_pixels(ds, identifying_values=identifying, backend=default_backend)
    assert outcome.changed and outcome.verified
    assert outcome.frames_redacted == 1
    assert outcome.boxes >= 2
    assert outcome.transfer_syntax_out == expected_syntax
    assert outcome.lossy_source is lossy
    out = roundtrip(ds)
    assert out.file_meta.TransferSyntaxUID == expected_syntax
    if lossy:
        assert out.LossyImageCompression == "01"
        assert outcome.transfer_syntax_in == JPEGBaseline8Bit
        assert any("lossy source" in note for note in outcome.notes)
    # Neither engine can read an identifier any more.
    assert _readable_identifiers(out, default_backend) == []
    assert _readable_identifiers(out, tesseract) == []


def test_pixels_far_from_text_are_untouched(default_backend: OcrBackend) -> None:
    ds, mask = ct_512_with_text()
    before = ds.pixel_array.copy()
    redact_pixels(ds, identifying_values=collect_identifying_values(ds), backend=default_backend)
    after = read_frames(roundtrip(ds)).frame(0)
    near = np.zeros_like(mask)
    ys, xs = np.nonzero(mask)
    near[max(0, ys.min() - 40) :, :] = False
    for y, x in zip(ys, xs, strict=True):
        near[max(0, y - 12) : y + 12, max(0, x - 12) : x + 12] = True
    assert np.array_equal(after[~near], before[~near])
    assert (after[mask] == before.min()).mean() > 0.97


@pytest.mark.parametrize(
    "name", ["MR_small_RLE.dcm", "J2K_pixelrep_mismatch.dcm", "JPGExtended.dcm", "CT_small.dcm"]
)
def test_nothing_found_leaves_pixel_data_byte_identical(
    name: str, counting: CountingBackend
) -> None:
    ds = load(name)
    before = bytes(ds.PixelData)
    syntax = ds.file_meta.TransferSyntaxUID
    # Identifying values the image does not show: nothing to redact.
    ds.PatientName = "ZYXWV^QUTSR"
    outcome = redact_pixels(ds, identifying_values=collect_identifying_values(ds), backend=counting)
    assert not outcome.changed
    assert outcome.frames_redacted == 0
    assert bytes(ds.PixelData) == before
    assert ds.file_meta.TransferSyntaxUID == syntax


def test_text_free_frame_costs_no_ocr(counting: CountingBackend) -> None:
    ds = ct_512()
    ds.PixelData = np.zeros((512, 512), np.int16).tobytes()
    report = detect_text(ds, collect_identifying_values(ds), backend=counting)
    assert counting.calls == 0
    assert report.findings == ()


def test_static_policy_boxes_apply_to_every_frame(counting: CountingBackend) -> None:
    ds = load("rtdose.dcm")
    outcome = redact_pixels(
        ds,
        identifying_values=collect_identifying_values(ds),
        boxes=[(0, 0, 3, 2)],
        backend=counting,
    )
    assert outcome.changed and outcome.frames_redacted == 15
    out = roundtrip(ds)
    source = read_frames(out)
    for index in range(len(source)):
        frame = source.frame(index)
        assert (frame[0:2, 0:3] == frame.min()).all()


def test_static_text_in_100_frames_is_read_once(counting: CountingBackend) -> None:
    ds, mask = cine(100)
    ds = roundtrip(ds)
    identifying = collect_identifying_values(ds)
    report = detect_text(ds, identifying, backend=counting)
    assert counting.calls <= 2
    assert {f.frame for f in report.identifying} == set(range(100))
    counting.calls = 0
    outcome = redact_pixels(ds, identifying_values=identifying, backend=counting)
    assert outcome.frames_redacted == 100
    assert counting.calls <= 4  # detection and verification
    out = roundtrip(ds)
    source = read_frames(out)
    for index in (0, 37, 99):
        frame = source.frame(index)
        assert (frame[mask] == frame.min()).mean() > 0.97


def test_cine_ultrasound_with_static_text(counting: CountingBackend) -> None:
    """A real 30-frame JPEG Baseline US cine, with identifiers burned into every frame."""
    ds = with_identity(load("examples_ybr_color.dcm"))
    source = read_frames(ds)
    placements = [Placement("DOE^JANE", 6, 20, 0.5), Placement("MRN 48213977", 6, 40, 0.5)]
    mask = text_mask(source.rows, source.columns, placements)
    frames = []
    for index in range(len(source)):
        frame = source.frame(index).copy()
        burn(frame, mask, 255)
        frames.append(frame)
    ds = jpeg_baseline_frames(frames, ds)
    identifying = collect_identifying_values(ds)
    report = detect_text(ds, identifying, backend=counting)
    assert counting.calls <= 3
    assert {f.frame for f in report.identifying} == set(range(30))
    outcome = redact_pixels(ds, identifying_values=identifying, backend=counting)
    assert outcome.frames_redacted == 30
    assert outcome.lossy_source and outcome.transfer_syntax_out == RLELossless
    assert roundtrip(ds).LossyImageCompression == "01"


def test_text_appearing_mid_cine_is_found_in_batches(counting: CountingBackend) -> None:
    ds, _ = cine(60)
    stack = np.frombuffer(ds.PixelData, np.int16).reshape(60, 512, 512).copy()
    late = text_mask(512, 512, [Placement("SMITH^JOHN 0012345678", 140, 300, 0.8)])
    for index in range(40, 50):
        stack[index][late] = stack[index].max()
    ds.PixelData = stack.tobytes()
    ds.OtherPatientNames = "SMITH^JOHN"
    report = detect_text(ds, collect_identifying_values(ds), backend=counting)
    hits = {f.frame for f in report.identifying if 250 < f.y < 400}
    assert hits == set(range(40, 50))
    assert counting.calls <= 3


def test_mode_all_also_removes_ordinary_text(default_backend: OcrBackend) -> None:
    ds, _ = ct_512_with_text()
    arr = ds.pixel_array.copy()
    extra = text_mask(512, 512, [Placement("W:400 L:40", 330, 40, 0.7)])
    burn(arr, extra, int(arr.max()))
    ds.PixelData = arr.tobytes()
    identifying = collect_identifying_values(ds)
    keep = copy.deepcopy(ds)
    redact_pixels(keep, identifying_values=identifying, backend=default_backend)
    kept = read_frames(keep).frame(0)
    assert (kept[extra] == arr[extra]).all()
    redact_pixels(ds, identifying_values=identifying, mode="all", backend=default_backend)
    removed = read_frames(ds).frame(0)
    assert (removed[extra] == removed.min()).mean() > 0.95


class _MisplacingBackend:
    """Reads text but reports its boxes 200 px away, as a broken engine might."""

    name = "misplacing"

    def __init__(self, inner: OcrBackend) -> None:
        self.inner = inner

    def read(self, image: npt.NDArray[np.uint8], boxes: Sequence[Box]) -> list[TextBox]:
        found = self.inner.read(image, boxes)
        return [TextBox(t.x, (t.y + 200) % 400, t.w, t.h, t.text, t.confidence) for t in found]


def test_text_still_readable_after_redaction_raises(default_backend: OcrBackend) -> None:
    ds, _ = ct_512_with_text()
    with pytest.raises(PixelCleanError) as info:
        redact_pixels(
            ds,
            identifying_values=collect_identifying_values(ds),
            backend=_MisplacingBackend(default_backend),
        )
    assert not any(line.split()[0] in str(info.value) for line in LINES)


def test_overlay_text_is_found_and_cleared(default_backend: OcrBackend) -> None:
    ds = with_identity(load("examples_overlay.dcm"))
    plane = np.asarray(ds.overlay_array(0x6000)).copy()
    rows, columns = plane.shape
    mask = text_mask(rows, columns, [Placement("DOE^JANE", 150, 150, 0.8)])
    plane[mask] = 1
    from pydicom.pixels.utils import pack_bits

    ds[0x6000, 0x3000].value = pack_bits(plane.astype(np.uint8))
    identifying = collect_identifying_values(ds)
    report = detect_text(ds, identifying, backend=default_backend)
    overlay_hits = [f for f in report.identifying if f.overlay == 0x6000]
    assert overlay_hits
    pixel_data = bytes(ds.PixelData)
    outcome = redact_pixels(ds, identifying_values=identifying, backend=default_backend)
    assert outcome.changed
    assert bytes(ds.PixelData) == pixel_data  # only the overlay had text
    cleared = np.asarray(ds.overlay_array(0x6000))
    assert not cleared[mask].any()
    everything = with_identity(load("examples_overlay.dcm"))
    everything[0x6000, 0x3000].value = pack_bits(plane.astype(np.uint8))
    redact_pixels(everything, identifying_values=identifying, mode="all", backend=default_backend)
    assert (0x6000, 0x3000) not in everything


def test_keep_ultrasound_regions_blanks_the_rest() -> None:
    ds, _ = rgb_with_text()
    region = Dataset()
    region.RegionLocationMinX0, region.RegionLocationMinY0 = 60, 60
    region.RegionLocationMaxX1, region.RegionLocationMaxY1 = 259, 199
    ds.SequenceOfUltrasoundRegions = [region]
    before = ds.pixel_array.copy()
    outcome = keep_ultrasound_regions(ds)
    assert outcome.changed
    after = read_frames(roundtrip(ds)).frame(0)
    assert np.array_equal(after[60:200, 60:260], before[60:200, 60:260])
    assert not after[:60].any() and not after[200:].any()
    assert not after[:, :60].any() and not after[:, 260:].any()


def test_no_ultrasound_regions_touches_nothing() -> None:
    ds, _ = rgb_with_text()
    before = bytes(ds.PixelData)
    assert not keep_ultrasound_regions(ds).changed
    assert bytes(ds.PixelData) == before
