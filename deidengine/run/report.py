"""The end-of-run summary the operator reads: counts by status and reason, never a file name.

On a terminal it is a rich table; anywhere else (a log, a pipe, a CI job) the same rows as
aligned plain text, written without importing rich, which would cost a run more start-up time
than a small batch takes to process.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

from deidengine.run.outcome import REASON_TEXT, Reason
from deidengine.run.runner import RunSummary

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["print_summary", "render_summary", "summary_rows"]

_COLUMNS = ("status", "reason", "files", "meaning")


def _meaning(reason: str) -> str:
    try:
        return REASON_TEXT[Reason(reason)]
    except ValueError:
        return ""


def summary_rows(summary: RunSummary) -> list[tuple[str, str, str, str]]:
    """The table's rows: written, quarantined by reason, skipped by reason, unlisted, total."""
    rows = [("written", "", str(summary.written), "")]
    for reason, count in summary.quarantined_by_reason.items():
        rows.append(("quarantined", reason, str(count), _meaning(reason)))
    for reason, count in summary.skipped_by_reason.items():
        rows.append(("skipped", reason, str(count), _meaning(reason)))
    if summary.unlisted_directories:
        rows.append(
            (
                "unlisted",
                "directory",
                str(summary.unlisted_directories),
                "directories that could not be listed; their files were not processed",
            )
        )
    rows.append(("total", "", str(summary.total), ""))
    return rows


def _trailer(summary: RunSummary) -> list[str]:
    lines = [f"audit: {summary.audit_path}"]
    if summary.quarantined and summary.quarantine_path is not None:
        # Where the failed inputs are (copies holding PHI, 0600 in a 0700 folder).
        lines.append(f"quarantine: {summary.quarantine_path} (holds PHI; mode 0700)")
    if summary.mappings is not None:
        lines.append(
            f"mappings: {summary.mappings.uids} ({summary.mappings.uid_rows} rows), "
            f"{summary.mappings.patient_ids} ({summary.mappings.patient_id_rows} rows)"
        )
    return lines


def render_summary(summary: RunSummary, console: Console) -> None:
    """Print a rich table of written / quarantined by reason / skipped by reason, then the audit
    path (and the mapping files)."""
    from rich.table import Table

    if summary.total == 0 and not summary.unlisted_directories:
        console.print("no input files were found")
    table = Table(title=f"deid run {summary.run_id}", title_justify="left")
    for column in _COLUMNS:
        table.add_column(column, justify="right" if column == "files" else "left")
    for row in summary_rows(summary):
        status = row[0]
        style = "red" if status in ("quarantined", "unlisted") else None
        table.add_row(*row, style="bold" if status == "total" else style)
    console.print(table)
    for line in _trailer(summary):
        console.print(line)


def _plain_text(summary: RunSummary) -> str:
    lines = []
    if summary.total == 0 and not summary.unlisted_directories:
        lines.append("no input files were found")
    lines.append(f"deid run {summary.run_id}")
    rows = [_COLUMNS, *summary_rows(summary)]
    widths = [max(len(row[index]) for row in rows) for index in range(3)]
    for status, reason, files, meaning in rows:
        line = f"{status:<{widths[0]}}  {reason:<{widths[1]}}  {files:>{widths[2]}}  {meaning}"
        lines.append(line.rstrip())
    lines.extend(_trailer(summary))
    return "\n".join(lines) + "\n"


def print_summary(summary: RunSummary, stream: TextIO | None = None) -> None:
    """The summary on ``stream`` (stdout): :func:`render_summary` on a terminal, else plain
    aligned text with the same rows."""
    target = stream if stream is not None else sys.stdout
    if target.isatty():
        from rich.console import Console

        render_summary(summary, Console(file=target))
    else:
        target.write(_plain_text(summary))
        target.flush()
