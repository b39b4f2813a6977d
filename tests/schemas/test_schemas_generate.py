"""docs/schemas/ is what the models generate, byte for byte; the models match the code's codes."""

from __future__ import annotations

import json
from pathlib import Path

from deidengine.policy.explain import TEXT_CLEANING_NOTES
from deidengine.policy.plan import SelectorKind
from deidengine.run.audit import AUDIT_FORMAT
from deidengine.schemas.audit import AuditHeaderRecord
from deidengine.schemas.generate import DOCUMENTS, JSON_SCHEMA_DIALECT, generate, main
from deidengine.schemas.policy import SELECTOR_KINDS, TextCleaning

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "docs" / "schemas"


def test_regenerated_schemas_are_byte_identical(tmp_path: Path) -> None:
    assert main(["--out", str(tmp_path)]) == 0
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(generate())
    stale = [
        name
        for name in written
        if not (SCHEMAS / name).is_file()
        or (SCHEMAS / name).read_bytes() != (tmp_path / name).read_bytes()
    ]
    assert not stale, f"stale schemas (run python -m deidengine.schemas): {stale}"


def test_no_stray_schema_files() -> None:
    assert {p.name for p in SCHEMAS.iterdir()} == set(generate())


def test_every_schema_is_a_closed_draft_2020_12_document() -> None:
    for stem in DOCUMENTS:
        schema = json.loads((SCHEMAS / f"{stem}.schema.json").read_text("utf-8"))
        assert schema["$schema"] == JSON_SCHEMA_DIALECT
        objects = [schema, *schema.get("$defs", {}).values()]
        for definition in objects:
            if definition.get("type") == "object" and "properties" in definition:
                assert definition["additionalProperties"] is False, (stem, definition["title"])
        readme = (SCHEMAS / "README.md").read_text("utf-8")
        assert f"[{stem}.schema.json]({stem}.schema.json)" in readme


def test_coded_values_follow_the_code() -> None:
    assert set(SELECTOR_KINDS) == {kind.name.lower() for kind in SelectorKind}
    assert set(TextCleaning.__args__) == set(TEXT_CLEANING_NOTES)  # type: ignore[attr-defined]
    assert AuditHeaderRecord.model_fields["format"].annotation.__args__ == (AUDIT_FORMAT,)  # type: ignore[union-attr]
