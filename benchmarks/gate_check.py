"""The gate boxes' character check, two-stage against full: does the cheap stage lose text?

Run by hand (a few minutes on 2 cores): ``python -m benchmarks.gate_check``. For every gate
box on every view (luminance and colour channels) of each crop set it asks RapidOCR's
recogniser the full question (crop padded to 48 x 320: two or more letters or digits?) and
the two-stage one (:func:`deidengine.pixels.ocr.reads_characters`: a crop that is smooth and
one lobe, :func:`deidengine.pixels.strokes.text_free_by_shape`, is text-free without the
recogniser), and prints per set:

- **settled**: crops the shape test calls text-free (no recogniser call).
- **flips**: crops the full check reads as text that the two-stage check calls text-free.
  Target 0 on every set.
- the smallest lobe depth and edge steepness of the crops read as text (the shape test's
  margins: it needs both below 0.15 and 4.5), and each check's time per crop.

The sets: ``benchmark`` is the burned-in benchmark's own text frames (seed 7, where the
thresholds were looked at); ``held-out`` is drawn by the same generator with another seed,
other Hershey faces (triplex, complex, italic, script) and other TrueType faces (DejaVu Serif,
Sans Bold, Sans Condensed; Liberation Sans, Mono, Serif Bold), kept apart from the tuning;
``blurred`` is the gate's crops of the benchmark's 128² and 256² text frames enlarged 2x and
4x and blurred (see :func:`blurred_crops`); ``text-free`` is the benchmark's text-free frames
and text-free CT/MR slices (the MR anatomy box); ``pydicom`` is the first three frames of
every pydicom test file that decodes (real images, none tuned on).
"""

from __future__ import annotations

import argparse
import random
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pydicom
import pydicom.data

from benchmarks import burned_in
from deidengine.pixels.codec import detection_views, read_frames
from deidengine.pixels.gate import candidate_boxes
from deidengine.pixels.ocr import MIN_CHARACTERS, RapidOcrBackend, reads_characters
from deidengine.pixels.strokes import edge_steepness, lobe_depth, text_free_by_shape

__all__ = ["blurred_crops", "crops", "held_out_cases", "main", "pydicom_crops"]

Grey8 = npt.NDArray[np.uint8]

_DEJAVU = "/usr/share/fonts/truetype/dejavu/"
_LIBERATION = "/usr/share/fonts/truetype/liberation/"
HELD_OUT_HERSHEY = (
    cv2.FONT_HERSHEY_TRIPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_SIMPLEX | cv2.FONT_ITALIC,
    cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
    cv2.FONT_HERSHEY_DUPLEX | cv2.FONT_ITALIC,
)
HELD_OUT_TRUETYPE = (
    _DEJAVU + "DejaVuSerif.ttf",
    _DEJAVU + "DejaVuSans-Bold.ttf",
    _DEJAVU + "DejaVuSansCondensed.ttf",
    _LIBERATION + "LiberationSans-Regular.ttf",
    _LIBERATION + "LiberationMono-Regular.ttf",
    _LIBERATION + "LiberationSerif-Bold.ttf",
)


def held_out_cases(count: int = 64, seed: int = 2027) -> list[burned_in.Case]:
    """Text frames from the benchmark's generator in faces it does not use, another seed."""
    # The generator draws from these two module constants; swapped for this call only.
    faces = {"HERSHEY": burned_in.HERSHEY, "TRUETYPE": burned_in.TRUETYPE}
    setattr(burned_in, "HERSHEY", HELD_OUT_HERSHEY)  # noqa: B010
    setattr(burned_in, "TRUETYPE", HELD_OUT_TRUETYPE)  # noqa: B010
    try:
        return burned_in.build_cases(count, seed=seed)
    finally:
        for name, value in faces.items():
            setattr(burned_in, name, value)


def crops(cases: Sequence[burned_in.Case]) -> Iterator[Grey8]:
    """Every gate box's crop on every detection view of every frame of ``cases``."""
    for case in cases:
        source = read_frames(case.dataset)
        for index in range(len(source)):
            grey, views = detection_views(source.frame(index), case.dataset, source.photometric)
            for view in (grey, *views):
                for x, y, w, h in candidate_boxes(view):
                    yield np.ascontiguousarray(view[y : y + h, x : x + w]).copy()


def blurred_crops(cases: Sequence[burned_in.Case], largest: int = 256) -> Iterator[Grey8]:
    """The gate's crops of the grey views of ``cases`` (up to ``largest`` pixels a side) as a
    display zoom or a lossy re-scale leaves them: enlarged 2x and 4x (linear), and 2x then
    blurred (Gaussian sigma 1, 2 and 3 pixels). Only what the gate proposes on such a frame
    ever reaches the character check."""
    for case in cases:
        source = read_frames(case.dataset)
        if max(source.frame(0).shape[:2]) > largest:
            continue
        grey, _views = detection_views(source.frame(0), case.dataset, source.photometric)
        double = cv2.resize(grey, None, fx=2, fy=2, interpolation=cv2.INTER_LINEAR)
        frames = [double, cv2.resize(grey, None, fx=4, fy=4, interpolation=cv2.INTER_LINEAR)]
        frames += [cv2.GaussianBlur(double, (0, 0), sigma) for sigma in (1, 2, 3)]
        for frame in frames:
            view = np.asarray(frame, np.uint8)
            for x, y, w, h in candidate_boxes(view):
                yield np.ascontiguousarray(view[y : y + h, x : x + w]).copy()


def pydicom_crops(frames: int = 3) -> Iterator[Grey8]:
    """The gate's crops of the first ``frames`` frames of every pydicom test file that
    decodes (listed from the package's folder, so nothing is downloaded)."""
    folder = Path(pydicom.data.__file__).resolve().parent / "test_files"
    for path in sorted(folder.glob("*.dcm")):
        try:
            ds = pydicom.dcmread(path)
            source = read_frames(ds)
            count = min(len(source), frames)
            views = [detection_views(source.frame(i), ds, source.photometric) for i in range(count)]
        except Exception:  # a test file that does not decode has no crops
            continue
        for grey, colour in views:
            for view in (grey, *colour):
                for x, y, w, h in candidate_boxes(view):
                    yield np.ascontiguousarray(view[y : y + h, x : x + w]).copy()


@dataclass(frozen=True)
class Outcome:
    """The two checks over one set of crops."""

    name: str
    crops: int
    text: int
    settled: int
    flips: int
    text_lobe_depth: float
    text_steepness: float
    full_ms: float
    two_stage_ms: float


def compare(name: str, items: Sequence[Grey8], backend: RapidOcrBackend) -> Outcome:
    """Both checks on every crop of ``items``."""
    text = flips = settled = 0
    depths = [1.0]
    steepness = [float("inf")]
    full_time = two_time = 0.0
    for crop in items:
        whole = [(0, 0, crop.shape[1], crop.shape[0])]
        start = time.perf_counter()
        full = backend.crop_characters(crop) >= MIN_CHARACTERS
        middle = time.perf_counter()
        two = reads_characters(backend, crop, whole)
        full_time += middle - start
        two_time += time.perf_counter() - middle
        cheap = text_free_by_shape(crop)
        settled += cheap
        text += full
        flips += full and not two
        if full:
            depths.append(lobe_depth(crop))
            steepness.append(edge_steepness(crop))
    count = max(1, len(items))
    return Outcome(
        name,
        len(items),
        text,
        settled,
        flips,
        min(depths),
        min(steepness),
        1000 * full_time / count,
        1000 * two_time / count,
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.parse_args(argv)
    warnings.simplefilter("ignore")  # pydicom's warnings on its deliberately odd test files
    backend = RapidOcrBackend()
    benchmark = list(crops(burned_in.build_cases(48)))
    held = list(crops(held_out_cases()))
    free = list(crops(burned_in.negative_cases(16)))
    free += list(crops([burned_in._case(k, 512, _rng(k), False) for k in ("ct", "mr")]))
    sets = (
        ("benchmark", benchmark),
        ("held-out", held),
        ("blurred", list(blurred_crops(burned_in.build_cases(48)))),
        ("text-free", free),
        ("pydicom", list(pydicom_crops())),
    )
    print(
        f"{'set':10s} crops text settled flips text-lobe-depth text-steepness "
        "full-ms two-stage-ms (per crop; settled: by shape, no recogniser; flips: text lost)"
    )
    for name, items in sets:
        o = compare(name, items, backend)
        print(
            f"{o.name:10s} {o.crops:5d} {o.text:4d} {o.settled:7d} {o.flips:5d} "
            f"{o.text_lobe_depth:15.2f} {o.text_steepness:14.1f} {o.full_ms:7.1f} "
            f"{o.two_stage_ms:12.1f}"
        )


def _rng(kind: str) -> random.Random:
    return random.Random(f"gate-check-{kind}")


if __name__ == "__main__":
    main()
