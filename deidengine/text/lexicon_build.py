"""Build the compact name lexicon (``deidengine/text/data/names.txt``) from names-dataset.

names-dataset holds the given and family names of 106 countries as ranked by frequency; loading
it takes about 12 s and 2 GB of memory, far too much for every worker of a run. This script,
run at build time (``python -m deidengine.text.lexicon_build``), keeps the most frequent names
of the countries below and writes them one per line, lower case, sorted, each with ``G`` (a
given name), ``F`` (a family name) or ``GF`` (both) after a tab; a test regenerates the file and
compares. names-dataset is a development dependency only.

Countries: the English-speaking ones, whose records most of our users hold, and those whose
names are common among their patients.
"""

from __future__ import annotations

import argparse
import sys
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Final

COUNTRIES: Final = (
    "US", "GB", "IE", "CA", "AU", "NZ", "ZA", "IN", "PK", "BD", "NG", "GH", "KE", "PH",
    "DE", "FR", "ES", "PT", "IT", "NL", "BE", "SE", "NO", "DK", "FI", "PL", "GR", "TR",
    "MX", "BR", "AR", "CO", "CN", "HK", "JP", "KR", "VN", "IR", "EG", "SA", "IL", "RU",
)  # fmt: skip
#: Names kept per country and list (given names per gender, family names).
PER_COUNTRY: Final = 800
#: A name that is also a common English word (wordfreq's Zipf frequency at least this) is kept
#: when an English-speaking country's list or two countries' lists hold it: there "Young",
#: "Rose", "Lars" and "Fatima" are names, while a single other list may hold a word such as
#: "Manufacturer" that users typed into a name field.
COMMON_WORD_ZIPF: Final = 3.0
ENGLISH_SPEAKING: Final = frozenset({"US", "GB", "IE", "CA", "AU", "NZ"})
LEXICON_PATH: Final = Path(__file__).parent / "data" / "names.txt"


def _plain(name: str) -> str | None:
    """Lower case, Latin letters (accents kept), apostrophes and hyphens; else ``None``."""
    name = unicodedata.normalize("NFC", name.strip()).lower()
    if len(name) < 2 or not all(c.isalpha() or c in "'-" for c in name):
        return None
    if any(c.isalpha() and "LATIN" not in unicodedata.name(c, "") for c in name):
        return None
    return name


def build() -> str:
    """The lexicon's text: one name and its kinds a line, sorted."""
    from names_dataset import NameDataset  # development dependency: slow and large
    from wordfreq import zipf_frequency

    dataset = NameDataset()
    names: dict[str, set[str]] = {}
    countries: dict[str, set[str]] = {}
    for country in COUNTRIES:
        for first in (True, False):
            top = dataset.get_top_names(
                n=PER_COUNTRY, use_first_names=first, country_alpha2=country
            )
            groups = top.get(country, {})
            lists = groups.values() if isinstance(groups, dict) else [groups]
            for names_of_group in lists:
                for name in names_of_group:
                    plain = _plain(name)
                    if plain is None:
                        continue
                    names.setdefault(plain, set()).add("G" if first else "F")
                    countries.setdefault(plain, set()).add(country)
    kept = {
        name: kinds
        for name, kinds in names.items()
        if zipf_frequency(name, "en") < COMMON_WORD_ZIPF
        or len(countries[name]) >= 2
        or countries[name] & ENGLISH_SPEAKING
    }
    return "".join(
        f"{name}\t{''.join(sorted(kinds, reverse=True))}\n" for name, kinds in sorted(kept.items())
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=LEXICON_PATH)
    args = parser.parse_args(argv)
    args.out.write_text(build(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
