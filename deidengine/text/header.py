"""The free-text stage as the header stage's cleaner.

:func:`clean_header_text` is a :class:`deidengine.dicom.free_text.TextCleaner`. The header
stage sits below this package and receives this function in its
:class:`~deidengine.dicom.apply.EngineContext`; the run builds the context.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

from deidengine.dicom.free_text import CleanedText, TextCleaner
from deidengine.dicom.identifiers import IdentifyingValues
from deidengine.dicom.scrub import ScrubCategory
from deidengine.text.spans import Category, Source
from deidengine.text.stage import ALL, Strictness, categories_of, clean_value

__all__ = ["clean_header_text"]

#: A coded term is masked only where it holds the file's own identifying values.
CODED_SOURCES: Final = frozenset({Source.HEADER})
STRICTNESS: Final = {True: Strictness.STRICT, False: Strictness.DEFAULT}


@lru_cache(maxsize=256)
def _categories(scrub: frozenset[ScrubCategory] | None) -> frozenset[Category]:
    return ALL if scrub is None else categories_of(scrub)


def clean_header_text(
    text: str,
    identifying: IdentifyingValues,
    *,
    scrub: frozenset[ScrubCategory] | None,
    strict: bool,
    coded: bool,
) -> CleanedText:
    """Clean one header value with the free-text stage (:func:`~deidengine.text.clean_value`)."""
    sources = CODED_SOURCES if coded else None
    result = clean_value(text, identifying, STRICTNESS[strict], _categories(scrub), sources)
    return CleanedText(result.text, result.reason.value)


_CHECKED: TextCleaner = clean_header_text  # mypy checks the function against the protocol
