"""Real network peers for the gateway's tests: the gateway itself (``deid serve`` as a
subprocess), DCMTK's ``storescu``/``storescp`` and Orthanc, all on loopback ports, each started
and stopped by the test that uses it, every wait bounded.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from deidengine.serve.config import GatewayConfig
from tests.policy_specs import pixels_kept
from tests.pydicom_files import DATA

REPO = Path(__file__).resolve().parents[2]
ORTHANC_DICOMWEB = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")
#: DCMTK leaves Nagle's algorithm on unless this is set: every C-STORE then waits out the
#: peer's delayed acknowledgement (about 40 ms on Linux), whatever is at the other end.
DCMTK_ENVIRONMENT = {**os.environ, "TCP_NODELAY": "1"}
GATEWAY_AE = "DEIDGW"
ARCHIVE_AE = "ARCHIVE"
SENDER_AE = "STORESCU"
POLICY = pixels_kept("annex-e/basic")  # the corpus holds US, SC and OT images
#: pydicom test files with distinct SOP Instance UIDs, in six transfer syntaxes (deflated,
#: JPEG-LS, RLE, implicit and explicit little endian) and four kinds of object.
PYDICOM_FILES = (
    "CT_small.dcm",
    "MR_small.dcm",
    "JPEGLSNearLossless_16.dcm",
    "SC_rgb_rle.dcm",
    "image_dfl.dcm",
    "rtdose.dcm",
    "rtplan.dcm",
    "waveform_ecg.dcm",
)


def dcmtk(program: str) -> str:
    """The path of a DCMTK (or Orthanc) program: the first executable of that name on PATH that
    is a compiled binary. pynetdicom installs Python scripts called storescu and storescp too,
    which take other options; they must never stand in for DCMTK's."""
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        candidate = Path(folder) / program
        if candidate.is_file() and os.access(candidate, os.X_OK):
            with open(candidate, "rb") as handle:
                if handle.read(4) == b"\x7fELF":
                    return str(candidate)
    return program  # not installed: need() has skipped the test


def need(*programs: str) -> None:
    missing = [p for p in programs if dcmtk(p) == p]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (scripts/setup.sh installs it)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` every 0.1 s; fail the test after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


# ----------------------------------------------------------------------------- inputs
def copy_pydicom_files(target: Path, names: Iterable[str] = PYDICOM_FILES) -> list[Path]:
    target.mkdir(parents=True, exist_ok=True)
    copies = []
    for name in names:
        copies.append(target / name)
        shutil.copyfile(DATA / "test_files" / name, copies[-1])
    return copies


def write_patients(
    target: Path, patients: int = 3, studies: int = 2, images: int = 2
) -> list[Path]:
    """A generated multi-patient set: CT_small's image under new patients, studies, series."""
    target.mkdir(parents=True, exist_ok=True)
    template = pydicom.dcmread(DATA / "test_files" / "CT_small.dcm")
    paths = []
    for p in range(patients):
        for s in range(studies):
            study, series = generate_uid(), generate_uid()
            for i in range(images):
                dataset = template.copy()
                dataset.PatientName = f"Gateway^Patient{p}"
                dataset.PatientID = f"GW-{p:04d}"
                dataset.PatientBirthDate = f"19{50 + p}0{s + 1}1{i}"
                dataset.AccessionNumber = f"ACC{p}{s}"
                dataset.StudyInstanceUID = study
                dataset.SeriesInstanceUID = series
                dataset.SOPInstanceUID = generate_uid()
                dataset.InstanceNumber = i + 1
                dataset.StudyDate = f"2024{s + 1:02d}{p % 28 + 1:02d}"
                dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
                dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
                paths.append(target / f"p{p}s{s}i{i}.dcm")
                dataset.save_as(paths[-1], enforce_file_format=True)
    return paths


# ----------------------------------------------------------------------------- the gateway
def minimal_config(tmp_path: Path) -> GatewayConfig:
    """A gateway configuration built in memory, nothing started: one listener "main" (GW on
    11112, annex-e/basic, any caller) forwarding to PACS at 127.0.0.1:104, its spool and secret
    paths under ``tmp_path``."""
    return GatewayConfig.model_validate(
        {
            "gateway": {"secret_file": str(tmp_path / "s"), "spool_dir": str(tmp_path / "spool")},
            "listener": [
                {
                    "name": "main",
                    "ae_title": "GW",
                    "port": 11112,
                    "policy": "annex-e/basic",
                    "allowed_ae_titles": ["*"],
                    "destination": {"ae_title": "PACS", "host": "127.0.0.1", "port": 104},
                }
            ],
        }
    )


def write_config(
    directory: Path,
    secret: Path,
    port: int,
    destination_port: int,
    *,
    spool: Path | None = None,
    allowed: Sequence[str] = (SENDER_AE,),
    addresses: Sequence[str] = ("127.0.0.1",),
    stow_url: str | None = None,
    destination_ae: str = ARCHIVE_AE,
    **settings: object,
) -> Path:
    lines = [
        "[gateway]",
        f'secret_file = "{secret}"',
        f'spool_dir = "{spool or directory / "spool"}"',
        f'work_dir = "{directory / "work"}"',
        "retry_max_seconds = 1.0",
        "drain_timeout = 10.0",
        *(f"{key} = {json.dumps(value)}" for key, value in settings.items()),
        "",
        "[[listener]]",
        'name = "main"',
        f'ae_title = "{GATEWAY_AE}"',
        f"port = {port}",
        f'policy = "{POLICY}"',
        f"allowed_ae_titles = {json.dumps(list(allowed))}",
        f"allowed_addresses = {json.dumps(list(addresses))}",
        "",
        "[listener.destination]",
        *(
            [f'ae_title = "{destination_ae}"', 'host = "127.0.0.1"', f"port = {destination_port}"]
            if stow_url is None
            else ['kind = "stow-rs"', f'url = "{stow_url}"']
        ),
    ]
    path = directory / "gateway.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass
class Gateway:
    """``deid serve`` in a subprocess; its stderr goes to ``log``."""

    config: Path
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> Gateway:
        with open(self.log, "ab") as handle:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "deidengine.cli", "serve", "--config", str(self.config)],
                cwd=REPO,
                stdout=handle,
                stderr=handle,
            )
        wait_until(
            lambda: "listening on" in self.log_text() or self.process.poll() is not None,  # type: ignore[union-attr]
            timeout,
            "the gateway to listen",
        )
        assert self.process.poll() is None, self.log_text()
        return self

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def stop(self) -> int:
        """SIGTERM and wait: the exit code."""
        if self.process is None:
            return 0
        _stop(self.process)
        return int(self.process.returncode)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def queue(self) -> list[tuple[str, str | None, str | None]]:
        """(state, reason, output) of every queued instance, in arrival order."""
        path = self.config.parent / "work" / "queue.sqlite"
        if not path.exists():
            return []
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            return list(db.execute("SELECT state, reason, output FROM instances ORDER BY id"))

    def states(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for state, _, _ in self.queue():
            counts[state] = counts.get(state, 0) + 1
        return counts

    def status(self) -> dict[str, Any]:
        result = subprocess.run(
            [sys.executable, "-m", "deidengine.cli", "serve", "status", "--config",
             str(self.config), "--format", "json"],
            cwd=REPO, capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        return dict(json.loads(result.stdout))


@contextlib.contextmanager
def running_gateway(gateway: Gateway) -> Iterator[Gateway]:
    gateway.start()
    try:
        yield gateway
    finally:
        gateway.stop()


# ----------------------------------------------------------------------------- DCMTK
@contextlib.contextmanager
def storescp(
    output: Path, port: int, ae_title: str = ARCHIVE_AE, *, native_only: bool = False
) -> Iterator[Path]:
    """DCMTK's Storage SCP writing what it receives to ``output``; in every transfer syntax it
    knows, or in the native (uncompressed) ones only."""
    need("storescp")
    output.mkdir(parents=True, exist_ok=True)
    syntaxes = [] if native_only else ["+xa"]
    process = subprocess.Popen(
        [dcmtk("storescp"), "-aet", ae_title, *syntaxes, "-od", str(output), str(port)],
        env=DCMTK_ENVIRONMENT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: port_open(port), 10, "storescp to listen")
        yield output
    finally:
        _stop(process)


@dataclass(frozen=True)
class Sent:
    returncode: int
    stored: tuple[str, ...]  # the files the SCP answered success for
    output: str


#: storescu proposes native syntaxes only, unless told which compressed one to add.
STORESCU_PROPOSE = {
    "1.2.840.10008.1.2.1.99": "-xd",
    "1.2.840.10008.1.2.4.50": "-xy",
    "1.2.840.10008.1.2.4.51": "-xx",
    "1.2.840.10008.1.2.4.70": "-xs",
    "1.2.840.10008.1.2.4.80": "-xt",
    "1.2.840.10008.1.2.4.81": "-xu",
    "1.2.840.10008.1.2.4.90": "-xv",
    "1.2.840.10008.1.2.4.91": "-xw",
    "1.2.840.10008.1.2.5": "-xr",
}


def storescu(
    port: int, files: Sequence[Path], *, ae_title: str = SENDER_AE, timeout: float = 90
) -> Sent:
    """Send ``files`` (one association per compressed transfer syntax among them, native ones
    together in the first); which ones the gateway acknowledged."""
    need("storescu")
    groups: dict[str, list[Path]] = {}
    for path in files:
        syntax = str(pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID)
        groups.setdefault(STORESCU_PROPOSE.get(syntax, "-x="), []).append(path)
    returncode, stored, output = 0, [], ""
    for option, group in sorted(groups.items(), key=lambda item: item[0] != "-x="):
        result = subprocess.run(
            [dcmtk("storescu"), "-v", "-R", "--no-halt", option, "-aet", ae_title,
             "-aec", GATEWAY_AE, "127.0.0.1", str(port), *map(str, group)],
            capture_output=True, text=True, timeout=timeout, env=DCMTK_ENVIRONMENT,
        )  # fmt: skip
        returncode = returncode or result.returncode
        output += result.stdout + result.stderr
        current = None
        for line in (result.stdout + result.stderr).splitlines():
            if "Sending file:" in line:
                current = line.split("Sending file:", 1)[1].strip()
            elif "Received Store Response (Success)" in line and current is not None:
                stored.append(current)
    return Sent(returncode, tuple(stored), output)


def received_instances(folder: Path) -> dict[str, Dataset]:
    """What a destination folder holds, by SOP Instance UID."""
    found: dict[str, Dataset] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        try:
            dataset = pydicom.dcmread(path)
        except Exception:  # storescp is still writing it (it writes in place)
            continue
        found[str(dataset.SOPInstanceUID)] = dataset
    return found


# ----------------------------------------------------------------------------- Orthanc
@dataclass
class Orthanc:
    http_port: int
    dicom_port: int

    def get(self, path: str) -> object:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}{path}", timeout=10) as r:
            return json.loads(r.read())

    def get_bytes(self, path: str) -> bytes:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}{path}", timeout=10) as r:
            return bytes(r.read())


@contextlib.contextmanager
def orthanc(
    directory: Path, ae_title: str = ARCHIVE_AE, plugins: Sequence[str] = ()
) -> Iterator[Orthanc]:
    """Orthanc with a temporary configuration: loopback HTTP without authentication, its own
    storage folder, the given plugins (DICOMweb's is configured at /dicom-web/)."""
    need("Orthanc")
    server = Orthanc(free_port(), free_port())
    directory.mkdir(parents=True, exist_ok=True)
    config = {
        "Name": "deid-test",
        "StorageDirectory": str(directory / "storage"),
        "IndexDirectory": str(directory / "storage"),
        "HttpPort": server.http_port,
        "DicomPort": server.dicom_port,
        "DicomAet": ae_title,
        "DicomCheckCalledAet": True,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "HttpServerEnabled": True,
        "DicomServerEnabled": True,
        "Plugins": list(plugins),
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
        "StableAge": 1,
    }
    path = directory / "orthanc.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    with open(directory / "orthanc.log", "wb") as log:
        process = subprocess.Popen([dcmtk("Orthanc"), str(path)], stdout=log, stderr=log)
    try:

        def up() -> bool:
            try:
                server.get("/system")
                return port_open(server.dicom_port)
            except OSError:
                return False

        wait_until(up, 30, "Orthanc to answer")
        yield server
    finally:
        _stop(process)


def run_deid(*arguments: str) -> subprocess.CompletedProcess[str]:
    """The ``deid`` command, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "deidengine.cli", *arguments],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
