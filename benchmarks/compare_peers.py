"""Compare ``deid run`` with its peers and with a pydicom read+write floor, on two corpora.

    python benchmarks/compare_peers.py [-n 300] [--rounds 3] [--corpora mixed,images]
                                       [--write-readme]

What it does, in one run:

1. makes one virtual environment per peer (default under ``/tmp/deid-peers``) and installs it
   from PyPI with pip: ``deid`` (pydicom/deid), ``dicognito``, ``dicom-anonymizer``;
2. writes the corpora (:mod:`benchmarks.corpus`), every file a distinct patient (name, ID,
   birth date) with distinct UIDs, each corpus in one flat folder (``dicom-anonymizer`` reads
   one folder, not a tree), in ``N`` files and again in ``N/3``:

   - ``mixed``: copies of pydicom's CT, MR, SR and RT Plan test files in turn (half of them
     structure: an SR content tree, an RT Plan's sequences; small images);
   - ``images``: the CT and the MR in turn, their pixels tiled to 512 x 512 (what an
     archive's image series are made of);
3. runs every tool as a command, timed by the wall clock from start to exit (interpreter start,
   imports, policy compilation and worker start-up included), into an empty output folder,
   ``--rounds`` times, interleaved and rotated so that load from elsewhere spreads over all:

   - ``floor``: a plain pydicom loop, ``dcmread`` then ``save_as`` of every file, one process;
   - ``deid --workers 1`` and ``deid --workers 2``: ``deid run --policy annex-e/basic`` (the
     Basic Profile has no pixel rule: header only);
   - ``dicognito``, ``pydicom/deid`` (its bundled default recipe, private tags removed),
     ``dicom-anonymizer``, each with its defaults;

4. prints, per corpus and tool, the files per second of its fastest round and of its median
   round on ``N`` files (end to end: on a shared virtual machine, interference only ever slows
   a run, so the fastest of interleaved rounds is the least disturbed one, for every tool
   alike; the median shows how much that matters) and the marginal rate
   ``(N - N/3) / (t(N) - t(N/3))``, which start-up does not count in; then the ratios against
   the floor and against dicognito, and whether issue #16's targets hold (header only, default
   settings, 2 cores): ``deid --workers 2`` at least 1.2x the floor on the mixed corpus and
   1.0x on image series, at least 3x dicognito on both, by the fastest and by the median
   rounds;
5. measures, in this process, the CPU time per file of the SR case (pydicom's ``test-SR.dcm``,
   distinct copies) through the engine's per-file function against the floor's ``dcmread`` +
   ``save_as`` of the same files, interleaved rounds, and checks the target (within 2x).

With ``--write-readme`` the measured block (the tables, the targets, the SR line) replaces
the one between the markers in README.md's "Performance" section; the prose around it is
written by hand.

Every tool must write one output per input, or the run stops: a tool that skips files is not
faster. Nothing here is a test; the targets are checked in this script's output only.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from benchmarks.corpus import IMAGE_TEMPLATES, TEMPLATES, write_corpus  # noqa: E402

PEERS = {"deid": "deid", "dicognito": "dicognito", "dicom-anonymizer": "dicom-anonymizer"}
"""Virtual environment name → the PyPI distribution installed in it."""

SECRET_HEX = "a5" * 32
FLOOR_SCRIPT = """
import sys
from pathlib import Path
import pydicom
source, target = Path(sys.argv[1]), Path(sys.argv[2])
target.mkdir(parents=True, exist_ok=True)
for index, path in enumerate(sorted(p for p in source.rglob("*") if p.is_file())):
    pydicom.dcmread(path).save_as(target / f"{index}.dcm", enforce_file_format=True)
"""
PYDICOM_DEID_SCRIPT = """
import sys
from pathlib import Path
from deid.config import DeidRecipe
from deid.dicom import replace_identifiers
source, target = Path(sys.argv[1]), Path(sys.argv[2])
target.mkdir(parents=True, exist_ok=True)
files = sorted(str(p) for p in source.rglob("*") if p.is_file())
replace_identifiers(files, deid=DeidRecipe(), save=True, output_folder=str(target),
                    remove_private=True, overwrite=True)
"""
README_HEADING = "## Performance"
README_MARKERS = (
    "<!-- measured by benchmarks/compare_peers.py: begin -->",
    "<!-- measured by benchmarks/compare_peers.py: end -->",
)
"""What ``--write-readme`` replaces: the measured block, not the hand-written prose."""
FLOOR_TARGETS = {"mixed": 1.2, "images": 1.0}
"""Issue #16: ``deid --workers 2`` against the floor, per corpus."""
DICOGNITO_TARGET = 3.0
"""Issue #16: ``deid --workers 2`` against dicognito, on both corpora."""
SR_CPU_TARGET = 2.0
"""Issue #16: the SR case's CPU per file within this many times the floor's."""


def _verdict(median: float, fastest: float, goal: float) -> str:
    if median >= goal:
        return "HOLDS (fastest and median)"
    if fastest >= goal:
        return "holds by the fastest round only"
    return "DOES NOT HOLD"


@dataclass(frozen=True)
class Corpus:
    """A corpus of the comparison: which test files, in turn, and at what image size."""

    description: str
    templates: tuple[str, ...]
    matrix: int | None = None


CORPORA = {
    "mixed": Corpus("copies of pydicom's CT, MR, SR and RT Plan test files in turn", TEMPLATES),
    "images": Corpus(
        "the CT and the MR in turn, their pixels tiled to 512 x 512 (about 0.5 MiB a file, "
        "what an archive's image series are made of)",
        IMAGE_TEMPLATES,
        512,
    ),
}


@dataclass
class Tool:
    name: str
    command: Callable[[Path, Path], list[str]]
    note: str
    version: str = ""
    seconds: dict[tuple[str, int], list[float]] = field(default_factory=dict)

    def best(self, corpus: str, count: int) -> float:
        """The fastest round's seconds on ``count`` files of ``corpus``."""
        return min(self.seconds[corpus, count])

    def median(self, corpus: str, count: int) -> float:
        """The median round's seconds on ``count`` files of ``corpus``."""
        return statistics.median(self.seconds[corpus, count])


def _run(command: list[str], **extra: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, text=True, capture_output=True, **extra)  # type: ignore[call-overload,no-any-return]


def ensure_peers(root: Path, install: bool) -> dict[str, Path]:
    """The Python of each peer's virtual environment, installing what is missing."""
    pythons: dict[str, Path] = {}
    for venv, distribution in PEERS.items():
        python = root / venv / "bin" / "python"
        if not python.exists():
            if not install:
                raise SystemExit(f"{python} is missing; run without --no-install")
            print(f"installing {distribution} into {root / venv} ...", flush=True)
            subprocess.run([sys.executable, "-m", "venv", str(root / venv)], check=True)
            subprocess.run(
                [str(python), "-m", "pip", "install", "-q", distribution],
                check=True,
            )
        pythons[venv] = python
    return pythons


def _version(python: Path, distribution: str) -> str:
    found = _run(
        [str(python), "-c", f"import importlib.metadata as m; print(m.version('{distribution}'))"]
    )
    return found.stdout.strip() or "?"


def tools(pythons: dict[str, Path], work: Path) -> list[Tool]:
    key = work / "project.key"
    key.write_text(SECRET_HEX + "\n", encoding="ascii")
    floor = work / "floor.py"
    floor.write_text(FLOOR_SCRIPT, encoding="utf-8")
    pydicom_deid = work / "pydicom_deid.py"
    pydicom_deid.write_text(PYDICOM_DEID_SCRIPT, encoding="utf-8")

    def deid(workers: int) -> Callable[[Path, Path], list[str]]:
        def command(source: Path, target: Path) -> list[str]:
            return [
                sys.executable, "-m", "deidengine.cli", "run", "--policy", "annex-e/basic",
                "--secret-file", str(key), "--workers", str(workers), str(source), str(target),
            ]  # fmt: skip

        return command

    import pydicom

    from deidengine import __version__

    return [
        Tool(
            "floor",
            lambda s, t: [sys.executable, str(floor), str(s), str(t)],
            "pydicom dcmread + save_as, one process",
            f"pydicom {pydicom.__version__}",
        ),
        Tool("deid --workers 1", deid(1), "deid run, annex-e/basic", __version__),
        Tool("deid --workers 2", deid(2), "deid run, annex-e/basic", __version__),
        Tool(
            "dicognito",
            lambda s, t: [str(pythons["dicognito"]), "-m", "dicognito", "-q", "-o", str(t), str(s)],
            "defaults",
            _version(pythons["dicognito"], "dicognito"),
        ),
        Tool(
            "pydicom/deid",
            lambda s, t: [str(pythons["deid"]), str(pydicom_deid), str(s), str(t)],
            "default recipe, private tags removed",
            _version(pythons["deid"], "deid"),
        ),
        Tool(
            "dicom-anonymizer",
            lambda s, t: [
                str(pythons["dicom-anonymizer"].with_name("dicom-anonymizer")),
                str(s),
                str(t),
            ],
            "defaults",
            _version(pythons["dicom-anonymizer"], "dicom-anonymizer"),
        ),
    ]


def _clean(target: Path) -> None:
    for path in (target, *target.parent.glob(target.name + ".*")):
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def time_tool(tool: Tool, source: Path, target: Path, expected: int) -> float:
    _clean(target)
    target.mkdir(parents=True)  # dicom-anonymizer wants it; the others accept it
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    started = time.perf_counter()
    done = _run(tool.command(source, target), env=environment)
    seconds = time.perf_counter() - started
    check_outputs(tool.name, done, target, expected)
    _clean(target)
    return seconds


def check_outputs(
    name: str, done: subprocess.CompletedProcess[str], target: Path, expected: int
) -> None:
    """Stop the comparison unless the command exited 0 with one output per input."""
    written = sum(1 for path in target.rglob("*") if path.is_file())
    if done.returncode != 0 or written != expected:
        raise SystemExit(
            f"{name} failed: exit {done.returncode}, {written} of {expected} outputs\n"
            f"{done.stderr[-2000:]}"
        )


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (
        f"{os.cpu_count()} cores ({model}){memory}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def _load() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "?"


def table(
    all_tools: list[Tool], corpus: str, large: int, small: int
) -> tuple[str, dict[str, float]]:
    rate = {tool.name: large / tool.best(corpus, large) for tool in all_tools}
    median = {tool.name: large / tool.median(corpus, large) for tool in all_tools}
    marginal = {
        tool.name: (large - small) / max(tool.best(corpus, large) - tool.best(corpus, small), 1e-9)
        for tool in all_tools
    }
    lines = [
        f"| tool | version | files/s ({large} files) | vs floor | vs dicognito "
        f"| median round files/s | vs floor | vs dicognito "
        f"| marginal files/s | vs floor | vs dicognito |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for tool in all_tools:
        name = tool.name
        lines.append(
            f"| {name} ({tool.note}) | {tool.version} | {rate[name]:.0f} "
            f"| {rate[name] / rate['floor']:.2f}x | {rate[name] / rate['dicognito']:.2f}x "
            f"| {median[name]:.0f} | {median[name] / median['floor']:.2f}x "
            f"| {median[name] / median['dicognito']:.2f}x "
            f"| {marginal[name]:.0f} | {marginal[name] / marginal['floor']:.2f}x "
            f"| {marginal[name] / marginal['dicognito']:.2f}x |"
        )
    deid = "deid --workers 2"
    ratios = {
        "vs_floor": rate[deid] / rate["floor"],
        "vs_dicognito": rate[deid] / rate["dicognito"],
        "median_vs_floor": median[deid] / median["floor"],
        "median_vs_dicognito": median[deid] / median["dicognito"],
        "marginal_vs_floor": marginal[deid] / marginal["floor"],
        "marginal_vs_dicognito": marginal[deid] / marginal["dicognito"],
    }
    return "\n".join(lines), ratios


def sr_cpu_per_file(work: Path, copies: int = 60, rounds: int = 5) -> tuple[float, float]:
    """CPU milliseconds per file of the SR case, ``(engine, floor)``: the engine's per-file
    function (:meth:`~deidengine.run.pipeline.FileProcessor.process`, annex-e/basic, verify
    and atomic write included) and the floor's ``dcmread`` + ``save_as``, on ``copies``
    distinct copies of pydicom's ``test-SR.dcm``, the fastest of ``rounds`` interleaved
    rounds each (CPU time of this process: the disk's waits do not count for either).

    Each runs with the collector as it has it in its own run: the engine's files as a
    ``deid run`` worker processes them (its heap frozen, collections at
    ``WORKER_COLLECTION_THRESHOLD`` objects), the floor's at Python's defaults."""
    import gc

    import pydicom

    from deidengine.run.executor import WORKER_COLLECTION_THRESHOLD
    from deidengine.run.pipeline import FileProcessor, RunSettings

    source = work / "sr"
    paths = write_corpus(source, copies, ("test-SR.dcm",), per_directory=copies)
    engine: list[float] = []
    floor: list[float] = []
    for round_index in range(rounds):
        target = work / f"sr-out-{round_index}"
        settings = RunSettings(
            policy_spec="annex-e/basic",
            secret_key=bytes.fromhex(SECRET_HEX),
            output_root=str(target / "out"),
            quarantine_root=str(target / "quarantine"),
        )
        processor = FileProcessor(settings)
        processor.process(str(paths[0]))  # first-call costs (text stage vocabularies) apart
        defaults = gc.get_threshold()
        gc.freeze()
        gc.set_threshold(WORKER_COLLECTION_THRESHOLD, *defaults[1:])
        try:
            started = time.process_time()
            for path in paths[1:]:
                processor.process(str(path))
            engine.append((time.process_time() - started) / (len(paths) - 1))
        finally:
            gc.set_threshold(*defaults)
            gc.unfreeze()
        floor_target = target / "floor"
        floor_target.mkdir(parents=True)
        started = time.process_time()
        for index, path in enumerate(paths[1:]):
            pydicom.dcmread(path).save_as(floor_target / f"{index}.dcm", enforce_file_format=True)
        floor.append((time.process_time() - started) / (len(paths) - 1))
        shutil.rmtree(target)
    return min(engine) * 1000, min(floor) * 1000


def _wrapped(markdown: str) -> str:
    """Paragraphs wrapped at 100 columns; headings, tables and list items left as they are."""
    blocks = []
    for block in markdown.split("\n\n"):
        if block.startswith(("#", "|", "- ")):
            blocks.append(block)
        else:
            blocks.append(textwrap.fill(block, width=100, break_on_hyphens=False))
    return "\n\n".join(blocks)


def write_readme(measured: str) -> None:
    """Put ``measured`` between README.md's two :data:`README_MARKERS`, inside its Performance
    section (the prose around them is written by hand: it explains what the figures show)."""
    readme = REPO / "README.md"
    text = readme.read_text(encoding="utf-8")
    begin, end = README_MARKERS
    block = f"{begin}\n{measured.rstrip()}\n{end}\n"
    if begin in text and end in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end) + 1 :]
    else:
        heading = text.find(README_HEADING + "\n")
        if heading < 0:
            text = text.rstrip("\n") + f"\n\n{README_HEADING}\n\n{block}"
        else:
            at = heading + len(README_HEADING) + 1
            text = text[:at] + "\n" + block + text[at:]
    readme.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--files", type=int, default=300, help="corpus size (300)")
    parser.add_argument("--rounds", type=int, default=3, help="runs per tool and size (3)")
    parser.add_argument("--venvs", type=Path, default=Path("/tmp/deid-peers"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/deid-compare"))
    parser.add_argument("--no-install", action="store_true", help="never run pip")
    parser.add_argument("--write-readme", action="store_true", help="update README.md")
    parser.add_argument(
        "--corpora", default=",".join(CORPORA), help=f"which, comma-separated ({','.join(CORPORA)})"
    )
    arguments = parser.parse_args()
    large, small = arguments.files, max(1, arguments.files // 3)
    names = arguments.corpora.split(",")
    unknown = sorted(set(names) - set(CORPORA))
    if unknown:
        parser.error(f"unknown corpus {', '.join(unknown)}; choose from {', '.join(CORPORA)}")

    pythons = ensure_peers(arguments.venvs, install=not arguments.no_install)
    work = arguments.work
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    folders: dict[tuple[str, int], Path] = {}
    for name in names:
        corpus = CORPORA[name]
        for count in (large, small):
            folder = work / f"{name}-{count}" / "files"
            write_corpus(
                folder.parent, count, corpus.templates, per_directory=count, matrix=corpus.matrix
            )
            (folder.parent / "0000").rename(folder)
            folders[name, count] = folder
    all_tools = tools(pythons, work)
    load_before = _load()
    print(f"{machine()}; load average {load_before}", flush=True)
    for round_index in range(arguments.rounds):
        shift = round_index % len(all_tools)
        for tool in all_tools[shift:] + all_tools[:shift]:
            for name in names:
                for count in (large, small):
                    seconds = time_tool(tool, folders[name, count], work / "out", count)
                    tool.seconds.setdefault((name, count), []).append(seconds)
                    print(f"  round {round_index + 1} {tool.name:<18} {name:<6} {count:>5} "
                          f"files {seconds:7.2f} s", flush=True)  # fmt: skip
    engine_ms, floor_ms = sr_cpu_per_file(work)
    load_after = _load()
    sr_ratio = engine_ms / floor_ms
    sr_verdict = "HOLDS" if sr_ratio <= SR_CPU_TARGET else "DOES NOT HOLD"
    sr_line = (
        f"- SR case CPU per file (pydicom's `test-SR.dcm`, annex-e/basic, one process, "
        f"fastest of 5 interleaved rounds of 59 distinct copies): the engine {engine_ms:.2f} ms "
        f"against the floor's read and write {floor_ms:.2f} ms, {sr_ratio:.2f}x (target "
        f"within {SR_CPU_TARGET:.0f}x): {sr_verdict}"
    )
    results = []
    for name in names:
        rows, ratios = table(all_tools, name, large, small)
        floor_goal = FLOOR_TARGETS[name]
        targets = [
            (f"deid --workers 2 >= {floor_goal:.1f}x the floor", "vs_floor", floor_goal),
            (f"deid --workers 2 >= {DICOGNITO_TARGET:.0f}x dicognito", "vs_dicognito",
             DICOGNITO_TARGET),
        ]  # fmt: skip
        verdicts = "\n".join(
            f"- {label}: fastest round {ratios[key]:.2f}x, median round "
            f"{ratios['median_' + key]:.2f}x (marginal {ratios['marginal_' + key]:.2f}x): "
            f"{_verdict(min(ratios[key], ratios['median_' + key]), ratios[key], goal)}"
            for label, key, goal in targets
        )
        results.append(
            f"The **{name}** corpus: {CORPORA[name].description}.\n\n{rows}\n\n"
            f"Targets on the {name} corpus (header only, default settings on 2 cores):"
            f"\n\n{verdicts}"
        )
    section = _wrapped(
        f"Measured by `python benchmarks/compare_peers.py -n {large} --rounds "
        f"{arguments.rounds}` on {machine()}; load average {load_before} before and "
        f"{load_after} after. Every tool ran as a command on the "
        f"same {large} files of each corpus ({small} for the marginal rate), each file a "
        f"distinct patient with distinct UIDs, timed from start to exit, in "
        f"{arguments.rounds} interleaved runs: the fastest (this is a shared virtual machine: "
        f"interference only ever slows a run, so the fastest run is the least disturbed, for "
        f"every tool alike) and the median. *Marginal* divides the "
        f"{large - small} extra files by the extra time, so start-up (interpreter, imports, "
        f"policy compilation, worker processes) does not count.\n\n"
        + "\n\n".join(results)
        + "\n\n"
        + sr_line
    )
    print()
    print(section)
    if arguments.write_readme:
        write_readme(section)
        print("README.md updated")


if __name__ == "__main__":
    main()
