"""Where a run reads and writes, and the layouts it refuses before touching anything.

A run has an input (a file or a tree, never modified), an output tree (what gets shared), a
quarantine tree (inputs that failed, copied with a reason; it holds PHI, so it must not be inside
the output) and two side files: the audit (no PHI) and, on request, the mapping directory (the
way back to the patient: it must never be inside the output). Every one of them must be disjoint
from the input tree, or a resumed run would read its own products as inputs; the quarantine and
the mappings must be disjoint from the output, or PHI would be shared with it.

Every refusal is a :class:`RunConfigurationError` with one line naming the two paths and the
fix. Paths are compared after resolving symbolic links and ``..``, so ``out -> in/x`` is caught.
"""

from __future__ import annotations

from pathlib import Path

from deidengine.errors import DeidError, EngineCode

__all__ = [
    "RunConfigurationError",
    "check_log_file",
    "check_roots",
    "check_side_paths",
    "default_audit_directory",
    "default_quarantine",
    "single_file_output",
]


class RunConfigurationError(DeidError):
    """The run's paths or options are unusable; the message is one line, the run never started."""

    code = EngineCode.INVALID_RUN_CONFIGURATION


def default_quarantine(output: Path) -> Path:
    """The quarantine beside the output: ``<OUT>.quarantine``, outside what gets shared."""
    return output.with_name(output.name + ".quarantine")


def default_audit_directory(output: Path) -> Path:
    """The audit directory beside the output: ``<OUT>.audit``, one JSON-lines file per run."""
    return output.with_name(output.name + ".audit")


def _inside(path: Path, root: Path) -> bool:
    """Whether resolved ``path`` is ``root`` or below it."""
    return path == root or root in path.parents


def single_file_output(input: Path, output: Path) -> bool:
    """Whether a run writes one file, ``output`` itself: ``input`` is a file and ``output``
    is named ``*.dcm`` and is not a directory (``deid run FILE OUT.dcm``)."""
    return input.is_file() and output.suffix.lower() == ".dcm" and not output.is_dir()


def check_log_file(input: Path, output: Path, log_file: Path) -> None:
    """Refuse a ``--log-file`` inside the input (a later run would read it as an input) or the
    output (it would be shared with files it does not describe), or that is a directory.

    Raises:
        RunConfigurationError: as above.
    """
    if log_file.is_dir():
        raise RunConfigurationError(f"the log file {log_file} is a directory")
    place = log_file.resolve()
    for root, what in ((input.resolve(), "input"), (output.resolve(), "output")):
        if _inside(place, root):
            raise RunConfigurationError(
                f"the log file {log_file} is inside the {what}; put it beside them"
            )


def check_roots(
    input: Path, output: Path, quarantine: Path, *, output_is_file: bool = False
) -> None:
    """Refuse a run whose input, output and quarantine overlap, or whose input is missing.

    Raises:
        RunConfigurationError: the input does not exist; the output is the input, inside it, or
            contains it; the output exists and is not a directory; the quarantine overlaps the
            input or the output.
    """
    if not input.exists():
        raise RunConfigurationError(f"the input {input} does not exist")
    if output.exists() and not output.is_dir() and not output_is_file:
        raise RunConfigurationError(f"the output {output} exists and is not a directory")
    if quarantine.exists() and not quarantine.is_dir():
        raise RunConfigurationError(f"the quarantine {quarantine} exists and is not a directory")
    source, target, held = input.resolve(), output.resolve(), quarantine.resolve()
    if source == target:
        raise RunConfigurationError(
            f"the output {output} is the input {input}; inputs are never modified, "
            "give a separate output directory"
        )
    if _inside(target, source):
        raise RunConfigurationError(
            f"the output {output} is inside the input {input}; "
            "a later run would read its own outputs, put it outside"
        )
    if _inside(source, target):
        raise RunConfigurationError(
            f"the input {input} is inside the output {output}; give an output outside the input"
        )
    if _inside(held, target) or _inside(target, held):
        raise RunConfigurationError(
            f"the quarantine {quarantine} overlaps the output {output}; quarantined files hold "
            "PHI and the output is what gets shared, put the quarantine beside it"
        )
    if _inside(held, source) or _inside(source, held):
        raise RunConfigurationError(
            f"the quarantine {quarantine} overlaps the input {input}; "
            "a later run would read quarantined copies as inputs, put it outside"
        )


def check_side_paths(
    input: Path, output: Path, *, audit: Path | None = None, mappings: Path | None = None
) -> None:
    """Refuse an audit file or a mapping directory placed inside the input or the output.

    The audit holds no PHI, but inside the input it would be read as an input, and inside the
    output it would be shared with files it does not describe. The mappings lead back to the
    patient: inside the output they would be shared with the data they de-identify.

    Raises:
        RunConfigurationError: either path overlaps the input or the output, or the audit file
            already exists (an audit is never overwritten).
    """
    source, target = input.resolve(), output.resolve()
    if audit is not None:
        if audit.exists():
            raise RunConfigurationError(
                f"the audit file {audit} already exists; an audit is never overwritten, "
                "give a new file name"
            )
        place = audit.resolve()
        if _inside(place, source) or _inside(place, target):
            raise RunConfigurationError(
                f"the audit file {audit} is inside the input or the output; put it beside them"
            )
    if mappings is not None:
        if mappings.exists() and not mappings.is_dir():
            raise RunConfigurationError(f"the mappings {mappings} exists and is not a directory")
        place = mappings.resolve()
        if _inside(place, target) or _inside(target, place):
            raise RunConfigurationError(
                f"the mappings directory {mappings} overlaps the output {output}; it leads back "
                "to the patients and must never be shared with the output"
            )
        if _inside(place, source) or _inside(source, place):
            raise RunConfigurationError(
                f"the mappings directory {mappings} overlaps the input {input}; put it outside"
            )
