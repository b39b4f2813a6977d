"""OCR text: a burned-in name that no header value states is identifying (free-text stage)."""

from __future__ import annotations

import pytest

from deidengine.dicom.identifiers import IdentifyingValues
from deidengine.pixels.match import is_identifying_text


@pytest.mark.parametrize("text", ["DR VANTERPOOL", "REF: HALVORSEN^BRYNJA", "Seen by Dr. Ottaway"])
def test_a_name_no_header_states_is_identifying(text: str) -> None:
    assert is_identifying_text(text, IdentifyingValues())


@pytest.mark.parametrize("text", ["CT HEAD WO CONTRAST", "AX T2 FLAIR", "L R"])
def test_clinical_overlay_text_is_not(text: str) -> None:
    assert not is_identifying_text(text, IdentifyingValues())
