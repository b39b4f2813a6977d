"""Start-up work moved or cached changes no output: a run with the word lists computed, one
with them read from the disk cache, forked workers that inherit them, all write the same bytes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from run_fakes import PROGRAM_PROBE, deid_run_process, one_input_run, secret_file

from deidengine.text import vocabulary
from deidengine.text.word_cache import entry_path, fingerprint
from tests.pydicom_files import bundled_test_files

FILES = ("CT_small.dcm", "MR_small.dcm", "test-SR.dcm", "rtplan.dcm")


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _run(source: Path, out: Path, key: Path, cache: str, workers: int) -> dict[str, bytes]:
    command, environment = deid_run_process(key, source, out, workers=workers)
    environment["DEID_CACHE_DIR"] = cache
    subprocess.run(command, env=environment, capture_output=True, check=True)
    return _tree(out)


@pytest.mark.slow
def test_cached_word_lists_and_forked_workers_write_the_same_outputs(tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.mkdir()
    for name in FILES:
        (found,) = bundled_test_files(name)
        shutil.copy(found, source / name)
    key = secret_file(tmp_path, "ab" * 32)
    cache = tmp_path / "cache"
    uncached = _run(source, tmp_path / "uncached", key, "", workers=1)
    assert len(uncached) == len(FILES)
    filled = _run(source, tmp_path / "filled", key, str(cache), workers=1)
    assert entry_path(cache, fingerprint(vocabulary.COMMON_WORD_COUNT)).is_file()
    cached = _run(source, tmp_path / "cached", key, str(cache), workers=1)
    forked = _run(source, tmp_path / "forked", key, str(cache), workers=2)
    assert uncached == filled == cached == forked


_ONE_WORKER_PROBE = (
    PROGRAM_PROBE
    + """
print(sorted(m for m in ("multiprocessing", "concurrent.futures") if m in sys.modules))
"""
)


def test_a_one_worker_run_never_imports_the_pool_machinery(tmp_path: Path) -> None:
    command, environment = one_input_run(tmp_path, "cd" * 32)
    probe = [sys.executable, "-c", _ONE_WORKER_PROBE, *command[3:]]
    done = subprocess.run(probe, env=environment, capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-1] == "[]"
    assert len(list((tmp_path / "out").rglob("*.dcm"))) == 1
