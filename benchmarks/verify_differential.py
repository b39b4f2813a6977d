"""Differential check of the verifier: the Dataset-based one of an earlier revision against this
tree's table-based one, on the same inputs, the same engine, the same faults.

The earlier revision's verifier (verify/*.py), pipeline (run/pipeline.py) and tree verifier
(run/verify_tree.py) are loaded from git (``git show REV:path``) under ``deidengine_old``, their
``deidengine.verify`` imports pointed at the old copies; everything else is this tree's. Then:

- every input runs through both ``FileProcessor.process`` (old and new) under each policy, with
  each fault injected into the dataset just before it is encoded (identifiers put back, UIDs
  and dates restored, provenance dropped, private blocks added, hostile UIDs, ...) and with
  byte mutations of the encoded output (flips, truncations, bad lengths); the outcomes
  (status, reason, detail, output name, actions, maps) must be equal. Unfaulted, the new
  pipeline takes its lean path wherever a file allows (so that path is held to the old
  pipeline too); with a fault or a mutation it takes its Dataset path, where they are planted;
- every encoded output (faulty ones included) is also written to a tree, and both tree
  verifiers (``deid verify`` with the originals and the secret) must report the same findings.

Inputs: pydicom's bundled test files, the benchmark corpus (benchmarks.corpus TEMPLATES), the
PHI corpus of tests/phi_corpus.py and pydicom's character-set files. Run from the repository
root::

    .venv/bin/python -m benchmarks.verify_differential --revision e5c1532 [--mutants 300]

Prints the differences and a count of cases; exit status 1 on a difference. Against e5c1532
(seeds 16 and 1616, 400 mutants): no difference in the pipelines' outcomes; ``deid verify``
differs only on byte mutants the lean reader refuses whose pydicom reading cannot be written
back (V501 now, where the old verifier mostly stopped with an exception).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import random
import shutil
import subprocess
import sys
import tempfile
import types
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

import deidengine.run.pipeline as new_pipeline
import deidengine.run.verify_tree as new_verify_tree
from benchmarks.corpus import BENCH_SECRET, HEADER_ONLY, TEMPLATES, write_corpus
from deidengine.dicom.keys import ProjectSecret
from deidengine.policy import load_plan
from tests.phi_corpus import write_corpus as write_phi_corpus
from tests.pydicom_files import bundled_charset_files, bundled_test_files

REPOSITORY = Path(__file__).resolve().parent.parent
OLD = "deidengine_old"
#: The old modules, in an order that loads each after what it imports.
OLD_MODULES = (
    "deidengine/verify/conformance.py",
    "deidengine/verify/leaks.py",
    "deidengine/verify/iod.py",
    "deidengine/verify/preamble.py",
    "deidengine/verify/provenance_check.py",
    "deidengine/verify/written.py",
    "deidengine/run/pipeline.py",
    "deidengine/run/verify_tree.py",
)
POLICIES = {
    "basic": "annex-e/basic",
    "hipaa": f"hipaa-safe-harbor,{HEADER_ONLY}",
    "options": (
        "annex-e/basic,annex-e/retain-long-modified-dates,annex-e/retain-safe-private,"
        "annex-e/retain-device-identity,annex-e/clean-descriptors,"
        f"annex-e/clean-structured-content,{HEADER_ONLY}"
    ),
    "longitudinal": f"research-longitudinal,{HEADER_ONLY}",
}
#: The inputs every fault is injected into (label prefixes).
FAULT_INPUTS = "corpus/,phi/,pydicom/test_files/CT_small,pydicom/test_files/MR_small"
#: Large files (> 4 MiB) are left out: the lean reader's fallback is covered by smaller ones.
MAX_INPUT_BYTES = 4 << 20


def load_old(revision: str) -> dict[str, types.ModuleType]:
    """The old modules from git, importable as ``deidengine_old.<package>.<module>``."""
    for package in (OLD, f"{OLD}.verify", f"{OLD}.run"):
        module = types.ModuleType(package)
        module.__path__ = []
        sys.modules[package] = module
    loaded: dict[str, types.ModuleType] = {}
    for path in OLD_MODULES:
        source = subprocess.run(
            ["git", "show", f"{revision}:{path}"],
            cwd=REPOSITORY,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        source = source.replace("deidengine.verify.", f"{OLD}.verify.")
        name = f"{OLD}." + path.removeprefix("deidengine/").removesuffix(".py").replace("/", ".")
        spec = importlib.util.spec_from_loader(name, loader=None)
        assert spec is not None
        module = importlib.util.module_from_spec(spec)
        module.__file__ = f"<{revision}:{path}>"
        sys.modules[name] = module
        exec(compile(source, module.__file__, "exec"), module.__dict__)
        loaded[name.rsplit(".", 1)[1]] = module
    return loaded


# ---------------------------------------------------------------------------- faults
Fault = Callable[[Dataset, Dataset], None]  # (the dataset about to be encoded, the input)


def _set(dataset: Dataset, keyword: str, value: object) -> None:
    setattr(dataset, keyword, value)


def _inject_name(output: Dataset, original: Dataset) -> None:
    name = str(original.get("PatientName", "") or "DOE^JOHN")
    output.StudyDescription = f"study of {name.replace('^', ' ')}"
    item = Dataset()
    item.CodeMeaning = name
    output.add_new(0x00081032, "SQ", Sequence([item]))


def _inject_id(output: Dataset, original: Dataset) -> None:
    output.PatientID = str(original.get("PatientID", "") or "MRN1")
    output.AdditionalPatientHistory = "seen by Dr Quirinus Heloise on Monday"


def _restore_uids(output: Dataset, original: Dataset) -> None:
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "FrameOfReferenceUID"):
        if keyword in original:
            _set(output, keyword, original[keyword].value)


def _restore_sop_instance(output: Dataset, original: Dataset) -> None:
    if "SOPInstanceUID" in original:
        output.SOPInstanceUID = original.SOPInstanceUID  # the meta still names the remap


def _restore_dates(output: Dataset, original: Dataset) -> None:
    for keyword in ("StudyDate", "SeriesDate", "ContentDate", "AcquisitionDateTime"):
        if keyword in original:
            _set(output, keyword, original[keyword].value)
    output.PatientBirthDate = "19700402"


def _drop_provenance(output: Dataset, original: Dataset) -> None:
    for keyword in (
        "PatientIdentityRemoved",
        "DeidentificationMethodCodeSequence",
        "LongitudinalTemporalInformationModified",
    ):
        if keyword in output:
            delattr(output, keyword)
    output.DeidentificationMethod = ""


def _overclaim(output: Dataset, original: Dataset) -> None:
    item = Dataset()
    item.CodeValue = "113101"
    item.CodingSchemeDesignator = "DCM"
    item.CodeMeaning = "Clean Pixel Data Option"
    other = Dataset()
    other.CodeValue = "999999"
    other.CodingSchemeDesignator = "99X"
    codes = list(output.get("DeidentificationMethodCodeSequence", []) or [])
    output.DeidentificationMethodCodeSequence = Sequence([*codes, item, other])
    output.LongitudinalTemporalInformationModified = "REMOVED"


def _private(output: Dataset, original: Dataset) -> None:
    block = output.private_block(0x0011, "HARNESS PRIVATE", create=True)
    block.add_new(0x10, "LO", "a vendor's value")
    output.add_new(0x00130010, "LO", "LONE CREATOR")
    item = Dataset()
    item.add_new(0x00150010, "LO", "NESTED CREATOR")
    item.add_new(0x00151001, "SH", "nested")
    output.add_new(0x00400275, "SQ", Sequence([item]))


def _removed_and_emptied(output: Dataset, original: Dataset) -> None:
    output.PatientAddress = "1 Main Street"
    output.ReferringPhysicianName = "SOMEONE^ELSE"
    output.AccessionNumber = "A123"
    output.OtherPatientIDs = "X1"
    output.add_new(0x00091234, "UN", b"\x01\x02")
    output.add_new(0x00190000, "UL", 4)


def _hostile_uids(output: Dataset, original: Dataset) -> None:
    output.StudyInstanceUID = "../../etc"
    output.SeriesInstanceUID = ["1.2.3", "4.5.6"]


def _unicode(output: Dataset, original: Dataset) -> None:
    output.SpecificCharacterSet = "ISO_IR 192"
    name = str(original.get("PatientName", "") or "DOE^JOHN")
    output.StudyDescription = f"Étude § {name} \u2013 café"
    output.InstitutionName = "Hôpital Saint-Élise"


def _iso2022(output: Dataset, original: Dataset) -> None:
    output.SpecificCharacterSet = ["", "ISO 2022 IR 87"]
    output.StudyDescription = "Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B"
    output.PatientComments = str(original.get("PatientName", "") or "DOE")


def _keep_year(output: Dataset, original: Dataset) -> None:
    output.StudyDate = "20190314"
    output.AcquisitionDateTime = "20190314101010"
    output.StudyTime = "101010"


def _deep_sequence(output: Dataset, original: Dataset) -> None:
    inner = Dataset()
    inner.TextValue = str(original.get("PatientName", "") or "DOE^JOHN")
    inner.UID = "1.2.3.4.5.6.7.8"
    middle = Dataset()
    middle.ContentSequence = Sequence([inner])
    middle.ReferencedSOPInstanceUID = str(original.get("SOPInstanceUID", "1.2.3"))
    output.ContentSequence = Sequence([middle, Dataset()])


def _beside_envelope(output: Dataset, original: Dataset) -> None:
    if "EncryptedAttributesSequence" in output:  # the honest broker's run only
        output.EncryptedAttributesSequence[-1].PatientName = "QUIRINUS^HELOISE"


def _envelope_dropped(output: Dataset, original: Dataset) -> None:
    if "EncryptedAttributesSequence" in output:
        del output.EncryptedAttributesSequence


FAULTS: dict[str, Fault | None] = {
    "none": None,
    "inject-name": _inject_name,
    "inject-id": _inject_id,
    "restore-uids": _restore_uids,
    "restore-sop-instance": _restore_sop_instance,
    "restore-dates": _restore_dates,
    "drop-provenance": _drop_provenance,
    "overclaim": _overclaim,
    "private": _private,
    "removed-and-emptied": _removed_and_emptied,
    "hostile-uids": _hostile_uids,
    "unicode": _unicode,
    "iso2022": _iso2022,
    "keep-year": _keep_year,
    "deep-sequence": _deep_sequence,
    "beside-envelope": _beside_envelope,
    "envelope-dropped": _envelope_dropped,
}


def _mutate_bytes(data: bytes, seed: int) -> bytes:
    """A damaged copy of an encoded output: flipped bytes, a truncation or a bad length."""
    chance = random.Random(seed)
    buffer = bytearray(data)
    kind = chance.choice(("flip", "flip", "truncate", "length", "zero"))
    start = 132
    if kind == "flip":
        for _ in range(chance.randint(1, 4)):
            buffer[chance.randrange(start, len(buffer))] ^= 1 << chance.randrange(8)
    elif kind == "truncate":
        del buffer[chance.randrange(start, len(buffer)) :]
    elif kind == "length":
        at = chance.randrange(start, len(buffer) - 4)
        buffer[at : at + 2] = chance.randrange(0x10000).to_bytes(2, "little")
    else:
        at = chance.randrange(start, len(buffer))
        buffer[at : at + 8] = bytes(len(buffer[at : at + 8]))
    return bytes(buffer)


# ---------------------------------------------------------------------------- one run
def _outcome(outcome: Any) -> tuple[object, ...]:
    fields = dataclasses.asdict(outcome)
    fields.pop("input_ref")
    return tuple(sorted((key, repr(value)) for key, value in fields.items()))


class Case:
    """Runs one input through both pipelines with one fault, collecting the encoded bytes."""

    def __init__(self, old: dict[str, types.ModuleType], tree: Path) -> None:
        self.old = old
        self.tree = tree
        self.encoded: list[tuple[bytes, Path]] = []

    def run(
        self,
        path: Path,
        policy: str,
        fault: Fault | None,
        seed: int | None,
        settings: Any,
        processors: tuple[Any, Any],
    ) -> tuple[tuple[object, ...], tuple[object, ...]]:
        try:
            original = pydicom.dcmread(path, force=True)
        except Exception:
            original = Dataset()
        results = []
        for module, processor in zip((self.old["pipeline"], new_pipeline), processors, strict=True):
            real = module._encode
            captured: list[bytes] = []

            def encode(
                dataset: Dataset, real: Any = real, captured: list[bytes] = captured
            ) -> bytes:
                if fault is not None:
                    fault(dataset, original)
                data: bytes = real(dataset)
                if seed is not None:
                    data = _mutate_bytes(data, seed)
                captured.append(data)
                return data

            module._encode = encode
            planted = fault is not None or seed is not None
            if module is new_pipeline and planted:
                # The faults are planted where the Dataset path encodes: the new pipeline takes
                # that path for them (its lean path, which the unfaulted runs take wherever a
                # file allows, writes through the core writer instead).
                processor._lean_output = lambda reading, facts: None
            try:
                with tempfile.TemporaryDirectory() as scratch:
                    processor.output_root = Path(scratch) / "out"
                    processor.quarantine_root = Path(scratch) / "q"
                    results.append(_outcome(processor.process(str(path))))
            finally:
                module._encode = real
                if module is new_pipeline and planted:
                    del processor._lean_output
            if module is new_pipeline and captured:
                self.encoded.append((captured[0], path))
        return results[0], results[1]


def _sources(scratch: Path) -> Iterator[tuple[str, Path]]:
    for name in bundled_test_files() + bundled_charset_files():
        path = Path(name)
        if path.stat().st_size <= MAX_INPUT_BYTES and not path.name.endswith((".gz", ".bz2")):
            yield f"pydicom/{path.parent.name}/{path.name}", path
    for path in write_corpus(scratch / "corpus", 12, TEMPLATES):
        yield f"corpus/{path.name}", path
    for label, path in write_phi_corpus(scratch / "phi").items():
        yield f"phi/{label}", path


def _broker_runs(
    old: dict[str, types.ModuleType], scratch: Path, inputs: list[tuple[str, Path]]
) -> list[str]:
    """Both pipelines in honest-broker mode (the envelopes set aside before the checks), every
    fault on every input: the outcomes, not the bytes (each envelope is random)."""
    from tests.provenance.recipients import make_recipient

    certificate = scratch / "broker.pem"
    certificate.write_bytes(make_recipient("broker").cert_pem)
    policy = POLICIES["hipaa"]
    settings = new_pipeline.RunSettings(
        policy, BENCH_SECRET, str(scratch / "o"), str(scratch / "q"), encrypt_to=str(certificate)
    )
    processors = (old["pipeline"].FileProcessor(settings), new_pipeline.FileProcessor(settings))
    case = Case(old, scratch)
    differences = []
    for label, path in inputs:
        for name, fault in FAULTS.items():
            old_result, new_result = case.run(path, policy, fault, None, settings, processors)
            if old_result != new_result:
                differences.append(
                    f"broker {label} {name}:\n  old {old_result}\n  new {new_result}"
                )
    print(f"broker: {len(inputs) * len(FAULTS)} runs")
    return differences


def _tree_verdict(
    module: types.ModuleType, output: Path, plan: Any, original: Path
) -> list[tuple[str, ...]]:
    """``deid verify``'s findings for one output (its original and the secret given), or the
    exception it stops on."""
    try:
        found = module.verify_file(
            output,
            plan,
            original=original,
            secret=ProjectSecret(BENCH_SECRET),
            ocr=False,
            iod=False,
        )
    except Exception as error:  # the old tree verifier stops on some damaged files
        return [("raised", type(error).__name__)]
    return [(f.file, f.location, f.code, f.message, f.severity.value) for f in found]


def _inputs(scratch: Path) -> list[tuple[str, Path]]:
    """Every input, copied under ``scratch / "inputs"`` (the tree verifier's original root)."""
    found = []
    for label, source in _sources(scratch / "made"):
        target = scratch / "inputs" / label
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        found.append((label, target))
    return found


def time_pipelines(old: dict[str, types.ModuleType], count: int, rounds: int) -> None:
    """Per-file time of ``FileProcessor.process`` over ``count`` mixed corpus files (the
    header-only basic policy), the revision before's pipeline and this tree's, in one process,
    their rounds interleaved; prints the fastest and the median round of each."""
    import statistics
    import time

    scratch = Path(tempfile.mkdtemp(prefix="verify-timing-"))
    try:
        paths = [str(path) for path in write_corpus(scratch / "in", count, TEMPLATES)]
        timings: dict[str, list[float]] = {"old": [], "new": []}
        for number in range(rounds):
            for label, module in (("old", old["pipeline"]), ("new", new_pipeline)):
                out = scratch / f"out-{label}-{number}"
                settings = new_pipeline.RunSettings(
                    f"annex-e/basic,{HEADER_ONLY}", BENCH_SECRET, str(out), str(scratch / "q")
                )
                processor = module.FileProcessor(settings)
                started = time.perf_counter()
                statuses = {processor.process(path).status.value for path in paths}
                timings[label].append((time.perf_counter() - started) / count * 1000)
                assert statuses == {"written"}, statuses
                shutil.rmtree(out)
        for label, values in timings.items():
            print(
                f"{label}: {min(values):.2f} ms per file fastest, "
                f"{statistics.median(values):.2f} median ({rounds} rounds of {count} files)"
            )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--revision", default="e5c1532")
    parser.add_argument("--mutants", type=int, default=300)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument(
        "--faults-on",
        default="corpus/,phi/,pydicom/test_files/CT_small,pydicom/test_files/MR_small",
    )
    parser.add_argument("--keep", type=Path, help="copy each differing output here")
    parser.add_argument(
        "--time", type=int, metavar="N", help="instead: time both pipelines over N files"
    )
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    old = load_old(arguments.revision)
    if arguments.time:
        time_pipelines(old, arguments.time, arguments.rounds)
        return 0
    scratch = Path(tempfile.mkdtemp(prefix="verify-differential-"))
    differences: list[str] = []
    cases = 0
    try:
        inputs = list(_inputs(scratch))
        fault_inputs = [
            (label, path)
            for label, path in inputs
            if any(label.startswith(p) for p in arguments.faults_on.split(","))
        ]
        chance = random.Random(arguments.seed)
        for policy_label, policy in POLICIES.items():
            tree = scratch / "tree" / policy_label
            tree.mkdir(parents=True)
            settings = new_pipeline.RunSettings(
                policy, BENCH_SECRET, str(scratch / "o"), str(scratch / "q")
            )
            processors = (
                old["pipeline"].FileProcessor(settings),
                new_pipeline.FileProcessor(settings),
            )
            case = Case(old, tree)
            plan_cases: list[tuple[str, Path, str, Fault | None, int | None]] = [
                (label, path, "none", None, None) for label, path in inputs
            ]
            plan_cases += [
                (label, path, name, fault, None)
                for label, path in fault_inputs
                for name, fault in FAULTS.items()
                if fault is not None
            ]
            plan_cases += [
                (*chance.choice(fault_inputs), "bytes", None, chance.randrange(1 << 30))
                for _ in range(arguments.mutants // len(POLICIES))
            ]
            for label, path, fault_name, fault, seed in plan_cases:
                cases += 1
                old_result, new_result = case.run(path, policy, fault, seed, settings, processors)
                if old_result != new_result:
                    differences.append(
                        f"{policy_label} {label} {fault_name} {seed}:\n  old {old_result}\n"
                        f"  new {new_result}"
                    )
            plan = load_plan(policy)
            tree_findings = 0
            for number, (data, input_path) in enumerate(case.encoded):
                output = tree / f"{number:05d}.dcm"
                output.write_bytes(data)
                verdicts = [
                    _tree_verdict(module, output, plan, input_path)
                    for module in (old["verify_tree"], new_verify_tree)
                ]
                cases += 1
                tree_findings += len(verdicts[1])
                if verdicts[0] != verdicts[1]:
                    if arguments.keep is not None:
                        arguments.keep.mkdir(parents=True, exist_ok=True)
                        kept = arguments.keep / f"{policy_label}-{output.name}"
                        shutil.copyfile(output, kept)
                        shutil.copyfile(input_path, kept.with_suffix(".input"))
                    differences.append(
                        f"{policy_label} deid verify {output.name} of {input_path.name}:\n"
                        f"  old {verdicts[0]}\n  new {verdicts[1]}"
                    )
            print(
                f"{policy_label}: {len(plan_cases)} runs, {len(case.encoded)} outputs verified, "
                f"{tree_findings} tree findings"
            )
        differences.extend(_broker_runs(old, scratch, fault_inputs))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    for difference in differences:
        print(difference)
    print(f"{cases} cases, {len(differences)} differences")
    return 1 if differences else 0


if __name__ == "__main__":
    raise SystemExit(main())
