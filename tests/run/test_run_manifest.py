"""The manifest holds SQLite's locks for the whole run: a run that dies without closing it
still leaves every outcome it recorded, and the next run opens it at once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from run_fakes import SECRET_KEY, settings_for

from deidengine.dicom.keys import ProjectSecret
from deidengine.run.manifest import RunManifest, configuration_digest
from deidengine.run.outcome import Reason

SECRET = ProjectSecret(SECRET_KEY)
REPO = Path(__file__).resolve().parents[2]

# Records an outcome for each input named on the command line, then dies the way kill -9
# leaves a run: no commit at exit, no close, no checkpoint of the write-ahead log.
_DYING_RUN = """
import os, sys
from pathlib import Path
sys.path.insert(0, os.path.join(sys.argv[1], "tests", "run"))
from run_fakes import SECRET_KEY, settings_for
from deidengine.dicom.keys import ProjectSecret
from deidengine.run.manifest import RunManifest, configuration_digest
from deidengine.run.outcome import Outcome, Status, input_reference
root = Path(sys.argv[2])
secret = ProjectSecret(SECRET_KEY)
manifest = RunManifest(
    root / "out.manifest.sqlite", secret=secret, output_root=root / "out", policy_digest="p" * 64,
    configuration=configuration_digest("p" * 64, settings_for(root)), run_id="killed",
).__enter__()
for name in sys.argv[3:]:
    path = root / "in" / name
    assert manifest.done(path) is None
    (root / "out" / f"{name}.dcm").write_bytes(b"x")
    manifest.record(Outcome(input_reference(secret, path), Status.WRITTEN, output=f"{name}.dcm"))
print("recorded", flush=True)
os._exit(9)
"""


def test_every_outcome_recorded_before_a_crash_is_found_by_the_next_run(tmp_path: Path) -> None:
    names = [f"f{index:02}" for index in range(12)]
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    for name in [*names, "never"]:
        (tmp_path / "in" / name).write_bytes(name.encode())
    died = subprocess.run(
        [sys.executable, "-c", _DYING_RUN, str(REPO), str(tmp_path), *names],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert (died.returncode, died.stdout) == (9, "recorded\n"), died.stderr
    assert (tmp_path / "out.manifest.sqlite-wal").is_file()  # the outcomes are in the log only

    manifest = RunManifest(
        tmp_path / "out.manifest.sqlite",
        secret=SECRET,
        output_root=tmp_path / "out",
        policy_digest="p" * 64,
        configuration=configuration_digest("p" * 64, settings_for(tmp_path)),
        run_id="next",
    )
    with manifest:
        found = {name: manifest.done(tmp_path / "in" / name) for name in [*names, "never"]}
    assert found.pop("never") is None
    assert {name: (o and o.reason, o and o.output) for name, o in found.items()} == {
        name: (Reason.ALREADY_DONE, f"{name}.dcm") for name in names
    }


def _manifest(root: Path, run_id: str) -> RunManifest:
    return RunManifest(
        root / "out.manifest.sqlite",
        secret=SECRET,
        output_root=root / "out",
        policy_digest="p" * 64,
        configuration=configuration_digest("p" * 64, settings_for(root)),
        run_id=run_id,
    )


def test_one_b_tree_per_table_and_a_manifest_made_before_still_works(tmp_path: Path) -> None:
    import sqlite3

    from deidengine.run.outcome import Outcome, Status, input_reference

    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    with _manifest(tmp_path, "new"):
        pass
    database = sqlite3.connect(tmp_path / "out.manifest.sqlite")
    (schema,) = database.execute("SELECT sql FROM sqlite_master WHERE name = 'inputs'").fetchone()
    database.close()
    assert schema.rstrip().endswith("WITHOUT ROWID")  # the rows in the key's b-tree alone

    # A manifest whose inputs table has a rowid (made before): used as it is.
    old = tmp_path / "old"
    (old / "in").mkdir(parents=True)
    (old / "out").mkdir()
    database = sqlite3.connect(old / "out.manifest.sqlite")
    database.executescript(schema.rstrip().removesuffix("WITHOUT ROWID") + ";")
    database.close()
    path = old / "in" / "a"
    path.write_bytes(b"a")
    (old / "out" / "a.dcm").write_bytes(b"x")
    with _manifest(old, "first") as manifest:
        assert manifest.done(path) is None
        manifest.record(Outcome(input_reference(SECRET, path), Status.WRITTEN, output="a.dcm"))
    with _manifest(old, "second") as manifest:
        found = manifest.done(path)
    assert found is not None and found.output == "a.dcm"
