"""The gate's cheap paths: a frame without strokes stops before labelling, labelling runs on
the strokes' window only, and palette frames are looked up once. Each must give exactly what
the whole-frame computation gives (a text frame is never let through unread)."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt
from pixel_synth import ct_512, ct_512_with_text, load, palette_with_text, rgb_with_text

from deidengine.pixels.codec import colour_channels, detection_views, read_frames, to_grey8
from deidengine.pixels.gate import (
    DEFAULT_GATE,
    _dark_on_light,
    _glyph_mask,
    _glyphs_in_windows,
    _keep_glyphs,
    _stroke_windows,
    candidate_boxes,
    glyph_mask,
)

Grey8 = npt.NDArray[np.uint8]


def _grey(ds: object) -> Grey8:
    source = read_frames(ds)  # type: ignore[arg-type]
    return to_grey8(source.frame(0), ds, source.photometric)  # type: ignore[arg-type]


def test_a_text_free_ct_slice_stops_at_the_cheap_path() -> None:
    grey = _grey(ct_512())
    # No pixel passes the top-hat threshold: no stroke window, no labelling, no boxes.
    assert not _glyph_mask(grey, DEFAULT_GATE).any()
    assert _glyphs_in_windows(grey, DEFAULT_GATE) == []
    assert candidate_boxes(grey) == []
    assert not glyph_mask(grey).any()


def test_a_ct_slice_with_burned_in_text_is_not_let_through() -> None:
    ds, text = ct_512_with_text()
    grey = _grey(ds)
    windows = _stroke_windows(_glyph_mask(grey, DEFAULT_GATE), DEFAULT_GATE)
    assert windows
    assert [window for _, window in _glyphs_in_windows(grey, DEFAULT_GATE)] == windows
    # Every drawn pixel lies inside a labelled window, and the gate proposes boxes over them.
    inside = np.zeros_like(text)
    for x, y, w, h in windows:
        inside[y : y + h, x : x + w] = True
    assert inside[text].all()
    covered = np.zeros_like(text)
    for bx, by, bw, bh in candidate_boxes(grey):
        covered[by : by + bh, bx : bx + bw] = True
    ys, xs = np.nonzero(text)
    assert covered[ys, xs].mean() > 0.95


def test_stroke_windows_are_bands_of_rows_with_strokes() -> None:
    mask = np.zeros((200, 300), np.uint8)
    mask[10:20, 100:120] = 255
    mask[25:30, 5:8] = 255  # 5 blank rows below the first: the same band
    mask[150:160, 280:300] = 255  # far below: a band of its own, clipped at the right edge
    margin = DEFAULT_GATE.close_width
    assert _stroke_windows(mask, DEFAULT_GATE) == [
        (0, 10, 120 + margin, 20),
        (280 - margin, 150, 20 + margin, 10),
    ]
    assert _stroke_windows(np.zeros((50, 50), np.uint8), DEFAULT_GATE) == []


def _whole_frame_glyphs(grey: Grey8) -> Grey8:
    """The glyph mask labelled on the whole frame, as the gate did before the window."""
    mask = _glyph_mask(grey, DEFAULT_GATE)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    keep = (stats[:, cv2.CC_STAT_HEIGHT] <= DEFAULT_GATE.max_glyph_height) & (
        stats[:, cv2.CC_STAT_WIDTH] <= DEFAULT_GATE.max_glyph_width
    )
    keep &= stats[:, cv2.CC_STAT_AREA] >= DEFAULT_GATE.min_glyph_area
    keep[0] = False
    return np.asarray(np.where(keep[labels], 255, 0), dtype=np.uint8)


def test_the_window_gives_the_whole_frame_glyphs() -> None:
    frames = [
        _grey(ct_512_with_text()[0]),
        _grey(load("MR_small.dcm")),
        _grey(load("CT_small.dcm")),
        _grey(rgb_with_text()[0]),
    ]
    frames += [np.asarray(255 - f, dtype=np.uint8) for f in frames]
    for grey in frames:
        assert np.array_equal(glyph_mask(grey), _whole_frame_glyphs(grey))


def test_glyph_filter_keeps_glyphs_and_drops_specks_and_bars_on_both_paths() -> None:
    glyph = (slice(10, 20), slice(10, 16))
    # Few dropped components: each is cleared inside its own box.
    mask = np.zeros((128, 128), np.uint8)
    mask[glyph] = 255
    mask[5, 100] = 255  # a speck (one pixel)
    mask[30:100, 60:62] = 255  # a bar taller than any glyph
    expected = np.zeros_like(mask)
    expected[glyph] = 255
    assert np.array_equal(_keep_glyphs(mask, DEFAULT_GATE), expected)
    # Dropped components whose boxes cover more than the frame: one lookup over the labels.
    dense = expected.copy()
    dense[40:128, 0:128:4] = 255  # 32 bars, each 88 px tall
    assert np.array_equal(_keep_glyphs(dense, DEFAULT_GATE), expected)


def test_more_stroke_pixels_than_16_bit_labels_number() -> None:
    # 90,000 two-pixel strokes: more components than 16-bit labels can count; every one is
    # a glyph-sized component and must be kept.
    mask = np.zeros((600, 900), np.uint8)
    mask[0::2, 0::3] = 255
    mask[0::2, 1::3] = 255
    assert np.array_equal(_keep_glyphs(mask, DEFAULT_GATE), mask)
    # Just under the 16-bit limit of stroke pixels the faster labels give the same.
    small = mask[:, :327].copy()
    assert 60_000 < int(np.count_nonzero(small)) < 1 << 16
    assert np.array_equal(_keep_glyphs(small, DEFAULT_GATE), small)


def test_palette_views_equal_the_separate_views() -> None:
    for ds in (load("examples_palette.dcm"), palette_with_text()[0]):
        source = read_frames(ds)
        frame = source.frame(0)
        grey, views = detection_views(frame, ds, source.photometric)
        assert np.array_equal(grey, to_grey8(frame, ds, source.photometric))
        separate = colour_channels(frame, ds, source.photometric)
        assert len(views) == len(separate)
        assert all(np.array_equal(a, b) for a, b in zip(views, separate, strict=True))


def test_dark_on_light_is_the_median_test() -> None:
    # One count of pixels above 127 decides unless the middle falls between the two halves,
    # where the exact median does; both must agree with numpy's median everywhere.
    rng = np.random.default_rng(5)
    ties = 0
    for _ in range(2000):
        shape = (int(rng.integers(1, 12)), int(rng.integers(1, 12)))
        low = int(rng.integers(0, 200))
        image = rng.integers(low, low + int(rng.integers(1, 57)), size=shape).astype(np.uint8)
        assert _dark_on_light(image) == (float(np.median(image)) > 127)
        ties += int(np.count_nonzero(image > 127)) * 2 == image.size
    assert ties > 0
    assert _dark_on_light(np.array([[127, 128]], np.uint8))
    assert not _dark_on_light(np.array([[126, 128]], np.uint8))
    assert not _dark_on_light(np.array([[122]], np.uint8))


def test_black_hat_is_the_top_hat_of_the_inverted_frame() -> None:
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (DEFAULT_GATE.tophat_size,) * 2)
    grey = _grey(ct_512_with_text()[0])
    assert _dark_on_light(grey) == (float(np.median(grey)) > 127)
    for image in (grey, _grey(load("MR_small.dcm")), _grey(rgb_with_text()[0])):
        inverted = np.asarray(255 - image, dtype=np.uint8)
        top_hat = cv2.morphologyEx(inverted, cv2.MORPH_TOPHAT, kernel)
        assert np.array_equal(top_hat, cv2.morphologyEx(image, cv2.MORPH_BLACKHAT, kernel))
