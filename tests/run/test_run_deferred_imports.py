"""defer_unused_imports: pydicom's downloader's modules are imported at first use, if ever."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from run_fakes import PROGRAM_PROBE, one_input_run

from deidengine.run.deferred_imports import DEFERRED, defer_unused_imports

_MODULE = "deid_deferred_probe"


@pytest.fixture
def probe_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A package that counts its own imports (in a file: the count survives a re-import)."""
    package = tmp_path / _MODULE
    package.mkdir()
    counter = tmp_path / "imports"
    (package / "__init__.py").write_text(
        f"from pathlib import Path\n"
        f"counter = Path({str(counter)!r})\n"
        "counter.write_text(str(int(counter.read_text() or 0) + 1) if counter.exists() else '1')\n"
        "def answer():\n    return 42\n"
    )
    (package / "part.py").write_text("VALUE = 'part'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield counter
    for name in (_MODULE, f"{_MODULE}.part"):
        sys.modules.pop(name, None)


def test_the_module_runs_at_first_use_and_only_then(probe_package: Path) -> None:
    assert defer_unused_imports((_MODULE,)) == (_MODULE,)
    import deid_deferred_probe

    assert not probe_package.exists()  # imported by name only: its code has not run
    assert deid_deferred_probe.answer() == 42
    assert probe_package.read_text() == "1"
    assert sys.modules[_MODULE].answer is deid_deferred_probe.answer  # the real one took over
    import deid_deferred_probe.part

    assert deid_deferred_probe.part.VALUE == "part"
    assert probe_package.read_text() == "1"  # run once


def test_a_submodule_import_first_loads_the_package(probe_package: Path) -> None:
    defer_unused_imports((_MODULE,))
    from deid_deferred_probe.part import VALUE

    assert VALUE == "part"
    assert probe_package.read_text() == "1"


def test_missing_and_imported_modules_are_left_alone() -> None:
    assert "json" in sys.modules
    assert defer_unused_imports(("json", "deid_no_such_module")) == ()
    assert "deid_no_such_module" not in sys.modules


_DEFERRED_PROBE = (
    PROGRAM_PROBE
    + """
print(sorted(m for m in ("requests", "urllib3", "tqdm", "charset_normalizer")
             if "__file__" in getattr(sys.modules.get(m), "__dict__", {})))
import pydicom.data.download as download
print(download.HAVE_REQUESTS, download.USE_PROGRESS_BAR)
"""
)


def test_a_run_never_loads_them(tmp_path: Path) -> None:
    command, environment = one_input_run(tmp_path, "ce" * 32)
    # A cache of its own, filled by a first run: computing the word lists imports wordfreq,
    # which uses requests (the stand-in hands over to the real module then).
    environment["DEID_CACHE_DIR"] = str(tmp_path / "cache")
    subprocess.run(command, env=environment, capture_output=True, check=True)
    shutil.rmtree(tmp_path / "out")
    probe = [sys.executable, "-c", _DEFERRED_PROBE, *command[3:]]
    done = subprocess.run(probe, env=environment, capture_output=True, text=True, check=True)
    # Nothing of them ran, and pydicom still knows they are there.
    assert done.stdout.splitlines()[-2:] == ["[]", "True True"]
    assert len(list((tmp_path / "out").rglob("*.dcm"))) == 1
    assert DEFERRED == ("requests", "tqdm")
