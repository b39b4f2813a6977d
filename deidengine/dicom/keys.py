"""The project secret and the keyed functions derived from it.

One secret per project drives every keyed replacement (UIDs, pseudonyms, date offsets, hashes,
log references). Keeping the secret is what makes a re-run, or a later batch of the same
project, produce the same replacements; losing it breaks longitudinal linkage, and leaking it
lets anyone holding an original value confirm its replacement. So the secret never appears in
a repr, an exception message or a log line.

Secret text format: hexadecimal, at least 32 hex digits (16 bytes of entropy); ``deid keygen``
writes 64 (32 bytes). Hex only, so a value can never be read two ways.
"""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from deidengine.errors import DeidError, EngineCode

__all__ = [
    "MINIMUM_SECRET_BYTES",
    "SECRET_ENVIRONMENT_VARIABLE",
    "InsecureSecretError",
    "InvalidSecretError",
    "MissingSecretError",
    "ProjectSecret",
    "SecretError",
    "generate_secret",
    "keyed_digest",
    "keyed_reference",
    "load_secret",
    "secret_file_exposure",
    "write_secret",
]

SECRET_ENVIRONMENT_VARIABLE: Final = "DEID_SECRET"
MINIMUM_SECRET_BYTES: Final = 16
GENERATED_SECRET_BYTES: Final = 32
REFERENCE_LENGTH: Final = 12

_HOW_TO_MAKE_ONE: Final = (
    "create one with `deid keygen --out FILE`, then pass `--secret-file FILE` "
    f"or set {SECRET_ENVIRONMENT_VARIABLE} to the file's contents"
)


class SecretError(DeidError):
    """The project secret cannot be used. Messages never contain secret material."""

    code = EngineCode.UNUSABLE_SECRET


class MissingSecretError(SecretError):
    """No project secret was given."""

    code = EngineCode.MISSING_SECRET


class InvalidSecretError(SecretError):
    """The project secret is malformed or too short."""

    code = EngineCode.INVALID_SECRET


class InsecureSecretError(SecretError):
    """The secret file can be read or changed by others, and the run is strict."""

    code = EngineCode.INSECURE_SECRET


@dataclass(frozen=True, repr=False)
class ProjectSecret:
    """The project's HMAC key. Its repr and str never show the key."""

    key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.key) < MINIMUM_SECRET_BYTES:
            raise InvalidSecretError(
                f"the project secret must hold at least {MINIMUM_SECRET_BYTES} bytes "
                f"({2 * MINIMUM_SECRET_BYTES} hex digits); {_HOW_TO_MAKE_ONE}"
            )

    def __repr__(self) -> str:
        return "ProjectSecret(<redacted>)"

    __str__ = __repr__


def generate_secret() -> str:
    """Return a new random secret as hex text (32 bytes, 64 digits)."""
    return secrets.token_hex(GENERATED_SECRET_BYTES)


def write_secret(path: str | os.PathLike[str]) -> None:
    """Write a new secret to ``path`` with mode 0600; never overwrite an existing file.

    Raises:
        FileExistsError: ``path`` exists; an existing secret is never replaced because every
            earlier output of the project depends on it.
    """
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        # O_CREAT's mode is filtered by the umask; set it explicitly so it is exactly 0600.
        os.fchmod(descriptor, 0o600)
        os.write(descriptor, (generate_secret() + "\n").encode("ascii"))
    finally:
        os.close(descriptor)


def _parse_secret(text: str, origin: str) -> ProjectSecret:
    digits = text.strip()
    if not digits:
        raise MissingSecretError(f"the project secret from {origin} is empty; {_HOW_TO_MAKE_ONE}")
    try:
        key = bytes.fromhex(digits)
    except ValueError:
        raise InvalidSecretError(
            f"the project secret from {origin} is not hexadecimal text; {_HOW_TO_MAKE_ONE}"
        ) from None
    if len(key) < MINIMUM_SECRET_BYTES:
        raise InvalidSecretError(
            f"the project secret from {origin} is too short: at least "
            f"{2 * MINIMUM_SECRET_BYTES} hex digits are required; {_HOW_TO_MAKE_ONE}"
        )
    return ProjectSecret(key)


def load_secret(
    path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] = os.environ
) -> ProjectSecret:
    """Load the project secret from ``path``, else from the ``DEID_SECRET`` variable.

    Raises:
        MissingSecretError: neither source gives a secret (or the file does not exist).
        InvalidSecretError: the text is not hex or holds fewer than 16 bytes.
    """
    if path is not None:
        try:
            text = Path(path).read_text(encoding="ascii")
        except FileNotFoundError:
            raise MissingSecretError(
                f"the secret file {path} does not exist; {_HOW_TO_MAKE_ONE}"
            ) from None
        except UnicodeDecodeError:
            raise InvalidSecretError(
                f"the secret file {path} is not hexadecimal text; {_HOW_TO_MAKE_ONE}"
            ) from None
        return _parse_secret(text, f"file {path}")
    variable = environ.get(SECRET_ENVIRONMENT_VARIABLE)
    if variable is None:
        raise MissingSecretError(f"no project secret was given; {_HOW_TO_MAKE_ONE}")
    return _parse_secret(variable, SECRET_ENVIRONMENT_VARIABLE)


def keyed_digest(secret: ProjectSecret, domain: str, value: str | bytes) -> bytes:
    """HMAC-SHA256 of ``value`` under the project secret, separated by ``domain``.

    The message is ``domain``, a NUL, then the value (UTF-8 for text). A domain may not contain
    NUL, so the split is unambiguous and digests of different domains ("uid", "pseudonym",
    "date-offset", "hash", "reference", ...) are independent: knowing a pseudonym reveals
    nothing about the same value's hash.
    """
    if not domain or "\x00" in domain:
        raise ValueError("a keyed digest domain must be non-empty text without NUL")
    message = value.encode("utf-8") if isinstance(value, str) else value
    # hmac.digest is the one-shot form (OpenSSL's, without an HMAC object per call).
    return hmac.digest(secret.key, domain.encode("utf-8") + b"\x00" + message, "sha256")


def keyed_reference(secret: ProjectSecret, value: str | bytes) -> str:
    """A 12-hex-digit keyed reference to ``value``, safe to put in logs and error messages.

    Only someone holding the secret and a candidate value can tell what it refers to, which is
    what lets an operator correlate log lines with a source file without the log holding PHI.
    """
    return keyed_digest(secret, "reference", value).hex()[:REFERENCE_LENGTH]


def secret_file_exposure(path: str | os.PathLike[str]) -> str | None:
    """Why the secret file at ``path`` is exposed, or None when only its owner (this user) can
    read and change it.

    Anyone who can read the secret can confirm a guessed identity against its pseudonym, UID
    or date shift (they are all keyed by it), and anyone who can change it breaks linkage with
    every earlier batch. So a file readable or writable by group or others (0644 is the usual
    umask's result), or owned by another user, is reported.
    """
    try:
        status = os.stat(path)
    except OSError:
        return None  # load_secret reports a missing or unreadable file
    problems = []
    if status.st_mode & 0o077:
        problems.append(f"has mode {status.st_mode & 0o777:04o} (group or others have access)")
    if hasattr(os, "geteuid") and status.st_uid != os.geteuid():
        problems.append(f"is owned by another user (uid {status.st_uid})")
    if not problems:
        return None
    return (
        f"the secret file {path} {' and '.join(problems)}; anyone who can read it can "
        f"re-identify outputs by confirming guesses, so make it yours alone: chmod 600 {path}"
    )
