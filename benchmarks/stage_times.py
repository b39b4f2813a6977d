"""Where one file's time goes, stage by stage, inside ``FileProcessor.process``.

    python -m benchmarks.stage_times [-n 200] [--rounds 3] [--corpus mixed|images]
                                     [--policy annex-e/basic]

Writes the corpus (:mod:`benchmarks.corpus`), then processes it in this process with the
pipeline's stages wrapped by timers: the names :mod:`deidengine.run.pipeline` calls each
stage by are replaced, for the run, by timing wrappers around the same functions, so nothing
else changes. Prints, per stage, the CPU milliseconds per file (the fastest of ``--rounds``
rounds, each on a fresh output folder; a stage's time includes the stages it calls, which
are listed indented under it), and the whole ``process`` call per file beside them. A stage
that did not run on any file is not listed. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.corpus import IMAGE_TEMPLATES, TEMPLATES, write_corpus  # noqa: E402

#: (name shown, module, attribute, depth): the names pipeline.py calls, in pipeline order.
STAGES = (
    ("read and admit (lean reader, admission checks)", "pipeline", "read_input_file", 0),
    ("input facts from the table", "pipeline", "table_facts", 0),
    ("lean path: header stage, stamp, encoding", "FileProcessor", "_lean_output", 0),
    ("header stage on the table", "pipeline", "apply_plan_to_table", 1),
    ("stamp and File Meta as edits", "pipeline", "lean_output", 1),
    ("encoding (core writer)", "pipeline", "encode_output", 1),
    ("Dataset path: dataset of the input", "pipeline", "admitted_dataset", 0),
    ("Dataset path: header stage", "pipeline", "apply_plan", 0),
    ("Dataset path: encoding", "pipeline", "_encode", 0),
    ("read back (lean reader, table view)", "FileProcessor", "_verify_written", 0),
    ("leak scan", "pipeline", "find_leaks", 0),
    ("conformance and provenance checks", "FileProcessor", "_verify_before_write", 0),
    ("atomic, durable write", "pipeline", "_write_atomically", 0),
)


def _timed(function: Callable[..., Any], totals: dict[str, float], name: str) -> Callable[..., Any]:
    def wrapper(*arguments: Any, **keywords: Any) -> Any:
        started = time.process_time()
        try:
            return function(*arguments, **keywords)
        finally:
            totals[name] += time.process_time() - started

    return wrapper


def measure(files: list[Path], policy: str, rounds: int) -> tuple[dict[str, float], float]:
    """Fastest round's CPU ms per file for each stage, and for the whole ``process`` call."""
    from deidengine.run import pipeline

    owners = {"pipeline": pipeline, "FileProcessor": pipeline.FileProcessor}
    best: dict[str, float] = {}
    whole = float("inf")
    for _ in range(rounds):
        totals: dict[str, float] = defaultdict(float)
        saved = []
        for name, owner, attribute, _depth in STAGES:
            target = owners[owner]
            original = getattr(target, attribute)
            saved.append((target, attribute, original))
            setattr(target, attribute, _timed(original, totals, name))
        work = Path(tempfile.mkdtemp(prefix="deid-stages-"))
        try:
            processor = pipeline.FileProcessor(
                pipeline.RunSettings(
                    policy_spec=policy,
                    secret_key=bytes.fromhex("a5" * 32),
                    output_root=str(work / "out"),
                    quarantine_root=str(work / "quarantine"),
                )
            )
            processor.process(str(files[0]))  # first-use costs (word lists, NER) apart
            totals.clear()
            started = time.process_time()
            for path in files[1:]:
                processor.process(str(path))
            elapsed = time.process_time() - started
        finally:
            for target, attribute, original in saved:
                setattr(target, attribute, original)
            shutil.rmtree(work, ignore_errors=True)
        count = len(files) - 1
        whole = min(whole, elapsed * 1000 / count)
        for name, seconds in totals.items():
            best[name] = min(best.get(name, float("inf")), seconds * 1000 / count)
    return best, whole


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--files", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--corpus", choices=("mixed", "images"), default="mixed")
    parser.add_argument("--policy", default="annex-e/basic")
    arguments = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="deid-stage-corpus-"))
    try:
        templates, matrix = (
            (TEMPLATES, None) if arguments.corpus == "mixed" else (IMAGE_TEMPLATES, 512)
        )
        files = write_corpus(root, arguments.files + 1, templates, matrix=matrix)
        best, whole = measure(files, arguments.policy, arguments.rounds)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"{arguments.corpus} corpus, {arguments.files} files, {arguments.policy}, CPU ms a file")
    print(f"  {'whole process() call':<52} {whole:6.2f}")
    for name, _owner, _attribute, depth in STAGES:
        if name in best:
            print(f"  {'  ' * depth + name:<52} {best[name]:6.2f}")


if __name__ == "__main__":
    main()
