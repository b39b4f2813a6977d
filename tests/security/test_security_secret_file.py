"""Item 6 of #14: a secret file others can read is never used silently: a loud warning, and a
refusal under ``--strict``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from deidengine.cli import main
from deidengine.dicom.keys import InsecureSecretError, secret_file_exposure, write_secret
from deidengine.run.runner import RunRequest, SecretFileWarning, run_request
from tests.security.security_files import real_file, write


def _secret(tmp_path: Path, mode: int) -> Path:
    path = tmp_path / "project.secret"
    tmp_path.mkdir(parents=True, exist_ok=True)
    write_secret(path)
    path.chmod(mode)
    return path


def _request(tmp_path: Path, secret: Path, *, strict: bool = False) -> RunRequest:
    write(real_file(), tmp_path / "in" / "ct.dcm")
    return RunRequest(
        policy_spec="annex-e/basic",
        input=tmp_path / "in",
        output=tmp_path / "out",
        secret_file=secret,
        workers=1,
        strict=strict,
    )


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o666])
def test_a_secret_others_can_reach_is_exposed(tmp_path: Path, mode: int) -> None:
    exposure = secret_file_exposure(_secret(tmp_path, mode))
    assert exposure is not None and f"{mode:04o}" in exposure and "chmod 600" in exposure


def test_a_private_secret_is_not(tmp_path: Path) -> None:
    assert secret_file_exposure(_secret(tmp_path, 0o600)) is None
    assert secret_file_exposure(_secret(tmp_path / "ro", 0o400)) is None


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file away needs root")
def test_a_secret_owned_by_another_user_is_exposed(tmp_path: Path) -> None:
    path = _secret(tmp_path, 0o600)
    os.chown(path, 65534, 65534)
    exposure = secret_file_exposure(path)
    assert exposure is not None and "owned by another user" in exposure


def test_the_run_warns_and_goes_on(tmp_path: Path) -> None:
    warnings: list[str] = []
    summary = run_request(_request(tmp_path, _secret(tmp_path, 0o644)), warn=warnings.append)
    assert summary.written == 1
    assert len(warnings) == 1 and "0644" in warnings[0]
    with pytest.warns(SecretFileWarning):
        run_request(_request(tmp_path / "again", _secret(tmp_path / "again", 0o644)))


def test_strict_refuses_before_anything_is_written(tmp_path: Path) -> None:
    request = _request(tmp_path, _secret(tmp_path, 0o644), strict=True)
    with pytest.raises(InsecureSecretError, match="--strict"):
        run_request(request)
    assert not (tmp_path / "out").exists()
    assert run_request(_request(tmp_path, _secret(tmp_path / "ok", 0o600), strict=True)).written


def test_the_cli_warns_loudly_and_strict_exits_2(tmp_path: Path) -> None:
    secret = _secret(tmp_path, 0o644)
    write(real_file(), tmp_path / "in" / "ct.dcm")
    base = ["run", "--policy", "annex-e/basic", "--secret-file", str(secret), "--workers", "1"]
    warned = CliRunner().invoke(main, [*base, str(tmp_path / "in"), str(tmp_path / "out")])
    assert warned.exit_code == 0
    assert "WARNING" in warned.output and "0644" in warned.output
    refused = CliRunner().invoke(
        main, [*base, "--strict", str(tmp_path / "in"), str(tmp_path / "out2")]
    )
    assert refused.exit_code == 2 and "--strict" in refused.output
    assert not (tmp_path / "out2").exists()
