"""The gateway's TOML configuration: what validates, and FILE:LINE errors for what does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from deidengine.cli import main
from deidengine.serve.config import (
    ConfigError,
    DestinationConfig,
    StowDestinationConfig,
    key_lines,
    load_config,
)

GOOD = """\
# a gateway
[gateway]
secret_file = "project.secret"
spool_dir = "spool"

[[listener]]
name = "ct"
ae_title = "DEID_CT"
port = 11112
policy = "annex-e/basic"
allowed_ae_titles = ["CT1", "CT2"]
allowed_addresses = ["127.0.0.1", "10.1.0.0/16"]

[listener.destination]
ae_title = "ARCHIVE"
host = "127.0.0.1"
port = 104

[[listener]]
name = "mr"
ae_title = "DEID_MR"
port = 11113
policy = "annex-e/basic"
allowed_ae_titles = ["*"]

[listener.destination]
ae_title = "ARCHIVE"
host = "127.0.0.1"
port = 104
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _errors(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(_write(tmp_path, text))
    return list(caught.value.lines)


def test_a_good_file_validates_with_defaults_and_paths_from_its_folder(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, GOOD))
    ct, mr = config.listener
    assert (ct.name, ct.port, ct.bind, mr.bind) == ("ct", 11112, "127.0.0.1", "127.0.0.1")
    assert config.gateway.secret_file == tmp_path / "project.secret"
    assert config.gateway.work == tmp_path / "spool"
    assert config.gateway.quarantine == tmp_path / "spool" / "quarantine"
    assert mr.allowed_addresses == ("127.0.0.1/32", "::1/128")  # loopback unless told
    assert isinstance(ct.destination, DestinationConfig) and ct.destination.port == 104


def test_flags_override_the_gateway_settings(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, GOOD), {"work_dir": "/var/lib/deid", "spool_dir": None})
    assert config.gateway.work_dir == Path("/var/lib/deid")
    assert config.gateway.spool_dir == tmp_path / "spool"


def test_allowlists_of_titles_and_addresses(tmp_path: Path) -> None:
    ct, mr = load_config(_write(tmp_path, GOOD)).listener
    assert ct.allows("CT1", "127.0.0.1")
    assert ct.allows("CT2", "10.1.200.3")
    assert not ct.allows("CT3", "127.0.0.1")  # title not listed
    assert not ct.allows("CT1", "10.2.0.1")  # address outside the networks
    assert not ct.allows("CT1", "not-an-address")
    assert mr.allows("ANYONE", "127.0.0.1")
    assert not mr.allows("ANYONE", "192.168.1.1")


def test_key_lines_index_arrays_of_tables_as_pydantic_does() -> None:
    lines = key_lines(GOOD)
    assert lines[("gateway", "spool_dir")] == 4
    assert lines[("listener", 0)] == 6
    assert lines[("listener", 0, "destination", "port")] == 17
    assert lines[("listener", 1, "port")] == 22
    assert lines[("listener", 1, "destination")] == 26


def test_a_wrong_value_is_reported_at_its_line(tmp_path: Path) -> None:
    text = GOOD.replace("port = 11113", 'port = "high"').replace(
        'ae_title = "DEID_CT"', 'ae_title = "A\\\\B"'
    )
    path = tmp_path / "gateway.toml"
    assert _errors(tmp_path, text) == [
        f"{path}:8: listener[0].ae_title: an AE title holds printable ASCII characters other "
        "than backslash",
        f"{path}:22: listener[1].port: Input should be a valid integer, unable to parse string "
        "as an integer",
    ]


def test_a_missing_key_is_reported_at_its_table_and_an_unknown_one_at_its_line(
    tmp_path: Path,
) -> None:
    text = GOOD.replace(
        'host = "127.0.0.1"\nport = 104\n\n[[listener]]', "port = 104\n\n[[listener]]"
    )
    text = text.replace('spool_dir = "spool"', 'spool_dir = "spool"\nspool_size = 3')
    path = tmp_path / "gateway.toml"
    assert _errors(tmp_path, text) == [
        f"{path}:5: gateway.spool_size: Extra inputs are not permitted",
        f"{path}:15: listener[0].destination.host: Field required",
    ]


def test_bad_toml_reports_the_parser_line(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    errors = _errors(tmp_path, GOOD.replace("port = 104", "port = = 104", 1))
    assert len(errors) == 1
    assert errors[0].startswith(f"{path}:17: not valid TOML: ")


def test_listeners_must_differ(tmp_path: Path) -> None:
    text = GOOD.replace('name = "mr"', 'name = "ct"').replace("port = 11113", "port = 11112")
    (error,) = _errors(tmp_path, text)
    path = tmp_path / "gateway.toml"
    assert error == f"{path}: file: listener names must differ (each names its own folders)"


def test_the_cli_prints_the_errors_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(
        tmp_path,
        GOOD.replace(
            'policy = "annex-e/basic"\nallowed_ae_titles = ["*"]', 'allowed_ae_titles = ["*"]'
        ),
    )
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--config", str(path)], standalone_mode=True)
    assert exited.value.code == 2
    assert f"{path}:19: listener[1].policy: Field required" in capsys.readouterr().err


def test_the_documented_example_validates(tmp_path: Path) -> None:
    document = (Path(__file__).resolve().parents[2] / "docs" / "gateway.md").read_text()
    example = document.split("```toml\n", 1)[1].split("```", 1)[0]
    config = load_config(_write(tmp_path, example))
    ct, mr = config.listener
    assert ct.tls is not None and ct.tls.ca_certificates == tmp_path / "tls" / "senders-ca.pem"
    assert isinstance(ct.destination, DestinationConfig)
    assert ct.destination.tls is not None and ct.destination.tls.server_name
    assert mr.policy == "policies/mr-research.policy"
    assert isinstance(mr.destination, StowDestinationConfig)
    assert mr.destination.ca_certificates == tmp_path / "tls" / "archive-ca.pem"
    assert mr.destination.label == "stow-rs archive.example.org"
    assert config.gateway.deidentify_processes == 0


def test_a_stow_destination_is_checked_as_such(tmp_path: Path) -> None:
    text = GOOD.replace(
        'ae_title = "ARCHIVE"\nhost = "127.0.0.1"\nport = 104\n\n[[listener]]',
        'kind = "stow-rs"\nurl = "ftp://archive"\n\n[[listener]]',
    )
    path = tmp_path / "gateway.toml"
    (error,) = _errors(tmp_path, text)
    assert error.startswith(f"{path}:16: listener[0].destination.url: String should match")
