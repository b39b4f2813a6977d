"""The end-of-run summary: a rich table on a terminal, the same rows as plain text elsewhere."""

from __future__ import annotations

import io
from pathlib import Path
from types import MappingProxyType

from deidengine.run.audit import new_run_id
from deidengine.run.outcome import REASON_TEXT, Reason
from deidengine.run.report import print_summary
from deidengine.run.runner import RunSummary


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _summary() -> RunSummary:
    return RunSummary(
        run_id="20250101T120000.000Z-abcdef",
        total=7,
        written=4,
        quarantined_by_reason=MappingProxyType({"not-dicom": 2}),
        skipped_by_reason=MappingProxyType({"already-done": 1}),
        audit_path=Path("/data/out.audit/run.jsonl"),
    )


def test_plain_text_off_a_terminal() -> None:
    stream = io.StringIO()
    print_summary(_summary(), stream)
    assert stream.getvalue().splitlines() == [
        "deid run 20250101T120000.000Z-abcdef",
        "status       reason        files  meaning",
        "written                        4",
        f"quarantined  not-dicom         2  {REASON_TEXT[Reason.NOT_DICOM]}",
        f"skipped      already-done      1  {REASON_TEXT[Reason.ALREADY_DONE]}",
        "total                          7",
        "audit: /data/out.audit/run.jsonl",
    ]


def test_a_table_on_a_terminal() -> None:
    stream = _Terminal()
    print_summary(_summary(), stream)
    text = stream.getvalue()
    assert "┏━" in text and "status" in text and "not-dicom" in text and "audit:" in text


def test_run_ids_sort_by_start_time_within_a_second() -> None:
    from datetime import UTC, datetime

    first = new_run_id(datetime(2025, 1, 1, 12, 0, 0, 5_000, tzinfo=UTC))
    second = new_run_id(datetime(2025, 1, 1, 12, 0, 0, 900_000, tzinfo=UTC))
    assert first.startswith("20250101T120000.005Z-") and first < second
