"""docs/api.md's examples run, in order, as one session: the documentation cannot drift."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)


def test_the_page_has_examples() -> None:
    assert len(BLOCKS) >= 5


@pytest.mark.slow
def test_api_examples_run_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "api_docs"}
    for number, block in enumerate(BLOCKS, 1):
        code = compile(block, f"{DOC.name} example {number}", "exec")
        exec(code, namespace)  # the page's own examples, nothing from outside the repo
