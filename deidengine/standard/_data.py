"""Loading the generated JSON under ``deidengine/standard/data`` (package resources)."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any


@cache
def load(name: str) -> Any:
    """The parsed JSON file ``data/<name>``, cached. Callers must not mutate it."""
    resource = files("deidengine.standard") / "data" / name
    return json.loads(resource.read_text(encoding="utf-8"))
