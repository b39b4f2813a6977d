"""The re-identification mappings: written only when a run is given ``--mappings DIR``.

``uids.csv`` and ``patient_ids.csv`` map every original UID and patient identifier the run
replaced to its replacement, one ``id_old,id_new`` row each, de-duplicated and sorted. They are
the way back to the patient, for the honest broker only: files and directory are mode 0600/0700,
written atomically (a temporary file renamed over the old one), and merged with the files
already in the directory, so a resumed run (whose already-done files report no mapping) or a
later batch of the same project never loses the rows an earlier run wrote.

An original value that maps to two different replacements (the keyed functions never do that;
a changed lookup table could) keeps both rows, so the conflict is visible, not resolved silently.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from deidengine.run.outcome import Outcome

__all__ = ["ID_FILE", "UID_FILE", "MappingCollector", "MappingFiles", "write_mapping_file"]

UID_FILE: Final = "uids.csv"
ID_FILE: Final = "patient_ids.csv"
COLUMNS: Final = ("id_old", "id_new")


@dataclass(frozen=True)
class MappingFiles:
    """Where a run's mappings went and how many rows each file holds after the merge."""

    uids: Path
    uid_rows: int
    patient_ids: Path
    patient_id_rows: int


def read_mapping_rows(path: Path) -> set[tuple[str, str]]:
    if not path.exists():
        return set()
    with open(path, encoding="utf-8", newline="") as handle:
        return {
            (row[0], row[1])
            for row in csv.reader(handle)
            if len(row) >= 2 and (row[0], row[1]) != COLUMNS
        }


def write_mapping_file(path: Path, pairs: Iterable[tuple[str, str]]) -> int:
    """Merge ``pairs`` into the CSV at ``path`` (created if absent) atomically, mode 0600.

    Returns the number of rows the file holds afterwards.
    """
    rows = sorted(read_mapping_rows(path) | set(pairs))
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(COLUMNS)
            writer.writerows(rows)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return len(rows)


class MappingCollector:
    """Gathers the mappings of a run's outcomes in memory, then writes them once, at the end."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.uids: set[tuple[str, str]] = set()
        self.patient_ids: set[tuple[str, str]] = set()

    def add(self, outcome: Outcome) -> None:
        """Take the UID and patient identifier pairs an outcome reports."""
        self.uids.update(_pairs(outcome.uid_map))
        self.patient_ids.update(_pairs(outcome.id_map))

    def write(self) -> MappingFiles:
        """Merge into ``uids.csv`` and ``patient_ids.csv`` under the directory (mode 0700)."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        uids, patient_ids = self.directory / UID_FILE, self.directory / ID_FILE
        return MappingFiles(
            uids=uids,
            uid_rows=write_mapping_file(uids, self.uids),
            patient_ids=patient_ids,
            patient_id_rows=write_mapping_file(patient_ids, self.patient_ids),
        )


def _pairs(mapping: Mapping[str, str]) -> Iterable[tuple[str, str]]:
    return ((str(old), str(new)) for old, new in mapping.items())
