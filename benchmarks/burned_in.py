"""Burned-in text benchmark: synthetic text on real pydicom pixels, and what redaction leaves.

Run by hand (a few minutes on 2 cores): ``python -m benchmarks.burned_in [--quick]``. It
prints, for the whole set:

- **readable after redaction**: drawn identifier lines that RapidOCR or tesseract can still
  read (leniently matched against the line's own values) in the written output. Target 0.
- **pixels outside the text rectangles unchanged**: per image, the share of pixels outside
  the drawn lines' rectangles (each grown by half its glyph height) that are bit-identical
  after redaction. Target >= 99% for every image.
- **false redactions**: text-free frames (rulers, colour bars, Doppler-like colour, calipers)
  whose pixels changed under ``ocr-redact all``. Target 0.
- **ms per frame** with and without text, and the ``deid run`` time of ``hipaa-safe-harbor``
  against ``annex-e/basic`` on text-free CT/MR and US/SC files, as a ratio in one run: several
  runs (fresh files and series each), the policies taking turns file by file; the median and
  the fastest run's ratio.

Every case is built in memory from a seed: bases are real pixels of pydicom's test files (CT,
MR, ultrasound-like RGB, YBR_FULL, palette, JPEG 2000 lossy and JPEG baseline sources,
multi-frame), 128² to 1024²; text in OpenCV Hershey faces and DejaVu TrueType fonts (Pillow),
glyphs 8-40 px, at the four corners and mid-edges, white, yellow, green or inverted.
"""

from __future__ import annotations

import argparse
import copy
import io
import random
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt
import pydicom
from PIL import Image, ImageDraw, ImageFont
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.uid import JPEG2000, ExplicitVRLittleEndian, JPEGBaseline8Bit, generate_uid

__all__ = ["Case", "build_cases", "main", "negative_cases", "score_case"]

NAME_PARTS: Final = ("DOE", "JANE")
PATIENT_ID: Final = "48213977"
BIRTH_DATE: Final = "19620315"

#: (text, the values it states) - names, IDs and dates in several written forms.
LINES: Final = (
    ("DOE^JANE", ("DOE", "JANE")),
    ("DOE, JANE", ("DOE", "JANE")),
    ("Name: JANE DOE", ("DOE", "JANE")),
    ("MRN 48213977", (PATIENT_ID,)),
    ("ID: 48213977", (PATIENT_ID,)),
    ("1962-03-15", ("1962",)),
    ("15-MAR-1962", ("1962",)),
    ("03/15/1962", ("1962",)),
    ("DOB 19620315", (BIRTH_DATE,)),
)

HERSHEY: Final = (
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_PLAIN,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX_SMALL,
)
TRUETYPE: Final = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)
#: Where a line goes: the four corners and the four mid-edges.
PLACES: Final = ("tl", "tr", "bl", "br", "tc", "bc", "ml", "mr")
COLOURS: Final = {"white": (255, 255, 255), "yellow": (255, 255, 0), "green": (0, 255, 0)}

Mask = npt.NDArray[np.bool_]


@dataclass
class Case:
    """One image: the dataset, the drawn lines' rectangles and values, and its label."""

    label: str
    dataset: Dataset
    rectangles: list[tuple[int, int, int, int]] = field(default_factory=list)
    values: list[tuple[str, ...]] = field(default_factory=list)


def _load(name: str) -> Dataset:
    path = get_testdata_file(name)
    assert path is not None, name
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(path)


def _identity(ds: Dataset) -> Dataset:
    ds.PatientName = "DOE^JANE"
    ds.PatientID = PATIENT_ID
    ds.PatientBirthDate = BIRTH_DATE
    ds.SOPInstanceUID = generate_uid()
    return ds


def _anatomy(name: str, side: int) -> npt.NDArray[np.float32]:
    array = _load(name).pixel_array.astype(np.float32)
    return np.asarray(cv2.resize(array, (side, side), interpolation=cv2.INTER_CUBIC))


def _grey_base(name: str, side: int) -> tuple[Dataset, npt.NDArray[np.generic]]:
    ds = _identity(_load(name))
    array = np.clip(_anatomy(name, side), 0, 4095).astype(np.uint16)
    ds.Rows = ds.Columns = side
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    for keyword in ("NumberOfFrames", "WindowCenter", "WindowWidth"):
        if keyword in ds:
            del ds[keyword]
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return ds, array


def _us_base(side: int, rng: random.Random) -> npt.NDArray[np.uint8]:
    """An ultrasound-like RGB frame: MR anatomy in a sector on black."""
    grey = _anatomy("MR_small.dcm", side)
    grey = np.clip(grey / max(1.0, float(grey.max())) * 200, 0, 255).astype(np.uint8)
    sector = np.zeros((side, side), np.uint8)
    centre = (side // 2, -side // 8)
    cv2.ellipse(sector, centre, (side, side), 90, -35, 35, 255, -1)
    sector[: side // 8] = 0
    frame = np.where(sector > 0, grey, 0).astype(np.uint8)
    return np.asarray(np.stack([frame] * 3, axis=-1), dtype=np.uint8)


def _anchor(
    place: str, size: tuple[int, int], width: int, height: int, inset: int
) -> tuple[int, int]:
    w, h = size
    x = {"l": inset, "r": width - w - inset, "c": (width - w) // 2}
    y = {"t": inset, "b": height - h - inset, "m": (height - h) // 2}
    vertical, horizontal = place[0], place[1]
    if place in ("ml", "mr"):
        vertical, horizontal = "m", place[1]
    return x[horizontal], y[vertical]


def _render(text: str, font: object, glyph: int) -> npt.NDArray[np.uint8]:
    """The line as a tight 8-bit alpha mask, cap height about ``glyph`` pixels."""
    if isinstance(font, str):
        face = ImageFont.truetype(font, size=max(8, int(glyph * 1.35)))
        left, top, right, bottom = (int(v) for v in face.getbbox(text))
        page = Image.new("L", (right - left + 4, bottom - top + 4), 0)
        ImageDraw.Draw(page).text((2 - left, 2 - top), text, fill=255, font=face)
        return np.asarray(page, dtype=np.uint8)
    assert isinstance(font, int)
    base = cv2.getTextSize("H", font, 1.0, 1)[0][1]
    scale = glyph / max(1, base)
    thickness = max(1, round(glyph / 12))
    (w, h), baseline = cv2.getTextSize(text, font, scale, thickness)
    canvas = np.zeros((h + baseline + 4, w + 4), np.uint8)
    cv2.putText(canvas, text, (2, h + 2), font, scale, 255, thickness, cv2.LINE_AA)
    return canvas


def _draw(
    picture: npt.NDArray[np.uint8],
    rng: random.Random,
    places: Sequence[str],
    glyph: int,
    colour: str,
    case: Case,
) -> None:
    height, width = picture.shape[:2]
    used: list[tuple[int, int, int, int]] = []
    for place in places:
        text, values = LINES[rng.randrange(len(LINES))]
        font: object = rng.choice((*HERSHEY, *TRUETYPE))
        alpha = _render(text, font, glyph)
        h, w = alpha.shape
        if w + 8 > width:
            alpha = alpha[:, : width - 8]
            h, w = alpha.shape
        x, y = _anchor(place, (w, h), width, height, max(2, glyph // 3))
        rect = (x, y, w, h)
        if any(_overlap(rect, other) for other in used):
            continue
        used.append(rect)
        region = picture[y : y + h, x : x + w]
        weight = (
            (alpha.astype(np.float32) / 255.0)[..., None]
            if picture.ndim == 3
            else (alpha.astype(np.float32) / 255.0)
        )
        if colour == "inverted":
            # Dark text on a light label, as some devices and screenshots draw it.
            region[...] = 230
            ink = np.zeros_like(region, dtype=np.float32)
        else:
            rgb = COLOURS[colour]
            ink = (
                np.broadcast_to(np.array(rgb, np.float32), region.shape)
                if picture.ndim == 3
                else np.full(region.shape, 255, np.float32)
            )
        region[...] = (region * (1 - weight) + ink * weight).astype(np.uint8)
        case.rectangles.append(rect)
        case.values.append(values)


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return not (
        a[0] + a[2] <= b[0] or b[0] + b[2] <= a[0] or a[1] + a[3] <= b[1] or b[1] + b[3] <= a[1]
    )


def _as_grey_dataset(
    ds: Dataset, display: npt.NDArray[np.uint8], array: npt.NDArray[np.generic]
) -> Dataset:
    """Burn the display-space text into the stored 12-bit values at the stored maximum."""
    top = int(array.max())
    stored = np.where(display > 0, (display.astype(np.float32) / 255.0 * top), array).astype(
        np.uint16
    )
    ds.PixelData = stored.tobytes()
    return ds


def _rgb_dataset(frame: npt.NDArray[np.uint8], frames: int = 1) -> Dataset:
    ds = _identity(_load("examples_rgb_color.dcm"))
    ds.Rows, ds.Columns = frame.shape[:2]
    ds.PlanarConfiguration = 0
    ds.PixelData = np.stack([frame] * frames).tobytes() if frames > 1 else frame.tobytes()
    if frames > 1:
        ds.NumberOfFrames = frames
    return ds


def _ybr(ds: Dataset, frame: npt.NDArray[np.uint8]) -> Dataset:
    from pydicom.pixels.processing import convert_color_space

    ds.PixelData = np.asarray(convert_color_space(frame, "RGB", "YBR_FULL"), np.uint8).tobytes()
    ds.PhotometricInterpretation = "YBR_FULL"
    return ds


def _palette(frame: npt.NDArray[np.uint8]) -> Dataset:
    ds = _identity(_load("examples_palette.dcm"))
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    ds.Rows, ds.Columns = grey.shape
    ramp = (np.arange(256, dtype=np.uint16) * 257).astype("<u2").tobytes()
    for colour in ("Red", "Green", "Blue"):
        setattr(ds, f"{colour}PaletteColorLookupTableDescriptor", [256, 0, 16])
        setattr(ds, f"{colour}PaletteColorLookupTableData", ramp)
        tag = f"Segmented{colour}PaletteColorLookupTableData"
        if tag in ds:
            del ds[tag]
    ds.PixelData = grey.tobytes()
    return ds


def _jpeg_baseline(frame: npt.NDArray[np.uint8]) -> Dataset:
    ds = _rgb_dataset(frame)
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="JPEG", quality=92, subsampling=0)
    ds.PixelData = encapsulate([buffer.getvalue()])
    ds["PixelData"].VR = "OB"
    ds.PhotometricInterpretation = "YBR_FULL"
    ds.LossyImageCompression = "01"
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    return _roundtrip(ds)


def _jpeg2000_lossy(ds: Dataset) -> Dataset:
    ds.compress(JPEG2000, ds.pixel_array, j2k_cr=[8], generate_instance_uid=False)
    ds.LossyImageCompression = "01"
    return _roundtrip(ds)


def _roundtrip(ds: Dataset) -> Dataset:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    buffer.seek(0)
    return pydicom.dcmread(buffer)


#: Kinds of base image, each a builder from (rng, side, places, glyph, colour, case).
KINDS: Final = ("ct", "mr", "us-rgb", "ybr", "palette", "j2k-lossy", "jpeg", "cine")


def _case(kind: str, side: int, rng: random.Random, text: bool) -> Case:
    glyph = rng.randint(8, max(9, min(40, side // 12)))
    places = rng.sample(PLACES, k=rng.randint(2, 4)) if text else []
    colour = rng.choice(("white", "white", "yellow", "green", "inverted"))
    case = Case(
        f"{kind}-{side}-{'text' if text else 'none'}-{colour if text else ''}{glyph}", Dataset()
    )
    if kind in ("ct", "mr", "j2k-lossy"):
        name = "MR_small.dcm" if kind == "mr" else "CT_small.dcm"
        ds, array = _grey_base(name, side)
        display = np.zeros((side, side), np.uint8)
        _draw(display, rng, places, glyph, "white", case)  # burned in at the stored maximum
        ds = _as_grey_dataset(ds, display, array)
        case.dataset = _jpeg2000_lossy(ds) if kind == "j2k-lossy" else _roundtrip(ds)
        return case
    frame = _us_base(side, rng)
    _structure(frame, rng)
    _draw(frame, rng, places, glyph, colour, case)
    builders: dict[str, Callable[[], Dataset]] = {
        "us-rgb": lambda: _roundtrip(_rgb_dataset(frame)),
        "ybr": lambda: _roundtrip(_ybr(_rgb_dataset(frame), frame)),
        "palette": lambda: _roundtrip(_palette(frame)),
        "jpeg": lambda: _jpeg_baseline(frame),
        "cine": lambda: _roundtrip(_rgb_dataset(frame, frames=3)),
    }
    case.dataset = builders[kind]()
    return case


def _structure(frame: npt.NDArray[np.uint8], rng: random.Random) -> None:
    """Text-like structure that is not text: a ruler, colour bars, Doppler colour, a caliper."""
    height, width = frame.shape[:2]
    x = width - max(6, width // 40) - 2
    for y in range(height // 6, height - height // 6, max(4, height // 40)):
        frame[y, x - (6 if y % 3 else 10) : x] = 200
    bar = max(4, width // 60)
    for index, colour in enumerate(((255, 0, 0), (255, 160, 0), (0, 0, 255), (0, 200, 255))):
        top = height // 4 + index * height // 10
        frame[top : top + height // 10, 2 + bar : 2 + 2 * bar] = colour
    centre = (width // 2 + rng.randint(-width // 10, width // 10), height // 2)
    cv2.ellipse(frame, centre, (width // 10, height // 14), 0, 0, 360, (200, 40, 30), -1)
    cv2.ellipse(frame, centre, (width // 20, height // 28), 0, 0, 360, (30, 60, 220), -1)
    a = (width // 3, height // 2 + height // 8)
    b = (2 * width // 3, height // 2 + height // 6)
    cv2.drawMarker(frame, a, (255, 255, 0), cv2.MARKER_CROSS, max(5, width // 60))
    cv2.drawMarker(frame, b, (255, 255, 0), cv2.MARKER_CROSS, max(5, width // 60))
    cv2.line(frame, a, b, (255, 255, 0), 1)


def build_cases(
    count: int, seed: int = 7, sides: Sequence[int] = (128, 256, 512, 1024)
) -> list[Case]:
    """``count`` images with text, kinds and sizes cycled, everything else drawn from ``seed``."""
    rng = random.Random(seed)
    return [
        _case(KINDS[i % len(KINDS)], sides[(i // len(KINDS)) % len(sides)], rng, True)
        for i in range(count)
    ]


def negative_cases(count: int, seed: int = 11, sides: Sequence[int] = (256, 512)) -> list[Case]:
    """``count`` text-free images with rulers, colour bars, Doppler colour and calipers."""
    rng = random.Random(seed)
    return [_case(KINDS[i % len(KINDS)], sides[i % len(sides)], rng, False) for i in range(count)]


@dataclass(frozen=True)
class Score:
    """What redaction left in one case."""

    label: str
    frames: int
    lines: int
    readable: int
    outside_unchanged: float
    changed: bool
    seconds: float
    quarantined: bool


def _decoded(ds: Dataset) -> npt.NDArray[np.generic]:
    from deidengine.pixels.codec import read_frames

    source = read_frames(ds)
    return np.stack([source.frame(i) for i in range(len(source))])


def score_case(
    case: Case, readers: Sequence[str] = ("rapidocr", "tesseract"), mode: str = "identifying"
) -> Score:
    """Redact ``case`` as ``deid run`` would, then measure leaks and untouched pixels."""
    from deidengine.dicom.identifiers import collect_identifying_values
    from deidengine.pixels.detect import detect_text
    from deidengine.pixels.match import matches_value
    from deidengine.pixels.redact import PixelCleanError, redact_pixels

    ds = copy.deepcopy(case.dataset)
    before = _decoded(ds)
    identifying = collect_identifying_values(ds)
    start = time.perf_counter()
    quarantined = False
    try:
        outcome = redact_pixels(ds, identifying_values=identifying, mode=mode)  # type: ignore[arg-type]
        changed = outcome.changed
    except PixelCleanError:
        quarantined, changed = True, True
    seconds = time.perf_counter() - start
    out = _roundtrip(ds)
    after = _decoded(out)
    frames, rows, columns = before.shape[:3]
    keep = np.ones((rows, columns), bool)
    for x, y, w, h in case.rectangles:
        grow = max(2, h // 2)
        keep[max(0, y - grow) : y + h + grow, max(0, x - grow) : x + w + grow] = False
    same = before == after
    if same.ndim == 4:
        same = same.all(axis=-1)
    outside = float(same[:, keep].mean()) if keep.any() else 1.0
    readable = 0
    if case.rectangles and not quarantined:
        from deidengine.dicom.identifiers import IdentifyingValues

        texts: list[tuple[int, int, int, int, str]] = []
        for reader in readers:
            report = detect_text(out, identifying, backend=reader)
            texts.extend((f.x, f.y, f.w, f.h, f.text) for f in report.findings)
        for rect, values in zip(case.rectangles, case.values, strict=True):
            own = IdentifyingValues(ids=frozenset(values))
            if any(_overlap(rect, t[:4]) and matches_value(t[4], own) for t in texts):
                readable += 1
    return Score(
        case.label, frames, len(case.rectangles), readable, outside, changed, seconds, quarantined
    )


@dataclass(frozen=True)
class CostRatio:
    """``hipaa-safe-harbor`` against ``annex-e/basic`` on text-free files, run by run."""

    #: (basic seconds, safe-harbor seconds) of each run, wall-clock.
    rounds: tuple[tuple[float, float], ...]
    #: The same, in this process's CPU time: steadier on a shared machine (it leaves out the
    #: waits for a core and for the disk, the latter alike for both policies).
    cpu_rounds: tuple[tuple[float, float], ...] = ()

    @property
    def ratios(self) -> list[float]:
        """Each run's ratio (its safe-harbor seconds over its basic seconds)."""
        return [safe / basic for basic, safe in self.rounds]

    @property
    def fastest(self) -> float:
        return min(self.ratios)

    @property
    def median(self) -> float:
        return statistics.median(self.ratios)

    @property
    def cpu_median(self) -> float:
        return statistics.median(safe / basic for basic, safe in self.cpu_rounds)


def _cost_ratio(kinds: Sequence[str], files: int, rounds: int) -> CostRatio:
    """The ratio of deid's whole pipeline on text-free files, ``rounds`` times.

    Each round is a fresh run: new files (new SOP Instance UIDs), one new series per kind, so
    each round pays what a new series pays (the recogniser's check of a gate box, remembered
    for the rest of the series). The two policies take turns file by file, so both see the
    same load on a shared machine; the median and the fastest round are reported.
    """
    with tempfile.TemporaryDirectory(prefix="burned-in-bench-") as name:
        return _cost_ratio_in(Path(name), kinds, files, rounds)


def _cost_ratio_in(folder: Path, kinds: Sequence[str], files: int, rounds: int) -> CostRatio:
    """:func:`_cost_ratio`, its files and outputs in ``folder`` (removed afterwards)."""
    from deidengine.run.pipeline import FileProcessor, RunSettings

    rng = random.Random(5)
    # A worker loads the OCR models once per run: load them before timing, as the first file
    # of a real run would.
    from deidengine.pixels.ocr import get_backend, reads_characters

    engine = get_backend("default")
    engine.read(np.zeros((64, 256), np.uint8), [])
    reads_characters(engine, np.zeros((32, 96), np.uint8), [(0, 0, 96, 32)])
    policies = ("annex-e/basic", "hipaa-safe-harbor")
    # The baseline keeps its pixels unread by a rule (benchmarks/policies/header-only.policy):
    # without one, annex-e/basic quarantines US and SC images before any work
    # (pixels-not-examined), which is not the header-only pipeline this ratio divides by.
    kept = Path(__file__).parent / "policies" / "header-only.policy"
    specs = {
        "annex-e/basic": f"annex-e/basic,{kept}",
        "hipaa-safe-harbor": "hipaa-safe-harbor",
    }
    processors = {
        policy: FileProcessor(
            RunSettings(
                specs[policy], b"b" * 32, str(folder / policy / "out"), str(folder / policy / "q")
            )
        )
        for policy in policies
    }
    warm = _case(kinds[0], 512, rng, False).dataset
    warm.save_as(folder / "warm.dcm", enforce_file_format=True)
    for processor in processors.values():
        processor.process(str(folder / "warm.dcm"))  # warm-up: plan, OCR models
    measured: list[tuple[float, float]] = []
    measured_cpu: list[tuple[float, float]] = []
    for round_number in range(rounds):
        series = {kind: generate_uid() for kind in kinds}
        paths = []
        for index in range(files):
            kind = kinds[index % len(kinds)]
            case = _case(kind, 512, rng, False)
            case.dataset.SeriesInstanceUID = series[kind]
            path = folder / f"{round_number}-{index}.dcm"
            case.dataset.save_as(path, enforce_file_format=True)
            paths.append(path)
        timings = dict.fromkeys(policies, 0.0)
        cpu = dict.fromkeys(policies, 0.0)
        for path in paths:
            for policy in policies:
                start, start_cpu = time.perf_counter(), time.process_time()
                processors[policy].process(str(path))
                timings[policy] += time.perf_counter() - start
                cpu[policy] += time.process_time() - start_cpu
        measured.append((timings["annex-e/basic"], timings["hipaa-safe-harbor"]))
        measured_cpu.append((cpu["annex-e/basic"], cpu["hipaa-safe-harbor"]))
    return CostRatio(tuple(measured), tuple(measured_cpu))


def main(argv: Sequence[str] | None = None) -> None:
    """Print the benchmark table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="16 + 8 cases instead of 48 + 16")
    options = parser.parse_args(argv)
    positives = build_cases(16 if options.quick else 48)
    negatives = negative_cases(8 if options.quick else 16)
    scores = [score_case(case) for case in positives]
    false_scores = [score_case(case, readers=(), mode="all") for case in negatives]
    lines = sum(s.lines for s in scores)
    print(f"{'case':34s} lines readable outside-unchanged ms/frame quarantined")
    for s in scores:
        ms = 1000 * s.seconds / s.frames
        print(
            f"{s.label:34s} {s.lines:5d} {s.readable:8d} {100 * s.outside_unchanged:16.2f}% "
            f"{ms:8.0f} {s.quarantined}"
        )
    print()
    print(f"images with text: {len(scores)}, lines drawn: {lines}")
    print(f"lines still readable after redaction: {sum(s.readable for s in scores)} (target 0)")
    quarantined = sum(s.quarantined for s in scores)
    print(f"files quarantined (text still readable, fail closed): {quarantined}")
    worst = min(s.outside_unchanged for s in scores)
    below = sum(s.outside_unchanged < 0.99 for s in scores)
    print(
        f"pixels outside text rectangles unchanged: worst {100 * worst:.2f}%, "
        f"images below 99%: {below} (target 0)"
    )
    false = sum(s.changed for s in false_scores)
    print(f"false redactions on {len(false_scores)} text-free frames (ocr-redact all): {false}")
    with_text = statistics.median(1000 * s.seconds / s.frames for s in scores)
    without = statistics.median(1000 * s.seconds / s.frames for s in false_scores)
    print(f"median ms per frame: with text {with_text:.0f}, without text {without:.0f}")
    for label, kinds in (("CT/MR", ("ct", "mr")), ("US/SC", ("us-rgb", "palette", "jpeg"))):
        cost = _cost_ratio(kinds, 6 if options.quick else 12, 3 if options.quick else 7)
        basic = statistics.median(b for b, _ in cost.rounds)
        safe = statistics.median(s for _, s in cost.rounds)
        print(
            f"text-free {label}, {len(cost.rounds)} runs: annex-e/basic {basic:.3f} s, "
            f"hipaa-safe-harbor {safe:.3f} s (medians); ratio median {cost.median:.2f}x, "
            f"fastest {cost.fastest:.2f}x, runs {' '.join(f'{r:.2f}' for r in cost.ratios)}; "
            f"in CPU time: median {cost.cpu_median:.2f}x"
        )


if __name__ == "__main__":
    main()
