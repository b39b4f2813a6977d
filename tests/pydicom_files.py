"""pydicom's bundled test files, listed from its own package folder.

``pydicom.data.get_testdata_files(pattern)`` also tries to download the files pydicom keeps
online; without a network it retries with pauses, for minutes where ``requests`` is absent.
The tests use what the installed package holds.
"""

from __future__ import annotations

from pathlib import Path

import pydicom.data

DATA = Path(pydicom.data.__file__).resolve().parent


def bundled_test_files(pattern: str = "*") -> list[str]:
    """The files of ``pydicom/data/test_files`` matching ``pattern``, sorted."""
    return sorted(str(path) for path in (DATA / "test_files").glob(pattern) if path.is_file())


def bundled_charset_files(pattern: str = "*.dcm") -> list[str]:
    """The files of ``pydicom/data/charset_files`` matching ``pattern``, sorted."""
    return sorted(str(path) for path in (DATA / "charset_files").glob(pattern) if path.is_file())
