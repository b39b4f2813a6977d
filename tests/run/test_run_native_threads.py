"""The ``deid`` program gives numpy's BLAS one thread unless the user chose a count, and its
start-up pause of the garbage collector ends before the work does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from run_fakes import PROGRAM_PROBE, one_input_run

from deidengine.run.native_threads import BLAS_THREAD_VARIABLES, default_blas_threads


def test_the_default_is_one_blas_thread() -> None:
    environ: dict[str, str] = {"PATH": "/usr/bin"}
    assert default_blas_threads(environ)
    assert environ == {"PATH": "/usr/bin", "OPENBLAS_NUM_THREADS": "1"}


@pytest.mark.parametrize("variable", BLAS_THREAD_VARIABLES)
def test_a_count_the_user_chose_is_kept(variable: str) -> None:
    environ = {variable: "4"}
    assert not default_blas_threads(environ)
    assert environ == {variable: "4"}


# Runs the program's entry in a process of its own, then reports what the process was left
# with: the collector's state, the BLAS setting, and its threads (numpy imported by the run).
_PROBE = (
    PROGRAM_PROBE
    + """
import gc, os
import numpy
threads = len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else 1
print(gc.isenabled(), os.environ.get("OPENBLAS_NUM_THREADS"), threads)
"""
)


def _probe(tmp_path: Path, environment_change: dict[str, str], *arguments: str) -> list[str]:
    environment = {
        name: value for name, value in os.environ.items() if name not in BLAS_THREAD_VARIABLES
    }
    environment.update(environment_change)
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *arguments],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    return done.stdout.splitlines()[-1].split()


def test_a_run_has_no_blas_thread_and_collects_again(tmp_path: Path) -> None:
    command, environment = one_input_run(tmp_path, "ef" * 32)
    # One worker: the file is de-identified in this process, with numpy's pool as it is set.
    assert _probe(tmp_path, {"PYTHONPATH": environment["PYTHONPATH"]}, *command[3:]) == [
        "True",
        "1",
        "1",
    ]
    assert len(list((tmp_path / "out").rglob("*.dcm"))) == 1


def test_another_verb_collects_and_the_users_count_is_kept(tmp_path: Path) -> None:
    repository = str(Path(__file__).resolve().parents[2])
    enabled, setting, _ = _probe(
        tmp_path, {"PYTHONPATH": repository, "OPENBLAS_NUM_THREADS": "2"}, "policy", "list"
    )
    assert (enabled, setting) == ("True", "2")


# pydicom's colour space conversion is the pixel path's one sizeable matrix product (pixels by
# a 3x3 matrix); its bytes must not depend on how many threads OpenBLAS may use.
_CONVERSION = """
import hashlib
import numpy
from pydicom.pixels.processing import convert_color_space
ybr = numpy.random.default_rng(7).integers(0, 256, (512, 512, 3), dtype=numpy.uint8)
rgb = convert_color_space(ybr, "YBR_FULL", "RGB")
back = convert_color_space(rgb, "RGB", "YBR_FULL")
print(hashlib.sha256(rgb.tobytes() + back.tobytes()).hexdigest())
"""


def test_colour_conversion_bytes_do_not_depend_on_the_blas_thread_count() -> None:
    digests = set()
    for threads in ("1", "4"):
        environment = {
            name: value for name, value in os.environ.items() if name not in BLAS_THREAD_VARIABLES
        }
        environment["OPENBLAS_NUM_THREADS"] = threads
        done = subprocess.run(
            [sys.executable, "-c", _CONVERSION],
            env=environment,
            capture_output=True,
            text=True,
            check=True,
        )
        digests.add(done.stdout.strip())
    assert len(digests) == 1
