"""Verify a de-identified tree: ``deid verify --policy P OUT [--original IN]``.

Works on any tree, ours or another tool's. Every file under OUT is read and checked against
the plan (:mod:`~deidengine.verify.conformance`) and for its provenance attributes
(:mod:`~deidengine.verify.provenance_check`). With the original tree, each output is matched to
the input it was made from, by its SOP Instance UID: the keyed remap of the input's (needs the
project secret), a ``uids.csv`` mappings file (``id_old,id_new``) or, for policies that retain
UIDs, the UID itself. A matched output is then also

- scanned for the input's identifying values (:func:`~deidengine.verify.leaks.find_leaks`):
  elements the plan keeps (``K``) may hold what they held, elements no rule selects are scanned
  for the patient's own values only, as the engine's scan does;
- checked exactly for UIDs and shifted dates, and compared with its input for IOD errors
  (only errors the input did not already have count).

Each output is read as the lean reader's element table and checked on it, as the pipeline checks
the bytes it writes (:mod:`deidengine.verify.table_view`); a file the lean reader refuses is
read by pydicom and that reading written out as a table. The pixels of every output are read
for burned-in text (:func:`deidengine.pixels.detect.detect_text`, on pydicom's dataset of the
output: pixels stay pydicom's) unless OCR is turned off. Findings name files, element paths
and codes; no identifying value reaches a finding, and an output path that holds one is
withheld.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Final

from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from rich.console import Console
from rich.table import Table
from rich.text import Text

from deidengine.core.dataset_view import dataset_of
from deidengine.core.errors import CoreError
from deidengine.core.reader import read
from deidengine.core.table import ElementTable
from deidengine.dicom.apply import REPLACING_ACTIONS
from deidengine.dicom.identifiers import IdentifyingValues, collect_identifying_values
from deidengine.dicom.keys import ProjectSecret
from deidengine.dicom.reading import read_dataset
from deidengine.dicom.uids import remap_uid
from deidengine.errors import DeidError, EngineCode
from deidengine.policy import load_plan
from deidengine.policy.ast import ActionKind
from deidengine.policy.plan import Plan
from deidengine.run.discover import discover_inputs
from deidengine.run.mappings import UID_FILE, read_mapping_rows
from deidengine.verify.conformance import (
    Decision,
    Finding,
    FindingCode,
    Severity,
    check_conformance,
    finding,
    plan_decisions,
)
from deidengine.verify.iod import iod_errors, new_iod_errors
from deidengine.verify.leaks import INPUT_VALUE, find_leaks, patient_borne_values
from deidengine.verify.preamble import preamble_findings
from deidengine.verify.provenance_check import check_provenance
from deidengine.verify.table_view import TOP, TableView, table_of_dataset

if TYPE_CHECKING:  # the pixel stack (OpenCV, OCR) is imported only when OCR runs
    from deidengine.pixels.detect import DetectionReport, TextFinding

__all__ = ["VerifyConfigurationError", "VerifyReport", "render_report", "verify_tree"]

SOP_INSTANCE_UID: Final = 0x00080018
SOP_IDENTITY_TAGS: Final = (0x00080018, 0x00080016)
PIXEL_DATA: Final = "(7FE0,0010)"

Detector = Callable[[Dataset, IdentifyingValues], "DetectionReport"]


class VerifyConfigurationError(DeidError):
    """The verification cannot start as asked (a usage error, not a finding)."""

    code = EngineCode.INVALID_VERIFY_CONFIGURATION


@dataclass(frozen=True)
class VerifyReport:
    """What verifying a tree found. ``exit_code`` is 0 when no finding is an error."""

    files_checked: int
    findings: tuple[Finding, ...]

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.ERROR)

    @property
    def exit_code(self) -> int:
        return 1 if self.errors else 0

    def to_json(self) -> dict[str, object]:
        """The document of ``deid verify --format json`` (docs/schemas/verify)."""
        from deidengine.schemas.verify import VerifyFinding, VerifyReportDocument

        return VerifyReportDocument(
            files_checked=self.files_checked,
            errors=len(self.errors),
            warnings=len(self.findings) - len(self.errors),
            findings=tuple(VerifyFinding.of(f) for f in self.findings),
        ).model_dump(mode="json")


# ---------------------------------------------------------------------------- reading
def _read(path: Path, *, header_only: bool = False) -> Dataset | None:
    """A DICOM dataset, or None; a file without preamble counts when it has SOP identity."""
    try:
        try:
            return read_dataset(path, stop_before_pixels=header_only)
        except InvalidDicomError:
            dataset = read_dataset(path, stop_before_pixels=header_only, force=True)
            return dataset if "SOPInstanceUID" in dataset or "SOPClassUID" in dataset else None
    except Exception:  # any reader failure means the same here: not a DICOM object we can read
        return None


def _sop_instance(dataset: Dataset) -> str:
    value = dataset.get(SOP_INSTANCE_UID)
    return str(value.value).strip(" \x00") if value is not None and value.value else ""


#: Where a Part 10 file's ``DICM`` prefix stands.
PREFIX: Final = slice(128, 132)
#: The lean reader's bound on inflating a deflated data set (as the inputs' default).
MAX_INFLATED: Final = 1 << 30


@dataclass(frozen=True)
class _Output:
    """One output as the checks read it: its element table, and pydicom's dataset of it for
    the pixel detector only (pixels stay pydicom's), built on first use."""

    view: TableView
    fallback: Dataset | None  # pydicom's reading, when the lean reader refused the file

    def dataset(self) -> Dataset:
        return self.fallback if self.fallback is not None else dataset_of(self.view.table)

    def sop_instance(self) -> str:
        index = self.view.get(TOP, SOP_INSTANCE_UID)
        value = self.view.value(index) if index is not None else None
        return str(value).strip(" \x00") if value else ""


def _lean_table(path: Path) -> tuple[bytes, ElementTable | None] | None:
    """The file's bytes and the lean reader's table of them (``None`` when the reader refuses
    them), or ``None`` when the file cannot be read at all."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        return data, read(data, max_inflated=MAX_INFLATED)
    except (CoreError, RecursionError):
        return data, None


def _read_output(path: Path) -> _Output | None:
    """The output at ``path`` as the checks read it, or ``None`` when it is not a DICOM file
    we can read (:func:`_read`'s test: a file without the ``DICM`` prefix counts when it has
    SOP identity). The lean reader reads it; a file it refuses is read by pydicom, whose
    dataset is then written out and read as a table (:func:`table_of_dataset`). A damaged
    file even that cannot lay out is not one the checks can read: ``None`` (V501, an error).
    """
    found = _lean_table(path)
    if found is None:
        return None
    data, table = found
    if table is not None:
        view = TableView.of(table)
        identified = any(view.get(TOP, tag) is not None for tag in SOP_IDENTITY_TAGS)
        if data[PREFIX] == b"DICM" or identified:
            return _Output(view, None)
        return None
    dataset = _read(path)
    if dataset is None:
        return None
    try:
        return _Output(TableView.of(table_of_dataset(dataset)), dataset)
    except Exception:  # pydicom's lenient reading of a damaged file cannot be laid out either
        return None


def _original_table(path: Path, original: Dataset) -> ElementTable:
    """The input's element table for the conformance check: the lean reader's, else
    pydicom's reading written out (:func:`table_of_dataset`)."""
    found = _lean_table(path)
    if found is not None and found[1] is not None:
        return found[1]
    return table_of_dataset(original)


def _read_uid_mappings(directory: Path) -> Mapping[str, str]:
    path = directory / UID_FILE
    if not path.is_file():
        raise VerifyConfigurationError(f"no {UID_FILE} in the mappings directory {directory}")
    return dict(read_mapping_rows(path))


def _index_originals(
    root: Path,
    secret: ProjectSecret | None,
    mappings: Mapping[str, str],
    exclude: Path,
) -> dict[str, Path]:
    """Output SOP Instance UID → input path, for every readable input under ``root``."""
    index: dict[str, Path] = {}
    for path in discover_inputs(root, exclude=(exclude,)):
        dataset = _read(path, header_only=True)
        uid = _sop_instance(dataset) if dataset is not None else ""
        if not uid:
            continue
        # The UID itself matches outputs of policies that retain UIDs.
        keys = {uid, remap_uid(secret, uid) if secret else uid, mappings.get(uid, uid)}
        for key in keys:
            index.setdefault(key, path)
    return index


# ---------------------------------------------------------------------------- one file
@dataclass(frozen=True)
class _Settings:
    plan: Plan
    secret: ProjectSecret | None
    originals: Mapping[str, Path] | None
    detector: Detector | None
    iod: bool


def _detector() -> Detector | None:
    """``detect_text`` when the pixel stack (OpenCV, an OCR backend) can be imported."""
    try:
        from deidengine.pixels.detect import detect_text
    except ImportError:
        return None
    return detect_text


def _leaks(
    output: TableView,
    identifying: IdentifyingValues,
    decisions: list[Decision],
    file: str,
) -> Iterator[Finding]:
    # The engine's allowed sets are not known for an output made elsewhere: the plan's K rules
    # say what may hold an input value, and unselected elements hold only device facts. A value
    # the plan replaces by construction (keep-year, shift-date, a pseudonym, ...) is the policy's
    # output even when it equals the input (keep-year of YYYY0101): the engine allows it by the
    # same set (REPLACING_ACTIONS), and the conformance checks (V106, V107) hold it to its action.
    allowed = frozenset(
        (d.path, d.tag) for d in decisions if d.explicitly_kept or d.kind in REPLACING_ACTIONS
    )
    untouched = frozenset((d.path, d.tag) for d in decisions if d.defaulted)
    patient = patient_borne_values(identifying)
    for leak in find_leaks(output, identifying, allowed, untouched, patient):
        yield finding(
            FindingCode.IDENTIFYING_VALUE,
            file,
            leak.location,
            "holds an identifying value of the input"
            if leak.kind == INPUT_VALUE
            else f"holds a {leak.kind} the free-text stage finds",
        )


def _pixel_location(found: TextFinding) -> str:
    where = f"({found.overlay:04X},3000)" if found.overlay is not None else PIXEL_DATA
    return f"{where} frame {found.frame} box {found.x},{found.y},{found.w},{found.h}"


def _pixels(
    output: Dataset, identifying: IdentifyingValues, detector: Detector, file: str
) -> Iterator[Finding]:
    try:
        report = detector(output, identifying)
    except Exception as error:  # undecodable pixels, a broken OCR backend: not proven clean
        yield finding(
            FindingCode.OCR_FAILED,
            file,
            PIXEL_DATA,
            f"the pixels could not be read for text ({type(error).__name__})",
        )
        return
    for found in report.identifying:
        yield finding(
            FindingCode.IDENTIFYING_PIXEL_TEXT,
            file,
            _pixel_location(found),
            "identifying text is burned into the pixels",
        )


def _shown_name(relative: str, number: int, identifying: IdentifyingValues | None) -> str:
    """The path shown in findings: relative to the root, withheld when it holds PHI.

    Output names of other tools often carry the patient's name or MRN; with the original at
    hand the verifier can tell, and then shows a number instead.
    """
    if identifying is not None and identifying.contains_in(relative):
        return f"#{number} (path withheld)"
    return relative


def _withheld(found: Finding, identifying: IdentifyingValues | None) -> Finding:
    """``found`` with its message withheld if it quotes an input value.

    Messages are fixed wording, tags and policy sources, but the validator's are its own text:
    values are cut from them by pattern (:func:`~deidengine.verify.iod.normalise_message`), and
    this is the second line of defence for a format the patterns do not know.
    """
    if identifying is not None and identifying.contains_in(found.message):
        return replace(found, message="(message withheld: it quotes an identifying value)")
    return found


def _verify_file(path: Path, relative: str, number: int, settings: _Settings) -> list[Finding]:
    read_back = _read_output(path)
    if read_back is None:
        return [finding(FindingCode.NOT_DICOM, relative, "", "not a readable DICOM file")]
    output = read_back.view
    found: list[Finding] = []
    input_path: Path | None = None
    original: Dataset | None = None
    original_table: ElementTable | None = None
    if settings.originals is not None:
        input_path = settings.originals.get(read_back.sop_instance())
        original = _read(input_path, header_only=True) if input_path is not None else None
    if input_path is not None and original is not None:
        original_table = _original_table(input_path, original)
    identifying = collect_identifying_values(original) if original is not None else None
    file = _shown_name(relative, number, identifying)
    found.extend(preamble_findings(path, file))
    if file != relative:
        message = "the output's path holds an identifying value of its input"
        found.append(finding(FindingCode.IDENTIFYING_PATH, file, "", message))
    if settings.originals is not None and original is None:
        found.append(
            finding(
                FindingCode.ORIGINAL_NOT_FOUND,
                file,
                "(0008,0018)",
                "no input in the original tree matches this SOP Instance UID: "
                "leaks, UIDs and dates cannot be checked against it",
            )
        )
    original_view = TableView.lazy_of(original_table) if original_table is not None else None
    decisions = plan_decisions(output, settings.plan, original_view)
    found.extend(
        check_conformance(
            output,
            settings.plan,
            secret=settings.secret,
            original=original_view,
            file=file,
            decisions=decisions,
        )
    )
    found.extend(check_provenance(output, settings.plan, file=file))
    if original is not None and identifying is not None:
        found.extend(_leaks(output, identifying, decisions, file))
    if settings.detector is not None:
        # The pixels are pydicom's to decode: only the detector reads a Dataset of the output.
        # Without the input only the pixel patterns (dates, IDs, labels) and the output's own
        # values can be recognised.
        dataset = read_back.dataset()
        values = identifying if identifying is not None else collect_identifying_values(dataset)
        found.extend(_pixels(dataset, values, settings.detector, file))
    if settings.iod:
        if input_path is not None and original is not None:
            found.extend(new_iod_errors(path, input_path, file=file))
        else:
            found.extend(iod_errors(path, file=file))
    return [_withheld(item, identifying) for item in found]


def verify_file(
    path: str | os.PathLike[str],
    plan: Plan,
    *,
    original: str | os.PathLike[str] | None = None,
    secret: ProjectSecret | None = None,
    ocr: bool = True,
    iod: bool = False,
) -> list[Finding]:
    """Verify one output file against ``plan`` (and its ``original`` input, when given): the
    checks ``deid verify`` makes on every file of a tree."""
    output = Path(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom's warnings quote values
        originals: Mapping[str, Path] | None = None
        if original is not None:
            read = _read(output, header_only=True)
            originals = {_sop_instance(read): Path(original)} if read is not None else {}
        settings = _Settings(plan, secret, originals, _detector() if ocr else None, iod)
        return _verify_file(output, output.name, 1, settings)


# ---------------------------------------------------------------------------- the tree
def verify_tree(
    policy_spec: str,
    output_root: str | os.PathLike[str],
    *,
    original_root: str | os.PathLike[str] | None = None,
    secret: ProjectSecret | None = None,
    mapping_dir: str | os.PathLike[str] | None = None,
    ocr: bool = True,
    iod: bool = True,
) -> VerifyReport:
    """Verify every file under ``output_root`` against ``policy_spec``.

    Raises:
        PolicyError: the policy does not compile.
        VerifyConfigurationError: a root does not exist, or ``original_root`` is given without
            a way to match outputs to inputs (``secret`` or ``mapping_dir``).
    """
    plan = load_plan(policy_spec)
    root = Path(output_root)
    if not root.exists():
        raise VerifyConfigurationError(f"the output {root} does not exist")
    if original_root is not None:
        if secret is None and mapping_dir is None:
            raise VerifyConfigurationError(
                "matching outputs to their originals needs the project secret "
                "(--secret-file or DEID_SECRET) or the run's mappings (--mappings DIR)"
            )
        if not Path(original_root).exists():
            raise VerifyConfigurationError(f"the original {original_root} does not exist")
    mappings = _read_uid_mappings(Path(mapping_dir)) if mapping_dir is not None else {}
    with warnings.catch_warnings():
        # pydicom's warnings quote the offending value ("Invalid value for VR PN: '...'"); on
        # trees that may hold PHI they must not reach the terminal.
        warnings.simplefilter("ignore")
        originals = (
            _index_originals(Path(original_root), secret, mappings, root)
            if original_root is not None
            else None
        )
        settings = _Settings(plan, secret, originals, _detector() if ocr else None, iod)
        return _verify_files(root, settings, original_root, ocr)


#: The keyed values each action writes: recomputed only with the original and the secret.
KEYED_VALUES: Final[Mapping[ActionKind, tuple[str, ...]]] = {
    ActionKind.REMAP_UID: ("UID remaps",),
    ActionKind.SHIFT_DATE: ("date shifts",),
    ActionKind.CLEAN: ("UID remaps", "date shifts"),
    ActionKind.PSEUDONYM: ("pseudonyms",),
    ActionKind.HASH: ("keyed hashes",),
}


def _unchecked(settings: _Settings, with_original: bool) -> Iterator[Finding]:
    """One warning naming the checks this verification could not make (V109): a pass without
    the original or the secret proves less, and the report must say how much less."""
    if with_original and settings.secret is not None:
        return
    kinds: dict[str, None] = {}
    for rule in settings.plan.rules:
        for label in KEYED_VALUES.get(rule.action.kind, ()):
            kinds[label] = None
    missing = "the original (--original)" if not with_original else "the project secret"
    if not with_original and settings.secret is None:
        missing = "the original (--original) and the project secret"
    parts = []
    if not with_original:
        parts.append("the leak scan against the input was not made")
    if kinds:
        parts.append(
            "these keyed values were not recomputed: "
            + ", ".join(sorted(kinds))
            + ("; UIDs were checked by form only" if "UID remaps" in kinds else "")
        )
    if parts:
        yield finding(
            FindingCode.KEYED_VALUES_UNCHECKED, "", "", f"without {missing}, " + "; ".join(parts)
        )


def _verify_files(
    root: Path,
    settings: _Settings,
    original_root: str | os.PathLike[str] | None,
    ocr: bool,
) -> VerifyReport:
    findings: list[Finding] = []
    if ocr and settings.detector is None:
        findings.append(
            finding(
                FindingCode.OCR_UNAVAILABLE,
                "",
                "",
                "the pixel text detector cannot be imported; burned-in text not checked",
            )
        )
    findings.extend(_unchecked(settings, original_root is not None))
    checked = 0
    exclude = (Path(original_root),) if original_root is not None else ()
    for number, path in enumerate(discover_inputs(root, exclude=exclude), start=1):
        checked += 1
        relative = path.name if root.is_file() else str(path.relative_to(root))
        findings.extend(_verify_file(path, relative, number, settings))
    if not checked:
        # Nothing checked proves nothing: a wrong path or an empty run must not read as passed.
        findings.append(finding(FindingCode.NO_FILES, "", "", "no files to verify"))
    return VerifyReport(files_checked=checked, findings=tuple(findings))


# ---------------------------------------------------------------------------- rendering
def render_report(report: VerifyReport, console: Console) -> None:
    """A table of findings (file, location, code, message), then a one-line summary.

    A file is named on its first row only, with a line between files: output names derived
    from UIDs are long, and repeating them would bury the findings. Cells are
    :class:`~rich.text.Text`, so ``[PN]`` and the like print as written, not as console markup.
    """
    if report.findings:
        table = Table(title="deid verify", title_justify="left")
        for column in ("file", "location", "code", "message"):
            table.add_column(column, overflow="fold")
        previous: str | None = None
        for item in report.findings:
            style = "red" if item.severity is Severity.ERROR else "yellow"
            if previous is not None and item.file != previous:
                table.add_section()
            table.add_row(
                Text("" if item.file == previous else item.file or "-"),
                Text(item.location or "-"),
                Text(item.code, style=style),
                Text(item.message),
            )
            previous = item.file
        console.print(table)
    errors = len(report.errors)
    warnings = len(report.findings) - errors
    verdict = "FAILED" if report.exit_code else "passed"
    checked = f"{report.files_checked}" if report.files_checked else "no"
    console.print(
        Text(
            f"{verdict}: {checked} files checked, {errors} errors, {warnings} warnings",
            style="red bold" if report.exit_code else "green",
        )
    )
