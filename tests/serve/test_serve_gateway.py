"""The gateway between real DCMTK peers: ``storescu`` → ``deid serve`` → ``storescp``.

One gateway and one destination serve the module: pydicom's test files and a generated
multi-patient set go through, and what arrives is compared with what ``deid run`` makes of the
same inputs with the same secret; then a sender off the allowlist and a malformed instance.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pydicom
import pytest

from deidengine.dicom.keys import load_secret
from deidengine.dicom.uids import remap_uid
from tests.serve.serve_peers import (
    POLICY,
    Gateway,
    copy_pydicom_files,
    free_port,
    need,
    received_instances,
    run_deid,
    running_gateway,
    storescp,
    storescu,
    wait_until,
    write_config,
    write_patients,
)


@dataclass
class Network:
    root: Path
    secret: Path
    inputs: list[Path]
    expected: dict[str, pydicom.Dataset]  # deid run's outputs, by SOP Instance UID
    gateway: Gateway
    destination: Path


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    need("storescu", "storescp")
    root = tmp_path_factory.mktemp("gateway")
    secret = root / "project.secret"
    assert run_deid("keygen", "--out", str(secret)).returncode == 0
    inputs = copy_pydicom_files(root / "in") + write_patients(root / "in" / "patients")
    run = run_deid(
        "run", "--policy", POLICY, "--secret-file", str(secret), "--workers", "1",
        str(root / "in"), str(root / "run-out"),
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    expected = received_instances(root / "run-out")
    assert len(expected) == len(inputs)
    destination_port = free_port()
    with storescp(root / "arrived", destination_port) as arrived:
        config = write_config(root, secret, free_port(), destination_port)
        gateway = Gateway(config, int(_port_of(config)), root / "gateway.log")
        with running_gateway(gateway):
            yield Network(root, secret, inputs, expected, gateway, arrived)


def _port_of(config: Path) -> str:
    line = next(x for x in config.read_text().splitlines() if x.startswith("port = "))
    return line.split("=")[1].strip()


def _without_meta(dataset: pydicom.Dataset) -> pydicom.Dataset:
    copy = pydicom.Dataset(dataset)
    copy.file_meta = pydicom.dataset.FileMetaDataset()
    return copy


def test_every_instance_arrives_as_deid_run_makes_it(network: Network) -> None:
    sent = storescu(network.gateway.port, network.inputs)
    assert sent.returncode == 0, sent.output
    assert len(sent.stored) == len(network.inputs)
    wait_until(
        lambda: network.gateway.states() == {"forwarded": len(network.inputs)},
        60,
        "every instance at the destination",
    )
    arrived = received_instances(network.destination)
    # The same secret and policy give the same UIDs as `deid run`, and the same datasets.
    assert set(arrived) == set(network.expected)
    for uid, dataset in arrived.items():
        assert _without_meta(dataset) == _without_meta(network.expected[uid]), uid
    # UIDs consistent within each study: each of the generated set's 6 studies arrives as
    # one study, its instances under the study UID the secret maps the original's to.
    secret = load_secret(network.secret)
    by_study: dict[str, set[str]] = {}
    for path in network.inputs:
        if path.parent.name == "patients":
            original = pydicom.dcmread(path)
            output = arrived[remap_uid(secret, str(original.SOPInstanceUID))]
            assert output.StudyInstanceUID == remap_uid(secret, str(original.StudyInstanceUID))
            by_study.setdefault(str(original.StudyInstanceUID), set()).add(
                str(output.StudyInstanceUID)
            )
    assert len(by_study) == 6
    assert all(len(outputs) == 1 for outputs in by_study.values())
    # Forwarded instances leave nothing in the outbox, not even their study folders.
    outbox = network.root / "work" / "outbox" / "main"
    wait_until(lambda: not any(outbox.iterdir()), 10, "the outbox to be tidied")


def test_what_arrived_passes_deid_verify_against_the_originals(network: Network) -> None:
    wait_until(
        lambda: len(received_instances(network.destination)) >= len(network.inputs),
        60,
        "the instances of the first test",
    )
    verified = run_deid(
        "verify", "--policy", POLICY, "--original", str(network.root / "in"),
        "--secret-file", str(network.secret), "--no-iod", "--format", "json",
        str(network.destination),
    )  # fmt: skip
    assert verified.returncode == 0, verified.stdout[-3000:] + verified.stderr


def test_a_sender_off_the_allowlist_is_rejected_and_logged(network: Network) -> None:
    before = len(network.gateway.queue())
    sent = storescu(network.gateway.port, network.inputs[:1], ae_title="INTRUDER")
    assert sent.returncode != 0
    assert not sent.stored
    assert "Association Rejected" in sent.output
    assert len(network.gateway.queue()) == before
    log = network.gateway.log_text()
    assert "AE title 'INTRUDER' at 127.0.0.1 rejected: not on the allowlist" in log


def test_a_malformed_instance_is_quarantined_and_the_association_goes_on(
    network: Network,
) -> None:
    folder = network.root / "malformed"
    good_before, broken, good_after = write_patients(folder, patients=1, studies=1, images=3)
    dataset = pydicom.dcmread(broken)
    dataset.PixelData = bytes(dataset.PixelData)[:1000]  # shorter than Rows x Columns
    dataset.save_as(broken)
    before = len(network.gateway.queue())
    sent = storescu(network.gateway.port, [good_before, broken, good_after])
    assert sent.returncode == 0, sent.output
    assert len(sent.stored) == 3  # all kept: the spool holds it as received
    wait_until(
        lambda: (
            [s for s, _, _ in network.gateway.queue()[before:]].count("forwarded") == 2
            and len(network.gateway.queue()) == before + 3
        ),
        60,
        "the two good instances forwarded",
    )
    rows = network.gateway.queue()[before:]
    assert [(state, reason) for state, reason, _ in rows] == [
        ("forwarded", None),
        ("quarantined", "inconsistent-pixel-data"),  # whole, but shorter than its description
        ("forwarded", None),
    ]
    quarantine = network.root / "work" / "quarantine" / "main"
    assert len(list(quarantine.glob("*.input"))) == 1
    status = network.gateway.status()
    codes = {(e["kind"], e["code"]) for e in status["errors"]}
    assert ("deidentify", "inconsistent-pixel-data") in codes
    assert ("association", "not-allowed") in codes


def test_no_identifying_value_in_logs_status_or_audit(network: Network) -> None:
    texts = [network.gateway.log_text(), str(network.gateway.status())]
    texts += [p.read_text() for p in (network.root / "work" / "audit").rglob("*.jsonl")]
    values: set[str] = set()
    for path in network.inputs:
        original = pydicom.dcmread(path, stop_before_pixels=True)
        for keyword in ("PatientName", "PatientID", "SOPInstanceUID", "StudyInstanceUID"):
            values.add(str(original.get(keyword, "") or ""))
    values -= {""}
    assert len(values) > 20
    for value in values:
        for text in texts:
            assert value not in text
