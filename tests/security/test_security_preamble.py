"""Item 2 of #14: the 128-byte preamble never carries input bytes; verify flags one that does."""

from __future__ import annotations

from pathlib import Path

from deidengine.run.outcome import Status
from deidengine.run.pipeline import FileProcessor, RunSettings
from deidengine.run.verify_tree import verify_tree
from deidengine.verify.conformance import FindingCode
from deidengine.verify.preamble import preamble_is_empty
from tests.security.security_files import real_file, write

SECRET = bytes.fromhex("b6" * 32)
#: What an application may put in the preamble (PS3.10 7.1): here a TIFF-like header and a name.
PREAMBLE = (b"II*\x00" + b"QUIRINUS^HELOISE MRN48213977").ljust(128, b"\x00")


def _with_preamble(path: Path) -> Path:
    dataset = real_file()
    dataset.preamble = PREAMBLE
    return write(dataset, path)


def test_the_output_preamble_is_zeroed(tmp_path: Path) -> None:
    source = _with_preamble(tmp_path / "in" / "ct.dcm")
    assert source.read_bytes()[:128] == PREAMBLE
    for policy in ("annex-e/basic", "annex-e/basic,annex-e/retain-uids", "hipaa-safe-harbor"):
        out = tmp_path / policy.replace("/", "_").replace(",", "+")
        outcome = FileProcessor(RunSettings(policy, SECRET, str(out), str(tmp_path / "q"))).process(
            str(source)
        )
        assert outcome.status is Status.WRITTEN, (policy, outcome)
        assert outcome.output is not None
        data = (out / outcome.output).read_bytes()
        assert data[:128] == b"\x00" * 128 and data[128:132] == b"DICM", policy


def test_verify_flags_a_preamble_that_holds_data(tmp_path: Path) -> None:
    out = tmp_path / "out"
    outcome = FileProcessor(
        RunSettings("annex-e/basic", SECRET, str(out), str(tmp_path / "q"))
    ).process(str(_with_preamble(tmp_path / "in" / "ct.dcm")))
    assert outcome.output is not None
    written = out / outcome.output
    clean = verify_tree("annex-e/basic", out, ocr=False, iod=False)
    assert FindingCode.PREAMBLE_NOT_EMPTY.value not in {f.code for f in clean.findings}
    data = bytearray(written.read_bytes())
    data[:128] = PREAMBLE
    written.write_bytes(bytes(data))
    assert not preamble_is_empty(written)
    report = verify_tree("annex-e/basic", out, ocr=False, iod=False)
    flagged = [f for f in report.findings if f.code == FindingCode.PREAMBLE_NOT_EMPTY.value]
    assert [(f.location, f.severity.value) for f in flagged] == [("preamble", "error")]
    assert report.exit_code == 1
    assert "QUIRINUS" not in str(report.to_json())
