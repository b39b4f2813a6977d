#!/usr/bin/env bash
# Install everything deidengine needs on a fresh Debian machine (run as root, or with sudo):
# the Debian packages, then the project into a virtual environment — the active one
# ($VIRTUAL_ENV) or .venv in this clone. A venv, because Debian's own Python refuses
# `pip install` outside one (PEP 668, "externally-managed-environment").
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    if [ -z "${DEID_APT_UPDATED:-}" ]; then $SUDO apt-get update -qq; DEID_APT_UPDATED=1; fi
    $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
if ! command -v tesseract >/dev/null || ! command -v dciodvfy >/dev/null \
    || ! command -v storescp >/dev/null || ! command -v Orthanc >/dev/null; then
    # tesseract-ocr: OCR backend; dicom3tools: dciodvfy IOD validator; dcmtk: DICOM network peers;
    # orthanc, orthanc-dicomweb: the archive `deid serve`'s tests forward to (DIMSE, STOW-RS)
    apt_install tesseract-ocr tesseract-ocr-eng dicom3tools dcmtk orthanc orthanc-dicomweb
fi
VENV="${VIRTUAL_ENV:-$PWD/.venv}"
if [ ! -x "$VENV/bin/python" ]; then
    # Debian splits venv support (ensurepip) into its own package.
    python3 -m venv "$VENV" 2>/dev/null || { apt_install python3-venv && python3 -m venv "$VENV"; }
fi
PY="$VENV/bin/python"
"$PY" -m pip install -q --disable-pip-version-check -e ".[dev]"
# RapidOCR 1.4.4 (PP-OCRv4), which the engine prefers over the 3.x release a plain install gets:
# best recall measured here. --no-deps keeps the GUI opencv-python its metadata asks for out.
"$PY" -m pip install -q --disable-pip-version-check --no-deps "rapidocr-onnxruntime==1.4.4"
# Bytecode for the engine: an editable install has none, and where PYTHONDONTWRITEBYTECODE is set
# every process would compile the engine's modules again at start-up.
"$PY" -m compileall -q deidengine
echo "deidengine is installed in $VENV (activate it with: . $VENV/bin/activate)"
