"""Survey a file or tree for burned-in text: the library behind ``deid detect``.

Reports name each file by its position in the walk and a digest of its bytes; paths (which
often carry names and MRNs) appear only when the caller asks for them.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pydicom
from pydicom.errors import InvalidDicomError

from deidengine.dicom.identifiers import collect_identifying_values
from deidengine.dicom.keys import ProjectSecret
from deidengine.pixels.codec import PixelCodecError
from deidengine.pixels.detect import DetectionReport, detect_text
from deidengine.run.discover import discover_inputs
from deidengine.run.outcome import input_reference


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

    @property
    def identifying(self) -> bool:
        return self.report is not None and bool(self.report.identifying)

    def to_json(self, show_text: bool = False, show_path: bool = False) -> dict[str, object]:
        data: dict[str, object] = {"file": self.index, "digest": self.digest}
        if self.reference is not None:
            data["input"] = self.reference
        if show_path:
            data["path"] = str(self.path)
        if self.problem:
            data["problem"] = self.problem
        if self.report is not None:
            data.update(self.report.to_json(show_text))
        return data


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()[:16]


def survey_burned_in_text(root: Path, *, backend: str = "default") -> Iterator[FileDetection]:
    """Detect text in every image of ``root`` (a file or a tree), file by file, lazily."""
    for index, path in enumerate(discover_inputs(root), start=1):
        digest = _digest(path)
        try:
            dataset = pydicom.dcmread(path)
        except (InvalidDicomError, OSError, ValueError, EOFError):
            yield FileDetection(index, digest, path, None, "not a readable DICOM file")
            continue
        if "PixelData" not in dataset:
            yield FileDetection(index, digest, path, None, "no pixel data")
            continue
        identifying = collect_identifying_values(dataset)
        try:
            report = detect_text(dataset, identifying, backend=backend)
        except PixelCodecError:
            yield FileDetection(index, digest, path, None, "pixel data could not be decoded")
            continue
        yield FileDetection(index, digest, path, report)


def survey_with_references(
    root: Path, secret: ProjectSecret, *, backend: str = "default"
) -> Iterator[FileDetection]:
    """:func:`survey_burned_in_text`, each result carrying the keyed reference ``deid run``
    gives the same input under ``secret``: a survey row, an audit line and a quarantine record
    of one file can be matched without a path."""
    for result in survey_burned_in_text(root, backend=backend):
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
                "text": result.problem or "no text found",
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
    Console(stderr=True).print(f"{len(results)} files, {found} with identifying text")
