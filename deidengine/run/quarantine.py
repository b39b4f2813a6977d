"""Reading a run's quarantine back: which input each keyed reference stands for, and why.

A quarantined input is named everywhere by its keyed reference (:func:`input_reference`): the
audit, the summary and the quarantine's own file names carry no path, since paths often hold
names and record numbers. The operator who must fix the input still needs its path. So each
quarantine record also holds the input's absolute path *sealed*: encrypted with AES-256-GCM
under a key derived (HKDF-SHA256) from the project secret, the reference bound in as
associated data. Only the holder of the secret can open it, the record cannot be moved to
another reference unnoticed, and a record sealed under another secret stays closed. The nonce
is synthetic (an HMAC of the reference and path under a second derived key, as in SIV modes):
one nonce only ever seals one plaintext, and a re-run, or another executor, writes the same
record byte for byte, as it writes the same outputs.

:func:`list_quarantine` is what ``deid quarantine list QUARANTINE --secret-file S`` calls; it
prints paths (PHI, possibly) on request of the secret's holder only.

Choice of library: ``cryptography`` (already a dependency, for the honest broker's CMS
envelopes) provides HKDF and AES-GCM; nothing here is hand-made cryptography. It is imported
when a file is first quarantined, not when a run starts (start-up time is part of every run).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from deidengine.dicom.keys import ProjectSecret
from deidengine.errors import DeidError, EngineCode

__all__ = [
    "SEALED_FIELD",
    "QuarantineEntry",
    "QuarantineError",
    "list_quarantine",
    "open_input_path",
    "seal_input_path",
]

SEALED_FIELD: Final = "sealed_input_path"
"""The quarantine record's field holding the sealed input path (URL-safe base64)."""

_INFO: Final = b"deidengine quarantine input path v1"
_NONCE_BYTES: Final = 12


class QuarantineError(DeidError):
    """The quarantine cannot be listed (missing, not a directory); one line."""

    code = EngineCode.QUARANTINE_UNREADABLE


@functools.lru_cache(maxsize=8)
def _sealing_keys(secret_key: bytes) -> tuple[bytes, bytes]:
    """(the AES-256-GCM key, the nonce-derivation key), both derived from the secret."""
    from cryptography.hazmat.primitives.hashes import SHA256
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    keys = HKDF(algorithm=SHA256(), length=64, salt=None, info=_INFO).derive(secret_key)
    return keys[:32], keys[32:]


def seal_input_path(secret: ProjectSecret, reference: str, path: str | os.PathLike[str]) -> str:
    """The absolute ``path``, encrypted for the holder of ``secret``, bound to ``reference``."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key, nonce_key = _sealing_keys(secret.key)
    plain = os.fsencode(os.path.abspath(os.fspath(path)))
    bound = reference.encode("ascii")
    nonce = hmac.digest(nonce_key, bound + b"\0" + plain, "sha256")[:_NONCE_BYTES]
    sealed = AESGCM(key).encrypt(nonce, plain, bound)
    return base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def open_input_path(secret: ProjectSecret, reference: str, sealed: str) -> str | None:
    """The path :func:`seal_input_path` sealed, or ``None`` when ``secret`` is not the one it
    was sealed under, or the record was altered or moved to another reference."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        data = base64.urlsafe_b64decode(sealed.encode("ascii"))
        nonce, body = data[:_NONCE_BYTES], data[_NONCE_BYTES:]
        key, _ = _sealing_keys(secret.key)
        plain = AESGCM(key).decrypt(nonce, body, reference.encode("ascii"))
    except (InvalidTag, ValueError, binascii.Error, UnicodeEncodeError):
        return None
    return os.fsdecode(plain)


@dataclass(frozen=True)
class QuarantineEntry:
    """One quarantined input: its reference, why, and (for the secret's holder) its path."""

    reference: str
    reason: str
    detail: str
    input_path: str | None  # None: sealed under another secret, or by an older engine
    sealed: bool  # whether the record holds a sealed path at all
    copy: Path | None  # the quarantined copy of the input, when it was made

    @property
    def resolution(self) -> str:
        """The path, or why there is none."""
        if self.input_path is not None:
            return self.input_path
        if self.sealed:
            return "(sealed under another project secret)"
        return "(no sealed path: quarantined by an older engine)"

    def to_json(self) -> dict[str, object]:
        """An entry of ``deid quarantine list --format json`` (docs/schemas/quarantine-list)."""
        from deidengine.schemas.quarantine import QuarantineListEntry

        return QuarantineListEntry(
            input=self.reference,
            reason=self.reason,
            detail=self.detail,
            input_path=self.input_path,
            resolved=self.input_path is not None,
            copy=str(self.copy) if self.copy is not None else None,
        ).model_dump(mode="json", by_alias=True)


def _records(root: Path) -> Iterator[tuple[Path, dict[str, object]]]:
    for record in sorted(root.glob("*.json")):
        try:
            data = json.loads(record.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # not a record of ours (or half written): nothing to resolve
        if isinstance(data, dict) and isinstance(data.get("input"), str):
            yield record, data


def list_quarantine(root: Path, secret: ProjectSecret) -> list[QuarantineEntry]:
    """Every record in the quarantine directory ``root``, sorted by reference.

    Raises:
        QuarantineError: ``root`` does not exist or is not a directory.
    """
    if not root.is_dir():
        raise QuarantineError(f"the quarantine {root} does not exist or is not a directory")
    entries = []
    for record, data in _records(root):
        reference = str(data["input"])
        sealed = data.get(SEALED_FIELD)
        copy = record.with_suffix(".input")
        entries.append(
            QuarantineEntry(
                reference=reference,
                reason=str(data.get("reason", "")),
                detail=str(data.get("detail", "")),
                input_path=(
                    open_input_path(secret, reference, sealed) if isinstance(sealed, str) else None
                ),
                sealed=isinstance(sealed, str),
                copy=copy if copy.is_file() else None,
            )
        )
    return entries
