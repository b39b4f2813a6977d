"""The free-text stage: identifiers in text that the header does not name.

See :mod:`deidengine.text.stage` for how the recognisers combine, and docs/policy-language.md
("Cleaning free text") for what ``clean`` and ``scrub`` rules do with the result.
"""

from deidengine.text.spans import Category, Source, TextFindings, TextSpan, Verdict
from deidengine.text.stage import MASK, CleanedValue, Strictness, clean_value, find_identifiers

__all__ = [
    "MASK",
    "Category",
    "CleanedValue",
    "Source",
    "Strictness",
    "TextFindings",
    "TextSpan",
    "Verdict",
    "clean_value",
    "find_identifiers",
]
