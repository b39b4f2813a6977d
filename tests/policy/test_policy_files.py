"""Policy files as they arrive: encodings, empty files, and files with thousands of mistakes.

The corpus (tests/policies/bad) holds one file per case with its expected diagnostics; these
tests cover what the corpus cannot show: the exit codes of the commands, the absence of a
traceback, and that the keyword search is bounded however many lines are wrong.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from deidengine.cli import main
from deidengine.policy import check, check_policy
from deidengine.policy.resolve import PolicyDecodeError, decode_policy_text
from tests.conftest import CORPUS


@pytest.mark.parametrize(
    ("data", "message", "where"),
    [
        ("policy x\n".encode("utf-16"), "the file is UTF-16 text, not UTF-8", (1, 1)),
        ("policy x\n".encode("utf-16-be"), "a NUL byte: this is not a text file", (1, 1)),
        ("policy x\n".encode("utf-32"), "the file is UTF-32 text, not UTF-8", (1, 1)),
        (b"policy x\n# \xc3\xa9t\xe9\n", "not UTF-8 text: byte 0xE9 cannot be decoded", (2, 5)),
        (b"\x89PNG\r\n\x1a\n", "not UTF-8 text: byte 0x89 cannot be decoded", (1, 1)),
    ],
)
def test_undecodable_bytes_name_the_place(
    data: bytes, message: str, where: tuple[int, int]
) -> None:
    with pytest.raises(PolicyDecodeError) as raised:
        decode_policy_text(data)
    assert (raised.value.message, raised.value.line, raised.value.column) == (message, *where)


def test_utf8_byte_order_mark_is_dropped() -> None:
    assert decode_policy_text(b"\xef\xbb\xbfpolicy x\n") == "policy x\n"


def test_check_of_a_utf16_file_is_a_diagnostic_not_a_traceback() -> None:
    path = CORPUS / "bad" / "utf16.policy"
    result = CliRunner().invoke(main, ["policy", "check", str(path)])
    assert result.exit_code == 2, result.output  # no policy text could be read: usage
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"{path}:1:1: error[E505]: the file is UTF-16 text, not UTF-8" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("name", ["utf16", "binary", "empty", "no-declaration"])
def test_run_refuses_an_unusable_policy_with_exit_2(tmp_path: Path, name: str) -> None:
    secret = tmp_path / "secret"
    secret.write_text("ab" * 32 + "\n", encoding="utf-8")
    secret.chmod(0o600)
    inputs = tmp_path / "in"
    inputs.mkdir()
    result = CliRunner().invoke(
        main,
        [
            "run",
            "--policy",
            str(CORPUS / "bad" / f"{name}.policy"),
            "--secret-file",
            str(secret),
            str(inputs),
            str(tmp_path / "out"),
        ],
    )
    assert result.exit_code == 2, result.output
    assert "error[E" in result.output
    assert not (tmp_path / "out").exists()


def test_keyword_suggestions_are_bounded_per_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Thousands of unknown keywords: every one is an error, only the first few get the
    (dictionary-wide) search for a hint."""
    searched: list[str] = []
    real = check.closest_keywords

    def counting(word: str, n: int = 3) -> list[str]:
        searched.append(word)
        return real(word, n)

    monkeypatch.setattr(check, "closest_keywords", counting)
    check._closest_keyword.cache_clear()
    lines = [f"PatientNam{i} -> Z" for i in range(500)]
    path = tmp_path / "many.policy"
    path.write_text("policy many\n" + "\n".join(lines) + "\n", encoding="utf-8")
    diagnostics = check_policy(str(path))
    assert [d.code.value for d in diagnostics] == ["E201"] * 500
    assert len(searched) == check.SUGGESTIONS_PER_FILE
    hints = [d.help for d in diagnostics]
    assert hints[: check.SUGGESTIONS_PER_FILE] == ["did you mean 'PatientName'?"] * 20
    assert hints[check.SUGGESTIONS_PER_FILE] == "no more suggestions for this file: 20 given"
    assert set(hints[check.SUGGESTIONS_PER_FILE + 1 :]) == {None}


def test_explain_of_a_misspelt_keyword_says_unknown() -> None:
    result = CliRunner().invoke(
        main, ["policy", "explain", "hipaa-safe-harbor", "--tag", "PatientBrithDate"]
    )
    assert result.exit_code == 2
    assert result.output == (
        "deid policy explain: unknown keyword 'PatientBrithDate'; "
        "did you mean 'PatientBirthDate'?\n"
    )
    assert "kept unchanged" not in result.output


def test_explain_json_of_a_misspelt_keyword_says_unknown() -> None:
    result = CliRunner().invoke(
        main,
        ["policy", "explain", "annex-e/basic", "--tag", "PatientBrithDate", "--format", "json"],
    )
    assert result.exit_code == 2
    assert "unknown keyword 'PatientBrithDate'" in result.output


def test_check_exits_1_for_a_policy_with_errors_and_0_with_warnings_only() -> None:
    runner = CliRunner()
    assert (
        runner.invoke(main, ["policy", "check", str(CORPUS / "bad" / "empty.policy")]).exit_code
        == 1
    )
    warned = runner.invoke(main, ["policy", "check", str(CORPUS / "warn" / "keeps-private.policy")])
    assert warned.exit_code == 0
    assert "warning[W301]" in warned.output
