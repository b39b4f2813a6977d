"""``deid run`` and ``deid keygen``: exit codes, and nothing touched on a configuration error."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydicom.data import get_testdata_file

from deidengine.cli import main


def _testdata(name: str) -> Path:
    found = get_testdata_file(name)
    assert isinstance(found, str)
    return Path(found)


def _secret_file(tmp_path: Path) -> Path:
    key = tmp_path / "project.key"
    result = CliRunner().invoke(main, ["keygen", "--out", str(key)])
    assert result.exit_code == 0, result.output
    return key


@pytest.fixture
def source(tmp_path: Path) -> Path:
    root = tmp_path / "in"
    root.mkdir()
    (root / "IM0001").write_bytes(b"not dicom")
    return root


def _snapshot(tmp_path: Path) -> list[Path]:
    return sorted(tmp_path.rglob("*"))


def test_keygen_mode_0600_and_never_overwrites(tmp_path: Path) -> None:
    key = _secret_file(tmp_path)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    text = key.read_text("ascii").strip()
    assert len(text) == 64 and bytes.fromhex(text)
    result = CliRunner().invoke(main, ["keygen", "--out", str(key)])
    assert result.exit_code == 2
    assert "already exists" in result.output
    assert key.read_text("ascii").strip() == text


def test_keygen_into_a_missing_directory(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["keygen", "--out", str(tmp_path / "no" / "key")])
    assert result.exit_code == 2 and "cannot write" in result.output


def test_missing_secret_exits_2_and_touches_nothing(source: Path, tmp_path: Path) -> None:
    before = _snapshot(tmp_path)
    result = CliRunner().invoke(
        main,
        ["run", "--policy", "annex-e/basic", str(source), str(tmp_path / "out")],
        env={"DEID_SECRET": None},
    )
    assert result.exit_code == 2
    assert "deid keygen --out FILE" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert _snapshot(tmp_path) == before


def test_bad_policy_exits_2_with_diagnostics(source: Path, tmp_path: Path) -> None:
    key = _secret_file(tmp_path)
    bad = tmp_path / "bad.policy"
    bad.write_text("policy bad\nuse annex-e/basic\nPatientNam -> Z\n", encoding="utf-8")
    before = _snapshot(tmp_path)
    for spec, expected in (
        (str(bad), "unknown keyword 'PatientNam'"),
        ("annex-e/retain-uids", "only option overlays"),
        ("no-such-policy", "unknown policy"),
    ):
        result = CliRunner().invoke(
            main,
            [
                "run",
                "--policy",
                spec,
                "--secret-file",
                str(key),
                str(source),
                str(tmp_path / "out"),
            ],
        )
        assert result.exit_code == 2, result.output
        assert "error[" in result.output and expected in result.output
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize(
    ("output", "quarantine", "expected"),
    [
        ("in/out", None, "inside the input"),
        ("in", None, "is the input"),
        ("out", "out/q", "overlaps the output"),
    ],
)
def test_layout_refusals_exit_2(
    source: Path, tmp_path: Path, output: str, quarantine: str | None, expected: str
) -> None:
    key = _secret_file(tmp_path)
    before = _snapshot(tmp_path)
    arguments = ["run", "--policy", "annex-e/basic", "--secret-file", str(key)]
    if quarantine is not None:
        arguments += ["--quarantine", str(tmp_path / quarantine)]
    result = CliRunner().invoke(main, [*arguments, str(source), str(tmp_path / output)])
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert _snapshot(tmp_path) == before


def test_missing_input_and_bad_lookup_exit_2(tmp_path: Path) -> None:
    key = _secret_file(tmp_path)
    base = ["run", "--policy", "annex-e/basic", "--secret-file", str(key)]
    result = CliRunner().invoke(main, [*base, str(tmp_path / "nope"), str(tmp_path / "out")])
    assert result.exit_code == 2 and "does not exist" in result.output
    (tmp_path / "in").mkdir()
    result = CliRunner().invoke(
        main, [*base, "--lookup", "ids", str(tmp_path / "in"), str(tmp_path / "out")]
    )
    assert result.exit_code == 2 and "NAME=CSV" in result.output
    result = CliRunner().invoke(
        main,
        [
            *base,
            "--lookup",
            f"ids={tmp_path}/none.csv",
            str(tmp_path / "in"),
            str(tmp_path / "out"),
        ],
    )
    assert result.exit_code == 2 and "does not exist" in result.output
    assert not (tmp_path / "out").exists()


def test_secret_from_the_environment(source: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["run", "--policy", "annex-e/basic", "--workers", "1", str(source), str(tmp_path / "out")],
        env={"DEID_SECRET": "ab" * 32},
    )
    assert result.exit_code == 1, result.output  # the one input is not DICOM: quarantined
    assert "not-dicom" in result.output
    assert not (tmp_path / "out" / "IM0001").exists()


def test_end_to_end_written_then_already_done(tmp_path: Path) -> None:
    source = tmp_path / "in" / "Smith^John"
    source.mkdir(parents=True)
    shutil.copy(_testdata("CT_small.dcm"), source / "Smith^John 1.dcm")
    key = _secret_file(tmp_path)
    out = tmp_path / "out"
    arguments = ["run", "--policy", "annex-e/basic", "--secret-file", str(key), "--workers", "1"]
    arguments += ["--mappings", str(tmp_path / "maps")]
    first = CliRunner().invoke(main, [*arguments, str(tmp_path / "in"), str(out)])
    assert first.exit_code == 0, first.output
    assert "Smith" not in first.output
    (written,) = out.rglob("*.dcm")
    assert written.name.startswith("2.25.")
    second = CliRunner().invoke(main, [*arguments, str(tmp_path / "in"), str(out)])
    assert second.exit_code == 0, second.output
    assert "already-done" in second.output
    audits = sorted((tmp_path / "out.audit").glob("*.jsonl"))
    assert len(audits) == 2  # one per run, none overwritten
    for audit in audits:
        text = audit.read_text("utf-8")
        assert "Smith" not in text and str(tmp_path) not in text
        assert json.loads(text.splitlines()[-1])["exit_code"] == 0
    uids = (tmp_path / "maps" / "uids.csv").read_text("utf-8").splitlines()
    assert len(uids) > 1  # the first run's mappings survive the resumed run


@pytest.mark.slow
def test_end_to_end_with_a_process_pool(tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.mkdir()
    shutil.copy(_testdata("CT_small.dcm"), source / "a")
    (source / "b.txt").write_text("hello")
    key = _secret_file(tmp_path)
    result = CliRunner().invoke(
        main,
        [
            "run",
            "--policy",
            "annex-e/basic",
            "--secret-file",
            str(key),
            "--workers",
            "2",
            str(source),
            str(tmp_path / "out"),
        ],
    )
    assert result.exit_code == 1, result.output
    assert "written" in result.output and "not-dicom" in result.output
    assert len(list((tmp_path / "out").rglob("*.dcm"))) == 1
    assert len(list((tmp_path / "out.quarantine").glob("*.input"))) == 1


def test_run_encrypt_to_envelopes_originals_for_the_broker(tmp_path: Path) -> None:
    import pydicom

    from deidengine.provenance import reidentify
    from tests.phi_corpus import JANE, write_corpus
    from tests.provenance.recipients import make_recipient

    corpus = write_corpus(tmp_path / "in")
    broker = make_recipient("broker")
    certificate = tmp_path / "broker.pem"
    certificate.write_bytes(broker.cert_pem)
    secret = tmp_path / "secret"
    secret.write_text("ab" * 32, encoding="utf-8")
    result = CliRunner().invoke(
        main,
        [
            "run",
            "--policy",
            "annex-e/basic",
            "--workers",
            "1",
            "--secret-file",
            str(secret),
            "--encrypt-to",
            str(certificate),
            str(tmp_path / "in"),
            str(tmp_path / "out"),
        ],
    )
    assert result.exit_code == 0, result.output
    outputs = sorted((tmp_path / "out").rglob("*.dcm"))
    assert len(outputs) == len(corpus)
    names = set()
    for path in outputs:
        assert JANE.family.encode() not in path.read_bytes()
        names.add(
            str(reidentify(pydicom.dcmread(path), broker.key_pem, broker.cert_pem).PatientName)
        )
    assert JANE.name in names


_PROBE = """
import runpy, sys
report, sys.argv = sys.argv[1], ["deid", *sys.argv[2:]]
try:
    runpy.run_module("deidengine.cli", run_name="__main__")
except SystemExit as done:
    code = done.code
with open(report, "w") as handle:
    handle.write(f"{code}\\n" + "\\n".join(sorted({name.split('.')[0] for name in sys.modules})))
"""


def test_a_run_off_a_terminal_loads_no_parser_rich_or_pixel_stack(tmp_path: Path) -> None:
    """The CLI is a thin layer: with the plan cached and no terminal to draw on, ``deid run``
    imports neither lark nor rich, nor the optional Dask and OCR stacks, nor cryptography."""
    source = tmp_path / "in"
    source.mkdir()
    shutil.copy(_testdata("CT_small.dcm"), source / "a")
    key = _secret_file(tmp_path)
    environment = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        "DEID_CACHE_DIR": str(tmp_path / "cache"),
    }
    loaded: list[set[str]] = []
    for workers in ("1", "2"):
        report = tmp_path / f"modules-{workers}.txt"
        out = tmp_path / f"out{workers}"
        command = [sys.executable, "-c", _PROBE, str(report), "run", "--policy", "annex-e/basic"]
        command += ["--secret-file", str(key), "--workers", workers, str(source), str(out)]
        subprocess.run(command, env=environment, check=True, capture_output=True)
        code, *modules = report.read_text().splitlines()
        assert code == "0"
        loaded.append(set(modules))
    assert "lark" in loaded[0]  # the first run compiled the policy
    assert "pydicom" in loaded[1] and "lark" not in loaded[1]  # the second found it cached
    for modules in loaded:
        unwanted = {"rich", "dask", "distributed", "cv2", "onnxruntime", "rapidocr"}
        assert not modules & (unwanted | {"cryptography"})  # no --encrypt-to: no CMS
