"""The Python API: de-identify, verify and read burned-in text inside your own pipeline.

Every function here is a thin layer over the engine that ``deid run`` drives, so a dataset
de-identified in memory passes exactly the stages a file does: the deny-list from the input,
the header plan, the pixel stage, the verifier that gates the output, and the provenance
stamp. Nothing is written where it could not be proven clean: :func:`deidentify` raises
:class:`QuarantinedError` (with the reason code, never a value) instead of returning it.

>>> from deidengine import Session, load_policy, load_secret
>>> session = Session(load_policy("annex-e/basic"), load_secret(b"0" * 32))
>>> result = session.deidentify(dataset)          # doctest: +SKIP
>>> result.dataset.PatientIdentityRemoved         # doctest: +SKIP
'YES'

A :class:`Session` keeps what a series needs across calls: the compiled plan and secret
(keyed UIDs, pseudonyms and date offsets follow from them, so every call agrees with every
other and with ``deid run``), and the UID and patient-ID maps of what it has de-identified.
"""

from __future__ import annotations

import copy
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset

from deidengine.dicom.identifiers import collect_identifying_values
from deidengine.dicom.keys import ProjectSecret
from deidengine.dicom.keys import load_secret as _load_secret_file
from deidengine.dicom.reading import read_dataset
from deidengine.errors import DeidError, EngineCode
from deidengine.pixels.detect import TextFinding
from deidengine.pixels.detect import detect_text as detect
from deidengine.policy import load_plan
from deidengine.policy.plan import Plan
from deidengine.run.outcome import Outcome, Reason, Status
from deidengine.run.pipeline import FileProcessor, RunSettings
from deidengine.verify.conformance import Finding

__all__ = [
    "Provenance",
    "QuarantinedError",
    "Result",
    "Session",
    "TextFinding",
    "deidentify",
    "deidentify_file",
    "detect_text",
    "load_policy",
    "load_secret",
    "verify_output",
]

#: Keywords of the provenance attributes a :class:`Result` reports (PS3.15 Table 1 of the
#: de-identification paper: what the verifier checks on every output).
_PROVENANCE_KEYWORDS = (
    "PatientIdentityRemoved",
    "DeidentificationMethod",
    "BurnedInAnnotation",
    "LongitudinalTemporalInformationModified",
)


class QuarantinedError(DeidError):
    """The engine could not prove the output clean, so it returns nothing.

    ``reason`` is the same code ``deid run`` writes beside a quarantined file; ``detail``
    names elements and codes, never values.
    """

    code = EngineCode.QUARANTINED

    def __init__(self, reason: Reason | None, detail: str | None) -> None:
        code = reason.value if reason is not None else "unknown"
        super().__init__(f"{code}: {detail}" if detail else code)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Provenance:
    """What the output claims about its de-identification (read back from the output)."""

    patient_identity_removed: str
    deidentification_method: tuple[str, ...]
    method_codes: tuple[str, ...]
    burned_in_annotation: str | None
    longitudinal_temporal_information_modified: str | None

    @classmethod
    def of(cls, dataset: Dataset) -> Provenance:
        method = dataset.get("DeidentificationMethod", "")
        methods = (method,) if isinstance(method, str) else tuple(str(m) for m in method)
        codes = tuple(
            str(item.CodeValue) for item in dataset.get("DeidentificationMethodCodeSequence", [])
        )
        return cls(
            patient_identity_removed=str(dataset.get("PatientIdentityRemoved", "")),
            deidentification_method=tuple(m for m in methods if m),
            method_codes=codes,
            burned_in_annotation=dataset.get("BurnedInAnnotation"),
            longitudinal_temporal_information_modified=dataset.get(
                "LongitudinalTemporalInformationModified"
            ),
        )


@dataclass(frozen=True, slots=True)
class Result:
    """One de-identified dataset and what was done to it.

    ``actions`` counts elements by action label; ``uid_map`` and ``id_map`` hold the
    re-identification keys of this dataset (old → new), which only the caller should keep.
    """

    dataset: Dataset
    actions: Mapping[str, int]
    provenance: Provenance
    uid_map: Mapping[str, str] = field(default_factory=dict)
    id_map: Mapping[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Result(<dataset>, actions={dict(self.actions)!r}, provenance=...)"


def load_policy(spec: str) -> Plan:
    """Compile a policy: a shipped name (``annex-e/basic``), a path to a ``.policy`` file, or a
    comma-separated composition. Raises :class:`~deidengine.policy.PolicyError` with every
    diagnostic when it does not compile or cannot run alone (an option overlay)."""
    return load_plan(spec, runnable=True)


def load_secret(source: str | os.PathLike[str] | bytes | None = None) -> ProjectSecret:
    """The project secret: raw key bytes (at least 16), a path to a secret file (``deid
    keygen``), or ``None`` for the ``DEID_SECRET`` environment variable."""
    if isinstance(source, bytes):
        return ProjectSecret(source)
    return _load_secret_file(source)


class Session:
    """The per-run state a series needs: one compiled plan, one secret, one engine.

    Consecutive calls agree with each other and with ``deid run`` under the same policy and
    secret (UIDs, pseudonyms and date offsets are keyed functions of the input). The session
    also gathers the UID and patient-ID maps of everything it de-identified, for a caller who
    must keep the re-identification keys (``uid_map``, ``id_map``).
    """

    def __init__(
        self,
        plan: Plan,
        secret: ProjectSecret,
        *,
        lookups: Mapping[str, str | os.PathLike[str]] | None = None,
        ocr_backend: str = "default",
    ) -> None:
        self.plan = plan
        self.secret = secret
        self._lookups = tuple((name, os.fspath(path)) for name, path in (lookups or {}).items())
        self._ocr_backend = ocr_backend
        self._processors: dict[tuple[str, str, bool], FileProcessor] = {}
        self.uid_map: dict[str, str] = {}
        self.id_map: dict[str, str] = {}

    def _processor(self, output: Path, quarantine: Path, output_is_file: bool) -> FileProcessor:
        key = (str(output), str(quarantine), output_is_file)
        if key not in self._processors:
            settings = RunSettings(
                policy_spec=",".join(self.plan.names),
                secret_key=self.secret.key,
                output_root=str(output),
                quarantine_root=str(quarantine),
                lookups=self._lookups,
                record_mappings=True,
                ocr_backend=self._ocr_backend,
                output_is_file=output_is_file,
            )
            self._processors[key] = FileProcessor(settings, self.plan)
        return self._processors[key]

    def _keep_maps(self, outcome: Outcome) -> None:
        self.uid_map.update(outcome.uid_map)
        self.id_map.update(outcome.id_map)

    def deidentify(self, dataset: Dataset) -> Result:
        """De-identify a copy of ``dataset`` (the input is never changed).

        Raises:
            QuarantinedError: the output could not be proven clean (a leak, a rule that
                rejects the file, a lookup miss, burned-in text still readable, ...).
        """
        # The engine's stages read a file's bytes (the verifier compares with the input as
        # read), so the copy goes through a private temporary folder (mode 0700), removed after.
        with tempfile.TemporaryDirectory(prefix="deid-api-") as work:
            source, output = Path(work) / "in.dcm", Path(work) / "out.dcm"
            pydicom.dcmwrite(source, copy.deepcopy(dataset), enforce_file_format=False)
            processor = self._processor(output, Path(work) / "quarantine", True)
            outcome = processor.process(str(source))
            if outcome.status is not Status.WRITTEN:
                raise QuarantinedError(outcome.reason, outcome.detail)
            result = read_dataset(output)
        self._keep_maps(outcome)
        return Result(
            dataset=result,
            actions=dict(outcome.actions),
            provenance=Provenance.of(result),
            uid_map=dict(outcome.uid_map),
            id_map=dict(outcome.id_map),
        )

    def deidentify_file(
        self,
        path: str | os.PathLike[str],
        out_path: str | os.PathLike[str],
        *,
        quarantine: str | os.PathLike[str] | None = None,
    ) -> Outcome:
        """De-identify one file to ``out_path`` (atomically), or quarantine it with a reason in
        ``quarantine`` (default: ``<out_path>.quarantine``). Never raises for a bad input: the
        :class:`~deidengine.run.outcome.Outcome` says what happened."""
        output = Path(out_path)
        folder = Path(quarantine) if quarantine is not None else Path(f"{output}.quarantine")
        outcome = self._processor(output, folder, True).process(os.fspath(path))
        self._keep_maps(outcome)
        return outcome


def deidentify(
    dataset: Dataset, plan: Plan, secret: ProjectSecret, *, context: Session | None = None
) -> Result:
    """De-identify a copy of ``dataset`` with ``plan`` (see :meth:`Session.deidentify`).

    Pass the same ``context`` (a :class:`Session`) for the files of one run to reuse the
    compiled engine and gather the run's UID and ID maps.
    """
    session = context if context is not None else Session(plan, secret)
    return session.deidentify(dataset)


def deidentify_file(
    path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    plan: Plan,
    secret: ProjectSecret,
    *,
    context: Session | None = None,
) -> Outcome:
    """De-identify the file at ``path`` to ``out_path`` (see :meth:`Session.deidentify_file`)."""
    session = context if context is not None else Session(plan, secret)
    return session.deidentify_file(path, out_path)


def _as_file(dataset_or_path: Dataset | str | os.PathLike[str], folder: Path, name: str) -> Path:
    if isinstance(dataset_or_path, Dataset):
        target = folder / name
        pydicom.dcmwrite(target, dataset_or_path, enforce_file_format=False)
        return target
    return Path(dataset_or_path)


def verify_output(
    dataset_or_path: Dataset | str | os.PathLike[str],
    plan: Plan,
    *,
    original: Dataset | str | os.PathLike[str] | None = None,
    secret: ProjectSecret | None = None,
    ocr: bool = True,
    iod: bool = False,
) -> list[Finding]:
    """What ``deid verify`` finds in one output: conformance to ``plan``, provenance, burned-in
    text (``ocr``), IOD validity (``iod``: dciodvfy), and, given the ``original``, identifying
    values left behind and keyed values (with ``secret``) that do not match. An empty list
    means clean."""
    from deidengine.run.verify_tree import verify_file

    with tempfile.TemporaryDirectory(prefix="deid-api-") as work:
        output = _as_file(dataset_or_path, Path(work), "output.dcm")
        source = _as_file(original, Path(work), "original.dcm") if original is not None else None
        return verify_file(output, plan, original=source, secret=secret, ocr=ocr, iod=iod)


def detect_text(
    dataset_or_path: Dataset | str | os.PathLike[str], *, backend: str = "default"
) -> list[TextFinding]:
    """Burned-in text in every frame and overlay plane: boxes with the text read, a confidence
    and whether it identifies (the header's own values, identifying patterns). The text may be
    a patient's name: handle it as PHI (its repr never shows it)."""

    dataset = (
        dataset_or_path if isinstance(dataset_or_path, Dataset) else read_dataset(dataset_or_path)
    )
    report = detect(dataset, collect_identifying_values(dataset), backend=backend)
    return list(report.findings)
