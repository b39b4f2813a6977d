"""PS3.16 CID 7050 De-identification Method: the codes for (0012,0064)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from deidengine.standard._data import load

__all__ = ["ALL_CODES", "CodedConcept", "cid_7050", "cid_7050_for_column"]


@dataclass(frozen=True)
class CodedConcept:
    """A code of CID 7050 (scheme DCM), with the Table E.1-1 column and PS3.15 section it
    stands for (``annex_e_column`` is prose for the two pixel Options, which have none)."""

    value: str
    scheme: str
    meaning: str
    annex_e_column: str = ""
    ps3_15_section: str = ""


@cache
def _codes() -> tuple[CodedConcept, ...]:
    return tuple(
        CodedConcept(
            value=r["code_value"],
            scheme=r["coding_scheme_designator"],
            meaning=r["code_meaning"],
            annex_e_column=r["annex_e_column"],
            ps3_15_section=r["ps3_15_section"],
        )
        for r in load("cid_7050.json")["rows"]
    )


#: Every CID 7050 code, in the table's order (113100 to 113112).
ALL_CODES: tuple[CodedConcept, ...] = _codes()


def cid_7050(code_value: str) -> CodedConcept:
    """The CID 7050 concept with Code Value ``code_value``; KeyError if there is none."""
    for concept in ALL_CODES:
        if concept.value == code_value:
            return concept
    raise KeyError(code_value)


def cid_7050_for_column(column: str) -> CodedConcept:
    """The CID 7050 concept of a Table E.1-1 column (``rtn_uids`` -> 113110); KeyError if
    there is none."""
    for concept in ALL_CODES:
        if concept.annex_e_column == column:
            return concept
    raise KeyError(column)
