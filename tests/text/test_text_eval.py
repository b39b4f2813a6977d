"""The text stage meets its targets on the held-out part of the labelled set.

Recall and the share of clinical tokens kept are deterministic (seeded set, rule-based stage,
spaCy's model is fixed by its pinned version), so they are asserted; time is not (see
benchmarks/test_bench_text.py and ``python -m benchmarks.text_eval``).
"""

from __future__ import annotations

import pytest

from tests.text.eval_set import Score, generate, score

HELD_OUT_SIZE = 1000
TUNING_SIZE = 1200


@pytest.fixture(scope="module")
def held_out() -> Score:
    return score(generate("held-out", HELD_OUT_SIZE))


def test_the_labelled_set_is_large_and_half_identifying() -> None:
    values = generate("tuning", TUNING_SIZE) + generate("held-out", HELD_OUT_SIZE)
    assert len(values) >= 2000
    with_identifiers = sum(1 for v in values if v.spans)
    assert 0.4 < with_identifiers / len(values) < 0.6
    assert any(v.text.isupper() for v in values) and any(v.text.islower() for v in values)
    # Generation is seeded: the same set every time.
    assert generate("held-out", 50) == generate("held-out", 50)


def test_held_out_recall_of_names_and_ids(held_out: Score) -> None:
    assert held_out.rate("name") >= 0.995, held_out.recall["name"]
    assert held_out.rate("id") >= 0.995, held_out.recall["id"]


def test_held_out_recall_of_the_patients_own_header_values_is_complete(held_out: Score) -> None:
    assert held_out.rate("header") == 1.0


def test_held_out_recall_of_the_other_categories(held_out: Score) -> None:
    for category in ("date", "phone", "email", "address", "institution"):
        assert held_out.rate(category) >= 0.995, (category, held_out.recall[category])


def test_held_out_clinical_tokens_kept(held_out: Score) -> None:
    assert held_out.keep_rate >= 0.95, held_out.kept
