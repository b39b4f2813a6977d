"""Survey a file or tree for burned-in text: the library behind ``deid detect``.

Reports name each file by its position in the walk and a digest of its bytes; paths (which
often carry names and MRNs) appear only when the caller asks for them.

Files are read exactly as ``deid run`` reads them (:func:`deidengine.run.pipeline.read_input`,
with its Pixel Data coherence check). A file that cannot be read or decoded gets one row with
its reason code and the survey goes on: one odd file never ends it.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pydicom.dataset import Dataset

from deidengine.dicom.identifiers import collect_identifying_values
from deidengine.dicom.keys import ProjectSecret
from deidengine.pixels.detect import DetectionReport, detect_text
from deidengine.pixels.gate import pad_box
from deidengine.pixels.ocr import OcrUnavailableError
from deidengine.pixels.review import ReviewRow
from deidengine.run.discover import discover_inputs
from deidengine.run.outcome import REASON_TEXT, Reason, input_reference
from deidengine.run.pipeline import read_input


@dataclass(frozen=True)
class FileDetection:
    """One file's result: a report, or the reason there is none."""

    index: int
    digest: str  # first 16 hex digits of the SHA-256 of the file's bytes
    path: Path
    report: DetectionReport | None
    problem: str | None = None
    #: The keyed reference ``deid run`` names this input by (audit, quarantine), when the
    #: survey was given the project secret (:func:`survey_with_references`).
    reference: str | None = None
    #: Why there is no report (the quarantine reason ``deid run`` would give), or None.
    reason: Reason | None = None

    @property
    def identifying(self) -> bool:
        return self.report is not None and bool(self.report.identifying)

    @property
    def unreadable(self) -> bool:
        """True when the file could not be read or its pixels not decoded."""
        return self.reason is not None

    def to_json(self, show_text: bool = False, show_path: bool = False) -> dict[str, object]:
        data: dict[str, object] = {"file": self.index, "digest": self.digest}
        if self.reference is not None:
            data["input"] = self.reference
        if show_path:
            data["path"] = str(self.path)
        if self.problem:
            data["problem"] = self.problem
        if self.reason is not None:
            data["reason"] = self.reason.value
        if self.report is not None:
            data.update(self.report.to_json(show_text))
        return data


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()[:16]


def _unreadable(index: int, digest: str, path: Path, reason: Reason) -> FileDetection:
    return FileDetection(index, digest, path, None, REASON_TEXT[reason], reason=reason)


def _preview(result: FileDetection, dataset: Dataset, rows: list[ReviewRow]) -> None:
    """Review-sheet rows for the identifying text of one surveyed file, filled as a run would."""
    from deidengine.pixels.masks import IDENTIFYING_TEXT, MaskMark, margin_for
    from deidengine.pixels.review import preview_rows

    if result.report is None:
        return
    width, height = int(dataset.Columns), int(dataset.Rows)
    marks = [
        MaskMark(
            f.frame, pad_box(f.box, margin_for(f.h), width, height), IDENTIFYING_TEXT, f.confidence
        )
        for f in result.report.identifying
        if f.overlay is None
    ]
    rows.extend(preview_rows(f"#{result.index} {result.digest}", dataset, marks))


def _survey_one(
    index: int, path: Path, backend: str, review: list[ReviewRow] | None = None
) -> FileDetection:
    try:
        digest = _digest(path)
    except OSError:
        return _unreadable(index, "", path, Reason.UNREADABLE)
    try:
        dataset = read_input(str(path))
    except Exception as error:  # the reader's quarantine carries a reason; anything else too
        return _unreadable(index, digest, path, getattr(error, "reason", Reason.UNREADABLE))
    if "PixelData" not in dataset:
        return FileDetection(index, digest, path, None, "no pixel data")
    try:
        identifying = collect_identifying_values(dataset)
        report = detect_text(dataset, identifying, backend=backend)
    except OcrUnavailableError:
        raise  # a setup problem, not this file's: the caller stops the survey
    except Exception:  # decoder and plugin errors vary; their messages may quote values
        return _unreadable(index, digest, path, Reason.UNDECODABLE_PIXEL_DATA)
    result = FileDetection(index, digest, path, report)
    if review is not None:
        _preview(result, dataset, review)
    return result


def survey_burned_in_text(
    root: Path, *, backend: str = "default", review: list[ReviewRow] | None = None
) -> Iterator[FileDetection]:
    """Detect text in every image of ``root`` (a file or a tree), file by file, lazily.

    Every input gets exactly one result; an unreadable one has ``reason`` set. With ``review``,
    the review-sheet rows of every frame with identifying text are appended to it (thumbnails
    with that text already filled, as a run would write them).
    """
    for index, path in enumerate(discover_inputs(root), start=1):
        yield _survey_one(index, path, backend, review)


#: ``deid detect`` exit codes (2 is the CLI's usage error): text found and files unreadable are
#: told apart, so a script never takes an unread file for a clean one.
EXIT_CLEAN = 0
EXIT_TEXT_FOUND = 1
EXIT_UNREADABLE = 3
EXIT_TEXT_FOUND_AND_UNREADABLE = 4


def detect_exit_code(results: Iterable[FileDetection]) -> int:
    """The exit code for a survey: whether identifying text was found, and whether every file
    could be read."""
    listed = list(results)
    found = any(r.identifying for r in listed)
    unreadable = any(r.unreadable for r in listed)
    if found and unreadable:
        return EXIT_TEXT_FOUND_AND_UNREADABLE
    if unreadable:
        return EXIT_UNREADABLE
    return EXIT_TEXT_FOUND if found else EXIT_CLEAN


def survey_with_references(
    root: Path,
    secret: ProjectSecret,
    *,
    backend: str = "default",
    review: list[ReviewRow] | None = None,
) -> Iterator[FileDetection]:
    """:func:`survey_burned_in_text`, each result carrying the keyed reference ``deid run``
    gives the same input under ``secret``: a survey row, an audit line and a quarantine record
    of one file can be matched without a path."""
    for result in survey_burned_in_text(root, backend=backend, review=review):
        yield dataclasses.replace(result, reference=input_reference(secret, result.path))


def _rows(
    results: list[FileDetection], show_text: bool, show_paths: bool
) -> Iterator[dict[str, object]]:
    for result in results:
        name = str(result.path) if show_paths else f"#{result.index} {result.digest}"
        if result.reference is not None and not show_paths:
            name = result.reference
        if result.report is None or not result.report.findings:
            yield {
                "file": name,
                "frame": "",
                "box": "",
                "identifying": "",
                "confidence": "",
                "text": (
                    f"{result.reason.value}: {result.problem}"
                    if result.reason is not None
                    else result.problem or "no text found"
                ),
            }
            continue
        for finding in result.report.findings:
            yield {
                "file": name,
                "frame": finding.frame,
                "box": f"{finding.x},{finding.y},{finding.w},{finding.h}",
                "identifying": "yes" if finding.identifying else "no",
                "confidence": f"{finding.confidence:.2f}",
                "text": finding.text if show_text else "",
            }


def render_detections(
    results: list[FileDetection], fmt: str, *, show_text: bool = False, show_paths: bool = False
) -> None:
    """Print results as a table (terminal), CSV or JSON on standard output."""
    import csv
    import json
    import sys

    if fmt == "json":
        document = [r.to_json(show_text, show_paths) for r in results]
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
        return
    rows = list(_rows(results, show_text, show_paths))
    if fmt == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else ["file"])
        writer.writeheader()
        writer.writerows(rows)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("file", "frame", "box x,y,w,h", "identifying", "confidence", "text")
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    Console().print(table)
    found = sum(1 for r in results if r.identifying)
    unreadable = sum(1 for r in results if r.unreadable)
    Console(stderr=True).print(
        f"{len(results)} files, {found} with identifying text, {unreadable} unreadable"
    )
