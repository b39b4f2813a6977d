"""Identifier shapes: IDs found, measurements and sequence names kept."""

from __future__ import annotations

import pytest

from deidengine.text.shapes import identifier_spans


def found(text: str) -> list[str]:
    return [text[start:end] for start, end in identifier_spans(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("MR KNEE (order ORD-7731042)", ["ORD-7731042"]),
        ("ACC A9981234 ref X7Y9Z2", ["A9981234", "X7Y9Z2"]),
        ("requisition 88123", ["88123"]),
        ("seen 2087 times", ["2087"]),
        ("case no. 512", ["512"]),
    ],
)
def test_identifiers_are_found(text: str, expected: list[str]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "5 MM 120 KVP T2 3D C1-C2 T1W DWI L4-L5 L5-S1",
        "AX T2 FLAIR 512x512 b1000 ep2d_diff_3scan_trace_p2",
        "t2_tse_tra_p2_320 SE3 IM24 1.5T 250mAs 2.5mg 1000 MG",
        "Series 2 of 4 at 12:30:45, pitch 0.984375, 2nd view",
        "JPEG 2000 irreversible (lossy) 2097:1, 12-lead ECG, 3-vessel disease",
    ],
)
def test_clinical_shapes_are_kept(text: str) -> None:
    assert found(text) == []
