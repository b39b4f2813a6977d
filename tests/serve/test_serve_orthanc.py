"""The gateway forwarding to Orthanc (a real archive), checked through Orthanc's REST API."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest

from deidengine.dicom.keys import load_secret
from deidengine.dicom.uids import remap_uid
from tests.serve.serve_peers import (
    ORTHANC_DICOMWEB,
    POLICY,
    Gateway,
    Orthanc,
    copy_pydicom_files,
    free_port,
    need,
    run_deid,
    running_gateway,
    storescu,
    wait_until,
    write_config,
    write_patients,
)
from tests.serve.serve_peers import orthanc as orthanc_server


def _send_and_wait_for_orthanc(
    archive: Orthanc, gateway: Gateway, port: int, files: list[Path]
) -> None:
    """Send ``files`` to the gateway with storescu, then wait until Orthanc holds every one and
    the gateway's queue says each was forwarded."""
    sent = storescu(port, files)
    assert len(sent.stored) == len(files), sent.output

    def stored() -> int:
        instances = archive.get("/instances")
        assert isinstance(instances, list)
        return len(instances)

    wait_until(
        lambda: stored() == len(files) and gateway.states() == {"forwarded": len(files)},
        60,
        "Orthanc to hold every instance",
    )


def test_orthanc_receives_every_instance_de_identified(tmp_path: Path) -> None:
    need("Orthanc", "storescu")
    secret = tmp_path / "project.secret"
    assert run_deid("keygen", "--out", str(secret)).returncode == 0
    files = write_patients(tmp_path / "in", patients=2, studies=2, images=2) + copy_pydicom_files(
        tmp_path / "in", ["CT_small.dcm", "SC_rgb_rle.dcm", "rtplan.dcm"]
    )
    originals = [pydicom.dcmread(p) for p in files]
    key = load_secret(secret)
    with orthanc_server(tmp_path / "orthanc") as archive:
        port = free_port()
        config = write_config(tmp_path, secret, port, archive.dicom_port)
        gateway = Gateway(config, port, tmp_path / "gateway.log")
        with running_gateway(gateway):
            _send_and_wait_for_orthanc(archive, gateway, port, files)
        instances = archive.get("/instances?expand")
        assert isinstance(instances, list)
        tags = {
            item["MainDicomTags"]["SOPInstanceUID"]: archive.get(
                f"/instances/{item['ID']}/simplified-tags"
            )
            for item in instances
        }
        archive_copy = tmp_path / "from-orthanc"  # what Orthanc hands back, for deid verify
        archive_copy.mkdir()
        for item in instances:
            archive_copy.joinpath(f"{item['ID']}.dcm").write_bytes(
                archive.get_bytes(f"/instances/{item['ID']}/file")
            )
    # Every instance under its keyed UIDs, one Orthanc study per original study.
    assert set(tags) == {remap_uid(key, str(d.SOPInstanceUID)) for d in originals}
    studies = {
        remap_uid(key, str(d.StudyInstanceUID)) for d in originals if "StudyInstanceUID" in d
    }
    assert {str(t["StudyInstanceUID"]) for t in tags.values()} == studies  # type: ignore[index]
    names = {str(d.get("PatientName", "")) for d in originals} - {""}
    ids = {str(d.get("PatientID", "")) for d in originals} - {""}
    for values in tags.values():
        assert isinstance(values, dict)
        assert values.get("PatientName", "") not in names
        assert values.get("PatientID", "") not in ids
        assert "PatientIdentityRemoved" in values and values["PatientIdentityRemoved"] == "YES"
    verified = run_deid(
        "verify", "--policy", POLICY, "--original", str(tmp_path / "in"),
        "--secret-file", str(secret), "--no-iod", str(archive_copy),
    )  # fmt: skip
    assert verified.returncode == 0, verified.stdout[-3000:] + verified.stderr


def test_stow_rs_to_orthanc_dicomweb(tmp_path: Path) -> None:
    need("Orthanc", "storescu")
    pytest.importorskip("dicomweb_client", reason="pip install 'deidengine[dicomweb]'")
    if not ORTHANC_DICOMWEB.is_file():
        pytest.skip("Orthanc's DICOMweb plugin is not installed (Debian: orthanc-dicomweb)")
    secret = tmp_path / "project.secret"
    assert run_deid("keygen", "--out", str(secret)).returncode == 0
    files = write_patients(tmp_path / "in", patients=2, studies=1, images=2)
    key = load_secret(secret)
    with orthanc_server(tmp_path / "orthanc", plugins=[str(ORTHANC_DICOMWEB)]) as archive:
        port = free_port()
        url = f"http://127.0.0.1:{archive.http_port}/dicom-web"
        config = write_config(tmp_path, secret, port, 0, stow_url=url)
        gateway = Gateway(config, port, tmp_path / "gateway.log")
        with running_gateway(gateway):
            assert f"forwarding to STOW-RS at {url}" in gateway.log_text()
            _send_and_wait_for_orthanc(archive, gateway, port, files)
        instances = archive.get("/instances?expand")
        assert isinstance(instances, list)
        uids = {item["MainDicomTags"]["SOPInstanceUID"] for item in instances}
    assert uids == {remap_uid(key, str(pydicom.dcmread(p).SOPInstanceUID)) for p in files}
