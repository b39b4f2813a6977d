"""OCR backends behind one small protocol, chosen by name from :data:`BACKENDS`.

- ``rapidocr``: RapidOCR, ONNX models inside the wheel: 1.4.4 (PP-OCRv4) where installed, else
  the 3.x release a plain ``pip install`` brings (PP-OCRv6 small). 1.4.4: best recall and text
  quality measured here (shared/notes/ocr-findings.md), ~200 ms per 512x512 frame on one core.
  It runs its own text detector over the whole frame, so it does not need the gate's boxes.
- ``tesseract``: the Tesseract binary through pytesseract. Starting the process costs ~115 ms,
  so each frame makes exactly one call: the gate's crops are upscaled, binarised and stacked
  into one "mosaic" page, read with page segmentation mode 11, and the words are mapped back
  to the crops they came from.

``default`` is the backend with the better measured recall that is installed (rapidocr, else
tesseract). Engines are built lazily, once per process, and pinned to one thread: on a 2-core
machine one thread per process beats two threads (parallelise across files instead).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Final, Protocol, runtime_checkable

import cv2
import numpy as np
import numpy.typing as npt

from deidengine.errors import DeidError, EngineCode
from deidengine.pixels.gate import Box, pad_box
from deidengine.pixels.strokes import text_free_by_shape

__all__ = [
    "BACKENDS",
    "DEFAULT_ORDER",
    "OcrBackend",
    "OcrUnavailableError",
    "RapidOcrBackend",
    "TesseractBackend",
    "TextBox",
    "get_backend",
    "reads_characters",
]

Grey8 = npt.NDArray[np.uint8]


class OcrUnavailableError(DeidError, RuntimeError):
    """The requested OCR backend is not installed or not known."""

    code = EngineCode.OCR_UNAVAILABLE


@dataclass(frozen=True)
class TextBox:
    """One line or word of recognised text, in image pixel coordinates.

    The repr never shows the text: recognised text may be a patient's name.
    """

    x: int
    y: int
    w: int
    h: int
    text: str
    confidence: float

    def __repr__(self) -> str:
        return (
            f"TextBox(x={self.x}, y={self.y}, w={self.w}, h={self.h}, "
            f"<{len(self.text)} characters>, confidence={self.confidence:.2f})"
        )

    __str__ = __repr__

    @property
    def box(self) -> Box:
        """``(x, y, w, h)``."""
        return self.x, self.y, self.w, self.h


@runtime_checkable
class OcrBackend(Protocol):
    """Reads text from an 8-bit grey image.

    ``boxes`` are the gate's candidate regions (never empty when called by the engine); a
    backend may read only those regions or the whole image. Returned boxes are in image
    coordinates.
    """

    name: str

    def read(self, image: Grey8, boxes: Sequence[Box]) -> list[TextBox]:
        """Recognise the text of ``image``."""
        ...


# --- mosaic (shared by the crop-reading backend) ----------------------------------------------


@dataclass(frozen=True)
class _Slot:
    """Where one crop sits in the mosaic: its rows, and its origin in the image."""

    top: int
    bottom: int
    crop: Box


@dataclass(frozen=True)
class _Mosaic:
    page: Grey8
    slots: tuple[_Slot, ...]
    scale: int
    border: int


def _binarise_dark_on_white(crop: Grey8) -> Grey8:
    _, binary = cv2.threshold(crop, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    # Tesseract reads dark text on a light page; the text is the minority of the pixels.
    if float((binary > 0).mean()) < 0.5:
        binary = 255 - binary
    return np.asarray(binary, dtype=np.uint8)


def _build_mosaic(
    image: Grey8, boxes: Sequence[Box], *, scale: int, pad: int, border: int, gap: int
) -> _Mosaic:
    height, width = image.shape
    tiles: list[Grey8] = []
    crops: list[Box] = []
    for box in boxes:
        x, y, w, h = pad_box(box, pad, width, height)
        if w == 0 or h == 0:
            continue
        region = image[y : y + h, x : x + w]
        big = cv2.resize(region, (w * scale, h * scale), interpolation=cv2.INTER_CUBIC)
        tiles.append(_binarise_dark_on_white(np.asarray(big, dtype=np.uint8)))
        crops.append((x, y, w, h))
    page_width = max((t.shape[1] for t in tiles), default=1) + 2 * border
    rows: list[Grey8] = []
    slots: list[_Slot] = []
    top = border
    rows.append(np.full((border, page_width), 255, np.uint8))
    for tile, crop in zip(tiles, crops, strict=True):
        line = np.full((tile.shape[0], page_width), 255, np.uint8)
        line[:, border : border + tile.shape[1]] = tile
        rows.append(line)
        slots.append(_Slot(top, top + tile.shape[0], crop))
        rows.append(np.full((gap, page_width), 255, np.uint8))
        top += tile.shape[0] + gap
    rows.append(np.full((border, page_width), 255, np.uint8))
    return _Mosaic(np.vstack(rows), tuple(slots), scale, border)


# --- tesseract --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Word:
    slot: int
    left: int
    right: int
    text: str
    confidence: float


class TesseractBackend:
    """Gate crops on one mosaic page, one ``tesseract`` process per frame (psm 11)."""

    name = "tesseract"

    def __init__(self, psm: int = 11, scale: int = 3) -> None:
        import pytesseract  # optional dependency, imported when chosen

        if shutil.which(pytesseract.pytesseract.tesseract_cmd) is None:
            raise ImportError(
                "the OCR backend 'tesseract' needs the tesseract program: "
                "apt-get install tesseract-ocr tesseract-ocr-eng"
            )

        self._pytesseract: Any = pytesseract
        self._config = f"--psm {psm} --oem 1"
        self._scale = scale
        # OpenMP threads inside one short-lived process only add start-up cost (~30% here).
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")

    def read(self, image: Grey8, boxes: Sequence[Box]) -> list[TextBox]:
        """Read the ``boxes`` regions of ``image`` (the whole image when there are none)."""
        if not boxes:
            boxes = [(0, 0, image.shape[1], image.shape[0])]
        mosaic = _build_mosaic(image, boxes, scale=self._scale, pad=3, border=10, gap=20)
        if not mosaic.slots:
            return []
        data = self._pytesseract.image_to_data(
            mosaic.page, config=self._config, output_type=self._pytesseract.Output.DICT
        )
        words = self._words(data, mosaic)
        return self._lines(words, mosaic)

    @staticmethod
    def _words(data: dict[str, list[Any]], mosaic: _Mosaic) -> list[_Word]:
        words: list[_Word] = []
        for index, text in enumerate(data["text"]):
            text = str(text).strip()
            confidence = float(data["conf"][index])
            if not text or confidence < 0:
                continue
            centre = int(data["top"][index]) + int(data["height"][index]) // 2
            for number, slot in enumerate(mosaic.slots):
                if slot.top <= centre < slot.bottom:
                    left = int(data["left"][index]) - mosaic.border
                    words.append(
                        _Word(number, left, left + int(data["width"][index]), text, confidence)
                    )
                    break
        return words

    @staticmethod
    def _lines(words: list[_Word], mosaic: _Mosaic) -> list[TextBox]:
        found: list[TextBox] = []
        for number, slot in enumerate(mosaic.slots):
            mine = sorted((w for w in words if w.slot == number), key=lambda w: w.left)
            if not mine:
                continue
            # The gate box (already padded) covers the line; OCR word boxes are tighter.
            x, y, w, h = slot.crop
            text = " ".join(word.text for word in mine)
            confidence = sum(word.confidence for word in mine) / (100.0 * len(mine))
            found.append(TextBox(x, y, w, h, text, confidence))
        return found


# --- rapidocr ---------------------------------------------------------------------------------

#: Below this shorter side RapidOCR must upscale small text to find it (findings, section 5).
SMALL_FRAME_SIDE: Final = 512


#: One RapidOCR detection: the box's four corners, the text and its score.
RapidDetection = tuple[Any, str, float]


@dataclass(frozen=True)
class RapidEngine:
    """One RapidOCR release behind two calls: ``read`` (detector and recogniser over a frame)
    and ``recognise`` (the recogniser alone over one line crop: the texts it reads)."""

    read: Callable[[Grey8], Sequence[RapidDetection]]
    recognise: Callable[[Grey8], Sequence[str]]


def _rapidocr_1(small: bool) -> RapidEngine:
    """rapidocr-onnxruntime 1.4.4 (PP-OCRv4): the release measured best here; setup.sh adds it
    with --no-deps, because its metadata asks for the GUI opencv-python."""
    from rapidocr_onnxruntime import RapidOCR  # optional and heavy: imported on first use

    limits = {} if small else {"det_limit_type": "max", "det_limit_side_len": 960}
    engine = RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1, **limits)

    def read(image: Grey8) -> Sequence[RapidDetection]:
        result, _ = engine(image, use_cls=False)
        return [(points, str(text), float(score)) for points, text, score in result or ()]

    def recognise(crop: Grey8) -> Sequence[str]:
        result, _ = engine(crop, use_det=False, use_cls=False, use_rec=True)
        return [str(text) for text, _score in result or ()]

    return RapidEngine(read, recognise)


def _rapidocr_3(small: bool) -> RapidEngine:
    """rapidocr 3.x (PP-OCRv6 small, models inside the wheel, headless OpenCV): the release a
    plain ``pip install deidengine`` brings."""
    from rapidocr import RapidOCR  # optional and heavy: imported on first use

    params: dict[str, Any] = {
        "Global.log_level": "error",
        "EngineConfig.onnxruntime.intra_op_num_threads": 1,
        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
    }
    if not small:
        params |= {"Det.limit_type": "max", "Det.limit_side_len": 960}
    engine: Any = RapidOCR(params=params)

    def read(image: Grey8) -> Sequence[RapidDetection]:
        result = engine(image, use_cls=False)
        if result.boxes is None:
            return []
        texts, scores = map(str, result.txts), map(float, result.scores)
        return list(zip(result.boxes, texts, scores, strict=True))

    def recognise(crop: Grey8) -> Sequence[str]:
        result = engine(crop, use_det=False, use_cls=False, use_rec=True)
        return [str(text) for text in result.txts or ()]

    return RapidEngine(read, recognise)


#: RapidOCR releases in order of preference (measured recall), by the module each installs.
RAPIDOCR_RELEASES: Final[dict[str, Callable[[bool], RapidEngine]]] = {
    "rapidocr_onnxruntime": _rapidocr_1,
    "rapidocr": _rapidocr_3,
}


def _installed_rapidocr() -> str:
    """The module of the preferred installed RapidOCR release (ImportError names the fix)."""
    for module in RAPIDOCR_RELEASES:
        if importlib.util.find_spec(module) is not None:
            return module
    raise ImportError(
        "the OCR backend 'rapidocr' needs the package: pip install 'rapidocr>=3.10,<4'"
    )


@cache
def _rapidocr_engine(small: bool) -> RapidEngine:
    return RAPIDOCR_RELEASES[_installed_rapidocr()](small)


class RapidOcrBackend:
    """RapidOCR over the whole frame (its detector finds text the gate misses)."""

    name = "rapidocr"

    def __init__(self) -> None:
        _installed_rapidocr()  # fail early, naming the missing package

    def read(self, image: Grey8, boxes: Sequence[Box]) -> list[TextBox]:
        """Read all text of ``image``; ``boxes`` are not needed by this backend."""
        engine = _rapidocr_engine(min(image.shape[:2]) < SMALL_FRAME_SIDE)
        found: list[TextBox] = []
        for points, text, score in engine.read(np.ascontiguousarray(image)):
            corners = np.asarray(points, dtype=np.float64)
            x0, y0 = np.floor(corners.min(axis=0)).astype(int)
            x1, y1 = np.ceil(corners.max(axis=0)).astype(int)
            x0, y0 = max(0, int(x0)), max(0, int(y0))
            x1, y1 = min(image.shape[1], int(x1)), min(image.shape[0], int(y1))
            if x1 > x0 and y1 > y0:
                found.append(TextBox(x0, y0, x1 - x0, y1 - y0, str(text), float(score)))
        return found

    def crop_characters(self, crop: Grey8) -> int:
        """ASCII letters and digits the recogniser (no detector) reads in one line crop."""
        if crop.size == 0:
            return 0
        height = crop.shape[0]
        if height < REC_MIN_HEIGHT:
            factor = REC_MIN_HEIGHT / height
            crop = np.asarray(
                cv2.resize(crop, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC),
                dtype=np.uint8,
            )
        texts = _rapidocr_engine(False).recognise(np.ascontiguousarray(crop))
        return max((_characters(text) for text in texts), default=0)


#: A crop shorter than this is enlarged before the recogniser reads it (small text).
REC_MIN_HEIGHT: Final = 32
#: ASCII letters and digits a crop must read as to count as text (identifiers have more).
MIN_CHARACTERS: Final = 2


def _characters(text: str) -> int:
    return sum(1 for character in text if character.isascii() and character.isalnum())


def reads_characters(backend: OcrBackend, image: Grey8, boxes: Sequence[Box]) -> bool:
    """Cheap text/non-text check of the gate's ``boxes``: True when any reads as characters.

    RapidOCR's recogniser alone (no detector) reads a small crop in ~10-30 ms against ~200 ms
    for the whole-frame detector. On the benchmark's text-free CT, MR and ultrasound frames
    (anatomy, rulers, colour bars, Doppler, calipers) no gate box read as two characters;
    every frame with text had one that did. A backend without a recogniser-only mode answers
    True (the caller then reads the whole frame, as before).

    A crop that is both smooth and one lobe
    (:func:`~deidengine.pixels.strokes.text_free_by_shape`: the anatomy at the top edge of
    MR slices, for one) is text-free without the recogniser: it holds no two strokes. On
    every crop set measured (``python -m benchmarks.gate_check``) it settles no crop the
    recogniser reads as text.
    """
    check: Callable[[Grey8], int] | None = getattr(backend, "crop_characters", None)
    if check is None:
        return True
    crops = (image[y : y + h, x : x + w] for x, y, w, h in boxes)
    # A crop no text can be (smooth and one lobe, :mod:`deidengine.pixels.strokes`) is settled
    # without the recogniser; every other crop gets the full check, as before.
    return any(not text_free_by_shape(crop) and check(crop) >= MIN_CHARACTERS for crop in crops)


# --- registry ---------------------------------------------------------------------------------

#: Backend constructors by name.
BACKENDS: Final[dict[str, Callable[[], OcrBackend]]] = {
    "rapidocr": RapidOcrBackend,
    "tesseract": TesseractBackend,
}

#: What ``default`` means: the first installed of these (measured recall order).
DEFAULT_ORDER: Final = ("rapidocr", "tesseract")


@cache
def _instance(name: str) -> OcrBackend:
    try:
        factory = BACKENDS[name]
    except KeyError:
        raise OcrUnavailableError(f"unknown OCR backend {name!r}") from None
    try:
        return factory()
    except ImportError as error:
        raise OcrUnavailableError(f"OCR backend {name!r} is not installed: {error}") from None


def get_backend(name: str = "default") -> OcrBackend:
    """The (per-process, lazily built) backend called ``name``, or the default one."""
    if name != "default":
        return _instance(name)
    for candidate in DEFAULT_ORDER:
        try:
            return _instance(candidate)
        except OcrUnavailableError:
            continue
    raise OcrUnavailableError("no OCR backend is installed")
