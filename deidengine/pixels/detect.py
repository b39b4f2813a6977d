"""Finding burned-in text: every frame, and the overlay planes (60xx,3000).

Per frame: decode, view as 8-bit grey, run the OpenCV gate; a frame without candidates never
pays for OCR. The first frame with candidates is read whole. Multi-frame (cine) files carry the
same annotation on every frame, so that text is carried forward to every later frame whose
pixels under it are unchanged. Later candidates that are not explained that way (moving
anatomy, a running clock, text that appears mid-cine) are de-duplicated and read in batches on
mosaic pages. A 100-frame file with static text costs one OCR call; moving anatomy adds a page
per ~100 changed crops, not a call per frame.

Recognised text stays in memory (:class:`TextFinding`); reprs and :meth:`TextFinding.to_json`
leave it out unless ``show_text`` is asked for.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset

from deidengine.dicom.identifiers import IdentifyingValues
from deidengine.pixels.codec import detection_views, read_frames
from deidengine.pixels.gate import Box, candidate_boxes
from deidengine.pixels.match import is_identifying_text
from deidengine.pixels.ocr import OcrBackend, TextBox, get_backend, reads_characters

__all__ = ["DetectionReport", "TextFinding", "detect_text", "overlay_groups", "resolve_backend"]

Grey8 = npt.NDArray[np.uint8]

#: Mean absolute grey difference under which a crop counts as unchanged between frames.
STATIC_TOLERANCE: Final = 2.0
#: Share of a candidate's area that a carried-forward text box must cover to explain it.
COVER_FRACTION: Final = 0.5


@dataclass(frozen=True)
class TextFinding:
    """One box of text in a frame (``frame`` 0-based) or in an overlay plane (``overlay``)."""

    frame: int
    x: int
    y: int
    w: int
    h: int
    confidence: float
    identifying: bool
    text: str = field(repr=False)
    overlay: int | None = None

    def __repr__(self) -> str:
        where = f"overlay=0x{self.overlay:04X}" if self.overlay is not None else "pixels"
        return (
            f"TextFinding(frame={self.frame}, {where}, x={self.x}, y={self.y}, w={self.w}, "
            f"h={self.h}, confidence={self.confidence:.2f}, identifying={self.identifying})"
        )

    __str__ = __repr__

    @property
    def box(self) -> Box:
        """``(x, y, w, h)``."""
        return self.x, self.y, self.w, self.h

    def to_json(self, show_text: bool = False) -> dict[str, object]:
        """A JSON-ready dict; the text only when ``show_text``."""
        data: dict[str, object] = {
            "frame": self.frame,
            "x": self.x,
            "y": self.y,
            "w": self.w,
            "h": self.h,
            "confidence": round(self.confidence, 4),
            "identifying": self.identifying,
        }
        if self.overlay is not None:
            data["overlay"] = f"{self.overlay:04X}"
        if show_text:
            data["text"] = self.text
        return data


@dataclass(frozen=True)
class DetectionReport:
    """Everything :func:`detect_text` found, and what it cost."""

    frames: int
    frames_scanned: int
    frames_with_candidates: int
    ocr_calls: int
    backend: str
    findings: tuple[TextFinding, ...]

    @property
    def identifying(self) -> tuple[TextFinding, ...]:
        """The findings whose text identifies."""
        return tuple(f for f in self.findings if f.identifying)

    def to_json(self, show_text: bool = False) -> dict[str, object]:
        """A JSON-ready dict; texts only when ``show_text``."""
        return {
            "frames": self.frames,
            "frames_scanned": self.frames_scanned,
            "frames_with_candidates": self.frames_with_candidates,
            "ocr_calls": self.ocr_calls,
            "backend": self.backend,
            "findings": [f.to_json(show_text) for f in self.findings],
        }


@dataclass(frozen=True)
class _Carried:
    """A box read (or found text-free) on an OCR'd frame, with its pixels there."""

    box: Box
    pixels: Grey8
    text: TextBox | None


def resolve_backend(backend: str | OcrBackend) -> OcrBackend:
    """``backend`` itself, or the registered backend of that name."""
    return get_backend(backend) if isinstance(backend, str) else backend


def _crop(grey: Grey8, box: Box) -> Grey8:
    x, y, w, h = box
    return grey[y : y + h, x : x + w]


def _unchanged(grey: Grey8, carried: _Carried) -> bool:
    crop = _crop(grey, carried.box)
    if crop.shape != carried.pixels.shape or crop.size == 0:
        return False
    difference = np.abs(crop.astype(np.int16) - carried.pixels.astype(np.int16))
    return float(difference.mean()) < STATIC_TOLERANCE


def _overlap(a: Box, b: Box) -> int:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    return max(0, x1 - x0) * max(0, y1 - y0)


def _explained(candidate: Box, carried: Sequence[_Carried]) -> bool:
    area = max(1, candidate[2] * candidate[3])
    covered = sum(_overlap(candidate, c.box) for c in carried)
    return covered >= COVER_FRACTION * area


def _finding(
    frame: int, text: TextBox, identifying: IdentifyingValues, overlay: int | None = None
) -> TextFinding:
    return TextFinding(
        frame=frame,
        x=text.x,
        y=text.y,
        w=text.w,
        h=text.h,
        confidence=text.confidence,
        identifying=is_identifying_text(text.text, identifying),
        text=text.text,
        overlay=overlay,
    )


@dataclass
class _Pending:
    """A changed candidate crop waiting for the batched OCR, and the frames showing it."""

    box: Box
    pixels: Grey8
    frames: list[int]


@dataclass(frozen=True)
class _Slot:
    """Where a pending crop sits on a mosaic page."""

    x: int
    y: int
    w: int
    h: int
    pending: _Pending


#: Mosaic pages of changed crops: size, spacing, and the frame size below which crops are
#: upscaled (OCR detectors miss ~6 px text unless it is enlarged; findings, section 5).
PAGE_SIDE: Final = 640
PAGE_GAP: Final = 12
#: Up to this many deferred crops are checked one by one before a page is read.
CHECK_LIMIT: Final = 16
#: Pixels of each tile's edge repeated around it on the page (less than half the gap).
TILE_EDGE: Final = 4
SMALL_FRAME_SIDE: Final = 512


def _pages(pending: Sequence[_Pending], scale: int) -> list[tuple[Grey8, list[_Slot]]]:
    """Shelf-pack the pending crops onto as few pages as fit."""
    width = max([PAGE_SIDE, *(p.pixels.shape[1] * scale + 2 * PAGE_GAP for p in pending)])
    pages: list[tuple[Grey8, list[_Slot]]] = []
    slots: list[_Slot] = []
    tiles: list[Grey8] = []
    x = y = PAGE_GAP
    shelf = 0

    def close() -> None:
        height = max(PAGE_SIDE, max((s.y + s.h for s in slots), default=0) + PAGE_GAP)
        page = np.zeros((height, width), np.uint8)
        for slot, tile in zip(slots, tiles, strict=True):
            # The tile's own edge continues into the gap: a reader that pads its crops must
            # see the tile's background there, not the page's black (it would skew Otsu).
            edged = cv2.copyMakeBorder(tile, *(TILE_EDGE,) * 4, cv2.BORDER_REPLICATE)
            page[
                slot.y - TILE_EDGE : slot.y + slot.h + TILE_EDGE,
                slot.x - TILE_EDGE : slot.x + slot.w + TILE_EDGE,
            ] = edged
        pages.append((page, list(slots)))

    for item in pending:
        tile = item.pixels
        if scale > 1:
            tile = np.asarray(
                cv2.resize(tile, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC),
                dtype=np.uint8,
            )
        h, w = tile.shape
        if x + w + PAGE_GAP > width:
            x, y, shelf = PAGE_GAP, y + shelf + PAGE_GAP, 0
        if y + h + PAGE_GAP > PAGE_SIDE and slots:
            close()
            slots, tiles = [], []
            x = y = PAGE_GAP
            shelf = 0
        slots.append(_Slot(x, y, w, h, item))
        tiles.append(tile)
        x += w + PAGE_GAP
        shelf = max(shelf, h)
    if slots:
        close()
    return pages


def _slots_under(text: TextBox, slots: Sequence[_Slot]) -> list[_Slot]:
    return [s for s in slots if _overlap(text.box, (s.x, s.y, s.w, s.h)) > 0]


def _clip_to_slot(text: TextBox, slot: _Slot) -> TextBox:
    x0, y0 = max(text.x, slot.x), max(text.y, slot.y)
    x1 = min(text.x + text.w, slot.x + slot.w)
    y1 = min(text.y + text.h, slot.y + slot.h)
    return TextBox(x0, y0, max(1, x1 - x0), max(1, y1 - y0), text.text, text.confidence)


def _to_frame(text: TextBox, slot: _Slot, scale: int) -> TextBox:
    """``text`` found on a page, in the coordinates of the frame its crop came from."""
    bx, by, bw, bh = slot.pending.box
    x0 = max(0, (text.x - slot.x) // scale)
    y0 = max(0, (text.y - slot.y) // scale)
    x1 = min(bw, -(-(text.x + text.w - slot.x) // scale))
    y1 = min(bh, -(-(text.y + text.h - slot.y) // scale))
    return TextBox(bx + x0, by + y0, max(1, x1 - x0), max(1, y1 - y0), text.text, text.confidence)


#: Gate boxes found text-free, per series, by their exact pixels: a series with a fixed layout
#: (a CT series' annotation frame, a US cine's rulers and logos) pays the check once per worker.
#: Only "holds no characters" is remembered, and only for bit-identical crops; the keys are
#: digests held in this process's memory. Bounded: the oldest entries go first.
_TEXT_FREE_LAYOUT: OrderedDict[bytes, None] = OrderedDict()
LAYOUT_CACHE_SIZE: Final = 4096


def _layout_key(scope: str, grey: Grey8, box: Box) -> bytes:
    crop = np.ascontiguousarray(_crop(grey, box))
    digest = hashlib.blake2b(digest_size=16)
    digest.update(scope.encode("ascii", "replace"))
    digest.update(repr((box, crop.shape)).encode("ascii"))
    digest.update(crop.tobytes())
    return digest.digest()


def _remember_text_free(keys: Iterable[bytes]) -> None:
    for key in keys:
        _TEXT_FREE_LAYOUT[key] = None
        _TEXT_FREE_LAYOUT.move_to_end(key)
    while len(_TEXT_FREE_LAYOUT) > LAYOUT_CACHE_SIZE:
        _TEXT_FREE_LAYOUT.popitem(last=False)


@dataclass
class _Scan:
    """Mutable state of one scan (local to :func:`detect_text`, never returned).

    The first frame with candidates is read whole. Later frames reuse its text where the pixels
    are unchanged; candidates that changed (moving anatomy, a running clock, text appearing
    mid-cine) are collected, de-duplicated, and read in batches on mosaic pages, so the number
    of OCR calls does not grow with the number of frames.
    """

    backend: OcrBackend
    identifying: IdentifyingValues
    carried: list[_Carried] = field(default_factory=list)
    findings: list[TextFinding] = field(default_factory=list)
    pending: dict[Box, list[_Pending]] = field(default_factory=dict)
    #: Text-free boxes of frames that were checked but not read (see :func:`reads_characters`).
    checked: list[_Carried] = field(default_factory=list)
    ocr_calls: int = 0
    with_candidates: int = 0
    read_whole: bool = False
    scale: int = 1
    #: Series Instance UID of the file: text-free layouts are remembered per series.
    series: str = ""
    #: The gate's boxes on the last frame's luminance, so :meth:`channels` does not run the
    #: gate on the same image twice (a whole gate pass per colour frame).
    luminance_boxes: tuple[int, list[Box]] | None = None

    @property
    def scope(self) -> str:
        """What a remembered verdict holds for: this series, read by this engine."""
        return f"{getattr(self.backend, 'name', type(self.backend).__name__)}|{self.series}"

    def frame(self, index: int, grey: Grey8) -> None:
        candidates = candidate_boxes(grey)
        self.luminance_boxes = (index, list(candidates))
        if not candidates:
            return
        self.with_candidates += 1
        if not self.read_whole:
            seen = [k for k in self.checked if _unchanged(grey, k)]
            candidates = [c for c in candidates if not _explained(c, seen)]
            keys = {c: _layout_key(self.scope, grey, c) for c in candidates}
            unknown = [c for c in candidates if keys[c] not in _TEXT_FREE_LAYOUT]
            if not unknown or not reads_characters(self.backend, grey, unknown):
                # Nothing the gate proposed reads as characters: no whole-frame OCR. The boxes
                # are remembered, so a later frame (or file of the series) showing the same
                # pixels there is not checked again.
                self.checked.extend(_Carried(b, _crop(grey, b).copy(), None) for b in candidates)
                _remember_text_free(keys[c] for c in unknown)
                return
            self._read_whole(index, grey, candidates)
            return
        still = [c for c in self.carried if _unchanged(grey, c)]
        for carried in still:
            if carried.text is not None:
                self.findings.append(_finding(index, carried.text, self.identifying))
        for box in candidates:
            if not _explained(box, still):
                self._defer(index, box, _crop(grey, box))

    def channels(self, index: int, luminance: Grey8, views: Sequence[Grey8]) -> None:
        """Queue for OCR what a colour channel shows as text but luminance does not."""
        if not views:
            return
        known = self.luminance_boxes
        boxes = known[1] if known is not None and known[0] == index else candidate_boxes(luminance)
        seen = [_Carried(box, np.empty((0, 0), np.uint8), None) for box in boxes]
        seen.extend(
            _Carried(f.box, np.empty((0, 0), np.uint8), None)
            for f in self.findings
            if f.frame == index and f.overlay is None
        )
        for view in views:
            for box in candidate_boxes(view):
                if not _explained(box, seen):
                    if self.scale == 1 and min(view.shape) < SMALL_FRAME_SIDE:
                        self.scale = 2
                    # Every view's crop is read: the same strokes can be legible in one
                    # channel (bright on grey) and not in another (dark on grey).
                    self._defer(index, box, _crop(view, box))

    def _read_whole(self, index: int, grey: Grey8, candidates: Sequence[Box]) -> None:
        self.read_whole = True
        self.scale = 2 if min(grey.shape) < SMALL_FRAME_SIDE else 1
        texts = self.backend.read(grey, candidates)
        self.ocr_calls += 1
        self.findings.extend(_finding(index, t, self.identifying) for t in texts)
        self.carried = [_Carried(t.box, _crop(grey, t.box).copy(), t) for t in texts]
        # Text-free candidates (anatomy, rulers) are remembered too, so they do not need OCR
        # again while their pixels stay the same.
        self.carried.extend(
            _Carried(box, _crop(grey, box).copy(), None)
            for box in candidates
            if not _explained(box, self.carried)
        )

    def _defer(self, index: int, box: Box, pixels: Grey8) -> None:
        same_place = self.pending.setdefault(box, [])
        for item in same_place:
            if _unchanged(pixels, _Carried((0, 0, box[2], box[3]), item.pixels, None)):
                item.frames.append(index)
                return
        same_place.append(_Pending(box, pixels.copy(), [index]))

    def _may_hold_text(self, item: _Pending) -> bool:
        whole = (0, 0, item.pixels.shape[1], item.pixels.shape[0])
        key = _layout_key(self.scope, item.pixels, item.box)
        if key in _TEXT_FREE_LAYOUT:
            return False
        if reads_characters(self.backend, item.pixels, [whole]):
            return True
        _remember_text_free([key])
        return False

    def flush(self) -> None:
        """OCR the deferred crops, a page at a time."""
        pending = [item for items in self.pending.values() for item in items]
        self.pending = {}
        if len(pending) <= CHECK_LIMIT:
            # A few crops: the recogniser alone tells text from structure cheaper than a page.
            pending = [item for item in pending if self._may_hold_text(item)]
        for page, slots in _pages(pending, self.scale):
            boxes = [(s.x, s.y, s.w, s.h) for s in slots]
            texts = self.backend.read(page, boxes)
            self.ocr_calls += 1
            for text in texts:
                # A line detector may join neighbouring tiles into one line: every tile under
                # the line gets the finding, clipped to that tile.
                for slot in _slots_under(text, slots):
                    placed = _to_frame(_clip_to_slot(text, slot), slot, self.scale)
                    for index in slot.pending.frames:
                        self.findings.append(_finding(index, placed, self.identifying))


def overlay_groups(ds: Dataset) -> list[int]:
    """The overlay groups (0x6000..0x601E) of ``ds`` that carry Overlay Data."""
    return [group for group in range(0x6000, 0x6020, 2) if (group << 16 | 0x3000) in ds]


def _overlay_image(ds: Dataset, group: int) -> Grey8:
    plane = np.asarray(ds.overlay_array(group))
    if plane.ndim == 3:
        # Multi-frame overlays: anything drawn in any frame is looked at.
        plane = plane.max(axis=0)
    return np.asarray(np.where(plane > 0, 255, 0), dtype=np.uint8)


def _scan_overlays(ds: Dataset, scan: _Scan) -> None:
    for group in overlay_groups(ds):
        image = _overlay_image(ds, group)
        candidates = candidate_boxes(image)
        if not candidates:
            continue
        texts = scan.backend.read(image, candidates)
        scan.ocr_calls += 1
        scan.findings.extend(_finding(0, t, scan.identifying, overlay=group) for t in texts)


def detect_text(
    ds: Dataset,
    identifying_values: IdentifyingValues,
    *,
    backend: str | OcrBackend = "default",
    frames: Iterable[int] | None = None,
    overlays: bool = True,
) -> DetectionReport:
    """Find burned-in text in every frame (or ``frames``) and, with ``overlays``, overlay planes.

    ``identifying_values`` come from the input header
    (:func:`deidengine.dicom.identifiers.collect_identifying_values`); a finding is identifying
    when its text matches them or an identifying pattern (:mod:`deidengine.pixels.match`).
    """
    engine = resolve_backend(backend)
    scan = _Scan(engine, identifying_values, series=str(ds.get("SeriesInstanceUID", "") or ""))
    total = 0
    scanned = 0
    if "PixelData" in ds:
        source = read_frames(ds)
        total = len(source)
        indices = range(total) if frames is None else sorted(set(frames))
        for index in indices:
            frame = source.frame(index)
            grey, views = detection_views(frame, ds, source.photometric)
            scan.frame(index, grey)
            scan.channels(index, grey, views)
            scanned += 1
        scan.flush()
    if overlays:
        _scan_overlays(ds, scan)
    return DetectionReport(
        frames=total,
        frames_scanned=scanned,
        frames_with_candidates=scan.with_candidates,
        ocr_calls=scan.ocr_calls,
        backend=getattr(engine, "name", type(engine).__name__),
        # Several colour views can read the same line: one finding each.
        findings=tuple(dict.fromkeys(scan.findings)),
    )
