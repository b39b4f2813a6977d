"""The core's exceptions: one root, one stable code per cause.

Every way a file's bytes can fail to be a readable DICOM stream ends in exactly one
:class:`CoreError` subclass carrying a :class:`Code`. Callers (the engine's quarantine, the
verifier) key on ``error.code``, never on message text, so messages may improve without breaking
them. The message names the cause and the byte offset, never a value from the file: an error can
reach a log, and a value could be an identifier.
"""

from __future__ import annotations

import enum

from deidengine.errors import DeidError

__all__ = [
    "Code",
    "CoreError",
    "EncodingError",
    "ReadError",
    "TooLargeError",
    "TruncatedError",
]


class Code(enum.Enum):
    """Stable codes; the value is what reports and audits carry."""

    TRUNCATED = "truncated"
    INVALID_LENGTH = "invalid-length"
    INVALID_VR = "invalid-vr"
    UNDEFINED_LENGTH_WITHOUT_DELIMITER = "undefined-length-without-delimiter"
    UNEXPECTED_DELIMITER = "unexpected-delimiter"
    INVALID_ITEM = "invalid-item"
    UNKNOWN_TRANSFER_SYNTAX = "unknown-transfer-syntax"
    TRANSFER_SYNTAX_MISMATCH = "transfer-syntax-mismatch"
    INFLATE_FAILED = "inflate-failed"
    TOO_LARGE = "too-large"
    TOO_DEEP = "too-deep"
    EMPTY = "empty"
    UNENCODABLE = "unencodable"


class CoreError(DeidError):
    """The root of every error the core raises; ``code`` says which cause (set per error)."""

    code: Code

    def __init__(
        self,
        code: Code,
        message: str,
        offset: int | None = None,
        *,
        end: int | None = None,
        bound: int | None = None,
    ) -> None:
        self.code = code
        #: Where the offending header starts (for a deflated file: in the inflated stream).
        self.offset = offset
        #: For a length error: where the length field says the value or item ends, and where
        #: its container (item, sequence, stream) ends. Tests check these against the bytes.
        self.end = end
        self.bound = bound
        where = f" at byte {offset}" if offset is not None else ""
        super().__init__(f"[{code.value}] {message}{where}")


class ReadError(CoreError):
    """The bytes are not a DICOM stream the reader can lay out as an element table."""


class TruncatedError(ReadError):
    """The stream ends inside an element header, a value, or a sequence."""

    def __init__(
        self,
        message: str,
        offset: int | None = None,
        *,
        end: int | None = None,
        bound: int | None = None,
    ) -> None:
        super().__init__(Code.TRUNCATED, message, offset, end=end, bound=bound)


class TooLargeError(ReadError):
    """Inflating the stream (or nesting it) would exceed the caller's limit."""

    def __init__(self, message: str, offset: int | None = None) -> None:
        super().__init__(Code.TOO_LARGE, message, offset)


class EncodingError(CoreError):
    """An element table cannot be written back as DICOM bytes."""

    def __init__(self, message: str) -> None:
        super().__init__(Code.UNENCODABLE, message)
