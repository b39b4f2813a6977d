"""The end-of-run summary the operator reads: counts by status and reason, never a file name."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from deidengine.run.outcome import REASON_TEXT, Reason
from deidengine.run.runner import RunSummary

__all__ = ["render_summary"]


def _meaning(reason: str) -> str:
    try:
        return REASON_TEXT[Reason(reason)]
    except ValueError:
        return ""


def render_summary(summary: RunSummary, console: Console) -> None:
    """Print a table of written / quarantined by reason / skipped by reason, then the audit path.

    Without a terminal (``console.is_terminal`` false) rich prints the same table as plain text.
    """
    if summary.total == 0 and not summary.unlisted_directories:
        console.print("no input files were found")
    table = Table(title=f"deid run {summary.run_id}", title_justify="left")
    table.add_column("status")
    table.add_column("reason")
    table.add_column("files", justify="right")
    table.add_column("meaning")
    table.add_row("written", "", str(summary.written), "")
    for reason, count in summary.quarantined_by_reason.items():
        table.add_row("quarantined", reason, str(count), _meaning(reason), style="red")
    for reason, count in summary.skipped_by_reason.items():
        table.add_row("skipped", reason, str(count), _meaning(reason))
    if summary.unlisted_directories:
        table.add_row(
            "unlisted",
            "directory",
            str(summary.unlisted_directories),
            "directories that could not be listed; their files were not processed",
            style="red",
        )
    table.add_row("total", "", str(summary.total), "", style="bold")
    console.print(table)
    console.print(f"audit: {summary.audit_path}")
    if summary.mappings is not None:
        console.print(
            f"mappings: {summary.mappings.uids} ({summary.mappings.uid_rows} rows), "
            f"{summary.mappings.patient_ids} ({summary.mappings.patient_id_rows} rows)"
        )
