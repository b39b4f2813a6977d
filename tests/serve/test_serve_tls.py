"""DICOM over TLS on both sides of the gateway, with DCMTK's TLS peers and a test CA."""

from __future__ import annotations

import datetime
import ipaddress
import subprocess
from pathlib import Path

import pydicom
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from deidengine.dicom.keys import load_secret
from deidengine.dicom.uids import remap_uid
from tests.serve.serve_peers import (
    ARCHIVE_AE,
    DCMTK_ENVIRONMENT,
    GATEWAY_AE,
    SENDER_AE,
    Gateway,
    _stop,
    free_port,
    need,
    port_open,
    received_instances,
    run_deid,
    running_gateway,
    wait_until,
    write_config,
    write_patients,
)


def _name(text: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])


def _issue(
    folder: Path, stem: str, issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A P-256 key and certificate (the CA's own when ``issuer`` is None), written as PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name("deid test CA" if issuer is None else "localhost"))
        .issuer_name(_name("deid test CA") if issuer is None else issuer[0].subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    certificate = builder.sign(issuer[1] if issuer else key, hashes.SHA256())
    (folder / f"{stem}.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (folder / f"{stem}.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return certificate, key


def test_tls_from_sender_to_gateway_to_destination(tmp_path: Path) -> None:
    need("storescu", "storescp")
    tls = tmp_path / "tls"
    tls.mkdir()
    ca = _issue(tls, "ca", None)
    for stem in ("gateway", "sender", "archive"):
        _issue(tls, stem, ca)
    secret = tmp_path / "project.secret"
    assert run_deid("keygen", "--out", str(secret)).returncode == 0
    files = write_patients(tmp_path / "in", patients=1, studies=1, images=3)
    destination_port, port = free_port(), free_port()
    config = write_config(tmp_path, secret, port, destination_port)
    with config.open("a", encoding="utf-8") as text:
        text.write(
            f'\n[listener.tls]\ncertificate = "{tls / "gateway.pem"}"\n'
            f'private_key = "{tls / "gateway.key"}"\nca_certificates = "{tls / "ca.pem"}"\n'
            f'\n[listener.destination.tls]\nca_certificates = "{tls / "ca.pem"}"\n'
            f'certificate = "{tls / "gateway.pem"}"\nprivate_key = "{tls / "gateway.key"}"\n'
            'server_name = "localhost"\n'
        )
    peer_tls = ["+cf", str(tls / "ca.pem")]
    archive = subprocess.Popen(
        ["storescp", "+tls", str(tls / "archive.key"), str(tls / "archive.pem"), *peer_tls,
         "-aet", ARCHIVE_AE, "-od", str(tmp_path / "arrived"), str(destination_port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=DCMTK_ENVIRONMENT,
    )  # fmt: skip
    (tmp_path / "arrived").mkdir()
    try:
        wait_until(lambda: port_open(destination_port), 10, "storescp to listen")
        gateway = Gateway(config, port, tmp_path / "gateway.log")
        with running_gateway(gateway):
            plain = subprocess.run(
                ["storescu", "-ta", "2", "-aet", SENDER_AE, "-aec", GATEWAY_AE, "127.0.0.1",
                 str(port), str(files[0])],
                capture_output=True, text=True, timeout=60, env=DCMTK_ENVIRONMENT,
            )  # fmt: skip
            assert plain.returncode != 0  # no TLS, no association
            sent = subprocess.run(
                ["storescu", "+tls", str(tls / "sender.key"), str(tls / "sender.pem"),
                 *peer_tls, "-aet", SENDER_AE, "-aec", GATEWAY_AE, "127.0.0.1", str(port),
                 *map(str, files)],
                capture_output=True, text=True, timeout=60, env=DCMTK_ENVIRONMENT,
            )  # fmt: skip
            assert sent.returncode == 0, sent.stdout + sent.stderr
            wait_until(lambda: gateway.states() == {"forwarded": 3}, 60, "all forwarded")
    finally:
        _stop(archive)
    key = load_secret(secret)
    assert set(received_instances(tmp_path / "arrived")) == {
        remap_uid(key, str(pydicom.dcmread(p).SOPInstanceUID)) for p in files
    }
