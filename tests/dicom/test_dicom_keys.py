"""The project secret and keyed functions."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from deidengine.dicom.keys import (
    InvalidSecretError,
    MissingSecretError,
    ProjectSecret,
    generate_secret,
    keyed_digest,
    keyed_reference,
    load_secret,
    write_secret,
)


def test_generated_secret_is_64_hex_digits_and_fresh() -> None:
    first, second = generate_secret(), generate_secret()
    assert len(first) == 64
    assert bytes.fromhex(first)
    assert first != second


def test_repr_and_str_never_show_the_key() -> None:
    secret = ProjectSecret(b"\xab" * 32)
    assert repr(secret) == "ProjectSecret(<redacted>)"
    assert str(secret) == "ProjectSecret(<redacted>)"
    assert "ab" not in repr(secret).lower().replace("redacted", "")


def test_short_key_is_rejected() -> None:
    with pytest.raises(InvalidSecretError):
        ProjectSecret(b"\x00" * 15)


def test_write_secret_mode_0600_and_loads(tmp_path: Path) -> None:
    path = tmp_path / "project.key"
    write_secret(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    secret = load_secret(path, environ={})
    assert secret.key == bytes.fromhex(path.read_text().strip())


def test_write_secret_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "project.key"
    path.write_text("keep me")
    with pytest.raises(FileExistsError):
        write_secret(path)
    assert path.read_text() == "keep me"


def test_load_from_environment() -> None:
    text = "00112233445566778899aabbccddeeff"
    assert load_secret(environ={"DEID_SECRET": text}).key == bytes.fromhex(text)


def test_file_wins_over_environment(tmp_path: Path) -> None:
    path = tmp_path / "project.key"
    path.write_text("ff" * 32 + "\n")
    assert load_secret(path, environ={"DEID_SECRET": "00" * 32}).key == b"\xff" * 32


def test_missing_secret_tells_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(MissingSecretError) as missing:
        load_secret(environ={})
    message = str(missing.value)
    assert "deid keygen --out FILE" in message
    assert "--secret-file FILE" in message
    assert "DEID_SECRET" in message
    with pytest.raises(MissingSecretError):
        load_secret(tmp_path / "absent.key", environ={})


@pytest.mark.parametrize("text", ["00" * 15, "0" * 31, "not hex at all, not at all!!", "abc"])
def test_invalid_secret_is_rejected_without_echoing_it(text: str) -> None:
    with pytest.raises(InvalidSecretError) as invalid:
        load_secret(environ={"DEID_SECRET": text})
    assert text not in str(invalid.value)


def test_keyed_digest_separates_domains(secret: ProjectSecret) -> None:
    digests = {
        keyed_digest(secret, domain, "12345")
        for domain in ("uid", "pseudonym", "date-offset", "hash", "reference")
    }
    assert len(digests) == 5
    assert all(len(digest) == 32 for digest in digests)


def test_keyed_digest_is_deterministic_and_keyed(
    secret: ProjectSecret, other_secret: ProjectSecret
) -> None:
    assert keyed_digest(secret, "uid", "1.2.3") == keyed_digest(secret, "uid", b"1.2.3")
    assert keyed_digest(secret, "uid", "1.2.3") != keyed_digest(other_secret, "uid", "1.2.3")


def test_domain_and_value_cannot_be_shifted_into_each_other(secret: ProjectSecret) -> None:
    with pytest.raises(ValueError):
        keyed_digest(secret, "uid\x00x", "y")
    assert keyed_digest(secret, "ab", "c") != keyed_digest(secret, "a", "bc")


def test_keyed_reference_is_12_hex_digits(secret: ProjectSecret) -> None:
    reference = keyed_reference(secret, "DOE^JANE")
    assert len(reference) == 12
    assert int(reference, 16) >= 0
    assert reference == keyed_reference(secret, "DOE^JANE")
    assert reference != keyed_reference(secret, "DOE^JOHN")
