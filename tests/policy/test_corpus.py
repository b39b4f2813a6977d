"""Policy corpora: every ok/ file checks clean; every bad/ file gives exactly its .expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from deidengine.policy import check_policy, load_plan
from tests.conftest import CORPUS

OK = sorted((CORPUS / "ok").glob("*.policy"))
BAD = sorted((CORPUS / "bad").glob("*.policy"))


@pytest.mark.parametrize("path", OK, ids=[p.stem for p in OK])
def test_ok_policy_checks_clean(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(path.parent)
    assert [d.render() for d in check_policy(path.name)] == []
    assert load_plan(path.name).rules


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_policy_reports_expected(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(path.parent)
    found = [
        f"{d.code.value} {d.span.file}:{d.span.line}:{d.span.column} {d.message}"
        if d.span
        else f"{d.code.value} - {d.message}"
        for d in check_policy(path.name)
    ]
    expected = path.with_suffix(".expected").read_text("utf-8").splitlines()
    assert found == expected


def test_corpora_are_not_empty() -> None:
    assert len(OK) >= 4 and len(BAD) >= 12
