"""The standard's tables as the tests read them (CSV rows, JSON documents), and the skip mark
for machines where ``../shared/standard`` is absent."""

from __future__ import annotations

import csv
import json
from typing import Any

import pytest

from deidengine.standard.generate import default_standard_dir

STANDARD = default_standard_dir()

needs_standard = pytest.mark.skipif(
    not (STANDARD / "annex_e_attributes.csv").is_file(),
    reason=f"standard tables not found at {STANDARD} (set DEID_STANDARD_DIR)",
)


def read_csv(name: str) -> list[dict[str, str]]:
    with (STANDARD / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def read_json(name: str) -> Any:
    return json.loads((STANDARD / name).read_text(encoding="utf-8"))
