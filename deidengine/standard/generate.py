"""Generate the Annex E policies and the runtime data from the stored DICOM standard tables.

Run ``python -m deidengine.standard.generate [--standard DIR] [--out REPO_ROOT]``.

Inputs are the CSV/JSON tables in the standard directory (default: ``$DEID_STANDARD_DIR``,
else ``<repo>/../shared/standard``). Outputs, written below ``REPO_ROOT`` (default: the
repository that holds this package):

* ``policies/annex-e/basic.policy``: PS3.15 Table E.1-1, Basic Profile column, row by row;
* ``policies/annex-e/<option>.policy``: one overlay per Option column of Table E.1-1, plus the
  Retain Safe Private rules from Table E.3.10-1 and the two pixel Options;
* ``deidengine/standard/data/*.json``: the compact runtime data the accessors read.

The output is deterministic: the same tables give byte-identical files. Nothing here
hand-copies a table: every rule and every code comes from the stored files.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydicom._dicom_dict import DicomDictionary, RepeatersDictionary

from deidengine.standard.vr_classes import COMPOUND_CODES

GENERATOR = "python -m deidengine.standard.generate"

#: policy file name (without ``.policy``) -> Table E.1-1 option column, in the table's order.
OPTION_FILES: tuple[tuple[str, str], ...] = (
    ("retain-safe-private", "rtn_safe_private"),
    ("retain-uids", "rtn_uids"),
    ("retain-device-identity", "rtn_device_identity"),
    ("retain-institution-identity", "rtn_institution_identity"),
    ("retain-patient-characteristics", "rtn_patient_characteristics"),
    ("retain-long-full-dates", "rtn_long_full_dates"),
    ("retain-long-modified-dates", "rtn_long_modified_dates"),
    ("clean-descriptors", "clean_descriptors"),
    ("clean-structured-content", "clean_structured_content"),
    ("clean-graphics", "clean_graphics"),
)

#: pixel-level Options: file name -> CID 7050 Code Meaning (they have no Table E.1-1 column).
PIXEL_OPTION_FILES: tuple[tuple[str, str], ...] = (
    ("clean-pixel-data", "Clean Pixel Data Option"),
    ("clean-recognizable-visual-features", "Clean Recognizable Visual Features Option"),
)


POLICY_DIR = Path("policies") / "annex-e"
DATA_DIR = Path("deidengine") / "standard" / "data"


def repo_root() -> Path:
    """The repository root: the parent of the ``deidengine`` package directory."""
    return Path(__file__).resolve().parents[2]


def default_standard_dir() -> Path:
    """``$DEID_STANDARD_DIR`` if set, else ``<repo>/../shared/standard``."""
    env = os.environ.get("DEID_STANDARD_DIR")
    if env:
        return Path(env)
    return repo_root().parent / "shared" / "standard"


# --------------------------------------------------------------------------- reading


def read_csv(path: Path) -> list[dict[str, str]]:
    """Read a UTF-8 CSV file with a header row into a list of dicts."""
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def read_json(path: Path) -> Any:
    """Read a UTF-8 JSON file."""
    with path.open(encoding="utf-8") as fh:
        return json.load(fh)


@dataclass(frozen=True)
class Standard:
    """The stored tables the generator reads."""

    attributes: list[dict[str, str]]
    attributes_meta: dict[str, Any]
    safe_private: list[dict[str, str]]
    cid_7050: list[dict[str, str]]
    sr_concepts: list[dict[str, Any]]
    hipaa: dict[str, Any]
    iod: dict[str, Any]


def load_standard(directory: Path) -> Standard:
    """Load every table the generator needs from ``directory``."""
    meta = read_json(directory / "annex_e_attributes.json")
    meta.pop("rows", None)
    return Standard(
        attributes=read_csv(directory / "annex_e_attributes.csv"),
        attributes_meta=meta,
        safe_private=read_csv(directory / "safe_private_attributes.csv"),
        cid_7050=read_csv(directory / "cid_7050.csv"),
        sr_concepts=read_json(directory / "annex_e_sr_concept_names.json")["rows"],
        hipaa=read_json(directory / "hipaa_safe_harbor.json"),
        iod=read_json(directory / "iod_attribute_types.json"),
    )


# --------------------------------------------------------------------------- policies


def quote(text: str) -> str:
    """A policy-language string literal: double quotes, with ``\\`` and ``"`` escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def one_line(text: str) -> str:
    """Collapse whitespace so a comment stays on one line."""
    return " ".join(text.split())


def selector(row: Mapping[str, str]) -> str:
    """The policy selector for a Table E.1-1 row."""
    kind = row["tag_kind"]
    if kind == "private":
        return "private"
    if kind not in ("exact", "repeating_group"):
        raise ValueError(f"row {row['row']}: unknown tag_kind {kind!r}")
    tag = f"({row['group']},{row['element']})"
    return f"{tag} {row['keyword']}" if row["keyword"] else tag


def cid_by_column(standard: Standard, column: str) -> dict[str, str]:
    """The CID 7050 row whose ``annex_e_column`` is ``column``."""
    found = [r for r in standard.cid_7050 if r["annex_e_column"] == column]
    if len(found) != 1:
        raise ValueError(f"CID 7050 has {len(found)} rows for column {column!r}")
    return found[0]


def cid_by_meaning(standard: Standard, meaning: str) -> dict[str, str]:
    """The CID 7050 row whose Code Meaning is ``meaning``."""
    found = [r for r in standard.cid_7050 if r["code_meaning"] == meaning]
    if len(found) != 1:
        raise ValueError(f"CID 7050 has {len(found)} rows for meaning {meaning!r}")
    return found[0]


def column_header(standard: Standard, column: str) -> str:
    """The printed Table E.1-1 header of an option column (e.g. ``Rtn. UIDs Opt.``)."""
    for col in standard.attributes_meta.get("columns", []):
        if col.get("column") == column and col.get("printed_header"):
            return str(col["printed_header"])
    return column


def format_rules(rules: Sequence[tuple[str, str, str]]) -> list[str]:
    """Format ``(selector, action, comment)`` triples with the arrows in one column."""
    width = max((len(sel) for sel, _, _ in rules), default=0)
    lines = []
    for sel, action, comment in rules:
        line = f"{sel.ljust(width)} -> {action}"
        if comment:
            line = f"{line.ljust(width + 4 + 6)} # {one_line(comment)}"
        lines.append(line.rstrip())
    return lines


def render(header: Iterable[str], rules: Sequence[tuple[str, str, str]]) -> str:
    """Header lines, a blank line, then the aligned rules; one trailing newline."""
    return "\n".join([*header, "", *format_rules(rules)]) + "\n"


def edition(standard: Standard) -> str:
    """The Table E.1-1 edition, e.g. ``2026d``."""
    return str(standard.attributes_meta["edition"])


def basic_policy(standard: Standard) -> str:
    """``policies/annex-e/basic.policy``."""
    code = cid_by_column(standard, "basic_profile")["code_value"]
    header = [
        f"# Generated by {GENERATOR} from PS3.15 Table E.1-1 (DICOM {edition(standard)}).",
        "# Do not edit: regenerate.",
        'policy annex-e/basic "Basic Application Level Confidentiality Profile '
        '(PS3.15 Table E.1-1)"',
        f"code {code}",
    ]
    rules = [(selector(r), r["basic_profile"], r["name"]) for r in standard.attributes]
    return render(header, rules)


def option_policy(standard: Standard, name: str, column: str) -> str:
    """``policies/annex-e/<name>.policy`` for one Table E.1-1 option column."""
    cid = cid_by_column(standard, column)
    header = [
        f"# Generated by {GENERATOR} from PS3.15 Table E.1-1 (DICOM {edition(standard)}),",
        f"# column {quote(column_header(standard, column))} (PS3.15 {cid['ps3_15_section']}).",
    ]
    if column == "rtn_safe_private":
        header.append("# Safe private attributes: PS3.15 Table E.3.10-1.")
    header += [
        "# An option overlay: compose it on top of annex-e/basic. Do not edit: regenerate.",
        f"option annex-e/{name} {quote(cid['code_meaning'])}",
        f"code {cid['code_value']}",
    ]
    rules = [(selector(r), r[column], r["name"]) for r in standard.attributes if r[column]]
    if column == "rtn_safe_private":
        rules += safe_private_rules(standard)
    if column == "clean_descriptors":
        header.insert(-2, CODE_MEANING_NOTE)
        rules.append(CODE_MEANING_RULE)
    return render(header, rules)


#: Table E.1-1 lists coded sequences but not the attributes of their items; a Code Meaning is
#: free text (a local code's meaning may read "CT HEAD (order ORD-1234)"), so the Clean
#: Descriptors Option cleans every one, at any depth, wherever the sequence is kept.
CODE_MEANING_RULE = ("(0008,0104) CodeMeaning", "C", "Code Meaning of every kept code item")
CODE_MEANING_NOTE = (
    "# Beyond the column: every kept Code Meaning is a descriptor too, and is cleaned (C)."
)


def safe_private_rules(standard: Standard) -> list[tuple[str, str, str]]:
    """One ``private "CREATOR" (gggg,xxEE) -> K`` rule per Table E.3.10-1 row."""
    rules = []
    seen: set[tuple[str, str, str]] = set()
    for r in standard.safe_private:
        group = r["group"].upper()
        offset = r["element_offset"].upper()
        key = (r["private_creator"], group, offset)
        if key in seen:
            raise ValueError(f"duplicate safe private attribute {key!r}")
        seen.add(key)
        sel = f"private {quote(r['private_creator'])} ({group},xx{offset})"
        comment = r["meaning"] or f"{r['vr']}, VM {r['vm']} (no meaning given in E.3.10-1)"
        rules.append((sel, "K", comment))
    return rules


def pixel_policy(standard: Standard, name: str, meaning: str) -> str:
    """The two pixel-level Options, which have no Table E.1-1 column."""
    cid = cid_by_meaning(standard, meaning)
    header = [
        f"# Generated by {GENERATOR} from PS3.16 CID 7050 (PS3.15 {cid['ps3_15_section']}).",
        "# An option overlay: compose it on top of annex-e/basic. Do not edit: regenerate.",
    ]
    if name == "clean-recognizable-visual-features":
        header += [
            "# Only burned-in text is redacted automatically. Removing faces and other",
            "# recognizable visual features is NOT automated: such images must be reviewed.",
        ]
        action = "ocr-redact all"
    else:
        action = "ocr-redact identifying"
    header += [
        f"option annex-e/{name} {quote(cid['code_meaning'])}",
        f"code {cid['code_value']}",
    ]
    return render(header, [("pixels", action, "")])


def policies(standard: Standard) -> dict[str, str]:
    """Every generated policy file: path relative to the repository root -> text."""
    out = {str(POLICY_DIR / "basic.policy"): basic_policy(standard)}
    for name, column in OPTION_FILES:
        out[str(POLICY_DIR / f"{name}.policy")] = option_policy(standard, name, column)
    for name, meaning in PIXEL_OPTION_FILES:
        out[str(POLICY_DIR / f"{name}.policy")] = pixel_policy(standard, name, meaning)
    return out


# --------------------------------------------------------------------------- data


def dumps(obj: Mapping[str, Any]) -> str:
    """JSON with sorted keys: top-level scalars on one line, containers one entry a line."""

    def compact(value: Any) -> str:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    parts = []
    for key in sorted(obj):
        value = obj[key]
        if isinstance(value, dict) and value:
            inner = ",\n".join(f"  {compact(k)}:{compact(value[k])}" for k in sorted(value))
            parts.append(f"{compact(key)}:{{\n{inner}\n}}")
        elif isinstance(value, list) and value:
            inner = ",\n".join(f"  {compact(v)}" for v in value)
            parts.append(f"{compact(key)}:[\n{inner}\n]")
        else:
            parts.append(f"{compact(key)}:{compact(value)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def dictionary_supplement(standard: Standard) -> dict[str, Any]:
    """Table E.1-1 tags that pydicom's dictionary lacks or describes differently."""
    entries: dict[str, dict[str, Any]] = {}
    for r in standard.attributes:
        if r["tag_kind"] not in ("exact", "repeating_group") or not r["keyword"]:
            continue
        key = (r["group"] + r["element"]).replace("X", "x")
        mine = {
            "keyword": r["keyword"],
            "vr": r["vr"],
            "vm": r["vm"],
            "name": r["name"],
            "retired": r["retired"] == "Y",
        }
        if "x" in key:
            theirs = RepeatersDictionary.get(key)
        else:
            tag = int(key, 16)
            theirs = DicomDictionary.get(tag)
        if theirs is None:
            entries[key] = mine
            continue
        vr, vm, _name, retired, keyword = theirs
        if (keyword, vr, vm, retired == "Retired") != (
            mine["keyword"],
            mine["vr"],
            mine["vm"],
            mine["retired"],
        ):
            entries[key] = mine
    return {
        "about": "PS3.6 facts for Table E.1-1 tags that pydicom "
        f"{_pydicom_version()} lacks or describes differently (keyword, VR, VM or retired); "
        "name as printed in Table E.1-1",
        "edition": edition(standard),
        "tags": entries,
    }


def _pydicom_version() -> str:
    import pydicom

    return str(pydicom.__version__)


def compound_tags(standard: Standard) -> set[str]:
    """8-character tags (``60xx3000`` form for repeating groups) with a compound Basic code."""
    return {
        (r["group"] + r["element"]).upper().replace("X", "x")
        for r in standard.attributes
        if r["basic_profile"] in COMPOUND_CODES and r["tag_kind"] != "private"
    }


def table_tags(standard: Standard) -> set[str]:
    """8-character tags of every exact and repeating-group row of Table E.1-1."""
    return {
        (r["group"] + r["element"]).upper().replace("X", "x")
        for r in standard.attributes
        if r["tag_kind"] in ("exact", "repeating_group")
    }


def iod_types(standard: Standard) -> dict[str, Any]:
    """The subset of ``iod_attribute_types.json`` the runtime needs.

    ``types`` keeps every Table E.1-1 tag (a superset of the compound-code tags, so that
    the Type of e.g. StudyInstanceUID is also known); ``nested`` holds only compound-code
    leaves in the source, and is kept whole.
    """
    src = standard.iod
    keep = table_tags(standard)
    compound = compound_tags(standard)
    ciods: dict[str, Any] = {}
    for key, ciod in src["ciods"].items():
        nested = ciod.get("nested", {})
        bad = [p for p in nested if p.split("/")[-1] not in compound]
        if bad:
            raise ValueError(f"{key}: nested paths with non-compound leaves: {bad[:3]}")
        ciods[key] = {
            "types": {t: v for t, v in ciod["types"].items() if t in keep},
            "nested": dict(nested),
        }
    return {
        "about": "Attribute Types per IOD for Table E.1-1 tags, from iod_attribute_types.json "
        "(values 'Type/Usage' pairs, strictest first; nested keys SEQ/.../TAG for compound-code "
        "attributes only)",
        "edition": str(src.get("meta", {}).get("edition", "")),
        "sop_classes": {uid: v["ciod"] for uid, v in src["sop_classes"].items()},
        "ciods": ciods,
        "fallback_top_level": {t: v for t, v in src["fallback_top_level"].items() if t in keep},
        "fallback_any_depth": {t: v for t, v in src["fallback_any_depth"].items() if t in keep},
    }


def cid_7050_data(standard: Standard) -> dict[str, Any]:
    """CID 7050 rows."""
    return {"about": "PS3.16 CID 7050 De-identification Method", "rows": standard.cid_7050}


def sr_data(standard: Standard) -> dict[str, Any]:
    """PS3.15 Table E.3.4-1 rows, all columns."""
    return {
        "about": "PS3.15 Table E.3.4-1 Clean Structured Content Option concept names",
        "rows": standard.sr_concepts,
    }


def hipaa_data(standard: Standard) -> dict[str, Any]:
    """The Safe Harbor facts the runtime needs."""
    h = standard.hipaa
    return {
        "about": str(h["regulation"]),
        "identifiers": [
            {"letter": i["item"], "key": i["key"], "text": i["text"]} for i in h["identifiers"]
        ],
        "max_age_reportable": h["ages_rule"]["max_age_reportable"],
        "age_aggregate_category": h["ages_rule"]["aggregate_category"],
        "zip_replacement": h["zip_rule"]["replacement"],
        "restricted_zip3": sorted(h["zip_rule"]["restricted_zip3_2000_census"]),
        "restricted_zip3_census": h["zip_rule"]["census"],
    }


def data_files(standard: Standard) -> dict[str, str]:
    """Every generated runtime data file: path relative to the repository root -> text."""
    return {
        str(DATA_DIR / "cid_7050.json"): dumps(cid_7050_data(standard)),
        str(DATA_DIR / "dictionary_supplement.json"): dumps(dictionary_supplement(standard)),
        str(DATA_DIR / "hipaa.json"): dumps(hipaa_data(standard)),
        str(DATA_DIR / "iod_types.json"): dumps(iod_types(standard)),
        str(DATA_DIR / "sr_concept_names.json"): dumps(sr_data(standard)),
    }


def generate(standard_dir: Path) -> dict[str, str]:
    """Every generated file, path (relative to the repository root, ``/``-separated) -> text."""
    standard = load_standard(standard_dir)
    files = {**policies(standard), **data_files(standard)}
    return {Path(k).as_posix(): v for k, v in sorted(files.items())}


def write(files: Mapping[str, str], out: Path) -> None:
    """Write ``files`` below ``out`` (UTF-8, ``\\n`` line ends)."""
    for rel, text in files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(
        prog=GENERATOR, description="Generate the Annex E policies and runtime data."
    )
    parser.add_argument("--standard", type=Path, default=None, help="standard data directory")
    parser.add_argument("--out", type=Path, default=None, help="repository root to write into")
    args = parser.parse_args(argv)
    standard_dir: Path = args.standard or default_standard_dir()
    out: Path = args.out or repo_root()
    if not (standard_dir / "annex_e_attributes.csv").is_file():
        print(f"error: no standard tables in {standard_dir}", file=sys.stderr)
        return 2
    files = generate(standard_dir)
    write(files, out)
    print(f"wrote {len(files)} files below {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
