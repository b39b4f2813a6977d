"""Progress: a rich line only on a terminal, counts only."""

from __future__ import annotations

import io

from rich.console import Console

from deidengine.run.progress import RichProgress, RunCounts, terminal_progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_nothing_without_a_terminal() -> None:
    assert terminal_progress(io.StringIO()) is None
    assert isinstance(terminal_progress(_Terminal()), RichProgress)


def test_the_line_shows_counts() -> None:
    stream = io.StringIO()
    progress = RichProgress(Console(file=stream, force_terminal=True, width=120))
    progress.start()
    progress.update(RunCounts(written=3, quarantined=1, skipped=2))
    progress.stop()
    text = stream.getvalue()
    assert "6 files" in text and "3 written" in text and "1 quarantined" in text
    assert RunCounts(written=3, quarantined=1, skipped=2).done == 6
