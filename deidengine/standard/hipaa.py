"""HIPAA Safe Harbor, 45 CFR 164.514(b)(2): the 18 identifiers, the age rule, the ZIP rule."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from deidengine.standard._data import load

__all__ = [
    "HipaaIdentifier",
    "age_aggregate_category",
    "identifiers",
    "max_age_reportable",
    "restricted_zip3",
    "zip_replacement",
]


@dataclass(frozen=True)
class HipaaIdentifier:
    """One of 164.514(b)(2)(i)(A)-(R): its letter, a short key (``names``) and its text."""

    letter: str
    key: str
    text: str


@cache
def identifiers() -> tuple[HipaaIdentifier, ...]:
    """The 18 Safe Harbor identifiers, (A) to (R)."""
    return tuple(
        HipaaIdentifier(letter=i["letter"], key=i["key"], text=i["text"])
        for i in load("hipaa.json")["identifiers"]
    )


@cache
def restricted_zip3() -> frozenset[str]:
    """The three-digit ZIP prefixes that must become ``000`` (2000 Census, HHS guidance).
    HHS advises not to rely on this list where newer Census data exists."""
    return frozenset(load("hipaa.json")["restricted_zip3"])


def zip_replacement() -> str:
    """What a restricted ZIP3 becomes (``"000"``)."""
    return str(load("hipaa.json")["zip_replacement"])


def max_age_reportable() -> int:
    """The oldest age that may be reported as such (89); older ages are aggregated."""
    return int(load("hipaa.json")["max_age_reportable"])


def age_aggregate_category() -> str:
    """The category ages over :func:`max_age_reportable` may be aggregated into."""
    return str(load("hipaa.json")["age_aggregate_category"])
