"""The verifier's CPU per file, this tree's against an earlier revision's, in one process.

    python -m benchmarks.verify_ab --revision REV [-n 150] [--rounds 6] [--corpus sr|mixed]

The earlier revision's ``verify/*.py`` are loaded from git (``git show REV:path``) as the
package ``deidengine_base``, their ``deidengine.verify`` imports pointed at those copies;
everything else is this tree's. Rounds alternate (A B, B A, ...): in each, the names by which
:mod:`deidengine.run.pipeline` calls the verifier are pointed at one side's functions, and
``FileProcessor.process`` runs on a batch of files no round has seen (new patients: the
verifier meets each one's values first, as in a run), with the pipeline's verifier stages
timed. Prints, per stage, the CPU milliseconds per file of the fastest round of each side.
Both sides then process one more batch, whose outcomes (status, reason, detail, output name)
must be equal file by file; exit status 1 otherwise. Nothing here is a test.

Corpora (:mod:`benchmarks.corpus`): ``sr``, copies of pydicom's test-SR.dcm; ``mixed``, the
benchmark corpus's CT, MR, SR and RT Plan in turn.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import shutil
import subprocess
import sys
import tempfile
import types
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.corpus import BENCH_SECRET, TEMPLATES, write_corpus  # noqa: E402
from benchmarks.stage_times import _timed  # noqa: E402  (the same stage timer)

BASE = "deidengine_base"
#: The base modules, each after what it imports.
BASE_MODULES = (
    "table_view",
    "conformance",
    "leaks",
    "provenance_check",
    "written",
)
#: The names pipeline.py calls the verifier by: (module, attribute).
PIPELINE_NAMES = (
    ("written", "read_written"),
    ("written", "set_aside_envelopes"),
    ("written", "UnreadableOutputError"),
    ("written", "OpaquePayloadError"),
    ("leaks", "find_leaks"),
    ("leaks", "patient_borne_values"),
    ("conformance", "check_conformance"),
    ("conformance", "Severity"),
    ("provenance_check", "check_provenance"),
)
#: (name shown, owner, attribute): the verifier's stages as pipeline.py calls them.
STAGES = (
    ("read back (lean reader, layout, framing)", "FileProcessor", "_verify_written"),
    ("leak scan", "pipeline", "find_leaks"),
    ("conformance and provenance", "FileProcessor", "_verify_before_write"),
)


def load_base(revision: str) -> dict[str, types.ModuleType]:
    """The revision's verifier modules, importable as ``deidengine_base.<module>``."""
    package = types.ModuleType(BASE)
    package.__path__ = []
    sys.modules[BASE] = package
    loaded: dict[str, types.ModuleType] = {}
    for name in BASE_MODULES:
        path = f"deidengine/verify/{name}.py"
        source = subprocess.run(
            ["git", "show", f"{revision}:{path}"],
            cwd=HERE.parent,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.replace("deidengine.verify.", f"{BASE}.")
        spec = importlib.util.spec_from_loader(f"{BASE}.{name}", loader=None)
        assert spec is not None
        module = importlib.util.module_from_spec(spec)
        module.__file__ = f"<{revision}:{path}>"
        sys.modules[spec.name] = module
        exec(compile(source, module.__file__, "exec"), module.__dict__)
        loaded[name] = module
    return loaded


def _names(modules: dict[str, types.ModuleType]) -> dict[str, Any]:
    return {attribute: getattr(modules[module], attribute) for module, attribute in PIPELINE_NAMES}


def run_batch(
    names: dict[str, Any], files: list[Path], policy: str
) -> tuple[list[tuple[object, object, object, object]], dict[str, float]]:
    """The outcomes of ``files[1:]`` (``files[0]`` warms up) with the verifier ``names``, and
    each stage's CPU milliseconds per file."""
    from deidengine.run import pipeline

    owners: dict[str, Any] = {"pipeline": pipeline, "FileProcessor": pipeline.FileProcessor}
    saved = [(pipeline, name, getattr(pipeline, name)) for name in names]
    totals: dict[str, float] = defaultdict(float)
    for name, value in names.items():
        setattr(pipeline, name, value)
    for name, owner, attribute in STAGES:
        target = owners[owner]
        saved.append((target, attribute, getattr(target, attribute)))
        setattr(target, attribute, _timed(getattr(target, attribute), totals, name))
    work = Path(tempfile.mkdtemp(prefix="deid-verify-ab-"))
    try:
        processor = pipeline.FileProcessor(
            pipeline.RunSettings(
                policy_spec=policy,
                secret_key=BENCH_SECRET,
                output_root=str(work / "out"),
                quarantine_root=str(work / "quarantine"),
            )
        )
        processor.process(str(files[0]))
        totals.clear()
        gc.collect()
        outcomes = [processor.process(str(path)) for path in files[1:]]
    finally:
        for target, attribute, value in saved:
            setattr(target, attribute, value)
        shutil.rmtree(work, ignore_errors=True)
    count = len(files) - 1
    verdicts: list[tuple[object, object, object, object]] = [
        (o.status, o.reason, o.detail, o.output) for o in outcomes
    ]
    return verdicts, {name: seconds * 1000 / count for name, seconds in totals.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--revision", required=True)
    parser.add_argument("-n", "--files", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--corpus", choices=("sr", "mixed"), default="sr")
    parser.add_argument("--policy", default="annex-e/basic")
    arguments = parser.parse_args()
    import deidengine.verify.conformance as conformance
    import deidengine.verify.leaks as leaks
    import deidengine.verify.provenance_check as provenance_check
    import deidengine.verify.written as written

    sides = {
        "A": _names(load_base(arguments.revision)),
        "B": _names(
            {
                "written": written,
                "leaks": leaks,
                "conformance": conformance,
                "provenance_check": provenance_check,
            }
        ),
    }
    templates = ("test-SR.dcm",) if arguments.corpus == "sr" else TEMPLATES
    size = arguments.files + 1
    batches = 2 * arguments.rounds + 1
    root = Path(tempfile.mkdtemp(prefix="deid-verify-ab-corpus-"))
    try:
        files = write_corpus(root, size * batches, templates, per_directory=size)
        best: dict[str, dict[str, float]] = {"A": {}, "B": {}}
        batch = 0
        for number in range(arguments.rounds):
            for side in ("A", "B") if number % 2 == 0 else ("B", "A"):
                _, times = run_batch(
                    sides[side], files[batch * size : (batch + 1) * size], arguments.policy
                )
                batch += 1
                for name, value in times.items():
                    best[side][name] = min(best[side].get(name, float("inf")), value)
        last = files[batch * size :]
        equal = (
            run_batch(sides["A"], last, arguments.policy)[0]
            == run_batch(sides["B"], last, arguments.policy)[0]
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(
        f"{arguments.corpus} corpus, {arguments.files} files a round, {arguments.policy}; "
        f"A = {arguments.revision}, B = this tree; CPU ms a file, fastest of "
        f"{arguments.rounds} rounds each"
    )
    total = {"A": 0.0, "B": 0.0}
    for name, _owner, _attribute in STAGES:
        a, b = best["A"].get(name, 0.0), best["B"].get(name, 0.0)
        total["A"] += a
        total["B"] += b
        print(f"  {name:<42} A {a:6.3f}  B {b:6.3f}  B/A {b / a if a else 0:4.2f}")
    ratio = total["B"] / total["A"] if total["A"] else 0
    print(f"  {'the verifier':<42} A {total['A']:6.3f}  B {total['B']:6.3f}  B/A {ratio:4.2f}")
    print("outcomes equal" if equal else "OUTCOMES DIFFER")
    if not equal:
        sys.exit(1)


if __name__ == "__main__":
    main()
