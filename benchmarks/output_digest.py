"""One digest of every output and outcome the pipeline gives, to show a change kept them.

    python -m benchmarks.output_digest [--json FILE] [--mixed 24] [--images 4]

Processes, in this process and under several policies, the mixed and the image benchmark
corpora (:mod:`benchmarks.corpus`), every file pydicom bundles (test and character-set files)
and the PHI corpus (tests/phi_corpus.py): for each input it records the outcome (status,
reason, detail, the audit's action counts, the output's name, the UID and ID maps) and the
SHA-256 of the bytes written. Prints one digest per policy and one over everything; ``--json``
writes the per-file records, so two runs (before and after a change) can be compared file by
file. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.corpus import (  # noqa: E402
    HEADER_ONLY,
    IMAGE_TEMPLATES,
    TEMPLATES,
    write_corpus,
)

#: Header-stage policies with the options that reach its other branches (clean scopes, SR
#: content items, retained UIDs and dates, safe private blocks, the HIPAA overlay).
POLICIES = (
    "annex-e/basic",
    "annex-e/basic,annex-e/clean-descriptors,annex-e/clean-structured-content",
    "annex-e/basic,annex-e/retain-uids,annex-e/retain-long-full-dates,annex-e/retain-safe-private",
    "annex-e/basic,annex-e/retain-device-identity,annex-e/retain-patient-characteristics",
    f"hipaa-safe-harbor,{HEADER_ONLY}",
    "research-longitudinal",
)


def _inputs(root: Path, mixed: int, images: int) -> list[tuple[str, Path]]:
    import pydicom.data

    sys.path.insert(0, str(HERE.parent / "tests"))
    from phi_corpus import write_corpus as write_phi_corpus

    found: list[tuple[str, Path]] = []
    for index, path in enumerate(write_corpus(root / "mixed", mixed, TEMPLATES)):
        found.append((f"mixed/{index}", path))
    for index, path in enumerate(write_corpus(root / "images", images, IMAGE_TEMPLATES)):
        found.append((f"images/{index}", path))
    data = Path(pydicom.data.__file__).resolve().parent
    for folder in ("test_files", "charset_files"):
        for path in sorted((data / folder).glob("*")):
            if path.is_file() and path.stat().st_size <= 8 << 20:
                found.append((f"{folder}/{path.name}", path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        phi = write_phi_corpus(root / "phi")
    for name, path in sorted(phi.items()):
        found.append((f"phi/{name}", path))
    return found


def records(policy: str, inputs: list[tuple[str, Path]], work: Path) -> dict[str, object]:
    from deidengine.run.pipeline import FileProcessor, RunSettings

    out = work / "out"
    processor = FileProcessor(
        RunSettings(
            policy_spec=policy,
            secret_key=bytes.fromhex("a5" * 32),
            output_root=str(out),
            quarantine_root=str(work / "quarantine"),
            record_mappings=True,
        )
    )
    found: dict[str, object] = {}
    for name, path in inputs:
        outcome = processor.process(str(path))
        written = None
        if outcome.output is not None:
            target = out / outcome.output
            written = hashlib.sha256(target.read_bytes()).hexdigest()
            target.unlink()
        found[name] = {
            "status": str(outcome.status),
            "reason": str(outcome.reason),
            "detail": outcome.detail,
            "actions": list(outcome.actions.items()),  # in the order the stage counted
            "output": outcome.output,
            "uid_map": list(outcome.uid_map.items()),
            "id_map": list(outcome.id_map.items()),
            "sha256": written,
        }
    return found


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path)
    parser.add_argument("--mixed", type=int, default=24)
    parser.add_argument("--images", type=int, default=4)
    arguments = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="deid-digest-"))
    everything: dict[str, object] = {}
    try:
        inputs = _inputs(root / "in", arguments.mixed, arguments.images)
        for number, policy in enumerate(POLICIES):
            work = root / f"run{number}"
            found = records(policy, inputs, work)
            shutil.rmtree(work, ignore_errors=True)
            everything[policy] = found
            print(f"{_digest(found)}  {len(found)} files  {policy}")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"{_digest(everything)}  all")
    if arguments.json is not None:
        arguments.json.write_text(json.dumps(everything, sort_keys=True, indent=1))


if __name__ == "__main__":
    main()
