"""Item 3 of #14: a public element the data dictionary does not define is removed by default.

Nothing says what an invented or long-retired public tag holds; here it holds a next of kin's
name and telephone, which are not the patient's own values, so no leak scan would catch them.
A rule naming the tag keeps it; the engine and the verifier decide alike; ``policy explain``
says what happens.
"""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from click.testing import CliRunner
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from deidengine.cli import main
from deidengine.policy import load_plan
from deidengine.policy.explain import unselected_treatment
from deidengine.run.outcome import Status
from deidengine.run.pipeline import FileProcessor, RunSettings
from deidengine.standard.dictionary import attribute_info, is_unknown_public
from deidengine.verify.conformance import FindingCode, check_conformance
from tests.security.security_files import real_file, write

SECRET = bytes.fromhex("e9" * 32)
KIN = "ZEBEDEE^BARTHOLOMEW"
KIN_PHONE = "555-0199-7731"
#: Public (even group) tags PS3.6 does not define.
UNKNOWN = (0x00101234, 0x0020ABCD, 0x0008A000)


def _with_unknown_elements(path: Path) -> Path:
    dataset = real_file()
    dataset.add_new(UNKNOWN[0], "PN", KIN)
    dataset.add_new(UNKNOWN[1], "LO", f"next of kin {KIN_PHONE}")
    item = Dataset()
    item.add_new(UNKNOWN[2], "SH", KIN_PHONE)
    item.CodeValue = "121"  # a known element beside it stays
    dataset.add_new(0x00081032, "SQ", Sequence([item]))  # Procedure Code Sequence
    return write(dataset, path)


def test_the_tags_are_public_and_unknown() -> None:
    for tag in UNKNOWN:
        assert attribute_info(tag) is None and is_unknown_public(tag)


@pytest.mark.parametrize(
    ("tag", "unknown"),
    [
        (0x00100000, False),  # a group length: its own handling
        (0x00021234, False),  # File Meta Information: rebuilt, never carried over
        (0x00091234, False),  # private: the private rules decide
        (0x00000900, False),  # a command element the dictionary knows (Status)
        (0x60023000, False),  # a repeating group the dictionary knows (Overlay Data)
        (0x50000005, False),  # a retired repeating group it still knows (curves)
        (0x00100010, False),
        (0x00001234, True),  # an invented command element
        (0x7FE01234, True),
    ],
)
def test_what_counts_as_unknown(tag: int, unknown: bool) -> None:
    assert is_unknown_public(tag) is unknown


@pytest.mark.parametrize("policy", ["annex-e/basic", "hipaa-safe-harbor"])
def test_unknown_public_elements_are_removed(tmp_path: Path, policy: str) -> None:
    source = _with_unknown_elements(tmp_path / "in" / "ct.dcm")
    out = tmp_path / "out"
    outcome = FileProcessor(RunSettings(policy, SECRET, str(out), str(tmp_path / "q"))).process(
        str(source)
    )
    assert outcome.status is Status.WRITTEN, outcome
    assert outcome.output is not None
    data = (out / outcome.output).read_bytes()
    assert KIN.encode() not in data and KIN_PHONE.encode() not in data
    written = pydicom.dcmread(out / outcome.output)
    assert UNKNOWN[0] not in written and UNKNOWN[1] not in written
    assert all(UNKNOWN[2] not in item for item in written.get("ProcedureCodeSequence", []))


def test_a_rule_naming_the_tag_keeps_it(tmp_path: Path) -> None:
    policy = tmp_path / "keep-kin.policy"
    policy.write_text(
        'policy keep-kin "keeps one element the dictionary does not know"\n'
        "use annex-e/basic\n"
        "(0010,1234) -> keep\n"
    )
    source = _with_unknown_elements(tmp_path / "in" / "ct.dcm")
    out = tmp_path / "out"
    outcome = FileProcessor(
        RunSettings(str(policy), SECRET, str(out), str(tmp_path / "q"))
    ).process(str(source))
    assert outcome.status is Status.WRITTEN and outcome.output is not None
    written = pydicom.dcmread(out / outcome.output)
    assert str(written[UNKNOWN[0]].value) == KIN and UNKNOWN[1] not in written


def test_the_verifier_agrees_with_the_engine(tmp_path: Path) -> None:
    """The verifier holds an output with the elements to the same default: V101 each."""
    plan = load_plan("annex-e/basic")
    original = pydicom.dcmread(_with_unknown_elements(tmp_path / "ct.dcm"))
    findings = check_conformance(original, plan)
    removed = {
        f.location
        for f in findings
        if f.code == FindingCode.SHOULD_BE_REMOVED.value and "data dictionary" in f.message
    }
    assert removed == {"(0010,1234)", "(0020,ABCD)", "(0008,1032)[0].(0008,A000)"}
    out = tmp_path / "out"
    outcome = FileProcessor(
        RunSettings("annex-e/basic", SECRET, str(out), str(tmp_path / "q"))
    ).process(str(tmp_path / "ct.dcm"))
    assert outcome.output is not None
    assert check_conformance(pydicom.dcmread(out / outcome.output), plan) == ()


def test_policy_explain_says_so() -> None:
    assert "removed by default" in unselected_treatment("(0010,1234)")
    assert unselected_treatment("(0010,0010)") == "it is kept unchanged"
    result = CliRunner().invoke(main, ["policy", "explain", "annex-e/basic", "--tag", "00101234"])
    assert "not in the data dictionary, so it is removed by default" in result.output
    listing = CliRunner().invoke(main, ["policy", "explain", "annex-e/basic"])
    assert "public elements the data dictionary does not define, which are removed" in (
        listing.output
    )
