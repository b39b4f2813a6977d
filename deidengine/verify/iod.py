"""IOD validity: de-identification must not make a valid object invalid.

``dciodvfy`` (David Clunie's dicom3tools, Debian package ``dicom3tools``) checks an object
against its IOD: required modules and attributes, Types, VRs and enumerated values. Real
inputs are rarely perfect, so the verifier compares: an output is only blamed for the errors
its input did not already have (:func:`new_iod_errors`). Messages are compared by their text
after :func:`normalise_message` has taken the element values out, so an emptied or replaced
value that keeps an old error does not count as new, and no value reaches a finding.

``-new`` selects dciodvfy's stable message format: ``Error - </Path(gggg,eeee)[n]> - text``,
values written as ``= <value>``. Its report goes to standard error.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final

from pydicom.filereader import read_file_meta_info
from pydicom.uid import UID, DeflatedExplicitVRLittleEndian, ExplicitVRLittleEndian

from deidengine.dicom.reading import read_dataset
from deidengine.verify.conformance import Finding, FindingCode, finding

__all__ = [
    "VALIDATOR",
    "IodReport",
    "iod_errors",
    "new_iod_errors",
    "normalise_message",
    "split_location",
    "validate",
]

VALIDATOR: Final = "dciodvfy"
#: A pathological file must not stall a whole tree's verification.
TIMEOUT_SECONDS: Final = 120
#: The kinds of line dciodvfy writes; an Abort (it could not read on) counts as an error.
SEVERITY_PREFIXES: Final = {"Error - ": "error", "Abort - ": "error", "Warning - ": "warning"}

# ``= <value>`` up to the ``>`` that ends the message part; ``Module=<CTImage>`` and the like
# name the standard's modules, not data, and are kept.
_VALUE: Final = re.compile(r"(?<!Module)(?<!Macro)\s*=\s*<.*?>(?=\s+-\s|\s*$)")
# ``Character invalid for this VR = 'q' (0x71)``: one message per character spells the value.
_CHARACTER: Final = re.compile(r"\s*=\s*'.'\s*\(0x[0-9A-Fa-f]+\)")
# A private creator in a path, ``(0029,1010,"ACME 1.0")``: creator strings are data too.
_QUOTED: Final = re.compile(r'"[^"]*"')
# ``</Seq(0008,1140)[1]/Tag(0008,1155)> - text``: the element path, then the message.
_PATH: Final = re.compile(r"^<(/[^>]*)>\s+-\s+(.*)$")


@dataclass(frozen=True, slots=True)
class IodReport:
    """What dciodvfy said about one file: normalised error and warning texts."""

    available: bool
    errors: frozenset[str] = frozenset()
    warnings: frozenset[str] = frozenset()
    failure: str | None = None  # why the validator could not give an answer


def normalise_message(text: str) -> str:
    """A dciodvfy message without element values or private creator strings."""
    return _QUOTED.sub('"…"', _CHARACTER.sub("", _VALUE.sub("", text))).strip()


def split_location(message: str) -> tuple[str, str]:
    """``(element path, text)`` of a normalised message; the path is empty when it has none."""
    match = _PATH.match(message)
    return (match[1], match[2]) if match else ("", message)


def _findings(code: FindingCode, messages: frozenset[str], file: str) -> tuple[Finding, ...]:
    located = sorted(split_location(message) for message in messages)
    return tuple(finding(code, file, where, text) for where, text in located)


def _parse(report: str) -> tuple[frozenset[str], frozenset[str]]:
    found: dict[str, set[str]] = {"error": set(), "warning": set()}
    for line in report.splitlines():
        for prefix, severity in SEVERITY_PREFIXES.items():
            if line.startswith(prefix):
                found[severity].add(normalise_message(line[len(prefix) :]))
                break
    return frozenset(found["error"]), frozenset(found["warning"])


def _is_deflated(path: str | os.PathLike[str]) -> bool:
    try:
        meta = read_file_meta_info(path)
    except Exception:  # no meta, not DICOM: dciodvfy reads it as it is
        return False
    return str(meta.get("TransferSyntaxUID", "")) == DeflatedExplicitVRLittleEndian


def validate(path: str | os.PathLike[str]) -> IodReport:
    """Run dciodvfy on one file; ``available`` is false when it is not installed.

    dciodvfy does not inflate Deflated Explicit VR Little Endian: it reads the compressed
    bytes as elements and reports garbage that differs from file to file, so an output would
    be blamed for "new" errors that are only different noise. A deflated file is validated as
    its inflated copy (Explicit VR Little Endian, the encoding Deflate wraps), written to a
    private temporary directory and removed at once.
    """
    if shutil.which(VALIDATOR) is None:
        return IodReport(available=False)
    if not _is_deflated(path):
        return _validate(path)
    with tempfile.TemporaryDirectory(prefix="deid-iod-") as folder:
        inflated = Path(folder) / "inflated.dcm"
        try:
            dataset = read_dataset(path)
            dataset.file_meta.TransferSyntaxUID = UID(ExplicitVRLittleEndian)
            dataset.save_as(inflated, enforce_file_format=True)
        except Exception as error:
            return IodReport(
                available=True, failure=f"could not inflate the file ({type(error).__name__})"
            )
        return _validate(inflated)


def _validate(path: str | os.PathLike[str]) -> IodReport:
    program = shutil.which(VALIDATOR)
    if program is None:
        return IodReport(available=False)
    try:
        completed = subprocess.run(
            [program, "-new", os.fspath(path)],
            capture_output=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return IodReport(available=True, failure=f"timed out after {TIMEOUT_SECONDS} s")
    except OSError as error:
        return IodReport(available=True, failure=f"could not start ({error.strerror})")
    # Values come out in the file's own character set; Latin-1 reads any byte.
    text = (completed.stderr + completed.stdout).decode("latin-1")
    errors, warnings = _parse(text)
    return IodReport(available=True, errors=errors, warnings=warnings)


@lru_cache(maxsize=4096)
def _input_report(path: str, modified_ns: int, size: int) -> IodReport:
    # Keyed by the file's identity as well as its path: a replaced input is validated again.
    return validate(path)


def _cached_report(path: str | os.PathLike[str]) -> IodReport:
    status = Path(path).stat()
    return _input_report(os.fspath(Path(path).resolve()), status.st_mtime_ns, status.st_size)


def _unavailable(report: IodReport, file: str) -> tuple[Finding, ...]:
    if not report.available:
        return (
            finding(
                FindingCode.VALIDATOR_MISSING,
                file,
                "",
                f"{VALIDATOR} is not installed (Debian: dicom3tools); IOD validity not checked",
            ),
        )
    return (finding(FindingCode.VALIDATOR_FAILED, file, "", f"{VALIDATOR} {report.failure}"),)


def new_iod_errors(
    output_path: str | os.PathLike[str],
    input_path: str | os.PathLike[str],
    *,
    file: str = "",
) -> tuple[Finding, ...]:
    """The IOD errors of the output that its input did not already have.

    The input's report is cached by path (and modification time): the inputs of a tree are
    each validated once however many outputs point at them.
    """
    output = validate(output_path)
    if not output.available or output.failure is not None:
        return _unavailable(output, file)
    before = _cached_report(input_path)
    known = before.errors if before.available and before.failure is None else frozenset()
    return _findings(FindingCode.IOD_NEW_ERROR, output.errors - known, file)


def iod_errors(output_path: str | os.PathLike[str], *, file: str = "") -> tuple[Finding, ...]:
    """Every IOD error of an output whose input is unknown (warning level: it may be old)."""
    output = validate(output_path)
    if not output.available or output.failure is not None:
        return _unavailable(output, file)
    return _findings(FindingCode.IOD_ERROR, output.errors, file)
