"""The per-file fast paths answer exactly what the plain algorithms answer.

The leak scan and the scrubber search each text only for the values a guard cannot rule out,
with patterns cached across files (deidengine.dicom.identifiers); the plan caches candidate
rules per element (deidengine.policy.plan). Here both are checked against the reference: one
pattern for the whole set of values, compiled afresh, and an uncached plan.
"""

from __future__ import annotations

import datetime
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from deidengine.dicom.identifiers import IdentifyingValues, ValueKind, _compile, date_forms
from deidengine.policy import load_plan

# Letters with unusual case behaviour (dotless i, long s, Kelvin sign, sharp s), digits of
# other scripts, separators: where a shortcut would most likely differ from the regex engine.
ALPHABET = "abcdijklmnos0123456789 .,-/_^\u0131\u017f\u212a\u0130\u00f6\u00e9\u00df\u00d6\u0663"
WORDS = ["doe", "jane", "smith", "li", "mrn", "12345", "1962", "03", "3", "15", "march", "mar"]

values = st.one_of(
    st.sampled_from(WORDS),
    st.lists(st.sampled_from(WORDS), min_size=2, max_size=3).map(" ".join),
    st.text(ALPHABET, min_size=2, max_size=10),
)
value_sets = st.frozensets(values, max_size=4)
dates = st.dates(datetime.date(1930, 1, 1), datetime.date(2030, 12, 31))


@st.composite
def identifying(draw: st.DrawFn) -> IdentifyingValues:
    kinds = {kind.value: draw(value_sets) for kind in ValueKind}
    for date in draw(st.lists(dates, max_size=2)):
        kinds["dates"] = kinds["dates"] | date_forms(date)
    return IdentifyingValues(**kinds)


@st.composite
def texts(draw: st.DrawFn, known: IdentifyingValues) -> str:
    """Text that often holds a value, written with other separators and case."""
    parts = []
    for _ in range(draw(st.integers(0, 5))):
        if draw(st.booleans()) and known.values:
            value = draw(st.sampled_from(sorted(known.values)))
            tokens = re.findall(r"\d+|[^\W\d_]+", value)
            written = draw(st.sampled_from(["", " ", "-", "^", ", ", "_", "x", "1"])).join(tokens)
            parts.append(written.upper() if draw(st.booleans()) else written)
        else:
            parts.append(draw(st.text(ALPHABET + ALPHABET.upper(), max_size=8)))
    return draw(st.sampled_from(["", " ", ".", "0", "-"])).join(parts)


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_contains_in_and_find_in_match_the_plain_patterns(data: st.DataObject) -> None:
    known = data.draw(identifying())
    whole = _compile(known.values)
    for _ in range(10):
        text = data.draw(texts(known))
        assert known.contains_in(text) == (whole is not None and whole.search(text) is not None)
        kinds = data.draw(st.lists(st.sampled_from(list(ValueKind)), max_size=5))
        expected = []
        for kind in kinds:
            pattern = _compile(known.of_kind(kind))
            if pattern is not None:
                expected += [(m.start(), m.end(), kind) for m in pattern.finditer(text)]
        assert list(known.find_in(text, kinds)) == expected


def test_cached_candidates_equal_fresh_ones() -> None:
    elements = [
        (0x00100010, "PN", None, ()),
        (0x00100010, "PN", None, ((0x00081115, 0),)),
        (0x0040A160, "UT", None, ((0x0040A730, 0), (0x0040A730, 2))),
        (0x00091001, "LO", ("GEMS_IDEN_01", 0x0009, 0x01), ()),
        (0x00091001, "LO", None, ()),
        (0x60003000, "OW", None, ()),
        (0x00080018, "UI", None, ()),
    ]
    for spec in ("hipaa-safe-harbor", "tests/policies/ok/every-selector.policy"):
        warm = load_plan(spec)
        for tag, vr, key, path in elements * 2:
            fresh = load_plan(spec)  # an empty cache
            assert warm.candidates(tag, vr, key, path) == fresh.candidates(tag, vr, key, path)
