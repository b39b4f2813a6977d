"""Shared fixtures for the value-level DICOM tests."""

from __future__ import annotations

import pytest

from deidengine.dicom.keys import ProjectSecret


@pytest.fixture
def secret() -> ProjectSecret:
    return ProjectSecret(bytes(range(32)))


@pytest.fixture
def other_secret() -> ProjectSecret:
    return ProjectSecret(bytes(range(1, 33)))
