"""PS3.15 Table E.3.4-1: SR concept names and their actions (Clean Structured Content).

Seven concept names appear more than once, with different Value Types (e.g. DCM 121112
"Source of Measurement" is D as IMAGE but X as WAVEFORM). :func:`sr_concept_actions_by_value_type`
keeps them apart; :func:`sr_concept_actions` merges them conservatively.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from deidengine.standard._data import load

__all__ = [
    "SR_ACTION_COLUMNS",
    "sr_concept_actions",
    "sr_concept_actions_by_value_type",
    "sr_concept_rows",
]

#: The action columns of Table E.3.4-1: the Basic Profile, then its seven option columns.
SR_ACTION_COLUMNS: tuple[str, ...] = (
    "basic_profile",
    "rtn_uids",
    "rtn_device_identity",
    "rtn_institution_identity",
    "rtn_patient_characteristics",
    "rtn_long_full_dates",
    "rtn_long_modified_dates",
    "clean_descriptors",
)

# Which Basic code removes the most, for merging: X, then the compounds, then D.
_BASIC_STRICTNESS: tuple[str, ...] = ("X", "X/Z", "X/D", "X/Z/D", "Z", "Z/D", "D", "U", "C", "K")


def sr_concept_rows() -> list[dict[str, Any]]:
    """The rows of Table E.3.4-1, all columns (do not mutate)."""
    rows: list[dict[str, Any]] = load("sr_concept_names.json")["rows"]
    return rows


def _actions(row: dict[str, Any]) -> dict[str, str]:
    return {c: str(row[c]) for c in SR_ACTION_COLUMNS if row.get(c)}


@cache
def sr_concept_actions_by_value_type() -> dict[tuple[str, str, str], dict[str, str]]:
    """(coding scheme, code value, value type) -> {column: code}, non-empty columns only."""
    return {
        (r["coding_scheme_designator"], r["code_value"], r["value_type"]): _actions(r)
        for r in sr_concept_rows()
    }


@cache
def sr_concept_actions() -> dict[tuple[str, str], dict[str, str]]:
    """(coding scheme, code value) -> {column: code}, non-empty columns only.

    Always has ``basic_profile``; an option column is present only when the Option gives a
    code. Where a concept name is listed for several Value Types, the merged entry takes the
    Basic code that removes the most, and keeps an option code only if every listing gives
    the same one.
    """
    grouped: dict[tuple[str, str], list[dict[str, str]]] = {}
    for r in sr_concept_rows():
        key = (r["coding_scheme_designator"], r["code_value"])
        grouped.setdefault(key, []).append(_actions(r))
    merged: dict[tuple[str, str], dict[str, str]] = {}
    for key, listings in grouped.items():
        entry = {
            "basic_profile": min(
                (a["basic_profile"] for a in listings), key=_BASIC_STRICTNESS.index
            )
        }
        for column in SR_ACTION_COLUMNS[1:]:
            values = {a.get(column, "") for a in listings}
            if len(values) == 1 and "" not in values:
                entry[column] = values.pop()
        merged[key] = entry
    return merged
