"""The header stage over the element table against the Dataset path: same bytes, same outcome.

Each case reads a file once (:func:`read_file`: the dataset and the table it was built from),
takes the input facts from the dataset, then runs both backends: ``apply_plan`` edits the
dataset and :func:`encode_file` writes it; :func:`apply_plan_to_table` gives edits and
:func:`deidengine.core.writer.encode` writes the table with them. The two outputs must be the
same bytes and the two :class:`HeaderOutcome` values equal, or both stages must raise the
same error; a file the table stage declines (:class:`LeanUnsupported`) is allowed only where
the module says it falls back, and the fast tests pin which files those are.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from benchmarks.corpus import write_corpus as write_benchmark_corpus
from deidengine.core.reader import read
from deidengine.core.writer import encode
from deidengine.dicom.apply import EngineContext, apply_plan
from deidengine.dicom.encode import encode_file
from deidengine.dicom.facts import input_facts
from deidengine.dicom.keys import ProjectSecret
from deidengine.dicom.reading import read_file
from deidengine.dicom.table_apply import LeanUnsupported, apply_plan_to_table, encoded_value
from deidengine.policy import load_plan
from deidengine.standard.hipaa import restricted_zip3
from deidengine.text.header import clean_header_text
from tests.phi_corpus import write_corpus as write_phi_corpus
from tests.pydicom_files import bundled_charset_files, bundled_test_files

HEADER_ONLY = "hipaa-safe-harbor,benchmarks/policies/header-only.policy"
BASIC = "annex-e/basic"
#: The Annex E options, each composed with the Basic Profile.
OPTIONS = tuple(
    f"{BASIC},annex-e/{path.stem}"
    for path in sorted((Path(__file__).parents[2] / "policies" / "annex-e").glob("*.policy"))
    if path.stem.startswith(("retain-", "clean-descriptors", "clean-structured", "clean-graph"))
)
POLICIES = (BASIC, HEADER_ONLY, *OPTIONS, "research-longitudinal")
#: The bundled files the table stage declines (the Dataset path treats them): items in
#: implicit VR inside an explicit VR file (a UN sequence), and RLE doses whose items do too.
DECLINED = frozenset({"UN_sequence.dcm", "rtdose_rle.dcm", "rtdose_rle_1frame.dcm"})
_CONTEXTS: dict[str, EngineContext] = {}
T = TypeVar("T")


def _context(spec: str) -> EngineContext:
    if spec not in _CONTEXTS:
        _CONTEXTS[spec] = EngineContext(
            plan=load_plan(spec, runnable=True),
            secret=ProjectSecret(bytes(range(32))),
            text_cleaner=clean_header_text,
            restricted_zip3=restricted_zip3(),
            record_mappings=True,
        )
    return _CONTEXTS[spec]


def _outcome_or_error(run: Callable[[], T]) -> T | tuple[str, str]:
    try:
        return run()
    except LeanUnsupported:
        raise
    except Exception as error:
        return (type(error).__name__, str(error))


def differential(path: str, spec: str, context: EngineContext | None = None) -> str:
    """``'same'``, ``'same error: <class>'``, ``'declined'`` or ``'no table'``; fails the test
    on any difference."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reading = read_file(path)
        table = reading.table
        if table is None:
            return "no table"
        context = context or _context(spec)
        facts = input_facts(reading.dataset, context.plan.condition_tags)
        try:
            lean = _outcome_or_error(
                lambda: apply_plan_to_table(
                    table,
                    context,
                    facts.identifying,
                    facts.snapshot,
                )
            )
        except LeanUnsupported:
            return "declined"
        classic = _outcome_or_error(
            lambda: apply_plan(reading.dataset, context, facts.identifying, facts.snapshot)
        )
        if isinstance(classic, tuple) or isinstance(lean, tuple):
            assert classic == lean, path
            return f"same error: {classic[0]}"
        assert lean.outcome == classic, path
        # The audit lists the counts as the stage made them: the walk's own actions (see
        # table_apply's walk) count in act's order.
        assert list(lean.outcome.actions.items()) == list(classic.actions.items()), path
        assert list(lean.outcome.uid_map.items()) == list(classic.uid_map.items()), path
        try:
            expected: bytes | str = encode_file(reading.dataset)
        except Exception as error:
            expected = type(error).__name__
        try:
            written: bytes | str = encode(table, lean.edits)
        except Exception as error:
            written = type(error).__name__
        if isinstance(expected, str):
            assert isinstance(written, str), path  # both refuse to write it
        else:
            assert written == expected, path
    return "same"


def _file(name: str) -> str:
    return str(get_testdata_file(name))


def _bundled() -> list[str]:
    return [
        path
        for path in bundled_test_files("*.dcm") + bundled_charset_files()
        if Path(path).read_bytes()[128:132] == b"DICM"
    ]


# ------------------------------------------------------------------------- fast


@pytest.mark.parametrize("spec", [BASIC, HEADER_ONLY])
@pytest.mark.parametrize(
    "name", ["CT_small.dcm", "MR_small.dcm", "test-SR.dcm", "rtplan.dcm", "nested_priv_SQ.dcm"]
)
def test_the_benchmark_templates_match_the_dataset_path(name: str, spec: str) -> None:
    assert differential(_file(name), spec) == "same"


@pytest.mark.parametrize("path", bundled_charset_files(), ids=lambda p: Path(p).name)
def test_every_charset_file_matches_under_the_basic_profile(path: str) -> None:
    assert differential(path, BASIC) == "same"


def test_the_phi_corpus_matches_under_every_policy(tmp_path: Path) -> None:
    corpus = write_phi_corpus(tmp_path)
    for spec in POLICIES:
        for path in corpus.values():
            assert differential(str(path), spec) == "same", spec


def test_a_file_the_table_cannot_reproduce_is_declined() -> None:
    # Items in implicit VR inside an explicit VR file: pydicom converts each of their elements.
    assert differential(_file("UN_sequence.dcm"), BASIC) == "declined"


def test_a_repeated_tag_is_declined(tmp_path: Path) -> None:
    data = Path(_file("CT_small.dcm")).read_bytes()
    table = read(data)
    # The same element twice in a row: pydicom keeps the last, the walk would see both.
    row = next(r for r in table.rows if r.tag == 0x00080060)  # Modality
    doubled = data[: row.offset + row.length] + data[row.header : row.offset + row.length]
    doubled += data[row.offset + row.length :]
    with pytest.raises(LeanUnsupported):
        context = _context(BASIC)
        facts = input_facts(pydicom.dcmread(_file("CT_small.dcm")))
        apply_plan_to_table(read(doubled), context, facts.identifying, facts.snapshot)


def test_a_rejecting_rule_fails_both_paths_alike(tmp_path: Path) -> None:
    policy = tmp_path / "reject.policy"
    policy.write_text(
        'policy reject-ct\nuse annex-e/basic\n(0008,0060) Modality -> reject "no CT"\n'
    )
    result = differential(_file("CT_small.dcm"), str(policy))
    assert result == "same error: RejectedError"


@pytest.mark.parametrize(
    ("vr", "value", "encodings"),
    [
        ("PN", "Yamada^Tarou=山田^太郎", ["iso8859", "iso2022_jp"]),
        ("LO", ["ÄRZTE", "Zoë"], ["latin_1"]),
        ("SH", "Ωμέγα", ["iso8859_7"]),
        ("DS", "1.50", ["latin_1"]),
        ("US", 7, ["latin_1"]),
        ("FD", 0.0, ["latin_1"]),
        ("UI", "1.2.3", ["latin_1"]),
        ("LT", "line one\r\nline two", ["latin_1"]),
    ],
)
def test_an_encoded_value_is_what_pydicom_writes(
    vr: str, value: object, encodings: list[str]
) -> None:
    dataset = Dataset()
    dataset.add_new(0x00091010 if vr == "US" else 0x00100010, vr, value)
    element = dataset[next(iter(dataset.keys()))]
    written = pydicom.filebase.DicomBytesIO()
    written.is_little_endian, written.is_implicit_VR = True, True
    pydicom.filewriter.write_data_element(written, element, encodings)
    expected = written.getvalue()[8:]
    mine = encoded_value(int(element.tag), vr, value, encodings, little=True)
    padded = mine + (b"" if len(mine) % 2 == 0 else (b"\0" if vr == "UI" else b" "))
    assert padded == expected


EVERY_VERB = """policy every-verb
use annex-e/basic
(0010,0020) PatientID                    -> lookup ids
(0010,0010) PatientName                  -> hash 12
(0008,0080) InstitutionName              -> set "SITE A"
(0008,1030) StudyDescription             -> scrub names dates
(0008,103E) SeriesDescription            -> clean strict
(0008,0020) StudyDate                    -> shift-date within -30..-10 days
(0008,1110) ReferencedStudySequence      -> empty
(0008,1111) ReferencedPerformedProcedureStepSequence -> dummy
(0010,1010) PatientAge                   -> cap-age 60
(0008,0090) ReferringPhysicianName       -> pseudonym "DR-{hmac:6}"
"""


@pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small.dcm", "test-SR.dcm", "rtplan.dcm"])
def test_every_verb_matches_the_dataset_path(tmp_path: Path, name: str) -> None:
    policy = tmp_path / "every-verb.policy"
    policy.write_text(EVERY_VERB)
    path = _file(name)
    header = pydicom.dcmread(path, stop_before_pixels=True)
    patient_id = str(header.get("PatientID", ""))
    context = EngineContext(
        plan=load_plan(str(policy), runnable=True),
        secret=ProjectSecret(bytes(range(32))),
        text_cleaner=clean_header_text,
        lookups={"ids": {patient_id.strip(): "SUBJECT-1"}},
        record_mappings=True,
    )
    assert differential(path, str(policy), context) == "same"
    missing = EngineContext(
        plan=context.plan, secret=context.secret, text_cleaner=clean_header_text, lookups={}
    )
    # Without the table, the file fails alike wherever the rule meets a Patient ID at all.
    result = differential(path, str(policy), missing)
    assert result == ("same error: LookupMissError" if "PatientID" in header else "same")


# ------------------------------------------------------------------------- slow


@pytest.mark.slow
@pytest.mark.parametrize("spec", POLICIES)
def test_every_bundled_file_matches_the_dataset_path(spec: str) -> None:
    results = {Path(path).name: differential(path, spec) for path in _bundled()}
    declined = {name for name, result in results.items() if result == "declined"}
    assert declined <= DECLINED
    assert sum(result.startswith("same") for result in results.values()) >= 80


@pytest.mark.slow
def test_the_benchmark_corpora_match_the_dataset_path(tmp_path: Path) -> None:
    mixed = write_benchmark_corpus(tmp_path / "mixed", 24)
    images = write_benchmark_corpus(
        tmp_path / "images", 4, templates=("CT_small.dcm", "MR_small.dcm"), matrix=512
    )
    for spec in (BASIC, HEADER_ONLY, f"{BASIC},annex-e/retain-uids"):
        for path in [*mixed, *images]:
            assert differential(str(path), spec) == "same", (spec, path.name)
