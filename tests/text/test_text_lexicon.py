"""The committed name lexicon is what its build script makes from names-dataset."""

from __future__ import annotations

import pytest

from deidengine.text.lexicon_build import LEXICON_PATH, build
from deidengine.text.vocabulary import names


@pytest.mark.slow
def test_the_lexicon_regenerates_identically() -> None:
    pytest.importorskip("names_dataset", reason="names-dataset is a development dependency")
    assert build() == LEXICON_PATH.read_text(encoding="utf-8")


def test_the_lexicon_holds_names_that_are_also_words() -> None:
    lexicon = names()
    assert len(lexicon) > 30000
    for name in ("young", "brown", "lee", "rose", "paris", "hope", "guy"):
        assert name in lexicon
    assert lexicon["young"].family
