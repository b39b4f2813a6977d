"""An installed ``deid`` finds its grammar and shipped policies without the source tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_ships_grammar_and_policies(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(REPO),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
        ],
        check=True,
    )
    wheel = next(tmp_path.glob("deidengine-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "deidengine/_grammar/policy.lark" in names
    assert "deidengine/_policies/annex-e/basic.policy" in names
    assert "deidengine/_policies/hipaa-safe-harbor.policy" in names
    assert "deidengine/_policies/annex-e/retain-safe-private.policy" in names
    assert "deidengine/standard/data/iod_types.json" in names
    shipped = {n for n in names if n.startswith("deidengine/_policies/") and n.endswith(".policy")}
    on_disk = {
        f"deidengine/_policies/{p.relative_to(REPO / 'policies')}"
        for p in (REPO / "policies").rglob("*.policy")
    }
    assert shipped == on_disk
    # Every module ships: packages are discovered, so a new one cannot be forgotten.
    modules = {
        str(p.relative_to(REPO))
        for p in (REPO / "deidengine").rglob("*.py")
        if "__pycache__" not in p.parts
    }
    assert modules <= names, sorted(modules - names)


def _venv_run(venv: Path, *argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a program of ``venv`` as a user would: elsewhere, with no source tree on the path."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        [str(venv / "bin" / argv[0]), *argv[1:]],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def _check_installed(venv: Path, work: Path) -> None:
    """The installed program checks a policy, de-identifies the samples and verifies them."""
    probe = "import deidengine; print(deidengine.__file__)"
    where = _venv_run(venv, "python", "-c", probe, cwd=work)
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout  # not the source tree
    checked = _venv_run(venv, "deid", "policy", "check", "hipaa-safe-harbor", cwd=work)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    secret, out = work / "project.secret", work / "out"
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(work / "out.quarantine", ignore_errors=True)
    shutil.rmtree(work / "out.audit", ignore_errors=True)
    if not secret.exists():
        assert _venv_run(venv, "deid", "keygen", "--out", str(secret), cwd=work).returncode == 0
    samples = REPO / "samples" / "in"
    ran = _venv_run(
        venv, "deid", "run", "--policy", "hipaa-safe-harbor", "--secret-file", str(secret),
        str(samples), str(out), cwd=work,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    written = sorted(out.rglob("*.dcm"))
    assert len(written) == len([p for p in samples.rglob("*") if p.is_file()])
    verified = _venv_run(
        venv, "deid", "verify", "--policy", "hipaa-safe-harbor", "--original", str(samples),
        "--secret-file", str(secret), str(out), cwd=work,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stdout + verified.stderr


@pytest.mark.slow
def test_wheel_and_sdist_install_and_run_in_a_fresh_venv(tmp_path: Path) -> None:
    """``python -m build`` makes the sdist and, from it, the wheel; each installs into a fresh
    venv (the wheel with its declared dependencies, nothing else) and runs the demo's commands."""
    dist, work, venv = tmp_path / "dist", tmp_path / "work", tmp_path / "venv"
    work.mkdir()
    subprocess.run([sys.executable, "-m", "build", "-o", str(dist), str(REPO)], check=True,
                   capture_output=True, timeout=900)  # fmt: skip
    wheel, sdist = next(dist.glob("deidengine-*.whl")), next(dist.glob("deidengine-*.tar.gz"))
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = str(venv / "bin" / "python")
    pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    installed = subprocess.run([*pip, str(wheel)], capture_output=True, text=True, timeout=900)
    assert installed.returncode == 0, installed.stderr
    listed = _venv_run(venv, "python", "-m", "pip", "list", cwd=work).stdout
    assert "opencv-python " not in listed  # the GUI build (it clashes with the headless one)
    _check_installed(venv, work)
    # The sdist: same metadata, so the dependencies above serve; it must build and run alone.
    subprocess.run([*pip[:3], "uninstall", "-y", "-q", "deidengine"], check=True, timeout=300)
    installed = subprocess.run(
        [*pip, "--no-deps", str(sdist)], capture_output=True, text=True, timeout=900
    )
    assert installed.returncode == 0, installed.stderr
    _check_installed(venv, work)
