"""The combined text stage: names by cue and shape, institutions, NER, masking, strictness."""

from __future__ import annotations

import pytest
from pydicom.dataset import Dataset

from deidengine.dicom.identifiers import collect_identifying_values
from deidengine.text import (
    MASK,
    Category,
    Source,
    Strictness,
    Verdict,
    clean_value,
    find_identifiers,
)
from tests.text.eval_set import generate


def cleaned(text: str, strictness: Strictness = Strictness.DEFAULT) -> str | None:
    return clean_value(text, strictness=strictness).text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Upper case: cues and shapes, where NER sees nothing.
        ("MR LUMBAR SPINE WO - FOR DR ABERNETHY", "MR LUMBAR SPINE WO - FOR DR ***"),
        ("XR CHEST PA AND LAT PER WIFE ROSE PARIS", "XR CHEST PA AND LAT PER WIFE ***"),
        ("CT ABD ORDERED BY KOWALCZYK, DAGNY", "CT ABD ORDERED BY ***"),
        ("DR YOUNG", "DR ***"),
        ("VANDERMEER^ILSE", "***"),
        ("MAGDALENA ZIELINSKA", "***"),
        ("HARLAN PRUITT MD", "*** MD"),
        ("GWENDOLYN TRAN, MD", "***, MD"),  # the post-nominal stays
        # Particles join a family name after a cue or before a post-nominal.
        ("per wife Ilse van der Meulen", "per wife ***"),
        ("CC: R. De la Fuente, MD; T. Oyelaran, DO", "CC: ***, MD; ***, DO"),
        # A given and a family name from the lexicon, no cue, not two frequent words.
        ("CT HEAD WO MAGDALENA KOWALCZYK", "CT HEAD WO ***"),
        # Mixed case.
        ("Hx of fall, per husband Guy Hope, 555-201-9988", "Hx of fall, per husband ***"),
        ("Spoke with Dr. J. Whitcombe about findings", "Spoke with Dr. *** about findings"),
        ("Results discussed with Ingrid Solberg today", "Results discussed with *** today"),
        ("Outside films from Maplewood General Hospital", "Outside films from ***"),
        ("Patient works at Brightwater Logistics", "Patient works at ***"),
        ("CT HEAD WO CONTRAST (order ORD-8812045)", "CT HEAD WO CONTRAST (order ***)"),
    ],
)
def test_identifiers_are_masked_and_the_rest_kept(text: str, expected: str) -> None:
    assert cleaned(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "CT HEAD WO CONTRAST",
        "MR BRAIN W/WO",
        "DR CHEST 2 VIEWS",
        "MS LESIONS FLAIR",
        "CHEST PA AND LATERAL",
        "Follow-up for pulmonary nodule",
        "Hope for improvement after therapy",
        "Elevated PSA, hx prostate ca",
        "AX T2 FLAIR 5 MM 120 KVP C1-C2",
        # Eponyms: a name before the disease, sign or structure it names.
        "Baker cyst left knee",
        "Known Crohn disease, eval for abscess",
        "Barrett esophagus surveillance",
        "Arnold-Chiari malformation follow-up",
        # An upper-case MR before a word no vocabulary holds but that ends like a medical term.
        "MR ENTEROGRAPHY",
        "MR CHOLANGIOPANCREATOGRAPHY",
        "ECHO LA ENLARGED",
        "Ga^68^ DOTATATE PET",
    ],
)
def test_clinical_text_is_kept(text: str) -> None:
    assert cleaned(text, Strictness.STRICT) == text


def test_each_span_records_its_sources_and_category() -> None:
    text = "Discussed with Dr Corrigan Ashdown on 03/04/2021"
    findings = find_identifiers(text)
    names = [s for s in findings.spans if text[s.start : s.end].startswith("Corrigan")]
    assert names and all(s.category is Category.NAME for s in names)
    assert Source.CUE in frozenset().union(*(s.sources for s in names))
    dates = [s for s in findings.spans if text[s.start : s.end] == "03/04/2021"]
    assert [(s.category, s.sources) for s in dates] == [
        (Category.DATE, frozenset({Source.PATTERN}))
    ]
    assert "Corrigan" not in repr(findings)


def test_ner_finds_a_name_no_cue_supports() -> None:
    findings = find_identifiers("Benedikt Oyelaran arrived this morning")
    assert any(Source.NER in s.sources for s in findings.spans)


def test_the_header_deny_list_stays_a_source() -> None:
    ds = Dataset()
    ds.PatientName = "QUILLFEATHER^ODA"
    identifying = collect_identifying_values(ds)
    result = clean_value("Quillfeather knee pain", identifying)
    assert result.text == f"{MASK} knee pain"
    sources = find_identifiers("quillfeather", identifying).spans[0].sources
    assert Source.HEADER in sources


def test_the_mask_is_fixed_whatever_the_length() -> None:
    assert cleaned("per wife Ann") == cleaned("per wife Bartholomewina")


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("\x1b$BF|K\\8l\x1b(B", Verdict.UNANALYSABLE_SCRIPT),
        ("山田^太郎", Verdict.UNANALYSABLE_SCRIPT),
        ("Иванов Иван", Verdict.UNANALYSABLE_SCRIPT),
        ("KRZYWOSZ WOLCZAK BRZEZNIK PTASZYNSKA", Verdict.TOO_MANY_SUSPECTS),
    ],
)
def test_strict_removes_what_it_cannot_vouch_for(text: str, verdict: Verdict) -> None:
    strict = clean_value(text, strictness=Strictness.STRICT)
    assert (strict.text, strict.reason) == (None, verdict)
    assert clean_value(text).text is not None  # the default masks what it can and keeps


def test_bad_input_does_not_crash() -> None:
    long = "CT HEAD WO CONTRAST per Dr Tamsin Greaves. " * 300
    result = clean_value(long)
    assert result.text is not None and "Greaves" not in result.text
    assert clean_value("CHEST\x00PA\x07") is not None
    assert clean_value("", strictness=Strictness.STRICT).text == ""


#: The verifier's filter for elements no rule selected (device facts): NER's spans do not count.
_WITHOUT_NER = frozenset({Source.CUE, Source.NAME_SHAPE})
_SPLITS = ("tuning", "held-out", "hard")


def test_a_source_filter_without_ner_never_loads_the_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The model costs a worker about a second to load; a caller that discards its spans must
    not pay it ("Field 1", a beam name, holds a surname and used to load it)."""
    import deidengine.text.ner as ner

    def refuse(text: str) -> object:
        raise AssertionError(f"NER ran on {text!r}")

    monkeypatch.setattr(ner, "person_spans", refuse)
    texts = ["Field 1", "Linac co.", "Zapper9000", "seen by Dr Lindqvist and Field"]
    texts += [value.text for split in _SPLITS for value in generate(split, 150)]
    for text in texts:
        for strictness in Strictness:
            find_identifiers(text, strictness=strictness, sources=_WITHOUT_NER)


@pytest.mark.parametrize("split", _SPLITS)
@pytest.mark.parametrize("sources", [_WITHOUT_NER, frozenset({Source.CUE}), frozenset(Source)])
def test_a_source_filter_finds_what_the_whole_reading_found_by_those_sources(
    split: str, sources: frozenset[Source]
) -> None:
    """Leaving NER out changes nothing the filter lets through: the same spans, categories and
    (filtered) sources as filtering the reading with every source."""
    for value in generate(split, 300):
        identifying = value.identifying()
        for strictness in (Strictness.DEFAULT, Strictness.VERIFY):
            whole = find_identifiers(value.text, identifying, strictness)
            expected = [
                (span.start, span.end, span.category, span.sources & sources)
                for span in whole.spans
                if span.sources & sources
            ]
            filtered = find_identifiers(value.text, identifying, strictness, sources=sources)
            got = [(s.start, s.end, s.category, s.sources) for s in filtered.spans]
            assert got == expected, value.text
