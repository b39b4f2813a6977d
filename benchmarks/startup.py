"""A run's fixed cost (start-up and shut-down) against the pydicom floor's, in one run.

    python benchmarks/startup.py [-n 300] [--rounds 5] [--corpus mixed|images]
                                 [--workers 1,2] [--baseline PATH] [--leader] [--syscalls]

A run's wall time is about ``fixed + N x per-file``; :mod:`benchmarks.compare_peers` reports
the rate, which on a few hundred files a fixed cost of a second or more weighs down. This
script separates the two: it times, for each tool, one file, ``N/3`` files and ``N`` files of
the corpus (:mod:`benchmarks.corpus`, one flat folder), ``--rounds`` times, interleaved and
rotated so that load from elsewhere spreads over all, and prints, from the fastest round and
from the median round of each size:

- ``t(1)``, ``t(N/3)``, ``t(N)``;
- the per-file cost ``(t(N) - t(N/3)) / (N - N/3)``;
- the fixed cost, the straight line through ``t(N/3)`` and ``t(N)`` extrapolated to zero files:
  ``(3 t(N/3) - t(N)) / 2``;
- each against the floor's (``dcmread`` + ``save_as`` of every file in one process: its fixed
  cost is the interpreter and pydicom's import);

and the same figures in CPU time (the run's processes together, median rounds): on a shared
machine, the wall time of a two-worker run swings with the other load, its CPU time much less.

The tools: the floor, and ``deid run --policy annex-e/basic --workers W`` for each ``W`` of
``--workers``, from this checkout, and with ``--baseline PATH`` from another checkout too
(``git worktree add /tmp/base main``): the same interpreter and packages, that tree's code,
so a change is measured against what it changes in the same rounds. Each checkout has a cache
of its own (``$DEID_CACHE_DIR`` under ``--work``: two checkouts sharing one would evict each
other's plan), warmed by a first untimed run of each deid tool.

With ``--leader``, each deid tool then runs ``--rounds`` more times on ``N/3`` and on ``N``
files with the run's own process (the leader: discovery, the pool's threads, the manifest,
the audit, progress) reporting its CPU time at exit, and the leader's CPU per file is printed:
the median of ``(leader(N) - leader(N/3)) / (N - N/3)`` (not from one file: a run of one input
has no pool, its leader processes the file). With ``--syscalls``, each deid tool runs once more
on ``N/3`` and on ``N`` files under ``strace -f -c`` (all its processes), and the system calls
per output are printed, the same marginal way (start-up left out): those of the durable write
and the total.

Nothing here is a test, and no timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from benchmarks.compare_peers import (  # noqa: E402
    CORPORA,
    FLOOR_SCRIPT,
    _clean,
    check_outputs,
    machine,
)
from benchmarks.corpus import write_corpus  # noqa: E402


@dataclass
class Tool:
    name: str
    command: list[str]  # completed with the input and output folders
    pythonpath: str
    seconds: dict[int, list[float]] = field(default_factory=dict)
    cpu: dict[int, list[float]] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)


def _deid(name: str, checkout: Path, key: Path, workers: int, cache: Path) -> Tool:
    command = [
        sys.executable, "-m", "deidengine.cli", "run", "--policy", "annex-e/basic",
        "--secret-file", str(key), "--workers", str(workers),
    ]  # fmt: skip
    # A cache of its own per checkout: the plan cache keeps one entry per policy, keyed by the
    # compiler's files, so two checkouts sharing one cache evict each other's entry and every
    # timed run would compile the policy again.
    return Tool(name, command, str(checkout), environment={"DEID_CACHE_DIR": str(cache)})


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_once(tool: Tool, source: Path, target: Path, expected: int) -> tuple[float, float]:
    """One run's wall time, from the command's start to its exit, and the CPU time of the
    command and every process it waited for (its workers); its outputs are checked."""
    _clean(target)
    target.mkdir(parents=True)
    environment = {**os.environ, "PYTHONPATH": tool.pythonpath, **tool.environment}
    cpu = _children_cpu()
    started = time.perf_counter()
    # Run from the work folder: ``python -m`` puts the working directory first on sys.path,
    # ahead of PYTHONPATH, so run from a checkout every tool would import that checkout's code.
    done = subprocess.run(
        [*tool.command, str(source), str(target)],
        env=environment,
        capture_output=True,
        text=True,
        cwd=target.parent,
    )
    seconds = time.perf_counter() - started
    cpu = _children_cpu() - cpu
    check_outputs(tool.name, done, target, expected)
    _clean(target)
    return seconds, cpu


@dataclass(frozen=True)
class Line:
    """One tool's figures from one choice of round (the fastest, or the median)."""

    one: float
    small: float
    large: float
    per_file: float
    fixed: float


def line(times: dict[int, float], small: int, large: int) -> Line:
    per_file = (times[large] - times[small]) / (large - small)
    return Line(times[1], times[small], times[large], per_file, times[small] - per_file * small)


def _row(name: str, label: str, figures: Line, floor: Line) -> str:
    cells = [
        name,
        label,
        *(f"{seconds:.2f}" for seconds in (figures.one, figures.small, figures.large)),
        f"{figures.per_file * 1000:.1f}",
        f"{figures.fixed:.2f}",
        f"{figures.fixed - floor.fixed:+.2f} s",
        f"{figures.per_file / floor.per_file:.2f}x",
    ]
    return "| " + " | ".join(cells) + " |"


def report(tools: list[Tool], small: int, large: int) -> str:
    """The wall-time table (fastest and median rounds), then the same figures in CPU time
    (median rounds: the sum over the run's processes, which load elsewhere disturbs less)."""
    rows = [
        f"| tool | measure | t(1) s | t({small}) s | t({large}) s | per file ms | fixed s "
        "| fixed vs floor | per file vs floor |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    floor: dict[str, Line] = {}
    picks = (
        ("wall, fastest", "seconds", min),
        ("wall, median", "seconds", statistics.median),
        ("CPU, median", "cpu", statistics.median),
    )
    for tool in tools:
        for label, measure, pick in picks:
            values: dict[int, list[float]] = getattr(tool, measure)
            figures = line({n: pick(v) for n, v in values.items()}, small, large)
            if tool.name == "floor":
                floor[label] = figures
            rows.append(_row(tool.name, label, figures, floor[label]))
    return "\n".join(rows)


# Runs the ``deid`` program (as ``python -m deidengine.cli``) and, at its exit, writes the CPU
# time of its own process (every thread; not its workers) to $DEID_LEADER_CPU_FILE. Forked
# workers inherit the exit hook but leave by os._exit, which runs none.
LEADER_PROBE = """
import atexit, os, resource, runpy, sys
def _report():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    with open(os.environ["DEID_LEADER_CPU_FILE"], "w") as report:
        report.write(repr(usage.ru_utime + usage.ru_stime))
atexit.register(_report)
sys.argv = ["deid", *sys.argv[1:]]
runpy.run_module("deidengine.cli", run_name="__main__", alter_sys=True)
"""

#: The system calls of the durable write (dicom/storage.py), reported per output.
WRITE_SYSCALLS = (
    "mkdir", "openat", "write", "fdatasync", "close", "renameat2", "link", "unlink",
    "getcwd", "newfstatat", "ioctl", "lseek", "getpid",
)  # fmt: skip


def leader_cpu(
    tool: Tool, folders: dict[int, Path], work: Path, rounds: int, small: int, large: int
) -> float:
    """The median over ``rounds`` of the leader's CPU seconds per file, from ``small``-file and
    ``large``-file runs (see the module doc)."""
    probe = Tool(
        tool.name,
        [sys.executable, "-c", LEADER_PROBE, *tool.command[3:]],
        tool.pythonpath,
        environment={**tool.environment, "DEID_LEADER_CPU_FILE": str(work / "leader-cpu")},
    )
    per_file = []
    for _ in range(rounds):
        seconds = {}
        for count in (small, large):
            time_once(probe, folders[count], work / "out", count)
            seconds[count] = float((work / "leader-cpu").read_text())
        per_file.append((seconds[large] - seconds[small]) / (large - small))
    return statistics.median(per_file)


def _syscalls(tool: Tool, folder: Path, work: Path, count: int) -> dict[str, int]:
    """The system calls of one run of ``count`` files, all processes (strace -f -c)."""
    trace = work / "strace.txt"
    command = ["strace", "-f", "-c", "-o", str(trace), *tool.command]
    traced = Tool(tool.name, command, tool.pythonpath, environment=tool.environment)
    time_once(traced, folder, work / "out", count)
    calls: dict[str, int] = {}
    for line in trace.read_text().splitlines():
        fields = line.split()
        # "% time  seconds  usecs/call  calls  [errors]  syscall"; the total line says "total".
        if len(fields) >= 5 and fields[3].isdigit():
            calls[fields[-1]] = int(fields[3])
    return calls


def syscalls_per_output(
    tool: Tool, folders: dict[int, Path], work: Path, small: int, large: int
) -> dict[str, float]:
    """The system calls per output, marginal: from runs of ``small`` and ``large`` files."""
    few, many = (_syscalls(tool, folders[count], work, count) for count in (small, large))
    return {
        name: (many.get(name, 0) - few.get(name, 0)) / (large - small)
        for name in sorted(set(few) | set(many))
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--files", type=int, default=300, help="the large size (300)")
    parser.add_argument("--rounds", type=int, default=5, help="runs per tool and size (5)")
    parser.add_argument("--corpus", choices=sorted(CORPORA), default="mixed")
    parser.add_argument("--workers", default="1,2", help="deid's worker counts (1,2)")
    parser.add_argument("--baseline", type=Path, help="another checkout of deidengine")
    parser.add_argument("--work", type=Path, default=Path("/tmp/deid-startup"))
    parser.add_argument("--leader", action="store_true", help="the leader's CPU per file")
    parser.add_argument("--syscalls", action="store_true", help="system calls per output")
    arguments = parser.parse_args()
    large, small = arguments.files, max(2, arguments.files // 3)
    work = arguments.work
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    corpus = CORPORA[arguments.corpus]
    folders: dict[int, Path] = {}
    for count in (1, small, large):
        folder = work / f"{count}" / "files"
        write_corpus(
            folder.parent, count, corpus.templates, per_directory=count, matrix=corpus.matrix
        )
        (folder.parent / "0000").rename(folder)
        folders[count] = folder
    key = work / "project.key"
    subprocess.run(
        [sys.executable, "-m", "deidengine.cli", "keygen", "--out", str(key)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=True,
        capture_output=True,
    )
    floor_script = work / "floor.py"
    floor_script.write_text(FLOOR_SCRIPT, encoding="utf-8")
    tools = [Tool("floor", [sys.executable, str(floor_script)], str(REPO))]
    for workers in (int(w) for w in arguments.workers.split(",")):
        tools.append(_deid(f"deid -w{workers}", REPO, key, workers, work / "cache"))
        if arguments.baseline is not None:
            baseline_cache = work / "baseline-cache"
            tools.append(
                _deid(f"baseline -w{workers}", arguments.baseline, key, workers, baseline_cache)
            )
    for checkout in {REPO, *([arguments.baseline] if arguments.baseline else [])}:
        # Byte-compiled first, as an installed engine is: with PYTHONDONTWRITEBYTECODE set, a
        # fresh worktree would compile every module on every run (measured: ~70 ms each).
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", str(checkout / "deidengine")], check=True
        )
    for tool in tools[1:]:  # fill the plan and word caches: every timed run is a warm one
        time_once(tool, folders[1], work / "out", 1)
    print(f"{machine()}; corpus {arguments.corpus}", flush=True)
    for round_index in range(arguments.rounds):
        shift = round_index % len(tools)
        for tool in tools[shift:] + tools[:shift]:
            for count in (1, small, large):
                seconds, cpu = time_once(tool, folders[count], work / "out", count)
                tool.seconds.setdefault(count, []).append(seconds)
                tool.cpu.setdefault(count, []).append(cpu)
                print(f"  round {round_index + 1} {tool.name:<14} {count:>5} files "
                      f"{seconds:6.2f} s wall {cpu:6.2f} s CPU", flush=True)  # fmt: skip
    print()
    print(report(tools, small, large))
    deid_tools = tools[1:]
    if arguments.leader:
        print()
        for tool in deid_tools:
            per_file = leader_cpu(tool, folders, work, arguments.rounds, small, large)
            print(f"{tool.name}: leader CPU {per_file * 1000:.3f} ms per file (median)")
    if arguments.syscalls:
        print()
        for tool in deid_tools:
            calls = syscalls_per_output(tool, folders, work, small, large)
            written = ", ".join(
                f"{name} {calls[name]:.2f}" for name in WRITE_SYSCALLS if name in calls
            )
            print(f"{tool.name}: system calls per output (marginal), all processes: {written}; "
                  f"total {calls.get('total', 0.0):.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
