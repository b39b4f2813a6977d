"""The runtime accessors of deidengine.standard agree with the stored standard tables."""

from __future__ import annotations

from itertools import product
from pathlib import Path

import pytest
from pydicom import datadict

from deidengine.standard import (
    ALL_CODES,
    COMPOUND_CODES,
    attribute_info,
    attribute_type,
    cid_7050,
    cid_7050_for_column,
    closest_keywords,
    identifiers,
    is_private_group,
    resolve_compound_action,
    restricted_zip3,
    sr_concept_actions,
    sr_concept_actions_by_value_type,
    tag_for_keyword,
    tag_key,
    vr_of,
)
from deidengine.standard.dictionary import PIXEL_DATA
from deidengine.standard.generate import default_standard_dir
from tests.standard.standard_tables import needs_standard, read_csv, read_json

STANDARD: Path = default_standard_dir()
CT = "1.2.840.10008.5.1.4.1.1.2"

pytestmark = needs_standard


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    return read_csv("annex_e_attributes.csv")


# ----------------------------------------------------------------------------- dictionary


def test_the_pixel_data_tag_that_the_engine_names_is_the_dictionarys() -> None:
    assert tag_for_keyword("PixelData") == PIXEL_DATA
    info = attribute_info(PIXEL_DATA)
    assert info is not None and info.vr == "OB or OW"


def test_every_table_keyword_resolves_to_its_tag(rows: list[dict[str, str]]) -> None:
    for r in rows:
        if not r["keyword"]:
            continue
        assert tag_for_keyword(r["keyword"]) == int(r["match_value"], 16), r
        info = attribute_info(int(r["match_value"], 16))
        assert info is not None, r
        assert (info.keyword, info.vr, info.vm, info.retired) == (
            r["keyword"],
            r["vr"],
            r["vm"],
            r["retired"] == "Y",
        ), r


def test_pydicom_missing_tags_resolve(rows: list[dict[str, str]]) -> None:
    missing = [
        r
        for r in rows
        if r["tag_kind"] == "exact" and not datadict.dictionary_has_tag(int(r["match_value"], 16))
    ]
    assert len(missing) == 26
    for r in missing:
        tag = int(r["match_value"], 16)
        assert tag_for_keyword(r["keyword"]) == tag
        info = attribute_info(tag)
        assert info is not None and info.keyword == r["keyword"] and vr_of(tag) == r["vr"]


def test_repeating_groups() -> None:
    info = attribute_info(0x60023000)
    assert info is not None
    assert (info.tag, info.keyword, info.vr) == (0x60023000, "OverlayData", "OB or OW")
    assert tag_for_keyword("OverlayData") == 0x60003000
    assert tag_key(0x601E4000) == "60xx4000"
    assert tag_key(0x60013000) == "60013000"


def test_closest_keywords() -> None:
    assert closest_keywords("PatientNam")[0] == "PatientName"
    assert len(closest_keywords("PatientNam", n=1)) == 1
    assert closest_keywords("Zzzzzzzzzzzzzzzzzzzzzzz") == []


def test_is_private_group() -> None:
    assert is_private_group(0x0009) and is_private_group(0x0029) and is_private_group(0xFFFD)
    for group in (0x0001, 0x0003, 0x0005, 0x0007, 0xFFFF, 0x0008, 0x0010):
        assert not is_private_group(group)
    assert attribute_info(0x00291010) is None
    assert tag_for_keyword("NoSuchKeyword") is None


# ----------------------------------------------------------------------------- IOD types


def test_ct_image_types() -> None:
    assert attribute_type(CT, (0x00100020,)) == "2"
    assert resolve_compound_action("Z/D", CT, (0x00100020,)) == "Z"
    assert attribute_type(CT, (0x00080080,)) == "3"
    assert resolve_compound_action("X/Z/D", CT, (0x00080080,)) == "X"
    assert attribute_type(CT, (0x0020000D,)) == "1"
    assert attribute_type(CT, (0x00100010,)) == "2"


def test_unknown_sop_class_falls_back() -> None:
    src = read_json("iod_attribute_types.json")
    for uid in ("1.2.3.4.5", None):
        assert attribute_type(uid, (0x0020000D,)) == src["fallback_top_level"]["0020000D"]
        leaf = "00080080"
        assert attribute_type(uid, (0x00081072, int(leaf, 16))) == src["fallback_any_depth"][leaf]


def test_types_agree_with_source(rows: list[dict[str, str]]) -> None:
    src = read_json("iod_attribute_types.json")
    order = ["1", "1C", "2", "2C", "3"]

    def strictest(value: str) -> str:
        return min((p.split("/")[0] for p in value.split()), key=order.index)

    compound = {
        (r["group"] + r["element"]).upper().replace("X", "x")
        for r in rows
        if r["basic_profile"] in COMPOUND_CODES
    }
    by_ciod: dict[str, str] = {}
    for uid, sop in src["sop_classes"].items():
        by_ciod.setdefault(sop["ciod"], uid)
    for ciod, uid in by_ciod.items():
        for tag, value in src["ciods"][ciod]["types"].items():
            if tag in compound and "x" not in tag:
                assert attribute_type(uid, (int(tag, 16),)) == strictest(value), (ciod, tag)
        for path, value in src["ciods"][ciod]["nested"].items():
            tags = tuple(int(t.replace("xx", "00"), 16) for t in path.split("/"))
            assert attribute_type(uid, tags) == strictest(value), (ciod, path)


def test_resolve_compound_action_is_bounded_by_the_code() -> None:
    expected = {
        # code: (Type 1/1C, Type 2/2C, Type 3 or absent)
        "Z/D": ("D", "Z", "Z"),
        "X/Z": ("Z", "Z", "X"),
        "X/D": ("D", "D", "X"),
        "X/Z/D": ("D", "Z", "X"),
        "X/Z/U*": ("U", "Z", "X"),
    }
    assert set(expected) == COMPOUND_CODES
    ct_tags = {"1": 0x0020000D, "2": 0x00100020, "3": 0x00080080}
    assert attribute_type(CT, (0x00431099,)) is None
    for code, (one, two, three) in expected.items():
        assert resolve_compound_action(code, CT, (ct_tags["1"],)) == one
        assert resolve_compound_action(code, CT, (ct_tags["2"],)) == two
        assert resolve_compound_action(code, CT, (ct_tags["3"],)) == three
        assert resolve_compound_action(code, CT, (0x00431099,)) == three  # absent
    for code, uid in product("DZXU", (CT, None)):
        assert resolve_compound_action(code, uid, (0x00100010,)) == code
    with pytest.raises(ValueError):
        resolve_compound_action("K", CT, (0x00100010,))


def test_every_compound_row_resolves_for_every_sop_class(rows: list[dict[str, str]]) -> None:
    src = read_json("iod_attribute_types.json")
    for r in rows:
        code = r["basic_profile"]
        if code not in COMPOUND_CODES:
            continue
        tag = int(r["match_value"], 16)
        allowed = {c.rstrip("*") for c in code.split("/")}
        for uid in [*src["sop_classes"], None]:
            assert resolve_compound_action(code, uid, (tag,)) in allowed


# ----------------------------------------------------------------------------- CID 7050, HIPAA, SR


def test_cid_7050() -> None:
    assert [c.value for c in ALL_CODES] == [str(v) for v in range(113100, 113113)]
    assert all(c.scheme == "DCM" for c in ALL_CODES)
    table = read_csv("cid_7050.csv")
    assert [(c.value, c.meaning) for c in ALL_CODES] == [
        (r["code_value"], r["code_meaning"]) for r in table
    ]
    assert cid_7050("113100").meaning == "Basic Application Confidentiality Profile"
    assert cid_7050_for_column("rtn_uids").value == "113110"
    with pytest.raises(KeyError):
        cid_7050("999999")


def test_hipaa() -> None:
    src = read_json("hipaa_safe_harbor.json")
    assert len(restricted_zip3()) == 17
    assert restricted_zip3() == frozenset(src["zip_rule"]["restricted_zip3_2000_census"])
    ids = identifiers()
    assert [i.letter for i in ids] == list("ABCDEFGHIJKLMNOPQR")
    assert [i.key for i in ids] == [i["key"] for i in src["identifiers"]]


def test_sr_concepts() -> None:
    table = read_json("annex_e_sr_concept_names.json")["rows"]
    assert len(sr_concept_actions_by_value_type()) == len(table) == 214
    merged = sr_concept_actions()
    assert len(merged) == len({(r["coding_scheme_designator"], r["code_value"]) for r in table})
    for r in table:
        entry = merged[(r["coding_scheme_designator"], r["code_value"])]
        exact = sr_concept_actions_by_value_type()[
            (r["coding_scheme_designator"], r["code_value"], r["value_type"])
        ]
        assert exact["basic_profile"] == r["basic_profile"]
        assert "basic_profile" in entry
    # Source of Measurement: D as IMAGE, X as WAVEFORM; merged, the stricter X.
    assert merged[("DCM", "121112")]["basic_profile"] == "X"
