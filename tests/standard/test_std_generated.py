"""The generated Annex E policies and data match the stored standard tables."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from deidengine.standard.generate import (
    OPTION_FILES,
    PIXEL_OPTION_FILES,
    default_standard_dir,
    generate,
    main,
    quote,
    repo_root,
)
from tests.standard.standard_tables import needs_standard, read_csv, read_json

STANDARD = default_standard_dir()
REPO = repo_root()
POLICIES = REPO / "policies" / "annex-e"

pytestmark = needs_standard


# A tiny reading of the rule lines; the real parser lives elsewhere.
TAG_RULE = re.compile(
    r"^\((?P<g>[0-9A-Fx]{4}),(?P<e>[0-9A-Fx]{4})\)(?: (?P<kw>[A-Za-z0-9]+))?\s+-> (?P<act>\S+)"
    r"(?:\s+# (?P<comment>.*))?$"
)
CREATOR_RULE = re.compile(
    r'^private "(?P<cre>(?:[^"\\]|\\.)*)" \((?P<g>[0-9A-F]{4}),xx(?P<off>[0-9A-F]{2})\)'
    r"\s+-> (?P<act>\S+)(?:\s+# .*)?$"
)
PRIVATE_RULE = re.compile(r"^private\s+-> (?P<act>\S+)(?:\s+# .*)?$")
PIXELS_RULE = re.compile(r"^pixels\s+-> (?P<act>[^#]+?)\s*(?:# .*)?$")
HEADER = re.compile(r'^(?P<kind>policy|option) (?P<name>\S+) "(?P<title>[^"]*)"$')
CODE = re.compile(r"^code (?P<code>\d+)$")

Key = tuple[str, ...]


def parse(path: Path) -> dict[str, Any]:
    """Header, code and (selector key, action) rules of one generated policy file."""
    out: dict[str, Any] = {"rules": [], "comments": []}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if m := HEADER.match(line):
            assert "header" not in out
            out["header"] = (m["kind"], m["name"], m["title"])
        elif m := CODE.match(line):
            out["code"] = m["code"]
        elif m := TAG_RULE.match(line):
            out["rules"].append((("tag", m["g"], m["e"], m["kw"] or ""), m["act"]))
            out["comments"].append(m["comment"])
        elif m := CREATOR_RULE.match(line):
            creator = re.sub(r"\\(.)", r"\1", m["cre"])
            out["rules"].append((("creator", creator, m["g"], m["off"]), m["act"]))
        elif m := PRIVATE_RULE.match(line):
            out["rules"].append((("private",), m["act"]))
        elif m := PIXELS_RULE.match(line):
            out["rules"].append((("pixels",), m["act"]))
        else:
            pytest.fail(f"{path.name}: unparsed line {line!r}")
    return out


def row_key(row: dict[str, str]) -> Key:
    if row["tag_kind"] == "private":
        return ("private",)
    return ("tag", row["group"], row["element"], row["keyword"])


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    return read_csv("annex_e_attributes.csv")


@pytest.fixture(scope="module")
def cid() -> dict[str, dict[str, str]]:
    return {r["annex_e_column"]: r for r in read_csv("cid_7050.csv")}


# ----------------------------------------------------------------------------- regeneration


def test_regenerated_files_are_byte_identical(tmp_path: Path) -> None:
    assert main(["--standard", str(STANDARD), "--out", str(tmp_path)]) == 0
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert written == sorted(generate(STANDARD))
    stale = []
    for rel in written:
        committed = REPO / rel
        assert committed.is_file(), f"{rel} is not committed: run the generator"
        if committed.read_bytes() != (tmp_path / rel).read_bytes():
            stale.append(rel)
    assert not stale, f"stale generated files (run python -m deidengine.standard.generate): {stale}"


def test_no_stray_generated_files() -> None:
    generated = set(generate(STANDARD))
    on_disk = {p.relative_to(REPO).as_posix() for p in POLICIES.glob("*.policy")}
    on_disk |= {
        p.relative_to(REPO).as_posix()
        for p in (REPO / "deidengine" / "standard" / "data").glob("*.json")
    }
    assert on_disk == generated


def test_generation_is_deterministic() -> None:
    assert generate(STANDARD) == generate(STANDARD)


# ----------------------------------------------------------------------------- basic


def test_basic_matches_table_row_by_row(rows: list[dict[str, str]], cid: Any) -> None:
    parsed = parse(POLICIES / "basic.policy")
    assert parsed["header"][:2] == ("policy", "annex-e/basic")
    assert parsed["code"] == cid["basic_profile"]["code_value"] == "113100"
    assert len(parsed["rules"]) == len(rows) == 657
    for (key, action), row in zip(parsed["rules"], rows, strict=True):
        assert key == row_key(row), row
        assert action == row["basic_profile"], row
    assert parsed["comments"] == [r["name"] for r in rows if r["tag_kind"] != "private"]


def test_basic_counts_match_table_metadata(rows: list[dict[str, str]]) -> None:
    parsed = parse(POLICIES / "basic.policy")
    counts = Counter(action for _, action in parsed["rules"])
    meta = read_json("annex_e_attributes.json")["counts"]
    assert counts == Counter(meta["basic_profile"])
    assert counts["X"] == 417 and counts["X/Z/U*"] == 2


def test_every_exact_row_has_a_keyword(rows: list[dict[str, str]]) -> None:
    kinds = Counter(r["tag_kind"] for r in rows)
    assert kinds == {"exact": 653, "repeating_group": 3, "private": 1}
    assert all(r["keyword"] for r in rows if r["tag_kind"] == "exact")


# ----------------------------------------------------------------------------- options


@pytest.mark.parametrize(("name", "column"), OPTION_FILES)
def test_option_matches_table_column(
    name: str, column: str, rows: list[dict[str, str]], cid: Any
) -> None:
    parsed = parse(POLICIES / f"{name}.policy")
    assert parsed["header"] == ("option", f"annex-e/{name}", cid[column]["code_meaning"])
    assert parsed["code"] == cid[column]["code_value"]
    expected = [(row_key(r), r[column]) for r in rows if r[column]]
    table_rules = [rule for rule in parsed["rules"] if rule[0][0] != "creator"]
    if column == "clean_descriptors":
        # Beyond the column, last: every kept Code Meaning is a descriptor too.
        assert table_rules.pop() == (("tag", "0008", "0104", "CodeMeaning"), "C")
    assert table_rules == expected
    meta = read_json("annex_e_attributes.json")["counts"]["option_nonempty"]
    assert len(table_rules) == meta[column]


def test_option_cell_counts() -> None:
    counts = {
        name: len([r for r in parse(POLICIES / f"{name}.policy")["rules"] if r[0][0] != "creator"])
        for name, _ in OPTION_FILES
    }
    assert counts == {
        "retain-safe-private": 1,
        "retain-uids": 60,
        "retain-device-identity": 59,
        "retain-institution-identity": 10,
        "retain-patient-characteristics": 19,
        "retain-long-full-dates": 169,
        "retain-long-modified-dates": 169,
        "clean-descriptors": 142,  # the column's 141 and every Code Meaning
        "clean-structured-content": 4,
        "clean-graphics": 4,
    }


def test_retain_safe_private_rules() -> None:
    parsed = parse(POLICIES / "retain-safe-private.policy")
    safe = read_csv("safe_private_attributes.csv")
    creators = [rule for rule in parsed["rules"] if rule[0][0] == "creator"]
    assert len(creators) == len(safe) == 479
    assert (("private",), "C") in parsed["rules"]
    expected = [
        (("creator", r["private_creator"], r["group"].upper(), r["element_offset"].upper()), "K")
        for r in safe
    ]
    assert creators == expected
    assert len({key for key, _ in creators}) == 479, "duplicate safe private rules"


@pytest.mark.parametrize(("name", "meaning"), PIXEL_OPTION_FILES)
def test_pixel_options(name: str, meaning: str) -> None:
    parsed = parse(POLICIES / f"{name}.policy")
    code = [r for r in read_csv("cid_7050.csv") if r["code_meaning"] == meaning]
    assert parsed["header"] == ("option", f"annex-e/{name}", meaning)
    assert parsed["code"] == code[0]["code_value"]
    action = "ocr-redact identifying" if name == "clean-pixel-data" else "ocr-redact all"
    assert parsed["rules"] == [(("pixels",), action)]


def test_overlays_do_not_use_basic() -> None:
    for path in POLICIES.glob("*.policy"):
        assert not re.search(r"^use ", path.read_text(encoding="utf-8"), re.M), path.name


# ----------------------------------------------------------------------------- data files


def data(name: str) -> Any:
    return json.loads((REPO / "deidengine" / "standard" / "data" / name).read_text("utf-8"))


def test_data_cid_and_sr_rows_are_the_tables() -> None:
    assert data("cid_7050.json")["rows"] == read_csv("cid_7050.csv")
    assert (
        data("sr_concept_names.json")["rows"] == read_json("annex_e_sr_concept_names.json")["rows"]
    )


def test_data_iod_types_subset_of_source(rows: list[dict[str, str]]) -> None:
    src = read_json("iod_attribute_types.json")
    mine = data("iod_types.json")
    assert mine["sop_classes"] == {uid: v["ciod"] for uid, v in src["sop_classes"].items()}
    compound = {
        (r["group"] + r["element"]).upper().replace("X", "x")
        for r in rows
        if "/" in r["basic_profile"]
    }
    assert len(compound) == 50
    for key, ciod in src["ciods"].items():
        assert mine["ciods"][key]["nested"] == ciod["nested"]
        kept = mine["ciods"][key]["types"]
        assert all(ciod["types"][t] == v for t, v in kept.items())
        assert {t for t in ciod["types"] if t in compound} <= set(kept)
    assert mine["fallback_top_level"] == src["fallback_top_level"]
    assert mine["fallback_any_depth"] == src["fallback_any_depth"]


def test_quote_escapes_creator_strings() -> None:
    assert quote('ACME "X" \\ 1') == '"ACME \\"X\\" \\\\ 1"'
    creator = quote('A"B')
    line = f"private {creator} (0029,xx10) -> K"
    m = CREATOR_RULE.match(line)
    assert m is not None and re.sub(r"\\(.)", r"\1", m["cre"]) == 'A"B'
