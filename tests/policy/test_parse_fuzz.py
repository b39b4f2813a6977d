"""Property: arbitrary text never crashes the front end; only policy diagnostics come out."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deidengine.policy import check_policy, parse_policy_text

FRAGMENTS = [
    "policy",
    "option",
    "use",
    "code",
    "section",
    "vr",
    "private",
    "pixels",
    "when",
    "->",
    "*",
    "(0010,0010)",
    "(60xx,3000)",
    "(0029,xx10)",
    "PatientName",
    "Modality",
    "age",
    "==",
    "in",
    "(",
    ")",
    ",",
    ".",
    "[*]",
    "[0]",
    "X/Z/U*",
    "Z",
    "keep",
    "shift-date",
    "within",
    "-5..-1",
    "days",
    "redact",
    "box",
    "1,2,3,4",
    '"ACME"',
    "#",
    "\n",
    "113100",
    "and",
    "or",
    "not",
    "scrub",
    "names",
    "pseudonym",
    '"S-{hmac:8}"',
    "cap-age",
    "89",
    "DA",
    "present",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_random_text_gives_only_diagnostics(text: str) -> None:
    parsed, diagnostics = parse_policy_text(text, "fuzz.policy")
    assert all(d.span is not None and d.span.file == "fuzz.policy" for d in diagnostics)
    assert parsed.path == "fuzz.policy"


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=25).map(" ".join))
def test_token_soup_checks_without_crashing(tmp_path: Path, text: str) -> None:
    path = tmp_path / "soup.policy"
    path.write_text(text, encoding="utf-8")
    for diagnostic in check_policy(str(path)):
        assert diagnostic.code.value.startswith("E")
        assert diagnostic.message == diagnostic.message.strip()
