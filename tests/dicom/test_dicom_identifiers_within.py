"""``contains_in_within``: a part of a deny-list searched through the whole list's guard gives
``contains_in``'s answer, on the texts the guard rules values in and out of."""

from __future__ import annotations

import random
import re

import pytest

from deidengine.dicom.identifiers import IdentifyingValues, contains_in_within
from deidengine.verify.leaks import patient_borne_values
from tests.dicom.test_dicom_scrub import jane_doe as _identifying

TEXTS = (
    "",
    "routine follow-up",
    "seen by Dr doe on the ward",
    "Jane, born 15 March 1962",
    "born 03/15/1962, id PAT12345",
    "ref PAT-12345",
    "PAT123456 is another number",
    "scanned at St Elsewhere Hospital, 42 Elm Road",
    "call 555 123 4567",
    "Kontrolle § Doe °",  # not ASCII: every value is searched
    "D\u0130E JANE",  # a dotted capital I: no ASCII equivalent for the guard
    "1962",
)


@pytest.mark.parametrize("text", TEXTS)
def test_a_part_searched_within_the_whole_answers_as_contains_in(text: str) -> None:
    whole = _identifying()
    for part in (patient_borne_values(whole), whole, IdentifyingValues(ids=whole.ids)):
        assert part.values <= whole.values
        assert contains_in_within(part, text, whole) == part.contains_in(text)


def test_the_answers_differ_where_the_part_lacks_a_value() -> None:
    whole = _identifying()
    part = patient_borne_values(whole)  # no IDs or institutions
    assert whole.contains_in("ref PAT-12345")
    assert not contains_in_within(part, "ref PAT-12345", whole)
    assert contains_in_within(part, "Jane, born 15 March 1962", whole)
    assert not contains_in_within(IdentifyingValues(), "Jane", whole)


def _texts_near(values: frozenset[str], count: int, seed: int) -> list[str]:
    """Texts made of the values' own tokens, joined and cut in ways that match and ways that
    nearly match (a token missing, digits run on, a letter glued on, another case)."""
    rng = random.Random(seed)
    pool = sorted(values)
    pieces = ["", " ", "-", "/", ".", ",", "  ", "x", "7", "0", "th", "§", "\u0130", "\u0131"]
    texts = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(1, 3)):
            tokens = re.findall(r"\d+|[^\W\d_]+", rng.choice(pool))
            if len(tokens) > 1 and rng.random() < 0.4:
                tokens.pop(rng.randrange(len(tokens)))
            parts.append("".join(token + rng.choice(pieces) for token in tokens))
        text = rng.choice(pieces).join(parts)
        texts.append(text.upper() if rng.random() < 0.3 else text)
    return texts


def test_the_answer_is_contains_in_on_texts_made_of_the_values() -> None:
    whole = _identifying()
    parts = (whole, patient_borne_values(whole), IdentifyingValues(dates=whole.dates))
    found = 0
    for text in _texts_near(whole.values, 1500, seed=16):
        for part in parts:
            expected = part.contains_in(text)
            found += expected
            assert contains_in_within(part, text, whole) == expected, text
    assert found > 200  # the texts exercise both answers
