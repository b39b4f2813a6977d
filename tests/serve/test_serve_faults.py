"""The gateway when things go wrong: the destination down, the gateway killed, the spool
disk full, a destination that takes native syntaxes only. Nothing acknowledged is lost and
nothing is forwarded under another UID.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import ExplicitVRLittleEndian

from deidengine.dicom.keys import load_secret
from deidengine.dicom.uids import remap_uid
from tests.serve.serve_peers import (
    DCMTK_ENVIRONMENT,
    Gateway,
    copy_pydicom_files,
    dcmtk,
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


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    need("storescu", "storescp")
    path = tmp_path / "project.secret"
    assert run_deid("keygen", "--out", str(path)).returncode == 0
    return path


def _gateway(tmp_path: Path, secret: Path, destination_port: int, **options: object) -> Gateway:
    port = free_port()
    config = write_config(tmp_path, secret, port, destination_port, **options)  # type: ignore[arg-type]
    return Gateway(config, port, tmp_path / "gateway.log")


def _expected_uids(secret: Path, files: list[Path]) -> set[str]:
    key = load_secret(secret)
    return {remap_uid(key, str(pydicom.dcmread(p).SOPInstanceUID)) for p in files}


def test_destination_down_then_up_loses_nothing(tmp_path: Path, secret: Path) -> None:
    files = write_patients(tmp_path / "in", patients=2, studies=1, images=2)
    destination_port = free_port()
    gateway = _gateway(tmp_path, secret, destination_port)
    with running_gateway(gateway):
        sent = storescu(gateway.port, files)
        assert len(sent.stored) == len(files), sent.output
        wait_until(
            lambda: (
                gateway.states() == {"deidentified": len(files)}
                and any(e["code"] == "no-association" for e in gateway.status()["errors"])
            ),
            60,
            "the forwarder to find the destination down",
        )
        with storescp(tmp_path / "arrived", destination_port) as arrived:
            wait_until(
                lambda: gateway.states() == {"forwarded": len(files)}, 60, "every instance sent"
            )
            assert set(received_instances(arrived)) == _expected_uids(secret, files)
        assert gateway.stop() == 0
    assert "stopped; 0 instance(s) wait" in gateway.log_text()


def test_kill_9_mid_transfer_then_restart_loses_and_duplicates_nothing(
    tmp_path: Path, secret: Path
) -> None:
    files = write_patients(tmp_path / "in", patients=5, studies=3, images=4)  # 60 instances
    destination_port = free_port()
    gateway = _gateway(tmp_path, secret, destination_port)
    with storescp(tmp_path / "arrived", destination_port) as arrived:
        gateway.start()
        sender = subprocess.Popen(
            [dcmtk("storescu"), "-v", "-R", "-aet", "STORESCU", "-aec", "DEIDGW", "127.0.0.1",
             str(gateway.port), *map(str, files)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=DCMTK_ENVIRONMENT,
        )  # fmt: skip
        try:
            # storescu sends an instance only once the previous one is acknowledged, so a
            # seventh instance in the queue means six acknowledgements reached the sender (six
            # in the queue meant five: the sixth's response could still be unsent at the kill).
            wait_until(lambda: len(gateway.queue()) >= 7, 60, "a few instances received")
            gateway.kill()  # kill -9, mid-association
            output, _ = sender.communicate(timeout=30)
        finally:
            if sender.poll() is None:
                sender.kill()
                sender.wait(timeout=10)
        acknowledged = _acknowledged(output)
        assert len(acknowledged) >= 6
        with running_gateway(gateway):
            # Every instance the gateway acknowledged before it died arrives, with no re-send.
            wanted = _expected_uids(secret, acknowledged)
            wait_until(
                lambda: wanted <= set(received_instances(arrived)), 60, "the acknowledged ones"
            )
            # The sender sends again what it was not told was stored (and, here, the rest too:
            # re-sends are idempotent).
            sent = storescu(gateway.port, files)
            assert len(sent.stored) == len(files), sent.output
            wait_until(
                lambda: (
                    set(received_instances(arrived)) == _expected_uids(secret, files)
                    and "received" not in gateway.states()
                    and "deidentified" not in gateway.states()
                ),
                60,
                "every instance forwarded",
            )
        # Nothing forwarded under another UID: the destination holds exactly the keyed UIDs.
        assert set(received_instances(arrived)) == _expected_uids(secret, files)
        assert set(gateway.states()) == {"forwarded"}


def _acknowledged(output: str) -> list[Path]:
    stored, current = [], None
    for line in output.splitlines():
        if "Sending file:" in line:
            current = line.split("Sending file:", 1)[1].strip()
        elif "Received Store Response (Success)" in line and current is not None:
            stored.append(Path(current))
    return stored


@contextlib.contextmanager
def _tmpfs(path: Path, size: str) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs for a full spool disk: {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        for _ in range(50):
            if subprocess.run(["umount", str(path)], capture_output=True).returncode == 0:
                break
            time.sleep(0.1)


def test_a_full_spool_disk_answers_out_of_resources_and_keeps_what_it_acknowledged(
    tmp_path: Path, secret: Path
) -> None:
    small = write_patients(tmp_path / "in", patients=1, studies=1, images=2)
    big = tmp_path / "in" / "big.dcm"
    dataset = pydicom.dcmread(small[0])
    dataset.Rows, dataset.Columns = 1024, 512  # 1 MiB of pixels: more than the spool holds
    dataset.PixelData = bytes(1024 * 512 * 2)
    dataset.SOPInstanceUID = pydicom.uid.generate_uid()
    dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset.save_as(big, enforce_file_format=True)
    destination_port = free_port()
    with (
        _tmpfs(tmp_path / "spool", "512k") as spool,
        storescp(tmp_path / "arrived", destination_port) as arrived,
    ):
        gateway = _gateway(tmp_path, secret, destination_port, spool=spool)
        with running_gateway(gateway):
            sent = storescu(gateway.port, [small[0], big, small[1]])
            assert [Path(p).name for p in sent.stored] == [small[0].name, small[1].name]
            assert "Received Store Response (Refused: OutOfResources)" in sent.output
            wait_until(lambda: gateway.states() == {"forwarded": 2}, 60, "the small ones sent")
            assert set(received_instances(arrived)) == _expected_uids(secret, small)
            assert not [p for p in spool.rglob("*") if p.is_file()]  # no half-written file
            status = gateway.status()
            assert any(e["kind"] == "spool" and e["code"] == "enospc" for e in status["errors"])
            assert "could not be spooled (ENOSPC)" in gateway.log_text()


def test_a_destination_taking_native_syntaxes_only_gets_compressed_ones_decoded(
    tmp_path: Path, secret: Path
) -> None:
    files = copy_pydicom_files(tmp_path / "in", ["SC_rgb_rle.dcm", "JPEGLSNearLossless_16.dcm"])
    destination_port = free_port()
    with storescp(tmp_path / "arrived", destination_port, native_only=True) as arrived:
        gateway = _gateway(tmp_path, secret, destination_port)
        with running_gateway(gateway):
            sent = storescu(gateway.port, files)
            assert len(sent.stored) == 2, sent.output
            wait_until(lambda: gateway.states() == {"forwarded": 2}, 60, "both forwarded")
        found = received_instances(arrived)
        assert set(found) == _expected_uids(secret, files)  # decoded, under the same UIDs
        assert all(not d.file_meta.TransferSyntaxUID.is_compressed for d in found.values())


def test_a_sender_from_an_address_off_the_allowlist_is_rejected(
    tmp_path: Path, secret: Path
) -> None:
    files = write_patients(tmp_path / "in", patients=1, studies=1, images=1)
    gateway = _gateway(tmp_path, secret, free_port(), addresses=["127.0.0.2/32"])
    with running_gateway(gateway):
        sent = storescu(gateway.port, files)  # from 127.0.0.1
        assert sent.returncode != 0 and not sent.stored
        assert "Association Rejected" in sent.output
        assert gateway.queue() == []
        assert "AE title 'STORESCU' at 127.0.0.1 rejected: not on the allowlist" in (
            gateway.log_text()
        )


def test_worker_processes_give_the_same_instances(tmp_path: Path, secret: Path) -> None:
    files = write_patients(tmp_path / "in", patients=2, studies=1, images=3)
    destination_port = free_port()
    with storescp(tmp_path / "arrived", destination_port) as arrived:
        gateway = _gateway(tmp_path, secret, destination_port, deidentify_processes=2)
        with running_gateway(gateway):
            sent = storescu(gateway.port, files)
            assert len(sent.stored) == len(files), sent.output
            wait_until(
                lambda: gateway.states() == {"forwarded": len(files)}, 60, "every instance sent"
            )
        assert gateway.stop() == 0
        assert set(received_instances(arrived)) == _expected_uids(secret, files)
