"""The shipped policies: clean, faithful to Table E.1-1, and explainable."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from deidengine.policy import check_policy, explain_json, load_plan, shipped_policy_names
from deidengine.policy.resolve import shipped_policy_root

OPTION_FILES = {
    "rtn_safe_private": "retain-safe-private",
    "rtn_uids": "retain-uids",
    "rtn_device_identity": "retain-device-identity",
    "rtn_institution_identity": "retain-institution-identity",
    "rtn_patient_characteristics": "retain-patient-characteristics",
    "rtn_long_full_dates": "retain-long-full-dates",
    "rtn_long_modified_dates": "retain-long-modified-dates",
    "clean_descriptors": "clean-descriptors",
    "clean_structured_content": "clean-structured-content",
    "clean_graphics": "clean-graphics",
}


def _rows(standard: Path) -> list[dict[str, str]]:
    with (standard / "annex_e_attributes.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _explained(spec: str) -> dict[str, dict[str, object]]:
    return {str(r["selector"]): r for r in explain_json(load_plan(spec))["rules"]}  # type: ignore[index, union-attr]


def _selector(row: dict[str, str]) -> str:
    if row["tag_kind"] == "private":
        return "private"
    if row["tag_kind"] == "repeating_group":
        return row["tag"] + (f" {row['keyword']}" if row["keyword"] else "")
    return row["tag"].upper()


def test_shipped_names() -> None:
    names = shipped_policy_names()
    assert {"annex-e/basic", "hipaa-safe-harbor", "research-longitudinal"} <= set(names)
    assert {f"annex-e/{n}" for n in OPTION_FILES.values()} <= set(names)
    assert {"annex-e/clean-pixel-data", "annex-e/clean-recognizable-visual-features"} <= set(names)


@pytest.mark.parametrize("name", shipped_policy_names())
def test_every_shipped_policy_checks_clean(name: str) -> None:
    assert [d.render() for d in check_policy(name)] == []


def test_basic_explains_every_row_with_its_basic_code(standard: Path) -> None:
    explained = _explained("annex-e/basic")
    rows = _rows(standard)
    assert len(rows) == 657
    for row in rows:
        rule = explained[_selector(row)]
        assert rule["action"] == row["basic_profile"], row["tag"]
        assert str(rule["source"]).startswith("policies/annex-e/basic.policy:")
        if row["tag_kind"] == "exact":
            assert rule["tag"] == row["tag"].upper()
            assert rule["keyword"] == row["keyword"]


@pytest.mark.parametrize("column", sorted(OPTION_FILES))
def test_option_overlay_gives_its_column_code(standard: Path, column: str) -> None:
    name = f"annex-e/{OPTION_FILES[column]}"
    alone = _explained(name)
    composed = _explained(f"annex-e/basic,{name}")
    for row in _rows(standard):
        selector = _selector(row)
        if row[column]:
            assert alone[selector]["action"] == row[column], (name, row["tag"])
            assert composed[selector]["action"] == row[column], (name, row["tag"])
        else:
            assert selector not in alone
            assert composed[selector]["action"] == row["basic_profile"]


def test_overlay_codes_come_from_cid_7050(standard: Path) -> None:
    with (standard / "cid_7050.csv").open(encoding="utf-8", newline="") as handle:
        by_column = {r["annex_e_column"]: r["code_value"] for r in csv.DictReader(handle)}
    for column, file in OPTION_FILES.items():
        plan = load_plan(f"annex-e/basic,annex-e/{file}")
        assert plan.codes == (by_column["basic_profile"], by_column[column])


def test_retain_safe_private_keeps_exactly_the_safe_table(standard: Path) -> None:
    with (standard / "safe_private_attributes.csv").open(encoding="utf-8", newline="") as f:
        safe = {
            (r["private_creator"], int(r["group"], 16), int(r["element_offset"], 16))
            for r in csv.DictReader(f)
        }
    plan = load_plan("annex-e/basic,annex-e/retain-safe-private")
    kept = {key for key, rules in plan.by_private_creator.items() if rules[0].action.label == "K"}
    assert kept == safe
    assert plan.private_all[0].action.label == "C"


def test_hipaa_maps_all_eighteen_identifiers(standard: Path) -> None:
    identifiers = json.loads((standard / "hipaa_safe_harbor.json").read_text("utf-8"))
    letters = [i["item"] for i in identifiers["identifiers"]]
    assert letters == list("ABCDEFGHIJKLMNOPQR")
    explained = _explained("hipaa-safe-harbor").values()
    sections = {str(r.get("section", "")) for r in explained} | {
        str(c.get("section", ""))
        for r in explained
        for c in r.get("conditions", [])  # type: ignore[attr-defined]
    }
    for letter in letters:
        assert any(f"({letter})" in s for s in sections), letter


def test_hipaa_rules() -> None:
    explained = _explained("hipaa-safe-harbor")
    assert explained["(0008,0020)"]["action"] == "keep-year"
    birth = explained["(0010,0030)"]
    assert birth["action"] == "keep-year"
    assert birth["conditions"] == [
        {
            "when": "age > 89",
            "action": "empty",
            "source": str(birth["conditions"][0]["source"]),  # type: ignore[index]
            "section": str(birth["section"]),
        }
    ]
    assert explained["(0010,1010)"]["action"] == "cap-age"
    assert explained["(0010,1040)"]["action"] == "truncate-zip"
    assert explained["(0010,0010)"]["action"] == "pseudonym"
    assert explained["(0020,000D)"]["action"] == "U"
    assert explained["private"]["action"] == "X"
    assert explained["(0008,1030)"]["action"] == "C"  # Clean Descriptors
    plan = load_plan("hipaa-safe-harbor", runnable=True)
    assert plan.codes == ("113100", "113105", "113104", "113103", "113101")


def test_research_longitudinal_shifts_every_date() -> None:
    explained = _explained("research-longitudinal")
    for tag in ("(0008,0020)", "(0008,0021)", "(0010,0030)", "(0008,002A)"):
        assert explained[tag]["action"] == "shift-date", tag
    text = (Path(str(shipped_policy_root())) / "research-longitudinal.policy").read_text("utf-8")
    assert "NOT HIPAA SAFE HARBOR" in text


def _with_keyword_rules() -> list[str]:
    import re

    root = Path(str(shipped_policy_root()))
    return [
        n
        for n in shipped_policy_names()
        if re.search(r"^\(\w{4},\w{4}\) [A-Z]", (root / f"{n}.policy").read_text("utf-8"), re.M)
    ]


@pytest.mark.parametrize("name", _with_keyword_rules())
def test_misspelt_keyword_in_shipped_policy_is_reported_with_line_and_suggestion(
    name: str, tmp_path: Path
) -> None:
    source = Path(str(shipped_policy_root())) / f"{name}.policy"
    lines = source.read_text("utf-8").splitlines()
    import re

    index = next(i for i, line in enumerate(lines) if re.match(r"\(\w{4},\w{4}\) [A-Z]", line))
    keyword = lines[index].split()[1]
    lines[index] = lines[index].replace(keyword, keyword[:-1], 1)
    lines.insert(index + 1, "(0010,0010) PatientName Z")  # a syntax error: no arrow
    broken = tmp_path / "broken.policy"
    broken.write_text("\n".join(lines) + "\n", encoding="utf-8")
    diagnostics = check_policy(str(broken))
    by_line = {d.span.line: d for d in diagnostics if d.span}
    assert by_line[index + 1].code.value == "E201"
    assert by_line[index + 1].help == f"did you mean '{keyword}'?"
    assert by_line[index + 2].code.value == "E100"
    assert by_line[index + 2].help is not None
